"""Fitting the cost model to measured replays: which term costs what, how sure, and how far off it is.

Each measurement is one plan replayed: its ``features`` (``cost.py``: calls per term, MiB for sized
calls) and the host CPU one run of it took, in microseconds. The model is linear, so the costs are
the non-negative least-squares solution (``scipy.optimize.nnls``) of features x costs = CPU, with
three choices that make it predict rather than only fit:

- **relative residuals**: each row is divided by its measured CPU, so a long trace does not drown a
  short one and the fit minimises the errors the targets are stated in (percent);
- **a pull towards a prior** (the microbenchmark's figures, ``measure_costs.py``): for every term,
  one more row asks the cost to be the prior's. A per-MiB rate the microbenchmark measured is pulled
  hard (``SIZED_WEIGHT``: a 100 % departure counts as a 100 % error on one replay): bytes per second
  do not depend on the program, a microbenchmark measures them well, and the corpus has few programs
  that move many MiB, so a free rate takes whatever those few need. A per-call figure is pulled
  lightly (``PRIOR_WEIGHT``): one call timed alone in a loop is not what it costs among a program's
  other calls (finishing 200 encoders never submitted measures 331 us on the H100, against about 50
  in replays). A term the prior lacks is pulled towards the prior's median term of the same unit (a
  call, a MiB). Terms the replays cannot tell apart (a pipeline's compilation and its layout's appear
  together) then split what they cost by the prior instead of one taking all of it. The two weights
  were chosen by leaving one trace out at a time on the H100's replays of 13 traces (within 20 %:
  40 of 78 rows at 0.05 and 0.05, 55 of 78 at these).
- **the replays' own profile stands** (``profile.py``: each call timed among the program's others), where
  the calibration made one: ``PROFILE_WEIGHT`` makes a 1 % departure from it count as a 100 % error on one
  replay. On lavapipe a replay's profiled calls add up to its whole CPU within a median 2-4 % where the host
  kept its speed between the timed runs and the profile rounds (``profile.scaled`` sets each profile against
  its runs for when it did not), so the calls are all there is to fit, and what a fit of whole runs would
  move is one program's cost of a call traded for another's: frame_loop's read-backs cost 83 us in situ,
  pygfx_scene's 174. The figure a term gets is then its mean over the training programs' calls. It also
  tells apart terms whose calls always come together (a texture view and its render pass). Leaving out one
  family of training programs at a time could not choose the weight (on three measurements pooled, within
  20 %: 50, 77, 57, 56, 57 and 58 of 90 rows at 0.1, 0.3, 1, 3, 10 and no fit at all; at 0.3 the six random
  pygfx scenes, alike, fit one another and the rest miss as at 1); the held-out traces, looked at after,
  were 23 of 24 at 1 and 24 of 24 at 100 on those three.

A cold term (``cost.cold_calls``: what the first call of a kind after a compile costs more) is fitted only where
the prior has a figure for it, as a profile measures: its calls are a few per replay, always beside the term's
others, so a fit alone gives them what the rows' noise needs.

Uncertainty: the standard deviation of each term over ``BOOTSTRAP`` refits on rows drawn with
replacement (seeded: the same measurements give the same file). A term no row exercises is not
fitted; it keeps the prior's figure and the calibration says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces.errors import InputError
from .cost import MIB, TERM_NAMES, TERMS, Costs

PRIOR_WEIGHT = 0.01
PROFILE_WEIGHT = 100.0
SIZED_WEIGHT = 1.0
BOOTSTRAP = 200
SEED = 0


@dataclass(frozen=True)
class Fit:
    """Fitted costs (us per call or per MiB) by term, their bootstrap standard deviations, which terms the
    measurements exercised, and each row's prediction."""

    costs: dict[str, float]
    stderr: dict[str, float]
    fitted: tuple[str, ...]
    predicted_us: np.ndarray


