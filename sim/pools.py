"""Pool policies: which physical buffer (a page) and which byte range (a slice) back each allocation.

Modelled on CubeCL's memory management (see research/cubecl-pools.md): pages come from a storage
(the planner, which records a BUFFER_CREATE for each), a reservation goes to the first pool that
accepts its size, a freed slice is free at once (CubeCL frees when the last handle drops), and some
pools give pages back after a period of disuse. Parameters carry CubeCL's names.

The seed's fix (PR 56) is an option of every pool: an allocation that will be filled by a queue
write is reserved with an ``Exclusion`` of the storage the still-open encoder uses, either whole
pages (``+fix``, as PR 56 did) or byte ranges (``+fix-range``, which the seed called finer but more
complex). A policy object holds parameters only; ``manager`` builds the mutable pools for one plan.

Sub-allocation also puts tensors that one dispatch binds differently on one page, which WebGPU's
usage scope forbids (rule H2: a page bound writable beside read-only or uniform). Two class-level
flags say whether a policy avoids that as CubeCL does since #814: ``read_write_bindings`` (the
planner binds every storage binding of a pooled buffer read-write) and ``separate_uniform_pool``
(allocations with UNIFORM usage take pages of their own pool instance, so no page holds both).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ..traces.errors import InputError

MAP_READ = 0x1
MAP_WRITE = 0x2
COPY_SRC = 0x4
COPY_DST = 0x8
UNIFORM = 0x40
MAPPABLE = MAP_READ | MAP_WRITE

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
WEBGPU_MAX_STORAGE_BINDING = 128 * MIB
WEBGPU_OFFSET_ALIGNMENT = 256
ALLOC_AFTER_FREE = 5
SIZE_AVG_DECAY = 0.01
BASE_DEALLOC_PERIOD = 5000
MIN_SIZE_NEEDED_TO_OFFSET = 16
SIZE_CLASS_MIN_PAGE = 64 * KIB
SIZE_CLASS_SLOTS = 16
NEVER = 1 << 62


class PolicyError(InputError):
    """An unknown or malformed pool or pass policy name."""


@dataclass(frozen=True)
class Device:
    """The device properties CubeCL builds its pools from, read from a trace's limits."""

    max_page_size: int = WEBGPU_MAX_STORAGE_BINDING
    storage_alignment: int = WEBGPU_OFFSET_ALIGNMENT
    uniform_alignment: int = WEBGPU_OFFSET_ALIGNMENT

    @classmethod
    def from_limits(cls, limits: dict) -> Device:
        """WebGPU's defaults fill what the limits leave out (keys spelt with '-' or '_')."""
        def get(name: str, default: int) -> int:
            value = limits.get(name, limits.get(name.replace("-", "_"), default))
            return int(value) if isinstance(value, int) and value > 0 else default

        return cls(get("max-storage-buffer-binding-size", WEBGPU_MAX_STORAGE_BINDING),
                   get("min-storage-buffer-offset-alignment", WEBGPU_OFFSET_ALIGNMENT),
                   get("min-uniform-buffer-offset-alignment", WEBGPU_OFFSET_ALIGNMENT))


class Storage(Protocol):
    """Where pages come from: the planner records a buffer creation or release for each call."""

    def alloc(self, size: int) -> int: ...

    def dealloc(self, page: int) -> None: ...


def padding(size: int, alignment: int) -> int:
    """CubeCL's ``calculate_padding``: bytes that round ``size`` up to a multiple of ``alignment``."""
    rest = size % alignment
    return alignment - rest if rest else 0


def align_up(size: int, alignment: int) -> int:
    return size + padding(size, alignment)


def dealloc_period_for(size: int) -> int:
    """CubeCL's ``5000 * round(1 + size / 1 GiB)`` reservations (Rust rounds halves away from zero)."""
    return BASE_DEALLOC_PERIOD * math.floor(1 + size / GIB + 0.5)


