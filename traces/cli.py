"""The ``wgtrace`` command: a root that gathers subcommands, plus ``info`` and ``validate``.

Each package owns its subcommands and registers them under the ``wgtrace.commands`` entry-point
group, so this bottom package never imports the packages built on it.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
import tempfile
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast

from .errors import InputError, TraceError
from .safe_text import printable
from .schema import MAGIC

if TYPE_CHECKING:
    from .model import Trace

_OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # what only a write raises: a full disk, a quota
STREAM_LIMIT = 16 << 30  # a trace read from a pipe is spooled to a temporary file up to this size


class _Parser(argparse.ArgumentParser):
    """Bad arguments in one line, as every other bad input (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {printable(message)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="wgtrace", description="Record, check, simulate and replay wgpu traces.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    given = sys.argv[1:] if argv is None else argv
    if given and given[0] in OWN_COMMANDS:  # this package's own: no other package's commands to import
        register(sub)
    else:
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group="wgtrace.commands"), key=lambda e: e.name):
            ep.load()(sub)
    args = parser.parse_args(argv)
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a full disk or a closed pipe is an error of this command, not of exit
        return code
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`| head`): stop quietly, as other tools do
        return 0
    except InputError as e:
        return _fail(args.command, str(e))
    except OSError as e:  # what the commands did not word themselves: say which file, or that it was the output
        where = None if e.filename is None else str(e.filename)
        if where is None and (e.errno in _OUTPUT_ERRORS or _stdout_broken()):
            where = "cannot write standard output"
            _silence_stdout()
        return _fail(args.command, f"{where}: {e.strerror or e}" if where else str(e.strerror or e))
    except MemoryError:
        return _fail(args.command, "not enough memory for this trace")
    except KeyboardInterrupt:
        print(f"wgtrace {args.command}: interrupted", file=sys.stderr)
        return 130


class _Version(argparse.Action):
    """``--version``: the installed version, read from the package's metadata only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib.metadata import version

        print(f"wgtrace {version('wgtrace')}")
        parser.exit()


def _fail(command: str, message: str) -> int:
    """Report bad input in one line (what a trace or path holds escaped for the terminal); exit status 2."""
    print(f"wgtrace {command}: error: {printable(message)}", file=sys.stderr)
    return 2


def _stdout_broken() -> bool:
    """Whether standard output cannot take what is pending."""
    try:
        sys.stdout.flush()
        return False
    except OSError:
        return True


def _silence_stdout() -> None:
    """Standard output made a sink, so that the interpreter's own flush at exit does not fail again."""
    try:
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, sys.stdout.fileno())
        os.close(sink)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to silence
        pass


def load_file(path: str, *, partial: bool = False) -> Trace:
    """``load`` of a command-line argument: a regular file as it is; a pipe, FIFO or character device
    (``/dev/stdin``) read as a stream, without waiting for a writer that never comes; anything else
    refused in one line."""
    from .reader import load

    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    if stat.S_ISREG(mode):
        return load(path, partial=partial)
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        what = "a directory" if stat.S_ISDIR(mode) else "not a file, pipe or character device"
        raise TraceError(f"{path}: cannot read: {what}")
    with _spooled(path) as f:
        return load(f, partial=partial)


def _spooled(path: str) -> BinaryIO:
    """The stream at ``path`` copied into a temporary file (seekable, so the reader can size it); reading
    stops after the first bytes when they are not a trace's signature (``/dev/zero``), and at
    ``STREAM_LIMIT``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer: opened, then at its end
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    spool = tempfile.TemporaryFile()
    total = 0
    try:
        with open(fd, "rb", buffering=0, closefd=True) as stream:
            os.set_blocking(fd, True)
            while chunk := stream.read(1 << 20):
                spool.write(chunk)
                total += len(chunk)
                if total >= len(MAGIC) and total == len(chunk) and not chunk.startswith(MAGIC):
                    break  # not a trace: the reader says so from what is here
                if total > STREAM_LIMIT:
                    from .summary import bytes_text

                    raise TraceError(f"{path}: more than {bytes_text(STREAM_LIMIT)} from a stream; save it to a "
                                     f"file first")
    except OSError as e:
        spool.close()
        raise TraceError(f"{path}: cannot read: {e.strerror}") from None
    except BaseException:
        spool.close()
        raise
    if not total:
        spool.close()
        raise TraceError(f"{path}: nothing to read (a pipe or device no program writes to)")
    spool.seek(0)
    cast(Any, spool.raw).name = path  # how the reader names the trace in its messages
    return spool


OWN_COMMANDS = ("info", "validate")  # what ``register`` adds


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a trace: header, event counts, buffers, bytes, duration")
    p.add_argument("trace")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_info)
    p = sub.add_parser("validate", help="check that a trace file is complete and well formed")
    p.add_argument("trace")
    p.add_argument("--partial", action="store_true", help="accept a file cut short (a program killed mid-run)")
    p.set_defaults(run=_validate)


def _info(args: argparse.Namespace) -> int:
    from .summary import bytes_text, summarize

    trace = load_file(args.trace, partial=True)
    s = summarize(trace)
    if args.json:
        print(json.dumps(s, indent=2, sort_keys=True))
        return 0
    lines = [
        ("trace", args.trace),
        ("format", s["format"]),
        ("program", s["program"]),
        ("recorded", s["start_time"]),
        ("wgpu", s["wgpu_version"]),
        ("webgpu", s["implementation"]),
        ("adapter", s["adapter"]),
        ("capture", s["capture"]),
        ("events", f"{s['events']:,}"),
        ("buffers", f"{s['buffers']:,} created, {bytes_text(s['buffer_bytes'])} in all, largest "
                    f"{bytes_text(s['largest_buffer'])}"),
        ("queue writes", f"{s['queue_writes']:,} ({bytes_text(s['bytes_written'])} written, mapped writes included)"),
        ("reads", f"{s['reads']:,} ({bytes_text(s['bytes_read'])})"),
        ("dispatches", f"{s['dispatches']:,}"),
        ("passes", f"{s['passes']:,}"),
        ("encoders", f"{s['encoders']:,}"),
        ("submits", f"{s['submits']:,}"),
        ("duration", f"{s['duration_s']:.3f} s"),
        ("ended", _ending(s)),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        if v is not None:
            print(f"{k:<{width}}  {printable(v)}")
    print("per kind:")
    for name, n in sorted(s["counts"].items()):
        print(f"  {printable(name):<{width}}{n:>10,}")
    return 0


def _ending(s: dict) -> str:
    if s["cut_short"]:
        return f"CUT SHORT: {s['cut_short']}"
    end = s["end"] or {}
    if end.get("error"):
        return f"the program raised {end['error']}"
    if "exit_code" in end:
        return f"exit code {end['exit_code']}"
    return "complete"


def _validate(args: argparse.Namespace) -> int:
    """A regular file is validated chunk by chunk (``stream.py``: one chunk in memory at a time); a pipe whole."""
    from .stream import Validated, validate_file

    if _regular(args.trace):
        seen = validate_file(args.trace, partial=args.partial)
    else:
        trace = load_file(args.trace, partial=args.partial)
        seen = Validated(trace.header, len(trace), trace.cut_short)
    note = f"; {seen.cut_short}" if seen.cut_short else ""
    print(f"{printable(args.trace)}: valid wgtrace {seen.header['version'][0]}.{seen.header['version'][1]} trace, "
          f"{seen.events:,} events{note}")
    return 0


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
