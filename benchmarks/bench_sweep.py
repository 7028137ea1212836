"""Sweep speed-up on Dask: the corpus under every pool x pass policy, in this process and on 1 and 2 workers.

Each run plans and simulates every job (``--check`` adds the checker); the serial run is the same
jobs through ``run_serial``, without Dask, so the difference per job between it and a one-worker
LocalCluster is what a task costs (scheduling, pickling, the round trips of its row). A no-op task
run the same way isolates Dask's own share. Runs alternate between the three set-ups, ``--repeat``
times, and the median wall-clock time is reported (the VM is shared: look at the load average
printed beside them), with the CPU seconds each side spent on the one-worker run (this process,
which holds the scheduler, and the worker), which other load inflates less. Every run's rows must
equal the serial run's.

    python benchmarks/bench_sweep.py                      # traces/corpus, every policy, 3 repeats
    python benchmarks/bench_sweep.py --check --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from importlib.metadata import version
from pathlib import Path

from wgtrace.sim.policies import pass_names, pool_names
from wgtrace.sim.sweep import Settings, expand, jobs_for, survey
from wgtrace.sim.sweep.execute import cluster, run_on, run_serial
from wgtrace.sim.sweep.rows import sort_key

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"


def noop(i: int) -> int:
    return i


def cpu_s() -> float:
    """CPU seconds of this process so far (user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_serial(jobs: list) -> tuple[float, float, list]:
    rows: list = []
    t, c = time.perf_counter(), cpu_s()
    run_serial(jobs, rows.append)
    return time.perf_counter() - t, cpu_s() - c, rows


def timed_cluster(jobs: list, workers: int) -> dict:
    """Seconds to start a LocalCluster of ``workers``, to run every job on it (and the CPU seconds of this
    process and of the workers meanwhile), and to run as many no-op tasks."""
    rows: list = []
    t0 = time.perf_counter()
    with cluster(workers=workers) as client:
        t1, here, there = time.perf_counter(), cpu_s(), client.run(cpu_s)
        run_on(client, jobs, rows.append)
        t2, here, there = time.perf_counter(), cpu_s() - here, sum(client.run(cpu_s).values()) - sum(there.values())
        futures = client.map(noop, range(len(jobs)), key=[f"noop-{i}" for i in range(len(jobs))])
        client.gather(futures)
        t3 = time.perf_counter()
    return {"start_s": t1 - t0, "run_s": t2 - t1, "noop_s": t3 - t2, "client_cpu_s": here, "worker_cpu_s": there,
            "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="*", default=[str(CORPUS)])
    parser.add_argument("--pool", dest="pools", nargs="+", default=pool_names(), help="default: every pool")
    parser.add_argument("--pass", dest="passes", nargs="+", default=pass_names(), help="default: every pass policy")
    parser.add_argument("--check", action="store_true", help="check every plan too")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    traces = survey(expand(args.corpus))
    jobs = sorted(jobs_for(traces, args.pools, args.passes, Settings(check=args.check)),
                  key=lambda job: -job.trace.size)
    serial_s, serial_cpu, one_s, two_s, noop_s, load = [], [], [], [], [], []
    client_cpu, worker_cpu = [], []
    reference = None
    for _ in range(args.repeat):
        load.append(os.getloadavg()[0])
        seconds, cpu, rows = timed_serial(jobs)
        serial_s.append(seconds)
        serial_cpu.append(cpu)
        reference = sorted(rows, key=sort_key)
        for workers, into in ((1, one_s), (2, two_s)):
            run = timed_cluster(jobs, workers)
            if sorted(run["rows"], key=sort_key) != reference:
                raise SystemExit(f"{workers} workers gave other rows than the serial run")
            into.append(run["run_s"])
            if workers == 1:
                noop_s.append(run["noop_s"])
                client_cpu.append(run["client_cpu_s"])
                worker_cpu.append(run["worker_cpu_s"])
    n = len(jobs)
    serial, one, two, noops = (statistics.median(x) for x in (serial_s, one_s, two_s, noop_s))
    cpu_serial, cpu_client, cpu_worker = (statistics.median(x) / n * 1e3 for x in (serial_cpu, client_cpu, worker_cpu))
    figures = {
        "machine": f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, dask "
                   f"{version('dask')}, distributed {version('distributed')}, pyarrow {version('pyarrow')}",
        "load_average_1min": [round(x, 2) for x in load],
        "traces": len(traces), "jobs": n, "check": args.check, "repeat": args.repeat,
        "serial_s": round(serial, 3), "one_worker_s": round(one, 3), "two_workers_s": round(two, 3),
        "speed_up_2_vs_1": round(one / two, 3), "speed_up_2_vs_serial": round(serial / two, 3),
        "job_ms_serial": round(serial / n * 1e3, 3),
        "overhead_ms_per_job": round((one - serial) / n * 1e3, 3),
        "noop_task_ms": round(noops / n * 1e3, 3),
        "cpu_ms_per_job": {"serial": round(cpu_serial, 3), "one_worker_client_and_scheduler": round(cpu_client, 3),
                           "one_worker_worker": round(cpu_worker, 3)},
        "runs_s": {"serial": serial_s, "one": one_s, "two": two_s},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{figures['machine']}; load average {figures['load_average_1min']}")
    print(f"{len(traces)} traces x {len(args.pools)} pools x {len(args.passes)} pass policies = {n:,} jobs"
          f"{' (checked)' if args.check else ''}; median of {args.repeat}")
    print(f"serial (no Dask)  {serial:7.2f} s   {serial / n * 1e3:6.2f} ms per job")
    print(f"1 worker          {one:7.2f} s   overhead {(one - serial) / n * 1e3:+.2f} ms per job "
          f"(a no-op task: {noops / n * 1e3:.2f} ms)")
    print(f"2 workers         {two:7.2f} s   {one / two:.2f}x the 1-worker run, {serial / two:.2f}x the serial run")
    print(f"CPU per job       serial {cpu_serial:.2f} ms; on 1 worker {cpu_worker:.2f} ms in the worker and "
          f"{cpu_client:.2f} ms in this process (client and scheduler)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
