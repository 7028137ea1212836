"""PyTorch's CUDA caching allocator (``c10/cuda/CUDACachingAllocator.cpp``), on WebGPU pages.

Sizes, with the constants of the source:

- ``round_size``: a request is rounded up to ``kMinBlockSize`` = 512 bytes; with
  ``roundup_power2_divisions`` N (a power of two; 0 or 1: off) a request above 512 * N is rounded up
  to the next of N equal divisions of its power-of-two interval (``roundup_power2_next_division``:
  1200 MiB with 4 divisions -> 1280 MiB), a power of two staying as it is.
- ``get_pool``: rounded sizes up to ``kSmallSize`` = 1 MiB come from the small pool, the rest from the
  large pool. ``get_allocation_size``: a new segment is ``kSmallBuffer`` = 2 MiB for the small pool,
  ``kLargeBuffer`` = 20 MiB below ``kMinLargeAlloc`` = 10 MiB, else the request rounded up to
  ``kRoundLarge`` = 2 MiB.
- ``get_free_block``: best fit, the smallest free block of the pool at least the rounded size (ties:
  lowest address; here the lower page, then offset). With ``max_split_size`` set (``max_split_size_mb``;
  unlimited by default, more than 20 MiB when set), a request below it takes no block at or above it,
  and a request at or above it takes no block ``kLargeBuffer`` or more larger than itself.
- ``should_split``: a small block splits when at least ``kMinBlockSize`` would remain, a large one
  when the request is below ``max_split_size`` and more than ``kSmallSize`` would remain; the request
  takes the front, the rest is a free block.
- ``free_block``: a freed block merges with a free neighbour of its segment (``try_merge_blocks``).
  Segments are given back only by ``empty_cache`` or when ``cudaMalloc`` fails: never, in a plan.

A freed block is reused at once by the next request on its own stream, since the stream orders
everything; other streams wait on recorded events (``record_stream``). A WebGPU queue does not order
a ``queue.write_buffer`` after the commands still being encoded: the very hazard the seed's fix
addresses. ``+fix`` skips blocks in segments the open encoder uses, ``+fix-range`` only blocks whose
bytes it uses (like a block with stream uses pending). Not modelled: ``expandable_segments``,
``garbage_collection_threshold``, per-interval division lists.

For WebGPU, as CubeCL does since #814 (tensors of one segment bound differently in one dispatch are a
usage-scope error): storage bindings of pooled buffers are read-write and uniforms have segments of
their own. Offsets are multiples of 512, or of the device's offset alignment if larger.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import ClassVar

from ..device import MIB, Device, align_up
from ..exclusion import Exclusion
from ..pages import Reservation, Storage
from ..pool_policies import PoolPolicy

K_MIN_BLOCK_SIZE = 512
K_SMALL_SIZE = 1 * MIB
K_SMALL_BUFFER = 2 * MIB
K_LARGE_BUFFER = 20 * MIB
K_MIN_LARGE_ALLOC = 10 * MIB
K_ROUND_LARGE = 2 * MIB


def round_size(size: int, divisions: int = 0) -> int:
    """``round_size``: the size a request of ``size`` bytes is given."""
    if size < K_MIN_BLOCK_SIZE:
        return K_MIN_BLOCK_SIZE
    if divisions > 1 and size > K_MIN_BLOCK_SIZE * divisions:
        return roundup_power2_next_division(size, divisions)
    return align_up(size, K_MIN_BLOCK_SIZE)


def roundup_power2_next_division(size: int, divisions: int) -> int:
    """The next of ``divisions`` equal steps between the powers of two around ``size``."""
    if size & (size - 1) == 0:
        return size
    floor = 1 << (size.bit_length() - 1)
    step = floor >> (divisions.bit_length() - 1)
    if step == 0:
        return floor << 1
    low = size & ~(step - 1)
    return size if low == size else low + step


def allocation_size(size: int) -> int:
    """``get_allocation_size``: the segment made for a rounded request no free block can take."""
    if size <= K_SMALL_SIZE:
        return K_SMALL_BUFFER
    if size < K_MIN_LARGE_ALLOC:
        return K_LARGE_BUFFER
    return align_up(size, K_ROUND_LARGE)


class CachingAllocator:
    """Segments cut into blocks; two pools of free blocks (small, large), each sorted by (size, page, offset).

    ``size[page, offset]``: every block; ``used``: the allocated ones; ``offsets[page]``: a segment's block
    offsets in order (its neighbours); ``small_page``: whether a segment is the small pool's.
    """

    def __init__(self, storage: Storage, alignment: int, max_split_size: int | None, divisions: int):
        self.storage = storage
        self.alignment = alignment
        self.max_split = max_split_size
        self.divisions = divisions
        self.size: dict[tuple[int, int], int] = {}
        self.used: set[tuple[int, int]] = set()
        self.offsets: dict[int, list[int]] = {}
        self.small_page: dict[int, bool] = {}
        self.segments: dict[int, int] = {}
        self.free_blocks: dict[bool, list[tuple[int, int, int]]] = {True: [], False: []}

    def reserve(self, size: int, exclude: Exclusion | None = None) -> Reservation:
        rounded = align_up(round_size(size, self.divisions), self.alignment)
        small = rounded <= K_SMALL_SIZE
        block = self.best_fit(small, rounded, exclude)
        if block is None:
            segment = allocation_size(rounded)
            page = self.storage.alloc(segment)
            self.segments[page], self.small_page[page], self.offsets[page] = segment, small, [0]
            block = (page, 0)
            self.size[block] = segment
        if self.should_split(small, self.size[block] - rounded, rounded):
            self.split(block, rounded)
        self.used.add(block)
        return block[0], block[1], self.size[block]

    def best_fit(self, small: bool, rounded: int, exclude: Exclusion | None) -> tuple[int, int] | None:
        """``get_free_block``: the first block in (size, address) order that fits, is not oversized for the
        request, and that ``exclude`` allows; taken off the free list."""
        free = self.free_blocks[small]
        i = bisect_left(free, (rounded, -1, -1))
        end = len(free)
        if self.max_split is not None:  # blocks from this size on are oversized
            end = bisect_left(free, (self.max_split if rounded < self.max_split else rounded + K_LARGE_BUFFER, -1, -1))
        if exclude is not None:
            i = exclude.first_free(free, i, end, rounded)
        if i >= end:
            return None
        _, page, offset = free.pop(i)
        return page, offset

    def should_split(self, small: bool, remaining: int, rounded: int) -> bool:
        if small:
            return remaining >= K_MIN_BLOCK_SIZE
        return (self.max_split is None or rounded < self.max_split) and remaining > K_SMALL_SIZE

    def split(self, block: tuple[int, int], rounded: int) -> None:
        """The request takes the front ``rounded`` bytes of ``block``; the rest becomes a free block."""
        page, offset = block
        rest = (page, offset + rounded)
        self.size[rest] = self.size[block] - rounded
        self.size[block] = rounded
        insort(self.offsets[page], rest[1])
        insort(self.free_blocks[self.small_page[page]], (self.size[rest], *rest))

    def free(self, page: int, offset: int) -> None:
        """``free_block``: the block merges with its free neighbours, and the result is free."""
        self.used.discard((page, offset))
        offsets, free = self.offsets[page], self.free_blocks[self.small_page[page]]
        i = bisect_left(offsets, offset)
        if i + 1 < len(offsets) and (page, offsets[i + 1]) not in self.used:
            after = (page, offsets[i + 1])
            free.remove((self.size[after], *after))
            self.size[page, offset] += self.size.pop(after)
            del offsets[i + 1]
        if i > 0 and (page, offsets[i - 1]) not in self.used:
            before = (page, offsets[i - 1])
            free.remove((self.size[before], *before))
            self.size[before] += self.size.pop((page, offset))
            del offsets[i]
            offset = before[1]
        insort(free, (self.size[page, offset], page, offset))

    def reserved_bytes(self) -> int:
        return sum(self.segments.values())

    def live(self) -> list[tuple[int, int, int]]:
        return sorted((page, offset, self.size[page, offset]) for page, offset in self.used)


@dataclass(frozen=True)
class TorchCaching(PoolPolicy):
    """PyTorch's CUDA caching allocator (see the module doc); ``max_split_size`` in bytes (None: unlimited)."""

    name: ClassVar[str] = "torch-caching"
    summary: ClassVar[str] = "PyTorch CUDA caching allocator: 512 B rounding, 2/20 MiB segments, split, coalesce"
    read_write_bindings: ClassVar[bool] = True
    separate_uniform_pool: ClassVar[bool] = True
    max_split_size: int | None = None
    roundup_power2_divisions: int = 0

    def __post_init__(self) -> None:
        if self.max_split_size is not None and self.max_split_size <= K_LARGE_BUFFER:
            raise ValueError(f"max_split_size must be more than 20 MiB, as torch's max_split_size_mb must be "
                             f"more than 20 (got {self.max_split_size:,} bytes)")
        d = self.roundup_power2_divisions
        if d < 0 or d & (d - 1):
            raise ValueError(f"roundup_power2_divisions must be 0 or a power of two, as in torch (got {d})")

    def parameters(self, device: Device) -> dict:
        return {"alignment": self.alignment(device), "kMinBlockSize": K_MIN_BLOCK_SIZE, "kSmallSize": K_SMALL_SIZE,
                "kSmallBuffer": K_SMALL_BUFFER, "kLargeBuffer": K_LARGE_BUFFER, "kMinLargeAlloc": K_MIN_LARGE_ALLOC,
                "kRoundLarge": K_ROUND_LARGE, "max_split_size": self.max_split_size,
                "roundup_power2_divisions": self.roundup_power2_divisions}

    def alignment(self, device: Device) -> int:
        return max(K_MIN_BLOCK_SIZE, device.binding_alignment)

    def manager(self, device: Device, storage: Storage) -> CachingAllocator:
        return CachingAllocator(storage, self.alignment(device), self.max_split_size, self.roundup_power2_divisions)
