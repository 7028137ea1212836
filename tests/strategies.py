"""Hypothesis strategies shared by the sim, checker and replay tests.

``programs()`` (random logical programs whose failures shrink to short ones) is the conformance
kit's, from ``wgtrace.testing.strategies``; ``event_streams()`` draws well-formed streams over every
event kind, for the trace format's and the checker's tests.
"""

from __future__ import annotations

from hypothesis import strategies as st

from wgtrace.testing.strategies import programs
from wgtrace.traces.schema import ACCESS, BLOB, INT, NONNEG, OPT_STR, RESOURCE, SPECS, STR, Access, Kind, resource_of

__all__ = ["event_streams", "programs"]

_INT64 = st.integers(-(2**63), 2**63 - 1)
SLOT_FIELDS = ("group", "binding", "index")


class _Stream:
    """Draws events one at a time, remembering how many objects of each type exist so far."""

    def __init__(self, draw: st.DrawFn):
        self.draw = draw
        self.made: dict = {}
        self.layout_groups: list[int] = []  # rows (bind group layouts) of each pipeline layout

    def value(self, f, access: int = 0):
        draw = self.draw
        if f.role == "new":
            return self.made.get(f.obj, 0)
        if f.role in ("ref", RESOURCE):
            obj = resource_of(access) if f.role == RESOURCE else f.obj
            return draw(st.sampled_from(list(range(self.made.get(obj, 0))) + ([None] if f.optional else [])))
        if f.name in SLOT_FIELDS:  # bind group and binding indices: below 2**16 (an int group may be -1)
            return draw(st.integers(-1 if f.role == INT else 0, 2**16 - 1))
        drawn = {NONNEG: st.integers(0, 2**53 - 1), STR: st.text(max_size=12),
                 OPT_STR: st.none() | st.text(max_size=12),
                 BLOB: st.none() | st.binary(max_size=40)}.get(f.role, _INT64)
        return access if f.role == ACCESS else draw(drawn)

    def possible(self, fields) -> bool:
        return all(f.role != "ref" or f.optional or self.made.get(f.obj) for f in fields)

    def row(self, fields) -> tuple | None:
        access = 0
        if any(f.role == ACCESS for f in fields):
            named = any(f.role == RESOURCE for f in fields)
            usable = [a for a in Access if not named or self.made.get(resource_of(a))]
            if not usable:
                return None
            access = self.draw(st.sampled_from(usable))
        if not self.possible(fields):
            return None
        return tuple(-1 if v is None else v for v in (self.value(f, access) for f in fields))

    def fit_layout(self, spec, fields: dict, rows: list) -> list | None:
        """A pipeline's binding rows name only groups its explicit layout has; a pipeline layout's size is kept."""
        if spec.kind == Kind.PIPELINE_LAYOUT:
            self.layout_groups.append(len(rows))
        elif spec.kind in (Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE):
            layout = fields.get("pipeline_layout")
            if layout is not None and layout >= 0:
                groups = self.layout_groups[layout]
                if rows and not groups:
                    return None
                rows = [(r[0] % groups, *r[1:]) for r in rows] if groups else rows
        return rows

    def event(self) -> tuple | None:
        spec = SPECS[self.draw(st.sampled_from(sorted(Kind)))]
        if not self.possible(spec.args):
            return None
        fields = {f.name: self.value(f) for f in spec.args}
        if spec.kind == Kind.DEVICE:  # adapter info and limits are JSON objects
            limits = self.draw(st.sampled_from(["{}", '{"min-storage-buffer-offset-alignment": 4}']))
            fields |= {"adapter": "{}", "limits": limits}
        if spec.layout:
            rows = [self.row(fields_) for _, fields_ in spec.layout]
        else:
            rows = [self.row(spec.rows) for _ in range(self.draw(st.integers(0, 3)) if spec.rows else 0)]
        if any(r is None for r in rows):
            return None
        rows = self.fit_layout(spec, fields, rows)
        if rows is None:
            return None
        if spec.creates is not None:
            self.made[spec.creates] = self.made.get(spec.creates, 0) + 1
        return spec.kind, self.draw(st.none() | st.sampled_from(["a.py:1", "b.py:22", "ü.py:3"])), fields, rows


@st.composite
def event_streams(draw: st.DrawFn, max_events: int = 60) -> list[tuple]:
    """Well-formed streams over every event kind: (kind, site, fields, rows) tuples.

    References only name objects created earlier, ids are dense, so any stream drawn here is a
    valid trace; the values are otherwise arbitrary. A binding row's resource is an object of the
    type its access names; positional layouts get exactly their rows.
    """
    stream = _Stream(draw)
    events = (stream.event() for _ in range(draw(st.integers(0, max_events))))
    return [e for e in events if e is not None]
