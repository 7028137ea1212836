"""The hazard checker: every registered rule (``sim.check.rules``) over a whole plan, and what a clean result proves.

``check`` takes a Plan, or a Trace (the plan its program ran). The result is plain data: the
findings in program order, counts of what was examined, the events it could not model (opaque
calls, or kinds no rule reads, that may touch GPU memory: ``coverage``), and the statement of what
was proven. It is a proof only over something (a command, queue write, mapped write or host
read) and only while no unmodelled event is present.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ...traces import Kind, Trace
from ..footprint.state import DRAWS
from ..plan import Plan
from .coverage import Unmodelled, unmodelled
from .facts import CALL_NAMES, Facts
from .rule import ERROR, WARNING, Finding, Rule
from .rules import RULES

GUARANTEE = ("every reordering the queue introduces touches disjoint bytes or only reads, so every kernel "
             "and every host read sees exactly the bytes it would see in program order")
SHOWN = 10  # unmodelled names the proof lists (the JSON lists them all)


@dataclass
class CheckResult:
    """Findings sorted by event; ``stats`` counts what was examined; ``unmodelled``, what could not be."""

    findings: list[Finding]
    stats: dict[str, int]
    pool: str = "as-recorded"
    passes: str = "as-recorded"
    rules: list[Rule] = field(default_factory=lambda: list(RULES))
    unmodelled: list[Unmodelled] = field(default_factory=list)
    cut_short: dict | None = None  # the recording stopped mid-run: what its prefix ends with (``_cut_short``)

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

    @property
    def checked_nothing(self) -> bool:
        """No command, queue write, mapped write or host read: there is nothing to prove over."""
        return not any(self.stats[k] for k in ("commands", "queue_writes", "mapped_writes", "host_reads"))

    @property
    def unmodelled_events(self) -> int:
        """How many events may touch GPU memory without the checker modelling them."""
        return sum(u.count for u in self.unmodelled)

    @property
    def proven(self) -> bool:
        """Whether ``proof()`` is a proof: no finding breaks program order, nothing unmodelled may touch
        GPU memory, and there was something to check."""
        return not (self.refuting() or self.unmodelled or self.checked_nothing)

    def accepted(self, strict: bool = False) -> bool:
        """Whether a CI gate passes: no error-severity finding, and under ``strict`` no unmodelled event."""
        return self.ok and not (strict and self.unmodelled)

    @property
    def verdict(self) -> str:
        """The result in a few words: "clean", "no errors", "HAZARDS FOUND", "not proven", "nothing checked"."""
        if self.errors:
            return "HAZARDS FOUND"
        if self.unmodelled:
            return "no errors, not proven" if self.findings else "not proven"
        if self.findings:
            return "no errors"
        return "nothing checked" if self.checked_nothing else "clean"

    def of(self, rule_id: str) -> list[Finding]:
        return [x for x in self.findings if x.rule == rule_id]

    def refuting(self) -> list[Rule]:
        """The rules with findings that break program order: where there are any, nothing is proven."""
        return [r for r in self.rules if r.breaks_order and self.of(r.id)]

    def rejected(self) -> list[Rule]:
        """The WebGPU validation rules with findings: the device rejects the calls they name."""
        return [r for r in self.rules if r.validation and self.of(r.id)]

    def proof(self) -> str:
        """What this result establishes, in one paragraph (for a trace cut short: of its prefix only)."""
        if self.cut_short:
            return f"{_prefix_text(self.cut_short)} {self._proof()}"
        return self._proof()

    def _proof(self) -> str:
        s = self.stats
        checked = (f"{_count(s['queue_writes'], 'queue write')}{self._to_textures()}, "
                   f"{_count(s['mapped_writes'], 'mapped write')} and {_count(s['host_reads'], 'host read')} were "
                   f"each checked against every command still pending when issued "
                   f"({s['pending_commands']:,} of the plan's {self._commands()}, "
                   f"{_count(s['reorderings'], 'reordering')}), "
                   f"and every command against every earlier-recorded one its encoder runs ahead of")
        refuting = self.refuting()
        if refuting:
            n = sum(len(self.of(r.id)) for r in refuting)
            also = f" Also, {self._unmodelled_text()}." if self.unmodelled else ""
            return (f"Not proven: {checked}; {_count(n, 'operation')} {'conflicts' if n == 1 else 'conflict'} "
                    f"({', '.join(r.id for r in refuting)}), so the kernels or reads named may see bytes that differ "
                    f"from program order.{also}")
        invalid = self.rejected()
        rejected = f" But WebGPU rejects the calls named by {', '.join(r.id for r in invalid)}." if invalid else ""
        if self.unmodelled or self.checked_nothing:
            return f"{self._coverage()}.{rejected}"
        return f"Proven for this plan: {checked}; {GUARANTEE}.{rejected}"

    def _coverage(self) -> str:
        """What was checked, and why that is no proof: nothing to check, or events the checker cannot model."""
        s = self.stats
        if self.checked_nothing:
            covered = "Nothing to prove over: this plan has no commands, queue writes, mapped writes or host reads"
            if not self.unmodelled:
                return f"{covered}, so no ordering was checked"
        else:
            covered = (f"Checked {self._commands()}, {_count(s['queue_writes'], 'queue write')}{self._to_textures()}, "
                       f"{_count(s['mapped_writes'], 'mapped write')} and {_count(s['host_reads'], 'host read')} "
                       f"(the writes and reads each against every command still pending when issued: "
                       f"{_count(s['pending_commands'], 'command')}, {_count(s['reorderings'], 'reordering')}) and "
                       f"found no conflict among them")
        return f"{covered}; not proven: {self._unmodelled_text()}"

    def _commands(self) -> str:
        """"76 commands, 50 of them draws in 24 render passes": the plan's commands, and its draws if any."""
        s = self.stats
        passes = s["render_passes"]
        draws = (f", {s['draws']:,} of them draws in {passes:,} render pass{'' if passes == 1 else 'es'}"
                 if passes else "")
        return f"{_count(s['commands'], 'command')}{draws}"

    def _to_textures(self) -> str:
        n = self.stats["texture_writes"]
        return f" ({n:,} to textures)" if n else ""

    def _unmodelled_text(self) -> str:
        """"41 events the checker cannot model may touch GPU memory: A (12, first at app.py:30), ..."."""
        names = [u.describe() for u in self.unmodelled[:SHOWN]]
        if len(self.unmodelled) > SHOWN:
            names.append(f"and {_count(len(self.unmodelled) - SHOWN, 'other call')}")
        return f"{_count(self.unmodelled_events, 'event')} the checker cannot model may touch GPU memory: " + \
            ", ".join(names)

    def as_dict(self) -> dict:
        return {
            "pool": self.pool,
            "passes": self.passes,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "stats": dict(sorted(self.stats.items())),
            "proof": self.proof(),
            "proven": self.proven,
            "unmodelled": [u.as_dict() for u in self.unmodelled],
            "rules": [{"id": r.id, "name": r.title, "severity": r.severity,
                       "findings": len(self.of(r.id))} for r in self.rules],
            "findings": [x.as_dict() for x in self.findings],
            "cut_short": self.cut_short,
        }


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def check(plan_or_trace: Plan | Trace) -> CheckResult:
    """Run every rule over the whole plan (a Trace is checked as the plan it recorded)."""
    plan = plan_or_trace if isinstance(plan_or_trace, Plan) else Plan.as_recorded(plan_or_trace)
    facts = Facts(plan)
    findings = _with_stacks(sorted((x for r in RULES for x in r.find(facts)), key=Finding.sort_key), plan)
    return CheckResult(findings, _stats(facts), plan.pool, plan.passes, unmodelled=unmodelled(plan.trace),
                       cut_short=_cut_short(plan.source))


