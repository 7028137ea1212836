"""A check result as text for people: each finding where it happened, each kind of call the checker could not
model, then the verdict and what it proves. Every line is passed through ``printable``: what a trace names
(labels, call sites, the program) reaches the terminal with its control characters escaped, one line each."""

from __future__ import annotations

from ....traces.safe_text import printable
from ..driver import CheckResult
from ..rule import Finding


def text(result: CheckResult, name: str, limit: int = 20) -> str:
    """The human report: each finding (up to ``limit`` per rule), the unmodelled calls (up to ``limit``
    names), then the verdict and what it proves."""
    lines = [f"wgtrace check {name}  (pool {result.pool}, passes {result.passes}, "
             f"{result.stats['events']:,} events)"]
    if result.cut_short:
        lines.append(f"cut short: {result.cut_short['note']}")
    for r in result.rules:
        found = result.of(r.id)
        for x in found[:limit]:
            lines.append(f"{x.severity} {x.rule} {r.title}: {x.message}")
            lines.append(f"    {_where(x)}")
            if len(x.stack) > 1:
                lines.append(f"    stack: {_stack(x.stack)}")
        if len(found) > limit:
            lines.append(f"  ... and {len(found) - limit:,} more {r.id} findings (--limit, or --json for all)")
    for u in result.unmodelled[:limit]:
        lines.append(f"unmodelled {u.name}: {u.count:,} event{'' if u.count == 1 else 's'} the checker cannot "
                     f"model, first at {u.first_site} (event {u.first_event})")
    if len(result.unmodelled) > limit:
        lines.append(f"  ... and {len(result.unmodelled) - limit:,} more unmodelled calls (--limit, or --json for all)")
    counts = ", ".join(f"{r.id} {len(result.of(r.id))}" for r in result.rules if result.of(r.id))
    if result.findings:
        lines.append(f"{len(result.errors):,} errors, {len(result.warnings):,} warnings ({counts})")
    lines.append(f"{result.verdict}. {result.proof()}")
    return "\n".join(map(printable, lines)) + "\n"  # a trace's labels and sites: escapes shown, never obeyed


def _where(x: Finding) -> str:
    parts = [f"event {x.event}"]
    if x.other_event is not None:
        parts.append(f"earlier: event {x.other_event} {x.other_call} at {x.other_site}")
    if x.buffer is not None:
        span = f" bytes {x.lo}-{x.hi - 1}" if x.lo is not None and x.hi is not None and x.hi > x.lo else ""
        parts.append(f"buffer {x.buffer}{span}")
    if x.allocations or x.other_allocations:
        mine, theirs = (",".join(map(str, a)) or "-" for a in (x.allocations, x.other_allocations))
        parts.append(f"allocations {mine} here, {theirs} at the earlier event")
    return "; ".join(parts)


def _stack(frames: tuple[str, ...], shown: int = 4) -> str:
    """The innermost frames of a call stack, callers after callees."""
    more = f" < ... ({len(frames) - shown} more)" if len(frames) > shown else ""
    return " < ".join(frames[:shown]) + more
