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
"""

from __future__ import annotations

from collections.abc import Callable

from ..policies import PassPolicy
from .emitter import DROP, NO_ARGS, Emitter
from .kinds import (
    CLEAR,
    COPY,
    COPY_SRC,
    CREATE,
    DESTROY,
    DISPATCH,
    DISPATCH_INDIRECT,
    ENCODER_CREATE,
    ENCODER_FINISH,
    MAP,
    MAP_WRITE,
    MAPPED_WRITE,
    PASS_BEGIN,
    PASS_END,
    QUEUE_READ,
    SET_BIND_GROUP,
    SET_PIPELINE,
    SUBMIT,
    UNMAP,
    WRITE_BUFFER,
)
from .loop import Loop
from .schedule import Schedule


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
        self.kinds, self.a0, self.a1, self.a2, self.n = p.kinds, p.a0, p.a1, p.a2, p.n
        self.cmd_submit, self.fp_lo, self.fp_hi, self.fp_buffer = p.cmd_submit, p.fp_lo, p.fp_hi, p.fp_buffer
        self.pipeline, self.pipeline_set, self.group_set, self.bind_key = (
            p.pipeline, p.pipeline_set, p.group_set, p.bind_key)
        self.command_of = dict(zip(p.cmd_event.tolist(), range(len(p.cmd_submit)), strict=True))
        self.synth, self.copy_event, self.copy_set = emitter.synth, emitter.copy_event, emitter.copy_set
        self.used_epoch = [-1] * len(emitter.sizes)
        self.sub_min = [0] * len(emitter.sizes)
        self.staging_drops: list[int] = []
        self.epoch = 0
        self.enc = -1
        self.n_enc = 0
        self.cpass = -1
        self.n_pass = 0
        self.pass_pipeline = -1
        self.n_groups = len(self.group_set)
        self.pass_groups = [-1] * self.n_groups
        self.n_disp = 0
        self.handlers: dict[int, Callable[[int], None]] = {
            DISPATCH: self.dispatch, DISPATCH_INDIRECT: self.dispatch, COPY: self.command, CLEAR: self.command,
            WRITE_BUFFER: self.write, MAPPED_WRITE: self.write, CREATE: emitter.create, QUEUE_READ: self.read,
            MAP: self.read, DESTROY: self.destroy,
        }
        if passes.honours_submits:
            self.handlers[SUBMIT] = self.submit

    def open_encoder_used(self, b: int, f: int) -> bool:
        return self.used_epoch[b] == self.epoch

    def run(self) -> None:
        """Visit the scheduled events in order; storage given back before each; the last encoder submitted."""
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
        that the pass lacks; under max-tasks, the Nth dispatch submits the encoder."""
        c, per_dispatch = self.command_of[i], self.pass_per_dispatch
        if self.enc < 0:
            self.open_encoder()
        if per_dispatch or self.cpass < 0:
            self.begin_pass()
        cpass, copy_set = self.cpass, self.copy_set
        pipe = self.pipeline[c]
        if pipe >= 0 and pipe != self.pass_pipeline:
            copy_set(self.pipeline_set[c], SET_PIPELINE, cpass)
            self.pass_pipeline = pipe
        pass_groups, bind_key = self.pass_groups, self.bind_key
        for g, sets in enumerate(self.group_set):
            s = sets[c]
            if s >= 0 and pass_groups[g] != bind_key[s]:
                copy_set(s, SET_BIND_GROUP, cpass)
                pass_groups[g] = bind_key[s]
        self.copy_event(i, self.kinds[i], cpass)
        self.use(c)
        if per_dispatch:
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
            self.synth(PASS_END, self.cpass, NO_ARGS, -1)
            self.cpass = -1

    def flush(self, origin: int = -1) -> None:
        """Submit the open encoder, if any; ``origin``: the program's submit this one realises."""
        if self.enc < 0:
            return
        em = self.emitter
        self.end_pass()
        self.synth(ENCODER_FINISH, self.enc, NO_ARGS, -1)
        em.synth_submit(self.enc, origin)
        self.enc = -1
        self.n_disp = 0
        self.epoch += 1
        for page in self.staging_drops:
            self.synth(DESTROY, page, DROP, -1)
        self.staging_drops.clear()
        em.close_window()

    def staged_write(self, i: int, b: int) -> None:
        """Write ``i`` into ``b`` through a staging buffer: created mapped, written, unmapped, copied."""
        em, size = self.emitter, self.a2[i]
        sid = em.add_buffer()
        self.synth(CREATE, em.phys[sid], (size, MAP_WRITE | COPY_SRC, -1, 1, 0), -1)
        self.synth(MAPPED_WRITE, sid, (0, size, *em.trace.args[i, 3:6].tolist()), i)
        self.synth(UNMAP, sid, NO_ARGS, -1)
        if self.enc < 0:
            self.open_encoder()
        self.end_pass()
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