def _cut_short(t: Trace) -> dict | None:
    """For a recording that stopped mid-run: how far it goes, its last event, and the encoders it had not submitted."""
    if not t.cut_short:
        return None
    n = len(t)
    last = n - 1 if n else None
    created = t.where(Kind.ENCODER_CREATE)
    submitted = set(t.rows[t.row_ids(t.where(Kind.SUBMIT)), 0].tolist())
    open_encoders = [int(e) for e in t.args[created, 0] if int(e) not in submitted]
    call = None
    if last is not None:
        kind = Kind(int(t.kind[last]))
        call = t.strings[int(t.args[last, 0])] if kind == Kind.OPAQUE else CALL_NAMES.get(kind, kind.name.lower())
    return {"note": t.cut_short, "events": n, "last_event": last, "last_call": call,
            "last_site": t.site_of(last) if last is not None else None,
            "unfinished": getattr(t, "unfinished", None) is not None, "unsubmitted_encoders": open_encoders}


def _prefix_text(c: dict) -> str:
    """"The recording was cut short (...): this covers its first 14 events only; ..."."""
    if c["last_event"] is None:
        return "The recording was cut short before its first event: there is nothing to prove over."
    last = f"event {c['last_event']}, {c['last_call']} at {c['last_site']}"
    if c["unfinished"]:
        last += ", a call that began and never returned (the program died inside it)"
    enc = c["unsubmitted_encoders"]
    names = ", ".join(map(str, enc[:SHOWN])) + (f" and {len(enc) - SHOWN:,} more" if len(enc) > SHOWN else "")
    still = (f"encoder{'s' if len(enc) > 1 else ''} {names} {'were' if len(enc) > 1 else 'was'} still unsubmitted"
             if enc else "no encoder was left unsubmitted")
    return (f"The recording was cut short (the program stopped mid-run), so this covers its first "
            f"{_count(c['events'], 'event')} only: the last is {last}; {still}.")


