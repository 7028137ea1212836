"""Assembly of the physical plan: the placed source events and the loop's records merged into columns.

Plan events carry the time of the source event being handled when they were emitted, the call
site of the source event they realise (inserted events: of the one that caused them), and
``origin`` -1 when a policy inserted them: a page, a staging buffer and its unmap, an encoder, a
pass, a forced submit, a page destroy. A re-emitted set_pipeline / set_bind_group names the
program's own set call; a staged upload's mapped write and copy both name the program's write.
Every buffer reference is mapped from its logical id to (page, slice offset + offset) in one numpy
step, bind group entries included.

``Allocations``: ``start`` is the plan index of the first event emitted once the allocation has its
storage (its page's creation when the reservation made one; under ``exclusive``, its buffer's
creation); ``end`` the first plan event after it gave its storage back (``exclusive``: its buffer's
first destroy; never destroyed: the plan's length). ``reserved`` counts the pool's padding.
"""

from __future__ import annotations

import numpy as np

from ...traces import Kind, Trace
from ...traces.columns import Column
from ...traces.schema import BUFFER_ACCESSES, Access
from ..footprint.table import columns_of, gather
from ..plan import Allocations, Plan
from ..policies import PassPolicy
from . import fast
from .bindings import read_write_bindings
from .emitter import REC, ROW, SYN, Emitter
from .kinds import is_kind

# (kind, buffer column, offset column or -1): every event field naming a buffer, except BUFFER_CREATE and
# BUFFER_DESTROY, which the planner writes with physical ids already
_BUFFER_FIELDS = (
    (Kind.WRITE_BUFFER, 0, 1), (Kind.MAPPED_WRITE, 0, 1), (Kind.READ, 0, 1), (Kind.QUEUE_READ, 0, 1),
    (Kind.MAP, 0, 2), (Kind.UNMAP, 0, -1), (Kind.COPY, 1, 2), (Kind.COPY, 3, 4), (Kind.CLEAR, 1, 2),
    (Kind.DISPATCH_INDIRECT, 1, 2), (Kind.SET_VERTEX_BUFFER, 2, 3), (Kind.SET_INDEX_BUFFER, 1, 3),
    (Kind.DRAW_INDIRECT, 1, 2), (Kind.DRAW_INDEXED_INDIRECT, 1, 2), (Kind.RESOLVE_QUERY_SET, 4, 5),
)
# (kind, buffer column, positional row holding the buffer side's data layout): its offset is the row's column 0
_TEXTURE_COPY_BUFFERS = ((Kind.COPY_BUFFER_TO_TEXTURE, 1, 0), (Kind.COPY_TEXTURE_TO_BUFFER, 2, 1))
_BUFFER_BINDINGS = np.array([Access.NONE, *BUFFER_ACCESSES], dtype=np.int64)


def _tables() -> tuple[np.ndarray, np.ndarray, int]:
    """The remap's rules as ``_loop.fill`` and ``fill_rows`` read them: per kind, its buffer fields (two pairs of
    buffer column and offset column, -1 none) and its texture copy's (buffer column, row), and the bind group
    accesses that name a buffer as bits."""
    fields = np.full((256, 4), -1, dtype=np.int64)
    for k, col, off in _BUFFER_FIELDS:
        pair = 2 * int(fields[k, 0] >= 0)
        fields[k, pair:pair + 2] = col, off
    textures = np.full((256, 2), -1, dtype=np.int64)
    for k, col, position in _TEXTURE_COPY_BUFFERS:
        textures[k] = col, position
    return fields, textures, sum(1 << int(a) for a in _BUFFER_BINDINGS)


_FIELDS, _TEXTURES, _BUFFER_ACCESS_BITS = _tables()


