"""The hazard rules H1-H6 of DESIGN.md, one function each, registered in ``RULES``.

Each rule reads the shared ``Facts`` of a plan and returns plain ``Finding`` records: where (event
and call site), what it conflicts with, which bytes of which buffer, which logical allocations,
and one sentence that says it in plain words. The rules are exhaustive: each looks at every event
of its kind in the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ...traces import Access, Kind
from ..footprint import INDIRECT_ARGS_BYTES, Use
from .facts import Facts
from .intervals import Segments, first_of_each, group_keys, spans

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One hazard. Byte ranges are half-open [lo, hi) in the physical buffer; messages print lo-(hi-1)."""

    rule: str
    severity: str
    event: int
    site: str
    call: str
    message: str
    buffer: int | None = None
    lo: int | None = None
    hi: int | None = None
    other_event: int | None = None
    other_site: str | None = None
    other_call: str | None = None
    allocations: tuple[int, ...] = ()
    other_allocations: tuple[int, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["allocations"] = list(self.allocations)
        d["other_allocations"] = list(self.other_allocations)
        return d

    def sort_key(self) -> tuple:
        return (self.event, self.rule, -1 if self.other_event is None else self.other_event,
                -1 if self.lo is None else self.lo, self.message)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    summary: str
    find: Callable[[Facts], list[Finding]] = field(compare=False)


RULES: list[Rule] = []


def rule(rule_id: str, name: str, severity: str, summary: str):
    def register(find: Callable[[Facts], list[Finding]]) -> Callable[[Facts], list[Finding]]:
        RULES.append(Rule(rule_id, name, severity, summary, find))
        return find
    return register


def _bytes(lo: int, hi: int) -> str:
    return f"bytes {lo}-{hi - 1}"


# How a command touches bytes, said of a command that still will: "which still reads bytes 0-63".
_STILL = {Use.UNKNOWN: "uses", Use.UNIFORM: "reads (as a uniform)", Use.READ_ONLY_STORAGE: "reads",
          Use.STORAGE: "reads and writes", Use.INDIRECT: "reads (as indirect arguments)",
          Use.COPY_SRC: "copies from", Use.COPY_DST: "copies into", Use.CLEAR: "clears"}
_WRITES = {Use.UNKNOWN: "may write", Use.STORAGE: "writes", Use.COPY_DST: "copies into", Use.CLEAR: "clears"}
_USAGE = {Use.UNIFORM: "a uniform", Use.READ_ONLY_STORAGE: "read-only storage", Use.STORAGE: "writable storage",
          Use.INDIRECT: "indirect arguments"}


@rule("H1", "hoisted write", ERROR,
      "An operation runs ahead of an earlier-recorded command that uses the same bytes: a queue write (or "
      "host read) issued while an encoder that is submitted later still holds that command, or a command "
      "whose encoder the queue runs before the encoder holding the earlier one.")
def hoisted_write(f: Facts) -> list[Finding]:
    q, pending, fp = f.queue, f.pending, f.footprints
    host = pending.first_conflicts(pending.host(q.buffer, q.lo, q.hi, q.event, q.writes))
    hit = np.flatnonzero(host >= 0)
    rows = pending.hoisting_rows()
    ahead = pending.first_conflicts(pending.commands(rows))
    # one finding per command: the first conflict over all of its rows
    found = np.flatnonzero(ahead >= 0)
    found = found[np.argsort(ahead[found], kind="stable")]
    _, cmd_hit = first_of_each(fp.command[rows[found]], found)

    event = np.concatenate([q.event[hit], fp.command[rows[cmd_hit]]])
    buffer = np.concatenate([q.buffer[hit], fp.buffer[rows[cmd_hit]]])
    writes = np.concatenate([q.writes[hit], fp.writes[rows[cmd_hit]]])
    r = np.concatenate([host[hit], ahead[cmd_hit]])
    lo = np.maximum(np.concatenate([q.lo[hit], fp.start[rows[cmd_hit]]]), fp.start[r])
    hi = np.minimum(np.concatenate([q.hi[hit], fp.end[rows[cmd_hit]]]), fp.end[r])
    other = fp.command[r]
    mine = f.owners.lists(buffer, lo, hi, event)
    theirs = f.owners.lists(buffer, lo, hi, other)
    out = []
    for k in range(len(event)):
        i, c, u = int(event[k]), int(other[k]), Use(int(fp.use[r[k]]))
        call, later = f.call(i), f.call(c)
        span = _bytes(int(lo[k]), int(hi[k]))
        if k < len(hit):  # a host access
            where = f"{later} at {f.site(c)}"
            text = (f"{call} at {f.site(i)} lands before {where}, which still {_STILL[u]} {span} of the same storage"
                    if writes[k] else
                    f"{call} at {f.site(i)} reads {span} before {where}, recorded earlier but not yet submitted, "
                    f"{_WRITES[u]} them")
        else:
            where = f"{later} at {f.site(c)}, recorded earlier into an encoder the queue runs later"
            text = (f"{call} at {f.site(i)} runs ahead of {where}, which still {_STILL[u]} {span} of the same storage"
                    if writes[k] else f"{call} at {f.site(i)} reads {span} ahead of {where}, which {_WRITES[u]} them")
        out.append(Finding("H1", ERROR, i, f.site(i), call, text, int(buffer[k]), int(lo[k]), int(hi[k]),
                           c, f.site(c), later, tuple(mine[k]), tuple(theirs[k])))
    return out


@rule("H2", "usage-scope conflict", ERROR,
      "One command uses a buffer as writable and also in another way: a dispatch binding it as writable storage "
      "and as read-only storage, uniform or indirect arguments, or a copy from a buffer into itself. A WebGPU "
      "validation error, whether or not the ranges overlap (the usage scope is the whole buffer).")
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
                f"{_bytes(lo[0], hi[0])}) and as {_USAGE[Use(int(fp.use[ok]))]} ({_slot(int(fp.slot[ok]))}, "
                f"{_bytes(lo[1], hi[1])}): WebGPU forbids a writable usage beside any other in one dispatch")
        out.append(Finding("H2", ERROR, ik, f.site(ik), call, text, bk, lo[0], hi[0], None, None, None,
                           tuple(mine[k]), tuple(theirs[k])))
    return sorted(out + _self_copies(f), key=Finding.sort_key)