class Exclusion:
    """Storage used by commands of the still-open encoder(s), that a queue-filled allocation must avoid.

    ``by_range`` False keeps whole pages (PR 56's ``compute_storage_used``); True keeps sorted, merged
    byte ranges per page, so other slices of the same page stay usable.
    """

    def __init__(self, by_range: bool):
        self.by_range = by_range
        self.pages: set[int] = set()
        self.ranges: dict[int, list[int]] = {}

    def add(self, page: int, lo: int, hi: int) -> None:
        if not self.by_range:
            self.pages.add(page)
            return
        flat = self.ranges.setdefault(page, [])
        i = bisect_left(flat, lo)
        j = bisect_right(flat, hi)
        if i % 2:
            i -= 1
            lo = flat[i]
        if j % 2:
            hi = flat[j]
            j += 1
        flat[i:j] = (lo, hi)

    def clear(self) -> None:
        self.pages.clear()
        self.ranges.clear()

    def blocks(self, page: int, lo: int, hi: int) -> bool:
        """Whether bytes [lo, hi) of ``page`` are (or lie in a page) used by the open encoder."""
        if not self.by_range:
            return page in self.pages
        flat = self.ranges.get(page)
        if not flat:
            return False
        i = bisect_right(flat, lo)
        return i % 2 == 1 or (i < len(flat) and flat[i] < hi)

    def first_fit(self, page: int, lo: int, hi: int, need: int, alignment: int) -> int:
        """Lowest aligned offset x >= lo with [x, x + need) inside [lo, hi) and unused; -1 if none."""
        if not self.by_range:
            return -1 if page in self.pages or hi - lo < need else lo
        flat = self.ranges.get(page)
        x = lo
        if flat:
            i = bisect_right(flat, x)
            if i % 2:
                x = align_up(flat[i], alignment)
                i += 1
            while i < len(flat) and flat[i] < x + need:
                x = align_up(flat[i + 1], alignment)
                i += 2
        return x if x + need <= hi else -1


Reservation = tuple[int, int, int]  # page, offset, reserved bytes (size plus padding)


class Pool:
    """One of CubeCL's memory pools: ``accept`` routes a size to it, ``try_reserve`` reuses, ``alloc`` grows.

    ``due`` is the reservation count at which ``cleanup`` next has work (NEVER for pools that keep
    their pages), so the manager need not call it on every reservation.
    """

    due = NEVER

    def accept(self, size: int) -> bool:
        raise NotImplementedError

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        raise NotImplementedError

    def alloc(self, storage: Storage, size: int) -> Reservation:
        raise NotImplementedError

    def free(self, page: int, offset: int) -> None:
        raise NotImplementedError

    def cleanup(self, storage: Storage, alloc_nr: int) -> None:
        """Give back pages that stayed free long enough; most pools never do."""

    def reserved_bytes(self) -> int:
        raise NotImplementedError

    def live(self) -> list[tuple[int, int, int]]:
        """(page, offset, reserved) of every slice in use, for the pool's own invariants."""
        raise NotImplementedError


class ExclusivePages(Pool):
    """CubeCL's ``ExclusiveMemoryPool``: one slice per page, reused whole, released after disuse.

    Reuse takes, among free pages big enough, the one with the lowest ``free_count`` (first made on
    ties); a new page is ``max(moving average of requests, size)``; every ``dealloc_period / 5``
    reservations each free page's count rises, and a page reaching 5 goes back to the storage.
    """

    def __init__(self, max_alloc_size: int, alignment: int, dealloc_period: int | None):
        self.max_alloc_size = max_alloc_size
        self.alignment = alignment
        self.check_period = dealloc_period // ALLOC_AFTER_FREE if dealloc_period else 0
        self.due = self.check_period or NEVER
        self.cur_avg_size = max_alloc_size / 2
        self.pages: dict[int, list[int]] = {}  # page -> [alloc_size, free_count, size in use or -1]
        self.free_pages: dict[int, list[int]] = {}

    def accept(self, size: int) -> bool:
        return size <= self.max_alloc_size

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        self.cur_avg_size = self.cur_avg_size * (1.0 - SIZE_AVG_DECAY) + size * SIZE_AVG_DECAY
        best, best_page = None, -1
        for page, entry in self.free_pages.items():
            if entry[0] >= size and (best is None or entry[1] < best[1] or (entry[1] == best[1] and page < best_page)):
                if exclude is None or not exclude.blocks(page, 0, max(size, 1)):
                    best, best_page = entry, page
        if best is None:
            return None
        del self.free_pages[best_page]
        best[1] = max(best[1] - 1, 0)
        best[2] = size
        return best_page, 0, size + padding(size, self.alignment)

    def alloc(self, storage: Storage, size: int) -> Reservation:
        alloc_size = align_up(max(int(self.cur_avg_size), size), self.alignment)
        page = storage.alloc(alloc_size)
        self.pages[page] = [alloc_size, ALLOC_AFTER_FREE - 1, size]
        return page, 0, size + padding(size, self.alignment)

    def free(self, page: int, offset: int) -> None:
        entry = self.pages[page]
        entry[2] = -1
        self.free_pages[page] = entry

    def cleanup(self, storage: Storage, alloc_nr: int) -> None:
        if alloc_nr < self.due:
            return
        self.due = alloc_nr + self.check_period
        for page in sorted(self.free_pages):
            entry = self.free_pages[page]
            entry[1] += 1
            if entry[1] >= ALLOC_AFTER_FREE:
                storage.dealloc(page)
                del self.pages[page], self.free_pages[page]

    def reserved_bytes(self) -> int:
        return sum(entry[0] for entry in self.pages.values())

    def live(self) -> list[tuple[int, int, int]]:
        return [(p, 0, e[2] + padding(e[2], self.alignment)) for p, e in self.pages.items() if e[2] >= 0]


