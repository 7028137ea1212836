"""No stage grows super-linearly: doubling a generated trace at most triples each stage's operations.

Operations, not seconds (``opcount.py``): lines of Python run plus bytes numpy allocates, which no
other load on the machine changes. Linear work doubles; n log n a little more; a loop over events
nested in another, or a whole-table sort per event, quadruples. The workloads are the benchmarks'
(``wgtrace.sim.workloads``): compute, random (copies, reads, frees) and render; the policies every
pool and every kind of pass policy at least once. ``benchmarks/bench_growth.py`` shows the same in
seconds up to 10 M events.
"""

from __future__ import annotations

import io

import pytest
from opcount import count

from wgtrace.sim import check, plan
from wgtrace.sim.metrics import simulate
from wgtrace.sim.workloads import eager_loop, random_program, render_loop
from wgtrace.traces import Trace, load, save, validate

EVENTS = 6000
MAX_GROWTH = 3.0
POLICIES = [("exclusive", "max-tasks:32/staging-copy"), ("sliced+fix", "max-tasks:32/staging-copy"),
            ("sliced-pr56+fix-range", "pass-per-dispatch/flush-write"), ("exclusive-pages+fix", "batched"),
            ("size-class+fix", "max-tasks:32"), ("sliced+fix", "as-recorded")]


def compute(events: int) -> Trace:
    return eager_loop.generate(events)


def mixed(events: int) -> Trace:
    return random_program.generate(events)


def render(events: int) -> Trace:
    return render_loop.generate(max(1, events // 46), 8)


def stages(trace: Trace, pool: str, passes: str) -> dict[str, int]:
    """Operations of each stage on ``trace`` (nothing cached from an earlier run)."""
    buffer = io.BytesIO()
    save(trace, buffer)
    data = buffer.getvalue()
    loaded: list[Trace] = []
    out = {"load": count(lambda: loaded.append(load(data, check=False))).operations,
           "validate": count(lambda: validate(loaded[0])).operations}
    planned = []
    out["plan"] = count(lambda: planned.append(plan(loaded[0], pool, passes))).operations
    out["check"] = count(lambda: check(planned[0])).operations
    out["simulate"] = count(lambda: simulate(planned[0])).operations
    return out


@pytest.mark.parametrize("make", [compute, mixed, render])
@pytest.mark.parametrize("pool, passes", POLICIES)
def test_doubling_the_trace_at_most_triples_every_stage(make, pool, passes):
    stages(make(EVENTS // 8), pool, passes)  # first calls import and build what every later call reuses
    small, large = stages(make(EVENTS), pool, passes), stages(make(2 * EVENTS), pool, passes)
    grown = {stage: large[stage] / small[stage] for stage in small}
    assert max(grown.values()) <= MAX_GROWTH, {stage: round(g, 2) for stage, g in grown.items()}
