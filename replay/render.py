"""Replay of what format 1.1 adds: textures, views, samplers, query sets, render pipelines, render passes
and their commands, bundles, texture copies, uploads and read-backs, queries and debug markers.

``RenderInfo`` is what the decoded plan works out once for these kinds; ``RenderMethods`` is the
engine's half for them (a mixin: one small method per kind, registered in the engine's table by
``render_methods``). Pass commands (set_pipeline, set_bind_group, end) are the engine's own: a
render pass or bundle encoder is a PASS like a compute pass, held in the same table.

What the trace does not say and replay has to work out (see ``layout_entries``): a bind group
layout's row names only a binding's access, so the stages that see it, a texture's sample type,
view dimension and multisampling, a storage texture's format and a sampler's type are read off the
shaders of the pipelines made with the layout and off the views and samplers bound through it; a
texture's ``view_formats`` are the formats its views were made with. Timestamp queries need a
device feature: without it, timestamp query sets are not created and every write and resolve of
them is skipped and counted (``Run.skipped``), never an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import wgpu

from ..tracer import wgsl
from ..traces import Kind, Obj, Trace
from ..traces.schema import KIND_NAMES, Access, AttachmentOps

if TYPE_CHECKING:
    from .engine import DecodedPlan

FIRST_1_1 = int(Kind.TEXTURE_CREATE)
_DIMENSION = {1: "1d", 2: "2d", 3: "3d"}
_ASPECT = {0: "all", 1: "stencil-only", 2: "depth-only"}
LOAD, STORE, READ_ONLY = int(AttachmentOps.LOAD), int(AttachmentOps.STORE), int(AttachmentOps.READ_ONLY)
STENCIL_LOAD, STENCIL_STORE = int(AttachmentOps.STENCIL_LOAD), int(AttachmentOps.STENCIL_STORE)
STENCIL_READ_ONLY = int(AttachmentOps.STENCIL_READ_ONLY)
_STATE_CALLS = ("set_viewport", "set_scissor_rect", "set_blend_constant", "set_stencil_reference")
_MARKERS = ("push_debug_group", "pop_debug_group", "insert_debug_marker")
_STAGES = {"vertex": int(wgpu.ShaderStage.VERTEX), "fragment": int(wgpu.ShaderStage.FRAGMENT),
           "compute": int(wgpu.ShaderStage.COMPUTE)}
_ALL_STAGES = _STAGES["vertex"] | _STAGES["fragment"] | _STAGES["compute"]
_NO_VERTEX = _STAGES["fragment"] | _STAGES["compute"]  # writable storage is not allowed in a vertex stage
_BUFFER_TYPES = {int(Access.UNIFORM): "uniform", int(Access.READ_ONLY_STORAGE): "read-only-storage"}
_STORAGE_ACCESS = {int(Access.READ_ONLY_STORAGE_TEXTURE): "read-only",
                   int(Access.WRITE_ONLY_STORAGE_TEXTURE): "write-only",
                   int(Access.READ_WRITE_STORAGE_TEXTURE): "read-write"}
_SAMPLED, _SAMPLER = int(Access.SAMPLED_TEXTURE), int(Access.SAMPLER)
_TEXTURE_ACCESSES = (_SAMPLED, *_STORAGE_ACCESS)
# WGSL texture types: their view dimension (the multisampled and depth ones by name)
_WGSL_VIEW = {"1d": "1d", "2d": "2d", "2d_array": "2d-array", "3d": "3d", "cube": "cube", "cube_array": "cube-array",
              "multisampled_2d": "2d"}
READ_KINDS = (Kind.READ, Kind.QUEUE_READ, Kind.READ_TEXTURE, Kind.MAP)


def _json(text: str) -> Any:
    return json.loads(text) if text else {}


def unfilterable(texture_format: str) -> bool:
    """Formats a "float" sample type cannot take without a feature: 32-bit floats (depth: see below)."""
    return texture_format.endswith("32float") and not texture_format.startswith("depth")


def sample_type_of(texture_format: str) -> str:
    """The sample type a texture of this format is bound as when no shader says otherwise."""
    if texture_format.startswith(("depth", "stencil")):
        return "uint" if texture_format == "stencil8" else "depth"
    if texture_format.endswith("uint"):
        return "uint"
    if texture_format.endswith("sint"):
        return "sint"
    return "unfilterable-float" if unfilterable(texture_format) else "float"


@dataclass
class _Binding:
    """What the trace tells about one binding of a bind group layout, gathered from its uses."""

    access: int
    dynamic: bool
    stages: int = 0
    wgsl_type: tuple[str, str] | None = None  # (type name, template arguments) where a shader declares it
    formats: set[str] = field(default_factory=set)  # of the views bound to it
    dimensions: set[str] = field(default_factory=set)
    multisampled: bool = False
    comparison: bool = False  # a bound sampler compares
    filtering: bool = False  # a bound sampler filters linearly


def _declared_types(code: str) -> dict[tuple[int, int], tuple[str, str]]:
    """(group, binding) -> (type name, template arguments) of each handle variable (texture, sampler)."""
    code = wgsl.strip_comments(code)
    out = {}
    for m in wgsl._VAR.finditer(code):
        template, _, type_name, type_args = m.groups()
        if template is not None or type_name is None:
            continue
        attrs = wgsl._attributes(code, m.start())
        group, binding = wgsl._GROUP.search(attrs), wgsl._BINDING.search(attrs)
        if group is not None and binding is not None:
            out[(int(group.group(1)), int(binding.group(1)))] = (type_name, type_args or "")
    return out


class _Shaders:
    """Module sources, each parsed once: the handle types they declare, the bindings an entry point uses."""

    def __init__(self, trace: Trace):
        self.code = [trace.strings[int(trace.args[i, 1])] for i in trace.where(Kind.SHADER_MODULE).tolist()]
        self._types: dict[int, dict] = {}
        self._used: dict[tuple[int, str | None, str], dict] = {}

    def types(self, module: int) -> dict[tuple[int, int], tuple[str, str]]:
        if module not in self._types:
            self._types[module] = _declared_types(self.code[module]) if 0 <= module < len(self.code) else {}
        return self._types[module]

    def used(self, module: int, entry: str | None, stage: str) -> dict[tuple[int, int], Access] | None:
        """The bindings the entry point uses; None when the module's source is unknown."""
        if not 0 <= module < len(self.code) or not self.code[module]:
            return None
        key = (module, entry, stage)
        if key not in self._used:
            self._used[key] = wgsl.accesses(self.code[module], entry or None, stage)
        return self._used[key]


