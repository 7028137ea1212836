"""``wgtrace report`` (an HTML page of a trace under policies) and ``wgtrace export`` (a plan for Perfetto):
what they do once ``cli.py`` has read their arguments.

The behaviour lives here: load the trace, plan, check and simulate each policy, read the replay's
figures, write the file; ``data``, ``html`` and ``perfetto`` only turn results into text. Bad input
(a missing trace, an unknown policy, a replay file of something else, an output that cannot be
written) is an InputError: one line, exit status 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ...traces import Trace
from ...traces.cli import load_file
from ...traces.errors import InputError
from ...traces.progress import Progress
from ...traces.safe_text import write_file
from ...traces.summary import bytes_text
from ..check import check
from ..metrics import load_costs, simulate
from ..planner import plan
from ..policies import parse_passes, parse_pool
from .cli import AS_RECORDED
from .clock import clock
from .data import Planned, page_data
from .replayed import Replayed, load_replays, match
from .sources import Sources


def policies(pools: list[str] | None, passes: list[str] | None, replays: list[Replayed]) -> list[tuple[str, str]]:
    """The (pool, passes) pairs asked for, as the planner spells them: --pool and --pass pair up in order, a missing
    one is as-recorded; with neither, the replayed policies (as-recorded without a replay)."""
    if not pools and not passes:
        pairs = list(dict.fromkeys((r.pool, r.passes) for r in replays)) or [(AS_RECORDED, AS_RECORDED)]
    else:
        pools, passes = pools or [AS_RECORDED], passes or [AS_RECORDED]
        if len(pools) != len(passes) and min(len(pools), len(passes)) > 1:
            raise InputError(f"{len(pools)} --pool and {len(passes)} --pass options: give them in pairs")
        n = max(len(pools), len(passes))
        pairs = [(pools[min(i, len(pools) - 1)], passes[min(i, len(passes) - 1)]) for i in range(n)]
    return list(dict.fromkeys((parse_pool(pool).spec, parse_passes(q).spec) for pool, q in pairs))


def report(args: argparse.Namespace) -> int:
    from .html import plotly_js, render

    plotly_js()  # without plotly there is no report: say so before the work
    replays = load_replays(args.replay) if args.replay else []
    pairs = policies(args.pool, args.passes, replays)
    costs = load_costs(args.costs)
    with Progress(args.quiet) as progress:
        trace = _load(progress, args.trace)
        planned = []
        for pool, passes in pairs:
            with progress.step(f"{pool} x {passes}: planning, simulating, checking", total=3) as advance:
                p = plan(trace, pool, passes)
                advance()
                metrics = simulate(p, costs)
                advance()
                planned.append(Planned(p, metrics, check(p), match(replays, p.pool, p.passes)))
                advance()
        with progress.step("drawing the report"):
            roots = [Path.cwd(), Path(args.trace).resolve().parent]
            page = render(page_data(args.trace, trace, planned, Sources(roots)))
        _write(args.output, page)
    print(f"report: {args.output} ({bytes_text(len(page.encode('utf-8')))}, {len(pairs)} "
          f"polic{'y' if len(pairs) == 1 else 'ies'})")
    return 0


def export(args: argparse.Namespace) -> int:
    from .perfetto import export

    pool, passes, costs = parse_pool(args.pool), parse_passes(args.passes), load_costs(args.costs)
    with Progress(args.quiet) as progress:
        trace = _load(progress, args.trace)
        with progress.step(f"{pool.spec} x {passes.spec}: planning and checking"):
            p = plan(trace, pool, passes)
            result = check(p)
        with progress.step("exporting"):
            time = clock(p, costs)
            text = json.dumps(export(args.trace, p, result, time, costs.source), separators=(",", ":")) + "\n"
        _write(args.perfetto, text)
    print(f"perfetto: {args.perfetto} ({bytes_text(len(text))}; times from the {time.source})")
    return 0


def _load(progress: Progress, path: str) -> Trace:
    with progress.step(f"loading and validating {path}"):
        return load_file(path, partial=True)


def _write(path: str, content: str) -> None:
    """The output, written whole or not at all, never through another user's link (``safe_text.output``)."""
    try:
        write_file(path, content)
    except OSError as e:
        raise InputError(f"cannot write {path!r}: {e.strerror or e}") from None