def _owners(f: Facts, buffer: int, lo: int, hi: int, event: int) -> tuple[int, ...]:
    return tuple(f.owners.lists(np.array([buffer]), np.array([lo]), np.array([hi]), np.array([event]))[0])


def _self_copies(f: Facts) -> list[Finding]:
    """A copy_buffer_to_buffer whose source and destination are one buffer: two tensors on one pool page."""
    a = f.trace.args
    copies = f.trace.where(Kind.COPY)
    copies = copies[a[copies, 1] == a[copies, 3]]
    out = []
    for i in copies.tolist():
        b, src, dst, size = (int(x) for x in a[i, [1, 2, 4, 5]])
        text = (f"copy_buffer_to_buffer at {f.site(i)} copies {_bytes(src, src + size)} of {f.buffer_name(b)} to "
                f"{_bytes(dst, dst + size)} of the same buffer: WebGPU forbids a copy within one buffer")
        out.append(Finding("H2", ERROR, i, f.site(i), "copy_buffer_to_buffer", text, b, dst, dst + size, None, None,
                           None, _owners(f, b, src, src + size, i), _owners(f, b, dst, dst + size, i)))
    return out


def _slot(slot: int) -> str:
    return "the indirect arguments" if slot < 0 else f"group {slot >> 16} binding {slot & 0xFFFF}"


@rule("H3", "destroy while pending", ERROR,
      "A buffer is destroyed (by the program or by a pool freeing a page) while an encoder that will be "
      "submitted still holds a command using it: that submit fails.")
def destroy_while_pending(f: Facts) -> list[Finding]:
    t = f.trace
    events = f.of(Kind.BUFFER_DESTROY)
    events = events[t.args[events, 1] == 0]
    buffers = t.args[events, 0]
    everything = np.full(len(events), 1 << 62, dtype=np.int64)
    row = f.pending.first_conflicts(f.pending.host(buffers, np.zeros(len(events), np.int64), everything, events,
                                                   np.ones(len(events), dtype=bool)))
    fp = f.footprints
    hit = np.flatnonzero(row >= 0)
    r = row[hit]
    theirs = f.owners.lists(buffers[hit], fp.start[r], fp.end[r], fp.command[r])
    out = []
    for k in range(len(hit)):
        i, rk, b = int(events[hit[k]]), int(r[k]), int(buffers[hit[k]])
        c = int(fp.command[rk])
        submit = int(f.submit_at[fp.encoder[rk]])
        lo, hi = int(fp.start[rk]), int(fp.end[rk])
        call, other = f.call(i), f.call(c)
        text = (f"{call} at {f.site(i)} destroys {f.buffer_name(b)} while {other} at {f.site(c)}, not yet "
                f"submitted, still uses {_bytes(lo, hi)} of it: the submit at {f.site(submit)} will fail")
        out.append(Finding("H3", ERROR, i, f.site(i), call, text, b, lo, hi, c, f.site(c), other, (),
                           tuple(theirs[k])))
    return out


