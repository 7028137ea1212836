"""Text and files that a hostile trace cannot turn against the person or the tool reading them.

A trace's strings (the program's arguments, the adapter's name, labels, call sites) are whatever the
recorded program, or whoever crafted the file, put there. ``printable`` escapes the characters that
would reach a terminal as commands (escape sequences, carriage returns, bidirectional overrides),
``xml_text`` those XML 1.0 forbids, so a report stays one line per finding and its XML well formed.

``output`` writes a report or trace without following a link someone else planted: into a fresh
temporary file beside the target (created exclusively, so never through a link at that name),
moved over the target once complete, which replaces a file or link there rather than writing
through it. A link another user owns is refused; the user's own, a device or a pipe
(``/dev/stdout``, ``/dev/null``) is written through, a FIFO only while someone reads it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

# Unicode categories a terminal does not print as text: controls, format characters (bidirectional
# overrides, zero-width joiners), surrogates, line and paragraph separators.
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
# XML 1.0's Char production; everything else cannot appear in a document, not even as a reference.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def printable(s: object) -> str:
    """``s`` as text safe to print on one terminal line: unprintable characters written as ``\\x1b``,
    ``\\u202e``; everything else as it is."""
    text = s if isinstance(s, str) else str(s)
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _UNPRINTABLE else c for c in text)


def xml_text(s: object) -> str:
    """``s`` with every character XML 1.0 forbids (most controls, lone surrogates, U+FFFE/U+FFFF) written as
    ``\\x1b``; the serializer escapes the rest (``<``, ``&``, quotes)."""
    text = s if isinstance(s, str) else str(s)
    return _NOT_XML.sub(lambda m: _escape(m.group()), text)


@contextlib.contextmanager
def output(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content into; the content replaces the file only when the
    block ends without an error, so a failed write leaves the old file (or none) behind.

    A symbolic link at ``path`` that another user owns is refused (a link planted in a shared
    directory); the user's own (or root's: ``/dev/stdout``) is written through. A character device,
    pipe or socket (``/dev/null``, a FIFO) is written in place; a FIFO nobody reads is refused rather
    than waited on. Raises OSError, with the path, on failure.
    """
    name = os.fspath(path)
    try:
        link = os.lstat(name)
    except FileNotFoundError:
        link = None
    if link is not None and stat.S_ISLNK(link.st_mode) and link.st_uid not in (os.geteuid(), 0):
        raise PermissionError(errno.EPERM, "a symbolic link another user owns; not followed", name)
    try:
        mode: int | None = os.stat(name).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
            raise IsADirectoryError(errno.EISDIR, "a directory" if stat.S_ISDIR(mode) else "not a regular file",
                                    name)
        with _stream(name) as f:
            yield f
        return
    if link is not None and stat.S_ISLNK(link.st_mode):
        with open(name, "wb") as f:  # the user's own link: where it points is where they want the file
            yield f
        return
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(name) or ".", prefix=f".{os.path.basename(name)}.",
                                suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, (mode & 0o7777) if mode is not None else 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(temp, name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def _stream(name: str) -> Iterator[BinaryIO]:
    """A device, pipe or socket opened for writing without waiting for a reader (ENXIO when none)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "a pipe nobody reads", name) from None
        raise
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as f:
        yield f


def write_file(path: str | os.PathLike, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` as ``output`` does."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with output(path) as f:
        f.write(data)

