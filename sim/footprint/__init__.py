"""What each recorded command touches, and how: the footprint table.

A dispatch or a draw uses every resource bound through the bind groups set in its pass (at the
group indices its pipeline uses) with the access its layout declares: buffer ranges, and the
subresources of bound texture views; an indirect dispatch or draw also reads its argument bytes, a
draw its vertex buffers (the range each slot was set to) and an indexed draw its index bytes. A
render pass's begin stands for its attachments: written, read too when loaded, only read when
read-only; a resolve target is written. Executing bundles uses what their draws use. A copy reads
its source and writes its destination, buffer bytes or texels (a buffer side of a texture copy from
its first to its last byte); a clear writes its range; a query resolve writes its destination.
The checker, the planner and the simulator all read commands through this one table.
"""

from __future__ import annotations

import numpy as np

from ...traces import Kind, Trace
from ...traces.schema import BUFFER_ACCESSES, TEXTURE_ACCESSES, Access, AttachmentOps
from .copies import texture_copies
from .host import HostAccesses, host_accesses
from .state import DISPATCHES, DRAWS, Bound, Passes, bound_state, pipeline_events, vertex_slots
from .table import Commands, Footprints, Use, columns_of, gather, of_kind
from .textures import Runs, Textures

__all__ = ["INDIRECT_ARGS_BYTES", "Commands", "Footprints", "HostAccesses", "Passes", "Textures", "Use",
           "commands_and_footprints", "host_accesses", "pass_encoders"]

INDIRECT_ARGS_BYTES = 12
DRAW_ARGS_BYTES = {Kind.DRAW_INDIRECT: 16, Kind.DRAW_INDEXED_INDIRECT: 20}
QUERY_BYTES = 8
_BUFFER_BINDING = np.array([Access.NONE, *BUFFER_ACCESSES], dtype=np.int64)
_TEXTURE_USE = np.full(max(Access) + 1, Use.UNKNOWN, dtype=np.int64)
_TEXTURE_USE[list(TEXTURE_ACCESSES)] = [Use.SAMPLED, Use.STORAGE_TEXTURE_READ, Use.STORAGE_TEXTURE_WRITE,
                                        Use.STORAGE_TEXTURE_READ_WRITE]
_RENDER = (Kind.RENDER_PASS_BEGIN, Kind.TEXTURE_CREATE, *DRAWS)


def pass_encoders(trace: Trace) -> np.ndarray:
    """Encoder of each pass, indexed by pass id (-1 for a render bundle encoder)."""
    return Passes.of(trace).encoder


