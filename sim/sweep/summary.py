"""What a sweep's rows say at a glance: per policy, and per trace.

Per policy: over the traces it planned, the geometric mean of its peak memory over each trace's
floor and of its predicted CPU time (the trade-off, side by side), and of its peak, buffers,
passes, submits and CPU relative to the same trace as recorded (pool ``exclusive``, passes
``as-recorded``: the program as it ran, so every policy is measured against one baseline and the
ratios rank them). Each ratio is of the figure plus one to the baseline's plus one: a count a
policy takes to 0 (the passes of a program that only draws) stays a finite ratio, not a 0 that
would make the whole mean 0; to bytes and microseconds the one adds nothing. Policies are listed
by CPU, the cheapest first. Per trace: its floor, the offline planner's arena over it, and the
policies with the least CPU and the least memory (among plans the checker found no hazard in,
when the sweep checked). Then the jobs that failed.

``summarize`` is plain data from rows; ``render`` draws it with rich. Same rows, same text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ...traces.summary import bytes_text

BASELINE = ("exclusive", "as-recorded")
RELATIVE = (("peak_reserved_bytes", "peak"), ("buffers_created", "buffers"), ("passes_begun", "passes"),
            ("submits", "submits"), ("cpu_us", "CPU"))
FAILURES_SHOWN = 10
Row = dict[str, Any]


@dataclass(frozen=True)
class PolicyLine:
    """One policy over the traces: how many it planned and failed, how many plans had hazards (None unchecked),
    and geometric means: peak over floor, CPU milliseconds, and each ``RELATIVE`` figure over the baseline's."""

    pool: str
    passes: str
    traces: int
    failed: int
    hazardous: int | None
    peak_over_floor: float | None
    cpu_ms: float | None
    relative: dict[str, float | None]


@dataclass(frozen=True)
class Choice:
    """A policy chosen for a trace, with its CPU milliseconds and peak over the floor."""

    pool: str
    passes: str
    cpu_ms: float
    peak_over_floor: float | None


@dataclass(frozen=True)
class TraceLine:
    """One trace: its floor, the offline planner's arena, and its cheapest and leanest safe policies."""

    trace: str
    floor_bytes: int | None
    offline_peak_bytes: int | None
    least_cpu: Choice | None
    least_memory: Choice | None


@dataclass(frozen=True)
class Summary:
    jobs: int
    checked: bool
    baseline: bool
    policies: list[PolicyLine]
    traces: list[TraceLine]
    failures: list[Row]


def geomean(values: list[float]) -> float | None:
    """The geometric mean (0 when any value is 0), None of nothing."""
    if not values:
        return None
    array = np.array(values, dtype=np.float64)
    return 0.0 if (array == 0).any() else float(np.exp(np.log(array).mean()))


def summarize(rows: list[Row]) -> Summary:
    """The summary of a sweep's rows (any order)."""
    ok = [r for r in rows if r["error"] is None]
    checked = any(r["check_verdict"] is not None for r in ok)
    base = {r["trace"]: r for r in ok if (r["pool"], r["passes"]) == BASELINE}
    by_policy: dict[tuple[str, str], list[Row]] = defaultdict(list)
    by_trace: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_policy[r["pool"], r["passes"]].append(r)
        by_trace[r["trace"]].append(r)
    policies = [_policy(pool, passes, group, base, checked) for (pool, passes), group in by_policy.items()]
    policies.sort(key=lambda p: (p.cpu_ms is None, p.cpu_ms or 0.0, p.pool, p.passes))
    traces = [_trace(name, group, checked) for name, group in sorted(by_trace.items())]
    failures = sorted((r for r in rows if r["error"] is not None), key=lambda r: (r["trace"], r["pool"], r["passes"]))
    return Summary(len(rows), checked, bool(base), policies, traces, failures)


def _policy(pool: str, passes: str, group: list[Row], base: dict[str, Row], checked: bool) -> PolicyLine:
    ok = sorted((r for r in group if r["error"] is None), key=lambda r: r["trace"])
    relative: dict[str, float | None] = {}
    for column, label in RELATIVE:
        pairs = [(r[column], base[r["trace"]][column]) for r in ok if r["trace"] in base]
        relative[label] = geomean([(value + 1) / (b + 1) for value, b in pairs])
    return PolicyLine(
        pool, passes, len(ok), len(group) - len(ok),
        sum(1 for r in ok if r["check_errors"]) if checked else None,
        geomean([r["peak_over_floor"] for r in ok if r["peak_over_floor"] is not None]),
        geomean([r["cpu_us"] / 1000 for r in ok]), relative)


