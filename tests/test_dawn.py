"""Two WebGPU implementations (issue 18): the corpus replayed on wgpu-native and Dawn side by side, a
recording made on Dawn, and the truth harness on both. Dawn runs in child processes (a process holds one
implementation); the tests skip, saying why, where the dawn extra or its Vulkan driver is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wgtrace.replay.errors import classify
from wgtrace.tracer.backends import ICD_ENV, select, unusable
from wgtrace.traces import Kind, TraceBuilder, TraceError, load, make_header, save
from wgtrace.traces.errors import InputError
from wgtrace.traces.validate import validate_header

ROOT = Path(__file__).parent.parent
CORPUS = sorted((ROOT / "traces" / "corpus").glob("*.wgtrace"))
BOTH = ["--backend", "wgpu-native", "--backend", "dawn"]
# what only Dawn refuses: Tint requires @interpolate(flat) on integer vertex outputs, Naga does not
DAWN_REFUSES = {"fastplotlib_figure": "dawn refuses event 18 (shader_module at examples/fastplotlib_figure.py:49) as "
                                      "an error no rule of the checker covers (validation error: Error while parsing "
                                      "WGSL: :216:18 error: integral user-defined vertex outputs must have a "
                                      "'@interpolate(flat)' attribute"}
HAZARDS = {"frame_loop_hazard"}  # read-backs that diverge from the reference, on both alike

needs_dawn = pytest.mark.skipif(bool(unusable("dawn")), reason=f"Dawn: {unusable('dawn')}")


def wgtrace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wgtrace.traces", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"})


@needs_dawn
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_corpus_replays_alike_on_both_implementations(path):
    out = wgtrace("replay", str(path), *BOTH, "--json")
    assert out.returncode in (0, 1), out.stderr
    [result] = json.loads(out.stdout)
    sides = result["implementations"]
    assert sorted(sides) == ["dawn", "wgpu-native"]
    assert sides["wgpu-native"]["adapter"].endswith("wgpu-native 0.32.0")
    assert sides["dawn"]["adapter"].endswith("dawn 0.32.0.4")
    if path.stem in DAWN_REFUSES:
        [difference] = result["differences"]
        assert difference.startswith(DAWN_REFUSES[path.stem]) and difference.endswith("; wgpu-native runs it")
        assert out.returncode == 1
        return
    assert result["differences"] == []
    assert sides["dawn"]["read_digests"] == sides["wgpu-native"]["read_digests"]
    assert len(sides["dawn"]["read_digests"]) == sides["dawn"]["reads"]["checked"] > 0
    hazard = path.stem in HAZARDS
    assert [s["ok"] for s in sides.values()] == [not hazard] * 2 and out.returncode == int(hazard)
    if hazard:
        assert sides["dawn"]["divergences"] == sides["wgpu-native"]["divergences"] != []


@needs_dawn
def test_the_side_by_side_text_names_each_implementation_and_the_sameness():
    out = wgtrace("replay", str(ROOT / "traces" / "corpus" / "nbody.wgtrace"), *BOTH)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("on wgpu-native and dawn")
    assert lines[2].split()[:3] == ["wgpu-native", "0.32.0", "OK"]
    assert lines[3].split()[:3] == ["dawn", "0.32.0.4", "OK"]
    assert lines[-1] == "same     verdicts, errors and 1 read-backs (byte for byte)"


@needs_dawn
def test_a_recording_made_on_dawn_says_so_and_replays_alike_on_both(tmp_path):
    trace = tmp_path / "nbody.wgtrace"
    out = wgtrace("record", "--backend", "dawn", "-o", str(trace), "--", "python", "examples/nbody.py")
    assert out.returncode == 0, out.stderr
    assert load(trace).header["implementation"] == {"name": "dawn", "version": "0.32.0.4"}
    assert "webgpu        dawn 0.32.0.4\n" in wgtrace("info", str(trace)).stdout
    out = wgtrace("replay", str(trace), *BOTH, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["differences"] == []


@needs_dawn
def test_a_write_buffer_error_on_dawn_is_reported_not_a_crash(tmp_path):
    """wgpudawn's write_buffer leaves a buffer export in its frame; the engine must not keep those frames
    (with them, the garbage collector crashed the replay: a segfault after the report)."""
    b = TraceBuilder(make_header(program=["hand-made"]))
    b.add(Kind.DEVICE, "app.py:1", device=0, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, "app.py:2", buffer=0, size=64, usage=140)
    b.add(Kind.BUFFER_DESTROY, "app.py:3", buffer=0)
    b.add(Kind.WRITE_BUFFER, "app.py:4", buffer=0, offset=0, size=64)
    save(b.build(), tmp_path / "t.wgtrace")
    out = wgtrace("replay", str(tmp_path / "t.wgtrace"), *BOTH, "--json")
    assert out.returncode == 1, out.stderr
    [result] = json.loads(out.stdout)
    assert result["differences"] == []
    for name, side in result["implementations"].items():
        e = side["error"]
        assert (e["event"], e["site"], classify(e["error"], e["message"], name)) == (3, "app.py:4", "H3")


@needs_dawn
def test_dawn_is_asked_about_a_submit_that_wgpu_native_would_abort_on(tmp_path):
    """A buffer destroyed between encoding and submit: wgpu-native aborts the process, so replay refuses the
    submit beforehand; Dawn reports a validation error, so replay makes the call. The same rule either way."""
    b = TraceBuilder(make_header(program=["hand-made"]))
    b.add(Kind.DEVICE, "app.py:1", device=0, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, "app.py:2", buffer=0, size=256, usage=12)
    b.add(Kind.BUFFER_CREATE, "app.py:3", buffer=1, size=256, usage=12)
    b.add(Kind.ENCODER_CREATE, "app.py:4", encoder=0)
    b.add(Kind.COPY, "app.py:5", encoder=0, src=0, dst=1, size=256)
    b.add(Kind.ENCODER_FINISH, "app.py:6", encoder=0)
    b.add(Kind.BUFFER_DESTROY, "app.py:7", buffer=0)
    b.add(Kind.SUBMIT, "app.py:8", rows=[(0,)])
    save(b.build(), tmp_path / "t.wgtrace")
    out = wgtrace("replay", str(tmp_path / "t.wgtrace"), *BOTH, "--json")
    [result] = json.loads(out.stdout)
    errors = {name: side["error"] for name, side in result["implementations"].items()}
    assert errors["wgpu-native"]["error"] == "refused" and errors["dawn"]["error"] == "validation error"
    assert {name: (e["event"], classify(e["error"], e["message"], name)) for name, e in errors.items()} == {
        "wgpu-native": (7, "H3"), "dawn": (7, "H3")}
    assert result["differences"] == [] and out.returncode == 1


@needs_dawn
def test_the_truth_harness_agrees_with_the_gpu_on_each_implementation():
    out = wgtrace("truth", "3", *BOTH, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for name, table in result["implementations"].items():
        assert table["all_agree"] and table["cases"] == 3 * 13, name
    assert any("device error H2" in k for k in result["implementations"]["dawn"]["counts"])
    assert result["between_implementations"] == []


def test_a_process_that_imported_wgpu_cannot_switch_implementation():
    import wgpu  # noqa: F401  (the test process runs wgpu-native)

    select("wgpu-native")
    with pytest.raises(InputError, match="already imported as wgpu-native"):
        select("dawn")


def test_the_header_names_the_implementation_and_older_traces_load_without_it():
    validate_header(make_header(implementation={"name": "dawn", "version": "0.32.0.4"}), "t")
    validate_header(make_header(), "t")  # traces from before the field
    with pytest.raises(TraceError, match="header field 'implementation'"):
        validate_header(make_header(implementation="dawn"), "t")


def test_an_implementation_that_cannot_run_is_bad_input_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "replay", str(CORPUS[0]), *BOTH], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env={**os.environ, ICD_ENV: str(tmp_path / "no")})
    assert out.returncode == 2 and out.stdout == ""
    reason = f"${ICD_ENV} names {tmp_path / 'no'}, which is no file"
    assert out.stderr == f"wgtrace replay: error: --backend dawn: {reason}\n"


@needs_dawn
def test_the_pytest_plugin_runs_the_tests_on_dawn(tmp_path):
    (tmp_path / "test_app.py").write_text(
        "import wgpu\n\n\ndef test_app():\n"
        "    assert type(wgpu.gpu).__module__.startswith('wgpudawn')\n"
        "    device = wgpu.gpu.request_adapter_sync().request_device_sync()\n"
        "    b = device.create_buffer(size=64, usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.COPY_SRC)\n"
        "    device.queue.write_buffer(b, 0, bytes(range(64)))\n"
        "    assert bytes(device.queue.read_buffer(b)) == bytes(range(64))\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--wgpu-backend", "dawn",
                          "--wgpu-hazards", "test_app.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
