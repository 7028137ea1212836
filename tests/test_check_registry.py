"""The rule registry: rules found by module, ordered by number, ids unique, documented, and open to plug-ins."""

from __future__ import annotations

import importlib
import json
import pkgutil
import xml.etree.ElementTree as ET

import pytest

from wgtrace.sim.check import check
from wgtrace.sim.check import rules as rules_package
from wgtrace.sim.check.report import json as json_report
from wgtrace.sim.check.report import junit, sarif, text
from wgtrace.sim.check.rule import ERROR, HEADINGS, WARNING, DuplicateRule, Registry, Rule
from wgtrace.sim.check.rules import RULES
from wgtrace.traces import Kind
from wgtrace.traces.cli import main

from test_check_rules import kernel_then_write

DOC = """A test rule.

What it finds
    Every queue write.

Why it matters
    It lets a test see a plug-in's findings.

An example
    device.queue.write_buffer(x, 0, data)
"""


def fake(rule_id: str, severity=ERROR, doc: str | None = DOC) -> Rule:
    """A rule that flags every write_buffer."""
    def find(f):
        return [rule.finding(i, f.site(i), f.call(i), f"{f.call(i)} at {f.site(i)} is a write")
                for i in f.of(Kind.WRITE_BUFFER).tolist()]
    rule = Rule(rule_id, "every write", severity, find, doc)
    return rule


@pytest.fixture
def h99():
    """H99 registered for one test, then taken out again."""
    before = list(RULES)
    rule = RULES.add(fake("H99"))
    yield rule
    RULES.remove("H99")
    assert list(RULES) == before


def test_the_rules_in_id_order():
    assert [r.id for r in RULES] == ["H1", "H2", "H3", "H4", "H5", "H6"]
    assert RULES.span() == "H1-H6"


def test_order_is_by_number_not_by_text():
    registry = Registry([fake("H10"), fake("H9"), fake("H2")])
    assert [r.id for r in registry] == ["H2", "H9", "H10"]
    assert registry.span() == "H2-H10"


def test_a_duplicate_id_is_rejected_naming_both():
    registry = Registry([fake("H7")])
    with pytest.raises(DuplicateRule) as e:
        registry.add(fake("H7"))
    assert str(e.value).count("test_check_registry.fake.<locals>.find") == 2
    assert [r.id for r in registry] == ["H7"]


def test_discovery_rejects_two_modules_with_one_id(tmp_path, monkeypatch):
    package = tmp_path / "two_rules"
    package.mkdir()
    (package / "__init__.py").write_text("")
    rule = ("from test_check_registry import DOC\nfrom wgtrace.sim.check.rule import ERROR, Rule\n\n\n"
            "def find(f):\n    return []\n\n\nRULE = Rule('H7', 'twin', ERROR, find, DOC)\n")
    (package / "a_first.py").write_text(rule)
    (package / "b_second.py").write_text(rule)
    (package / "words.py").write_text("SHARED = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DuplicateRule, match=r"two_rules\.a_first\.find and by two_rules\.b_second\.find"):
        Registry.discover("two_rules", [str(package)])


def test_every_rule_module_holds_one_documented_rule():
    modules = [m.name for m in pkgutil.iter_modules(rules_package.__path__)]
    rule_modules = [m for m in modules if m[0] == "h" and m[1].isdigit()]
    assert sorted(set(modules) - set(rule_modules)) == ["words"]
    for name in rule_modules:
        rule = importlib.import_module(f"{rules_package.__name__}.{name}").RULE
        assert rule is RULES[rule.id]
        assert name.split("_")[0] == rule.id.lower()
        assert rule.severity in (ERROR, WARNING) and rule.title and "\n" not in rule.title
        assert list(rule.sections) == list(HEADINGS) and all(rule.sections.values())
        assert rule.find.__module__ == f"{rules_package.__name__}.{name}"
    assert len(rule_modules) == len(RULES)


def test_what_other_code_reads_instead_of_ids():
    assert [r.id for r in RULES if r.breaks_order] == ["H1"]
    assert [r.id for r in RULES if r.validation] == ["H2", "H3", "H4", "H5"]
    assert all(r.severity == ERROR for r in RULES if r.validation)


def test_a_rule_needs_its_documentation():
    with pytest.raises(ValueError, match="Why it matters"):
        fake("H7", doc=DOC.replace("Why it matters", "Why"))
    with pytest.raises(ValueError, match="H7"):
        fake("H7", doc=None)
    with pytest.raises(ValueError, match="letters then a number"):
        fake("7H")


def test_a_finding_takes_id_and_severity_from_its_rule():
    finding = fake("H8", severity=WARNING).finding(3, "app.py:1", "write_buffer", "a write", buffer=0, lo=0, hi=4)
    assert (finding.rule, finding.severity, finding.event, finding.hi) == ("H8", WARNING, 3, 4)


def test_cli_help_names_the_registered_rules(h99, capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "Check every rule H1-H99 over the whole plan." in capsys.readouterr().out


def test_a_plug_in_rule_reaches_results_and_every_report(h99):
    result = check(kernel_then_write(submit_first=True))
    assert result.of("H1") == [] and not result.ok
    found = result.of("H99")
    assert [f.site for f in found] == ["app.py:4", "app.py:5", "app.py:88"]
    assert "error H99 every write: write_buffer at app.py:88 is a write" in text.text(result, "t")
    doc = json.loads(json_report.as_json(result, "t"))
    assert doc["rules"][-1] == {"id": "H99", "name": "every write", "severity": "error", "findings": 3}
    case = ET.fromstring(junit.junit(result, "t")).findall("./testsuite/testcase")[-1]
    assert case.get("name") == "H99 every write" and case.find("failure") is not None
    run = json.loads(sarif.sarif(result, "t"))["runs"][0]
    assert run["tool"]["driver"]["rules"][-1]["fullDescription"] == {"text": "Every queue write."}
    assert {r["ruleId"] for r in run["results"]} == {"H99"}
