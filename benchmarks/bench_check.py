"""Hazard checker speed: events per second on one core, and how the time grows with trace size.

The traces are ``wgtrace.sim.workloads.eager_loop``'s: an eager runtime's loop, as CubeCL's batched
stream records it, built column by column (a 10 M-event trace in seconds).

Each size reports the first run (cold memory: on small VMs page faults on fresh arrays are a large
share) and the best of the repeats, in CPU and wall seconds, and the footprint table alone.

    python benchmarks/bench_check.py                  # 1 M events, 3 runs
    python benchmarks/bench_check.py --growth         # 10 k .. 10 M events
    python benchmarks/bench_check.py --events 200000 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from time import perf_counter, thread_time

os.environ.setdefault("OMP_NUM_THREADS", "1")
if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from wgtrace.sim.check import check
from wgtrace.sim.footprint import commands_and_footprints
from wgtrace.sim.workloads.eager_loop import generate


def measure(events: int, repeat: int, seed: int) -> dict:
    """``check`` on a fresh trace: wall and CPU seconds of the first run and of the best of ``repeat``.

    CPU time (this thread's) is the figure to quote on a shared machine: wall time there includes
    waiting for a core. The footprint table (``sim.footprint``), which ``check`` builds first, is
    timed alone too.
    """
    trace = generate(events, seed)
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = perf_counter(), thread_time()
        result = check(trace)
        wall.append(perf_counter() - w)
        cpu.append(thread_time() - c)
    c = thread_time()
    commands_and_footprints(trace)
    table = thread_time() - c
    n = len(trace)
    return {"events": n, "queue_writes": result.stats["queue_writes"],
            "first_wall_s": round(wall[0], 3), "first_cpu_s": round(cpu[0], 3),
            "best_wall_s": round(min(wall), 3), "best_cpu_s": round(min(cpu), 3),
            "events_per_cpu_s_first": round(n / cpu[0]), "events_per_cpu_s_best": round(n / min(cpu)),
            "footprint_table_cpu_s": round(table, 3), "reorderings": result.stats["reorderings"],
            "findings": {r.id: len(result.of(r.id)) for r in result.rules}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--growth", action="store_true", help="10 k, 100 k, 1 M and 10 M events (1 run each above 1 M)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000, 1_000_000, 10_000_000] if args.growth else [args.events]
    rows = [measure(s, args.repeat if s <= 1_000_000 else 1, args.seed) for s in sizes]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['events']:>11,} events {r['queue_writes']:>10,} queue writes | "
                  f"first run cpu {r['first_cpu_s']:7.3f} s wall {r['first_wall_s']:7.3f} s "
                  f"({r['events_per_cpu_s_first']:>9,} ev/cpu-s) | "
                  f"best cpu {r['best_cpu_s']:7.3f} s ({r['events_per_cpu_s_best']:>9,} ev/cpu-s) | "
                  f"footprint table alone {r['footprint_table_cpu_s']:.3f} s | findings {r['findings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
