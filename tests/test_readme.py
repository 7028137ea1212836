"""The README's Python example runs as written (on a corpus trace) and says what it claims."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_python_example_runs(capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Using it from Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code[1].replace('"app.wgtrace"', repr(str(ROOT / "traces" / "corpus" / "mlp_train_hazard.wgtrace")))
    scope: dict = {}
    exec(compile(source, "README.md", "exec"), scope)
    assert scope["result"].proven and capsys.readouterr().out == ""  # the fix and staged uploads: no finding
    assert scope["metrics"].to_dict() and scope["pool"].spec == "sliced+fix" and scope["passes"].spec == "batched"