def _stages_of(trace: Trace, shaders: _Shaders, i: int) -> list[tuple[int, str | None, str]]:
    """(module, entry point, stage) of each programmable stage of the pipeline made at event ``i``."""
    a = trace.args[i]
    if trace.kind[i] == Kind.COMPUTE_PIPELINE:
        return [(int(a[1]), trace.strings[int(a[2])] or None, "compute")]
    desc = _json(trace.strings[int(a[4])])
    stages = [(int(a[1]), (desc.get("vertex") or {}).get("entry_point"), "vertex")]
    if int(a[2]) >= 0 and desc.get("fragment"):
        stages.append((int(a[2]), desc["fragment"].get("entry_point"), "fragment"))
    return stages


def _gather(trace: Trace, views: _Views) -> dict[int, dict[int, _Binding]]:
    """Every bind group layout's bindings, with what its pipelines' shaders and its bind groups say of them."""
    layouts: dict[int, dict[int, _Binding]] = {}
    for n, i in enumerate(trace.where(Kind.BIND_GROUP_LAYOUT).tolist()):
        layouts[n] = {int(r[0]): _Binding(int(r[1]), bool(r[2])) for r in trace.rows_of(i).tolist()}
    pipeline_layouts = [[int(r[0]) for r in trace.rows_of(i).tolist()]
                        for i in trace.where(Kind.PIPELINE_LAYOUT).tolist()]
    shaders = _Shaders(trace)
    for i in trace.where(Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE).tolist():
        pl = int(trace.args[i, 3])
        if pl < 0 or pl >= len(pipeline_layouts):
            continue
        groups = pipeline_layouts[pl]
        for module, entry, stage in _stages_of(trace, shaders, i):
            used = shaders.used(module, entry, stage)
            for (g, b) in used if used is not None else {}:
                binding = layouts.get(groups[g], {}).get(b) if g < len(groups) else None
                if binding is not None:
                    binding.stages |= _STAGES[stage]
                    binding.wgsl_type = binding.wgsl_type or shaders.types(module).get((g, b))
    samplers = [_json(trace.strings[int(trace.args[i, 1])]) for i in trace.where(Kind.SAMPLER).tolist()]
    for i in trace.where(Kind.BIND_GROUP).tolist():
        layout = layouts.get(int(trace.args[i, 1]))
        if layout is None:
            continue
        for binding, resource, _, _, access in trace.rows_of(i).tolist():
            bound = layout.get(binding)
            if bound is None:
                continue
            if access in _TEXTURE_ACCESSES and 0 <= resource < len(views.format):
                bound.formats.add(views.format[resource])
                bound.dimensions.add(views.dimension[resource])
                bound.multisampled |= views.samples[resource] > 1
            elif access == _SAMPLER and 0 <= resource < len(samplers):
                s = samplers[resource]
                bound.comparison |= s.get("compare") is not None
                bound.filtering |= "linear" in (s.get("mag_filter"), s.get("min_filter"), s.get("mipmap_filter"))
    return layouts