class _Parts:
    """Footprint rows gathered part by part: (command, resource, start, end, use, slot) columns."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, command: np.ndarray, resource: np.ndarray, start: np.ndarray, end: np.ndarray, use,
            slot=-1) -> None:
        n = len(command)
        self.parts.append(tuple(np.broadcast_to(np.asarray(c, dtype=np.int64), (n,))
                                for c in (command, resource, start, end, use, slot)))

    def columns(self) -> list[np.ndarray]:
        return [np.concatenate([p[j] for p in self.parts]) for j in range(6)]


def commands_and_footprints(trace: Trace) -> tuple[Commands, Footprints]:
    """Resolve pass state (pipelines, bound groups, vertex and index buffers) and list every command's ranges."""
    args = trace.args
    passes = Passes.of(trace)
    pipelines = pipeline_events(trace)
    pipeline_groups = [np.unique(trace.rows_of(int(i))[:, 0]).tolist() for i in pipelines]
    bound = bound_state(trace, pipeline_groups, vertex_slots(trace, pipelines))
    n_buffers = len(of_kind(trace, Kind.BUFFER_CREATE))
    textures = Textures(trace, n_buffers) if np.isin(trace.kind, _RENDER).any() else None
    parts = _Parts()
    _bindings(trace, bound, parts, textures)
    indirect = of_kind(trace, Kind.DISPATCH_INDIRECT)
    parts.add(indirect, args[indirect, 1], args[indirect, 2], args[indirect, 2] + INDIRECT_ARGS_BYTES, Use.INDIRECT)
    copies = of_kind(trace, Kind.COPY)
    parts.add(copies, args[copies, 1], args[copies, 2], args[copies, 2] + args[copies, 5], Use.COPY_SRC)
    parts.add(copies, args[copies, 3], args[copies, 4], args[copies, 4] + args[copies, 5], Use.COPY_DST)
    clears = of_kind(trace, Kind.CLEAR)
    parts.add(clears, args[clears, 1], args[clears, 2], args[clears, 2] + args[clears, 3], Use.CLEAR)
    if textures is not None:
        _draw_buffers(trace, bound, parts)
        _attachments(trace, textures, parts)
        texture_copies(trace, textures, parts)
    resolves = of_kind(trace, Kind.RESOLVE_QUERY_SET)
    parts.add(resolves, args[resolves, 4], args[resolves, 5], args[resolves, 5] + QUERY_BYTES * args[resolves, 3],
              Use.QUERY_RESOLVE)
    cols = parts.columns()
    if (passes.kind == Kind.BUNDLE_ENCODER_CREATE).any():
        cols = _executed(trace, passes, cols, _in_bundle(trace, passes, cols[0]))
    commands = _commands(trace, passes, bound)
    encoder, scope = _placement(trace, passes, commands, cols[0])
    order = np.flatnonzero(encoder >= 0)  # rows of commands that run in no encoder (a dispatch in a bundle) go
    order = order[np.argsort(cols[0][order], kind="stable")]
    footprints = Footprints(command=cols[0][order], encoder=encoder[order], resource=cols[1][order],
                            start=cols[2][order], end=cols[3][order], use=cols[4][order], slot=cols[5][order],
                            scope=scope[order], n_buffers=n_buffers)
    return commands, footprints


def _bindings(trace: Trace, bound: Bound, parts: _Parts, textures: Textures | None) -> None:
    """Every bound entry of every dispatch and draw: buffer ranges (dynamic offsets applied) and views."""
    rows = trace.rows
    bg_events = of_kind(trace, Kind.BIND_GROUP)
    counts = trace.nrows[bg_events].astype(np.int64)[bound.group_bind_group]
    first = np.cumsum(counts) - counts
    row_ids = (np.repeat(trace.row_start[bg_events][bound.group_bind_group] - first, counts)
               + np.arange(int(counts.sum()), dtype=np.int64))
    binding, resource, offset, size, access = (gather(c, row_ids) for c in columns_of(rows))
    extra = np.zeros(len(row_ids), dtype=np.int64)
    for pair in np.flatnonzero(trace.nrows[bound.group_set] > 0).tolist():
        _apply_dynamic_offsets(trace, int(bg_events[bound.group_bind_group[pair]]),
                               trace.rows_of(int(bound.group_set[pair]))[:, 0],
                               extra[first[pair]:first[pair] + counts[pair]])
    command = np.repeat(bound.group_event, counts)
    slot = np.repeat(bound.group_index, counts) * 65536 + binding
    start = offset + extra
    on_buffer = np.isin(access, _BUFFER_BINDING)
    if on_buffer.all():
        parts.add(command, resource, start, start + size, access, slot)
        return
    b = np.flatnonzero(on_buffer)
    parts.add(command[b], resource[b], start[b], start[b] + size[b], access[b], slot[b])
    v = np.flatnonzero(np.isin(access, list(TEXTURE_ACCESSES)))
    if textures is None or not len(v):
        return
    view = textures.views[resource[v]]
    runs = textures.subresources(view[:, 0], view[:, 1], view[:, 2], view[:, 3], view[:, 4])
    _add_runs(parts, textures, runs, command[v], view[:, 0], _TEXTURE_USE[access[v]], slot[v])


def _add_runs(parts: _Parts, textures: Textures, runs: Runs, command: np.ndarray, texture: np.ndarray, use,
              slot=-1) -> None:
    """Add texture runs, each owned by item ``runs.owner`` of the per-item columns given."""
    o = runs.owner
    use, slot = (np.broadcast_to(np.asarray(c, dtype=np.int64), (len(command),)) for c in (use, slot))
    parts.add(command[o], textures.first_resource + texture[o], runs.lo, runs.hi, use[o], slot[o])


