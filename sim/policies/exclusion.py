"""The seed's fix (PR 56): storage the open encoder uses, which a queue-filled allocation must not reuse."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from .device import align_up


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

    def last_free(self, slots: list[tuple[int, int]], need: int) -> int:
        """Index of the last (page, offset) of ``slots`` whose bytes [offset, offset + need) ``blocks`` lets
        through; -1 if none. ``blocks`` per slot, in one call: a pool searches its free slots with it."""
        k = len(slots) - 1
        if not self.by_range:
            pages = self.pages
            while k >= 0 and slots[k][0] in pages:
                k -= 1
            return k
        ranges = self.ranges
        while k >= 0:
            page, lo = slots[k]
            flat = ranges.get(page)
            if not flat:
                return k
            i = bisect_right(flat, lo)
            if not (i % 2 or (i < len(flat) and flat[i] < lo + need)):
                return k
            k -= 1
        return -1

    def first_free(self, blocks: list[tuple[int, int, int]], i: int, end: int, need: int) -> int:
        """Index of the first (size, page, offset) of ``blocks[i:end]`` whose bytes [offset, offset + need)
        ``blocks`` lets through; ``end`` if none (``last_free``, searching forward)."""
        if not self.by_range:
            pages = self.pages
            while i < end and blocks[i][1] in pages:
                i += 1
            return i
        ranges = self.ranges
        while i < end:
            _, page, lo = blocks[i]
            flat = ranges.get(page)
            if not flat:
                return i
            j = bisect_right(flat, lo)
            if not (j % 2 or (j < len(flat) and flat[j] < lo + need)):
                return i
            i += 1
        return end

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
            n = len(flat)
            while i < n and flat[i] < x + need:  # past each range in the way (align_up inline: most time is here)
                x = flat[i + 1]
                x += -x % alignment
                i += 2
        return x if x + need <= hi else -1
