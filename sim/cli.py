"""``wgtrace sim`` and ``wgtrace compare``: plan traces under pool and pass policies, print the metrics.

The policies, the planner, the simulator and rich are imported by the commands that run, not by
``register`` (which lists the policies from ``names.py``): ``wgtrace --help`` and the other commands
start without them.

Traces load with ``partial=True``: a recording cut short is still the program up to that point,
and its plan is worth a look; the output says when a trace was cut short.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from ..traces.cli import load_file
from ..traces.progress import Progress, add_quiet_option
from ..traces.summary import bytes_text
from .names import PASS_NAMES, POOL_NAMES

if TYPE_CHECKING:
    from rich.table import Table

    from .metrics import Metrics
    from .metrics.cost import Costs
    from .policies import PassPolicy, PoolPolicy

TEXT_FIELDS = (
    ("events", "events", str), ("buffers_created", "buffers created", str),
    ("buffers_destroyed", "buffers destroyed", str), ("peak_reserved_bytes", "peak reserved", bytes_text),
    ("peak_in_use_bytes", "peak in use", bytes_text), ("floor_bytes", "memory floor", bytes_text),
    ("offline_peak_bytes", "offline planner", bytes_text), ("final_reserved_bytes", "reserved at the end", bytes_text),
    ("fragmentation_at_peak", "fragmentation at peak", lambda v: f"{v:.1%}"),
    ("mean_fragmentation", "mean fragmentation", lambda v: f"{v:.1%}"), ("passes_begun", "passes", str),
    ("encoders", "encoders", str), ("submits", "submits", str), ("dispatches", "dispatches", str),
    ("copies", "copies", str), ("clears", "clears", str), ("queue_writes", "queue writes", str),
    ("bytes_written", "bytes written", bytes_text), ("mapped_writes", "mapped writes", str),
    ("staged_bytes", "staged bytes", bytes_text), ("reads", "reads", str), ("bytes_read", "bytes read", bytes_text),
    ("bind_groups", "bind groups", str), ("set_pipelines", "set_pipeline calls", str),
    ("set_bind_groups", "set_bind_group calls", str),
)
# printed with their ratio to the floor: the memory a pool (and the offline planner) spends beyond the least possible
OVER_FLOOR = ("peak_reserved_bytes", "offline_peak_bytes")
# printed when the trace has a render side (textures, render passes, ...)
RENDER_FIELDS = (
    ("render_passes", "render passes", str), ("draws", "draws", str), ("bundles_executed", "bundles executed", str),
    ("textures_created", "textures created", str), ("peak_texture_bytes", "peak texture memory", bytes_text),
    ("texture_uploads", "texture uploads", str), ("texture_bytes_uploaded", "texture bytes uploaded", bytes_text),
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sim`` and ``compare`` to ``wgtrace``."""
    p = sub.add_parser("sim", help="plan a trace under a pool and a pass policy and print its metrics")
    p.add_argument("trace")
    p.add_argument("--pool", default="as-recorded", help="NAME[+fix|+fix-range]; one of " + ", ".join(POOL_NAMES))
    p.add_argument("--pass", dest="passes", default="as-recorded",
                   help="NAME[:N][/UPLOAD]; one of " + ", ".join(PASS_NAMES))
    p.add_argument("--costs", help="a JSON file of cost parameters, as benchmarks/measure_costs.py prints them")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_sim)
    p = sub.add_parser("compare", help="a table of metrics for every pool x pass policy, per trace")
    p.add_argument("traces", nargs="+", metavar="TRACE")
    p.add_argument("--pools", nargs="+", default=list(POOL_NAMES), metavar="POOL", help="default: every pool")
    p.add_argument("--passes", nargs="+", default=list(PASS_NAMES), metavar="PASS", help="default: every pass policy")
    p.add_argument("--costs", help="a JSON file of cost parameters, as benchmarks/measure_costs.py prints them")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_quiet_option(p)
    p.set_defaults(run=_compare)


def _load(path: str):
    trace = load_file(path, partial=True)
    if trace.cut_short:
        print(f"note: {trace.cut_short}", file=sys.stderr)
    return trace


def _sim(args: argparse.Namespace) -> int:
    from .metrics import load_costs
    from .policies import parse_passes, parse_pool

    pool, passes, costs = parse_pool(args.pool), parse_passes(args.passes), load_costs(args.costs)
    metrics, render, gpu = _simulated(args.trace, pool, passes, costs)
    if args.json:
        more = {} if gpu is None else {"gpu_change_us": round(gpu, 3)}
        print(json.dumps({"trace": args.trace, **metrics.to_dict(), **more}, indent=2, sort_keys=True))
        return 0
    lines = [("trace", args.trace), ("pool", metrics.pool), ("passes", metrics.passes)]
    fields = TEXT_FIELDS + RENDER_FIELDS if render else TEXT_FIELDS
    lines += [(label, show(getattr(metrics, name)) + (f" ({over_floor(getattr(metrics, name), metrics.floor_bytes)} "
                                                      "the floor)" if name in OVER_FLOOR else ""))
              for name, label, show in fields]
    lines.append(("predicted CPU", f"{metrics.cost_us['total'] / 1000:.3f} ms ({costs.source})"))
    if gpu is not None:
        synchronised = ((costs.calibration or {}).get("gpu") or {}).get("clock") == "synchronised"
        clock = "synchronised wall time, " if synchronised else ""
        lines.append(("predicted GPU", f"{gpu / 1000:+.3f} ms against the program as recorded ({clock}the GPU-time "
                                       "model of the same calibration)"))
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}")
    return 0


