"""One replay of a trace under one policy, end to end: plan, run, repeat, verify, report.

The first (warm-up) run's reads are the ones verified; every timed repeat must read the same
bytes again, or the report says the program is not deterministic on this device (reads of resolved
timestamps aside: they differ on every run and are never compared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..sim import planner
from ..sim.metrics import DEFAULT, Costs
from ..sim.plan import Plan
from ..sim.policies import PassPolicy, PoolPolicy
from ..traces import Trace
from .data import payloads
from .engine import DecodedPlan, DeviceError, Engine, Run
from .measure import figures, progress_bar, spread
from .verify import Verdict, keyed, reference_plan, unverifiable, verify

AS_RECORDED = "as-recorded"


def plan_for(trace: Trace, pool: str | PoolPolicy = AS_RECORDED, passes: str | PassPolicy = AS_RECORDED,
             limits: dict | None = None) -> Plan:
    """The plan of ``trace`` under the two policies; ``as-recorded`` for both is the recording itself.

    ``limits`` (the replaying device's) lays pooled pages out for that device, as a runtime on it
    would: a trace recorded where offsets align to 32 bytes replays where they must align to 64.
    """
    if pool == AS_RECORDED and passes == AS_RECORDED:
        return Plan.as_recorded(trace)
    return planner.plan(trace, pool, passes, limits=limits)


@dataclass(eq=False)
class Report:
    """Everything one replay found: plan figures, timings, verification and the first device error."""

    pool: str
    passes: str
    adapter: str
    seed: int
    figures: dict[str, Any]
    recorded_writes: int
    synthetic_writes: int
    runs: list[Run] = field(default_factory=list)
    verdict: Verdict = field(default_factory=Verdict)
    error: DeviceError | None = None
    reference_error: DeviceError | None = None
    deterministic: bool = True
    recording_not_compared: str | None = None
    skipped_timestamps: int = 0
    reads: dict[int, bytes] = field(default_factory=dict)  # the first run's reads by source event, timestamps aside

    @property
    def ok(self) -> bool:
        return self.error is None and self.verdict.ok and self.deterministic and self.reference_error is None

    def timings(self) -> dict[str, Any]:
        """Spreads (``measure.spread``) of the timed runs' times, and the prediction as plain floats; {} if none."""
        runs = [r for r in self.runs if r.error is None]
        if not runs:
            return {}
        cpu = spread([r.cpu_s for r in runs])
        predicted = self.figures["predicted_cpu_s"]
        out = {
            "issue_s": spread([r.issue_s for r in runs]),
            "cpu_s": cpu,
            "wall_s": spread([r.wall_s for r in runs]),
            "predicted_cpu_s": predicted,
            "prediction_error": (predicted - cpu["median"]) / cpu["median"] if cpu["median"] > 0 else None,
        }
        dispatches = self.figures["dispatches"]
        if dispatches:
            out["issue_us_per_dispatch"] = spread([r.issue_s / dispatches * 1e6 for r in runs])
            out["cpu_us_per_dispatch"] = spread([r.cpu_s / dispatches * 1e6 for r in runs])
        out.update(frame_times(runs) if self.figures.get("render_passes") else {})
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "pool": self.pool, "passes": self.passes, "adapter": self.adapter, "seed": self.seed, "ok": self.ok,
            "plan": self.figures,
            "data": {"recorded_writes": self.recorded_writes, "synthetic_writes": self.synthetic_writes},
            "recording_not_compared": self.recording_not_compared,
            "timings": self.timings(),
            "reads": {"checked": self.verdict.reads, "vs_recording": self.verdict.vs_recording,
                      "vs_reference": self.verdict.vs_reference, "deterministic": self.deterministic,
                      "recording_comparison": self.verdict.recording,
                      "within_tolerance": self.verdict.within_tolerance, "tolerances": self.verdict.tolerances,
                      "frames": self.verdict.frames, "render_target_frames": self.verdict.render_frames,
                      "timestamp_reads_not_compared": self.verdict.timestamp_reads},
            "skipped_timestamps": self.skipped_timestamps,
            "divergences": [vars(d) for d in self.verdict.divergences],
            "error": vars(self.error) if self.error else None,
            "reference_error": vars(self.reference_error) if self.reference_error else None,
        }


