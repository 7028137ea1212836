"""Opening a wgpu device by adapter name, with the features a replay asks for where the adapter has them."""

from __future__ import annotations

import wgpu

from ..traces.errors import InputError

# Features a replay device asks for where its adapter has them: a trace does not say which features its
# program's device had, and render programs rely on some (pygfx on float32-filterable); timestamp queries
# are replayed only on a device with them.
REPLAY_FEATURES = ("float32-filterable", "float32-blendable", "timestamp-query", "timestamp-query-inside-encoders",
                   "timestamp-query-inside-passes", "depth32float-stencil8", "depth-clip-control",
                   "indirect-first-instance", "shader-f16", "rg11b10ufloat-renderable", "bgra8unorm-storage",
                   "texture-compression-bc", "texture-compression-etc2", "texture-compression-astc",
                   "dual-source-blending", "clip-distances")
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
