"""Traces larger than memory: validating a file window by window, and writing one piece by piece.

A file is already a sequence of chunks (``writer.CHUNK_EVENTS`` events each), and validation needs
little of what came before a chunk: how many objects of each type exist (ids are dense, so a
reference to an earlier object is known by its id alone), each pipeline layout's bind group layout
count, and the last timestamp (``validate.Seen``). So ``validate_file`` holds one chunk's columns at
a time, whatever the trace's length; the string and blob tables grow with the file, as they would
in a load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

import msgpack
import numpy as np

from .codec import encode_chunk, pack_record
from .errors import TraceError
from .model import EVENT_WIDTH, Trace
from .reader import TraceReader, load
from .schema import MAGIC
from .validate import Seen, validate
from .writer import CHUNK_EVENTS


@dataclass(frozen=True)
class Validated:
    """What a window-by-window validation saw: the header, the events, and where a trace cut short stops."""

    header: dict
    events: int
    cut_short: str | None


def validate_file(path: str | os.PathLike, *, partial: bool = False) -> Validated:
    """Validate the trace file at ``path`` chunk by chunk; raise TraceError at the first malformed event.

    The outcome is ``load``'s: the same trace is accepted or refused. On a malformed trace the event
    named may differ, as ``load`` reports the first one by check, this the first one by chunk. With
    ``partial``, a journal's events that do not fit the file are left out as ``load`` leaves them out
    (by loading it: only a recording cut short has a journal, and only then can this happen).
    """
    with TraceReader(path) as reader:
        seen = Seen()
        try:
            for first, window in reader.chunks(partial=partial, check=True):
                window.first = first
                validate(window, reader.name, seen)
        except TraceError:
            if reader.recovered is None or not reader.recovered.events:
                raise
            trace = load(path, partial=True)
            return Validated(trace.header, len(trace), trace.cut_short)
        return Validated(reader.header, reader.events_read, reader.cut_short)


def save_pieces(header: dict, pieces: Iterable[Trace], path: str | os.PathLike, *,
                chunk_events: int = CHUNK_EVENTS) -> int:
    """Write consecutive pieces of one trace as one file, holding one piece at a time; returns the event count.

    Every piece shares the first one's string and blob tables (a generator's pieces do), which travel in
    the first chunk as ``save`` writes them.
    """
    n = 0
    with open(path, "wb") as f:
        f.write(MAGIC + pack_record("H", msgpack.packb(header), compress=False))
        tables: tuple[list[str], list[bytes]] | None = None
        for piece in pieces:
            if tables is None:
                tables = (piece.strings, piece.blobs)
            elif (len(piece.strings), len(piece.blobs)) != (len(tables[0]), len(tables[1])):
                raise ValueError("pieces of one trace share the first piece's strings and blobs")
            n += _write_chunks(f, piece, chunk_events, tables if n == 0 else ([], []))
        f.write(pack_record("E", msgpack.packb({"events": n}), compress=False))
    return n


def _write_chunks(f: BinaryIO, piece: Trace, chunk_events: int, tables: tuple[list[str], list[bytes]]) -> int:
    events = np.empty((len(piece), EVENT_WIDTH), dtype=np.int64)
    events[:, 0] = piece.kind
    events[:, 1] = piece.t
    events[:, 2] = piece.site
    events[:, 3:9] = piece.args
    events[:, 9] = piece.nrows
    bounds = np.append(piece.row_start, len(piece.rows))
    for lo in range(0, len(piece), chunk_events):
        hi = min(lo + chunk_events, len(piece))
        strings, blobs = tables if lo == 0 else ([], [])
        body = encode_chunk(events[lo:hi], np.asarray(piece.rows[bounds[lo]:bounds[hi]]), strings, blobs)
        f.write(pack_record("C", body, compress=True))
    return len(piece)
