"""Writing traces: a streaming, append-only writer, and ``save`` for a whole Trace.

The writer flushes a chunk every ``chunk_events`` events or ``flush_seconds``, and on ``flush()``,
so a program that dies leaves every flushed chunk on disk, each one loadable on its own.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import BinaryIO

import msgpack
import numpy as np

from .codec import encode_chunk, pack_record
from .errors import TraceError
from .model import EVENT_WIDTH, Trace, TraceBuilder, split_keys
from .schema import FORMAT_NAME, MAGIC, ROW_WIDTH, VERSION

CHUNK_EVENTS = 65536


def make_header(**fields: object) -> dict:
    """A v1 header with every required field; ``fields`` add or override."""
    header: dict[str, object] = {
        "format": FORMAT_NAME,
        "version": list(VERSION),
        "wgpu_version": None,
        "adapter": None,
        "limits": None,
        "capture": {"mode": "digest", "payload_cap": 0},
        "program": [],
        "start_time": datetime.now(UTC).isoformat(timespec="microseconds"),
    }
    header.update(fields)
    return header


def _open(path: str | os.PathLike | BinaryIO) -> tuple[BinaryIO, bool]:
    if not isinstance(path, (str, os.PathLike)):
        return path, False
    try:
        return open(path, "wb"), True
    except OSError as e:
        raise TraceError(f"cannot write trace {os.fspath(path)!r}: {e.strerror}") from None


class TraceWriter(TraceBuilder):
    """Streams events to a file as they are appended."""

    def __init__(self, path: str | os.PathLike | BinaryIO, header: dict, *, chunk_events: int = CHUNK_EVENTS,
                 flush_seconds: float = 0.5, compress: bool = True):
        super().__init__(header)
        self._file, self._own = _open(path)
        self._compress = compress
        self._chunk_limit = chunk_events * EVENT_WIDTH
        self._flush_ns = int(flush_seconds * 1e9)
        self._flush_due = self._flush_ns
        self._strings_written = 0
        self.closed = False
        self._write(MAGIC + pack_record("H", msgpack.packb(self.header), compress=False))

    def flush(self) -> None:
        """Write the pending events as one chunk (nothing if none are pending)."""
        if self._events:
            ev = np.frombuffer(self._events, dtype=np.int64).reshape(-1, EVENT_WIDTH)
            rows = np.frombuffer(self._rows, dtype=np.int64).reshape(-1, ROW_WIDTH)
            site, stack = split_keys(ev[:, 2])  # the recorder appends site_key keys (model.py)
            if stack is not None:
                ev = ev.copy()
                ev[:, 2] = site
            body = encode_chunk(ev, rows, self._string_list[self._strings_written:], self._blobs, stack)
            self._write(pack_record("C", body, self._compress))
            self._strings_written = len(self._string_list)
            self._blob_base += len(self._blobs)
            self._blobs = []
            self._events = type(self._events)("q")
            self._rows = type(self._rows)("q")
        self._flush_due = perf_counter_ns() - self._t0 + self._flush_ns

    def close(self, end: dict | None = None) -> None:
        """Flush and write the end record; ``end`` says how the program finished."""
        if self.closed:
            return
        self.flush()
        self._write(pack_record("E", msgpack.packb({**(end or {}), "events": self._n}), compress=False))
        self.closed = True
        if self._own:
            self._file.close()

    def build(self, end: dict | None = None) -> Trace:
        raise TypeError("a TraceWriter streams to its file; load the file to get a Trace")

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()


def save(trace: Trace, path: str | os.PathLike | BinaryIO, *, chunk_events: int = CHUNK_EVENTS,
         compress: bool = True) -> None:
    """Write a whole in-memory trace straight from its columns.

    The string and blob tables travel in the first chunk, so every prefix of chunks resolves.
    """
    f, own = _open(path)
    try:
        f.write(MAGIC + pack_record("H", msgpack.packb(trace.header), compress=False))
        n = len(trace)
        events = np.empty((n, EVENT_WIDTH), dtype=np.int64)
        events[:, 0] = trace.kind
        events[:, 1] = trace.t
        events[:, 2] = trace.site
        events[:, 3:9] = trace.args
        events[:, 9] = trace.nrows
        bounds = np.append(trace.row_start, len(trace.rows))
        for lo in range(0, n, chunk_events) if n else [0]:
            hi = min(lo + chunk_events, n)
            first = lo == 0
            body = encode_chunk(events[lo:hi], trace.rows[bounds[lo]:bounds[hi]],
                                trace.strings if first else [], trace.blobs if first else [],
                                None if trace.stack is None else trace.stack[lo:hi])
            f.write(pack_record("C", body, compress))
        f.write(pack_record("E", msgpack.packb({**(trace.end or {}), "events": n}), compress=False))
    finally:
        if own:
            f.close()
