"""onnxruntime's WebGPU buffer manager (``onnxruntime/core/providers/webgpu/buffer_manager.h``/``.cc``).

``BufferCacheMode`` has Disabled, LazyRelease, Simple, Bucket and Graph; the two that reuse buffers
while a session runs are modelled:

- **Simple** (``SimpleCacheManager``): a request is rounded up to 16 bytes (``NormalizeBufferSize``,
  ``(size + 15) / 16 * 16``) and served by a cached buffer of exactly that size (the last released);
  ``ReleaseBuffer`` only queues the buffer in ``pending_buffers_``, and ``OnRefresh`` (called from
  ``BufferManager::RefreshPendingBuffers`` after the context's ``Flush`` submits) makes the queued
  ones reusable. Nothing is given back.
- **Bucket** (``BucketCacheManager``): a request is rounded up to the smallest bucket that holds it
  (``std::lower_bound`` over the sorted bucket sizes), or to 16 bytes above the largest; at the
  refresh a pending buffer joins its bucket's list while the list is below the bucket's limit, and is
  destroyed otherwise (so is every buffer of a size that is not a bucket).

The bucket table and limits are those of the web build's ``bucketFreelist``
(``js/web/lib/wasm/jsep/webgpu/gpu-data-manager.ts``), 64 B to 160 MiB: 64 B keeps 250 buffers, 16 MiB
10, 128 MiB 6. Storage and uniform buffers are cached apart (the manager keeps one cache per usage
class), which ``separate_uniform_pool`` gives; onnxruntime's default caches uniforms in Simple mode
and storage in Bucket mode, where each policy here uses one mode for both. A buffer is never reused
before the flush after its release, so no unsubmitted command's buffer is ever handed out: the pool
defers reuse itself and takes no ``+fix``. onnxruntime submits every 16 dispatches
(``max-tasks:16`` is that pass policy, with ``/staging-copy`` for its uploads).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import ClassVar

from ..device import MIB, Device
from ..pages import Storage
from ..pool_policies import PoolPolicy
from .buffer_cache import BufferCache

NORMALIZE = 16
# (bucket size, most buffers kept): gpu-data-manager.ts bucketFreelist
BUCKETS: tuple[tuple[int, int], ...] = (
    (64, 250), (128, 200), (256, 200), (512, 200), (2048, 230), (4096, 200), (8192, 50), (16384, 50),
    (32768, 50), (65536, 50), (131072, 50), (262144, 50), (524288, 50), (1048576, 50), (2097152, 30),
    (4194304, 20), (8388608, 10), (12582912, 10), (16 * MIB, 10), (26214400, 15), (32 * MIB, 22),
    (44236800, 2), (58982400, 6), (64 * MIB, 6), (128 * MIB, 6), (160 * MIB, 6),
)

BUCKET_SIZES = [size for size, _ in BUCKETS]
BUCKET_LIMITS = dict(BUCKETS)


def normalized(size: int) -> int:
    """``NormalizeBufferSize``: ``size`` rounded up to a multiple of 16 bytes."""
    return (size + NORMALIZE - 1) // NORMALIZE * NORMALIZE


def bucket_size(size: int) -> int:
    """``BucketCacheManager::CalculateBufferSize``: the smallest bucket that holds ``size``, else
    ``size`` normalized."""
    i = bisect_left(BUCKET_SIZES, size)
    return BUCKET_SIZES[i] if i < len(BUCKET_SIZES) else normalized(size)


class PendingCache(BufferCache):
    """A released buffer waits in ``pending`` until the next submit (``OnRefresh``); with ``limits`` (Bucket
    mode) it then joins its bucket while the bucket holds fewer than its limit, else it is destroyed."""

    def __init__(self, storage: Storage, limits: dict[int, int] | None):
        super().__init__(storage)
        self.limits = limits
        self.pending: list[int] = []

    def key(self, size: int) -> int:
        return normalized(size) if self.limits is None else bucket_size(size)

    def buffer_size(self, size: int) -> int:
        return self.key(size)

    def released(self, page: int) -> None:
        self.pending.append(page)

    def submitted(self) -> None:
        for page in self.pending:
            size = self.size_of[page]
            kept = self.free_lists.setdefault(size, [])
            if self.limits is None or len(kept) < self.limits.get(size, 0):
                kept.append(page)
            else:
                self.drop(page)
        self.pending.clear()


@dataclass(frozen=True)
class OrtSimple(PoolPolicy):
    """onnxruntime WebGPU, ``BufferCacheMode::Simple`` (see the module doc)."""

    name: ClassVar[str] = "ort-simple"
    summary: ClassVar[str] = "onnxruntime WebGPU Simple: exact 16-byte sizes, reused after the next flush"
    separate_uniform_pool: ClassVar[bool] = True
    fixes: ClassVar[tuple[str, ...]] = ("",)
    defers_reuse: ClassVar[bool] = True

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.binding_alignment, "normalize": NORMALIZE}

    def manager(self, device: Device, storage: Storage) -> PendingCache:
        return PendingCache(storage, None)


@dataclass(frozen=True)
class OrtBucket(PoolPolicy):
    """onnxruntime WebGPU, ``BufferCacheMode::Bucket`` (see the module doc)."""

    name: ClassVar[str] = "ort-bucket"
    summary: ClassVar[str] = "onnxruntime WebGPU Bucket: 26 bucket sizes 64 B-160 MiB with limits, reused after a flush"
    separate_uniform_pool: ClassVar[bool] = True
    fixes: ClassVar[tuple[str, ...]] = ("",)
    defers_reuse: ClassVar[bool] = True

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.binding_alignment, "normalize": NORMALIZE,
                "buckets": dict(BUCKETS)}

    def manager(self, device: Device, storage: Storage) -> PendingCache:
        return PendingCache(storage, BUCKET_LIMITS)
