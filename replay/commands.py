"""``wgtrace replay`` (traces under policies, on the GPU), ``calibrate`` (the cost model from replays) and
``truth`` (checker vs GPU): what they do once ``cli.py`` has read their arguments.

Exit codes: 0 when every read matched and the device reported nothing, 1 when a read diverged,
the device reported an error or stopped making progress (see ``watchdog.Watchdog``), or the truth
table has a disagreement; 2 for bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

import xxhash
from rich.console import Console
from rich.table import Table

from ..sim.metrics import Costs, load_costs
from ..sim.metrics.cost import for_adapter
from ..tracer.backends import implementation
from ..traces import Kind, Trace
from ..traces.cli import load_file
from ..traces.errors import InputError
from ..traces.progress import Progress
from ..traces.safe_text import write_file
from ..traces.summary import bytes_text
from .device import AdapterError, adapter_name, open_device
from .engine import Engine
from .report import AS_RECORDED, Report, replay

SYNTHETIC_NOTE = ("; kernels see made-up inputs (zeros in uniform and indirect buffers), so a read that differs "
                  "from the reference may reflect the data, not the policy")


def _open(args: argparse.Namespace) -> tuple[Engine, str]:
    """The engine on the adapter asked for, and the adapter's name with the implementation that drives it."""
    webgpu = implementation()
    try:
        device = open_device(args.adapter)
    except (AdapterError, RuntimeError) as e:  # wgpudawn raises RuntimeError where wgpu-py returns no adapter
        if webgpu["name"] != "dawn":
            raise
        raise AdapterError(f"{str(e).splitlines()[0]}; Dawn needs a newer lavapipe than Debian 12's: run "
                           "scripts/ensure-dawn.sh") from None
    return Engine(device, args.timeout), f"{adapter_name(device.adapter)}, {webgpu['name']} {webgpu['version']}"


