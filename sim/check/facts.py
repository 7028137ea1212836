"""What every hazard rule reads about a plan, derived once: footprints, encoder lifecycles, names.

Rules stay small because they share this: the footprint table (``sim.footprint``), when each
encoder was finished and first submitted, whether a recorded command ever runs, the queue-timeline
accesses, buffer sizes, limits, and how to name an event in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...traces import DEFAULT_LIMITS, Kind, Trace
from ..footprint import Commands, Footprints, commands_and_footprints
from ..plan import Plan
from .intervals import spans
from .owners import Owners
from .pending import Pending

CALL_NAMES = {
    Kind.BUFFER_CREATE: "create_buffer",
    Kind.BUFFER_DESTROY: "buffer.destroy()",
    Kind.BIND_GROUP: "create_bind_group",
    Kind.ENCODER_FINISH: "finish",
    Kind.PASS_BEGIN: "begin_compute_pass",
    Kind.PASS_END: "end",
    Kind.SET_PIPELINE: "set_pipeline",
    Kind.SET_BIND_GROUP: "set_bind_group",
    Kind.DISPATCH: "dispatch",
    Kind.DISPATCH_INDIRECT: "dispatch_indirect",
    Kind.COPY: "copy_buffer_to_buffer",
    Kind.CLEAR: "clear_buffer",
    Kind.WRITE_BUFFER: "write_buffer",
    Kind.SUBMIT: "submit",
    Kind.READ: "read_mapped",
    Kind.MAPPED_WRITE: "write_mapped",
    Kind.QUEUE_READ: "read_buffer",
}

# Accesses on the queue timeline (they take effect before every command not yet submitted):
# kind -> whether the access writes.
QUEUE_ACCESS = {Kind.WRITE_BUFFER: True, Kind.MAPPED_WRITE: True, Kind.QUEUE_READ: False, Kind.READ: False}


@dataclass(frozen=True)
class QueueAccesses:
    """Host-side accesses in program order: event, buffer, byte range [lo, hi), and whether it writes."""

    event: np.ndarray
    buffer: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    writes: np.ndarray


class Facts:
    """Derived columns of one plan; each is computed on first use and kept."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.trace: Trace = plan.trace
        self.n = len(plan.trace)
        self._where: dict[Kind, np.ndarray] = {}

    def of(self, *kinds: Kind) -> np.ndarray:
        """Indices of the events of these kinds, in program order (``Trace.where``, cached per kind)."""
        parts = []
        for k in kinds:
            if k not in self._where:
                self._where[k] = np.flatnonzero(self.trace.kind == k)
            parts.append(self._where[k])
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

    @cached_property
    def _table(self) -> tuple[Commands, Footprints]:
        return commands_and_footprints(self.trace)

    @property
    def commands(self) -> Commands:
        return self._table[0]

    @property
    def footprints(self) -> Footprints:
        return self._table[1]

    def first_event(self, kind: Kind, count: int) -> np.ndarray:
        """Per object id 0..count-1, the first event of ``kind`` whose first field names it (n: none)."""
        out = np.full(count, self.n, dtype=np.int64)
        events = self.of(kind)
        np.minimum.at(out, self.trace.args[events, 0], events)
        return out

    @cached_property
    def n_encoders(self) -> int:
        return len(self.of(Kind.ENCODER_CREATE))

    @cached_property
    def finish_at(self) -> np.ndarray:
        """Event index at which each encoder was first finished (n: never)."""
        return self.first_event(Kind.ENCODER_FINISH, self.n_encoders)

    @cached_property
    def submit_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(submit event, encoder) for every encoder named by every submit, in program order."""
        events = self.of(Kind.SUBMIT)
        counts = self.trace.nrows[events].astype(np.int64)
        rows = spans(self.trace.row_start[events], counts)
        return np.repeat(events, counts), self.trace.rows[rows, 0]

    @cached_property
    def submit_at(self) -> np.ndarray:
        """Event index at which each encoder was first submitted (n: never; it runs nothing)."""
        out = np.full(self.n_encoders, self.n, dtype=np.int64)
        events, encoders = self.submit_rows
        np.minimum.at(out, encoders, events)
        return out

    @cached_property
    def runs(self) -> np.ndarray:
        """Per footprint row: whether its command runs."""
        fp = self.footprints
        return self.command_runs(fp.command, fp.encoder)

    def command_runs(self, event: np.ndarray, encoder: np.ndarray) -> np.ndarray:
        """Whether commands recorded at ``event`` into ``encoder`` run: their encoder is submitted afterwards."""
        if not len(event):
            return np.zeros(0, dtype=bool)
        submit = self.submit_at[encoder]
        return (event < submit) & (submit < self.n)

    @cached_property
    def queue(self) -> QueueAccesses:
        kinds = list(QUEUE_ACCESS)
        events = self.of(*kinds)
        a = self.trace.args[events]
        writes = np.isin(self.trace.kind[events], [k for k in kinds if QUEUE_ACCESS[k]])
        return QueueAccesses(events, a[:, 0], a[:, 1], a[:, 1] + a[:, 2], writes)

    @cached_property
    def buffer_events(self) -> np.ndarray:
        return self.of(Kind.BUFFER_CREATE)

    @cached_property
    def buffer_size(self) -> np.ndarray:
        return self.trace.args[self.buffer_events, 1]

    @cached_property
    def limits(self) -> dict[str, int]:
        given = {str(k).replace("_", "-"): v for k, v in (self.trace.limits or {}).items()}
        return {k: int(given.get(k, v)) for k, v in DEFAULT_LIMITS.items()}

    @cached_property
    def owners(self) -> Owners:
        return Owners(self.plan.allocations)

    @cached_property
    def pending(self) -> Pending:
        return Pending(self)

    @cached_property
    def _pipeline_names(self) -> list[str]:
        """The name a person knows each pipeline by: its label, else its module's, else the entry point."""
        trace = self.trace
        modules = self.of(Kind.SHADER_MODULE)
        names = []
        for i in self.of(Kind.COMPUTE_PIPELINE).tolist():
            a = trace.args[i]
            label = trace.strings[a[4]] if a[4] >= 0 else ""
            module = trace.args[modules[a[1]], 2] if a[1] < len(modules) else -1
            names.append(label or (trace.strings[module] if module >= 0 else "") or trace.strings[a[2]] or "?")
        return names

    @cached_property
    def _pipeline_of_command(self) -> dict[int, int]:
        c = self.commands
        return dict(zip(c.event.tolist(), c.pipeline.tolist(), strict=True))

    def buffer_name(self, b: int) -> str:
        label = int(self.trace.args[self.buffer_events[b], 3]) if 0 <= b < len(self.buffer_events) else -1
        return f"buffer {b} '{self.trace.strings[label]}'" if label >= 0 else f"buffer {b}"

    def call(self, i: int) -> str:
        """Event ``i`` as the call a person wrote: "write_buffer", "dispatch `matmul`", "the pool's page release"."""
        kind = Kind(int(self.trace.kind[i]))
        if kind in (Kind.DISPATCH, Kind.DISPATCH_INDIRECT):
            p = self._pipeline_of_command.get(i, -1)
            return f"{CALL_NAMES[kind]} `{self._pipeline_names[p]}`" if p >= 0 else CALL_NAMES[kind]
        if kind == Kind.BUFFER_DESTROY and self.inserted(i):
            return "the pool's page release"
        return CALL_NAMES.get(kind, kind.name.lower())

    def inserted(self, i: int) -> bool:
        """Whether the policy inserted event ``i`` (it has no counterpart in the source program)."""
        return int(self.plan.origin[i]) < 0

    def site(self, i: int) -> str:
        return self.trace.site_of(i) if 0 <= i < self.n else "?"
