"""Types of the re-recording loop's hot path in C (_loop.c)."""

from typing import Any

def rerecord(loop: Any, codes: tuple[int, ...]) -> None: ...