def _draw_buffers(trace: Trace, bound: Bound, parts: _Parts) -> None:
    """Vertex buffers (the range each slot was set to), index bytes, and indirect draw arguments."""
    args = trace.args
    v = bound.vertex_set
    parts.add(bound.vertex_event, args[v, 2], args[v, 3], args[v, 3] + args[v, 4], Use.VERTEX, args[v, 1])
    draw, s = bound.index_event, bound.index_set
    offset, size, width = args[s, 3], args[s, 4], args[s, 2]
    direct = trace.kind[draw] == Kind.DRAW_INDEXED
    lo = np.where(direct, np.minimum(offset + args[draw, 3] * width, offset + size), offset)
    hi = np.where(direct, np.minimum(lo + args[draw, 1] * width, offset + size), offset + size)
    parts.add(draw, args[s, 1], lo, hi, Use.INDEX)
    for kind, size_ in DRAW_ARGS_BYTES.items():
        ind = of_kind(trace, kind)
        parts.add(ind, args[ind, 1], args[ind, 2], args[ind, 2] + size_, Use.INDIRECT)


def _attachments(trace: Trace, textures: Textures, parts: _Parts) -> None:
    """A render pass's begin stands for its attachments and resolve targets."""
    begins = of_kind(trace, Kind.RENDER_PASS_BEGIN)
    counts = trace.nrows[begins].astype(np.int64)
    rows = trace.rows[trace.row_ids(begins)]
    if not len(rows):
        return
    command = np.repeat(begins, counts)
    index, view_id, resolve, ops, depth_slice = rows.T
    read_only = (ops & AttachmentOps.READ_ONLY) != 0
    stencil_read_only = (ops & AttachmentOps.STENCIL_READ_ONLY) != 0
    loads = (ops & (AttachmentOps.LOAD | AttachmentOps.STENCIL_LOAD)) != 0
    only_read = np.where(index < 0, read_only & stencil_read_only, False)
    use = np.where(only_read, Use.ATTACHMENT_READ_ONLY, np.where(loads, Use.ATTACHMENT_LOAD, Use.ATTACHMENT))
    targets = ((view_id, use, np.arange(len(rows))), (resolve, Use.RESOLVE, np.flatnonzero(resolve >= 0)))
    for views, uses, which in targets:
        view = textures.views[views[which]]
        uses = np.broadcast_to(np.asarray(uses), (len(rows),))[which]
        deep = (textures.dimension[view[:, 0]] == 3) & (depth_slice[which] >= 0)
        flat, sliced = np.flatnonzero(~deep), np.flatnonzero(deep)
        runs = textures.subresources(view[flat, 0], view[flat, 1], np.minimum(view[flat, 2], 1), view[flat, 3],
                                     np.minimum(view[flat, 4], 1))
        _add_runs(parts, textures, runs, command[which][flat], view[flat, 0], uses[flat], index[which][flat])
        runs = textures.slices(view[sliced, 0], view[sliced, 1], depth_slice[which][sliced])
        _add_runs(parts, textures, runs, command[which][sliced], view[sliced, 0], uses[sliced], index[which][sliced])


def _in_bundle(trace: Trace, passes: Passes, command: np.ndarray) -> np.ndarray:
    """Whether each row's command is a draw recorded into a render bundle encoder."""
    is_draw = np.isin(trace.kind[command], DRAWS)
    out = np.zeros(len(command), dtype=bool)
    out[is_draw] = passes.kind[trace.args[command[is_draw], 0]] == Kind.BUNDLE_ENCODER_CREATE
    return out


