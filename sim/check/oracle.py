"""A brute-force oracle for H1: run a plan twice on shadow memory and compare what every access sees.

Once in program order (every operation at its call; a command at its recording), once in queue
order (host operations at their call; a command when its encoder is first submitted, in recording
order; never if it is not). Each write stamps its bytes with its own version tag; every read
records the tags it sees and every write the tags it replaces. The plan is program-order
equivalent exactly when both runs record the same tags everywhere, which is what the checker's
H1 claims to decide without running anything. Nothing here is shared with the checker beyond the
footprint tables that define which bytes or texels a command and a host access touch; it is slow
and obviously right.

Shadow memory is kept per elementary segment of each resource (cut at every access boundary): every
access covers a segment whole or not at all, so a segment's bytes share one history and the
result equals a per-byte run.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

from ...traces import Kind, Trace
from ..footprint import commands_and_footprints, host_accesses
from ..plan import Plan

# Per operation: (buffer, lo, hi, reads, writes) of each byte range it touches.
_Accesses = defaultdict[int, list[tuple[int, int, int, bool, bool]]]
# Per (operation, range, "read" or "replaced"): the version tags it saw there.
_Seen = dict[tuple[int, int, str], tuple[int, ...]]


@dataclass(frozen=True)
class OracleResult:
    """``differs``: events (sorted) that saw or replaced different bytes in queue order than in program order."""

    differs: tuple[int, ...]
    operations: int

    @property
    def hazard(self) -> bool:
        return bool(self.differs)


def run(plan_or_trace: Plan | Trace) -> OracleResult:
    trace = plan_or_trace.trace if isinstance(plan_or_trace, Plan) else plan_or_trace
    commands, fp = commands_and_footprints(trace)
    accesses: _Accesses = defaultdict(list)
    for c, b, lo, hi, r, w in zip(fp.command.tolist(), fp.resource.tolist(), fp.start.tolist(), fp.end.tolist(),
                                  fp.reads.tolist(), fp.writes.tolist(), strict=True):
        accesses[c].append((b, lo, hi, r, w))
    host = host_accesses(trace)
    for i, b, lo, hi, w in zip(host.event.tolist(), host.resource.tolist(), host.lo.tolist(), host.hi.tolist(),
                               host.writes.tolist(), strict=True):
        accesses[i].append((b, lo, hi, not w, w))
    encoder_of = dict(zip(commands.event.tolist(), commands.encoder.tolist(), strict=True))
    queue_order = _queue_order(trace, encoder_of, set(host.event.tolist()))

    cuts: dict[int, set[int]] = defaultdict(set)
    for i in queue_order:
        for b, lo, hi, _, _ in accesses[i]:
            cuts[b].update((lo, hi))
    bounds = {b: sorted(s) for b, s in cuts.items()}

    in_program, in_queue = (_execute(order, accesses, bounds) for order in (sorted(queue_order), queue_order))
    differs = sorted({key[0] for key in in_program if in_program[key] != in_queue[key]})
    return OracleResult(tuple(differs), len(queue_order))


def _queue_order(trace: Trace, encoder_of: dict[int, int], host: set[int]) -> list[int]:
    """The operations that run, in the order the queue runs them: host operations at their call."""
    queue_order: list[int] = []
    recorded: dict[int, list[int]] = defaultdict(list)
    submitted: set[int] = set()
    for i, k in enumerate(trace.kind.tolist()):
        if i in encoder_of:
            if encoder_of[i] not in submitted:
                recorded[encoder_of[i]].append(i)
        elif i in host:
            queue_order.append(i)
        elif k == Kind.SUBMIT:
            for e in trace.rows_of(i)[:, 0].tolist():
                if e not in submitted:
                    submitted.add(e)
                    queue_order.extend(recorded.pop(e, []))
    return queue_order


def _execute(order: list[int], accesses: _Accesses, bounds: dict[int, list[int]]) -> _Seen:
    """Run ``order`` on shadow memory: the version tags each access read or replaced."""
    memory = {b: [0] * max(len(s) - 1, 0) for b, s in bounds.items()}
    seen: _Seen = {}
    for i in order:
        spans = [(b, bisect_left(bounds[b], lo), bisect_left(bounds[b], hi), r, w)
                 for b, lo, hi, r, w in accesses[i]]
        for j, (b, s, e, r, _) in enumerate(spans):
            if r:
                seen[i, j, "read"] = tuple(memory[b][s:e])
        for j, (b, s, e, _, w) in enumerate(spans):
            if w and e > s:
                seen[i, j, "replaced"] = tuple(memory[b][s:e])
                memory[b][s:e] = [i + 1] * (e - s)
    return seen
