"""Pools: which physical buffer (a page) and which byte range (a slice) back each allocation.

Modelled on CubeCL's memory management (see research/cubecl-pools.md): pages come from a storage
(the planner, which records a BUFFER_CREATE for each), a reservation goes to the first pool that
accepts its size, a freed slice is free at once (CubeCL frees when the last handle drops), and some
pools give pages back after a period of disuse. Parameters carry CubeCL's names.

A reservation may carry an ``Exclusion`` (the seed's fix): storage it must not reuse.
"""

from __future__ import annotations

import math
from bisect import bisect_left

from .device import GIB, KIB, align_up, padding
from .exclusion import Exclusion
from .pages import CoalescedPage, Reservation, RingPage, Storage

ALLOC_AFTER_FREE = 5
SIZE_AVG_DECAY = 0.01
BASE_DEALLOC_PERIOD = 5000
MIN_SIZE_NEEDED_TO_OFFSET = 16
SIZE_CLASS_MIN_PAGE = 64 * KIB
SIZE_CLASS_SLOTS = 16
NEVER = 1 << 62


def dealloc_period_for(size: int) -> int:
    """CubeCL's ``5000 * round(1 + size / 1 GiB)`` reservations (Rust rounds halves away from zero)."""
    return BASE_DEALLOC_PERIOD * math.floor(1 + size / GIB + 0.5)


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


class ExclusiveMemoryPool(Pool):
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


class SlicedPool(Pool):
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
        page = (RingPage if self.next_fit else CoalescedPage)(storage.alloc(self.page_size), self.page_size)
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


class SmallMemoryPool(Pool):
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


class SizeClassPool(Pool):
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
            # the last freed slot the open encoder does not use
            k = len(stack) - 1 if exclude is None else exclude.last_free(stack, max(size, 1))
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


class OwnPagePool(Pool):
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
        assert self.storage is not None, "a page to free came from alloc, which keeps its storage"
        self.storage.dealloc(page)

    def reserved_bytes(self) -> int:
        return sum(self.sizes.values())

    def live(self) -> list[tuple[int, int, int]]:
        return [(p, 0, s) for p, s in sorted(self.sizes.items())]


class MemoryManagement:
    """CubeCL's ``MemoryManagement``: routes each reservation to the first pool that accepts its size.

    ``cleanup`` True runs every pool's periodic release before each reservation (today's CubeCL);
    PR 56 never released pages.
    """

    def __init__(self, pools: list[Pool], storage: Storage, *, cleanup: bool):
        self.pools = [*pools, OwnPagePool(max((getattr(p, "alignment", 1) for p in pools), default=1))]
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
