"""Writing traces: a streaming, append-only writer, and ``save`` for a whole Trace.

The writer flushes a chunk every ``chunk_events`` events or ``flush_seconds``, and on ``flush()``,
so a program that dies leaves every flushed chunk on disk, each one loadable on its own. With a
journal (the recorder's case) the events since the last chunk are on disk too, in a file-backed
mapping beside the trace that ``load(partial=True)`` reads back: nothing appended is lost when the
process dies.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import tempfile
import zlib
from array import array
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import BinaryIO, NoReturn

import msgpack
import numpy as np

from .codec import (
    BLOB_RECORD,
    JOURNAL_HEADER,
    JOURNAL_MAGIC,
    JOURNAL_PAGE,
    JOURNAL_SUFFIX,
    SLOT_WIDTH,
    STRING_RECORD,
    TABLE_RECORD,
    encode_chunk,
    pack_record,
)
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
    """Streams events to a file as they are appended.

    With ``journal`` (a path beside the trace, see ``journal_path``), the events not yet in a chunk live in a
    file-backed shared mapping of that file, written as each event is appended: the kernel keeps those pages
    when the process dies, however it dies (SIGKILL, an abort inside a driver, a segfault), and the next
    ``load(partial=True)`` of the trace reads them back. Without it they live in anonymous memory, as before.
    Either way the pending events are the mapping: a chunk is encoded straight from it.
    """

    def __init__(self, path: str | os.PathLike | BinaryIO, header: dict, *, chunk_events: int = CHUNK_EVENTS,
                 flush_seconds: float = 0.5, compress: bool = True, journal: str | None = None):
        super().__init__(header)
        self._file, self._own = _open(path)
        self._compress = compress
        self._flush_ns = int(flush_seconds * 1e9)
        self._flush_due = self._flush_ns
        self._strings_written = 0
        self.closed = False
        self._base = 0  # index of the first pending event
        self._gen = 0  # chunks written: table records carry it
        self._journal: str | None = None
        self._fd = -1
        slots, rows, tables = max(chunk_events, 1), max(2 * chunk_events, 1024), 1 << 22
        self._caps = [slots, rows, tables]
        if journal is not None:
            token = os.urandom(16)
            self.header["journal"] = {"file": os.path.basename(journal), "token": token.hex()}
            self._open_journal(journal, token)
        else:
            self._maps = [mmap.mmap(-1, slots * SLOT_WIDTH * 8), mmap.mmap(-1, rows * ROW_WIDTH * 8),
                          mmap.mmap(-1, tables)]
        self._set_areas()
        self._write(MAGIC + pack_record("H", msgpack.packb(self.header), compress=False))

    # -- the journal's three areas ----------------------------------------------------------------

    def _open_journal(self, journal: str, token: bytes) -> None:
        """Make the journal under a private name and rename it into place (a planted name is replaced,
        never followed), then map its areas."""
        slots, rows, tables = self._caps
        offsets = [JOURNAL_PAGE]
        offsets.append(_page(offsets[0] + slots * SLOT_WIDTH * 8))
        offsets.append(_page(offsets[1] + rows * ROW_WIDTH * 8))
        size = offsets[2] + tables
        try:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(journal) or ".", prefix=f".{os.path.basename(journal)}.")
        except OSError as e:
            raise TraceError(f"cannot write the journal {journal!r}: {e.strerror}") from None
        try:
            os.ftruncate(fd, size)  # sparse: only the pages written take space
            os.pwrite(fd, struct.pack(JOURNAL_HEADER, JOURNAL_MAGIC, token, offsets[0], slots, offsets[1], rows,
                                      offsets[2], tables), 0)
            self._maps = [mmap.mmap(fd, cap, offset=off) for off, cap in
                          zip(offsets, (slots * SLOT_WIDTH * 8, rows * ROW_WIDTH * 8, tables), strict=True)]
            os.rename(tmp, journal)
        except OSError as e:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise TraceError(f"cannot write the journal {journal!r}: {e.strerror}") from None
        self._fd, self._journal, self._offsets = fd, journal, offsets

    def _set_areas(self) -> None:
        """Cursors at the start of every area: the next event, row and table record go there."""
        ev, rows, tables = self._maps
        self._ev = ev
        self._epos = 0
        self._slots_end = (self._caps[0] - 1) * SLOT_BYTES  # a slot written here fills the area: flush
        self._populated = 0 if self._fd >= 0 else self._caps[0] * SLOT_BYTES
        self._elast = self._slots_end  # the next slot at which _next_slot is due
        self._populate(0)
        self._rows_mm = rows
        self._rpos = 0
        self._rows_populated = 0 if self._fd >= 0 else self._caps[1]
        self._populate_rows(0)  # the first pages of the rows
        if self._fd >= 0:  # and of the tables
            os.pwrite(self._fd, bytes(min(JOURNAL_WINDOW // 16, self._caps[2])), self._offsets[2])
        self._tables = tables
        self._vpos = 0

    def _grow(self, area: int, need: int) -> None:
        """Room for one item larger than an empty area (``need`` in the area's units): a new, larger area
        at the journal's end (the header names it last), or new anonymous memory."""
        unit = (SLOT_WIDTH * 8, ROW_WIDTH * 8, 1)[area]
        cap = max(need, 2 * self._caps[area])
        old = self._maps[area]
        if self._fd >= 0:
            offset = _page(os.fstat(self._fd).st_size)
            os.ftruncate(self._fd, offset + cap * unit)
            new = mmap.mmap(self._fd, cap * unit, offset=offset)
            os.pwrite(self._fd, struct.pack("<q", cap), 32 + 16 * area)  # the capacity first, then where
            os.pwrite(self._fd, struct.pack("<q", offset), 24 + 16 * area)
            self._offsets[area] = offset
        else:
            new = mmap.mmap(-1, cap * unit)
        self._maps[area], self._caps[area] = new, cap
        old.close()
        if area == 1:  # the new rows area has no pages yet
            self._rows_populated = 0 if self._fd >= 0 else cap
            self._rlimit = min(cap, self._rows_populated)
        ev, rows, tables = self._maps
        self._ev, self._rows_mm, self._tables = ev, rows, tables

    def _table_record(self, what: int, data: bytes, key: int) -> None:
        """Log a new string or blob (``key``: its index + 1) in the journal, data first, its header last."""
        pos = self._vpos
        end = pos + TABLE_RECORD + len(data)
        self._tables[pos + TABLE_RECORD:end] = data
        _pack_table(self._tables, pos, len(data), what, self._gen, zlib.crc32(data), key)
        self._vpos = (end + 7) & ~7

    def _room(self, need: int) -> None:
        """Room in the table log for ``need`` bytes: flush (which empties it), else grow it."""
        if self._vpos + need > self._caps[2]:
            self.flush(tables=True)
            if need > self._caps[2]:
                self._grow(2, need)

    # -- appending --------------------------------------------------------------------------------

    def string(self, s: str) -> int:
        i = self._strings.get(s)
        if i is None:
            data = s.encode("utf-8", "surrogatepass")
            self._room(TABLE_RECORD + len(data) + 8)
            i = len(self._string_list)
            self._table_record(STRING_RECORD, data, i + 1)
            self._strings[s] = i
            self._string_list.append(s)
        return i

    def blob(self, b: bytes | memoryview) -> int:
        data = bytes(b)
        self._room(TABLE_RECORD + len(data) + 8)
        i = self._blob_base + len(self._blobs)
        self._table_record(BLOB_RECORD, data, i + 1)
        self._blobs.append(data)
        return i

    def append(self, kind: int, site: int, a0: int = 0, a1: int = 0, a2: int = 0, a3: int = 0,
               a4: int = 0, a5: int = 0, rows: Sequence[tuple[int, ...]] | None = None, t: int | None = None) -> int:
        """As ``TraceBuilder.append``; the event goes straight into its journal slot (its rows first, at the rows
        cursor; the slot's seal last). Kept in one function: this is the recorder's per-call cost."""
        if t is None:
            t = perf_counter_ns() - self._t0
        if rows:
            nrows = len(rows)
            flat: list[int] = []
            for r in rows:
                flat += r
                flat += (0,) * (5 - len(r))  # ROW_WIDTH
            rpos = self._rpos
            if rpos + nrows > self._rlimit or len(flat) != nrows * 5:
                rpos = self._rows_room(nrows, len(flat))
            packer = _ROW_PACKERS.get(nrows) or _row_packer(nrows)
            try:
                packer(self._rows_mm, rpos * 40, *flat)
            except struct.error:
                _raise_as_array(flat)
        else:
            nrows = 0
        n = self._n
        pos = self._epos
        try:
            _pack_slot(self._ev, pos, kind, t, site, a0, a1, a2, a3, a4, a5, nrows, n + 1)
        except struct.error:
            _raise_as_array([kind, t, site, a0, a1, a2, a3, a4, a5, nrows])
        if nrows:
            self._rpos += nrows
        self._epos = pos + 88  # SLOT_BYTES
        self._n = n + 1
        if pos >= self._elast or t >= self._flush_due:
            self._next_slot(pos, t)
        return n

    def _next_slot(self, pos: int, t: int) -> None:
        """After the slot at ``pos``: flush when the slots are full or the time is due, else map in more of
        the slots area (its pages are written ahead in bulk, which costs a fraction of a first touch each)."""
        if pos >= self._slots_end or t >= self._flush_due:
            self.flush()
        else:
            self._populate(pos + SLOT_BYTES)

    def _populate(self, start: int) -> None:
        """Give the slots from byte ``start`` of their area (a window of them) their pages now."""
        end = min(self._caps[0] * SLOT_BYTES, start + JOURNAL_WINDOW)
        start = max(start, self._populated)
        if self._fd >= 0 and end > start:
            os.pwrite(self._fd, bytes(end - start), self._offsets[0] + start)  # zeros where nothing was yet
        self._populated = max(self._populated, end)
        self._elast = min(self._slots_end, self._populated - SLOT_BYTES)

    def provisional(self, kind: int, site: int, a0: int = 0, a1: int = 0, a2: int = 0, a3: int = 0, a4: int = 0,
                    a5: int = 0, rows: Sequence[tuple[int, ...]] | None = None) -> None:
        """Write the next event's slot as provisional (its seal negative) without adding it: a call that may
        never return (a driver that aborts the process inside it) is then in the journal. Whatever is
        appended next takes the slot over."""
        nrows = self._put_rows(rows) if rows else 0
        _pack_slot(self._ev, self._epos, kind, perf_counter_ns() - self._t0, site, a0, a1, a2, a3, a4, a5, nrows,
                   -(self._n + 1))

    def _put_rows(self, rows: Sequence[tuple[int, ...]]) -> int:
        """Write an event's rows at the rows cursor (not yet past them); returns how many."""
        nrows = len(rows)
        flat: list[int] = []
        for r in rows:
            flat += r
            flat += (0,) * (ROW_WIDTH - len(r))
        rpos = self._rows_room(nrows, len(flat))
        try:
            (_ROW_PACKERS.get(nrows) or _row_packer(nrows))(self._rows_mm, rpos * ROW_WIDTH * 8, *flat)
        except struct.error:
            _raise_as_array(flat)
        return nrows

    def _rows_room(self, nrows: int, values: int) -> int:
        """The rows cursor, once there is room there for ``nrows`` rows (flushing, growing the area or giving
        it more pages); raises when ``values`` do not make whole rows."""
        if values != nrows * ROW_WIDTH:
            raise ValueError(f"rows hold at most {ROW_WIDTH} values each")
        if self._rpos + nrows > self._caps[1]:
            self.flush()
            if nrows > self._caps[1]:
                self._grow(1, nrows)
        if self._rpos + nrows > self._rows_populated:
            self._populate_rows(self._rpos + nrows)
        return self._rpos

    def _populate_rows(self, end: int) -> None:
        """Give the rows area its pages up to row ``end`` and a window beyond (as ``_populate`` the slots)."""
        new = min(self._caps[1], max(end, self._rows_populated + JOURNAL_WINDOW // (4 * ROW_WIDTH * 8)))
        if self._fd >= 0 and new > self._rows_populated:
            os.pwrite(self._fd, bytes((new - self._rows_populated) * ROW_WIDTH * 8),
                      self._offsets[1] + self._rows_populated * ROW_WIDTH * 8)
        self._rows_populated = max(self._rows_populated, new)
        self._rlimit = min(self._caps[1], self._rows_populated)

    # -- chunks -----------------------------------------------------------------------------------

    def flush(self, tables: bool = False) -> None:
        """Write the pending events as one chunk (nothing if none are pending, unless ``tables`` and strings
        or blobs are), then start the journal's areas over."""
        k = self._n - self._base
        if k or (tables and (self._blobs or len(self._string_list) > self._strings_written)):
            slots = np.frombuffer(self._ev, dtype="<i8", count=k * SLOT_WIDTH).reshape(k, SLOT_WIDTH)
            ev = slots[:, :EVENT_WIDTH]
            rows = np.frombuffer(self._rows_mm, dtype="<i8", count=self._rpos * ROW_WIDTH).reshape(-1, ROW_WIDTH)
            site, stack = split_keys(ev[:, 2])  # the recorder appends site_key keys (model.py)
            if stack is not None:
                ev = ev.copy()
                ev[:, 2] = site
            body = encode_chunk(ev, rows, self._string_list[self._strings_written:], self._blobs, stack)
            del slots, ev, rows, site, stack  # the mapping's buffer is free again
            self._write(pack_record("C", body, self._compress))
            # the chunk is whole in the file: the journal's areas start over
            self._strings_written = len(self._string_list)
            self._blob_base += len(self._blobs)
            self._blobs = []
            self._base = self._n
            self._gen += 1
            self._epos = self._rpos = self._vpos = 0
        self._flush_due = perf_counter_ns() - self._t0 + self._flush_ns

    def close(self, end: dict | None = None) -> None:
        """Flush and write the end record; ``end`` says how the program finished. The journal goes last."""
        if self.closed:
            return
        self.flush()
        self._write(pack_record("E", msgpack.packb({**(end or {}), "events": self._n}), compress=False))
        self.closed = True
        if self._own:
            self._file.close()
        self.discard_journal()

    def discard_journal(self) -> None:
        """Unmap and remove the journal (after the end record, or in a forked child: ``forget``)."""
        for m in self._maps:
            with contextlib.suppress(BufferError, ValueError):
                m.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            if self._journal is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._journal)

    def forget(self) -> None:
        """In a forked child: let go of the parent's file and journal without writing to either."""
        self.closed = True
        for m in self._maps:
            with contextlib.suppress(BufferError, ValueError):
                m.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def build(self, end: dict | None = None) -> Trace:
        raise TypeError("a TraceWriter streams to its file; load the file to get a Trace")

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()


SLOT_BYTES = SLOT_WIDTH * 8
JOURNAL_WINDOW = 1 << 20  # bytes of slots given their pages at a time (about 12,000 events)
_pack_slot = struct.Struct(f"<{SLOT_WIDTH}q").pack_into
_pack_table = struct.Struct("<5q").pack_into
_ROW_PACKERS: dict[int, Callable[..., None]] = {}


def _row_packer(nrows: int) -> Callable[..., None]:
    packer = _ROW_PACKERS[nrows] = struct.Struct(f"<{nrows * ROW_WIDTH}q").pack_into
    return packer


def journal_path(trace_path: str | os.PathLike) -> str:
    """Where a recording to ``trace_path`` keeps its journal: beside it, the same name with ``.journal``."""
    return os.fspath(trace_path) + JOURNAL_SUFFIX


def _page(offset: int) -> int:
    return -(-offset // JOURNAL_PAGE) * JOURNAL_PAGE


def _raise_as_array(values: list[int]) -> NoReturn:
    """The TypeError or OverflowError ``array("q").fromlist`` raises for a value struct refused."""
    array("q").fromlist(values)
    raise TypeError(f"not 64-bit integers: {values!r}")


def save(trace: Trace, path: str | os.PathLike | BinaryIO, *, chunk_events: int = CHUNK_EVENTS,
         compress: bool = True) -> None:
    """Write a whole in-memory trace straight from its columns.

    The string and blob tables travel in the first chunk, so every prefix of chunks resolves.
    """
    f, own = _open(path)
    try:
        f.write(MAGIC + pack_record("H", msgpack.packb(trace.header), compress=False))
        n = write_chunks(f, trace, chunk_events, (trace.strings, trace.blobs), compress)
        f.write(pack_record("E", msgpack.packb({**(trace.end or {}), "events": n}), compress=False))
    finally:
        if own:
            f.close()


def write_chunks(f: BinaryIO, trace: Trace, chunk_events: int, tables: tuple[list[str], list[bytes]],
                 compress: bool = True) -> int:
    """Write ``trace``'s events as chunks of ``chunk_events`` (one empty chunk for none), the string and blob
    ``tables`` in the first; returns the number of events written."""
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
        strings, blobs = tables if lo == 0 else ([], [])
        body = encode_chunk(events[lo:hi], np.asarray(trace.rows[bounds[lo]:bounds[hi]]), strings, blobs,
                            None if trace.stack is None else trace.stack[lo:hi])
        f.write(pack_record("C", body, compress))
    return n
