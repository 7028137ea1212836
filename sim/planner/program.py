"""The logical program of a trace: what every policy's plan is planned from, lifted once per trace.

Every buffer is a logical allocation, alive from its creation to its destroy, or to its last use
when the program never destroys it or still uses it (through a bind group) after dropping it;
every command has its byte footprint (sim/footprint.py), the source submit that ran it, and the
pass state it needs. The lift is numpy throughout and cached on the trace, so planning one trace
under many policies pays for it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...traces import Kind, Trace
from ...traces.schema import Access
from ..footprint import Commands, Footprints, commands_and_footprints
from ..footprint.table import columns_of, gather
from .kinds import events_of
from .render import RenderProgram, has_render

BUFFER_BINDINGS = np.array([Access.NONE, Access.UNIFORM, Access.READ_ONLY_STORAGE, Access.STORAGE], dtype=np.int64)


@dataclass(eq=False)
class LogicalProgram:
    """The logical program of a trace, as the planner reads it.

    Per buffer: size, usage, created mapped, first destroy and last use (-1: none), whether a queue
    write or mapped write fills it, whether it is read while mapped, and the last use by a command
    the program submits. Per command (dispatches, indirect dispatches, copies, clears, numbered in
    program order): its event, the source submit that ran it (n: never), its footprint rows
    ``fp_lo[c]:fp_hi[c]`` of ``fp_buffer``, its pipeline and the set calls of its pass state
    (``group_set_array[g, c]``: the set_bind_group of index g in force, -1 if none), and per
    set_bind_group event its bind key (``bind_key_array``, -1 for other events: equal keys bind the
    same group with the same dynamic offsets). Per event: its kind and first three arguments as int64
    arrays (``kind_array``, ``a0_array``..), and as lists made when a Python loop first asks
    (``kinds``, ``a0``..; the C loops read the arrays); the per-command columns, ``fp_buffer``,
    ``group_set`` and ``bind_key`` likewise.
    Per event, under the recorded passes: whether an encoder holding submitted-to-be commands is
    open after it (``window_open``) and since when (``window_start``).
    ``render``: the render side (render passes, bundles, textures; ``render.py``), None for a trace
    of format 1.0's vocabulary. Footprint rows on textures (resources ``n_buffers + texture``) count
    in ``fp_buffer`` (the re-recording loop tracks them as it tracks buffers), never in a buffer's
    lifetime; a use inside a render pass counts, for lifetimes, as of the pass's end.
    """

    n: int
    kind_array: np.ndarray
    a0_array: np.ndarray
    a1_array: np.ndarray
    a2_array: np.ndarray
    n_devices: int
    creates: np.ndarray
    size: np.ndarray
    usage: np.ndarray
    mapped: np.ndarray
    first_destroy: np.ndarray
    last_use: np.ndarray
    last_command_use: np.ndarray
    uploaded: np.ndarray
    read_mapped: np.ndarray
    cmd_event: np.ndarray
    cmd_submit_array: np.ndarray
    fp_lo_array: np.ndarray
    fp_hi_array: np.ndarray
    fp_buffer_array: np.ndarray
    pipeline_array: np.ndarray
    pipeline_set_array: np.ndarray
    group_set_array: np.ndarray
    bind_key_array: np.ndarray
    window_open: np.ndarray
    window_start: np.ndarray
    render: RenderProgram | None = None

    @cached_property
    def kinds(self) -> list[int]:
        """Per event, its kind, as a list (what the Python loops index; the C loops read ``kind_array``)."""
        return self.kind_array.tolist()

    @cached_property
    def a0(self) -> list[int]:
        """Per event, its first argument, as a list (``a0_array``)."""
        return self.a0_array.tolist()

    @cached_property
    def a1(self) -> list[int]:
        return self.a1_array.tolist()

    @cached_property
    def a2(self) -> list[int]:
        return self.a2_array.tolist()

    @cached_property
    def cmd_submit(self) -> list[int]:
        """Per command, the source submit that ran it, as a list (``cmd_submit_array``); so the five below."""
        return self.cmd_submit_array.tolist()

    @cached_property
    def fp_lo(self) -> list[int]:
        return self.fp_lo_array.tolist()

    @cached_property
    def fp_hi(self) -> list[int]:
        return self.fp_hi_array.tolist()

    @cached_property
    def fp_buffer(self) -> list[int]:
        return self.fp_buffer_array.tolist()

    @cached_property
    def pipeline(self) -> list[int]:
        return self.pipeline_array.tolist()

    @cached_property
    def pipeline_set(self) -> list[int]:
        return self.pipeline_set_array.tolist()

    @cached_property
    def group_set(self) -> list[list[int]]:
        return self.group_set_array.tolist()

    @cached_property
    def bind_key(self) -> list[int]:
        return self.bind_key_array.tolist()

    @classmethod
    def of(cls, trace: Trace) -> LogicalProgram:
        """The lifted program of ``trace``, cached on it: every policy reads the same one."""
        cached = trace._cache.get("sim.program")
        if cached is None:
            cached = trace._cache["sim.program"] = cls._lift(trace)
        return cached

    def freed_after(self) -> np.ndarray:
        """Per buffer, the event after which a pool that knows every lifetime takes its storage back: its
        first destroy or its last use, whichever is later (its creation when nothing uses it). The
        planner frees pooled allocations there, and the memory floor (``sim/metrics/floor.py``) counts
        every allocation live up to there: one rule for both."""
        fd, lu = self.first_destroy, self.last_use
        return np.where(fd >= 0, np.maximum(fd, lu), np.where(lu >= 0, lu, self.creates))

    @classmethod
    def _lift(cls, trace: Trace) -> LogicalProgram:
        n, args = len(trace), trace.args
        a0, a1, a2 = (np.asarray(c) for c in columns_of(args)[:3])
        creates = events_of(trace, Kind.BUFFER_CREATE)
        commands, fp = commands_and_footprints(trace)
        render = None
        if has_render(trace):
            cmd_submit, encoder_submit = _command_submits(trace, commands)
            render = RenderProgram.lift(trace, commands, fp, cmd_submit, encoder_submit)
        first_destroy, last_use = _lifetimes(trace, len(creates), fp, render)
        uploaded, read_mapped = _filled_and_read(trace, len(creates))
        cmd_submit, lo, hi, last_command_use, window_open, window_start = _submitted(trace, len(creates), commands, fp,
                                                                                     render is not None)
        pipeline, pipeline_set, group_set, bind_key = _pass_state(trace, commands, (a0, a1, a2))
        return cls(
            n=n, kind_array=trace.kind.astype(np.int64), a0_array=np.ascontiguousarray(a0, dtype=np.int64),
            a1_array=np.ascontiguousarray(a1, dtype=np.int64), a2_array=np.ascontiguousarray(a2, dtype=np.int64),
            n_devices=trace.count_kind(Kind.DEVICE), creates=creates, size=a1[creates], usage=a2[creates],
            mapped=gather(columns_of(args)[4], creates) != 0, first_destroy=first_destroy, last_use=last_use,
            last_command_use=last_command_use, uploaded=uploaded, read_mapped=read_mapped,
            cmd_event=commands.event, cmd_submit_array=_int64(cmd_submit), fp_lo_array=_int64(lo),
            fp_hi_array=_int64(hi), fp_buffer_array=_int64(fp.resource), pipeline_array=_int64(pipeline),
            pipeline_set_array=_int64(pipeline_set),
            group_set_array=group_set, bind_key_array=bind_key, window_open=window_open, window_start=window_start,
            render=render,
        )


def _int64(values: np.ndarray) -> np.ndarray:
    """``values`` as a contiguous int64 array, the form the C loops read in place."""
    return np.ascontiguousarray(values, dtype=np.int64)


def _lifetimes(trace: Trace, n_buffers: int, fp: Footprints,
               render: RenderProgram | None) -> tuple[np.ndarray, np.ndarray]:
    """Per buffer, its first destroy and its last use by any event, bind groups included (-1: none).

    With a render side: buffer rows only (not textures, views or samplers), set_vertex_buffer and
    set_index_buffer calls too, and uses inside a render pass as of the pass's end."""
    n, args = len(trace), trace.args
    destroys = events_of(trace, Kind.BUFFER_DESTROY)
    first_destroy = np.full(n_buffers, n, dtype=np.int64)
    np.minimum.at(first_destroy, args[destroys, 0], destroys)
    first_destroy[first_destroy == n] = -1

    direct = events_of(trace, Kind.WRITE_BUFFER, Kind.MAP, Kind.UNMAP, Kind.READ, Kind.MAPPED_WRITE, Kind.QUEUE_READ)
    bind_groups = events_of(trace, Kind.BIND_GROUP)
    bg_counts = trace.nrows[bind_groups]
    bg_rows = trace.row_ids(bind_groups)
    last_use = np.full(n_buffers, -1, dtype=np.int64)
    if render is None:
        np.maximum.at(last_use, np.concatenate([args[direct, 0], fp.resource, trace.rows[bg_rows, 1]]),
                      np.concatenate([direct, fp.command, np.repeat(bind_groups, bg_counts)]))
        return first_destroy, last_use
    on_buffer = fp.resource < n_buffers
    bg_events = np.repeat(bind_groups, bg_counts)
    bg_buffer = np.isin(trace.rows[bg_rows, 4], BUFFER_BINDINGS)
    vertex, index = events_of(trace, Kind.SET_VERTEX_BUFFER), events_of(trace, Kind.SET_INDEX_BUFFER)
    effective = render.effective
    np.maximum.at(last_use, np.concatenate([args[direct, 0], fp.resource[on_buffer], trace.rows[bg_rows[bg_buffer], 1],
                                            args[vertex, 2], args[index, 1]]),
                  np.concatenate([direct, effective[fp.command[on_buffer]], bg_events[bg_buffer], effective[vertex],
                                  effective[index]]))
    return first_destroy, last_use


