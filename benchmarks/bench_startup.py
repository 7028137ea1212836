"""Start-up cost of the command line against numpy's import: CPU seconds of whole processes.

    taskset -c 1 python benchmarks/bench_startup.py [--runs 21] [--trace traces/corpus/frame_loop.wgtrace]
        [--baseline DIR]

Each command runs ``--runs`` times, interleaved with the others, as a child process; its CPU time
(user + system, from the child's resource usage) is taken, and the table gives medians and the
ratio to ``python -c "import numpy"`` measured in the same run (the floor a command that loads a
trace cannot go under). ``--baseline DIR`` also runs each ``wgtrace`` command with DIR first on
``PYTHONPATH``: another version laid out as the package (``DIR/wgtrace/traces``, ``.../sim``, ...; ``git
archive REV traces tracer sim replay testing | tar -x -C DIR/wgtrace``), so that a before and an after
are measured interleaved, in one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys


def cpu_of(argv: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run of ``argv``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def from_copy(commands: dict[str, tuple[list[str], dict[str, str] | None]],
              folder: str) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """The ``wgtrace`` commands again, run with ``folder`` first on ``PYTHONPATH`` (the path finder then finds
    the copy's ``wgtrace`` before the editable install's)."""
    path = os.pathsep.join(filter(None, [os.path.abspath(folder), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return {f"{name} (baseline)": (argv, env) for name, (argv, _) in commands.items() if name.startswith("wgtrace")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--trace", default=os.path.join(os.path.dirname(__file__), "..", "traces", "corpus",
                                                        "frame_loop.wgtrace"))
    parser.add_argument("--baseline", metavar="DIR", help="also run the wgtrace commands from the copy in DIR")
    args = parser.parse_args(argv)
    wgtrace = shutil.which("wgtrace", path=os.path.dirname(sys.executable)) or "wgtrace"
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        'python -c "import numpy"': ([sys.executable, "-c", "import numpy"], None),
        "wgtrace --help": ([wgtrace, "--help"], None),
        "wgtrace info TRACE": ([wgtrace, "info", args.trace], None),
        "wgtrace validate TRACE": ([wgtrace, "validate", args.trace], None),
    }
    if args.baseline:
        commands.update(from_copy(commands, args.baseline))
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, (command, env) in commands.items():
            times[name].append(cpu_of(command, env))
    floor = statistics.median(next(iter(times.values())))
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, medians of CPU seconds (user + system)")
    width = max(len(name) for name in times) + 2
    print(f"{'command':<{width}}{'CPU s':>8}{'x numpy':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<{width}}{median:>8.3f}{median / floor:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
