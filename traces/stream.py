"""Traces larger than memory: validating a file window by window, and writing one piece by piece.

A file is already a sequence of chunks (``writer.CHUNK_EVENTS`` events each), and validation needs
little of what came before a chunk: how many objects of each type exist (ids are dense, so a
reference to an earlier object is known by its id alone), each pipeline layout's bind group layout
count, and the last timestamp (``validate.Seen``). So ``validate_file`` holds one chunk's columns at
a time, whatever the trace's length; the string and blob tables grow with the file, as they would
in a load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgpack
import numpy as np

from .codec import pack_record
from .errors import TraceError
from .model import Trace
from .reader import TraceReader, load
from .schema import ACCESS, KIND_NAMES, MAGIC, RESOURCE, ROW_WIDTH, SPECS, Access, Kind, Obj, resource_of
from .validate import Seen, validate
from .writer import CHUNK_EVENTS, write_chunks


@dataclass(frozen=True)
class Validated:
    """What a window-by-window validation saw: the header, the events, and where a trace cut short stops."""

    header: dict
    events: int
    cut_short: str | None


def validate_file(path: str | os.PathLike, *, partial: bool = False) -> Validated:
    """Validate the trace file at ``path`` chunk by chunk; raise TraceError at the first malformed event.

    The outcome is ``load``'s: the same trace is accepted or refused. On a malformed trace the event
    named may differ, as ``load`` reports the first one by check, this the first one by chunk. With
    ``partial``, a journal's events that do not fit the file are left out as ``load`` leaves them out
    (by loading it: only a recording cut short has a journal, and only then can this happen).
    """
    with TraceReader(path) as reader:
        seen = Seen()
        try:
            for first, window in reader.chunks(partial=partial, check=True):
                window.first = first
                validate(window, reader.name, seen)
        except TraceError:
            if reader.recovered is None or not reader.recovered.events:
                raise
            trace = load(path, partial=True)
            return Validated(trace.header, len(trace), trace.cut_short)
        return Validated(reader.header, reader.events_read, reader.cut_short)


def save_pieces(header: dict, pieces: Iterable[Trace], path: str | os.PathLike, *,
                chunk_events: int = CHUNK_EVENTS) -> int:
    """Write consecutive pieces of one trace as one file, holding one piece at a time; returns the event count.

    Every piece shares the first one's string and blob tables (a generator's pieces do), which travel in
    the first chunk as ``save`` writes them.
    """
    n = 0
    with open(path, "wb") as f:
        f.write(MAGIC + pack_record("H", msgpack.packb(header), compress=False))
        tables: tuple[list[str], list[bytes]] | None = None
        for piece in pieces:
            if tables is None:
                tables = (piece.strings, piece.blobs)
            elif (len(piece.strings), len(piece.blobs)) != (len(tables[0]), len(tables[1])):
                raise ValueError("pieces of one trace share the first piece's strings and blobs")
            n += write_chunks(f, piece, chunk_events, tables if n == 0 else ([], []))
        f.write(pack_record("E", msgpack.packb({"events": n}), compress=False))
    return n


# -- windows: a trace as self-contained pieces, each with what it references from before ---------------------------

_RESOURCES = {obj: np.array([a for a in Access if resource_of(a) == obj]) for obj in (Obj.BUFFER, Obj.TEXTURE_VIEW)}
_RESOURCES[Obj.SAMPLER] = np.array([Access.SAMPLER])
STREAMED = frozenset(k for k in Kind if Kind.DEVICE <= k <= Kind.OPAQUE)  # compute programs
_NOT_KEPT = (Obj.ENCODER, Obj.PASS)  # every one was submitted or ended at a cut: never needed again
WINDOW_EVENTS = 1 << 20


class NotStreamable(Exception):
    """The trace needs more than a window and what windows carry (render or query calls, an object used again
    after the stream let it go): it is to be read whole."""


@dataclass
class Window:
    """Events ``first``.. of a trace as a trace of their own: a prologue of ``prologue`` events (copies of the
    earlier events that created the objects the window uses, then one ``write_buffer`` per run of bytes
    written earlier into a buffer it uses), then the window's events. Ids are renumbered densely:
    ``ids[obj][local]`` is the trace's id; ``origin[i]`` the trace's index of event ``i`` (-1: a prologue write).
    """

    trace: Trace
    prologue: int
    first: int
    origin: np.ndarray
    ids: dict[Obj, np.ndarray]


@dataclass
class _Kept:
    """An earlier event kept for the prologues of later windows (ids as in the trace)."""

    event: int
    kind: int
    t: int
    site: int
    stack: int
    args: tuple[int, ...]
    rows: tuple[tuple[int, ...], ...]


class Windows:
    """A validated trace file as ``Window`` after ``Window`` of about ``events`` events each, cut where nothing is
    pending (every encoder created was submitted, every pass ended, no buffer mapped).

    Between windows it keeps the events that created the objects a later window may use (devices, modules,
    layouts, pipelines, live buffers and the bind groups of live buffers; encoders and passes are done
    with at a cut), and per live buffer the runs of bytes written so far (``carry_writes``): what a
    checker needs to see a window as the whole trace would. A window that uses anything else raises
    ``NotStreamable``.
    """

    def __init__(self, path: str | os.PathLike, events: int = WINDOW_EVENTS, *, partial: bool = False):
        self.path, self.events, self.partial = path, events, partial
        self.header: dict = {}
        self.cut_short: str | None = None  # after the last window: where a trace cut short stops (``partial``)
        self._kept: dict[Obj, dict[int, _Kept]] = {}
        self._count: dict[Obj, int] = {}
        self._holders: dict[int, set[int]] = {}  # buffer -> bind groups holding it
        self._written: dict[int, list[tuple[int, int]]] = {}
        self._stacks = False

    def __iter__(self) -> Iterator[Window]:
        with TraceReader(self.path) as reader:
            seen, pending, first = Seen(), [], 0
            for at, chunk in reader.chunks(partial=self.partial, check=True):
                chunk.first = at
                try:
                    validate(chunk, reader.name, seen)
                except TraceError:
                    if reader.recovered is not None and reader.recovered.events:
                        raise NotStreamable("the journal does not fit the file") from None  # load leaves it out
                    raise
                self.header = reader.header
                self._stacks |= chunk.stack is not None
                pending.append(chunk)
                if sum(len(p) for p in pending) < self.events:
                    continue
                whole = _concat(pending, reader)
                quiet = np.flatnonzero(_quiet(whole, self._count))
                if not len(quiet):
                    pending = [whole]
                    continue
                cut = int(quiet[-1]) + 1
                window = self._window(_take(whole, 0, cut), first)
                pending = [_concat([_take(whole, cut, len(whole))], reader)] if cut < len(whole) else []
                del whole  # a copy of its tail goes on: hold one window at a time
                yield window
                del window
                first += cut
            if pending:
                yield self._window(_concat(pending, reader), first)
            self.cut_short = reader.cut_short

    def count(self, obj: Obj) -> int:
        """How many objects of this type the windows read so far created."""
        return self._count.get(obj, 0)

    def carry_writes(self, buffer: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Every run of bytes the last window (its prologue's writes included) wrote, by the trace's buffer ids."""
        alive = np.fromiter(self._kept.get(Obj.BUFFER, {}), dtype=np.int64)
        keep = np.isin(buffer, alive) & (hi > lo)
        buffer, lo, hi = buffer[keep], lo[keep], hi[keep]
        if not len(buffer):
            return
        order = np.lexsort((lo, buffer))
        buffer, lo, hi = buffer[order], lo[order], hi[order]
        starts = np.flatnonzero(np.diff(buffer, prepend=-1))
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), len(buffer)], strict=True):
            self._written[int(buffer[a])] = _merged(lo[a:b], hi[a:b])

    def _window(self, events: Trace, first: int) -> Window:
        odd = set(np.unique(events.kind).tolist()) - STREAMED
        if odd:
            raise NotStreamable(f"{KIND_NAMES[min(odd)]} calls are not streamed")
        before = dict(self._count)
        kept = self._prologue(events, before)
        writes = [(b, s, e) for b in sorted(self._written) if b in {k.args[0] for k in kept
                                                                     if k.kind == Kind.BUFFER_CREATE}
                  for s, e in self._written[b]]
        trace, origin = _prepend(events, kept, writes, self._stacks)
        origin[len(kept) + len(writes):] = first + np.arange(len(events))
        ids = _renumber(trace, len(kept) + len(writes), before)
        self._keep(events, first, before)
        return Window(trace, len(kept) + len(writes), first, origin, ids)

    def _prologue(self, events: Trace, before: dict[Obj, int]) -> list[_Kept]:
        """The kept events that created what ``events`` use from before, and what those use, in trace order."""
        wanted: dict[Obj, set[int]] = {}
        for obj, ids in _references(events.kind, np.asarray(events.args), np.asarray(events.rows), events.nrows):
            old = ids[(ids >= 0) & (ids < before.get(obj, 0))]
            wanted.setdefault(obj, set()).update(np.unique(old).tolist())
        wanted.setdefault(Obj.DEVICE, set()).update(self._kept.get(Obj.DEVICE, {}))
        out: dict[int, _Kept] = {}
        todo = [(obj, i) for obj, ids in wanted.items() for i in ids]
        while todo:
            obj, i = todo.pop()
            k = self._kept.get(obj, {}).get(i)
            if k is None:
                raise NotStreamable(f"{obj.name.lower()} {i} is used after the stream let it go")
            if k.event in out:
                continue
            out[k.event] = k
            rows = np.array(k.rows, dtype=np.int64).reshape(-1, ROW_WIDTH)
            for o, ids in _references(np.array([k.kind], np.uint8), np.array([k.args]), rows,
                                      np.array([len(k.rows)])):
                todo += [(o, j) for j in ids.tolist() if j >= 0 and (o, j) != (obj, i)]
        return [out[e] for e in sorted(out)]

    def _keep(self, events: Trace, first: int, before: dict[Obj, int]) -> None:
        """Keep what the window created and still lives for later windows; let go of destroyed buffers and the bind
        groups that hold them (what uses one again makes the trace ``NotStreamable``)."""
        args, rows, kind = np.asarray(events.args), np.asarray(events.rows), events.kind
        destroyed = np.unique(args[kind == Kind.BUFFER_DESTROY, 0])
        kept_buffers = self._kept.setdefault(Obj.BUFFER, {})
        for b in destroyed.tolist():
            kept_buffers.pop(b, None)
            self._written.pop(b, None)
            for g in self._holders.pop(b, ()):
                self._kept.get(Obj.BIND_GROUP, {}).pop(g, None)
        groups = np.flatnonzero(kind == Kind.BIND_GROUP)
        row_ids = events.row_ids(groups)
        holder = np.repeat(args[groups, 0], np.asarray(events.nrows)[groups].astype(np.int64))
        held = np.where(np.isin(rows[row_ids, 4], _RESOURCES[Obj.BUFFER]), rows[row_ids, 1], -1)
        earlier = (held >= 0) & (held < before.get(Obj.BUFFER, 0))  # of an earlier window: let go of unless kept
        gone = np.isin(held, destroyed) | (earlier & ~np.isin(held, np.fromiter(kept_buffers, np.int64)))
        dead_groups = np.unique(holder[gone])
        starts, stack = np.asarray(events.row_start), events.stack
        for k in np.unique(kind).tolist():
            obj = SPECS[Kind(k)].creates
            if obj is None:
                continue
            idx = np.flatnonzero(kind == k)
            self._count[obj] = self._count.get(obj, 0) + len(idx)
            if obj in _NOT_KEPT:
                continue
            dead = destroyed if obj == Obj.BUFFER else dead_groups if obj == Obj.BIND_GROUP else None
            if dead is not None:
                idx = idx[~np.isin(args[idx, 0], dead)]
            table = self._kept.setdefault(obj, {})
            for i in idx.tolist():
                r = tuple(map(tuple, rows[starts[i]:starts[i] + int(events.nrows[i])].tolist()))
                table[int(args[i, 0])] = _Kept(first + i, k, int(events.t[i]), int(events.site[i]),
                                               -1 if stack is None else int(stack[i]), tuple(args[i].tolist()), r)
                if obj == Obj.BIND_GROUP:
                    for row in r:
                        if np.isin(row[4], _RESOURCES[Obj.BUFFER]):
                            self._holders.setdefault(row[1], set()).add(int(args[i, 0]))


