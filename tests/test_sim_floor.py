"""The memory floor and the offline greedy-by-size planner: TFLite's published cases, their invariants on random
lifetimes, and their place in every plan's metrics and in ``wgtrace sim`` / ``compare``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim import plan, simulate
from wgtrace.sim.metrics.floor import Lifetimes, floor_of, greedy_by_size, peak_live_bytes
from wgtrace.sim.policies import pool_names
from wgtrace.sim.synthetic import build, random_ops
from wgtrace.traces import load
from wgtrace.traces.cli import main

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"


def lifetimes(records: list[tuple[int, int, int]]) -> Lifetimes:
    """Lifetimes from TFLite's usage records: (size, first task, last task)."""
    size, first, last = (np.array(column, dtype=np.int64) for column in zip(*records, strict=True))
    return Lifetimes(size, first, last)


# tensorflow/lite/delegates/gpu/common/memory_management_test.cc, "ComplexRecords" and "ChainRecords"
COMPLEX = [(32, 0, 1), (32, 1, 4), (8, 2, 5), (16, 3, 5), (8, 4, 5), (64, 5, 7), (8, 6, 8), (8, 7, 8), (16, 8, 9)]
CHAIN = [(16, 0, 1), (8, 1, 2), (64, 2, 3), (32, 3, 4), (8, 4, 5)]


def test_greedy_by_size_matches_tflites_published_offsets():
    life = lifetimes(COMPLEX)
    offsets, total = greedy_by_size(life)
    assert offsets.tolist() == [0, 32, 80, 64, 88, 0, 64, 72, 0]
    assert total == 96 and int(life.size.sum()) == 192, "96 bytes where a buffer per tensor (naive) needs 192"
    assert peak_live_bytes(life) == 96, "here greedy by size reaches the floor: tensors 2-5 are live at once at task 5"
    assert greedy_by_size(lifetimes(CHAIN))[0].tolist() == [0, 64, 0, 64, 0]
    assert greedy_by_size(lifetimes(CHAIN))[1] == 96
    # "OffsetAssignmentWithAlignment": base addresses aligned to 128 bytes
    offsets, total = greedy_by_size(lifetimes(CHAIN), alignment=128)
    assert offsets.tolist() == [0, 128, 0, 128, 0] and total == 160


records = st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 40), st.integers(0, 12)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(records, st.sampled_from([1, 4, 32, 256]))
def test_greedy_offsets_never_overlap_in_time_and_space_and_stay_between_floor_and_naive(drawn, alignment):
    life = lifetimes([(s, f, f + d) for s, f, d in drawn]) if drawn else Lifetimes(*(np.zeros(0, np.int64),) * 3)
    offsets, total = greedy_by_size(life, alignment)
    assert (offsets % alignment == 0).all()
    for i in range(len(offsets)):
        for j in range(i):
            at_once = life.first[i] <= life.last[j] and life.first[j] <= life.last[i]
            disjoint = offsets[i] + life.size[i] <= offsets[j] or offsets[j] + life.size[j] <= offsets[i]
            assert not at_once or disjoint, (i, j)
    naive = int((-(-life.size // alignment) * alignment).sum())
    assert peak_live_bytes(life) <= total <= naive
    assert total == int((offsets + life.size).max(initial=0))


def policies_of_every_pool() -> list[tuple[str, str]]:
    passes = ["as-recorded", "batched", "max-tasks:16/staging-copy"]
    return [(pool, passes[k % len(passes)]) for k, pool in enumerate(pool_names())]


@pytest.mark.parametrize("name", ["mlp_train", "fastplotlib_figure", "prefix_sum"])
def test_every_plan_of_a_trace_reports_the_same_floor_and_reserves_at_least_it(name):
    trace = load(CORPUS / f"{name}.wgtrace")
    metrics = [simulate(plan(trace, pool, passes)) for pool, passes in policies_of_every_pool()]
    floor = floor_of(trace)
    assert {(m.floor_bytes, m.offline_peak_bytes) for m in metrics} == {(floor.floor_bytes, floor.offline_bytes)}
    assert floor.floor_bytes <= floor.offline_bytes
    for m in metrics:
        assert m.floor_bytes <= m.peak_in_use_bytes <= m.peak_reserved_bytes, (m.pool, m.passes)


def test_the_floor_frees_at_last_use_where_the_program_holds_on():
    """fastplotlib's figure keeps its buffers to the end; a pool gives them back after their last use, and so
    does the floor. mlp_train destroys every buffer it is done with: its exclusive plan sits on the floor."""
    figure = load(CORPUS / "fastplotlib_figure.wgtrace")
    held = simulate(plan(figure, "exclusive", "as-recorded"))
    assert held.peak_in_use_bytes > held.floor_bytes
    mlp = simulate(plan(load(CORPUS / "mlp_train.wgtrace"), "exclusive", "as-recorded"))
    assert mlp.peak_reserved_bytes == mlp.peak_in_use_bytes == mlp.floor_bytes


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_random_programs_reserve_no_less_than_their_floor_under_any_policy(seed):
    trace = build(random_ops(np.random.default_rng(seed), 50), data="digest")
    for pool, passes in policies_of_every_pool():
        m = simulate(plan(trace, pool, passes))
        assert m.floor_bytes <= m.peak_in_use_bytes <= m.peak_reserved_bytes and m.floor_bytes <= m.offline_peak_bytes


def test_sim_and_compare_show_the_floor_and_each_peak_over_it(capsys):
    path = str(CORPUS / "mlp_train.wgtrace")
    assert main(["sim", path, "--pool", "sliced", "--pass", "batched"]) == 0
    text = capsys.readouterr().out
    floor = floor_of(load(path))
    assert "memory floor           115.3 KiB" in text and "offline planner        128.7 KiB (1.12x the floor)" in text
    assert "peak reserved          16.0 MiB (142.08x the floor)" in text
    assert main(["sim", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["floor_bytes"], out["offline_peak_bytes"]) == (floor.floor_bytes, floor.offline_bytes)
    assert main(["compare", path, "--pools", "exclusive", "sliced", "--passes", "batched"]) == 0
    table = capsys.readouterr().out
    assert "memory floor 115.3 KiB, offline greedy-by-size planner 128.7 KiB (1.12x)" in table
    assert "x floor" in table and "142.08x" in table and "1.00x" in table
