"""The program's source lines around a call site ("file:line"), for a finding in the report.

A finding names the line of the program that made the call; the lines around it say what the program
was doing. The file is read at report time, so it shows the program as it is now. Only Python source
files (``.py``) are read: a trace names its sites itself, and one crafted to name another file must not
get that file's lines copied into a report that may be shared. A relative path is looked up from the
working directory, then from the folder of the trace (where a program's recordings usually lie).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

CONTEXT = 3  # lines shown before and after the call
MAX_FILE = 4 << 20  # a source file larger than this is not read
MAX_LINE = 240  # characters shown of one line


@dataclass(frozen=True)
class Excerpt:
    """Lines ``first`` to ``first + len(lines) - 1`` of ``path``; ``line`` is the call's."""

    path: str
    line: int
    first: int
    lines: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "first": self.first, "lines": list(self.lines)}


class Sources:
    """Excerpts of the program's files, each file read once."""

    def __init__(self, roots: list[Path]) -> None:
        self._roots = roots
        self._files: dict[str, list[str] | None] = {}

    def around(self, site: str | None) -> Excerpt | None:
        """The lines around ``site``, or None when it names no readable Python file or no line of it."""
        path, _, number = (site or "").rpartition(":")
        if not path.endswith(".py") or not number.isascii() or not number.isdigit():
            return None
        lines = self._read(path)
        line = int(number)
        if lines is None or not 1 <= line <= len(lines):
            return None
        first = max(line - CONTEXT, 1)
        shown = tuple(text[:MAX_LINE] for text in lines[first - 1:line + CONTEXT])
        return Excerpt(path, line, first, shown)

    def _read(self, path: str) -> list[str] | None:
        if path not in self._files:
            self._files[path] = next((lines for lines in map(_lines, self._candidates(path)) if lines is not None),
                                     None)
        return self._files[path]

    def _candidates(self, path: str) -> list[Path]:
        p = Path(path)
        return [p] if p.is_absolute() else [root / p for root in self._roots]


def _lines(path: Path) -> list[str] | None:
    """The lines of a regular file no larger than MAX_FILE, or None (opened without waiting, so a FIFO planted
    under a source's name is refused rather than waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        with open(fd, "rb", closefd=True) as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE:
                return None
            data = f.read(MAX_FILE + 1)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace").splitlines()
