"""``wgtrace sweep``: its arguments. What it does is in ``commands.py``, imported when it runs, so that
``wgtrace --help`` and the other commands start without Dask, pyarrow, the policies or the planner (the
policies' names come from ``names.py``).
"""

from __future__ import annotations

import argparse

from ...traces.arguments import deferred, positive, seconds
from ..names import PASS_NAMES, POOL_NAMES

CONNECT_TIMEOUT_S = 10.0  # how long a scheduler has to answer (``execute.cluster`` takes it too)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sweep`` to ``wgtrace``."""
    p = sub.add_parser("sweep", help="every trace of a corpus under every pool x pass policy, on Dask, to Parquet")
    p.add_argument("corpus", nargs="+", metavar="CORPUS", help="trace files, folders (every *.wgtrace below) or globs")
    p.add_argument("--pool", dest="pools", nargs="+", action="extend", metavar="POOL",
                   help="pool policies (default: every one: " + ", ".join(POOL_NAMES) + ")")
    p.add_argument("--pass", dest="passes", nargs="+", action="extend", metavar="PASS",
                   help="pass policies (default: every one: " + ", ".join(PASS_NAMES) + ")")
    p.add_argument("--check", action="store_true", help="check every plan for hazards: verdict and findings per rule")
    p.add_argument("--replay", action="store_true",
                   help="replay every plan on the workers' GPU: measured times and verdict (one replay at a time "
                        "per worker, and one worker unless --workers says otherwise)")
    p.add_argument("--repeat", type=positive, default=1, help="timed runs per replay (default 1)")
    p.add_argument("-o", "--output", required=True, metavar="RESULTS.parquet",
                   help="the Parquet file to write; rows already in it are reused")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive,
                       help="worker processes of the LocalCluster (default: one per CPU; one with --replay)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster of this scheduler (tcp://host:8786) instead of a LocalCluster")
    p.add_argument("--connect-timeout", type=seconds, default=CONNECT_TIMEOUT_S, metavar="SECONDS",
                   help=f"how long the scheduler has to answer (default {CONNECT_TIMEOUT_S:g})")
    p.add_argument("--costs", help="a JSON file of cost parameters, as benchmarks/measure_costs.py prints them")
    p.set_defaults(run=deferred("wgtrace.sim.sweep.commands", "sweep"))