def _locations(kind: np.ndarray, rows: np.ndarray, nrows: np.ndarray) -> Iterator[tuple[Obj, bool, np.ndarray, int]]:
    """Where the events name objects: (type, in the rows?, event or row indices, column), creations included."""
    nrows = np.asarray(nrows, dtype=np.int64)
    owner = np.repeat(np.arange(len(kind)), nrows)
    starts = np.cumsum(nrows) - nrows
    for k in np.unique(kind).tolist():
        spec = SPECS[Kind(k)]
        idx = np.flatnonzero(kind == k)
        for j, f in enumerate(spec.args):
            if f.obj is not None:
                yield f.obj, False, idx, j
        mine = np.flatnonzero(kind[owner] == k)
        position = mine - starts[owner[mine]]
        for p in range(len(spec.layout) or 1) if len(mine) else ():
            at = mine[position == p] if spec.layout else mine
            fields = spec.row_fields(p)
            for j, f in enumerate(fields):
                if f.role == RESOURCE:
                    access = rows[at, next(c for c, g in enumerate(fields) if g.role == ACCESS)]
                    for obj, accesses in _RESOURCES.items():
                        yield obj, True, at[np.isin(access, accesses)], j
                elif f.obj is not None:
                    yield f.obj, True, at, j


def _references(kind: np.ndarray, args: np.ndarray, rows: np.ndarray,
                nrows: np.ndarray) -> Iterator[tuple[Obj, np.ndarray]]:
    """(type, ids) of every object the events name."""
    for obj, in_rows, at, col in _locations(kind, rows, nrows):
        yield obj, (rows if in_rows else args)[at, col]


