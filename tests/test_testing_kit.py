"""The conformance kit (wgtrace.testing): it passes a sound pool, catches and shrinks a broken one to a
minimal program printed as wgpu-py code that runs, names a policy's own errors and a policy that plans one
program two ways, finds the same program every run, and the README shows what it prints.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from wgtrace.sim.check import check
from wgtrace.sim.synthetic import build
from wgtrace.testing import PolicyHazard, assert_hazard_free, problems, wgpu_source
from wgtrace.tracer import recording
from wgtrace.traces import Kind, load

ROOT = Path(__file__).resolve().parent.parent


def caught(pool: str, passes: str = "batched", **options) -> PolicyHazard:
    with pytest.raises(PolicyHazard) as e:
        assert_hazard_free(pool, passes, **options)
    return e.value


def test_a_sound_pool_passes():
    assert_hazard_free("user_policies:Bucketed+fix", max_examples=40)


def test_a_pool_that_reuses_at_once_is_caught_and_shrunk_to_a_minimal_program():
    hazard = caught("user_policies:Reckless")
    assert [p.split(" at ")[0] for p in hazard.problems] == ["H1 write_buffer"]
    assert len(hazard.ops) <= 8 and all(op[1] == 1 for op in hazard.ops if op[0] == "alloc"), hazard.ops
    assert [op[0] for op in hazard.ops[-2:]] == ["alloc", "write"], "the upload that lands on the freed buffer"
    assert problems(hazard.ops, "user_policies:Reckless", "batched") == hazard.problems
    assert problems(hazard.ops, "user_policies:Bucketed+fix", "batched") == []
    assert caught("user_policies:Reckless").ops == hazard.ops, "derandomized: the same program every run"


def test_the_message_has_the_findings_and_the_program_as_wgpu_py_code_whose_lines_the_findings_name():
    hazard = caught("user_policies:Reckless")
    text = str(hazard)
    assert text.startswith("pool user_policies:Reckless under passes batched: the plan of this")
    site = re.search(r"at (program\.py:\d+)", hazard.problems[0])
    assert site is not None and f"# {site[1]}\n" in hazard.source
    compile(hazard.source, "counterexample.py", "exec")


def test_a_policys_own_errors_and_a_policy_that_plans_twice_differently_fail_the_kit():
    assert "ignored the exclusion" in caught("user_policies:Reckless+fix").problems[0]
    assert "not a multiple of the device's storage offset alignment" in caught("user_policies:Misaligned").problems[0]
    fickle = caught("user_policies:Fickle", max_examples=20)
    assert fickle.problems == ["planning the same program twice gave two plans: the policy is not deterministic"]


def test_the_printed_program_runs_on_the_gpu_and_records_what_build_records(tmp_path):
    ops = [("alloc", 16), ("write", 0), ("uniform",), ("write", 1), ("alloc", 64), ("dispatch", (0,), 2, 1),
           ("alloc", 16), ("draw", (0, 2), 3, -1), ("copy", 3, 0), ("write", 0), ("read", 2), ("free", 1),
           ("submit",), ("alloc", 8), ("copy", 2, 4), ("read", 4)]
    path = tmp_path / "printed.wgtrace"
    with recording(path):
        exec(compile(wgpu_source(ops), "printed.py", "exec"), {"__name__": "printed"})
    recorded, built = load(path), build(ops, data="digest")
    for kind in (Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.DISPATCH, Kind.DRAW, Kind.COPY, Kind.SUBMIT,
                 Kind.QUEUE_READ, Kind.RENDER_PASS_BEGIN, Kind.COPY_TEXTURE_TO_BUFFER):
        assert recorded.count_kind(kind) == built.count_kind(kind), kind.name
    assert check(recorded).ok and check(built).ok


def test_the_readme_shows_the_three_line_test_and_what_the_kit_prints(monkeypatch):
    """The README's unsafe pool (as mypools.py) and its three-line test, run as written: the kit prints what
    the README shows (its "..." lines stand for lines left out)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Bring your own policy"):readme.index("### Memory")]
    pool_code, test_code = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len([line for line in test_code.splitlines() if line.strip()]) == 3
    module = types.ModuleType("mypools")
    monkeypatch.setitem(sys.modules, "mypools", module)
    exec(compile(pool_code, "mypools.py", "exec"), module.__dict__)
    scope: dict = {}
    exec(compile(test_code, "test_mypools.py", "exec"), scope)
    with pytest.raises(PolicyHazard) as e:
        scope["test_reckless_is_hazard_free"]()
    shown = re.search(r"```\n(pool mypools:Reckless.*?)```", section, re.S)
    assert shown is not None
    printed = str(e.value).splitlines()
    at = 0
    for line in shown[1].splitlines():
        if line.strip() == "...":
            continue
        assert line in printed[at:], f"README shows {line!r}, which the kit does not print (there)"
        at = printed.index(line, at) + 1
