"""One command that uses a buffer as writable and also in another way.

What it finds
    One command uses a buffer as writable and also in another way: a dispatch binding it as writable storage
    and as read-only storage, uniform or indirect arguments, or a copy from a buffer into itself. A WebGPU
    validation error, whether or not the ranges overlap (the usage scope is the whole buffer).

Why it matters
    The device rejects the command, and the program stops with a validation error. A pool that
    sub-allocates many tensors in one buffer makes it reachable even where the program's own
    buffers never alias (Burn issue 1996), and a copy between two allocations of one pool page.

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
from ..facts import Facts
from ..intervals import first_of_each
from ..rule import ERROR, Finding, Rule
from .words import USAGE, byte_span


def usage_scope(f: Facts) -> list[Finding]:
    fp = f.footprints
    bound = np.flatnonzero(np.isin(fp.use, [Use.UNIFORM, Use.READ_ONLY_STORAGE, Use.STORAGE, Use.INDIRECT]))
    key = fp.command[bound] * (len(f.buffer_size) + 1) + fp.buffer[bound]
    writable = fp.use[bound] == Use.STORAGE
    # per (dispatch, buffer) bound both ways: its first writable binding and its first other one
    key_w, first_w = first_of_each(key[writable], bound[writable])
    key_o, first_o = first_of_each(key[~writable], bound[~writable])
    at = np.minimum(np.searchsorted(key_o, key_w), max(len(key_o) - 1, 0))
    both = (key_o[at] == key_w) if len(key_o) else np.zeros(len(key_w), dtype=bool)
    w, o = first_w[both], first_o[at[both]]
    b, i = fp.buffer[w], fp.command[w]
    mine = f.owners.lists(b, fp.start[w], fp.end[w], i)
    theirs = f.owners.lists(b, fp.start[o], fp.end[o], i)
    out = []
    for k in range(len(w)):
        wk, ok, ik, bk = int(w[k]), int(o[k]), int(i[k]), int(b[k])
        call = f.call(ik)
        lo, hi = [int(fp.start[wk]), int(fp.start[ok])], [int(fp.end[wk]), int(fp.end[ok])]
        text = (f"{call} at {f.site(ik)} binds {f.buffer_name(bk)} as writable storage ({_slot(int(fp.slot[wk]))}, "
                f"{byte_span(lo[0], hi[0])}) and as {USAGE[Use(int(fp.use[ok]))]} ({_slot(int(fp.slot[ok]))}, "
                f"{byte_span(lo[1], hi[1])}): WebGPU forbids a writable usage beside any other in one dispatch")
        out.append(RULE.finding(ik, f.site(ik), call, text, buffer=bk, lo=lo[0], hi=hi[0],
                                allocations=tuple(mine[k]), other_allocations=tuple(theirs[k])))
    return sorted(out + _self_copies(f), key=Finding.sort_key)


def _self_copies(f: Facts) -> list[Finding]:
    """A copy_buffer_to_buffer whose source and destination are one buffer: two tensors on one pool page."""
    a = f.trace.args
    copies = f.trace.where(Kind.COPY)
    copies = copies[a[copies, 1] == a[copies, 3]]
    out = []
    for i in copies.tolist():
        b, src, dst, size = (int(x) for x in a[i, [1, 2, 4, 5]])
        text = (f"copy_buffer_to_buffer at {f.site(i)} copies {byte_span(src, src + size)} of {f.buffer_name(b)} "
                f"to {byte_span(dst, dst + size)} of the same buffer: WebGPU forbids a copy within one buffer")
        out.append(RULE.finding(i, f.site(i), "copy_buffer_to_buffer", text, buffer=b, lo=dst, hi=dst + size,
                                allocations=f.owners.at(b, src, src + size, i),
                                other_allocations=f.owners.at(b, dst, dst + size, i)))
    return out


def _slot(slot: int) -> str:
    return "the indirect arguments" if slot < 0 else f"group {slot >> 16} binding {slot & 0xFFFF}"


RULE = Rule("H2", "usage-scope conflict", ERROR, usage_scope, __doc__,
            device_errors=("conflicting usages", "Source and destination cannot be the same buffer"))