def assemble(em: Emitter, placed: np.ndarray, passes: PassPolicy) -> Plan:
    """The plan: ``placed`` source events and ``em``'s records, every column filled, buffers mapped to pages."""
    trace, program = em.trace, em.program
    src_args, src_rows, strings = trace.args, trace.rows, trace.strings
    if em.read_write is not None:
        src_args, src_rows, strings = read_write_bindings(trace, em.read_write)
    columns = _columns_in_c if fast.LOOP is not None else _columns
    kind, origin, t, args, nrows, rows, site = columns(em, placed, src_args, src_rows)
    blobs = trace.blobs + em.blobs if em.blobs else trace.blobs

    header = dict(trace.header)
    if em.limits is not None:
        header["limits"] = dict(em.limits)
    planned = Trace(header=header, kind=kind, t=t, site=site, args=args, nrows=nrows, rows=rows, strings=strings,
                    blobs=blobs, end=dict(trace.end) if trace.end is not None else None, cut_short=trace.cut_short)
    n_buffers = len(program.size)
    start, end = _storage_spans(em, placed, kind, origin)
    allocations = Allocations(buffer=_int64s(em.phys[:n_buffers]), offset=_int64s(em.offset[:n_buffers]),
                              size=program.size.copy(), reserved=_int64s(em.reserved),
                              start=start, end=end)
    return Plan(trace=planned, origin=origin, allocations=allocations, source=trace, pool=em.pool.spec,
                passes=passes.spec)


def _columns_in_c(em: Emitter, placed: np.ndarray, src_args: np.ndarray,
                  src_rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """kind, origin, t, args, nrows, rows and site as ``_columns`` makes them, in one pass of ``_loop.fill`` over the
    records and one of ``fill_rows``: the plan's arrays written in place, the source columns read as the trace holds
    them (narrow), buffers mapped as they are written. No temporary per plan or source event: fresh memory is much
    of what numpy's passes cost."""
    assert fast.LOOP is not None
    trace, m = em.trace, len(placed) + len(em.out) // REC
    kind = np.empty(m, dtype=np.uint8)
    origin, t, row_from = (np.empty(m, dtype=np.int64) for _ in range(3))
    args = np.empty((6, m), dtype=np.int64)
    nrows, site = np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int32)
    fast.LOOP.fill(em.out, em.syn, placed, _placed_kinds(em, placed).astype(np.int64), em.program.a0_array[placed],
                   _FIELDS, kind, origin, t, args, nrows, site, row_from, len(trace.rows) - 2, em.phys, em.offset,
                   _sources(em, src_args), len(trace))
    rows = np.empty((ROW, int(nrows.sum(dtype=np.int64))), dtype=np.int64)
    fast.LOOP.fill_rows(row_from, nrows, em.syn_rows, kind, _TEXTURES, rows, args, em.phys, em.offset, Kind.BIND_GROUP,
                        _BUFFER_ACCESS_BITS, tuple(_parts(c) for c in columns_of(src_rows)), len(src_rows))
    return kind, origin, t, args.T, nrows, rows.T, site


