"""wgtrace.sim: plan a trace under pool and pass policies, check the plan for hazards, simulate its cost.

Pure Python and numpy, no GPU: same trace, same policies, byte-identical results.

    from wgtrace.sim import plan, check, simulate
    p = plan(trace, "sliced+fix", "batched")     # a Plan: the physical program and its allocations
    result = check(p)                             # a CheckResult: findings and what was proven
    metrics = simulate(p)                         # Metrics: memory, passes, submits, predicted CPU cost
"""

from .check import CheckResult, Finding, check
from .metrics import Costs, Metrics, simulate
from .plan import Allocations, Plan
from .planner import plan
from .policies import PassPolicy, PolicyError, PoolPolicy, parse_passes, parse_pool

__all__ = ["Allocations", "CheckResult", "Costs", "Finding", "Metrics", "PassPolicy", "Plan", "PolicyError",
           "PoolPolicy", "check", "parse_passes", "parse_pool", "plan", "simulate"]
