"""Saving a rendered frame, shared by the render examples: .npy, or a PNG written with zlib alone."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np


def write_png(path: Path, rgba: np.ndarray) -> None:
    """Write an (h, w, 4) uint8 array as an 8-bit RGBA PNG (zlib only, no image library)."""
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[y].tobytes() for y in range(h))  # filter type 0 on each row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))


def save_frame(path: str, frame: np.ndarray) -> None:
    """Write the frame as .npy (when the name ends so) or PNG."""
    target = Path(path)
    if target.suffix == ".npy":
        np.save(target, frame)
    else:
        write_png(target, np.ascontiguousarray(frame, dtype=np.uint8))
