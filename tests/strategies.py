"""Hypothesis strategies for random logical programs, shared by the sim, checker and replay tests.

``programs()`` drives ``sim.programs.random_ops`` with hypothesis' own choices instead of a
numpy generator, so failing programs shrink to short ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from wgtrace.sim.programs import Op, random_ops


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
    """A well-formed op list (see sim.programs) of ``min_ops`` to ``max_ops`` ops."""
    n = draw(st.integers(min_ops, max_ops))
    return random_ops(DrawnRng(draw(st.data())), n, max_words=max_words)