def _policies(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The (pool, passes) pairs asked for: --pool and --pass pair up in order; a missing one is as-recorded."""
    pools, passes = args.pool or [AS_RECORDED], args.passes or [AS_RECORDED]
    if len(pools) != len(passes) and min(len(pools), len(passes)) > 1:
        raise InputError(f"{len(pools)} --pool and {len(passes)} --pass options: give them in pairs")
    n = max(len(pools), len(passes))
    return [(pools[min(i, len(pools) - 1)], passes[min(i, len(passes) - 1)]) for i in range(n)]


def replay_traces(args: argparse.Namespace) -> int:
    with Progress(args.quiet) as progress:
        with progress.step(f"loading and validating {args.trace}"):
            trace = load_file(args.trace)
        policies = _policies(args)
        engine, adapter = _open(args)
        costs = load_costs(args.costs) if args.costs else for_adapter(str(engine.device.adapter.info.get("device")))
        reports = []
        for pool, passes in policies:
            with progress.step(f"replaying {pool} x {passes}"):
                reports.append(replay(trace, engine, adapter=adapter, pool=pool, passes=passes, repeat=args.repeat,
                                      warmup=args.warmup, seed=args.seed, reference=args.reference,
                                      label=f"{os.path.basename(args.trace)} {pool} {passes}", costs=costs))
    engine.close()
    if args.json:
        out = [{"trace": args.trace, **r.as_dict(), **(_digests(r) if args.read_digests else {})} for r in reports]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        print("\n\n".join("\n".join(_lines(args.trace, r)) for r in reports))
        if len(reports) > 1:
            Console(width=None if sys.stdout.isatty() else 160).print(_comparison(trace, reports))
    return 0 if all(r.ok for r in reports) else 1


def _digests(r: Report) -> dict[str, dict[str, str]]:
    """The first run's reads as XXH3-128 digests by source event: what a side-by-side parent compares."""
    return {"read_digests": {str(e): xxhash.xxh3_128_hexdigest(b) for e, b in sorted(r.reads.items())}}


def _comparison(trace: Trace, reports: list[Report]) -> Table:
    """The replays side by side, per step of the program (one step per recorded submit); the model's prediction
    with its error against the measured CPU."""
    steps = max(1, trace.count_kind(Kind.SUBMIT))
    table = Table(title=f"per step ({steps} steps: one per recorded submit), median of the timed runs")
    for name in ("pool", "pass policy", "cpu ms", "synced ms", "model ms", "passes", "submits", "peak memory", "reads"):
        table.add_column(name, justify="left" if name in ("pool", "pass policy", "reads") else "right")
    base = None
    for r in reports:
        t, f = r.timings(), r.figures
        cpu = t["cpu_s"]["median"] * 1e3 / steps if t else None
        base = base or cpu
        speed = f" ({base / cpu:.2f}x)" if cpu and base and r is not reports[0] else ""
        verdict = "OK" if r.ok else ("device error" if r.error else f"{len(r.verdict.divergences)} diverged")
        model = f["predicted_cpu_s"] * 1e3 / steps
        error = f" ({(model - cpu) / cpu:+.0%})" if cpu else ""
        table.add_row(r.pool, r.passes, f"{cpu:.3f}{speed}" if cpu else "-",
                      f"{t['wall_s']['median'] * 1e3 / steps:.3f}" if t else "-",
                      f"{model:.3f}{error}", f"{f['passes_begun']:,}", f"{f['submits']:,}",
                      bytes_text(f["peak_reserved_bytes"]), verdict)
    return table


def _lines(name: str, r: Report) -> list[str]:
    f = r.figures
    out = [
        f"replay   {name}: pool {r.pool}, passes {r.passes}",
        f"adapter  {r.adapter}",
        f"plan     {f['events']:,} events: {f['dispatches']:,} dispatches in {f['passes_begun']:,} passes, "
        f"{f['submits']:,} submits, {f['queue_writes']:,} queue writes ({bytes_text(f['bytes_written'])}), "
        f"{f['mapped_writes']:,} mapped writes ({bytes_text(f['staged_bytes'])}), {f['reads']:,} reads; "
        f"{f['opaque']:,} opaque events skipped",
    ]
    if f.get("render_passes") or f.get("textures"):
        out.append(f"render   {f['render_passes']:,} render passes, {f['draws']:,} draws, {f['bundles']:,} bundles "
                   f"({f['bundle_executions']:,} executions), {f['textures']:,} textures "
                   f"({bytes_text(f['texture_bytes'])}), {f['texture_writes']:,} texture uploads "
                   f"({bytes_text(f['texture_bytes_written'])}), {f['texture_copies']:,} texture copies, "
                   f"{f['texture_reads']:,} texture reads, {f['frames']:,} frames")
    out += [
        f"memory   {f['buffers_created']:,} buffers, {bytes_text(f['created_bytes'])} created, "
        f"peak {bytes_text(f['peak_reserved_bytes'])} live",
        f"data     {r.recorded_writes:,} writes from the recording, {r.synthetic_writes:,} synthetic (seed {r.seed})"
        + (SYNTHETIC_NOTE if r.synthetic_writes else ""),
    ]
    out += _time_lines(r)
    if r.skipped_timestamps:
        out.append(f"skipped  {r.skipped_timestamps:,} timestamp writes and resolves: the device lacks the "
                   "timestamp-query features")
    out += _read_lines(r)
    out.extend(f"DIVERGED {d.line()}" for d in r.verdict.divergences)
    if r.error:
        out.append(f"ERROR    {r.error.line()}")
    if r.reference_error:
        out.append(f"ERROR    in the reference replay: {r.reference_error.line()}")
    out.append("verdict  " + ("OK" if r.ok else "FAILED"))
    return out


def _time_lines(r: Report) -> list[str]:
    t = r.timings()
    if not t:
        return []

    def ms(key: str) -> str:
        s = t[key]
        return f"{s['median'] * 1e3:.2f} ms ({s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f})"

    per = []
    if "cpu_us_per_dispatch" in t:
        per.append(f"{t['cpu_us_per_dispatch']['median']:.2f} us cpu per dispatch")
    if "ms_per_frame" in t:
        s = t["ms_per_frame"]
        per.append(f"{s['median']:.2f} ms per frame ({s['min']:.2f}-{s['max']:.2f}; {t['frames']} frames, "
                   f"submit to submit; first frame {t['first_frame_ms']['median']:.2f} ms)")
    out = [f"time     median of {t['issue_s']['n']}: issue {ms('issue_s')}, cpu {ms('cpu_s')}, "
           f"synchronised {ms('wall_s')}" + ("; " + "; ".join(per) if per else "")]
    if t["prediction_error"] is not None:
        out.append(f"model    sim's cost model predicts {t['predicted_cpu_s'] * 1e3:.2f} ms cpu "
                   f"({t['prediction_error']:+.0%} of the measured median; costs {r.figures['costs']})")
    return out


def _read_lines(r: Report) -> list[str]:
    v = r.verdict
    out = [f"reads    {v.reads:,} checked: {v.vs_recording:,} against the recording, {v.vs_reference:,} against "
           f"the program-order reference" + ("" if r.deterministic else "; NOT the same bytes on every repeat")]
    if v.recording == "exact" and v.vs_recording:
        out.append("         against the recording: exactly, byte for byte (its own adapter, or portable results)")
    elif v.recording == "tolerance":
        out.append(f"         against the recording: texture read-backs only, within per-format tolerance "
                   f"({', '.join(v.tolerances) or 'no tolerance applied'}; {v.within_tolerance:,} equal only "
                   f"within it), since {r.recording_not_compared}")
    if v.frames or r.figures.get("render_passes"):
        out.append(f"frames   {v.frames:,} texture read-backs verified ({v.render_frames:,} of render targets)")
    if v.timestamp_reads:
        out.append(f"         {v.timestamp_reads:,} reads of resolved timestamps not compared (they differ every run)")
    if r.recording_not_compared and v.recording != "tolerance":
        out.append(f"         not against the recording: {r.recording_not_compared}")
    return out


def calibrate(args: argparse.Namespace) -> int:
    from .calibrate import MIN_QUIET, calibrate

    if args.runs and args.save_runs:
        raise InputError("--save-runs keeps the runs a calibration measures; with --runs it measures none")
    prior = load_costs(args.prior) if args.prior else Costs(source="none")
    paths = list(dict.fromkeys([*args.traces, *args.holdout]))
    traces = {path: load_file(path) for path in paths}
    command = ["wgtrace", *sys.argv[1:]]
    measurements, where, adapter = _runs(args, traces, command) if args.runs else _measure(args, traces, command)
    if args.gpu_runs:
        measurements += _gpu_runs(args, traces, where)
    held = {os.path.basename(p) for p in args.holdout}
    result = calibrate(measurements, held, prior, where)
    write_file(args.output, json.dumps(result.costs.to_dict(), indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(result.costs.to_dict(), indent=1, sort_keys=True))
        return 0
    console = Console(width=None if sys.stdout.isatty() else 160)
    saved = f" and {args.save_runs}" if args.save_runs else ""
    console.print(f"adapter  {adapter}\nwrote    {args.output}{saved}")
    if kept := (result.costs.calibration or {}).get("quiet_runs"):
        console.print(f"quiet    {kept['runs_kept']} of {kept['runs']} runs, those whose floor timing was at most "
                      f"{kept['floor_limit_us']} us (the host at its usual speed)")
        if slow := kept.get("replays_with_slow_runs"):
            console.print(f"[bold]warning[/bold]  {slow} replays had fewer than {MIN_QUIET} runs at the host's usual "
                          "speed and kept their slow ones: their figures are of a slower host; measure again")
    console.print(_terms_table(result))
    for title, rows in (("fitted on", result.train), ("out of sample", result.holdout)):
        if rows:
            console.print(_rows_table(title, rows))
    if result.gpu is not None:
        console.print(_gpu_table(result.gpu, where.get("gpu_clock", "timestamps")))
    for m in result.failed:
        console.print(f"not measured: {m.trace} {m.pool} {m.passes}: {m.error}")
    return 0


def _measure(args: argparse.Namespace, traces: dict[str, Trace], command: list[str]) -> tuple[list, dict, str]:
    """Replay each trace under each policy of the design, a round of every replay at a time. --save-runs is
    written after every round, so a device that hangs (the process then ends) leaves the rounds before it."""
    from . import gpu_clock
    from .calibrate import DESIGN, measure, provenance, runs_document

    design = _policies(args) if args.pool or args.passes else list(DESIGN)
    engine, adapter = _open(args)
    info, limits = dict(engine.device.adapter.info), dict(engine.device.limits)
    where = provenance(info, command, list(traces))
    if args.gpu_repeat:
        where["gpu_clock"] = gpu_clock.method(engine.device)

    def save(measurements: list) -> None:
        if args.save_runs:
            write_file(args.save_runs, json.dumps(runs_document(measurements, where, limits), indent=1, sort_keys=True)
                       + "\n")

    jobs = [(trace, os.path.basename(path), pool, passes) for path, trace in traces.items() for pool, passes in design]
    measurements = measure(engine, jobs, repeat=args.repeat, warmup=args.warmup, seed=args.seed, each_round=save,
                           gpu_repeat=args.gpu_repeat, profile_repeat=args.profile_repeat)
    engine.close()
    return measurements, where, adapter


def _runs(args: argparse.Namespace, traces: dict[str, Trace], command: list[str]) -> tuple[list, dict, str]:
    """The runs other calibrations measured (--runs), fitted again with no device: their provenance, this
    command beside the ones that measured."""
    document, measurements = _read_runs(args.runs, traces)
    runs = " ".join(args.runs)
    measured_by = document["provenance"]["command"]
    where = {**document["provenance"], "command": " ".join(command),
             "measured_by": measured_by[0] if len(measured_by) == 1 else measured_by}
    return measurements, where, f"{where.get('adapter', '?')} ({where.get('backend', '?')}), from {runs}"


def _read_runs(paths: list[str], traces: dict[str, Trace], check: Callable[[dict], None] = lambda document: None,
               measured_only: bool = False) -> tuple[dict, list]:
    """The runs files at ``paths`` merged (``check``ed first), and their measurements of ``traces`` (each checked
    by SHA-256); with ``measured_only``, of those of ``traces`` the files measured."""
    from .calibrate import from_runs, read_runs, sha256

    document = read_runs(paths)
    check(document)
    names = {os.path.basename(p): t for p, t in traces.items()}
    if measured_only:
        names = {name: t for name, t in names.items() if name in document["provenance"]["traces"]}
    digests = {os.path.basename(p): sha256(p) for p in traces if os.path.basename(p) in names}
    return document, from_runs(document, names, digests, " ".join(paths))


def _gpu_runs(args: argparse.Namespace, traces: dict[str, Trace], where: dict) -> list:
    """The GPU rounds of other runs files (--gpu-runs), of the device the CPU runs are of, for the GPU-time
    model alone: their CPU runs are left out (the CPU fit is of one machine start), and so are the traces they
    have no rounds of."""
    from dataclasses import replace

    def same_device(document: dict) -> None:
        device = [document["provenance"].get(k) for k in ("adapter", "backend", "driver")]
        if device != [where.get(k) for k in ("adapter", "backend", "driver")]:
            raise InputError(f"{' '.join(args.gpu_runs)}: measured on {device[0]}, not on {where.get('adapter')} as "
                             "the runs the costs are fitted on")

    document, gpu = _read_runs(args.gpu_runs, traces, same_device, measured_only=True)
    where["gpu_measured_by"] = document["provenance"]["command"]
    where["gpu_clock"] = document["provenance"].get("gpu_clock", "timestamps")
    return [replace(m, setup_us=(), steady_us=(), floor_us=()) for m in gpu if m.gpu_us]


def _terms_table(result) -> Table:
    from ..sim.metrics.profile import COLD_TWINS

    table = Table(title="cost per call (per MiB for *_per_mib), us; in situ: each call timed in the training "
                        "replays (the fit keeps it); cold: what the first call of its kind after a compile costs "
                        "more", title_justify="left")
    for name in ("term", "us", "+-", "in situ", "cold", "+-", "in situ", "from"):
        table.add_column(name, justify="left" if name in ("term", "from") else "right")
    fitted = set(result.fit.fitted)
    profiled = (result.costs.calibration or {}).get("profile_us", {})

    def figures(name: str) -> list[str]:
        se = result.fit.stderr[name]
        return [f"{result.costs[name]:.3f}", "" if se != se else f"{se:.3f}",
                f"{profiled[name]:.3f}" if name in profiled else ""]

    cold = {twin.name for twin in COLD_TWINS.values()}
    for name in sorted(set(result.costs.values) - cold):
        twin = COLD_TWINS.get(name)
        table.add_row(name, *figures(name), *(figures(twin.name) if twin and twin.name in fitted else ["", "", ""]),
                      "fit" if name in fitted else "prior (no replay calls it)")
    return table


def _rows_table(title: str, rows) -> Table:
    table = Table(title=f"{title}: CPU of the steady part (from the first submit), measured (median, range) against "
                        "predicted; a whole run's error beside", title_justify="left")
    for name in ("trace", "pool", "pass", "measured ms", "range ms", "predicted ms", "error", "whole run"):
        table.add_column(name, justify="left" if name in ("trace", "pool", "pass") else "right")
    for r in rows:
        table.add_row(r.m.trace, r.m.pool, r.m.passes, f"{r.m.median / 1e3:.3f}",
                      f"{r.m.low / 1e3:.3f}-{r.m.high / 1e3:.3f}", f"{r.predicted_us / 1e3:.3f}", f"{r.error:+.1%}",
                      f"{r.whole_error:+.1%}")
    summary = _summary_line(rows)
    table.caption = summary
    return table


CLOCKS = {"timestamps": "every encoder's timestamps", "synchronised": "every submit waited for, wall time"}


def _gpu_table(gpu, clock: str) -> Table:
    """GPU time of whole runs, measured against predicted from each trace's replay as recorded."""
    from .calibrate import TOLERANCE

    table = Table(title=f"GPU time of a whole run ({CLOCKS[clock]}), measured (median) against predicted from the "
                        "trace's replay as recorded", title_justify="left")
    for name in ("trace", "pool", "pass", "measured ms", "as recorded ms", "predicted ms", "error"):
        table.add_column(name, justify="left" if name in ("trace", "pool", "pass") else "right")
    for r in gpu.holdout or gpu.train:
        table.add_row(r.trace, r.pool, r.passes, f"{r.gpu_us / 1e3:.3f}", f"{r.base_gpu_us / 1e3:.3f}",
                      f"{r.predicted(gpu.costs) / 1e3:.3f}", f"{r.error(gpu.costs):+.1%}")
    lines = []
    for title, rows in (("fitted on", gpu.train), ("out of sample", gpu.holdout)):
        if s := gpu.summary(rows):
            lines.append(f"{title}: {s['within_tolerance']} of {s['rows']} within {TOLERANCE:.0%} (median error "
                         f"{s['median_abs_error']:.1%}; predicting no change: {s['no_change_within_tolerance']}, "
                         f"{s['no_change_median_abs_error']:.1%})")
    table.caption = "\n".join(lines)
    return table


def _summary_line(rows) -> str:
    from .calibrate import TOLERANCE, ranking

    within = sum(abs(r.error) <= TOLERANCE for r in rows)
    agree, pairs = ranking(rows)
    return (f"{within} of {len(rows)} within {TOLERANCE:.0%}; policies ordered as measured in {agree} of {pairs} "
            "pairs whose measured ranges do not overlap")


def truth(args: argparse.Namespace) -> int:
    from .truth import agreement_lines, run_cases

    engine, adapter = _open(args)
    with Progress(args.quiet) as progress, progress.step("random programs", total=args.cases) as advance:
        table = run_cases(engine, args.cases, seed=args.seed, n_ops=args.ops, p_draw=args.draws, done=advance)
    if args.json:
        cases = {"all_cases": [vars(c) for c in table.cases]} if args.list_cases else {}
        print(json.dumps({"adapter": adapter, **table.as_dict(), **cases}, indent=2))
    else:
        print("\n".join([f"adapter  {adapter}", *agreement_lines(table)]))
    engine.close()
    return 0 if table.agree else 1
