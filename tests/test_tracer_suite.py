"""A whole pytest suite recorded: every test keeps its outcome, and the trace validates.

The suite (tests/wgpu_suite, files ``suite_*.py`` that the main run does not collect) uses wgpu in
many ways: two devices, a render pass into a texture, expected validation errors, async mapping,
threads, a skip and an expected failure.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from wgtrace.traces import Kind, load

ROOT = Path(__file__).resolve().parents[1]
SUITE = ["-m", "pytest", "tests/wgpu_suite", "-q", "-rA", "-p", "no:cacheprovider", "-o", "python_files=suite_*.py"]
OUTCOMES = ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS")


def outcomes(out: subprocess.CompletedProcess) -> tuple[int, str, list[str]]:
    """Exit code, the summary line without its time, and each test's outcome line (-rA lists them all)."""
    lines = out.stdout.splitlines()
    summary = re.sub(r" in [0-9.]+s.*", "", lines[-1])
    return out.returncode, summary, sorted(line for line in lines if line.startswith(OUTCOMES))


def test_suite_outcomes_unchanged_and_trace_valid(tmp_path):
    plain = subprocess.run([sys.executable, *SUITE], capture_output=True, text=True, cwd=ROOT)
    trace_path = tmp_path / "suite.wgtrace"
    recorded = subprocess.run([sys.executable, "-m", "wgtrace.traces", "record", "-o", str(trace_path), "--",
                               "python", *SUITE], capture_output=True, text=True, cwd=ROOT)
    assert outcomes(recorded) == outcomes(plain)
    code, summary, tests = outcomes(plain)
    assert (code, summary, len(tests)) == (0, "11 passed, 1 skipped, 1 xfailed", 13), plain.stdout
    trace = load(trace_path)
    assert trace.end["exit_code"] == 0
    assert trace.count_kind(Kind.DEVICE) >= 3 and trace.count_kind(Kind.DISPATCH_INDIRECT) == 1
    notes = {trace.event(int(i))["name"] for i in trace.where(Kind.OPAQUE)}
    assert notes == {"GPUDevice.create_buffer raised", "GPUDevice.create_shader_module raised",
                     "GPUQueue.write_buffer raised"}
    assert [trace.count_kind(k) for k in (Kind.RENDER_PASS_BEGIN, Kind.DRAW, Kind.COPY_TEXTURE_TO_BUFFER)] == [1, 1, 1]
    maps = trace.args[trace.where(Kind.MAP)]
    assert len(maps) == 3 and set(maps[:, 1].tolist()) == {1}
