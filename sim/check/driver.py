"""The hazard checker: every registered rule (``sim.check.rules``) over a whole plan, and what a clean result proves.

``check`` takes a Plan, or a Trace (the plan its program ran). The result is plain data: the
findings in program order, counts of what was examined, and the statement of what was proven.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...traces import Kind, Trace
from ..plan import Plan
from .facts import Facts
from .rule import ERROR, WARNING, Finding, Rule
from .rules import RULES

GUARANTEE = ("every reordering the queue introduces touches disjoint bytes or only reads, so every kernel "
             "and every host read sees exactly the bytes it would see in program order")


@dataclass
class CheckResult:
    """Findings sorted by event; ``stats`` counts what was examined."""

    findings: list[Finding]
    stats: dict[str, int]
    pool: str = "as-recorded"
    passes: str = "as-recorded"
    rules: list[Rule] = field(default_factory=lambda: list(RULES))

    @property
    def errors(self) -> list[Finding]:
        return [x for x in self.findings if x.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [x for x in self.findings if x.severity == WARNING]

    @property
    def ok(self) -> bool:
        """No error-severity finding (warnings allowed)."""
        return not self.errors

    def of(self, rule_id: str) -> list[Finding]:
        return [x for x in self.findings if x.rule == rule_id]

    def refuting(self) -> list[Rule]:
        """The rules with findings that break program order: where there are any, nothing is proven."""
        return [r for r in self.rules if r.breaks_order and self.of(r.id)]

    def rejected(self) -> list[Rule]:
        """The WebGPU validation rules with findings: the device rejects the calls they name."""
        return [r for r in self.rules if r.validation and self.of(r.id)]

    def proof(self) -> str:
        """What this result establishes, in one paragraph."""
        s = self.stats
        checked = (f"{_count(s['queue_writes'], 'queue write')}, {_count(s['mapped_writes'], 'mapped write')} and "
                   f"{_count(s['host_reads'], 'host read')} were each checked against every command still pending "
                   f"when issued ({_count(s['pending_commands'], 'command')}, "
                   f"{_count(s['reorderings'], 'reordering')}), and every command against every earlier-recorded "
                   f"one its encoder runs ahead of")
        refuting = self.refuting()
        if refuting:
            n = sum(len(self.of(r.id)) for r in refuting)
            return (f"Not proven: {checked}; {_count(n, 'operation')} {'conflicts' if n == 1 else 'conflict'} "
                    f"({', '.join(r.id for r in refuting)}), so the kernels or reads named may see bytes that differ "
                    f"from program order.")
        invalid = self.rejected()
        rejected = f" But WebGPU rejects the calls named by {', '.join(r.id for r in invalid)}." if invalid else ""
        return f"Proven for this plan: {checked}; {GUARANTEE}.{rejected}"

    def as_dict(self) -> dict:
        return {
            "pool": self.pool,
            "passes": self.passes,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "stats": dict(sorted(self.stats.items())),
            "proof": self.proof(),
            "rules": [{"id": r.id, "name": r.title, "severity": r.severity,
                       "findings": len(self.of(r.id))} for r in self.rules],
            "findings": [x.as_dict() for x in self.findings],
        }


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def check(plan_or_trace: Plan | Trace) -> CheckResult:
    """Run every rule over the whole plan (a Trace is checked as the plan it recorded)."""
    plan = plan_or_trace if isinstance(plan_or_trace, Plan) else Plan.as_recorded(plan_or_trace)
    facts = Facts(plan)
    findings = [x for r in RULES for x in r.find(facts)]
    findings.sort(key=Finding.sort_key)
    overtaken = facts.pending.overtaken()
    t = plan.trace
    q = facts.queue
    kinds = t.kind[q.event]
    stats = {
        "events": len(t),
        "commands": len(facts.commands.event),
        "dispatches": t.count_kind(Kind.DISPATCH) + t.count_kind(Kind.DISPATCH_INDIRECT),
        "submits": t.count_kind(Kind.SUBMIT),
        "encoders": facts.n_encoders,
        "allocations": len(plan.allocations),
        "queue_writes": int(np.count_nonzero(kinds == Kind.WRITE_BUFFER)),
        "mapped_writes": int(np.count_nonzero(kinds == Kind.MAPPED_WRITE)),
        "host_reads": int(np.count_nonzero(~q.writes)),
        "pending_commands": overtaken.commands,
        "reorderings": overtaken.pairs,
    }
    return CheckResult(findings, stats, plan.pool, plan.passes)