def _simulated(path: str, pool: PoolPolicy, passes: PassPolicy, costs: Costs) -> tuple[Metrics, bool, float | None]:
    """The metrics of the trace at ``path`` under the policies, whether it has a render side, and the GPU time
    the policies add to the program as recorded where the costs have a GPU-time model (``gpu_fit``). A regular
    file as recorded is read window by window (``metrics/windowed.py``: a window in memory at a time): the
    default policies (a buffer per allocation, every event where it was) plan the recording as it is."""
    from .metrics import simulate
    from .metrics.gpu_fit import change_us
    from .planner import plan
    from .planner.render import has_render

    if pool.spec == passes.spec == "as-recorded" and _regular(path):
        from .metrics.windowed import simulate_file

        done = simulate_file(path, costs, partial=True)
        if done.cut_short:
            print(f"note: {done.cut_short}", file=sys.stderr)
        return replace(done.metrics, pool=pool.spec, passes=passes.spec), done.render, None
    trace = _load(path)
    planned = plan(trace, pool, passes)
    return simulate(planned, costs), has_render(trace), change_us(planned.trace, trace, costs)


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .metrics import load_costs, simulate
    from .planner import plan
    from .planner.render import has_render
    from .policies import PolicyError, parse_passes, parse_pool

    pools = [parse_pool(p) for p in args.pools]
    passes = [parse_passes(p) for p in args.passes]
    costs = load_costs(args.costs)
    results = []
    with Progress(args.quiet) as progress:
        for path in args.traces:
            with progress.step(f"loading and validating {path}"):
                trace = _load(path)
            rows = []
            with progress.step(f"{path}: planning and simulating", total=len(pools) * len(passes)) as advance:
                for pool in pools:
                    for pass_policy in passes:
                        try:
                            rows.append(simulate(plan(trace, pool, pass_policy), costs).to_dict())
                        except PolicyError as e:
                            rows.append({"pool": pool.spec, "passes": pass_policy.spec, "error": str(e)})
                        advance()
            results.append({"trace": path, "events": len(trace), "cut_short": trace.cut_short, "rows": rows,
                            "render": has_render(trace)})
    if args.json:
        print(json.dumps({"costs": costs.to_dict(), "traces": results}, indent=2, sort_keys=True))
        return 0
    console = Console(width=None if sys.stdout.isatty() else 200)
    for result in results:
        console.print(_table(result, costs))
    return 0


def over_floor(value: int, floor: int) -> str:
    """``value`` as a multiple of the memory floor ("1.25x"); "-" for a trace with no buffer."""
    return f"{value / floor:,.2f}x" if floor else "-"


def _floor_text(rows: list[dict]) -> str:
    """The trace's floor and offline planner's arena, which every row shares, for a table's title."""
    m = next((r for r in rows if "error" not in r), None)
    if m is None:
        return ""
    return (f"; memory floor {bytes_text(m['floor_bytes'])}, offline greedy-by-size planner "
            f"{bytes_text(m['offline_peak_bytes'])} ({over_floor(m['offline_peak_bytes'], m['floor_bytes'])})")


def _table(result: dict, costs: Costs) -> Table:
    from rich.table import Table

    from .metrics import Metrics

    table = Table(title=f"{result['trace']} ({result['events']:,} events{_floor_text(result['rows'])}); "
                        f"CPU: {costs.source}", title_justify="left")
    render = result.get("render", False)
    columns = ["pool", "pass", "buffers", "peak reserved", "x floor", "peak in use", "frag", "passes", "encoders",
               "submits", "writes", "staged", "copies", "dispatches"]
    if render:
        columns += ["render passes", "draws", "tex uploads", "tex bytes", "tex memory"]
    for name in (*columns, "CPU ms"):
        table.add_column(name, justify="left" if name in ("pool", "pass") else "right")
    for row in result["rows"]:
        if "error" in row:
            table.add_row(row["pool"], row["passes"], row["error"])
            continue
        m = Metrics(**row)
        cells = [m.pool, m.passes, f"{m.buffers_created:,}", bytes_text(m.peak_reserved_bytes),
                 over_floor(m.peak_reserved_bytes, m.floor_bytes), bytes_text(m.peak_in_use_bytes),
                 f"{m.fragmentation_at_peak:.0%}", f"{m.passes_begun:,}", f"{m.encoders:,}", f"{m.submits:,}",
                 f"{m.queue_writes:,}", bytes_text(m.staged_bytes),
                 f"{m.copies:,}", f"{m.dispatches:,}"]
        if render:
            cells += [f"{m.render_passes:,}", f"{m.draws:,}", f"{m.texture_uploads:,}",
                      bytes_text(m.texture_bytes_uploaded), bytes_text(m.peak_texture_bytes)]
        table.add_row(*cells, f"{m.cost_us['total'] / 1000:,.2f}")
    return table
