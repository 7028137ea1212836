"""``wgtrace info`` and ``wgtrace validate`` on hand-made traces, good and bad."""

from __future__ import annotations

import json
import subprocess
import sys

from test_traces_format import sample_bytes


def wgtrace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wgtrace.traces", *args], capture_output=True, text=True)


def test_info_reports_counts(tmp_path):
    path = tmp_path / "app.wgtrace"
    path.write_bytes(sample_bytes())
    out = wgtrace("info", str(path), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["events"] == 17 and info["buffers"] == 3 and info["dispatches"] == 1
    assert info["queue_writes"] == 1 and info["bytes_written"] == 64 and info["submits"] == 1
    assert info["counts"]["bind_group"] == 1 and info["buffer_bytes"] == 256 + 512 + 768
    text = wgtrace("info", str(path))
    assert text.returncode == 0 and "dispatches" in text.stdout and "complete" in text.stdout


def test_validate_accepts_good_and_names_the_place_of_bad(tmp_path):
    good = tmp_path / "good.wgtrace"
    good.write_bytes(sample_bytes())
    assert wgtrace("validate", str(good)).returncode == 0
    cut = tmp_path / "cut.wgtrace"
    cut.write_bytes(sample_bytes()[:-40])
    out = wgtrace("validate", str(cut))
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "cut short at byte" in out.stderr
    assert wgtrace("validate", "--partial", str(cut)).returncode == 0
    info = wgtrace("info", str(cut))
    assert info.returncode == 0 and "CUT SHORT" in info.stdout


def test_missing_and_garbage_files_exit_2(tmp_path):
    out = wgtrace("info", str(tmp_path / "nope.wgtrace"))
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr
    junk = tmp_path / "junk.wgtrace"
    junk.write_bytes(b"hello world")
    out = wgtrace("validate", str(junk))
    assert out.returncode == 2 and "not a wgtrace file" in out.stderr