def _with_stacks(findings: list[Finding], plan: Plan) -> list[Finding]:
    """The findings with the call stacks of their events, from the recording (``plan.source``) where it has them."""
    source = plan.source
    if source.stack is None:
        return findings

    def stack(i: int | None) -> tuple[str, ...]:
        j = int(plan.origin[i]) if i is not None and 0 <= i < len(plan.origin) else -1
        return source.stack_of(j) if 0 <= j < len(source) else ()

    return [replace(x, stack=stack(x.event), other_stack=stack(x.other_event)) for x in findings]


def _stats(facts: Facts) -> dict[str, int]:
    """Counts of what the check examined."""
    overtaken = facts.pending.overtaken()
    t, plan = facts.trace, facts.plan
    events = facts.queue.events()
    kinds = t.kind[events]
    return {
        "events": len(t),
        "commands": len(facts.commands.event),
        "dispatches": t.count_kind(Kind.DISPATCH) + t.count_kind(Kind.DISPATCH_INDIRECT),
        "draws": int(np.count_nonzero(np.isin(t.kind, DRAWS))),
        "render_passes": t.count_kind(Kind.RENDER_PASS_BEGIN),
        "submits": t.count_kind(Kind.SUBMIT),
        "encoders": facts.n_encoders,
        "allocations": len(plan.allocations),
        "queue_writes": int(np.count_nonzero(np.isin(kinds, [Kind.WRITE_BUFFER, Kind.WRITE_TEXTURE]))),
        "texture_writes": int(np.count_nonzero(kinds == Kind.WRITE_TEXTURE)),
        "mapped_writes": int(np.count_nonzero(kinds == Kind.MAPPED_WRITE)),
        "host_reads": int(np.count_nonzero(np.isin(kinds, [Kind.QUEUE_READ, Kind.READ, Kind.READ_TEXTURE]))),
        "pending_commands": overtaken.commands,
        "reorderings": overtaken.pairs,
    }
