"""The GPU-time model: how a policy changes the device's time, from one measured replay of the program.

What the device spends on a program is mostly its kernels and draws, whose cost no call count carries
(an n-body step and a matrix add are one dispatch each). A pool or pass policy does not change them; it
changes what is around them: how many passes and command buffers, which copies (a staging upload copies
on the device), what the device clears and synchronises. So the model takes one replay of the program as
recorded (``BASE``), measured, and adds per-call and per-MiB costs for the calls a policy adds or removes:

    gpu(trace, policy) = gpu(trace, as recorded) + costs . (features(policy) - features(as recorded))

``fit`` finds those costs from replays of several programs under several policies (non-negative least
squares on errors relative to each measurement), and judging held-out programs the same way tells how far
the predicted change is off. Features are the CPU model's (``cost.features``), of whole runs, and only
those that stand for work on the device (``DEVICE_TERMS``): command buffers, passes, kernels, draws, copies
and clears, and the MiB that staged uploads copy (``mapped_write_per_mib``: what a staging buffer holds is
copied on the device). Queue writes are left out: wgpu copies them in a command buffer of its own, which
the timestamps do not bracket, and terms a policy trades one for another (a queue write's MiB for a
staging buffer's) would otherwise fit to large costs that cancel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Trace
from ...traces.errors import InputError
from .cost import TERM_NAMES, Costs, features

BASE = "as-recorded"
DEVICE_TERMS = ("encoder_create", "pass_begin", "render_pass_begin", "dispatch", "dispatch_indirect", "draw", "copy",
                "clear", "texture_copy", "mapped_write_per_mib")


@dataclass(frozen=True)
class GpuRow:
    """One trace under one policy: whole-run features, measured GPU microseconds (median), and those of the
    trace's replay as recorded."""

    trace: str
    pool: str
    passes: str
    features: np.ndarray
    gpu_us: float
    base_features: np.ndarray
    base_gpu_us: float

    def predicted(self, costs: np.ndarray) -> float:
        return self.base_gpu_us + float((self.features - self.base_features) @ costs)

    def error(self, costs: np.ndarray) -> float:
        return (self.predicted(costs) - self.gpu_us) / self.gpu_us


def rows(measured: list[tuple[str, str, str, np.ndarray, float]]) -> list[GpuRow]:
    """The rows of measurements (trace, pool, passes, features, GPU us) whose trace was also measured as
    recorded under the exclusive pool (the design's first pair), that pair itself left out."""
    base = {t: (x, y) for t, pool, passes, x, y in measured if pool == "exclusive" and passes == BASE}
    return [GpuRow(t, pool, passes, x, y, *base[t]) for t, pool, passes, x, y in measured
            if t in base and not (pool == "exclusive" and passes == BASE)]


def fit(train: list[GpuRow]) -> np.ndarray:
    """Per-term GPU microseconds (``TERM_NAMES`` order) that best explain the measured changes from each
    trace's replay as recorded; 0 for a term no change exercises."""
    if not train:
        raise InputError("the GPU model needs replays of at least one trace as recorded and under another policy")
    try:
        from scipy.optimize import nnls  # type: ignore[import-untyped]
    except ImportError:
        raise InputError("fitting costs needs scipy: pip install 'wgtrace[calibrate]'") from None
    dx = np.array([r.features - r.base_features for r in train])
    dy = np.array([r.gpu_us - r.base_gpu_us for r in train])
    scale = np.array([r.gpu_us for r in train])
    costs = np.zeros(len(TERM_NAMES))
    device = np.isin(TERM_NAMES, DEVICE_TERMS)
    used = np.flatnonzero((dx != 0).any(axis=0) & device)
    if len(used):
        a = dx[:, used] / scale[:, None]
        norm = np.linalg.norm(a, axis=0)
        solution, _ = nnls(a / norm, dy / scale, maxiter=50 * len(used))
        costs[used] = solution / norm
    return costs


def change_us(planned: Trace, recorded: Trace, costs: Costs) -> float | None:
    """How many GPU microseconds the plan ``planned`` of ``recorded`` adds to (or, negative, takes from) the
    program as recorded, by the GPU-time model of ``costs`` (``calibration.gpu``); None where it has none, or
    where the plan makes the recording's own calls."""
    terms: dict = ((costs.calibration or {}).get("gpu") or {}).get("us_per_term") or {}
    if not terms:
        return None
    change = features(planned) - features(recorded)
    if not change.any():
        return None
    return float(sum(change[TERM_NAMES.index(name)] * us for name, us in sorted(terms.items()) if name in TERM_NAMES))
