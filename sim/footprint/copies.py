"""Texture copies: the texels on the texture side, and the bytes on the buffer side, of each copy.

A buffer side is the span from the copy's first byte to its last (rows may leave gaps when
``bytes_per_row`` is wider than a row of blocks; counting the gaps too never misses an overlap).
A format whose block size is not known reaches to the end of the buffer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...traces import Kind, Trace
from .table import Use, of_kind
from .textures import Runs, Textures

if TYPE_CHECKING:
    from . import _Parts

# positional rows: 0..2 of each kind, by what they hold
_LAYOUTS = {
    Kind.COPY_BUFFER_TO_TEXTURE: ("data", "texture", "extent"),
    Kind.COPY_TEXTURE_TO_BUFFER: ("texture", "data", "extent"),
    Kind.COPY_TEXTURE_TO_TEXTURE: ("texture", "texture", "extent"),
    Kind.WRITE_TEXTURE: ("data", "texture", "extent"),
    Kind.READ_TEXTURE: ("data", "texture", "extent"),
}


def layout_rows(trace: Trace, events: np.ndarray) -> np.ndarray:
    """The three positional rows of each event, as an (n, 3, 5) array."""
    return trace.rows[trace.row_ids(events)].reshape(len(events), 3, -1)


def box_runs(textures: Textures, texture: np.ndarray, location: np.ndarray, extent: np.ndarray) -> Runs:
    """The texels a copy location (mip, x, y, z, aspect) and extent (w, h, d) cover."""
    return textures.boxes(texture, location[:, 0], location[:, 1], location[:, 2], location[:, 3],
                          extent[:, 0], extent[:, 1], extent[:, 2])


def data_end(textures: Textures, texture: np.ndarray, layout: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """One past the last byte a buffer side (offset, bytes_per_row, rows_per_image) reaches; -1: format unknown."""
    width = np.maximum(textures.block_width[texture], 1)
    height = np.maximum(textures.block_height[texture], 1)
    block_bytes = textures.block_bytes[texture].astype(np.float64)
    across, rows = np.ceil(extent[:, 0] / width), np.ceil(extent[:, 1] / height)
    per_row = np.where(layout[:, 1] >= 0, layout[:, 1], across * block_bytes)
    per_image = np.where(layout[:, 2] >= 0, layout[:, 2], rows)
    need = per_row * per_image * (extent[:, 2] - 1.0) + per_row * (rows - 1) + across * block_bytes
    need = np.where((across > 0) & (rows > 0) & (extent[:, 2] > 0), need, 0)
    end = np.minimum(layout[:, 0] + need, 2.0 ** 62).astype(np.int64)
    return np.where(block_bytes > 0, end, -1)


def buffer_span(trace: Trace, textures: Textures, texture: np.ndarray, buffer: np.ndarray, layout: np.ndarray,
                extent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) of the bytes a buffer side spans, clipped to the buffer (to its end for an unknown format)."""
    size = trace.args[of_kind(trace, Kind.BUFFER_CREATE), 1][buffer]
    end = data_end(textures, texture, layout, extent)
    lo = np.minimum(layout[:, 0], size)
    hi = np.where(end < 0, size, np.minimum(end, size))
    return lo, np.maximum(hi, lo)


def texture_copies(trace: Trace, textures: Textures, parts: _Parts) -> None:
    """Buffer<->texture and texture<->texture copies: what each reads and writes."""
    for kind, (src, dst, _) in _LAYOUTS.items():
        if kind in (Kind.WRITE_TEXTURE, Kind.READ_TEXTURE):
            continue
        events = of_kind(trace, kind)
        if not len(events):
            continue
        rows = layout_rows(trace, events)
        extent = rows[:, 2, :3]
        for position, role, use in ((0, src, Use.COPY_SRC), (1, dst, Use.COPY_DST)):
            resource = trace.args[events, 1 + position]
            if role == "texture":
                runs = box_runs(textures, resource, rows[:, position], extent)
                o = runs.owner
                parts.add(events[o], textures.first_resource + resource[o], runs.lo, runs.hi, use)
            else:
                texture = trace.args[events, 2 - position]
                lo, hi = buffer_span(trace, textures, texture, resource, rows[:, position], extent)
                parts.add(events, resource, lo, hi, use)
