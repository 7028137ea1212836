"""One usage scope that uses a buffer or a texture subresource as writable and also in another way.

What it finds
    A usage scope that uses a resource as writable and also in another way. A dispatch is one scope; a
    whole render pass is one (every draw, its attachments, the bundles it executes). A buffer bound as
    writable storage beside a read-only use (uniform, read-only storage, vertex, index or indirect
    arguments), whether or not the ranges overlap (the scope is the whole buffer); a texture subresource
    both attached and sampled or bound, attached twice, or bound as writable storage and read; or a copy
    from a buffer into itself. A WebGPU validation error.

Why it matters
    The device rejects the pass, and the program stops with a validation error. A pool that
    sub-allocates many tensors in one buffer makes it reachable even where the program's own
    buffers never alias (Burn issue 1996), and a copy between two allocations of one pool page; a
    renderer that samples the texture it renders into (a feedback loop) hits it in one pass.

An example
    layout = device.create_bind_group_layout(entries=[read_only_storage(0), storage(1)])
    group = device.create_bind_group(layout=layout, entries=[
        {"binding": 0, "resource": {"buffer": page, "offset": 0, "size": 1024}},
        {"binding": 1, "resource": {"buffer": page, "offset": 1024, "size": 1024}}])
    compute.set_bind_group(0, group)
    compute.dispatch_workgroups(4)  # conflicting usages of page
"""

from __future__ import annotations

import numpy as np

from ....traces import Kind
from ...footprint import Use
from ...footprint.table import SCOPE, Scope
from ..facts import Facts
from ..intervals import first_of_each
from ..rule import ERROR, Finding, Rule
from .words import USAGE, byte_span


def usage_scope(f: Facts) -> list[Finding]:
    fp = f.footprints
    in_scope = np.flatnonzero((fp.scope >= 0) & (SCOPE[fp.use] != Scope.NONE))
    on_texture = fp.on_texture[in_scope]
    pairs = _buffer_pairs(f, in_scope[~on_texture]) + _texture_pairs(f, in_scope[on_texture])
    w, o = (np.array([p[j] for p in pairs], dtype=np.int64) for j in (0, 1))
    fp = f.footprints
    mine = f.owners.lists(fp.resource[w], fp.start[w], fp.end[w], fp.command[w])
    theirs = f.owners.lists(fp.resource[o], fp.start[o], fp.end[o], fp.command[o])
    found = [_finding(f, int(w[k]), int(o[k]), mine[k], theirs[k]) for k in range(len(pairs))]
    return sorted(found + _self_copies(f), key=Finding.sort_key)


def _buffer_pairs(f: Facts, rows: np.ndarray) -> list[tuple[int, int]]:
    """Per (scope, buffer) used both ways: its first writable-storage row and its first other row."""
    fp = f.footprints
    key = fp.scope[rows] * (fp.n_buffers + 1) + fp.resource[rows]
    writable = SCOPE[fp.use[rows]] == Scope.STORAGE
    key_w, first_w = first_of_each(key[writable], rows[writable])
    key_o, first_o = first_of_each(key[~writable], rows[~writable])
    at = np.minimum(np.searchsorted(key_o, key_w), max(len(key_o) - 1, 0))
    both = (key_o[at] == key_w) if len(key_o) else np.zeros(len(key_w), dtype=bool)
    return list(zip(first_w[both].tolist(), first_o[at[both]].tolist(), strict=True))


def _texture_pairs(f: Facts, rows: np.ndarray) -> list[tuple[int, int]]:
    """Per (scope, texture), the first two rows sharing a subresource that their usages forbid together."""
    fp = f.footprints
    cols = np.column_stack([fp.scope[rows], fp.resource[rows], fp.start[rows], fp.end[rows], fp.use[rows]])
    _, first = np.unique(cols, axis=0, return_index=True)
    rows = rows[np.sort(first)]
    key = fp.scope[rows] * (len(f.textures) + fp.n_buffers + 1) + fp.resource[rows]
    strict = SCOPE[fp.use[rows]] != Scope.INPUT
    inverse = np.unique(key, return_inverse=True)[1].reshape(-1)
    worth = np.isin(key, key[strict]) & (np.bincount(inverse, minlength=1)[inverse] > 1)
    rows, key = rows[worth], key[worth]
    out = []
    for k in np.unique(key).tolist():
        group = rows[key == k].tolist()
        pair = next(((a, b) for i, a in enumerate(group) for b in group[i + 1:] if _clash(fp, a, b)), None)
        if pair is not None:
            a, b = pair
            out.append((a, b) if SCOPE[fp.use[a]] != Scope.INPUT else (b, a))
    return out


