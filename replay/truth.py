"""The checker against the real GPU: random programs, planned, checked and replayed.

Claim: a plan's reads differ from the program-order reference exactly when the checker reports a
finding that breaks program order (H1), and the device rejects the plan exactly when the checker
reports a finding of a validation rule (H2-H5), the device's error being an instance of one of the
rules the checker reports (``errors.classify`` names the rule a device error is an instance of, in the words of the
implementation that raised it: wgpu-native or Dawn).

For the claim to be testable every byte a hazard can corrupt must reach a read. ``observable``
makes sure of it: before the program frees or overwrites an allocation's value, a kernel folds it
into a running "sink" allocation (kernels mix every input word into their output, so one wrong
word anywhere changes the sink), and at the end every live allocation and the sink are read
back. Freeing right after a kernel read is also exactly what lets a pool hand that range to the
next upload while the encoder still holds the kernel: the H1 this harness must provoke.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sim import synthetic
from ..sim.check import check
from ..tracer.backends import current
from ..traces import Trace
from .data import payloads
from .engine import DecodedPlan, Engine
from .errors import classify
from .report import plan_for
from .verify import keyed, reference_plan

SINK_WORDS = 16
KERNELS = ("dispatch", "draw")  # ops that read inputs and write an output: a kernel, or a draw and its copy
POLICIES: tuple[tuple[str, str], ...] = (
    ("as-recorded", "as-recorded"),
    ("exclusive-pages", "batched"),
    ("exclusive-pages+fix", "batched"),
    ("exclusive-pages+fix-range", "batched"),
    ("exclusive-pages", "pass-per-dispatch"),
    ("exclusive-pages", "batched/staging-copy"),
    ("exclusive-pages", "max-tasks:32/flush-write"),
    # sub-allocating pools: sliced and size-class bind read-write and keep uniforms apart, as CubeCL
    # since #814, so the GPU runs them and judges H1 under sub-allocation (with and without the fix);
    # PR 56's pool keeps the usage-scope conflicts (H2) of Burn #1996
    ("size-class", "batched"),
    ("size-class+fix", "max-tasks:16"),
    ("sliced", "batched"),
    ("sliced+fix", "batched"),
    ("sliced-pr56+fix", "max-tasks:16"),
)


def gpu_valid(ops: Sequence[tuple]) -> list[tuple]:
    """``ops`` without what WebGPU forbids outright: uniform buffers bound as storage, self-copies."""
    out, uniforms, n = [], set(), 0
    for op in ops:
        if op[0] in ("alloc", "uniform"):
            if op[0] == "uniform":
                uniforms.add(n)
            n += 1
        if op[0] in KERNELS:
            op = (op[0], tuple(a for a in op[1] if a not in uniforms), op[2], op[3])
        if op[0] == "copy" and op[1] == op[2]:
            continue
        out.append(op)
    return out


def observable(ops: Sequence[tuple]) -> list[tuple]:
    """``ops`` with every storage value folded into a sink before it is overwritten or freed, and
    every allocation still live read back at the end."""
    out: list[tuple] = []
    ids: dict[int, int] = {}
    uniforms: set[int] = set()
    live: list[int] = []
    count = [0]

    def alloc(op: tuple) -> int:
        out.append(op)
        live.append(count[0])
        count[0] += 1
        return live[-1]

    sink = [alloc(("alloc", SINK_WORDS))]
    out.append(("write", sink[0]))
    holds: set[int] = set()

    def fold(a: int) -> None:
        if a in holds and a not in uniforms:
            new = alloc(("alloc", SINK_WORDS))
            out.append(("dispatch", (sink[0], a), new, -1))
            out.append(("free", sink[0]))
            live.remove(sink[0])
            sink[0] = new

    n_old = 0
    for op in gpu_valid(ops):
        name = op[0]
        if name in ("alloc", "uniform"):
            ids[n_old] = alloc(op)
            if name == "uniform":
                uniforms.add(ids[n_old])
            n_old += 1
            continue
        if name == "write":
            op = ("write", ids[op[1]])
            fold(op[1])
            holds.add(op[1])
        elif name == "read":
            op = ("read", ids[op[1]])
        elif name in KERNELS:
            op = (name, tuple(ids[a] for a in op[1]), ids[op[2]], ids[op[3]] if op[3] >= 0 else -1)
            holds.add(op[2])
        elif name == "copy":
            op = ("copy", ids[op[1]], ids[op[2]])
            fold(op[2])
            holds.add(op[2])
        elif name == "free":
            op = ("free", ids[op[1]])
            fold(op[1])
            live.remove(op[1])
        out.append(op)
    out.extend(("read", a) for a in live)
    return out


@dataclass
class Case:
    """One (program, recording, policy) triple: what the checker said and what the GPU did."""

    case: int
    recording: str
    pool: str
    passes: str
    h1: bool
    checker_errors: tuple[str, ...]
    diverged: bool
    device_error: str | None
    device_kind: str | None  # errors.classify's kind of device_error

    @property
    def agrees(self) -> bool:
        if self.checker_errors or self.device_error:
            return self.device_kind in self.checker_errors
        return self.h1 == self.diverged

    @property
    def policy(self) -> str:
        return f"{self.recording} recording, {self.pool} {self.passes}"


@dataclass
class Table:
    """Every case, and the agreement counts the claim is judged by."""

    cases: list[Case] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return all(c.agrees for c in self.cases)

    def counts(self) -> dict[str, int]:
        c: Counter = Counter()
        for x in self.cases:
            if x.checker_errors or x.device_error:
                c[f"checker errors {'+'.join(x.checker_errors) or 'none'}, device error {x.device_kind or 'none'}"] += 1
            else:
                c[f"H1 {_yes(x.h1)}, diverged {_yes(x.diverged)}"] += 1
        return dict(sorted(c.items()))

    def as_dict(self) -> dict[str, Any]:
        by_policy: dict[str, Counter] = {}
        for x in self.cases:
            p = by_policy.setdefault(x.policy, Counter())
            p.update(cases=1, agree=x.agrees, h1=x.h1, diverged=x.diverged, errors=bool(x.device_error))
        return {"cases": len(self.cases), "agree": sum(x.agrees for x in self.cases), "all_agree": self.agree,
                "counts": self.counts(), "by_policy": {k: dict(v) for k, v in by_policy.items()},
                "disagreements": [vars(x) for x in self.cases if not x.agrees][:50]}


def _yes(x: object) -> str:
    return "yes" if x else "no"


def agreement_lines(table: Table) -> list[str]:
    return table_lines(table.as_dict())


def table_lines(d: dict[str, Any]) -> list[str]:
    """A truth table (``Table.as_dict``, or a child process's JSON of it) in lines for people."""
    lines = [f"cases    {d['cases']:,}; checker and GPU agree on {d['agree']:,} "
             f"({100 * d['agree'] / max(1, d['cases']):.2f} %)"]
    lines += [f"  {k:<58}{v:>8,}" for k, v in d["counts"].items()]
    lines.append(f"  {'per policy':<58}{'cases':>8}{'agree':>8}{'H1':>8}{'diverged':>9}{'errors':>8}")
    lines += [f"  {k:<58}{v.get('cases', 0):>8,}{v.get('agree', 0):>8,}{v.get('h1', 0):>8,}"
              f"{v.get('diverged', 0):>9,}{v.get('errors', 0):>8,}" for k, v in d["by_policy"].items()]
    lines += [f"DISAGREE case {x['case']} ({x['recording']} recording, {x['pool']} {x['passes']}): H1 {x['h1']}, "
              f"diverged {x['diverged']}, checker errors {x['checker_errors']}, device error {x['device_error']}"
              for x in d["disagreements"]]
    return lines


def run_cases(engine: Engine, n: int, *, seed: int = 0, n_ops: int = 40, p_draw: float = 0.0,
              done: Callable[[int], None] | None = None) -> Table:
    """``n`` random programs, recorded unsafely (as-recorded only) and safely (under every policy).

    ``p_draw``: the share of kernels drawn in a render pass instead of dispatched; ``done(1)`` is called after each
    program (a progress display's step).
    """
    table = Table()
    for case in range(n):
        ops = observable(synthetic.random_ops(np.random.default_rng([seed, case]), n_ops, p_draw=p_draw))
        for recording in ("unsafe", "safe"):
            source = synthetic.build(ops, seed=case, safe=recording == "safe")
            reference = reference_reads(engine, source, case)
            for pool, passes in POLICIES if recording == "safe" else POLICIES[:1]:
                table.cases.append(judge(engine, source, pool, passes, reference, case=case, recording=recording))
        if done is not None:
            done(1)
    return table


def reference_reads(engine: Engine, source: Trace, seed: int = 0) -> dict[int, bytes] | None:
    """The program-order reads of ``source``, keyed by source event (None if the reference itself failed)."""
    plan = reference_plan(source)
    run = engine.run(DecodedPlan.of(plan.trace), payloads(plan, seed).data)
    return keyed(plan, run.reads) if run.error is None else None


def judge(engine: Engine, source: Trace, pool: str, passes: str, reference: dict[int, bytes] | None, *,
          case: int = 0, recording: str = "", seed: int | None = None) -> Case:
    """Plan ``source``, check the plan, replay it, and compare its reads with ``reference``."""
    plan = plan_for(source, pool, passes)
    result = check(plan)
    h1 = bool(result.refuting())
    errors = tuple(r.id for r in result.rejected())
    run = engine.run(DecodedPlan.of(plan.trace), payloads(plan, case if seed is None else seed).data)
    error = run.error.line() if run.error else None
    kind = classify(run.error.error, run.error.message, current()) if run.error else None
    diverged = error is None and reference is not None and keyed(plan, run.reads) != reference
    return Case(case, recording, pool, passes, h1, errors, diverged, error, kind)
