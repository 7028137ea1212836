"""A binding, write, copy or clear outside the device's limits: misaligned, too large, or past the end.

What it finds
    A binding offset not a multiple of the device's storage/uniform offset alignment, a binding past the
    end of its buffer or above the binding-size limit, or a write/copy/clear/indirect offset or size
    not a multiple of 4 or past the end of its buffer.

Why it matters
    The device rejects the call with a validation error. A pool that places allocations at a finer
    alignment than the device's offset alignment (256 bytes on most devices) makes bindings into its
    pages fail on some devices and not on others.

An example
    group = device.create_bind_group(layout=layout, entries=[
        {"binding": 0, "resource": {"buffer": page, "offset": 128, "size": 256}}])  # 128 % 256 != 0
    device.queue.write_buffer(x, 0, data, 0, 6)  # 6 bytes: not a multiple of 4
"""

from __future__ import annotations

import numpy as np

from ....traces import Access, Kind
from ...footprint import INDIRECT_ARGS_BYTES
from ..facts import Facts
from ..intervals import spans
from ..rule import ERROR, Finding, Rule
from .words import byte_span

# Ranges that must be 4-aligned and inside their buffer: kind, size column (None: 12 indirect
# argument bytes), and (name, buffer column, offset column) of each range.
_RANGES = (
    (Kind.WRITE_BUFFER, 2, (("", 0, 1),)),
    (Kind.QUEUE_READ, 2, (("", 0, 1),)),
    (Kind.CLEAR, 3, (("", 1, 2),)),
    (Kind.COPY, 5, (("source ", 1, 2), ("destination ", 3, 4))),
    (Kind.DISPATCH_INDIRECT, None, (("indirect arguments ", 1, 2),)),
)


def limits(f: Facts) -> list[Finding]:
    problems = _Problems(f)
    _bind_groups(f, problems)
    _dynamic_offsets(f, problems)
    _ranges(f, problems)
    return problems.findings()


class _Problems:
    """What is wrong with each call, keyed by (event, binding or -1); one finding per key, bytes as first noted."""

    def __init__(self, f: Facts):
        self.f = f
        self.why: dict[tuple[int, int], list[str]] = {}
        self.where: dict[tuple[int, int], tuple[int, int, int]] = {}

    def note(self, key: tuple[int, int], why: str, b: int, lo: int, hi: int) -> None:
        self.why.setdefault(key, []).append(why)
        self.where.setdefault(key, (b, lo, hi))

    def binding(self, key: tuple[int, int], name: str, b: int, off: int, n: int, access: int,
                dyn: int | None) -> None:
        """Check one buffer binding; ``dyn``: the dynamic offset applied to it, if any."""
        size, lim = self.f.buffer_size, self.f.limits
        kind = "uniform" if access == Access.UNIFORM else "storage"
        align = lim[f"min-{kind}-buffer-offset-alignment"]
        biggest = lim[f"max-{kind}-buffer-binding-size"]
        checked = off if dyn is None else dyn
        if checked % align:
            self.note(key, f"{name}: offset {checked} is not a multiple of the {kind} offset alignment {align}",
                      b, off, off + n)
        if off + n > size[b]:
            self.note(key, f"{name}: {byte_span(off, off + n)} run past the end of {self.f.buffer_name(b)} "
                           f"({int(size[b])} bytes)", b, off, off + n)
        if dyn is None and n > biggest:
            self.note(key, f"{name}: {n} bytes exceed the {kind} binding size limit {biggest}", b, off, off + n)

    def findings(self) -> list[Finding]:
        out = []
        for key in sorted(self.why):
            i = key[0]
            b, lo, hi = self.where[key]
            call = self.f.call(i)
            out.append(RULE.finding(i, self.f.site(i), call, f"{call} at {self.f.site(i)}: " + "; ".join(self.why[key]),
                                    buffer=b, lo=lo, hi=hi))
        return out


