"""A recording: the trace file, the ids of the program's wgpu objects, and how a recording ends.

One recording at a time per process. The output file is opened when the recorder is made (so an
unwritable path fails before the program runs); the header is written at the first device, when
the adapter and its limits are known. Events stream out in chunks, so a program that dies leaves a
loadable prefix; a normal stop, an exception, SIGTERM and interpreter exit all write the end
record, saying how the program finished. SIGTERM and SIGINT that arrive while an event is being
written wait until it is whole.
"""

from __future__ import annotations

import atexit
import itertools
import os
import signal
import sys
import threading
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from types import FrameType, TracebackType
from typing import Any

import wgpu

from ..traces.errors import InputError
from ..traces.schema import Kind, Obj
from ..traces.writer import TraceWriter, make_header
from .capture import Capture
from .sites import Captured, Sites, package_dir

# Signals whose default action would cut an event in half; handled while recording (see deliver).
_SIGNALS: dict[signal.Signals, Callable[[int, FrameType | None], Any] | signal.Handlers] = {
    signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
SYNC_FLUSH_SECONDS = 0.1  # a flush costs about a millisecond; the writer also flushes every 0.5 s
BUFFER_DESTROY = int(Kind.BUFFER_DESTROY)
TEXTURE_DESTROY = int(Kind.TEXTURE_DESTROY)
QUERY_SET_DESTROY = int(Kind.QUERY_SET_DESTROY)
SKIP_DIRS = (package_dir(wgpu.__file__), package_dir(__file__))
_serial = itertools.count(1)
_current: list[Recorder] = []


class Recorder:
    """The state of one recording; ``start`` instruments wgpu, ``stop`` restores it and ends the file."""

    def __init__(self, output: str | os.PathLike, *, data: str = "digest", payload_cap: int = 0,
                 program: list[str] | None = None):
        self.capture = Capture(data, payload_cap)
        self.output = os.fspath(output)
        self.program = list(sys.argv if program is None else program)
        try:
            self._file = open(self.output, "wb")
        except OSError as e:
            raise InputError(f"cannot write trace {self.output!r}: {e.strerror}") from None
        # The attribute that holds an object's id in this recording (set with setattr, never through
        # __dict__, which would make CPython build a dict for each object).
        self.key = f"_wgtrace_{next(_serial)}"
        self.lock = threading.RLock()
        self.state = [0]  # 0 idle, 1 in a wgpu call, 2 recording it, 3 stopped (instrument._wrap)
        self.signalled = 0
        self.writer: TraceWriter | None = None
        self.sites: Sites | None = None
        self.adopted: Counter[str] = Counter()
        # (destroy kind, id, where: Sites.capture) of the buffers and textures dropped since the last event
        self.drops: deque[tuple[int, int, Captured | None]] = deque()
        # per destroy kind: the objects destroyed and not yet dropped (query sets: destroyed once)
        self._destroyed: dict[int, set[int]] = {BUFFER_DESTROY: set(), TEXTURE_DESTROY: set(),
                                                QUERY_SET_DESTROY: set()}
        self._next = [0] * len(Obj)
        self._last_flush = 0.0
        self._restore: list[Any] = []
        self.active = False
        # what later calls need to know about earlier objects
        self.module_code: dict[int, str] = {}
        self.layout_access: dict[int, dict[int, int]] = {}
        self.pipeline_layouts: dict[int, list[int]] = {}
        self.pipeline_access: dict[int, dict[int, dict[int, int]]] = {}
        self.pipeline_layout_of: dict[int, int] = {}  # pipeline -> its explicit pipeline layout
        self.derived_layouts: dict[tuple[int, int], int] = {}

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Recorder:
        from .instrument import install

        if _current:
            self._file.close()
            raise RuntimeError(f"wgtrace is already recording to {_current[0].output!r}; recordings cannot nest")
        _current.append(self)
        self._restore = install(self)
        self.active = True
        atexit.register(self._at_exit)
        if _main_thread():
            for signum, default in _SIGNALS.items():
                if signal.getsignal(signum) is default:
                    signal.signal(signum, self._on_signal)
        return self

    def stop(self, end: dict | None = None) -> None:
        """Restore wgpu and write the end record (``end`` says how the program finished)."""
        with self.lock:
            if not self.active:
                return
            self.active = False
            self.state[0] = 3
            for undo in reversed(self._restore):
                undo()
            _current.remove(self)
            atexit.unregister(self._at_exit)
            if _main_thread():
                for signum, default in _SIGNALS.items():
                    if signal.getsignal(signum) == self._on_signal:
                        signal.signal(signum, default)
            writer = self.ensure_writer()
            self.drain_drops()
            end = dict(end or {})
            if self.adopted:
                end["adopted"] = dict(self.adopted)
            writer.close(end)
            self._file.close()

    def _at_exit(self) -> None:
        self.stop({"stopped": "at interpreter exit"})

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Python runs this in the main thread, between two bytecodes of whatever it was running.
        # typeshed leaves out RLock._is_owned, the owner test CPython's threading.Condition itself relies on
        if self.state[0] == 2 and self.lock._is_owned():  # type: ignore[attr-defined]
            self.signalled = signum  # mid-event in this thread: the wrapper delivers it once the event is whole
        else:
            self.deliver(signum)  # stop() takes the lock: an event of another thread is finished first

    def deliver(self, signum: int) -> None:
        """Act on a signal as the program would have: SIGINT raises KeyboardInterrupt (the program may
        catch it; the recording goes on); SIGTERM ends the file, then kills the process with it."""
        if not _main_thread():
            return
        self.signalled = 0
        if signum == signal.SIGINT:
            signal.default_int_handler(signum, None)
        self.stop({"exit_code": -signum, "signal": signal.Signals(signum).name})
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def internal_error(self, error: Exception) -> None:
        """A bug in the recorder must not break the program: end the trace here, let the program go on."""
        message = "".join(traceback.format_exception_only(error)).strip()
        print(f"wgtrace: recorder error, recording stopped early: {message}", file=sys.stderr)
        try:
            self.stop({"stopped": "recorder error", "recorder_error": message})
        except Exception as e:  # the file may be beyond repair; the program still runs on
            print(f"wgtrace: could not end the trace: {e}", file=sys.stderr)

    # -- the file ----------------------------------------------------------------------------

    def open_writer(self, adapter: dict | None, limits: dict | None) -> TraceWriter:
        header = make_header(wgpu_version=wgpu.__version__, adapter=adapter, limits=limits,
                             capture=self.capture.header(), program=self.program)
        writer = self.writer = TraceWriter(self._file, header)
        sites = self.sites = Sites(writer.string, SKIP_DIRS)
        # the two calls every event makes: append(kind, site(frame), a0, ..., rows)
        self.append = writer.append
        self.site = sites.lookup
        self._last_flush = perf_counter()
        return writer

    def ensure_writer(self) -> TraceWriter:
        """For the rare event that may come before any device (a failed call, an opaque note)."""
        return self.open_writer(None, None) if self.writer is None else self.writer

    def sync_point(self) -> None:
        """Flush at submits and reads (rate-limited): a program killed while it waits loses little."""
        now = perf_counter()
        if now - self._last_flush >= SYNC_FLUSH_SECONDS:
            assert self.writer is not None, "sync points are calls on a device, which opened the writer"
            self.writer.flush()
            self._last_flush = now

    # The string and blob tables are the writer's: handlers call these only after the event's device
    # (or ensure_writer) has opened it.

    def string(self, s: str) -> int:
        assert self.writer is not None
        return self.writer.string(s)

    def opt_string(self, s: str | None) -> int:
        assert self.writer is not None
        return self.writer.string(s) if s else -1

    def blob(self, data: memoryview) -> int:
        assert self.writer is not None
        return self.writer.blob(data)

    # -- object ids --------------------------------------------------------------------------

    def new(self, obj_type: int, obj: Any) -> int:
        """The next id of this object type, stored on ``obj`` (None: an object that is not the program's)."""
        i = self._next[obj_type]
        self._next[obj_type] = i + 1
        if obj is not None:
            setattr(obj, self.key, i)
        return i

    def mark_destroyed(self, oid: int, kind: int = BUFFER_DESTROY) -> bool:
        """True the first time; a destroyed buffer (texture, query set: ``kind`` is the destroy event's)
        is not reported again when dropped."""
        destroyed = self._destroyed[kind]
        if oid in destroyed:
            return False
        destroyed.add(oid)
        return True

    def dropped(self, obj: Any, frame: FrameType | None, kind: int = BUFFER_DESTROY) -> None:
        """The program let go of ``obj``'s last reference (called from its finalizer, see instrument.py).

        ``obj`` is a buffer, or a texture with ``kind`` TEXTURE_DESTROY. That happens
        wherever the reference dies, even inside this recorder's own bookkeeping, so this only queues
        the event; the next recorded call writes it first.
        """
        oid = getattr(obj, self.key, None) if self.active else None
        if oid is None:
            return
        destroyed = self._destroyed[kind]
        if oid in destroyed:
            destroyed.discard(oid)
            return
        assert self.sites is not None, "an object has an id only once its device opened the writer"
        self.drops.append((kind, oid, self.sites.capture(frame)))

    def drain_drops(self) -> None:
        """Write the drops queued since the last event (popleft: a drop may be queued meanwhile)."""
        assert self.sites is not None, "drops are queued (and drained at stop) only once the writer is open"
        drops, resolve = self.drops, self.sites.resolve
        while drops:
            kind, oid, where = drops.popleft()
            self.append(kind, resolve(where), oid, 1)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def describe(error: BaseException) -> str:
    """"ValueError at app.py:12": the exception and the program's innermost line it passed through."""
    site = None
    tb: TracebackType | None = error.__traceback__
    sites = Sites(len, SKIP_DIRS)
    while tb is not None:
        if sites.outside(tb.tb_frame) is tb.tb_frame:
            site = sites.text(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return f"{type(error).__name__} at {site}" if site else type(error).__name__


@contextmanager
def recording(output: str | os.PathLike, data: str = "digest", payload_cap: int = 0) -> Iterator[Recorder]:
    """Record every wgpu call made inside the block to ``output``.

    ``data``: "digest" keeps hashes of written and read bytes, "full" keeps the bytes too, up to
    ``payload_cap`` bytes in all (0: no cap). The end record says whether the block raised.
    """
    rec = Recorder(output, data=data, payload_cap=payload_cap).start()
    try:
        yield rec
    except SystemExit as e:
        rec.stop({"exit_code": e.code if isinstance(e.code, int) else int(e.code is not None)})
        raise
    except BaseException as e:
        rec.stop({"error": describe(e)})
        raise
    rec.stop({})
