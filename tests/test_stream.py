"""Traces larger than memory: validation chunk by chunk agrees with ``load``; a generator's pieces make one trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wgtrace import traces as traces_package
from wgtrace.sim.workloads import eager_loop
from wgtrace.traces import Kind, TraceError, load, save
from wgtrace.traces.stream import save_pieces, validate_file

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
    save(trace, small, chunk_events=7)  # a window of 7 events: objects and layouts come from earlier windows
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
