"""Which events numpy places as they are, which the planner's loop visits, and when allocations end.

Events that need no decision under the chosen policies (shader modules, bind groups, and under
``as-recorded`` every command) are placed by numpy; the Python loop visits only the rest, so a
policy pays per event only for the events it decides on. Frees need no visit of their own: the
loop gives storage back, in order, before it handles the next event it visits, as the time of the
event each free follows (nothing a free depends on changes between visits).

Format 1.1's kinds: textures, views, samplers, query sets and render pipelines are always placed;
as recorded, so is everything else of the render side. Re-recording visits what ``rerecorded.py``
decides on (``_render_visits``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from ..policies import PassPolicy, PoolPolicy
from .kinds import is_kind
from .program import LogicalProgram
from .render import RenderProgram

_ALWAYS_PLACED = (Kind.DEVICE, Kind.SHADER_MODULE, Kind.BIND_GROUP_LAYOUT, Kind.PIPELINE_LAYOUT,
                  Kind.COMPUTE_PIPELINE, Kind.BIND_GROUP, Kind.READ, Kind.OPAQUE, Kind.TEXTURE_CREATE,
                  Kind.TEXTURE_VIEW, Kind.SAMPLER, Kind.QUERY_SET_CREATE, Kind.RENDER_PIPELINE)
# format 1.1's kinds: as recorded, numpy places every one of them
_RENDER_KINDS = tuple(k for k in Kind if k >= Kind.TEXTURE_CREATE)
# what a re-recording loop visits on the render side, beside the commands (render passes: their end)
_RENDER_VISITS = (Kind.WRITE_TEXTURE, Kind.READ_TEXTURE)
_BUNDLE_KINDS = (Kind.BUNDLE_ENCODER_CREATE, Kind.BUNDLE_FINISH, Kind.SET_PIPELINE, Kind.SET_BIND_GROUP,
                 Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT,
                 Kind.DRAW_INDEXED_INDIRECT, Kind.DEBUG_MARKER)
_RECORDED_STRUCTURE = (Kind.ENCODER_CREATE, Kind.ENCODER_FINISH, Kind.PASS_BEGIN, Kind.PASS_END,
                       Kind.SET_PIPELINE, Kind.SET_BIND_GROUP)
_COMMANDS = (Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.COPY, Kind.CLEAR)


@dataclass(eq=False)
class Schedule:
    """The plan's work split between numpy and the loop.

    ``placed``: source events copied as they are. ``visits``: the events the loop visits, in order;
    ``acts[j]``: whether the loop acts on ``visits[j]`` itself, or only on the window it closes
    (as-recorded pools). ``free_at[j]``: the event after which allocation ``free_buffer[j]`` gives
    its storage back, in that order, then ``n`` (a sentinel: no loop reads past it).
    """

    placed: np.ndarray
    visits: list[int]
    acts: list[bool]
    free_at: list[int]
    free_buffer: list[int]


def schedule(trace: Trace, program: LogicalProgram, pooled: np.ndarray, pool: PoolPolicy,
             passes: PassPolicy) -> Schedule:
    """The schedule of ``trace`` under these policies; ``pooled`` marks the allocations the pools hold."""
    kind, a0 = trace.kind, trace.args[:, 0]
    buffer_kinds = is_kind(kind, [Kind.MAPPED_WRITE, Kind.UNMAP, Kind.BUFFER_DESTROY])
    on_pooled = np.zeros(len(trace), dtype=bool)
    on_pooled[buffer_kinds] = pooled[a0[buffer_kinds]]
    placed = is_kind(kind, _ALWAYS_PLACED)
    keeps_ids = not pool.pooled and not passes.upload.staged
    if keeps_ids:
        placed |= kind == Kind.BUFFER_CREATE
    if passes.records:
        visit, closes = _recorded_visits(trace, program, on_pooled, placed, keeps_ids, pool.pooled)
    else:
        visit, closes = _rerecorded_visits(trace, program, on_pooled, placed, keeps_ids, passes.honours_submits)
    act = visit.copy()
    visit[closes] = True
    visits = np.flatnonzero(visit)
    free_at, free_buffer = _frees(program, pooled)
    return Schedule(np.flatnonzero(placed), visits.tolist(), act[visits].tolist(), free_at, free_buffer)


def _recorded_visits(trace: Trace, program: LogicalProgram, on_pooled: np.ndarray, placed: np.ndarray,
                     keeps_ids: bool, pooled: bool) -> tuple[np.ndarray, np.ndarray]:
    """The program's own encoders and submits: the loop visits buffer creations and destroys, and
    (pools only) the events that close a window. Adds what numpy places to ``placed``."""
    kind = trace.kind
    placed |= is_kind(kind, (*_RECORDED_STRUCTURE, *_COMMANDS, Kind.SUBMIT, Kind.WRITE_BUFFER, Kind.QUEUE_READ,
                             Kind.MAP, *_RENDER_KINDS))
    placed |= (kind == Kind.MAPPED_WRITE) | ((kind == Kind.UNMAP) & ~on_pooled)
    visit = (kind == Kind.BUFFER_CREATE) | ((kind == Kind.BUFFER_DESTROY) & ~on_pooled)
    if keeps_ids:
        placed |= visit
        visit[:] = False
    window_open = program.window_open
    closes = np.flatnonzero(window_open[:-1] & ~window_open[1:]) + 1 if pooled else np.zeros(0, dtype=np.int64)
    return visit, closes


def _rerecorded_visits(trace: Trace, program: LogicalProgram, on_pooled: np.ndarray, placed: np.ndarray,
                       keeps_ids: bool, honours_submits: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every submitted command re-recorded: the loop visits those, buffer creations, queue writes and
    reads, maps, the destroys it must order, and (when honoured) submits. Adds to ``placed``."""
    kind = trace.kind
    placed |= is_kind(kind, [Kind.MAPPED_WRITE, Kind.UNMAP]) & ~on_pooled
    explicit = (kind == Kind.BUFFER_DESTROY) & (program.a1_array == 0)
    destroy = (kind == Kind.BUFFER_DESTROY) & ~on_pooled
    if keeps_ids:
        placed |= destroy & ~explicit
    visit = is_kind(kind, [Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.QUEUE_READ, Kind.MAP])
    visit |= (kind == Kind.MAPPED_WRITE) & on_pooled
    visit |= destroy & ~placed
    if honours_submits:
        visit |= kind == Kind.SUBMIT
    runs = program.cmd_submit_array < program.n
    render = program.render
    if render is not None:
        _render_visits(trace, render, runs, program.cmd_event, placed, visit, on_pooled)
    visit[program.cmd_event[runs]] = True
    visit &= ~placed
    return visit, np.zeros(0, dtype=np.int64)