class _CoalescedPage:
    """A page whose free slices merge with free neighbours as soon as they are freed.

    Today's CubeCL coalesces a page's free slices before every search of it, so first fit over
    eagerly merged free slices picks the same offsets. ``starts`` lists the free slices in address
    order; ``length`` and ``ends`` index them by start and by end; ``used`` maps slices to sizes.
    """

    __slots__ = ("id", "starts", "length", "ends", "used")

    def __init__(self, page: int, size: int):
        self.id = page
        self.starts = [0]
        self.length = {0: size}
        self.ends = {size: 0}
        self.used: dict[int, int] = {}

    def find(self, need: int, exclude: Exclusion | None, alignment: int) -> tuple[int, int]:
        """First free slice that can hold ``need`` bytes: (its position in ``starts``, offset), or (-1, -1)."""
        length = self.length
        for k, start in enumerate(self.starts):
            size = length[start]
            if size >= need:
                if exclude is None:
                    return k, start
                at = exclude.first_fit(self.id, start, start + size, need, alignment)
                if at >= 0:
                    return k, at
        return -1, -1

    def take(self, k: int, at: int, need: int) -> None:
        """Use bytes [at, at + need) of free slice k; what is left on each side stays free."""
        start = self.starts[k]
        end = start + self.length.pop(start)
        del self.ends[end]
        self.used[at] = need
        if at > start:
            self.length[start] = at - start
            self.ends[at] = start
            k += 1
        else:
            del self.starts[k]
        if at + need < end:
            self.starts.insert(k, at + need)
            self.length[at + need] = end - at - need
            self.ends[end] = at + need

    def release(self, offset: int) -> None:
        start, end = offset, offset + self.used.pop(offset)
        after = self.length.pop(end, None)
        if after is not None:
            del self.ends[end + after]
            del self.starts[bisect_left(self.starts, end)]
            end += after
        before = self.ends.pop(offset, None)
        if before is None:
            insort(self.starts, start)
        else:
            start = before
        self.length[start] = end - start
        self.ends[end] = start

    def slices(self) -> list[tuple[int, int]]:
        return sorted(self.used.items())


class _Page:
    """A page cut into slices in address order; ``used`` is False for a free slice. PR 56 merges free
    neighbours lazily, while it walks from its cursor: ``merge_next``.

    ``first_free`` is at or before the first free slice, so a search skips the used slices that
    fill the start of a page.
    """

    __slots__ = ("id", "offsets", "sizes", "used", "first_free")

    def __init__(self, page: int, size: int):
        self.id = page
        self.offsets = [0]
        self.sizes = [size]
        self.used = [False]
        self.first_free = 0

    def merge_next(self, i: int) -> bool:
        """Merge slice i with the slice after it when both are free (CubeCL coalesces lazily)."""
        if i + 1 < len(self.used) and not self.used[i + 1]:
            self.sizes[i] += self.sizes[i + 1]
            del self.offsets[i + 1], self.sizes[i + 1], self.used[i + 1]
            return True
        return False

    def take(self, i: int, at: int, need: int) -> None:
        """Make bytes [at, at + need) of free slice i a used slice; what is left on each side stays free."""
        start, size = self.offsets[i], self.sizes[i]
        if at > start:
            self.sizes[i] = at - start
            i += 1
            self.offsets.insert(i, at)
            self.sizes.insert(i, need)
            self.used.insert(i, True)
        else:
            self.sizes[i] = need
            self.used[i] = True
        rest = start + size - at - need
        if rest:
            self.offsets.insert(i + 1, at + need)
            self.sizes.insert(i + 1, rest)
            self.used.insert(i + 1, False)
        used, first = self.used, self.first_free
        while first < len(used) and used[first]:
            first += 1
        self.first_free = first

    def release(self, offset: int) -> None:
        i = bisect_left(self.offsets, offset)
        self.used[i] = False
        if i < self.first_free:
            self.first_free = i

    def slices(self) -> list[tuple[int, int]]:
        return [(o, s) for o, s, u in zip(self.offsets, self.sizes, self.used, strict=True) if u]

    def find(self, i: int, need: int, exclude: Exclusion | None, alignment: int) -> tuple[int, int]:
        """First free slice from position i that can hold ``need`` bytes: (position, offset) or (-1, -1)."""
        used, sizes, offsets = self.used, self.sizes, self.offsets
        i = max(i, self.first_free)
        while i < len(used):
            if not used[i]:
                while sizes[i] < need and self.merge_next(i):
                    pass
                if sizes[i] >= need:
                    if exclude is None:
                        return i, offsets[i]
                    while True:
                        at = exclude.first_fit(self.id, offsets[i], offsets[i] + sizes[i], need, alignment)
                        if at >= 0 or not self.merge_next(i):
                            break
                    if at >= 0:
                        return i, at
            i += 1
        return -1, -1