def _trace(name: str, group: list[Row], checked: bool) -> TraceLine:
    ok = [r for r in group if r["error"] is None]
    safe = [r for r in ok if not (checked and r["check_errors"])]

    def choice(rows: list[Row], *columns: str) -> Choice | None:
        if not rows:
            return None
        r = min(rows, key=lambda r: (*(r[c] for c in columns), r["pool"], r["passes"]))
        return Choice(r["pool"], r["passes"], r["cpu_us"] / 1000, r["peak_over_floor"])

    floor, offline = (ok[0]["floor_bytes"], ok[0]["offline_peak_bytes"]) if ok else (None, None)
    return TraceLine(name, floor, offline, choice(safe, "cpu_us", "peak_reserved_bytes"),
                     choice(safe, "peak_reserved_bytes", "cpu_us"))


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}x"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3f}"


def render(s: Summary) -> list[RenderableType]:
    """The summary as rich tables and lines, for the terminal."""
    out: list[RenderableType] = [_policy_table(s), _trace_table(s)]
    if not s.baseline:
        out.append(Text(f"no ratios to the program as recorded: the sweep has no {BASELINE[0]} / {BASELINE[1]} "
                        f"rows (add --pool {BASELINE[0]} --pass {BASELINE[1]})"))
    if s.failures:
        out.append(Text(f"{len(s.failures)} of {s.jobs} jobs failed:"))
        out += [Text(f"  {r['trace']} {r['pool']} {r['passes']}: {r['error']}") for r in s.failures[:FAILURES_SHOWN]]
        if len(s.failures) > FAILURES_SHOWN:
            out.append(Text(f"  ... and {len(s.failures) - FAILURES_SHOWN} more (the error column of the file)"))
    return out


def _policy_table(s: Summary) -> Table:
    traces = len(s.traces)
    table = Table(title=f"per policy, geometric means over {traces} trace{'s' * (traces != 1)} ({s.jobs:,} jobs): "
                        f"peak memory over the floor and predicted CPU, then figures relative to the program as "
                        f"recorded ({BASELINE[0]} / {BASELINE[1]}); cheapest first", title_justify="left")
    names = ["pool", "pass", "traces", "failed", *(["hazards"] if s.checked else []), "peak / floor", "CPU ms",
             *(f"{label} x" for _, label in RELATIVE)]
    for name in names:
        table.add_column(name, justify="left" if name in ("pool", "pass") else "right")
    for p in s.policies:
        hazards = [f"{p.hazardous:,}"] if p.hazardous is not None else []
        table.add_row(p.pool, p.passes, f"{p.traces:,}", f"{p.failed:,}", *hazards, _times(p.peak_over_floor),
                      _ms(p.cpu_ms), *(_times(p.relative[label]) for _, label in RELATIVE))
    return table


def _trace_table(s: Summary) -> Table:
    safe = " with no hazard" if s.checked else ""
    table = Table(title=f"per trace: the memory floor, the offline greedy-by-size planner over it, and the "
                        f"policies{safe} with the least CPU and the least memory", title_justify="left")
    for name in ("trace", "floor", "offline / floor", "least CPU", "CPU ms", "peak / floor", "least memory",
                 "peak / floor", "CPU ms"):
        table.add_column(name, justify="left" if name in ("trace", "least CPU", "least memory") else "right")
    for t in s.traces:
        floor = "-" if t.floor_bytes is None else bytes_text(t.floor_bytes)
        offline = "-" if not t.floor_bytes or t.offline_peak_bytes is None else _times(
            t.offline_peak_bytes / t.floor_bytes)
        table.add_row(t.trace, floor, offline, *_choice(t.least_cpu, cpu_first=True),
                      *_choice(t.least_memory, cpu_first=False))
    return table


def _choice(c: Choice | None, cpu_first: bool) -> list[str]:
    if c is None:
        return ["-", "-", "-"]
    figures = [_ms(c.cpu_ms), _times(c.peak_over_floor)]
    return [f"{c.pool} / {c.passes}", *(figures if cpu_first else figures[::-1])]
