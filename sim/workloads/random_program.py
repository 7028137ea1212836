"""Random programs of any size: ``sim.synthetic``'s ops, drawn in chunks so that size costs linear time.

Chunks of 2,000 random ops whose allocations are renumbered to follow on and freed at the end of each
chunk: ``random_ops`` keeps every allocation of a long program live, so one long draw costs
quadratic time and unbounded memory. Digest capture. The benchmarks' mixed workload (bench_sim) and
the growth test's: it has what the other workloads lack (copies, reads, frees at random moments).
"""

from __future__ import annotations

import numpy as np

from ...traces import Trace
from ..synthetic import Op, build, random_ops

CHUNK = 2000


def renumbered(ops: list[Op], base: int) -> tuple[list[Op], int]:
    """``ops`` with allocation ids shifted by ``base``, and every allocation still live freed at the end."""
    shift = lambda a: a + base if a >= 0 else a
    out: list[Op] = []
    for op in ops:
        if op[0] == "dispatch":
            out.append((op[0], tuple(map(shift, op[1])), shift(op[2]), shift(op[3])))
        elif op[0] in ("write", "read", "free", "copy"):
            out.append((op[0], *map(shift, op[1:])))
        else:
            out.append(op)
    made = sum(1 for op in ops if op[0] in ("alloc", "uniform"))
    freed = {op[1] for op in ops if op[0] == "free"}
    out += [("free", base + a) for a in range(made) if a not in freed]
    return out, base + made


def generate(events: int, seed: int = 0) -> Trace:
    """A synthetic trace of about ``events`` events."""
    rng = np.random.default_rng(seed)
    ops: list[Op] = []
    base = 0
    per_op = len(build(random_ops(np.random.default_rng(seed), CHUNK), data="digest")) / CHUNK
    while len(ops) * per_op < events:
        chunk, base = renumbered(random_ops(rng, CHUNK), base)
        ops += chunk
    return build(ops, seed=seed, data="digest")
