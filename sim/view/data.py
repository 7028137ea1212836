"""Everything the report page shows, as plain data (lists, numbers, strings): what ``html`` renders.

The command line plans, checks and simulates (the behaviour, at the edge); this module only turns
the results into what a browser draws: memory over the recording's events (``memory``), each plan's
timeline (``timeline``) merged by bins past ``bins.SLICES`` slices a lane, the findings with the
source lines around their call sites (``sources``), the metrics, and the replay's figures where a
replay of the same policy was given. Sites are strings of a table shared by the whole page, so a
lane of thousands of slices carries integers, not the same file name thousands of times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Trace
from ...traces.schema import KIND_NAMES
from ..check import CheckResult, Finding
from ..metrics import Metrics
from ..plan import Plan
from .bins import BINS, SLICES, merge
from .memory import axis, live_logical, plan_memory, position
from .replayed import Replayed
from .sources import Sources
from .timeline import LANES, timeline

FINDINGS = 200  # findings listed per policy (the check's JSON has them all)


@dataclass(frozen=True)
class Planned:
    """One policy's plan, its metrics and its check: what the command line computed for the report."""

    plan: Plan
    metrics: Metrics
    result: CheckResult
    replay: Replayed | None = None


class _Strings:
    """A table of the page's strings: each one once, referred to by its index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        return self.index.setdefault(s, len(self.index))

    def table(self) -> list[str]:
        return list(self.index)


def page_data(name: str, source: Trace, planned: list[Planned], sources: Sources, *, bins: int = BINS,
              slices: int = SLICES) -> dict:
    """The report of ``source`` (named ``name``) under each policy of ``planned``."""
    strings = _Strings()
    program = source.header.get("program")
    return {
        "trace": name,
        "program": " ".join(map(str, program)) if isinstance(program, list) else str(program or ""),
        "recorded": str(source.header.get("start_time", "")),
        "events": len(source),
        "cut_short": source.cut_short,
        "lanes": list(LANES),
        "kinds": {str(k): v for k, v in sorted(KIND_NAMES.items())},
        "memory": {"event": axis(source, bins), "live": live_logical(source, bins)},
        "policies": [_policy(p, strings, sources, bins, slices) for p in planned],
        "strings": strings.table(),
    }


def _policy(p: Planned, strings: _Strings, sources: Sources, bins: int, slices: int) -> dict:
    plan, result = p.plan, p.result
    memory = plan_memory(plan, bins)
    at = position(plan)
    metrics = {k: v for k, v in p.metrics.to_dict().items() if k != "series"}
    return {
        "label": f"{plan.pool} x {plan.passes}",
        "pool": plan.pool,
        "passes": plan.passes,
        "metrics": metrics,
        "memory": {"held": memory.held, "created": memory.created, "submits": memory.submits,
                   "submit_counts": memory.submit_counts},
        "timeline": _timeline(plan.trace, strings, bins, slices),
        "check": {"verdict": result.verdict, "proof": result.proof(), "errors": len(result.errors),
                  "warnings": len(result.warnings), "total": len(result.findings),
                  "titles": {r.id: r.title for r in result.rules}},
        "findings": [_finding(x, at, sources) for x in result.findings[:FINDINGS]],
        "replay": p.replay.as_dict() if p.replay else None,
    }


def _timeline(trace: Trace, strings: _Strings, bins: int, slices: int) -> dict:
    """Each lane's slices (first and last plan event, kind and site of the first), or its bins past ``slices``."""
    line = timeline(trace)
    lanes = []
    for lane in LANES:
        rows = line.of(lane)
        first, last = line.first[rows], line.last[rows]
        if len(rows) > slices:
            b = merge(first, last + 1, line.events, bins)
            lanes.append({"name": lane, "binned": True, "first": b.start.tolist(), "last": (b.end - 1).tolist(),
                          "count": b.count.tolist()})
            continue
        sites = [strings(trace.strings[s]) if s >= 0 else -1 for s in trace.site[first].tolist()]
        lanes.append({"name": lane, "binned": False, "first": first.tolist(), "last": last.tolist(),
                      "kind": trace.kind[first].tolist(), "site": sites})
    return {"events": line.events, "lanes": lanes}


def _finding(x: Finding, at: np.ndarray, sources: Sources) -> dict:
    excerpt, other = sources.around(x.site), sources.around(x.other_site) if x.other_site else None
    return {
        "rule": x.rule, "severity": x.severity, "message": x.message, "event": x.event, "site": x.site,
        "call": x.call, "other_event": x.other_event, "other_site": x.other_site, "other_call": x.other_call,
        "recorded_event": int(at[x.event]) if 0 <= x.event < len(at) else None,
        "stack": list(x.stack), "other_stack": list(x.other_stack),
        "source": excerpt.as_dict() if excerpt else None, "other_source": other.as_dict() if other else None,
    }
