"""The emission state both loops write the physical program into; also the Storage pools take pages from.

The loops emit records, not events: each record names a source event to copy (or a synthetic
row: a policy's own event), the kind and first argument the plan gives it, the source event being
handled (its time) and the origin. ``assemble`` turns them into columns in one numpy pass, so the
per-event cost of the loop is a few list appends. Every buffer reference is emitted with its
logical id; ``assemble`` maps it to (page, slice offset + offset) at the end.

Pages the pools give back wait while a window is open (an encoder holding commands is left
unsubmitted: they may still read the page) and are destroyed when it closes.
"""

from __future__ import annotations

import struct
from array import array

import numpy as np

from ...traces import Trace
from ..policies import Device, Exclusion, PoolPolicy
from . import fast
from .guard import Guard, GuardedAllocator, Trusted
from .kinds import (
    COPY,
    COPY_DST,
    COPY_SRC,
    CREATE,
    DESTROY,
    MAP_WRITE,
    MAPPABLE,
    MAPPED_WRITE,
    PASS_END,
    SUBMIT,
    UNIFORM,
    UNMAP,
)
from .program import LogicalProgram

REC = 5  # loop record: source event to copy (or -1 - synthetic row), kind, a0, source event being handled, origin
SYN = 7  # synthetic row: a1..a5, nrows, row source (a source event's rows, or -2 - index into the synthetic rows)
ROW = 5
NO_ARGS = (0, 0, 0, 0, 0)
DROP = (1, 0, 0, 0, 0)
# Records go into the arrays packed (native int64, as array("q") holds them): array.extend of a tuple converts
# item by item, at twice the cost of struct's pack and frombytes.
pack_rec = struct.Struct(f"{REC}q").pack
_pack_syn = struct.Struct(f"{SYN}q").pack
_pack_staging = (struct.Struct(f"{3 * REC}q").pack, struct.Struct(f"{3 * SYN}q").pack)
# a staged write's records in one pack: the staging buffer's three, then the copy (4), or an end of pass and it (5)
_pack_staged_copy = {n: (struct.Struct(f"{n * REC}q").pack, struct.Struct(f"{n * SYN}q").pack) for n in (4, 5)}
# the synthetic rows of events whose arguments never vary, packed once
NO_ARGS_ROW = _pack_syn(*NO_ARGS, 0, -1)
DROP_ROW = _pack_syn(*DROP, 0, -1)