def _columns(em: Emitter, placed: np.ndarray, src_args: np.ndarray, src_rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """kind, origin, t, args, nrows, rows and site of the plan, buffers mapped to pages: in numpy."""
    at = _Places(em, placed)
    kind, origin, t, args = _merge(em, placed, at)
    nrows, rows, site = _fill(em, src_args, src_rows, at, args)
    _remap(kind, args.T, rows, nrows, np.array(em.phys, dtype=np.int64), np.array(em.offset, dtype=np.int64))
    return kind, origin, t, args.T, nrows, rows, site


def _sources(em: Emitter, src_args: np.ndarray) -> tuple[tuple, ...]:
    """What ``fill`` reads per source event, as ``_parts``: args a1..a5 (a1 and a2 as the lift widened them, where
    they are the trace's own), t, site, nrows and where the event's rows start."""
    trace, program = em.trace, em.program
    own = columns_of(trace.args)
    lifted = {1: program.a1_array, 2: program.a2_array}
    args = [lifted[j] if j in lifted and (src_args is trace.args or column is own[j]) else column
            for j, column in enumerate(columns_of(src_args)[1:], 1)]
    return tuple(_parts(c) for c in (*args, trace.t, trace.site, trace.nrows, trace.row_start))


def _parts(column: np.ndarray | Column) -> tuple:
    """A column as ``_loop`` reads it in place: (base, frame, shift, at, value), the parts a narrow column pickles
    as (``traces/columns.py``: a framed column adds ``frame[i >> shift]`` to ``base[i]``, a patched one keeps
    ``value`` aside at the ascending places ``at``); an array is its own base."""
    if isinstance(column, Column):
        base, _, frame, shift, at, value = column.__reduce__()[1]
        return base, frame, shift, at, value
    return np.ascontiguousarray(column), None, 0, None, None


def _placed_kinds(em: Emitter, placed: np.ndarray) -> np.ndarray:
    """The placed events' kinds in the plan: their own, but a mapped write into a pooled buffer is an upload."""
    trace = em.trace
    kinds = trace.kind[placed]
    mapped_writes = np.flatnonzero(kinds == Kind.MAPPED_WRITE)
    kinds[mapped_writes[em.pooled[trace.args[placed[mapped_writes], 0]]]] = Kind.WRITE_BUFFER
    return kinds


class _Places:
    """Where the placed events and the loop's records go in the plan, in the groups the columns are filled by.

    Each placed event comes before every record emitted while handling it or a later source event
    (positions counted per source event, not searched: there are many more records than placed events).
    ``copied``/``source``: the plan events that copy a source event (the placed ones, then the records that
    copy one) and that event; ``synthetic``: the plan events of synthetic rows, in the order of the rows (the
    loops number a synthetic row as they emit its record, so the k-th synthetic record has row k).
    """

    def __init__(self, em: Emitter, placed: np.ndarray):
        n = len(em.trace)
        self.rec = rec = np.frombuffer(em.out, dtype=np.int64).reshape(-1, REC)
        handled = rec[:, 3]
        per_event = np.bincount(handled, minlength=n)
        self.placed = (np.cumsum(per_event) - per_event)[placed] + np.arange(len(placed))
        self.records = np.arange(len(rec)) + np.cumsum(np.bincount(placed, minlength=n))[handled]
        copies = rec[:, 0] >= 0
        by_copy, by_row = np.flatnonzero(copies), np.flatnonzero(~copies)
        self.copied = np.concatenate((self.placed, self.records[by_copy]))
        self.source = np.concatenate((placed, rec[by_copy, 0]))
        self.synthetic = self.records[by_row]
        self.by_row = by_row
        self.m = len(placed) + len(rec)


def _merge(em: Emitter, placed: np.ndarray, at: _Places) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """kind, origin and time of every plan event, and its ``args`` (laid out by column, as a loaded trace's
    widened ``args`` is) with the first filled: what the records say, and the placed events' own."""
    trace, rec, m = em.trace, at.rec, at.m
    kind = np.empty(m, dtype=np.uint8)
    kind[at.records] = rec[:, 1]
    kind[at.placed] = _placed_kinds(em, placed)
    origin = np.empty(m, dtype=np.int64)
    origin[at.records] = rec[:, 4]
    origin[at.placed] = placed
    times = np.asarray(trace.t)
    t = np.empty(m, dtype=np.int64)
    t[at.records] = times[rec[:, 3]]
    t[at.placed] = times[placed]
    args = np.empty((6, m), dtype=np.int64)
    args[0, at.records] = rec[:, 2]
    args[0, at.placed] = gather(columns_of(trace.args)[0], placed)
    return kind, origin, t, args


def _fill(em: Emitter, src_args: np.ndarray, src_rows: np.ndarray, at: _Places,
          args: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``args`` past the first, and nrows, rows and site of every plan event: copied from its source event, or from
    its synthetic row (whose rows are a source event's or synthetic ones, and whose site is its origin's, else the
    handled event's). Column by column, by index (a boolean mask over two-dimensional rows costs several times
    more)."""
    trace = em.trace
    syn = np.frombuffer(em.syn, dtype=np.int64).reshape(-1, SYN)
    copied, source, synthetic = at.copied, at.source, at.synthetic
    for j, column in enumerate(columns_of(src_args)[1:], 1):
        args[j, copied] = gather(column, source)
        args[j, synthetic] = syn[:, j - 1]
    nrows = np.empty(at.m, dtype=np.int32)
    nrows[copied] = gather(trace.nrows, source)
    nrows[synthetic] = syn[:, 5]
    row_from = np.empty(at.m, dtype=np.int64)
    row_from[copied] = gather(trace.row_start, source)
    rowsrc = syn[:, 6]
    row_from[synthetic] = np.where(rowsrc >= 0, gather(trace.row_start, np.maximum(rowsrc, 0)) if len(trace) else 0,
                                   len(trace.rows) - 2 - rowsrc)
    site = np.empty(at.m, dtype=np.int32)
    site[copied] = gather(trace.site, source)
    syn_origin = at.rec[at.by_row, 4]
    site[synthetic] = gather(trace.site, np.where(syn_origin >= 0, syn_origin, at.rec[at.by_row, 3]))
    return nrows, _gather_rows(em, src_rows, row_from, nrows), site


def _gather_rows(em: Emitter, src_rows: np.ndarray, row_from: np.ndarray, nrows: np.ndarray) -> np.ndarray:
    """The plan's rows: each event's ``nrows`` rows from ``row_from`` on, an index past the source's rows naming
    a synthetic row. Only the source rows taken are widened."""
    has = np.flatnonzero(nrows)
    at = np.repeat(row_from[has], nrows[has]) + _ranks(nrows[has])
    n_src = len(src_rows)
    own = np.flatnonzero(at < n_src)
    rows = np.empty((ROW, len(at)), dtype=np.int64)
    for j, source in enumerate(columns_of(src_rows)):
        rows[j, own] = gather(source, at[own])
    if len(own) == len(at):
        return rows.T
    added = np.flatnonzero(at >= n_src)
    rows[:, added] = np.frombuffer(em.syn_rows, dtype=np.int64).reshape(-1, ROW)[at[added] - n_src].T
    return rows.T


def _storage_spans(em: Emitter, placed: np.ndarray, kind: np.ndarray,
                   origin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Allocations.start`` and ``end``: from the program's own creates and destroys, then the pools' marks."""
    trace, m = em.trace, len(kind)
    n_buffers = len(em.program.size)
    start = np.full(n_buffers, m, dtype=np.int64)
    end = np.full(n_buffers, m, dtype=np.int64)
    own = (origin >= 0) & is_kind(kind, [Kind.BUFFER_CREATE, Kind.BUFFER_DESTROY])
    events = np.flatnonzero(own)
    creates = events[kind[events] == Kind.BUFFER_CREATE]
    start[trace.args[origin[creates], 0]] = creates
    destroys = events[kind[events] == Kind.BUFFER_DESTROY]
    np.minimum.at(end, trace.args[origin[destroys], 0], destroys)
    placed_upto = np.cumsum(np.bincount(placed, minlength=len(trace)))  # placed events up to each source event
    for (records, at), column in ((em.start_mark, start), (em.end_mark, end)):
        marks = _int64s(records)
        b = np.flatnonzero(marks >= 0)
        column[b] = marks[b] + placed_upto[_int64s(at)[b]]
    return start, end


def _int64s(values: list[int]) -> np.ndarray:
    """A list of ints as an int64 array: in C where the loop is built (``np.array`` infers each item's type first,
    six times the cost for the emitter's per-allocation lists)."""
    if fast.LOOP is None:
        return np.array(values, dtype=np.int64)
    out = np.empty(len(values), dtype=np.int64)
    fast.LOOP.ints(values, out)
    return out


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def _remap(kind: np.ndarray, args: np.ndarray, rows: np.ndarray, nrows: np.ndarray, phys: np.ndarray,
           offset: np.ndarray) -> None:
    """Logical buffer ids and offsets -> physical (page, slice offset + offset), in place."""
    present = np.bincount(kind, minlength=256)
    for k, col, off in _BUFFER_FIELDS:
        if not present[k]:
            continue
        idx = np.flatnonzero(kind == k)
        logical = args[idx, col]
        if off >= 0:
            args[idx, off] += offset[logical]
        args[idx, col] = phys[logical]
    if present[Kind.BIND_GROUP]:
        bg = np.flatnonzero(np.repeat(kind == Kind.BIND_GROUP, nrows))
        bg = bg[np.isin(rows[bg, 4], _BUFFER_BINDINGS)]  # not the texture views and samplers
        logical = rows[bg, 1]
        rows[bg, 2] += offset[logical]
        rows[bg, 1] = phys[logical]
    for k, col, position in _TEXTURE_COPY_BUFFERS:
        if not present[k]:
            continue
        idx = np.flatnonzero(kind == k)
        row_start = np.cumsum(nrows) - nrows
        logical = args[idx, col]
        rows[row_start[idx] + position, 0] += offset[logical]
        args[idx, col] = phys[logical]
