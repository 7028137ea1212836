"""Random time-stepping programs: state written once, then steps of kernels submitted together, read back now and then.

A simulation or a solver (an n-body step, a diffusion step) uploads its state once and then only
dispatches: each step records one to four kernels into an encoder and submits it, with no queue write
before the submit, and reads a result back every few steps; its bind groups are made once.
``random_program``'s mixed programs write before nearly every submit, so a cost model fitted on them
alone never sees a submit that carries no upload; the calibrations train on these too. Deterministic:
the same seed gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from ...traces import Trace
from ..synthetic import Op, build

WORDS = (64, 256, 1024, 2048)


def step_ops(rng: np.random.Generator, steps: int) -> list[Op]:
    """The ops of a program of ``steps`` steps over two to four state buffers, with a uniform half the time."""
    n_state = int(rng.integers(2, 5))
    words = int(rng.choice(WORDS))
    ops: list[Op] = []
    for a in range(n_state):
        ops += [("alloc", words), ("write", a)]
    u = -1
    if rng.random() < 0.5:
        u = n_state
        ops += [("uniform",), ("write", u)]
    read_every = int(rng.integers(4, 17))
    for step in range(steps):
        for _ in range(int(rng.integers(1, 5))):
            out = int(rng.integers(n_state))
            others = [a for a in range(n_state) if a != out]
            k = int(rng.integers(1, min(3, len(others)) + 1))
            inputs = tuple(int(a) for a in rng.choice(others, size=k, replace=False))
            ops.append(("dispatch", inputs, out, u))
        ops.append(("read", int(rng.integers(n_state))) if (step + 1) % read_every == 0 else ("submit",))
    return ops


def generate(steps: int, seed: int = 0) -> Trace:
    """A time-stepping program of ``steps`` steps, digest capture."""
    return build(step_ops(np.random.default_rng(seed), steps), seed=seed, data="digest", reuse_bind_groups=True)
