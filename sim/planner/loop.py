"""What the as-recorded and re-recording loops share: the frees cursor and ``release``.

A pooled allocation gives its storage back after its last event; if a command of the still-open
encoder used it, the storage is still in flight, so a later queue-filled allocation must not take
it (``Exclusion``, under the pools' fixes). The two loops differ only in how they know what the
open encoder holds: as recorded, from the lifted windows; re-recording, from the encoder they hold.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .emitter import REC, Emitter
from .schedule import Schedule


class Loop(ABC):
    """The program-order walk over the scheduled events; subclasses say what the open encoder used.

    ``windows``: the window state after each event, where the loop knows it in advance (as
    recorded); None where the loop's own encoder is the window (re-recording keeps it as it goes).
    """

    def __init__(self, emitter: Emitter, schedule: Schedule, windows: list[bool] | None):
        self.emitter = emitter
        self.free_at, self.free_buffer = schedule.free_at, schedule.free_buffer
        self.fi = 0
        # what release() reads, in one tuple: it runs before most visits, and often frees just one allocation
        self.release_state = (schedule.free_at, schedule.free_buffer, windows, emitter.exclusion, emitter.managers,
                              emitter.phys, emitter.offset, *emitter.end_mark)

    @abstractmethod
    def open_encoder_used(self, b: int, f: int) -> bool:
        """An encoder holding commands is open after event ``f``: whether one of them used allocation ``b``."""

    def release(self, stop: int) -> int:
        """Give back the storage of allocations that end before event ``stop``, each at the time of its free;
        return the event the next free follows (the loops call again once they pass it)."""
        em, fi = self.emitter, self.fi
        free_at, free_buffer, windows, exclusion, managers, phys, offset, end_rec, end_at = self.release_state
        while free_at[fi] < stop:
            f, b = free_at[fi], free_buffer[fi]
            fi += 1
            em.cur = f
            if windows is not None:
                em.window_open = windows[f]
            end_rec[b], end_at[b] = len(em.out) // REC, f
            managers[b].free(b, phys[b], offset[b])
            if exclusion is not None and em.window_open and self.open_encoder_used(b, f):
                exclusion.add(phys[b], offset[b], offset[b] + max(em.sizes[b], 1))
        self.fi = fi
        return free_at[fi]
