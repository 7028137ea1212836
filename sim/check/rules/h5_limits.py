"""A binding, write, copy or clear outside the device's limits: misaligned, too large, or past the end.

What it finds
    A binding offset not a multiple of the device's storage/uniform offset alignment, a binding past the
    end of its buffer or above the binding-size limit, a write/copy/clear/indirect offset or size
    not a multiple of 4 or past the end of its buffer; a texture copy whose ``bytes_per_row`` is not a
    multiple of 256 (buffer<->texture copies), whose buffer offset is not a multiple of the texel block
    size, whose buffer side runs past the end, or whose box reaches past its texture's subresource; a
    buffer larger than ``max-buffer-size``, a dispatch of more workgroups in a dimension than
    ``max-compute-workgroups-per-dimension``, a bind group set at an index from ``max-bind-groups`` on.

Why it matters
    The device rejects the call with a validation error. A pool that places allocations at a finer
    alignment than the device's offset alignment (256 bytes on most devices) makes bindings into its
    pages fail on some devices and not on others.

An example
    group = device.create_bind_group(layout=layout, entries=[
        {"binding": 0, "resource": {"buffer": page, "offset": 128, "size": 256}}])  # 128 % 256 != 0
    device.queue.write_buffer(x, 0, data, 0, 6)  # 6 bytes: not a multiple of 4
    compute.dispatch_workgroups(70000)  # more than 65535 workgroups in x

Bounds are compared as ``offset > size - length``, never ``offset + length > size``, which int64 could wrap.
"""

from __future__ import annotations

import numpy as np

from ....traces import Access, Kind
from ...footprint import INDIRECT_ARGS_BYTES
from ...footprint.copies import buffer_span, data_end, layout_rows
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
    _device_limits(f, problems)
    _bind_groups(f, problems)
    _dynamic_offsets(f, problems)
    _ranges(f, problems)
    _texture_copies(f, problems)
    return problems.findings()


class _Problems:
    """What is wrong with each call, keyed by (event, binding or -1); one finding per key, bytes as first noted."""

    def __init__(self, f: Facts):
        self.f = f
        self.why: dict[tuple[int, int], list[str]] = {}
        self.where: dict[tuple[int, int], tuple[int | None, int, int]] = {}

    def note(self, key: tuple[int, int], why: str, b: int | None, lo: int = 0, hi: int = 0) -> None:
        """Record what is wrong with a call; ``b`` the resource it touches (None: none, as for a dispatch)."""
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
        if off + n > int(size[b]):
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
            located = self.f.located(b, lo, hi) if b is not None else {}
            out.append(RULE.finding(i, self.f.site(i), call, f"{call} at {self.f.site(i)}: " + "; ".join(self.why[key]),
                                    **located))
        return out


def _device_limits(f: Facts, problems: _Problems) -> None:
    """What no call may exceed on this device: buffer sizes, workgroups per dimension, bind group indices."""
    t, lim = f.trace, f.limits
    biggest = lim["max-buffer-size"]
    creates = f.buffer_events
    for b in np.flatnonzero(f.buffer_size > biggest).tolist():
        size = int(f.buffer_size[b])
        problems.note((int(creates[b]), -1), f"size {size:,} bytes exceeds the device's max-buffer-size "
                                             f"{biggest:,}", b, 0, size)
    most = lim["max-compute-workgroups-per-dimension"]
    dispatches = f.of(Kind.DISPATCH)
    counts = t.args[dispatches, 1:4]
    for j in np.flatnonzero((counts > most).any(axis=1)).tolist():
        over = [f"{int(n):,} in {axis}" for axis, n in zip("xyz", counts[j].tolist(), strict=True) if n > most]
        problems.note((int(dispatches[j]), -1), f"{', '.join(over)} workgroups exceed the device's "
                                                f"max-compute-workgroups-per-dimension {most:,}", None)
    groups = lim["max-bind-groups"]
    sets = f.of(Kind.SET_BIND_GROUP)
    for i in sets[t.args[sets, 1] >= groups].tolist():
        problems.note((i, -1), f"bind group index {int(t.args[i, 1])} is not below the device's max-bind-groups "
                               f"{groups}", None)


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
    room = np.append(size, 0)[np.where(is_buffer, buf, -1)]  # texture and sampler rows name no buffer
    bad = is_buffer & ((off % align != 0) | (n > room) | (off > room - n) | (n > biggest))
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
            room = size[a[:, bcol]]
            bad |= (a[:, ocol] % 4 != 0) | (length > room) | (a[:, ocol] > room - length)
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
                if o + m > int(size[b]):
                    problems.note((i, -1), f"{name}{byte_span(o, o + m)} run past the end of {f.buffer_name(b)} "
                                           f"({int(size[b])} bytes)", b, o, o + m)


