"""What a check could not model: the events that may touch GPU memory unseen by the rules, by name.

The checker reasons only over what the trace format models: commands (dispatches, copies, clears),
queue writes, mapped writes and host reads. Every other wgpu call the tracer sees (a render pass, a
texture, a query) it records as an ``OPAQUE`` note holding the call's name. Such a call may write
or read GPU memory the checked operations also touch, and the checker cannot order it against
them, so while one is present no check is a proof. This module says which events those are: the
opaque ones that may touch memory, and any event of a kind the checker's rules do not model (a
trace format that grows records textures and render passes as kinds of their own; until the rules
read them, they are as unseen as opaque notes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...traces import Kind, Trace
from ...traces.schema import KIND_NAMES
from ..modelled import MODELLED

RAISED = " raised"  # the tracer's note of a call that raised is named "<Class.method> raised"

# The kinds the rules model (sim/modelled.py): every event of another kind but OPAQUE is unmodelled.
_MODELLED = np.array(sorted(MODELLED), dtype=np.int64)


def may_touch_memory(name: str) -> bool:
    """Whether an opaque event named ``name`` may touch GPU memory behind the checker's back.

    Only a note of a call that raised cannot: the tracer names it ``"<Class.method> raised"``,
    and a call that raised changed nothing. Every other opaque event counts as possibly touching
    memory, even one that likely does not (creating a sampler): telling them apart is the tracer's
    job, which is to model them, so this list shrinks as the trace format grows (a modelled call is
    no longer opaque) rather than by exemptions here. (An event of a kind outside ``MODELLED``
    always may, whatever it is.)
    """
    return not name.endswith(RAISED)


@dataclass(frozen=True)
class Unmodelled:
    """The unmodelled events of one name (a call, or a kind) that may touch GPU memory: how many, and the first."""

    name: str
    count: int
    first_event: int
    first_site: str

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """"GPUQueue.write_texture (3, first at app.py:41)"."""
        return f"{self.name} ({self.count:,}, first at {self.first_site})"


def unmodelled(trace: Trace) -> list[Unmodelled]:
    """The events of ``trace`` that may touch GPU memory unmodelled, grouped by name, sorted by name.

    An opaque event is named by the call it notes ("GPUQueue.write_texture"); an event of a kind the
    rules do not model, by its kind ("write_texture").
    """
    groups: dict[str, tuple[int, int]] = {}  # name -> (count, first event)

    def add(name: str, count: int, first: int) -> None:
        n, i = groups.get(name, (0, first))
        groups[name] = (n + count, min(i, first))

    events = np.flatnonzero(trace.kind == Kind.OPAQUE)
    if len(events):  # one name may have several string ids
        ids, first, counts = np.unique(trace.args[events, 0], return_index=True, return_counts=True)
        for s, f, c in zip(ids.tolist(), events[first].tolist(), counts.tolist(), strict=True):
            if may_touch_memory(trace.strings[s]):
                add(trace.strings[s], c, f)
    other = np.flatnonzero(~np.isin(trace.kind, _MODELLED) & (trace.kind != Kind.OPAQUE))
    if len(other):
        kinds, first, counts = np.unique(trace.kind[other], return_index=True, return_counts=True)
        for k, f, c in zip(kinds.tolist(), other[first].tolist(), counts.tolist(), strict=True):
            add(KIND_NAMES.get(k, f"kind {k}"), c, f)
    return [Unmodelled(name, n, i, trace.site_of(i)) for name, (n, i) in sorted(groups.items())]