def _texture_entry(b: _Binding, filtering_sampler: bool) -> dict:
    name, args = b.wgsl_type or ("", "")
    if name.startswith("texture_depth_"):
        sample_type, shape = "depth", name[len("texture_depth_"):]
    elif name.startswith("texture_"):
        shape = name[len("texture_"):]
        scalar = args.strip()
        sample_type = {"i32": "sint", "u32": "uint"}.get(scalar, "float")
        if sample_type == "float" and any(f.startswith("depth") or (unfilterable(f) and not filtering_sampler)
                                          for f in b.formats):
            sample_type = "unfilterable-float"
    else:
        shape = ""
        kinds = {sample_type_of(f) for f in b.formats} or {"float"}
        sample_type = kinds.pop() if len(kinds) == 1 else "unfilterable-float"
        if sample_type == "unfilterable-float" and filtering_sampler and all(unfilterable(f) for f in b.formats):
            sample_type = "float"
    multisampled = b.multisampled or shape.startswith("multisampled")
    if multisampled and sample_type == "float":
        sample_type = "unfilterable-float"
    dimension = _WGSL_VIEW.get(shape) or (min(b.dimensions) if len(b.dimensions) == 1 else "2d")
    return {"sample_type": sample_type, "view_dimension": dimension, "multisampled": multisampled}


def _storage_texture_entry(b: _Binding) -> dict:
    name, args = b.wgsl_type or ("", "")
    parts = [p.strip() for p in args.split(",") if p.strip()]
    dimension = _WGSL_VIEW.get(name[len("texture_storage_"):]) if name.startswith("texture_storage_") else None
    texture_format = parts[0] if parts else (min(b.formats) if b.formats else "rgba8unorm")
    return {"access": _STORAGE_ACCESS[b.access], "format": texture_format,
            "view_dimension": dimension or (min(b.dimensions) if len(b.dimensions) == 1 else "2d")}


def _entry(binding: int, b: _Binding, filtering_sampler: bool) -> dict:
    """One create_bind_group_layout entry; stages no shader was seen to use default to all the type allows."""
    writable = b.access in (int(Access.STORAGE), int(Access.WRITE_ONLY_STORAGE_TEXTURE),
                            int(Access.READ_WRITE_STORAGE_TEXTURE))
    stages = b.stages or _ALL_STAGES
    entry: dict[str, Any] = {"binding": binding, "visibility": stages & _NO_VERTEX if writable else stages}
    if b.access == _SAMPLED:
        entry["texture"] = _texture_entry(b, filtering_sampler)
    elif b.access in _STORAGE_ACCESS:
        entry["storage_texture"] = _storage_texture_entry(b)
    elif b.access == _SAMPLER:
        comparison = b.comparison or (b.wgsl_type or ("",))[0] == "sampler_comparison"
        entry["sampler"] = {"type": "comparison" if comparison else "filtering" if b.filtering or not b.wgsl_type
                            else "non-filtering"}
    else:
        entry["buffer"] = {"type": _BUFFER_TYPES.get(b.access, "storage"), "has_dynamic_offset": b.dynamic}
    return entry


def layout_entries(trace: Trace, views: _Views) -> dict[int, list[dict]]:
    """The create_bind_group_layout entries of every bind group layout, as far as the trace can tell them."""
    out = {}
    for lid, bindings in _gather(trace, views).items():
        filtering = any(b.access == _SAMPLER and b.filtering for b in bindings.values())
        out[lid] = [_entry(binding, b, filtering) for binding, b in sorted(bindings.items())]
    return out


@dataclass(eq=False)
class _Views:
    """Per view id: its format, dimension, texture and that texture's format and sample count."""

    format: list[str]
    dimension: list[str]
    texture: list[int]
    texture_format: list[str]
    samples: list[int]

    @classmethod
    def of(cls, trace: Trace) -> _Views:
        creates = trace.where(Kind.TEXTURE_CREATE).tolist()
        tex_format = [trace.strings[int(trace.args[i, 4])] for i in creates]
        tex_samples = [int(trace.rows_of(i)[0, 1]) for i in creates]
        views = trace.where(Kind.TEXTURE_VIEW).tolist()
        texture = [int(trace.args[i, 1]) for i in views]
        return cls(format=[trace.strings[int(trace.args[i, 2])] for i in views],
                   dimension=[trace.strings[int(trace.args[i, 3])] for i in views], texture=texture,
                   texture_format=[tex_format[t] for t in texture], samples=[tex_samples[t] for t in texture])