COPY_ROW_ALIGNMENT = 256
# texture copies and uploads: kind -> (roles of positional rows 0 and 1, whether bytes_per_row is 256-aligned)
_TEXTURE_COPIES = {
    Kind.COPY_BUFFER_TO_TEXTURE: (("data", "texture"), True),
    Kind.COPY_TEXTURE_TO_BUFFER: (("texture", "data"), True),
    Kind.COPY_TEXTURE_TO_TEXTURE: (("texture", "texture"), True),
    Kind.WRITE_TEXTURE: (("data", "texture"), False),
    Kind.READ_TEXTURE: (("data", "texture"), False),
}


def _texture_copies(f: Facts, problems: _Problems) -> None:
    """Texture copies and uploads: rows aligned, buffer offsets on block boundaries, everything in bounds."""
    t = f.trace
    for kind, (roles, aligned) in _TEXTURE_COPIES.items():
        events = f.of(kind)
        if not len(events):
            continue
        rows = layout_rows(t, events)
        extent = rows[:, 2, :3]
        host = kind in (Kind.WRITE_TEXTURE, Kind.READ_TEXTURE)
        texture = t.args[events, 0 if host else 1 + roles.index("texture")]
        for p, role in enumerate(roles):
            if role == "texture":
                tid = t.args[events, 0 if host else 1 + p]
                _texture_side(f, problems, events, tid, rows[:, p], extent)
            elif not host:
                _buffer_side(f, problems, events, t.args[events, 1 + p], texture, rows[:, p], extent, aligned)


def _texture_side(f: Facts, problems: _Problems, events: np.ndarray, tid: np.ndarray, at: np.ndarray,
                  extent: np.ndarray) -> None:
    tex = f.textures
    mip = np.minimum(at[:, 0], tex.mips[tid] - 1)
    limit = np.column_stack([tex.width[tid, mip], tex.height[tid, mip],
                             np.where(tex.dimension[tid] == 3, tex.depth[tid, mip], tex.layers[tid])])
    reach = at[:, 1:4] + extent
    bad = (at[:, 0] >= tex.mips[tid]) | (reach > limit).any(axis=1)
    for j in np.flatnonzero(bad).tolist():
        i, texture, m = int(events[j]), int(tid[j]), int(at[j, 0])
        resource = tex.first_resource + texture
        if m >= tex.mips[texture]:
            why = f"mip level {m} of {tex.name(texture)}, which has {int(tex.mips[texture])}"
        else:
            box = "x".join(str(int(v)) for v in extent[j])
            size = "x".join(str(int(v)) for v in limit[j])
            why = (f"a {box} box at ({', '.join(str(int(v)) for v in at[j, 1:4])}) reaches past mip {m} of "
                   f"{tex.name(texture)} ({size})")
        problems.note((i, -1), why, resource, 0, 1)


def _buffer_side(f: Facts, problems: _Problems, events: np.ndarray, buffer: np.ndarray, texture: np.ndarray,
                 layout: np.ndarray, extent: np.ndarray, aligned: bool) -> None:
    tex, size = f.textures, f.buffer_size
    per_row = layout[:, 1]
    block = tex.block_bytes[texture]
    lo, hi = buffer_span(f.trace, tex, texture, buffer, layout, extent)
    need_hi = data_end(tex, texture, layout, extent)
    bad = ((per_row >= 0) & (per_row % COPY_ROW_ALIGNMENT != 0) & aligned) | \
          ((block > 0) & (layout[:, 0] % np.maximum(block, 1) != 0)) | (need_hi > size[buffer])
    for j in np.flatnonzero(bad).tolist():
        i, b = int(events[j]), int(buffer[j])
        if aligned and per_row[j] >= 0 and per_row[j] % COPY_ROW_ALIGNMENT:
            problems.note((i, -1), f"bytes_per_row {int(per_row[j])} is not a multiple of {COPY_ROW_ALIGNMENT}",
                          b, int(lo[j]), int(hi[j]))
        if block[j] > 0 and layout[j, 0] % block[j]:
            problems.note((i, -1), f"buffer offset {int(layout[j, 0])} is not a multiple of the texel block size "
                                   f"{int(block[j])}", b, int(lo[j]), int(hi[j]))
        if need_hi[j] > size[b]:
            problems.note((i, -1), f"{byte_span(int(layout[j, 0]), int(need_hi[j]))} run past the end of "
                                   f"{f.buffer_name(b)} ({int(size[b])} bytes)", b, int(lo[j]), int(hi[j]))


RULE = Rule("H5", "limits", ERROR, limits, __doc__,
            device_errors=("alignment", "ALIGNMENT", "overflow", "out of bounds", "multiple of 4"))
