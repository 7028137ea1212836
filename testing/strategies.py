"""Hypothesis strategies for random logical programs: what the conformance kit (and wgtrace's own tests) draw.

``programs()`` drives ``sim.synthetic.random_ops`` with hypothesis' own choices instead of a numpy
generator, so a failing program shrinks to a short one: fewer ops, smaller buffers, earlier choices
of the simplest op. The programs are careful ones (``sim.synthetic.build`` submits before writing
what its open encoder uses), with compute work and, with ``draws``, render passes that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from hypothesis import strategies as st

from ..sim.synthetic import Op, random_ops


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
def programs(draw: st.DrawFn, min_ops: int = 1, max_ops: int = 40, max_words: int = 64, draws: float = 0.0) -> list[Op]:
    """A well-formed op list (see sim.synthetic) of ``min_ops`` to ``max_ops`` ops; ``draws``: the share of
    kernels drawn by a render pass instead of dispatched, in the programs that draw at all (a choice that
    shrinks to none, so a counterexample keeps draws only where it needs them)."""
    n = draw(st.integers(min_ops, max_ops))
    p_draw = draws if draws and draw(st.booleans()) else 0.0
    rng = cast(np.random.Generator, DrawnRng(draw(st.data())))  # random_ops asks only what DrawnRng answers
    return random_ops(rng, n, max_words=max_words, p_draw=p_draw)
