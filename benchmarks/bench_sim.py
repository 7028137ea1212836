"""Plan + simulate throughput: events per second on one core, per pool, and how it grows with size.

The trace is ``wgtrace.sim.workloads.random_program``'s: ``sim.synthetic``'s random ops in chunks.
Each figure is the best of ``--repeat`` cold runs in CPU seconds of this process (``process_time``:
other load on the machine does not count): the per-trace lift (footprints, windows) is recomputed
every time, so a figure covers everything ``plan`` + ``simulate`` do for one policy on a freshly loaded trace.

    python benchmarks/bench_sim.py                       # every pool at 1 M events, growth to 1 M
    python benchmarks/bench_sim.py --sizes 10000 100000 1000000 10000000 --json
    python benchmarks/bench_sim.py --planner --workload compute   # plan alone, every pool x every pass policy

``--planner`` times ``plan`` alone (cold: the per-trace lift included, as ``wgtrace sim`` pays it) under
every pool x pass policy (or those given), slowest first, on the random program or the eager loop
(``compute``, ``wgtrace.sim.workloads.eager_loop``, saved and loaded back as a recorded trace is);
``--planner --stages`` gives each policy's CPU seconds per stage of ``plan`` instead (the per-trace
lift, the loop, assembling the columns).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from time import process_time

from rich.console import Console
from rich.table import Table

from wgtrace.sim import plan
from wgtrace.sim.metrics import simulate
from wgtrace.sim.planner.assemble import assemble
from wgtrace.sim.planner.emitter import Emitter
from wgtrace.sim.planner.program import LogicalProgram
from wgtrace.sim.planner.recorded import RecordedLoop
from wgtrace.sim.planner.rerecorded import RerecordingLoop
from wgtrace.sim.planner.schedule import schedule
from wgtrace.sim.policies import parse_passes, parse_pool, pass_names, pool_names
from wgtrace.sim.workloads import eager_loop
from wgtrace.sim.workloads.random_program import generate
from wgtrace.traces import Trace, load, save

GROWTH_POLICIES = (("exclusive", "as-recorded"), ("sliced+fix", "as-recorded"), ("sliced+fix", "max-tasks:32"))


def best_rate(trace: Trace, pool: str, passes: str, repeat: int) -> tuple[float, int]:
    """(events per CPU second, plan events) of plan + simulate, best of ``repeat`` cold runs."""
    best = float("inf")
    for _ in range(repeat):
        trace._cache.clear()
        t = process_time()
        p = plan(trace, pool, passes)
        simulate(p)
        best = min(best, process_time() - t)
    return len(trace) / best, len(p.trace)


def plan_rate(trace: Trace, pool: str, passes: str, repeat: int) -> float:
    """Events per CPU second of ``plan`` alone, best of ``repeat`` cold runs."""
    best = float("inf")
    for _ in range(repeat):
        trace._cache.clear()
        t = process_time()
        plan(trace, pool, passes)
        best = min(best, process_time() - t)
    return len(trace) / best


def planner_survey(trace: Trace, pools: list[str], passes: list[str], repeat: int, as_json: bool) -> int:
    """The planner's rate under each pool x pass policy, slowest first."""
    rows = sorted(({"pool": pool, "passes": p, "events": len(trace),
                    "events_per_s": round(plan_rate(trace, pool, p, repeat))} for pool in pools for p in passes),
                  key=lambda r: r["events_per_s"])
    if as_json:
        print(json.dumps({"machine": platform.processor() or platform.machine(), "planner": rows}, indent=2))
        return 0
    print(f"plan alone, {len(trace):,}-event trace, Python {platform.python_version()}; events per CPU second, "
          f"best of {repeat}, slowest first")
    for r in rows:
        print(f"{r['pool']:<28}{r['passes']:<34}{r['events_per_s']:>12,}")
    return 0


