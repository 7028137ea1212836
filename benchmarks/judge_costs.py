"""How a cost file predicts replays measured elsewhere: the shipped calibration against another machine start.

`wgtrace calibrate --runs` fits runs again; this script fits nothing. It prices the steady part of every
replay in the runs files (as `--save-runs` wrote them) with the given costs and prints, apart for the
programs the costs were fitted on and for the others, how many land within 20 % and whether the policies
come out in the measured order. The traces the runs name are found among the TRACEs given (the corpus,
and the random programs `refit_default.py` generates, made again here).

    python benchmarks/judge_costs.py RUNS.json [RUNS.json ...] [--costs sim/metrics/costs_h100.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from refit_default import CORPUS, RENDER, random_programs

from wgtrace.replay.calibrate import TOLERANCE, Row, from_runs, predicted, quiet, ranking, read_runs, sha256
from wgtrace.sim.metrics import load_costs
from wgtrace.sim.metrics.cost import DEFAULT_FILE
from wgtrace.traces import load


def summary(rows: list[Row]) -> str:
    within = sum(abs(r.error) <= TOLERANCE for r in rows)
    agree, pairs = ranking(rows)
    median = statistics.median(abs(r.error) for r in rows)
    return (f"{within} of {len(rows)} within {TOLERANCE:.0%}, median error {median:.0%}, policies ordered as measured "
            f"in {agree} of {pairs} separable pairs")


def by_policy(rows: list[Row]) -> str:
    """Per policy, the mean over traces of its measured / predicted, each trace's policies scaled to a mean of 1:
    what one policy's replays carry that the model does not (its place in each round, say), beside the others."""
    ratios: dict[str, dict[tuple[str, str], float]] = {}
    for r in rows:
        ratios.setdefault(r.m.trace, {})[(r.m.pool, r.m.passes)] = r.m.median / r.predicted_us
    scaled: dict[tuple[str, str], list[float]] = {}
    for per_trace in ratios.values():
        mean = statistics.mean(per_trace.values())
        for policy, ratio in per_trace.items():
            scaled.setdefault(policy, []).append(ratio / mean)
    return ", ".join(f"{pool} x {passes} {statistics.mean(v):.3f}" for (pool, passes), v in scaled.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--costs", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    costs = load_costs(args.costs)
    document = read_runs([str(p) for p in args.runs])
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(CORPUS.glob("*.wgtrace")) + random_programs(Path(tmp)) + list(RENDER)
        measured = document["provenance"]["traces"]
        found = {p.name: p for p in paths if p.name in measured}
        traces = {name: load(path) for name, path in found.items()}
        runs = from_runs(document, traces, {name: sha256(str(path)) for name, path in found.items()}, "runs")
    ok, kept = quiet([m for m in runs if m.error is None])
    rows = predicted(ok, costs)
    fitted_on = set((costs.calibration or {}).get("trained_on", []))
    print(f"costs: {costs.source}\nruns:  {document['provenance'].get('adapter')}, {len(rows)} replays")
    if kept:
        slow = kept.get("replays_with_slow_runs", 0)
        print(f"quiet: {kept['runs_kept']} of {kept['runs']} runs, floor at most {kept['floor_limit_us']} us"
              + (f"; {slow} replays kept slow runs (too few quiet ones)" if slow else ""))
    for title, chosen in (("fitted on", [r for r in rows if r.m.trace in fitted_on]),
                          ("never seen", [r for r in rows if r.m.trace not in fitted_on])):
        if chosen:
            print(f"{title}: {summary(chosen)}")
    print("measured over predicted, by policy, each trace's mean 1:", by_policy(rows))
    for r in rows:
        print(f"  {r.m.trace:26} {r.m.pool:20} {r.m.passes:32} measured {r.m.median / 1e3:8.3f} ms "
              f"({r.m.low / 1e3:.3f}-{r.m.high / 1e3:.3f}) predicted {r.predicted_us / 1e3:8.3f} ms {r.error:+.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
