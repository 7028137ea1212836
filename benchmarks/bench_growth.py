"""How every stage grows with trace size: save, load, validate, plan, check and simulate, per policy.

A stage that is O(n log n) or better takes about 10x (a little more for n log n) the CPU time for 10x
the events; the table prints that factor for each step, so a super-linear stage stands out. The
traces are ``wgtrace.sim.workloads``'s (the compute eager loop, random programs or the render loop), saved to a
temporary file and loaded back, so load and validate run on what a recording would give.

First every pool x pass policy runs plan + check + simulate at the two smallest sizes; the policy
with the most CPU per event at the larger of those is the *worst*, and the growth table follows it
(with ``exclusive`` x ``as-recorded`` beside it as the floor) up to the largest size. CPU seconds of
this thread, one run per cell (the large sizes take minutes); pin a core with ``taskset -c 1``.

    python benchmarks/bench_growth.py                                  # 10 k .. 1 M events, compute
    python benchmarks/bench_growth.py --sizes 10000 100000 1000000 10000000 --json out.json
    python benchmarks/bench_growth.py --workload render --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
from collections.abc import Callable
from time import thread_time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from wgtrace.sim import check, plan  # noqa: E402
from wgtrace.sim.metrics import simulate  # noqa: E402
from wgtrace.sim.policies import pass_names, pool_names  # noqa: E402
from wgtrace.sim.workloads import eager_loop, random_program, render_loop  # noqa: E402
from wgtrace.traces import Trace, load, save, validate  # noqa: E402

FLOOR = ("exclusive", "as-recorded")
RENDER_DRAWS = 16


def workload(name: str, events: int) -> Trace:
    """About ``events`` events of the named workload."""
    if name == "compute":
        return eager_loop.generate(events)
    if name == "random":
        return random_program.generate(events)
    per_frame = len(render_loop.generate(10, RENDER_DRAWS)) / 10
    return render_loop.generate(max(1, round(events / per_frame)), RENDER_DRAWS)


def timed(stage: Callable[[], Any]) -> tuple[float, Any]:
    t = thread_time()
    out = stage()
    return thread_time() - t, out


def policy_stages(trace: Trace, pool: str, passes: str) -> dict[str, float]:
    """CPU seconds of plan, check and simulate under one policy, on a trace with nothing cached."""
    trace._cache.clear()
    plan_s, p = timed(lambda: plan(trace, pool, passes))
    check_s, _ = timed(lambda: check(p))
    simulate_s, _ = timed(lambda: simulate(p))
    return {"plan": plan_s, "check": check_s, "simulate": simulate_s, "plan_events": len(p.trace)}


def file_stages(trace: Trace) -> tuple[dict[str, float], Trace]:
    """CPU seconds of save, load and validate, and the loaded trace."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.wgtrace")
        save_s, _ = timed(lambda: save(trace, path))
        load_s, loaded = timed(lambda: load(path))
    validate_s, _ = timed(lambda: validate(loaded))
    return {"save": save_s, "load": load_s, "validate": validate_s}, loaded


def survey(name: str, sizes: list[int]) -> dict[str, dict[int, float]]:
    """Plan + check + simulate CPU seconds per event of every policy at each of ``sizes``."""
    out: dict[str, dict[int, float]] = {}
    for events in sizes:
        trace = workload(name, events)
        for pool in pool_names():
            for passes in pass_names():
                s = policy_stages(trace, pool, passes)
                cpu = s["plan"] + s["check"] + s["simulate"]
                out.setdefault(f"{pool} x {passes}", {})[len(trace)] = cpu / len(trace)
    return out


def growth(name: str, sizes: list[int], policies: list[tuple[str, str]]) -> list[dict]:
    rows = []
    for events in sizes:
        stages, trace = file_stages(workload(name, events))
        row = {"events": len(trace), **{k: round(v, 4) for k, v in stages.items()}}
        for pool, passes in policies:
            s = policy_stages(trace, pool, passes)
            row[f"{pool} x {passes}"] = {k: round(v, 4) for k, v in s.items()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def table(rows: list[dict], policies: list[tuple[str, str]]) -> Table:
    t = Table(title="CPU seconds per stage; in brackets, the factor over the previous size per 10x events")
    t.add_column("stage")
    for r in rows:
        t.add_column(f"{r['events']:,} events", justify="right")
    stages = [("save", None), ("load", None), ("validate", None)]
    stages += [(s, f"{pool} x {passes}") for pool, passes in policies for s in ("plan", "check", "simulate")]
    for stage, policy in stages:
        cells, prev = [], None
        for r in rows:
            v = r[stage] if policy is None else r[policy][stage]
            grown = prev is not None and min(prev[1], v) > 0
            step = f" ({per_decade(prev[0], prev[1], r['events'], v):.1f})" if grown else ""
            cells.append(f"{v:.3f}{step}")
            prev = (r["events"], v)
        t.add_row(stage if policy is None else f"{stage} {policy}", *cells)
    return t


def per_decade(n0: int, v0: float, n1: int, v1: float) -> float:
    """The factor a stage's time grows by per 10x events, between two sizes: 10 when linear."""
    return float(10 ** (math.log(v1 / v0) / math.log(n1 / n0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=("compute", "random", "render"), default="compute")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--survey", type=int, nargs="+", default=None,
                        help="sizes for the every-policy survey (default: the two smallest --sizes)")
    parser.add_argument("--json", help="write every figure here")
    args = parser.parse_args(argv)
    survey_sizes = args.survey or sorted(args.sizes)[:2]
    per_event = survey(args.workload, survey_sizes)
    last = max(max(v) for v in per_event.values())
    worst = max(per_event, key=lambda k: per_event[k].get(last, 0.0))
    pool, passes = worst.split(" x ")
    policies = [FLOOR, (pool, passes)] if (pool, passes) != FLOOR else [FLOOR]
    rows = growth(args.workload, sorted(args.sizes), policies)
    console = Console(width=200)
    console.print(f"machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}; workload {args.workload}; worst policy at "
                  f"{last:,} events: {worst} ({per_event[worst][last] * 1e6:.2f} us per event)")
    console.print(table(rows, policies))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"workload": args.workload, "survey": per_event, "worst": worst, "rows": rows}, f, indent=1,
                      sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
