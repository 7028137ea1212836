"""Running a program under a recording, in this process, as ``python`` itself would run it.

In-process (like ``coverage run``) rather than a child process, so that the program is
instrumented from its first line with no import hooks or environment tricks. The program sees the
``sys.argv``, ``sys.path[0]``, ``__file__`` and ``__main__`` globals that ``python app.py`` or
``python -m module`` would give it (CPython 3.11: a script's ``__file__`` is its path made absolute,
``sys.argv[0]`` the path as typed); its output, its traceback and its exit code are its own.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import importlib.util
import io
import os
import pkgutil
import re
import runpy
import signal
import sys
import threading
import types
import zipfile
from dataclasses import dataclass
from types import CodeType, TracebackType

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
        if _module_spec(program.target) is None:
            raise InputError(f"no module named {program.target!r}")
    elif not (os.path.isfile(program.target) or os.path.isfile(os.path.join(program.target, "__main__.py"))):
        raise InputError(f"no such program: {program.target!r}")


def refuse_output(program: Program, output: str) -> None:
    """Fail when the trace would overwrite the program or a file its command line names (``-o app.py --
    python app.py`` would truncate the program before it runs)."""
    named = [program.target, *program.args, *(a.split("=", 1)[1] for a in program.args if "=" in a)]
    if program.is_module:
        named[0] = _module_file(program.target) or ""
    out = os.path.realpath(output)
    for path in named:
        if not path:
            continue
        try:
            same = os.path.realpath(path) == out or (os.path.exists(output) and os.path.samefile(path, output))
        except (OSError, ValueError):
            continue
        if same:
            what = "the program" if path == named[0] else f"{path!r}, which its command line names"
            raise InputError(f"will not write the trace to {output!r}: that is {what}; give -o another file")


def _module_file(name: str) -> str | None:
    spec = _module_spec(name)
    return spec.origin if spec is not None else None


def _module_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where ``python -m name`` finds the module, found without importing its packages (their code must
    first run under the recording, with the program's ``sys.argv``); through the import system (which
    imports them) only for modules that other finders provide, an editable install's."""
    path: list[str] | None = [os.getcwd(), *sys.path[1:]]
    parts = name.split(".")
    spec = None
    for i in range(len(parts)):
        if path is None or not parts[i].isidentifier():
            spec = None
            break
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), path)
        if spec is None:
            break
        path = spec.submodule_search_locations
    if spec is not None:
        return spec
    sys.path.insert(0, os.getcwd())
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path.pop(0)


def run(program: Program, rec: Recorder) -> int:
    """Run the program to the end under ``rec`` and return its exit code; always ends the trace."""
    saved_argv, saved_path0 = sys.argv, sys.path[0]
    # -m: "-m" while its packages import, then the module's file (runpy sets it), as python does
    sys.argv = ["-m" if program.is_module else program.target, *program.args]
    path = absolute(program.target)
    main_importer = not program.is_module and (os.path.isdir(path) or zipfile.is_zipfile(path))
    if not sys.flags.safe_path:
        sys.path[0] = (os.getcwd() if program.is_module else path if main_importer
                       else os.path.dirname(os.path.realpath(path)))
    error: BaseException | None = None
    rec.start()
    try:
        if program.is_module:
            runpy.run_module(program.target, run_name="__main__", alter_sys=True, init_globals=_main_globals())
        elif main_importer:
            _run_importer_main(path)
        else:
            _run_script(path)
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


def absolute(path: str) -> str:
    """A path made absolute as CPython makes a script's (joined to the working directory, not normalised)."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def _main_globals() -> dict:
    """What python's own ``__main__`` holds before the program's first line, beyond the module basics."""
    return {"__annotations__": {}, "__builtins__": builtins}


def _run_script(path: str) -> None:
    """``python app.py``: the file's code in a fresh ``__main__`` holding what CPython's holds (``__file__``
    absolute, ``__cached__`` None, a file loader, no spec, no package)."""
    with io.open_code(path) as f:
        code = pkgutil.read_code(f)  # a .pyc, as python runs one
    loader: importlib.machinery.SourceFileLoader | importlib.machinery.SourcelessFileLoader
    if code is None:
        with io.open_code(path) as f:
            code = compile(f.read(), path, "exec", dont_inherit=True)
        loader = importlib.machinery.SourceFileLoader("__main__", path)
    else:
        loader = importlib.machinery.SourcelessFileLoader("__main__", path)
    _exec_main(code, __file__=path, __cached__=None, __loader__=loader)


def _run_importer_main(path: str) -> None:
    """``python dir`` or ``python app.zip``: its ``__main__`` module, found on ``sys.path[0]`` (the path)."""
    spec = importlib.machinery.PathFinder.find_spec("__main__", [path])
    if spec is None or spec.loader is None or not hasattr(spec.loader, "get_code"):
        raise SystemExit(f"{sys.executable}: can't find '__main__' module in {path!r}")  # as python says it
    code = spec.loader.get_code("__main__")
    _exec_main(code, __file__=spec.origin, __cached__=spec.cached, __loader__=spec.loader, __package__="",
               __spec__=spec)


def _exec_main(code: CodeType, **fields: object) -> None:
    module = types.ModuleType("__main__")
    module.__dict__.update(_main_globals(), **fields)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


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
