"""The checker on real render programs (render_hazards.py), recorded by the tracer on the machine's adapter.

Each hazard program writes what a recorded draw (or dispatch) reads, its uniform, vertex buffer or
texture, after recording the command and before submitting it. The GPU shows the write: the frame
read back differs from what program order draws. The checker must say so, as an H1 finding at the
program's ``# HAZARD`` line whose other site is its ``# OVERTAKEN`` line. Each safe twin submits
first: the GPU draws what program order draws, the checker finds no H1, and with every event
modelled, the clean result is a proof.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from wgtrace.sim.check import check
from wgtrace.tracer import recording
from wgtrace.traces import load

from render_hazards import HAZARDS, PROGRAMS, SAFE


def site(path: str, line: int | None) -> str:
    """"file:line" as the recorder writes it: relative to the working directory where under it."""
    cwd = os.getcwd() + os.sep
    return f"{path[len(cwd):] if path.startswith(cwd) else path}:{line}"


def record(tmp_path, device, name: str):
    path = tmp_path / f"{name}.wgtrace"
    with recording(path):
        out = PROGRAMS[name](device)
    return out, check(load(path))


def texels(frame: np.ndarray) -> str:
    """A frame in a few words: its distinct pixels, or its first and last where it has many."""
    distinct = np.unique(frame.reshape(-1, 4), axis=0)
    if len(distinct) <= 3:
        return "/".join(str(tuple(int(c) for c in p)) for p in distinct)
    flat = frame.reshape(-1, 4)
    return f"{tuple(int(c) for c in flat[0])} .. {tuple(int(c) for c in flat[-1])}"


def divergence(out: dict) -> str:
    return "; ".join(f"frame {k}: GPU {texels(g)}, program order {texels(p)}"
                     for k, (g, p) in enumerate(zip(out["frames"], out["program_order"], strict=True)))


def verdict(result) -> str:
    found = "; ".join(f"{f.rule} at {f.site} (other {f.other_site}): {f.message}" for f in result.findings[:5])
    unmodelled = [u.describe() for u in result.unmodelled]
    return f"check says {result.verdict!r}; findings: [{found}]; unmodelled: {unmodelled}"


@pytest.mark.parametrize("name", HAZARDS)
def test_a_hoisted_write_the_gpu_shows_is_flagged_at_its_line(tmp_path, device, name):
    out, result = record(tmp_path, device, name)
    diverged = [not np.array_equal(g, p) for g, p in zip(out["frames"], out["program_order"], strict=True)]
    assert all(diverged), f"the GPU did not diverge: {divergence(out)}"
    hazard, overtaken = site(out["file"], out["hazard_line"]), site(out["file"], out["overtaken_line"])
    h1 = [f for f in result.findings if f.rule == "H1"]
    assert any(f.site == hazard and f.other_site == overtaken for f in h1), (
        f"expected H1 at {hazard} overtaking {overtaken}. {divergence(out)}. {verdict(result)}")
    assert {f.rule for f in result.findings} == {"H1"} and result.unmodelled == [], verdict(result)
    assert all(f.other_call.startswith(("draw `", "dispatch `")) for f in h1), verdict(result)
    assert not result.proven, f"{divergence(out)}. {verdict(result)}"


@pytest.mark.parametrize("name", SAFE)
def test_a_write_after_submit_is_clean_and_proven(tmp_path, device, name):
    out, result = record(tmp_path, device, name)
    for k, (g, p) in enumerate(zip(out["frames"], out["program_order"], strict=True)):
        assert np.array_equal(g, p), f"frame {k} differs from program order: {divergence(out)}"
    assert [f for f in result.findings if f.rule == "H1"] == [], f"{divergence(out)}. {verdict(result)}"
    assert result.unmodelled == [], verdict(result)
    assert result.proven, verdict(result)
