"""The cost model's calibration: the fit recovers known costs, and ``wgtrace calibrate`` measures on lavapipe.

The fit is tested on made-up measurements whose costs are known (exact, then with noise); the
command on a real replay of corpus traces, with one held out, writing a file that ``sim --costs``
takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wgtrace.sim.metrics import Costs, load_costs
from wgtrace.sim.metrics.calibration import fit
from wgtrace.sim.metrics.cost import TERM_NAMES
from wgtrace.traces.errors import InputError

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"
PRIOR = CORPUS.parents[1] / "benchmarks" / "costs_lavapipe.json"
USED = ("dispatch", "submit", "write_call", "encoder_finish", "pass_begin")


def made_up(rows: int, noise: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    rng = np.random.default_rng(seed)
    truth = {"dispatch": 2.0, "submit": 40.0, "write_call": 5.0, "encoder_finish": 30.0, "pass_begin": 4.0}
    x = np.zeros((rows, len(TERM_NAMES)))
    for name in USED:
        x[:, TERM_NAMES.index(name)] = rng.integers(1, 200, rows)
    y = x @ np.array([truth.get(n, 0.0) for n in TERM_NAMES]) * (1 + noise * rng.standard_normal(rows))
    return x, y, truth


def test_exact_measurements_give_back_their_costs():
    x, y, truth = made_up(40, 0.0)
    result = fit(x, y, Costs(source="none"))
    assert set(result.fitted) == set(USED)
    for name, cost in truth.items():
        assert result.costs[name] == pytest.approx(cost, rel=1e-6)
        assert result.stderr[name] == pytest.approx(0, abs=1e-6)
    assert result.costs["draw"] == 0 and np.isnan(result.stderr["draw"])  # no row calls it: not fitted


def test_noisy_measurements_land_near_their_costs_with_an_uncertainty():
    x, y, truth = made_up(200, 0.05)
    result = fit(x, y, Costs(source="none"))
    for name, cost in truth.items():
        assert abs(result.costs[name] - cost) < 4 * result.stderr[name] + 0.05 * cost, name
        assert result.stderr[name] > 0
    assert np.allclose(result.predicted_us, x[:, [TERM_NAMES.index(n) for n in result.fitted]]
                       @ np.array([result.costs[n] for n in result.fitted]))


def test_the_prior_decides_what_the_measurements_cannot_tell_apart():
    x, _, truth = made_up(30, 0.0)
    x[:, TERM_NAMES.index("submit")] = x[:, TERM_NAMES.index("encoder_finish")]  # always together
    y = x @ np.array([truth.get(n, 0.0) for n in TERM_NAMES])
    prior = Costs(source="bench", values={"submit": 10.0, "encoder_finish": 60.0})
    result = fit(x, y, prior)
    together = result.costs["submit"] + result.costs["encoder_finish"]
    assert together == pytest.approx(70.0, rel=0.02)
    assert result.costs["encoder_finish"] > result.costs["submit"]


def test_bad_measurements_are_refused():
    x, y, _ = made_up(5, 0.0)
    with pytest.raises(InputError, match="must have taken some CPU time"):
        fit(x, np.zeros(5), Costs())
    with pytest.raises(InputError, match="one row of"):
        fit(x[:, :3], y, Costs())


def test_calibrate_replays_fits_and_predicts_a_held_out_trace(tmp_path):
    out = tmp_path / "costs.json"
    run = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", str(CORPUS / "nbody.wgtrace"),
                          str(CORPUS / "frame_loop.wgtrace"), "--holdout", str(CORPUS / "image_filters.wgtrace"),
                          "--repeat", "2", "--warmup", "1", "--prior", str(PRIOR), "-o", str(out), "--save-runs",
                          str(tmp_path / "runs.json"), "--gpu-repeat", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "out of sample" in run.stdout and "image_filters.wgtrace" in run.stdout
    costs = load_costs(out)
    info = costs.calibration
    assert info is not None and costs.source.startswith("calibrated on ")
    # a CPU adapter's timestamps do not bracket its work: it is timed by waiting for every submit
    clock = "synchronised" if info["adapter"].startswith("llvmpipe") else "timestamps"
    assert info["gpu"]["clock"] == clock and info["gpu"]["train"]["rows"] == 10 and info["gpu"]["holdout"]["rows"] == 5
    assert ("every submit waited for" in run.stdout) == (clock == "synchronised")
    assert info["held_out"] == ["image_filters.wgtrace"] and len(info["trained_on"]) == 2
    assert set(info["traces"]) == {"nbody.wgtrace", "frame_loop.wgtrace", "image_filters.wgtrace"}
    # calls that always come together (a dispatch with its set calls) may put their cost on one of them
    assert info["holdout"]["rows"] == 6 and "dispatch" in info["fitted_terms"]
    assert sum(costs[t] for t in info["fitted_terms"]) > 0
    # the fit leans on the training replays' own calls, timed one by one (the held-out trace's are not asked)
    assert info["prior"].startswith("in-situ profile of 12 training replays' calls; else llvmpipe")
    assert info["profile_us"]["dispatch"] > 0 and "in situ" in run.stdout
    sim = subprocess.run([sys.executable, "-m", "wgtrace.traces", "sim", str(CORPUS / "nbody.wgtrace"), "--costs",
                          str(out), "--json"], capture_output=True, text=True, timeout=60)
    assert sim.returncode == 0 and json.loads(sim.stdout)["cost_us"]["total"] > 0


def test_compiling_is_priced_by_the_wgsl_it_compiles_and_every_event_adds_up_to_the_total():
    from wgtrace.sim.metrics import predict
    from wgtrace.sim.metrics.cost import event_costs, features
    from wgtrace.traces import Kind, load

    trace = load(CORPUS / "pygfx_scene.wgtrace")
    modules = trace.where(Kind.SHADER_MODULE)
    code = sum(len(trace.strings[int(trace.args[i, 1])].encode()) for i in modules.tolist())
    counted = dict(zip(TERM_NAMES, features(trace), strict=True))
    assert counted["shader_module_per_kib"] == code / 1024 > 0
    assert counted["pipeline_per_kib"] >= counted["shader_module_per_kib"]  # each pipeline compiles its modules
    costs = Costs("test", {**load_costs(PRIOR).values, "shader_module_per_kib": 100.0, "pipeline_per_kib": 50.0})
    per_event = event_costs(trace, costs)
    assert per_event[modules].sum() >= 100.0 * code / 1024
    assert per_event.sum() == pytest.approx(predict(trace, costs)["total"], abs=0.01 * len(trace))


def test_saved_runs_fit_again_without_a_device_to_the_same_costs(tmp_path):
    traces = [str(CORPUS / "prefix_sum.wgtrace"), "--holdout", str(CORPUS / "nbody.wgtrace")]
    first, again, runs = tmp_path / "first.json", tmp_path / "again.json", tmp_path / "runs.json"

    def calibrate(*more: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", *traces, "--prior", str(PRIOR),
                               *more], capture_output=True, text=True, timeout=300)

    assert calibrate("--repeat", "2", "-o", str(first), "--save-runs", str(runs)).returncode == 0
    refit = calibrate("--runs", str(runs), "-o", str(again))
    assert refit.returncode == 0, refit.stderr
    a, b = load_costs(first), load_costs(again)
    assert a.values == b.values and a.calibration["holdout"] == b.calibration["holdout"]
    assert b.calibration["measured_by"] == a.calibration["command"] and b.calibration["date"] == a.calibration["date"]

    more = tmp_path / "more.json"
    filters = str(CORPUS / "image_filters.wgtrace")
    assert subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", filters, "--repeat", "1", "-o",
                           str(tmp_path / "c.json"), "--save-runs", str(more)], timeout=300).returncode == 0
    traces.insert(0, filters)
    both = calibrate("--runs", str(runs), str(more), "-o", str(again))
    assert both.returncode == 0, both.stderr
    merged = load_costs(again).calibration
    assert merged["trained_on"] == ["image_filters.wgtrace", "prefix_sum.wgtrace"] and len(merged["measured_by"]) == 2

    traces[0] = str(CORPUS / "mlp_train.wgtrace")
    del traces[1]
    missing = calibrate("--runs", str(runs), "-o", str(again))
    assert missing.returncode == 2 and "holds no runs of this mlp_train.wgtrace" in missing.stderr
    runs.write_text("{}")
    broken = calibrate("--runs", str(runs), "-o", str(again))
    assert broken.returncode == 2 and "not a calibration runs file" in broken.stderr
    assert "Traceback" not in missing.stderr + broken.stderr


def test_runs_made_while_the_host_was_slow_do_not_count():
    from wgtrace.replay.calibrate import Measurement, quiet

    zero = np.zeros(len(TERM_NAMES))
    slow_spell = Measurement("a", "exclusive", "batched", zero, zero, setup_us=(1.0,) * 6,
                             steady_us=(100.0, 101.0, 99.0, 190.0, 200.0, 210.0),
                             floor_us=(900.0, 910.0, 905.0, 1800.0, 1850.0, 1900.0))
    mostly_slow = Measurement("b", "exclusive", "batched", zero, zero, setup_us=(1.0,) * 4,
                              steady_us=(50.0, 90.0, 95.0, 99.0), floor_us=(900.0, 1800.0, 1800.0, 1800.0))
    kept, said = quiet([slow_spell, mostly_slow])
    assert kept[0].steady_us == (100.0, 101.0, 99.0) and kept[0].median == 100.0
    assert kept[1] is mostly_slow  # one quiet run is too few to judge by: all are kept
    assert said == {"floor_limit_us": pytest.approx(1.25 * np.percentile([*slow_spell.floor_us, *mostly_slow.floor_us],
                                                                            10), abs=0.1), "runs_kept": 7, "runs": 10,
                    "replays_with_slow_runs": 1}
    slow_host = [Measurement(name, "exclusive", "batched", zero, zero, setup_us=(1.0,) * 10, steady_us=(150.0,) * 10,
                             floor_us=(1800.0,) * 9 + (900.0 if name == "d" else 1800.0,)) for name in "defghijklm"]
    _, said = quiet(slow_host)  # slow for all but one run: the 10th percentile is no longer the host's usual speed
    assert said["floor_limit_us"] == 1125.0 and said["replays_with_slow_runs"] == 10
    unfloored = Measurement("c", "exclusive", "batched", zero, zero, setup_us=(1.0,), steady_us=(5.0,))
    assert quiet([unfloored]) == ([unfloored], {})


def test_replays_are_measured_in_rounds_with_a_floor_before_each_run():
    from wgtrace.replay.calibrate import measure
    from wgtrace.replay.device import open_device
    from wgtrace.replay.engine import Engine
    from wgtrace.traces import load

    trace = load(CORPUS / "nbody.wgtrace")
    seen: list[list[int]] = []
    engine = Engine(open_device())
    out = measure(engine, [(trace, "nbody", "exclusive", "batched"), (trace, "nbody", "exclusive", "as-recorded")],
                  repeat=3, warmup=1, each_round=lambda ms: seen.append([len(m.steady_us) for m in ms]))
    engine.close()
    assert seen == [[1, 1], [2, 2], [3, 3]]  # every replay once per round
    assert all(len(m.floor_us) == 3 and min(m.floor_us) > 0 and m.error is None for m in out)


def test_each_round_replays_a_traces_policies_in_an_order_of_its_own():
    from wgtrace.replay.calibrate import DESIGN, Measurement, _in_round_order, _Replay

    zero = np.zeros(len(TERM_NAMES))
    replays = [_Replay(Measurement(trace, pool, passes, zero, zero), None, {}, 0)  # type: ignore[arg-type]
               for trace in ("a", "b") for pool, passes in DESIGN]
    rounds = [[(r.m.trace, r.m.pool, r.m.passes) for r in _in_round_order(replays, 0, k)] for k in range(12)]
    assert all([t for t, _, _ in order] == ["a"] * 6 + ["b"] * 6 for order in rounds)  # one trace after another
    assert all(sorted(order) == sorted((r.m.trace, r.m.pool, r.m.passes) for r in replays) for order in rounds)
    assert len({order[0][1:] for order in rounds}) >= 4  # the first policy of a trace changes from round to round
    assert rounds == [[(r.m.trace, r.m.pool, r.m.passes) for r in _in_round_order(replays, 0, k)] for k in range(12)]


def test_a_calibration_made_while_the_host_ran_slow_says_so(tmp_path):
    runs = json.loads((CORPUS.parents[1] / "benchmarks" / "calibration" / "lavapipe" / "cold" / "runs_a.json")
                      .read_text())
    for k, run in enumerate(runs["runs"]):
        run["floor_us"] = [f * (1.0 if k == 0 and i == 0 else 2.0) for i, f in enumerate(run["floor_us"])]
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(runs))
    run = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", str(CORPUS / "mlp_train.wgtrace"),
                          "--runs", str(path), "-o", str(tmp_path / "c.json")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "warning  6 replays had fewer than 3 runs at the host's usual speed" in run.stdout
    assert load_costs(tmp_path / "c.json").calibration["quiet_runs"]["replays_with_slow_runs"] == 6


@pytest.mark.parametrize("device", ["h100", "lavapipe"])
def test_the_shipped_calibrations_are_what_their_runs_give(tmp_path, device):
    """The shipped cost files are fits of committed measurements: a change to the model must make them again
    (``python benchmarks/refit_default.py --device DEVICE``)."""
    from wgtrace.sim.metrics.cost import SHIPPED

    sys.path.insert(0, str(CORPUS.parents[1] / "benchmarks"))
    from refit_default import refit

    run = refit(tmp_path / "costs.json", device)
    assert run.returncode == 0, run.stderr
    again, shipped = load_costs(tmp_path / "costs.json"), load_costs(next(p for p in SHIPPED if device in p.name))
    assert again.values.keys() == shipped.values.keys()
    for name, value in shipped.values.items():
        assert again[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    assert again.calibration["holdout"] == shipped.calibration["holdout"]
    assert again.calibration.get("gpu") == shipped.calibration.get("gpu")


def test_a_replay_predicts_with_the_calibration_of_its_adapter():
    from wgtrace.sim.metrics.cost import DEFAULT, for_adapter

    assert for_adapter("llvmpipe (LLVM 19.1.7, 256 bits)").source.startswith("calibrated on llvmpipe")
    assert for_adapter("NVIDIA H100 80GB HBM3") is DEFAULT and for_adapter("Some GPU") is DEFAULT
    assert DEFAULT.source.startswith("calibrated on NVIDIA H100")


def test_the_gpu_model_recovers_what_a_policy_adds_to_the_replay_as_recorded():
    from wgtrace.sim.metrics import gpu_fit

    rng = np.random.default_rng(3)
    truth = np.zeros(len(TERM_NAMES))
    truth[TERM_NAMES.index("pass_begin")], truth[TERM_NAMES.index("copy")] = 4.0, 9.0
    measured = []
    for t in range(6):
        kernels = float(rng.uniform(500, 5000))  # what no call count carries: each program's own
        for passes in ("as-recorded", "batched", "pass-per-dispatch"):
            x = np.zeros(len(TERM_NAMES))
            x[TERM_NAMES.index("pass_begin")], x[TERM_NAMES.index("copy")] = rng.integers(1, 300, 2)
            measured.append((f"t{t}", "exclusive", passes, x, kernels + float(x @ truth)))
    rows = gpu_fit.rows(measured)
    assert len(rows) == 12 and all(r.passes != "as-recorded" for r in rows)
    costs = gpu_fit.fit(rows[:8])
    assert costs == pytest.approx(truth, abs=1e-6)
    assert max(abs(r.error(costs)) for r in rows[8:]) < 1e-9
    with pytest.raises(InputError, match="as recorded"):
        gpu_fit.fit([])


def test_a_replay_times_the_device_by_its_adapters_clock():
    from wgtrace.replay import gpu_clock
    from wgtrace.replay.data import payloads
    from wgtrace.replay.device import open_device
    from wgtrace.replay.engine import DecodedPlan, Engine
    from wgtrace.replay.report import plan_for
    from wgtrace.traces import Kind, load

    device = open_device()
    trace = load(CORPUS / "nbody.wgtrace")
    engine = Engine(device)
    runs = {}
    for passes in ("as-recorded", "max-tasks:16"):
        plan = plan_for(trace, "exclusive", passes, limits=dict(device.limits))
        decoded, data = DecodedPlan.of(plan.trace), payloads(plan, 0).data
        runs[passes] = (plan, engine.run(decoded, data, gpu=True), engine.run(decoded, data))
    engine.close()
    for plan, run, untimed in runs.values():
        assert run.error is None and run.gpu_ns is not None and untimed.gpu_ns is None
        assert len(run.gpu_ns) == len(plan.trace.where(Kind.ENCODER_CREATE)) and (run.gpu_ns >= 0).all()
        assert 0 < run.gpu_ns.sum() / 1e9 <= run.wall_s  # the device's time fits in the run's synchronised time
    if gpu_clock.method(device) == "timestamps":
        assert all((run.gpu_ns > 0).sum() >= len(run.gpu_ns) - 1 for _, run, _ in runs.values())
    else:  # a submit's wait is credited to its last command buffer: one span per submit
        for plan, run, _ in runs.values():
            assert (run.gpu_ns > 0).sum() == len(plan.trace.where(Kind.SUBMIT))
        assert len(runs["max-tasks:16"][1].gpu_ns) < len(runs["as-recorded"][1].gpu_ns)


def test_sim_predicts_the_gpu_time_a_policy_adds_with_the_shipped_h100_model(tmp_path):
    from wgtrace.sim.metrics.cost import DEFAULT

    gpu = DEFAULT.calibration["gpu"]
    assert gpu["holdout"]["rows"] and set(gpu["us_per_term"]) <= {"encoder_create", "pass_begin", "render_pass_begin",
                                                                   "dispatch", "dispatch_indirect", "draw", "copy",
                                                                   "clear", "texture_copy", "mapped_write_per_mib"}

    def sim(*policy: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "sim", str(CORPUS / "fastplotlib_figure.wgtrace"),
                              *policy, "--json"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    staged = sim("--pool", "exclusive", "--pass", "batched/staging-copy")
    assert staged["gpu_change_us"] > 0  # staging copies run on the device
    assert "gpu_change_us" not in sim()  # a buffer per allocation, as recorded: the recording's own calls
    text = subprocess.run([sys.executable, "-m", "wgtrace.traces", "sim", str(CORPUS / "fastplotlib_figure.wgtrace"),
                           "--pool", "exclusive", "--pass", "batched/staging-copy"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "predicted GPU" in text and "against the program as recorded" in text
    assert "synchronised" not in text  # the H100's model is of timestamps
    lavapipe = subprocess.run([sys.executable, "-m", "wgtrace.traces", "sim", str(CORPUS / "mlp_train.wgtrace"),
                               "--pool", "exclusive", "--pass", "pass-per-dispatch", "--costs",
                               str(CORPUS.parents[1] / "sim/metrics/costs_lavapipe.json")],
                              capture_output=True, text=True, timeout=60).stdout
    assert "against the program as recorded (synchronised wall time" in lavapipe


def test_gpu_runs_of_another_device_are_refused(tmp_path):
    root = CORPUS.parents[1]
    traces = [str(CORPUS / "image_filters.wgtrace")]
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", *traces, "--runs",
                          str(root / "benchmarks/calibration/lavapipe/runs.json"), "--gpu-runs",
                          str(root / "benchmarks/calibration/h100/gpu_time/runs_compute.json"), "-o",
                          str(tmp_path / "c.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "not on llvmpipe" in out.stderr and "Traceback" not in out.stderr


def test_time_stepping_programs_submit_with_no_upload_and_are_the_same_bytes_each_time(tmp_path):
    from wgtrace.sim.workloads import time_steps
    from wgtrace.traces import Kind, load
    from wgtrace.traces.validate import validate
    from wgtrace.traces.writer import save

    paths = [tmp_path / "a.wgtrace", tmp_path / "b.wgtrace"]
    for path in paths:
        save(time_steps.generate(30, seed=5), path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    trace = load(paths[0])
    validate(trace)
    kind = trace.kind.tolist()
    submits = [i for i, k in enumerate(kind) if k == Kind.SUBMIT]
    writes = [i for i, k in enumerate(kind) if k == Kind.WRITE_BUFFER]
    assert len(submits) >= 30 and max(writes) < submits[0]  # every upload before the first step
    assert len(trace.where(Kind.BIND_GROUP)) < len(trace.where(Kind.DISPATCH))  # bind groups made once, set again


def test_gpu_runs_fit_the_traces_they_have_rounds_of(tmp_path):
    root = CORPUS.parents[1]
    traces = [str(CORPUS / name) for name in ("mlp_train.wgtrace", "frame_loop.wgtrace", "image_filters.wgtrace")]
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", *traces[:2], "--holdout", traces[2],
                          "--runs", str(root / "benchmarks/calibration/lavapipe/runs.json"), "--gpu-runs",
                          str(root / "benchmarks/calibration/lavapipe/gpu_time/runs_compute.json"), "-o",
                          str(tmp_path / "c.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    gpu = load_costs(tmp_path / "c.json").calibration["gpu"]
    # frame_loop has no GPU rounds in the compute runs: the model is of mlp_train, judged on image_filters
    assert gpu["clock"] == "synchronised" and gpu["train"]["rows"] == 5 and gpu["holdout"]["rows"] == 5