class SlicedPages(Pool):
    """CubeCL's ``SlicedPool``: pages of ``page_size`` cut into slices of at most ``max_slice_size``.

    ``fit`` is where the search starts: "first" walks every page from its start (today's pool);
    "next" resumes after the last slice handed out and wraps around once (PR 56's ring buffer).
    ``near_full`` also accepts sizes within 20 % of a page (today's ``accept``).
    """

    def __init__(self, page_size: int, max_slice_size: int, alignment: int, *, fit: str = "first",
                 near_full: bool = True, min_offset_size: int = 0):
        self.page_size = page_size
        self.max_slice_size = min(max_slice_size, page_size)
        self.alignment = alignment
        self.next_fit = fit == "next"
        self.near_full = near_full
        self.min_offset_size = min_offset_size
        self.pages: list = []
        self.by_id: dict = {}
        self.cursor = (0, 0)  # page index, slice offset

    def accept(self, size: int) -> bool:
        if size <= self.max_slice_size:
            return True
        return self.near_full and size <= self.page_size and (self.page_size - size) * 5 < self.page_size

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        if size < self.min_offset_size:
            return None
        need = size + padding(size, self.alignment)
        if not self.next_fit:
            for page in self.pages:
                if exclude is not None and not exclude.by_range and page.id in exclude.pages:
                    continue
                i, at = page.find(need, exclude, self.alignment)
                if i >= 0:
                    page.take(i, at, need)
                    return page.id, at, need
            return None
        start_page, start_offset = self.cursor
        got = self._next_fit(start_page, len(self.pages), start_offset, need, exclude)
        if got is None:
            self.cursor = (0, 0)
            got = self._next_fit(0, start_page, 0, need, exclude)
        return got

    def _next_fit(self, first: int, end: int, offset: int, need: int, exclude: Exclusion | None) -> Reservation | None:
        """PR 56's ring walk over pages [first, end); in the first page it starts at the slice at ``offset``."""
        for p in range(first, min(end, len(self.pages))):
            page = self.pages[p]
            if exclude is not None and not exclude.by_range and page.id in exclude.pages:
                continue
            i = bisect_left(page.offsets, offset) if p == first else 0
            if p != first or (i < len(page.offsets) and page.offsets[i] == offset):
                i, at = page.find(i, need, exclude, self.alignment)
                if i >= 0:
                    page.take(i, at, need)
                    self.cursor = (p, at + need)
                    return page.id, at, need
            self.cursor = (p, 0)
        return None

    def alloc(self, storage: Storage, size: int) -> Reservation:
        page = (_Page if self.next_fit else _CoalescedPage)(storage.alloc(self.page_size), self.page_size)
        self.pages.append(page)
        self.by_id[page.id] = page
        need = size + padding(size, self.alignment)
        page.take(0, 0, need)
        return page.id, 0, need

    def free(self, page: int, offset: int) -> None:
        self.by_id[page].release(offset)

    def reserved_bytes(self) -> int:
        return self.page_size * len(self.pages)

    def live(self) -> list[tuple[int, int, int]]:
        return [(p.id, o, s) for p in self.pages for o, s in p.slices()]


