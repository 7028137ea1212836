"""A recording: the trace file, the ids of the program's wgpu objects, and how a recording ends.

One recording at a time per process. The output file is opened when the recorder is made (so an
unwritable path fails before the program runs): never through a symbolic link, and under an
exclusive lock, so a second recording to the same file refuses to start instead of mixing its
bytes in. The header is written when the recording starts (the adapter and its limits come with
the first DEVICE event; readers fill the header from it). Events stream out in chunks, and every
event is in the journal beside the file (a file-backed mapping, traces/writer.py) the moment it is
appended, so a program that dies in any way (SIGKILL, an abort inside wgpu-native) leaves a trace
that loads with ``partial=True`` up to its last event; a normal stop, an exception, SIGTERM and
interpreter exit all write the end record, saying how the program finished. SIGTERM and SIGINT that
arrive while an event is being written wait until it is whole. A forked child stops recording: it
never writes to its parent's file.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import itertools
import os
import signal
import stat
import sys
import threading
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from types import FrameType, TracebackType
from typing import Any, BinaryIO

import wgpu

from ..traces.errors import InputError, TraceError
from ..traces.schema import Kind, Obj
from ..traces.writer import TraceWriter, journal_path, make_header
from . import sites as _sites
from .backends import implementation
from .capture import Capture
from .journal import JournalWriter
from .sites import LIBRARY, PROGRAM, Captured, Sites, package_dir

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
        self._file, regular = open_output(self.output)
        # absolute: the program may change directory before the journal is removed
        self.journal = journal_path(os.path.abspath(self.output)) if regular else None
        # The attribute that holds an object's id in this recording (set with setattr, never through
        # __dict__, which would make CPython build a dict for each object).
        self.key = f"_wgtrace_{next(_serial)}"
        self.lock = threading.RLock() if _sites.FAST is None else _sites.FAST.RLock()  # a Hook takes the C one in C
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
        self.pid = os.getpid()
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
        self.open_writer(None, None)
        _current.append(self)
        self.pid = os.getpid()
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

    def forget(self) -> None:
        """In a forked child: stop recording without a word to the parent's trace or journal, which stay the
        parent's (the child's exit, signals and wgpu calls no longer reach them)."""
        self.lock._at_fork_reinit()  # another thread may have held it at fork
        self.active = False
        self.state[0] = 3
        for undo in reversed(self._restore):
            undo()
        if self in _current:
            _current.remove(self)
        atexit.unregister(self._at_exit)
        # SIGTERM and SIGINT are python's own again (_before_fork); forked from another thread, the recorder's
        # handlers stay, and act as python's (_on_signal)
        self.drops.clear()
        if self.writer is not None:
            self.writer.forget()
        # the file object may still flush or close: let it do so into /dev/null
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._file.fileno())
        finally:
            os.close(devnull)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Python runs this in the main thread, between two bytecodes of whatever it was running.
        if os.getpid() != self.pid:  # a forked child (``forget``): what python would do, nothing to the trace
            default = _SIGNALS[signal.Signals(signum)]
            signal.signal(signum, default)
            if callable(default):
                default(signum, frame)
            else:
                os.kill(os.getpid(), signum)
            return
        # RLock._is_owned: the owner test CPython's threading.Condition itself relies on
        if self.state[0] == 2 and self.lock._is_owned():
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
        header = make_header(wgpu_version=wgpu.__version__, implementation=implementation(), adapter=adapter,
                             limits=limits, capture=self.capture.header(), program=self.program)
        if adapter is None:  # written before the first device: readers take them from its DEVICE event
            header["deferred"] = ["adapter", "limits"]
        try:
            writer = self.writer = JournalWriter(self._file, header, journal=self.journal)
        except TraceError as e:  # the trace itself can be written: record without the journal
            print(f"wgtrace: {e}; a crash will lose the events of its last half second", file=sys.stderr)
            writer = self.writer = JournalWriter(self._file, header)
        sites = self.sites = Sites(writer.string, SKIP_DIRS)
        # the two calls every event makes: append(kind, site(frame), a0, ..., rows)
        self.append = writer.append if _sites.FAST is None else _sites.FAST.Appender(writer)
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


def open_output(path: str) -> tuple[BinaryIO, bool]:
    """The trace file, opened for writing and locked; whether it is a regular file (which gets a journal).

    Never through a symbolic link (one planted at the path would have its target overwritten), and
    truncated only once this process holds its exclusive lock: a second recording to the same file
    is refused and leaves the first one's bytes alone.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"will not write trace {path!r}: it is a symbolic link (give the file it names)") from None
        raise InputError(f"cannot write trace {path!r}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            os.close(fd)
            raise InputError(f"will not write trace {path!r}: another recording is writing it") from None
        # a file system without locks: record unlocked
    regular = stat.S_ISREG(os.fstat(fd).st_mode)
    if regular:
        os.ftruncate(fd, 0)
    return os.fdopen(fd, "wb"), regular


_forked_handlers: list[signal.Signals] = []


def _before_fork() -> None:
    """The child starts with python's own SIGTERM and SIGINT handlers: a signal sent to it at once (the
    recorder's handler would catch it, and python drops what is pending in a new child) acts as python's."""
    if _current and _main_thread():
        for signum, default in _SIGNALS.items():
            if signal.getsignal(signum) == _current[0]._on_signal:
                signal.signal(signum, default)
                _forked_handlers.append(signum)


def _after_fork_in_parent() -> None:
    while _forked_handlers:
        signum = _forked_handlers.pop()
        if _current and signal.getsignal(signum) is _SIGNALS[signum]:
            signal.signal(signum, _current[0]._on_signal)


def _after_fork_in_child() -> None:
    _forked_handlers.clear()
    for rec in list(_current):
        rec.forget()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


def describe(error: BaseException) -> str:
    """"ValueError at app.py:12": the exception and the program's innermost line it passed through."""
    sites = Sites(len, SKIP_DIRS)
    best: dict[int, str] = {}  # kind -> innermost line of that kind; the program's wins over a library's
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        best[sites.kind(tb.tb_frame.f_code)] = sites.text(tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    site = best.get(PROGRAM) or best.get(LIBRARY)
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
