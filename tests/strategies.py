"""Hypothesis strategies for random logical programs, shared by the sim, checker and replay tests.

``programs()`` drives ``sim.synthetic.random_ops`` with hypothesis' own choices instead of a
numpy generator, so failing programs shrink to short ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from wgtrace.sim.synthetic import Op, random_ops


class DrawnRng:
    """The slice of numpy's Generator that random_ops uses, answered by hypothesis draws."""

    def __init__(self, data: st.DataObject):
        self._data = data

    def random(self) -> float:
        return self._data.draw(st.integers(0, 99)) / 100

    def integers(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high - 1))

    def choice(self, pool: Sequence[int], size: int | None = None, replace: bool = True):
        if size is None:
            return self._data.draw(st.sampled_from(list(pool)))
        picked = self._data.draw(st.lists(st.sampled_from(list(pool)), min_size=size, max_size=size, unique=True))
        return picked


@st.composite
def programs(draw: st.DrawFn, min_ops: int = 1, max_ops: int = 40, max_words: int = 64) -> list[Op]:
    """A well-formed op list (see sim.synthetic) of ``min_ops`` to ``max_ops`` ops."""
    n = draw(st.integers(min_ops, max_ops))
    return random_ops(DrawnRng(draw(st.data())), n, max_words=max_words)


_INT64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def event_streams(draw: st.DrawFn, max_events: int = 60) -> list[tuple]:
    """Well-formed streams over every event kind: (kind, site, fields, rows) tuples.

    References only name objects created earlier, ids are dense, so any stream drawn here is a
    valid trace; the values are otherwise arbitrary.
    """
    from wgtrace.traces.schema import ACCESS, BLOB, NONNEG, OPT_STR, SPECS, STR, Kind

    made: dict = {}
    out = []
    for _ in range(draw(st.integers(0, max_events))):
        spec = SPECS[draw(st.sampled_from(sorted(Kind)))]
        fields_ok = all(f.role != "ref" or f.optional or made.get(f.obj) for f in (*spec.args, *spec.rows))
        if not fields_ok:
            continue

        def value(f):
            if f.role == "new":
                return made.get(f.obj, 0)
            if f.role == "ref":
                choices = list(range(made.get(f.obj, 0))) + ([None] if f.optional else [])
                return draw(st.sampled_from(choices))
            if f.role == NONNEG:
                return draw(st.integers(0, 2**62))
            if f.role == ACCESS:
                return draw(st.integers(0, 3))
            if f.role == STR:
                return draw(st.text(max_size=12))
            if f.role == OPT_STR:
                return draw(st.none() | st.text(max_size=12))
            if f.role == BLOB:
                return draw(st.none() | st.binary(max_size=40))
            return draw(_INT64)

        fields = {f.name: value(f) for f in spec.args}
        rows = [tuple(-1 if v is None else v for v in (value(f) for f in spec.rows))
                for _ in range(draw(st.integers(0, 3)) if spec.rows else 0)]
        if spec.creates is not None:
            made[spec.creates] = made.get(spec.creates, 0) + 1
        out.append((spec.kind, draw(st.none() | st.sampled_from(["a.py:1", "b.py:22", "ü.py:3"])), fields, rows))
    return out
