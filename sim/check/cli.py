"""``wgtrace check``: prove a recorded trace, or its plan under a policy, free of hazards.

Exit status: 0 clean (warnings allowed), 1 when any error-severity hazard is found, 2 on bad input
(reported in one line by the ``wgtrace`` root command). Events the checker cannot model (render
passes, textures: ``coverage``) make the result "not proven" but leave the status 0, unless
``--strict``, under which they exit 1 too.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import TYPE_CHECKING

from ...traces.cli import load_file
from ...traces.errors import InputError
from ...traces.progress import Progress, add_quiet_option
from ...traces.safe_text import write_file
from ..names import RULE_IDS

if TYPE_CHECKING:
    from ...traces import Trace
    from ..plan import Plan


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``check`` to ``wgtrace``."""
    rules = _rule_span()
    p = sub.add_parser("check", help=f"prove a trace (or its plan under a pool/pass policy) free of hazards {rules}",
                       description=f"Check every rule {rules} over the whole plan. The report states what the "
                                   "proof covers (commands, queue writes, mapped writes, host reads) and names the "
                                   "calls the checker cannot model (render passes, textures, queries), which may "
                                   "touch GPU memory: while any is present the result is 'not proven'. Exit 0 when "
                                   "no error-severity hazard is found (warnings and unmodelled calls allowed), 1 "
                                   "when one is (or, with --strict, when a call could not be modelled), 2 on bad "
                                   "input.")
    p.add_argument("trace", help="a .wgtrace file")
    p.add_argument("--pool", metavar="P", help="plan under this pool policy first, e.g. sliced+fix")
    p.add_argument("--pass", dest="passes", metavar="Q",
                   help="plan under this pass policy first, e.g. batched/write-buffer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML (one test case per rule)")
    p.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 (annotations on the program's lines)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="findings shown per rule in text (default 20)")
    p.add_argument("--strict", action="store_true",
                   help="also exit 1 when the result is not proven because calls the checker cannot model (render "
                        "passes, textures, queries) may touch GPU memory; for CI")
    p.add_argument("--partial", action="store_true", help="accept a trace cut short and check its complete prefix")
    add_quiet_option(p)
    p.set_defaults(run=_run)


def _rule_span() -> str:
    """The rules' ids as a range ("H1-H6"): the registry's where it is imported (a plug-in may have added to it),
    else ``names.py``'s, so that the help does not import every rule."""
    rules = sys.modules.get(f"{__package__}.rules")
    return rules.RULES.span() if rules is not None else f"{RULE_IDS[0]}-{RULE_IDS[-1]}"


def _run(args: argparse.Namespace) -> int:
    from .driver import check
    from .report import json, junit, sarif, text

    if args.limit < 0:
        raise InputError(f"--limit {args.limit}: the findings shown per rule is a count, 0 or more")
    if args.passes:
        _count_is_ascii(args.passes)
    with Progress(args.quiet) as progress:
        if not (args.pool or args.passes or args.partial) and _regular(args.trace):
            from .windowed import check_file

            with progress.step(f"validating and checking {args.trace} window by window"):
                result = check_file(args.trace)
        else:
            with progress.step(f"loading and validating {args.trace}"):
                trace = load_file(args.trace, partial=args.partial)
            target: Trace | Plan = trace
            if args.pool or args.passes:
                from ..planner import plan

                with progress.step("planning"):
                    target = plan(trace, args.pool or "as-recorded", args.passes or "as-recorded")
            with progress.step("checking"):
                result = check(target)
    if args.junit:
        _write(args.junit, junit.junit(result, args.trace, strict=args.strict))
    if args.sarif:
        _write(args.sarif, sarif.sarif(result, args.trace, strict=args.strict))
    sys.stdout.write(json.as_json(result, args.trace) if args.json else text.text(result, args.trace, args.limit))
    return 0 if result.accepted(args.strict) else 1


def _regular(path: str) -> bool:
    """A regular file streams (``windowed.py``: a window of it in memory at a time); a pipe is read whole."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _count_is_ascii(passes: str) -> None:
    """A pass policy's count in ASCII digits: ``str.isdigit`` also takes '²', which ``int`` refuses. The count
    follows the last ':'; what follows the ':' of a reference (``package.module:Name(...)``) is no count."""
    count = passes.partition("/")[0].rpartition(":")[2]
    if count and not (count.isascii() and count.isdigit()) and not (count.isidentifier() or "(" in count):
        raise InputError(f"pass policy {passes!r}: the count after ':' is written in the digits 0-9, as in "
                         f"max-tasks:32")


def _write(path: str, content: str) -> None:
    """A report file, written whole or not at all, never through another user's link (``safe_text.output``)."""
    try:
        write_file(path, content)
    except OSError as e:
        raise InputError(f"cannot write {path!r}: {e.strerror}") from None
