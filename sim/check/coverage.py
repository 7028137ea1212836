"""What a check could not model: the events that may touch GPU memory unseen by the rules, by name.

The checker reasons over every kind the trace format has: commands (dispatches, draws, render
passes, bundles, copies, clears, query resolves), queue writes, mapped writes and host reads, on
buffers and textures. A wgpu call the tracer cannot put in those words it records as an ``OPAQUE``
note holding the call's name (what wgpu-py adds beyond WebGPU). Such a call may write or read GPU
memory the checked operations also touch, and the checker cannot order it against them, so while
one is present no check is a proof. This module says which events those are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ...traces import Kind, Trace

RAISED = " raised"  # the tracer's note of a call that raised is named "<Class.method> raised"


def may_touch_memory(name: str) -> bool:
    """Whether an opaque event named ``name`` may touch GPU memory behind the checker's back.

    Only a note of a call that raised cannot: the tracer names it ``"<Class.method> raised"``,
    and a call that raised changed nothing. Every other opaque event counts as possibly touching
    memory, even one that likely does not (creating a sampler): telling them apart is the tracer's
    job, which is to model them, so this list shrinks as the trace format grows (a modelled call is
    no longer opaque) rather than by exemptions here.
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
    """The opaque events of ``trace`` that may touch GPU memory, grouped by the call they note, sorted by name."""
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
    return [Unmodelled(name, n, i, trace.site_of(i)) for name, (n, i) in sorted(groups.items())]