class Emitter:
    """One plan's emission state: the records, synthetic rows, where each allocation lives.

    ``phys[b]``, ``offset[b]``: the physical buffer and offset of logical allocation ``b`` (past the
    program's buffers: staging buffers the plan adds). ``start_mark`` / ``end_mark``: per pooled
    allocation, the record count and source event when it got and gave back storage. ``managers[b]``:
    the pools allocation ``b`` reserves from, behind the ``guard`` that checks every answer of a
    policy wgtrace does not ship (``guard.py``). ``exclusion`` (under the pools' fixes, and for a pool that defers reuse
    itself): storage the open encoder's commands use, that a queue-filled allocation (any allocation,
    ``exclude_all``) must not take.
    """

    def __init__(self, trace: Trace, program: LogicalProgram, pool: PoolPolicy, limits: dict | None):
        self.trace, self.program, self.pool, self.limits = trace, program, pool, limits
        n_buffers = len(program.size)
        self.sizes = program.size.tolist()
        self.guard = Guard(pool, self._device(), self, program.usage, self.describe) if pool.pooled else None
        self.pooled = np.zeros(n_buffers, dtype=bool)
        if self.guard is not None:  # never a buffer that can be mapped, nor one created mapped and read while mapped
            self.pooled = ((program.usage & MAPPABLE) == 0) & ~(program.mapped & program.read_mapped)
            if program.render is not None:  # nor one a render pass may not share a page with (render.py)
                self.pooled &= ~program.render.unpoolable(self._alignment(self.guard))
        self.page_usage = (int(np.bitwise_or.reduce(program.usage[self.pooled])) | COPY_SRC | COPY_DST
                           if self.pooled.any() else 0)
        self.pooled_flags, self.uploaded = self.pooled.tolist(), program.uploaded.tolist()
        self.out = array("q")
        self.blobs: list[bytes] = []  # payloads the plan adds (a staged texture upload's padded rows)
        self.syn = array("q")
        self.syn_rows = array("q")
        self.phys = list(range(n_buffers))
        self.offset = [0] * n_buffers
        self.reserved = program.size.tolist()
        self.start_mark = ([-1] * n_buffers, [0] * n_buffers)
        self.end_mark = ([-1] * n_buffers, [0] * n_buffers)
        self.next_buffer = 0
        self.cur = 0
        self.window_open = False
        self.pending_destroys: list[int] = []
        uniform = (program.usage & UNIFORM) != 0
        self.managers = self._managers(self.guard, uniform) if self.guard is not None else []
        # pooled buffers whose read-only storage bindings the plan makes read-write (see read_write_bindings)
        self.read_write = self.pooled & ~uniform if pool.read_write_bindings else None
        self.exclude_all = pool.pooled and pool.defers_reuse
        self.exclusion = _exclusion(pool.fix == "range") if pool.pooled and (pool.fix or self.exclude_all) else None

    def _device(self) -> Device:
        return Device.from_limits(self.limits if self.limits is not None else self.trace.limits)

    def _alignment(self, guard: Guard) -> int:
        """The offset alignment of every slice the pools hand out on this device."""
        device = self._device()
        return guard.call(lambda: int(self.pool.parameters(device).get("alignment", 1)), "giving its parameters")

    def _managers(self, guard: Guard, uniform: np.ndarray) -> list[GuardedAllocator | Trusted]:
        """Per allocation, the pools it reserves from: uniforms apart where the policy keeps them apart."""
        storage_pools = guard.manager()
        uniform_pools = guard.manager() if self.pool.separate_uniform_pool else storage_pools
        return [uniform_pools if u else storage_pools for u in uniform.tolist()]

    def describe(self, b: int) -> str:
        """Allocation ``b`` as a policy's error names it: its size and the program's line that created it."""
        i = int(self.program.creates[b])
        return f"allocation {b} ({self.sizes[b]:,} bytes, created at {self.trace.site_of(i)}, event {i})"

    def alloc(self, size: int) -> int:
        """A new page for the pools, created at the event being handled, usable by every pooled buffer."""
        page = self.new_buffer()
        self.synth(CREATE, page, (size, self.page_usage, -1, 0, 0), -1)
        return page

    def dealloc(self, page: int) -> None:
        """A page the pools give back: destroyed now, or when the open window closes."""
        if self.window_open:
            self.pending_destroys.append(page)
        else:
            self.synth_fixed(DESTROY, page, DROP_ROW, -1)

    def new_buffer(self) -> int:
        """The id of the next physical buffer: ids follow creation order in the plan."""
        self.next_buffer += 1
        return self.next_buffer - 1

    def add_blob(self, data: bytes) -> int:
        """A payload the plan adds: its id in the plan's blob table (after the source's)."""
        self.blobs.append(data)
        return len(self.trace.blobs) + len(self.blobs) - 1

    def add_buffer(self) -> int:
        """A logical allocation past the program's, for a buffer the plan adds, on its own physical buffer."""
        self.phys.append(self.new_buffer())
        self.offset.append(0)
        return len(self.phys) - 1

    def copy_event(self, i: int, kind: int, a0: int) -> None:
        """Emit source event ``i`` with this kind and first argument, at its own time."""
        self.out.frombytes(pack_rec(i, kind, a0, i, i))

    def copy_set(self, s: int, kind: int, a0: int) -> None:
        """Emit the program's set call ``s`` again, into pass ``a0``, at the time of the event being handled."""
        self.out.frombytes(pack_rec(s, kind, a0, self.cur, s))

    def synth(self, kind: int, a0: int, rest: tuple[int, int, int, int, int], origin: int, nrows: int = 0,
              rowsrc: int = -1) -> None:
        """Emit an event that copies no source event."""
        syn = self.syn
        self.out.frombytes(pack_rec(-1 - len(syn) // SYN, kind, a0, self.cur, origin))
        syn.frombytes(_pack_syn(*rest, nrows, rowsrc))

    def synth_fixed(self, kind: int, a0: int, row: bytes, origin: int) -> None:
        """``synth`` of an event whose synthetic row is packed already (``NO_ARGS_ROW``, ``DROP_ROW``)."""
        syn = self.syn
        self.out.frombytes(pack_rec(-1 - len(syn) // SYN, kind, a0, self.cur, origin))
        syn.frombytes(row)

    def _staging_buffer(self) -> tuple[int, int]:
        """A new page for a staging buffer and its allocation, which starts at offset 0 of it."""
        page = self.next_buffer
        self.next_buffer = page + 1
        self.phys.append(page)
        self.offset.append(0)
        return page, len(self.phys) - 1

    def synth_staged_copy(self, size: int, payload: tuple[int, int, int], origin: int, encoder: int, cpass: int,
                          dst: int, dst_offset: int) -> int:
        """``synth_staging``, then the end of pass ``cpass`` unless it is -1, then the copy of the staging buffer
        into ``dst`` at ``dst_offset``, recorded in ``encoder``: a staged write into an open encoder in one call
        (``synth_staging`` and a ``synth`` per event cost about twice as much)."""
        page, sid = self._staging_buffer()
        syn, cur = self.syn, self.cur
        k = -1 - len(syn) // SYN
        staging = (k, CREATE, page, cur, -1, k - 1, MAPPED_WRITE, sid, cur, origin, k - 2, UNMAP, sid, cur, -1)
        rows = (size, MAP_WRITE | COPY_SRC, -1, 1, 0, 0, -1, 0, size, *payload, 0, -1, *NO_ARGS, 0, -1)
        copy = (sid, 0, dst, dst_offset, size, 0, -1)
        if cpass < 0:
            records, pack = _pack_staged_copy[4]
            self.out.frombytes(records(*staging, k - 3, COPY, encoder, cur, origin))
            syn.frombytes(pack(*rows, *copy))
        else:
            records, pack = _pack_staged_copy[5]
            self.out.frombytes(records(*staging, k - 3, PASS_END, cpass, cur, -1, k - 4, COPY, encoder, cur, origin))
            syn.frombytes(pack(*rows, *NO_ARGS, 0, -1, *copy))
        return sid

    def synth_staging(self, size: int, payload: tuple[int, int, int], origin: int) -> int:
        """A staging buffer the plan adds, filled: created mapped, written (``payload``: blob, digest hi and lo of
        write ``origin``) and unmapped; returns its allocation. Three ``synth`` calls and ``add_buffer`` in one (a
        staged upload's cost is mostly these)."""
        page, sid = self._staging_buffer()
        syn, cur = self.syn, self.cur
        k = -1 - len(syn) // SYN
        records, rows = _pack_staging
        self.out.frombytes(records(k, CREATE, page, cur, -1, k - 1, MAPPED_WRITE, sid, cur, origin,
                                   k - 2, UNMAP, sid, cur, -1))
        syn.frombytes(rows(size, MAP_WRITE | COPY_SRC, -1, 1, 0, 0, -1, 0, size, *payload, 0, -1, 0, 0, 0, 0, 0, 0, -1))
        return sid

    def synth_rows(self, kind: int, a0: int, rest: tuple[int, int, int, int, int], origin: int,
                   rows: tuple[int, ...]) -> None:
        """Emit an event that copies no source event, with rows of its own (``rows``: ROW ints per row)."""
        first = len(self.syn_rows) // ROW
        self.syn_rows.extend(rows)
        self.synth(kind, a0, rest, origin, len(rows) // ROW, -2 - first)

    def synth_submit(self, encoder: int, origin: int) -> None:
        """Emit a submit of plan encoder ``encoder`` (its one row is synthetic)."""
        self.syn_rows.extend((encoder, 0, 0, 0, 0))
        self.synth(SUBMIT, 0, NO_ARGS, origin, 1, -1 - len(self.syn_rows) // ROW)

    def create(self, i: int) -> None:
        """Buffer creation at source event ``i``: a pooled allocation reserves its slice (avoiding what
        ``exclusion`` holds when a queue write will fill it); any other buffer is created as recorded."""
        b = self.program.a0[i]
        if self.pooled_flags[b]:
            self.start_mark[0][b], self.start_mark[1][b] = len(self.out) // REC, i
            self.phys[b], self.offset[b], self.reserved[b] = self.managers[b].reserve(
                b, self.sizes[b], self.exclusion if self.uploaded[b] or self.exclude_all else None)
        else:
            self.phys[b] = self.new_buffer()
            self.copy_event(i, CREATE, self.phys[b])

    def release(self) -> None:
        """Drop the pools and the guard, once the plan is assembled. They hold the emitter (their storage), so
        with them it would wait for the garbage collector, whose next pass (inside the next plan) walks every list of
        it first; without them reference counting frees it now."""
        self.guard, self.managers, self.exclusion = None, [], None

    def close_window(self) -> None:
        """No encoder holding commands is left unsubmitted: pages given back can go now, no storage is in
        flight that an upload must avoid, and pools that hold freed storage back until a submit are told."""
        self.window_open = False
        if self.exclusion is not None:
            self.exclusion.clear()
        for page in self.pending_destroys:
            self.synth_fixed(DESTROY, page, DROP_ROW, -1)
        self.pending_destroys = []
        if self.guard is not None:
            self.guard.submitted()


def _exclusion(by_range: bool) -> Exclusion:
    """An empty Exclusion: the C one where the planner has its compiled part (``fast.py``; the same answers)."""
    return fast.LOOP.Exclusion(by_range) if fast.LOOP is not None else Exclusion(by_range)
