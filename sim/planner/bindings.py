"""Read-write bindings, for pools with ``read_write_bindings`` (CubeCL since #814).

WebGPU forbids a buffer bound writable beside any other usage in one dispatch (H2), and a page
holds many allocations, so the plan binds every storage binding of a pooled buffer read-write.
Two writable bindings of one buffer in a dispatch are allowed. A binding's access is its
layout's, so what flips is a layout slot, with everything that must agree with it; the source
trace's columns are rewritten once and cached on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import cast, overload

import numpy as np

from ...traces import Access, Kind, Trace
from ...traces.columns import Column, Table
from ...traces.errors import InputError
from ..footprint.table import columns_of, gather, of_kind

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_READ_ONLY_STORAGE = re.compile(r"((?:@\s*\w+\s*(?:\([^()]*\)\s*)?)+)(var\s*<\s*storage\s*(?:,\s*read\s*)?>)")
_GROUP_OR_BINDING = re.compile(r"@\s*(group|binding)\s*\(\s*(0[xX][0-9a-fA-F]+|\d+)[iu]?\s*,?\s*\)")
_L, _P, _M = 0, 1, 2  # slot node tags: explicit bind group layout, a pipeline's auto layout, a shader module
_FROZEN = -1  # the node every render pipeline's slots join: that set never flips
IntOrArray = int | np.ndarray


def read_write_wgsl(code: str, bindings: Iterable[tuple[int, int]]) -> tuple[str, set[tuple[int, int]]]:
    """``code`` with the read-only storage declarations (``var<storage, read>``, ``var<storage>``) of
    ``bindings`` (group, binding) made ``var<storage, read_write>``; and the bindings it found none for
    (a binding number given by a constant expression, or not a read-only storage variable).

    Comments are blanked before matching, so a commented-out declaration is never rewritten.
    """
    masked = _COMMENT.sub(lambda m: " " * len(m.group()), code)
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    for m in _READ_ONLY_STORAGE.finditer(masked):
        attrs = {name: int(value, 0) for name, value in _GROUP_OR_BINDING.findall(m.group(1))}
        if "group" in attrs and "binding" in attrs:
            spans[attrs["group"], attrs["binding"]] = m.span(2)
    wanted = set(bindings)
    parts, at = [], 0
    for lo, hi in sorted(spans[b] for b in wanted & spans.keys()):
        parts += [code[at:lo], "var<storage, read_write>"]
        at = hi
    return "".join(parts) + code[at:], wanted - spans.keys()


@overload
def _node(tag: int, owner: int, group: int, binding: int) -> int: ...


@overload
def _node(tag: int, owner: np.ndarray, group: IntOrArray, binding: IntOrArray) -> np.ndarray: ...


def _node(tag: int, owner: IntOrArray, group: IntOrArray, binding: IntOrArray) -> IntOrArray:
    """One int per layout slot or shader declaration (numpy arrays or ints alike)."""
    return ((owner << 16 | group) << 16 | binding) << 2 | tag


class _Sets:
    """Union-find over slot and declaration nodes: what must agree on a binding's access."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        parent = self.parent
        while (up := parent.get(a, a)) != a:
            a = up
        return a

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


Declaration = tuple[int, int, int, int]  # module, group, binding, its pipeline row


