"""Run replay's commands from a plain checkout where wgtrace is not pip-installed (the GPU machine).

The four packages live in top-level folders and install as ``wgtrace.<folder>``. Without an
install, a ``wgtrace`` package whose search path is the checkout's root gives them those names
(their relative imports resolve as installed), and the subcommands are registered directly,
since no installed entry points exist to find them.

    python3 replay/launch.py replay TRACE --pool P --pass Q ...
    python3 replay/launch.py truth 10000 --json
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def flat() -> None:
    """Make ``import wgtrace.<package>`` work from this checkout unless wgtrace is installed."""
    if "wgtrace" in sys.modules or importlib.util.find_spec("wgtrace") is not None:
        return
    package = types.ModuleType("wgtrace")
    package.__path__ = [ROOT]
    sys.modules["wgtrace"] = package


def main(argv: list[str] | None = None) -> int:
    flat()
    import argparse

    from wgtrace.replay import cli
    from wgtrace.traces.errors import InputError

    parser = argparse.ArgumentParser(prog="wgtrace", description="replay commands from a plain checkout")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    cli.register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as e:
        print(f"wgtrace {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
