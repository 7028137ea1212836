"""Well-formedness of a trace, checked column by column.

What is checked here makes a trace meaningful: known kinds, references to objects created
earlier (a dispatch names a pass that was begun), non-negative sizes, consistent row counts,
monotonic time. What a program may legally get wrong at run time (a copy while a pass is open, a
write that overtakes a kernel) is not a format error: the hazard checker in sim/ reports it.
"""

from __future__ import annotations

import numpy as np

from .errors import TraceError
from .model import Trace
from .schema import ACCESS, BLOB, KIND_NAMES, NONNEG, OPT_STR, SPECS, STR, Access, Field, Kind, Obj

_HEADER_TYPES = {
    "start_time": (str,),
    "program": (list,),
    "capture": (dict,),
    "wgpu_version": (str, type(None)),
    "adapter": (dict, type(None)),
    "limits": (dict, type(None)),
}
CAPTURE_MODES = ("full", "digest")


def validate_header(header: dict, where: str) -> None:
    for key, types in _HEADER_TYPES.items():
        if key not in header:
            raise TraceError(f"{where}: header lacks field {key!r}")
        if not isinstance(header[key], types):
            raise TraceError(f"{where}: header field {key!r} has type {type(header[key]).__name__}")
    if header["capture"].get("mode") not in CAPTURE_MODES:
        raise TraceError(f"{where}: header field 'capture.mode' must be one of {CAPTURE_MODES}")


def check_raw(events: np.ndarray, name: str) -> None:
    """Columns that are narrowed on load (kind, site, nrows) must fit before they are cast."""
    for j, column, lo, hi in ((0, "kind", 0, 255), (2, "site", -1, 2**31 - 1), (9, "nrows", 0, 2**31 - 1)):
        bad = (events[:, j] < lo) | (events[:, j] > hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(f"{name}: event {i}: {column} {int(events[i, j])} is out of range", event=i)


def validate(trace: Trace, name: str = "trace") -> None:
    """Raise TraceError at the first malformed event; return quietly for a well-formed trace."""
    n = len(trace)
    kind = trace.kind
    known = np.isin(kind, np.array([k.value for k in Kind], dtype=np.uint8))
    _first(~known, name, trace, lambda i: f"unknown event kind {int(kind[i])}", kinded=False)
    _first((trace.site < -1) | (trace.site >= len(trace.strings)), name, trace,
           lambda i: f"call site refers to string {int(trace.site[i])}, the table has {len(trace.strings)}")
    _first(trace.t < 0, name, trace, lambda i: "negative timestamp")
    if n > 1:
        back = np.flatnonzero(np.diff(trace.t) < 0)
        _first_index(back + 1, name, trace, lambda i: "timestamp earlier than the previous event's")
    _first(trace.nrows < 0, name, trace, lambda i: "negative row count")
    if int(trace.nrows.sum()) != len(trace.rows):
        raise TraceError(f"{name}: events own {int(trace.nrows.sum())} rows, the row table has {len(trace.rows)}")

    creation = _creations(trace, name)
    row_owner = np.repeat(np.arange(n), trace.nrows)
    row_kind = kind[row_owner]
    for k, spec in SPECS.items():
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        for j, f in enumerate(spec.args):
            _check_field(trace, name, idx, trace.args[idx, j], f, creation,
                         lambda p, f=f: (idx[p], f"field {f.name!r}"))
        if not spec.rows:
            _first_index(idx[trace.nrows[idx] > 0], name, trace, lambda i: "has rows, but this kind takes none")
            continue
        row_ids = np.flatnonzero(row_kind == k)
        owner = row_owner[row_ids]
        for j, f in enumerate(spec.rows):
            _check_field(trace, name, owner, trace.rows[row_ids, j], f, creation,
                         lambda p, f=f: (owner[p], f"row {int(row_ids[p] - trace.row_start[owner[p]])}, "
                                                   f"field {f.name!r}"))


def _creations(trace: Trace, name: str) -> dict[Obj, np.ndarray]:
    """Event index that created each object, per type; ids must be dense, in creation order."""
    out = {}
    for k, spec in SPECS.items():
        if spec.creates is None:
            continue
        idx = np.flatnonzero(trace.kind == k)
        ids = trace.args[idx, 0]
        wrong = ids != np.arange(len(idx))
        _first_index(idx[wrong], name, trace,
                     lambda i: f"creates {spec.creates.name.lower()} {int(trace.args[i, 0])}, expected id "
                               f"{int(np.count_nonzero(trace.kind[:i] == k))} (ids are dense, in creation order)")
        out[spec.creates] = idx
    return out


def _check_field(trace: Trace, name: str, owner: np.ndarray, values: np.ndarray, f: Field,
                 creation: dict[Obj, np.ndarray], locate) -> None:
    def fail(bad: np.ndarray, why) -> None:
        if bad.any():
            p = int(np.flatnonzero(bad)[0])
            i, field = locate(p)
            raise TraceError(f"{name}: event {int(i)} ({KIND_NAMES[int(trace.kind[i])]}): {field} {why(p)}",
                             event=int(i))

    role = f.role
    if role == NONNEG:
        fail(values < 0, lambda p: f"is negative ({int(values[p])})")
    elif role == ACCESS:
        fail((values < 0) | (values > max(Access)), lambda p: f"is not an access mode ({int(values[p])})")
    elif role in (STR, OPT_STR):
        lo = -1 if role == OPT_STR else 0
        fail((values < lo) | (values >= len(trace.strings)),
             lambda p: f"refers to string {int(values[p])}, the table has {len(trace.strings)}")
    elif role == BLOB:
        fail((values < -1) | (values >= len(trace.blobs)),
             lambda p: f"refers to blob {int(values[p])}, the trace has {len(trace.blobs)}")
    elif role == "ref":
        made = creation[f.obj]
        what = f.obj.name.lower().replace("_", " ")
        ok_none = (values == -1) if f.optional else np.zeros(len(values), dtype=bool)
        known = (values >= 0) & (values < len(made))
        fail(~known & ~ok_none, lambda p: f"refers to {what} {int(values[p])}, which no event created")
        earlier = np.ones(len(values), dtype=bool)
        earlier[known] = made[values[known]] < owner[known]
        fail(~earlier, lambda p: f"refers to {what} {int(values[p])} before the event that creates it")


def _first(bad: np.ndarray, name: str, trace: Trace, why, kinded: bool = True) -> None:
    _first_index(np.flatnonzero(bad), name, trace, why, kinded)


def _first_index(bad_idx: np.ndarray, name: str, trace: Trace, why, kinded: bool = True) -> None:
    if len(bad_idx):
        i = int(bad_idx[0])
        kind = f" ({KIND_NAMES.get(int(trace.kind[i]), 'unknown')})" if kinded else ""
        raise TraceError(f"{name}: event {i}{kind}: {why(i)}", event=i)
