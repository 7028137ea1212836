"""Deterministic metrics of a plan: memory over time, the calls it makes, and their predicted CPU cost.

``reserved`` is the bytes of physical buffers alive after each plan event (pages, staging buffers,
the program's own unpooled buffers); ``in_use`` the bytes the live logical allocations asked for.
Fragmentation is the reserved share not in use. The floor and the offline planner's arena
(``floor.py``) are the trace's, not the plan's: what any policy is measured against. Everything is
integer arithmetic over the plan's columns, except the cost model's float sums, which run in a fixed
order: same plan, same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ...traces import Kind, Trace
from ..footprint.formats import Block, block
from ..plan import Plan
from .cost import DEFAULT, Costs, predict
from .floor import floor_of

SAMPLES = 64


@dataclass
class Metrics:
    """One plan's figures. ``series`` samples ``reserved`` and ``in_use`` at up to SAMPLES event buckets
    (the maximum within each), with the bucket's first plan event index.

    The render side (0 for a compute program): ``render_passes`` begun, ``draws`` recorded (into render
    passes and bundles), bundles run by ``execute_bundles`` (``bundles_executed``), ``textures_created``
    and the bytes of the textures alive at once at most (``peak_texture_bytes``: every mip and layer,
    times the sample count, by the format's texel block), and ``texture_uploads`` (``write_texture``
    calls and copies from a buffer into a texture) with the texel bytes they fill
    (``texture_bytes_uploaded``: whole blocks of their extents, so an upload counts the same bytes
    whether it is written or staged and copied).

    ``peak_in_use_bytes`` is this plan's: a pooled allocation gives its bytes back after its last use,
    a buffer the plan leaves unpooled (every one under ``exclusive``) when the program destroys it.
    ``floor_bytes`` is the trace's floor, the least any pool could reserve at its peak (every
    allocation given back after its last use; ``floor.py``), and ``offline_peak_bytes`` the arena an
    offline greedy-by-size planner lays every allocation out in: the same for every policy of a
    trace, so each plan's ``peak_reserved_bytes`` reads as a ratio to them.
    """

    pool: str
    passes: str
    events: int
    buffers_created: int
    buffers_destroyed: int
    peak_reserved_bytes: int
    peak_in_use_bytes: int
    floor_bytes: int
    offline_peak_bytes: int
    final_reserved_bytes: int
    fragmentation_at_peak: float
    mean_fragmentation: float
    passes_begun: int
    encoders: int
    submits: int
    dispatches: int
    copies: int
    clears: int
    queue_writes: int
    bytes_written: int
    mapped_writes: int
    staged_bytes: int
    reads: int
    bytes_read: int
    bind_groups: int
    set_pipelines: int
    set_bind_groups: int
    render_passes: int = 0
    draws: int = 0
    bundles_executed: int = 0
    textures_created: int = 0
    peak_texture_bytes: int = 0
    texture_uploads: int = 0
    texture_bytes_uploaded: int = 0
    cost_us: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def memory(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Bytes reserved (live physical buffers) and in use (live allocations) after each plan event."""
    trace, m = plan.trace, len(plan.trace)
    delta = np.zeros(m + 1, dtype=np.int64)
    creates = np.flatnonzero(trace.kind == Kind.BUFFER_CREATE)
    size = trace.args[creates, 1]
    np.add.at(delta, creates, size)
    destroys = np.flatnonzero(trace.kind == Kind.BUFFER_DESTROY)
    first = np.full(len(creates), m, dtype=np.int64)
    np.minimum.at(first, trace.args[destroys, 0], destroys)
    np.add.at(delta, first, -size)
    reserved = np.cumsum(delta[:m])
    a = plan.allocations
    delta[:] = 0
    np.add.at(delta, np.minimum(a.start, m), a.size)
    np.add.at(delta, np.minimum(a.end, m), -a.size)
    return reserved, np.cumsum(delta[:m])


def texture_memory(trace: Trace) -> np.ndarray:
    """Bytes of the textures alive after each event (created, and not yet destroyed or dropped)."""
    m = len(trace)
    creates = np.flatnonzero(trace.kind == Kind.TEXTURE_CREATE)
    if not len(creates):
        return np.zeros(m, dtype=np.int64)
    size = _texture_sizes(trace, creates)
    destroys = np.flatnonzero(trace.kind == Kind.TEXTURE_DESTROY)
    first = np.full(len(creates), m, dtype=np.int64)
    np.minimum.at(first, trace.args[destroys, 0], destroys)
    delta = np.zeros(m + 1, dtype=np.int64)
    np.add.at(delta, creates, size)
    np.add.at(delta, first, -size)
    return np.cumsum(delta[:m])