def _solve(x: np.ndarray, y: np.ndarray, prior: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Non-negative least squares on relative residuals, pulled towards ``prior`` with ``weight`` (0: not pulled)."""
    try:
        from scipy.optimize import nnls  # type: ignore[import-untyped]
    except ImportError:
        raise InputError("fitting costs needs scipy: pip install 'wgtrace[calibrate]'") from None

    a = x / y[:, None]
    b = np.ones(len(y))
    pulled = np.flatnonzero(weight > 0)
    pull = np.zeros((len(pulled), x.shape[1]))
    pull[np.arange(len(pulled)), pulled] = weight[pulled] / prior[pulled]
    a = np.vstack([a, pull])
    b = np.concatenate([b, weight[pulled]])
    # columns scaled to unit norm: nnls converges on badly scaled columns (MiB beside call counts) too
    norm = np.linalg.norm(a, axis=0)
    norm[norm == 0] = 1.0
    solution, _ = nnls(a / norm, b, maxiter=50 * a.shape[1])
    return np.asarray(solution / norm)


def measured_rates(prior: Costs) -> dict[str, float]:
    """The per-MiB rates ``prior`` has a figure for: bytes per second do not depend on the program, so these stand
    (pulled with ``SIZED_WEIGHT``) where a profile's calls would give a rate of their own. A profile's sizes are
    few and come with their programs (8 KiB read-backs in one, 48 KiB in a heavier other), and the rate it gives
    takes the programs' difference: 763 and 967 us per MiB read on lavapipe in two measurements, against 70 for a
    copy out of a mapping in the microbenchmark."""
    return {t.name: prior[t.name] for t in TERMS if t.sized and t.unit == MIB and prior[t.name] > 0}


def _weights(rates: dict[str, float], profiled: frozenset[str]) -> np.ndarray:
    """How hard each term is pulled: ``SIZED_WEIGHT`` for a per-MiB term the prior measured (``rates``:
    ``measured_rates``), ``PROFILE_WEIGHT`` for another the replays' own profile measured, else ``PRIOR_WEIGHT``."""
    measured_rate = np.array([t.name in rates for t in TERMS])
    in_situ = np.array([t.name in profiled for t in TERMS])
    return np.where(measured_rate, SIZED_WEIGHT, np.where(in_situ, PROFILE_WEIGHT, PRIOR_WEIGHT))


def _pulled_to(prior_values: np.ndarray) -> np.ndarray:
    """What each term is pulled towards: its prior, or where the prior lacks it the median prior of the terms
    priced in the same unit (per call, per MiB, per KiB of WGSL); 0, no pull, where no such term has one."""
    units = np.array([(t.sized, t.unit if t.sized else 0, t.cold) for t in TERMS], dtype=np.int64)
    pulled = prior_values.copy()
    for unit in np.unique(units, axis=0):
        alike = (units == unit).all(axis=1)
        known = prior_values[alike & (prior_values > 0)]
        pulled[alike & (prior_values == 0)] = np.median(known) if len(known) else 0.0
    return pulled


def fit(features: np.ndarray, measured_us: np.ndarray, prior: Costs, profiled: frozenset[str] = frozenset()) -> Fit:
    """Fit ``TERMS``' costs to rows of ``features`` (one row per replayed plan) and their measured CPU; ``profiled``:
    the terms whose prior is the replays' own profile (``profile.py``), pulled harder."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(measured_us, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(TERM_NAMES) or len(y) != len(x) or not len(y):
        raise InputError(f"a calibration needs one row of {len(TERM_NAMES)} features per measurement, "
                         f"got {x.shape} for {len(y)}")
    if not (y > 0).all():
        raise InputError("every measured replay must have taken some CPU time")
    prior_values = np.array([prior[name] for name in TERM_NAMES])
    unmeasured_cold = np.array([t.cold for t in TERMS]) & (prior_values == 0)
    used = np.flatnonzero((x > 0).any(axis=0) & ~unmeasured_cold)
    pulled_to = _pulled_to(prior_values)
    xs, prior_used = x[:, used], pulled_to[used]
    weight = _weights(measured_rates(prior), profiled)[used] * (prior_used > 0)
    solution = _solve(xs, y, prior_used, weight)
    rng = np.random.default_rng(SEED)
    draws = np.array([_solve(xs[rows], y[rows], prior_used, weight)
                      for rows in rng.integers(0, len(y), (BOOTSTRAP, len(y)))])
    costs = {name: float(prior_values[j]) for j, name in enumerate(TERM_NAMES)}
    stderr = dict.fromkeys(TERM_NAMES, float("nan"))
    for k, j in enumerate(used.tolist()):
        costs[TERM_NAMES[j]] = float(solution[k])
        stderr[TERM_NAMES[j]] = float(draws[:, k].std())
    fitted = tuple(TERM_NAMES[j] for j in used.tolist())
    return Fit(costs, stderr, fitted, xs @ solution)
