"""Which bytes each recorded command touches, and how: the footprint table.

A dispatch uses every range bound (through the bind groups set in its pass, at the group indices
its pipeline uses) with the access its layout declares; an indirect dispatch also reads its 12
argument bytes; a copy reads its source and writes its destination; a clear writes its range.
The checker, the planner and the simulator all read commands through this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ..traces import Kind, Trace

INDIRECT_ARGS_BYTES = 12


class Use(IntEnum):
    """The role a byte range plays in a command; 1-3 equal traces' Access codes."""

    UNKNOWN = 0
    UNIFORM = 1
    READ_ONLY_STORAGE = 2
    STORAGE = 3
    INDIRECT = 4
    COPY_SRC = 5
    COPY_DST = 6
    CLEAR = 7


_READS = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
_WRITES = np.array([1, 0, 0, 1, 0, 0, 1, 1], dtype=bool)


@dataclass(eq=False)
class Footprints:
    """One row per (command, byte range), sorted by command event index.

    ``slot`` is ``group * 65536 + binding`` for a dispatch binding and -1 otherwise.
    """

    command: np.ndarray
    encoder: np.ndarray
    buffer: np.ndarray
    start: np.ndarray
    end: np.ndarray
    use: np.ndarray
    slot: np.ndarray

    def __len__(self) -> int:
        return len(self.command)

    @property
    def reads(self) -> np.ndarray:
        return _READS[self.use]

    @property
    def writes(self) -> np.ndarray:
        return _WRITES[self.use]


@dataclass(eq=False)
class Commands:
    """Every recorded command (dispatch, indirect dispatch, copy, clear) and where it was recorded.

    ``pipeline`` is the pipeline a dispatch ran (-1 for copies, clears, and dispatches with none set).
    """

    event: np.ndarray
    encoder: np.ndarray
    compute_pass: np.ndarray
    pipeline: np.ndarray


def pass_encoders(trace: Trace) -> np.ndarray:
    """Encoder of each compute pass, indexed by pass id."""
    return trace.args[trace.where(Kind.PASS_BEGIN), 1]


