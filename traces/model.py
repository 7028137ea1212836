"""The in-memory trace: numpy columns, one row per event.

Columns rather than event objects because every consumer scans: the planner, the checker and the
simulator walk millions of events, and numpy lets validation, counting and footprint extraction
run as whole-column operations. Variable-length parts live in one shared ``rows`` table; event
``i`` owns ``rows[row_start[i] : row_start[i] + nrows[i]]``.
"""

from __future__ import annotations

import json
import struct
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from time import perf_counter_ns
from typing import Any

import numpy as np

from .columns import Column, narrow
from .schema import BLOB, KIND_NAMES, N_ARGS, OPT_STR, ROW_WIDTH, SPECS, STR, Field, Kind, Obj

EVENT_WIDTH = 4 + N_ARGS  # kind, t, site, a0..a5, nrows
_pack_event = struct.Struct(f"={EVENT_WIDTH}q").pack  # as array("q") holds them: native order, 8 bytes
_LOW = (1 << 32) - 1


def site_key(site: int, stack: int = -1) -> int:
    """One integer for an event's site and stack string ids (each -1 for none), as ``append`` takes it.

    A plain site id is its own key (no stack), so builders that know no stacks pass site ids as
    they always have; the recorder passes keys and pays nothing per event for the second column.
    """
    return site + ((stack + 1) << 32)


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The site and stack columns of a column of ``site_key`` keys; no stack column when none has one."""
    k = keys.astype(np.int64) + 1
    if not len(k) or int(k.max()) <= _LOW:
        return keys, None
    return (k & _LOW) - 1, (k >> 32) - 1


@dataclass(eq=False)
class Trace:
    """A whole trace (or the complete prefix of one that was cut short)."""

    header: dict
    kind: np.ndarray  # uint8 (n,)
    t: np.ndarray  # int64 (n,), nanoseconds since the header's start time
    site: np.ndarray  # int32 (n,), string id of "file:line", -1 unknown
    args: np.ndarray  # int64 (n, 6)
    nrows: np.ndarray  # int32 (n,)
    rows: np.ndarray  # int64 (m, 5)
    strings: list[str]
    blobs: list[bytes]
    end: dict | None = None
    cut_short: str | None = None
    stack: np.ndarray | None = None  # int32 (n,), string id of the call stack, -1 none; None: no stacks at all
    # in a trace cut short: the index of its last event when that is a call that began and never returned (the
    # recorder's provisional record of it, read back from the journal): the program died inside it
    unfinished: int | None = None
    first: int = 0  # a window of a longer trace (``traces/stream.py``): the index there of its first event
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.kind)

    @cached_property
    def row_start(self) -> np.ndarray:
        """Where each event's rows begin; held narrow (``columns.py``) when the trace's columns are."""
        start = np.zeros(len(self.nrows), dtype=np.int64)
        if len(self.nrows) > 1:
            np.cumsum(self.nrows[:-1], out=start[1:])
        return narrow(start) if isinstance(self.nrows, Column) else start

    def row_ids(self, events: np.ndarray) -> np.ndarray:
        """Indices into ``rows`` of the rows the given events own, event after event."""
        counts = self.nrows[events].astype(np.int64)
        within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(self.row_start[events], counts) + within

    def rows_of(self, i: int) -> np.ndarray:
        s = int(self.row_start[i])
        return self.rows[s : s + int(self.nrows[i])]

    def where(self, *kinds: Kind) -> np.ndarray:
        """Indices of the events of the given kinds, in program order."""
        return np.flatnonzero(np.isin(self.kind, np.array(kinds, dtype=np.uint8)))

    def site_of(self, i: int) -> str:
        s = int(self.site[i])
        return self.strings[s] if s >= 0 else "?"

    def stack_of(self, i: int) -> tuple[str, ...]:
        """The call stack of event ``i``, innermost frame first, as "file:line" texts; () when unknown."""
        if self.stack is None:
            return ()
        s = int(self.stack[i])
        return tuple(self.strings[s].split("\n")) if s >= 0 else ()

    def count_kind(self, kind: Kind) -> int:
        return int(np.count_nonzero(self.kind == kind))

    def count(self, obj: Obj) -> int:
        """How many objects of this type the trace creates (passes: compute, render and bundle encoders)."""
        creators = [s.kind for s in SPECS.values() if s.creates == obj]
        return int(np.count_nonzero(np.isin(self.kind, np.array(creators, dtype=np.uint8))))

    def counts(self) -> dict[str, int]:
        values, n = np.unique(self.kind, return_counts=True)
        return {KIND_NAMES.get(int(v), f"kind{int(v)}"): int(c) for v, c in zip(values, n, strict=True)}

    @property
    def limits(self) -> dict:
        """The device limits: from the header, else from the first DEVICE event."""
        if self.header.get("limits"):
            return self.header["limits"]
        devices = self.where(Kind.DEVICE)
        if len(devices):
            return json.loads(self.strings[int(self.args[devices[0], 2])])
        return {}

    def event(self, i: int) -> dict[str, Any]:
        """One event as a plain dict with named fields (for reports, tests and people)."""
        k = Kind(int(self.kind[i]))
        spec = SPECS[k]
        out: dict[str, Any] = {"event": i, "kind": KIND_NAMES[k], "site": self.site_of(i), "t": int(self.t[i])}
        for j, f in enumerate(spec.args):
            v = int(self.args[i, j])
            if f.role in (STR, OPT_STR):
                out[f.name] = self.strings[v] if v >= 0 else None
            elif f.role == BLOB:
                out[f.name] = self.blobs[v] if v >= 0 else None
            else:
                out[f.name] = v
        if spec.rows or spec.layout:
            out["rows"] = [self._row(spec.row_fields(p) if p < len(spec.layout) or not spec.layout else (), r)
                           for p, r in enumerate(self.rows_of(i).tolist())]
        return out

    def _row(self, fields: tuple[Field, ...], row: list[int]) -> dict[str, Any]:
        return {f.name: (self.strings[v] if v >= 0 else None) if f.role in (STR, OPT_STR) else v
                for f, v in zip(fields, row, strict=False)}

    def events(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self.event(i)


class TraceBuilder:
    """Appends events one at a time and produces a Trace; the file writer extends it.

    ``append`` is the fast path (positional integers) used by the recorder and the planner;
    ``add`` takes named fields and strings, for hand-written traces.
    """

    def __init__(self, header: dict | None = None):
        self.header = dict(header or {})
        self._strings: dict[str, int] = {}
        self._string_list: list[str] = []
        self._blobs: list[bytes] = []
        self._blob_base = 0
        self._events = array("q")
        self._rows = array("q")
        self._n = 0
        self._t0 = perf_counter_ns()
        self._chunk_limit = 1 << 62  # array items; the file writer sets a real one
        self._flush_due = 1 << 62  # ns; likewise

    def __len__(self) -> int:
        return self._n

    def string(self, s: str) -> int:
        """Id of ``s`` in the string table, adding it on first use."""
        i = self._strings.get(s)
        if i is None:
            i = self._strings[s] = len(self._string_list)
            self._string_list.append(s)
        return i

    def blob(self, b: bytes | memoryview) -> int:
        self._blobs.append(bytes(b))
        return self._blob_base + len(self._blobs) - 1

    def append(self, kind: int, site: int, a0: int = 0, a1: int = 0, a2: int = 0, a3: int = 0,
               a4: int = 0, a5: int = 0, rows: Sequence[tuple[int, ...]] | None = None, t: int | None = None) -> int:
        """Add one event and return its index; ``t`` defaults to now. ``site`` is a string id, or a
        ``site_key`` that carries the event's stack too.

        The recorder calls this for every wgpu call: an event is packed by struct and added as bytes,
        twice as fast as ``array.fromlist``. A value that struct refuses goes through ``fromlist``,
        so that a bad value raises the same TypeError or OverflowError as it always has.
        """
        if t is None:
            t = perf_counter_ns() - self._t0
        nrows = len(rows) if rows else 0
        try:
            self._events.frombytes(_pack_event(kind, t, site, a0, a1, a2, a3, a4, a5, nrows))
        except struct.error:
            self._events.fromlist([kind, t, site, a0, a1, a2, a3, a4, a5, nrows])
        if rows:
            flat: list[int] = []
            for r in rows:
                flat += r
                flat += (0,) * (ROW_WIDTH - len(r))
            try:
                if len(flat) != nrows * ROW_WIDTH:
                    raise ValueError(f"rows hold at most {ROW_WIDTH} values each")
                self._rows.fromlist(flat)
            except (ValueError, TypeError, OverflowError):
                del self._events[-EVENT_WIDTH:]  # the event goes with its rows
                raise
        n = self._n
        self._n = n + 1
        if len(self._events) >= self._chunk_limit or t >= self._flush_due:
            self.flush()
        return n

    def flush(self) -> None:
        """Hand the pending events on; an in-memory builder keeps them."""

    def add(self, kind: Kind, site: str | None = None, rows: Sequence[dict | tuple] = (), t: int | None = None,
            stack: Sequence[str] = (), **fields: Any) -> int:
        """Add one event by field names; string fields take ``str``, blob fields ``bytes``; ``stack`` the
        call stack, innermost frame first."""
        spec = SPECS[Kind(kind)]
        a = [0] * N_ARGS
        for j, f in enumerate(spec.args):
            v = fields.pop(f.name, None)
            if v is None:
                v = -1 if f.role in (OPT_STR, BLOB) or f.optional else 0
            elif f.role in (STR, OPT_STR):
                v = self.string(v)
            elif f.role == BLOB:
                v = self.blob(v)
            a[j] = int(v)
        if fields:
            raise TypeError(f"{KIND_NAMES[kind]} has no field(s) {sorted(fields)}")
        packed = [self._row(spec.row_fields(p), r) for p, r in enumerate(rows)]
        key = site_key(self.string(site) if site else -1, self.string("\n".join(stack)) if stack else -1)
        return self.append(int(kind), key, a[0], a[1], a[2], a[3], a[4], a[5], rows=packed, t=t)

    def _row(self, fields: tuple[Field, ...], row: dict | tuple) -> tuple[int, ...]:
        """A row by field names (a dict) or in order (a tuple); string fields take ``str`` or None."""
        values = [row.get(f.name, 0) for f in fields] if isinstance(row, dict) else list(row)
        for j, f in enumerate(fields[:len(values)]):
            v = values[j]
            if f.role in (STR, OPT_STR):
                values[j] = -1 if v is None else self.string(v) if isinstance(v, str) else v
        return tuple(values)

    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        ev = np.frombuffer(self._events, dtype=np.int64).reshape(-1, EVENT_WIDTH)
        rows = np.frombuffer(self._rows, dtype=np.int64).reshape(-1, ROW_WIDTH)
        return ev, rows

    def build(self, end: dict | None = None) -> Trace:
        ev, rows = self._columns()
        site, stack = split_keys(ev[:, 2])
        return Trace(
            header=self.header,
            kind=ev[:, 0].astype(np.uint8),
            t=ev[:, 1].copy(),
            site=site.astype(np.int32),
            args=ev[:, 3 : 3 + N_ARGS].copy(),
            nrows=ev[:, 3 + N_ARGS].astype(np.int32),
            rows=rows.copy(),
            strings=list(self._string_list),
            blobs=list(self._blobs),
            end=end if end is not None else {"events": self._n},
            stack=None if stack is None else stack.astype(np.int32),
        )