def _renumber(trace: Trace, prologue: int, before: dict[Obj, int]) -> dict[Obj, np.ndarray]:
    """Dense ids in ``trace``: first the objects the prologue creates, in order, then the window's. Returns, per
    type, the trace's id of each local one."""
    args, rows = np.array(trace.args), np.array(trace.rows)
    head = trace.kind[:prologue]
    carried = {obj: np.zeros(0, np.int64) for obj in Obj}
    made = {obj: 0 for obj in Obj}
    for k in np.unique(trace.kind).tolist():
        obj = SPECS[Kind(k)].creates
        if obj is not None:
            made[obj] += int(np.count_nonzero(trace.kind[prologue:] == k))
            if k in head:
                carried[obj] = np.sort(np.concatenate([carried[obj], args[:prologue][head == k, 0]]))
    for obj, in_rows, at, col in list(_locations(trace.kind, rows, trace.nrows)):
        table = rows if in_rows else args
        v = table[at, col]
        old = (v >= 0) & (v < before.get(obj, 0))
        local = np.where(v >= 0, len(carried[obj]) + v - before.get(obj, 0), v)
        pos = np.searchsorted(carried[obj], v[old])
        if len(pos) and (pos.max() >= len(carried[obj]) or (carried[obj][pos] != v[old]).any()):
            raise NotStreamable(f"a {obj.name.lower()} of an earlier window is not carried")
        local[old] = pos
        table[at, col] = local
    trace.args, trace.rows = args, rows
    start = {obj: before.get(obj, 0) for obj in Obj}
    return {obj: np.concatenate([carried[obj], np.arange(start[obj], start[obj] + made[obj], dtype=np.int64)])
            for obj in Obj}


