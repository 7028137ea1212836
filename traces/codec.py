"""Bytes on disk: record framing, checksums, compression and column packing (FORMAT.md).

A file is ``MAGIC`` then msgpack records ``[tag, crc32, codec, body]``: one header (tag "H"),
chunks of events ("C"), and an end record ("E") written on close. The checksum covers the stored
body, so a flipped byte anywhere is caught before anything is decoded.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
import zstandard

from .errors import TraceError

CODEC_RAW = 0
CODEC_ZSTD = 1
_INT_TYPES = (np.int8, np.int16, np.int32, np.int64)
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in (*_INT_TYPES, np.uint8)}
EVENT_COLUMNS = ("kind", "t", "site", "a0", "a1", "a2", "a3", "a4", "a5", "nrows")
ROW_COLUMNS = ("r0", "r1", "r2", "r3", "r4")
MAX_CHUNK_BYTES = 1 << 31

_compressor = zstandard.ZstdCompressor(level=3)
_decompressor = zstandard.ZstdDecompressor()


def pack_record(tag: str, body: bytes, compress: bool) -> bytes:
    raw_len = len(body)
    codec = CODEC_RAW
    if compress and raw_len > 256:
        body = _compressor.compress(body)
        codec = CODEC_ZSTD
    return msgpack.packb([tag, zlib.crc32(body), codec, raw_len, body])


def unpack_record(record: Any, offset: int) -> tuple[str, bytes]:
    """Check a framed record and return (tag, decoded body)."""
    if not (isinstance(record, list) and len(record) == 5 and isinstance(record[0], str)
            and type(record[1]) is int and type(record[2]) is int and record[2] in (CODEC_RAW, CODEC_ZSTD)
            and type(record[3]) is int and 0 <= record[3] <= MAX_CHUNK_BYTES
            and isinstance(record[4], bytes)):
        raise TraceError(f"byte {offset}: malformed record frame", offset=offset)
    tag, crc, codec, raw_len, body = record
    if zlib.crc32(body) != crc:
        raise TraceError(f"byte {offset}: checksum mismatch in {_tag_name(tag)} record (the file is corrupt)",
                         offset=offset)
    if codec == CODEC_ZSTD:
        try:
            body = _decompressor.decompress(body, max_output_size=raw_len)
        except zstandard.ZstdError as e:
            raise TraceError(f"byte {offset}: cannot decompress {_tag_name(tag)} record: {e}", offset=offset) from None
    if len(body) != raw_len:
        raise TraceError(f"byte {offset}: {_tag_name(tag)} record has {len(body)} bytes, frame says {raw_len}",
                         offset=offset)
    return tag, body


def _tag_name(tag: str) -> str:
    return {"H": "header", "C": "chunk", "E": "end"}.get(tag, repr(tag))


def narrow(col: np.ndarray) -> list:
    """A column as [dtype, bytes] in the smallest integer type that holds it."""
    if len(col) == 0:
        return ["<i8", b""]
    lo, hi = int(col.min()), int(col.max())
    for t in _INT_TYPES:
        info = np.iinfo(t)
        if info.min <= lo and hi <= info.max:
            return [np.dtype(t).str, col.astype(t).tobytes()]
    raise AssertionError("unreachable: int64 holds every column")


def column(obj: Any, n: int, where: str) -> np.ndarray:
    """Inverse of ``narrow``, left narrow (callers widen once, into the final array); checked."""
    if not (isinstance(obj, list) and len(obj) == 2 and obj[0] in _DTYPES and isinstance(obj[1], bytes)):
        raise TraceError(f"{where}: malformed column")
    dt = _DTYPES[obj[0]]
    if len(obj[1]) != n * dt.itemsize:
        raise TraceError(f"{where}: column holds {len(obj[1]) // max(dt.itemsize, 1)} values, expected {n}")
    return np.frombuffer(obj[1], dtype=dt)


def encode_chunk(events: np.ndarray, rows: np.ndarray, strings: list[str], blobs: list[bytes],
                 stack: np.ndarray | None = None) -> bytes:
    """Pack an (n, 10) event block and its (m, 5) rows; ``t`` is stored as deltas. ``stack``: the
    events' call stack string ids (-1 none), stored only when some event has one."""
    t = events[:, 1]
    dt = np.diff(t, prepend=t[:1]) if len(t) else t
    cols = {name: narrow(events[:, j]) for j, name in enumerate(EVENT_COLUMNS) if name != "t"}
    cols["t"] = narrow(dt)
    if stack is not None and len(stack) and int(stack.max()) >= 0:
        cols["stack"] = narrow(stack)
    body = {
        "n": len(events),
        "t0": int(t[0]) if len(t) else 0,
        "m": len(rows),
        "cols": cols,
        "rows": {name: narrow(rows[:, j]) for j, name in enumerate(ROW_COLUMNS)},
        "strings": strings,
        "blobs": blobs,
    }
    return msgpack.packb(body)