def read_write_bindings(trace: Trace, buffers: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``trace``'s args, rows and strings with every read-only storage binding of ``buffers`` made read-write.

    The unit is a slot: a binding of an explicit bind group layout, or of a pipeline's auto layout
    (pipeline, group). A pipeline joins each of its layout's slots to its module's declaration of
    that binding, so union-find gathers what must agree: pipelines sharing a module, pipeline
    layouts sharing a bind group layout. A slot through which some bind group binds one of
    ``buffers`` read-only flips whole: every bind group row through it and every layout and
    pipeline row in its set (access 2 -> 3), and each module's declarations, rewritten once into a
    new string (auto layouts then derive read-write on replay). Unpooled buffers bound through a
    flipped slot are bound read-write too. A set with a declaration the WGSL rewrite cannot find
    is left as recorded, so the plan never disagrees with its shaders.
    """
    key = ("sim.read_write_bindings", buffers.tobytes())
    cached = trace._cache.get(key)
    if cached is None:
        cached = trace._cache[key] = _read_write_bindings(trace, buffers)
    return cached


def _read_write_bindings(trace: Trace, buffers: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    bg_rows, bg_nodes = _bind_group_slots(trace)
    rows = trace.rows
    read_only = rows[bg_rows, 4] == Access.READ_ONLY_STORAGE
    read_only[read_only] = buffers[rows[bg_rows[read_only], 1]]  # (a texture or sampler row is never read-only storage)
    seeds = np.unique(bg_nodes[read_only]).tolist()
    if not seeds:
        return trace.args, trace.rows, trace.strings
    sets, declared = _declarations(trace)
    flipped, codes = _rewrite(trace, sets, declared, {sets.find(s) for s in seeds} - {sets.find(_FROZEN)})
    new_rows, access = _editable(rows, (1, 2, 4))
    _flip(access[4], sets, flipped, bg_rows, bg_nodes)
    explicit_layouts = of_kind(trace, Kind.BIND_GROUP_LAYOUT)
    layout_rows = trace.row_ids(explicit_layouts)
    layout_ids = np.repeat(np.arange(len(explicit_layouts)), trace.nrows[explicit_layouts])
    _flip(access[1], sets, flipped, layout_rows, _node(_L, layout_ids, 0, rows[layout_rows, 0]))
    if declared:
        module, group, binding, row_ids = (np.array(c, dtype=np.int64) for c in zip(*declared, strict=True))
        _flip(access[2], sets, flipped, row_ids, _node(_M, module, group, binding))
    args, strings = _with_modules(trace, codes)
    return args, new_rows, strings


def _editable(table: np.ndarray, columns: tuple[int, ...]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """A copy of ``table`` and its ``columns`` to write into, each a 1-d int64 array. A loaded trace's narrow table
    shares every other column with the copy: widening it whole (``copy``) costs several times more."""
    if isinstance(table, Table):
        edited = {j: np.array(table.columns[j], dtype=np.int64) for j in columns}
        copy = Table([Column(edited[j], edited[j].dtype) if j in edited else c for j, c in enumerate(table.columns)])
        return cast(np.ndarray, copy), edited
    copy = table.copy()
    return copy, {j: copy[:, j] for j in columns}


def _bind_group_slots(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """Every bind group row, and the slot node it binds through."""
    args = columns_of(trace.args)
    groups = of_kind(trace, Kind.BIND_GROUP)
    counts = trace.nrows[groups]
    bg_rows = trace.row_ids(groups)
    layout, pipeline, group = (np.repeat(gather(args[c], groups), counts) for c in (1, 2, 3))
    binding = gather(columns_of(trace.rows)[0], bg_rows)
    return bg_rows, np.where(layout >= 0, _node(_L, layout, 0, binding), _node(_P, pipeline, group, binding))


def _declarations(trace: Trace) -> tuple[_Sets, list[Declaration]]:
    """Each pipeline's bindings joined to its layout's slots; and every declaration they name.

    A render pipeline's slots join ``_FROZEN`` instead: a vertex shader may not write storage, and a
    render pass is one usage scope, so what a render pipeline binds is never made read-write."""
    args = trace.args
    pipeline_layouts = of_kind(trace, Kind.PIPELINE_LAYOUT)
    sets, declared = _Sets(), []
    for p, event in enumerate(of_kind(trace, Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE).tolist()):
        render = trace.kind[event] == Kind.RENDER_PIPELINE
        module, own = int(args[event, 1]), int(args[event, 3])
        layouts = trace.rows_of(int(pipeline_layouts[own]))[:, 0].tolist() if own >= 0 else []
        for r, (g, b) in enumerate(trace.rows_of(event)[:, :2].tolist()):
            if own >= 0 and not 0 <= g < len(layouts):
                raise InputError(f"event {event}: the pipeline declares a binding in group {g}, but its pipeline "
                                 f"layout {own} has {len(layouts)} bind group layout(s)")
            slot = _node(_L, layouts[g], 0, b) if own >= 0 else _node(_P, p, g, b)
            if render:
                sets.join(slot, _FROZEN)
                continue
            sets.join(_node(_M, module, g, b), slot)
            declared.append((module, g, b, int(trace.row_start[event]) + r))
    return sets, declared


def _rewrite(trace: Trace, sets: _Sets, declared: list[Declaration],
             flipped: set[int]) -> tuple[set[int], dict[int, tuple[str, set[tuple[int, int]]]]]:
    """The sets that flip, and each module's rewritten WGSL: a set with a declaration the rewrite cannot
    find is dropped, then the modules are rewritten again (at most a few rounds)."""
    modules = of_kind(trace, Kind.SHADER_MODULE)
    while True:
        wanted: dict[int, set[tuple[int, int]]] = {}
        for module, g, b, _ in declared:
            if sets.find(_node(_M, module, g, b)) in flipped:
                wanted.setdefault(module, set()).add((g, b))
        codes = {m: read_write_wgsl(trace.strings[int(trace.args[modules[m], 1])], wanted[m]) for m in sorted(wanted)}
        lost = {sets.find(_node(_M, m, g, b)) for m, (_, missing) in codes.items() for g, b in missing}
        if not lost:
            return flipped, codes
        flipped -= lost


def _flip(access: np.ndarray, sets: _Sets, flipped: set[int], row_ids: np.ndarray, nodes: np.ndarray) -> None:
    """Rows ``row_ids`` (nodes ``nodes``) of a flipped set, read-only storage in ``access`` (their access column):
    now read-write."""
    unique, inverse = np.unique(nodes, return_inverse=True)
    hit = np.array([sets.find(n) in flipped for n in unique.tolist()], dtype=bool)[inverse]
    hit &= access[row_ids] == Access.READ_ONLY_STORAGE
    access[row_ids[hit]] = Access.STORAGE


def _with_modules(trace: Trace, codes: dict[int, tuple[str, set[tuple[int, int]]]]) -> tuple[np.ndarray, list[str]]:
    """args and strings with each rewritten module's code appended once and the module pointing at it."""
    modules = of_kind(trace, Kind.SHADER_MODULE)
    (args, edited), strings = _editable(trace.args, (1,)), list(trace.strings)
    added: dict[str, int] = {}
    for m, (code, _) in codes.items():
        if code not in added:
            added[code] = len(strings)
            strings.append(code)
        edited[1][modules[m]] = added[code]
    return args, strings
