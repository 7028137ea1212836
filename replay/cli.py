"""``wgtrace replay``, ``calibrate`` and ``truth``: their arguments.

What they do is in ``commands.py``, imported when one of them runs: this module imports neither
wgpu nor the planner, so that ``wgtrace --help`` and the other commands start without them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..tracer.backends import BACKENDS, DEFAULT, select
from ..traces.arguments import deferred, natural, positive, seconds, share
from ..traces.errors import InputError
from ..traces.progress import add_quiet_option
from .watchdog import DEFAULT_TIMEOUT_S

COMMANDS = "wgtrace.replay.commands"
SIDES = "wgtrace.replay.sides"  # a command on several implementations, side by side


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``wgtrace``."""
    p = sub.add_parser("replay", help="run a trace on the GPU under a pool and pass policy; verify and time it")
    p.add_argument("trace")
    p.add_argument("--pool", action="append", help="pool policy, NAME[+fix|+fix-range] (default: as-recorded); "
                                                   "repeat --pool/--pass pairs to replay and compare several")
    p.add_argument("--pass", dest="passes", action="append",
                   help="pass policy, NAME[:N][/UPLOAD] (default: as-recorded), paired with --pool in order")
    _device_options(p)
    p.add_argument("--repeat", type=positive, default=1, help="timed runs (default 1)")
    p.add_argument("--warmup", type=natural, default=1, help="untimed runs first (default 1)")
    p.add_argument("--no-reference", dest="reference", action="store_false",
                   help="skip the program-order reference replay")
    p.add_argument("--costs", help="cost parameters for the prediction, a calibration or measure_costs.py's figures "
                                   "(default: the shipped calibration of this adapter if one ships, else the H100's)")
    p.add_argument("--read-digests", action="store_true", help=argparse.SUPPRESS)  # for a side-by-side parent
    add_quiet_option(p)
    p.set_defaults(run=on_backends("replay_traces", several=True))

    p = sub.add_parser("calibrate", help="fit the cost model to replays of traces under a design of policies",
                       description="Replay every TRACE (and every --holdout trace) under each policy of the design "
                                   "(or the --pool/--pass pairs given), measure the CPU time of each run, fit each "
                                   "term's cost on the TRACEs and predict the held-out traces with it. Writes the "
                                   "costs, with their provenance, to OUT for --costs.")
    p.add_argument("traces", nargs="+", metavar="TRACE")
    p.add_argument("--holdout", nargs="+", default=[], metavar="TRACE", help="traces to predict, not fit on")
    p.add_argument("--pool", action="append", help="pool policy of a design pair (default: the built-in design)")
    p.add_argument("--pass", dest="passes", action="append", help="pass policy of a design pair")
    p.add_argument("--prior", help="per-call figures to pull the fit towards, as benchmarks/measure_costs.py prints "
                                   "them (default: none)")
    p.add_argument("--repeat", type=positive, default=5,
                   help="rounds of timed runs, each replaying every trace under every policy once (default 5)")
    p.add_argument("--warmup", type=natural, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--profile-repeat", type=natural, default=3,
                   help="then this many rounds timing each call, whose costs the fit is pulled towards (default 3)")
    p.add_argument("--gpu-repeat", type=natural, default=0,
                   help="then this many rounds timing the device (timestamps around every encoder; default 0)")
    p.add_argument("-o", "--output", required=True, help="the calibration file to write")
    p.add_argument("--save-runs", metavar="FILE", help="also write the measured runs, for --runs")
    p.add_argument("--gpu-runs", metavar="FILE", nargs="+", help="fit the GPU-time model on these runs' GPU rounds "
                                                                 "(another start of the same device; their CPU runs "
                                                                 "are not used, nor traces they have no rounds of)")
    p.add_argument("--runs", metavar="FILE", nargs="+", help="fit on the runs --save-runs wrote, of one device (no "
                                                             "replay, no device): the same measurements judged by "
                                                             "this version's model")
    _device_options(p)
    p.set_defaults(run=on_backends("calibrate", several=False))

    p = sub.add_parser("truth", help="random programs: does the GPU diverge exactly when the checker says H1?")
    p.add_argument("cases", type=positive)
    p.add_argument("--ops", type=positive, default=40, help="ops per random program (default 40)")
    p.add_argument("--draws", type=share, default=0.3,
                   help="share of kernels drawn in a render pass instead of dispatched (default 0.3)")
    p.add_argument("--cases", dest="list_cases", action="store_true", help=argparse.SUPPRESS)  # for a parent
    _device_options(p)
    add_quiet_option(p)
    p.set_defaults(run=on_backends("truth", several=True))


def on_backends(command: str, *, several: bool) -> Callable[[argparse.Namespace], int]:
    """``command`` on the implementation --backend names, selected before anything imports wgpu; on
    several (where ``several``), each in a process of its own, side by side (sides.py)."""
    def run(args: argparse.Namespace) -> int:
        chosen = list(dict.fromkeys(args.backend or [DEFAULT]))
        if len(chosen) > 1:
            if not several:
                raise InputError(f"{args.command} runs on one --backend at a time, not {' and '.join(chosen)}")
            return deferred(SIDES, command)(args)
        select(chosen[0])
        return deferred(COMMANDS, command)(args)

    return run


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", action="append", choices=sorted(BACKENDS),
                   help=f"the WebGPU implementation (default {DEFAULT}); replay and truth take it twice to run "
                        "both, each in a process of its own, and compare them")
    p.add_argument("--adapter", default=None, help="use the first adapter whose name contains this")
    p.add_argument("--seed", type=natural, default=0, help="seed of synthetic data and random programs (default 0)")
    p.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT_S,
                   help=f"give up when the device makes no progress for this long (default {DEFAULT_TIMEOUT_S:g} s)")
    p.add_argument("--json", action="store_true", help="print JSON")
