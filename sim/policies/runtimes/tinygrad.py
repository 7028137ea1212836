"""tinygrad's ``LRUAllocator`` (``tinygrad/device.py``) under its WebGPU backend (``tinygrad/runtime/ops_webgpu.py``).

``LRUAllocator.alloc(size, options)`` pops a cached buffer from ``self.cache[(size, options)]`` (exact
requested size and options; no splitting, no rounding of the key) or allocates a new one; ``free``
appends the buffer to that list (unless ``LRU=0`` or ``options.nolru``). On an allocation failure it
frees the whole cache and retries (``free_cache``), which a plan never meets. The WebGPU allocator
makes each buffer ``round_up(size, 4)`` bytes, STORAGE | COPY_DST | COPY_SRC, for every buffer alike,
so one cache serves uniforms too. A freed buffer is reused by the very next request of its size,
whatever the open encoder still holds: the hazard the seed's fix addresses; ``+fix`` skips buffers
the open encoder uses (``+fix-range`` would exclude the same: a buffer holds one allocation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..device import Device, align_up
from ..pages import Storage
from ..pool_policies import PoolPolicy
from .buffer_cache import BufferCache

WEBGPU_SIZE_ALIGNMENT = 4


class LruCache(BufferCache):
    """Keyed by the exact size requested; buffers ``round_up(size, 4)`` bytes."""

    def buffer_size(self, size: int) -> int:
        return align_up(size, WEBGPU_SIZE_ALIGNMENT)


@dataclass(frozen=True)
class TinygradLru(PoolPolicy):
    """tinygrad's ``LRUAllocator`` on WebGPU (see the module doc)."""

    name: ClassVar[str] = "tinygrad-lru"
    summary: ClassVar[str] = "tinygrad LRUAllocator: buffers cached by exact size, reused at once"
    fixes: ClassVar[tuple[str, ...]] = ("", "page")

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.binding_alignment,
                "buffer_alignment": WEBGPU_SIZE_ALIGNMENT, "key": "size, options"}

    def manager(self, device: Device, storage: Storage) -> LruCache:
        return LruCache(storage)
