"""Loaded traces hold narrow columns (traces/columns.py): at most 32 bytes per event, read exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from wgtrace.sim.workloads import eager_loop, random_program, render_loop
from wgtrace.traces import Trace, load, save
from wgtrace.traces.columns import Column, Table

COLUMNS = ("kind", "t", "site", "args", "nrows", "rows", "stack", "row_start")


def held(trace: Trace) -> int:
    """Bytes a trace's columns hold, the row starts every consumer computes included."""
    return sum(int(getattr(trace, name).nbytes) for name in COLUMNS if getattr(trace, name) is not None)


@pytest.mark.parametrize("make", [lambda: eager_loop.generate(60_000), lambda: random_program.generate(30_000),
                                  lambda: render_loop.generate(150, 16)], ids=["compute", "random", "render"])
def test_a_loaded_trace_holds_at_most_32_bytes_per_event_and_reads_as_written(tmp_path, make):
    written = make()
    save(written, tmp_path / "t.wgtrace")
    trace = load(tmp_path / "t.wgtrace")
    assert held(trace) / len(trace) <= 32, held(trace) / len(trace)
    for name in ("kind", "t", "site", "args", "nrows", "rows"):
        wide = np.asarray(getattr(trace, name))
        assert wide.dtype == getattr(written, name).dtype and np.array_equal(wide, getattr(written, name)), name
    assert np.array_equal(np.asarray(trace.row_start), written.row_start)


def test_every_form_reads_back_exactly():
    rng = np.random.default_rng(0)
    small = rng.integers(-100, 100, 5000)
    hashes = small.copy()
    hashes[::97] = rng.integers(-(2**62), 2**62, len(hashes[::97]))  # a few wide values among small ones
    times = np.cumsum(rng.integers(0, 3000, 5000))
    spread = np.array([-(2**62) * 3 // 2, 0, 2**62 * 3 // 2])  # non-decreasing, a span past int64
    for values in (small, hashes, times, spread, small.astype(np.int32), np.zeros(0, np.int64)):
        c = Column.of(values)
        assert c.nbytes <= values.nbytes
        assert np.asarray(c).dtype == values.dtype and np.array_equal(np.asarray(c), values)
        if len(values):
            picks = rng.integers(-len(values), len(values), 300)
            assert np.array_equal(c[picks], values[picks])
            assert np.array_equal(c[values > 0], values[values > 0])
            assert np.array_equal(c[17:4000:3], values[17:4000:3])
            at = min(2 * 97, len(values) - 1)  # a patched value, in the hashes
            assert c[-1] == values[-1] and c[at] == values[at] and type(c[0]) is type(values[0])
    assert Column.of(hashes).nbytes < hashes.nbytes / 4  # patched, not widened for the few
    assert Column.of(times).nbytes < times.nbytes / 3  # framed


def test_a_table_reads_rows_columns_and_cells_and_takes_writes():
    rng = np.random.default_rng(1)
    wide = rng.integers(-1, 1000, (400, 6))
    wide[5, 4] = 1 << 60
    table = Table.of(wide)
    assert table.shape == (400, 6) and len(table) == 400
    assert np.array_equal(table[7], wide[7]) and np.array_equal(table[[3, 5, 9]], wide[[3, 5, 9]])
    assert np.array_equal(table[:, 4], wide[:, 4]) and table[5, 4] == 1 << 60
    assert np.array_equal(table[10:20, 1:4], wide[10:20, 1:4]) and np.array_equal(table.copy(), wide)
    assert (table == wide).all() and table.tolist() == wide.tolist()
    table[wide[:, 0] > 500, 2] = -7
    wide[wide[:, 0] > 500, 2] = -7
    assert np.array_equal(np.asarray(table), wide)
