"""The seed's benchmark (CubeCL PR 56) reproduced on recorded programs.

Replays corpus traces (the eager training program, recorded with its data, by default) under the
pass and upload policies the seed compared: a compute pass per dispatch with staging-buffer
uploads (CubeCL before the PR) against one pass for up to 16 dispatches with queue.write_buffer
uploads and the exclusion fix (the PR), plus the neighbouring combinations. For each it reports
CPU time per step (the replaying thread's CPU time, median over repeats), synchronised time per
step, memory, passes and submits, whether the reads matched the program-order reference, and
what sim's cost model predicted for the CPU time. A step is one submit of the recorded program.

Each replay runs in a process of its own (``wgtrace replay --json``): a policy with a hazard can
hand a kernel garbage loop bounds, and a GPU without loop caps then never finishes it. That
replay is reported as hung; the others still run.

    python benchmarks/bench_seed.py [TRACE ...] [--repeat N] [--all] [--adapter NAME] [--costs FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from wgtrace.replay.errors import NATIVE, classify
from wgtrace.sim.policies import pass_names, pool_names
from wgtrace.traces import Kind, load
from wgtrace.traces.errors import InputError

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
DEFAULT_TRACES = (CORPUS / "mlp_train_full.wgtrace",)
OLD = ("before PR 56: pass per dispatch, staging uploads", "exclusive-pages", "pass-per-dispatch/staging-copy")
SEED = ("PR 56: one pass per 16 dispatches, write_buffer, fix", "exclusive-pages+fix", "max-tasks:16")
POLICIES = (
    OLD,
    SEED,
    ("PR 56 without the exclusion fix", "exclusive-pages", "max-tasks:16"),
    ("PR 56 with its own sub-sliced pools", "sliced-pr56+fix", "max-tasks:16"),
    ("CubeCL today: submit before every write", "exclusive-pages", "max-tasks:32/flush-write"),
    ("CubeCL today with its sub-sliced pools (#814)", "sliced", "max-tasks:32/flush-write"),
    ("sub-sliced pools (#814), write_buffer, fix", "sliced+fix", "max-tasks:16"),
    ("one pass until the program submits, fix", "exclusive-pages+fix", "batched"),
    ("pass per dispatch, write_buffer, fix", "exclusive-pages+fix", "pass-per-dispatch"),
    ("the recording itself", "as-recorded", "as-recorded"),
)


def replay(trace: Path, pool: str, passes: str, args: argparse.Namespace) -> tuple[dict | None, str]:
    """One replay in its own process: (its JSON report or None, the error line it printed)."""
    command = [sys.executable, "-m", "wgtrace.traces", "replay", str(trace), "--pool", pool, "--pass", passes,
               "--repeat", str(args.repeat), "--seed", str(args.seed), "--timeout", str(args.timeout), "--json"]
    for flag, value in (("--adapter", args.adapter), ("--costs", args.costs)):
        if value:
            command += [flag, value]
    done = subprocess.run(command, capture_output=True, text=True)
    error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    try:
        return json.loads(done.stdout), error
    except json.JSONDecodeError:
        return None, error or f"exit code {done.returncode}"


def row(label: str, pool: str, passes: str, report: dict | None, error: str, steps: int) -> dict:
    out = {"policy": label, "pool": pool, "passes": passes, "steps": steps}
    if report is None:
        return {**out, "status": "hung" if "no progress" in error else "failed", "error": error}
    plan, t = report["plan"], report["timings"]
    if report["error"]:
        e = report["error"]
        status = f"device error ({classify(e['error'], e['message'], NATIVE)})"
    elif report["divergences"]:
        status = f"diverged ({len(report['divergences'])} reads" + (
            ", synthetic data)" if report["data"]["synthetic_writes"] else ")")
    else:
        status = "ok"
    out.update(status=status, passes_begun=plan["passes_begun"], submits=plan["submits"],
               peak_bytes=plan["peak_reserved_bytes"], created_bytes=plan["created_bytes"],
               predicted_cpu_ms_per_step=plan["predicted_cpu_s"] / steps * 1e3)
    if t:
        out.update(cpu_ms_per_step=t["cpu_s"]["median"] / steps * 1e3,
                   cpu_ms_per_step_range=[t["cpu_s"]["min"] / steps * 1e3, t["cpu_s"]["max"] / steps * 1e3],
                   issue_ms_per_step=t["issue_s"]["median"] / steps * 1e3,
                   synced_ms_per_step=t["wall_s"]["median"] / steps * 1e3,
                   prediction_error=t["prediction_error"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("traces", nargs="*", help="trace files (default: mlp_train recorded with its data)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per policy (default 5)")
    parser.add_argument("--all", action="store_true", help="every pool x pass combination, not only the seed's")
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of synthetic data for digest-only traces")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds without progress before a replay is "
                                                                     "called hung (default 30)")
    parser.add_argument("--costs", help="cost parameters for the prediction, as measure_costs.py prints them")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.traces] or list(DEFAULT_TRACES)
    try:
        traces = [(p, load(p)) for p in paths]
    except InputError as e:
        print(f"bench_seed: error: {e}", file=sys.stderr)
        return 2
    policies = list(POLICIES)
    if args.all:
        policies += [(f"{pool} x {passes}", pool, passes) for pool in pool_names() for passes in pass_names()]
    results, adapter = [], "?"
    for path, trace in traces:
        steps = max(1, trace.count_kind(Kind.SUBMIT))
        rows = []
        for label, pool, passes in policies:
            report, error = replay(path, pool, passes, args)
            adapter = report["adapter"] if report else adapter
            rows.append(row(label, pool, passes, report, error, steps))
        results.append({"trace": str(path), "capture": trace.header["capture"]["mode"], "steps": steps,
                        "rows": rows, "seed_speedup": _speedup(rows)})
    if args.json:
        print(json.dumps({"adapter": adapter, "repeat": args.repeat, "costs": args.costs, "results": results},
                         indent=2))
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
        if "passes_begun" not in x:
            lines.append(f"  {x['policy']:<54}{'-':>10}{'-':>10}{'-':>10}{'-':>7}{'-':>8}{'-':>8}{'-':>10}  "
                         f"{x['status']}: {x['error']}")
            continue
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
