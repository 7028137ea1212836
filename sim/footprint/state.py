"""Pass state at each dispatch and draw: the pipeline, bind groups, vertex and index buffers set before it.

Compute passes, render passes and render bundle encoders share one id space (``Obj.PASS``). State
is set per pass and read by the pass's dispatches or draws; a render pass forgets all of it when it
executes bundles. Resolving it is a forward fill over each pass's events in order: one numpy step
per bind group index and vertex slot, not a loop over events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from ...traces.schema import SPECS, Obj
from .table import columns_of, gather, of_kind

DISPATCHES = (Kind.DISPATCH, Kind.DISPATCH_INDIRECT)
DRAWS = (Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT)
INDEXED = (Kind.DRAW_INDEXED, Kind.DRAW_INDEXED_INDIRECT)
PIPELINES = (Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE)
_STATE = (Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER,
          Kind.EXECUTE_BUNDLES)
PASS_MAKERS = tuple(k for k, spec in SPECS.items() if spec.creates == Obj.PASS)
_COMPUTE, _RENDER, _BUNDLE = Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE
PASS_NAMES: dict[int, str] = {_COMPUTE: "compute pass", _RENDER: "render pass", _BUNDLE: "render bundle encoder"}
# the passes that take each pass command (WebGPU's GPUComputePassEncoder, GPURenderPassEncoder, GPURenderBundleEncoder)
TAKEN_BY = {
    **dict.fromkeys(DISPATCHES, (_COMPUTE,)),
    **dict.fromkeys((Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, *DRAWS), (_RENDER, _BUNDLE)),
    **dict.fromkeys((Kind.RENDER_STATE, Kind.BEGIN_OCCLUSION_QUERY, Kind.END_OCCLUSION_QUERY, Kind.EXECUTE_BUNDLES),
                    (_RENDER,)),
    Kind.PASS_END: (_COMPUTE, _RENDER),
}
ANY_SLOT = 1 << 30  # a render pipeline whose vertex buffers are not known: every slot set counts


@dataclass(eq=False)
class Passes:
    """Per pass id: the event that made it, its kind, its encoder (-1 for a bundle encoder), and its end.

    A pass ends at its first ``end`` (a bundle encoder at its ``finish``); n if never.
    """

    begin: np.ndarray
    kind: np.ndarray
    encoder: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, trace: Trace) -> Passes:
        begin = of_kind(trace, *PASS_MAKERS)
        kind = trace.kind[begin]
        encoder = np.where(kind == Kind.BUNDLE_ENCODER_CREATE, -1, trace.args[begin, 1])
        end = np.full(len(begin), len(trace), dtype=np.int64)
        ends = of_kind(trace, Kind.PASS_END)
        np.minimum.at(end, trace.args[ends, 0], ends)
        finishes = of_kind(trace, Kind.BUNDLE_FINISH)
        np.minimum.at(end, trace.args[finishes, 1], finishes)
        return cls(begin, kind, encoder, end)

    def misplaced(self, trace: Trace) -> tuple[np.ndarray, np.ndarray]:
        """(event, its pass's kind) of each pass command recorded into a kind of pass that does not take it:
        a draw in a compute pass, a dispatch in a render pass, a compute pipeline set in a render pass (or
        the reverse). The device rejects them; sorted by event."""
        bad = []
        for k, takers in TAKEN_BY.items():
            e = of_kind(trace, k)
            bad.append(e[~np.isin(self.kind[trace.args[e, 0]], takers)])
        sets = of_kind(trace, Kind.SET_PIPELINE)
        pipeline_kind = trace.kind[of_kind(trace, *PIPELINES)][trace.args[sets, 1]]
        compute_pass = self.kind[trace.args[sets, 0]] == _COMPUTE
        bad.append(sets[compute_pass != (pipeline_kind == Kind.COMPUTE_PIPELINE)])
        events = np.sort(np.concatenate(bad)).astype(np.int64)
        return events, self.kind[trace.args[events, 0]]


@dataclass(eq=False)
class Bound:
    """What each dispatch and draw (``event``, program order) runs with.

    ``pipeline`` (-1: none set); per (event, group its pipeline uses) the bind group set: ``group_*``;
    per (draw, vertex slot its pipeline uses) the set_vertex_buffer event: ``vertex_*``; per indexed
    draw the set_index_buffer event: ``index_*``.
    """

    event: np.ndarray
    pipeline: np.ndarray
    group_event: np.ndarray
    group_bind_group: np.ndarray
    group_index: np.ndarray
    group_set: np.ndarray
    vertex_event: np.ndarray
    vertex_set: np.ndarray
    index_event: np.ndarray
    index_set: np.ndarray


def pipeline_events(trace: Trace) -> np.ndarray:
    """The event that made each pipeline id (compute and render pipelines share the id space)."""
    return of_kind(trace, *PIPELINES)


def vertex_slots(trace: Trace, pipelines: np.ndarray) -> np.ndarray:
    """Per pipeline id, how many vertex buffer slots it reads (0 for compute pipelines)."""
    out = np.zeros(len(pipelines), dtype=np.int64)
    for p in np.flatnonzero(trace.kind[pipelines] == Kind.RENDER_PIPELINE).tolist():
        try:
            buffers = json.loads(trace.strings[int(trace.args[pipelines[p], 4])]).get("vertex", {}).get("buffers")
            out[p] = len(buffers) if isinstance(buffers, list) else 0
        except (ValueError, AttributeError, TypeError):
            out[p] = ANY_SLOT
    return out


def bound_state(trace: Trace, pipeline_groups: list[list[int]], slots: np.ndarray) -> Bound:
    """Resolve every dispatch's and draw's pass state (see ``Bound``)."""
    a0, a1, a2 = columns_of(trace.args)[:3]
    sel = of_kind(trace, *_STATE, *DISPATCHES, *DRAWS)
    order = sel[np.argsort(gather(a0, sel), kind="stable")]
    kind, pass_id, group = trace.kind[order], gather(a0, order), gather(a1, order)
    is_user = np.isin(kind, (*DISPATCHES, *DRAWS))
    positions = np.arange(len(order))
    user_pass = pass_id[is_user]

    def last_before(mask: np.ndarray) -> np.ndarray:
        """For each dispatch or draw, the position of the latest ``mask`` row of its own pass before it, or -1."""
        last = np.maximum.accumulate(np.where(mask, positions, -1)) if len(order) else positions
        last = last[is_user]
        ok = last >= 0
        ok[ok] = pass_id[last[ok]] == user_pass[ok]
        return np.where(ok, last, -1)

    reset = last_before(kind == Kind.EXECUTE_BUNDLES) if np.any(kind == Kind.EXECUTE_BUNDLES) else None

    def set_before(mask: np.ndarray) -> np.ndarray:
        last = last_before(mask)
        return last if reset is None else np.where(last > reset, last, -1)

    user_order = order[is_user]
    set_pipe = set_before(kind == Kind.SET_PIPELINE)
    pipes = np.where(set_pipe >= 0, group[set_pipe], -1)
    used = sorted({g for groups in pipeline_groups for g in groups})
    is_set_group = kind == Kind.SET_BIND_GROUP
    parts = []
    for g in used:
        uses = np.array([g in groups for groups in pipeline_groups] + [False], dtype=bool)  # -1: no pipeline
        bound = set_before(is_set_group & (group == g))
        take = (bound >= 0) & uses[pipes]
        set_events = order[bound[take]]
        parts.append((user_order[take], gather(a2, set_events), np.full(int(take.sum()), g), set_events))
    cols = [np.concatenate([p[j] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
            for j in range(4)]
    by_event = np.argsort(user_order, kind="stable")
    pair = np.argsort(cols[0], kind="stable")
    vertex_event, vertex_set = _vertex_sets(trace, order, kind, user_order, set_before, np.append(slots, 0)[pipes])
    index_event, index_set = _index_sets(trace, order, kind, user_order, set_before)
    return Bound(user_order[by_event], pipes[by_event], cols[0][pair], cols[1][pair], cols[2][pair], cols[3][pair],
                 vertex_event, vertex_set, index_event, index_set)


def _vertex_sets(trace: Trace, order: np.ndarray, kind: np.ndarray, user_order: np.ndarray, set_before,
                 slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(draw, set_vertex_buffer event) for every slot below the draw's pipeline's slot count."""
    is_set = kind == Kind.SET_VERTEX_BUFFER
    if not is_set.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    slot = trace.args[order, 1]
    draws, sets = [], []
    for s in np.unique(slot[is_set]).tolist():
        bound = set_before(is_set & (slot == s))
        take = (bound >= 0) & (slots > s)
        draws.append(user_order[take])
        sets.append(order[bound[take]])
    draw, set_event = np.concatenate(draws), np.concatenate(sets)
    by_draw = np.argsort(draw, kind="stable")
    return draw[by_draw], set_event[by_draw]


def _index_sets(trace: Trace, order: np.ndarray, kind: np.ndarray, user_order: np.ndarray,
                set_before) -> tuple[np.ndarray, np.ndarray]:
    """(indexed draw, set_index_buffer event) for every indexed draw with an index buffer set."""
    is_set = kind == Kind.SET_INDEX_BUFFER
    if not is_set.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bound = set_before(is_set)
    take = (bound >= 0) & np.isin(trace.kind[user_order], INDEXED)
    draw, set_event = user_order[take], order[bound[take]]
    by_draw = np.argsort(draw, kind="stable")
    return draw[by_draw], set_event[by_draw]
