"""Calibrating the cost model: replay traces under a design of policies, measure, fit, validate out of sample.

A policy changes which calls a plan makes and how many (a pass per dispatch begins and ends a pass
for each; flush-before-write submits before every upload; a staging copy adds a buffer, a map and a
copy per upload; a pool creates fewer buffers), while the program's own dispatches, draws and
writes stay. Replaying each trace under ``DESIGN`` therefore varies the terms independently enough
for a least-squares fit (``sim.metrics.calibration``). Each run's CPU time (the replaying thread's:
the calls, not the device's execution) is split at the plan's first submit after its last compile
(``steady_from``): the *setup* before it (shader modules, pipelines, the first buffers and uploads:
what every policy of a trace shares) and the *steady* part from it on (the program's steps: what the
policies change). A program that builds pipelines as its first frames need them (pygfx does) would
otherwise count their compiling, which depends on the shader rather than on any call count, as steps.
Both parts are rows of the fit, each with its own features; a measurement keeps the median over
``repeat`` timed runs after ``warmup``, measured in rounds (each replay once per round) with a floor timing
before each run, and only the runs made while the host ran at its usual speed count (``quiet``). Rounds
that time each call on the thread's CPU clock follow (``profile_repeat``): the fit is pulled towards what
each term cost in the training replays themselves (``sim.metrics.profile``).

The measured runs can be kept (``runs_document``) and fitted again later without a GPU
(``from_runs``): the features are recomputed from the traces, so a changed model is judged on the
same measurements.

Out of sample: fit on some traces, predict the others (``holdout``) and judge the targets on the
steady part (CPU per step, up to the trace's number of steps): every prediction within ``TOLERANCE``
of its measured median, and the policies of each held-out trace in the same order by prediction as
by measurement wherever their measured ranges do not overlap. Whole runs are shown beside.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import version
from time import thread_time, thread_time_ns

import numpy as np

from ..sim.metrics import Costs, gpu_fit
from ..sim.metrics.calibration import Fit, fit, measured_rates
from ..sim.metrics.cost import COMPILES, TERM_NAMES, features
from ..sim.metrics.gpu_fit import GpuRow
from ..sim.metrics.profile import STATS, scaled
from ..sim.metrics.profile import costs as in_situ
from ..sim.metrics.profile import sums as profile_sums
from ..sim.plan import Plan
from ..traces import Kind, Trace
from ..traces.errors import InputError
from .data import payloads
from .engine import DecodedPlan, Engine
from .report import plan_for

# Pools that reuse buffers without placing two allocations in one buffer: ``sliced`` and ``size-class`` put a
# copy's source and destination in one page, which WebGPU refuses, and lost those rows on every program with copies.
DESIGN: tuple[tuple[str, str], ...] = (
    ("exclusive", "as-recorded"),
    ("exclusive", "pass-per-dispatch/staging-copy"),
    ("exclusive", "batched"),
    ("tinygrad-lru+fix", "max-tasks:16/flush-write"),
    ("exclusive-pages+fix", "pass-per-dispatch"),
    ("ort-bucket", "batched/staging-copy"),
)
TOLERANCE = 0.20


@dataclass(frozen=True)
class Measurement:
    """One trace under one policy: the features and CPU microseconds of each timed run's setup and steady
    parts (see the module doc)."""

    trace: str
    pool: str
    passes: str
    setup: np.ndarray
    steady: np.ndarray
    setup_us: tuple[float, ...] = ()
    steady_us: tuple[float, ...] = ()
    error: str | None = None
    floor_us: tuple[float, ...] = ()
    gpu_us: tuple[float, ...] = ()
    profile: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.steady_us)

    @property
    def low(self) -> float:
        return min(self.steady_us)

    @property
    def high(self) -> float:
        return max(self.steady_us)

    @property
    def whole(self) -> float:
        return statistics.median(a + b for a, b in zip(self.setup_us, self.steady_us, strict=True))

    def runs_within(self, floor_limit: float) -> Measurement:
        """Only the runs whose floor timing is at most ``floor_limit``, where at least ``MIN_QUIET`` are; else all."""
        kept = [k for k, f in enumerate(self.floor_us) if f <= floor_limit]
        if len(kept) < MIN_QUIET or len(kept) == len(self.steady_us):
            return self
        return replace(self, setup_us=tuple(self.setup_us[k] for k in kept),
                       steady_us=tuple(self.steady_us[k] for k in kept), floor_us=tuple(self.floor_us[k] for k in kept))


QUIET = 1.25
MIN_QUIET = 3


def quiet(measurements: list[Measurement]) -> tuple[list[Measurement], dict]:
    """The runs made while the host ran at its usual speed: those whose floor timing is within ``QUIET`` of the
    host's fast floor (the 10th percentile of all runs', or the fastest where even that is ``QUIET`` slower: the
    host then ran slow for most of the runs). On a shared host the floor comes in two modes about 2x apart and a
    replay's CPU follows it; the median of the quiet runs is then what a policy costs rather than how often a
    slow spell met it. A replay with fewer than ``MIN_QUIET`` quiet runs keeps all of them, and the summary
    counts it (``replays_with_slow_runs``); runs measured without a floor are kept as they are. Also says what
    was kept."""
    floors = [f for m in measurements for f in m.floor_us]
    if not floors:
        return measurements, {}
    fast = float(np.percentile(floors, 10))
    limit = QUIET * (fast if fast <= QUIET * min(floors) else min(floors))
    kept = [m.runs_within(limit) for m in measurements]
    slow = sum(1 for m in kept if any(f > limit for f in m.floor_us))
    return kept, {"floor_limit_us": round(limit, 1), "runs_kept": sum(len(m.steady_us) for m in kept),
                  "runs": sum(len(m.steady_us) for m in measurements),
                  **({"replays_with_slow_runs": slow} if slow else {})}


def steady_from(trace: Trace) -> int:
    """The index of the first submit after the last compile (the first submit where every submit comes
    before it), or the trace's length where it submits nothing."""
    submits = trace.where(Kind.SUBMIT)
    if not len(submits):
        return len(trace)
    compiles = trace.where(*COMPILES)
    after = submits[submits > compiles[-1]] if len(compiles) else submits
    return int(after[0] if len(after) else submits[0])


