"""Which WebGPU implementation ``import wgpu`` gives: wgpu-native (wgpu-py's own) or Dawn (wgpudawn).

A process holds one of them: wgpudawn can take the name ``wgpu`` only before the first ``import wgpu``
(``wgpudawn.install_as_wgpu``), so ``select`` runs before anything imports wgpu, and a command that
needs both runs each in a process of its own. This module imports neither until asked.

Dawn refuses Debian 12's lavapipe (Mesa 22.3.6); ``scripts/ensure-dawn.sh`` unpacks a newer one into the
venv, and ``select("dawn")`` points the Vulkan loader of this process (and its children) at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..traces.errors import InputError

ENV = "WGTRACE_BACKEND"  # the implementation a child process of a wgtrace command selects
ICD_ENV = "WGTRACE_DAWN_ICD"  # a Vulkan ICD file for Dawn, instead of the one ensure-dawn.sh unpacked
DEFAULT = "wgpu-native"


@dataclass(frozen=True)
class Backend:
    """One implementation: its name in wgtrace's options and the Python package that provides it (also the
    top module of the classes ``wgpu.gpu`` is made of)."""

    name: str
    package: str

    def version(self) -> str | None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.package)
        except PackageNotFoundError:
            return None


BACKENDS = {b.name: b for b in (Backend("wgpu-native", "wgpu"), Backend("dawn", "wgpudawn"))}


def dawn_icd() -> str | None:
    """The Vulkan ICD file Dawn is given: $WGTRACE_DAWN_ICD, else ensure-dawn.sh's in this venv, if present."""
    given = os.environ.get(ICD_ENV)
    if given:
        return given
    path = Path(sys.prefix, "share", "wgtrace", "dawn-lavapipe", "lvp_icd.json")
    return str(path) if path.is_file() else None


def missing(name: str) -> str | None:
    """Why ``name`` cannot run here, as far as can be told without starting it (None: nothing missing)."""
    backend = BACKENDS[name]
    if backend.version() is None:
        return f"{backend.package} is not installed (pip install 'wgtrace[dawn]')"
    icd = os.environ.get(ICD_ENV) if name == "dawn" else None
    return f"${ICD_ENV} names {icd}, which is no file" if icd and not os.path.isfile(icd) else None


@cache
def unusable(name: str) -> str | None:
    """Why ``name`` finds no Vulkan adapter here (None: it finds one), asked of a child process: this one
    may hold the other implementation already. For tests and set-up scripts; it takes a second or two."""
    reason = missing(name)
    if reason:
        return reason
    probe = (f"from wgtrace.tracer.backends import select; select({name!r}); import wgpu; "
             "a = wgpu.gpu.request_adapter_sync(); print(a.info['backend_type'] if a else 'none')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **environment(name)})
    found = out.stdout.strip().splitlines()[-1:] if out.returncode == 0 else []
    if found == ["Vulkan"]:
        return None
    hint = "; run scripts/ensure-dawn.sh (Debian 12's lavapipe is too old for Dawn)" if name == "dawn" else ""
    return f"{name} finds no Vulkan adapter{hint}"


def environment(name: str) -> dict[str, str]:
    """The environment variables a process running ``name`` needs (for a child: ``os.environ`` updated with these)."""
    env = {ENV: name}
    icd = dawn_icd() if name == "dawn" else None
    if icd and "VK_ICD_FILENAMES" not in os.environ:
        env["VK_ICD_FILENAMES"] = icd
    return env


def select(name: str | None = None) -> None:
    """Make ``import wgpu`` give ``name`` (default: $WGTRACE_BACKEND, else wgpu-native) in this process."""
    name = name or os.environ.get(ENV) or DEFAULT
    if name not in BACKENDS:
        raise InputError(f"unknown backend {name!r}: choose one of {', '.join(sorted(BACKENDS))}")
    if "wgpu" in sys.modules:
        if current() != name:
            raise InputError(f"wgpu is already imported as {current()} in this process: cannot switch to {name}")
        return
    os.environ.update(environment(name))
    if name == "dawn":
        try:
            import wgpudawn
        except ImportError:
            raise InputError(f"--backend dawn: {missing('dawn')}") from None
        wgpudawn.install_as_wgpu()


def current() -> str:
    """The implementation ``wgpu`` is in this process (imports it)."""
    import wgpu

    top = type(wgpu.gpu).__module__.split(".")[0]
    return next((b.name for b in BACKENDS.values() if b.package == top), top)


def implementation() -> dict[str, str | None]:
    """What a trace header records: the implementation's name and its package's version."""
    name = current()
    return {"name": name, "version": BACKENDS[name].version() if name in BACKENDS else None}
