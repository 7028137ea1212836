"""The ``wgtrace`` command: a root that gathers subcommands, plus ``info`` and ``validate``.

Each package owns its subcommands and registers them under the ``wgtrace.commands`` entry-point
group, so this bottom package never imports the packages built on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import entry_points, version

from .errors import InputError
from .reader import load
from .summary import bytes_text, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wgtrace", description="Record, check, simulate and replay wgpu traces.")
    parser.add_argument("--version", action="version", version=f"wgtrace {version('wgtrace')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for ep in sorted(entry_points(group="wgtrace.commands"), key=lambda e: e.name):
        ep.load()(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`| head`): stop quietly, as other tools do
        return 0
    except InputError as e:
        print(f"wgtrace {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wgtrace {args.command}: interrupted", file=sys.stderr)
        return 130


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a trace: header, event counts, buffers, bytes, duration")
    p.add_argument("trace")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_info)
    p = sub.add_parser("validate", help="check that a trace file is complete and well formed")
    p.add_argument("trace")
    p.add_argument("--partial", action="store_true", help="accept a file cut short (a program killed mid-run)")
    p.set_defaults(run=_validate)


def _info(args: argparse.Namespace) -> int:
    trace = load(args.trace, partial=True)
    s = summarize(trace)
    if args.json:
        print(json.dumps(s, indent=2, sort_keys=True))
        return 0
    lines = [
        ("trace", args.trace),
        ("format", s["format"]),
        ("program", s["program"]),
        ("recorded", s["start_time"]),
        ("wgpu", s["wgpu_version"]),
        ("adapter", s["adapter"]),
        ("capture", s["capture"]),
        ("events", f"{s['events']:,}"),
        ("buffers", f"{s['buffers']:,} created, {bytes_text(s['buffer_bytes'])} in all, largest "
                    f"{bytes_text(s['largest_buffer'])}"),
        ("queue writes", f"{s['queue_writes']:,} ({bytes_text(s['bytes_written'])} written, mapped writes included)"),
        ("reads", f"{s['reads']:,} ({bytes_text(s['bytes_read'])})"),
        ("dispatches", f"{s['dispatches']:,}"),
        ("passes", f"{s['passes']:,}"),
        ("encoders", f"{s['encoders']:,}"),
        ("submits", f"{s['submits']:,}"),
        ("duration", f"{s['duration_s']:.3f} s"),
        ("ended", _ending(s)),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        if v is not None:
            print(f"{k:<{width}}  {v}")
    print("per kind:")
    for name, n in sorted(s["counts"].items()):
        print(f"  {name:<{width}}{n:>10,}")
    return 0


def _ending(s: dict) -> str:
    if s["cut_short"]:
        return f"CUT SHORT: {s['cut_short']}"
    end = s["end"] or {}
    if end.get("error"):
        return f"the program raised {end['error']}"
    if "exit_code" in end:
        return f"exit code {end['exit_code']}"
    return "complete"


def _validate(args: argparse.Namespace) -> int:
    trace = load(args.trace, partial=args.partial)
    note = f"; {trace.cut_short}" if trace.cut_short else ""
    print(f"{args.trace}: valid wgtrace {trace.header['version'][0]}.{trace.header['version'][1]} trace, "
          f"{len(trace):,} events{note}")
    return 0
