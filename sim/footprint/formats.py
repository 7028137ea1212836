"""Texel blocks of WebGPU's texture formats: how many bytes a block holds and how many texels it spans.

Buffer sides of texture copies and the alignment rule read these: a copy moves whole blocks,
``bytes_per_row`` counts block rows, and an offset into the buffer is a multiple of the block size.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple


class Block(NamedTuple):
    """A format's texel block: bytes per block, and its width and height in texels."""

    bytes: int
    width: int = 1
    height: int = 1


_CHANNELS = {"r": 1, "rg": 2, "rgb": 3, "rgba": 4, "bgra": 4}
_PLAIN = re.compile(r"(rgba|bgra|rgb|rg|r)(8|16|32)(unorm|snorm|uint|sint|float)(-srgb)?")
_SPECIAL = {
    "rgb10a2unorm": 4, "rgb10a2uint": 4, "rg11b10ufloat": 4, "rgb9e5ufloat": 4,
    "stencil8": 1, "depth16unorm": 2, "depth24plus": 4, "depth24plus-stencil8": 4, "depth32float": 4,
    "depth32float-stencil8": 5,
}
_COMPRESSED = {
    "bc1": 8, "bc2": 16, "bc3": 16, "bc4": 8, "bc5": 16, "bc6h": 16, "bc7": 16,
    "etc2-rgb8": 8, "etc2-rgb8a1": 8, "etc2-rgba8": 16, "eac-r11": 8, "eac-rg11": 16,
}
_ASTC = re.compile(r"astc-(\d+)x(\d+)-")


@cache
def block(texture_format: str) -> Block | None:
    """The texel block of ``texture_format`` as WebGPU spells it ("rgba8unorm", "bc7-rgba-unorm"), or None."""
    m = _PLAIN.fullmatch(texture_format)
    if m:
        return Block(_CHANNELS[m[1]] * int(m[2]) // 8)
    if texture_format in _SPECIAL:
        return Block(_SPECIAL[texture_format])
    m = _ASTC.match(texture_format)
    if m:
        return Block(16, int(m[1]), int(m[2]))
    for prefix, size in sorted(_COMPRESSED.items(), key=lambda kv: -len(kv[0])):
        if texture_format.startswith(prefix):
            return Block(size, 4, 4)
    return None
