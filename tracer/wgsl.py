"""Per-binding access of an entry point (compute, vertex or fragment), read from its WGSL source.

A pipeline made with ``layout="auto"`` has no layout to ask, so the access of each binding comes
from the module's declarations: ``@group(g) @binding(b) var<uniform>``, ``var<storage, read>``,
``var<storage>`` (read) and ``var<storage, read_write>`` for buffers; a variable of a
``texture_*`` type (``texture_2d<f32>``, ``texture_depth_2d``, ``texture_multisampled_2d<f32>``,
...) is a sampled texture, ``texture_storage_*<format, access>`` a storage texture of that access
(``read``, ``write``, ``read_write``; write when not given), ``sampler`` and
``sampler_comparison`` a sampler; any other type gets ``Access.NONE``. Only the bindings the entry
point can reach count, as wgpu's own auto layout does: the globals named in the entry function or
in any function it calls, transitively. Names are matched as identifiers, so a local that shadows
a global makes the binding count too; that errs on the safe side (more access, never less). When
the entry point cannot be found, every declared binding counts.
"""

from __future__ import annotations

import re

from ..traces.schema import Access

Binding = tuple[int, int]

_BLOCK_COMMENT = re.compile(r"/\*(?:(?!/\*|\*/).)*\*/", re.S)
_LINE_COMMENT = re.compile(r"//[^\n]*")
_VAR = re.compile(r"\bvar\b\s*(?:<([^>]*)>)?\s*(\w+)\s*(?::\s*([A-Za-z_]\w*)\s*(?:<([^<>;]*)>)?)?")
_GROUP = re.compile(r"@\s*group\s*\(\s*(\d+)[iu]?\s*\)")
_BINDING = re.compile(r"@\s*binding\s*\(\s*(\d+)[iu]?\s*\)")
_FN = re.compile(r"\bfn\s+(\w+)\s*\(")
_STAGE = re.compile(r"@\s*(compute|vertex|fragment)\b")
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
        template, name, type_name, type_args = m.groups()
        attrs = _attributes(code, m.start())
        group, binding = _GROUP.search(attrs), _BINDING.search(attrs)
        if group is None or binding is None:
            continue
        access = _access(template) if template is not None else _resource_access(type_name, type_args)
        out[name] = ((int(group.group(1)), int(binding.group(1))), access)
    return out


_STORAGE_TEXTURE = {"read": Access.READ_ONLY_STORAGE_TEXTURE, "write": Access.WRITE_ONLY_STORAGE_TEXTURE,
                    "read_write": Access.READ_WRITE_STORAGE_TEXTURE}


def _resource_access(type_name: str | None, type_args: str | None) -> Access:
    """The access of a handle variable (no address space): a texture, storage texture or sampler."""
    if type_name is None:
        return Access.NONE
    if type_name.startswith("texture_storage_"):
        parts = [p.strip() for p in (type_args or "").split(",")]
        return _STORAGE_TEXTURE.get(parts[1] if len(parts) > 1 else "write", Access.NONE)
    if type_name.startswith("texture_"):
        return Access.SAMPLED_TEXTURE
    if type_name in ("sampler", "sampler_comparison"):
        return Access.SAMPLER
    return Access.NONE


def _access(template: str) -> Access:
    parts = [p.strip() for p in template.split(",")]
    if parts[0] == "uniform":
        return Access.UNIFORM
    if parts[0] == "storage":
        mode = parts[1] if len(parts) > 1 else "read"
        return Access.READ_ONLY_STORAGE if mode == "read" else Access.STORAGE
    return Access.NONE


def functions(code: str) -> dict[str, tuple[str | None, str]]:
    """Function name -> (its stage, "compute", "vertex" or "fragment", if it is an entry point; body text)."""
    out = {}
    for m in _FN.finditer(code):
        params_end = _matching(code, m.end() - 1, "(", ")")
        open_brace = code.find("{", params_end)
        if params_end < 0 or open_brace < 0:
            continue
        close = _matching(code, open_brace, "{", "}")
        body = code[open_brace : close if close >= 0 else len(code)]
        stage = _STAGE.search(_attributes(code, m.start()))
        out[m.group(1)] = (stage.group(1) if stage else None, body)
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


def entry_points(code: str, stage: str = "compute") -> list[str]:
    """Names of the entry points of ``stage`` ("compute", "vertex" or "fragment"), in source order."""
    return [name for name, (kind, _) in functions(strip_comments(code)).items() if kind == stage]


def accesses(code: str, entry_point: str | None, stage: str = "compute") -> dict[Binding, Access]:
    """(group, binding) -> access for every binding the entry point uses.

    ``entry_point=None`` picks the module's only entry point of ``stage``, as WebGPU does.
    """
    code = strip_comments(code)
    variables = declared(code)
    funcs = functions(code)
    if entry_point is None:
        of_stage = [name for name, (kind, _) in funcs.items() if kind == stage]
        entry_point = of_stage[0] if len(of_stage) == 1 else None
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
