"""pytest plugin: fail the test whose wgpu calls have a hazard, with the finding as the failure.

``pytest --wgpu-hazards`` records every test's wgpu calls (setup and body) with the tracer and runs
the checker on the recording; a test whose recording has an error-severity finding (H1-H5) fails
with the findings, and its trace is kept for ``wgtrace check``. The ``wgpu_hazards`` fixture does
the same for the one test that asks for it, with or without the option.

``--wgpu-hazards-strict`` (which implies ``--wgpu-hazards``) also fails a test whose recording has
calls the checker cannot model that may touch GPU memory (render passes, textures: see
``sim.check.coverage``), naming them: such a recording is no proof, like ``wgtrace check --strict``.

It reaches the tracer (and with it wgpu) and the checker only once a test is watched, so that
installing the package costs every other pytest run nothing.

Recordings are written into a directory this run makes for itself (``tempfile.mkdtemp``: private, its
name unguessable), never under a predictable name in a shared one; a trace kept in
``--wgpu-hazards-dir`` is copied there as ``safe_text.output`` writes (a fresh temporary file moved
over the name), so a link planted in that directory is never written through.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_WATCH = pytest.StashKey["Watch"]()
_MADE_DIR = pytest.StashKey[Path]()  # the temporary directory this run made for kept traces
SHOWN = 10


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wgtrace")
    group.addoption("--wgpu-hazards", action="store_true",
                    help="record each test's wgpu calls and fail a test that introduces a hazard (wgtrace H1-H5)")
    group.addoption("--wgpu-hazards-strict", action="store_true",
                    help="as --wgpu-hazards, and also fail a test whose wgpu calls include some the checker cannot "
                         "model (render passes, textures, queries), which may touch GPU memory: no proof")
    group.addoption("--wgpu-hazards-dir", metavar="DIR",
                    help="keep the traces of failing tests here (default: a fresh private temporary directory)")
    group.addoption("--wgpu-backend", choices=("wgpu-native", "dawn"),
                    help="the WebGPU implementation the tests' `import wgpu` gives (default: wgpu-native; dawn needs "
                         "wgtrace[dawn]), chosen before any conftest imports wgpu")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    backend = early_config.known_args_namespace.wgpu_backend
    if backend:
        from ..traces.errors import InputError
        from .backends import select

        try:
            select(backend)
        except InputError as e:
            raise pytest.UsageError(f"--wgpu-backend: {e}") from None


class Watch:
    """One test's recording: started before its fixtures, checked after its body."""

    def __init__(self, item: pytest.Item):
        from . import recording

        self.item = item
        self.path = _private_dir(item.config) / (_safe(item.nodeid) + ".wgtrace")
        self._recording = recording(self.path, data="digest")
        self._recording.__enter__()
        self.active = True

    def stop(self) -> None:
        if self.active:
            self.active = False
            self._recording.__exit__(None, None, None)

    def verdict(self) -> str | None:
        """Stop recording and check it: the failure message, or None when the test passes (no
        error-severity hazard, and under ``--wgpu-hazards-strict`` no unmodelled call either)."""
        from ..sim.check import check
        from ..traces import load

        self.stop()
        strict = bool(self.item.config.getoption("wgpu_hazards_strict"))
        result = check(load(self.path))
        if result.accepted(strict):
            self.path.unlink(missing_ok=True)
            return None
        lines = []
        errors = result.errors
        if errors:
            lines.append(f"wgpu hazard: {len(errors)} error(s) in this test's wgpu calls "
                         f"({', '.join(sorted({f.rule for f in errors}))})")
            lines += [f"  {f.rule} {f.message}" for f in errors[:SHOWN]]
            if len(errors) > SHOWN:
                lines.append(f"  ... and {len(errors) - SHOWN} more")
        if strict and result.unmodelled:
            lines.append(f"wgpu hazards not proven (--wgpu-hazards-strict): {result.unmodelled_events} call(s) in "
                         f"this test the checker cannot model may touch GPU memory")
            lines += [f"  {u.name}: {u.count} call(s), first at {u.first_site}" for u in result.unmodelled[:SHOWN]]
            if len(result.unmodelled) > SHOWN:
                lines.append(f"  ... and {len(result.unmodelled) - SHOWN} more")
        strict_flag = " --strict" if strict else ""
        kept, note = self.keep()
        lines.append(f"trace kept: {kept}  (see it again with: wgtrace check{strict_flag} {kept}){note}")
        return "\n".join(lines)

    def keep(self) -> tuple[Path, str]:
        """Where the failing test's trace stays: in ``--wgpu-hazards-dir`` when given (and writable), else in
        this run's own directory; and a note when the chosen directory could not take it."""
        chosen = self.item.config.getoption("wgpu_hazards_dir")
        if not chosen:
            return self.path, ""
        from ..traces.safe_text import output

        target = Path(chosen) / self.path.name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "rb") as src, output(target) as dst:
                shutil.copyfileobj(src, dst)
        except OSError as e:
            return self.path, f"; not copied to {chosen}: {e.strerror}"
        self.path.unlink(missing_ok=True)
        return target, ""


def _private_dir(config: pytest.Config) -> Path:
    """This run's own directory for recordings, made on first use (mode 0700, an unguessable name)."""
    made = config.stash.get(_MADE_DIR, None)
    if made is None:
        made = config.stash[_MADE_DIR] = Path(tempfile.mkdtemp(prefix="wgtrace-hazards-"))
    return made


def _safe(nodeid: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in nodeid)[-150:]


def _watch(item: pytest.Item) -> Watch:
    watch = item.stash.get(_WATCH, None)
    if watch is None:
        watch = item.stash[_WATCH] = Watch(item)
    return watch


@pytest.fixture
def wgpu_hazards(request: pytest.FixtureRequest) -> Watch:
    """Record this test's wgpu calls from here on; the test fails if they have a hazard."""
    return _watch(request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    if item.config.getoption("wgpu_hazards") or item.config.getoption("wgpu_hazards_strict"):
        _watch(item)
    try:
        return (yield)
    except BaseException:
        _stop(item)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    watch = item.stash.get(_WATCH, None)
    if watch is None:
        return (yield)
    try:
        outcome = yield
    except BaseException:
        watch.stop()
        raise
    message = watch.verdict()
    if message:
        pytest.fail(message, pytrace=False)
    return outcome


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)
    finally:
        _stop(item)


def _stop(item: pytest.Item) -> None:
    watch = item.stash.get(_WATCH, None)
    if watch is not None:
        watch.stop()


def pytest_unconfigure(config: pytest.Config) -> None:
    made = config.stash.get(_MADE_DIR, None)
    if made is not None and made.is_dir() and not any(made.iterdir()):
        os.rmdir(made)
