"""Which event kinds a consumer models, and a one-line refusal for one that does not model them all.

The planner and the checker model every kind of format 1.1 (render passes, textures, bundles,
queries, markers: ``sim/planner/render.py``). ``COMPUTE`` is format 1.0's compute-on-buffers
vocabulary: a consumer that runs only that (the replay, until it runs render work) refuses a trace
holding anything else in one line (exit 2) with ``refuse_unmodelled``, rather than running it as if
those events were not there.
"""

from __future__ import annotations

import numpy as np

from ..traces import Kind, Trace
from ..traces.errors import InputError
from ..traces.schema import KIND_NAMES

# format 1.0's kinds; OPAQUE notes are kept as they are
COMPUTE = frozenset(k for k in Kind if k < Kind.OPAQUE)
MODELLED = COMPUTE  # the name this set had while the planner planned compute only
PLANNED = frozenset(Kind)  # what the planner plans: every kind
_KEPT = np.array(sorted({*COMPUTE, Kind.OPAQUE}), dtype=np.int64)


def unmodelled_kinds(trace: Trace) -> np.ndarray:
    """Indices of the events of kinds format 1.1 added (neither compute kinds nor OPAQUE), in program order."""
    return np.flatnonzero(~np.isin(trace.kind, _KEPT))


def refuse_unmodelled(trace: Trace, who: str) -> None:
    """Raise InputError naming the first event of a kind ``who`` does not model, and how many there are."""
    events = unmodelled_kinds(trace)
    if len(events):
        i = int(events[0])
        kinds = sorted({KIND_NAMES[int(k)] for k in trace.kind[events]})
        raise InputError(f"{who} models compute on buffers only; event {i} ({KIND_NAMES[int(trace.kind[i])]} at "
                         f"{trace.site_of(i)}) and {len(events) - 1} more ({', '.join(kinds)}) are not modelled yet")
