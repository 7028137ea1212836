"""The conformance kit: is a pool policy hazard-free under a pass policy, on every program hypothesis finds?

``assert_hazard_free(pool, passes)`` draws random logical programs (``strategies.programs``: buffers,
queue writes, dispatches, draws, copies, reads, frees, submits; careful programs, which submit
before writing what their open encoder uses), plans each under the pool and every pass policy given
(``wgtrace.sim.planner``, whose guard refuses a policy's own errors), checks the plan
(``wgtrace.sim.check``), and plans it a second time, which must give the same plan. A program with a
hazard of error severity (H1-H5), a policy error or a second plan unlike the first fails: hypothesis
shrinks it to a minimal program, raised as a ``PolicyHazard`` whose message has the findings and the
program as wgpu-py code (``source.py``). Runs are derandomized: the same policy finds the same program.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings

from ..sim.check import check
from ..sim.check.rule import ERROR
from ..sim.plan import Plan
from ..sim.planner import plan
from ..sim.policies import PassPolicy, PolicyError, PoolPolicy, parse_passes, parse_pool
from ..sim.synthetic import Op, build
from .source import wgpu_source
from .strategies import programs

DEFAULT_PASSES = ("batched", "max-tasks:3", "pass-per-dispatch", "batched/staging-copy", "as-recorded")


class PolicyHazard(AssertionError):
    """A program that a pool x pass policy plans with a hazard (or a policy error): ``ops`` (``sim.synthetic``
    ops), the policies' names, ``problems`` (one line each) and ``source`` (the program as wgpu-py code)."""

    def __init__(self, ops: list[Op], pool: str, passes: str, problems: list[str]):
        self.ops, self.pool, self.passes, self.problems = ops, pool, passes, problems
        self.source = wgpu_source(ops, title=f"found by wgtrace.testing: pool {pool}, passes {passes}")
        shown = "\n".join(f"  {p}" for p in problems)
        code = "\n".join(f"    {line}" if line else "" for line in self.source.splitlines())
        super().__init__(f"pool {pool} under passes {passes}: the plan of this {len(ops)}-op program has "
                         f"{len(problems)} problem{'s' if len(problems) != 1 else ''}\n{shown}\n"
                         f"the program, as wgpu-py code (an op's first line ends in its program.py line):\n\n{code}")


def problems(ops: Sequence[Op], pool: str | PoolPolicy, passes: str | PassPolicy,
             rules: Collection[str] | None = None) -> list[str]:
    """What is wrong with planning program ``ops`` under the two policies: each error finding of the plan
    (``RULE message``) of ``rules`` (None: every rule), the planner's PolicyError, or that a second plan
    differs; [] when nothing is."""
    trace = build(list(ops), data="digest")
    try:
        first = plan(trace, pool, passes)
        again = plan(trace, pool, passes)
    except PolicyError as e:
        return [str(e)]
    found = [f"{f.rule} {f.message}" for f in check(first).findings
             if f.severity == ERROR and (rules is None or f.rule in rules)]
    if not _same(first, again):
        found.append("planning the same program twice gave two plans: the policy is not deterministic")
    return found


def assert_hazard_free(pool: str | PoolPolicy, passes: str | PassPolicy | Sequence[str | PassPolicy] = DEFAULT_PASSES,
                       *, max_examples: int = 150, max_ops: int = 24, draws: float = 0.2,
                       rules: Collection[str] | None = None) -> None:
    """Raise ``PolicyHazard`` with a minimal program on which ``pool`` under one of ``passes`` is not
    hazard-free; return when none of ``max_examples`` programs of up to ``max_ops`` ops is one.

    ``passes``: a pass policy or several (default: ``DEFAULT_PASSES``, one of each kind of batching and
    upload); ``draws``: the share of kernels drawn by a render pass; ``rules``: the hazard rules that count
    (default: every rule of error severity, H1-H5; a pool that cuts pages into slices meets H2 when a
    program copies between two tensors it put on one page). Bad policy names raise PolicyError.
    """
    pool_policy = parse_pool(pool)
    listed = [passes] if isinstance(passes, (str, PassPolicy)) else list(passes)
    pass_policies = [parse_passes(p) for p in listed]

    @settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
              suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example))
    @given(programs(max_ops=max_ops, draws=draws))
    def conforms(ops: list[Op]) -> None:
        for pass_policy in pass_policies:
            found = problems(ops, pool_policy, pass_policy, rules)
            if found:
                raise PolicyHazard(ops, pool_policy.spec, pass_policy.spec, found)

    conforms()


def _same(a: Plan, b: Plan) -> bool:
    """Whether two plans are the same physical program with the same allocations."""
    ta, tb = a.trace, b.trace
    columns = [(ta.kind, tb.kind), (ta.args, tb.args), (ta.rows, tb.rows), (a.origin, b.origin)]
    columns += [(x, y) for x, y in zip(vars(a.allocations).values(), vars(b.allocations).values(), strict=True)]
    return all(np.array_equal(x, y) for x, y in columns)
