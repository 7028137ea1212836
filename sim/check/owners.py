"""Which logical allocations own a physical byte range at a moment: the plan's map, read backwards.

Reports name the program's allocations, not just physical buffers, and the stale-read rule needs
each access charged to the allocation that was live where and when it happened. Allocations that
are live at the same time never share bytes, so most accesses are found by one lookup: the
allocation that starts exactly at the access's first byte, the latest one begun there (or, for a
buffer that backs a single allocation, as every recorded buffer does, that one). Accesses
that start inside an allocation or span several take the general path, which pairs them with every
allocation of their buffer live at that moment and keeps the overlapping ones.
"""

from __future__ import annotations

import numpy as np

from ..plan import Allocations
from .intervals import group_keys, spans


class Owners:
    """Lookups from physical (buffer, byte range, event) to the plan's logical allocations."""

    def __init__(self, allocations: Allocations):
        self.a = allocations

    def pairs(self, buffer: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray,
              padded: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(access index, allocation) for every allocation live at ``t`` that overlaps [lo, hi) of ``buffer``.

        ``padded``: an allocation spans its reserved bytes (padding included); else only the bytes
        its program asked for. Pairs come sorted by access, then allocation.
        """
        a = self.a
        buffer, lo, hi, t = (np.asarray(x, dtype=np.int64) for x in (buffer, lo, hi, t))
        extent = a.reserved if padded else a.size
        if not len(a) or not len(buffer):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        horizon = int(max(a.end.max(), t.max())) + 2
        nonempty = lo < hi

        # a buffer that backs one allocation over the whole plan (every buffer, as recorded)
        n_buffers = int(max(a.buffer.max(), buffer.max())) + 1
        alone = np.full(n_buffers, -1, dtype=np.int64)
        once = np.bincount(a.buffer, minlength=n_buffers)[a.buffer] == 1
        alone[a.buffer[once]] = np.flatnonzero(once)
        sole = alone[buffer]
        single = sole >= 0
        s = np.maximum(sole, 0)
        direct = (single & nonempty & (a.start[s] <= t) & (a.end[s] > t) & (lo < a.offset[s] + extent[s])
                  & (hi > a.offset[s]))
        direct_q = np.flatnonzero(direct)

        # the allocation begun at the access's first byte, the latest one first
        shared = np.flatnonzero(~single & nonempty)
        where_alloc, where_access = group_keys([a.buffer, buffer[shared]], [a.offset, lo[shared]])
        places = np.sort(where_alloc)
        places = places[np.concatenate(([True], places[1:] != places[:-1]))]
        slot_alloc = np.searchsorted(places, where_alloc)
        slot_access = np.minimum(np.searchsorted(places, where_access), len(places) - 1)
        key = slot_alloc * horizon + a.start
        order = np.argsort(key, kind="stable")
        pos = np.searchsorted(key[order], slot_access * horizon + t[shared], side="right") - 1
        found = order[np.maximum(pos, 0)]
        fast = ((places[slot_access] == where_access) & (pos >= 0) & (slot_alloc[found] == slot_access)
                & (a.end[found] > t[shared]) & (hi[shared] <= a.offset[found] + extent[found]) & (extent[found] > 0))
        fast_q = shared[fast]

        # the rest: every allocation of its buffer live at t, kept where the bytes overlap
        rest = shared[~fast]
        rest_key = buffer[rest] * horizon + t[rest]
        by_time = np.argsort(rest_key, kind="stable")
        rest, rest_key = rest[by_time], rest_key[by_time]
        first = np.searchsorted(rest_key, a.buffer * horizon + a.start, side="left")
        last = np.searchsorted(rest_key, a.buffer * horizon + a.end, side="left")
        counts = last - first
        alloc = np.repeat(np.arange(len(a), dtype=np.int64), counts)
        access = rest[spans(first, counts)]
        overlap = (lo[access] < a.offset[alloc] + extent[alloc]) & (hi[access] > a.offset[alloc])

        q = np.concatenate([direct_q, fast_q, access[overlap]])
        al = np.concatenate([sole[direct_q], found[fast], alloc[overlap]])
        order = np.lexsort((al, q))
        return q[order], al[order]

    def lists(self, buffer: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray) -> list[list[int]]:
        """Per access, the sorted allocations that own any of its bytes at ``t`` (for reports)."""
        q, al = self.pairs(buffer, lo, hi, t)
        out: list[list[int]] = [[] for _ in range(len(buffer))]
        for i, x in zip(q.tolist(), al.tolist(), strict=True):
            out[i].append(x)
        return out
