"""Call sites: the program's own "file:line" for each recorded call.

The site is the first frame outside wgpu and wgtrace, so a call that wgpu makes on the
program's behalf (``create_buffer_with_data`` creating and unmapping its buffer) is charged to
the program's line. This runs on every recorded call, so each code object is classified once and
each (code object, bytecode offset) is turned into a string id once; ``lookup`` is a closure
rather than a method because it is the hottest function of the recorder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import CodeType, FrameType

_UNSEEN = object()


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


class Sites:
    """Maps frames to site ids in a trace's string table (``intern`` adds a string, returns its id)."""

    def __init__(self, intern: Callable[[str], int], skip: tuple[str, ...]):
        self._skip = skip
        self._cwd = os.getcwd() + os.sep
        # id(code object) -> None for wgpu/wgtrace code, else {bytecode offset: site id}. Keyed by id
        # because code objects hash their whole contents; _pinned keeps them alive so ids stay unique.
        self._codes: dict[int, dict[int, int] | None] = {}
        self._pinned: list[CodeType] = []
        codes = self._codes
        outside = self.outside
        text = self.text

        def lookup(frame: FrameType) -> int:
            """The site id of the first program frame at or above ``frame`` (-1: none)."""
            per_offset = codes.get(id(frame.f_code))
            if per_offset is None:  # wgpu or wgtrace code, or code not seen yet
                program = outside(frame)
                if program is None:
                    return -1
                frame = program
                per_offset = codes[id(frame.f_code)]
                assert per_offset is not None, "outside() returns only program frames"
            site = per_offset.get(frame.f_lasti)
            if site is None:
                site = per_offset[frame.f_lasti] = intern(text(frame.f_code.co_filename, frame.f_lineno))
            return site

        def at(code: CodeType, lasti: int) -> int:
            """The site id of a program frame that ``outside`` returned earlier, given by its parts."""
            per_offset = codes[id(code)]
            assert per_offset is not None, "a program frame's code, as outside() classified it"
            site = per_offset.get(lasti)
            if site is None:
                site = per_offset[lasti] = intern(text(code.co_filename, line_at(code, lasti)))
            return site

        self.lookup = lookup
        self.at = at

    def outside(self, frame: FrameType | None) -> FrameType | None:
        """The first frame at or above ``frame`` that belongs to the program."""
        codes = self._codes
        while frame is not None:
            code = frame.f_code
            per_offset = codes.get(id(code), _UNSEEN)
            if per_offset is _UNSEEN:
                self._pinned.append(code)
                per_offset = codes[id(code)] = None if os.path.abspath(code.co_filename).startswith(self._skip) else {}
            if per_offset is not None:
                return frame
            frame = frame.f_back
        return None

    def text(self, path: str, lineno: int | None) -> str:
        """"file:line"; files under the working directory are given relative to it.

        The line is None where the code has no line for the instruction, as ``f_lineno`` says there.
        """
        if path.startswith(self._cwd):
            path = path[len(self._cwd) :]
        return f"{path}:{lineno}"
