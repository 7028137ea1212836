"""``wgtrace --help`` lists policies and rules from ``sim/names.py``: the tables equal the registries, and the help
imports no policy class, rule module, reader or writer (issue 14's start-up target)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wgtrace.sim.check.rules import RULES
from wgtrace.sim.names import PASS_NAMES, POOL_NAMES, RULE_IDS
from wgtrace.sim.policies import pass_names, pool_names
from wgtrace.traces.cli import main

HEAVY = ("wgtrace.sim.policies", "wgtrace.sim.check.rules", "wgtrace.sim.footprint", "wgtrace.sim.planner",
         "wgtrace.traces.reader", "wgtrace.traces.writer")


def test_the_tables_are_the_registries_names():
    assert POOL_NAMES == tuple(pool_names())
    assert PASS_NAMES == tuple(pass_names())
    assert RULE_IDS == tuple(r.id for r in RULES)


@pytest.mark.parametrize("argv", [["--help"], ["sim", "--help"], ["check", "--help"], ["sweep", "--help"]])
def test_help_imports_none_of_what_it_names(argv):
    code = ("import sys, json, contextlib, io\n"
            "from wgtrace.traces.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(sys.argv[1:])\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('wgtrace.'))))\n")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert [m for m in loaded if m.startswith(HEAVY)] == []
    assert "wgtrace.sim.names" in loaded


def test_the_help_lists_every_name(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "10000")  # no wrapping: argparse breaks names at their hyphens
    with pytest.raises(SystemExit):
        main(["sim", "--help"])
    out = capsys.readouterr().out
    assert "one of " + ", ".join(pool_names()) + "\n" in out
    assert "one of " + ", ".join(pass_names()) + "\n" in out
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "Check every rule H1-H6 over the whole plan." in capsys.readouterr().out
