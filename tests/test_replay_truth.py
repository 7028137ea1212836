"""The checker against the real GPU: random programs diverge exactly where the checker reports H1,
and the device rejects exactly the plans the checker reports errors for (see replay/truth.py)."""

from __future__ import annotations

import numpy as np

from wgtrace.replay.errors import classify
from wgtrace.replay.truth import POLICIES, agreement_lines, gpu_valid, observable, run_cases
from wgtrace.sim import synthetic
from wgtrace.traces.cli import main


def test_truth_table_agrees_on_hundreds_of_cases(engine):
    table = run_cases(engine, 25, seed=0)
    assert len(table.cases) == 25 * len(POLICIES) + 25
    assert table.agree, "\n".join(agreement_lines(table))
    outcomes = {(c.h1, c.diverged) for c in table.cases if not c.device_error}
    assert outcomes == {(True, True), (False, False)}
    assert any(c.device_error for c in table.cases)


def test_truth_table_agrees_on_render_programs_too(engine):
    """Kernels drawn in render passes (their fragments mix what they read, copied out of the target)."""
    table = run_cases(engine, 25, seed=1, p_draw=0.5)
    assert table.agree, "\n".join(agreement_lines(table))
    outcomes = {(c.h1, c.diverged) for c in table.cases if not c.device_error}
    assert outcomes == {(True, True), (False, False)}
    drawn = [synthetic.random_ops(np.random.default_rng([1, case]), 40, p_draw=0.5) for case in range(25)]
    assert sum(op[0] == "draw" for ops in drawn for op in ops) >= 25


def test_observable_programs_fold_every_overwritten_value_into_the_sink():
    ops = observable(synthetic.random_ops(np.random.default_rng(3), 60))
    n_allocs = sum(op[0] in ("alloc", "uniform") for op in ops)
    freed = {op[1] for op in ops if op[0] == "free"}
    read_at_end = {op[1] for op in ops[len(ops) - (n_allocs - len(freed)):]}
    assert read_at_end == set(range(n_allocs)) - freed
    assert ops == gpu_valid(ops)


def test_device_errors_are_named_by_rule():
    def rule(message: str) -> str:
        return classify("validation error", message, "wgpu-native")

    assert rule("Attempted to use Buffer with '' label with conflicting usages.") == "H2"
    assert rule("Buffer offset 4 does not respect device's requested `min_storage_buffer_offset_alignment`") == "H5"
    assert rule("something else entirely") == "?"


def test_truth_command_prints_the_table(capsys):
    assert main(["truth", "2", "--ops", "20"]) == 0
    out = capsys.readouterr().out
    assert "checker and GPU agree on" in out and "100.00 %" in out
