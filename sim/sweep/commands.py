"""``wgtrace sweep``: a corpus under every chosen pool x pass policy on Dask; rows to Parquet, a summary printed.
What it does once ``cli.py`` has read its arguments.

Bad input stops the sweep before any job runs, in one line (exit 2): a missing path, a pattern that
matches nothing, a corrupt trace, an unknown policy, an output that cannot be written or is not a
sweep's file, an unreachable scheduler, a missing ``wgtrace[sweep]`` extra. A job that fails once
the sweep runs is a row with its error. Rows found in the output for the same trace content,
policy, wgtrace version and settings are kept, not recomputed; rows done are written every
``CHECKPOINT_S`` seconds and when the sweep is interrupted, so a later run picks up from there.
The progress bar shows on a terminal only; the summary always prints (200 columns when piped).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ...traces.errors import InputError
from ..metrics import load_costs
from ..policies import parse_passes, parse_pool, pass_names, pool_names
from .corpus import expand, survey
from .jobs import Job, Settings, jobs_for
from .rows import reuse_key, sort_key
from .summary import render, summarize

CHECKPOINT_S = 30.0
EXTRA = ("dask.distributed", "pyarrow.parquet")


def _require_extra() -> None:
    """Import Dask and pyarrow now, or say in one line how to install them."""
    for module in EXTRA:
        try:
            import_module(module)
        except ImportError as e:
            raise InputError(f"needs the sweep extra, which is not installed (no module {e.name!r}): "
                             f"pip install 'wgtrace[sweep]'") from None


def _unique(names: list[str], parse: Callable[[str], Any]) -> list[str]:
    """Policy names as the policies spell them, each once, in the order given (a bad one: PolicyError)."""
    return list(dict.fromkeys(parse(name).spec for name in names))


def sweep(args: argparse.Namespace) -> int:
    _require_extra()
    from . import results
    from .execute import cluster, run_on

    pools = _unique(args.pools or pool_names(), parse_pool)
    passes = _unique(args.passes or pass_names(), parse_passes)
    settings = Settings(check=args.check, replay=args.replay, repeat=args.repeat, costs=load_costs(args.costs))
    results.writable(args.output)
    traces = survey(expand(args.corpus))
    jobs = jobs_for(traces, pools, passes, settings)
    rows = _reused(jobs, results.read(args.output))
    todo = [job for job in jobs if job.name not in rows]
    # the biggest traces first: the longest jobs start early, and no worker is left with one at the end
    todo.sort(key=lambda job: -job.trace.size)
    console = Console(width=None if sys.stdout.isatty() else 200)
    if todo:
        with (_progress(console) as progress, _Checkpoints(rows, args.output, results.write) as done,
              cluster(args.scheduler, args.workers or (1 if args.replay else None), args.connect_timeout) as client):
            task = progress.add_task("sweep", total=len(todo))

            def on_row(row: dict[str, Any]) -> None:
                done.add(row)
                progress.advance(task)

            run_on(client, todo, on_row)
    results.write(list(rows.values()), args.output)
    print(f"{len(rows):,} rows ({len(todo):,} computed, {len(rows) - len(todo):,} reused) in {args.output}",
          file=sys.stderr)
    for part in render(summarize(list(rows.values()))):
        console.print(part)
    return 0


def _reused(jobs: list[Job], previous: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """The earlier rows this sweep would compute again, by job name, with this sweep's paths; failed rows are
    tried again, and rows of traces or policies not in this sweep are left out."""
    earlier = {reuse_key(r): r for r in previous if r["error"] is None}
    out = {}
    for job in jobs:
        row = earlier.get(job.key)
        if row is not None:
            out[job.name] = {**row, "trace": job.trace.path}
    return out


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)


class _Checkpoints:
    """Collects rows by job name, and writes every row so far every ``CHECKPOINT_S`` seconds and when the sweep
    stops early (interrupted, or the cluster gone), so a rerun resumes instead of starting over."""

    def __init__(self, rows: dict[tuple, dict[str, Any]], path: str, write: Callable[[list, str], None]):
        self.rows, self.path, self.write = rows, path, write
        self.last = time.monotonic()

    def __enter__(self) -> _Checkpoints:
        return self

    def add(self, row: dict[str, Any]) -> None:
        self.rows[sort_key(row)] = row
        if time.monotonic() - self.last > CHECKPOINT_S:
            self.write(list(self.rows.values()), self.path)
            self.last = time.monotonic()

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and self.rows:
            self.write(list(self.rows.values()), self.path)
