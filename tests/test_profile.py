"""In-situ costs (``sim.metrics.profile``): each call timed in the replays, and the fit pulled towards them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wgtrace.sim.metrics import Costs
from wgtrace.sim.metrics.cost import TERM_NAMES, cold_calls
from wgtrace.sim.metrics.profile import costs, sums
from wgtrace.traces import Kind, load

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"


def test_a_profile_sums_each_call_terms_calls_and_its_cold_ones_apart():
    trace = load(CORPUS / "prefix_sum.wgtrace")
    cpu = np.arange(len(trace), dtype=np.float64)
    profile = sums(trace, cpu)
    cold = cold_calls(trace.kind)[0]
    submits = trace.where(Kind.SUBMIT)
    first, later = submits[cold[submits]], submits[~cold[submits]]
    assert len(first) == 1 and len(later) == len(submits) - 1
    assert profile["submit"][:2] == [float(len(later)), float(cpu[later].sum())]
    assert profile["submit_cold"][:2] == [1.0, float(cpu[first].sum())]
    writes = trace.where(Kind.MAPPED_WRITE)
    writes = writes[~cold[writes]]
    mib = trace.args[writes, 2] / 2**20
    assert profile["mapped_write_call"] == pytest.approx([len(writes), cpu[writes].sum(), mib.sum(), (mib * mib).sum(),
                                                          (mib * cpu[writes]).sum()])
    assert "draw" not in profile and "mapped_write_per_mib" not in profile  # no call of it; a rate is not a call


def test_a_rate_a_microbenchmark_measured_stands_and_the_calls_give_their_constant():
    read = _profile("read_call", [0.125, 0.75], [110.0, 40.0])  # a small read-back in a program that waits longer
    assert costs([read])["read_call"] == 75.0 and "read_per_mib" not in costs([read])  # no negative rate
    assert costs([read], {"read_per_mib": 80.0}) == pytest.approx({"read_call": 75.0 - 80.0 * 0.4375})


def test_a_profile_is_set_against_the_cpu_its_replays_measured():
    from wgtrace.sim.metrics.profile import scaled

    profile = {**_profile("submit", [0, 0], [30.0, 50.0]), **_profile("write_call", [1.0, 2.0], [10.0, 10.0])}
    slower = scaled(profile, 120.0)  # the timed runs took 120 us where the profile's calls add up to 100
    assert slower["submit"] == pytest.approx([2, 96.0, 0, 0, 0]) and slower["write_call"][4] == pytest.approx(36.0)
    assert costs([slower]) == pytest.approx({k: 1.2 * v for k, v in costs([profile]).items()})
    assert scaled(profile, 0.0) == profile and scaled({}, 5.0) == {}


def test_a_cold_figure_is_what_a_first_call_costs_more_than_the_others():
    submit = _profile("submit", [0, 0], [30.0, 50.0])
    assert costs([submit, _profile("submit_cold", [0], [100.0])]) == {"submit": 40.0, "submit_cold": 60.0}
    sized = _profile("write_call", [0.0, 1.0], [5.0, 55.0])  # 5 us + 50 us per MiB
    assert costs([sized, _profile("write_call_cold", [2.0], [125.0])])["write_call_cold"] == pytest.approx(20.0)
    assert "submit_cold" not in costs([_profile("submit_cold", [0], [100.0])])  # no warm call to tell it from
    assert costs([submit, _profile("submit_cold", [0], [10.0])])["submit_cold"] == 0.0  # never less than none


def _profile(name: str, amounts: list[float], us: list[float]) -> dict[str, list[float]]:
    a, y = np.array(amounts), np.array(us)
    return {name: [float(len(a)), float(y.sum()), float(a.sum()), float((a * a).sum()), float((a * y).sum())]}


def test_in_situ_costs_are_a_calls_mean_or_its_constant_and_rate():
    sized = _profile("write_call", [0.0, 0.5, 1.0, 2.0], [5.0, 30.0, 55.0, 105.0])  # 5 us + 50 us per MiB
    assert costs([sized, _profile("submit", [0, 0], [30.0, 50.0])]) == pytest.approx(
        {"write_call": 5.0, "write_per_mib": 50.0, "submit": 40.0})
    alike = _profile("write_call", [1.0, 1.0], [10.0, 20.0])
    assert costs([alike]) == {"write_call": 15.0}  # the sizes do not tell a rate
    shrinking = _profile("write_call", [0.0, 1.0], [20.0, 10.0])
    assert costs([shrinking]) == {"write_call": 15.0}  # no negative rate
    assert costs([_profile("submit", [0, 0], [30.0, 50.0]), _profile("submit", [0], [10.0])]) == {"submit": 30.0}


def test_the_fit_leans_on_the_training_profile_and_never_on_a_held_out_one():
    from wgtrace.replay.calibrate import Measurement, calibrate

    rng = np.random.default_rng(0)
    truth = {"texture_view": 10.0, "render_pass_begin": 40.0}
    rows = []
    for k in range(6):
        views = 5.0 * (k + 1)
        x = np.zeros(len(TERM_NAMES))
        x[TERM_NAMES.index("texture_view")], x[TERM_NAMES.index("render_pass_begin")] = views * 2.5, views
        y = float(x @ np.array([truth.get(n, 0.0) for n in TERM_NAMES])) * (1 + 0.01 * rng.standard_normal())
        profile = {**_profile("texture_view", [0.0] * int(views * 2.5), [10.0] * int(views * 2.5)),
                   **_profile("render_pass_begin", [0.0] * int(views), [40.0] * int(views))}
        rows.append(Measurement(f"t{k}", "exclusive", "as-recorded", np.zeros_like(x), x, setup_us=(0.0,),
                                steady_us=(y,), profile=profile))
    held = Measurement("held", "exclusive", "as-recorded", np.zeros_like(x), x, setup_us=(1.0,), steady_us=(1.0,),
                       profile=_profile("texture_view", [0.0], [1e6]))
    result = calibrate([*rows, held], {"held"}, Costs(source="none"), {})
    assert result.costs.calibration["profile_us"] == pytest.approx({"render_pass_begin": 40.0, "texture_view": 10.0},
                                                                   rel=0.02)
    assert result.costs["texture_view"] == pytest.approx(10.0, rel=0.05)  # views always come 2.5 a pass: the
    assert result.costs["render_pass_begin"] == pytest.approx(40.0, rel=0.05)  # profile tells them apart


def test_calibrate_profiles_each_replay_in_rounds_of_its_own():
    from wgtrace.replay.calibrate import measure
    from wgtrace.replay.device import open_device
    from wgtrace.replay.engine import Engine

    trace = load(CORPUS / "nbody.wgtrace")
    engine = Engine(open_device())
    (m,) = measure(engine, [(trace, "nbody", "exclusive", "batched")], repeat=2, warmup=0, profile_repeat=1)
    engine.close()
    assert len(m.steady_us) == 2 and m.error is None
    assert m.profile["dispatch"][0] + m.profile["dispatch_cold"][0] == trace.count_kind(Kind.DISPATCH)
    assert m.profile["dispatch_cold"][0] == 1 and m.profile["dispatch"][1] > 0


def test_a_runs_file_with_a_broken_profile_is_refused(tmp_path):
    import json
    import subprocess
    import sys

    runs = json.loads((CORPUS.parents[1] / "benchmarks" / "calibration" / "lavapipe" / "profiled" / "runs.json")
                      .read_text())
    runs["runs"][0]["profile"]["submit"][1] = -5.0
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(runs))
    run = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", str(CORPUS / "mlp_train.wgtrace"),
                          "--runs", str(path), "-o", str(tmp_path / "c.json")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "not a calibration runs file" in run.stderr and "Traceback" not in run.stderr


def test_a_profile_round_made_while_the_host_was_slow_does_not_count():
    from wgtrace.replay.calibrate import Measurement, _Replay, clock_overhead_ns
    from wgtrace.replay.engine import DecodedPlan

    trace = load(CORPUS / "nbody.wgtrace")
    zero = np.zeros(len(TERM_NAMES))
    replay = _Replay(Measurement("nbody", "exclusive", "as-recorded", zero, zero), DecodedPlan.of(trace), {}, 0,
                     floor=[1000.0, 1010.0])
    fast, slow = (np.full(len(trace), ns + int(clock_overhead_ns()), dtype=np.int64) for ns in (10_000, 20_000))
    dispatches = trace.count_kind(Kind.DISPATCH) - 1  # the first after the compile is summed apart
    replay.calls, replay.calls_floor = [fast, slow, fast], [1005.0, 2000.0, 1020.0]
    assert replay.profile()["dispatch"][1] == pytest.approx(10.0 * dispatches)
    replay.calls, replay.calls_floor = [slow, slow, fast], [2000.0, 2100.0, 2050.0]  # all slow: all count
    assert replay.profile()["dispatch"][1] == pytest.approx(20.0 * dispatches)