@dataclass
class Chunk:
    """One decoded chunk: narrow columns by name (``t`` still as deltas) and its side tables."""

    n: int
    m: int
    t0: int
    cols: dict[str, np.ndarray]
    rows: list[np.ndarray]
    strings: list[str]
    blobs: list[bytes]
    stack: np.ndarray | None = None  # the optional "stack" column, when the chunk has it


def decode_chunk(body: bytes, where: str) -> Chunk:
    try:
        obj = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack reports malformed input with several exception types
        raise TraceError(f"{where}: undecodable chunk ({type(e).__name__})") from None
    if not (isinstance(obj, dict) and isinstance(obj.get("n"), int) and isinstance(obj.get("m"), int)
            and isinstance(obj.get("t0"), int) and isinstance(obj.get("cols"), dict)
            and isinstance(obj.get("rows"), dict) and isinstance(obj.get("strings"), list)
            and isinstance(obj.get("blobs"), list)):
        raise TraceError(f"{where}: malformed chunk")
    n, m = obj["n"], obj["m"]
    if n < 0 or m < 0 or not 0 <= obj["t0"] < 1 << 62:
        raise TraceError(f"{where}: event count, row count or start time out of range")
    if not all(isinstance(s, str) for s in obj["strings"]):
        raise TraceError(f"{where}: string table holds a non-string")
    if not all(isinstance(b, bytes) for b in obj["blobs"]):
        raise TraceError(f"{where}: blob table holds a non-bytes value")
    cols = {name: column(obj["cols"].get(name), n, f"{where}, column {name!r}") for name in EVENT_COLUMNS}
    rows = [column(obj["rows"].get(name), m, f"{where}, row column {name!r}") for name in ROW_COLUMNS]
    stack = obj["cols"].get("stack")
    return Chunk(n, m, obj["t0"], cols, rows, obj["strings"], obj["blobs"],
                 None if stack is None else column(stack, n, f"{where}, column 'stack'"))


# -- the journal: the events not yet in a chunk, in a file-backed mapping beside the trace (FORMAT.md) --------------
#
# Little-endian int64 words. A header page, then three areas: event slots, rows, and a log of the strings and
# blobs added since the last chunk. Each area restarts at its beginning after every chunk, so stale data from
# earlier chunks stays behind the live part; every item carries what tells the two apart:
# - a slot is kind, t, site key, a0..a5, nrows, then its seal: the event's index + 1 (negative: a provisional
#   record of a call that had begun and not returned). The seal is written last, so a slot whose seal is the
#   next index is whole; the first slot's seal says which event the area starts at.
# - the rows of an event are written before its slot, in event order from the area's start.
# - a table record is (length, what, generation, crc32 of the data, key: its index in its table + 1), written
#   after its data, then the data padded to 8 bytes.

JOURNAL_SUFFIX = ".journal"
JOURNAL_MAGIC = b"WGTJRN\x00\x01"
JOURNAL_PAGE = 4096
SLOT_WIDTH = 11  # EVENT_COLUMNS, then the seal
SEAL = SLOT_WIDTH - 1
TABLE_RECORD = 40  # bytes before a table record's data
STRING_RECORD, BLOB_RECORD = 1, 2
# header: magic, token (16 bytes), then (offset, capacity) of the slots (in slots), the rows (in rows) and the
# table log (in bytes)
JOURNAL_HEADER = "<8s16s6q"
