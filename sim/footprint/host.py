"""Host-side accesses: what queue writes, mapped writes and host reads touch, on the queue's timeline.

They take effect at their call, before every command not yet submitted. A buffer access is one
byte range; a texture upload or read-back covers the texels of its box (one run per row, or per
slice), each a row of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from .copies import box_runs, layout_rows
from .table import of_kind
from .textures import Textures

# kind -> whether the access writes
BUFFER_HOST = {Kind.WRITE_BUFFER: True, Kind.MAPPED_WRITE: True, Kind.QUEUE_READ: False, Kind.READ: False}
TEXTURE_HOST = {Kind.WRITE_TEXTURE: True, Kind.READ_TEXTURE: False}


@dataclass(frozen=True)
class HostAccesses:
    """Host-side accesses in program order: event, resource, range [lo, hi), and whether it writes.

    An event may have several rows (a texture box); they are adjacent.
    """

    event: np.ndarray
    resource: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    writes: np.ndarray

    def events(self) -> np.ndarray:
        """The distinct events, in program order."""
        return np.unique(self.event)


def host_accesses(trace: Trace, textures: Textures | None = None) -> HostAccesses:
    """Every host-side access of ``trace`` (``textures``: the trace's, if already built)."""
    events = of_kind(trace, *BUFFER_HOST)
    a = trace.args[events]
    writes = np.isin(trace.kind[events], [k for k, w in BUFFER_HOST.items() if w])
    cols = [events, a[:, 0], a[:, 1], a[:, 1] + a[:, 2], writes]
    uploads = of_kind(trace, *TEXTURE_HOST)
    if len(uploads):
        textures = textures or Textures(trace, len(of_kind(trace, Kind.BUFFER_CREATE)))
        rows = layout_rows(trace, uploads)
        texture = trace.args[uploads, 0]
        runs = box_runs(textures, texture, rows[:, 1], rows[:, 2, :3])
        o = runs.owner
        more = [uploads[o], textures.first_resource + texture[o], runs.lo, runs.hi,
                trace.kind[uploads[o]] == Kind.WRITE_TEXTURE]
        cols = [np.concatenate([c, m]) for c, m in zip(cols, more, strict=True)]
        order = np.argsort(cols[0], kind="stable")
        cols = [c[order] for c in cols]
    return HostAccesses(*cols)
