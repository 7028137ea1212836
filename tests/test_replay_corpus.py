"""Every corpus trace replays under every policy, and the GPU agrees with the checker on each plan.

Small traces run the whole pool x pass grid; the long ones every pool under one safe pass policy
and every pass policy under one safe pool, to stay fast. Divergence is judged only on traces
recorded with full payloads: with digests alone the replay feeds synthetic data (zeros for
uniforms), which exercises every call but not the program's real arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wgtrace.replay.truth import judge, reference_reads
from wgtrace.sim.policies import pass_names, pool_names
from wgtrace.traces import load
from wgtrace.traces.cli import main

CORPUS = sorted((Path(__file__).parent.parent / "traces" / "corpus").glob("*.wgtrace"))
FULL_GRID_EVENTS = 2000


def grid(events: int) -> list[tuple[str, str]]:
    if events <= FULL_GRID_EVENTS:
        return [(pool, passes) for pool in pool_names() for passes in pass_names()]
    return ([(pool, "batched/flush-write") for pool in pool_names()]
            + [("exclusive-pages+fix", passes) for passes in pass_names()])


@pytest.mark.skipif(not CORPUS, reason="no corpus traces recorded yet")
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_policy_replays_and_agrees_with_the_checker(engine, path):
    trace = load(path)
    full = trace.header["capture"]["mode"] == "full"
    reference = reference_reads(engine, trace)
    assert reference is not None
    wrong = []
    for pool, passes in grid(len(trace)):
        case = judge(engine, trace, pool, passes, reference)
        rule = case.device_kind
        errors_agree = (rule is None) == (not case.checker_errors) and (rule is None or rule in case.checker_errors)
        if not errors_agree or (full and not case.agrees):
            wrong.append(f"{pool} {passes}: H1 {case.h1}, diverged {case.diverged}, checker errors "
                         f"{case.checker_errors}, device error {case.device_error}")
    assert not wrong, "\n".join(wrong)


def test_mlp_train_under_sliced_fix_batched_runs_and_reads_what_the_recording_read(capsys):
    """Sub-allocated, batched and with pooled storage bound read-write (#814), the training program
    passes WebGPU validation and every read matches the recording (full data) and the reference."""
    path = Path(__file__).parent.parent / "traces" / "corpus" / "mlp_train_full.wgtrace"
    assert main(["replay", str(path), "--pool", "sliced+fix", "--pass", "batched"]) == 0
    out = capsys.readouterr().out
    assert "verdict  OK" in out and "9 checked: 9 against the recording, 9 against the program-order" in out