def _clash(fp, a: int, b: int) -> bool:
    """Whether two uses of one texture in one scope share a subresource their usages forbid together."""
    if fp.start[a] >= fp.end[b] or fp.start[b] >= fp.end[a]:
        return False
    sa, sb = SCOPE[fp.use[a]], SCOPE[fp.use[b]]
    return Scope.ATTACHMENT in (sa, sb) or sa != sb


def _finding(f: Facts, w: int, o: int, mine: list[int], theirs: list[int]) -> Finding:
    """The finding for writable row ``w`` beside row ``o`` of the same scope (their allocations given)."""
    fp = f.footprints
    res, i, j = int(fp.resource[w]), int(fp.command[w]), int(fp.command[o])
    first, last = min(i, j), max(i, j)
    wu, ou = Use(int(fp.use[w])), Use(int(fp.use[o]))
    lo, hi = [int(fp.start[w]), int(fp.start[o])], [int(fp.end[w]), int(fp.end[o])]
    call = f.call(last)
    w_text = f"as {USAGE[wu]} ({_slot(wu, int(fp.slot[w]))}, {f.span(res, lo[0], hi[0])})"
    o_text = f"as {USAGE[ou]} ({_slot(ou, int(fp.slot[o]))}, {f.span(res, lo[1], hi[1])})"
    scope = "one dispatch" if f.trace.kind[int(fp.scope[w])] != Kind.RENDER_PASS_BEGIN else "one render pass"
    rule = "a writable usage beside any other" if SCOPE[wu] == Scope.STORAGE else "an attachment beside any other use"
    if i == j:
        text = (f"{call} at {f.site(i)} binds {f.resource_name(res)} {w_text} and {o_text}: WebGPU forbids {rule} "
                f"in {scope}")
    else:
        text = (f"{f.call(i)} at {f.site(i)} uses {f.resource_name(res)} {w_text} and {f.call(j)} at {f.site(j)} "
                f"uses it {o_text}: WebGPU forbids {rule} in {scope}")
    other = first if first != last else None
    return RULE.finding(last, f.site(last), call, text, **f.located(res, lo[0], hi[0]), other_event=other,
                        other_site=f.site(other) if other is not None else None,
                        other_call=f.call(other) if other is not None else None,
                        allocations=tuple(mine), other_allocations=tuple(theirs))


def _self_copies(f: Facts) -> list[Finding]:
    """A copy_buffer_to_buffer whose source and destination are one buffer: two tensors on one pool page."""
    a = f.trace.args
    copies = f.trace.where(Kind.COPY)
    copies = copies[a[copies, 1] == a[copies, 3]]
    buffer, src, dst, size = (a[copies, k] for k in (1, 2, 4, 5))
    owners = f.owners  # one lookup per side for all copies: a lookup sorts the whole allocation table
    sources, destinations = owners.lists(buffer, src, src + size, copies), owners.lists(buffer, dst, dst + size, copies)
    out = []
    for k, i in enumerate(copies.tolist()):
        b, s, d, n = int(buffer[k]), int(src[k]), int(dst[k]), int(size[k])
        text = (f"copy_buffer_to_buffer at {f.site(i)} copies {byte_span(s, s + n)} of {f.buffer_name(b)} "
                f"to {byte_span(d, d + n)} of the same buffer: WebGPU forbids a copy within one buffer")
        out.append(RULE.finding(i, f.site(i), "copy_buffer_to_buffer", text, buffer=b, lo=d, hi=d + n,
                                allocations=tuple(sources[k]), other_allocations=tuple(destinations[k])))
    return out


def _slot(use: Use, slot: int) -> str:
    if use == Use.INDIRECT:
        return "the indirect arguments"
    if use == Use.INDEX:
        return "the index buffer"
    if use == Use.VERTEX:
        return f"vertex buffer slot {slot}"
    if use in (Use.ATTACHMENT, Use.ATTACHMENT_LOAD, Use.ATTACHMENT_READ_ONLY, Use.RESOLVE):
        where = "the depth-stencil attachment" if slot < 0 else f"color attachment {slot}"
        return f"the resolve target of {where}" if use == Use.RESOLVE else where
    return f"group {slot >> 16} binding {slot & 0xFFFF}"


RULE = Rule("H2", "usage-scope conflict", ERROR, usage_scope, __doc__,
            device_errors=("conflicting usages", "Source and destination cannot be the same buffer"))
