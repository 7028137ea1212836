"""Per-binding access of a compute entry point, read from its WGSL source.

A pipeline made with ``layout="auto"`` has no layout to ask, so the access of each binding
(uniform, read-only storage, read-write storage) comes from the module's declarations:
``@group(g) @binding(b) var<uniform>``, ``var<storage, read>``, ``var<storage>`` (read) and
``var<storage, read_write>``; textures and samplers get ``Access.NONE``. Only the bindings the
entry point can reach count, as wgpu's own auto layout does: the globals named in the entry
function or in any function it calls, transitively. Names are matched as identifiers, so a local
that shadows a global makes the binding count too; that errs on the safe side (more access,
never less). When the entry point cannot be found, every declared binding counts.
"""

from __future__ import annotations

import re

from ..traces.schema import Access

Binding = tuple[int, int]

_BLOCK_COMMENT = re.compile(r"/\*(?:(?!/\*|\*/).)*\*/", re.S)
_LINE_COMMENT = re.compile(r"//[^\n]*")
_VAR = re.compile(r"\bvar\b\s*(?:<([^>]*)>)?\s*(\w+)")
_GROUP = re.compile(r"@\s*group\s*\(\s*(\d+)[iu]?\s*\)")
_BINDING = re.compile(r"@\s*binding\s*\(\s*(\d+)[iu]?\s*\)")
_FN = re.compile(r"\bfn\s+(\w+)\s*\(")
_COMPUTE = re.compile(r"@\s*compute\b")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def strip_comments(code: str) -> str:
    """WGSL without comments (block comments nest, so strip innermost first)."""
    prev = None
    while prev != code:
        prev, code = code, _BLOCK_COMMENT.sub(" ", code)
    return _LINE_COMMENT.sub("", code)


def declared(code: str) -> dict[str, tuple[Binding, Access]]:
    """Resource variables at module scope: name -> ((group, binding), access)."""
    out = {}
    for m in _VAR.finditer(code):
        template, name = m.group(1), m.group(2)
        attrs = _attributes(code, m.start())
        group, binding = _GROUP.search(attrs), _BINDING.search(attrs)
        if group is None or binding is None:
            continue
        out[name] = ((int(group.group(1)), int(binding.group(1))), _access(template))
    return out


def _access(template: str | None) -> Access:
    if template is None:
        return Access.NONE
    parts = [p.strip() for p in template.split(",")]
    if parts[0] == "uniform":
        return Access.UNIFORM
    if parts[0] == "storage":
        mode = parts[1] if len(parts) > 1 else "read"
        return Access.READ_ONLY_STORAGE if mode == "read" else Access.STORAGE
    return Access.NONE


def functions(code: str) -> dict[str, tuple[bool, str]]:
    """Function name -> (is a compute entry point, body text)."""
    out = {}
    for m in _FN.finditer(code):
        params_end = _matching(code, m.end() - 1, "(", ")")
        open_brace = code.find("{", params_end)
        if params_end < 0 or open_brace < 0:
            continue
        close = _matching(code, open_brace, "{", "}")
        body = code[open_brace : close if close >= 0 else len(code)]
        out[m.group(1)] = (bool(_COMPUTE.search(_attributes(code, m.start()))), body)
    return out


def _attributes(code: str, start: int) -> str:
    """The text since the previous ``;``, ``{`` or ``}``: the attributes of what starts at ``start``."""
    return code[max(code.rfind(";", 0, start), code.rfind("{", 0, start), code.rfind("}", 0, start)) + 1 : start]


def _matching(code: str, start: int, opening: str, closing: str) -> int:
    """Index of the bracket closing the one at ``start``; -1 when unbalanced."""
    depth = 0
    for i in range(start, len(code)):
        c = code[i]
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i
    return -1


def entry_points(code: str) -> list[str]:
    """Names of the compute entry points, in source order."""
    return [name for name, (compute, _) in functions(strip_comments(code)).items() if compute]


def accesses(code: str, entry_point: str | None) -> dict[Binding, Access]:
    """(group, binding) -> access for every binding the entry point uses.

    ``entry_point=None`` picks the module's only compute entry point, as WebGPU does.
    """
    code = strip_comments(code)
    variables = declared(code)
    funcs = functions(code)
    if entry_point is None:
        computes = [name for name, (compute, _) in funcs.items() if compute]
        entry_point = computes[0] if len(computes) == 1 else None
    if entry_point not in funcs:
        return dict(variables.values())
    seen, todo, used = {entry_point}, [entry_point], {}
    while todo:
        for ident in set(_IDENT.findall(funcs[todo.pop()][1])):
            if ident in variables:
                binding, access = variables[ident]
                used[binding] = access
            elif ident in funcs and ident not in seen:
                seen.add(ident)
                todo.append(ident)
    return used
