"""What a check covers: never a proof over nothing, nor over calls the checker cannot model.

Hand-written traces (``App``, as in test_check_rules.py) with opaque events, a real recording of a
wgpu program that draws into a texture, ``wgtrace check --strict`` and the plugin's
``--wgpu-hazards-strict``.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import wgpu

from wgtrace.sim.check import check
from wgtrace.sim.check.coverage import Unmodelled, may_touch_memory, unmodelled
from wgtrace.tracer import recording
from wgtrace.traces import Kind, load, save
from wgtrace.traces.cli import main
from wgtrace.traces.schema import KIND_NAMES

from gpu_program import double, request_device
from test_check_rules import RO, RW, App, kernel_then_write
from test_traces_v11 import render_program

pytest_plugins = ["pytester"]
HERE = Path(__file__).resolve().parent
RENDER_PASS, TEXTURE, DRAW = "GPUCommandEncoder.begin_render_pass", "GPUDevice.create_texture", \
    "GPURenderPassEncoder.draw"


def opaque(app: App, name: str, line: int) -> int:
    return app.add(Kind.OPAQUE, line, name=name, device=0)


def render_app(raised_only: bool = False) -> App:
    """A dispatch, two queue writes and a read, amid render calls (or only notes of calls that raised)."""
    app = App()
    x, y = app.buffer(256), app.buffer(256)
    app.write(x, 0, 256)
    app.write(y, 0, 256)
    k = app.pipeline(RO, RW, label="double")
    if raised_only:
        opaque(app, f"{TEXTURE} raised", 12)
    else:
        opaque(app, TEXTURE, 12)
        opaque(app, "GPUQueue.write_texture raised", 14)
    enc = app.encoder()
    app.dispatch(enc, k, (x, 0, 256, RO), (y, 0, 256, RW), line=20)
    if not raised_only:
        for line in (30, 40):
            opaque(app, RENDER_PASS, line)
            opaque(app, DRAW, line + 1)
            opaque(app, DRAW, line + 2)
    app.submit(enc)
    app.read(y, 0, 256, line=50)
    return app


def cli(capsys, *argv) -> tuple[int, str]:
    code = main(["check", *map(str, argv)])
    return code, capsys.readouterr().out


def test_only_a_call_that_raised_is_known_not_to_touch_memory():
    assert not may_touch_memory("GPUQueue.write_texture raised")
    assert may_touch_memory("GPUQueue.write_texture") and may_touch_memory("GPUDevice.create_sampler")


def test_unmodelled_events_by_name_with_counts_and_first_site():
    t = render_app().trace()
    first = {name: int(next(i for i in t.where(Kind.OPAQUE) if t.strings[t.args[i, 0]] == name))
             for name in (RENDER_PASS, TEXTURE, DRAW)}
    assert first == {RENDER_PASS: 16, TEXTURE: 7, DRAW: 17}  # the event numbers the tests below print
    assert unmodelled(t) == [Unmodelled(RENDER_PASS, 2, first[RENDER_PASS], "app.py:30"),
                             Unmodelled(TEXTURE, 1, first[TEXTURE], "app.py:12"),
                             Unmodelled(DRAW, 4, first[DRAW], "app.py:31")]


def test_unmodelled_events_make_the_verdict_not_proven():
    result = check(render_app().trace())
    assert result.ok and not result.findings and not result.proven
    assert result.unmodelled_events == 7 and result.verdict == "not proven"
    assert result.proof() == (
        "Checked 1 command, 2 queue writes, 0 mapped writes and 1 host read (the writes and reads each against every "
        "command still pending when issued: 0 commands, 0 reorderings) and found no conflict among them; not proven: "
        "7 events the checker cannot model may touch GPU memory: GPUCommandEncoder.begin_render_pass (2, first at "
        "app.py:30), GPUDevice.create_texture (1, first at app.py:12), GPURenderPassEncoder.draw (4, first at "
        "app.py:31).")
    assert result.accepted() and not result.accepted(strict=True)


def test_text_names_each_unmodelled_call_and_never_says_proven(tmp_path, capsys):
    path = tmp_path / "render.wgtrace"
    save(render_app().trace(), path)
    code, out = cli(capsys, path)
    assert code == 0
    assert "Proven" not in out and "clean" not in out
    lines = out.splitlines()
    assert lines[1:4] == [
        "unmodelled GPUCommandEncoder.begin_render_pass: 2 events the checker cannot model, first at app.py:30 "
        "(event 16)",
        "unmodelled GPUDevice.create_texture: 1 event the checker cannot model, first at app.py:12 (event 7)",
        "unmodelled GPURenderPassEncoder.draw: 4 events the checker cannot model, first at app.py:31 (event 17)",
    ]
    assert lines[-1].startswith("not proven. Checked 1 command, 2 queue writes")
    code, strict = cli(capsys, path, "--strict")
    assert (code, strict) == (1, out)
    code, out = cli(capsys, path, "--limit", "1")
    assert "  ... and 2 more unmodelled calls (--limit, or --json for all)" in out


def test_strict_is_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--strict" in out and "not proven" in out


def test_json_has_the_coverage(tmp_path, capsys):
    path = tmp_path / "render.wgtrace"
    save(render_app().trace(), path)
    code, out = cli(capsys, path, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["proven"] is False
    assert doc["unmodelled"] == [
        {"name": RENDER_PASS, "count": 2, "first_event": 16, "first_site": "app.py:30"},
        {"name": TEXTURE, "count": 1, "first_event": 7, "first_site": "app.py:12"},
        {"name": DRAW, "count": 4, "first_event": 17, "first_site": "app.py:31"},
    ]
    assert doc["stats"]["commands"] == 1 and doc["stats"]["queue_writes"] == 2 and doc["stats"]["host_reads"] == 1
    clean = tmp_path / "clean.wgtrace"
    save(kernel_then_write(submit_first=True), clean)
    doc = json.loads(cli(capsys, clean, "--json")[1])
    assert doc["proven"] is True and doc["unmodelled"] == []


@pytest.mark.parametrize("strict", [False, True])
def test_junit_and_sarif_note_the_unmodelled_calls(strict, tmp_path, capsys):
    path = tmp_path / "render.wgtrace"
    save(render_app().trace(), path)
    flags = ["--strict"] if strict else []
    code, _ = cli(capsys, path, "--junit", tmp_path / "c.xml", "--sarif", tmp_path / "c.sarif", *flags)
    assert code == int(strict)
    suite = ET.parse(tmp_path / "c.xml").getroot().find("testsuite")
    assert suite.get("tests") == "7" and suite.get("failures") == str(int(strict))
    case = suite.findall("testcase")[-1]
    assert case.get("name") == "events the checker cannot model"
    note = case.find("failure" if strict else "system-out")
    assert note is not None and "GPUDevice.create_texture: 1 event(s), first at app.py:12 (event 7)" in note.text
    assert "not proven" in suite.findall("testcase")[0].find("system-out").text
    (run,) = json.loads((tmp_path / "c.sarif").read_text())["runs"]
    assert run["tool"]["driver"]["rules"][-1]["id"] == "unmodelled"
    assert run["properties"]["unmodelled_events"] == 7 and "not proven" in run["properties"]["proof"]
    results = run["results"]
    assert [r["message"]["text"].split()[0] for r in results] == [RENDER_PASS, TEXTURE, DRAW]
    assert {r["level"] for r in results} == {"error" if strict else "warning"}
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 12}
    assert results[1]["properties"] == {"event": 7, "count": 1}


def test_notes_of_calls_that_raised_leave_the_proof_standing(tmp_path, capsys):
    result = check(render_app(raised_only=True).trace())
    assert result.unmodelled == [] and result.proven and result.verdict == "clean"
    assert result.proof().startswith("Proven for this plan: 2 queue writes, 0 mapped writes and 1 host read")
    path = tmp_path / "raised.wgtrace"
    save(render_app(raised_only=True).trace(), path)
    code, out = cli(capsys, path, "--strict", "--junit", tmp_path / "c.xml")
    assert code == 0 and out.splitlines()[-1].startswith("clean. Proven for this plan")
    assert ET.parse(tmp_path / "c.xml").getroot().get("tests") == "6"


def test_nothing_to_prove_over_is_said_plainly(tmp_path, capsys):
    app = App()
    app.buffer(256)
    result = check(app.trace())
    assert result.checked_nothing and not result.proven and result.ok and result.verdict == "nothing checked"
    assert result.proof() == ("Nothing to prove over: this plan has no commands, queue writes, mapped writes or host "
                              "reads, so no ordering was checked.")
    path = tmp_path / "empty.wgtrace"
    save(app.trace(), path)
    code, out = cli(capsys, path, "--strict")
    assert code == 0 and "Proven" not in out and "clean" not in out
    assert out.splitlines()[-1] == f"nothing checked. {result.proof()}"
    opaque(app, TEXTURE, 7)
    result = check(app.trace())
    assert result.verdict == "not proven"
    assert result.proof() == ("Nothing to prove over: this plan has no commands, queue writes, mapped writes or host "
                              "reads; not proven: 1 event the checker cannot model may touch GPU memory: "
                              "GPUDevice.create_texture (1, first at app.py:7).")


def test_a_hazard_and_unmodelled_calls_are_both_named():
    app = App()
    x, y = app.buffer(4096), app.buffer(4096)
    k = app.pipeline(RO, RW, label="matmul")
    enc = app.encoder()
    app.dispatch(enc, k, (x, 0, 4096, RO), (y, 0, 4096, RW), line=80)
    opaque(app, TEXTURE, 85)
    app.write(x, 0, 4096, line=88)
    app.submit(enc)
    result = check(app.trace())
    assert not result.ok and result.verdict == "HAZARDS FOUND"
    proof = result.proof()
    assert proof.startswith("Not proven: ") and "(H1)" in proof
    assert proof.endswith(" Also, 1 event the checker cannot model may touch GPU memory: GPUDevice.create_texture "
                          "(1, first at app.py:85).")


def test_a_long_list_of_names_is_cut_short_in_the_proof():
    app = App()
    for k in range(12):
        opaque(app, f"GPUThing.call_{k:02d}", 100 + k)
    result = check(app.trace())
    assert len(result.unmodelled) == 12 and [u.name for u in result.unmodelled] == sorted(u.name for u in
                                                                                          result.unmodelled)
    assert result.proof().endswith("GPUThing.call_09 (1, first at app.py:109), and 2 other calls.")


# -- a real recording -------------------------------------------------------------------------------

def draw_into_a_texture(device: wgpu.GPUDevice) -> None:
    """A compute step, then a texture upload and a render pass clearing it: all of it modelled."""
    double(device, np.arange(64, dtype=np.uint32))
    texture = device.create_texture(size=(4, 4, 1), format=wgpu.TextureFormat.rgba8unorm,
                                    usage=wgpu.TextureUsage.COPY_DST | wgpu.TextureUsage.RENDER_ATTACHMENT)
    device.queue.write_texture({"texture": texture}, np.zeros(64, dtype=np.uint8), {"bytes_per_row": 16}, (4, 4, 1))
    encoder = device.create_command_encoder()
    render = encoder.begin_render_pass(color_attachments=[{
        "view": texture.create_view(), "load_op": "clear", "store_op": "store", "clear_value": (0, 0, 0, 1)}])
    render.end()
    device.queue.submit([encoder.finish()])


def line_of(marker: str) -> int:
    return next(k for k, line in enumerate(Path(__file__).read_text().splitlines(), 1) if line.endswith(marker))


def test_a_real_recording_with_a_texture_and_a_render_pass_is_proven(tmp_path, capsys):
    path = tmp_path / "render.wgtrace"
    with recording(path):
        draw_into_a_texture(request_device())
    result = check(load(path))
    assert result.proven and result.unmodelled == [] and result.stats["render_passes"] == 1
    assert result.stats["commands"] == 2 and result.stats["texture_writes"] == 1
    code, out = cli(capsys, path)
    assert code == 0 and "Proven for this plan" in out
    assert cli(capsys, path, "--strict")[0] == 0


def test_a_real_recording_with_a_call_no_kind_models_is_not_proven(tmp_path, capsys):
    path = tmp_path / "destroyed.wgtrace"
    with recording(path):
        device = request_device()
        double(device, np.arange(64, dtype=np.uint32))
        device.destroy()  # DESTROY
    result = check(load(path))
    assert result.ok and not result.proven
    (u,) = result.unmodelled
    assert u.name == "GPUDevice.destroy" and u.first_site.endswith(f"{Path(__file__).name}:{line_of('# DESTROY')}")
    code, out = cli(capsys, path)
    assert code == 0 and "Proven" not in out and "clean" not in out
    assert "not proven: 1 event the checker cannot model may touch GPU memory: GPUDevice.destroy" in out
    assert cli(capsys, path, "--strict")[0] == 1


# -- the pytest plugin ------------------------------------------------------------------------------

PROGRAM = '''
import numpy as np
import wgpu
from gpu_program import double, request_device


def test_compute_only():
    double(request_device(), np.arange(64, dtype=np.uint32))


def test_destroy():
    device = request_device()
    double(device, np.arange(64, dtype=np.uint32))
    device.destroy()
'''
DESTROY_LINE = PROGRAM.lstrip().splitlines().index('    device.destroy()') + 1


@pytest.fixture
def child_finds_gpu_program(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))


def test_plugin_strict_fails_the_test_with_unmodelled_calls(pytester: pytest.Pytester, child_finds_gpu_program):
    pytester.makepyfile(test_gpu=PROGRAM)
    kept = pytester.path / "kept"
    plain = pytester.runpytest_subprocess("--wgpu-hazards", "-p", "no:cacheprovider", "--wgpu-hazards-dir", str(kept))
    plain.assert_outcomes(passed=2)
    strict = pytester.runpytest_subprocess("--wgpu-hazards-strict", "-p", "no:cacheprovider",
                                           "--wgpu-hazards-dir", str(kept))
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines([
        "*test_destroy*",
        "*wgpu hazards not proven (--wgpu-hazards-strict): 1 call(s) in this test the checker cannot model may "
        "touch GPU memory",
        f"*  GPUDevice.destroy: 1 call(s), first at *test_gpu.py:{DESTROY_LINE}",
        "*trace kept: *kept*test_destroy.wgtrace*wgtrace check --strict*",
    ])
    strict.stdout.no_fnmatch_line("*FAILED*test_compute_only*")
    assert [p.name for p in kept.iterdir()] == ["test_gpu.py__test_destroy.wgtrace"]


def test_every_kind_of_the_format_but_opaque_notes_is_modelled():
    for k in (k for k in Kind if k != Kind.OPAQUE):
        b = App().b
        b.append(int(k), b.string("app.py:3"))
        assert unmodelled(b.build()) == [], KIND_NAMES[k]


def test_a_render_trace_is_checked_whole():
    b = render_program()
    b.add(Kind.BUFFER_CREATE, site="app.py:19", buffer=1, size=256, usage=0x88, device=0)
    b.add(Kind.PASS_BEGIN, site="app.py:20", compute_pass=2, encoder=0)
    b.add(Kind.PASS_END, site="app.py:21", compute_pass=2)
    clear = b.add(Kind.CLEAR, site="app.py:22", encoder=0, buffer=1, offset=0, size=256)
    write = b.add(Kind.WRITE_BUFFER, site="app.py:23", buffer=1, offset=0, size=16)
    b.add(Kind.ENCODER_FINISH, site="app.py:24", encoder=0)
    b.add(Kind.SUBMIT, site="app.py:25", device=0, rows=[(0,)])
    trace = b.build()
    result = check(trace)
    (h1,) = result.of("H1")
    assert (h1.event, h1.other_event) == (write, clear)
    assert result.unmodelled == [] and result.stats["draws"] == 1 and result.stats["render_passes"] == 1
    assert result.stats["queue_writes"] == 2 and result.stats["texture_writes"] == 1