@rule("H4", "encoder state", ERROR,
      "A command in the wrong encoder state: a copy or clear while a compute pass is open, a pass command "
      "after its pass ended, recording into a finished encoder, a dispatch with no pipeline, or a submit "
      "of an encoder not finished or already submitted.")
def encoder_state(f: Facts) -> list[Finding]:
    t, n = f.trace, f.n
    found: list[tuple[int, int, str]] = []  # (event, other event or -1, why; "{other}" is its site)

    begins = f.of(Kind.PASS_BEGIN)
    pass_encoder = t.args[begins, 1]
    pass_end = f.first_event(Kind.PASS_END, len(begins))
    in_pass = f.of(Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.PASS_END)
    ended = pass_end[t.args[in_pass, 0]]
    late = in_pass > ended
    found += [(i, e, "on a compute pass that already ended at {other}")
              for i, e in zip(in_pass[late].tolist(), ended[late].tolist(), strict=True)]

    on_encoder = f.of(Kind.COPY, Kind.CLEAR, Kind.PASS_BEGIN, Kind.ENCODER_FINISH)
    encoder = np.where(t.kind[on_encoder] == Kind.PASS_BEGIN, t.args[on_encoder, 1], t.args[on_encoder, 0])
    finished = f.finish_at[encoder]
    late = on_encoder > finished
    found += [(i, e, "records into an encoder already finished at {other}")
              for i, e in zip(on_encoder[late].tolist(), finished[late].tolist(), strict=True)]

    # is a pass of the same encoder, begun before the event, still open? (latest end among those begun)
    order = np.lexsort((begins, pass_encoder))
    span = np.int64(n + 1)
    began = pass_encoder[order] * span + begins[order]
    latest_end = np.maximum.accumulate(pass_encoder[order] * span + pass_end[order]) if len(order) else began
    pos = np.searchsorted(began, encoder * span + on_encoder, side="left") - 1
    p = np.maximum(pos, 0)
    open_pass = ((pos >= 0) & (pass_encoder[order][p] == encoder) & (latest_end[p] - encoder * span > on_encoder)
                 if len(order) else np.zeros(len(on_encoder), dtype=bool))
    for i, e in zip(on_encoder[open_pass].tolist(), encoder[open_pass].tolist(), strict=True):
        mine = np.flatnonzero((pass_encoder == e) & (begins < i) & (pass_end > i))
        found.append((i, int(begins[mine[-1]]), "while the compute pass begun at {other} is still open"))

    c = f.commands
    found += [(i, -1, "with no pipeline set in its compute pass")
              for i in c.event[(c.pipeline < 0) & (c.compute_pass >= 0)].tolist()]

    events, encoders = f.submit_rows
    unfinished = f.finish_at[encoders] > events
    again = ~unfinished & (f.submit_at[encoders] < events)
    found += [(s, -1, f"of encoder {e}, which is not finished")
              for s, e in zip(events[unfinished].tolist(), encoders[unfinished].tolist(), strict=True)]
    found += [(s, int(f.submit_at[e]), f"of encoder {e}'s command buffer, already submitted at {{other}}")
              for s, e in zip(events[again].tolist(), encoders[again].tolist(), strict=True)]

    out = []
    for i, other, why in found:
        call = f.call(i)
        o = other if 0 <= other < n else None
        text = f"{call} at {f.site(i)} " + why.format(other=f.site(other))
        out.append(Finding("H4", ERROR, i, f.site(i), call, text, other_event=o,
                           other_site=f.site(o) if o is not None else None,
                           other_call=f.call(o) if o is not None else None))
    return out


# Ranges that must be 4-aligned and inside their buffer: kind, size column (None: 12 indirect
# argument bytes), and (name, buffer column, offset column) of each range.
_RANGES = (
    (Kind.WRITE_BUFFER, 2, (("", 0, 1),)),
    (Kind.QUEUE_READ, 2, (("", 0, 1),)),
    (Kind.CLEAR, 3, (("", 1, 2),)),
    (Kind.COPY, 5, (("source ", 1, 2), ("destination ", 3, 4))),
    (Kind.DISPATCH_INDIRECT, None, (("indirect arguments ", 1, 2),)),
)


