"""``wgtrace record``: run a program and write what it did with wgpu to a trace file."""

from __future__ import annotations

import argparse

from ..traces.errors import InputError
from .backends import BACKENDS, DEFAULT, select
from .capture import MODES


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``wgtrace``."""
    p = sub.add_parser(
        "record",
        help="run a wgpu-py program and record its wgpu calls",
        description="Run a program (as `python` would, in this process) and record every wgpu call it makes. "
                    "Its output and exit code are its own.",
        usage="wgtrace record -o OUT [--data {full,digest}] [--payload-cap BYTES] [--backend {dawn,wgpu-native}] "
              "{-- python app.py [args] | -- python -m module [args] | -m module [args]}",
    )
    p.add_argument("-o", "--output", required=True, help="the trace file to write")
    p.add_argument("--data", choices=MODES, default="digest",
                   help="digest: hashes of written and read bytes (small files); full: the bytes too")
    p.add_argument("--payload-cap", type=_bytes, default=0, metavar="BYTES",
                   help="in full mode, store payloads up to this many bytes in all, then digests only (0: no cap)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default=DEFAULT,
                   help=f"the WebGPU implementation the program's `import wgpu` gives (default {DEFAULT})")
    p.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE [ARGS]",
                   help="run a module as python -m does; everything after it is the module's")
    p.add_argument("program", nargs=argparse.REMAINDER, help="the program: python app.py ... or python -m module ...")
    p.set_defaults(run=_record)


def _bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _record(args: argparse.Namespace) -> int:
    select(args.backend)
    from . import runner  # imports wgpu: only when recording, so that other subcommands start fast
    from .recorder import Recorder

    program = runner.parse(["-m", *args.module] if args.module is not None else args.program)
    runner.check(program)
    runner.refuse_output(program, args.output)
    if args.payload_cap and args.data != "full":
        raise InputError("--payload-cap applies to --data full only")
    rec = Recorder(args.output, data=args.data, payload_cap=args.payload_cap, program=list(program.command))
    return runner.run(program, rec)
