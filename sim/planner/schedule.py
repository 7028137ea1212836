"""Which events numpy places as they are, which the planner's loop visits, and when allocations end.

Events that need no decision under the chosen policies (shader modules, bind groups, and under
``as-recorded`` every command) are placed by numpy; the Python loop visits only the rest, so a
policy pays per event only for the events it decides on. Frees need no visit of their own: the
loop gives storage back, in order, before it handles the next event it visits, as the time of the
event each free follows (nothing a free depends on changes between visits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from ..policies import PassPolicy, PoolPolicy
from .kinds import is_kind
from .program import LogicalProgram

_ALWAYS_PLACED = (Kind.DEVICE, Kind.SHADER_MODULE, Kind.BIND_GROUP_LAYOUT, Kind.PIPELINE_LAYOUT,
                  Kind.COMPUTE_PIPELINE, Kind.BIND_GROUP, Kind.READ, Kind.OPAQUE)
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
                             Kind.MAP))
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
    explicit = (kind == Kind.BUFFER_DESTROY) & (trace.args[:, 1] == 0)
    destroy = (kind == Kind.BUFFER_DESTROY) & ~on_pooled
    if keeps_ids:
        placed |= destroy & ~explicit
    visit = is_kind(kind, [Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.QUEUE_READ, Kind.MAP])
    visit |= (kind == Kind.MAPPED_WRITE) & on_pooled
    visit |= destroy & ~placed
    if honours_submits:
        visit |= kind == Kind.SUBMIT
    runs = np.array(program.cmd_submit, dtype=np.int64) < program.n
    visit[program.cmd_event[runs]] = True
    visit &= ~placed
    return visit, np.zeros(0, dtype=np.int64)


def _frees(program: LogicalProgram, pooled: np.ndarray) -> tuple[list[int], list[int]]:
    """Events after which pooled allocations give their storage back, and the allocations, in that order."""
    ids = np.flatnonzero(pooled)
    fd, lu = program.first_destroy[ids], program.last_use[ids]
    at = np.where(fd >= 0, np.maximum(fd, lu), np.where(lu >= 0, lu, program.creates[ids]))
    order = np.lexsort((ids, at))
    return at[order].tolist() + [program.n], ids[order].tolist()
