"""A plan as Chrome trace-event JSON, which Perfetto's UI and ``chrome://tracing`` open.

One process (the plan); a thread (track) per encoder, one for the queue (queue writes, submits, queue
reads), one for the host (mapped writes, mapped reads) and one for render bundles, whose draws run
where they are executed. Each encoder's slice holds its passes, each pass its dispatches or draws;
copies sit on their encoder. Every slice carries its plan event, the recorded event it realises and
the program's call site (and call stack, where the recording has one) in ``args``. Counter tracks
give the bytes the pool holds, the bytes the live allocations asked for, and the bytes created so
far; each finding is an instant on the track of its event, and a flow arrow leads from a hazardous
write (or read) to the command it overtakes. Times (``ts``, ``dur``, microseconds) are the
recording's host clock or the cost model's (``clock``); ``metadata.clock`` says which.
"""

from __future__ import annotations

import numpy as np

from ...traces import Kind, Trace
from ...traces.schema import KIND_NAMES
from ..check import CheckResult
from ..metrics import memory
from ..plan import Plan
from .clock import Clock
from .timeline import BUNDLES, HOST, LANES, QUEUE, Timeline, timeline

PID = 1
_TIDS = {QUEUE: 1, HOST: 2, BUNDLES: 3}
_NAMES = {QUEUE: "queue", HOST: "host (mapped writes and reads)", BUNDLES: "render bundles"}
_PASSES = {Kind.PASS_BEGIN: "compute pass", Kind.RENDER_PASS_BEGIN: "render pass",
           Kind.BUNDLE_ENCODER_CREATE: "render bundle encoder"}
_CATEGORY = {"submits": "submit", "encoders": "encoder", "passes": "pass", "dispatches": "dispatch", "draws": "draw",
             "copies": "copy", "queue writes": "queue write", "host": "host"}


def export(name: str, plan: Plan, result: CheckResult, time: Clock, costs_source: str) -> dict:
    """The trace-event JSON object of ``plan`` (its check ``result``), timed by ``time``."""
    line = timeline(plan.trace)
    slices = _slices(plan, line, time)
    events = [*_tracks(plan, line), *slices, *_counters(plan, time), *_findings(plan, result, line, time)]
    return {
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "metadata": {
            "tool": "wgtrace export", "trace": name, "pool": plan.pool, "passes": plan.passes,
            "events": len(plan.trace), "clock": time.source, "clock_detail": time.detail, "costs": costs_source,
            "verdict": result.verdict,
        },
    }


def _tid(track: int) -> int:
    return _TIDS.get(track, 10 + track)


def _tracks(plan: Plan, line: Timeline) -> list[dict]:
    """Names of the process and of each thread, queue first, then host, bundles and encoders in order."""
    out: list[dict] = [{"ph": "M", "name": "process_name", "pid": PID, "tid": 0,
                        "args": {"name": f"plan: pool {plan.pool}, passes {plan.passes}"}}]
    tracks = sorted(set(line.track.tolist()) | {QUEUE}, key=lambda t: (t >= 0, t if t >= 0 else -t))
    labels = _encoder_labels(plan)
    for k, track in enumerate(tracks):
        label = _NAMES.get(track) or f"encoder {track}" + (f" {labels[track]!r}" if labels.get(track) else "")
        out.append({"ph": "M", "name": "thread_name", "pid": PID, "tid": _tid(track), "args": {"name": label}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": _tid(track), "args": {"sort_index": k}})
    return out


def _encoder_labels(plan: Plan) -> dict[int, str]:
    t = plan.trace
    created = t.where(Kind.ENCODER_CREATE)
    return {k: t.strings[s] for k, s in enumerate(t.args[created, 1].tolist()) if s >= 0}


def _slices(plan: Plan, line: Timeline, time: Clock) -> list[dict]:
    """A complete ("X") event per slice, longest first among those that start together, so they nest."""
    t, source = plan.trace, plan.source
    ts, end = np.round(time.start[line.first], 3), np.round(time.end[line.last], 3)
    order = np.lexsort((line.lane, -(end - ts), ts))
    out = []
    for j in order.tolist():
        i, lane = int(line.first[j]), LANES[int(line.lane[j])]
        args: dict = {"event": i, "site": t.site_of(i)}
        if line.last[j] != line.first[j]:
            args["until_event"] = int(line.last[j])
        origin = int(plan.origin[i])
        if origin >= 0:
            args["recorded_event"] = origin
            stack = source.stack_of(origin)
            if stack:
                args["stack"] = list(stack)
        track = int(line.track[j])
        out.append({"ph": "X", "name": _name(t, i, lane, track), "cat": _CATEGORY[lane], "pid": PID,
                    "tid": _tid(track), "ts": float(ts[j]), "dur": max(round(float(end[j] - ts[j]), 3), 0.0),
                    "args": args})
    return out


def _name(t: Trace, i: int, lane: str, track: int) -> str:
    kind = Kind(int(t.kind[i]))
    if lane == "encoders":
        return f"encoder {track}"
    if kind in _PASSES:
        return _PASSES[kind]
    return KIND_NAMES[kind].replace("_", " ")


def _counters(plan: Plan, time: Clock) -> list[dict]:
    """Memory counters at each event where one of them changes."""
    held, in_use = memory(plan)
    t = plan.trace
    made = np.zeros(len(t), dtype=np.int64)
    creates = t.where(Kind.BUFFER_CREATE)
    made[creates] = t.args[creates, 1]
    created = np.cumsum(made)
    out = []
    for name, values in (("bytes held by the pool", held), ("bytes in use (live allocations)", in_use),
                         ("bytes created", created)):
        if not len(values):
            continue
        changes = np.flatnonzero(np.diff(values, prepend=values[0] - 1))
        ts = np.round(time.start[changes], 3)
        out += [{"ph": "C", "name": name, "pid": PID, "ts": float(s), "args": {"bytes": int(v)}}
                for s, v in zip(ts.tolist(), values[changes].tolist(), strict=True)]
    return out


def _findings(plan: Plan, result: CheckResult, line: Timeline, time: Clock) -> list[dict]:
    """Each finding as an instant on its event's track; a flow from it to the command it overtakes."""
    track = np.full(len(plan.trace), QUEUE, dtype=np.int64)
    track[line.first] = line.track  # an event opens at most one slice
    out = []
    for k, x in enumerate(result.findings):
        if not 0 <= x.event < len(track):
            continue
        tid, ts = _tid(int(track[x.event])), round(float(time.start[x.event]), 3)
        out.append({"ph": "i", "s": "t", "name": f"{x.rule} {x.call}", "cat": "hazard", "pid": PID, "tid": tid,
                    "ts": ts, "args": {"message": x.message, "event": x.event, "site": x.site,
                                       "severity": x.severity}})
        if x.other_event is None or not 0 <= x.other_event < len(track):
            continue
        flow = {"name": f"{x.rule} overtakes", "cat": "hazard", "pid": PID, "id": k}
        out.append({**flow, "ph": "s", "tid": tid, "ts": ts})
        out.append({**flow, "ph": "f", "bp": "e", "tid": _tid(int(track[x.other_event])),
                    "ts": round(float(time.start[x.other_event]), 3)})
    return out
