"""``check`` of a trace file larger than memory: window by window (``traces.stream.Windows``), as the whole would.

Each window is a trace of its own: a prologue (the events that created the objects it uses, and a
``write_buffer`` per run of bytes written earlier into each buffer it uses, for H6), then its
events, cut where no encoder is pending, so no rule's question crosses a cut: every pending command,
every reordering, every usage scope and every stale read lies within one window and its prologue.
The window's findings are named in the trace's terms (its event indices and object ids); findings
at prologue events were found in their own window. A trace the windows cannot carry (render
passes, textures, queries, an object used after the stream let it go) is checked whole.

What stays in memory per window: the window's events (about ``WINDOW_EVENTS``) and the checker's
tables over them, the events that created every device, module, layout, pipeline, live buffer and
bind group of live buffers, and per live buffer the runs of bytes written so far.
"""

from __future__ import annotations

import gc
import os
from collections import Counter
from dataclasses import replace

import numpy as np

from ...traces import Kind, Obj
from ...traces.reader import load
from ...traces.stream import WINDOW_EVENTS, NotStreamable, Window, Windows
from ..plan import Plan
from .coverage import Unmodelled, unmodelled
from .driver import CheckResult, _stats, check
from .facts import Facts
from .rule import Finding
from .rules import RULES


class WindowFacts(Facts):
    """A window's facts, naming its objects by the trace's ids."""

    def __init__(self, plan: Plan, window: Window):
        super().__init__(plan)
        self.window = window

    def buffer_name(self, b: int) -> str:
        label = int(self.trace.args[self.buffer_events[b], 3]) if 0 <= b < len(self.buffer_events) else -1
        b = int(self.window.ids[Obj.BUFFER][b])
        return f"buffer {b} '{self.trace.strings[label]}'" if label >= 0 else f"buffer {b}"

    def encoder_name(self, e: int) -> str:
        return f"encoder {int(self.window.ids[Obj.ENCODER][e])}"

    def allocation_name(self, a: int) -> str:  # as recorded, allocation i is buffer i
        return f"allocation {int(self.window.ids[Obj.BUFFER][a])}"


def check_file(path: str | os.PathLike, window_events: int = WINDOW_EVENTS) -> CheckResult:
    """``check(load(path))``, holding a window at a time where the trace allows (see the module doc)."""
    try:
        return _streamed(path, window_events)
    except NotStreamable:
        return check(load(path))


def _streamed(path: str | os.PathLike, window_events: int) -> CheckResult:
    windows = Windows(path, window_events)
    findings: list[Finding] = []
    stats: Counter[str] = Counter()
    opaque: dict[str, tuple[int, int, str]] = {}
    for w in windows:
        facts = WindowFacts(Plan.as_recorded(w.trace), w)
        findings += [_named(x, w) for r in RULES for x in r.find(facts) if x.event >= w.prologue]
        stats.update(_own_stats(facts, w))
        for u in unmodelled(w.trace):
            count, first, site = opaque.get(u.name, (0, int(w.origin[u.first_event]), u.first_site))
            opaque[u.name] = (count + u.count, first, site)
        windows.carry_writes(*_writes(facts, w))
        del facts, w
        gc.collect()  # the checker's tables hold cycles: free them before the next window, not at Python's leisure
    if not stats:  # a file without a chunk: nothing to window
        raise NotStreamable("no events")
    out = [Unmodelled(name, count, first, site) for name, (count, first, site) in sorted(opaque.items())]
    return CheckResult(sorted(findings, key=Finding.sort_key), dict(stats), unmodelled=out)


def _named(x: Finding, w: Window) -> Finding:
    """A window's finding in the trace's terms: event indices, buffer and allocation ids, stacks."""
    buffers = w.ids[Obj.BUFFER]
    other = None if x.other_event is None else int(w.origin[x.other_event])
    if other is not None and other < 0:
        raise NotStreamable("a finding names a prologue write")
    stack = w.trace.stack_of(x.event)
    other_stack = w.trace.stack_of(x.other_event) if x.other_event is not None else ()
    return replace(x, event=int(w.origin[x.event]), other_event=other,
                   buffer=None if x.buffer is None else int(buffers[x.buffer]),
                   allocations=tuple(int(buffers[a]) for a in x.allocations),
                   other_allocations=tuple(int(buffers[a]) for a in x.other_allocations),
                   stack=stack, other_stack=other_stack)


def _own_stats(facts: Facts, w: Window) -> dict[str, int]:
    """The window's counts, less its prologue's (its creations and writes were counted in their own window)."""
    s = _stats(facts)
    head = w.trace.kind[:w.prologue]
    s["events"] -= w.prologue
    s["allocations"] -= int(np.count_nonzero(head == Kind.BUFFER_CREATE))
    s["queue_writes"] -= int(np.count_nonzero(head == Kind.WRITE_BUFFER))
    return s


def _writes(f: Facts, w: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of buffer bytes the window wrote (by the trace's ids), as H6 counts writes."""
    fp, q = f.footprints, f.queue
    writes = np.flatnonzero(f.runs & ~fp.on_texture & fp.writes)
    queued = np.flatnonzero(q.writes & (q.resource < fp.n_buffers))
    local = np.concatenate([fp.resource[writes], q.resource[queued]])
    return (w.ids[Obj.BUFFER][local], np.concatenate([fp.start[writes], q.lo[queued]]),
            np.concatenate([fp.end[writes], q.hi[queued]]))
