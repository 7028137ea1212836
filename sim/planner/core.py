"""The planner: a trace, a pool policy and a pass policy in; the physical program (a Plan) out.

First the trace is lifted to its logical program (``Program``, computed once per trace with numpy
and cached on it): every buffer is a logical allocation, alive from its creation to its destroy,
or to its last use when the program never destroys it or still uses it (through a bind group)
after dropping it; every command has its byte footprint (sim/footprint.py), the source submit
that ran it, and the pass state it needs. Then the physical program is emitted in program order:

- Pool: a pooled allocation takes a slice of a page at its creation and gives it back at its end;
  a page is a BUFFER_CREATE (usage: the union the pooled buffers need), and a page the pool gives
  back is destroyed once no encoder holding commands is left unsubmitted. Buffers that can be
  mapped (MAP_READ / MAP_WRITE) are never pooled, nor is anything under ``exclusive``. A mapped
  write into a pooled buffer (created mapped) becomes an upload: pages are never mapped. Under a
  policy with ``separate_uniform_pool``, allocations with UNIFORM usage reserve from a second
  instance of its pools, so their pages never hold storage; under one with
  ``read_write_bindings``, read-only storage bindings of the other pooled buffers become
  read-write, layouts and WGSL included (``read_write_bindings`` below): no page is bound
  writable beside another usage in one dispatch (H2), as in CubeCL since #814.
- Passes: ``as-recorded`` keeps the program's encoders, passes and submits; the others re-record
  every submitted command (see passes.py). Commands of encoders the program never submits ran
  nothing: re-recording policies drop them.
- Events that need no decision under the chosen policies (shader modules, bind groups, and under
  ``as-recorded`` every command) are placed by numpy; the Python loop visits only the rest. Every
  buffer reference is emitted with its logical id and mapped to (page, slice offset + offset) in
  one numpy step at the end, bind group entries included.

Plan events carry the time of the source event being handled when they were emitted, the call
site of the source event they realise (inserted events: of the one that caused them), and
``origin`` -1 when a policy inserted them: a page, a staging buffer and its unmap, an encoder, a
pass, a forced submit, a page destroy. A re-emitted set_pipeline / set_bind_group names the
program's own set call; a staged upload's mapped write and copy both name the program's write.

``Allocations``: ``start`` is the plan index of the first event emitted once the allocation has its
storage (its page's creation when the reservation made one; under ``exclusive``, its buffer's
creation); ``end`` the first plan event after it gave its storage back (``exclusive``: its buffer's
first destroy; never destroyed: the plan's length). ``reserved`` counts the pool's padding.

``plan(trace, "as-recorded", "as-recorded")`` (``exclusive`` is the same pool) reproduces the
trace event for event. Every policy is deterministic: same trace, same policies, same plan.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

import numpy as np

from ...traces import BufferUsage, Kind, Trace
from ..footprint import commands_and_footprints
from ..plan import Allocations, Plan
from ..policies import Device, Exclusion, PassPolicy, PolicyError, PoolPolicy, parse_passes, parse_pool
from ..policies.pools import MemoryManagement
from .bindings import read_write_bindings

COPY_DST, COPY_SRC, MAP_WRITE, UNIFORM = (int(u) for u in (BufferUsage.COPY_DST, BufferUsage.COPY_SRC,
                                                         BufferUsage.MAP_WRITE, BufferUsage.UNIFORM))
MAPPABLE = int(BufferUsage.MAP_READ | BufferUsage.MAP_WRITE)

REC = 5  # loop record: source event to copy (or -1 - synthetic row), kind, a0, source event being handled, origin
SYN = 7  # synthetic row: a1..a5, nrows, row source (a source event, or -2 - index into the synthetic rows)
ROW = 5
_ALWAYS_PLACED = (Kind.DEVICE, Kind.SHADER_MODULE, Kind.BIND_GROUP_LAYOUT, Kind.PIPELINE_LAYOUT,
                  Kind.COMPUTE_PIPELINE, Kind.BIND_GROUP, Kind.READ, Kind.OPAQUE)
_RECORDED_STRUCTURE = (Kind.ENCODER_CREATE, Kind.ENCODER_FINISH, Kind.PASS_BEGIN, Kind.PASS_END,
                       Kind.SET_PIPELINE, Kind.SET_BIND_GROUP)
_COMMANDS = (Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.COPY, Kind.CLEAR)
# plain ints for the planner's loops: comparing with an IntEnum member costs an attribute lookup each time
CREATE, DESTROY, SET_PIPELINE, SET_BIND_GROUP, DISPATCH, DISPATCH_INDIRECT, COPY, CLEAR, WRITE_BUFFER, SUBMIT, MAP, \
    MAPPED_WRITE, QUEUE_READ = map(int, (Kind.BUFFER_CREATE, Kind.BUFFER_DESTROY, Kind.SET_PIPELINE,
                                         Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.COPY,
                                         Kind.CLEAR, Kind.WRITE_BUFFER, Kind.SUBMIT, Kind.MAP, Kind.MAPPED_WRITE,
                                         Kind.QUEUE_READ))


@dataclass(eq=False)
class Program:
    """The logical program of a trace, as the planner reads it.

    Per buffer: size, usage, created mapped, first destroy and last use (-1: none), whether a queue
    write or mapped write fills it, whether it is read while mapped, and the last use by a command
    the program submits. Per command (dispatches, indirect dispatches, copies, clears, numbered in
    program order): its event, the source submit that ran it (n: never), its footprint rows
    ``fp_lo[c]:fp_hi[c]`` of ``fp_buffer``, its pipeline and the set calls of its pass state
    (``group_set[g][c]``: the set_bind_group of index g in force, -1 if none). Flat lists of ints
    rather than per-command tuples: the garbage collector scans none of them.
    Per event, under the recorded passes: whether an encoder holding submitted-to-be commands is
    open after it (``window_open``) and since when (``window_start``).
    """

    n: int
    kinds: list[int]
    a0: list[int]
    a1: list[int]
    a2: list[int]
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
    cmd_submit: list[int]
    fp_lo: list[int]
    fp_hi: list[int]
    fp_buffer: list[int]
    pipeline: list[int]
    pipeline_set: list[int]
    group_set: list[list[int]]
    bind_key: dict[int, int]
    window_open: np.ndarray
    window_start: np.ndarray

    @classmethod
    def of(cls, trace: Trace) -> Program:
        """The lifted program of ``trace``, cached on it: every policy reads the same one."""
        cached = trace._cache.get("sim.program")
        if cached is None:
            cached = trace._cache["sim.program"] = cls._lift(trace)
        return cached

    @classmethod
    def _lift(cls, trace: Trace) -> Program:
        n, args = len(trace), trace.args
        creates = _of(trace, Kind.BUFFER_CREATE)
        n_buffers = len(creates)
        commands, fp = commands_and_footprints(trace)

        destroys = _of(trace, Kind.BUFFER_DESTROY)
        first_destroy = np.full(n_buffers, n, dtype=np.int64)
        np.minimum.at(first_destroy, args[destroys, 0], destroys)
        first_destroy[first_destroy == n] = -1

        direct = _of(trace, Kind.WRITE_BUFFER, Kind.MAP, Kind.UNMAP, Kind.READ, Kind.MAPPED_WRITE, Kind.QUEUE_READ)
        bind_groups = _of(trace, Kind.BIND_GROUP)
        bg_counts = trace.nrows[bind_groups]
        bg_rows = trace.row_ids(bind_groups)
        last_use = np.full(n_buffers, -1, dtype=np.int64)
        np.maximum.at(last_use, np.concatenate([args[direct, 0], fp.buffer, trace.rows[bg_rows, 1]]),
                      np.concatenate([direct, fp.command, np.repeat(bind_groups, bg_counts)]))

        uploaded = np.zeros(n_buffers, dtype=bool)
        uploaded[args[_of(trace, Kind.WRITE_BUFFER, Kind.MAPPED_WRITE), 0]] = True
        read_mapped = np.zeros(n_buffers, dtype=bool)
        read_mapped[args[_of(trace, Kind.READ, Kind.MAP), 0]] = True

        submits = _of(trace, Kind.SUBMIT)
        n_encoders = trace.count_kind(Kind.ENCODER_CREATE)
        encoder_submit = np.full(n_encoders, n, dtype=np.int64)
        sub_counts = trace.nrows[submits]
        sub_rows = trace.row_ids(submits)
        np.minimum.at(encoder_submit, trace.rows[sub_rows, 0], np.repeat(submits, sub_counts))
        cmd_submit = encoder_submit[commands.encoder]

        lo = np.searchsorted(fp.command, commands.event, side="left")
        hi = np.searchsorted(fp.command, commands.event, side="right")
        runs = cmd_submit < n
        fp_runs = np.repeat(runs, hi - lo)
        last_command_use = np.full(n_buffers, -1, dtype=np.int64)
        np.maximum.at(last_command_use, fp.buffer[fp_runs], fp.command[fp_runs])
        window_open, window_start = _windows(n, n_encoders, commands.event[runs], commands.encoder[runs],
                                             encoder_submit)

        passes = commands.compute_pass
        pipeline_set = _last_set(trace, Kind.SET_PIPELINE, None, commands.event, passes)
        pipeline = np.where(pipeline_set >= 0, args[np.maximum(pipeline_set, 0), 1], -1)
        sets = _of(trace, Kind.SET_BIND_GROUP)
        n_groups = int(args[sets, 1].max()) + 1 if len(sets) else 0
        group_set = [_last_set(trace, Kind.SET_BIND_GROUP, g, commands.event, passes).tolist() for g in range(n_groups)]

        return cls(
            n=n, kinds=trace.kind.tolist(), a0=args[:, 0].tolist(), a1=args[:, 1].tolist(), a2=args[:, 2].tolist(),
            n_devices=trace.count_kind(Kind.DEVICE), creates=creates, size=args[creates, 1], usage=args[creates, 2],
            mapped=args[creates, 4] != 0, first_destroy=first_destroy, last_use=last_use,
            last_command_use=last_command_use, uploaded=uploaded, read_mapped=read_mapped,
            cmd_event=commands.event, cmd_submit=cmd_submit.tolist(), fp_lo=lo.tolist(), fp_hi=hi.tolist(),
            fp_buffer=fp.buffer.tolist(), pipeline=pipeline.tolist(), pipeline_set=pipeline_set.tolist(),
            group_set=group_set, bind_key=_bind_keys(trace, sets), window_open=window_open,
            window_start=window_start,
        )


def _is(kind: np.ndarray, kinds) -> np.ndarray:
    """Mask of events whose kind is one of ``kinds`` (a table lookup: np.isin sorts every time)."""
    table = np.zeros(256, dtype=bool)
    table[np.asarray(kinds, dtype=np.int64)] = True
    return table[kind]


def _of(trace: Trace, *kinds: Kind) -> np.ndarray:
    """Indices of the events of these kinds, in program order."""
    return np.flatnonzero(_is(trace.kind, kinds))


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


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


def _last_set(trace: Trace, kind: Kind, group: int | None, events: np.ndarray, passes: np.ndarray) -> np.ndarray:
    """For each command, the last ``kind`` event (of bind group index ``group``) in its pass before it; -1 if none."""
    sets = _of(trace, kind)
    if group is not None:
        sets = sets[trace.args[sets, 1] == group]
    out = np.full(len(events), -1, dtype=np.int64)
    in_pass = passes >= 0
    if not len(sets) or not in_pass.any():
        return out
    stride = len(trace) + 1
    keys = trace.args[sets, 0] * stride + sets
    order = np.argsort(keys, kind="stable")
    keys, sets = keys[order], sets[order]
    query = passes[in_pass] * stride + events[in_pass]
    j = np.searchsorted(keys, query) - 1
    hit = (j >= 0) & (keys[np.maximum(j, 0)] // stride == passes[in_pass])
    out[np.flatnonzero(in_pass)[hit]] = sets[j[hit]]
    return out


def _bind_keys(trace: Trace, sets: np.ndarray) -> dict[int, int]:
    """A key per set_bind_group event: equal keys bind the same group with the same dynamic offsets."""
    keys = dict(zip(sets.tolist(), trace.args[sets, 2].tolist(), strict=True))
    distinct: dict[tuple, int] = {}
    base = trace.count_kind(Kind.BIND_GROUP)
    for s in sets[trace.nrows[sets] > 0].tolist():
        keys[s] = base + distinct.setdefault((keys[s], *trace.rows_of(s)[:, 0].tolist()), len(distinct))
    return keys


def plan(trace: Trace, pool: str | PoolPolicy = "as-recorded", passes: str | PassPolicy = "as-recorded", *,
         limits: dict | None = None) -> Plan:
    """The physical program of ``trace`` under a pool policy and a pass policy (names: see pools, passes).

    ``limits`` lays the pages out for another device than the recording's (its offset alignments
    and binding sizes, as wgpu-py names them); the plan's header then carries them, so the checker
    judges the plan against the device it is meant for.
    """
    pool_policy, pass_policy = parse_pool(pool), parse_passes(passes)
    program = Program.of(trace)
    if program.n_devices > 1 and (pool_policy.pooled or not pass_policy.records):
        raise PolicyError(f"the trace uses {program.n_devices} devices; only exclusive x as-recorded plans "
                          f"more than one")
    return _Planner(trace, program, pool_policy, pass_policy, limits).run()


class _Planner:
    """One plan's emission state; also the Storage its pools take pages from."""

    def __init__(self, trace: Trace, program: Program, pool: PoolPolicy, passes: PassPolicy, limits: dict | None):
        self.trace, self.program, self.pool, self.passes, self.limits = trace, program, pool, passes, limits
        self.pooled = np.zeros(len(program.size), dtype=bool)
        if pool.pooled:
            self.pooled = ((program.usage & MAPPABLE) == 0) & ~(program.mapped & program.read_mapped)
        self.page_usage = (int(np.bitwise_or.reduce(program.usage[self.pooled])) | COPY_SRC | COPY_DST
                           if self.pooled.any() else 0)
        self.pooled_flags, self.uploaded, self.sizes = (
            self.pooled.tolist(), program.uploaded.tolist(), program.size.tolist())
        self.out = array("q")
        self.syn = array("q")
        self.syn_rows = array("q")
        self.phys = list(range(len(program.size)))
        self.offset = [0] * len(program.size)
        self.reserved = program.size.tolist()
        # per pooled allocation: the loop record count and source event when it got and gave back storage
        n_buffers = len(program.size)
        self.start_mark = ([-1] * n_buffers, [0] * n_buffers)
        self.end_mark = ([-1] * n_buffers, [0] * n_buffers)
        self.next_buffer = 0
        self.cur = 0
        self.window_open = False
        self.pending_destroys: list[int] = []
        # per allocation, the pools it reserves from: uniforms apart where the policy keeps them apart
        uniform = (program.usage & UNIFORM) != 0
        self.managers: list[MemoryManagement] = []
        if pool.pooled:
            device = Device.from_limits(limits if limits is not None else trace.limits)
            storage_pools = pool.manager(device, self)
            uniform_pools = pool.manager(device, self) if pool.separate_uniform_pool else storage_pools
            self.managers = [uniform_pools if u else storage_pools for u in uniform.tolist()]
        # pooled buffers whose read-only storage bindings the plan makes read-write (see read_write_bindings)
        self.read_write = self.pooled & ~uniform if pool.read_write_bindings else None

    def alloc(self, size: int) -> int:
        page = self.next_buffer
        self.next_buffer += 1
        self.synth(Kind.BUFFER_CREATE, page, (size, self.page_usage, -1, 0, 0), -1)
        return page

    def dealloc(self, page: int) -> None:
        if self.window_open:
            self.pending_destroys.append(page)
        else:
            self.synth(Kind.BUFFER_DESTROY, page, (1, 0, 0, 0, 0), -1)

    def synth(self, kind: int, a0: int, rest: tuple[int, int, int, int, int], origin: int, nrows: int = 0,
              rowsrc: int = -1) -> None:
        """Emit an event that copies no source event."""
        self.out.extend((-1 - len(self.syn) // SYN, kind, a0, self.cur, origin))
        self.syn.extend(rest)
        self.syn.extend((nrows, rowsrc))

    def create(self, i: int, b: int, exclusion: Exclusion | None) -> None:
        """Buffer creation at source event ``i``: a pooled allocation reserves its slice (avoiding what
        ``exclusion`` holds when a queue write will fill it); any other buffer is created as recorded."""
        if self.pooled_flags[b]:
            self.start_mark[0][b], self.start_mark[1][b] = len(self.out) // REC, i
            self.phys[b], self.offset[b], self.reserved[b] = self.managers[b].reserve(
                self.sizes[b], exclusion if self.uploaded[b] else None)
        else:
            self.phys[b] = self.next_buffer
            self.next_buffer += 1
            self.out.extend((i, CREATE, self.phys[b], i, i))

    def close_window(self) -> None:
        """No encoder holding commands is left unsubmitted: pages given back can go now."""
        self.window_open = False
        for page in self.pending_destroys:
            self.synth(Kind.BUFFER_DESTROY, page, (1, 0, 0, 0, 0), -1)
        self.pending_destroys = []

    def run(self) -> Plan:
        placed, visits, acts, frees = self._schedule()
        if self.passes.records:
            self._run_recorded(visits, acts, frees)
        else:
            self._run_rerecorded(visits, frees)
        return self._assemble(placed)

    def _schedule(self) -> tuple[np.ndarray, list[int], list[bool], tuple[list[int], list[int]]]:
        """Which events numpy places as they are; which the loop visits, and whether to act on the event
        itself or only on the window it closes; after which events allocations end.

        Frees need no visit of their own: the loop gives storage back, in order, before it handles
        the next event it visits, as the time of the event each free follows (nothing a free depends
        on changes between visits)."""
        p, trace = self.program, self.trace
        kind, a0 = trace.kind, trace.args[:, 0]
        buffer_kinds = _is(kind, [Kind.MAPPED_WRITE, Kind.UNMAP, Kind.BUFFER_DESTROY])
        on_pooled = np.zeros(len(trace), dtype=bool)
        on_pooled[buffer_kinds] = self.pooled[a0[buffer_kinds]]
        placed = _is(kind, _ALWAYS_PLACED)
        keeps_ids = not self.pool.pooled and not self.passes.upload.staged
        if keeps_ids:
            placed |= kind == Kind.BUFFER_CREATE
        if self.passes.records:
            placed |= _is(kind, (*_RECORDED_STRUCTURE, *_COMMANDS, Kind.SUBMIT, Kind.WRITE_BUFFER,
                                     Kind.QUEUE_READ, Kind.MAP))
            placed |= (kind == Kind.MAPPED_WRITE) | ((kind == Kind.UNMAP) & ~on_pooled)
            visit = (kind == Kind.BUFFER_CREATE) | ((kind == Kind.BUFFER_DESTROY) & ~on_pooled)
            if keeps_ids:
                placed |= visit
                visit[:] = False
            closes = np.flatnonzero(p.window_open[:-1] & ~p.window_open[1:]) + 1 if self.pool.pooled else []
        else:
            placed |= _is(kind, [Kind.MAPPED_WRITE, Kind.UNMAP]) & ~on_pooled
            explicit = (kind == Kind.BUFFER_DESTROY) & (trace.args[:, 1] == 0)
            destroy = (kind == Kind.BUFFER_DESTROY) & ~on_pooled
            if keeps_ids:
                placed |= destroy & ~explicit
            visit = _is(kind, [Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.QUEUE_READ, Kind.MAP])
            visit |= (kind == Kind.MAPPED_WRITE) & on_pooled
            visit |= destroy & ~placed
            if self.passes.honours_submits:
                visit |= kind == Kind.SUBMIT
            runs = np.array(p.cmd_submit, dtype=np.int64) < p.n
            visit[p.cmd_event[runs]] = True
            visit &= ~placed
            closes = []
        act = visit.copy()
        visit[closes] = True
        visits = np.flatnonzero(visit)
        return np.flatnonzero(placed), visits.tolist(), act[visits].tolist(), self._frees()

    def _frees(self) -> tuple[list[int], list[int]]:
        """Events after which pooled allocations give their storage back, and the allocations, in that order."""
        p = self.program
        ids = np.flatnonzero(self.pooled)
        fd, lu = p.first_destroy[ids], p.last_use[ids]
        at = np.where(fd >= 0, np.maximum(fd, lu), np.where(lu >= 0, lu, p.creates[ids]))
        order = np.lexsort((ids, at))
        return at[order].tolist() + [p.n], ids[order].tolist()

    def _run_recorded(self, visits: list[int], acts: list[bool], frees: tuple[list[int], list[int]]) -> None:
        """The program's own encoders and submits: only buffer creations, destroys and frees need the loop."""
        if not visits and not frees[1]:
            return
        p = self.program
        n, kinds, a0 = p.n, p.kinds, p.a0
        out, phys, offset = self.out, self.phys, self.offset
        managers, fix, create, sizes = self.managers, self.pool.fix, self.create, self.sizes
        exclusion = Exclusion(fix == "range") if self.pool.pooled and fix else None
        window_open, window_start = p.window_open.tolist(), p.window_start.tolist()
        last_command_use = p.last_command_use.tolist()
        end_rec, end_at = self.end_mark
        free_at, free_buffer = frees
        fi = 0

        def release(stop: int) -> None:
            """Give back the storage of allocations that end before event ``stop``."""
            nonlocal fi
            while free_at[fi] < stop:
                f, b = free_at[fi], free_buffer[fi]
                fi += 1
                self.cur = f
                self.window_open = window_open[f]
                end_rec[b], end_at[b] = len(out) // REC, f
                managers[b].free(phys[b], offset[b])
                if exclusion is not None and window_open[f] and last_command_use[b] >= window_start[f]:
                    exclusion.add(phys[b], offset[b], offset[b] + max(sizes[b], 1))

        for i, act in zip(visits, acts, strict=True):
            if free_at[fi] < i:
                release(i)
            self.cur = i
            is_open = window_open[i]
            if self.window_open and not is_open:
                if exclusion is not None:
                    exclusion.clear()
                self.close_window()
            self.window_open = is_open
            if not act:
                continue
            k = kinds[i]
            if k == CREATE:
                create(i, a0[i], exclusion)
            else:
                out.extend((i, k, phys[a0[i]], i, i))
        release(n)

    def _run_rerecorded(self, visits: list[int], frees: tuple[list[int], list[int]]) -> None:
        """Every submitted command re-recorded under the pass policy, one encoder at a time."""
        p, trace = self.program, self.trace
        n, kinds, a0, a1, a2 = p.n, p.kinds, p.a0, p.a1, p.a2
        pass_per_dispatch = self.passes.pass_per_dispatch
        honours = self.passes.honours_submits
        max_tasks = self.passes.max_tasks
        flush_write = self.passes.upload.flushes_first
        staged = self.passes.upload.staged
        managers, fix = self.managers, self.pool.fix
        exclusion = Exclusion(fix == "range") if self.pool.pooled and fix else None
        out, syn_rows, synth = self.out, self.syn_rows, self.synth
        emit = out.extend
        phys, offset, create, sizes = self.phys, self.offset, self.create, self.sizes
        cmd_submit, fp_lo, fp_hi, fp_buffer = p.cmd_submit, p.fp_lo, p.fp_hi, p.fp_buffer
        pipeline, pipeline_set, group_set, bind_key = p.pipeline, p.pipeline_set, p.group_set, p.bind_key
        command_of = dict(zip(p.cmd_event.tolist(), range(len(cmd_submit)), strict=True))
        n_groups = len(group_set)
        used_epoch = [-1] * len(sizes)
        sub_min = [0] * len(sizes)
        end_rec, end_at = self.end_mark
        free_at, free_buffer = frees
        fi = 0
        staging_drops: list[int] = []
        epoch = 0
        enc = -1
        n_enc = 0
        cpass = -1
        n_pass = 0
        pass_pipeline = -1
        pass_groups = [-1] * n_groups
        n_disp = 0

        def flush(origin: int = -1) -> None:
            nonlocal enc, cpass, n_disp, epoch
            if enc < 0:
                return
            if cpass >= 0:
                synth(Kind.PASS_END, cpass, (0, 0, 0, 0, 0), -1)
                cpass = -1
            synth(Kind.ENCODER_FINISH, enc, (0, 0, 0, 0, 0), -1)
            syn_rows.extend((enc, 0, 0, 0, 0))
            synth(Kind.SUBMIT, 0, (0, 0, 0, 0, 0), origin, 1, -1 - len(syn_rows) // ROW)
            enc = -1
            n_disp = 0
            epoch += 1
            if exclusion is not None:
                exclusion.clear()
            for b in staging_drops:
                synth(Kind.BUFFER_DESTROY, b, (1, 0, 0, 0, 0), -1)
            staging_drops.clear()
            self.close_window()

        def open_encoder() -> None:
            nonlocal enc, n_enc
            if enc < 0:
                enc = n_enc
                n_enc += 1
                synth(Kind.ENCODER_CREATE, enc, (-1, 0, 0, 0, 0), -1)
                self.window_open = True

        def close_pass() -> None:
            nonlocal cpass
            if cpass >= 0:
                synth(Kind.PASS_END, cpass, (0, 0, 0, 0, 0), -1)
                cpass = -1

        def release(stop: int) -> None:
            """Give back the storage of allocations that end before event ``stop``."""
            nonlocal fi
            while free_at[fi] < stop:
                f, b = free_at[fi], free_buffer[fi]
                fi += 1
                self.cur = f
                end_rec[b], end_at[b] = len(out) // REC, f
                managers[b].free(phys[b], offset[b])
                if exclusion is not None and used_epoch[b] == epoch and enc >= 0:
                    exclusion.add(phys[b], offset[b], offset[b] + max(sizes[b], 1))

        def use(c: int) -> None:
            """The open encoder now holds command c: note which allocations it touches, and since when."""
            s = cmd_submit[c]
            for b in fp_buffer[fp_lo[c]:fp_hi[c]]:
                if used_epoch[b] != epoch:
                    used_epoch[b] = epoch
                    sub_min[b] = s
                elif s < sub_min[b]:
                    sub_min[b] = s

        for i in visits:
            if free_at[fi] < i:
                release(i)
            self.cur = i
            k = kinds[i]
            if k == DISPATCH or k == DISPATCH_INDIRECT:
                c = command_of[i]
                open_encoder()
                if cpass < 0 or pass_per_dispatch:
                    cpass = n_pass
                    n_pass += 1
                    synth(Kind.PASS_BEGIN, cpass, (enc, 0, 0, 0, 0), -1)
                    pass_pipeline = -1
                    pass_groups = [-1] * n_groups
                pipe = pipeline[c]
                if pipe >= 0 and pipe != pass_pipeline:
                    emit((pipeline_set[c], SET_PIPELINE, cpass, i, pipeline_set[c]))
                    pass_pipeline = pipe
                for g in range(n_groups):
                    s = group_set[g][c]
                    if s >= 0 and pass_groups[g] != bind_key[s]:
                        emit((s, SET_BIND_GROUP, cpass, i, s))
                        pass_groups[g] = bind_key[s]
                emit((i, k, cpass, i, i))
                use(c)
                if pass_per_dispatch:
                    close_pass()
                n_disp += 1
                if max_tasks and n_disp >= max_tasks:
                    flush()
            elif k == WRITE_BUFFER or k == MAPPED_WRITE:
                b = a0[i]
                if (used_epoch[b] == epoch and sub_min[b] < i) or (flush_write and enc >= 0):
                    flush()
                if staged:
                    size = a2[i]
                    sid = len(phys)
                    phys.append(self.next_buffer)
                    offset.append(0)
                    self.next_buffer += 1
                    synth(Kind.BUFFER_CREATE, phys[sid], (size, MAP_WRITE | COPY_SRC, -1, 1, 0), -1)
                    synth(Kind.MAPPED_WRITE, sid, (0, size, *trace.args[i, 3:6].tolist()), i)
                    synth(Kind.UNMAP, sid, (0, 0, 0, 0, 0), -1)
                    open_encoder()
                    close_pass()
                    synth(Kind.COPY, enc, (sid, 0, b, a1[i], size), i)
                    staging_drops.append(phys[sid])
                    if used_epoch[b] != epoch:
                        used_epoch[b] = epoch
                        sub_min[b] = n
                else:
                    emit((i, WRITE_BUFFER, b, i, i))
            elif k == CREATE:
                create(i, a0[i], exclusion)
            elif k == COPY or k == CLEAR:
                open_encoder()
                close_pass()
                emit((i, k, enc, i, i))
                use(command_of[i])
            elif k == SUBMIT and honours:
                flush(i)
            elif k == QUEUE_READ or k == MAP:
                flush()
                emit((i, k, a0[i], i, i))
            elif k == DESTROY:
                b = a0[i]
                if a1[i] == 0 and used_epoch[b] == epoch and sub_min[b] < i:
                    flush()
                emit((i, k, phys[b], i, i))
        release(n)
        self.cur = n - 1
        flush()

    def _assemble(self, placed: np.ndarray) -> Plan:
        """Merge the placed events with the loop's records, fill every column, map buffers to pages."""
        trace, program = self.trace, self.program
        src_args, src_rows, strings = trace.args, trace.rows, trace.strings
        if self.read_write is not None:
            src_args, src_rows, strings = read_write_bindings(trace, self.read_write)
        rec = np.frombuffer(self.out, dtype=np.int64).reshape(-1, REC)
        syn = np.frombuffer(self.syn, dtype=np.int64).reshape(-1, SYN)
        m = len(placed) + len(rec)
        at_placed = np.searchsorted(rec[:, 3], placed, side="left") + np.arange(len(placed))
        at_rec = np.arange(len(rec)) + np.searchsorted(placed, rec[:, 3], side="right")
        columns = np.empty((5, m), dtype=np.int64)
        columns[:, at_rec] = rec.T
        placed_kind = trace.kind[placed].astype(np.int64)
        mapped_writes = np.flatnonzero(placed_kind == Kind.MAPPED_WRITE)
        placed_kind[mapped_writes[self.pooled[trace.args[placed[mapped_writes], 0]]]] = Kind.WRITE_BUFFER
        columns[0, at_placed] = placed
        columns[1, at_placed] = placed_kind
        columns[2, at_placed] = trace.args[placed, 0]
        columns[3, at_placed] = placed
        columns[4, at_placed] = placed
        src, kind, a0, cur, origin = columns

        copied = src >= 0
        s = src[copied]
        k = -1 - src[~copied]
        args = np.empty((m, 6), dtype=np.int64)
        args[:, 0] = a0
        args[copied, 1:] = src_args[s, 1:]
        args[~copied, 1:] = syn[k, :5]
        nrows = np.empty(m, dtype=np.int64)
        nrows[copied] = trace.nrows[s]
        nrows[~copied] = syn[k, 5]
        row_from = np.empty(m, dtype=np.int64)
        row_from[copied] = trace.row_start[s]
        row_from[~copied] = len(trace.rows) - 2 - syn[k, 6]
        site = np.empty(m, dtype=np.int32)
        site[copied] = trace.site[s]
        site[~copied] = trace.site[cur[~copied]]
        has = np.flatnonzero(nrows)
        if len(self.syn_rows):
            all_rows = np.concatenate([src_rows, np.frombuffer(self.syn_rows, dtype=np.int64).reshape(-1, ROW)])
        else:
            all_rows = src_rows
        rows = all_rows[np.repeat(row_from[has], nrows[has]) + _ranks(nrows[has])]
        phys = np.array(self.phys, dtype=np.int64)
        offset = np.array(self.offset, dtype=np.int64)
        _remap(kind, args, rows, nrows, phys, offset)

        header = dict(trace.header)
        if self.limits is not None:
            header["limits"] = dict(self.limits)
        planned = Trace(header=header, kind=kind.astype(np.uint8), t=trace.t[cur], site=site,
                        args=args, nrows=nrows.astype(np.int32), rows=rows, strings=strings,
                        blobs=trace.blobs, end=dict(trace.end) if trace.end is not None else None,
                        cut_short=trace.cut_short)
        n_buffers = len(program.size)
        start = np.full(n_buffers, m, dtype=np.int64)
        end = np.full(n_buffers, m, dtype=np.int64)
        own = (origin >= 0) & _is(kind, [Kind.BUFFER_CREATE, Kind.BUFFER_DESTROY])
        events = np.flatnonzero(own)
        creates = events[kind[events] == Kind.BUFFER_CREATE]
        start[trace.args[origin[creates], 0]] = creates
        destroys = events[kind[events] == Kind.BUFFER_DESTROY]
        np.minimum.at(end, trace.args[origin[destroys], 0], destroys)
        for (records, at), column in ((self.start_mark, start), (self.end_mark, end)):
            records = np.array(records, dtype=np.int64)
            b = np.flatnonzero(records >= 0)
            column[b] = records[b] + np.searchsorted(placed, np.array(at, dtype=np.int64)[b], side="right")
        allocations = Allocations(buffer=phys[:n_buffers].copy(), offset=offset[:n_buffers].copy(),
                                  size=program.size.copy(), reserved=np.array(self.reserved, dtype=np.int64),
                                  start=start, end=end)
        return Plan(trace=planned, origin=origin.copy(), allocations=allocations, source=trace,
                    pool=self.pool.spec, passes=self.passes.spec)


# (kind, buffer column, offset column or -1): every event field naming a buffer, except BUFFER_CREATE and
# BUFFER_DESTROY, which the planner writes with physical ids already
_BUFFER_FIELDS = (
    (Kind.WRITE_BUFFER, 0, 1), (Kind.MAPPED_WRITE, 0, 1), (Kind.READ, 0, 1), (Kind.QUEUE_READ, 0, 1),
    (Kind.MAP, 0, 2), (Kind.UNMAP, 0, -1), (Kind.COPY, 1, 2), (Kind.COPY, 3, 4), (Kind.CLEAR, 1, 2),
    (Kind.DISPATCH_INDIRECT, 1, 2),
)


def _remap(kind: np.ndarray, args: np.ndarray, rows: np.ndarray, nrows: np.ndarray, phys: np.ndarray,
           offset: np.ndarray) -> None:
    """Logical buffer ids and offsets -> physical (page, slice offset + offset), in place."""
    for k, col, off in _BUFFER_FIELDS:
        idx = np.flatnonzero(kind == k)
        if not len(idx):
            continue
        logical = args[idx, col]
        if off >= 0:
            args[idx, off] += offset[logical]
        args[idx, col] = phys[logical]
    bg = np.flatnonzero(np.repeat(kind == Kind.BIND_GROUP, nrows))
    if len(bg):
        logical = rows[bg, 1]
        rows[bg, 2] += offset[logical]
        rows[bg, 1] = phys[logical]
