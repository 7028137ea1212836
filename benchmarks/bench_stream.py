"""Traces larger than memory: generate one streaming to disk, then validate, check and simulate it, each stage
in a process of its own that reports its CPU seconds, wall seconds and peak RSS (``ru_maxrss``).

The trace is the compute eager loop (``wgtrace.sim.workloads.eager_loop.pieces``), written a piece at a
time (``traces.stream.save_pieces``), so generating never holds more than one piece. ``validate``
streams the file chunk by chunk (``traces.stream.validate_file``), ``check`` and ``simulate`` window
by window (``sim.check.windowed.check_file``, ``sim.metrics.windowed.simulate_file``, as ``wgtrace
check`` and ``wgtrace sim`` do). With ``--whole``, stages that read the whole trace: ``load`` (narrow
columns; it reports the bytes per event they hold), ``check-whole`` and ``simulate-whole`` (as
recorded): give those only sizes that fit in memory.

    python benchmarks/bench_stream.py --events 100000000
    python benchmarks/bench_stream.py --events 10000000 --whole load check-whole simulate-whole
    python benchmarks/bench_stream.py --events 30000000 --stages generate check simulate
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

PIECE_EVENTS = 1 << 20
STREAMED = ("generate", "validate", "check", "simulate")
WHOLE = ("load", "check-whole", "simulate-whole")


def generate(path: str, events: int) -> dict:
    from wgtrace.sim.workloads import eager_loop
    from wgtrace.traces.stream import save_pieces

    pieces = eager_loop.pieces(events, PIECE_EVENTS)
    first = next(pieces)
    n = save_pieces(first.header, _chain(first, pieces), path)
    return {"events": n, "file_bytes": os.path.getsize(path)}


def _chain(first, rest):
    yield first
    yield from rest


def validate(path: str, events: int) -> dict:
    from wgtrace.traces.stream import validate_file

    return {"events": validate_file(path).events}


def load(path: str, events: int) -> dict:
    from wgtrace.traces import load as load_trace

    trace = load_trace(path)
    held = sum(int(getattr(trace, c).nbytes) for c in ("kind", "t", "site", "args", "nrows", "rows", "row_start"))
    return {"events": len(trace), "bytes_per_event": round(held / len(trace), 2)}


def check(path: str, events: int) -> dict:
    from wgtrace.sim.check.windowed import check_file

    result = check_file(path)
    return {"events": result.stats["events"], "verdict": result.verdict, "findings": len(result.findings)}


def check_whole(path: str, events: int) -> dict:
    from wgtrace.sim import check as check_plan
    from wgtrace.traces import load as load_trace

    result = check_plan(load_trace(path))
    return {"events": result.stats["events"], "verdict": result.verdict, "findings": len(result.findings)}


def simulate(path: str, events: int) -> dict:
    from wgtrace.sim.metrics.windowed import simulate_file

    metrics = simulate_file(path).metrics
    return {"events": metrics.events, "peak_reserved_bytes": metrics.peak_reserved_bytes,
            "floor_bytes": metrics.floor_bytes, "offline_peak_bytes": metrics.offline_peak_bytes}


def simulate_whole(path: str, events: int) -> dict:
    from wgtrace.sim import Plan
    from wgtrace.sim.metrics import simulate as simulate_plan
    from wgtrace.traces import load as load_trace

    metrics = simulate_plan(Plan.as_recorded(load_trace(path)))
    return {"events": metrics.events, "peak_reserved_bytes": metrics.peak_reserved_bytes,
            "floor_bytes": metrics.floor_bytes, "offline_peak_bytes": metrics.offline_peak_bytes}


RUN: dict[str, Callable[[str, int], dict]] = {"generate": generate, "validate": validate, "check": check,
                                               "simulate": simulate, "load": load, "check-whole": check_whole,
                                               "simulate-whole": simulate_whole}


def stage(name: str, path: str, events: int) -> dict:
    """Run one stage here and report it (the child's side)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = RUN[name](path, events)
    return {"stage": name, **out, "cpu_s": round(time.process_time() - cpu, 1),
            "wall_s": round(time.perf_counter() - wall, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--stages", nargs="+", default=list(STREAMED), choices=STREAMED,
                        help="the streamed stages to run (generate first: the others read its file)")
    parser.add_argument("--whole", nargs="*", default=[], choices=WHOLE,
                        help="stages that load the whole trace (only for sizes that fit in memory)")
    parser.add_argument("--path", help="where the trace goes (default: a temporary file, removed after)")
    parser.add_argument("--stage", choices=STREAMED + WHOLE, help=argparse.SUPPRESS)  # a child's one stage
    args = parser.parse_args(argv)
    if args.stage:
        print(json.dumps(stage(args.stage, args.path, args.events)), flush=True)
        return 0
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as d:
        path = args.path or os.path.join(d, "stream.wgtrace")
        for name in (*args.stages, *args.whole):
            done = subprocess.run([sys.executable, __file__, "--stage", name, "--path", path, "--events",
                                   str(args.events)], check=True, capture_output=True, text=True)
            print(done.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
