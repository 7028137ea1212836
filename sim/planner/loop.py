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
        self.windows = windows

    @abstractmethod
    def used_by_open_encoder(self, b: int, f: int) -> bool:
        """Whether a command of the encoder open after event ``f`` used allocation ``b``."""

    def release(self, stop: int) -> None:
        """Give back the storage of allocations that end before event ``stop``, each at the time of its free."""
        em, free_at, free_buffer, windows, fi = self.emitter, self.free_at, self.free_buffer, self.windows, self.fi
        exclusion, managers, phys, offset = em.exclusion, em.managers, em.phys, em.offset
        end_rec, end_at = em.end_mark
        while free_at[fi] < stop:
            f, b = free_at[fi], free_buffer[fi]
            fi += 1
            em.cur = f
            if windows is not None:
                em.window_open = windows[f]
            end_rec[b], end_at[b] = len(em.out) // REC, f
            managers[b].free(phys[b], offset[b])
            if exclusion is not None and self.used_by_open_encoder(b, f):
                exclusion.add(phys[b], offset[b], offset[b] + max(em.sizes[b], 1))
        self.fi = fi