def frame_times(runs: list[Run]) -> dict[str, Any]:
    """Time per frame of each run, from the submit that starts its first frame to the end of its last one
    (the last event issued): submit to submit; {} when no run has a frame."""
    per_frame = [(r.issue_s - r.frames[0]) / len(r.frames) for r in runs if r.frames]
    if not per_frame:
        return {}
    return {"frames": len(runs[0].frames), "ms_per_frame": spread([t * 1e3 for t in per_frame]),
            "first_frame_ms": spread([((r.frames[1] if len(r.frames) > 1 else r.issue_s) - r.frames[0]) * 1e3
                                      for r in runs if r.frames])}


def recording_mismatch(trace: Trace, adapter_info: dict, synthetic_writes: int) -> str | None:
    """Why the recorded read-backs cannot be the replay's expected bytes, or None when they can.

    Only a replay of the recorded data on the recording's own adapter must read what the recording
    read: another GPU rounds floating point differently (fused multiply-adds, transcendentals).
    The program-order reference, replayed on the same device, is compared in every case.
    """
    if synthetic_writes:
        return f"{synthetic_writes} writes had no recorded payload (synthetic data)"
    recorded = trace.header.get("adapter") or {}
    if trace.header.get("portable_results"):
        return None
    keys = ("vendor", "device", "description", "backend_type")
    if any(str(recorded.get(k, "")) != str(adapter_info.get(k, "")) for k in keys):
        return (f"recorded on {recorded.get('device', '?')}, replayed on {adapter_info.get('device', '?')}: "
                "floating-point results may differ between devices")
    return None


def replay(trace: Trace, engine: Engine, *, adapter: str, pool: str | PoolPolicy = AS_RECORDED,
           passes: str | PassPolicy = AS_RECORDED, repeat: int = 1, warmup: int = 1, seed: int = 0,
           reference: bool = True, label: str = "replay", costs: Costs = DEFAULT) -> Report:
    """Plan ``trace``, run it ``warmup`` + ``repeat`` (at least 1) times, and verify the first run's reads.
    The policies are names or policy objects (a user's own, say); the report names them either way."""
    plan = plan_for(trace, pool, passes, limits=dict(engine.device.limits))
    decoded = DecodedPlan.of(plan.trace)
    data = payloads(plan, seed)
    report = Report(pool=pool if isinstance(pool, str) else pool.spec,
                    passes=passes if isinstance(passes, str) else passes.spec, adapter=adapter, seed=seed,
                    figures=figures(plan, costs), recorded_writes=data.recorded, synthetic_writes=data.synthetic)
    ref_plan = reference_plan(trace) if reference else None
    n = len(plan.trace)
    stamped = unverifiable(plan)
    with progress_bar(n * (warmup + repeat) + (len(ref_plan.trace) if ref_plan else 0), label) as part:
        first: Run | None = None
        first_reads: dict[int, bytes] = {}
        for k in range(warmup + repeat):
            run = engine.run(decoded, data.data, part(n))
            if run.error is not None:
                report.error = run.error
                return report
            reads = keyed(plan, [(i, b) for i, b in run.reads if i not in stamped])
            if first is None:
                first, first_reads = run, reads
                report.reads = reads
                report.skipped_timestamps = run.skipped
            elif reads != first_reads:
                report.deterministic = False
            if k >= warmup:
                report.runs.append(run)
        ref_reads = None
        if ref_plan is not None:
            ref_run = engine.run(DecodedPlan.of(ref_plan.trace), payloads(ref_plan, seed).data,
                                 part(len(ref_plan.trace)))
            report.reference_error = ref_run.error
            if ref_run.error is None:
                ref_reads = keyed(ref_plan, ref_run.reads)
    assert first is not None, "warmup + repeat is at least 1, and a failed run returned early"
    report.recording_not_compared = recording_mismatch(trace, engine.device.adapter.info, data.synthetic)
    exact = report.recording_not_compared is None
    # another adapter, the recorded data: texture read-backs are compared within their format's tolerance
    report.verdict = verify(plan, first.reads, ref_reads, recording=exact, tolerance=not exact and not data.synthetic)
    return report