def _bind_groups(f: Facts, problems: _Problems) -> None:
    """Every buffer entry of every bind group, screened at once; the few bad ones are then worded."""
    t, size, lim = f.trace, f.buffer_size, f.limits
    groups = f.of(Kind.BIND_GROUP)
    counts = t.nrows[groups].astype(np.int64)
    owner = np.repeat(groups, counts)
    rows = t.rows[spans(t.row_start[groups], counts)]
    slot, buf, off, n, acc = rows.T if len(rows) else np.zeros((5, 0), np.int64)
    is_buffer = np.isin(acc, [Access.UNIFORM, Access.READ_ONLY_STORAGE, Access.STORAGE])
    align = np.where(acc == Access.UNIFORM, lim["min-uniform-buffer-offset-alignment"],
                     lim["min-storage-buffer-offset-alignment"])
    biggest = np.where(acc == Access.UNIFORM, lim["max-uniform-buffer-binding-size"],
                       lim["max-storage-buffer-binding-size"])
    bad = is_buffer & ((off % align != 0) | (off + n > size[buf]) | (n > biggest))
    for j in np.flatnonzero(bad).tolist():
        problems.binding((int(owner[j]), int(slot[j])), f"binding {int(slot[j])}", int(buf[j]), int(off[j]),
                         int(n[j]), int(acc[j]), None)


def _dynamic_offsets(f: Facts, problems: _Problems) -> None:
    sets = f.of(Kind.SET_BIND_GROUP)
    for i in sets[f.trace.nrows[sets] > 0].tolist():
        for entry, b, o, n, access, dyn in _dynamic_entries(f, i):
            problems.binding((i, entry), f"binding {entry} with dynamic offset {dyn}", b, o + dyn, n, access, dyn)


def _dynamic_entries(f: Facts, set_event: int) -> list[tuple[int, int, int, int, int, int]]:
    """(binding, buffer, offset, size, access, dynamic offset) of each entry a set_bind_group offsets.

    Dynamic offsets apply, in binding order, to the entries its explicit layout marks dynamic.
    """
    t = f.trace
    group_event = int(f.of(Kind.BIND_GROUP)[t.args[set_event, 2]])
    layout = int(t.args[group_event, 1])
    if layout < 0:
        return []
    dynamic = sorted(int(r[0]) for r in t.rows_of(int(f.of(Kind.BIND_GROUP_LAYOUT)[layout])) if r[2])
    entries = {int(r[0]): r.tolist() for r in t.rows_of(group_event)}
    out = []
    for entry, offset in zip(dynamic, t.rows_of(set_event)[:, 0].tolist(), strict=False):
        if entry in entries:
            _, b, off, n, acc = entries[entry]
            out.append((entry, b, off, n, acc, int(offset)))
    return out


def _ranges(f: Facts, problems: _Problems) -> None:
    """Writes, reads, clears, copies and indirect arguments: 4-aligned, a size a multiple of 4, in bounds."""
    t, size = f.trace, f.buffer_size
    for kind, size_col, parts in _RANGES:
        events = f.of(kind)
        a = t.args[events]
        length = a[:, size_col] if size_col is not None else np.full(len(events), INDIRECT_ARGS_BYTES)
        bad = length % 4 != 0
        for _, bcol, ocol in parts:
            bad |= (a[:, ocol] % 4 != 0) | (a[:, ocol] + length > size[a[:, bcol]])
        for j in np.flatnonzero(bad).tolist():
            i, m = int(events[j]), int(length[j])
            ranges = [(name, int(a[j, bcol]), int(a[j, ocol])) for name, bcol, ocol in parts]
            for name, b, o in ranges:
                if o % 4:
                    problems.note((i, -1), f"{name}offset {o} is not a multiple of 4", b, o, o + m)
            if m % 4:
                problems.note((i, -1), f"size {m} is not a multiple of 4", ranges[0][1], ranges[0][2],
                              ranges[0][2] + m)
            for name, b, o in ranges:
                if o + m > size[b]:
                    problems.note((i, -1), f"{name}{byte_span(o, o + m)} run past the end of {f.buffer_name(b)} "
                                           f"({int(size[b])} bytes)", b, o, o + m)


RULE = Rule("H5", "limits", ERROR, limits, __doc__,
            device_errors=("alignment", "ALIGNMENT", "overflow", "out of bounds", "multiple of 4"))