@rule("H5", "limits", ERROR,
      "A binding offset not a multiple of the device's storage/uniform offset alignment, a binding past the "
      "end of its buffer or above the binding-size limit, or a write/copy/clear/indirect offset or size "
      "not a multiple of 4 or past the end of its buffer.")
def limits(f: Facts) -> list[Finding]:
    t, size, lim = f.trace, f.buffer_size, f.limits
    storage_align = lim["min-storage-buffer-offset-alignment"]
    uniform_align = lim["min-uniform-buffer-offset-alignment"]
    problems: dict[tuple[int, int], list[str]] = {}
    where: dict[tuple[int, int], tuple[int, int, int]] = {}

    def note(key: tuple[int, int], why: str, b: int, lo: int, hi: int) -> None:
        problems.setdefault(key, []).append(why)
        where.setdefault(key, (b, lo, hi))

    def binding(key: tuple[int, int], name: str, b: int, off: int, n: int, access: int, dyn: int | None) -> None:
        uniform = access == Access.UNIFORM
        kind, align = ("uniform", uniform_align) if uniform else ("storage", storage_align)
        biggest = lim["max-uniform-buffer-binding-size" if uniform else "max-storage-buffer-binding-size"]
        checked = off if dyn is None else dyn
        if checked % align:
            note(key, f"{name}: offset {checked} is not a multiple of the {kind} offset alignment {align}",
                 b, off, off + n)
        if off + n > size[b]:
            note(key, f"{name}: {_bytes(off, off + n)} run past the end of {f.buffer_name(b)} ({int(size[b])} bytes)",
                 b, off, off + n)
        if dyn is None and n > biggest:
            note(key, f"{name}: {n} bytes exceed the {kind} binding size limit {biggest}", b, off, off + n)

    groups = f.of(Kind.BIND_GROUP)
    counts = t.nrows[groups].astype(np.int64)
    owner = np.repeat(groups, counts)
    rows = t.rows[spans(t.row_start[groups], counts)]
    slot, buf, off, n, acc = rows.T if len(rows) else np.zeros((5, 0), np.int64)
    is_buffer = np.isin(acc, [Access.UNIFORM, Access.READ_ONLY_STORAGE, Access.STORAGE])
    align = np.where(acc == Access.UNIFORM, uniform_align, storage_align)
    biggest = np.where(acc == Access.UNIFORM, lim["max-uniform-buffer-binding-size"],
                       lim["max-storage-buffer-binding-size"])
    bad = is_buffer & ((off % align != 0) | (off + n > size[buf]) | (n > biggest))
    for j in np.flatnonzero(bad).tolist():
        binding((int(owner[j]), int(slot[j])), f"binding {int(slot[j])}", int(buf[j]), int(off[j]), int(n[j]),
                int(acc[j]), None)

    sets = f.of(Kind.SET_BIND_GROUP)
    for i in sets[t.nrows[sets] > 0].tolist():
        for entry, b, o, size_, access, dyn in _dynamic_entries(f, i):
            binding((i, entry), f"binding {entry} with dynamic offset {dyn}", b, o + dyn, size_, access, dyn)

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
                    note((i, -1), f"{name}offset {o} is not a multiple of 4", b, o, o + m)
            if m % 4:
                note((i, -1), f"size {m} is not a multiple of 4", ranges[0][1], ranges[0][2], ranges[0][2] + m)
            for name, b, o in ranges:
                if o + m > size[b]:
                    note((i, -1), f"{name}{_bytes(o, o + m)} run past the end of {f.buffer_name(b)} "
                                  f"({int(size[b])} bytes)", b, o, o + m)

    out = []
    for key in sorted(problems):
        i = key[0]
        b, lo, hi = where[key]
        call = f.call(i)
        out.append(Finding("H5", ERROR, i, f.site(i), call, f"{call} at {f.site(i)}: " + "; ".join(problems[key]),
                           b, lo, hi))
    return out


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


@rule("H6", "stale read", WARNING,
      "A command reads bytes of an allocation that nothing wrote during that allocation's lifetime: a fresh "
      "buffer holds zeros there, pooled storage the previous tenant's data.")
