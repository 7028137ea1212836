"""Long series and many slices made few enough for a page, by bins of events, keeping the peaks.

A report of a ten-million-event trace must still open in a browser, so a series longer than
``BINS`` keeps, per bin of consecutive events, its largest value (a peak of memory is what a
policy is judged by, and an average would hide it), and a lane of more than ``SLICES`` slices
becomes one slice per bin it touches, with how many slices begin there. Bins are whole events,
laid out the same way for every series of the same length, so the policies of one report share
their x values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 2000
SLICES = 3000


def edges(n: int, bins: int = BINS) -> np.ndarray:
    """The first event of each bin of ``n`` events: every event its own bin when ``n <= bins``."""
    if n <= bins:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n, bins + 1, dtype=np.int64)[:-1])


def peaks(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The largest value in each bin of ``edges(len(values), bins)``."""
    if not len(values):
        return values.copy()
    return np.maximum.reduceat(values, edges(len(values), bins))


@dataclass(frozen=True)
class Binned:
    """Slices merged by bin: bin ``k`` spans events ``start[k]`` to ``end[k]`` (exclusive); ``count`` of the
    slices begin in it (0 for a bin a longer slice only passes through)."""

    start: np.ndarray
    end: np.ndarray
    count: np.ndarray


def merge(start: np.ndarray, end: np.ndarray, n: int, bins: int = BINS) -> Binned:
    """Slices [start, end) of a lane of ``n`` events, as the bins they touch."""
    first = edges(n, bins)
    stop = np.append(first[1:], n)
    if not len(start):
        empty = np.zeros(0, dtype=np.int64)
        return Binned(empty, empty, empty)
    lo = np.searchsorted(first, start, side="right") - 1
    hi = np.searchsorted(first, np.maximum(end - 1, start), side="right") - 1
    cover = np.zeros(len(first) + 1, dtype=np.int64)
    np.add.at(cover, lo, 1)
    np.add.at(cover, hi + 1, -1)
    touched = np.flatnonzero(np.cumsum(cover[:-1]) > 0)
    count = np.bincount(lo, minlength=len(first))
    return Binned(first[touched], stop[touched], count[touched])