def _measurement(trace: Trace, name: str, pool: str, passes: str, limits: dict) -> tuple[Measurement, Plan]:
    plan = plan_for(trace, pool, passes, limits=limits)
    mark = steady_from(plan.trace)
    return Measurement(name, pool, passes, features(plan.trace, 0, mark), features(plan.trace, mark)), plan


def floor_us() -> float:
    """The replaying thread's CPU microseconds for a fixed piece of Python work, timed just before a run: how
    fast the host ran then. A host shared with others runs the same calls up to 1.6x slower for seconds at
    a time; kept beside each run (``floor_us``), it tells a slow run from an expensive policy."""
    c0 = thread_time()
    x = 0
    for i in range(FLOOR_LOOP):
        x ^= i * i
    return (thread_time() - c0) * 1e6


FLOOR_LOOP = 20_000


@cache
def clock_overhead_ns() -> float:
    """What timing one call on the thread's CPU clock adds to it: the clock read twice around a call of nothing.
    On a VM that is about 0.5 us, as much as a dispatch costs, so a profile takes it off every call."""

    def nothing(i: int, a: list[int]) -> None:
        return None

    spans = np.empty(2001, dtype=np.int64)
    for k in range(len(spans)):
        start = thread_time_ns()
        nothing(k, [])
        spans[k] = thread_time_ns() - start
    return float(np.median(spans))


@dataclass
class _Replay:
    m: Measurement
    decoded: DecodedPlan
    data: dict
    mark: int
    setup: list[float] = field(default_factory=list)
    steady: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    gpu: list[float] = field(default_factory=list)
    calls: list[np.ndarray] = field(default_factory=list)
    calls_floor: list[float] = field(default_factory=list)

    def profile(self) -> dict[str, list[float]]:
        """The profile rounds made while the host ran at its usual speed (floor within ``QUIET`` of this replay's
        fastest, else every round), each call's median over them less the clock's cost, summed per term."""
        if not self.calls:
            return {}
        floors = np.array(self.calls_floor)
        quiet = floors <= QUIET * min(floors.min(), min(self.floor, default=np.inf))
        kept = [c for c, q in zip(self.calls, quiet, strict=True) if q] if quiet.any() else self.calls
        calls = np.maximum(np.median(kept, axis=0) - clock_overhead_ns(), 0) / 1e3
        return profile_sums(self.decoded.trace, calls)

    def measurement(self) -> Measurement:
        profile = self.profile()
        return replace(self.m, setup_us=tuple(self.setup), steady_us=tuple(self.steady), floor_us=tuple(self.floor),
                       gpu_us=tuple(self.gpu), profile=profile)


