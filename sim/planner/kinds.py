"""The trace's kind and usage codes as plain ints, and masks of events by kind.

The planner's loops compare kinds per event: comparing with an IntEnum member costs an attribute
lookup each time, so the codes they read are module-level ints. The masks are table lookups,
because ``np.isin`` sorts every time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...traces import BufferUsage, Kind, Trace
from ..footprint.table import of_kind

COPY_DST, COPY_SRC, MAP_WRITE, UNIFORM = map(int, (BufferUsage.COPY_DST, BufferUsage.COPY_SRC, BufferUsage.MAP_WRITE,
                                                   BufferUsage.UNIFORM))
MAPPABLE = int(BufferUsage.MAP_READ | BufferUsage.MAP_WRITE)

CREATE, DESTROY, ENCODER_CREATE, ENCODER_FINISH, PASS_BEGIN, PASS_END, SET_PIPELINE, SET_BIND_GROUP, DISPATCH, \
    DISPATCH_INDIRECT, COPY, CLEAR, WRITE_BUFFER, SUBMIT, MAP, UNMAP, MAPPED_WRITE, QUEUE_READ = map(int, (
        Kind.BUFFER_CREATE, Kind.BUFFER_DESTROY, Kind.ENCODER_CREATE, Kind.ENCODER_FINISH, Kind.PASS_BEGIN,
        Kind.PASS_END, Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.COPY,
        Kind.CLEAR, Kind.WRITE_BUFFER, Kind.SUBMIT, Kind.MAP, Kind.UNMAP, Kind.MAPPED_WRITE, Kind.QUEUE_READ))

TEXTURE_DESTROY, QUERY_SET_DESTROY, RENDER_PASS_BEGIN, SET_VERTEX_BUFFER, SET_INDEX_BUFFER, DRAW, DRAW_INDEXED, \
    DRAW_INDIRECT, DRAW_INDEXED_INDIRECT, BUNDLE_ENCODER_CREATE, BUNDLE_FINISH, COPY_BUFFER_TO_TEXTURE, \
    COPY_TEXTURE_TO_BUFFER, COPY_TEXTURE_TO_TEXTURE, WRITE_TEXTURE, READ_TEXTURE, RESOLVE_QUERY_SET, WRITE_TIMESTAMP, \
    DEBUG_MARKER = map(int, (
        Kind.TEXTURE_DESTROY, Kind.QUERY_SET_DESTROY, Kind.RENDER_PASS_BEGIN, Kind.SET_VERTEX_BUFFER,
        Kind.SET_INDEX_BUFFER, Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT,
        Kind.BUNDLE_ENCODER_CREATE, Kind.BUNDLE_FINISH, Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
        Kind.COPY_TEXTURE_TO_TEXTURE, Kind.WRITE_TEXTURE, Kind.READ_TEXTURE, Kind.RESOLVE_QUERY_SET,
        Kind.WRITE_TIMESTAMP, Kind.DEBUG_MARKER))


def is_kind(kind: np.ndarray, kinds: Sequence[int]) -> np.ndarray:
    """Mask of events whose kind is one of ``kinds``."""
    table = np.zeros(256, dtype=bool)
    table[np.asarray(kinds, dtype=np.int64)] = True
    return table[kind]


def events_of(trace: Trace, *kinds: Kind) -> np.ndarray:
    """Indices of the events of these kinds, in program order (``footprint.table.events``)."""
    return of_kind(trace, *kinds)
