"""``wgtrace sweep``: every trace of a corpus under every chosen pool x pass policy, as independent jobs on Dask.

A job is one (trace, pool, passes) triple; a worker reads the trace from its path (checking its
SHA-256 against the one the sweep found), plans, simulates, optionally checks and replays it, and
returns one row of plain values. Rows are sorted and written as Parquet, so the same corpus and
policies give the same bytes whatever the number of workers; a sweep that finds its output file
reuses the rows already there for the same trace content, policy, wgtrace version and settings.

``corpus`` finds the traces, ``jobs`` runs one job (on a worker or in this process), ``rows`` says what
a row holds, ``execute`` runs many (serially, or on a Dask client), ``results`` reads and writes
Parquet, ``summary`` reduces the rows to the terminal's tables. Dask is imported only by
``execute`` and pyarrow only by ``results``: the rest, and every other command, run without them.

These names load on first use (``__getattr__``), so that registering the command (``cli.py``, which
imports this package first) costs ``wgtrace --help`` none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...traces import lazy

if TYPE_CHECKING:
    from .corpus import TraceFile, expand, survey
    from .jobs import Job, Settings, jobs_for, run_job
    from .summary import Summary, summarize

_HOME = {"TraceFile": ".corpus", "expand": ".corpus", "survey": ".corpus", "Job": ".jobs", "Settings": ".jobs",
         "jobs_for": ".jobs", "run_job": ".jobs", "Summary": ".summary", "summarize": ".summary"}
__all__ = ["Job", "Settings", "Summary", "TraceFile", "expand", "jobs_for", "run_job", "summarize", "survey"]
__getattr__ = lazy.names(__name__, _HOME)