class SmallChunks(Pool):
    """PR 56's ``SmallMemoryPool``: requests up to ``alignment`` bytes, one per chunk of that size.

    A ring cursor walks the chunks; as in PR 56, an excluded chunk under the cursor ends the search
    (the loop skips it without moving the cursor), so a new chunk is made.
    """

    def __init__(self, alignment: int):
        self.alignment = alignment
        self.ring: list[int] = []
        self.size_of: dict[int, int] = {}  # page -> size in use, -1 when free
        self.index = 0

    def accept(self, size: int) -> bool:
        return size <= self.alignment

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        for _ in range(len(self.ring)):
            page = self.ring[self.index]
            if exclude is not None and exclude.blocks(page, 0, max(size, 1)):
                return None
            self.index = (self.index + 1) % len(self.ring)
            if self.size_of[page] < 0:
                self.size_of[page] = size
                return page, 0, self.alignment
        return None

    def alloc(self, storage: Storage, size: int) -> Reservation:
        page = storage.alloc(self.alignment)
        self.ring.append(page)
        self.size_of[page] = size
        return page, 0, self.alignment

    def free(self, page: int, offset: int) -> None:
        self.size_of[page] = -1

    def reserved_bytes(self) -> int:
        return self.alignment * len(self.ring)

    def live(self) -> list[tuple[int, int, int]]:
        return [(p, 0, self.alignment) for p in self.ring if self.size_of[p] >= 0]


class SizeClasses(Pool):
    """Power-of-two buckets: a request takes a slot of the next power of two (at least ``alignment``).

    Buckets up to ``max_slice_size`` are carved from pages of their own bucket, each holding
    ``slots_per_page`` slots (at least ``min_page_size``, at most ``page_size`` bytes); larger buckets
    get a page per slot. A freed slot is reused first by the next request of its bucket (last freed,
    first reused); a page with no slot in use for ``dealloc_period`` reservations is given back.
    """

    def __init__(self, page_size: int, max_slice_size: int, alignment: int, dealloc_period: int, *,
                 min_page_size: int, slots_per_page: int):
        self.page_size = page_size
        self.min_page_size = min_page_size
        self.slots_per_page = slots_per_page
        self.max_slice_size = max_slice_size
        self.alignment = alignment
        self.dealloc_period = dealloc_period
        self.check_period = dealloc_period // ALLOC_AFTER_FREE
        self.due = self.check_period
        self.free_slots: dict[int, list[tuple[int, int]]] = {}
        self.carving: dict[int, list[int]] = {}  # bucket -> [page, next offset]
        self.page_size_of: dict[int, int] = {}
        self.in_use: dict[int, int] = {}  # page -> slots in use
        self.empty_since: dict[int, int] = {}
        self.slots: dict[tuple[int, int], int] = {}  # (page, offset) in use -> bucket
        self.alloc_nr = 0

    def bucket(self, size: int) -> int:
        return max(self.alignment, 1 << max(size - 1, 0).bit_length())

    def accept(self, size: int) -> bool:
        return True

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        """A freed slot of the bucket, else a slot not cut yet from the bucket's current page."""
        self.alloc_nr += 1
        b = self.bucket(size)
        stack = self.free_slots.get(b)
        if stack:
            k = len(stack) - 1
            if exclude is not None:
                while k >= 0 and exclude.blocks(stack[k][0], stack[k][1], stack[k][1] + max(size, 1)):
                    k -= 1
            if k >= 0:
                page, offset = stack.pop(k)
                return self._use(page, offset, b)
        carve = self.carving.get(b)
        if carve is None or carve[1] + b > self.page_size_of[carve[0]]:
            return None
        if exclude is not None and exclude.blocks(carve[0], carve[1], carve[1] + b):
            return None
        carve[1] += b
        return self._use(carve[0], carve[1] - b, b)

    def alloc(self, storage: Storage, size: int) -> Reservation:
        b = self.bucket(size)
        if b > self.max_slice_size:
            page = storage.alloc(b)
            self.page_size_of[page] = b
            self.in_use[page] = 0
            return self._use(page, 0, b)
        page_size = min(self.page_size, max(self.min_page_size, b * self.slots_per_page))
        page = storage.alloc(page_size)
        self.page_size_of[page] = page_size
        self.in_use[page] = 0
        self.carving[b] = [page, b]
        return self._use(page, 0, b)

    def _use(self, page: int, offset: int, b: int) -> Reservation:
        self.slots[page, offset] = b
        self.in_use[page] += 1
        self.empty_since.pop(page, None)
        return page, offset, b

    def free(self, page: int, offset: int) -> None:
        b = self.slots.pop((page, offset))
        self.free_slots.setdefault(b, []).append((page, offset))
        self.in_use[page] -= 1
        if not self.in_use[page]:
            self.empty_since[page] = self.alloc_nr

    def cleanup(self, storage: Storage, alloc_nr: int) -> None:
        if alloc_nr < self.due:
            return
        self.due = alloc_nr + self.check_period
        carving = {c[0] for c in self.carving.values()}
        gone = {p for p, since in self.empty_since.items()
                if alloc_nr - since >= self.dealloc_period and p not in carving}
        if not gone:
            return
        for p in sorted(gone):
            storage.dealloc(p)
            del self.empty_since[p], self.in_use[p], self.page_size_of[p]
        for b, stack in self.free_slots.items():
            self.free_slots[b] = [s for s in stack if s[0] not in gone]

    def reserved_bytes(self) -> int:
        return sum(self.page_size_of.values())

    def live(self) -> list[tuple[int, int, int]]:
        return [(p, o, b) for (p, o), b in sorted(self.slots.items())]


