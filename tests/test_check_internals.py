"""The checker's two bulk search structures against the obvious loops they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim.check.intervals import Segments, group_keys
from wgtrace.sim.check.owners import Owners
from wgtrace.sim.plan import Allocations


def columns(rows: list[tuple], width: int) -> list[np.ndarray]:
    return [np.array([r[j] for r in rows], dtype=np.int64) for j in range(width)]


spans_ = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60), st.integers(0, 20), st.integers(0, 999)),
                  max_size=30)


@settings(max_examples=300, deadline=None)
@given(spans_, spans_)
def test_cover_then_reduce_finds_the_least_value_overlapping_each_range(intervals, questions):
    """Per question (group, lo, length), the least value of an interval of its group overlapping it."""
    g, lo, n, v = columns(intervals, 4)
    qg, qlo, qn, _ = columns(questions, 4)
    keys = group_keys([g, g, qg, qg], [lo, lo + n, qlo, qlo + qn])
    seg = Segments(keys)
    leaves = seg.cover(seg.leaf[0], seg.leaf[1], v, np.minimum, 10**9)
    got = seg.reduce(leaves, seg.leaf[2], seg.leaf[3], np.minimum, 10**9)
    for k, (gk, a, m, _) in enumerate(questions):
        want = min((vi for gi, b, ni, vi in intervals if gi == gk and b < a + m and a < b + ni and ni and m),
                   default=10**9)
        assert got[k] == want


@st.composite
def layouts(draw: st.DrawFn):
    """Allocations on 2 buffers whose live ranges never share bytes, and accesses at random moments."""
    allocs = []
    for buffer in range(2):
        for _ in range(draw(st.integers(0, 4))):
            off = 8 * draw(st.integers(0, 8))
            size = 8 * draw(st.integers(1, 4))
            start = draw(st.integers(0, 40))
            end = start + draw(st.integers(1, 20))
            clash = any(b == buffer and o < off + size and off < o + s and st_ < end and start < en
                        for b, o, s, st_, en in allocs)
            if not clash:
                allocs.append((buffer, off, size, start, end))
    accesses = draw(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 80), st.integers(0, 40), st.integers(0, 60)),
                             max_size=20))
    return allocs, accesses


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_owners_match_allocations_at(layout):
    allocs, accesses = layout
    buffer, offset, size, start, end = columns(allocs, 5)
    a = Allocations(buffer=buffer, offset=offset, size=size, reserved=size, start=start, end=end)
    b, lo, n, t = columns(accesses, 4)
    got = Owners(a).lists(b, lo, lo + n, t)
    for k, (b, lo, n, t) in enumerate(accesses):
        want = a.at(b, lo, lo + n, t).tolist() if n else []
        assert got[k] == want, (k, allocs, accesses[k])
