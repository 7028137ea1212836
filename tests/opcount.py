"""Counting a stage's basic operations, not its seconds: lines of Python run plus bytes numpy allocates.

Seconds depend on the machine and on whatever else it runs; counts do not. A stage that grows
super-linearly shows in one of two places: Python lines (a loop nested in a loop over events) or the
work done inside numpy, which is proportional to the bytes its calls allocate (a whole-table sort
per event allocates a table's worth each time). Python's line events give the first; the second is
tracemalloc's peak since the previous line, less what was live then: the bytes each line allocated
at most, summed.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

ALLOCATION_UNIT = 64  # bytes that count as one operation (a cache line)


@dataclass
class Count:
    lines: int
    allocated: int

    @property
    def operations(self) -> int:
        return self.lines + self.allocated // ALLOCATION_UNIT


def count(stage: Callable[[], Any]) -> Count:
    """Run ``stage`` once and count its lines and allocated bytes (slow: a trace function runs per line)."""
    lines = allocated = 0
    live = 0

    def local(frame: FrameType, event: str, arg: object):
        nonlocal lines, allocated, live
        if event == "line":
            lines += 1
            current, peak = tracemalloc.get_traced_memory()
            allocated += max(0, peak - live)
            tracemalloc.reset_peak()
            live = current
        return local

    def call(frame: FrameType, event: str, arg: object):
        return local

    tracemalloc.start()
    live = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    sys.settrace(call)
    try:
        stage()
    finally:
        sys.settrace(None)
        current, peak = tracemalloc.get_traced_memory()
        allocated += max(0, peak - live)
        tracemalloc.stop()
    return Count(lines, allocated)
