"""Greedy by size at scale: the bucketed search places exactly as the published algorithm's full scan does.

The reference below is the algorithm as Pisarchyk & Lee describe it, scanning every placed
allocation for each new one (quadratic); ``floor.greedy_by_size`` reads only the allocations alive
around each one. Random lifetimes of every shape (short, long, spanning the whole trace, nested)
must give the same offsets.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim.metrics.floor import Lifetimes, greedy_by_size


def reference(life: Lifetimes, alignment: int) -> tuple[list[int], int]:
    n = len(life.size)
    offsets = [0] * n
    placed: list[int] = []  # by offset, then by placement
    total = 0
    for i in sorted(range(n), key=lambda j: (-int(life.size[j]), int(life.first[j]), j)):
        live = [j for j in placed if life.first[j] <= life.last[i] and life.last[j] >= life.first[i]]
        best, best_gap, end = None, None, 0
        for j in live:
            start = offsets[j]
            gap = start - end
            if gap >= life.size[i] and (best_gap is None or gap < best_gap):
                best, best_gap = end, gap
            end = max(end, -(-(start + int(life.size[j])) // alignment) * alignment)
        offsets[i] = best if best is not None else end
        total = max(total, offsets[i] + int(life.size[i]))
        k = len(placed)
        while k > 0 and offsets[placed[k - 1]] > offsets[i]:
            k -= 1
        placed.insert(k, i)
    return offsets, total


lifetimes = st.lists(st.tuples(st.sampled_from([4, 8, 16, 32, 64, 256, 1000]), st.integers(0, 400),
                               st.sampled_from([0, 1, 3, 10, 50, 400])), min_size=1, max_size=120)


@settings(max_examples=150, deadline=None)
@given(lifetimes, st.sampled_from([1, 4, 256]))
def test_bucketed_search_places_as_the_full_scan(rows, alignment):
    size = np.array([r[0] for r in rows], dtype=np.int64)
    first = np.array([r[1] for r in rows], dtype=np.int64)
    last = first + np.array([r[2] for r in rows], dtype=np.int64)
    life = Lifetimes(size, first, last)
    offsets, total = greedy_by_size(life, alignment)
    want, want_total = reference(life, alignment)
    assert offsets.tolist() == want and total == want_total