@dataclass(eq=False)
class RenderInfo:
    """What a plan's 1.1 events need decoded before the replay starts.

    ``frame_starts``: the submits that start a frame (see ``frames``); ``timestamp_writes`` by pass
    id: (query set, beginning index, end index); ``unreplayable``: (event, why) for each event the
    replay refuses before touching the GPU.
    """

    layouts: dict[int, list[dict]]
    views: _Views
    view_formats: dict[int, list[str]]
    timestamp_writes: dict[int, tuple[int, int, int]]
    frame_starts: set[int]
    render_submits: int
    unreplayable: list[tuple[int, str]]

    @classmethod
    def of(cls, trace: Trace) -> RenderInfo:
        views = _Views.of(trace)
        view_formats: dict[int, set[str]] = {}
        for v, (fmt, tex_fmt) in enumerate(zip(views.format, views.texture_format, strict=True)):
            if fmt != tex_fmt:
                view_formats.setdefault(views.texture[v], set()).add(fmt)
        writes = {int(trace.args[i, 0]): (int(trace.args[i, 1]), int(trace.args[i, 2]), int(trace.args[i, 3]))
                  for i in trace.where(Kind.TIMESTAMP_WRITES).tolist()}
        starts, n = frames(trace)
        return cls(layouts=layout_entries(trace, views), views=views,
                   view_formats={t: sorted(f) for t, f in view_formats.items()}, timestamp_writes=writes,
                   frame_starts=starts, render_submits=n, unreplayable=unreplayable(trace))


def render_encoders(trace: Trace) -> set[int]:
    return {int(e) for e in trace.args[trace.where(Kind.RENDER_PASS_BEGIN), 1].tolist()}


def frames(trace: Trace) -> tuple[set[int], int]:
    """The submits that start a frame, and how many submits hold a render pass.

    A frame starts at a submit of an encoder holding a render pass (a render submit) when it is
    the first, or when the program read something back since the last render submit: a pygfx or
    fastplotlib frame is a few render submits (and others), then the read-back of the canvas. A
    program that never reads back (a window) has a frame per render submit.
    """
    with_render = render_encoders(trace)
    starts: list[int] = []
    every: list[int] = []
    read_since, reads = True, False
    for i in trace.where(Kind.SUBMIT, *READ_KINDS).tolist():
        if trace.kind[i] != Kind.SUBMIT:
            read_since = reads = True
            continue
        if any(int(r[0]) in with_render for r in trace.rows_of(i).tolist()):
            every.append(i)
            if read_since:
                starts.append(i)
            read_since = False
    return set(starts if reads else every), len(every)


def unreplayable(trace: Trace) -> list[tuple[int, str]]:
    """Events replay cannot make as the program did, each with why (objects made before the recording)."""
    out: list[tuple[int, str]] = []
    pipelines = trace.where(Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE).tolist()
    unknown_pipelines = {p for p, i in enumerate(pipelines)
                         if trace.kind[i] == Kind.RENDER_PIPELINE and "vertex" not in
                         _json(trace.strings[int(trace.args[i, 4])])}
    if unknown_pipelines:
        for i in trace.where(Kind.SET_PIPELINE, Kind.BIND_GROUP).tolist():
            p = int(trace.args[i, 1 if trace.kind[i] == Kind.SET_PIPELINE else 2])
            if p in unknown_pipelines:
                out.append((i, f"uses render pipeline {p}, made before the recording: its shaders and state are "
                               "not in the trace"))
    for i in trace.where(Kind.RENDER_PASS_BEGIN).tolist():
        if not trace.nrows[i]:
            out.append((i, "a render pass begun before the recording: its attachments are not in the trace"))
    bundle_encoders = {int(trace.args[i, 0]) for i in trace.where(Kind.BUNDLE_ENCODER_CREATE).tolist()
                       if "color_formats" not in _json(trace.strings[int(trace.args[i, 1])])}
    unknown_bundles = {int(trace.args[i, 0]) for i in trace.where(Kind.BUNDLE_FINISH).tolist()
                       if int(trace.args[i, 1]) in bundle_encoders}
    for i in trace.where(Kind.EXECUTE_BUNDLES).tolist():
        if any(int(r[0]) in unknown_bundles for r in trace.rows_of(i).tolist()):
            out.append((i, "executes a render bundle made before the recording: its commands are not in the trace"))
    sets = trace.where(Kind.QUERY_SET_CREATE).tolist()
    other = {q for q, i in enumerate(sets) if trace.strings[int(trace.args[i, 1])] not in ("occlusion", "timestamp")}
    for i in trace.where(Kind.RESOLVE_QUERY_SET).tolist():
        if int(trace.args[i, 1]) in other:
            out.append((i, f"resolves query set {int(trace.args[i, 1])} of type "
                           f"{trace.strings[int(trace.args[sets[int(trace.args[i, 1])], 1])]}, which the trace "
                           "does not describe"))
    return sorted(out)


