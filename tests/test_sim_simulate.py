"""Metrics, the cost model and the ``sim`` / ``compare`` commands: deterministic, and bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from wgtrace.sim import plan
from wgtrace.sim.metrics import DEFAULT, Costs, load_costs, memory, predict, simulate
from wgtrace.sim.metrics.cost import DEFAULT_FILE
from wgtrace.sim.synthetic import build, random_ops
from wgtrace.traces import Kind, save
from wgtrace.traces.cli import main

POLICIES = [("exclusive", "as-recorded"), ("sliced+fix", "batched"), ("size-class", "max-tasks:16/staging-copy"),
            ("sliced-pr56+fix-range", "pass-per-dispatch/flush-write"), ("exclusive-pages+fix", "max-tasks")]


def trace_of(seed: int = 3, n_ops: int = 80):
    return build(random_ops(np.random.default_rng(seed), n_ops), data="digest")


@pytest.fixture
def trace_file(tmp_path):
    path = tmp_path / "program.wgtrace"
    save(trace_of(), path)
    return str(path)


def run_cli(*args: str, hash_seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run([sys.executable, "-c", "import sys; from wgtrace.traces.cli import main; sys.exit(main())",
                           *args], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(("pool", "passes"), POLICIES)
def test_same_trace_same_policies_give_byte_identical_plans_and_metrics(pool, passes, tmp_path):
    trace = trace_of()
    outputs = []
    for _ in range(2):
        trace._cache.clear()
        p = plan(trace, pool, passes)
        save(p.trace, tmp_path / "plan.wgtrace")
        metrics = json.dumps(simulate(p).to_dict(), sort_keys=True)
        outputs.append(((tmp_path / "plan.wgtrace").read_bytes(), p.origin.tobytes(), metrics))
    assert outputs[0] == outputs[1]


def test_compare_json_is_byte_identical_across_processes(trace_file):
    args = ["compare", trace_file, "--pools", "sliced+fix", "size-class", "--passes", "batched", "max-tasks:16",
            "--json"]
    first, second = run_cli(*args, hash_seed="1"), run_cli(*args, hash_seed="2")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    rows = json.loads(first.stdout)["traces"][0]["rows"]
    assert [(r["pool"], r["passes"]) for r in rows] == [
        ("sliced+fix", "batched"), ("sliced+fix", "max-tasks:16"), ("size-class", "batched"),
        ("size-class", "max-tasks:16")]


def test_memory_of_the_recorded_plan_is_the_programs_own_buffers():
    trace = trace_of()
    p = plan(trace)
    reserved, in_use = memory(p)
    assert np.array_equal(reserved, in_use), "a buffer per allocation: nothing reserved beyond what is in use"
    m = simulate(p)
    assert m.fragmentation_at_peak == 0.0 and m.mean_fragmentation == 0.0
    assert m.buffers_created == trace.count_kind(Kind.BUFFER_CREATE)
    assert m.dispatches == trace.count_kind(Kind.DISPATCH)
    assert m.peak_in_use_bytes == m.peak_reserved_bytes
    assert len(m.series["reserved"]) == len(m.series["event"]) <= 64


def test_pools_reserve_pages_and_batching_saves_passes():
    trace = trace_of()
    exclusive = simulate(plan(trace, "exclusive", "pass-per-dispatch"))
    sliced = simulate(plan(trace, "sliced", "batched"))
    assert sliced.buffers_created < exclusive.buffers_created
    # a pooled allocation the program never destroys gives its slice back after its last use
    assert sliced.peak_reserved_bytes >= exclusive.peak_in_use_bytes >= sliced.peak_in_use_bytes
    assert sliced.passes_begun < exclusive.passes_begun
    staged = simulate(plan(trace, "sliced", "batched/staging-copy"))
    assert staged.queue_writes == 0 and staged.staged_bytes == sliced.bytes_written


def test_cost_model_prices_every_call_and_reads_measured_parameters():
    trace = trace_of()
    cost = predict(trace)
    counts = trace.counts()
    assert cost["dispatch"] == pytest.approx(counts["dispatch"] * DEFAULT["dispatch"], abs=1e-3)  # rounded to 1e-3 us
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"))
    doubled = Costs.from_json(json.dumps({"dispatch": 2 * DEFAULT["dispatch"], "unknown_field": 1, "source": "test"}))
    assert doubled.source == "test"
    assert predict(trace, doubled)["dispatch"] == pytest.approx(2 * cost["dispatch"], abs=2e-3)
    assert predict(trace, doubled)["submit"] == 0  # a file stands alone: a term it does not give costs nothing


def test_the_default_costs_are_a_file_with_their_source():
    assert DEFAULT == load_costs(DEFAULT_FILE) and DEFAULT.source.startswith("calibrated on NVIDIA H100")
    assert DEFAULT.calibration is not None and DEFAULT.calibration["driver"] and DEFAULT["encoder_finish"] > 0


def test_sim_prints_text_and_json(trace_file, capsys):
    assert main(["sim", trace_file, "--pool", "sliced+fix-range", "--pass", "max-tasks:16"]) == 0
    text = capsys.readouterr().out
    assert "peak reserved" in text and "sliced+fix-range" in text
    assert main(["sim", trace_file, "--pool", "sliced", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pool"] == "sliced" and out["passes"] == "as-recorded" and out["trace"] == trace_file


def test_compare_prints_a_table_of_every_combination(trace_file, capsys):
    assert main(["compare", trace_file, "--pools", "exclusive", "sliced+fix", "--passes", "batched",
                 "max-tasks:8"]) == 0
    out = capsys.readouterr().out
    assert out.count("sliced+fix") == 2 and out.count("max-tasks:8") == 2


@pytest.mark.parametrize("args", [
    ["sim", "TRACE", "--pool", "slicedd"],
    ["sim", "TRACE", "--pass", "max-tasks:0"],
    ["sim", "TRACE", "--pass", "as-recorded/staging-copy"],
    ["compare", "TRACE", "--pools", "sliced+fx"],
    ["compare", "TRACE", "--passes", "batchd"],
    ["sim", "/nonexistent.wgtrace"],
    ["sim", "TRACE", "--costs", "/nonexistent.json"],
])
def test_bad_input_is_one_line_and_exit_2(args, trace_file):
    result = run_cli(*[trace_file if a == "TRACE" else a for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wgtrace {args[0]}: error: ")
    assert "Traceback" not in result.stderr


def test_a_malformed_costs_file_is_bad_input(trace_file, tmp_path):
    bad = tmp_path / "costs.json"
    bad.write_text("[1, 2]")
    result = run_cli("sim", trace_file, "--costs", str(bad))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_compare_runs_every_combination_on_every_corpus_trace(capsys):
    from pathlib import Path

    from wgtrace.sim.policies import pass_names, pool_names

    corpus = sorted(str(p) for p in (Path(__file__).parent.parent / "traces" / "corpus").glob("*.wgtrace"))
    assert len(corpus) >= 5
    assert main(["compare", *corpus, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [t["trace"] for t in result["traces"]] == corpus
    for t in result["traces"]:
        assert len(t["rows"]) == len(pool_names()) * len(pass_names())
        assert all("error" not in row for row in t["rows"]), [row for row in t["rows"] if "error" in row][:1]
