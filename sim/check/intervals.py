"""Many interval questions at once: which intervals cover a leaf, what folds over a range of leaves.

The checker asks millions of "does any of these byte ranges overlap that one" questions. Asking
them one by one in Python is too slow and scanning pairs is quadratic, so both sides are answered
in bulk on a segment tree held in numpy arrays: the endpoints of every interval and every question
cut the key line into elementary segments (the leaves), an interval covers a run of leaves, and
each tree level is one vectorised step: O((n + q) log n) in all. Keys are integers; a caller that
needs independent groups puts the group in the high part of the key (``group_keys``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def ranks(arrays: Sequence[np.ndarray]) -> tuple[int, list[np.ndarray]]:
    """Dense ranks of every value among all the given arrays (equal values, equal rank).

    Returns the number of distinct values and one rank array per input. (A quicksort argsort and
    a scan: several times faster here than ``np.unique(..., return_inverse=True)``.)
    """
    flat = np.concatenate([np.asarray(a, dtype=np.int64) for a in arrays]) if arrays else np.zeros(0, np.int64)
    order = np.argsort(flat)
    ordered = flat[order]
    new = np.ones(len(flat), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    rank = np.empty(len(flat), dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    out, at = [], 0
    for a in arrays:
        out.append(rank[at : at + len(a)])
        at += len(a)
    return int(new.sum()), out


def spans(first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices first[i], first[i] + 1, ..., first[i] + counts[i] - 1 for every i, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.repeat(np.asarray(first, dtype=np.int64) - starts, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def first_of_each(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys, sorted, and for each the value at its first occurrence."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.ones(len(keys), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first], values[order][first]


def group_keys(groups: Sequence[np.ndarray], coords: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Keys ``group * W + coord``: one integer line on which different groups never meet.

    Coordinates are ranked first when the plain product could overflow int64 (huge offsets and
    many groups), so order within a group is kept either way.
    """
    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    coords = [np.asarray(c, dtype=np.int64) for c in coords]
    top = max((int(c.max()) for c in coords if len(c)), default=0)
    bottom = min((int(c.min()) for c in coords if len(c)), default=0)
    most = max((int(g.max()) for g in groups if len(g)), default=0)
    if bottom >= 0 and (most + 1) * (top + 1) < 1 << 62:
        return [g * (top + 1) + c for g, c in zip(groups, coords, strict=True)]
    width, rank = ranks(coords)
    return [g * (width + 1) + r for g, r in zip(groups, rank, strict=True)]


class Segments:
    """The key line cut at every endpoint given, as leaves of a bottom-up segment tree.

    Built from the endpoint arrays of every interval and question to come; ``leaf[i]`` is then the
    leaf index of each endpoint, so ``[leaf[lo], leaf[hi])`` is exactly the run of leaves of a key
    range ``[lo, hi)``. ``cover`` folds interval values onto the leaves they cover; ``reduce``
    folds leaf values over ranges.
    """

    def __init__(self, endpoints: Sequence[np.ndarray]):
        distinct, self.leaf = ranks(endpoints)
        self.leaves = max(distinct - 1, 0)
        self.size = 1 << max(self.leaves - 1, 0).bit_length()

    def cover(self, left: np.ndarray, right: np.ndarray, values: np.ndarray, fold: np.ufunc,
              empty: int) -> np.ndarray:
        """Per leaf, ``fold`` of the values of every interval [left, right) holding that leaf."""
        tree = np.full(2 * self.size, empty, dtype=np.int64)
        values = np.asarray(values, dtype=np.int64)
        for nodes, which in self._canonical(left, right):
            fold.at(tree, nodes, values[which])
        level = 1
        while level < self.size:
            children = tree[2 * level : 4 * level]
            fold(children, np.repeat(tree[level : 2 * level], 2), out=children)
            level *= 2
        return tree[self.size : self.size + self.leaves]

    def reduce(self, leaves: np.ndarray, left: np.ndarray, right: np.ndarray, fold: np.ufunc,
               empty: int) -> np.ndarray:
        """Per range [left, right), ``fold`` of its leaf values; ``empty`` for an empty range."""
        tree = np.full(2 * self.size, empty, dtype=np.int64)
        tree[self.size : self.size + self.leaves] = leaves
        level = self.size // 2
        while level >= 1:
            tree[level : 2 * level] = fold(tree[2 * level : 4 * level : 2], tree[2 * level + 1 : 4 * level : 2])
            level //= 2
        out = np.full(len(left), empty, dtype=np.int64)
        for nodes, which in self._canonical(left, right):
            out[which] = fold(out[which], tree[nodes])
        return out

    def _canonical(self, left: np.ndarray, right: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (tree nodes, range indices) that tile each [left, right) exactly, level by level.

        One step yields a range index at most once, so plain fancy assignment is safe per range.
        """
        lo = np.asarray(left, dtype=np.int64) + self.size
        hi = np.asarray(right, dtype=np.int64) + self.size
        which = np.flatnonzero(lo < hi)
        lo, hi = lo[which], hi[which]
        while len(which):
            odd = (lo & 1) == 1
            if odd.any():
                yield lo[odd], which[odd]
                lo = lo + odd
            odd = (hi & 1) == 1
            if odd.any():
                hi = hi - odd
                yield hi[odd], which[odd]
            lo >>= 1
            hi >>= 1
            keep = lo < hi
            if not keep.all():
                which, lo, hi = which[keep], lo[keep], hi[keep]
