"""Reading traces: chunk by chunk (``TraceReader``) or whole (``load``).

Every failure on any input is a ``TraceError`` that says where: the byte offset of the record,
or the event index, kind and field that validation rejects.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO

import msgpack
import numpy as np

from .codec import Chunk, decode_chunk, unpack_record
from .errors import TraceError
from .model import Trace
from .schema import FORMAT_NAME, MAGIC, N_ARGS, ROW_WIDTH, VERSION
from .validate import validate, validate_header

Source = str | os.PathLike | bytes | BinaryIO


class TraceReader:
    """Streams a trace file: the header first, then one event block per chunk.

    After iteration, ``end`` holds the end record, or ``cut_short`` says where the file stops
    when it has none (a program killed mid-run).
    """

    def __init__(self, source: Source):
        self.name, self._file, self._own = _open(source)
        try:
            self._size = _size(self._file)
            if self._file.read(len(MAGIC)) != MAGIC:
                raise TraceError(f"{self.name}: byte 0: not a wgtrace file (no {MAGIC[:7].decode()} signature)",
                                 offset=0)
            self._unpacker = msgpack.Unpacker(self._file, raw=False, strict_map_key=True,
                                              max_buffer_size=2**31 - 1)
            self._pos = len(MAGIC)
            tag, body, offset = self._next_record()
            if tag != "H":
                raise TraceError(f"{self.name}: byte {offset}: expected the header record", offset=offset)
            self.header = _decode_header(body, f"{self.name}: byte {offset}")
        except BaseException:
            self.close()
            raise
        self.strings: list[str] = []
        self.blobs: list[bytes] = []
        self.end: dict | None = None
        self.cut_short: str | None = None
        self.events_read = 0

    def _next_record(self) -> tuple[str | None, bytes, int]:
        offset = self._pos
        try:
            record = next(self._unpacker)
        except StopIteration:
            if offset >= self._size:
                return None, b"", offset
            raise TraceError(f"{self.name}: file cut short at byte {self._size}, inside the record that starts at "
                             f"byte {offset}", offset=offset) from None
        except Exception as e:  # msgpack signals malformed bytes with several exception types
            raise TraceError(f"{self.name}: byte {offset}: undecodable record ({type(e).__name__})",
                             offset=offset) from None
        self._pos = self._unpacker.tell() + len(MAGIC)
        tag, body = unpack_record(record, offset)
        return tag, body, offset

    def chunks(self, partial: bool = False, check: bool = True) -> Iterator[tuple[int, Trace]]:
        """Yield (index of its first event, the chunk's events as a Trace) per chunk.

        Chunk traces share ``strings`` and ``blobs``, which grow as chunks arrive; their events
        are not validated against each other (``load`` does that). With ``partial``, a file cut
        short ends the iteration and sets ``cut_short`` instead of raising.
        """
        for first, chunk in self._chunks(partial):
            yield first, assemble(self.header, [chunk], self.strings, self.blobs, self.name if check else None)

    def _chunks(self, partial: bool) -> Iterator[tuple[int, Chunk]]:
        while True:
            try:
                tag, body, offset = self._next_record()
            except TraceError as e:
                if partial and "cut short" in str(e):
                    self.cut_short = f"{e} (after event {self.events_read})"
                    return
                raise
            where = f"{self.name}: byte {offset}"
            if tag is None:
                self.cut_short = (f"{self.name}: file ends at byte {offset} without its end record "
                                  f"(after event {self.events_read}): the recording stopped mid-run")
                if not partial:
                    raise TraceError(self.cut_short, offset=offset)
                return
            if tag == "E":
                self.end = _decode_end(body, where)
                if self.end["events"] != self.events_read:
                    raise TraceError(f"{where}: end record counts {self.end['events']} events, the file holds "
                                     f"{self.events_read}", offset=offset)
                if self._pos < self._size:
                    raise TraceError(f"{self.name}: byte {self._pos}: data after the end record", offset=self._pos)
                return
            if tag != "C":
                raise TraceError(f"{where}: unknown record tag {tag!r}", offset=offset)
            chunk = decode_chunk(body, f"{where} (chunk from event {self.events_read})")
            self.strings.extend(chunk.strings)
            self.blobs.extend(chunk.blobs)
            first = self.events_read
            self.events_read += chunk.n
            yield first, chunk

    def close(self) -> None:
        if self._own:
            self._file.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load(source: Source, *, partial: bool = False, check: bool = True) -> Trace:
    """Read a whole trace into columns and validate it.

    ``partial`` accepts a file cut short and returns its complete prefix, with ``cut_short``
    saying where it stops. ``check=False`` skips validation (only for files you wrote).
    """
    with TraceReader(source) as reader:
        chunks = [chunk for _, chunk in reader._chunks(partial)]
        trace = assemble(reader.header, chunks, reader.strings, reader.blobs, reader.name if check else None)
        trace.end, trace.cut_short = reader.end, reader.cut_short
    if check:
        validate(trace, name=reader.name)
    return trace


_NARROWED = (("kind", 0, 255), ("site", -1, 2**31 - 1), ("nrows", 0, 2**31 - 1), ("stack", -1, 2**31 - 1))


def assemble(header: dict, chunks: list[Chunk], strings: list[str], blobs: list[bytes],
             check_as: str | None) -> Trace:
    """Columns of consecutive chunks as one Trace; ``check_as`` names the file when range checks apply.

    ``args`` and ``rows`` are column-major: consumers read them a column at a time.
    """
    n = sum(c.n for c in chunks)
    m = sum(c.m for c in chunks)
    kind = np.empty(n, np.uint8)
    t = np.empty(n, np.int64)
    site = np.empty(n, np.int32)
    nrows = np.empty(n, np.int32)
    args = np.empty((n, N_ARGS), np.int64, order="F")
    rows = np.empty((m, ROW_WIDTH), np.int64, order="F")
    stack = np.full(n, -1, np.int32) if any(c.stack is not None for c in chunks) else None
    lo = rlo = 0
    for c in chunks:
        hi, rhi = lo + c.n, rlo + c.m
        if check_as is not None:
            for name, low, high in _NARROWED:
                col = c.stack if name == "stack" else c.cols[name]
                if col is not None and c.n and (int(col.min()) < low or int(col.max()) > high):
                    i = int(np.flatnonzero((col < low) | (col > high))[0])
                    raise TraceError(f"{check_as}: event {lo + i}: {name} {int(col[i])} is out of range", event=lo + i)
        if stack is not None and c.stack is not None:
            stack[lo:hi] = c.stack
        kind[lo:hi] = c.cols["kind"]
        site[lo:hi] = c.cols["site"]
        nrows[lo:hi] = c.cols["nrows"]
        np.cumsum(c.cols["t"], dtype=np.int64, out=t[lo:hi])
        if c.n:
            t[lo:hi] += c.t0 - int(c.cols["t"][0])
        for j in range(N_ARGS):
            args[lo:hi, j] = c.cols[f"a{j}"]
        for j in range(ROW_WIDTH):
            rows[rlo:rhi, j] = c.rows[j]
        lo, rlo = hi, rhi
    return Trace(header=header, kind=kind, t=t, site=site, args=args, nrows=nrows, rows=rows,
                 strings=strings, blobs=blobs, stack=stack)


def _open(source: Source) -> tuple[str, BinaryIO, bool]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", io.BytesIO(bytes(source)), True
    if not isinstance(source, (str, os.PathLike)):
        return getattr(source, "name", "<stream>"), source, False
    name = os.fspath(source)
    try:
        return name, open(name, "rb"), True
    except OSError as e:
        raise TraceError(f"{name}: cannot read: {e.strerror}") from None


def _size(f: BinaryIO) -> int:
    pos = f.tell()
    size = f.seek(0, io.SEEK_END)
    f.seek(pos)
    return size


def _unpack_map(body: bytes, where: str, what: str) -> dict:
    try:
        obj = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack signals malformed bytes with several exception types
        raise TraceError(f"{where}: undecodable {what} ({type(e).__name__})") from None
    if not isinstance(obj, dict):
        raise TraceError(f"{where}: the {what} is not a map")
    return obj


def _decode_header(body: bytes, where: str) -> dict:
    header = _unpack_map(body, where, "header")
    if header.get("format") != FORMAT_NAME:
        raise TraceError(f"{where}: header names format {header.get('format')!r}, not {FORMAT_NAME!r}")
    version = header.get("version")
    if not (isinstance(version, list) and len(version) == 2 and all(isinstance(v, int) for v in version)):
        raise TraceError(f"{where}: header field 'version' must be [major, minor], got {version!r}")
    if version[0] > VERSION[0]:
        raise TraceError(f"{where}: trace format {version[0]}.{version[1]} is newer than this wgtrace reads "
                         f"({VERSION[0]}.x): upgrade wgtrace")
    if version[0] < 1:
        raise TraceError(f"{where}: unknown trace format version {version[0]}.{version[1]}")
    validate_header(header, where)
    return header


def _decode_end(body: bytes, where: str) -> dict:
    end = _unpack_map(body, where, "end record")
    if not isinstance(end.get("events"), int):
        raise TraceError(f"{where}: end record lacks its event count")
    return end