def stage_seconds(trace: Trace, pool: str, passes: str) -> dict[str, float]:
    """CPU seconds of each stage of ``plan`` (as sim/planner/__init__.py runs them), cold."""
    trace._cache.clear()
    pool_policy, pass_policy = parse_pool(pool), parse_passes(passes)
    times, t = {}, process_time()
    program = LogicalProgram.of(trace)
    times["lift"], t = process_time() - t, process_time()
    emitter = Emitter(trace, program, pool_policy, None)
    work = schedule(trace, program, emitter.pooled, pool_policy, pass_policy)
    times["emitter + schedule"], t = process_time() - t, process_time()
    if not pass_policy.records:
        RerecordingLoop(emitter, pass_policy, work).run()
    elif work.visits or work.free_buffer:
        RecordedLoop(emitter, work).run()
    times["loop"], t = process_time() - t, process_time()
    assemble(emitter, work.placed, pass_policy)
    times["assemble"] = process_time() - t
    emitter.release()
    return times


def saved(trace: Trace) -> Trace:
    """``trace`` as a recorded trace is planned: written to a file and loaded back."""
    path = os.path.join(tempfile.mkdtemp(prefix="wgtrace-bench-"), "trace.wgtrace")
    save(trace, path)
    try:
        return load(path)
    finally:
        os.remove(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="trace size for the per-pool table")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="trace sizes for the growth table")
    parser.add_argument("--pools", nargs="+", default=pool_names())
    parser.add_argument("--passes", nargs="+", help="default: as-recorded and max-tasks:32 (--planner: every one)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--planner", action="store_true", help="plan alone under every pool x every pass policy")
    parser.add_argument("--workload", choices=("random", "compute"), default="random")
    parser.add_argument("--stages", action="store_true", help="with --planner: CPU seconds per stage of plan")
    args = parser.parse_args(argv)
    for spec in args.pools:
        parse_pool(spec)
    for spec in args.passes or ():
        parse_passes(spec)
    if args.planner:
        source = eager_loop.generate if args.workload == "compute" else generate
        trace = saved(source(args.events))
        if args.stages:
            for pool, passes in ((pool, p) for pool in args.pools for p in args.passes or pass_names()):
                times = stage_seconds(trace, pool, passes)
                print(f"{pool} x {passes}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
            return 0
        return planner_survey(trace, args.pools, args.passes or pass_names(), args.repeat, args.json)
    args.passes = args.passes or ["as-recorded", "max-tasks:32"]

    traces: dict[int, Trace] = {}

    def trace_of(size: int) -> Trace:
        if size not in traces:
            traces[size] = generate(size)
        return traces[size]

    per_pool = []
    main_trace = trace_of(args.events)
    for pool in args.pools:
        for passes in args.passes:
            rate, planned = best_rate(main_trace, pool, passes, args.repeat)
            per_pool.append({"pool": pool, "passes": passes, "events": len(main_trace), "plan_events": planned,
                             "events_per_s": round(rate)})
    growth = []
    for size in args.sizes:
        trace = trace_of(size)
        for pool, passes in GROWTH_POLICIES:
            rate, _ = best_rate(trace, pool, passes, args.repeat if size < 5_000_000 else 1)
            growth.append({"pool": pool, "passes": passes, "events": len(trace), "events_per_s": round(rate),
                           "seconds": round(len(trace) / rate, 3)})
        if size != args.events:
            traces.pop(size)
    machine = f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    if args.json:
        print(json.dumps({"machine": machine, "per_pool": per_pool, "growth": growth}, indent=2))
    else:
        print_tables(len(main_trace), per_pool, growth, machine)
    return 0


def print_tables(events: int, per_pool: list[dict], growth: list[dict], machine: str) -> None:
    console = Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"plan + simulate, {events:,}-event trace ({machine})", title_justify="left")
    for name in ("pool", "passes", "plan events", "events/CPU s"):
        table.add_column(name, justify="left" if name in ("pool", "passes") else "right")
    for row in per_pool:
        table.add_row(row["pool"], row["passes"], f"{row['plan_events']:,}", f"{row['events_per_s']:,}")
    console.print(table)
    table = Table(title="growth", title_justify="left")
    for name in ("pool", "passes", "events", "CPU s", "events/CPU s"):
        table.add_column(name, justify="left" if name in ("pool", "passes") else "right")
    for row in growth:
        table.add_row(row["pool"], row["passes"], f"{row['events']:,}", f"{row['seconds']:.3f}",
                      f"{row['events_per_s']:,}")
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