def measure(engine: Engine, jobs: list[tuple[Trace, str, str, str]], *, repeat: int = 5, warmup: int = 1,
            seed: int = 0, each_round: Callable[[list[Measurement]], None] | None = None,
            gpu_repeat: int = 0, profile_repeat: int = 0) -> list[Measurement]:
    """Replay each job (a trace, its name, a pool, a pass policy) ``warmup`` + ``repeat`` times, in rounds: every
    job once per round, so a spell of slow host hits every policy alike instead of one policy's runs, and each
    trace's policies in a shuffled order (``_in_round_order``), so no policy is always the first. A run's
    error ends that job (``error``); ``each_round`` is given what was measured so far after every round. Then
    ``profile_repeat`` rounds time each call on the thread's CPU clock (``profile``: the median of each call's,
    summed per term by ``sim.metrics.profile``), apart from the CPU runs since timing a call costs CPU; then
    ``gpu_repeat`` more rounds measure each run's GPU time (``gpu_us``, the whole run's; ``gpu_clock.method``
    says how), apart from the CPU runs since timing the device costs CPU or serialises the run."""
    limits = dict(engine.device.limits)
    replays = []
    for trace, name, pool, passes in jobs:
        m, plan = _measurement(trace, name, pool, passes, limits)
        replays.append(_Replay(m, DecodedPlan.of(plan.trace), payloads(plan, seed).data, steady_from(plan.trace)))
    timed = warmup + repeat
    for k in range(timed + profile_repeat + gpu_repeat):
        profiling, gpu = timed <= k < timed + profile_repeat, k >= timed + profile_repeat
        for r in (r for r in _in_round_order(replays, seed, k) if r.m.error is None):
            floor = floor_us()
            calls = np.zeros(len(r.decoded.trace), dtype=np.int64) if profiling else None
            run = engine.run(r.decoded, r.data, mark=r.mark, gpu=gpu, clock=calls, clock_ns=thread_time_ns)
            if run.error is not None:
                r.m = replace(r.m, error=run.error.line())
            elif calls is not None:
                r.calls.append(calls)
                r.calls_floor.append(floor)
            elif gpu and run.gpu_ns is not None:
                r.gpu.append(float(run.gpu_ns.sum()) / 1e3)
            elif k >= warmup and not gpu:
                r.setup.append(run.cpu_to_mark_s * 1e6)
                r.steady.append((run.cpu_s - run.cpu_to_mark_s) * 1e6)
                r.floor.append(floor)
        if each_round is not None and k >= warmup:
            each_round([r.measurement() for r in replays])
    return [r.measurement() for r in replays]


def _in_round_order(replays: list[_Replay], seed: int, k: int) -> list[_Replay]:
    """``replays`` one trace after another, as given, each trace's policies in an order of their own in round ``k``
    (seeded). Calibrations on lavapipe that replayed them in the design's order measured the first 5-7 % over
    the model and the fourth to sixth 1-7 % under it (``benchmarks/judge_costs.py``), and a fixed order cannot
    tell a policy's cost from its place after another trace's replay; shuffled, no policy carries its place."""
    rng = np.random.default_rng([seed, k])
    traces = list(dict.fromkeys(r.m.trace for r in replays))
    out = []
    for trace in traces:
        mine = [r for r in replays if r.m.trace == trace]
        out += [mine[i] for i in rng.permutation(len(mine))]
    return out


RUNS_FORMAT = "wgtrace calibration runs 1"


def runs_document(measurements: list[Measurement], provenance: dict, limits: dict) -> dict:
    """The measured runs as plain data, for ``from_runs``: each trace x policy's CPU per timed run, the
    device's limits (which lay pooled pages out) and where it was measured."""
    return {"format": RUNS_FORMAT, "provenance": provenance, "limits": limits,
            "runs": [{"trace": m.trace, "pool": m.pool, "passes": m.passes, "setup_us": list(m.setup_us),
                      "steady_us": list(m.steady_us), "floor_us": list(m.floor_us), "gpu_us": list(m.gpu_us),
                      "error": m.error, **({"profile": m.profile} if m.profile else {})}
                     for m in measurements]}