def _quiet(trace: Trace, before: dict[Obj, int]) -> np.ndarray:
    """Per event, whether nothing is pending after it: every encoder created submitted, every pass ended, no
    buffer mapped (the window starts with nothing pending)."""
    kind, args = trace.kind, np.asarray(trace.args)
    n = len(trace)
    delta = np.zeros(n + 1, dtype=np.int64)
    submits = np.flatnonzero(kind == Kind.SUBMIT)
    encoders = np.asarray(trace.rows)[trace.row_ids(submits), 0]
    at = np.repeat(submits, np.asarray(trace.nrows)[submits].astype(np.int64))
    new = encoders >= before.get(Obj.ENCODER, 0)
    _, first = np.unique(encoders[new], return_index=True)
    np.add.at(delta, at[new][first], -1)
    ends = np.flatnonzero(kind == Kind.PASS_END)
    _, first = np.unique(args[ends, 0], return_index=True)
    np.add.at(delta, ends[first], -1)
    opened = (kind == Kind.ENCODER_CREATE) | (kind == Kind.PASS_BEGIN) | (kind == Kind.MAP)
    opened |= (kind == Kind.BUFFER_CREATE) & (args[:, 4] != 0)
    delta[:n] += opened
    delta[:n] -= kind == Kind.UNMAP
    return np.cumsum(delta[:n]) == 0