class OwnPages(Pool):
    """Sizes no other pool takes (CubeCL panics on them): a page of exactly the aligned size, released on free."""

    def __init__(self, alignment: int):
        self.alignment = alignment
        self.sizes: dict[int, int] = {}
        self.storage: Storage | None = None

    def accept(self, size: int) -> bool:
        return True

    def try_reserve(self, size: int, exclude: Exclusion | None) -> Reservation | None:
        return None

    def alloc(self, storage: Storage, size: int) -> Reservation:
        need = align_up(size, self.alignment)
        page = storage.alloc(need)
        self.storage = storage
        self.sizes[page] = need
        return page, 0, need

    def free(self, page: int, offset: int) -> None:
        del self.sizes[page]
        self.storage.dealloc(page)

    def reserved_bytes(self) -> int:
        return sum(self.sizes.values())

    def live(self) -> list[tuple[int, int, int]]:
        return [(p, 0, s) for p, s in sorted(self.sizes.items())]


class Manager:
    """CubeCL's ``MemoryManagement``: routes each reservation to the first pool that accepts its size.

    ``cleanup`` True runs every pool's periodic release before each reservation (today's CubeCL);
    PR 56 never released pages.
    """

    def __init__(self, pools: list[Pool], storage: Storage, *, cleanup: bool):
        self.pools = [*pools, OwnPages(max((getattr(p, "alignment", 1) for p in pools), default=1))]
        self.storage = storage
        self.cleaning = [p for p in self.pools if p.due < NEVER] if cleanup else []
        self.due = min((p.due for p in self.cleaning), default=NEVER)
        self.alloc_nr = 0
        self.owner: dict[int, Pool] = {}
        self.route: dict[int, Pool] = {}

    def reserve(self, size: int, exclude: Exclusion | None = None) -> Reservation:
        self.alloc_nr += 1
        if self.alloc_nr >= self.due:
            for p in self.cleaning:
                p.cleanup(self.storage, self.alloc_nr)
            self.due = min(p.due for p in self.cleaning)
        pool = self.route.get(size)
        if pool is None:
            pool = self.route[size] = next(p for p in self.pools if p.accept(size))
        got = pool.try_reserve(size, exclude) or pool.alloc(self.storage, size)
        self.owner[got[0]] = pool
        return got

    def free(self, page: int, offset: int) -> None:
        self.owner[page].free(page, offset)

    def reserved_bytes(self) -> int:
        return sum(p.reserved_bytes() for p in self.pools)

    def live(self) -> list[tuple[int, int, int]]:
        return sorted(s for p in self.pools for s in p.live())


@dataclass(frozen=True)
class PoolPolicy:
    """A named pool policy: parameters only. ``fix`` is "", "page" (``+fix``) or "range" (``+fix-range``).

    ``read_write_bindings`` and ``separate_uniform_pool`` (see the module doc) are False by default:
    true only for policies whose pages can hold several allocations and that must avoid H2.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    pooled: ClassVar[bool] = True
    read_write_bindings: ClassVar[bool] = False
    separate_uniform_pool: ClassVar[bool] = False
    fix: str = ""

    @property
    def spec(self) -> str:
        return self.name + {"": "", "page": "+fix", "range": "+fix-range"}[self.fix]

    def parameters(self, device: Device) -> dict:
        """The parameters this policy takes on ``device``, in CubeCL's names."""
        raise NotImplementedError

    def manager(self, device: Device, storage: Storage) -> Manager:
        raise NotImplementedError


@dataclass(frozen=True)
class Exclusive(PoolPolicy):
    """A buffer per allocation, created and released where the program does: what a plain program does."""

    name: ClassVar[str] = "exclusive"
    summary: ClassVar[str] = "a buffer per allocation (the program's own buffers; also named as-recorded)"
    pooled: ClassVar[bool] = False

    def parameters(self, device: Device) -> dict:
        return {}

    def manager(self, device: Device, storage: Storage) -> Manager:
        raise TypeError("the exclusive policy keeps the program's own buffers; it has no pools")


