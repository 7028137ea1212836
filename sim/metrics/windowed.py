"""``simulate`` of a recorded trace file larger than memory, window by window (``traces.stream.Windows``).

As recorded, the metrics are sums and running totals over the events: counts per kind, bytes
written and read, the cost model's integer totals (priced once, at the end, as the whole trace's
are), and the bytes of live buffers after each event (their peak, last value and sampled series).
The memory floor and the offline planner's arena need each buffer's lifetime: its creation, its
first destroy and its last use (``LogicalProgram``), gathered window by window into one row per
buffer, the one thing that grows with the trace (20 bytes a buffer), and placed at the end.

A trace the windows cannot carry (render passes, textures, queries, an object used after the
stream let it go) is simulated whole.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Obj
from ...traces.reader import TraceReader, load
from ...traces.stream import WINDOW_EVENTS, NotStreamable, Window, Windows
from ..plan import Plan
from ..planner.program import LogicalProgram
from ..planner.render import has_render
from ..policies.device import Device
from .cost import DEFAULT, TERMS, Costs, cold_calls, per_event, priced
from .floor import Lifetimes, greedy_by_size, peak_live_bytes
from .simulate import SAMPLES, Metrics, simulate

_SUMMED = {"bytes_written": (Kind.WRITE_BUFFER,), "staged_bytes": (Kind.MAPPED_WRITE,),
           "bytes_read": (Kind.QUEUE_READ, Kind.READ)}  # their args column 2, summed


@dataclass(frozen=True)
class Simulated:
    """A file's metrics as recorded, where a trace cut short stops, and whether it has a render side."""

    metrics: Metrics
    cut_short: str | None
    render: bool


def simulate_file(path: str | os.PathLike, costs: Costs = DEFAULT, *, partial: bool = False,
                  window_events: int = WINDOW_EVENTS) -> Simulated:
    """``simulate(Plan.as_recorded(load(path)))``, holding a window at a time where the trace allows (see the
    module doc; a streamed trace has no render side)."""
    try:
        metrics, cut_short = _streamed(path, costs, partial, window_events)
        return Simulated(metrics, cut_short, False)
    except NotStreamable:
        trace = load(path, partial=partial)
        return Simulated(simulate(Plan.as_recorded(trace), costs), trace.cut_short, has_render(trace))


