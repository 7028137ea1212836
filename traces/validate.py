"""Well-formedness of a trace, checked column by column.

What is checked here makes a trace meaningful: known kinds, references to objects created
earlier (a dispatch names a pass that was begun), non-negative sizes, consistent row counts,
monotonic time, limits that are numbers. Values no device allows, whatever its limits (a size or
offset from 2^53 on, a bind group or binding index from 2^16 on), are format errors too: no
recording holds them, and rejecting them here keeps every consumer's int64 arithmetic exact. What
a program may legally get wrong at run time (a copy while a pass is open, a write that overtakes a
kernel, a size past this device's ``max-buffer-size``) is not a format error: the hazard checker in
sim/ reports it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .errors import TraceError
from .model import Trace
from .schema import (
    ACCESS,
    BLOB,
    DEFAULT_LIMITS,
    INT,
    KIND_NAMES,
    NONNEG,
    OPT_STR,
    RESOURCE,
    SPECS,
    STR,
    Access,
    Field,
    Kind,
    Obj,
    Spec,
    resource_of,
)

_HEADER_TYPES = {
    "start_time": (str,),
    "program": (list,),
    "capture": (dict,),
    "wgpu_version": (str, type(None)),
    "adapter": (dict, type(None)),
    "limits": (dict, type(None)),
}
CAPTURE_MODES = ("full", "digest")
MAX_SIZE = 1 << 53  # counts, offsets and sizes: WebGPU's GPUSize64 is exact in JavaScript only below this
MAX_INDEX = 1 << 16  # bind group and binding indices: no device has that many
_INDEX_FIELDS = ("group", "binding", "index")
_ALIGNMENTS = ("min-storage-buffer-offset-alignment", "min-uniform-buffer-offset-alignment")


def validate_header(header: dict, where: str) -> None:
    for key, types in _HEADER_TYPES.items():
        if key not in header:
            raise TraceError(f"{where}: header lacks field {key!r}")
        if not isinstance(header[key], types):
            raise TraceError(f"{where}: header field {key!r} has type {type(header[key]).__name__}")
    if header["capture"].get("mode") not in CAPTURE_MODES:
        raise TraceError(f"{where}: header field 'capture.mode' must be one of {CAPTURE_MODES}")
    problem = limits_problem(header["limits"]) if header["limits"] is not None else None
    if problem:
        raise TraceError(f"{where}: header field 'limits': {problem}")
    if not _implementation_ok(header.get("implementation")):
        raise TraceError(f"{where}: header field 'implementation' must be a map of a name and a version (or nil)")


def _implementation_ok(value: object) -> bool:
    """The optional ``implementation`` field (traces before it have none): {"name": str, "version": str or nil}."""
    return value is None or (isinstance(value, dict) and isinstance(value.get("name"), str)
                             and isinstance(value.get("version"), (str, type(None))))


def limits_problem(limits: dict) -> str | None:
    """What is wrong with a device's limits (None: nothing); other keys than the known ones may hold anything.

    Known limits (``DEFAULT_LIMITS``'s, spelt with '-' or '_') are integers a device can report: an
    alignment a power of two up to 2^16 (WebGPU's alignments are powers of two, none coarser than 256), a
    count or size from 0 to below 2^53, ``max-buffer-size`` any 64-bit size (some backends report
    2^64 - 1 for "no limit").
    """
    for key, value in limits.items():
        if not isinstance(key, str):
            return f"key {_short(key)} is not a name"
        name = key.replace("_", "-")
        if name not in DEFAULT_LIMITS:
            continue
        number = isinstance(value, int) and not isinstance(value, bool)
        if name in _ALIGNMENTS:
            if not (number and 0 < value <= MAX_INDEX and value & (value - 1) == 0):
                return f"{key!r} is {_short(value)}, not a power of two from 1 to 65536"
        elif not (number and 0 <= value < (1 << 64 if name == "max-buffer-size" else MAX_SIZE)):
            top = "2^64" if name == "max-buffer-size" else "2^53"
            return f"{key!r} is {_short(value)}, not an integer from 0 to below {top}"
    return None


def _short(value: object) -> str:
    """A value as its JSON (its repr where it has none), cut to one short line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Made(NamedTuple):
    """The objects of one type a reference may name: ``before`` created in earlier windows of a streamed trace
    (ids 0 to ``before`` - 1), then one per event of ``events`` (indices in this window)."""

    before: int
    events: np.ndarray


@dataclass
class Seen:
    """What validating a trace window by window (``traces/stream.py``) carries from one window to the next:
    how many objects of each type were created, the bind group layout count of each pipeline layout (a
    pipeline names one created earlier), and the last event's time."""

    counts: dict[Obj, int] = dataclasses.field(default_factory=dict)
    layout_groups: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    last_t: int = 0


def validate(trace: Trace, name: str = "trace", seen: Seen | None = None) -> None:
    """Raise TraceError at the first malformed event; return quietly for a well-formed trace.

    With ``seen``, ``trace`` is the window of a longer trace that starts at event ``trace.first``, after the
    windows ``seen`` describes; ``seen`` is brought up to date when the window is well formed.
    """
    seen = seen if seen is not None else Seen()
    n = len(trace)
    kind = trace.kind
    known = np.isin(kind, np.array([k.value for k in Kind], dtype=np.uint8))
    _first(~known, name, trace, lambda i: f"unknown event kind {int(kind[i])}", kinded=False)
    _first((trace.site < -1) | (trace.site >= len(trace.strings)), name, trace,
           lambda i: f"call site refers to string {int(trace.site[i])}, the table has {len(trace.strings)}")
    stack = trace.stack
    if stack is not None:
        if stack.shape != (n,):
            raise TraceError(f"{name}: the stack column holds {len(stack)} values for {n} events")
        _first((stack < -1) | (stack >= len(trace.strings)), name, trace,
               lambda i: f"call stack refers to string {int(stack[i])}, the table has {len(trace.strings)}")
    _first(trace.t < 0, name, trace, lambda i: "negative timestamp")
    if n:
        back = np.flatnonzero(np.diff(trace.t, prepend=seen.last_t) < 0)
        _first_index(back, name, trace, lambda i: "timestamp earlier than the previous event's")
    _first(trace.nrows < 0, name, trace, lambda i: "negative row count")
    if int(trace.nrows.sum()) != len(trace.rows):
        raise TraceError(f"{name}: events own {int(trace.nrows.sum())} rows, the row table has {len(trace.rows)}")

    creation = _creations(trace, name, seen)
    row_owner = np.repeat(np.arange(n), trace.nrows)
    row_kind = kind[row_owner]
    for k, spec in SPECS.items():
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        for j, f in enumerate(spec.args):
            found = _bad_value(trace, idx, trace.args[idx, j], f, creation)
            if found:
                _raise(name, trace, int(idx[found[0]]), f"field {f.name!r} {found[1]}")
        _rows(trace, name, spec, idx, np.flatnonzero(row_kind == k), row_owner, creation)
    _device_json(trace, name)
    groups = _pipeline_groups(trace, name, creation, seen.layout_groups)
    seen.counts = {obj: made.before + len(made.events) for obj, made in creation.items()}
    seen.layout_groups = groups
    seen.last_t = int(trace.t[-1]) if n else seen.last_t


def _device_json(trace: Trace, name: str) -> None:
    """A device's adapter info and limits are JSON objects (readers look limits up by name)."""
    for i in np.flatnonzero(trace.kind == Kind.DEVICE).tolist():
        for field, column in (("adapter", 1), ("limits", 2)):
            try:
                value = json.loads(trace.strings[int(trace.args[i, column])])
            except (ValueError, RecursionError):
                value = None
            if not isinstance(value, dict):
                _raise(name, trace, i, f"field {field!r} is not a JSON object")
            problem = limits_problem(value) if field == "limits" else None
            if problem:
                _raise(name, trace, i, f"field 'limits': {problem}")


def _pipeline_groups(trace: Trace, name: str, creation: dict[Obj, Made], before: np.ndarray) -> np.ndarray:
    """A pipeline with an explicit layout declares bindings only in the bind groups that layout has. Returns the
    bind group layout count of every pipeline layout, those of earlier windows (``before``) first."""
    groups = np.concatenate([before, trace.nrows[creation[Obj.PIPELINE_LAYOUT].events].astype(np.int64)])
    for k in (Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE):
        events = np.flatnonzero(trace.kind == k)
        events = events[trace.args[events, SPECS[k].arg("pipeline_layout")] >= 0]
        if not len(events):
            continue
        layout = trace.args[events, SPECS[k].arg("pipeline_layout")]
        has = groups[layout]
        counts = trace.nrows[events].astype(np.int64)
        row_ids = trace.row_ids(events)
        bad = np.flatnonzero(trace.rows[row_ids, 0] >= np.repeat(has, counts))
        if len(bad):
            j = int(bad[0])
            owner = int(np.searchsorted(np.cumsum(counts), j, side="right"))
            i = int(events[owner])
            _raise(name, trace, i, f"row {int(row_ids[j] - trace.row_start[i])}, field 'group' is "
                                   f"{int(trace.rows[row_ids[j], 0])}, but its pipeline layout {int(layout[owner])} "
                                   f"has {int(has[owner])} bind group layout(s)")
    return groups


def _rows(trace: Trace, name: str, spec: Spec, idx: np.ndarray, row_ids: np.ndarray, row_owner: np.ndarray,
          creation: dict[Obj, Made]) -> None:
    """The rows of one kind's events: none, any number alike, or exactly the positional layout."""
    if not spec.rows and not spec.layout:
        _first_index(idx[trace.nrows[idx] > 0], name, trace, lambda i: "has rows, but this kind takes none")
        return
    if spec.layout:
        want = len(spec.layout)
        _first_index(idx[trace.nrows[idx] != want], name, trace,
                     lambda i: f"has {int(trace.nrows[i])} rows, this kind takes exactly {want}")
    owner = row_owner[row_ids]
    position = row_ids - trace.row_start[owner]
    for p in range(len(spec.layout) or 1):
        mine = row_ids[position == p] if spec.layout else row_ids
        fields = spec.row_fields(p)
        for j, f in enumerate(fields):
            values = trace.rows[mine, j]
            found = (_bad_resource(trace, row_owner[mine], values, trace.rows[mine, _access_column(fields)], creation)
                     if f.role == RESOURCE else _bad_value(trace, row_owner[mine], values, f, creation))
            if found:
                i = int(row_owner[mine[found[0]]])
                _raise(name, trace, i, f"row {int(mine[found[0]] - trace.row_start[i])}, field {f.name!r} "
                                       f"{found[1]}")


def _access_column(fields: tuple[Field, ...]) -> int:
    return next(j for j, f in enumerate(fields) if f.role == ACCESS)


def _bad_resource(trace: Trace, owner: np.ndarray, values: np.ndarray, access: np.ndarray,
                  creation: dict[Obj, Made]) -> tuple[int, str] | None:
    """A binding's resource, checked as the object type its access names (no access: no resource)."""
    for obj in (Obj.BUFFER, Obj.TEXTURE_VIEW, Obj.SAMPLER):
        mine = np.flatnonzero(np.isin(access, [a for a in Access if resource_of(a) == obj]))
        found = _bad_value(trace, owner[mine], values[mine], Field("resource", "ref", obj), creation)
        if found:
            return int(mine[found[0]]), found[1]
    return None


def _creations(trace: Trace, name: str, seen: Seen) -> dict[Obj, Made]:
    """Event index that created each object, per type; ids must be dense, in creation order.

    Several kinds may create one type (a pass: compute, render, bundle encoder): ids count across them.
    """
    makers: dict[Obj, list[int]] = {}
    for k, spec in SPECS.items():
        if spec.creates is not None:
            makers.setdefault(spec.creates, []).append(int(k))
    out = {}
    for obj, kinds in makers.items():
        idx = np.flatnonzero(np.isin(trace.kind, kinds))
        before = seen.counts.get(obj, 0)
        wrong = np.flatnonzero(trace.args[idx, 0] != np.arange(before, before + len(idx)))
        if len(wrong):
            p = int(wrong[0])
            _raise(name, trace, int(idx[p]), f"creates {obj.name.lower()} {int(trace.args[idx[p], 0])}, "
                                             f"expected id {before + p} (ids are dense, in creation order)")
        out[obj] = Made(before, idx)
    return out


def _bad_value(trace: Trace, owner: np.ndarray, values: np.ndarray, f: Field,
               creation: dict[Obj, Made]) -> tuple[int, str] | None:
    """The first position whose value the field's role forbids, and why; None when all are fine."""
    role = f.role
    checks: list[tuple[np.ndarray, str]] = []
    if role == NONNEG:
        checks.append((values < 0, "is negative ({})"))
        checks.append((values >= MAX_SIZE, "is {}, past what any device allows (2^53)"))
    elif role == ACCESS:
        checks.append(((values < 0) | (values > max(Access)), "is not an access mode ({})"))
    elif role in (STR, OPT_STR):
        lo = -1 if role == OPT_STR else 0
        checks.append(((values < lo) | (values >= len(trace.strings)),
                       f"refers to string {{}}, the table has {len(trace.strings)}"))
    elif role == BLOB:
        checks.append(((values < -1) | (values >= len(trace.blobs)),
                       f"refers to blob {{}}, the trace has {len(trace.blobs)}"))
    elif role == "ref":
        assert f.obj is not None, "schema.ref() always names the object type"
        made = creation[f.obj]
        what = f.obj.name.lower().replace("_", " ")
        known = (values >= 0) & (values < made.before + len(made.events))
        none = (values == -1) if f.optional else np.zeros(len(values), dtype=bool)
        checks.append((~known & ~none, f"refers to {what} {{}}, which no event created"))
        late = np.zeros(len(values), dtype=bool)
        here = known & (values >= made.before)  # an object of an earlier window was created before this one
        late[here] = made.events[values[here] - made.before] >= owner[here]
        checks.append((late, f"refers to {what} {{}} before the event that creates it"))
    if f.name in _INDEX_FIELDS:
        least = -1 if role == INT else 0  # a bind group's group: -1 when it has an explicit layout
        checks.append(((values < least) | (values >= MAX_INDEX),
                       "is {}, not " + ("-1 or " if least else "") + "an index below 2^16 (no device has more)"))
    for bad, why in checks:
        if bad.any():
            p = int(np.flatnonzero(bad)[0])
            return p, why.format(int(values[p]))
    return None


def _raise(name: str, trace: Trace, i: int, why: str) -> None:
    at = trace.first + i
    raise TraceError(f"{name}: event {at} ({KIND_NAMES.get(int(trace.kind[i]), 'unknown')}): {why}", event=at)


def _first(bad: np.ndarray, name: str, trace: Trace, why, kinded: bool = True) -> None:
    _first_index(np.flatnonzero(bad), name, trace, why, kinded)


def _first_index(bad_idx: np.ndarray, name: str, trace: Trace, why, kinded: bool = True) -> None:
    if len(bad_idx):
        i = int(bad_idx[0])
        kind = f" ({KIND_NAMES.get(int(trace.kind[i]), 'unknown')})" if kinded else ""
        raise TraceError(f"{name}: event {trace.first + i}{kind}: {why(i)}", event=trace.first + i)