def commands_and_footprints(trace: Trace) -> tuple[Commands, Footprints]:
    """Resolve pass state (pipeline, bound groups) and list every command's byte ranges."""
    args, rows = trace.args, trace.rows
    enc_of_pass = pass_encoders(trace)
    pipeline_groups = [np.unique(trace.rows_of(int(i))[:, 0]).tolist()
                       for i in trace.where(Kind.COMPUTE_PIPELINE)]
    bg_events = trace.where(Kind.BIND_GROUP)
    bg_first_row = trace.row_start[bg_events]
    bg_nrows = trace.nrows[bg_events].astype(np.int64)

    dispatch_events, pipes, pair_cmd, pair_bg, pair_group, pair_set = _bound_state(trace, pipeline_groups)
    counts = bg_nrows[pair_bg]
    first = np.cumsum(counts) - counts
    row_ids = np.repeat(bg_first_row[pair_bg] - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
    bind_rows = rows[row_ids]
    extra = np.zeros(len(row_ids), dtype=np.int64)
    for pair in np.flatnonzero(trace.nrows[pair_set] > 0).tolist():
        _apply_dynamic_offsets(trace, int(bg_events[pair_bg[pair]]), trace.rows_of(int(pair_set[pair]))[:, 0],
                               extra[first[pair]:first[pair] + counts[pair]])
    bind_cmd = np.repeat(pair_cmd, counts)
    bind_start = bind_rows[:, 2] + extra

    dispatch_pass = args[dispatch_events, 0] if len(dispatch_events) else np.zeros(0, np.int64)
    indirect = trace.where(Kind.DISPATCH_INDIRECT)
    copies = trace.where(Kind.COPY)
    clears = trace.where(Kind.CLEAR)

    parts = [
        (bind_cmd, bind_rows[:, 1], bind_start, bind_start + bind_rows[:, 3], bind_rows[:, 4],
         np.repeat(pair_group, counts) * 65536 + bind_rows[:, 0]),
        (indirect, args[indirect, 1], args[indirect, 2], args[indirect, 2] + INDIRECT_ARGS_BYTES,
         np.full(len(indirect), Use.INDIRECT), np.full(len(indirect), -1)),
        (copies, args[copies, 1], args[copies, 2], args[copies, 2] + args[copies, 5],
         np.full(len(copies), Use.COPY_SRC), np.full(len(copies), -1)),
        (copies, args[copies, 3], args[copies, 4], args[copies, 4] + args[copies, 5],
         np.full(len(copies), Use.COPY_DST), np.full(len(copies), -1)),
        (clears, args[clears, 1], args[clears, 2], args[clears, 2] + args[clears, 3],
         np.full(len(clears), Use.CLEAR), np.full(len(clears), -1)),
    ]
    cols = [np.concatenate([np.asarray(p[j], dtype=np.int64) for p in parts]) for j in range(6)]
    order = np.argsort(cols[0], kind="stable")
    cmd = cols[0][order]

    enc_of_event = np.full(len(trace), -1, dtype=np.int64)
    enc_of_event[dispatch_events] = enc_of_pass[dispatch_pass]
    enc_of_event[copies] = args[copies, 0]
    enc_of_event[clears] = args[clears, 0]
    footprints = Footprints(command=cmd, encoder=enc_of_event[cmd], buffer=cols[1][order], start=cols[2][order],
                            end=cols[3][order], use=cols[4][order], slot=cols[5][order])

    all_cmds = np.concatenate([dispatch_events, copies, clears])
    corder = np.argsort(all_cmds, kind="stable")
    events = all_cmds[corder]
    pass_col = np.concatenate([dispatch_pass, np.full(len(copies) + len(clears), -1, dtype=np.int64)])[corder]
    pipe_col = np.concatenate([pipes,
                               np.full(len(copies) + len(clears), -1, dtype=np.int64)])[corder]
    commands = Commands(event=events, encoder=enc_of_event[events], compute_pass=pass_col, pipeline=pipe_col)
    return commands, footprints


def _bound_state(trace: Trace, pipeline_groups: list[list[int]]) -> tuple[np.ndarray, ...]:
    """Per dispatch, the pipeline set before it in its pass, and per group the pipeline uses, the bind group set.

    Returns (dispatch events, their pipelines (-1 none), then one entry per (dispatch, bound group):
    dispatch event, bind group, group index, the set_bind_group event). Pass state is a forward fill
    over the pass's events in order, one numpy pass per group index instead of a loop over events.
    """
    args = trace.args
    sel = trace.where(Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT)
    order = sel[np.argsort(args[sel, 0], kind="stable")]
    kind, pass_id = trace.kind[order], args[order, 0]
    is_dispatch = (kind == Kind.DISPATCH) | (kind == Kind.DISPATCH_INDIRECT)
    positions = np.arange(len(order))

    def last_before(mask: np.ndarray) -> np.ndarray:
        """For each dispatch, the position of the latest ``mask`` row of its own pass before it, or -1."""
        last = np.maximum.accumulate(np.where(mask, positions, -1)) if len(order) else positions
        last = last[is_dispatch]
        ok = last >= 0
        ok[ok] = pass_id[last[ok]] == pass_id[is_dispatch][ok]
        return np.where(ok, last, -1)

    set_pipe = last_before(kind == Kind.SET_PIPELINE)
    dispatch_order = order[is_dispatch]
    pipes = np.where(set_pipe >= 0, args[order[set_pipe], 1], -1)
    n_groups = max((max(g) + 1 for g in pipeline_groups if g), default=0)
    uses = np.zeros((len(pipeline_groups) + 1, n_groups), dtype=bool)  # row -1: no pipeline
    for pipe, groups in enumerate(pipeline_groups):
        uses[pipe, groups] = True
    is_set_group = kind == Kind.SET_BIND_GROUP
    parts = []
    for g in range(n_groups):
        bound = last_before(is_set_group & (args[order, 1] == g))
        take = (bound >= 0) & uses[pipes, g]
        set_events = order[bound[take]]
        parts.append((dispatch_order[take], args[set_events, 2], np.full(int(take.sum()), g), set_events))
    cols = [np.concatenate([p[j] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
            for j in range(4)]
    by_event = np.argsort(dispatch_order, kind="stable")
    pair_order = np.argsort(cols[0], kind="stable")
    return (dispatch_order[by_event], pipes[by_event], *(c[pair_order] for c in cols))


def _apply_dynamic_offsets(trace: Trace, bind_group_event: int, offsets: np.ndarray, out: np.ndarray) -> None:
    """Dynamic offsets apply, in binding order, to the entries its explicit layout marks dynamic."""
    layout = int(trace.args[bind_group_event, 1])
    if layout < 0:
        return
    layout_rows = trace.rows_of(int(trace.where(Kind.BIND_GROUP_LAYOUT)[layout]))
    dynamic_bindings = sorted(int(r[0]) for r in layout_rows if r[2])
    entries = trace.rows_of(bind_group_event)[:, 0]
    for binding, offset in zip(dynamic_bindings, offsets.tolist(), strict=False):
        out[entries == binding] = offset
