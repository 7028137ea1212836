"""Staged texture uploads: the padded layout a ``write_texture`` takes when it goes through a staging buffer.

``queue.write_texture`` takes any ``bytes_per_row``; ``copy_buffer_to_texture`` wants a multiple of
256. Under ``staging-copy`` an upload therefore becomes a staging buffer holding the same texel rows
at a padded pitch (each block row starts at a multiple of 256, each image after ``rows`` block rows,
the data at offset 0), then a copy into the texture with that layout. The plan's MAPPED_WRITE into
the staging buffer (origin: the program's ``write_texture``) carries the repacked bytes when the
recording has the payload; otherwise a replay makes the source write's bytes as it would for the
``write_texture`` itself and repacks them with ``staged_texture_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...traces import Kind, Trace
from ..footprint.formats import block

COPY_ROW_ALIGNMENT = 256


@dataclass(frozen=True)
class PaddedLayout:
    """A texture upload's rows: ``rows`` block rows of ``row_bytes`` per image, ``depth`` images.

    Source rows are ``src_bytes_per_row`` apart (images ``src_rows_per_image`` rows apart) in the
    recorded payload, which starts at the recorded layout's offset; staged ones ``bytes_per_row``
    apart from offset 0, images ``rows`` rows apart, in ``size`` bytes.
    """

    row_bytes: int
    rows: int
    depth: int
    src_bytes_per_row: int
    src_rows_per_image: int
    bytes_per_row: int

    @property
    def size(self) -> int:
        return self.bytes_per_row * self.rows * self.depth


def padded_layout(layout: tuple[int, int, int], extent: tuple[int, int, int],
                  texel_block: tuple[int, int, int]) -> PaddedLayout | None:
    """The staged layout of an upload with this data layout (offset, bytes_per_row, rows_per_image; -1: none),
    extent (w, h, d) and texel block (bytes, width, height); None when there is nothing to copy or the
    block is unknown (the upload then stays a ``write_texture``)."""
    block_bytes, block_width, block_height = texel_block
    width, height, depth = extent
    if block_bytes <= 0 or width <= 0 or height <= 0 or depth <= 0:
        return None
    across, rows = -(-width // max(block_width, 1)), -(-height // max(block_height, 1))
    row_bytes = across * block_bytes
    src_bpr = layout[1] if layout[1] >= 0 else row_bytes
    src_rpi = layout[2] if layout[2] >= 0 else rows
    padded = -(-row_bytes // COPY_ROW_ALIGNMENT) * COPY_ROW_ALIGNMENT
    return PaddedLayout(row_bytes, rows, depth, src_bpr, src_rpi, padded)


def repack(data: bytes, layout: PaddedLayout) -> bytes:
    """The staged bytes of ``data`` (a recorded payload, from the layout's offset on): each row at the padded
    pitch, the padding zero. Bytes the payload does not reach are left zero."""
    rows, row_bytes, src_pitch = layout.rows, layout.row_bytes, layout.src_bytes_per_row
    out = np.zeros((layout.depth, rows, layout.bytes_per_row), dtype=np.uint8)
    image = src_pitch * layout.src_rows_per_image
    need = (layout.depth - 1) * image + (rows - 1) * src_pitch + row_bytes
    src = np.zeros(max(need, 0), dtype=np.uint8)
    have = np.frombuffer(data, dtype=np.uint8)[:need]
    src[:len(have)] = have
    for z in range(layout.depth):
        out[z, :, :row_bytes] = as_strided(src[z * image:], shape=(rows, row_bytes), strides=(src_pitch, 1),
                                           writeable=False)
    return out.tobytes()


def upload_layout(trace: Trace, i: int, texel_block: tuple[int, int, int]) -> PaddedLayout | None:
    """The staged layout of ``write_texture`` event ``i`` (see ``padded_layout``)."""
    rows = trace.rows_of(i).tolist()
    (offset, per_row, per_image), (width, height, depth) = rows[0][:3], rows[2][:3]
    return padded_layout((offset, per_row, per_image), (width, height, depth), texel_block)


def texture_block(trace: Trace, texture: int) -> tuple[int, int, int]:
    """The texel block (bytes, width, height) of ``texture``'s format; 0 bytes when the format is unknown."""
    event = int(trace.where(Kind.TEXTURE_CREATE)[texture])
    b = block(trace.strings[int(trace.args[event, 4])])
    return (b.bytes, b.width, b.height) if b is not None else (0, 1, 1)


def staged_texture_bytes(source: Trace, write_event: int, data: bytes) -> bytes:
    """What the staging buffer of source ``write_texture`` ``write_event`` holds in a staging-copy plan, from
    the write's bytes (``data``: recorded or made up, from its layout's offset on), as the planner lays it out."""
    if int(source.kind[write_event]) != Kind.WRITE_TEXTURE:
        raise ValueError(f"event {write_event} of the source is not a write_texture")
    layout = upload_layout(source, write_event, texture_block(source, int(source.args[write_event, 0])))
    if layout is None:
        raise ValueError(f"write_texture {write_event} is not staged (nothing to copy, or an unknown format)")
    return repack(data, layout)
