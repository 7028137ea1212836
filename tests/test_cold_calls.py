"""Cold calls (``cost.cold_calls``): the first call of each kind after a compile, priced by its own terms."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim.metrics import Costs, predict
from wgtrace.sim.metrics.calibration import fit
from wgtrace.sim.metrics.cost import COMPILES, TERM_NAMES, cold_calls, event_costs, features
from wgtrace.traces import Kind, load

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"
LAVAPIPE_RUNS = CORPUS.parents[1] / "benchmarks" / "calibration" / "lavapipe" / "cold"


def test_the_first_call_of_each_kind_after_a_compile_is_cold():
    k = [Kind.BUFFER_CREATE, Kind.SHADER_MODULE, Kind.BUFFER_CREATE, Kind.SUBMIT, Kind.SUBMIT,
         Kind.COMPUTE_PIPELINE, Kind.SUBMIT, Kind.BUFFER_CREATE, Kind.SUBMIT]
    cold, warm = cold_calls(np.array(k, dtype=np.int64))
    assert cold.tolist() == [True, False, True, True, False, False, True, True, False]
    assert warm == {Kind.SUBMIT, Kind.BUFFER_CREATE}
    carried, _ = cold_calls(np.array([Kind.SUBMIT, Kind.MAP]), warm)
    assert carried.tolist() == [False, True]  # a window goes on from the one before it


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([Kind.SUBMIT, Kind.MAP, Kind.DISPATCH, *COMPILES]), max_size=60), st.data())
def test_cold_calls_carried_across_cuts_are_those_of_the_whole(kinds, data):
    k = np.array(kinds, dtype=np.int64)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(k)), max_size=4)))
    whole, _ = cold_calls(k)
    pieces, warm = [], frozenset()
    for a, b in zip([0, *cuts], [*cuts, len(k)], strict=True):
        mask, warm = cold_calls(k[a:b], warm)
        pieces.append(mask)
    assert np.concatenate([np.zeros(0, bool), *pieces]).tolist() == whole.tolist()


def test_a_cold_call_is_counted_and_priced_on_top_of_its_kinds_term():
    trace = load(CORPUS / "nbody.wgtrace")
    counted = dict(zip(TERM_NAMES, features(trace), strict=True))
    assert counted["dispatch"] == trace.count_kind(Kind.DISPATCH) and counted["dispatch_cold"] == 1
    assert "pipeline_cold" not in counted  # a compile is what makes calls cold, never cold itself
    costs = Costs("test", {"dispatch": 1.0, "dispatch_cold": 10.0, "submit": 20.0, "submit_cold": 50.0})
    priced = predict(trace, costs)
    assert priced["dispatch"] == counted["dispatch"] + 10.0
    assert priced["submit"] == 20.0 * counted["submit"] + 50.0 * counted["submit_cold"]
    assert event_costs(trace, costs).sum() == pytest.approx(priced["total"])


def test_a_cold_term_no_profile_measured_is_left_at_nothing():
    rng = np.random.default_rng(0)
    x = np.zeros((12, len(TERM_NAMES)))
    x[:, TERM_NAMES.index("submit")] = rng.integers(5, 50, 12)
    x[:, TERM_NAMES.index("submit_cold")] = 1
    y = x[:, TERM_NAMES.index("submit")] * 20.0 + 60.0
    unmeasured = fit(x, y, Costs("prior", {"submit": 20.0}))
    assert unmeasured.costs["submit_cold"] == 0.0 and "submit_cold" not in unmeasured.fitted
    measured = fit(x, y, Costs("prior", {"submit": 20.0, "submit_cold": 50.0}), frozenset({"submit_cold"}))
    assert "submit_cold" in measured.fitted and measured.costs["submit_cold"] == pytest.approx(60.0, rel=0.2)


def test_runs_of_one_trace_and_policy_in_several_files_are_pooled(tmp_path):
    from wgtrace.replay.calibrate import read_runs

    a, b = (json.loads((LAVAPIPE_RUNS / f"runs_{k}.json").read_text()) for k in "ab")
    merged = read_runs([str(LAVAPIPE_RUNS / "runs_a.json"), str(LAVAPIPE_RUNS / "runs_b.json")])
    assert len(merged["runs"]) == len(a["runs"]) == len(b["runs"])
    first, second, pooled = a["runs"][0], b["runs"][0], merged["runs"][0]
    assert [pooled[k] for k in ("trace", "pool", "passes")] == [first[k] for k in ("trace", "pool", "passes")]
    assert pooled["steady_us"] == first["steady_us"] + second["steady_us"]
    assert pooled["profile"]["submit"] == pytest.approx([(x + y) / 2 for x, y in zip(
        first["profile"]["submit"], second["profile"]["submit"], strict=True)])  # a profile is of one replay
    assert len(merged["provenance"]["command"]) == 2
