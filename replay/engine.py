"""Executes a plan's physical program on a real wgpu device, event by event, in the plan's order.

Each event kind has one small method, found in a list indexed by the kind code, so the hot loop
is an index and a call per event on top of what wgpu-py itself costs. Everything that can be
worked out before the GPU is touched (event columns as lists, submit rows, dynamic offsets,
when objects may be released, which submits would abort the process) is, once per plan, in
``DecodedPlan``.

Device errors are caught as the exceptions wgpu-py raises: wgpu-py 0.32 has no error scopes
(``push_error_scope`` does not exist on its device), and instead captures every error wgpu-native
reports during a call and raises it from that call. Errors inside an encoder only surface at
``finish``; the engine then finds the command that caused it by bisection on the device itself:
it re-encodes growing prefixes of that encoder's commands into scratch encoders (never
submitted) and reports the first command whose prefix fails. A submit that wgpu-native would
reject aborts the whole process (it panics instead of reporting), so on wgpu-native those submits
are found statically beforehand and refused with the reason; Dawn reports them, so it is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from time import perf_counter, perf_counter_ns, thread_time

import numpy as np
import wgpu

from ..sim.footprint import commands_and_footprints, pass_encoders
from ..tracer.backends import current
from ..traces import Access, Kind, Obj, Trace
from ..traces.errors import InputError
from ..traces.schema import KIND_NAMES
from .gpu_clock import GpuClock
from .gpu_clock import method as timing_of
from .render import RenderInfo, RenderMethods, has_render, refusal_text
from .sync_clock import SyncClock, waiter
from .watchdog import DEFAULT_TIMEOUT_S, Watchdog

CHUNK = 2048
SET_BIND_GROUP_FULL = max(Kind) + 1  # opcode: a set_bind_group with dynamic offsets or its group's last use
PASS_BEGIN_TIMED = SET_BIND_GROUP_FULL + 1  # opcode: a compute pass begun with timestamp writes
_BUFFER_TYPES: dict[int, str] = {Access.UNIFORM: "uniform", Access.READ_ONLY_STORAGE: "read-only-storage"}
# commands recorded into an encoder: on the encoder itself (a0, or a1 for pass begins), or on one of its passes
_ON_ENCODER = (Kind.COPY, Kind.CLEAR, Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
               Kind.COPY_TEXTURE_TO_TEXTURE, Kind.RESOLVE_QUERY_SET, Kind.WRITE_TIMESTAMP)
_BEGINS = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN)
_ON_PASS = (Kind.PASS_END, Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT,
            Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT,
            Kind.DRAW_INDEXED_INDIRECT, Kind.RENDER_STATE, Kind.BEGIN_OCCLUSION_QUERY, Kind.END_OCCLUSION_QUERY,
            Kind.EXECUTE_BUNDLES)
_ENCODER_COMMANDS = (*_ON_ENCODER, *_BEGINS, *_ON_PASS, Kind.DEBUG_MARKER)


class Refused(Exception):
    """A call the engine does not make because wgpu-native would abort the process on it."""


@dataclass
class DeviceError:
    """The first error of a run: the event that raised it and, when found, the event that caused it."""

    event: int
    kind: str
    site: str
    error: str
    message: str
    cause: int
    cause_kind: str
    cause_site: str

    def line(self) -> str:
        where = f"event {self.event} ({self.kind} at {self.site})"
        if self.cause != self.event:
            where += f", caused by event {self.cause} ({self.cause_kind} at {self.cause_site})"
        return f"{self.error} at {where}: {self.message}"


@dataclass(eq=False)
class Run:
    """One execution: what it read, how long it took, and the error that stopped it, if any.

    ``issue_s`` is wall time from the first event to the last one issued (waits the program
    itself makes, such as reads, included); ``cpu_s`` the replaying thread's CPU time over the
    same span; ``wall_s`` runs on until the device has finished everything submitted.
    ``frames`` holds the time (from the first event) of each submit that starts a frame (see
    ``render.frames``); ``skipped`` counts timestamp writes and resolves the device could not make.
    ``cpu_to_mark_s``: CPU time before the event ``Engine.run`` was given as its mark (0 without one).
    ``gpu_ns``: with ``Engine.run(gpu=True)``, each encoder's GPU nanoseconds, by encoder id (``gpu_clock``; by
    ``sync_clock`` a submit's span is its last encoder's, so only the sum is a GPU time).
    """

    reads: list[tuple[int, bytes]]
    events: int
    issue_s: float
    cpu_s: float
    wall_s: float
    error: DeviceError | None = None
    frames: list[float] = field(default_factory=list)
    skipped: int = 0
    cpu_to_mark_s: float = 0.0
    gpu_ns: np.ndarray | None = None


@dataclass(eq=False)
class DecodedPlan:
    """A plan decoded once into what the hot loop reads: plain lists and small lookup tables."""

    trace: Trace
    opcodes: list[int]
    args: list[list[int]]
    rows: dict[int, list[list[int]]]
    dynamic: dict[int, list[int]]
    last_set: set[int]
    unused_bind_groups: set[int]
    quiet_submits: set[int]
    refuse: dict[int, str]
    counts: dict[int, int]
    render: RenderInfo | None = None

    @classmethod
    def of(cls, trace: Trace) -> DecodedPlan:
        kind = trace.kind
        with_rows = np.flatnonzero(trace.nrows > 0).tolist()
        rows = {i: trace.rows_of(i).tolist() for i in with_rows}
        sets = trace.where(Kind.SET_BIND_GROUP)
        dynamic = {i: [r[0] for r in rows[i]] for i in sets.tolist() if i in rows}
        n_bg = trace.count_kind(Kind.BIND_GROUP)
        last = np.full(n_bg, -1, dtype=np.int64)
        np.maximum.at(last, trace.args[sets, 2], sets)
        last_set = set(last[last >= 0].tolist())
        opcodes = kind.tolist()
        for i in last_set | dynamic.keys():
            opcodes[i] = SET_BIND_GROUP_FULL
        render = RenderInfo.of(trace) if has_render(trace) else None
        if render is not None:
            for i in trace.where(Kind.PASS_BEGIN).tolist():
                if int(trace.args[i, 0]) in render.timestamp_writes:
                    opcodes[i] = PASS_BEGIN_TIMED
        counts = {int(k): trace.count_kind(k) for k in (Kind.BUFFER_CREATE, Kind.BIND_GROUP, Kind.ENCODER_CREATE)}
        counts[Kind.PASS_BEGIN] = trace.count(Obj.PASS)  # compute passes, render passes and bundle encoders
        return cls(trace=trace, opcodes=opcodes, args=trace.args.tolist(), rows=rows,
                   dynamic=dynamic, last_set=last_set, unused_bind_groups=set(np.flatnonzero(last < 0).tolist()),
                   quiet_submits=_quiet_submits(trace), refuse=fatal_calls(trace), counts=counts, render=render)


def _quiet_submits(trace: Trace) -> set[int]:
    """Submits after which no encoder that a later submit uses is still unsubmitted."""
    submitted = {int(r[0]) for i in trace.where(Kind.SUBMIT).tolist() for r in trace.rows_of(i)}
    quiet, pending = set(), 0
    for i in trace.where(Kind.ENCODER_CREATE, Kind.SUBMIT).tolist():
        if trace.kind[i] == Kind.ENCODER_CREATE:
            pending += int(trace.args[i, 0]) in submitted
        else:
            pending -= int(trace.nrows[i])
            if pending <= 0:
                quiet.add(i)
    return quiet


def fatal_calls(trace: Trace) -> dict[int, str]:
    """Submits and queue reads that wgpu-native would reject by aborting the process, with why.

    Such a submit names a command buffer that uses a buffer destroyed (``destroy()``) or mapped,
    or a texture destroyed, at the time of the submit; a queue read of such a buffer (or texture)
    submits a copy of it.
    """
    n = len(trace)
    n_buffers = trace.count_kind(Kind.BUFFER_CREATE)
    # one id space as the footprint table has it: buffers, then textures
    destroyed = np.full(n_buffers + trace.count_kind(Kind.TEXTURE_CREATE), n, dtype=np.int64)
    for kind, base in ((Kind.BUFFER_DESTROY, 0), (Kind.TEXTURE_DESTROY, n_buffers)):
        d = trace.where(kind)
        d = d[trace.args[d, 1] == 0]
        np.minimum.at(destroyed, base + trace.args[d, 0], d)
    mapped: dict[int, list[list[int]]] = {}
    for i in trace.where(Kind.BUFFER_CREATE, Kind.MAP, Kind.UNMAP).tolist():
        b, k = int(trace.args[i, 0]), trace.kind[i]
        if k == Kind.MAP or (k == Kind.BUFFER_CREATE and trace.args[i, 4]):
            mapped.setdefault(b, []).append([i, n])
        elif k == Kind.UNMAP and b in mapped:
            mapped[b][-1][1] = i
    if not (destroyed < n).any() and not mapped:
        return {}

    def name(r: int) -> str:
        return f"buffer {r}" if r < n_buffers else f"texture {r - n_buffers}"

    def state(r: int, at: int) -> str | None:
        if destroyed[r] < at:
            return f"{name(r)} was destroyed at event {int(destroyed[r])}"
        for lo, hi in mapped.get(r, ()):
            if lo < at < hi:
                return f"{name(r)} is mapped (event {lo})"
        return None

    out: dict[int, str] = {}
    reads = trace.where(Kind.QUEUE_READ, Kind.READ_TEXTURE)
    read_resource = trace.args[reads, 0] + np.where(trace.kind[reads] == Kind.READ_TEXTURE, n_buffers, 0)
    suspect_reads = (destroyed[read_resource] < reads) | np.isin(read_resource, list(mapped))
    for i, r in zip(reads[suspect_reads].tolist(), read_resource[suspect_reads].tolist(), strict=True):
        why = state(r, i)
        if why:
            out[i] = f"refused: reading it would submit a copy that aborts the process: {why}"
    _, fp = commands_and_footprints(trace)
    submits = trace.where(Kind.SUBMIT)
    submit_of = np.full(trace.count_kind(Kind.ENCODER_CREATE) + 1, -1, dtype=np.int64)
    submit_of[trace.rows[trace.row_ids(submits), 0]] = np.repeat(submits, trace.nrows[submits])
    at = submit_of[fp.encoder]
    suspect = (at >= 0) & ((destroyed[fp.resource] < at) | np.isin(fp.resource, list(mapped)))
    for j in np.flatnonzero(suspect).tolist():
        s = int(at[j])
        why = None if s in out else state(int(fp.resource[j]), s)
        if why:
            out[s] = (f"refused: wgpu-native aborts the process on this submit: {why} while encoder "
                      f"{int(fp.encoder[j])} uses it (event {int(fp.command[j])})")
    return out


def condense(error: BaseException) -> str:
    """wgpu's multi-line error text as one line, without its generic headings."""
    lines = [ln.strip() for ln in str(error).splitlines()]
    lines = [ln for ln in lines if ln and ln not in ("Validation Error", "Caused by:")]
    return ": ".join(lines) or type(error).__name__


