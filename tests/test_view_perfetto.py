"""``wgtrace export --perfetto``: Chrome trace-event JSON whose structure Perfetto and chrome://tracing accept.

What is checked is what those viewers rely on: every event of a known phase with the fields it needs,
a named thread for every track, complete slices properly nested on each thread, flows whose two ends
sit on slices, counters with numbers, and the clock said in the metadata.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from wgtrace.sim import check, plan, simulate
from wgtrace.traces import Kind, load
from wgtrace.traces.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
HAZARD = CORPUS / "mlp_train_hazard.wgtrace"
PHASES = {"X", "M", "C", "i", "s", "f"}
EPS = 1e-6


def _export(tmp_path: Path, trace: Path, *args: str, name: str = "out.json") -> dict:
    out = tmp_path / name
    assert main(["export", str(trace), *args, "--perfetto", str(out)]) == 0
    return json.loads(out.read_text())


def _nested(slices: list[dict]) -> dict[int, int]:
    """Per slice (by position in ``slices``, all of one thread), the position of its parent (-1 at the top),
    asserting that every slice ends inside the one it starts in: the nesting Perfetto requires of a thread."""
    parent: dict[int, int] = {}
    stack: list[dict] = []
    ids: list[int] = []
    for k in sorted(range(len(slices)), key=lambda k: (slices[k]["ts"], -slices[k]["dur"])):
        s = slices[k]
        while stack and _end(stack[-1]) <= s["ts"] + EPS and stack[-1]["ts"] != s["ts"]:
            stack.pop()
            ids.pop()
        if stack:
            assert _end(s) <= _end(stack[-1]) + EPS, (s, stack[-1])
        parent[k] = ids[-1] if ids else -1
        stack.append(s)
        ids.append(k)
    return parent


def _end(s: dict) -> float:
    return s["ts"] + s["dur"]


def _structure(doc: dict) -> dict[int, list[dict]]:
    """The checks every export passes; the complete slices by thread."""
    assert set(doc) == {"traceEvents", "displayTimeUnit", "metadata"} and doc["displayTimeUnit"] == "ns"
    events = doc["traceEvents"]
    assert {e["ph"] for e in events} <= PHASES
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    by_tid: dict[int, list[dict]] = defaultdict(list)
    for e in events:
        assert isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] == "X":
            assert e["ts"] >= 0 and e["dur"] >= 0 and e["tid"] in names
            assert isinstance(e["args"]["event"], int) and isinstance(e["args"]["site"], str)
            by_tid[e["tid"]].append(e)
        elif e["ph"] == "C":
            assert all(isinstance(v, int) for v in e["args"].values())
    for slices in by_tid.values():
        _nested(slices)
    return by_tid


def _enclosing(slices: list[dict], ts: float) -> list[dict]:
    return [s for s in slices if s["ts"] - EPS <= ts <= s["ts"] + s["dur"] + EPS]


def test_an_as_recorded_plan_on_the_host_clock(tmp_path):
    doc = _export(tmp_path, HAZARD)
    by_tid = _structure(doc)
    trace = load(HAZARD)
    assert doc["metadata"]["clock"] == "host" and doc["metadata"]["passes"] == "as-recorded"
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    encoders = trace.count_kind(Kind.ENCODER_CREATE)
    assert sorted(n for n in names.values() if n.startswith("encoder ")) == sorted(f"encoder {k}"
                                                                                  for k in range(encoders))
    assert "queue" in names.values()
    cats = defaultdict(int)
    for e in events:
        if e["ph"] == "X":
            cats[e["cat"]] += 1
    assert cats["dispatch"] == trace.count_kind(Kind.DISPATCH) and cats["submit"] == trace.count_kind(Kind.SUBMIT)
    assert cats["queue write"] == trace.count_kind(Kind.WRITE_BUFFER) and cats["pass"] == cats["encoder"] == encoders
    t0 = int(trace.t[0])
    for e in events[::97]:
        if e["ph"] == "X":
            assert e["ts"] == pytest.approx((int(trace.t[e["args"]["event"]]) - t0) / 1000, abs=1e-3)
    # every dispatch sits in a pass, every pass in its encoder
    for slices in by_tid.values():
        parent = _nested(slices)
        for k, s in enumerate(slices):
            if s["cat"] == "dispatch":
                p = slices[parent[k]]
                assert p["cat"] == "pass" and slices[parent[parent[k]]]["cat"] == "encoder"
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert counters == {"bytes held by the pool", "bytes in use (live allocations)", "bytes created"}


def test_flows_lead_from_each_hazardous_write_to_the_command_it_overtakes(tmp_path):
    doc = _export(tmp_path, HAZARD, "--pool", "exclusive-pages", "--pass", "max-tasks:16")
    by_tid = _structure(doc)
    result = check(plan(load(HAZARD), "exclusive-pages", "max-tasks:16"))
    events = doc["traceEvents"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert starts.keys() == ends.keys() and len(starts) == sum(x.other_event is not None for x in result.findings) > 0
    for k, s in starts.items():
        f = ends[k]
        assert f["bp"] == "e" and s["cat"] == f["cat"] == "hazard"
        write = [e for e in _enclosing(by_tid[s["tid"]], s["ts"]) if e["cat"] == "queue write"]
        command = [e for e in _enclosing(by_tid[f["tid"]], f["ts"]) if e["cat"] == "dispatch"]
        x = result.findings[k]
        assert write[0]["args"]["event"] == x.event and command[0]["args"]["event"] == x.other_event
    instants = [e for e in events if e["ph"] == "i"]
    assert [e["args"]["event"] for e in instants] == [x.event for x in result.findings]


def test_a_re_recorded_plan_on_the_cost_model_clock(tmp_path):
    doc = _export(tmp_path, HAZARD, "--pool", "sliced+fix", "--pass", "batched/staging-copy")
    _structure(doc)
    assert doc["metadata"]["clock"] == "cost model"
    p = plan(load(HAZARD), "sliced+fix", "batched/staging-copy")
    end = max(e["ts"] + e["dur"] for e in doc["traceEvents"] if e["ph"] == "X")
    assert end <= simulate(p).cost_us["total"] + 2e-3  # both rounded to 1e-3 us
    durations, slices = defaultdict(float), defaultdict(int)
    for e in doc["traceEvents"]:
        if e["ph"] == "X" and e["cat"] == "dispatch":
            durations[e["name"]] += e["dur"]
            slices[e["name"]] += 1
    # each slice's duration is rounded to 1e-3 us
    assert durations["dispatch"] == pytest.approx(simulate(p).cost_us["dispatch"], abs=1e-3 * slices["dispatch"])


def test_render_work_gets_passes_draws_and_bundles(tmp_path):
    doc = _export(tmp_path, CORPUS / "pygfx_scene.wgtrace")
    by_tid = _structure(doc)
    trace = load(CORPUS / "pygfx_scene.wgtrace")
    slices = [s for v in by_tid.values() for s in v]
    draws = [s for s in slices if s["cat"] == "draw"]
    assert len(draws) == int(np.isin(trace.kind, [Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT,
                                                  Kind.DRAW_INDEXED_INDIRECT, Kind.EXECUTE_BUNDLES]).sum()) > 0
    assert any(s["name"] == "render pass" for s in slices)
    assert all(s["args"]["site"].startswith("examples/") for s in draws)


def test_the_same_export_twice_is_byte_identical(tmp_path):
    _export(tmp_path, HAZARD, "--pool", "sliced", "--pass", "max-tasks:16", name="a.json")
    _export(tmp_path, HAZARD, "--pool", "sliced", "--pass", "max-tasks:16", name="b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


@pytest.mark.parametrize(("args", "words"), [
    ([str(HAZARD), "--pass", "max-tasks:x"], "max-tasks:x"),
    ([str(CORPUS / "none.wgtrace")], "none.wgtrace"),
    ([str(HAZARD), "--costs", "{tmp}/costs.json"], "costs.json"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    (tmp_path / "costs.json").write_text("[1, 2]")
    code = main(["export", *(a.replace("{tmp}", str(tmp_path)) for a in args), "--perfetto", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("wgtrace export: error: ") and words in err, err


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["export", str(HAZARD), "--perfetto", str(tmp_path / "missing" / "o.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("wgtrace export: error: cannot write") and err.count("\n") == 1