def stale_read(f: Facts) -> list[Finding]:
    fp, runs, q = f.footprints, f.runs, f.queue
    reads = np.flatnonzero(runs & np.isin(fp.use, [Use.UNIFORM, Use.READ_ONLY_STORAGE, Use.INDIRECT, Use.COPY_SRC]))
    writes = np.flatnonzero(runs & fp.writes)
    qw = np.flatnonzero(q.writes)
    w_buffer = np.concatenate([fp.buffer[writes], q.buffer[qw]])
    w_lo = np.concatenate([fp.start[writes], q.lo[qw]])
    w_hi = np.concatenate([fp.end[writes], q.hi[qw]])
    w_t = np.concatenate([fp.command[writes], q.event[qw]])
    a = f.plan.allocations
    ri, ra = f.owners.pairs(fp.buffer[reads], fp.start[reads], fp.end[reads], fp.command[reads], padded=False)
    wi, wa = f.owners.pairs(w_buffer, w_lo, w_hi, w_t, padded=False)
    c_lo = np.maximum(w_lo[wi], a.offset[wa])
    c_hi = np.minimum(w_hi[wi], a.offset[wa] + a.size[wa])
    # reads after one write that covered the whole allocation are fine; the rest are examined byte by byte
    never = np.iinfo(np.int64).max
    whole = np.full(len(a), never, dtype=np.int64)
    covers = (c_lo <= a.offset[wa]) & (c_hi >= a.offset[wa] + a.size[wa])
    np.minimum.at(whole, wa[covers], w_t[wi][covers])
    doubt = fp.command[reads[ri]] <= whole[ra]
    ri, ra = ri[doubt], ra[doubt]
    if not len(ri):
        return []
    doubted = np.zeros(len(a), dtype=bool)
    doubted[ra] = True
    mine = doubted[wa]
    wi, wa, c_lo, c_hi = wi[mine], wa[mine], c_lo[mine], c_hi[mine]
    r_lo = np.maximum(fp.start[reads[ri]], a.offset[ra])
    r_hi = np.minimum(fp.end[reads[ri]], a.offset[ra] + a.size[ra])
    r_t = fp.command[reads[ri]]
    keys = group_keys([wa, wa, ra, ra], [c_lo, c_hi, r_lo, r_hi])
    seg = Segments(keys)
    first_write = seg.cover(seg.leaf[0], seg.leaf[1], w_t[wi], np.minimum, never)
    latest = seg.reduce(first_write, seg.leaf[2], seg.leaf[3], np.maximum, -1)
    stale = np.flatnonzero(latest >= r_t)

    by_alloc = np.argsort(wa, kind="stable")
    out = []
    for k in stale.tolist():
        alloc, t_read, row = int(ra[k]), int(r_t[k]), int(reads[ri[k]])
        lo, hi = _first_gap(int(r_lo[k]), int(r_hi[k]), alloc, t_read, wa, by_alloc, c_lo, c_hi, w_t[wi])
        i, b = int(fp.command[row]), int(fp.buffer[row])
        began = int(a.start[alloc])
        call = f.call(i)
        text = (f"{call} at {f.site(i)} reads {_bytes(lo, hi)} of {f.buffer_name(b)} (allocation {alloc}), which "
                f"nothing wrote since the allocation began at {f.site(began)}: a fresh buffer holds zeros "
                f"there, pooled storage the previous tenant's data")
        out.append(Finding("H6", WARNING, i, f.site(i), call, text, b, lo, hi, began, f.site(began),
                           f.call(began) if 0 <= began < f.n else None, (alloc,), ()))
    return out


def _first_gap(lo: int, hi: int, alloc: int, before: int, wa: np.ndarray, by_alloc: np.ndarray,
               w_lo: np.ndarray, w_hi: np.ndarray, w_t: np.ndarray) -> tuple[int, int]:
    """The first run of bytes in [lo, hi) that no write to ``alloc`` before ``before`` covered."""
    first = np.searchsorted(wa[by_alloc], alloc, side="left")
    last = np.searchsorted(wa[by_alloc], alloc, side="right")
    mine = by_alloc[first:last]
    mine = mine[(w_t[mine] < before) & (w_lo[mine] < hi) & (w_hi[mine] > lo)]
    at, stop = lo, hi
    for s, e in sorted(zip(w_lo[mine].tolist(), w_hi[mine].tolist(), strict=True)):
        if s > at:
            stop = min(hi, s)
            break
        at = max(at, e)
    return at, stop
