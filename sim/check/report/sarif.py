"""A check result as SARIF 2.1.0, so code hosts annotate the program's own lines.

Each finding is a result located at its call site ("file:line" from the trace); the earlier
command it conflicts with is a related location. Where the trace has call stacks, the result's
``stacks`` hold the stack of the finding's event and of the other event, innermost frame first.
Paths under ``root`` (the working directory by default) are written relative to it, so a host
resolves them against the repository checkout.
Each name of the events the checker could not model (``coverage``), where there are any, is one
more result, of the extra rule ``unmodelled``, located at its first call: a warning, or an error
under ``strict``.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path

from ..coverage import Unmodelled
from ..driver import CheckResult
from ..rule import ERROR, Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
UNMODELLED = {
    "id": "unmodelled",
    "name": "UnmodelledEvent",
    "shortDescription": {"text": "event the checker cannot model"},
    "fullDescription": {"text": "a call the trace format does not model yet (a render pass, a texture, a query) may "
                                "touch GPU memory the checked operations also touch, so the result is not a proof"},
    "defaultConfiguration": {"level": "warning"},
}


def sarif(result: CheckResult, name: str, root: str | os.PathLike | None = None, strict: bool = False) -> str:
    base = Path(root or os.getcwd()).resolve()
    rules = [{
        "id": r.id,
        "name": "".join(w.capitalize() for w in r.title.replace("-", " ").split()),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.summary},
        "defaultConfiguration": {"level": "error" if r.severity == ERROR else "warning"},
    } for r in result.rules]
    index = {r.id: k for k, r in enumerate(result.rules)}
    results = [_result(x, index[x.rule], name, base) for x in result.findings]
    properties: dict = {"trace": name, "pool": result.pool, "passes": result.passes, "proof": result.proof()}
    if result.unmodelled:
        rules.append(UNMODELLED)
        results += [_unmodelled(u, len(rules) - 1, name, base, strict) for u in result.unmodelled]
        properties["unmodelled_events"] = result.unmodelled_events
    run = {
        "tool": {"driver": {"name": "wgtrace", "version": version("wgtrace"), "rules": rules}},
        "results": results,
        "properties": properties,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _result(x: Finding, rule_index: int, trace_name: str, base: Path) -> dict:
    where = _location(x.site, base) or {"physicalLocation": {"artifactLocation": _artifact(trace_name, base)}}
    out = {
        "ruleId": x.rule,
        "ruleIndex": rule_index,
        "level": "error" if x.severity == ERROR else "warning",
        "message": {"text": x.message},
        "locations": [where],
        "partialFingerprints": {"wgtrace/v1": hashlib.sha256(
            f"{x.rule}|{x.site}|{x.other_site}|{x.call}|{x.other_call}".encode()).hexdigest()[:32]},
        "properties": {"event": x.event, "buffer": x.buffer, "bytes": [x.lo, x.hi] if x.lo is not None else None,
                       "allocations": list(x.allocations), "other_allocations": list(x.other_allocations)},
    }
    other = _location(x.other_site, base) if x.other_site else None
    if other:
        other["id"] = 1
        other["message"] = {"text": f"{x.other_call} (event {x.other_event})"}
        out["relatedLocations"] = [other]
    stacks = [_stack(f"{x.call} (event {x.event})", x.stack, base)] if x.stack else []
    if x.other_stack:
        stacks.append(_stack(f"{x.other_call} (event {x.other_event})", x.other_stack, base))
    if stacks:
        out["stacks"] = stacks
    return out


def _stack(what: str, frames: tuple[str, ...], base: Path) -> dict:
    """A SARIF stack: the frames of one event's call stack, innermost first, each at its "file:line"."""
    out = []
    for frame in frames:
        where = (None if frame.startswith("<") else _location(frame, base)) or {}
        where["message"] = {"text": frame}
        out.append({"location": where})
    return {"message": {"text": f"call stack of {what}"}, "frames": out}


def _unmodelled(u: Unmodelled, rule_index: int, trace_name: str, base: Path, strict: bool) -> dict:
    where = _location(u.first_site, base) or {"physicalLocation": {"artifactLocation": _artifact(trace_name, base)}}
    return {
        "ruleId": UNMODELLED["id"],
        "ruleIndex": rule_index,
        "level": "error" if strict else "warning",
        "message": {"text": f"{u.name} is not modelled by the checker and may touch GPU memory: {u.count} call(s), "
                            f"the first here; the result is not proven"},
        "locations": [where],
        "partialFingerprints": {"wgtrace/v1": hashlib.sha256(
            f"{UNMODELLED['id']}|{u.first_site}|{u.name}".encode()).hexdigest()[:32]},
        "properties": {"event": u.first_event, "count": u.count},
    }


def _location(site: str, base: Path) -> dict | None:
    """A SARIF location for "file:line", or None for an unknown site."""
    path, _, line = site.rpartition(":")
    if not path or not line.isdigit():
        return None
    region = {"startLine": max(int(line), 1)}
    return {"physicalLocation": {"artifactLocation": _artifact(path, base), "region": region}}


def _artifact(path: str, base: Path) -> dict:
    p = Path(path)
    if not p.is_absolute():
        return {"uri": p.as_posix(), "uriBaseId": "%SRCROOT%"}
    try:
        return {"uri": p.resolve().relative_to(base).as_posix(), "uriBaseId": "%SRCROOT%"}
    except ValueError:
        return {"uri": p.as_uri()}
