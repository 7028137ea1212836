"""What every hazard rule reads about a plan, derived once: footprints, encoder lifecycles, names.

Rules stay small because they share this: the footprint table (``sim.footprint``), when each
encoder was finished and first submitted, whether a recorded command ever runs, the queue-timeline
accesses, buffer sizes, limits, and how to name an event in plain words.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TypedDict

import numpy as np

from ...traces import DEFAULT_LIMITS, Kind, Trace
from ..footprint import Commands, Footprints, HostAccesses, Passes, Textures, commands_and_footprints, host_accesses
from ..footprint.state import DRAWS, pipeline_events
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
    Kind.TEXTURE_DESTROY: "texture.destroy()",
    Kind.RENDER_PASS_BEGIN: "begin_render_pass",
    Kind.SET_VERTEX_BUFFER: "set_vertex_buffer",
    Kind.SET_INDEX_BUFFER: "set_index_buffer",
    Kind.DRAW: "draw",
    Kind.DRAW_INDEXED: "draw_indexed",
    Kind.DRAW_INDIRECT: "draw_indirect",
    Kind.DRAW_INDEXED_INDIRECT: "draw_indexed_indirect",
    Kind.EXECUTE_BUNDLES: "execute_bundles",
    Kind.BUNDLE_FINISH: "bundle finish",
    Kind.COPY_BUFFER_TO_TEXTURE: "copy_buffer_to_texture",
    Kind.COPY_TEXTURE_TO_BUFFER: "copy_texture_to_buffer",
    Kind.COPY_TEXTURE_TO_TEXTURE: "copy_texture_to_texture",
    Kind.WRITE_TEXTURE: "write_texture",
    Kind.READ_TEXTURE: "read_texture",
    Kind.RESOLVE_QUERY_SET: "resolve_query_set",
}
_NAMED_BY_PIPELINE = (Kind.DISPATCH, Kind.DISPATCH_INDIRECT, *DRAWS)
_LIMIT_CAP = 1 << 53


class Located(TypedDict, total=False):
    """Where a finding is: ``Rule.finding``'s resource keywords."""

    buffer: int
    texture: int
    lo: int
    hi: int


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
    def queue(self) -> HostAccesses:
        return host_accesses(self.trace, self.textures)

    @cached_property
    def textures(self) -> Textures:
        return Textures(self.trace, len(self.buffer_events))

    @cached_property
    def passes(self) -> Passes:
        return Passes.of(self.trace)

    @cached_property
    def buffer_events(self) -> np.ndarray:
        return self.of(Kind.BUFFER_CREATE)

    @cached_property
    def buffer_size(self) -> np.ndarray:
        return self.trace.args[self.buffer_events, 1]

    @cached_property
    def limits(self) -> dict[str, int]:
        """The known limits (``DEFAULT_LIMITS``'s keys, spelt with '-'), WebGPU's defaults for those the trace
        lacks. A value that is not a usable integer (possible only in a trace that skipped validation) counts as
        absent; values are capped at 2^53, past every size a valid trace holds, to keep numpy's int64 exact."""
        given = {str(k).replace("_", "-"): v for k, v in (self.trace.limits or {}).items()}
        out = {}
        for k, default in DEFAULT_LIMITS.items():
            v = given.get(k, default)
            least = 1 if k.endswith("-alignment") else 0
            out[k] = min(v, _LIMIT_CAP) if isinstance(v, int) and not isinstance(v, bool) and v >= least else default
        return out

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
        for i in pipeline_events(trace).tolist():
            a = trace.args[i]
            if trace.kind[i] == Kind.RENDER_PIPELINE:
                label, entry = _render_pipeline_names(trace.strings[a[4]])
            else:
                label, entry = (trace.strings[a[4]] if a[4] >= 0 else ""), trace.strings[a[2]]
            module = trace.args[modules[a[1]], 2] if a[1] < len(modules) else -1
            names.append(label or (trace.strings[module] if module >= 0 else "") or entry or "?")
        return names

    @cached_property
    def _pipeline_of_command(self) -> dict[int, int]:
        c = self.commands
        return dict(zip(c.event.tolist(), c.pipeline.tolist(), strict=True))

    def buffer_name(self, b: int) -> str:
        label = int(self.trace.args[self.buffer_events[b], 3]) if 0 <= b < len(self.buffer_events) else -1
        return f"buffer {b} '{self.trace.strings[label]}'" if label >= 0 else f"buffer {b}"

    def encoder_name(self, e: int) -> str:
        return f"encoder {e}"

    def allocation_name(self, a: int) -> str:
        return f"allocation {a}"

    def texture_of(self, resource: int) -> int | None:
        """The texture id of a footprint resource, or None for a buffer."""
        first = len(self.buffer_events)
        return resource - first if resource >= first else None

    def resource_name(self, resource: int) -> str:
        """A buffer or a texture as people name it: "buffer 3 'x'", "texture 0 'atlas'"."""
        t = self.texture_of(resource)
        return self.buffer_name(resource) if t is None else self.textures.name(t)

    def span(self, resource: int, lo: int, hi: int) -> str:
        """[lo, hi) of a resource in words: "bytes 0-63", or "texels (0, 0)-(15, 3) of mip 0 of texture 2"."""
        t = self.texture_of(resource)
        return f"bytes {lo}-{hi - 1}" if t is None else f"{self.textures.region(t, lo, hi)} of {self.textures.name(t)}"

    def located(self, resource: int, lo: int, hi: int) -> Located:
        """A finding's resource fields: ``buffer`` or ``texture``, and the range."""
        t = self.texture_of(resource)
        return Located(buffer=resource, lo=lo, hi=hi) if t is None else Located(texture=t, lo=lo, hi=hi)

    def call(self, i: int) -> str:
        """Event ``i`` as the call a person wrote: "write_buffer", "dispatch `matmul`", "the pool's page release"."""
        kind = Kind(int(self.trace.kind[i]))
        if kind in _NAMED_BY_PIPELINE:
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


def _render_pipeline_names(descriptor: str) -> tuple[str, str]:
    """(label, vertex entry point) from a render pipeline's descriptor JSON ("" where absent)."""
    try:
        d = json.loads(descriptor)
        return str(d.get("label") or ""), str((d.get("vertex") or {}).get("entry_point") or "")
    except (ValueError, AttributeError):
        return "", ""
