"""Traces larger than memory: validation chunk by chunk and the windowed check agree with ``load`` and ``check``;
a generator's pieces make one trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wgtrace import traces as traces_package
from wgtrace.sim import Plan, check, plan
from wgtrace.sim.check.report.json import as_json
from wgtrace.sim.check.windowed import _streamed, check_file
from wgtrace.sim.metrics import simulate
from wgtrace.sim.metrics.cost import DEFAULT as DEFAULT_COSTS
from wgtrace.sim.metrics.cost import for_adapter
from wgtrace.sim.metrics.windowed import _streamed as simulated
from wgtrace.sim.planner.render import has_render
from wgtrace.sim.workloads import eager_loop, random_program
from wgtrace.traces import Kind, TraceError, load, save
from wgtrace.traces.stream import NotStreamable, Windows, save_pieces, validate_file

CORPUS = sorted((Path(traces_package.__file__).parent / "corpus").glob("*.wgtrace"))
SMALL_CHUNKS = 997  # many windows, none aligned with the loop's structure


def _pieces_file(path: Path, events: int = 40_000) -> Path:
    pieces = eager_loop.pieces(events, piece_events=9_000, seed=5)
    first = next(pieces)
    save_pieces(first.header, [first, *pieces], path, chunk_events=SMALL_CHUNKS)
    return path


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_corpus_validates_chunk_by_chunk_as_it_loads(path, tmp_path):
    trace = load(path, partial=True)
    small = tmp_path / "small.wgtrace"
    save(trace, small, chunk_events=61)  # many windows: objects and layouts come from earlier ones
    for p in (path, small):
        seen = validate_file(p, partial=True)
        assert (seen.events, seen.cut_short is None) == (len(trace), trace.cut_short is None)


def test_a_generator_in_pieces_writes_one_valid_trace(tmp_path):
    path = _pieces_file(tmp_path / "pieces.wgtrace")
    trace = load(path)
    assert validate_file(path).events == len(trace) >= 40_000
    submitted = np.sort(trace.rows[trace.row_ids(trace.where(Kind.SUBMIT)), 0])
    assert np.array_equal(submitted, np.arange(trace.count_kind(Kind.SUBMIT)))  # every piece's encoders, once each


@pytest.mark.parametrize("corrupt", ["future_bind_group", "id_out_of_order", "time_back"])
def test_a_fault_in_a_later_chunk_is_refused_at_the_event_load_names(tmp_path, corrupt):
    trace = load(_pieces_file(tmp_path / "pieces.wgtrace"))
    args, t = np.asarray(trace.args).copy(), np.asarray(trace.t).copy()
    if corrupt == "future_bind_group":
        i = int(trace.where(Kind.SET_BIND_GROUP)[2000])
        args[i, 2] += 5
    elif corrupt == "id_out_of_order":
        i = int(trace.where(Kind.BUFFER_CREATE)[3000])
        args[i, 0] += 1
    else:
        i = 5 * SMALL_CHUNKS  # the first event of a chunk, before its predecessor in time
        t[i:] -= 2 * (t[i] - t[i - 1])
    trace.args, trace.t = args, t
    bad = tmp_path / "bad.wgtrace"
    save(trace, bad, chunk_events=SMALL_CHUNKS)
    with pytest.raises(TraceError) as whole:
        load(bad)
    with pytest.raises(TraceError) as streamed:
        validate_file(bad)
    assert whole.value.event == streamed.value.event == i
    assert str(whole.value) == str(streamed.value)


def _same_check(path: Path, window: int) -> int:
    """The windowed check of ``path`` (windows of about ``window`` events) reports what the whole one does;
    returns how many windows it took."""
    assert as_json(_streamed(path, window), "t") == as_json(check(load(path)), "t")
    return sum(1 for _ in Windows(path, window))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_windowed_check_of_the_corpus_is_the_whole_check(path, tmp_path):
    small = tmp_path / "small.wgtrace"
    trace = load(path)
    save(trace, small, chunk_events=max(11, len(trace) // 20))
    try:
        assert _same_check(small, len(trace) // 4) > 1
    except NotStreamable:  # a render program: checked whole
        assert as_json(check_file(small), "t") == as_json(check(load(small)), "t")


@pytest.mark.parametrize("source", ["eager", "random", "eager sliced", "random sliced"])
def test_the_windowed_check_of_generated_and_planned_traces_is_the_whole_check(source, tmp_path):
    """Planned under a pool without the fix, a program has hoisted writes (H1), stale reads (H6) and more."""
    path = _pieces_file(tmp_path / "pieces.wgtrace", 12_000) if source.startswith("eager") else tmp_path / "r.wgtrace"
    trace = load(path) if source.startswith("eager") else random_program.generate(6_000, seed=2)
    if source.endswith("sliced"):
        trace = plan(trace, "sliced", "max-tasks:3").trace
    save(trace, path, chunk_events=SMALL_CHUNKS)
    assert check(load(path)).findings or source == "random"
    assert _same_check(path, 1500) >= 3


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_windowed_simulation_of_the_corpus_is_the_whole_one(path, tmp_path):
    trace = load(path, partial=True)
    small = tmp_path / "small.wgtrace"
    save(trace, small, chunk_events=max(11, len(trace) // 20))
    whole = simulate(Plan.as_recorded(load(small))).to_dict()
    try:
        assert simulated(small, DEFAULT_COSTS, False, len(trace) // 4)[0].to_dict() == whole
    except NotStreamable:  # a render program: simulated whole
        assert has_render(trace)


@pytest.mark.parametrize("source", ["eager", "random sliced"])
@pytest.mark.parametrize("device", ["h100", "lavapipe"])
def test_the_windowed_simulation_of_generated_and_planned_traces_is_the_whole_one(source, device, tmp_path):
    """Also under lavapipe's costs, which price the commands a finish or a submit takes in (a window never cuts
    between them: every encoder is submitted at a cut)."""
    costs = DEFAULT_COSTS if device == "h100" else for_adapter("llvmpipe")
    assert costs["submit_per_command"] > 0 or device == "h100"
    path = tmp_path / "t.wgtrace"
    trace = eager_loop.generate(20_000) if source == "eager" else random_program.generate(6_000, seed=2)
    if source.endswith("sliced"):
        trace = plan(trace, "sliced", "max-tasks:3").trace  # pages, staging buffers and their lifetimes
    save(trace, path, chunk_events=SMALL_CHUNKS)
    whole = simulate(Plan.as_recorded(load(path)), costs).to_dict()
    assert simulated(path, costs, False, 3000)[0].to_dict() == whole


def test_wgtrace_sim_prints_what_it_printed_before_streaming(tmp_path):
    """The default policies plan the recording as it is, so the windowed metrics are the planned ones."""
    path = _pieces_file(tmp_path / "pieces.wgtrace", 12_000)
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "sim", str(path), "--json"], capture_output=True,
                         text=True, check=True)
    planned = simulate(plan(load(path), "as-recorded", "as-recorded")).to_dict()
    assert json.loads(out.stdout) == {"trace": str(path), **json.loads(json.dumps(planned))}
