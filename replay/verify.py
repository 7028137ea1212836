"""Checking what a replay read back: against the recording, and against the program-order reference.

Reads are matched by the SOURCE event they realise (``plan.origin``), so a read is compared with
the same logical read of the recording and of the reference whatever the policies did to buffers,
passes and submits. The reference is the program run in program order: a buffer per allocation
and a submit before every queue write, so no write can overtake a recorded command.

Reads are buffer reads (``read_mapped``, ``queue.read_buffer``) and texture reads
(``queue.read_texture``); a buffer read of bytes a ``copy_texture_to_buffer`` put there is a
texture read-back too (a frame, where the texture is a render target). On the recording's own
adapter every read must be the recorded bytes exactly. On another adapter, texture read-backs of
float and normalized formats are compared with the recorded bytes within a per-format tolerance
(``TOLERANCES``: rasterisers round differently), and nothing else is. Reads of buffers that hold
resolved timestamps are never compared: timestamps differ on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..sim import planner
from ..sim.plan import Plan
from ..traces import Kind, Obj, Trace
from ..traces.digest import digest
from ..traces.errors import InputError
from ..traces.schema import KIND_NAMES, SPECS, AttachmentOps, TextureUsage
from .render import has_render, timestamp_buffers

READS = (Kind.READ, Kind.QUEUE_READ, Kind.READ_TEXTURE)
REFERENCE = ("exclusive", "batched/flush-write")
# where a read's size and payload blob are: buffer reads (buffer, offset, size, payload, hi, lo); texture
# reads (texture, size, payload, hi, lo)
_SIZE = {int(Kind.READ): 2, int(Kind.QUEUE_READ): 2, int(Kind.READ_TEXTURE): 1}


def reference_plan(trace: Trace) -> Plan:
    """The plan whose reads every other plan's reads must equal: the program in program order.

    A buffer per allocation (nothing reused) and a submit before every queue write (nothing
    overtaken); batching passes changes no order, since wgpu orders commands within an encoder.
    A trace the planner does not re-plan (render work, while sim/planner refuses it) gets
    ``program_order_plan``: the same order, made here from the program's own encoders.
    """
    try:
        return planner.plan(trace, *REFERENCE)
    except InputError:
        if not has_render(trace):
            raise
        return program_order_plan(trace)


# -- tolerances -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    """Texels of a format compared as ``dtype`` values: within ``atol`` (integers) or ``rtol`` (floats)."""

    name: str
    dtype: str
    atol: float = 0.0
    rtol: float = 0.0

    def differ(self, a: bytes, b: bytes) -> int | None:
        """How many values of ``a`` and ``b`` differ beyond the tolerance; None when they cannot be compared."""
        size = np.dtype(self.dtype).itemsize
        if len(a) != len(b) or len(a) % size:
            return None
        x, y = np.frombuffer(a, self.dtype), np.frombuffer(b, self.dtype)
        if self.rtol:
            same = np.isclose(x.astype(np.float64), y.astype(np.float64), rtol=self.rtol, atol=1e-6, equal_nan=True)
        else:
            same = np.abs(x.astype(np.int64) - y.astype(np.int64)) <= self.atol
        return int(len(x) - np.count_nonzero(same))


TOLERANCES = (
    (re.compile(r"(r|rg|rgba|bgra)8unorm(-srgb)?"), Tolerance("unorm8: ±1 per channel", "u1", atol=1)),
    (re.compile(r"(r|rg|rgba)8snorm"), Tolerance("snorm8: ±1 per channel", "i1", atol=1)),
    (re.compile(r"(r|rg|rgba)16unorm|depth16unorm"), Tolerance("unorm16: ±1 per channel", "<u2", atol=1)),
    (re.compile(r"(r|rg|rgba)16snorm"), Tolerance("snorm16: ±1 per channel", "<i2", atol=1)),
    (re.compile(r"(r|rg|rgba)16float"), Tolerance("float16: relative 1e-3", "<f2", rtol=1e-3)),
    (re.compile(r"(r|rg|rgba)32float|depth32float"), Tolerance("float32: relative 1e-3", "<f4", rtol=1e-3)),
)


def tolerance_of(texture_format: str) -> Tolerance | None:
    """The tolerance texels of ``texture_format`` are compared with across devices; None: exactly (integers,
    packed formats, stencil)."""
    for pattern, tolerance in TOLERANCES:
        if pattern.fullmatch(texture_format):
            return tolerance
    return None


# -- what each read holds ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TextureRead:
    """A read of texels: the texture they came from, its format, and whether it is a render target."""

    texture: int
    format: str
    render_target: bool


def texture_reads(trace: Trace) -> dict[int, TextureRead]:
    """Reads of texels, by read event: every read_texture, and every buffer read whose range a
    copy_texture_to_buffer into that buffer (the last one before the read) wrote."""
    creates = trace.where(Kind.TEXTURE_CREATE)
    if not len(creates):
        return {}
    formats = [trace.strings[int(s)] for s in trace.args[creates, 4].tolist()]
    targets = [bool(int(trace.rows_of(int(i))[0, 3]) & TextureUsage.RENDER_ATTACHMENT) for i in creates.tolist()]
    out: dict[int, TextureRead] = {}
    last_copy: dict[int, tuple[int, int, int]] = {}  # buffer -> (texture, first byte, end byte) of the last copy
    for i in trace.where(Kind.COPY_TEXTURE_TO_BUFFER, *READS).tolist():
        k, a = trace.kind[i], trace.args[i]
        if k == Kind.COPY_TEXTURE_TO_BUFFER:
            _, layout, extent = trace.rows_of(i).tolist()
            bpr = layout[1] if layout[1] > 0 else 0
            rows = (layout[2] if layout[2] > 0 else extent[1]) * max(extent[2], 1)
            last_copy[int(a[2])] = (int(a[1]), layout[0], layout[0] + max(bpr * rows, 1))
        elif k == Kind.READ_TEXTURE:
            t = int(a[0])
            out[i] = TextureRead(t, formats[t], targets[t])
        elif int(a[0]) in last_copy:
            t, lo, hi = last_copy[int(a[0])]
            if a[1] < hi and a[1] + a[2] > lo:
                out[i] = TextureRead(t, formats[t], targets[t])
    return out


@dataclass
class Divergence:
    """One read whose bytes differ from the recording's or the reference's."""

    event: int
    source: int
    kind: str
    site: str
    buffer: int
    offset: int
    size: int
    against: str
    differ: int | None
    texture: int = -1  # the texture read (read_texture, or copied into the buffer read), -1 none
    unit: str = "bytes"

    def line(self) -> str:
        what = "differs (digest)" if self.differ is None else f"{self.differ} of {self.size} {self.unit} differ"
        if self.kind == "read_texture":
            where = f"texture {self.texture}"
        else:
            where = f"buffer {self.buffer} [{self.offset}, {self.offset + self.size})"
            if self.texture >= 0:
                where += f", texels of texture {self.texture}"
        return (f"{self.kind} at {self.site} (source event {self.source}, plan event {self.event}, {where}): "
                f"{what} from the {self.against}")


@dataclass
class Verdict:
    """How many reads were compared with what, and every divergence found.

    ``recording``: how reads were compared with the recording: "exact" (the recording's adapter,
    or a trace whose results are portable), "tolerance" (another adapter: texture read-backs within
    their format's tolerance, nothing else), or "none". ``frames``: texture read-backs compared
    with something (``render_frames`` of them read render targets); ``timestamp_reads``: reads
    left out because they hold timestamps.
    """

    reads: int = 0
    vs_recording: int = 0
    vs_reference: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    recording: str = "exact"
    within_tolerance: int = 0
    tolerances: list[str] = field(default_factory=list)
    frames: int = 0
    render_frames: int = 0
    timestamp_reads: int = 0

    @property
    def ok(self) -> bool:
        return not self.divergences


def keyed(plan: Plan, reads: list[tuple[int, bytes]]) -> dict[int, bytes]:
    """A run's reads keyed by the source event they realise (reads a policy inserted are left out)."""
    origin = plan.origin
    return {int(origin[i]): data for i, data in reads if origin[i] >= 0}


def unverifiable(plan: Plan) -> set[int]:
    """Plan events of reads that hold resolved timestamps (never the same twice)."""
    trace = plan.trace
    if not has_render(trace):
        return set()
    stamped = timestamp_buffers(trace)
    if not stamped:
        return set()
    reads = trace.where(Kind.READ, Kind.QUEUE_READ)
    return {int(i) for i in reads[np.isin(trace.args[reads, 0], list(stamped))].tolist()}


def bytes_differ(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    same = np.frombuffer(a, np.uint8, n) == np.frombuffer(b, np.uint8, n)
    return int(n - np.count_nonzero(same)) + abs(len(a) - len(b))


def verify(plan: Plan, reads: list[tuple[int, bytes]], reference: dict[int, bytes] | None,
           recording: bool, tolerance: bool = False) -> Verdict:
    """Compare each read with the reference's read of the same source event, and with the recording's
    bytes or digest when ``recording`` (every write replayed its recorded payload; the recording's
    adapter). With ``tolerance`` instead (another adapter), texture read-backs that have recorded
    bytes are compared with them within their format's tolerance."""
    trace, source = plan.trace, plan.source
    verdict = Verdict(recording="exact" if recording else "tolerance" if tolerance else "none")
    textures = texture_reads(trace) if has_render(trace) else {}
    skip = unverifiable(plan)
    tolerances: set[str] = set()
    for i, data in reads:
        src = int(plan.origin[i])
        if src < 0:
            continue
        if i in skip:
            verdict.timestamp_reads += 1
            continue
        verdict.reads += 1
        a = trace.args[i]
        texel = textures.get(i)
        is_texture = int(trace.kind[i]) == Kind.READ_TEXTURE

        def diverged(against: str, differ: int | None, unit: str = "bytes", i: int = i, a: np.ndarray = a,
                     src: int = src, texel: TextureRead | None = texel, is_texture: bool = is_texture) -> None:
            verdict.divergences.append(Divergence(
                event=i, source=src, kind=KIND_NAMES[int(source.kind[src])], site=source.site_of(src),
                buffer=-1 if is_texture else int(a[0]), offset=0 if is_texture else int(a[1]),
                size=int(a[1] if is_texture else a[2]), against=against, differ=differ,
                texture=texel.texture if texel else -1, unit=unit))

        compared = False
        if recording or (tolerance and texel is not None):
            rule = tolerance_of(texel.format) if texel is not None and not recording else None
            compared = _vs_recording(source, src, data, rule, recording, verdict, diverged)
            if compared and rule is not None:
                tolerances.add(rule.name)
        if reference is not None and src in reference:
            compared = True
            verdict.vs_reference += 1
            n = bytes_differ(data, reference[src])
            if n:
                diverged("reference", n)
        if texel is not None and compared:
            verdict.frames += 1
            verdict.render_frames += texel.render_target
    verdict.tolerances = sorted(tolerances)
    return verdict


def _vs_recording(source: Trace, src: int, data: bytes, rule: Tolerance | None, exact: bool, verdict: Verdict,
                  diverged: Callable[..., None]) -> bool:
    """Compare one read with the recording's: its bytes (exactly, or within ``rule``), or its digest when
    ``exact``; whether there was anything to compare with."""
    k = int(source.kind[src])
    if k not in _SIZE:
        return False
    s = _SIZE[k]
    blob, hi, lo = (int(x) for x in source.args[src, s + 1:s + 4])
    if 0 <= blob < len(source.blobs) and len(source.blobs[blob]) == int(source.args[src, s]):
        if not exact and rule is None:
            return False
        verdict.vs_recording += 1
        n = bytes_differ(data, source.blobs[blob])
        if n and rule is not None:
            within = rule.differ(data, source.blobs[blob])
            if within == 0:
                verdict.within_tolerance += 1
            else:
                diverged("recording", within, "values")
        elif n:
            diverged("recording", n)
        return True
    if exact and (hi or lo):
        verdict.vs_recording += 1
        if digest(data) != (hi, lo):
            diverged("recording", None)
        return True
    return False


# -- the program-order reference of render work ------------------------------------------------------

FLUSHED_BY = (Kind.WRITE_BUFFER, Kind.WRITE_TEXTURE, Kind.QUEUE_READ, Kind.READ_TEXTURE, Kind.MAP)
_ON_ENCODER = (Kind.COPY, Kind.CLEAR, Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
               Kind.COPY_TEXTURE_TO_TEXTURE, Kind.RESOLVE_QUERY_SET, Kind.WRITE_TIMESTAMP)
_BEGINS = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN)
_LOADS = int(AttachmentOps.LOAD | AttachmentOps.STENCIL_LOAD)
_STORES = int(AttachmentOps.STORE | AttachmentOps.STENCIL_STORE)
_READ_ONLY = int(AttachmentOps.READ_ONLY)
_STENCIL_READ_ONLY = int(AttachmentOps.STENCIL_READ_ONLY)
# per kind, the argument columns that name an encoder or a pass (renumbered by the rewrite)
_IDS = {int(k): [(j, f.obj) for j, f in enumerate(spec.args) if f.obj in (Obj.ENCODER, Obj.PASS)]
        for k, spec in SPECS.items()}


@dataclass
class _Open:
    """A pass open in an encoder the rewrite may split: the program's pass id, the plan event of its
    (latest) begin, the program's begin, and the state set in it: (kind, key) -> (kind, args, rows)."""

    pass_id: int
    render: bool
    begin: int
    source_begin: int
    state: dict[tuple[int, int], tuple[int, list[int], list[list[int]]]] = field(default_factory=dict)
    occlusion: bool = False


def _loads(ops: int) -> int:
    """The load bits of an attachment's continuation: every aspect that is not read-only loads."""
    return ((0 if ops & _READ_ONLY else int(AttachmentOps.LOAD))
            | (0 if ops & _STENCIL_READ_ONLY else int(AttachmentOps.STENCIL_LOAD)))


def _stores(ops: int) -> int:
    """The store bits of a pass split before its end: every aspect that is not read-only stores."""
    return ((0 if ops & _READ_ONLY else int(AttachmentOps.STORE))
            | (0 if ops & _STENCIL_READ_ONLY else int(AttachmentOps.STENCIL_STORE)))


class _ProgramOrder:
    """Rewrites a trace so that every queue write and read comes after the commands recorded before it:
    before each, every encoder the program submits later that holds commands not yet submitted is
    submitted (its open pass ended, then begun again in a fresh encoder, loading what it stored, with
    its pipeline, bind groups, vertex and index buffers and render state set again). An encoder inside
    an occlusion query is left as it is. Debug markers are left out (a group must not straddle a split).
    """

    def __init__(self, trace: Trace):
        self.trace = trace
        self.submitted = {int(r[0]) for i in trace.where(Kind.SUBMIT).tolist() for r in trace.rows_of(i).tolist()}
        self.kind: list[int] = []
        self.site: list[int] = []
        self.t: list[int] = []
        self.args: list[list[int]] = []
        self.rows: list[list[list[int]]] = []
        self.origin: list[int] = []
        self.stack: list[int] = []
        self.encoder: dict[int, int] = {}  # program encoder -> the plan encoder its commands go to now
        self.passes: dict[int, int] = {}  # program pass -> plan pass
        self.n_encoders = self.n_passes = 0
        self.pass_encoder: dict[int, int] = {}  # program pass -> program encoder
        self.made: dict[int, tuple[int, int]] = {}  # program encoder -> (label, device)
        self.dirty: set[int] = set()  # program encoders holding commands not submitted
        self.finished: set[int] = set()
        self.early: set[int] = set()  # finished encoders the rewrite submitted already
        self.open: dict[int, _Open] = {}  # program encoder -> its open pass

    def emit(self, kind: int, args: list[int], rows: list[list[int]], origin: int, at: int) -> int:
        self.kind.append(int(kind))
        self.site.append(int(self.trace.site[at]))
        self.t.append(int(self.trace.t[at]))
        self.args.append((list(args) + [0] * 6)[:6])
        self.rows.append(rows)
        self.origin.append(origin)
        stack = self.trace.stack
        self.stack.append(int(stack[at]) if stack is not None and origin >= 0 else -1)
        return len(self.kind) - 1

    def run(self) -> Plan:
        trace = self.trace
        for i in range(len(trace)):
            k = int(trace.kind[i])
            if k == Kind.DEBUG_MARKER:
                continue
            if k in FLUSHED_BY:
                self.flush(i)
            self.event(i, k, trace.args[i].tolist(), trace.rows_of(i).tolist())
        return self.plan()

    def event(self, i: int, k: int, a: list[int], rows: list[list[int]]) -> None:
        """Copy event ``i`` with its encoder and pass ids renumbered, keeping track of encoders and passes."""
        if k == Kind.ENCODER_CREATE:
            self.made[a[0]] = (a[1], a[2])
            self.encoder[a[0]] = self.n_encoders
            self.n_encoders += 1
        elif k in (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE):
            self.passes[a[0]] = self.n_passes
            self.n_passes += 1
        owner = self._owner(k, a)
        if k == Kind.SUBMIT:
            plan_rows = [[self.encoder[r[0]]] for r in rows if r[0] not in self.early]
            for r in rows:
                self.dirty.discard(r[0])
                self.early.discard(r[0])
            out = self.emit(k, a, plan_rows, i, i)
        else:
            out = self.emit(k, self._renumber(k, a), rows, i, i)
        if owner is None or owner not in self.submitted:
            return
        self.dirty.add(owner)
        if k == Kind.ENCODER_FINISH:
            self.finished.add(owner)
        elif k in _BEGINS:
            self.open[owner] = _Open(a[0], k == Kind.RENDER_PASS_BEGIN, out, i)
        elif k == Kind.PASS_END:
            self.open.pop(owner, None)
        elif owner in self.open:
            self._track(self.open[owner], k, a, rows)

    def _owner(self, k: int, a: list[int]) -> int | None:
        """The program encoder an encoder command or pass command goes into (None: neither)."""
        if k in _ON_ENCODER or k == Kind.ENCODER_FINISH:
            return a[0]
        if k in _BEGINS:
            self.pass_encoder[a[0]] = a[1]
            return a[1]
        ids = _IDS.get(k)
        if k == Kind.SUBMIT or not ids or ids[0][1] != Obj.PASS:
            return None
        return self.pass_encoder.get(a[ids[0][0]])

    def _renumber(self, k: int, a: list[int]) -> list[int]:
        a = list(a)
        for j, obj in _IDS.get(k, ()):
            table = self.encoder if obj == Obj.ENCODER else self.passes
            if a[j] >= 0:
                a[j] = table.get(a[j], a[j])
        return a

    @staticmethod
    def _track(state: _Open, k: int, a: list[int], rows: list[list[int]]) -> None:
        """The pass state a continuation must set again (WebGPU resets it after execute_bundles)."""
        if k in (Kind.SET_PIPELINE, Kind.SET_INDEX_BUFFER):
            state.state[(k, 0)] = (k, a, rows)
        elif k in (Kind.SET_BIND_GROUP, Kind.SET_VERTEX_BUFFER, Kind.RENDER_STATE):
            state.state[(k, a[1])] = (k, a, rows)
        elif k == Kind.BEGIN_OCCLUSION_QUERY:
            state.occlusion = True
        elif k == Kind.END_OCCLUSION_QUERY:
            state.occlusion = False
        elif k == Kind.EXECUTE_BUNDLES:
            state.state = {key: v for key, v in state.state.items() if key[0] == Kind.RENDER_STATE}

    def flush(self, at: int) -> None:
        """Submit, before event ``at``, what each encoder submitted later holds (see the class)."""
        pending = [e for e in sorted(self.dirty) if not (e in self.open and self.open[e].occlusion)]
        if not pending:
            return
        for e in pending:
            if e in self.finished:
                self.early.add(e)
                continue
            state = self.open.get(e)
            if state is not None:
                self.emit(Kind.PASS_END, [self.passes[state.pass_id]], [], -1, at)
                if state.render:  # what this part draws, the next part loads
                    self.rows[state.begin] = [[r[0], r[1], r[2], r[3] | _stores(r[3]), r[4]]
                                              for r in self.rows[state.begin]]
            self.emit(Kind.ENCODER_FINISH, [self.encoder[e]], [], -1, at)
        self.emit(Kind.SUBMIT, [self.made[pending[0]][1]], [[self.encoder[e]] for e in pending], -1, at)
        for e in pending:
            self.dirty.discard(e)
            if e in self.finished:
                continue
            self.encoder[e] = self.n_encoders
            self.n_encoders += 1
            self.emit(Kind.ENCODER_CREATE, [self.encoder[e], *self.made[e]], [], -1, at)
            state = self.open.get(e)
            if state is not None:
                self._begin_again(e, state, at)

    def _begin_again(self, e: int, state: _Open, at: int) -> None:
        """The split pass begun again in encoder ``e``'s fresh encoder, loading, with its state set again."""
        new = self.passes[state.pass_id] = self.n_passes
        self.n_passes += 1
        if state.render:
            first = self.args[state.begin]
            original = self.trace.rows_of(state.source_begin).tolist()
            rows = [[r[0], r[1], r[2], r[3] | _loads(r[3]), r[4]] for r in original]
            state.begin = self.emit(Kind.RENDER_PASS_BEGIN, [new, self.encoder[e], first[2], first[3]], rows, -1, at)
        else:
            state.begin = self.emit(Kind.PASS_BEGIN, [new, self.encoder[e]], [], -1, at)
        for k, a, rows in state.state.values():
            self.emit(k, [new, *a[1:]], rows, -1, at)

    def plan(self) -> Plan:
        trace = self.trace
        n = len(self.kind)
        rows = [r for rs in self.rows for r in rs]
        out = Trace(header=dict(trace.header), kind=np.array(self.kind, dtype=np.uint8),
                    t=np.array(self.t, dtype=np.int64), site=np.array(self.site, dtype=np.int32),
                    args=np.array(self.args, dtype=np.int64).reshape(n, 6),
                    nrows=np.array([len(r) for r in self.rows], dtype=np.int32),
                    rows=np.array([(list(r) + [0] * 5)[:5] for r in rows], dtype=np.int64).reshape(len(rows), 5),
                    strings=trace.strings, blobs=trace.blobs, end={"events": n},
                    stack=None if trace.stack is None else np.array(self.stack, dtype=np.int32))
        allocations = Plan.as_recorded(out).allocations
        return Plan(trace=out, origin=np.array(self.origin, dtype=np.int64), allocations=allocations, source=trace,
                    pool="exclusive", passes="program-order")


def program_order_plan(trace: Trace) -> Plan:
    """The program-order reference of a trace with render work, from its own encoders (see ``_ProgramOrder``)."""
    return _ProgramOrder(trace).run()