def timestamp_buffers(trace: Trace) -> set[int]:
    """Buffers that may hold resolved timestamps: destinations of resolves of timestamp query sets, and
    of copies from those (transitively). Timestamps differ on every run, so reads of them are not compared."""
    sets = trace.where(Kind.QUERY_SET_CREATE).tolist()
    timestamp = {q for q, i in enumerate(sets) if trace.strings[int(trace.args[i, 1])] == "timestamp"}
    resolves = trace.where(Kind.RESOLVE_QUERY_SET)
    out = {int(trace.args[i, 4]) for i in resolves.tolist() if int(trace.args[i, 1]) in timestamp}
    copies = trace.where(Kind.COPY)
    edges = list(zip(trace.args[copies, 1].tolist(), trace.args[copies, 3].tolist(), strict=True))
    grown = bool(out)
    while grown:
        grown = False
        for src, dst in edges:
            if src in out and dst not in out:
                out.add(dst)
                grown = True
    return out


class RenderMethods:
    """The engine's methods for format 1.1 kinds (the engine inherits them; see ``render_methods``)."""

    device: wgpu.GPUDevice
    queue: wgpu.GPUQueue
    decoded: DecodedPlan
    strings: list[str]
    data: dict[int, bytes]
    buffers: list
    encoders: list
    passes: list
    pipelines: list
    modules: list
    pipeline_layouts: list
    reads: list[tuple[int, bytes]]
    at: int | None
    skipped: int

    if TYPE_CHECKING:
        def _release(self, table: list, index: int) -> None: ...

        def _refused(self, i: int) -> None: ...

    def _start_render(self, decoded: DecodedPlan) -> None:
        trace = decoded.trace
        self.textures: list = [None] * trace.count(Obj.TEXTURE)
        self.views: list = [None] * trace.count(Obj.TEXTURE_VIEW)
        self.samplers: list = [None] * trace.count(Obj.SAMPLER)
        self.query_sets: list = [None] * trace.count(Obj.QUERY_SET)
        self.bundles: list = [None] * trace.count(Obj.RENDER_BUNDLE)
        self.skipped = 0
        self._parsed: dict[int, Any] = {}
        features = self.device.features
        self.timestamps = "timestamp-query" in features
        self.encoder_timestamps = "timestamp-query-inside-encoders" in features

    def _finish_render(self) -> None:
        for table in (self.textures, self.query_sets):
            for obj in table:
                if obj is not None:
                    obj.destroy()

    def render_methods(self) -> dict[int, Callable[[int, list[int]], None]]:
        """This half's method of each kind it executes."""
        return {
            Kind.TEXTURE_CREATE: self._texture_create, Kind.TEXTURE_DESTROY: self._texture_destroy,
            Kind.TEXTURE_VIEW: self._texture_view, Kind.SAMPLER: self._sampler,
            Kind.QUERY_SET_CREATE: self._query_set_create, Kind.QUERY_SET_DESTROY: self._query_set_destroy,
            Kind.RENDER_PIPELINE: self._render_pipeline, Kind.RENDER_PASS_BEGIN: self._render_pass_begin,
            Kind.TIMESTAMP_WRITES: self._timestamp_writes, Kind.SET_VERTEX_BUFFER: self._set_vertex_buffer,
            Kind.SET_INDEX_BUFFER: self._set_index_buffer, Kind.DRAW: self._draw,
            Kind.DRAW_INDEXED: self._draw_indexed, Kind.DRAW_INDIRECT: self._draw_indirect,
            Kind.DRAW_INDEXED_INDIRECT: self._draw_indexed_indirect, Kind.RENDER_STATE: self._render_state,
            Kind.BEGIN_OCCLUSION_QUERY: self._begin_occlusion_query,
            Kind.END_OCCLUSION_QUERY: self._end_occlusion_query,
            Kind.BUNDLE_ENCODER_CREATE: self._bundle_encoder_create, Kind.BUNDLE_FINISH: self._bundle_finish,
            Kind.EXECUTE_BUNDLES: self._execute_bundles, Kind.COPY_BUFFER_TO_TEXTURE: self._copy_buffer_to_texture,
            Kind.COPY_TEXTURE_TO_BUFFER: self._copy_texture_to_buffer,
            Kind.COPY_TEXTURE_TO_TEXTURE: self._copy_texture_to_texture, Kind.WRITE_TEXTURE: self._write_texture,
            Kind.READ_TEXTURE: self._read_texture, Kind.RESOLVE_QUERY_SET: self._resolve_query_set,
            Kind.WRITE_TIMESTAMP: self._write_timestamp, Kind.DEBUG_MARKER: self._debug_marker,
        }

    # -- helpers --------------------------------------------------------------------------------

    def _label(self, s: int) -> str:
        return self.strings[s] if s >= 0 else ""

    def _parse(self, s: int) -> Any:
        """The JSON string ``s``, parsed once per run."""
        value = self._parsed.get(s)
        if value is None:
            value = self._parsed[s] = _json(self.strings[s])
        return value

    def _location(self, texture: int, row: list[int]) -> dict:
        return {"texture": self.textures[texture], "mip_level": row[0], "origin": (row[1], row[2], row[3]),
                "aspect": _ASPECT.get(row[4], "all")}

    @staticmethod
    def _layout(row: list[int], offset: bool = True) -> dict:
        out = {"offset": row[0] if offset else 0}
        if row[1] >= 0:
            out["bytes_per_row"] = row[1]
        if row[2] >= 0:
            out["rows_per_image"] = row[2]
        return out

    def _timestamp_struct(self, pass_id: int) -> dict | None:
        writes = self.decoded.render.timestamp_writes.get(pass_id) if self.decoded.render else None
        if writes is None:
            return None
        query_set = self.query_sets[writes[0]]
        if query_set is None or not self.timestamps:
            self.skipped += 1
            return None
        out: dict[str, Any] = {"query_set": query_set}
        if writes[1] >= 0:
            out["beginning_of_pass_write_index"] = writes[1]
        if writes[2] >= 0:
            out["end_of_pass_write_index"] = writes[2]
        return out

    def layout_entries(self, layout: int) -> list[dict] | None:
        """The entries of bind group layout ``layout`` where the plan has render work (None: compute only)."""
        render = self.decoded.render
        return None if render is None else render.layouts.get(layout, [])

    def bind_group_entries(self, rows: Sequence[list[int]]) -> list[dict]:
        """Bind group entries whose resources are buffers, texture views and samplers, as each row's access says."""
        buffers, views, samplers = self.buffers, self.views, self.samplers
        return [{"binding": r[0], "resource": views[r[1]] if r[4] in _TEXTURE_ACCESSES else samplers[r[1]]
                 if r[4] == _SAMPLER else {"buffer": buffers[r[1]], "offset": r[2], "size": r[3]}} for r in rows]

    # -- textures, views, samplers, query sets ----------------------------------------------------

    def _texture_create(self, i: int, a: list[int]) -> None:
        mips, samples, dimension, usage, label = self.decoded.rows[i][0]
        render = self.decoded.render
        self.textures[a[0]] = self.device.create_texture(
            size=(a[1], a[2], a[3]), format=self.strings[a[4]], mip_level_count=mips, sample_count=samples,
            dimension=_DIMENSION.get(dimension, "2d"), usage=usage, label=self._label(label),
            view_formats=render.view_formats.get(a[0], []) if render else [])

    def _texture_destroy(self, i: int, a: list[int]) -> None:
        texture = self.textures[a[0]]
        if texture is None:
            return
        if a[1]:
            self._release(self.textures, a[0])
        else:
            texture.destroy()

    def _texture_view(self, i: int, a: list[int]) -> None:
        base_mip, mips, base_layer, layers, aspect = self.decoded.rows[i][0]
        self.views[a[0]] = self.textures[a[1]].create_view(
            format=self.strings[a[2]], dimension=self.strings[a[3]], aspect=_ASPECT.get(aspect, "all"),
            base_mip_level=base_mip, mip_level_count=mips, base_array_layer=base_layer, array_layer_count=layers,
            label=self._label(a[4]))

    def _sampler(self, i: int, a: list[int]) -> None:
        self.samplers[a[0]] = self.device.create_sampler(**self._parse(a[1]), label=self._label(a[2]))

    def _query_set_create(self, i: int, a: list[int]) -> None:
        kind = self.strings[a[1]]
        if kind == "occlusion" or (kind == "timestamp" and self.timestamps):
            self.query_sets[a[0]] = self.device.create_query_set(type=kind, count=a[2], label=self._label(a[3]))

    def _query_set_destroy(self, i: int, a: list[int]) -> None:
        query_set = self.query_sets[a[0]]
        if query_set is None:
            return
        if a[1]:
            self._release(self.query_sets, a[0])
        else:
            query_set.destroy()

    # -- render pipelines and passes ------------------------------------------------------------

    def _render_pipeline(self, i: int, a: list[int]) -> None:
        desc = self._parse(a[4])
        if "vertex" not in desc:  # made before the recording: refused where it is used
            self.pipelines.append(None)
            return
        vertex = dict(desc["vertex"], module=self.modules[a[1]])
        fragment = None if desc.get("fragment") is None else dict(desc["fragment"], module=self.modules[a[2]])
        for stage in (vertex, fragment):
            if stage is not None and stage.get("entry_point") is None:
                stage.pop("entry_point", None)
        self.pipelines.append(self.device.create_render_pipeline(
            layout="auto" if a[3] < 0 else self.pipeline_layouts[a[3]], vertex=vertex,
            primitive=dict(desc.get("primitive") or {}), depth_stencil=desc.get("depth_stencil"),
            multisample=desc.get("multisample") or {}, fragment=fragment, label=desc.get("label") or ""))

    def _render_pass_begin(self, i: int, a: list[int]) -> None:
        desc = self._parse(a[3])
        rows = self.decoded.rows.get(i, [])
        clears = desc.get("clear_values") or []
        colors: list[dict | None] = [None] * max(len(clears), 1 + max((r[0] for r in rows), default=-1))
        depth_stencil = None
        views = self.views
        for attachment, view, resolve, ops, depth_slice in rows:
            if attachment >= 0:
                color: dict[str, Any] = {"view": views[view], "load_op": "load" if ops & LOAD else "clear",
                                         "store_op": "store" if ops & STORE else "discard"}
                if resolve >= 0:
                    color["resolve_target"] = views[resolve]
                if attachment < len(clears) and clears[attachment] is not None:
                    color["clear_value"] = clears[attachment]
                if depth_slice >= 0:
                    color["depth_slice"] = depth_slice
                colors[attachment] = color
            else:
                depth_stencil = self._depth_stencil(view, ops, desc)
        self.passes[a[0]] = self.encoders[a[1]].begin_render_pass(
            color_attachments=colors, depth_stencil_attachment=depth_stencil,
            occlusion_query_set=self.query_sets[a[2]] if a[2] >= 0 else None,
            timestamp_writes=self._timestamp_struct(a[0]), max_draw_count=desc.get("max_draw_count", 50000000),
            label=desc.get("label") or "")

    def _depth_stencil(self, view: int, ops: int, desc: dict) -> dict:
        """A depth-stencil attachment: ops for each aspect its format has, as the recorder read them."""
        render = self.decoded.render
        assert render is not None
        texture_format = render.views.texture_format[view]
        out: dict[str, Any] = {"view": self.views[view]}
        if "depth" in texture_format:
            if ops & READ_ONLY:
                out["depth_read_only"] = True
            else:
                out["depth_load_op"] = "load" if ops & LOAD else "clear"
                out["depth_store_op"] = "store" if ops & STORE else "discard"
                out["depth_clear_value"] = desc.get("depth_clear_value", 0.0)
        if "stencil" in texture_format:
            if ops & STENCIL_READ_ONLY:
                out["stencil_read_only"] = True
            else:
                out["stencil_load_op"] = "load" if ops & STENCIL_LOAD else "clear"
                out["stencil_store_op"] = "store" if ops & STENCIL_STORE else "discard"
                out["stencil_clear_value"] = desc.get("stencil_clear_value", 0)
        return out

    def _timestamp_writes(self, i: int, a: list[int]) -> None:
        """Given to the pass at its begin (see ``_timestamp_struct``): nothing left to do here."""

    def _set_vertex_buffer(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].set_vertex_buffer(a[1], self.buffers[a[2]], a[3], a[4])

    def _set_index_buffer(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].set_index_buffer(self.buffers[a[1]], "uint16" if a[2] == 2 else "uint32", a[3], a[4])

    def _draw(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].draw(a[1], a[2], a[3], a[4])

    def _draw_indexed(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].draw_indexed(a[1], a[2], a[3], a[4], a[5])

    def _draw_indirect(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].draw_indirect(self.buffers[a[1]], a[2])

    def _draw_indexed_indirect(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].draw_indexed_indirect(self.buffers[a[1]], a[2])

    def _render_state(self, i: int, a: list[int]) -> None:
        call, values = self.strings[a[1]], self._parse(a[2])
        if call not in _STATE_CALLS:
            raise ValueError(f"unknown render state call {call!r}")
        target = self.passes[a[0]]
        if call == "set_blend_constant":
            target.set_blend_constant(values)
        else:
            getattr(target, call)(*values)

    def _begin_occlusion_query(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].begin_occlusion_query(a[1])

    def _end_occlusion_query(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].end_occlusion_query()

    # -- bundles --------------------------------------------------------------------------------

    def _bundle_encoder_create(self, i: int, a: list[int]) -> None:
        desc = self._parse(a[1])
        if "color_formats" not in desc:  # made before the recording: refused where its bundle is executed
            return
        self.passes[a[0]] = self.device.create_render_bundle_encoder(
            color_formats=desc["color_formats"], depth_stencil_format=desc.get("depth_stencil_format"),
            sample_count=desc.get("sample_count", 1), depth_read_only=desc.get("depth_read_only", False),
            stencil_read_only=desc.get("stencil_read_only", False), label=self._label(a[2]))

    def _bundle_finish(self, i: int, a: list[int]) -> None:
        encoder = self.passes[a[1]]
        if encoder is not None:
            self.bundles[a[0]] = encoder.finish(label=self._label(a[2]))
        self.passes[a[1]] = None

    def _execute_bundles(self, i: int, a: list[int]) -> None:
        self.passes[a[0]].execute_bundles([self.bundles[r[0]] for r in self.decoded.rows.get(i, ())])

    # -- texture copies, uploads and read-backs ---------------------------------------------------

    def _copy_buffer_to_texture(self, i: int, a: list[int]) -> None:
        data, location, extent = self.decoded.rows[i]
        self.encoders[a[0]].copy_buffer_to_texture(dict(self._layout(data), buffer=self.buffers[a[1]]),
                                                   self._location(a[2], location), tuple(extent[:3]))

    def _copy_texture_to_buffer(self, i: int, a: list[int]) -> None:
        location, data, extent = self.decoded.rows[i]
        self.encoders[a[0]].copy_texture_to_buffer(self._location(a[1], location),
                                                   dict(self._layout(data), buffer=self.buffers[a[2]]),
                                                   tuple(extent[:3]))

    def _copy_texture_to_texture(self, i: int, a: list[int]) -> None:
        source, destination, extent = self.decoded.rows[i]
        self.encoders[a[0]].copy_texture_to_texture(self._location(a[1], source), self._location(a[2], destination),
                                                    tuple(extent[:3]))

    def _write_texture(self, i: int, a: list[int]) -> None:
        """The bytes from the layout's offset on (what the trace holds), so the layout's offset is 0 here."""
        data, location, extent = self.decoded.rows[i]
        self.queue.write_texture(self._location(a[0], location), self.data[i], self._layout(data, offset=False),
                                 tuple(extent[:3]))

    def _read_texture(self, i: int, a: list[int]) -> None:
        self.at = i
        self._refused(i)
        data, location, extent = self.decoded.rows[i]
        got = memoryview(self.queue.read_texture(self._location(a[0], location), self._layout(data),
                                                 tuple(extent[:3]))).cast("B")
        self.reads.append((i, bytes(got[data[0]:] if data[0] else got)))

    # -- queries and markers ----------------------------------------------------------------------

    def _resolve_query_set(self, i: int, a: list[int]) -> None:
        query_set = self.query_sets[a[1]]
        if query_set is None:  # a timestamp query set on a device without timestamps
            self.skipped += 1
            return
        self.encoders[a[0]].resolve_query_set(query_set, a[2], a[3], self.buffers[a[4]], a[5])

    def _write_timestamp(self, i: int, a: list[int]) -> None:
        query_set = self.query_sets[a[1]]
        if query_set is None or not self.encoder_timestamps:
            self.skipped += 1
            return
        self.encoders[a[0]]._write_timestamp(query_set, a[2])

    def _debug_marker(self, i: int, a: list[int]) -> None:
        target = self.encoders[a[0]] if a[0] >= 0 else self.passes[a[1]]
        call = self.strings[a[2]]
        if target is None or call not in _MARKERS:
            return
        if call == "pop_debug_group":
            target.pop_debug_group()
        else:
            getattr(target, call)(self._label(a[3]))


def refusal_text(trace: Trace, events: list[tuple[int, str]]) -> str:
    """One line naming the first event replay refuses, why, and how many more there are."""
    i, why = events[0]
    more = f"; and {len(events) - 1} more" if len(events) > 1 else ""
    return f"replay cannot run event {i} ({KIND_NAMES[int(trace.kind[i])]} at {trace.site_of(i)}): {why}{more}"


def has_render(trace: Trace) -> bool:
    """Whether the trace holds any kind format 1.1 added."""
    return bool(len(trace.kind)) and bool(np.any(trace.kind >= FIRST_1_1))
