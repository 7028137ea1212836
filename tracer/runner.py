"""Running a program under a recording, in this process, as ``python`` itself would run it.

In-process (runpy, like ``coverage run``) rather than a child process, so that the program is
instrumented from its first line with no import hooks or environment tricks. The program sees the
``sys.argv`` and ``sys.path[0]`` that ``python app.py`` or ``python -m module`` would give it; its
output, its traceback and its exit code are its own.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import signal
import sys
import threading
from dataclasses import dataclass
from types import TracebackType

from ..traces.errors import InputError
from .recorder import Recorder, describe

_PYTHON = re.compile(r"python[0-9.]*(\.exe)?$")
USAGE = "give the program after --, e.g. `-- python app.py [args]` or `-- python -m module [args]`"


@dataclass(frozen=True)
class Program:
    """What to run: a script path or a module name, with its arguments."""

    target: str
    is_module: bool
    args: tuple[str, ...]
    command: tuple[str, ...]  # as the user gave it, for the trace header


def parse(command: list[str]) -> Program:
    """Read ``python app.py args``, ``python -m module args``, ``app.py args`` or ``-m module args``."""
    words = list(command)
    if words and words[0] == "--":
        words.pop(0)
    given = tuple(words)
    if words and (_PYTHON.match(os.path.basename(words[0])) or words[0] == sys.executable):
        words.pop(0)
    if not words:
        raise InputError(f"no program to record: {USAGE}")
    if words[0] == "-m":
        if len(words) < 2:
            raise InputError("-m needs a module name")
        return Program(words[1], True, tuple(words[2:]), given)
    if words[0].startswith("-"):
        raise InputError(f"unsupported python option {words[0]!r}: only -m is understood; {USAGE}")
    return Program(words[0], False, tuple(words[1:]), given)


def check(program: Program) -> None:
    """Fail before anything runs when the program does not exist."""
    if program.is_module:
        sys.path.insert(0, os.getcwd())
        try:
            spec = importlib.util.find_spec(program.target)
        except (ImportError, ValueError):
            spec = None
        finally:
            sys.path.pop(0)
        if spec is None:
            raise InputError(f"no module named {program.target!r}")
    elif not (os.path.isfile(program.target) or os.path.isfile(os.path.join(program.target, "__main__.py"))):
        raise InputError(f"no such program: {program.target!r}")


def run(program: Program, rec: Recorder) -> int:
    """Run the program to the end under ``rec`` and return its exit code; always ends the trace."""
    saved_argv, saved_path0 = sys.argv, sys.path[0]
    sys.argv = [program.target, *program.args]
    sys.path[0] = os.getcwd() if program.is_module else os.path.dirname(os.path.abspath(program.target))
    error: BaseException | None = None
    rec.start()
    try:
        if program.is_module:
            runpy.run_module(program.target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(program.target, run_name="__main__")
    except BaseException as e:  # the program's own end, whatever it is, is passed on below
        error = e
    finally:
        sys.argv, sys.path[0] = saved_argv, saved_path0
    code = _report(error)
    _join_threads()
    interrupted = isinstance(error, KeyboardInterrupt)
    end: dict = {"exit_code": code}
    if error is not None and not isinstance(error, SystemExit):
        end["error"] = describe(error)
    try:
        rec.stop(end)
    except OSError as e:  # the program has run; its exit code still comes first
        print(f"wgtrace record: could not finish {rec.output!r}: {e}", file=sys.stderr)
    if interrupted:  # python ends an interrupted program by SIGINT, so that its caller sees it
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _report(error: BaseException | None) -> int:
    """Print what python would print for this ending and return its exit code."""
    if error is None:
        return 0
    if isinstance(error, SystemExit):
        if error.code is None or isinstance(error.code, int):
            return error.code or 0
        print(error.code, file=sys.stderr)
        return 1
    error.with_traceback(_program_part(error.__traceback__))
    sys.excepthook(type(error), error, error.__traceback__)
    return -signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1


def _program_part(tb: TracebackType | None) -> TracebackType | None:
    """The traceback without the frames of runpy and of this module, which the program never called."""
    while tb is not None and tb.tb_frame.f_globals.get("__name__") in ("runpy", __name__):
        tb = tb.tb_next
    return tb


def _join_threads() -> None:
    """Wait for the program's non-daemon threads, as interpreter shutdown would, so their calls are recorded."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
