"""Which event kinds the planner and the checker model: format 1.0's compute-on-buffers vocabulary.

Format 1.1 records textures, render passes, bundles and queries. Until the planner models them it
refuses a trace holding them in one line (exit 2), rather than re-planning it as if those events
were not there. The checker checks what it models, the compute part, over ``project``'s view of
the trace, and names every other event as unmodelled: while one is present, nothing is proven.
"""

from __future__ import annotations

import numpy as np

from ..traces import Kind, Trace
from ..traces.errors import InputError
from ..traces.schema import BUFFER_ACCESSES, KIND_NAMES, SPECS, Access, Obj

# The kinds the rules and the planner read; OPAQUE notes are kept as they are, named by the checker.
MODELLED = frozenset(k for k in Kind if k < Kind.OPAQUE)
_KEPT = np.array(sorted({*MODELLED, Kind.OPAQUE}), dtype=np.int64)
_BINDING_BUFFER = np.array([Access.NONE, *BUFFER_ACCESSES], dtype=np.int64)


def unmodelled_kinds(trace: Trace) -> np.ndarray:
    """Indices of the events of kinds format 1.1 added (neither modelled nor OPAQUE), in program order."""
    return np.flatnonzero(~np.isin(trace.kind, _KEPT))


def refuse_unmodelled(trace: Trace, who: str) -> None:
    """Raise InputError naming the first event of a kind ``who`` does not model, and how many there are."""
    events = unmodelled_kinds(trace)
    if len(events):
        i = int(events[0])
        kinds = sorted({KIND_NAMES[int(k)] for k in trace.kind[events]})
        raise InputError(f"{who} models compute on buffers only; event {i} ({KIND_NAMES[int(trace.kind[i])]} at "
                         f"{trace.site_of(i)}) and {len(events) - 1} more ({', '.join(kinds)}) are not modelled yet")


def project(trace: Trace) -> tuple[Trace, np.ndarray]:
    """The compute part of ``trace`` and, per kept event, its index in ``trace``.

    Kept: the modelled kinds and OPAQUE notes, minus what belongs to render passes and bundle
    encoders (their set calls and ends); pass and pipeline ids renumbered densely over compute
    passes and pipelines; bind group entries of textures and samplers dropped, and a bind group's
    render pipeline forgotten (its entries carry their access already). The projection is what the
    rules see; the events it leaves out are what the check reports as unmodelled.
    """
    if not len(unmodelled_kinds(trace)):
        return trace, np.arange(len(trace), dtype=np.int64)
    kind, args = trace.kind, trace.args.copy()
    passes = _renumber(trace, Obj.PASS, Kind.PASS_BEGIN)
    pipelines = _renumber(trace, Obj.PIPELINE, Kind.COMPUTE_PIPELINE)
    keep = np.isin(kind, _KEPT)
    for k in (Kind.PASS_BEGIN, Kind.PASS_END, Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH,
              Kind.DISPATCH_INDIRECT):
        idx = np.flatnonzero(kind == k)
        args[idx, 0] = passes[args[idx, 0]]
        keep[idx[args[idx, 0] < 0]] = False
    for k, col in ((Kind.COMPUTE_PIPELINE, 0), (Kind.SET_PIPELINE, 1), (Kind.BIND_GROUP, 2)):
        idx = np.flatnonzero(kind == k)
        ref = args[idx, col]
        args[idx, col] = np.where(ref >= 0, pipelines[np.maximum(ref, 0)], -1)
    keep[np.flatnonzero(kind == Kind.SET_PIPELINE)[args[kind == Kind.SET_PIPELINE, 1] < 0]] = False
    row_keep = np.ones(len(trace.rows), dtype=bool)
    groups = trace.row_ids(np.flatnonzero(kind == Kind.BIND_GROUP))
    row_keep[groups] = np.isin(trace.rows[groups, 4], _BINDING_BUFFER)
    owner = np.repeat(np.arange(len(trace)), trace.nrows)
    nrows = np.bincount(owner[row_keep], minlength=len(trace)).astype(np.int32)
    row_keep &= keep[owner]
    kept = np.flatnonzero(keep)
    return Trace(header=trace.header, kind=kind[kept], t=trace.t[kept], site=trace.site[kept], args=args[kept],
                 nrows=nrows[kept], rows=trace.rows[row_keep], strings=trace.strings, blobs=trace.blobs,
                 end=trace.end, cut_short=trace.cut_short), kept


def _renumber(trace: Trace, obj: Obj, kept_kind: Kind) -> np.ndarray:
    """Old id -> new id of the objects of type ``obj`` that ``kept_kind`` creates; -1 for the others."""
    makers = [k for k, spec in SPECS.items() if spec.creates == obj]
    made = trace.kind[np.isin(trace.kind, makers)]
    out = np.full(len(made) + 1, -1, dtype=np.int64)
    mine = np.flatnonzero(made == kept_kind)
    out[mine] = np.arange(len(mine))
    return out
