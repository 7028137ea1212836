"""Integer columns held narrow and read wide: how a loaded trace fits in about 30 bytes per event.

A column widened to int64 costs 8 bytes per value while most hold small ids, sizes and flags. Here a
column keeps the smallest form its values allow, chosen from the values:

- *plain*: the narrowest integer type that holds every value;
- *patched*: a narrow type for most values, and the few that do not fit (a write's 64-bit content
  hash among small sizes) kept aside as (index, value) pairs;
- *framed*: for a non-decreasing column (timestamps, row starts), a base per block of events and
  small unsigned offsets from it.

Every read gives the type the column had before (``dtype``: int64 for ``t``, ``args`` and ``rows``,
int32 for ``site``, ``nrows`` and ``stack``), so no consumer's arithmetic runs in a narrow type and
overflows: narrowing is a matter of storage only. Indexing a column gathers and widens only what is
asked for; anything else numpy does with it (``np.diff``, ``==``, ``.sum()``) sees the whole column
widened, as a temporary. Writing into a column (tests that corrupt a trace) widens it for good.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_LIMITS = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max))
           for t in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32)}
_NARROW = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32))
_OFFSETS = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32))
_BLOCK_SHIFTS = (5, 8, 12)  # framed columns: blocks of 32, 256 or 4096 values
_PATCH_SHARE = 0.25  # at most this share of values kept aside; beyond it a wider type is smaller


class Column(NDArrayOperatorsMixin):
    """One integer column in its narrow form, read as ``dtype``. See the module doc."""

    __slots__ = ("_base", "_frame", "_shift", "_at", "_value", "dtype")

    def __init__(self, base: np.ndarray, dtype: np.dtype, frame: np.ndarray | None = None, shift: int = 0,
                 at: np.ndarray | None = None, value: np.ndarray | None = None):
        self._base, self.dtype, self._frame, self._shift, self._at, self._value = base, dtype, frame, shift, at, value

    @classmethod
    def of(cls, values: np.ndarray) -> Column:
        """The smallest form of a 1-d integer array; it reads back as ``values`` did, dtype included."""
        values = np.asarray(values)
        dtype, n = values.dtype, len(values)
        if not n:
            return cls(values, dtype)
        lo, hi = int(values.min()), int(values.max())
        plain = next((t for t in _NARROW if t.itemsize < dtype.itemsize and _holds(t, lo, hi)), dtype)
        best = cls(values.astype(plain, copy=plain != dtype), dtype)
        for candidate in (cls._patched(values, plain), cls._framed(values)):
            if candidate is not None and candidate.nbytes < best.nbytes:
                best = candidate
        return best

    @classmethod
    def _patched(cls, values: np.ndarray, plain: np.dtype) -> Column | None:
        """A narrower type than ``plain`` with the values outside it kept aside, when that is smaller."""
        best = None
        for t in _NARROW:
            if t.itemsize >= plain.itemsize:
                break
            low, high = _LIMITS[t]
            at = np.flatnonzero((values < low) | (values > high))
            if len(at) > _PATCH_SHARE * len(values):
                continue
            value = values[at]
            base = values.astype(t)
            base[at] = 0
            c = cls(base, values.dtype, at=at.astype(np.int32 if len(values) < 2**31 else np.int64),
                    value=Column.of(value)._plain())
            if best is None or c.nbytes < best.nbytes:
                best = c
        return best

    @classmethod
    def _framed(cls, values: np.ndarray) -> Column | None:
        """Offsets from a base per block, for a non-decreasing column whose blocks span little."""
        if len(values) < 2 or bool((values[1:] < values[:-1]).any()) or int(values[-1]) - int(values[0]) >= 1 << 63:
            return None  # not non-decreasing, or offsets that overflow int64 on the way
        best = None
        for shift in _BLOCK_SHIFTS:
            starts = np.arange(0, len(values), 1 << shift)
            frame = values[starts]
            span = int((np.maximum.reduceat(values, starts) - frame).max())
            t = next((t for t in _OFFSETS if span <= _LIMITS[t][1]), None)
            if t is None:
                continue
            offsets = (values - np.repeat(frame, 1 << shift)[: len(values)]).astype(t)
            c = cls(offsets, values.dtype, frame=frame.astype(np.int64), shift=shift)
            if best is None or c.nbytes < best.nbytes:
                best = c
        return best

    def _plain(self) -> np.ndarray:
        """The narrow array itself, for a column that is neither patched nor framed (the patches' values)."""
        return self._base if self._frame is None and self._at is None else self._full()

    @property
    def nbytes(self) -> int:
        """Bytes held (not the bytes it reads as)."""
        return sum(a.nbytes for a in (self._base, self._frame, self._at, self._value) if a is not None)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._base.shape

    ndim = 1

    def __len__(self) -> int:
        return len(self._base)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, tuple) and len(key) == 1:
            key = key[0]
        base = self._base[key]
        if self._frame is None and self._at is None:
            return base.astype(self.dtype) if isinstance(base, np.ndarray) else self.dtype.type(base)
        if not isinstance(base, np.ndarray):
            pos = self._positions(np.array([key]))
            return self._widen(self._base[pos], pos)[0]
        return self._widen(base, self._positions(key))

    def _positions(self, key: Any) -> np.ndarray:
        n = len(self._base)
        if isinstance(key, slice):
            return np.arange(*key.indices(n), dtype=np.int64)
        key = np.asarray(key)
        if key.dtype == bool:
            return np.flatnonzero(key)
        key = key.astype(np.int64)
        return np.where(key < 0, key + n, key)

    def _widen(self, base: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = base.astype(self.dtype)
        if self._frame is not None:
            out += self._frame[pos >> self._shift].astype(self.dtype)
        if self._at is not None and self._value is not None and len(self._at):
            j = np.minimum(np.searchsorted(self._at, pos), len(self._at) - 1)
            hit = self._at[j] == pos
            out[hit] = self._value[j[hit]]
        return out

    def _full(self) -> np.ndarray:
        out = self._base.astype(self.dtype)
        if self._frame is not None:
            out += np.repeat(self._frame, 1 << self._shift)[: len(out)].astype(self.dtype)
        if self._at is not None and self._value is not None:
            out[self._at] = self._value
        return out

    def __setitem__(self, key: Any, value: Any) -> None:
        full = self._full()
        full[key] = value
        self._base, self._frame, self._at, self._value = full, None, None, None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        full = self._full()
        return full if dtype is None else full.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(np.asarray(x) if isinstance(x, (Column, Table)) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __iter__(self) -> Any:
        return iter(self._full())

    def __getattr__(self, name: str) -> Any:  # the rest of ndarray's interface, on the widened column
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._full(), name)

    def __reduce__(self) -> tuple:
        return Column, (self._base, self.dtype, self._frame, self._shift, self._at, self._value)

    def __repr__(self) -> str:
        return f"Column({self._full()!r}, held in {self.nbytes:,} bytes)"


class Table(NDArrayOperatorsMixin):
    """A 2-d integer table (``args``, ``rows``) as one ``Column`` per column, read as int64 rows and columns."""

    __slots__ = ("columns",)
    ndim = 2
    dtype = np.dtype(np.int64)

    def __init__(self, columns: list[Column]):
        self.columns = columns

    @classmethod
    def of(cls, table: np.ndarray) -> Table:
        return cls([Column.of(table[:, j]) for j in range(table.shape[1])])

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.columns[0]), len(self.columns)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns)

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, key: Any) -> Any:
        rows, cols = key if isinstance(key, tuple) and len(key) == 2 else (key, slice(None))
        if isinstance(cols, (int, np.integer)):
            return self.columns[cols][rows]
        picked = [c[rows] for c in self.columns[cols]] if isinstance(cols, slice) else \
            [self.columns[j][rows] for j in np.asarray(cols).tolist()]
        if not picked:
            return np.asarray(self)[key]
        if isinstance(picked[0], np.ndarray) and picked[0].ndim:
            return np.stack(picked, axis=-1)
        return np.array(picked, dtype=np.int64)

    def __setitem__(self, key: Any, value: Any) -> None:
        full = np.asarray(self)
        full[key] = value
        self.columns = [Column(full[:, j].copy(), self.dtype) for j in range(full.shape[1])]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=np.int64, order="F")
        for j, c in enumerate(self.columns):
            out[:, j] = c._full()
        return out if dtype is None else out.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(np.asarray(x) if isinstance(x, (Column, Table)) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __iter__(self) -> Any:
        return iter(np.asarray(self))

    def __getattr__(self, name: str) -> Any:  # the rest of ndarray's interface, on the widened table
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __reduce__(self) -> tuple:
        return Table, (self.columns,)

    def __repr__(self) -> str:
        return f"Table({np.asarray(self)!r}, held in {self.nbytes:,} bytes)"


def narrow(values: np.ndarray) -> np.ndarray:
    """``values`` (1-d or 2-d) held narrow; typed as the array it reads as, which is how consumers use it."""
    return cast(np.ndarray, Table.of(values) if values.ndim == 2 else Column.of(values))


def held_bytes(array: Any) -> int:
    """Bytes an array or a narrow column holds (None: 0)."""
    return 0 if array is None else int(array.nbytes)


def _holds(t: np.dtype, lo: int, hi: int) -> bool:
    low, high = _LIMITS[t]
    return low <= lo and hi <= high
