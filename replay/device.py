"""Opening a wgpu device by adapter name, and a watchdog so that no replay waits forever.

A call blocked inside wgpu-native (a read waiting on a kernel that never ends, a submit held up
by the driver) cannot be interrupted from Python, and the device it blocks is unusable from then
on. So nothing waits with a timeout of its own: a watchdog thread watches the replay's progress
and, after ``timeout`` seconds without any, reports where the replay stands in one line and ends
the process.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Hashable
from time import monotonic

import wgpu

from ..traces.errors import InputError

DEFAULT_TIMEOUT_S = 60.0
# Features a replay device asks for where its adapter has them: a trace does not say which features its
# program's device had, and render programs rely on some (pygfx on float32-filterable); timestamp queries
# are replayed only on a device with them.
REPLAY_FEATURES = ("float32-filterable", "float32-blendable", "timestamp-query", "timestamp-query-inside-encoders",
                   "timestamp-query-inside-passes", "depth32float-stencil8", "depth-clip-control",
                   "indirect-first-instance", "shader-f16", "rg11b10ufloat-renderable", "bgra8unorm-storage",
                   "texture-compression-bc", "texture-compression-etc2", "texture-compression-astc",
                   "dual-source-blending", "clip-distances")
EXIT_HUNG = 1
_INFO_KEYS = ("device", "vendor", "description", "architecture", "backend_type", "adapter_type")


class AdapterError(InputError):
    """No adapter matches the name asked for, or none exists at all."""


def adapter_name(adapter: wgpu.GPUAdapter) -> str:
    info = adapter.info
    return f"{info.get('device', '?')} ({info.get('backend_type', '?')})"


def open_device(name: str | None = None, features: tuple[str, ...] = REPLAY_FEATURES) -> wgpu.GPUDevice:
    """The first adapter whose info contains every word of ``name`` (case-insensitive, e.g. "nvidia
    vulkan"), else the high-performance one.

    The device gets the adapter's own limits (wgpu-py's default), so a plan laid out for a
    recording device with looser limits than this one fails validation visibly instead of
    being quietly re-laid out; and each of ``features`` that the adapter has.
    """
    if name:
        adapters = wgpu.gpu.enumerate_adapters_sync()
        words = name.lower().split()
        found = [a for a in adapters
                 if all(any(w in str(a.info.get(k, "")).lower() for k in _INFO_KEYS) for w in words)]
        if not found:
            have = ", ".join(adapter_name(a) for a in adapters) or "none"
            raise AdapterError(f"no adapter matches {name!r}; available: {have}")
        adapter = found[0]
    else:
        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        if adapter is None:
            raise AdapterError("wgpu found no adapter (install mesa-vulkan-drivers for lavapipe)")
    return adapter.request_device_sync(required_features=[f for f in features if f in adapter.features])


class Watchdog:
    """Ends the process when ``progress()`` stays the same (and not ``None``) for ``timeout`` seconds.

    ``progress`` returns ``None`` while there is nothing to watch, else any value that changes as
    work advances; ``describe`` says where the work stands, for the one-line report.
    """

    def __init__(self, timeout: float, progress: Callable[[], Hashable | None], describe: Callable[[], str]):
        self.timeout = timeout
        self._progress = progress
        self._describe = describe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wgtrace-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        last, since = None, monotonic()
        while not self._stop.wait(min(1.0, self.timeout / 4)):
            mark = self._progress()
            if mark is None or mark != last:
                last, since = mark, monotonic()
            elif monotonic() - since >= self.timeout:
                print(f"wgtrace: error: the device made no progress for {self.timeout:g} s, {self._describe()}; "
                      f"giving up", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os._exit(EXIT_HUNG)

    def stop(self) -> None:
        self._stop.set()