def _render_visits(trace: Trace, render: RenderProgram, runs: np.ndarray, cmd_event: np.ndarray,
                   placed: np.ndarray, visit: np.ndarray, on_pooled: np.ndarray) -> None:
    """Re-recording a trace with a render side: texture uploads and read-backs, explicit texture and query set
    destroys, write_timestamp calls that run, bundle encoders and everything recorded into them are visited;
    a render pass that runs is visited at its end (``runs`` then loses its commands). Texture and query set
    drops are placed. Debug markers on encoders and compute passes, and a compute pass's timestamp_writes,
    are left out: the passes they named are not the plan's."""
    kind, args = trace.kind, trace.args
    visit |= is_kind(kind, _RENDER_VISITS)
    destroys = is_kind(kind, (Kind.TEXTURE_DESTROY, Kind.QUERY_SET_DESTROY))
    visit |= destroys & (args[:, 1] == 0)
    placed |= destroys & (args[:, 1] != 0)
    if render.deferred:  # destroys inside a render pass that uses what they destroy go after it: visited
        deferred = np.array(sorted(render.deferred), dtype=np.int64)
        deferred = deferred[(kind[deferred] == Kind.TEXTURE_DESTROY) | ~on_pooled[deferred]]
        placed[deferred] = False
        visit[deferred] = True
    stamps = np.flatnonzero(kind == Kind.WRITE_TIMESTAMP)
    visit[stamps[render.encoder_submit[args[stamps, 0]] < len(trace)]] = True
    on_pass = render.event_pass >= 0
    bundle_pass = np.append(render.pass_kind == Kind.BUNDLE_ENCODER_CREATE, False)
    visit |= is_kind(kind, _BUNDLE_KINDS) & on_pass & bundle_pass[render.event_pass]
    in_render = np.append(render.pass_kind == Kind.RENDER_PASS_BEGIN, False)[render.event_pass]
    runs &= ~in_render[cmd_event]
    visit[render.submitted_ends] = True


def _frees(program: LogicalProgram, pooled: np.ndarray) -> tuple[list[int], list[int]]:
    """Events after which pooled allocations give their storage back, and the allocations, in that order."""
    ids = np.flatnonzero(pooled)
    at = program.freed_after()[ids]
    order = np.lexsort((ids, at))
    return at[order].tolist() + [program.n], ids[order].tolist()
