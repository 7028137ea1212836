"""Trace format speed: streaming write, whole-trace save, load (validated) for a 1 M-event trace.

    python benchmarks/bench_traces.py [--events 1000000] [--json out.json]

The trace is a synthetic eager program (sim.synthetic) in digest mode: the event mix of a real
recording (bind groups with rows, passes, dispatches, queue writes, submits), with a distinct call
site per op (a worst case for the string table). The streaming write replays its events through
TraceWriter.append, the call the recorder makes per event; its net figure takes out the time the
same loop takes calling a function that does nothing. Figures are CPU seconds of this
process (best of ``--repeat``), so other load on a shared machine does not count.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time

import numpy as np

from wgtrace.sim.synthetic import build, random_ops
from wgtrace.traces import TraceWriter, load, save


def synthetic(n_events: int):
    ops = random_ops(np.random.default_rng(7), max(n_events * 5 // 9, 1), max_words=1024)
    return build(ops, seed=7, data="digest")


def best(fn, repeat: int) -> float:
    """Best CPU seconds of this process over ``repeat`` runs: other load on a shared machine does not count."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    trace = synthetic(args.events)
    n = len(trace)
    rows_of = [trace.rows_of(i).tolist() if trace.nrows[i] else None for i in range(n)]
    events = list(zip(trace.kind.tolist(), trace.site.tolist(), *trace.args.T.tolist(), rows_of, strict=True))

    def feed(append) -> None:
        for k, s, a0, a1, a2, a3, a4, a5, r in events:
            append(k, s, a0, a1, a2, a3, a4, a5, r)

    def stream() -> bytes:
        f = io.BytesIO()
        w = TraceWriter(f, trace.header)
        w._string_list.extend(trace.strings)
        feed(w.append)
        w.close()
        return f.getvalue()

    def nothing(k, s, a0, a1, a2, a3, a4, a5, r) -> None:
        """The benchmark's own loop and call, to take out of the writer's figure."""

    def bulk() -> bytes:
        f = io.BytesIO()
        save(trace, f)
        return f.getvalue()

    data = bulk()
    results = {
        "events": n,
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
                   f"python {platform.python_version()}".strip(),
        "write_stream_events_per_s": n / best(stream, args.repeat),
        "write_stream_net_events_per_s": n / (best(stream, args.repeat) - best(lambda: feed(nothing), args.repeat)),
        "write_bulk_events_per_s": n / best(bulk, args.repeat),
        "load_events_per_s": n / best(lambda: load(data), args.repeat),
        "load_unchecked_events_per_s": n / best(lambda: load(data, check=False), args.repeat),
        "bytes_per_event": len(data) / n,
        "file_bytes": len(data),
    }
    for key, value in results.items():
        print(f"{key:<30} {value:,.2f}" if isinstance(value, float) else f"{key:<30} {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
