"""``wgtrace check``: exit codes, the four output formats, planning first, and bad input in one line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from wgtrace.sim.synthetic import build
from wgtrace.traces import save
from wgtrace.traces.cli import main

from test_check_rules import kernel_then_write


@pytest.fixture
def traces(tmp_path):
    hazard, clean = tmp_path / "hazard.wgtrace", tmp_path / "clean.wgtrace"
    save(kernel_then_write(submit_first=False), hazard)
    save(kernel_then_write(submit_first=True), clean)
    return hazard, clean


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exit_codes_and_text(traces, capsys):
    hazard, clean = traces
    code, out, _ = run(capsys, hazard)
    assert code == 1
    assert ("error H1 hoisted write: write_buffer at app.py:88 lands before dispatch `matmul` at app.py:80, which "
            "still reads bytes 0-4095 of the same storage") in out
    assert "HAZARDS FOUND. Not proven" in out
    code, out, _ = run(capsys, clean)
    assert code == 0
    assert out.splitlines()[-1].startswith("clean. Proven for this plan: 3 queue writes")


def test_json_is_the_whole_result(traces, capsys):
    code, out, _ = run(capsys, traces[0], "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["errors"] == 1
    (f,) = doc["findings"]
    assert (f["rule"], f["event"], f["site"], f["other_site"], f["lo"], f["hi"]) == ("H1", f["event"], "app.py:88",
                                                                                    "app.py:80", 0, 4096)
    assert [r["id"] for r in doc["rules"]] == ["H1", "H2", "H3", "H4", "H5", "H6"]


def test_junit_has_one_case_per_rule(traces, tmp_path, capsys):
    path = tmp_path / "check.xml"
    run(capsys, traces[0], "--junit", path)
    cases = ET.parse(path).getroot().findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["H1 hoisted write", "H2 usage-scope conflict",
                                              "H3 destroy while pending", "H4 encoder state", "H5 limits",
                                              "H6 stale read"]
    assert [c.find("failure") is not None for c in cases] == [True] + [False] * 5
    assert "app.py:88" in cases[0].find("failure").get("message")


def test_sarif_points_at_the_programs_lines(traces, tmp_path, capsys):
    path = tmp_path / "check.sarif"
    run(capsys, traces[0], "--sarif", path)
    doc = json.loads(path.read_text())
    assert doc["version"] == "2.1.0"
    (sarif_run,) = doc["runs"]
    assert [r["id"] for r in sarif_run["tool"]["driver"]["rules"]] == ["H1", "H2", "H3", "H4", "H5", "H6"]
    (result,) = sarif_run["results"]
    assert (result["ruleId"], result["level"]) == ("H1", "error")
    where = result["locations"][0]["physicalLocation"]
    assert where == {"artifactLocation": {"uri": "app.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 88}}
    assert result["relatedLocations"][0]["physicalLocation"]["region"] == {"startLine": 80}


def test_output_is_deterministic(traces, tmp_path, capsys):
    outputs = []
    for k in range(2):
        run(capsys, traces[0], "--sarif", tmp_path / f"{k}.sarif", "--junit", tmp_path / f"{k}.xml")
        outputs.append([run(capsys, traces[0], "--json")[1], (tmp_path / f"{k}.sarif").read_text(),
                        (tmp_path / f"{k}.xml").read_text()])
    assert outputs[0] == outputs[1]


def test_plans_under_a_policy_first(tmp_path, capsys):
    """A kernel reads A; A is freed; B takes its storage and is uploaded while the kernel is pending."""
    ops = [("alloc", 16), ("write", 0), ("alloc", 16), ("dispatch", (0,), 1, -1), ("free", 0), ("alloc", 16),
           ("write", 2), ("read", 1)]
    path = tmp_path / "reuse.wgtrace"
    save(build(ops, data="digest"), path)
    assert run(capsys, path)[0] == 0
    code, out, _ = run(capsys, path, "--pool", "exclusive-pages", "--pass", "batched/write-buffer")
    assert code == 1
    assert "(pool exclusive-pages, passes batched" in out
    assert "write_buffer at program.py:7 lands before dispatch `main` at program.py:4" in out
    assert run(capsys, path, "--pool", "exclusive-pages+fix", "--pass", "batched/write-buffer")[0] == 0


@pytest.mark.parametrize("argv", [
    ["missing.wgtrace"],
    ["not-a-trace.wgtrace"],
    ["{clean}", "--pool", "no-such-pool"],
    ["{clean}", "--pass", "no-such-pass"],
    ["{clean}", "--junit", "/nonexistent/dir/out.xml"],
])
def test_bad_input_is_one_line_and_exit_2(argv, traces, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-trace.wgtrace").write_bytes(b"hello")
    code, out, err = run(capsys, *[a.format(clean=traces[1]) for a in argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("wgtrace check: error: ")