def from_runs(document: dict, traces: dict[str, Trace], digests: dict[str, str], where: str) -> list[Measurement]:
    """The measurements of ``runs_document``'s runs of ``traces`` (by file name), their features computed
    again by this model; every trace must be the one measured (same SHA-256) and have runs."""
    try:
        if document.get("format") != RUNS_FORMAT:
            raise InputError(f"{where}: not a calibration runs file ({RUNS_FORMAT!r} expected)")
        measured = document["provenance"]["traces"]
        runs, limits = document["runs"], dict(document["limits"])
        out = []
        for name, trace in traces.items():
            if measured.get(name) != digests[name]:
                raise InputError(f"{where}: holds no runs of this {name} (not measured, or its bytes differ)")
            for run in (r for r in runs if r["trace"] == name):
                m, _ = _measurement(trace, name, str(run["pool"]), str(run["passes"]), limits)
                out.append(replace(m, setup_us=tuple(map(float, run["setup_us"])),
                                   steady_us=tuple(map(float, run["steady_us"])), error=run["error"],
                                   floor_us=tuple(map(float, run.get("floor_us", ()))),
                                   gpu_us=tuple(map(float, run.get("gpu_us", ()))),
                                   profile=_profile(run.get("profile", {}))))
        return out
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"{where}: not a calibration runs file ({type(e).__name__}: {e})") from None


def _profile(document: dict) -> dict[str, list[float]]:
    """A run's profile as ``runs_document`` wrote it (its sizes as the model measured them then); the terms this
    model no longer has are left out."""
    profile = {name: [float(v) for v in values] for name, values in document.items()
               if name in TERM_NAMES and len(values) == len(STATS)}
    if not all(math.isfinite(v) and v >= 0 for values in profile.values() for v in values):
        raise ValueError("a profile holds a count, time or size that is not a non-negative number")
    return profile


def read_runs(paths: list[str]) -> dict:
    """The runs files ``runs_document`` wrote, read and merged (``merged_runs``)."""
    documents = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                documents[path] = json.loads(f.read(64 << 20))
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: cannot read calibration runs ({e})") from None
        if not isinstance(documents[path], dict) or not isinstance(documents[path].get("provenance"), dict):
            raise InputError(f"{path}: not a calibration runs file")
    return merged_runs(documents)


def _pooled(runs: list[dict]) -> list[dict]:
    """``runs`` with those of one trace under one policy made one: their timed runs one after the other, their
    profiles averaged (a profile is of one replay: ``profile.scaled`` sets it against the replay's CPU).
    Measurements made at different times then give one median over the host's states rather than one row per
    state."""
    pooled: dict[tuple[str, str, str], dict] = {}
    profiled: dict[tuple[str, str, str], int] = {}
    for run in runs:
        key = (run["trace"], run["pool"], run["passes"])
        profiled[key] = profiled.get(key, 0) + bool(run.get("profile"))
        if key not in pooled:
            pooled[key] = {**run, "profile": dict(run.get("profile", {}))}
            continue
        into = pooled[key]
        for name in ("setup_us", "steady_us", "floor_us", "gpu_us"):
            into[name] = [*into.get(name, []), *run.get(name, [])]
        into["error"] = into["error"] or run["error"]
        for term, stats in run.get("profile", {}).items():
            into["profile"][term] = [a + b for a, b in zip(into["profile"].get(term, [0.0] * len(STATS)), stats,
                                                           strict=True)]
    for key, run in pooled.items():
        run["profile"] = {term: [x / max(profiled[key], 1) for x in stats] for term, stats in run["profile"].items()}
    return list(pooled.values())


