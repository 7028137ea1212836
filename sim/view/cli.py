"""``wgtrace report`` (an HTML page of a trace under policies) and ``wgtrace export`` (a plan for Perfetto):
their arguments. What they do is in ``commands.py``, imported when one of them runs, so that
``wgtrace --help`` and the other commands start without the planner, the checker and the page.
"""

from __future__ import annotations

import argparse

from ...traces.arguments import deferred
from ...traces.progress import add_quiet_option

AS_RECORDED = "as-recorded"
COMMANDS = "wgtrace.sim.view.commands"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``export`` to ``wgtrace``."""
    p = sub.add_parser("report", help="one HTML page of a trace under pool/pass policies: memory over time, "
                                      "timelines, findings with their source lines, metrics",
                       description="Write a self-contained HTML page (no network when viewed): memory over time "
                                   "under each policy, each plan's passes and submits as a timeline, the check's "
                                   "findings with the program's lines around each call site, the metrics side by "
                                   "side and, with --replay, the replay's figures against the predicted ones.")
    p.add_argument("trace", help="a .wgtrace file")
    p.add_argument("--pool", action="append", metavar="P",
                   help="pool policy, NAME[+fix|+fix-range] (default: as-recorded); repeat --pool/--pass pairs")
    p.add_argument("--pass", dest="passes", action="append", metavar="Q",
                   help="pass policy, NAME[:N][/UPLOAD] (default: as-recorded), paired with --pool in order")
    p.add_argument("--replay", metavar="FILE",
                   help="what `wgtrace replay --json` printed: measured figures beside the predicted ones (and its "
                        "policies, when no --pool/--pass is given)")
    p.add_argument("--costs", help="a JSON file of cost parameters for the prediction")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    add_quiet_option(p)
    p.set_defaults(run=deferred(COMMANDS, "report"))

    p = sub.add_parser("export", help="a plan as Chrome trace-event JSON for Perfetto or chrome://tracing",
                       description="Write the plan of a trace under a pool and a pass policy as Chrome trace-event "
                                   "JSON: a track per encoder and for the queue, a slice per pass, dispatch, draw, "
                                   "copy and submit with its call site, memory counters, and an arrow from each "
                                   "hazardous write to the command it overtakes. Times are the recording's host clock "
                                   "for an as-recorded pass policy and the cost model's otherwise.")
    p.add_argument("trace", help="a .wgtrace file")
    p.add_argument("--pool", default=AS_RECORDED, metavar="P", help="pool policy (default: as-recorded)")
    p.add_argument("--pass", dest="passes", default=AS_RECORDED, metavar="Q", help="pass policy (default: as-recorded)")
    p.add_argument("--costs", help="a JSON file of cost parameters for the cost model's clock")
    p.add_argument("--perfetto", required=True, metavar="OUT", help="the JSON file to write")
    add_quiet_option(p)
    p.set_defaults(run=deferred(COMMANDS, "export"))
