"""The memory a perfect planner would need: the floor of a trace, and an offline planner's arena.

Every lifetime is known in a trace, so two references bound what any pool can do with its buffers:

- the **floor**: the peak, over the program's events, of the bytes its live logical allocations
  asked for. No pool can hold them in less. An allocation is live from its creation through the
  event after which a pool that knows every lifetime takes it back (``LogicalProgram.freed_after``:
  its destroy or its last use, whichever is later), the rule the planner frees pooled allocations by.
- the **offline planner**: one arena, each allocation at an offset placed by greedy by size
  (Pisarchyk & Lee 2020, "Efficient Memory Management for Deep Neural Net Inference"; TensorFlow
  Lite's GPU memory planner): the largest first, each into the smallest gap between the allocations
  already placed whose lifetimes overlap its own, else past the last of them. Offsets keep the
  device's binding offset alignment, as a pool's slices do, so it is a pool a WebGPU runtime could
  run; its arena is never below the floor.

A pool's peak over the floor is what fragmentation and caching cost; the offline arena over the
floor, what placement alone costs when nothing is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Trace
from ..planner.program import LogicalProgram
from ..policies.device import Device

SPANNING = 64  # buckets an allocation may span and still be listed in each (see greedy_by_size)


@dataclass(frozen=True)
class Lifetimes:
    """One row per logical allocation: bytes asked for, and the first and last event it is live at (inclusive)."""

    size: np.ndarray
    first: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, trace: Trace) -> Lifetimes:
        program = LogicalProgram.of(trace)
        return cls(program.size.astype(np.int64), program.creates.astype(np.int64), program.freed_after())


@dataclass(frozen=True)
class Floor:
    """A trace's floor and the offline planner's arena (``offline_bytes``), for offsets aligned to ``alignment``."""

    floor_bytes: int
    offline_bytes: int
    alignment: int


def peak_live_bytes(life: Lifetimes) -> int:
    """The most bytes live at one event: the running sum over the lifetimes' ends in time order, read where
    the time changes (memory in allocations, not in events: a trace of 100 M events has 13.7 M buffers)."""
    if not len(life.size):
        return 0
    at = np.concatenate([life.first, life.last + 1])
    order = np.argsort(at, kind="stable")
    at = at[order]
    running = np.cumsum(np.concatenate([life.size, -life.size]).astype(np.int64)[order])
    return int(running[np.append(at[1:] != at[:-1], True)].max())


def greedy_by_size(life: Lifetimes, alignment: int = 1) -> tuple[np.ndarray, int]:
    """Offsets of greedy by size and the arena they need (the end of the highest allocation).

    Allocations are placed largest first (ties: the earlier-created first, then the lower index).
    Each goes into the smallest gap, between the placed allocations whose lifetimes overlap its own
    (ordered by offset, then by when they were placed), that holds it, else right after the highest
    of them; gaps start at offsets rounded up to ``alignment``.

    Finding the placed allocations that overlap one in time is what costs: the published algorithm
    scans every placed one (quadratic in allocations; a long trace has hundreds of thousands). Here
    time is cut into buckets about a typical lifetime wide, and every allocation is listed, once and
    for all, in the buckets it spans (one sorted table, not a list per bucket: a trace of 100 M events
    has tens of millions of buckets), or, when it spans many, in one list every search reads; a
    search reads only the buckets its lifetime spans, and keeps the allocations already placed. Its
    cost is then the allocations alive around it, not all of them.
    """
    n = len(life.size)
    offsets = np.zeros(n, dtype=np.int64)
    if not n:
        return offsets, 0
    width = max(1, int(np.median(life.last - life.first + 1)))
    lo, hi = life.first // width, life.last // width
    spanning = np.flatnonzero(hi - lo > SPANNING)  # listed apart: every search reads them
    listed = np.flatnonzero(hi - lo <= SPANNING)
    count = (hi - lo + 1)[listed]
    narrow = np.int32 if max(n, int(hi.max()) + 2, int(count.sum())) < 2**31 else np.int64  # one type per search
    bucket = np.repeat((lo[listed] - np.cumsum(count) + count).astype(narrow), count)
    bucket += np.arange(int(count.sum()), dtype=narrow)
    by_bucket = np.argsort(bucket, kind="stable")
    bucket = bucket[by_bucket]
    member = listed.astype(narrow)[np.searchsorted(np.cumsum(count), by_bucket, side="right")]
    bounds = np.stack([lo, hi + 1], axis=1).astype(narrow)
    del by_bucket, lo, hi, listed, count
    placed = np.zeros(n, dtype=bool)
    rank = np.zeros(n, dtype=np.int64)  # when each was placed
    total = 0
    order = np.lexsort((np.arange(n), life.first, -life.size))
    for part in range(0, n, 1 << 16):
        for k, i in enumerate(order[part:part + (1 << 16)].tolist(), start=part):
            s, e = np.searchsorted(bucket, bounds[i])
            near = member[s:e]
            ids = np.unique(np.concatenate([spanning[placed[spanning]], near[placed[near]]]))
            ids = ids[(life.first[ids] <= life.last[i]) & (life.last[ids] >= life.first[i])]
            ids = ids[np.lexsort((rank[ids], offsets[ids]))]
            offset = _gap(offsets[ids], life.size[ids], int(life.size[i]), alignment)
            offsets[i], rank[i], placed[i] = offset, k, True
            total = max(total, offset + int(life.size[i]))
    return offsets, total


def _gap(starts: np.ndarray, sizes: np.ndarray, size: int, alignment: int) -> int:
    """Where an allocation of ``size`` goes among others at ``starts`` (ascending): the start of the
    smallest gap before one of them that holds it (the first such gap on a tie), else past them all."""
    ends = -(-(starts + sizes) // alignment) * alignment
    before = np.concatenate([[0], np.maximum.accumulate(ends)[:-1]]) if len(ends) else ends
    gaps = starts - before
    fits = np.flatnonzero(gaps >= size)
    if len(fits):
        return int(before[fits[np.argmin(gaps[fits])]])
    return int(ends.max()) if len(ends) else 0


def floor_of(trace: Trace, limits: dict | None = None) -> Floor:
    """The floor of ``trace`` and its offline arena at the binding offset alignment (the larger of
    storage's and uniform's) of the device of ``limits`` (by default the recording's), cached on the
    trace: every policy's plan shares them."""
    device = Device.from_limits(trace.limits if limits is None else limits)
    alignment = device.binding_alignment
    key = f"sim.floor.{alignment}"
    cached = trace._cache.get(key)
    if cached is None:
        life = Lifetimes.of(trace)
        cached = trace._cache[key] = Floor(peak_live_bytes(life), greedy_by_size(life, alignment)[1], alignment)
    return cached
