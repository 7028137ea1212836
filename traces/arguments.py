"""What every command's arguments share: number types with one-line refusals, and commands loaded when run.

A type here raises ``argparse.ArgumentTypeError``, which the root parser prints as one line (exit 2).
``deferred`` lets a package register a command without importing what the command does: ``--help``
and the other commands start without it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from importlib import import_module


def natural(text: str) -> int:
    """A whole number, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {n}")
    return n


def positive(text: str) -> int:
    """A whole number, 1 or more."""
    n = natural(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    try:
        s = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(s) or s <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return s


def share(text: str) -> float:
    """A share in [0, 1] ("nan" is none)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def deferred(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The command ``name`` of ``module`` (an absolute module name), imported when it runs."""
    def run(args: argparse.Namespace) -> int:
        return int(getattr(import_module(module), name)(args))

    return run
