"""When each event of a plan happens on the host, in microseconds: the recording's clock or the cost model's.

A plan that keeps the program's encoders, passes and submits (``--pass as-recorded``) runs its calls
when the program made them, so its events carry the recording's host clock. A re-recorded plan never
ran: its events are laid end to end, each lasting what the cost model predicts for it
(``cost.event_costs``), so the events' durations add up to the total ``simulate`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import Costs
from ..metrics.cost import event_costs
from ..plan import Plan

HOST = "host"
MODEL = "cost model"


@dataclass(frozen=True)
class Clock:
    """Each plan event's start and end in microseconds from the first, and which clock gave them."""

    start: np.ndarray
    end: np.ndarray
    source: str
    detail: str


def clock(plan: Plan, costs: Costs) -> Clock:
    """The host clock for an as-recorded pass policy, the cost model's for any other."""
    trace = plan.trace
    if plan.passes == "as-recorded":
        t = np.maximum.accumulate(trace.t.astype(np.int64)) if len(trace) else trace.t.astype(np.int64)
        start = (t - (t[0] if len(t) else 0)) / 1000.0
        end = np.append(start[1:], start[-1:])
        return Clock(start, end, HOST, "the recording's host clock: each call starts when the program made it "
                                       "and lasts until the next")
    cost = event_costs(trace, costs)
    end = np.cumsum(cost)
    return Clock(end - cost, end, MODEL, f"the cost model's prediction laid end to end ({costs.source})")
