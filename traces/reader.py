"""Reading traces: chunk by chunk (``TraceReader``) or whole (``load``).

Every failure on any input is a ``TraceError`` that says where: the byte offset of the record,
or the event index, kind and field that validation rejects.
"""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import msgpack
import numpy as np

from .codec import (
    BLOB_RECORD,
    EVENT_COLUMNS,
    JOURNAL_HEADER,
    JOURNAL_MAGIC,
    JOURNAL_SUFFIX,
    SEAL,
    SLOT_WIDTH,
    STRING_RECORD,
    TABLE_RECORD,
    Chunk,
    decode_chunk,
    unpack_record,
)
from .columns import Column, Table, narrow
from .errors import TraceError
from .model import EVENT_WIDTH, Trace, split_keys
from .schema import FORMAT_NAME, MAGIC, N_ARGS, ROW_WIDTH, VERSION, Kind
from .validate import validate, validate_header

Source = str | os.PathLike | bytes | BinaryIO


class TraceReader:
    """Streams a trace file: the header first, then one event block per chunk.

    After iteration, ``end`` holds the end record, or ``cut_short`` says where the file stops
    when it has none (a program killed mid-run). A recording cut short keeps the events it had not
    yet put in a chunk in its journal beside the file (writer.py); read from a path with ``partial``,
    they come as one last chunk, and ``recovered`` says how many.
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
        self.recovered: Recovery | None = None

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

    def count(self, partial: bool = False) -> int:
        """How many events the file holds, read to its end without building a trace."""
        for _ in self._chunks(partial):
            pass
        return self.events_read

    def _chunks(self, partial: bool) -> Iterator[tuple[int, Chunk]]:
        while True:
            try:
                tag, body, offset = self._next_record()
            except TraceError as e:
                if partial and "cut short" in str(e):
                    self.cut_short = f"{e} (after event {self.events_read})"
                    yield from self._journal_tail()
                    return
                raise
            where = f"{self.name}: byte {offset}"
            if tag is None:
                self.cut_short = (f"{self.name}: file ends at byte {offset} without its end record "
                                  f"(after event {self.events_read}): the recording stopped mid-run")
                if not partial:
                    raise TraceError(self.cut_short, offset=offset)
                yield from self._journal_tail()
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

    def _journal_tail(self) -> Iterator[tuple[int, Chunk]]:
        """The events, strings and blobs the journal holds beyond the complete chunks, as one chunk."""
        info = self.header.get("journal")
        if not isinstance(info, dict) or self.name.startswith("<") or not isinstance(info.get("token"), str):
            return
        names = [self.name + JOURNAL_SUFFIX]
        if isinstance(info.get("file"), str):
            names.append(os.path.join(os.path.dirname(self.name), os.path.basename(info["file"])))
        for path in names:
            try:
                f = open(path, "rb")
            except OSError:
                continue
            with f:
                found = read_journal(f, bytes.fromhex(info["token"]), self.events_read, len(self.strings),
                                     len(self.blobs))
            if found is None:
                continue
            chunk, unfinished = found
            self.recovered = Recovery(path, chunk.n, unfinished)
            self.cut_short = f"{self.cut_short}; {self.recovered.describe(self.events_read)}"
            if chunk.n or chunk.strings or chunk.blobs:
                self.strings.extend(chunk.strings)
                self.blobs.extend(chunk.blobs)
                first = self.events_read
                self.events_read += chunk.n
                yield first, chunk
            return
        self.cut_short = (f"{self.cut_short}; no journal of this recording is beside it ({names[0]!r}), so what the "
                          f"program did after event {self.events_read} is lost")

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
        trace = _assemble(reader, chunks, check)
        if check:
            try:
                validate(trace, name=reader.name)
            except TraceError as e:
                if reader.recovered is None or not reader.recovered.events:
                    raise
                # a journal that does not fit its file is left out: the complete chunks still load
                n = reader.recovered.events
                del reader.strings[len(reader.strings) - len(chunks[-1].strings):]
                del reader.blobs[len(reader.blobs) - len(chunks[-1].blobs):]
                reader.cut_short = (f"{(reader.cut_short or '').split('; ')[0]}; its journal {reader.recovered.path!r} "
                                    f"does not fit the file ({e}), so its {n} events are left out")
                reader.recovered = None
                trace = _assemble(reader, chunks[:-1], check)
                validate(trace, name=reader.name)
    return trace


def _assemble(reader: TraceReader, chunks: list[Chunk], check: bool) -> Trace:
    trace = assemble(_with_device(reader.header, chunks, reader.strings), chunks, reader.strings, reader.blobs,
                     reader.name if check else None)
    trace.end, trace.cut_short = reader.end, reader.cut_short
    if reader.recovered is not None and reader.recovered.unfinished:
        trace.unfinished = len(trace) - 1
    return trace


def _with_device(header: dict, chunks: list[Chunk], strings: list[str]) -> dict:
    """The header, with the adapter and limits of the first DEVICE event where it says they come from there
    (``deferred``: a recorder writes its header before the program asks for a device)."""
    deferred = header.get("deferred")
    if not isinstance(deferred, list) or not any(header.get(f) is None for f in ("adapter", "limits") if f in deferred):
        return header
    for c in chunks:
        hits = np.flatnonzero(c.cols["kind"] == Kind.DEVICE)
        if len(hits):
            i = int(hits[0])
            header = dict(header)
            for field, col in (("adapter", "a1"), ("limits", "a2")):
                s = int(c.cols[col][i])
                if field in deferred and header.get(field) is None and 0 <= s < len(strings):
                    with contextlib.suppress(ValueError):
                        value = json.loads(strings[s])
                        header[field] = value if isinstance(value, dict) else None
            return header
    return header


@dataclass(frozen=True)
class Recovery:
    """What a cut-short trace's journal gave back: ``events`` beyond the complete chunks; ``unfinished``: the
    last of them is a call that had begun and not returned (the program died inside it)."""

    path: str
    events: int
    unfinished: bool

    def describe(self, first: int) -> str:
        if not self.events:
            return f"its journal {self.path!r} holds no later events: nothing the recorder saw is missing"
        last = f"events {first} to {first + self.events - 1}" if self.events > 1 else f"event {first}"
        out = f"{self.events} more event{'s' if self.events > 1 else ''} ({last}) recovered from its journal " \
              f"{self.path!r}: nothing the recorder saw is missing"
        if self.unfinished:
            out += (f"; event {first + self.events - 1} is a call that began and never returned: the program "
                    f"died inside it")
        return out


def read_journal(f: BinaryIO, token: bytes, events: int, strings: int, blobs: int) -> tuple[Chunk, bool] | None:
    """The events from index ``events`` on, the strings from ``strings`` on and the blobs from ``blobs`` on
    that a journal holds (see codec.py for its layout), as a chunk, and whether its last event is
    provisional; None when the file is not this recording's journal."""
    try:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # empty, or not a mappable file
        return None
    with mm:
        size = len(mm)
        if size < struct.calcsize(JOURNAL_HEADER):
            return None
        magic, tok, ev_off, ev_cap, row_off, row_cap, var_off, var_cap = struct.unpack_from(JOURNAL_HEADER, mm, 0)
        if magic != JOURNAL_MAGIC or tok != token:
            return None
        ev_cap = max(0, min(ev_cap, (size - ev_off) // (SLOT_WIDTH * 8)))
        row_cap = max(0, min(row_cap, (size - row_off) // (ROW_WIDTH * 8)))
        var_end = max(var_off, min(var_off + var_cap, size))
        # events: consecutive seals from the first slot's; a provisional one ends them
        slots = np.frombuffer(mm, dtype="<i8", count=ev_cap * SLOT_WIDTH, offset=ev_off).reshape(ev_cap, SLOT_WIDTH)
        seal = np.abs(slots[:, SEAL])
        base = int(seal[0]) - 1 if ev_cap else -1
        k = 0
        if base >= 0:
            good = seal == base + 1 + np.arange(ev_cap)
            k = int(np.argmin(good)) if not good.all() else ev_cap
            negative = np.flatnonzero(slots[:k, SEAL] < 0)
            if len(negative):
                k = int(negative[0]) + 1
        skip = events - base
        if base < 0 or skip < 0 or skip > k:  # nothing here, or a gap after the file's events
            k = skip = 0
        nrows = slots[:k, EVENT_WIDTH - 1]
        r0, r1 = int(nrows[:skip].sum()), int(nrows.sum())
        if r1 > row_cap or (k and (int(nrows.min()) < 0)):
            k = skip = r0 = r1 = 0
        ev = slots[skip:k, :EVENT_WIDTH].copy()
        unfinished = bool(k > skip and slots[k - 1, SEAL] < 0)
        rows = np.frombuffer(mm, dtype="<i8", count=(r1 - r0) * ROW_WIDTH,
                             offset=row_off + r0 * ROW_WIDTH * 8).reshape(-1, ROW_WIDTH).copy()
        del slots, seal, nrows
        new_strings, new_blobs = _table_log(mm, var_off, var_end, strings, blobs)
    site, stack = split_keys(ev[:, 2])
    t = ev[:, 1]
    cols = {name: ev[:, j] for j, name in enumerate(EVENT_COLUMNS)}
    cols["site"] = site
    cols["t"] = np.diff(t, prepend=t[:1]) if len(t) else t
    return Chunk(len(ev), len(rows), int(t[0]) if len(t) else 0, cols, [rows[:, j] for j in range(ROW_WIDTH)],
                 new_strings, new_blobs, stack), unfinished


def _table_log(mm: mmap.mmap, pos: int, end: int, strings: int, blobs: int) -> tuple[list[str], list[bytes]]:
    """The strings and blobs past the first ``strings`` and ``blobs`` that the journal's table log holds: whole
    records of one generation, each the next of its table, up to the first that is not."""
    out: tuple[list[str], list[bytes]] = ([], [])
    have = [strings, blobs]
    last: list[int | None] = [None, None]
    gen = None
    while pos + TABLE_RECORD <= end:
        length, what, g, crc, key = struct.unpack_from("<5q", mm, pos)
        data_end = pos + TABLE_RECORD + length
        if what not in (STRING_RECORD, BLOB_RECORD) or length < 0 or data_end > end or (gen is not None and g != gen):
            break
        j = what - 1
        if key < 1 or (last[j] is not None and key != last[j] + 1) or key - 1 > have[j]:
            break
        data = mm[pos + TABLE_RECORD:data_end]
        if zlib.crc32(data) != crc:
            break
        if key - 1 == have[j]:
            if what == STRING_RECORD:
                try:
                    out[0].append(data.decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    break
            else:
                out[1].append(data)
            have[j] += 1
        gen, last[j] = g, key
        pos = (data_end + 7) & ~7
    return out


_NARROWED = (("kind", 0, 255), ("site", -1, 2**31 - 1), ("nrows", 0, 2**31 - 1), ("stack", -1, 2**31 - 1))


def assemble(header: dict, chunks: list[Chunk], strings: list[str], blobs: list[bytes],
             check_as: str | None) -> Trace:
    """Columns of consecutive chunks as one Trace; ``check_as`` names the file when range checks apply.

    Each column is joined wide, then held in its narrow form (``columns.py``) before the next is
    joined, so a load holds one wide column at a time beside the narrow trace.
    """
    lo = 0
    for c in chunks:
        if check_as is not None:
            for name, low, high in _NARROWED:
                col = c.stack if name == "stack" else c.cols[name]
                if col is not None and c.n and (int(col.min()) < low or int(col.max()) > high):
                    i = int(np.flatnonzero((col < low) | (col > high))[0])
                    raise TraceError(f"{check_as}: event {lo + i}: {name} {int(col[i])} is out of range", event=lo + i)
        lo += c.n
    stack = None
    if any(c.stack is not None for c in chunks):
        stack = narrow(_joined([c.stack if c.stack is not None else np.full(c.n, -1) for c in chunks], np.int32))
    args = Table([Column.of(_joined([c.cols[f"a{j}"] for c in chunks], np.int64)) for j in range(N_ARGS)])
    rows = Table([Column.of(_joined([c.rows[j] for c in chunks], np.int64)) for j in range(ROW_WIDTH)])
    return Trace(header=header, kind=_joined([c.cols["kind"] for c in chunks], np.uint8), t=narrow(_times(chunks)),
                 site=narrow(_joined([c.cols["site"] for c in chunks], np.int32)), args=cast(np.ndarray, args),
                 nrows=narrow(_joined([c.cols["nrows"] for c in chunks], np.int32)), rows=cast(np.ndarray, rows),
                 strings=strings, blobs=blobs, stack=stack)


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    out: np.ndarray = np.empty(sum(len(p) for p in parts), dtype)
    lo = 0
    for p in parts:
        out[lo:lo + len(p)] = p
        lo += len(p)
    return out


def _times(chunks: list[Chunk]) -> np.ndarray:
    """``t`` from each chunk's start time and deltas."""
    t = np.empty(sum(c.n for c in chunks), np.int64)
    lo = 0
    for c in chunks:
        hi = lo + c.n
        np.cumsum(c.cols["t"], dtype=np.int64, out=t[lo:hi])
        if c.n:
            t[lo:hi] += c.t0 - int(c.cols["t"][0])
        lo = hi
    return t


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
