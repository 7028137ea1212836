"""A read of bytes that nothing wrote during the reading allocation's lifetime.

What it finds
    A command reads bytes of an allocation that nothing wrote during that allocation's lifetime: a fresh
    buffer holds zeros there, pooled storage the previous tenant's data.

Why it matters
    A program that counts on a new buffer reading as zeros works with a buffer per allocation and
    breaks under a pool, which hands it storage still holding another tensor's bytes. A warning: the
    read is valid WebGPU, and a kernel may well ignore what it reads there.

An example
    scratch = device.create_buffer(size=1024, usage=wgpu.BufferUsage.STORAGE)
    group = device.create_bind_group(layout=layout, entries=[
        {"binding": 0, "resource": {"buffer": scratch}},  # read-only storage, never written
        {"binding": 1, "resource": {"buffer": out}}])
    compute.set_bind_group(0, group)
    compute.dispatch_workgroups(4)  # reads zeros here, another tensor's data under a pool
"""

from __future__ import annotations

import numpy as np

from ...footprint import Use
from ..facts import Facts
from ..intervals import Segments, group_keys
from ..rule import WARNING, Finding, Rule
from .words import byte_span

_READS = [Use.UNIFORM, Use.READ_ONLY_STORAGE, Use.INDIRECT, Use.COPY_SRC, Use.VERTEX, Use.INDEX]


def stale_read(f: Facts) -> list[Finding]:
    fp, runs, q = f.footprints, f.runs, f.queue
    on_buffer = runs & ~fp.on_texture  # allocations are buffers'
    reads = np.flatnonzero(on_buffer & np.isin(fp.use, _READS))
    writes = np.flatnonzero(on_buffer & fp.writes)
    qw = np.flatnonzero(q.writes & (q.resource < fp.n_buffers))
    w_buffer = np.concatenate([fp.resource[writes], q.resource[qw]])
    w_lo = np.concatenate([fp.start[writes], q.lo[qw]])
    w_hi = np.concatenate([fp.end[writes], q.hi[qw]])
    w_t = np.concatenate([fp.command[writes], q.event[qw]])
    a = f.plan.allocations
    ri, ra = f.owners.pairs(fp.resource[reads], fp.start[reads], fp.end[reads], fp.command[reads], padded=False)
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
        i, b = int(fp.command[row]), int(fp.resource[row])
        began = int(a.start[alloc])
        call = f.call(i)
        text = (f"{call} at {f.site(i)} reads {byte_span(lo, hi)} of {f.buffer_name(b)} ({f.allocation_name(alloc)}), "
                f"which nothing wrote since the allocation began at {f.site(began)}: a fresh buffer holds zeros "
                f"there, pooled storage the previous tenant's data")
        out.append(RULE.finding(i, f.site(i), call, text, buffer=b, lo=lo, hi=hi, other_event=began,
                                other_site=f.site(began), other_call=f.call(began) if 0 <= began < f.n else None,
                                allocations=(alloc,)))
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


RULE = Rule("H6", "stale read", WARNING, stale_read, __doc__)
