"""What each kind of call costs inside real programs: every replayed call timed on its own.

`wgtrace calibrate` fits the cost model to whole runs, and calls that always come together (a dispatch
with its set_pipeline and set_bind_group, a finish with its submit) cannot be told apart that way. Here
each call of the steady part (from the first submit after the last compile) is timed by itself, wall
clock around the call (with `--cpu`, the replaying thread's CPU clock less the clock's own cost, as
`wgtrace calibrate`'s profile rounds time it; a wait for the device then does not count), so one sees
whether a kind costs the same in every program (then a per-call model can predict) or depends on the
program (then the model needs another term). Each trace is
replayed under each policy of the calibration design, `--warmup` untimed runs, then `--repeat` timed;
per kind, the median over the timed runs of its mean microseconds per call.

    python benchmarks/profile_calls.py traces/corpus/nbody.wgtrace traces/corpus/mlp_train.wgtrace \\
        [--repeat 5] [--cpu] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from time import perf_counter_ns, thread_time_ns

import numpy as np

from wgtrace.replay.calibrate import DESIGN, clock_overhead_ns, steady_from
from wgtrace.replay.data import payloads
from wgtrace.replay.device import adapter_name, open_device
from wgtrace.replay.engine import DecodedPlan, Engine
from wgtrace.replay.report import plan_for
from wgtrace.traces import Kind, load


def profile(engine: Engine, path: str, pool: str, passes: str, repeat: int, warmup: int,
            cpu_clock: bool = False) -> dict:
    """One trace under one policy: per kind of call in the steady part, its calls and us per call (median of
    the timed runs), and the steady part's CPU per run."""
    trace = load(path)
    plan = plan_for(trace, pool, passes, limits=dict(engine.device.limits))
    decoded, data = DecodedPlan.of(plan.trace), payloads(plan, 0).data
    mark = steady_from(plan.trace)
    kinds = plan.trace.kind[mark:]
    present = np.unique(kinds)
    per_run, cpu = [], []
    for k in range(warmup + repeat):
        clock = np.zeros(len(plan.trace), dtype=np.int64)
        run = engine.run(decoded, data, mark=mark, clock=clock,
                         clock_ns=thread_time_ns if cpu_clock else perf_counter_ns)
        if cpu_clock:
            clock = np.maximum(clock - clock_overhead_ns(), 0)
        if run.error is not None:
            return {"trace": os.path.basename(path), "pool": pool, "passes": passes, "error": run.error.line()}
        if k >= warmup:
            per_run.append(np.bincount(kinds, weights=clock[mark:], minlength=max(Kind) + 1))
            cpu.append((run.cpu_s - run.cpu_to_mark_s) * 1e6)
    calls = np.bincount(kinds, minlength=max(Kind) + 1)
    per_kind = {Kind(int(k)).name.lower(): {"calls": int(calls[k]),
                                            "us_per_call": statistics.median(r[k] for r in per_run) / calls[k] / 1e3}
                for k in present.tolist()}
    return {"trace": os.path.basename(path), "pool": pool, "passes": passes, "steady_cpu_us": statistics.median(cpu),
            "steady_timed_us": statistics.median(float(r.sum()) for r in per_run) / 1e3, "per_kind": per_kind}


def table(rows: list[dict]) -> list[str]:
    """us per call, a kind per line and a trace x policy per column (calls in brackets)."""
    ok = [r for r in rows if "per_kind" in r]
    kinds = sorted({k for r in ok for k in r["per_kind"]})
    lines = ["kind".ljust(22) + "".join(f"{r['trace'][:14] + ' ' + r['passes'][:10]:>27}" for r in ok)]
    for kind in kinds:
        cells = [r["per_kind"].get(kind) for r in ok]
        lines.append(kind.ljust(22) + "".join(f"{c['us_per_call']:>18.2f} ({c['calls']:>5})" if c else " " * 27
                                              for c in cells))
    lines.append("steady cpu ms".ljust(22) + "".join(f"{r['steady_cpu_us'] / 1e3:>27.3f}" for r in ok))
    lines.append("sum of calls ms".ljust(22) + "".join(f"{r['steady_timed_us'] / 1e3:>27.3f}" for r in ok))
    return lines + [f"not measured: {r['trace']} {r['pool']} {r['passes']}: {r['error']}" for r in rows
                    if "error" in r]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("traces", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--cpu", action="store_true", help="time each call on the thread's CPU clock, not wall time")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    device = open_device(args.adapter)
    engine = Engine(device, args.timeout)
    rows = [profile(engine, path, pool, passes, args.repeat, args.warmup, args.cpu)
            for path in args.traces for pool, passes in DESIGN]
    engine.close()
    clock = "the thread's CPU clock" if args.cpu else "wall clock"
    print(f"adapter: {adapter_name(device.adapter)}; us per call in the steady part ({clock}), median of {args.repeat}")
    print("\n".join(table(rows)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"adapter": adapter_name(device.adapter), "repeat": args.repeat, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