def error_name(e: BaseException) -> str:
    if isinstance(e, Refused):
        return "refused"
    if "device is lost" in str(e).lower() or "device lost" in str(e).lower():
        return "device lost"
    if isinstance(e, wgpu.GPUOutOfMemoryError):
        return "out of memory"
    if isinstance(e, wgpu.GPUValidationError):
        return "validation error"
    if isinstance(e, wgpu.GPUError):
        return "device error"
    return f"wgpu-py {type(e).__name__}"


class Engine(RenderMethods):
    """Replays plans on one device; build one per device and reuse it across plans and repeats.

    Compute and buffers are here; textures, render passes, bundles, copies and queries are
    ``RenderMethods`` (render.py), registered in the same table.

    ``at`` is the event last known to be under way: set per chunk of events and by every call
    that waits on the device or hands it work (submits, maps, reads), so that the watchdog can
    say where a replay that stopped making progress stands.
    """

    def __init__(self, device: wgpu.GPUDevice, timeout: float = DEFAULT_TIMEOUT_S):
        self.device = device
        self.queue = device.queue
        self.aborts = current() == "wgpu-native"  # on a submit of a destroyed or mapped resource; Dawn reports it
        self.at: int | None = None
        self._runs = 0
        self._watchdog = Watchdog(timeout, self._progress, self._where)
        self._fence = device.create_buffer(size=4, usage=wgpu.BufferUsage.COPY_SRC)
        self._table: list[Callable[[int, list[int]], None]] = [self._unknown] * (PASS_BEGIN_TIMED + 1)
        for kind, method in {
            Kind.DEVICE: self._skip, Kind.OPAQUE: self._skip,
            Kind.BUFFER_CREATE: self._buffer_create, Kind.BUFFER_DESTROY: self._buffer_destroy,
            Kind.SHADER_MODULE: self._shader_module, Kind.BIND_GROUP_LAYOUT: self._bind_group_layout,
            Kind.PIPELINE_LAYOUT: self._pipeline_layout, Kind.COMPUTE_PIPELINE: self._compute_pipeline,
            Kind.BIND_GROUP: self._bind_group, Kind.ENCODER_CREATE: self._encoder_create,
            Kind.ENCODER_FINISH: self._encoder_finish, Kind.PASS_BEGIN: self._pass_begin,
            Kind.PASS_END: self._pass_end, Kind.SET_PIPELINE: self._set_pipeline,
            Kind.SET_BIND_GROUP: self._set_bind_group, SET_BIND_GROUP_FULL: self._set_bind_group_full,
            Kind.DISPATCH: self._dispatch,
            Kind.DISPATCH_INDIRECT: self._dispatch_indirect, Kind.COPY: self._copy, Kind.CLEAR: self._clear,
            Kind.WRITE_BUFFER: self._write_buffer, Kind.SUBMIT: self._submit, Kind.MAP: self._map,
            Kind.UNMAP: self._unmap, Kind.READ: self._read, Kind.MAPPED_WRITE: self._mapped_write,
            Kind.QUEUE_READ: self._queue_read, PASS_BEGIN_TIMED: self._pass_begin_timed,
            **self.render_methods(),
        }.items():
            self._table[kind] = method

    def close(self) -> None:
        self._watchdog.stop()

    def _progress(self) -> tuple[int, int] | None:
        at = self.at
        return None if at is None else (self._runs, at)

    def _where(self) -> str:
        at = self.at
        if at is None:
            return "between replays"
        trace = self.decoded.trace  # a run sets ``decoded`` before ``at``
        if at >= len(trace):
            return "waiting for the device to finish everything submitted"
        return f"at event {at} ({KIND_NAMES[int(trace.kind[at])]} at {trace.site_of(at)})"

    # -- running ------------------------------------------------------------------------------

    def _refuse_unknown(self, decoded: DecodedPlan) -> None:
        """Bad input, before any GPU work: an event of a kind replay does not execute, or one that names an
        object the trace does not describe (a render pipeline, pass or bundle made before the recording)."""
        trace = decoded.trace
        known = [k for k, method in enumerate(self._table) if method != self._unknown]
        unknown = np.flatnonzero(~np.isin(trace.kind, np.array(known, dtype=np.int64)))
        if len(unknown):
            i = int(unknown[0])
            raise InputError(f"replay does not know event {i} ({KIND_NAMES.get(int(trace.kind[i]), '?')} at "
                             f"{trace.site_of(i)}) and {len(unknown) - 1} more: a newer trace format?")
        if decoded.render is not None and decoded.render.unreplayable:
            raise InputError(refusal_text(trace, decoded.render.unreplayable))

    def run(self, decoded: DecodedPlan, data: dict[int, bytes],
            progress: Callable[[int], None] | None = None, mark: int | None = None,
            clock: np.ndarray | None = None, gpu: bool = False,
            clock_ns: Callable[[], int] = perf_counter_ns) -> Run:
        """Execute ``decoded`` once, from nothing, and release everything it created.

        ``mark``: an event index; the run's ``cpu_to_mark_s`` is the CPU time spent before that event (the
        chunks of the loop end there, so no event pays for the mark). ``clock``: an int64 array as long as the
        plan, which gets each event's nanoseconds by ``clock_ns`` (what one call costs among the program's others):
        wall time, or ``time.thread_time_ns`` for the replaying thread's CPU, which a wait for the device does not
        count.
        ``gpu``: time the device (``gpu_clock.method``: every encoder between timestamps, or every submit waited
        for) and give the run each encoder's GPU time (``Run.gpu_ns``)."""
        table, args = self._table, decoded.args
        self._refuse_unknown(decoded)
        self._start(decoded, data)
        gpu_clock = self._gpu_clock(len(self.encoders)) if gpu else None
        if gpu_clock is not None:
            table = self._timed_encoders(gpu_clock)
        ops = [table[k] for k in decoded.opcodes]
        n = len(ops)
        i, failure = 0, None
        self._runs += 1
        bounds = sorted({*range(0, n, CHUNK), n, *([mark] if mark is not None and 0 <= mark <= n else [])})
        c0, t0 = thread_time(), perf_counter()
        c_mark = c0
        try:
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                if lo == mark:
                    c_mark = thread_time()
                self.at = lo
                if clock is None:
                    for i, op, a in zip(range(lo, hi), ops[lo:hi], args[lo:hi], strict=True):
                        op(i, a)
                else:
                    for i, op, a in zip(range(lo, hi), ops[lo:hi], args[lo:hi], strict=True):
                        start = clock_ns()
                        op(i, a)
                        clock[i] = clock_ns() - start
                if progress is not None:
                    progress(hi)
            i = n
        except Exception as e:  # every failure of a call becomes the run's reported error
            failure = e.with_traceback(None)  # kept with its frames, wgpudawn's write_buffer crashes the GC
        t1, c1 = perf_counter(), thread_time()
        error = None
        if failure is None:
            self.at = n
            try:
                self.queue.read_buffer(self._fence, 0, 4)
            except Exception as e:  # a device lost at the very end is still this run's error
                failure, i = e.with_traceback(None), n - 1
        t2 = perf_counter()
        if failure is not None:
            error = self._report(decoded, i, failure)
        if mark == n:
            c_mark = c1
        run = Run(self.reads, i, t1 - t0, c1 - c0, t2 - t0, error, [t - t0 for t in self.frames], self.skipped,
                  c_mark - c0)
        if gpu_clock is not None:
            run.gpu_ns = gpu_clock.spans_ns() if failure is None else None
            gpu_clock.close()
        self._finish(settle=failure is None)
        return run

    @cached_property
    def _timing(self) -> str:
        """How this device's GPU runs are timed (``gpu_clock.method``), asked once."""
        return timing_of(self.device)

    def _gpu_clock(self, encoders: int) -> GpuClock | SyncClock:
        if self._timing == "timestamps":
            return GpuClock(self.device, encoders)
        return SyncClock(waiter(self.device, self._fence), encoders)

    def _timed_encoders(self, gpu_clock: GpuClock | SyncClock) -> list[Callable[[int, list[int]], None]]:
        """The method table with each encoder bracketed by ``gpu_clock``'s stamps, and its submits told to the clock."""
        def create(i: int, a: list[int]) -> None:
            self._encoder_create(i, a)
            gpu_clock.opened(a[0], self.encoders[a[0]])

        def finish(i: int, a: list[int]) -> None:
            gpu_clock.closing(a[0], self.encoders[a[0]])
            self._encoder_finish(i, a)

        def submit(i: int, a: list[int]) -> None:
            gpu_clock.submitting()
            self._submit(i, a)
            gpu_clock.submitted([r[0] for r in self.decoded.rows.get(i, ())])

        table = list(self._table)
        table[Kind.ENCODER_CREATE], table[Kind.ENCODER_FINISH], table[Kind.SUBMIT] = create, finish, submit
        return table

    def _start(self, decoded: DecodedPlan, data: dict[int, bytes]) -> None:
        c = decoded.counts
        self.decoded = decoded
        self.data = data
        self.strings = decoded.trace.strings
        self.buffers: list = [None] * c[Kind.BUFFER_CREATE]
        self.bind_groups: list = [None] * c[Kind.BIND_GROUP]
        self.passes: list = [None] * c[Kind.PASS_BEGIN]
        self.encoders: list = [None] * c[Kind.ENCODER_CREATE]
        self.command_buffers: list = [None] * c[Kind.ENCODER_CREATE]
        self.modules: list = []
        self.bind_group_layouts: list = []
        self.pipeline_layouts: list = []
        self.pipelines: list = []
        self.auto_layouts: dict[tuple[int, int], wgpu.GPUBindGroupLayout] = {}
        self.limbo: list[tuple[list, int, object]] = []
        self.reads: list[tuple[int, bytes]] = []
        self.frames: list[float] = []
        self._start_render(decoded)

    def _finish(self, settle: bool) -> None:
        """Release what the run created and, after a run that succeeded (``settle``), wait for the device to
        have freed it: wgpu frees dropped objects at its next submit or poll, which would otherwise be the next
        run's, charged to that run's time."""
        for b in self.buffers:
            if b is not None:
                b.destroy()
        self._finish_render()
        self._start(self.decoded, {})
        self.at = None
        if settle:
            self.queue.submit([])
            self.queue.read_buffer(self._fence, 0, 4)

    def _release(self, table: list, index: int) -> None:
        """Drop the engine's handle as the program did, but keep it reachable until no encoder is pending.

        wgpu keeps whatever an unsubmitted encoder uses alive anyway; the engine keeps the Python
        handle as well so that a failed encoder can be re-encoded to find the failing command.
        """
        self.limbo.append((table, index, table[index]))
        table[index] = None

    # -- one method per event kind --------------------------------------------------------------

    def _skip(self, i: int, a: list[int]) -> None:
        pass

    def _unknown(self, i: int, a: list[int]) -> None:
        raise Refused(f"unknown event kind {int(self.decoded.trace.kind[i])}")

    def _buffer_create(self, i: int, a: list[int]) -> None:
        self.buffers[a[0]] = self.device.create_buffer(size=a[1], usage=a[2], mapped_at_creation=bool(a[4]),
                                                       label=self.strings[a[3]] if a[3] >= 0 else "")

    def _buffer_destroy(self, i: int, a: list[int]) -> None:
        buffer = self.buffers[a[0]]
        if buffer is None:
            return
        if a[1]:
            self._release(self.buffers, a[0])
        else:
            buffer.destroy()

    def _shader_module(self, i: int, a: list[int]) -> None:
        self.modules.append(self.device.create_shader_module(code=self.strings[a[1]],
                                                            label=self.strings[a[2]] if a[2] >= 0 else ""))

    def _bind_group_layout(self, i: int, a: list[int]) -> None:
        entries = self.layout_entries(a[0])  # a plan with render work: its stages and resource types worked out
        if entries is None:
            entries = [{"binding": b, "visibility": wgpu.ShaderStage.COMPUTE,
                        "buffer": {"type": _BUFFER_TYPES.get(access, "storage"), "has_dynamic_offset": bool(dyn)}}
                       for b, access, dyn, *_ in self.decoded.rows.get(i, ())]
        self.bind_group_layouts.append(self.device.create_bind_group_layout(entries=entries))

    def _pipeline_layout(self, i: int, a: list[int]) -> None:
        layouts = [self.bind_group_layouts[r[0]] for r in self.decoded.rows.get(i, ())]
        self.pipeline_layouts.append(self.device.create_pipeline_layout(bind_group_layouts=layouts))

    def _compute_pipeline(self, i: int, a: list[int]) -> None:
        layout = "auto" if a[3] < 0 else self.pipeline_layouts[a[3]]
        self.pipelines.append(self.device.create_compute_pipeline(
            layout=layout, compute={"module": self.modules[a[1]], "entry_point": self.strings[a[2]]},
            label=self.strings[a[4]] if a[4] >= 0 else ""))

    def _bind_group(self, i: int, a: list[int]) -> None:
        if a[1] >= 0:
            layout = self.bind_group_layouts[a[1]]
        else:
            layout = self.auto_layouts.get((a[2], a[3]))
            if layout is None:
                layout = self.auto_layouts[a[2], a[3]] = self.pipelines[a[2]].get_bind_group_layout(a[3])
        rows = self.decoded.rows.get(i, ())
        if self.decoded.render is None:
            buffers = self.buffers
            entries = [{"binding": r[0], "resource": {"buffer": buffers[r[1]], "offset": r[2], "size": r[3]}}
                       for r in rows]
        else:
            entries = self.bind_group_entries(rows)
        self.bind_groups[a[0]] = self.device.create_bind_group(layout=layout, entries=entries,
                                                               label=self.strings[a[4]] if a[4] >= 0 else "")
        if a[0] in self.decoded.unused_bind_groups:
            self._release(self.bind_groups, a[0])

    def _encoder_create(self, i: int, a: list[int]) -> None:
        self.encoders[a[0]] = self.device.create_command_encoder(label=self.strings[a[1]] if a[1] >= 0 else "")

    def _encoder_finish(self, i: int, a: list[int]) -> None:
        self.command_buffers[a[0]] = self.encoders[a[0]].finish()
        self.encoders[a[0]] = None

    def _pass_begin(self, i: int, a: list[int]) -> None:
        self.passes[a[0]] = self.encoders[a[1]].begin_compute_pass()

    def _pass_begin_timed(self, i: int, a: list[int]) -> None:
        self.passes[a[0]] = self.encoders[a[1]].begin_compute_pass(timestamp_writes=self._timestamp_struct(a[0]))

    def _pass_end(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].end()
        self.passes[a[0]] = None

    def _set_pipeline(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].set_pipeline(self.pipelines[a[1]])

    def _set_bind_group(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].set_bind_group(a[1], self.bind_groups[a[2]])

    def _set_bind_group_full(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].set_bind_group(a[1], self.bind_groups[a[2]], self.decoded.dynamic.get(i, ()))
        if i in self.decoded.last_set:
            self._release(self.bind_groups, a[2])

    def _dispatch(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].dispatch_workgroups(a[1], a[2], a[3])

    def _dispatch_indirect(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].dispatch_workgroups_indirect(self.buffers[a[1]], a[2])

    def _copy(self, i: int, a: list[int]) -> None:
        self.encoders[a[0]].copy_buffer_to_buffer(self.buffers[a[1]], a[2], self.buffers[a[3]], a[4], a[5])

    def _clear(self, i: int, a: list[int]) -> None:
        self.encoders[a[0]].clear_buffer(self.buffers[a[1]], a[2], a[3])

    def _write_buffer(self, i: int, a: list[int]) -> None:
        self.queue.write_buffer(self.buffers[a[0]], a[1], self.data[i])

    def _refused(self, i: int) -> None:
        if self.aborts and i in self.decoded.refuse:
            raise Refused(self.decoded.refuse[i])

    def _submit(self, i: int, a: list[int]) -> None:
        self.at = i
        self._refused(i)
        if self.decoded.render is not None and i in self.decoded.render.frame_starts:
            self.frames.append(perf_counter())
        cbs = self.command_buffers
        encoders = [r[0] for r in self.decoded.rows.get(i, ())]
        self.queue.submit([cbs[e] for e in encoders])
        for e in encoders:
            cbs[e] = None
        if i in self.decoded.quiet_submits:
            self.limbo.clear()

    def _map(self, i: int, a: list[int]) -> None:
        self.at = i
        self.buffers[a[0]].map_sync(a[1], a[2], a[3])

    def _unmap(self, i: int, a: list[int]) -> None:
        self.buffers[a[0]].unmap()

    def _read(self, i: int, a: list[int]) -> None:
        self.reads.append((i, bytes(self.buffers[a[0]].read_mapped(a[1], a[2]))))

    def _mapped_write(self, i: int, a: list[int]) -> None:
        self.buffers[a[0]].write_mapped(self.data[i], a[1])

    def _queue_read(self, i: int, a: list[int]) -> None:
        self.at = i
        self._refused(i)
        self.reads.append((i, bytes(self.queue.read_buffer(self.buffers[a[0]], a[1], a[2]))))

    # -- errors ---------------------------------------------------------------------------------

    def _report(self, decoded: DecodedPlan, i: int, e: BaseException) -> DeviceError:
        trace = decoded.trace
        i = min(i, len(trace) - 1)
        cause = i
        if trace.kind[i] == Kind.ENCODER_FINISH:
            cause = self._locate(decoded, i)
        return DeviceError(event=i, kind=KIND_NAMES[int(trace.kind[i])], site=trace.site_of(i), error=error_name(e),
                           message=condense(e), cause=cause, cause_kind=KIND_NAMES[int(trace.kind[cause])],
                           cause_site=trace.site_of(cause))

    def _locate(self, decoded: DecodedPlan, finish: int) -> int:
        """The command of the encoder finished at ``finish`` whose prefix first fails, by bisection."""
        trace = decoded.trace
        encoder = int(trace.args[finish, 0])
        events = _encoder_events(trace, encoder, finish)
        saved = self.encoders, self.passes

        def fails(k: int) -> bool:
            for table, index, obj in list(self.limbo):
                table[index] = obj
            self.encoders = [None] * len(saved[0])
            self.encoders[encoder] = self.device.create_command_encoder()
            self.passes = [None] * len(saved[1])
            try:
                for j in events[:k]:
                    self._table[decoded.opcodes[j]](j, decoded.args[j])
                for p in self.passes:
                    if p is not None:
                        p.end()
                self.encoders[encoder].finish()
            except Exception:  # the device's own verdict on this prefix
                return True
            return False

        try:
            lo, hi = 0, len(events)
            if not fails(hi):
                return finish
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if fails(mid):
                    hi = mid
                else:
                    lo = mid
            return events[hi - 1]
        finally:
            self.encoders, self.passes = saved


def _encoder_events(trace: Trace, encoder: int, finish: int) -> list[int]:
    """The commands recorded into ``encoder`` (its passes' included), in order, up to ``finish``."""
    idx = trace.where(*_ENCODER_COMMANDS)
    idx = idx[idx < finish]
    kinds = trace.kind[idx]
    owner = trace.args[idx, 0].copy()
    in_pass = np.isin(kinds, _ON_PASS)
    markers = kinds == Kind.DEBUG_MARKER
    on_pass_marker = markers & (owner < 0)
    owner[on_pass_marker] = trace.args[idx[on_pass_marker], 1]
    in_pass |= on_pass_marker
    enc_of_pass = pass_encoders(trace)  # -1 for bundle encoders: their commands are in no encoder
    owner[in_pass] = enc_of_pass[owner[in_pass]]
    begins = np.isin(kinds, _BEGINS)
    owner[begins] = trace.args[idx[begins], 1]
    return idx[owner == encoder].tolist()
