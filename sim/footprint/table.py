"""The footprint table's plain data: what role a range plays in a command, and the table's columns.

A resource is a buffer (ids 0..n_buffers-1, ranges in bytes) or a texture (id n_buffers + its
texture id, ranges on its texel line, see ``textures``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ...traces import Trace
from ...traces.columns import Column, Table


class Use(IntEnum):
    """The role a range plays in a command; 1-3 equal traces' Access codes."""

    UNKNOWN = 0
    UNIFORM = 1
    READ_ONLY_STORAGE = 2
    STORAGE = 3
    INDIRECT = 4
    COPY_SRC = 5
    COPY_DST = 6
    CLEAR = 7
    VERTEX = 8
    INDEX = 9
    SAMPLED = 10
    STORAGE_TEXTURE_READ = 11
    STORAGE_TEXTURE_WRITE = 12
    STORAGE_TEXTURE_READ_WRITE = 13
    ATTACHMENT = 14  # a render target cleared (or left as it is) and drawn into
    ATTACHMENT_LOAD = 15  # a render target loaded, then drawn into
    ATTACHMENT_READ_ONLY = 16  # a depth-stencil attachment that is read-only
    RESOLVE = 17  # a multisampled target's resolve target
    QUERY_RESOLVE = 18  # the buffer a query set is resolved into


class Scope(IntEnum):
    """How WebGPU's usage scope rule sees a use within a pass (copies and clears are in none)."""

    NONE = 0
    INPUT = 1  # read-only: may meet any other read-only use
    STORAGE = 2  # writable storage: may meet other writable storage only
    ATTACHMENT = 3  # a render attachment: may meet nothing else


_ROLES = {  # use: (reads, writes, scope)
    Use.UNKNOWN: (1, 1, Scope.NONE), Use.UNIFORM: (1, 0, Scope.INPUT), Use.READ_ONLY_STORAGE: (1, 0, Scope.INPUT),
    Use.STORAGE: (1, 1, Scope.STORAGE), Use.INDIRECT: (1, 0, Scope.INPUT), Use.COPY_SRC: (1, 0, Scope.NONE),
    Use.COPY_DST: (0, 1, Scope.NONE), Use.CLEAR: (0, 1, Scope.NONE), Use.VERTEX: (1, 0, Scope.INPUT),
    Use.INDEX: (1, 0, Scope.INPUT), Use.SAMPLED: (1, 0, Scope.INPUT), Use.STORAGE_TEXTURE_READ: (1, 0, Scope.INPUT),
    Use.STORAGE_TEXTURE_WRITE: (0, 1, Scope.STORAGE), Use.STORAGE_TEXTURE_READ_WRITE: (1, 1, Scope.STORAGE),
    Use.ATTACHMENT: (0, 1, Scope.ATTACHMENT), Use.ATTACHMENT_LOAD: (1, 1, Scope.ATTACHMENT),
    Use.ATTACHMENT_READ_ONLY: (1, 0, Scope.INPUT), Use.RESOLVE: (0, 1, Scope.ATTACHMENT),
    Use.QUERY_RESOLVE: (0, 1, Scope.NONE),
}
READS = np.array([_ROLES[u][0] for u in Use], dtype=bool)
WRITES = np.array([_ROLES[u][1] for u in Use], dtype=bool)
SCOPE = np.array([_ROLES[u][2] for u in Use], dtype=np.int64)


@dataclass(eq=False)
class Footprints:
    """One row per (command, range), sorted by command event index.

    ``slot``: ``group * 65536 + binding`` for a binding, the slot of a vertex buffer, the index of a
    color attachment (-1: the depth-stencil one), else -1. ``scope``: the event that opens the row's
    usage scope (a dispatch itself, a render pass's begin), -1 for copies and clears.
    ``n_buffers``: resources from this id on are textures.
    """

    command: np.ndarray
    encoder: np.ndarray
    resource: np.ndarray
    start: np.ndarray
    end: np.ndarray
    use: np.ndarray
    slot: np.ndarray
    scope: np.ndarray
    n_buffers: int = 0

    def __len__(self) -> int:
        return len(self.command)

    @property
    def reads(self) -> np.ndarray:
        return READS[self.use]

    @property
    def writes(self) -> np.ndarray:
        return WRITES[self.use]

    @property
    def on_texture(self) -> np.ndarray:
        return self.resource >= self.n_buffers


@dataclass(eq=False)
class Commands:
    """Every recorded command and where it was recorded.

    Commands: dispatches, draws, render pass begins (their attachments), bundle executions (their
    draws), buffer and texture copies, clears and query resolves. ``pipeline``: the pipeline a
    dispatch or draw ran (-1 otherwise, or with none set); ``compute_pass``/``render_pass``: the
    pass of a dispatch, or of a draw, begin or execution (-1 otherwise).
    """

    event: np.ndarray
    encoder: np.ndarray
    compute_pass: np.ndarray
    pipeline: np.ndarray
    render_pass: np.ndarray


def columns_of(table: np.ndarray | Table) -> list:
    """The columns of a two-dimensional table: a loaded trace's narrow ``Column`` objects, else array views."""
    return table.columns if isinstance(table, Table) else [table[:, j] for j in range(table.shape[1])]


def gather(column: np.ndarray | Column, idx: np.ndarray) -> np.ndarray:
    """``column[idx]``, widening a narrow column whole first where ``idx`` takes a good share of it: its own
    gather searches the values it keeps aside once per index taken."""
    if isinstance(column, Column) and 4 * len(idx) >= len(column):
        return np.asarray(column)[idx]
    return column[idx]


def of_kind(trace: Trace, *kinds: int) -> np.ndarray:
    """Indices of the events of these kinds, in program order. From an index of the trace's events by kind, made
    once per trace (one stable sort, cached on it): ``Trace.where`` scans every event per call, and a lift asks
    some twenty times."""
    index = trace._cache.get("sim.events_by_kind")
    if index is None or index[0] is not trace.kind:  # (a kind column put in place of the one indexed)
        order = np.argsort(trace.kind, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(trace.kind, minlength=256))])
        index = trace._cache["sim.events_by_kind"] = trace.kind, order, bounds
    _, order, bounds = index
    wanted = sorted({int(k) for k in kinds})
    if not wanted:
        return np.zeros(0, dtype=np.int64)
    if len(wanted) == 1:
        return order[bounds[wanted[0]]:bounds[wanted[0] + 1]].copy()
    return np.sort(np.concatenate([order[bounds[k]:bounds[k + 1]] for k in wanted]))
