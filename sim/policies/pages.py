"""Pages and the slices cut from them: where pools get storage, and how one page's slices are kept.

A page is a physical buffer the planner creates for a pool (``Storage``); a reservation is the
(page, offset, reserved bytes) a pool hands an allocation.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Protocol

from .exclusion import Exclusion

Reservation = tuple[int, int, int]  # page, offset, reserved bytes (size plus padding)


class Storage(Protocol):
    """Where pages come from: the planner records a buffer creation or release for each call."""

    def alloc(self, size: int) -> int: ...

    def dealloc(self, page: int) -> None: ...


class CoalescedPage:
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


class RingPage:
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
