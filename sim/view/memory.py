"""Memory over time under each policy, on one axis: the events of the recording.

Plans of one trace differ in length (a policy inserts page creations, submits, staging copies), so
each plan's figures are moved onto the recording's events: a plan event counts at the latest
recorded event realised by then, and where several plan events land on one recorded event the
largest value counts (a recorded event no plan event realises, such as a command of an encoder the
program never submitted, keeps the value before it). Three figures: the bytes the live logical
allocations asked for, each given back after its last use (the floor's own count: the least any
pool could hold; the trace's, the same for every policy), the bytes the plan's physical buffers hold
(what the pool keeps), and the running total of bytes it created (what a pool that churns pays for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from ..metrics import memory
from ..metrics.floor import Lifetimes
from ..plan import Plan
from .bins import BINS, edges, peaks


@dataclass(frozen=True)
class PlanMemory:
    """One plan's bytes held and created, per bin of recorded events, and where its submits fall."""

    held: list[int]
    created: list[int]
    submits: list[int]  # the first recorded event of each bin that holds a submit
    submit_counts: list[int]


def axis(source: Trace, bins: int = BINS) -> list[int]:
    """The first recorded event of each bin: the x values every series of this trace shares."""
    return edges(len(source), bins).tolist()


def live_logical(source: Trace, bins: int = BINS) -> list[int]:
    """Bytes of the live logical allocations after each recorded event, binned by peak."""
    life = Lifetimes.of(source)
    delta = np.zeros(len(source) + 1, dtype=np.int64)
    np.add.at(delta, np.minimum(life.first, len(source)), life.size)
    np.add.at(delta, np.minimum(life.last + 1, len(source)), -life.size)
    return peaks(np.cumsum(delta[:-1]), bins).tolist()


def position(plan: Plan) -> np.ndarray:
    """The recorded event each plan event counts at: the latest one realised so far."""
    origin = plan.origin.astype(np.int64)
    return np.maximum(np.maximum.accumulate(origin), 0) if len(origin) else origin


def plan_memory(plan: Plan, bins: int = BINS) -> PlanMemory:
    """``plan``'s memory on the recording's events."""
    n, trace = len(plan.source), plan.trace
    pos = position(plan)
    held, _ = memory(plan)
    made = np.zeros(len(trace), dtype=np.int64)
    creates = trace.where(Kind.BUFFER_CREATE)
    made[creates] = trace.args[creates, 1]
    series = []
    for values in (held, np.cumsum(made)):
        at = np.full(n, -1, dtype=np.int64)
        np.maximum.at(at, pos, values)
        filled = np.maximum.accumulate(np.where(at >= 0, np.arange(n), 0)) if n else at
        series.append(peaks(np.maximum(at[filled], 0), bins).tolist())
    first = edges(n, bins)
    bin_of = np.searchsorted(first, pos[trace.where(Kind.SUBMIT)], side="right") - 1
    counts = np.bincount(bin_of, minlength=len(first))
    marked = np.flatnonzero(counts)
    return PlanMemory(series[0], series[1], first[marked].tolist(), counts[marked].tolist())
