"""Call sites and call stacks: where in the program each recorded call was made.

Every event gets a *site*, the "file:line" of the innermost frame of the program's own code: not in
wgpu or wgtrace, nor in a library (site-packages, dist-packages, the standard library, the
environment's scripts). So a buffer write that pygfx makes for the program is charged to the
program's line that asked pygfx to render, not to pygfx. A program that is all library code (no
frame qualifies) gets the first frame outside wgpu and wgtrace instead, as before.

Every event also gets a short *stack*: up to ``STACK_DEPTH`` frames, innermost first, from the first
frame outside wgpu and wgtrace up to a frame of wgpu or wgtrace that called the program (wgtrace's
runner) or the top. Library frames above the outermost program frame in it are left out (runpy,
pytest, threading). Site and stack go to the trace as string ids; ``lookup`` returns both as one
key (``traces.model.site_key``), which the writer splits into the ``site`` and ``stack`` columns.

This runs on every recorded call, so it must cost next to nothing once a call site has been seen.
The stack of a call depends on every frame up the chain, and walking eight frames in Python costs
about a microsecond, more than the rest of recording an event. So a frame that makes calls carries
a *token* in its ``f_trace`` slot (unused unless a debugger or a coverage tool traces the program):
the token stands for the frames above it, which cannot change while the frame runs (its callers
wait in their calls), and maps each bytecode offset of the frame to its key, and the offsets of
the frames below it (with their code objects' ids) to theirs. A call from a frame with a token
costs one attribute read and one dict lookup; a call from a new frame one frame below a token costs
one more lookup, and one from deeper walks up to the first token. A frame walked for the first time
gets a *mark*, and a token only if the same frame object comes back, so a library helper called
once per event (a new frame each time) costs no token. Token and mark live and die with their
frame, so nothing here keeps frames (and their locals, the program's buffers) alive. Frames of
generators and coroutines get no token (their callers change from one resumption to the next), nor
does any frame while a trace function is installed (``sys.settrace``); a trace function installed
later that finds a token or a mark calls it, and it removes itself.
"""

from __future__ import annotations

import inspect
import os
import site
import sys
import sysconfig
from collections.abc import Callable, Iterator
from types import CodeType, FrameType
from typing import Any

from ..traces.model import site_key

try:  # the recorder's hot path in C (setup.py builds it where it can); None: Python throughout
    from . import _fast as FAST
except ImportError:
    FAST = None  # type: ignore[assignment]

