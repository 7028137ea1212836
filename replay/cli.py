"""``wgtrace replay`` (one trace under one policy, on the GPU) and ``wgtrace truth`` (checker vs GPU).

Exit codes: 0 when every read matched and the device reported nothing, 1 when a read diverged,
the device reported an error or stopped making progress (see ``device.Watchdog``), or the truth
table has a disagreement; 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os

from ..sim.cost import load_costs
from ..traces import load
from ..traces.errors import InputError
from ..traces.summary import bytes_text
from .device import DEFAULT_TIMEOUT_S, adapter_name, open_device
from .engine import Engine
from .report import AS_RECORDED, Report, replay

SYNTHETIC_NOTE = ("; kernels see made-up inputs (zeros in uniform and indirect buffers), so a read that differs "
                  "from the reference may reflect the data, not the policy")


def register(sub: argparse._SubParsersAction) -> None:
    """Add this package's subcommands to ``wgtrace``."""
    p = sub.add_parser("replay", help="run a trace on the GPU under a pool and pass policy; verify and time it")
    p.add_argument("trace")
    p.add_argument("--pool", default=AS_RECORDED, help="pool policy, NAME[+fix|+fix-range] (default: as-recorded)")
    p.add_argument("--pass", dest="passes", default=AS_RECORDED,
                   help="pass policy, NAME[:N][/UPLOAD] (default: as-recorded)")
    _device_options(p)
    p.add_argument("--repeat", type=_positive, default=1, help="timed runs (default 1)")
    p.add_argument("--warmup", type=_natural, default=1, help="untimed runs first (default 1)")
    p.add_argument("--no-reference", dest="reference", action="store_false",
                   help="skip the program-order reference replay")
    p.add_argument("--costs", help="cost parameters for the prediction, as benchmarks/measure_costs.py prints them")
    p.set_defaults(run=_replay)

    p = sub.add_parser("truth", help="random programs: does the GPU diverge exactly when the checker says H1?")
    p.add_argument("cases", type=_positive)
    p.add_argument("--ops", type=_positive, default=40, help="ops per random program (default 40)")
    _device_options(p)
    p.set_defaults(run=_truth)


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--adapter", default=None, help="use the first adapter whose name contains this")
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic data and random programs (default 0)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                   help=f"give up when the device makes no progress for this long (default {DEFAULT_TIMEOUT_S:g} s)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _positive(text: str) -> int:
    n = _natural(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _natural(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {n}")
    return n


def _open(args: argparse.Namespace) -> tuple[Engine, str]:
    if args.timeout <= 0:
        raise InputError(f"--timeout must be positive, not {args.timeout:g}")
    device = open_device(args.adapter)
    return Engine(device, args.timeout), adapter_name(device.adapter)


def _replay(args: argparse.Namespace) -> int:
    trace = load(args.trace)
    engine, adapter = _open(args)
    report = replay(trace, engine, adapter=adapter, pool=args.pool, passes=args.passes, repeat=args.repeat,
                    warmup=args.warmup, seed=args.seed, reference=args.reference, label=os.path.basename(args.trace),
                    costs=load_costs(args.costs))
    if args.json:
        print(json.dumps({"trace": args.trace, **report.as_dict()}, indent=2))
    else:
        print("\n".join(_lines(args.trace, report)))
    engine.close()
    return 0 if report.ok else 1


def _lines(name: str, r: Report) -> list[str]:
    f = r.figures
    out = [
        f"replay   {name}: pool {r.pool}, passes {r.passes}",
        f"adapter  {r.adapter}",
        f"plan     {f['events']:,} events: {f['dispatches']:,} dispatches in {f['passes_begun']:,} passes, "
        f"{f['submits']:,} submits, {f['queue_writes']:,} queue writes ({bytes_text(f['bytes_written'])}), "
        f"{f['mapped_writes']:,} mapped writes ({bytes_text(f['staged_bytes'])}), {f['reads']:,} reads; "
        f"{f['opaque']:,} opaque events skipped",
        f"memory   {f['buffers_created']:,} buffers, {bytes_text(f['created_bytes'])} created, "
        f"peak {bytes_text(f['peak_reserved_bytes'])} live",
        f"data     {r.recorded_writes:,} writes from the recording, {r.synthetic_writes:,} synthetic (seed {r.seed})"
        + (SYNTHETIC_NOTE if r.synthetic_writes else ""),
    ]
    t = r.timings()
    if t:
        def ms(key: str) -> str:
            s = t[key]
            return f"{s['median'] * 1e3:.2f} ms ({s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f})"

        out.append(f"time     median of {t['issue_s']['n']}: issue {ms('issue_s')}, cpu {ms('cpu_s')}, "
                   f"synchronised {ms('wall_s')}; {t['cpu_us_per_dispatch']['median']:.2f} us cpu per dispatch")
        if t["prediction_error"] is not None:
            out.append(f"model    sim's cost model predicts {t['predicted_cpu_s'] * 1e3:.2f} ms cpu "
                       f"({t['prediction_error']:+.0%} of the measured median)")
    v = r.verdict
    out.append(f"reads    {v.reads:,} checked: {v.vs_recording:,} against the recording, {v.vs_reference:,} against "
               f"the program-order reference" + ("" if r.deterministic else "; NOT the same bytes on every repeat"))
    if r.recording_not_compared:
        out.append(f"         not against the recording: {r.recording_not_compared}")
    out.extend(f"DIVERGED {d.line()}" for d in v.divergences)
    if r.error:
        out.append(f"ERROR    {r.error.line()}")
    if r.reference_error:
        out.append(f"ERROR    in the reference replay: {r.reference_error.line()}")
    out.append("verdict  " + ("OK" if r.ok else "FAILED"))
    return out


def _truth(args: argparse.Namespace) -> int:
    from .truth import agreement_lines, run_cases

    engine, adapter = _open(args)
    table = run_cases(engine, args.cases, seed=args.seed, n_ops=args.ops)
    if args.json:
        print(json.dumps({"adapter": adapter, **table.as_dict()}, indent=2))
    else:
        print("\n".join([f"adapter  {adapter}", *agreement_lines(table)]))
    engine.close()
    return 0 if table.agree else 1