def merged_runs(documents: dict[str, dict]) -> dict:
    """One runs document of several (by file name) measured on one device: runs and traces together (``_pooled``:
    one trace under one policy measured in several files is one row), the commands that measured them listed.
    Runs of one device only: costs differ between devices."""
    where = next(iter(documents))
    try:
        first = documents[where]["provenance"]
        device = [first.get(k) for k in ("adapter", "backend", "driver")]
        runs: list[dict] = []
        traces: dict[str, str] = {}
        commands: list[str | None] = []
        for name, document in documents.items():
            provenance = document["provenance"]
            if [provenance.get(k) for k in ("adapter", "backend", "driver")] != device:
                raise InputError(f"{name}: measured on {provenance.get('adapter')}, not on {first.get('adapter')} "
                                 f"as {where}: fit the runs of one device at a time")
            for trace, digest in provenance["traces"].items():
                if traces.setdefault(trace, digest) != digest:
                    raise InputError(f"{name}: its {trace} is not the {trace} of another runs file")
            runs += document["runs"]
            commands.append(provenance.get("command"))
        pooled = _pooled(runs)
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise InputError(f"{where}: not a calibration runs file ({type(e).__name__}: {e})") from None
    return {**documents[where], "provenance": {**first, "traces": traces, "command": commands}, "runs": pooled}


@dataclass(frozen=True)
class Row:
    """A measurement beside the calibrated model's prediction of its steady part and of a whole run."""

    m: Measurement
    predicted_us: float
    predicted_whole_us: float

    @property
    def error(self) -> float:
        return (self.predicted_us - self.m.median) / self.m.median

    @property
    def whole_error(self) -> float:
        return (self.predicted_whole_us - self.m.whole) / self.m.whole


def predicted(rows: list[Measurement], costs: Costs) -> list[Row]:
    values = np.array([costs[name] for name in TERM_NAMES])
    return [Row(m, float(m.steady @ values), float((m.setup + m.steady) @ values)) for m in rows]


def ranking(rows: list[Row]) -> tuple[int, int]:
    """(pairs ordered alike by prediction and measurement, separable pairs): pairs of one trace's policies
    whose measured ranges do not overlap."""
    agree = total = 0
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if a.m.trace != b.m.trace or not (a.m.high < b.m.low or b.m.high < a.m.low):
                continue
            total += 1
            agree += (a.m.median < b.m.median) == (a.predicted_us < b.predicted_us)
    return agree, total


@dataclass(frozen=True)
class GpuModel:
    """The GPU-time model (``sim.metrics.gpu_fit``): per-term GPU microseconds, the rows it was fitted on and the
    held-out rows it predicts."""

    costs: np.ndarray
    train: list[GpuRow]
    holdout: list[GpuRow]

    def summary(self, rows: list[GpuRow]) -> dict:
        """How many predictions land within ``TOLERANCE`` and their median error, beside those of predicting no
        change from the replay as recorded (what the fitted terms add)."""
        if not rows:
            return {}
        errors = [abs(r.error(self.costs)) for r in rows]
        unchanged = [abs(r.error(np.zeros_like(self.costs))) for r in rows]
        return {"rows": len(rows), "within_tolerance": sum(e <= TOLERANCE for e in errors),
                "median_abs_error": round(statistics.median(errors), 4),
                "no_change_within_tolerance": sum(e <= TOLERANCE for e in unchanged),
                "no_change_median_abs_error": round(statistics.median(unchanged), 4)}


def gpu_model(measurements: list[Measurement], holdout: set[str]) -> GpuModel | None:
    """The GPU-time model fitted on the GPU runs of traces not in ``holdout``, or None without GPU runs."""
    measured = [(m.trace, m.pool, m.passes, m.setup + m.steady, statistics.median(m.gpu_us))
                for m in measurements if m.gpu_us and min(m.gpu_us) > 0]
    rows = gpu_fit.rows(measured)
    train = [r for r in rows if r.trace not in holdout]
    if not train:
        return None
    return GpuModel(gpu_fit.fit(train), train, [r for r in rows if r.trace in holdout])


@dataclass(frozen=True)
class Calibration:
    """A fit and the rows it was fitted on (``train``) and judged on (``holdout``); the GPU-time model where
    the runs timed the device."""

    costs: Costs
    fit: Fit
    train: list[Row]
    holdout: list[Row]
    failed: list[Measurement]
    gpu: GpuModel | None = None


