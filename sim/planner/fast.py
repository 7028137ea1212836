"""The planner's compiled hot paths (``_loop.c``), where the package was built with them.

``_loop.c`` is optional (setup.py builds it where a C compiler and Python's headers are): without it
the loops walk the events in Python, as ``RerecordingLoop.run`` does for a program with a render side
even with it. The two paths give byte-identical plans (tests/test_sim_planner_fast.py plans every
policy both ways); the Python one is the reference, and a change to a loop's rules goes into both.

``rerecord`` (``RerecordingLoop.run``) keeps the encoder, the pass and the per-allocation epochs
itself, ``record`` (``RecordedLoop.run``) reads the program's windows; both call back into Python
where a pool decides: a pooled creation (the allocation's manager, ``reserve``), a free
(``free``) and ``Emitter.close_window``; so every pool, a user's own included, runs as it does under
the Python loop. The module also has pools' parts in C, each answering as its Python
original (the reference, and the fallback): ``Exclusion`` (sim/policies/exclusion.py), which the
emitter makes; ``Cache``, the whole-buffer caches of tfjs, onnxruntime and tinygrad
(sim/policies/runtimes/buffer_cache.py), ``Caching``, torch's caching allocator
(sim/policies/runtimes/torch_caching.py), and ``Managed``, CubeCL's memory management and its pools
(sim/policies/pools.py, pages.py), which ``twin`` puts in place of the Python one a shipped policy
builds: every shipped pooled policy then reserves and frees in C. ``fill`` and ``fill_rows`` are
``assemble``'s (assemble.py): the plan's columns written in one pass over the records, the trace's
narrow columns read in place, buffers mapped to pages as they are written; its numpy path is the reference.
"""

from __future__ import annotations

from typing import Any

from ..policies.pools import (
    ExclusiveMemoryPool,
    MemoryManagement,
    OwnPagePool,
    SizeClassPool,
    SlicedPool,
    SmallMemoryPool,
)
from ..policies.runtimes.buffer_cache import BufferCache
from ..policies.runtimes.onnxruntime import BUCKET_SIZES, NORMALIZE, PendingCache
from ..policies.runtimes.tinygrad import WEBGPU_SIZE_ALIGNMENT, LruCache
from ..policies.runtimes.torch_caching import CachingAllocator
from .kinds import (
    CLEAR,
    COPY,
    COPY_SRC,
    CREATE,
    DESTROY,
    DISPATCH,
    DISPATCH_INDIRECT,
    ENCODER_CREATE,
    ENCODER_FINISH,
    MAP,
    MAP_WRITE,
    MAPPED_WRITE,
    PASS_BEGIN,
    PASS_END,
    QUEUE_READ,
    SET_BIND_GROUP,
    SET_PIPELINE,
    SUBMIT,
    UNMAP,
    WRITE_BUFFER,
)

try:  # the loop in C (setup.py builds it where it can); None: Python throughout
    from . import _loop as LOOP
except ImportError:
    LOOP = None  # type: ignore[assignment]

# the codes _loop.c reads, in the order of its enum (the last: a staging buffer's usage)
CODES = (CREATE, DESTROY, ENCODER_CREATE, ENCODER_FINISH, PASS_BEGIN, PASS_END, SET_PIPELINE, SET_BIND_GROUP, DISPATCH,
         DISPATCH_INDIRECT, COPY, CLEAR, WRITE_BUFFER, SUBMIT, MAP, UNMAP, MAPPED_WRITE, QUEUE_READ,
         MAP_WRITE | COPY_SRC)


def twin(allocator: Any) -> Any:
    """The C twin of a shipped pool's fresh allocator where the module has one, else the allocator itself."""
    if LOOP is None:
        return allocator
    kind = type(allocator)
    if kind is BufferCache:  # tfjs: exact sizes
        return LOOP.Cache(allocator.storage, 1, 1, None, None, False)
    if kind is LruCache:  # tinygrad: keyed by exact size, buffers rounded up to 4 bytes
        return LOOP.Cache(allocator.storage, 1, WEBGPU_SIZE_ALIGNMENT, None, None, False)
    if kind is PendingCache:  # onnxruntime: buffers of 16-byte sizes (or buckets), reused after the next submit
        buckets = BUCKET_SIZES if allocator.limits is not None else None
        return LOOP.Cache(allocator.storage, NORMALIZE, 0, buckets, allocator.limits, True)
    if kind is CachingAllocator:
        return LOOP.Caching(allocator.storage, allocator.alignment, allocator.max_split, allocator.divisions)
    if kind is MemoryManagement:
        return _managed(allocator)
    return allocator


def _managed(manager: MemoryManagement) -> Any:
    """CubeCL's memory management in C (its pools: exclusive, sliced by first or next fit, small, size-class, own
    page); the Python one where a pool is of another kind. Each pool as (kind, its parameters), in routing order."""
    assert LOOP is not None
    pools: list[tuple[int, ...]] = []
    for p in manager.pools:
        if type(p) is ExclusiveMemoryPool:
            pools.append((0, p.max_alloc_size, p.alignment, p.check_period, 0, 0, 0))
        elif type(p) is SlicedPool:
            pools.append((4 if p.next_fit else 1, p.page_size, p.max_slice_size, p.alignment, int(p.near_full),
                          p.min_offset_size, 0))
        elif type(p) is SmallMemoryPool:
            pools.append((5, p.alignment, 0, 0, 0, 0, 0))
        elif type(p) is OwnPagePool:
            pools.append((2, p.alignment, 0, 0, 0, 0, 0))
        elif type(p) is SizeClassPool:
            pools.append((3, p.page_size, p.max_slice_size, p.alignment, p.dealloc_period, p.min_page_size,
                          p.slots_per_page))
        else:
            return manager
    cleaning = [next(k for k, q in enumerate(manager.pools) if q is p) for p in manager.cleaning]
    return LOOP.Managed(manager.storage, pools, cleaning)
