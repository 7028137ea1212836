"""tfjs's WebGPU buffer manager (tfjs-backend-webgpu ``src/buffer_manager.ts``, ``src/backend_webgpu.ts``).

``BufferManager.acquireBuffer(size, usage)`` pops a free buffer from the list keyed
``getBufferKey(size, usage)`` (``` `${size}_${usage}` ```: exact size and usage, no rounding) or creates
one; ``releaseBuffer`` pushes it back. The backend defers the release of what the queue still owns:
``disposeData`` of a tensor in ``commandQueueOwnedIds`` (written or read by a recorded, unsubmitted
command) goes to ``tensorDataPendingDisposal``, a uniform buffer to ``uniformPendingDisposal``, and
``submitQueue`` releases both after ``queue.submit``. Nothing is given back to the device.

Here: the storage the open encoder's commands use is exactly what the planner's exclusion holds, so
the pool takes the exclusion on every reservation (``defers_reuse``) and skips what it blocks: no
unsubmitted command's buffer is ever handed out, and it takes no ``+fix``. Usage keys are storage
and uniform (``separate_uniform_pool``): tfjs creates tensors STORAGE | COPY_SRC | COPY_DST and
uniforms COPY_DST | UNIFORM, whatever a recorded program asked for. tfjs appends the buffers it held
back at the submit, after those freed meanwhile; here they keep their place, so which of several free
buffers of one key is reused may differ, never whether one is. The pass policy ``tfjs`` is the other
half (15 dispatches per submit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..device import Device
from ..pages import Storage
from ..pool_policies import PoolPolicy
from .buffer_cache import BufferCache


@dataclass(frozen=True)
class TfjsBuffers(PoolPolicy):
    """tfjs WebGPU's ``BufferManager`` with the backend's deferred releases (see the module doc)."""

    name: ClassVar[str] = "tfjs"
    summary: ClassVar[str] = "tfjs WebGPU: free lists by exact size and usage, releases held until the submit"
    separate_uniform_pool: ClassVar[bool] = True
    fixes: ClassVar[tuple[str, ...]] = ("",)
    defers_reuse: ClassVar[bool] = True

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.binding_alignment, "key": "size, usage"}

    def manager(self, device: Device, storage: Storage) -> BufferCache:
        return BufferCache(storage)