def _concat(parts: list[Trace], reader: TraceReader) -> Trace:
    """Consecutive pieces of a trace as one (wide columns: a window is short)."""
    stacks = [p.stack if p.stack is not None else np.full(len(p), -1, np.int32) for p in parts]
    return Trace(header=reader.header, kind=np.concatenate([p.kind for p in parts]),
                 t=np.concatenate([np.asarray(p.t) for p in parts]),
                 site=np.concatenate([np.asarray(p.site) for p in parts]),
                 args=np.concatenate([np.asarray(p.args) for p in parts]),
                 nrows=np.concatenate([np.asarray(p.nrows) for p in parts]),
                 rows=np.concatenate([np.asarray(p.rows) for p in parts]), strings=reader.strings,
                 blobs=reader.blobs,
                 stack=np.concatenate([np.asarray(s) for s in stacks]) if any(p.stack is not None for p in parts)
                 else None)


def _take(trace: Trace, lo: int, hi: int) -> Trace:
    starts = np.append(np.asarray(trace.row_start), len(trace.rows))
    return Trace(header=trace.header, kind=trace.kind[lo:hi], t=trace.t[lo:hi], site=trace.site[lo:hi],
                 args=trace.args[lo:hi], nrows=trace.nrows[lo:hi], rows=trace.rows[starts[lo]:starts[hi]],
                 strings=trace.strings, blobs=trace.blobs, stack=None if trace.stack is None else trace.stack[lo:hi])


def _prepend(events: Trace, kept: list[_Kept], writes: list[tuple[int, int, int]],
             stacks: bool) -> tuple[Trace, np.ndarray]:
    """The window's trace: the kept events, a ``write_buffer`` per written run, then ``events``; and the origin of
    each event (the kept ones' index in the trace, -1 for the writes)."""
    t0 = int(events.t[0]) if len(events) else 0
    head_args = [k.args for k in kept] + [(b, s, e - s, -1, 0, 0) for b, s, e in writes]
    head = len(head_args)
    kind = np.concatenate([np.array([k.kind for k in kept] + [Kind.WRITE_BUFFER] * len(writes), np.uint8),
                           events.kind])
    rows = [r for k in kept for r in k.rows]
    trace = Trace(
        header=events.header, kind=kind,
        t=np.concatenate([np.full(head, t0, np.int64), np.asarray(events.t)]),
        site=np.concatenate([np.array([k.site for k in kept] + [-1] * len(writes), np.int32),
                             np.asarray(events.site)]),
        args=np.concatenate([np.array(head_args, np.int64).reshape(-1, 6), np.asarray(events.args)]),
        nrows=np.concatenate([np.array([len(k.rows) for k in kept] + [0] * len(writes), np.int32),
                              np.asarray(events.nrows)]),
        rows=np.concatenate([np.array(rows, np.int64).reshape(-1, ROW_WIDTH), np.asarray(events.rows)]),
        strings=events.strings, blobs=events.blobs,
        stack=np.concatenate([np.array([k.stack for k in kept] + [-1] * len(writes), np.int32),
                              np.asarray(events.stack) if events.stack is not None
                              else np.full(len(events), -1, np.int32)]) if stacks else None)
    origin = np.concatenate([np.array([k.event for k in kept] + [-1] * len(writes), np.int64),
                             np.zeros(len(events), np.int64)])
    return trace, origin


def _merged(lo: np.ndarray, hi: np.ndarray) -> list[tuple[int, int]]:
    """The runs of bytes [lo, hi) cover (``lo`` ascending), as disjoint sorted runs."""
    reach = np.maximum.accumulate(hi)
    new = np.flatnonzero(np.concatenate([[True], lo[1:] > reach[:-1]]))
    ends = np.append(new[1:], len(lo)) - 1
    return list(zip(lo[new].tolist(), reach[ends].tolist(), strict=True))
