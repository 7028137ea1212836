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
from ...traces.schema import BUFFER_ACCESSES, Access
from ..plan import Allocations, Plan
from ..policies import PassPolicy
from .bindings import read_write_bindings
from .emitter import REC, ROW, SYN, Emitter
from .kinds import is_kind
from .program import columns_of, gather

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


def assemble(em: Emitter, placed: np.ndarray, passes: PassPolicy) -> Plan:
    """The plan: ``placed`` source events and ``em``'s records, every column filled, buffers mapped to pages."""
    trace, program = em.trace, em.program
    src_args, src_rows, strings = trace.args, trace.rows, trace.strings
    if em.read_write is not None:
        src_args, src_rows, strings = read_write_bindings(trace, em.read_write)
    src, kind, a0, cur, origin = _merge(em, placed)
    args, nrows, rows, site = _fill(em, src_args, src_rows, src, a0, cur, origin)
    phys = np.array(em.phys, dtype=np.int64)
    offset = np.array(em.offset, dtype=np.int64)
    _remap(kind, args, rows, nrows, phys, offset)
    blobs = trace.blobs + em.blobs if em.blobs else trace.blobs

    header = dict(trace.header)
    if em.limits is not None:
        header["limits"] = dict(em.limits)
    planned = Trace(header=header, kind=kind.astype(np.uint8), t=gather(trace.t, cur), site=site,
                    args=args, nrows=nrows.astype(np.int32), rows=rows, strings=strings,
                    blobs=blobs, end=dict(trace.end) if trace.end is not None else None,
                    cut_short=trace.cut_short)
    n_buffers = len(program.size)
    start, end = _storage_spans(em, placed, kind, origin)
    allocations = Allocations(buffer=phys[:n_buffers].copy(), offset=offset[:n_buffers].copy(),
                              size=program.size.copy(), reserved=np.array(em.reserved, dtype=np.int64),
                              start=start, end=end)
    return Plan(trace=planned, origin=origin.copy(), allocations=allocations, source=trace,
                pool=em.pool.spec, passes=passes.spec)


def _merge(em: Emitter, placed: np.ndarray) -> np.ndarray:
    """Rows src, kind, a0, cur, origin of the plan: the loop's records and the placed events, each placed
    event before every record emitted while handling it or a later source event (positions counted per
    source event, not searched: there are many more records than placed events)."""
    trace = em.trace
    rec = np.frombuffer(em.out, dtype=np.int64).reshape(-1, REC)
    m, n = len(placed) + len(rec), len(trace)
    handled = rec[:, 3]
    per_event = np.bincount(handled, minlength=n)
    at_placed = (np.cumsum(per_event) - per_event)[placed] + np.arange(len(placed))
    at_rec = np.arange(len(rec)) + np.cumsum(np.bincount(placed, minlength=n))[handled]
    columns = np.empty((5, m), dtype=np.int64)
    columns[:, at_rec] = rec.T
    placed_kind = trace.kind[placed].astype(np.int64)
    mapped_writes = np.flatnonzero(placed_kind == Kind.MAPPED_WRITE)
    placed_kind[mapped_writes[em.pooled[trace.args[placed[mapped_writes], 0]]]] = Kind.WRITE_BUFFER
    columns[0, at_placed] = placed
    columns[1, at_placed] = placed_kind
    columns[2, at_placed] = gather(columns_of(trace.args)[0], placed)
    columns[3, at_placed] = placed
    columns[4, at_placed] = placed
    return columns


def _fill(em: Emitter, src_args: np.ndarray, src_rows: np.ndarray, src: np.ndarray, a0: np.ndarray,
          cur: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """args, nrows, rows and site of every plan event: copied from its source event, or from its synthetic row
    (whose rows are a source event's or synthetic ones, and whose site is its origin's, else the handled event's).

    Column by column, by index (a boolean mask over two-dimensional rows costs several times more); ``args`` is
    laid out by column, as a loaded trace's widened ``args`` is."""
    trace = em.trace
    syn = np.frombuffer(em.syn, dtype=np.int64).reshape(-1, SYN)
    m = len(src)
    copied = src >= 0
    ci, ki = np.flatnonzero(copied), np.flatnonzero(~copied)
    s, k = src[ci], -1 - src[ki]
    syn_k = syn[k]
    args = np.empty((6, m), dtype=np.int64)
    args[0] = a0
    for j, source in enumerate(columns_of(src_args)[1:], 1):
        column = args[j]
        column[ci] = gather(source, s)
        column[ki] = syn_k[:, j - 1]
    nrows = np.empty(m, dtype=np.int64)
    nrows[ci] = gather(trace.nrows, s)
    nrows[ki] = syn_k[:, 5]
    row_from = np.empty(m, dtype=np.int64)
    row_from[ci] = gather(trace.row_start, s)
    rowsrc = syn_k[:, 6]
    row_from[ki] = np.where(rowsrc >= 0, gather(trace.row_start, np.maximum(rowsrc, 0)) if len(trace) else 0,
                            len(trace.rows) - 2 - rowsrc)
    site = np.empty(m, dtype=np.int32)
    site[ci] = gather(trace.site, s)
    syn_origin = origin[ki]
    site[ki] = gather(trace.site, np.where(syn_origin >= 0, syn_origin, cur[ki]))
    return args.T, nrows, _gather_rows(em, src_rows, row_from, nrows), site


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
    for (records, at), column in ((em.start_mark, start), (em.end_mark, end)):
        marks = np.array(records, dtype=np.int64)
        b = np.flatnonzero(marks >= 0)
        column[b] = marks[b] + np.searchsorted(placed, np.array(at, dtype=np.int64)[b], side="right")
    return start, end


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
