"""What one row of a sweep holds: its columns, in order, with the kind of value each takes.

A row is a plain dict. Every row has every column: one a job did not fill (the check's when the
sweep ran without ``--check``, everything past ``error`` when the job failed) is None. Metric
columns follow ``Metrics``' fields, so a metric added to the simulator is a column of the next sweep.

Kinds: ``str``, ``int``, ``float``, ``bool``, ``costs`` (per kind of call, predicted microseconds:
``Metrics.cost_us`` less its total, which is ``cpu_us``) and ``series`` (a list of ints).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ..check import CheckResult
from ..check.rules import RULES
from ..metrics import Metrics

if TYPE_CHECKING:
    from ...replay.report import Report

IDENTITY = [("trace", "str"), ("trace_sha256", "str"), ("trace_events", "int"), ("cut_short", "str"),
            ("pool", "str"), ("passes", "str"), ("wgtrace_version", "str"), ("settings", "str"), ("error", "str")]
_OWN = {"pool", "passes", "cost_us", "series"}  # identity, or columns of their own shape below


def _kind(name: str, annotation: object) -> str:
    """The column kind of a scalar field of ``Metrics``; a field of another type needs a kind of its own here."""
    if str(annotation) not in ("int", "float", "bool", "str"):
        raise TypeError(f"Metrics.{name} is a {annotation}: give it a column kind in sim/sweep/rows.py")
    return str(annotation)


METRICS = [(f.name, _kind(f.name, f.type)) for f in fields(Metrics) if f.name not in _OWN]
SERIES = ("event", "reserved", "in_use")
DERIVED = [("peak_over_floor", "float"), ("cpu_us", "float"), ("cost_us", "costs"),
           *((f"series_{name}", "series") for name in SERIES)]
CHECK = [("check_verdict", "str"), ("check_proven", "bool"), ("check_errors", "int"), ("check_warnings", "int"),
         ("check_unmodelled", "int"), *((f"check_{rule.id}", "int") for rule in RULES)]
REPLAY = [("replay_adapter", "str"), ("replay_ok", "bool"), ("replay_verdict", "str"), ("replay_runs", "int"),
          ("replay_cpu_ms", "float"), ("replay_wall_ms", "float"), ("replay_issue_ms", "float")]
COLUMNS: list[tuple[str, str]] = IDENTITY + METRICS + DERIVED + CHECK + REPLAY
NAMES = [name for name, _ in COLUMNS]


def sort_key(row: dict[str, Any]) -> tuple[str, str, str]:
    """What names a row within a sweep, and its place in the file: trace path, then pool, then pass policy."""
    return row["trace"], row["pool"], row["passes"]


def reuse_key(row: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """What a later sweep reuses a row by: the trace's content (not its path), the policies, the version that
    computed it and the settings it was computed with."""
    return row["trace_sha256"], row["pool"], row["passes"], row["wgtrace_version"], row["settings"]


def complete(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with every column, in order; those it lacks are None."""
    unknown = set(row) - set(NAMES)
    if unknown:
        raise ValueError(f"not columns of a sweep: {', '.join(sorted(unknown))}")
    return {name: row.get(name) for name in NAMES}


def metric_columns(m: Metrics) -> dict[str, Any]:
    """The simulator's figures of one plan, and its peak as a multiple of the trace's floor (None with no floor)."""
    out: dict[str, Any] = {name: getattr(m, name) for name, _ in METRICS}
    out["peak_over_floor"] = m.peak_reserved_bytes / m.floor_bytes if m.floor_bytes else None
    out["cpu_us"] = m.cost_us.get("total", 0.0)
    out["cost_us"] = {k: v for k, v in m.cost_us.items() if k != "total"}
    out.update({f"series_{name}": list(m.series.get(name, [])) for name in SERIES})
    return out


def check_columns(result: CheckResult) -> dict[str, Any]:
    """The checker's verdict on one plan and its findings per rule."""
    out: dict[str, Any] = {"check_verdict": result.verdict, "check_proven": result.proven,
                           "check_errors": len(result.errors), "check_warnings": len(result.warnings),
                           "check_unmodelled": result.unmodelled_events}
    out.update({f"check_{rule.id}": len(result.of(rule.id)) for rule in RULES})
    return out


def replay_columns(report: Report) -> dict[str, Any]:
    """One replay's adapter, verdict and median times over its timed runs (None when no run finished)."""
    timings = report.timings()

    def ms(key: str) -> float | None:
        return timings[key]["median"] * 1e3 if timings else None

    return {"replay_adapter": report.adapter, "replay_ok": report.ok, "replay_verdict": _verdict(report),
            "replay_runs": len(report.runs), "replay_cpu_ms": ms("cpu_s"), "replay_wall_ms": ms("wall_s"),
            "replay_issue_ms": ms("issue_s")}


def _verdict(r: Report) -> str:
    if r.error is not None:
        return f"device error: {r.error.line()}"
    if r.reference_error is not None:
        return f"device error in the program-order reference: {r.reference_error.line()}"
    diverged = r.verdict.divergences
    if diverged:
        return f"{len(diverged)} of {r.verdict.reads} reads diverged; first: {diverged[0].line()}"
    return "OK" if r.deterministic else "reads differ between runs"
