"""Deterministic metrics of a plan: memory over time, the calls it makes, and their predicted CPU cost.

``reserved`` is the bytes of physical buffers alive after each plan event (pages, staging buffers,
the program's own unpooled buffers); ``in_use`` the bytes the live logical allocations asked for.
Fragmentation is the reserved share not in use. Everything is integer arithmetic over the plan's
columns, except the cost model's float sums, which run in a fixed order: same plan, same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ...traces import Kind
from ..plan import Plan
from .cost import DEFAULT, Costs, predict

SAMPLES = 64


@dataclass
class Metrics:
    """One plan's figures. ``series`` samples ``reserved`` and ``in_use`` at up to SAMPLES event buckets
    (the maximum within each), with the bucket's first plan event index."""

    pool: str
    passes: str
    events: int
    buffers_created: int
    buffers_destroyed: int
    peak_reserved_bytes: int
    peak_in_use_bytes: int
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

    return Metrics(
        pool=plan.pool,
        passes=plan.passes,
        events=len(trace),
        buffers_created=int(counts[Kind.BUFFER_CREATE]),
        buffers_destroyed=int(counts[Kind.BUFFER_DESTROY]),
        peak_reserved_bytes=int(reserved.max()) if len(reserved) else 0,
        peak_in_use_bytes=int(in_use.max()) if len(in_use) else 0,
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
        cost_us=predict(trace, costs),
        series={"event": edges, "reserved": reserved_series, "in_use": in_use_series},
    )