def profiled_prior(train: list[Measurement], prior: Costs) -> tuple[Costs, frozenset[str]]:
    """``prior`` with the terms the training replays' profiles measured (``sim.metrics.profile``) taken from them,
    and those terms' names; ``prior`` itself where no replay was profiled. Held-out replays are not asked."""
    measured = in_situ([scaled(m.profile, m.whole) for m in train if m.profile], measured_rates(prior))
    if not measured:
        return prior, frozenset()
    profiled = sum(1 for m in train if m.profile)
    source = f"in-situ profile of {profiled} training replays' calls; else {prior.source or 'none'}"
    return Costs(source, {**prior.values, **measured}), frozenset(measured)


def calibrate(measurements: list[Measurement], holdout: set[str], prior: Costs, provenance: dict) -> Calibration:
    """Fit on the quiet runs (``quiet``) of traces not in ``holdout``; predict every measurement. Measurements
    with GPU runs only (``--gpu-runs``) count for the GPU-time model alone."""
    timed = [m for m in measurements if m.error is None]
    ok, kept = quiet([m for m in timed if m.steady_us])
    train = [m for m in ok if m.trace not in holdout]
    if not train:
        raise InputError("no replay to fit on: every trace is held out or every replay failed")
    parts = [(m.setup, statistics.median(m.setup_us)) for m in train if m.setup.any() and min(m.setup_us) > 0]
    parts += [(m.steady, m.median) for m in train if m.steady.any() and m.low > 0]
    prior, profiled = profiled_prior(train, prior)
    result = fit(np.array([x for x, _ in parts]), np.array([y for _, y in parts]), prior, profiled)
    held = [m for m in ok if m.trace in holdout]
    costs = Costs(source="", values=result.costs)
    train_rows, held_rows = predicted(train, costs), predicted(held, costs)
    calibration = {
        **provenance,
        "design": [list(p) for p in DESIGN],
        "trained_on": sorted({m.trace for m in train}), "held_out": sorted(holdout),
        "stderr_us": {k: (round(v, 4) if v == v else None) for k, v in result.stderr.items()},
        "fitted_terms": list(result.fitted),
        "prior": prior.source,
        **({"profile_us": {name: round(prior[name], 4) for name in sorted(profiled)}} if profiled else {}),
        **({"quiet_runs": kept} if kept else {}),
        "train": _summary(train_rows),
        "holdout": _summary(held_rows),
    }
    gpu = gpu_model(timed, holdout)
    if gpu is not None:
        calibration["gpu"] = {"clock": provenance.get("gpu_clock", "timestamps"),
                              "us_per_term": {n: round(float(c), 4) for n, c in zip(TERM_NAMES, gpu.costs,
                                                                                     strict=True) if c},
                              "train": gpu.summary(gpu.train), "holdout": gpu.summary(gpu.holdout)}
    source = (f"calibrated on {provenance.get('adapter', '?')}, {provenance.get('backend', '?')}, "
              f"{provenance.get('date', '?')}: {len(train)} replays of {len(calibration['trained_on'])} traces")
    return Calibration(Costs(source, result.costs, calibration), result, train_rows, held_rows,
                       [m for m in measurements if m.error is not None], gpu)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _summary(rows: list[Row]) -> dict:
    if not rows:
        return {}
    errors = [abs(r.error) for r in rows]
    agree, total = ranking(rows)
    return {"rows": len(rows), "within_tolerance": sum(e <= TOLERANCE for e in errors), "tolerance": TOLERANCE,
            "max_abs_error": round(max(errors), 4), "median_abs_error": round(statistics.median(errors), 4),
            "median_abs_whole_run_error": round(statistics.median(abs(r.whole_error) for r in rows), 4),
            "ranking_agrees": agree, "ranking_pairs": total}


def provenance(adapter_info: dict, command: list[str], paths: list[str]) -> dict:
    """Where and how a calibration was measured: device, driver, backend, versions, date, command, and the
    traces (by file name, with the SHA-256 of their bytes)."""
    return {
        "adapter": str(adapter_info.get("device", "?")), "backend": str(adapter_info.get("backend_type", "?")),
        "driver": str(adapter_info.get("description", "")), "wgpu": version("wgpu"), "wgtrace": version("wgtrace"),
        "python": platform.python_version(), "machine": platform.machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "command": " ".join(command),
        "traces": {os.path.basename(p): sha256(p) for p in sorted(paths)},
    }
