"""Start-up cost of the command line against numpy's import: CPU seconds of whole processes.

    taskset -c 1 python benchmarks/bench_startup.py [--runs 21] [--trace traces/corpus/frame_loop.wgtrace]

Each command runs ``--runs`` times, interleaved with the others, as a child process; its CPU time
(user + system, from the child's resource usage) is taken, and the table gives medians and the
ratio to ``python -c "import numpy"`` measured in the same run (the floor a command that loads a
trace cannot go under).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys


def cpu_of(argv: list[str]) -> float:
    """CPU seconds (user + system) of one run of ``argv``, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--trace", default=os.path.join(os.path.dirname(__file__), "..", "traces", "corpus",
                                                        "frame_loop.wgtrace"))
    args = parser.parse_args(argv)
    wgtrace = shutil.which("wgtrace", path=os.path.dirname(sys.executable)) or "wgtrace"
    commands = {
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        "wgtrace --help": [wgtrace, "--help"],
        "wgtrace info TRACE": [wgtrace, "info", args.trace],
        "wgtrace validate TRACE": [wgtrace, "validate", args.trace],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(cpu_of(command))
    floor = statistics.median(next(iter(times.values())))
    print(f"python {sys.version.split()[0]}; {args.runs} runs each, medians of CPU seconds (user + system)")
    print(f"{'command':<28}{'CPU s':>8}{'x numpy':>9}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28}{median:>8.3f}{median / floor:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
