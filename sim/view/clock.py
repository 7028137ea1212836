"""When each event of a plan happens on the host, in microseconds: the recording's clock or the cost model's.

A plan that keeps the program's encoders, passes and submits (``--pass as-recorded``) runs its calls
when the program made them, so its events carry the recording's host clock. A re-recorded plan never
ran: its events are laid end to end, each lasting what the cost model predicts for it. The model is
linear (a call's figure plus a per-MiB figure times its bytes), so each kind's figures are read off
``predict`` for one call of that kind: this module needs nothing of the model but its public face,
and the events' durations add up to the total ``simulate`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Trace
from ...traces.schema import N_ARGS, ROW_WIDTH
from ..metrics import Costs, predict
from ..plan import Plan

MIB = 1 << 20
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


def event_costs(trace: Trace, costs: Costs) -> np.ndarray:
    """Predicted host microseconds of each event of ``trace``."""
    out = np.zeros(len(trace))
    for kind in np.unique(trace.kind).tolist():
        call = _one_call(kind, np.zeros(N_ARGS, dtype=np.int64), costs)
        per_mib = np.array([_one_call(kind, np.eye(N_ARGS, dtype=np.int64)[j] * MIB, costs) - call
                            for j in range(N_ARGS)])
        mine = trace.kind == kind
        out[mine] = call + trace.args[mine].astype(np.float64) @ per_mib / MIB
    return out


def _one_call(kind: int, args: np.ndarray, costs: Costs) -> float:
    """What the model predicts for one call of ``kind`` with ``args``."""
    one = Trace(header={}, kind=np.array([kind], dtype=np.uint8), t=np.zeros(1, dtype=np.int64),
                site=np.full(1, -1, dtype=np.int32), args=args.reshape(1, N_ARGS), nrows=np.zeros(1, dtype=np.int32),
                rows=np.zeros((0, ROW_WIDTH), dtype=np.int64), strings=[], blobs=[])
    return float(predict(one, costs)["total"])