def _executed(trace: Trace, passes: Passes, cols: list[np.ndarray], in_bundle: np.ndarray) -> list[np.ndarray]:
    """Bundle draws' rows moved to every execute_bundles that runs the bundle (a bundle alone runs nothing)."""
    mine = np.flatnonzero(in_bundle)
    encoder = trace.args[cols[0][mine], 0]
    mine = mine[np.argsort(encoder, kind="stable")]
    encoder = trace.args[cols[0][mine], 0]
    executes = of_kind(trace, Kind.EXECUTE_BUNDLES)
    counts = trace.nrows[executes].astype(np.int64)
    execute = np.repeat(executes, counts)
    bundle = trace.rows[trace.row_ids(executes), 0]
    bundle_encoder = trace.args[of_kind(trace, Kind.BUNDLE_FINISH), 1][bundle]
    first = np.searchsorted(encoder, bundle_encoder, side="left")
    n = np.searchsorted(encoder, bundle_encoder, side="right") - first
    picked = mine[np.repeat(first - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))]
    keep = np.flatnonzero(~in_bundle)
    out = [np.concatenate([c[keep], c[picked]]) for c in cols]
    out[0][len(keep):] = np.repeat(execute, n)
    return out


def _commands(trace: Trace, passes: Passes, bound: Bound) -> Commands:
    """Every command but bundle draws (they run where their bundle is executed), in program order."""
    args = trace.args
    kinds = (*DISPATCHES, *DRAWS, Kind.RENDER_PASS_BEGIN, Kind.EXECUTE_BUNDLES, Kind.COPY, Kind.CLEAR,
             Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER, Kind.COPY_TEXTURE_TO_TEXTURE,
             Kind.RESOLVE_QUERY_SET)
    events = of_kind(trace, *kinds)
    kind = trace.kind[events]
    in_pass = np.isin(kind, (*DISPATCHES, *DRAWS, Kind.EXECUTE_BUNDLES))
    pass_id = np.where(in_pass, args[events, 0], np.where(kind == Kind.RENDER_PASS_BEGIN, args[events, 0], -1))
    known = pass_id >= 0
    pass_kind = np.full(len(events), -1, dtype=np.int64)
    pass_kind[known] = passes.kind[pass_id[known]]
    keep = pass_kind != Kind.BUNDLE_ENCODER_CREATE
    events, kind, pass_id, pass_kind = events[keep], kind[keep], pass_id[keep], pass_kind[keep]
    encoder = np.where(pass_id >= 0, np.append(passes.encoder, -1)[pass_id], args[events, 0])
    pipeline_of = np.full(len(trace), -1, dtype=np.int64)
    pipeline_of[bound.event] = bound.pipeline
    is_compute = pass_kind == Kind.PASS_BEGIN
    return Commands(event=events, encoder=encoder, compute_pass=np.where(is_compute, pass_id, -1),
                    pipeline=pipeline_of[events],
                    render_pass=np.where(pass_kind == Kind.RENDER_PASS_BEGIN, pass_id, -1))


def _placement(trace: Trace, passes: Passes, commands: Commands, cmd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per footprint row (by command event): its command's encoder, and the event opening its usage scope."""
    encoder = np.full(len(trace), -1, dtype=np.int64)
    encoder[commands.event] = commands.encoder
    scope = np.full(len(trace), -1, dtype=np.int64)
    compute = commands.compute_pass >= 0
    scope[commands.event[compute]] = commands.event[compute]
    render = commands.render_pass >= 0
    scope[commands.event[render]] = passes.begin[commands.render_pass[render]]
    return encoder[cmd], scope[cmd]


def _apply_dynamic_offsets(trace: Trace, bind_group_event: int, offsets: np.ndarray, out: np.ndarray) -> None:
    """Dynamic offsets apply, in binding order, to the entries its explicit layout marks dynamic."""
    layout = int(trace.args[bind_group_event, 1])
    if layout < 0:
        return
    layout_rows = trace.rows_of(int(of_kind(trace, Kind.BIND_GROUP_LAYOUT)[layout]))
    dynamic_bindings = sorted(int(r[0]) for r in layout_rows if r[2])
    entries = trace.rows_of(bind_group_event)[:, 0]
    for binding, offset in zip(dynamic_bindings, offsets.tolist(), strict=False):
        out[entries == binding] = offset
