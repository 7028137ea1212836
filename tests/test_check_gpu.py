"""The checker on real programs: small wgpu-py programs recorded by the tracer on the machine's adapter.

Kernel A doubles X into Y; then the program refills X with ``queue.write_buffer`` and submits. Written
in that order the write lands first and A doubles the new data: the GPU shows it, and the checker
must flag the write's own line. Submitting before the write is clean. The committed corpus is
checked too: only its hazard recording has errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from wgtrace.sim.check import check
from wgtrace.tracer import recording
from wgtrace.traces import load

from gpu_program import STORAGE, begin_double, request_device

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"


def here() -> int:
    """The caller's line number."""
    return sys._getframe(1).f_lineno


def double_then_refill(submit_first: bool) -> tuple[np.ndarray, int, int]:
    """Returns what the kernel wrote, and the lines of the dispatch and of the refill."""
    device = request_device()
    x = device.create_buffer_with_data(data=np.arange(64, dtype=np.uint32), usage=STORAGE)
    y = device.create_buffer(size=256, usage=STORAGE)
    encoder, compute = begin_double(device, x, y)
    dispatch_line = here() + 1
    compute.dispatch_workgroups(1)
    compute.end()
    if submit_first:
        device.queue.submit([encoder.finish()])
    write_line = here() + 1
    device.queue.write_buffer(x, 0, np.full(64, 1000, dtype=np.uint32))
    if not submit_first:
        device.queue.submit([encoder.finish()])
    out = np.frombuffer(device.queue.read_buffer(y), dtype=np.uint32).copy()
    return out, dispatch_line, write_line


@pytest.mark.parametrize("submit_first", [False, True])
def test_recorded_program_is_flagged_exactly_when_the_gpu_shows_the_hazard(tmp_path, submit_first):
    path = tmp_path / "double.wgtrace"
    with recording(path):
        out, dispatch_line, write_line = double_then_refill(submit_first)
    result = check(load(path))
    if submit_first:
        assert out[5] == 10  # the kernel saw X as it was at the dispatch
        assert result.findings == [] and result.stats["queue_writes"] == 1
    else:
        assert out[5] == 2000  # the refill landed before the kernel ran
        (f,) = result.findings
        assert f.rule == "H1"
        assert f.site.endswith(f"test_check_gpu.py:{write_line}")
        assert f.other_site.endswith(f"test_check_gpu.py:{dispatch_line}")
        assert f.other_call == "dispatch `double`" and (f.lo, f.hi) == (0, 256)


def test_committed_corpus_only_the_hazard_recording_has_errors():
    paths = sorted(CORPUS.glob("*.wgtrace"))
    assert paths, "the corpus is empty"
    for path in paths:
        result = check(load(path))
        assert result.ok != ("hazard" in path.name), (path.name, [f.message for f in result.errors[:3]])
    hazard = check(load(CORPUS / "mlp_train_hazard.wgtrace"))
    assert {f.rule for f in hazard.findings} == {"H1"}
    assert all(f.other_call == "dispatch `matmul`" for f in hazard.findings)