def _filled_and_read(trace: Trace, n_buffers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per buffer, whether a queue write or mapped write fills it, and whether it is read while mapped."""
    args = trace.args
    uploaded = np.zeros(n_buffers, dtype=bool)
    uploaded[args[events_of(trace, Kind.WRITE_BUFFER, Kind.MAPPED_WRITE), 0]] = True
    read_mapped = np.zeros(n_buffers, dtype=bool)
    read_mapped[args[events_of(trace, Kind.READ, Kind.MAP), 0]] = True
    return uploaded, read_mapped


def _command_submits(trace: Trace, commands: Commands) -> tuple[np.ndarray, np.ndarray]:
    """Per command, the source submit that ran it (n: never); per encoder, its first submit (n: never)."""
    n = len(trace)
    submits = events_of(trace, Kind.SUBMIT)
    n_encoders = trace.count_kind(Kind.ENCODER_CREATE)
    encoder_submit = np.full(n_encoders, n, dtype=np.int64)
    np.minimum.at(encoder_submit, trace.rows[trace.row_ids(submits), 0], np.repeat(submits, trace.nrows[submits]))
    return encoder_submit[commands.encoder], encoder_submit


def _submitted(trace: Trace, n_buffers: int, commands: Commands, fp: Footprints,
               textures: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per command, the submit that ran it and its footprint rows; per buffer, its last use by a command
    that runs (``textures``: footprint rows on textures left out); per event, the recorded window (see
    ``LogicalProgram``)."""
    n = len(trace)
    cmd_submit, encoder_submit = _command_submits(trace, commands)
    n_encoders = len(encoder_submit)

    lo = np.searchsorted(fp.command, commands.event, side="left")
    hi = np.searchsorted(fp.command, commands.event, side="right")
    runs = cmd_submit < n
    fp_runs = np.repeat(runs, hi - lo)
    if textures:
        fp_runs &= fp.resource < n_buffers
    last_command_use = np.full(n_buffers, -1, dtype=np.int64)
    np.maximum.at(last_command_use, fp.resource[fp_runs], fp.command[fp_runs])
    window_open, window_start = _windows(n, n_encoders, commands.event[runs], commands.encoder[runs], encoder_submit)
    return cmd_submit, lo, hi, last_command_use, window_open, window_start


def _pass_state(trace: Trace, commands: Commands,
                wide: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per command, its pipeline and the set_pipeline / set_bind_group calls in force (one row per group index);
    the bind keys. ``wide``: the trace's first three argument columns, widened (a narrow column's gather searches
    its kept-aside values)."""
    a0, a1, a2 = wide
    n, events, passes = len(trace), commands.event, commands.compute_pass
    pipeline_sets = events_of(trace, Kind.SET_PIPELINE)
    pipeline_set = _last_set(pipeline_sets, a0[pipeline_sets], events, passes, n)
    pipeline = np.where(pipeline_set >= 0, a1[np.maximum(pipeline_set, 0)], -1)
    sets = events_of(trace, Kind.SET_BIND_GROUP)
    group, set_pass = a1[sets], a0[sets]
    n_groups = int(group.max()) + 1 if len(sets) else 0
    group_set = np.empty((n_groups, len(events)), dtype=np.int64)
    for g in range(n_groups):
        group_set[g] = _last_set(sets[group == g], set_pass[group == g], events, passes, n)
    return pipeline, pipeline_set, group_set, _bind_keys(trace, sets, a2[sets])


def _windows(n: int, n_encoders: int, events: np.ndarray, encoders: np.ndarray,
             encoder_submit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether, after each event, some encoder holds a command it will submit later; and since when.

    An encoder is open from its first such command to its submit; windows are unions of these.
    """
    first = np.full(n_encoders, n, dtype=np.int64)
    np.minimum.at(first, encoders, events)
    used = np.flatnonzero(first < n)
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, first[used], 1)
    np.add.at(delta, encoder_submit[used], -1)
    is_open = np.cumsum(delta[:n]) > 0
    began = is_open & ~np.concatenate([[False], is_open[:-1]])
    start = np.maximum.accumulate(np.where(began, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    return is_open, start


def _last_set(sets: np.ndarray, set_pass: np.ndarray, events: np.ndarray, passes: np.ndarray, n: int) -> np.ndarray:
    """For each command, the last of the set calls ``sets`` (made in passes ``set_pass``) in its pass before it; -1 if
    none. ``n``: the trace's length."""
    out = np.full(len(events), -1, dtype=np.int64)
    in_pass = passes >= 0
    if not len(sets) or not in_pass.any():
        return out
    stride = n + 1
    keys = set_pass * stride + sets
    order = np.argsort(keys, kind="stable")
    keys, sets = keys[order], sets[order]
    query = passes[in_pass] * stride + events[in_pass]
    j = np.searchsorted(keys, query) - 1
    hit = (j >= 0) & (keys[np.maximum(j, 0)] // stride == passes[in_pass])
    out[np.flatnonzero(in_pass)[hit]] = sets[j[hit]]
    return out


def _bind_keys(trace: Trace, sets: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per event, the key of a set_bind_group (``sets``, binding ``groups``; -1 for other events): equal keys bind
    the same group with the same dynamic offsets."""
    keys = np.full(len(trace), -1, dtype=np.int64)
    keys[sets] = groups
    distinct: dict[tuple, int] = {}
    base = trace.count_kind(Kind.BIND_GROUP)
    for s in sets[trace.nrows[sets] > 0].tolist():
        keys[s] = base + distinct.setdefault((int(keys[s]), *trace.rows_of(s)[:, 0].tolist()), len(distinct))
    return keys
