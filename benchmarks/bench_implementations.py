"""Replay on wgpu-native and on Dawn (issue 18): replay's overhead against raw calls of the same
implementation (bench_replay.py, run in a child process per implementation, since a process holds one),
and the corpus replayed on both side by side (``wgtrace replay --backend wgpu-native --backend dawn``).

    python benchmarks/bench_implementations.py [--dispatches N] [--repeat R] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from wgtrace.tracer.backends import BACKENDS, environment

ROOT = Path(__file__).parent.parent
LAYOUTS = ("one-pass", "pass-per-dispatch")
# bench_replay.py imports wgpu at its top: the implementation is selected before it runs
CHILD = ("import runpy, sys; from wgtrace.tracer.backends import select; select(sys.argv[1]); "
         "sys.argv = [sys.argv[2], *sys.argv[3:]]; runpy.run_path(sys.argv[0], run_name='__main__')")


def child(backend: str, argv: list[str]) -> dict:
    out = subprocess.run([sys.executable, *argv], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, **environment(backend)})
    return json.loads(out.stdout)


def overhead(backend: str, dispatches: int, repeat: int) -> list[dict]:
    return [child(backend, ["-c", CHILD, backend, "benchmarks/bench_replay.py", "--dispatches", str(dispatches),
                            "--repeat", str(repeat), "--layout", layout, "--json"]) for layout in LAYOUTS]


def corpus(repeat: int) -> list[dict]:
    rows = []
    for path in sorted((ROOT / "traces" / "corpus").glob("*.wgtrace")):
        out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "replay", str(path), "--repeat", str(repeat),
                              *(a for b in sorted(BACKENDS, reverse=True) for a in ("--backend", b)), "--json"],
                             capture_output=True, text=True, cwd=ROOT)
        [result] = json.loads(out.stdout)
        row: dict = {"trace": path.stem, "differences": result["differences"]}
        for name, side in result["implementations"].items():
            t = side["timings"]
            row[name] = {"ok": side["ok"], "cpu_ms": t["cpu_s"]["median"] * 1e3 if t else None,
                         "synced_ms": t["wall_s"]["median"] * 1e3 if t else None}
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dispatches", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = {"overhead": {b: overhead(b, args.dispatches, args.repeat) for b in sorted(BACKENDS, reverse=True)},
              "corpus": corpus(args.repeat)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"replay against raw calls, {args.dispatches} dispatches, median of {args.repeat} (us per dispatch, CPU)")
    for backend, runs in result["overhead"].items():
        for r in runs:
            print(f"  {backend:<12} {r['layout']:<18} raw {r['raw_cpu_us_per_dispatch']:7.2f}  replay "
                  f"{r['replay_cpu_us_per_dispatch']:7.2f}  {r['ratio_cpu']:.2f}x")
    print(f"corpus, as recorded, median of {args.repeat} (ms CPU / ms synchronised)")
    for row in result["corpus"]:
        sides = "  ".join(f"{b} {'OK' if row[b]['ok'] else 'FAILED'} "
                          + (f"{row[b]['cpu_ms']:.2f} / {row[b]['synced_ms']:.2f}" if row[b]["cpu_ms"] else "-")
                          for b in sorted(BACKENDS, reverse=True))
        print(f"  {row['trace']:<20} {sides}  differences {len(row['differences'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