def _texture_sizes(trace: Trace, creates: np.ndarray) -> np.ndarray:
    """Bytes of each texture: whole texel blocks of every mip level and layer, times its sample count."""
    a = trace.args[creates]
    descriptor = trace.rows[trace.row_start[creates]]
    mips, samples, dimension = np.clip(descriptor[:, 0], 1, 32), np.maximum(descriptor[:, 1], 1), descriptor[:, 2]
    blocks = [block(trace.strings[int(f)]) or Block(0) for f in a[:, 4].tolist()]
    block_bytes, block_w, block_h = (np.array([b[j] for b in blocks], dtype=np.int64) for j in range(3))
    out = np.zeros(len(creates), dtype=np.int64)
    is_3d = dimension == 3
    for level in range(int(mips.max())):
        live = level < mips
        w = np.maximum(a[:, 1] >> level, 1)
        h = np.where(dimension == 1, 1, np.maximum(a[:, 2] >> level, 1))
        d = np.where(is_3d, np.maximum(a[:, 3] >> level, 1), np.maximum(a[:, 3], 1))
        out += np.where(live, -(-w // block_w) * -(-h // block_h) * d * block_bytes, 0)
    return out * samples


def _uploaded_bytes(trace: Trace) -> tuple[int, int]:
    """How many texture uploads (write_texture, copy_buffer_to_texture) and the texel bytes of their extents."""
    uploads = np.flatnonzero(np.isin(trace.kind, (Kind.WRITE_TEXTURE, Kind.COPY_BUFFER_TO_TEXTURE)))
    if not len(uploads):
        return 0, 0
    creates = np.flatnonzero(trace.kind == Kind.TEXTURE_CREATE)
    formats = trace.args[creates, 4]
    texture = np.where(trace.kind[uploads] == Kind.WRITE_TEXTURE, trace.args[uploads, 0], trace.args[uploads, 2])
    extent = trace.rows[trace.row_start[uploads] + 2]
    total = 0
    for t, (w, h, d) in zip(texture.tolist(), extent[:, :3].tolist(), strict=True):
        b = block(trace.strings[int(formats[t])]) or Block(0)
        total += -(-w // b.width) * -(-h // b.height) * d * b.bytes
    return len(uploads), int(total)


def _sample(values: np.ndarray) -> tuple[list[int], list[int]]:
    if not len(values):
        return [], []
    edges = np.unique(np.linspace(0, len(values), SAMPLES + 1, dtype=np.int64)[:-1])
    return edges.tolist(), np.maximum.reduceat(values, edges).tolist()


def simulate(plan: Plan, costs: Costs = DEFAULT) -> Metrics:
    """The metrics of ``plan``; identical inputs give identical outputs."""
    trace = plan.trace
    counts = np.bincount(trace.kind, minlength=max(Kind) + 1)
    reserved, in_use = memory(plan)
    slack = np.where(reserved > 0, (reserved - in_use) / np.maximum(reserved, 1), 0.0)
    live = reserved > 0
    peak = int(np.argmax(reserved)) if len(reserved) else 0
    edges, reserved_series = _sample(reserved)
    _, in_use_series = _sample(in_use)

    def total(kind: Kind) -> int:
        return int(trace.args[trace.kind == kind, 2].sum())

    uploads, uploaded = _uploaded_bytes(trace)
    textures = texture_memory(trace)
    executes = trace.kind == Kind.EXECUTE_BUNDLES
    floor = floor_of(plan.source, trace.limits)

    return Metrics(
        pool=plan.pool,
        passes=plan.passes,
        events=len(trace),
        buffers_created=int(counts[Kind.BUFFER_CREATE]),
        buffers_destroyed=int(counts[Kind.BUFFER_DESTROY]),
        peak_reserved_bytes=int(reserved.max()) if len(reserved) else 0,
        peak_in_use_bytes=int(in_use.max()) if len(in_use) else 0,
        floor_bytes=floor.floor_bytes,
        offline_peak_bytes=floor.offline_bytes,
        final_reserved_bytes=int(reserved[-1]) if len(reserved) else 0,
        fragmentation_at_peak=round(float(slack[peak]), 6) if len(slack) else 0.0,
        mean_fragmentation=round(float(slack[live].mean()), 6) if live.any() else 0.0,
        passes_begun=int(counts[Kind.PASS_BEGIN]),
        encoders=int(counts[Kind.ENCODER_CREATE]),
        submits=int(counts[Kind.SUBMIT]),
        dispatches=int(counts[Kind.DISPATCH] + counts[Kind.DISPATCH_INDIRECT]),
        copies=int(counts[Kind.COPY]),
        clears=int(counts[Kind.CLEAR]),
        queue_writes=int(counts[Kind.WRITE_BUFFER]),
        bytes_written=total(Kind.WRITE_BUFFER),
        mapped_writes=int(counts[Kind.MAPPED_WRITE]),
        staged_bytes=total(Kind.MAPPED_WRITE),
        reads=int(counts[Kind.QUEUE_READ] + counts[Kind.READ]),
        bytes_read=total(Kind.QUEUE_READ) + total(Kind.READ),
        bind_groups=int(counts[Kind.BIND_GROUP]),
        set_pipelines=int(counts[Kind.SET_PIPELINE]),
        set_bind_groups=int(counts[Kind.SET_BIND_GROUP]),
        render_passes=int(counts[Kind.RENDER_PASS_BEGIN]),
        draws=int(counts[Kind.DRAW] + counts[Kind.DRAW_INDEXED] + counts[Kind.DRAW_INDIRECT]
                  + counts[Kind.DRAW_INDEXED_INDIRECT]),
        bundles_executed=int(trace.nrows[executes].sum()),
        textures_created=int(counts[Kind.TEXTURE_CREATE]),
        peak_texture_bytes=int(textures.max()) if len(textures) else 0,
        texture_uploads=uploads,
        texture_bytes_uploaded=uploaded,
        cost_us=predict(trace, costs),
        series={"event": edges, "reserved": reserved_series, "in_use": in_use_series},
    )