@dataclass(frozen=True)
class SubSlices(PoolPolicy):
    """CubeCL today (``MemoryConfiguration::SubSlices``, ``build_pools``).

    A pool for zero-sized requests, a ladder of sliced pools (page ``max_page_size / 4^k`` down to
    below 32 MiB, slices up to page / 2^k), then exclusive pages up to ``max_page_size`` released
    after ``dealloc_period`` reservations. Alignment: ``min_uniform_buffer_offset_alignment``.
    Usage scopes as since cubecl #814 (commit d16a03013, "Fix memory corruption on wgpu"): storage
    bound read-write, metadata and scalars (uniforms) in a pool of their own.
    """

    name: ClassVar[str] = "sliced"
    summary: ClassVar[str] = "CubeCL today: sliced page ladder + exclusive tail pool"
    read_write_bindings: ClassVar[bool] = True
    separate_uniform_pool: ClassVar[bool] = True

    def ladder(self, device: Device) -> list[tuple[int, int]]:
        alignment = device.uniform_alignment
        current, base, rungs = device.max_page_size, 1, []
        while current >= 32 * MIB:
            current = align_up(current // 4, alignment)
            rungs.append((current, current // 2**base))
            base += 1
        return rungs[::-1]

    def parameters(self, device: Device) -> dict:
        max_alloc = device.max_page_size // device.uniform_alignment * device.uniform_alignment
        return {"alignment": device.uniform_alignment,
                "sliced": [{"page_size": p, "max_slice_size": s} for p, s in self.ladder(device)],
                "exclusive": [{"max_alloc_size": 0, "dealloc_period": None},
                              {"max_alloc_size": max_alloc, "dealloc_period": dealloc_period_for(max_alloc)}]}

    def manager(self, device: Device, storage: Storage) -> Manager:
        alignment = device.uniform_alignment
        max_alloc = device.max_page_size // alignment * alignment
        pools: list[Pool] = [ExclusivePages(0, alignment, None)]
        pools += [SlicedPages(p, s, alignment) for p, s in self.ladder(device)]
        pools.append(ExclusivePages(max_alloc, alignment, dealloc_period_for(max_alloc)))
        return Manager(pools, storage, cleanup=True)


@dataclass(frozen=True)
class Pr56(PoolPolicy):
    """CubeCL at PR 56 (``DynamicMemoryManagementOptions::preset``), the seed's own pools.

    Chunks of ``max_page_size`` (rounded down to 8) with slices up to a chunk, then chunks of a
    quarter down to below 32 MiB with slices up to chunk / 2^(pools so far); pools tried in order
    of max slice, each a next-fit ring. Requests up to ``alignment`` bytes take a small chunk each.
    Alignment: ``min_storage_buffer_offset_alignment``. Nothing is ever released. Bindings keep the
    program's access and uniforms share pages with storage: the H2 of Burn #1996 that #814 fixed.
    """

    name: ClassVar[str] = "sliced-pr56"
    summary: ClassVar[str] = "CubeCL at PR 56: preset chunk ladder, next-fit rings, small-chunk pool"

    def ladder(self, device: Device) -> list[tuple[int, int]]:
        current = device.max_page_size // 8 * 8
        rungs = [(current, current)]
        while current >= 32 * MIB:
            current //= 4
            rungs.append((current, current // 2 ** len(rungs)))
        return sorted(rungs, key=lambda r: r[1])

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.storage_alignment,
                "small": {"chunk_size": device.storage_alignment},
                "sliced": [{"chunk_size": c, "slice_max_size": s} for c, s in self.ladder(device)]}

    def manager(self, device: Device, storage: Storage) -> Manager:
        alignment = device.storage_alignment
        pools: list[Pool] = [SmallChunks(alignment)]
        pools += [SlicedPages(c, s, alignment, fit="next", near_full=False, min_offset_size=MIN_SIZE_NEEDED_TO_OFFSET)
                  for c, s in self.ladder(device)]
        return Manager(pools, storage, cleanup=False)


@dataclass(frozen=True)
class ExclusivePagesPolicy(PoolPolicy):
    """CubeCL's ``MemoryConfiguration::ExclusivePages``: 24 exclusive pools, sizes log-spaced.

    ``max_alloc_size`` from 32 KiB to ``max_page_size`` (aligned, duplicates dropped), each with
    ``dealloc_period = 5000 * round(1 + size / 1 GiB)``. CubeCL uses it for staging and uniforms.
    """

    name: ClassVar[str] = "exclusive-pages"
    summary: ClassVar[str] = "CubeCL ExclusivePages: whole-buffer reuse in 24 log-spaced size pools"

    def sizes(self, device: Device) -> list[int]:
        lo, hi, n = math.log(32 * KIB), math.log(device.max_page_size), 24
        sizes: list[int] = []
        for i in range(n):
            size = align_up(int(math.exp(lo + (hi - lo) * i / (n - 1))), device.uniform_alignment)
            if not sizes or sizes[-1] != size:
                sizes.append(size)
        return sizes

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.uniform_alignment,
                "exclusive": [{"max_alloc_size": s, "dealloc_period": dealloc_period_for(s)}
                              for s in self.sizes(device)]}

    def manager(self, device: Device, storage: Storage) -> Manager:
        pools: list[Pool] = [ExclusivePages(s, device.uniform_alignment, dealloc_period_for(s))
                             for s in self.sizes(device)]
        return Manager(pools, storage, cleanup=True)


@dataclass(frozen=True)
class SizeClassPolicy(PoolPolicy):
    """Power-of-two buckets (not in CubeCL): each bucket up to ``max_slice_size`` cuts pages of its own.

    ``page_size`` and ``max_slice_size`` are the smallest rung of today's CubeCL ladder (8 MiB and
    2 MiB on a 128 MiB device); a page holds ``slots_per_page`` = 16 slots but is at least
    ``min_page_size`` = 64 KiB (our choice: a slab per bucket, small enough that many buckets stay
    cheap); ``dealloc_period`` is CubeCL's base 5000 reservations; slots align to the larger of the
    storage and uniform offset alignments, so any binding of a slot is legal. Usage scopes as CubeCL
    today (read-write storage bindings, uniforms in a pool of their own): chosen so that its plans
    are usable on a real GPU, where slots of one page bound differently in a dispatch are an H2.
    """

    name: ClassVar[str] = "size-class"
    summary: ClassVar[str] = "power-of-two buckets carved from shared pages"
    read_write_bindings: ClassVar[bool] = True
    separate_uniform_pool: ClassVar[bool] = True

    def shape(self, device: Device) -> tuple[int, int, int]:
        rungs = SubSlices().ladder(device)
        page_size, max_slice = rungs[0] if rungs else (align_up(device.max_page_size, 256), device.max_page_size)
        return page_size, max_slice, max(device.storage_alignment, device.uniform_alignment)

    def parameters(self, device: Device) -> dict:
        page_size, max_slice, alignment = self.shape(device)
        return {"page_size": page_size, "max_slice_size": max_slice, "alignment": alignment,
                "min_page_size": SIZE_CLASS_MIN_PAGE, "slots_per_page": SIZE_CLASS_SLOTS,
                "dealloc_period": BASE_DEALLOC_PERIOD}

    def manager(self, device: Device, storage: Storage) -> Manager:
        page_size, max_slice, alignment = self.shape(device)
        return Manager([SizeClasses(page_size, max_slice, alignment, BASE_DEALLOC_PERIOD,
                                    min_page_size=SIZE_CLASS_MIN_PAGE, slots_per_page=SIZE_CLASS_SLOTS)],
                       storage, cleanup=True)


POOLS: dict[str, type[PoolPolicy]] = {
    p.name: p for p in (Exclusive, SubSlices, Pr56, ExclusivePagesPolicy, SizeClassPolicy)
}
ALIASES = {"as-recorded": "exclusive"}
FIXES = {"": "", "fix": "page", "fix-range": "range"}


def pool_names() -> list[str]:
    """Every pool, alone and with each variant of the fix (``exclusive`` never reuses: it needs no fix)."""
    return [name + (f"+{fix}" if fix else "") for name, cls in POOLS.items() for fix in (FIXES if cls.pooled else [""])]


def parse_pool(spec: str | PoolPolicy) -> PoolPolicy:
    """``NAME[+fix|+fix-range]`` -> a policy; anything else is a PolicyError naming the valid names."""
    if isinstance(spec, PoolPolicy):
        return spec
    name, plus, fix = str(spec).partition("+")
    name = ALIASES.get(name, name)
    if name not in POOLS or fix not in FIXES or (plus and not fix):
        raise PolicyError(f"unknown pool policy {spec!r}; valid: {', '.join(sorted([*POOLS, *ALIASES]))} "
                          f"(each may end in +fix or +fix-range)")
    return POOLS[name](fix=FIXES[fix])
