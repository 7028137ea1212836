"""The seed's benchmark (CubeCL PR 56) reproduced on recorded programs.

Replays corpus traces (mlp_train, the eager training program, first) under the pass and upload
policies the seed compared: a compute pass per dispatch with staging-buffer uploads (CubeCL
before the PR) against one pass for up to 16 dispatches with queue.write_buffer uploads and the
exclusion fix (the PR), plus the neighbouring combinations. For each it reports CPU time per step
(the replaying thread's CPU time, median over repeats), synchronised time per step, memory,
passes and submits, whether the reads matched the program-order reference, and what sim's cost
model predicted for the CPU time. A step is one submit of the recorded program (one training
step in mlp_train).

    python benchmarks/bench_seed.py [TRACE ...] [--repeat N] [--all] [--adapter NAME] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from replay.launch import flat

    flat()

from wgtrace.replay.device import adapter_name, open_device
from wgtrace.replay.engine import Engine
from wgtrace.replay.report import Report, replay
from wgtrace.replay.truth import device_rule
from wgtrace.sim.passes import pass_names
from wgtrace.sim.pools import pool_names
from wgtrace.traces import Kind, load
from wgtrace.traces.errors import InputError

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
OLD = ("before PR 56: pass per dispatch, staging uploads", "exclusive-pages", "pass-per-dispatch/staging-copy")
SEED = ("PR 56: one pass per 16 dispatches, write_buffer, fix", "exclusive-pages+fix", "max-tasks:16")
POLICIES = (
    OLD,
    SEED,
    ("PR 56 without the exclusion fix", "exclusive-pages", "max-tasks:16"),
    ("PR 56 with its own sub-sliced pools", "sliced-pr56+fix", "max-tasks:16"),
    ("CubeCL today: submit before every write", "exclusive-pages", "max-tasks:32/flush-write"),
    ("one pass until the program submits, fix", "exclusive-pages+fix", "batched"),
    ("pass per dispatch, write_buffer, fix", "exclusive-pages+fix", "pass-per-dispatch"),
    ("the recording itself", "as-recorded", "as-recorded"),
)


def row(label: str, report: Report, steps: int) -> dict:
    t = report.timings()
    f = report.figures
    if report.error:
        status = f"device error ({device_rule(report.error.message)})"
    elif not report.verdict.ok:
        status = f"diverged ({len(report.verdict.divergences)} reads" + (
            ", synthetic data)" if report.synthetic_writes else ")")
    else:
        status = "ok"
    out = {"policy": label, "pool": report.pool, "passes": report.passes, "status": status, "steps": steps,
           "passes_begun": f["passes_begun"], "submits": f["submits"], "peak_bytes": f["peak_reserved_bytes"],
           "created_bytes": f["created_bytes"], "predicted_cpu_ms_per_step": f["predicted_cpu_s"] / steps * 1e3,
           "error": report.error.line() if report.error else None}
    if t:
        out.update(cpu_ms_per_step=t["cpu_s"]["median"] / steps * 1e3,
                   cpu_ms_per_step_range=[t["cpu_s"]["min"] / steps * 1e3, t["cpu_s"]["max"] / steps * 1e3],
                   issue_ms_per_step=t["issue_s"]["median"] / steps * 1e3,
                   synced_ms_per_step=t["wall_s"]["median"] / steps * 1e3,
                   prediction_error=t["prediction_error"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="*", help="trace files (default: every corpus trace, mlp_train first)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per policy (default 5)")
    parser.add_argument("--all", action="store_true", help="every pool x pass combination, not only the seed's")
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic data for digest-only traces")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.traces] or sorted(CORPUS.glob("*.wgtrace"), key=lambda p: p.stem != "mlp_train")
    try:
        device = open_device(args.adapter)
        traces = [(p, load(p)) for p in paths]
    except InputError as e:
        print(f"bench_seed: error: {e}", file=sys.stderr)
        return 2
    if not traces:
        print(f"bench_seed: error: no traces given and none in {CORPUS}", file=sys.stderr)
        return 2
    policies = POLICIES
    if args.all:
        policies = [*POLICIES, *((f"{pool} x {passes}", pool, passes) for pool in pool_names()
                                 for passes in pass_names())]
    engine = Engine(device)
    results = []
    for path, trace in traces:
        steps = max(1, trace.count_kind(Kind.SUBMIT))
        rows = [row(label, replay(trace, engine, adapter="", pool=pool, passes=passes, repeat=args.repeat,
                                  seed=args.seed, label=f"{path.stem} {pool} {passes}"), steps)
                for label, pool, passes in policies]
        results.append({"trace": str(path), "capture": trace.header["capture"]["mode"], "steps": steps,
                        "rows": rows, "seed_speedup": _speedup(rows)})
    engine.close()
    adapter = adapter_name(device.adapter)
    if args.json:
        print(json.dumps({"adapter": adapter, "repeat": args.repeat, "results": results}, indent=2))
    else:
        for r in results:
            print("\n".join(_table(adapter, args.repeat, r)))
    return 0


def _speedup(rows: list[dict]) -> float | None:
    """CPU time per step before PR 56 over CPU time per step with it."""
    old = next((r for r in rows if (r["policy"], r["pool"], r["passes"]) == OLD), None)
    new = next((r for r in rows if (r["policy"], r["pool"], r["passes"]) == SEED), None)
    if old and new and old.get("cpu_ms_per_step") and new.get("cpu_ms_per_step"):
        return old["cpu_ms_per_step"] / new["cpu_ms_per_step"]
    return None


def _table(adapter: str, repeat: int, r: dict) -> list[str]:
    lines = [f"{r['trace']} ({r['capture']} capture, {r['steps']} steps) on {adapter}, median of {repeat}",
             f"  {'policy':<54}{'cpu/step':>10}{'synced':>10}{'model':>10}{'err':>7}{'passes':>8}{'submits':>8}"
             f"{'peak':>10}  status"]
    for x in r["rows"]:
        if "cpu_ms_per_step" in x:
            times = (f"{x['cpu_ms_per_step']:>8.3f}ms{x['synced_ms_per_step']:>8.3f}ms"
                     f"{x['predicted_cpu_ms_per_step']:>8.3f}ms{x['prediction_error']:>+7.0%}")
        else:
            times = f"{'-':>10}{'-':>10}{x['predicted_cpu_ms_per_step']:>8.3f}ms{'-':>7}"
        lines.append(f"  {x['policy']:<54}{times}{x['passes_begun']:>8}{x['submits']:>8}"
                     f"{x['peak_bytes'] / 1024:>8.0f}KiB  {x['status']}")
    if r["seed_speedup"]:
        lines.append(f"  CPU time per step before PR 56 / with it: {r['seed_speedup']:.2f}x")
    return lines


if __name__ == "__main__":
    sys.exit(main())
