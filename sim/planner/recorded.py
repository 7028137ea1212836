"""The as-recorded loop: the program's own encoders, passes and submits, placed by numpy.

Only buffer creations, destroys and frees need a decision (a slice of a page; a page destroyed
once no encoder holding commands is left unsubmitted), and, under pools, the events that close a
window, where pages given back can go. The loop visits nothing else.
"""

from __future__ import annotations

from . import fast
from .emitter import Emitter
from .guard import Trusted
from .kinds import CREATE
from .loop import Loop
from .schedule import Schedule


class RecordedLoop(Loop):
    """The windows are the program's own, lifted once: open after an event, and since when."""

    def __init__(self, emitter: Emitter, schedule: Schedule):
        program = emitter.program
        window_open: list[bool] = program.window_open.tolist()
        super().__init__(emitter, schedule, window_open)
        self.window_open = window_open
        self.visits, self.acts = schedule.visits, schedule.acts
        self.window_start: list[int] = program.window_start.tolist()
        self.last_command_use: list[int] = program.last_command_use.tolist()
        self.kind_array, self.a0_array, self.n = program.kind_array, program.a0_array, program.n
        self.n_resources = len(emitter.sizes)

    def open_encoder_used(self, b: int, f: int) -> bool:
        return self.last_command_use[b] >= self.window_start[f]

    def run(self) -> None:
        """Visit the scheduled events in order: a window that closes lets pages given back go. In C (``fast.py``)
        where the package has it."""
        if fast.LOOP is not None:
            fast.LOOP.record(self, fast.CODES, Trusted)
            return
        em, release, next_free = self.emitter, self.release, self.free_at[0]
        kinds, a0, phys = em.program.kinds, em.program.a0, em.phys
        window_open, create, copy_event, close_window = self.window_open, em.create, em.copy_event, em.close_window
        for i, act in zip(self.visits, self.acts, strict=True):
            if next_free < i:
                next_free = release(i)
            em.cur = i
            is_open = window_open[i]
            if em.window_open and not is_open:
                close_window()
            em.window_open = is_open
            if not act:
                continue
            k = kinds[i]
            if k == CREATE:
                create(i)
            else:
                copy_event(i, k, phys[a0[i]])
        release(em.program.n)
