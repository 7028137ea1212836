"""Re-record the committed corpus: the programs of ``examples/``, into ``traces/corpus/``.

Digest mode keeps the traces small; one full recording of the training program carries its
payloads, so replays of it run on the program's real data and check the recorded read-backs.

Run from the repository root (the examples are a package there, not part of the install):

    python -m wgtrace.tracer.corpus [--out traces/corpus] [NAME ...]

Each recording is exactly what ``wgtrace record -o traces/corpus/NAME.wgtrace -- python -m
examples.MODULE ARGS`` writes; the list of recordings is ``CORPUS``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from ..traces.errors import InputError
from ..traces.reader import load
from .runner import Program, check

# trace name -> (example module, its arguments, capture mode)
CORPUS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "mlp_train": ("examples.mlp_train", (), "digest"),
    "mlp_train_full": ("examples.mlp_train", (), "full"),
    "mlp_train_hazard": ("examples.mlp_train", ("--hazard",), "digest"),
    "image_filters": ("examples.image_filters", (), "digest"),
    "nbody": ("examples.nbody", (), "digest"),
    "prefix_sum": ("examples.prefix_sum", (), "digest"),
    "frame_loop": ("examples.frame_loop", (), "full"),
    "frame_loop_hazard": ("examples.frame_loop", ("--hazard",), "full"),
    "pygfx_scene": ("examples.pygfx_scene", (), "digest"),
    "fastplotlib_figure": ("examples.fastplotlib_figure", (), "digest"),
}


def record(name: str, out_dir: str) -> str:
    """Record one corpus program in a process of its own; returns the trace path. Raises if it fails.

    Its own process: a library that caches GPU objects across frames (pygfx) would otherwise hand
    the next recording objects made before it started, which a trace can only adopt, not describe.
    """
    module, args, data = CORPUS[name]
    check(Program(module, True, args, ("python", "-m", module, *args)))
    path = os.path.join(out_dir, f"{name}.wgtrace")
    done = subprocess.run([sys.executable, "-m", "wgtrace.traces", "record", "-o", path, "--data", data, "--",
                           "python", "-m", module, *args], check=False)
    if done.returncode != 0:
        raise RuntimeError(f"python -m {module} {' '.join(args)} exited with {done.returncode}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wgtrace.tracer.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("traces", "corpus"), help="directory of the corpus")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only these (default: all of {', '.join(CORPUS)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - CORPUS.keys())
    if unknown:
        parser.error(f"unknown corpus program(s) {', '.join(unknown)}; known: {', '.join(CORPUS)}")
    try:
        for name in args.names or CORPUS:
            path = record(name, args.out)
            print(f"{path}: {len(load(path)):,} events, {os.path.getsize(path):,} bytes", file=sys.stderr)
    except InputError as e:
        print(f"corpus: error: {e} (run from the repository root)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
