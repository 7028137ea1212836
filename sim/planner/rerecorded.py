"""The re-recording loop: every submitted command re-recorded under the pass policy, one encoder at a time.

The loop holds at most one encoder, and in it at most one compute pass. A dispatch opens them as
needed (a pass per dispatch under ``pass-per-dispatch``) and re-emits the set_pipeline and
set_bind_group calls its pass state needs that the pass does not have yet; a copy or clear ends
the pass; reads, maps, and the program's submits where the policy honours them, submit the
encoder (``flush``), as does ``max-tasks`` every N dispatches. Commands of encoders the program
never submits ran nothing: they are not visited.

A queue write lands at once, before the commands the encoder holds: when one of those commands,
submitted by the program before the write, uses the written buffer, the encoder is submitted first
(so is an explicit destroy of it). Per allocation the loop keeps the encoder ``epoch`` that last
used it and the earliest source submit among those uses. Under ``staging-copy`` a write becomes a
mapped staging buffer copied in by the encoder, destroyed once that encoder is submitted.

The render side (``render.py``), where the trace has one: a render pass that runs is visited at its
end and emitted whole, begin to end, as a pass of the open encoder (it closes the compute pass;
under max-tasks it counts as one task); textures are tracked as buffers are (resource ids after the
buffers'), so a ``write_texture`` or an explicit ``texture.destroy()`` submits first where a command
the program submitted before it uses the texture; ``flush-write`` submits before a ``write_texture``
too, and ``staging-copy`` stages it at a 256-byte pitch (``uploads.py``). Texture copies, query
resolves and ``write_timestamp`` are commands of the encoder, a ``read_texture`` a read. Bundle
encoders and what is recorded into them are emitted where they were recorded, with plan pass ids.
Debug markers on encoders and compute passes, and compute passes' ``timestamp_writes``, name
encoders and passes the plan does not have: they are left out (those inside render passes are kept).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...traces.digest import digest
from ...traces.errors import InputError
from ...traces.schema import KIND_NAMES
from ..footprint.state import PASS_NAMES, Passes
from ..footprint.table import columns_of, gather
from ..policies import PassPolicy
from . import fast
from .emitter import DROP_ROW, NO_ARGS_ROW, Emitter, pack_rec
from .guard import Trusted
from .kinds import (
    BUNDLE_ENCODER_CREATE,
    BUNDLE_FINISH,
    CLEAR,
    COPY,
    COPY_BUFFER_TO_TEXTURE,
    COPY_TEXTURE_TO_BUFFER,
    COPY_TEXTURE_TO_TEXTURE,
    CREATE,
    DEBUG_MARKER,
    DESTROY,
    DISPATCH,
    DISPATCH_INDIRECT,
    DRAW,
    DRAW_INDEXED,
    DRAW_INDEXED_INDIRECT,
    DRAW_INDIRECT,
    ENCODER_CREATE,
    ENCODER_FINISH,
    MAP,
    MAPPED_WRITE,
    PASS_BEGIN,
    PASS_END,
    QUERY_SET_DESTROY,
    QUEUE_READ,
    READ_TEXTURE,
    RENDER_PASS_BEGIN,
    RESOLVE_QUERY_SET,
    SET_BIND_GROUP,
    SET_INDEX_BUFFER,
    SET_PIPELINE,
    SET_VERTEX_BUFFER,
    SUBMIT,
    TEXTURE_DESTROY,
    WRITE_BUFFER,
    WRITE_TEXTURE,
    WRITE_TIMESTAMP,
    is_kind,
)
from .loop import Loop
from .render import RenderProgram
from .schedule import Schedule
from .uploads import repack, upload_layout


class RerecordingLoop(Loop):
    """The encoder and pass the loop holds, and what their commands touch; one method per event kind.

    ``enc`` / ``cpass``: the open encoder and pass (-1: none); ``epoch`` counts submitted encoders;
    ``used_epoch[b]`` / ``sub_min[b]``: the last epoch whose encoder used allocation ``b``, and the
    earliest source submit among that encoder's uses of it. ``pass_pipeline`` / ``pass_groups``:
    the pass state the open pass has (bind keys per group index). ``n_disp``: dispatches in the
    open encoder; max-tasks submits it at ``max_tasks`` (0: never).
    """

    def __init__(self, emitter: Emitter, passes: PassPolicy, schedule: Schedule):
        super().__init__(emitter, schedule, None)
        p = emitter.program
        self.visits = schedule.visits
        self.pass_per_dispatch, self.max_tasks = passes.pass_per_dispatch, passes.max_tasks
        self.flush_write, self.staged = passes.upload.flushes_first, passes.upload.staged
        self.honours_submits = passes.honours_submits
        if self.staged:  # each write's payload and digest (blob, hi, lo), read from the trace once
            self.write_events = np.flatnonzero(is_kind(emitter.trace.kind, (WRITE_BUFFER, MAPPED_WRITE)))
            self.write_payloads = np.stack([gather(c, self.write_events) for c in columns_of(emitter.trace.args)[3:6]],
                                           axis=1)
        self.kind_array, self.a0_array, self.a1_array, self.a2_array, self.n = (
            p.kind_array, p.a0_array, p.a1_array, p.a2_array, p.n)
        self.cmd_submit_array, self.fp_lo_array, self.fp_hi_array, self.fp_buffer_array = (
            p.cmd_submit_array, p.fp_lo_array, p.fp_hi_array, p.fp_buffer_array)
        self.pipeline_array, self.pipeline_set_array = p.pipeline_array, p.pipeline_set_array
        self.group_set_array, self.bind_key_array = p.group_set_array, p.bind_key_array
        self.synth, self.copy_event, self.copy_set = emitter.synth, emitter.copy_event, emitter.copy_set
        self.emit = emitter.out.frombytes
        render = p.render
        self.n_resources = len(emitter.sizes) + (render.n_textures if render is not None else 0)  # textures after
        self.used_epoch = [-1] * self.n_resources
        self.sub_min = [0] * self.n_resources
        self.staging_drops: list[int] = []
        self.epoch = 0
        self.enc = -1
        self.n_enc = 0
        self.cpass = -1
        self.n_pass = 0
        self.pass_pipeline = -1
        self.n_groups = len(p.group_set_array)
        self.pass_groups = [-1] * self.n_groups
        self.n_disp = 0
        self.handlers: dict[int, Callable[[int], None]] = {
            DISPATCH: self.dispatch, DISPATCH_INDIRECT: self.dispatch, COPY: self.command, CLEAR: self.command,
            WRITE_BUFFER: self.write, MAPPED_WRITE: self.write, CREATE: emitter.create, QUEUE_READ: self.read,
            MAP: self.read, DESTROY: self.destroy,
        }
        if passes.honours_submits:
            self.handlers[SUBMIT] = self.submit
        if render is not None:
            self._render_init(render)

    def _render_init(self, render: RenderProgram) -> None:
        """The render side: render passes (at their end), texture uploads and copies, bundles, query work.

        A pass command in a kind of pass that does not take it (a draw in a compute pass) is refused: the
        device rejects the program, and a re-recorded pass of the other kind would not be that program."""
        trace = self.emitter.trace
        misplaced, pass_kind = Passes.of(trace).misplaced(trace)
        if len(misplaced):
            i = int(misplaced[0])
            raise InputError(f"event {i} ({KIND_NAMES[int(trace.kind[i])]} at {trace.site_of(i)}) is recorded into a "
                             f"{PASS_NAMES[int(pass_kind[0])]}, which does not take it (H4); "
                             f"only as-recorded plans a program the device rejects")
        self.n_buffers = len(self.emitter.sizes)
        self.pass_events, self.pass_lo, self.pass_hi = render.pass_events, render.pass_lo, render.pass_hi
        self.pass_resource, self.pass_submit = render.pass_resource, render.pass_submit
        self.use_lo, self.use_hi = render.use_lo, render.use_hi
        self.deferred = render.deferred
        self.stashed: dict[int, list[int]] = {}
        self.blocks = render.blocks
        self.bundle_pass: dict[int, int] = {}
        self.handlers.update({
            PASS_END: self.render_pass, WRITE_TEXTURE: self.write_texture, READ_TEXTURE: self.read,
            TEXTURE_DESTROY: self.destroy_texture, QUERY_SET_DESTROY: self.destroy_query_set,
            COPY_BUFFER_TO_TEXTURE: self.command, COPY_TEXTURE_TO_BUFFER: self.command,
            COPY_TEXTURE_TO_TEXTURE: self.command, RESOLVE_QUERY_SET: self.command,
            WRITE_TIMESTAMP: self.write_timestamp, BUNDLE_ENCODER_CREATE: self.bundle_create,
            BUNDLE_FINISH: self.bundle_finish, DEBUG_MARKER: self.bundle_marker,
            **dict.fromkeys((SET_PIPELINE, SET_BIND_GROUP, SET_VERTEX_BUFFER, SET_INDEX_BUFFER, DRAW, DRAW_INDEXED,
                             DRAW_INDIRECT, DRAW_INDEXED_INDIRECT), self.bundle_command),
        })
        if self.deferred:
            self.handlers[DESTROY] = self.destroy_after_pass
            self.handlers[TEXTURE_DESTROY] = self.destroy_after_pass

    def open_encoder_used(self, b: int, f: int) -> bool:
        return self.used_epoch[b] == self.epoch

    def run(self) -> None:
        """Visit the scheduled events in order; storage given back before each; the last encoder submitted. In C
        (``fast.py``) where the package has it and the program no render side."""
        p = self.emitter.program
        if fast.LOOP is not None and p.render is None:
            self.command_at = np.full(p.n, -1, dtype=np.int64)  # per event, its command (-1: none)
            self.command_at[p.cmd_event] = np.arange(len(p.cmd_event))
            fast.LOOP.rerecord(self, fast.CODES, Trusted)
        else:
            self._run()
        self.handlers.clear()  # its bound methods hold the loop: without them reference counting frees it

    def _run(self) -> None:
        p = self.emitter.program
        self.kinds, self.a0, self.a1, self.a2 = p.kinds, p.a0, p.a1, p.a2
        self.command_of = dict(zip(p.cmd_event.tolist(), range(len(p.cmd_event)), strict=True))
        self.cmd_submit, self.fp_lo, self.fp_hi, self.fp_buffer = p.cmd_submit, p.fp_lo, p.fp_hi, p.fp_buffer
        self.pipeline, self.pipeline_set = p.pipeline, p.pipeline_set
        self.group_set, self.bind_key = p.group_set, p.bind_key
        if self.staged:  # by column: a third the cost of by row
            blob, hi, lo = self.write_payloads.T.tolist()
            self.payloads = dict(zip(self.write_events.tolist(), zip(blob, hi, lo, strict=True), strict=True))
        em, handlers, kinds, release, next_free = self.emitter, self.handlers, self.kinds, self.release, self.free_at[0]
        for i in self.visits:
            if next_free < i:
                next_free = release(i)
            em.cur = i
            handlers[kinds[i]](i)
        release(self.n)
        em.cur = self.n - 1
        self.flush()

    # -- one method per event kind ---------------------------------------------------------------

    def dispatch(self, i: int) -> None:
        """Into the open pass (a new one under pass-per-dispatch), after the set calls its pass state needs
        that the pass lacks; under max-tasks, the Nth dispatch submits the encoder. Records packed here, not
        through ``copy_set`` / ``copy_event``: most re-recorded events are dispatches and their set calls."""
        c = self.command_of[i]
        if self.enc < 0:
            self.open_encoder()
        if self.pass_per_dispatch or self.cpass < 0:
            self.begin_pass()
        cpass, emit, cur = self.cpass, self.emit, self.emitter.cur
        pipe = self.pipeline[c]
        if pipe >= 0 and pipe != self.pass_pipeline:
            s = self.pipeline_set[c]
            emit(pack_rec(s, SET_PIPELINE, cpass, cur, s))
            self.pass_pipeline = pipe
        pass_groups, bind_key = self.pass_groups, self.bind_key
        for g, sets in enumerate(self.group_set):
            s = sets[c]
            if s >= 0 and pass_groups[g] != bind_key[s]:
                emit(pack_rec(s, SET_BIND_GROUP, cpass, cur, s))
                pass_groups[g] = bind_key[s]
        emit(pack_rec(i, self.kinds[i], cpass, i, i))
        self.use(c)
        if self.pass_per_dispatch:
            self.end_pass()
        n_disp = self.n_disp = self.n_disp + 1
        if n_disp == self.max_tasks:
            self.flush()

    def command(self, i: int) -> None:
        """A copy or clear: recorded in the encoder, outside any pass."""
        if self.enc < 0:
            self.open_encoder()
        self.end_pass()
        self.copy_event(i, self.kinds[i], self.enc)
        self.use(self.command_of[i])

    def write(self, i: int) -> None:
        """A queue write, or a mapped write into a pooled buffer (pages are never mapped)."""
        b = self.a0[i]
        if (self.used_epoch[b] == self.epoch and self.sub_min[b] < i) or (self.flush_write and self.enc >= 0):
            self.flush()
        if self.staged:
            self.staged_write(i, b)
        else:
            self.copy_event(i, WRITE_BUFFER, b)

    def submit(self, i: int) -> None:
        """The program's submit, where the policy honours it: the plan's submit names it as origin."""
        self.flush(i)

    def read(self, i: int) -> None:
        """A queue read or a map: it waits for everything submitted, so the encoder goes first."""
        self.flush()
        self.copy_event(i, self.kinds[i], self.a0[i])

    def destroy(self, i: int) -> None:
        """An explicit destroy (not a drop) must follow the submit of the commands that use the buffer."""
        b = self.a0[i]
        if self.a1[i] == 0 and self.used_epoch[b] == self.epoch and self.sub_min[b] < i:
            self.flush()
        self.copy_event(i, DESTROY, self.emitter.phys[b])

    # -- the render side (visited only in traces that have one) -------------------------------------

    def render_pass(self, i: int) -> None:
        """A render pass that runs, at its end: emitted whole into the open encoder, its events in order, as a
        pass of its own; its commands (the begin, draws, bundle executions) are held by the encoder from now.
        Under max-tasks a render pass counts as one task."""
        if self.enc < 0:
            self.open_encoder()
        self.end_pass()
        rp, enc = self.n_pass, self.enc
        self.n_pass += 1
        em, kinds = self.emitter, self.kinds
        args, cur, out_extend = em.trace.args, em.cur, em.out.extend
        events = self.pass_events[self.pass_lo[i]:self.pass_hi[i]]
        begin = events[0]  # a pass's events start at its begin
        _, _, occlusion, descriptor, a4, a5 = args[begin].tolist()
        em.synth(RENDER_PASS_BEGIN, rp, (enc, occlusion, descriptor, a4, a5), begin, int(em.trace.nrows[begin]),
                 begin)
        for e in events[1:]:
            k = kinds[e]
            if k == DEBUG_MARKER:
                a = args[e].tolist()
                em.synth(k, enc if a[0] >= 0 else -1, (rp, *a[2:]), e)
            else:  # as copy_set: the event, into pass rp, at the time of the pass's end
                out_extend((e, k, rp, cur, e))
        epoch, used_epoch, sub_min = self.epoch, self.used_epoch, self.sub_min
        lo, hi = self.use_lo.get(i, 0), self.use_hi.get(i, 0)
        for b, s in zip(self.pass_resource[lo:hi], self.pass_submit[lo:hi], strict=True):  # as use(), per command
            if used_epoch[b] != epoch:
                used_epoch[b] = epoch
                sub_min[b] = s
            elif s < sub_min[b]:
                sub_min[b] = s
        for d in self.stashed.pop(i, ()):
            self.destroy_now(d)
        n_disp = self.n_disp = self.n_disp + 1
        if n_disp == self.max_tasks:
            self.flush()

    def destroy_after_pass(self, i: int) -> None:
        """A destroy or drop inside a render pass that uses what it destroys: held until the pass is emitted."""
        end = self.deferred.get(i)
        if end is not None:
            self.stashed.setdefault(end, []).append(i)
        elif self.kinds[i] == DESTROY:
            self.destroy(i)
        else:
            self.destroy_texture(i)

    def destroy_now(self, i: int) -> None:
        """Held destroy ``i``, at the time of the event being handled (as ``destroy`` / ``destroy_texture``)."""
        k, a0 = self.kinds[i], self.a0[i]
        b = a0 if k == DESTROY else self.n_buffers + a0
        if self.a1[i] == 0 and self.used_epoch[b] == self.epoch and self.sub_min[b] < i:
            self.flush()
        self.copy_set(i, k, self.emitter.phys[a0] if k == DESTROY else a0)

    def write_texture(self, i: int) -> None:
        """A texture upload: submitted after what the program submitted before it, as a queue write is; under
        staging-copy, a staging buffer at the padded pitch and a copy (where the format's block is known)."""
        t = self.n_buffers + self.a0[i]
        if (self.used_epoch[t] == self.epoch and self.sub_min[t] < i) or (self.flush_write and self.enc >= 0):
            self.flush()
        if not (self.staged and self.staged_texture_write(i, t)):
            self.copy_event(i, WRITE_TEXTURE, self.a0[i])

    def destroy_texture(self, i: int) -> None:
        """texture.destroy() must follow the submit of the commands the program submitted before it (a drop,
        visited only when held after a render pass, need not)."""
        t = self.n_buffers + self.a0[i]
        if self.a1[i] == 0 and self.used_epoch[t] == self.epoch and self.sub_min[t] < i:
            self.flush()
        self.copy_event(i, TEXTURE_DESTROY, self.a0[i])

    def destroy_query_set(self, i: int) -> None:
        """query_set.destroy(): after the open encoder is submitted (it may write or resolve the set)."""
        self.flush()
        self.copy_event(i, QUERY_SET_DESTROY, self.a0[i])

    def write_timestamp(self, i: int) -> None:
        """encoder.write_timestamp: recorded in the encoder, outside any pass."""
        if self.enc < 0:
            self.open_encoder()
        self.end_pass()
        self.copy_event(i, WRITE_TIMESTAMP, self.enc)

    def bundle_create(self, i: int) -> None:
        """A render bundle encoder: not in any encoder, kept where it was recorded, with a plan pass id."""
        bp = self.bundle_pass[self.a0[i]] = self.n_pass
        self.n_pass += 1
        self.copy_event(i, BUNDLE_ENCODER_CREATE, bp)

    def bundle_command(self, i: int) -> None:
        """A set call or draw recorded into a bundle encoder, as recorded."""
        self.copy_event(i, self.kinds[i], self.bundle_pass[self.a0[i]])

    def bundle_finish(self, i: int) -> None:
        a = self.emitter.trace.args[i].tolist()
        self.synth(BUNDLE_FINISH, a[0], (self.bundle_pass[a[1]], *a[2:]), i)

    def bundle_marker(self, i: int) -> None:
        a = self.emitter.trace.args[i].tolist()
        self.synth(DEBUG_MARKER, -1, (self.bundle_pass[a[1]], *a[2:]), i)

    def staged_texture_write(self, i: int, t: int) -> bool:
        """Upload ``i`` through a staging buffer: created mapped, filled at the padded pitch, unmapped, copied
        (``uploads.py``); the staging buffer goes once the encoder is submitted. False: left a write_texture."""
        em = self.emitter
        texture = self.a0[i]
        blocks = self.blocks
        layout = upload_layout(em.trace, i, (blocks.block_bytes[texture], blocks.block_width[texture],
                                             blocks.block_height[texture]))
        if layout is None:
            return False
        size, payload = layout.size, self.a2[i]
        blob, hi, lo = -1, 0, 0
        if 0 <= payload < len(em.trace.blobs):
            data = repack(em.trace.blobs[payload], layout)
            blob = em.add_blob(data)
            hi, lo = digest(data)
        sid = em.synth_staging(size, (blob, hi, lo), i)
        if self.enc < 0:
            self.open_encoder()
        self.end_pass()
        rows = em.trace.rows_of(i).tolist()
        em.synth_rows(COPY_BUFFER_TO_TEXTURE, self.enc, (sid, texture, 0, 0, 0), i,
                      (0, layout.bytes_per_row, layout.rows, 0, 0, *rows[1], *rows[2]))
        self.staging_drops.append(em.phys[sid])
        if self.used_epoch[t] != self.epoch:  # the copy stands for the upload, which took effect at i
            self.used_epoch[t] = self.epoch
            self.sub_min[t] = i
        return True

    # -- what the handlers emit ------------------------------------------------------------------

    def open_encoder(self) -> None:
        """A new encoder (none is open): the window opens, pages given back wait for its submit."""
        self.enc = self.n_enc
        self.n_enc += 1
        self.synth(ENCODER_CREATE, self.enc, (-1, 0, 0, 0, 0), -1)
        self.emitter.window_open = True

    def begin_pass(self) -> None:
        """A new pass in the open encoder, with no pipeline or bind group set yet."""
        self.cpass = self.n_pass
        self.n_pass += 1
        self.synth(PASS_BEGIN, self.cpass, (self.enc, 0, 0, 0, 0), -1)
        self.pass_pipeline = -1
        self.pass_groups = [-1] * self.n_groups

    def end_pass(self) -> None:
        """End the open pass, if any: copies, clears and submits happen outside passes."""
        if self.cpass >= 0:
            self.emitter.synth_fixed(PASS_END, self.cpass, NO_ARGS_ROW, -1)
            self.cpass = -1

    def flush(self, origin: int = -1) -> None:
        """Submit the open encoder, if any; ``origin``: the program's submit this one realises."""
        if self.enc < 0:
            return
        em = self.emitter
        self.end_pass()
        em.synth_fixed(ENCODER_FINISH, self.enc, NO_ARGS_ROW, -1)
        em.synth_submit(self.enc, origin)
        self.enc = -1
        self.n_disp = 0
        self.epoch += 1
        for page in self.staging_drops:
            em.synth_fixed(DESTROY, page, DROP_ROW, -1)
        self.staging_drops.clear()
        em.close_window()

    def staged_write(self, i: int, b: int) -> None:
        """Write ``i`` into ``b`` through a staging buffer: created mapped, written, unmapped, copied."""
        em, size = self.emitter, self.a2[i]
        if self.enc >= 0:
            sid = em.synth_staged_copy(size, self.payloads[i], i, self.enc, self.cpass, b, self.a1[i])
            self.cpass = -1
        else:
            sid = em.synth_staging(size, self.payloads[i], i)
            self.open_encoder()
            self.synth(COPY, self.enc, (sid, 0, b, self.a1[i], size), i)
        self.staging_drops.append(em.phys[sid])
        if self.used_epoch[b] != self.epoch:
            self.used_epoch[b] = self.epoch
            self.sub_min[b] = self.n

    # -- what the open encoder holds -------------------------------------------------------------

    def use(self, c: int) -> None:
        """The open encoder now holds command c: note which allocations it touches, and since when."""
        s, epoch, used_epoch, sub_min = self.cmd_submit[c], self.epoch, self.used_epoch, self.sub_min
        for b in self.fp_buffer[self.fp_lo[c]:self.fp_hi[c]]:
            if used_epoch[b] != epoch:
                used_epoch[b] = epoch
                sub_min[b] = s
            elif s < sub_min[b]:
                sub_min[b] = s
