"""A check result as JSON for tools: everything the result holds, keys sorted, so it is byte-identical."""

from __future__ import annotations

import json

from ..driver import CheckResult


def as_json(result: CheckResult, name: str) -> str:
    return json.dumps({"trace": name, **result.as_dict()}, indent=2, sort_keys=True) + "\n"