STACK_DEPTH = 8
SKIP, LIBRARY, PROGRAM = 0, 1, 2  # what a code object is: wgpu or wgtrace, a library, the program
_NO_TOKEN = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_LIBRARY_PARTS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def library_dirs() -> tuple[str, ...]:
    """The directories of installed libraries and of the standard library, with a trailing separator."""
    dirs: set[str] = set()
    found = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
    paths = sysconfig.get_paths()
    found += [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib", "scripts") if k in paths]
    for d in found:
        if d:
            dirs.add(os.path.abspath(d) + os.sep)
            dirs.add(os.path.realpath(d) + os.sep)
    return tuple(sorted(dirs))


LIBRARY_DIRS = library_dirs()


def line_at(code: CodeType, lasti: int) -> int | None:
    """The line of the instruction at byte offset ``lasti``: what ``f_lineno`` of a frame there says.

    A frame's ``f_lineno`` scans the code's line table from the start, so it costs in proportion to
    how far into the code the frame is (microseconds, deep in a long function): a drop keeps the
    offset, and the line is looked up only for an offset not seen before.
    """
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line
    return None


def package_dir(module_file: str) -> str:
    """The directory of a package, with a trailing separator, for prefix tests."""
    return os.path.dirname(os.path.abspath(module_file)) + os.sep


class _Untraced:
    """Left in a frame's ``f_trace``, where no trace function is installed: one that is installed later
    calls it at the frame's next line, and it removes itself, so the frame is untraced as before."""

    __slots__ = ()

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        frame.f_trace = None
        return None


class _Token(_Untraced, dict):
    """The token of a frame: bytecode offset (or the offsets of the frames below and its own) -> key;
    ``up`` is the chain of the frames above the frame (a link)."""

    __slots__ = ("up",)
    up: Any


class _Mark(_Untraced):
    """A frame walked once: if the same frame object comes back (it makes a second call), it gets a
    token. A token for every new frame would cost more than the walk for frames that make one call
    and return (a library's helper)."""

    __slots__ = ()


# A link: (code, bytecode offset, what is above it): a link, the token of the frame above (standing
# for the frames above that one), or None at the top of the stack.
Link = tuple  # tuple[CodeType, int, "Link | _Token | None"]
Captured = tuple  # (token or None, memo key, link): a call site taken without the lock, see ``capture``


class Sites:
    """Maps frames to keys of (site, stack) in a trace's string table (``intern`` adds a string, returns its id)."""

    def __init__(self, intern: Callable[[str], int], skip: tuple[str, ...],
                 libraries: tuple[str, ...] = LIBRARY_DIRS):
        self._intern = intern
        self._skip = skip
        self._libraries = libraries
        self._cwd = os.getcwd() + os.sep
        # id(code object) -> SKIP, LIBRARY or PROGRAM. Keyed by id because code objects hash their
        # whole contents; _pinned keeps them alive so that ids (in memo keys too) stay unique.
        self._codes: dict[int, int] = {}
        self._pinned: list[CodeType] = []
        self._texts: dict[tuple[int, int], str] = {}
        self._memo: dict[tuple[int, ...], int] = {}  # for chains without a token (generators, tracing)
        # Classes of their own, so that a token left on a frame by an earlier recording is not taken for ours.
        token_type: Any = type("Token", (_Token,), {"__slots__": ()})
        self.Token = token_type
        mark = self._mark = type("Mark", (_Mark,), {"__slots__": ()})()
        walk = self._walk
        key_of = self._key
        gettrace = sys.gettrace

        def lookup(frame: FrameType) -> int:
            """The key of the call made from ``frame`` (-1: no frame outside wgpu and wgtrace)."""
            token: Any = frame.f_trace
            if type(token) is token_type:
                key = token.get(frame.f_lasti)
                if key is not None:
                    return key
                key = token[frame.f_lasti] = key_of((frame.f_code, frame.f_lasti, token))
                return key
            # One frame below a token (a helper, or a frame's first call): no walk, no list.
            parent = frame.f_back
            up: Any = None if parent is None else parent.f_trace
            if type(up) is not token_type:
                return walk(frame)
            assert parent is not None
            code, lasti, above = frame.f_code, frame.f_lasti, parent.f_lasti
            memo_key = (id(code), lasti, above)
            key = up.get(memo_key)
            if key is None:
                key = up[memo_key] = key_of((code, lasti, (parent.f_code, above, up)))
            if token is None:
                frame.f_trace = mark
            elif token is mark:
                if not code.co_flags & _NO_TOKEN and gettrace() is None:
                    own = token_type()
                    own.up = (parent.f_code, above, up)
                    own[lasti] = key
                    frame.f_trace = own
            elif isinstance(token, _Untraced):  # an earlier recording's
                frame.f_trace = mark
            return key

        self.lookup = lookup if FAST is None else FAST.Lookup(token_type, lookup)

    # -- the recorder's paths --------------------------------------------------------------------

    def _walk(self, frame: FrameType) -> int:
        """``lookup`` for a frame two or more frames below the first token, or with none above."""
        token_type: Any = self.Token
        mark = self._mark
        below = [frame]
        f = frame.f_back
        t: Any = None
        while f is not None:
            t = f.f_trace
            if type(t) is token_type:
                break
            below.append(f)
            f = f.f_back
        memo: dict
        memo_key: object
        link: Any
        ids: list[int] = []
        for g in below:
            ids += (id(g.f_code), g.f_lasti)
        if f is not None:
            memo, lasti = t, f.f_lasti
            link = (f.f_code, lasti, t)
            memo_key = (*ids, lasti)
        else:
            memo, link, memo_key = self._memo, None, tuple(ids)
        # A frame seen before gets a token, a new one a mark; top down: a token is whole before its frame shows it.
        tokens = sys.gettrace() is None
        lowest: Any = None
        for g in reversed(below):
            code = g.f_code
            up = link
            t = g.f_trace
            if t is mark:
                if tokens and not code.co_flags & _NO_TOKEN:
                    up = lowest = token_type()
                    up.up = link
                    g.f_trace = up
            elif t is None or isinstance(t, _Untraced):  # none, or an earlier recording's
                g.f_trace = mark
            link = (code, g.f_lasti, up)
        key = memo.get(memo_key)
        if key is None:
            key = memo[memo_key] = self._key(link)
        own: Any = frame.f_trace
        if lowest is not None and own is lowest:  # the frame's own token, new
            own[frame.f_lasti] = key
        return key

    def capture(self, frame: FrameType | None) -> Captured | None:
        """What ``resolve`` needs to give a drop its key later: the finalizer that reports a drop may run
        anywhere (inside this module too), so this only reads frames and tokens."""
        if frame is None:
            return None
        token_type: Any = self.Token
        token: Any = frame.f_trace
        if type(token) is token_type:
            lasti = frame.f_lasti
            return token, lasti, (frame.f_code, lasti, token)
        parent = frame.f_back
        up: Any = None if parent is None else parent.f_trace
        if type(up) is token_type:  # one frame below a token: the finalizer's own frame, typically
            assert parent is not None
            code, lasti, above = frame.f_code, frame.f_lasti, parent.f_lasti
            return up, (id(code), lasti, above), (code, lasti, (parent.f_code, above, up))
        below: list[tuple[CodeType, int]] = []
        ids: list[int] = []
        f: FrameType | None = frame
        while f is not None:
            token = f.f_trace
            if type(token) is token_type:
                break
            code, lasti = f.f_code, f.f_lasti
            below.append((code, lasti))
            ids += (id(code), lasti)
            f = f.f_back
        link: Any = None
        memo_key: tuple
        if f is not None:
            lasti = f.f_lasti
            link = (f.f_code, lasti, token)
            memo_key = (*ids, lasti)
        else:
            token, memo_key = None, tuple(ids)
        for code, lasti in reversed(below):
            link = (code, lasti, link)
        return token, memo_key, link

    def resolve(self, captured: Captured | None) -> int:
        """The key of a call site that ``capture`` took (-1 for None)."""
        if captured is None:
            return -1
        token, memo_key, link = captured
        memo = self._memo if token is None else token
        key = memo.get(memo_key)
        if key is None:
            key = memo[memo_key] = self._key(link)
        return key

    # -- what a chain of frames becomes ------------------------------------------------------------

    def _key(self, link: Link | None) -> int:
        """The key of the innermost call in ``link``: its site and its stack, interned."""
        kind = self.kind
        frames: list[tuple[CodeType, int]] = []  # from the first frame outside wgpu and wgtrace
        program: tuple[CodeType, int] | None = None
        for code, lasti in _frames(link):
            k = kind(code)
            if k == SKIP:
                if frames:
                    break  # wgpu or wgtrace called the program (the runner): the program's stack ends
                continue
            frames.append((code, lasti))
            if k == PROGRAM and program is None:
                program = (code, lasti)
            if program is not None and len(frames) >= STACK_DEPTH:
                break
        if not frames:
            return -1
        site = self._intern(self.line_text(*(program or frames[0])))
        shown = frames[:STACK_DEPTH]
        while len(shown) > 1 and kind(shown[-1][0]) != PROGRAM and any(kind(c) == PROGRAM for c, _ in shown):
            shown.pop()  # runpy, pytest, threading above the program's outermost frame
        return site_key(site, self._intern("\n".join(self.line_text(c, i) for c, i in shown)))

    def kind(self, code: CodeType) -> int:
        """SKIP, LIBRARY or PROGRAM; classified once per code object."""
        k = self._codes.get(id(code))
        if k is None:
            self._pinned.append(code)
            k = self._codes[id(code)] = self._classify(code.co_filename)
        return k

    def _classify(self, filename: str) -> int:
        if filename.startswith("<"):
            return LIBRARY if filename.startswith("<frozen ") else PROGRAM  # "<string>", "<stdin>": the program's
        path = os.path.abspath(filename)
        if path.startswith(self._skip):
            return SKIP
        if path.startswith(self._libraries) or any(part in path for part in _LIBRARY_PARTS):
            return LIBRARY
        return PROGRAM

    def line_text(self, code: CodeType, lasti: int) -> str:
        key = (id(code), lasti)
        s = self._texts.get(key)
        if s is None:
            self.kind(code)  # pins the code, so that its id stays its own
            s = self._texts[key] = self.text(code.co_filename, line_at(code, lasti))
        return s

    def text(self, path: str, lineno: int | None) -> str:
        """"file:line"; files under the working directory are given relative to it.

        The line is None where the code has no line for the instruction, as ``f_lineno`` says there.
        """
        if path.startswith(self._cwd):
            path = path[len(self._cwd) :]
        return f"{path}:{lineno}"


def _frames(link: Link | None | _Token) -> Iterator[tuple[CodeType, int]]:
    """The (code, offset) of each frame of a chain, innermost first."""
    while link is not None:
        if isinstance(link, _Token):
            link = link.up
            continue
        code, lasti, link = link
        yield code, lasti
