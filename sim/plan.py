"""A plan: the physical program a policy produces, and how logical allocations map onto it.

The physical program is itself a Trace (same vocabulary, physical buffers), so the checker, the
simulator and the replayer read recorded traces and planned programs alike. A recorded trace is
the plan its program ran: ``Plan.as_recorded`` wraps it with the identity mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..traces import Kind, Trace


@dataclass(eq=False)
class Allocations:
    """One row per logical allocation (a buffer of the source program), columns as numpy arrays.

    ``buffer``/``offset`` say which physical range backs it; ``size`` is what the program asked for
    and ``reserved`` what the pool set aside (padding included). ``start``/``end`` are plan event
    indices: the allocation is live from ``start`` up to, not including, ``end``.
    """

    buffer: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    reserved: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.buffer)

    def at(self, buffer: int, lo: int, hi: int, event: int) -> np.ndarray:
        """Logical allocations live at ``event`` whose range overlaps bytes [lo, hi) of ``buffer``."""
        hit = ((self.buffer == buffer) & (self.offset < hi) & (self.offset + self.reserved > lo)
               & (self.start <= event) & (self.end > event))
        return np.flatnonzero(hit)


@dataclass(eq=False)
class Plan:
    """What to run (``trace``), where each event came from, and which policy made it.

    ``origin[i]`` is the index in ``source`` of the event plan event ``i`` realises, or -1 for
    events the policy inserted (a submit it forced, a staging buffer, a page it created).
    """

    trace: Trace
    origin: np.ndarray
    allocations: Allocations
    source: Trace
    pool: str = "as-recorded"
    passes: str = "as-recorded"

    @classmethod
    def as_recorded(cls, trace: Trace) -> Plan:
        """The plan a recorded program ran: every buffer is its own allocation, at offset 0."""
        n = len(trace)
        creates = trace.where(Kind.BUFFER_CREATE)
        destroys = trace.where(Kind.BUFFER_DESTROY)
        end = np.full(len(creates), n, dtype=np.int64)
        ids = trace.args[destroys, 0]
        # the first destroy ends the allocation; later ones (destroy then drop) change nothing
        np.minimum.at(end, ids, destroys)
        sizes = trace.args[creates, 1].copy()
        allocations = Allocations(
            buffer=np.arange(len(creates), dtype=np.int64),
            offset=np.zeros(len(creates), dtype=np.int64),
            size=sizes,
            reserved=sizes.copy(),
            start=creates.astype(np.int64),
            end=end,
        )
        return cls(trace=trace, origin=np.arange(n, dtype=np.int64), allocations=allocations, source=trace)
