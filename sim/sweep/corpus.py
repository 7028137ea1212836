"""The traces of a sweep: files, folders and globs expanded to trace files, each hashed and read once here.

Every trace is read (and so validated) before any job runs: a missing path, a pattern matching
nothing or a corrupt trace is bad input, reported in one line, not a column of failed rows. The
SHA-256 of the file names its content: workers check it before they plan, and a later sweep reuses
rows by it (``sha256sum`` prints the same digest).
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from dataclasses import dataclass

from ...traces import load
from ...traces.errors import InputError

SUFFIX = ".wgtrace"
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class TraceFile:
    """A trace of the sweep: its path as named (``location``: made absolute here, for workers whose working
    folder is another), its content's SHA-256, its size, events, and where it is cut short."""

    path: str
    location: str
    sha256: str
    size: int
    events: int
    cut_short: str | None


def expand(arguments: list[str]) -> list[str]:
    """Trace paths from files, folders (every ``*.wgtrace`` below, sorted) and glob patterns, each once, in order."""
    out: dict[str, None] = {}
    for argument in arguments:
        if _GLOB_CHARS & set(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise InputError(f"{argument}: no file matches this pattern")
            for match in matches:
                out.update(dict.fromkeys(_traces_at(match, argument)))
        else:
            out.update(dict.fromkeys(_traces_at(argument, argument)))
    return list(out)


def _traces_at(path: str, argument: str) -> list[str]:
    """``path`` itself when it is a file, the traces below it when it is a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise InputError(f"{path}: {e.strerror.lower() if e.strerror else e}") from None
    if stat.S_ISDIR(mode):
        found = sorted(os.path.normpath(os.path.join(root, name)) for root, _, names in os.walk(path)
                       for name in names if name.endswith(SUFFIX))
        if not found:
            raise InputError(f"{path}: no {SUFFIX} file in this folder" + (f" (from {argument})" if path != argument
                                                                            else ""))
        return found
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: not a regular file (workers read traces from their paths)")
    return [os.path.normpath(path)]


def sha256_of(path: str) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    return h.hexdigest()


def survey(paths: list[str]) -> list[TraceFile]:
    """Each trace hashed and read whole (a corrupt one stops the sweep here, naming it and where it breaks)."""
    out = []
    for path in paths:
        digest = sha256_of(path)
        trace = load(path, partial=True)
        out.append(TraceFile(path, os.path.abspath(path), digest, os.path.getsize(path), len(trace), trace.cut_short))
    return out
