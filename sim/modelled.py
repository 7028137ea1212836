"""Which event kinds the planner models: format 1.0's compute-on-buffers vocabulary.

Format 1.1 records textures, render passes, bundles and queries. The checker models all of them;
the planner does not re-plan them yet, so it refuses a trace holding them in one line (exit 2)
rather than re-planning it as if those events were not there.
"""

from __future__ import annotations

import numpy as np

from ..traces import Kind, Trace
from ..traces.errors import InputError
from ..traces.schema import KIND_NAMES

# The kinds the planner reads; OPAQUE notes are kept as they are.
MODELLED = frozenset(k for k in Kind if k < Kind.OPAQUE)
_KEPT = np.array(sorted({*MODELLED, Kind.OPAQUE}), dtype=np.int64)


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