class _Running:
    """What the windows add up to."""

    def __init__(self, n: int):
        self.n = n
        self.edges = np.unique(np.linspace(0, n, SAMPLES + 1, dtype=np.int64)[:-1]) if n else np.zeros(0, np.int64)
        self.series = np.full(len(self.edges), np.iinfo(np.int64).min, dtype=np.int64)
        self.counts = np.zeros(max(Kind) + 1, dtype=np.int64)
        self.totals = [0] * len(TERMS)
        self.warm: frozenset[int] = frozenset()  # kinds called since the last compile (``cold_calls``)
        self.summed = dict.fromkeys(_SUMMED, 0)
        self.bundles = 0
        self.live = self.peak = 0
        self.size = np.zeros(0, dtype=np.int64)  # per buffer: its size, and its creation, first destroy, last use
        self.times = np.zeros((0, 3), dtype=np.int32 if n < 2**31 else np.int64)
        self.limits: dict = {}

    def add(self, w: Window) -> None:
        t, p = w.trace, w.prologue
        kind, args = t.kind[p:], np.asarray(t.args)[p:]
        self.counts += np.bincount(kind, minlength=len(self.counts))
        cold = np.zeros(len(t), dtype=bool)
        cold[p:], self.warm = cold_calls(kind, self.warm)
        for j, term in enumerate(TERMS):
            self.totals[j] += int(per_event(term, t, cold)[p:].sum())
        for name, kinds in _SUMMED.items():
            self.summed[name] += int(args[np.isin(kind, kinds), 2].sum())
        self.bundles += int(np.asarray(t.nrows)[p:][kind == Kind.EXECUTE_BUNDLES].sum())
        self._memory(w)
        self._lifetimes(w)
        self.limits = self.limits or t.limits

    def _memory(self, w: Window) -> None:
        """Bytes of live buffers after each of the window's events (as recorded, what is in use too)."""
        t, p = w.trace, w.prologue
        m = len(t) - p
        if not m:
            return
        creates = np.flatnonzero(t.kind == Kind.BUFFER_CREATE)
        size = np.asarray(t.args)[creates, 1]
        delta = np.zeros(m + 1, dtype=np.int64)
        mine = creates >= p
        np.add.at(delta, creates[mine] - p, size[mine])
        destroys = np.flatnonzero(t.kind == Kind.BUFFER_DESTROY)
        first = np.full(len(creates), m, dtype=np.int64)
        np.minimum.at(first, np.asarray(t.args)[destroys, 0], destroys - p)
        np.add.at(delta, first, -size)
        reserved = self.live + np.cumsum(delta[:m])
        self.peak = max(self.peak, int(reserved.max()))
        self.live = int(reserved[-1])
        bucket = np.searchsorted(self.edges, w.first + np.arange(m), side="right") - 1
        np.maximum.at(self.series, bucket, reserved)

    def _lifetimes(self, w: Window) -> None:
        program = LogicalProgram.of(w.trace)
        ids = w.ids[Obj.BUFFER]
        if len(ids) and int(ids.max()) >= len(self.size):
            grown = max(int(ids.max()) + 1, len(self.size) * 5 // 4)
            self.size = np.concatenate([self.size, np.zeros(grown - len(self.size), np.int64)])
            self.times = np.concatenate([self.times, np.full((grown - len(self.times), 3), -1, self.times.dtype)])
        origin = np.append(w.origin, -1)  # index -1 (none) stays -1
        fd, lu = origin[program.first_destroy], origin[program.last_use]
        row = self.times[ids]
        row[:, 0] = origin[program.creates]
        row[:, 1] = np.where(row[:, 1] < 0, fd, np.where(fd < 0, row[:, 1], np.minimum(row[:, 1], fd)))
        row[:, 2] = np.maximum(row[:, 2], lu)
        self.times[ids] = row
        self.size[ids] = program.size

    def metrics(self, buffers: int, costs: Costs) -> Metrics:
        c = self.counts
        size = self.size[:buffers]
        creates, fd, lu = (np.ascontiguousarray(c) for c in self.times[:buffers].T)
        self.times = self.times[:0]  # its columns are copied: let the table go before placing
        life = Lifetimes(size, creates, np.where(fd >= 0, np.maximum(fd, lu), np.where(lu >= 0, lu, creates)))
        del fd, lu
        alignment = Device.from_limits(self.limits).binding_alignment
        features = np.array([x / term.unit if term.sized else x for term, x in zip(TERMS, self.totals, strict=True)])
        series = self.series.tolist()
        return Metrics(
            pool="as-recorded", passes="as-recorded", events=self.n, buffers_created=int(c[Kind.BUFFER_CREATE]),
            buffers_destroyed=int(c[Kind.BUFFER_DESTROY]), peak_reserved_bytes=self.peak,
            peak_in_use_bytes=self.peak, floor_bytes=peak_live_bytes(life),
            offline_peak_bytes=greedy_by_size(life, alignment)[1], final_reserved_bytes=self.live,
            fragmentation_at_peak=0.0, mean_fragmentation=0.0,  # as recorded, every reserved byte is in use
            passes_begun=int(c[Kind.PASS_BEGIN]), encoders=int(c[Kind.ENCODER_CREATE]), submits=int(c[Kind.SUBMIT]),
            dispatches=int(c[Kind.DISPATCH] + c[Kind.DISPATCH_INDIRECT]), copies=int(c[Kind.COPY]),
            clears=int(c[Kind.CLEAR]), queue_writes=int(c[Kind.WRITE_BUFFER]),
            bytes_written=self.summed["bytes_written"], mapped_writes=int(c[Kind.MAPPED_WRITE]),
            staged_bytes=self.summed["staged_bytes"], reads=int(c[Kind.QUEUE_READ] + c[Kind.READ]),
            bytes_read=self.summed["bytes_read"], bind_groups=int(c[Kind.BIND_GROUP]),
            set_pipelines=int(c[Kind.SET_PIPELINE]), set_bind_groups=int(c[Kind.SET_BIND_GROUP]),
            render_passes=int(c[Kind.RENDER_PASS_BEGIN]),
            draws=int(c[Kind.DRAW] + c[Kind.DRAW_INDEXED] + c[Kind.DRAW_INDIRECT] + c[Kind.DRAW_INDEXED_INDIRECT]),
            bundles_executed=self.bundles, textures_created=int(c[Kind.TEXTURE_CREATE]),
            cost_us=priced(features, costs),
            series={"event": self.edges.tolist(), "reserved": series, "in_use": list(series)},
        )


def _streamed(path: str | os.PathLike, costs: Costs, partial: bool, window_events: int) -> tuple[Metrics, str | None]:
    with TraceReader(path) as reader:
        n = reader.count(partial)
    windows = Windows(path, window_events, partial=partial)
    running = _Running(n)
    for w in windows:
        running.add(w)
        del w
        gc.collect()  # the lifted program holds cycles: free them before the next window
    if not running.limits and not n:  # a file without a chunk: nothing to window
        raise NotStreamable("no events")
    return running.metrics(windows.count(Obj.BUFFER), costs), windows.cut_short
