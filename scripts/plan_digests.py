"""Print one digest per (trace, pool, passes) plan: the corpus and seeded synthetic programs, every policy.

A refactor of the planner keeps its output byte-identical when two runs of this script (before and
after) print the same lines: ``python scripts/plan_digests.py > before.txt``, change, run again, diff.
Each digest covers every column of the planned trace, its strings and header (but for ``start_time``,
the format ``version`` and the ``program`` that made it), ``origin`` and the allocations table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xxhash

from wgtrace import traces as traces_package
from wgtrace.sim import plan, synthetic
from wgtrace.sim.policies import pass_names, pool_names
from wgtrace.traces import Trace, load

CORPUS = Path(traces_package.__file__).parent / "corpus"


def digest(trace: Trace, pool: str, passes: str) -> str:
    p = plan(trace, pool, passes)
    h = xxhash.xxh3_128()
    t = p.trace
    for column in (t.kind, t.t, t.site, t.args, t.nrows, t.rows, p.origin, *vars(p.allocations).values()):
        h.update(np.ascontiguousarray(column).tobytes())
    header = {k: v for k, v in t.header.items() if k not in ("start_time", "program", "version")}
    h.update(repr((t.strings, sorted(header.items()))).encode())
    return h.hexdigest()


def traces(n_synthetic: int) -> list[tuple[str, Trace]]:
    out = [(path.name, load(path)) for path in sorted(CORPUS.glob("*.wgtrace"))]
    for seed in range(n_synthetic):
        ops = synthetic.random_ops(np.random.default_rng(seed), 60)
        out.append((f"synthetic-{seed}", synthetic.build(ops, seed=seed)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", type=int, default=20, help="seeded synthetic programs (default 20)")
    args = ap.parse_args()
    passes = [*pass_names(), "max-tasks:3", "max-tasks:3/staging-copy"]
    for name, trace in traces(args.synthetic):
        for pool in pool_names():
            for pass_spec in passes:
                print(name, pool, pass_spec, digest(trace, pool, pass_spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
