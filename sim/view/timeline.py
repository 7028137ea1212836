"""The pass and submit structure of a plan, as slices of events: what the report's timeline and the Perfetto
export draw.

A slice is a span of plan events, from the one that opens it to the one that closes it (an encoder from
its creation to its finish, a pass from its begin to its end) or a single event (a dispatch, a draw, a
copy, a queue write, a submit). Each belongs to a lane (the kind of thing it is) and a track (where it
is recorded: its encoder, the queue, the host, or the render bundles, which run where they are
executed). Everything is columns over the plan's events, so a plan of millions of events costs a few
numpy passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace

LANES = ("submits", "encoders", "passes", "dispatches", "draws", "copies", "queue writes", "host")
QUEUE, HOST, BUNDLES = -1, -2, -3  # tracks that are not an encoder

# lane -> the kinds of single-event slices in it, and where their track comes from
_POINTS: dict[str, tuple[tuple[Kind, ...], str]] = {
    "submits": ((Kind.SUBMIT,), "queue"),
    "dispatches": ((Kind.DISPATCH, Kind.DISPATCH_INDIRECT), "pass"),
    "draws": ((Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT, Kind.EXECUTE_BUNDLES),
              "pass"),
    "copies": ((Kind.COPY, Kind.CLEAR, Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
                Kind.COPY_TEXTURE_TO_TEXTURE, Kind.RESOLVE_QUERY_SET), "encoder"),
    "queue writes": ((Kind.WRITE_BUFFER, Kind.WRITE_TEXTURE), "queue"),
    "host": ((Kind.MAPPED_WRITE, Kind.READ, Kind.QUEUE_READ, Kind.READ_TEXTURE), "host"),
}
_PASS_CREATORS = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE)


@dataclass(frozen=True)
class Timeline:
    """One row per slice, sorted by first event then lane: ``lane`` (index in LANES), ``first`` and ``last``
    plan events (inclusive), ``track`` (an encoder id, or QUEUE, HOST, BUNDLES)."""

    lane: np.ndarray
    first: np.ndarray
    last: np.ndarray
    track: np.ndarray
    events: int

    def __len__(self) -> int:
        return len(self.lane)

    def of(self, lane: str) -> np.ndarray:
        """Indices of the slices in ``lane``."""
        return np.flatnonzero(self.lane == LANES.index(lane))


def timeline(trace: Trace) -> Timeline:
    """Every slice of ``trace`` (a plan's physical program, or a recording)."""
    n = len(trace)
    encoder_of_pass, pass_spans = _passes(trace)
    parts = [_encoders(trace, n), pass_spans]
    for name, (kinds, where) in _POINTS.items():
        events = trace.where(*kinds)
        if where == "pass":
            track = encoder_of_pass[trace.args[events, 0]]
        elif where == "encoder":
            track = trace.args[events, 0]
        else:
            track = np.full(len(events), QUEUE if where == "queue" else HOST)
        parts.append((np.full(len(events), LANES.index(name)), events, events, track))
    lane, first, last, track = (np.concatenate([p[j] for p in parts]).astype(np.int64) for j in range(4))
    order = np.lexsort((lane, first))
    return Timeline(lane[order], first[order], last[order], track[order], n)


def _encoders(trace: Trace, n: int) -> tuple[np.ndarray, ...]:
    """Encoders from their creation to their finish (to the end of the plan when never finished)."""
    created = trace.where(Kind.ENCODER_CREATE)
    last = np.full(len(created), n - 1, dtype=np.int64)
    finished = trace.where(Kind.ENCODER_FINISH)
    ids = trace.args[finished, 0]
    known = (ids >= 0) & (ids < len(created))
    np.minimum.at(last, ids[known], finished[known])
    return np.full(len(created), LANES.index("encoders")), created, np.maximum(last, created), \
        np.arange(len(created), dtype=np.int64)


def _passes(trace: Trace) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The encoder of each pass (BUNDLES for a render bundle encoder), and the passes' slices: from begin to end
    (a bundle encoder to its finish)."""
    n = len(trace)
    created = trace.where(*_PASS_CREATORS)
    kinds = trace.kind[created]
    encoder = np.where(kinds == Kind.BUNDLE_ENCODER_CREATE, BUNDLES, trace.args[created, 1])
    last = np.full(len(created), n - 1, dtype=np.int64)
    for kind, column in ((Kind.PASS_END, 0), (Kind.BUNDLE_FINISH, 1)):
        ends = trace.where(kind)
        ids = trace.args[ends, column]
        known = (ids >= 0) & (ids < len(created))
        np.minimum.at(last, ids[known], ends[known])
    return encoder, (np.full(len(created), LANES.index("passes")), created, np.maximum(last, created), encoder)
