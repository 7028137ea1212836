"""Progress of long work (loading a large trace, planning, checking, replaying) shown on a terminal.

A person waiting on a ten-million-event trace wants to see that something moves; a script or a
pipe wants the output and nothing else. So the display is drawn only when standard output and
standard error are both terminals and ``--quiet`` was not given, on standard error, and it vanishes
when the work ends (``transient``): what a command prints is the same with or without it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol


class Advance(Protocol):
    """Moves a step on by ``n`` units of its total."""

    def __call__(self, n: int = 1) -> None: ...


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress display, even on a terminal."""
    parser.add_argument("--quiet", "-q", action="store_true", help="show no progress on the terminal")


def shown(quiet: bool = False) -> bool:
    """Whether progress is drawn: not ``quiet``, and standard output and error are terminals."""
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


class Progress:
    """Steps of long work, each a spinner (or a bar when its total is known), or nothing at all.

    ``with Progress(args.quiet) as progress:`` then ``with progress.step("planning", total=4) as advance:``
    and ``advance(1)`` after each unit of work; ``advance`` is a no-op when nothing is drawn.
    """

    def __init__(self, quiet: bool = False) -> None:
        self._rich = _display() if shown(quiet) else None

    def __enter__(self) -> Progress:
        if self._rich is not None:
            self._rich.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._rich is not None:
            self._rich.stop()

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Advance]:
        """One step of the work; what it yields advances it by a number of units (of ``total``)."""
        rich = self._rich
        if rich is None:
            yield _nothing
            return
        from rich.markup import escape

        task = rich.add_task(escape(description), total=total)
        rich.refresh()  # drawn at once: a short step would otherwise come and go between two refreshes

        def advance(n: int = 1) -> None:
            rich.advance(task, n)

        try:
            yield advance
        finally:
            rich.remove_task(task)


def _nothing(n: int = 1) -> None:
    """What a step advances when nothing is drawn."""


def _display() -> Any:
    """rich's display, imported only where it is drawn (a command's start-up does not pay for it)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Rich

    return Rich(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
