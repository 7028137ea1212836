"""wgtrace.sim: plan a trace under pool and pass policies, check the plan for hazards, simulate its cost.

Pure Python and numpy, no GPU: same trace, same policies, byte-identical results.

    from wgtrace.sim import plan, check, simulate
    p = plan(trace, "sliced+fix", "batched")     # a Plan: the physical program and its allocations
    result = check(p)                             # a CheckResult: findings and what was proven
    metrics = simulate(p)                         # Metrics: memory, passes, submits, predicted CPU cost

These names load on first use (``__getattr__``): a command that needs none of them (``wgtrace
--help``, ``info``, ``validate``) does not import the planner, the checker and the simulator. Two of
them are also the names of submodules (``plan.py``, ``check/``); those are imported here first and
their attributes dropped, so that the names stay the functions, as they were when imported eagerly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..traces import lazy
from . import check as _check_package  # noqa: F401
from . import plan as _plan_module  # noqa: F401

del check, plan  # noqa: F821 (bound by the imports above, as submodules)

if TYPE_CHECKING:
    from .check import CheckResult, Finding, check
    from .metrics import Costs, Metrics, simulate
    from .plan import Allocations, Plan
    from .planner import plan
    from .policies import PassPolicy, PolicyError, PoolPolicy, parse_passes, parse_pool

_HOME = {
    "CheckResult": ".check", "Finding": ".check", "check": ".check",
    "Costs": ".metrics", "Metrics": ".metrics", "simulate": ".metrics",
    "Allocations": ".plan", "Plan": ".plan", "plan": ".planner",
    "PassPolicy": ".policies", "PolicyError": ".policies", "PoolPolicy": ".policies", "parse_passes": ".policies",
    "parse_pool": ".policies",
}
__all__ = ["Allocations", "CheckResult", "Costs", "Finding", "Metrics", "PassPolicy", "Plan", "PolicyError",
           "PoolPolicy", "check", "parse_passes", "parse_pool", "plan", "simulate"]
__getattr__ = lazy.names(__name__, _HOME)
