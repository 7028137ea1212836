"""A check result as JUnit XML: one test case per rule, so CI dashboards show which rule failed.

Error-severity findings fail their rule's test case; warnings leave it passing and are listed in
its output. The proof goes in the case of the rule it rests on (the one whose findings break
program order). Events the checker could not model (``coverage``), where there are any, get a case
of their own after the rules' that lists them, and fails under ``strict``. No timestamps or
durations, so the file is byte-identical for the same input. Every attribute and text goes through
``xml_text``: characters XML 1.0 forbids (a label's escape sequence) are written as ``\x1b``, so the file
stays well formed whatever the trace holds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ....traces.safe_text import xml_text
from ..driver import CheckResult
from ..rule import ERROR

UNMODELLED = "events the checker cannot model"


def junit(result: CheckResult, name: str, strict: bool = False) -> str:
    failed = [r for r in result.rules if r.severity == ERROR and result.of(r.id)]
    tests, failures = len(result.rules) + bool(result.unmodelled), len(failed) + bool(strict and result.unmodelled)
    counts = {"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": "wgtrace check", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": f"wgtrace check {name}", **counts, "time": "0"})
    props = ET.SubElement(suite, "properties")
    for key, value in (("trace", name), ("pool", result.pool), ("passes", result.passes)):
        ET.SubElement(props, "property", {"name": key, "value": value})
    for r in result.rules:
        case = ET.SubElement(suite, "testcase", {"classname": "wgtrace.check", "name": f"{r.id} {r.title}",
                                                 "time": "0"})
        found = result.of(r.id)
        body = "\n".join(f"event {x.event} at {x.site}: {x.message}" for x in found)
        if found and r.severity == ERROR:
            failure = ET.SubElement(case, "failure", {"type": r.id, "message": f"{len(found)} {r.title} hazard(s): "
                                                                               f"{found[0].message}"})
            failure.text = body
        elif found:
            ET.SubElement(case, "system-out").text = f"{len(found)} warning(s)\n{body}"
        elif r.breaks_order:
            ET.SubElement(case, "system-out").text = result.proof()
    if result.unmodelled:
        _unmodelled(ET.SubElement(suite, "testcase", {"classname": "wgtrace.check", "name": UNMODELLED, "time": "0"}),
                    result, strict)
    _clean(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _clean(root: ET.Element) -> None:
    """Every attribute value and text of the tree in characters XML 1.0 allows."""
    for element in root.iter():
        element.attrib.update({k: xml_text(v) for k, v in element.attrib.items()})
        if element.text:
            element.text = xml_text(element.text)


def _unmodelled(case: ET.Element, result: CheckResult, strict: bool) -> None:
    """The case of the unmodelled events: one line per name; a failure under ``strict``."""
    summary = (f"not proven: {result.unmodelled_events} event(s) the checker cannot model may touch GPU memory: "
               f"{', '.join(u.name for u in result.unmodelled)}")
    body = "\n".join(f"{u.name}: {u.count} event(s), first at {u.first_site} (event {u.first_event})"
                     for u in result.unmodelled)
    if strict:
        ET.SubElement(case, "failure", {"type": "unmodelled", "message": f"{summary} (--strict)"}).text = body
    else:
        ET.SubElement(case, "system-out").text = f"{summary}\n{body}"
