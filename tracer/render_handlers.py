"""What texture, sampler, query, render pipeline, render pass and bundle calls become (format 1.1).

The same contract as handlers.py: a handler runs after the real call returned, with the call's own
arguments (its parameters mirror the wgpu-py method's, defaults included) and its result; it reads
wgpu objects and never calls wgpu. Defaults are resolved as wgpu-py 0.32 resolves them before it
calls wgpu-native, so the trace says what the program got, not what it could have meant:
``texture.create_view()`` of a 2d texture with several layers is a "2d" view of layer 0 there (the
WebGPU spec would make it "2d-array"), and texture copies and uploads always name aspect "all" to
wgpu-native (the recorded aspect is the one the program gave). Render passes and bundle encoders
take ids from the one PASS id space that compute passes use, so pass commands (set_pipeline,
set_bind_group, end) share compute's handlers; render and compute pipelines share PIPELINE ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from types import FrameType
from typing import Any

from wgpu.backends.wgpu_native import _api

from ..traces.schema import AttachmentOps, Kind, Obj
from . import handlers as h
from .handlers import BEFORE, WHOLE_SIZE, plain_event, ref, result_only, snapshots, takes_sequences
from .recorder import Recorder

BUNDLE_ENCODER_CREATE = int(Kind.BUNDLE_ENCODER_CREATE)
BUNDLE_FINISH = int(Kind.BUNDLE_FINISH)
BEGIN_OCCLUSION_QUERY = int(Kind.BEGIN_OCCLUSION_QUERY)
COPY_BUFFER_TO_TEXTURE = int(Kind.COPY_BUFFER_TO_TEXTURE)
COPY_TEXTURE_TO_BUFFER = int(Kind.COPY_TEXTURE_TO_BUFFER)
COPY_TEXTURE_TO_TEXTURE = int(Kind.COPY_TEXTURE_TO_TEXTURE)
DEBUG_MARKER = int(Kind.DEBUG_MARKER)
DRAW = int(Kind.DRAW)
DRAW_INDEXED = int(Kind.DRAW_INDEXED)
DRAW_INDEXED_INDIRECT = int(Kind.DRAW_INDEXED_INDIRECT)
DRAW_INDIRECT = int(Kind.DRAW_INDIRECT)
END_OCCLUSION_QUERY = int(Kind.END_OCCLUSION_QUERY)
EXECUTE_BUNDLES = int(Kind.EXECUTE_BUNDLES)
QUERY_SET_CREATE = int(Kind.QUERY_SET_CREATE)
QUERY_SET_DESTROY = int(Kind.QUERY_SET_DESTROY)
READ_TEXTURE = int(Kind.READ_TEXTURE)
RENDER_PASS_BEGIN = int(Kind.RENDER_PASS_BEGIN)
RENDER_PIPELINE = int(Kind.RENDER_PIPELINE)
RENDER_STATE = int(Kind.RENDER_STATE)
RESOLVE_QUERY_SET = int(Kind.RESOLVE_QUERY_SET)
SAMPLER = int(Kind.SAMPLER)
SET_INDEX_BUFFER = int(Kind.SET_INDEX_BUFFER)
SET_VERTEX_BUFFER = int(Kind.SET_VERTEX_BUFFER)
TEXTURE_CREATE = int(Kind.TEXTURE_CREATE)
TEXTURE_DESTROY = int(Kind.TEXTURE_DESTROY)
TEXTURE_VIEW = int(Kind.TEXTURE_VIEW)
WRITE_TEXTURE = int(Kind.WRITE_TEXTURE)
WRITE_TIMESTAMP = int(Kind.WRITE_TIMESTAMP)
O_MODULE = int(Obj.MODULE)
O_PASS = int(Obj.PASS)
O_PIPELINE = int(Obj.PIPELINE)
O_QUERY_SET = int(Obj.QUERY_SET)
O_RENDER_BUNDLE = int(Obj.RENDER_BUNDLE)
O_SAMPLER = int(Obj.SAMPLER)
O_TEXTURE = int(Obj.TEXTURE)
O_TEXTURE_VIEW = int(Obj.TEXTURE_VIEW)
LOAD, STORE, READ_ONLY = int(AttachmentOps.LOAD), int(AttachmentOps.STORE), int(AttachmentOps.READ_ONLY)
STENCIL_LOAD, STENCIL_STORE = int(AttachmentOps.STENCIL_LOAD), int(AttachmentOps.STENCIL_STORE)
STENCIL_READ_ONLY = int(AttachmentOps.STENCIL_READ_ONLY)
_DIMENSION = {"1d": 1, "2d": 2, "3d": 3}
_ASPECT = {"all": 0, "stencil-only": 1, "depth-only": 2}  # as schema.Aspect
_SINGLE_LAYER = ("1d", "2d", "3d")
# wgpu-py's own defaults, filled into a render pipeline's descriptor JSON so that it is whole
_PRIMITIVE = {"topology": "triangle-list", "strip_index_format": None, "front_face": "ccw", "cull_mode": "none"}
_MULTISAMPLE = {"count": 1, "mask": 0xFFFFFFFF, "alpha_to_coverage_enabled": False}
_VERTEX_BUFFER = {"step_mode": "vertex"}
_TARGET = {"blend": None, "write_mask": 0xF}


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: wgpu enums as str, flags and numpy numbers as int or float,
    structs as dicts, sequences as lists; wgpu objects (a stage's module) are left out of mappings."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if not isinstance(v, _api.GPUObjectBase)}
    if isinstance(value, Iterable):
        return [plain(v) for v in value]
    return str(value)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# -- textures, views, samplers, query sets -----------------------------------------------------

def _new_texture(rec: Recorder, frame: FrameType, texture: Any, device: int, label: str) -> int:
    """TEXTURE_CREATE from the texture itself (wgpu-py keeps its size, format and the rest)."""
    tid = rec.new(O_TEXTURE, texture)
    width, height, depth = texture.size
    row = (int(texture.mip_level_count), int(texture.sample_count), _DIMENSION.get(texture.dimension, 2),
           int(texture.usage), rec.opt_string(label))
    rec.append(TEXTURE_CREATE, rec.site(frame), tid, int(width), int(height), int(depth),
               rec.string(str(texture.format)), device, rows=(row,))
    return tid


@result_only
def create_texture(rec: Recorder, frame: FrameType, self: Any, texture: Any) -> None:
    _new_texture(rec, frame, texture, ref(rec, self, frame), texture.label)


def adopt_texture(rec: Recorder, texture: Any, frame: FrameType) -> int:
    """A texture made before recording, or inside wgpu (a canvas context's current texture)."""
    rec.adopted["texture"] += 1
    return _new_texture(rec, frame, texture, ref(rec, texture._device, frame), texture.label or BEFORE)


def destroy_texture(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    """Only the first destroy is an event; the texture is then never reported as dropped."""
    tid = ref(rec, self, frame)
    if rec.mark_destroyed(tid, TEXTURE_DESTROY):
        rec.append(TEXTURE_DESTROY, rec.site(frame), tid, 0)


def _new_view(rec: Recorder, frame: FrameType, view: Any, texture: Any, label: str, format: Any, dimension: Any,
              aspect: Any, base_mip_level: int, mip_level_count: Any, base_array_layer: int,
              array_layer_count: Any) -> int:
    """TEXTURE_VIEW with its range resolved as wgpu-py resolves it (see the module's doc)."""
    tid = ref(rec, texture, frame)
    dimension = dimension or texture.dimension
    if not mip_level_count:
        mip_level_count = texture.mip_level_count - base_mip_level
    if not array_layer_count:
        array_layer_count = (1 if dimension in _SINGLE_LAYER else 6 if dimension == "cube"
                             else texture.size[2] - base_array_layer)
    vid = rec.new(O_TEXTURE_VIEW, view)
    row = (int(base_mip_level), int(mip_level_count), int(base_array_layer), int(array_layer_count),
           _ASPECT.get(aspect or "all", 0))
    rec.append(TEXTURE_VIEW, rec.site(frame), vid, tid, rec.string(str(format or texture.format)),
               rec.string(str(dimension)), rec.opt_string(label), rows=(row,))
    return vid


def create_view(rec: Recorder, frame: FrameType, self: Any, view: Any, *, label: str = "", format: Any = None,
                dimension: Any = None, usage: Any = 0, aspect: Any = "all", base_mip_level: int = 0,
                mip_level_count: int | None = None, base_array_layer: int = 0, array_layer_count: int | None = None,
                swizzle: str = "rgba") -> None:
    _new_view(rec, frame, view, self, label, format, dimension, aspect, base_mip_level, mip_level_count,
              base_array_layer, array_layer_count)


def adopt_view(rec: Recorder, view: Any, frame: FrameType) -> int:
    """A view made before recording: its range is unknown, so it is the texture's default view."""
    rec.adopted["texture_view"] += 1
    return _new_view(rec, frame, view, view.texture, view.label or BEFORE, None, None, "all", 0, None, 0, None)


def create_sampler(rec: Recorder, frame: FrameType, self: Any, sampler: Any, *, label: str = "",
                   address_mode_u: Any = "clamp-to-edge", address_mode_v: Any = "clamp-to-edge",
                   address_mode_w: Any = "clamp-to-edge", mag_filter: Any = "nearest", min_filter: Any = "nearest",
                   mipmap_filter: Any = "nearest", lod_min_clamp: float = 0, lod_max_clamp: float = 32,
                   compare: Any = None, max_anisotropy: int = 1) -> None:
    device = ref(rec, self, frame)
    descriptor = _json(plain({
        "address_mode_u": address_mode_u, "address_mode_v": address_mode_v, "address_mode_w": address_mode_w,
        "mag_filter": mag_filter, "min_filter": min_filter, "mipmap_filter": mipmap_filter,
        "lod_min_clamp": lod_min_clamp, "lod_max_clamp": lod_max_clamp, "compare": compare,
        "max_anisotropy": max_anisotropy}))
    sid = rec.new(O_SAMPLER, sampler)
    rec.append(SAMPLER, rec.site(frame), sid, rec.string(descriptor), rec.opt_string(label), device)


def adopt_sampler(rec: Recorder, sampler: Any, frame: FrameType) -> int:
    """A sampler made before recording: wgpu-py keeps no descriptor, so it is ``{}``."""
    rec.adopted["sampler"] += 1
    device = ref(rec, sampler._device, frame)
    sid = rec.new(O_SAMPLER, sampler)
    rec.append(SAMPLER, rec.site(frame), sid, rec.string("{}"), rec.opt_string(sampler.label or BEFORE), device)
    return sid


def _new_query_set(rec: Recorder, frame: FrameType, query_set: Any, device: int, label: str) -> int:
    kind = query_set.type
    qid = rec.new(O_QUERY_SET, query_set)
    # wgpu-native's pipeline statistics query sets (extras) have a type WebGPU does not name
    name = str(kind) if isinstance(kind, str) else "pipeline-statistics"
    rec.append(QUERY_SET_CREATE, rec.site(frame), qid, rec.string(name), int(query_set.count), rec.opt_string(label),
               device)
    return qid


@result_only
def create_query_set(rec: Recorder, frame: FrameType, self: Any, query_set: Any) -> None:
    _new_query_set(rec, frame, query_set, ref(rec, self, frame), query_set.label)


def adopt_query_set(rec: Recorder, query_set: Any, frame: FrameType) -> int:
    rec.adopted["query_set"] += 1
    return _new_query_set(rec, frame, query_set, ref(rec, query_set._device, frame), query_set.label or BEFORE)


def destroy_query_set(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    qid = ref(rec, self, frame)
    if rec.mark_destroyed(qid, QUERY_SET_DESTROY):
        rec.append(QUERY_SET_DESTROY, rec.site(frame), qid, 0)


# -- render pipelines -------------------------------------------------------------------------

def _render_pipeline(rec: Recorder, frame: FrameType, device_obj: Any, pipeline: Any, label: str, layout: Any,
                     vertex: Any, primitive: Any, depth_stencil: Any, multisample: Any, fragment: Any) -> None:
    """RENDER_PIPELINE with a row per binding either entry point uses (see wgsl.py for 'auto')."""
    device = ref(rec, device_obj, frame)
    vertex_module, vertex_entry, used = h.stage(rec, frame, vertex, "vertex")
    fragment_module, fragment_json = -1, None
    if fragment is not None:
        fragment_module, fragment_entry, fragment_used = h.stage(rec, frame, fragment, "fragment")
        used = None if used is None or fragment_used is None else {**used, **fragment_used}
        fragment_json = {"entry_point": fragment_entry, "constants": plain(fragment.get("constants") or {}),
                         "targets": [None if t is None else {**_TARGET, **plain(t)}
                                     for t in fragment.get("targets", ())]}
    plid, access = h.pipeline_bindings(rec, frame, layout, used)
    descriptor = {
        "label": label or None,
        "vertex": {"entry_point": vertex_entry, "constants": plain(vertex.get("constants") or {}),
                   "buffers": [None if b is None else {**_VERTEX_BUFFER, **plain(b)}
                               for b in vertex.get("buffers", ())]},
        "fragment": fragment_json,
        "primitive": {**_PRIMITIVE, **plain(primitive or {})},
        "depth_stencil": plain(depth_stencil) if depth_stencil else None,
        "multisample": {**_MULTISAMPLE, **plain(multisample or {})},
    }
    pid = rec.new(O_PIPELINE, pipeline)
    rows = h.register_pipeline(rec, pid, plid, access)
    rec.append(RENDER_PIPELINE, rec.site(frame), pid, vertex_module, fragment_module, plid,
               rec.string(_json(descriptor)), device, rows=rows)


# wgpu-py takes polygon_mode and conservative out of the program's primitive dict: the handler gets a copy
@snapshots("primitive")
def create_render_pipeline(rec: Recorder, frame: FrameType, self: Any, pipeline: Any, *, label: str = "",
                           layout: Any, vertex: Any, primitive: Any = None, depth_stencil: Any = None,
                           multisample: Any = None, fragment: Any = None) -> None:
    _render_pipeline(rec, frame, self, pipeline, label, layout, vertex, primitive, depth_stencil, multisample,
                     fragment)


@snapshots("primitive")
def create_render_pipeline_async(rec: Recorder, frame: FrameType, self: Any, promise: Any, *, label: str = "",
                                 layout: Any, vertex: Any, primitive: Any = None, depth_stencil: Any = None,
                                 multisample: Any = None, fragment: Any = None) -> None:
    """As compute's: the pipeline when wgpu-native made it at once, else a note."""
    value = getattr(promise, "_value", None)
    if isinstance(value, _api.GPURenderPipeline):
        _render_pipeline(rec, frame, self, value, label, layout, vertex, primitive, depth_stencil, multisample,
                         fragment)
    else:
        did = ref(rec, self, frame)
        rec.append(h.OPAQUE, rec.site(frame), rec.string("GPUDevice.create_render_pipeline_async"),
                   rec.opt_string(label), did)


def _placeholder_module(rec: Recorder, frame: FrameType, device: int) -> int:
    mid = rec.new(O_MODULE, None)
    rec.append(h.SHADER_MODULE, rec.site(frame), mid, rec.string(""), rec.opt_string(BEFORE), device)
    return mid


def adopt_render_pipeline(rec: Recorder, pipeline: Any, frame: FrameType) -> int:
    """A render pipeline made before recording: its modules and bindings are unknown (no rows)."""
    rec.adopted["render_pipeline"] += 1
    device = ref(rec, pipeline._device, frame)
    mid = _placeholder_module(rec, frame, device)
    pid = rec.new(O_PIPELINE, pipeline)
    rec.pipeline_access[pid] = {}
    descriptor = _json({"label": pipeline.label or BEFORE})
    rec.append(RENDER_PIPELINE, rec.site(frame), pid, mid, -1, -1, rec.string(descriptor), device)
    return pid


# -- render passes ----------------------------------------------------------------------------

def _color(value: Any) -> list[float]:
    if isinstance(value, Mapping):
        return [float(value.get(c, 0)) for c in "rgba"]
    return [float(c) for c in value]


@takes_sequences("color_attachments")
def begin_render_pass(rec: Recorder, frame: FrameType, self: Any, render_pass: Any, *, label: str = "",
                      color_attachments: Iterable[Any], depth_stencil_attachment: Any = None,
                      occlusion_query_set: Any = None, timestamp_writes: Any = None,
                      max_draw_count: int = 50000000) -> None:
    eid = ref(rec, self, frame)
    rows = []
    clear_values: list[list[float] | None] = []
    for index, attachment in enumerate(color_attachments):
        if attachment is None:  # a gap: the index still counts
            clear_values.append(None)
            continue
        resolve = attachment.get("resolve_target")
        depth_slice = attachment.get("depth_slice")
        ops = (LOAD if attachment["load_op"] == "load" else 0) | (STORE if attachment["store_op"] == "store" else 0)
        rows.append((index, ref(rec, attachment["view"], frame), -1 if resolve is None else ref(rec, resolve, frame),
                     ops, -1 if depth_slice is None else int(depth_slice)))
        clear_values.append(_color(attachment.get("clear_value", (0, 0, 0, 0))))
    descriptor: dict[str, Any] = {"label": label or None, "clear_values": clear_values,
                                  "max_draw_count": int(max_draw_count)}
    ds = depth_stencil_attachment
    if ds is not None:
        view = ds["view"]
        texture_format = str(view.texture.format)
        ops = 0
        if "depth" in texture_format:  # as wgpu-py: an aspect's ops count only where the format has it
            if ds.get("depth_read_only", False):
                ops |= READ_ONLY
            else:
                ops |= (LOAD if ds.get("depth_load_op") == "load" else 0) | (
                    STORE if ds.get("depth_store_op") == "store" else 0)
                descriptor["depth_clear_value"] = float(ds.get("depth_clear_value", 0))
        if "stencil" in texture_format:
            if ds.get("stencil_read_only", False):
                ops |= STENCIL_READ_ONLY
            else:
                ops |= (STENCIL_LOAD if ds.get("stencil_load_op") == "load" else 0) | (
                    STENCIL_STORE if ds.get("stencil_store_op") == "store" else 0)
                descriptor["stencil_clear_value"] = int(ds.get("stencil_clear_value", 0))
        rows.append((-1, ref(rec, view, frame), -1, ops, -1))
    query_set = -1 if occlusion_query_set is None else ref(rec, occlusion_query_set, frame)
    pid = rec.new(O_PASS, render_pass)
    rec.append(RENDER_PASS_BEGIN, rec.site(frame), pid, eid, query_set, rec.string(_json(descriptor)), rows=rows)
    if timestamp_writes is not None:
        h.timestamp_writes_event(rec, frame, pid, timestamp_writes)


def adopt_render_pass(rec: Recorder, render_pass: Any, frame: FrameType) -> int:
    """A render pass begun before recording; wgpu-py does not say which encoder began it, nor into what."""
    eid = h._placeholder_encoder(rec, render_pass, frame)
    rec.adopted["render_pass"] += 1
    pid = rec.new(O_PASS, render_pass)
    rec.append(RENDER_PASS_BEGIN, rec.site(frame), pid, eid, -1, rec.string(_json({"label": BEFORE})))
    return pid


def set_vertex_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, slot: int, buffer: Any, offset: int = 0,
                      size: int | None = None) -> None:
    pid, bid = ref(rec, self, frame), ref(rec, buffer, frame)
    offset = int(offset)
    size = buffer.size - offset if not size or size == WHOLE_SIZE else int(size)  # wgpu-py: 0 is the rest too
    rec.append(SET_VERTEX_BUFFER, rec.site(frame), pid, int(slot), bid, offset, size)


def set_index_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, buffer: Any, index_format: Any,
                     offset: int = 0, size: int | None = None) -> None:
    pid, bid = ref(rec, self, frame), ref(rec, buffer, frame)
    offset = int(offset)
    size = buffer.size - offset if not size or size == WHOLE_SIZE else int(size)
    rec.append(SET_INDEX_BUFFER, rec.site(frame), pid, bid, 2 if index_format == "uint16" else 4, offset, size)


@plain_event(DRAW, "iiii")
def draw(rec: Recorder, frame: FrameType, self: Any, _: None, vertex_count: int, instance_count: int = 1,
         first_vertex: int = 0, first_instance: int = 0) -> None:
    rec.append(DRAW, rec.site(frame), ref(rec, self, frame), vertex_count, instance_count, first_vertex,
               first_instance)


@plain_event(DRAW_INDEXED, "iiiii")
def draw_indexed(rec: Recorder, frame: FrameType, self: Any, _: None, index_count: int, instance_count: int = 1,
                 first_index: int = 0, base_vertex: int = 0, first_instance: int = 0) -> None:
    rec.append(DRAW_INDEXED, rec.site(frame), ref(rec, self, frame), index_count, instance_count, first_index,
               base_vertex, first_instance)


def draw_indirect(rec: Recorder, frame: FrameType, self: Any, _: None, indirect_buffer: Any,
                  indirect_offset: int) -> None:
    pid, bid = ref(rec, self, frame), ref(rec, indirect_buffer, frame)
    rec.append(DRAW_INDIRECT, rec.site(frame), pid, bid, int(indirect_offset))


def draw_indexed_indirect(rec: Recorder, frame: FrameType, self: Any, _: None, indirect_buffer: Any,
                          indirect_offset: int) -> None:
    pid, bid = ref(rec, self, frame), ref(rec, indirect_buffer, frame)
    rec.append(DRAW_INDEXED_INDIRECT, rec.site(frame), pid, bid, int(indirect_offset))


def _state(rec: Recorder, frame: FrameType, render_pass: Any, call: str, values: list) -> None:
    pid = ref(rec, render_pass, frame)
    rec.append(RENDER_STATE, rec.site(frame), pid, rec.string(call), rec.string(json.dumps(values)))


def set_viewport(rec: Recorder, frame: FrameType, self: Any, _: None, x: float, y: float, width: float,
                 height: float, min_depth: float, max_depth: float) -> None:
    _state(rec, frame, self, "set_viewport",
           [float(x), float(y), float(width), float(height), float(min_depth), float(max_depth)])


def set_scissor_rect(rec: Recorder, frame: FrameType, self: Any, _: None, x: int, y: int, width: int,
                     height: int) -> None:
    _state(rec, frame, self, "set_scissor_rect", [int(x), int(y), int(width), int(height)])


def set_blend_constant(rec: Recorder, frame: FrameType, self: Any, _: None, color: Any) -> None:
    _state(rec, frame, self, "set_blend_constant", _color(color))


def set_stencil_reference(rec: Recorder, frame: FrameType, self: Any, _: None, reference: int) -> None:
    _state(rec, frame, self, "set_stencil_reference", [int(reference)])


def begin_occlusion_query(rec: Recorder, frame: FrameType, self: Any, _: None, query_index: int) -> None:
    rec.append(BEGIN_OCCLUSION_QUERY, rec.site(frame), ref(rec, self, frame), int(query_index))


def end_occlusion_query(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    rec.append(END_OCCLUSION_QUERY, rec.site(frame), ref(rec, self, frame))


@takes_sequences("bundles")
def execute_bundles(rec: Recorder, frame: FrameType, self: Any, _: None, bundles: Iterable[Any]) -> None:
    pid = ref(rec, self, frame)
    rows = [(ref(rec, bundle, frame),) for bundle in bundles]
    rec.append(EXECUTE_BUNDLES, rec.site(frame), pid, rows=rows or None)


# -- render bundles ---------------------------------------------------------------------------

@takes_sequences("color_formats")
def create_render_bundle_encoder(rec: Recorder, frame: FrameType, self: Any, encoder: Any, *, label: str = "",
                                 color_formats: Iterable[Any], depth_stencil_format: Any = None,
                                 sample_count: int = 1, depth_read_only: bool = False,
                                 stencil_read_only: bool = False) -> None:
    device = ref(rec, self, frame)
    descriptor = _json(plain({"color_formats": list(color_formats), "depth_stencil_format": depth_stencil_format,
                              "sample_count": sample_count, "depth_read_only": bool(depth_read_only),
                              "stencil_read_only": bool(stencil_read_only)}))
    pid = rec.new(O_PASS, encoder)
    rec.append(BUNDLE_ENCODER_CREATE, rec.site(frame), pid, rec.string(descriptor), rec.opt_string(label), device)


def _new_bundle_encoder(rec: Recorder, frame: FrameType, owner: Any, encoder: Any) -> int:
    device = ref(rec, owner._device, frame)
    pid = rec.new(O_PASS, encoder)
    rec.append(BUNDLE_ENCODER_CREATE, rec.site(frame), pid, rec.string("{}"), rec.opt_string(BEFORE), device)
    return pid


def adopt_bundle_encoder(rec: Recorder, encoder: Any, frame: FrameType) -> int:
    rec.adopted["render_bundle_encoder"] += 1
    return _new_bundle_encoder(rec, frame, encoder, encoder)


def finish_bundle(rec: Recorder, frame: FrameType, self: Any, bundle: Any, *, label: str = "") -> None:
    pid = ref(rec, self, frame)
    bid = rec.new(O_RENDER_BUNDLE, bundle)
    rec.append(BUNDLE_FINISH, rec.site(frame), bid, pid, rec.opt_string(label))


def adopt_bundle(rec: Recorder, bundle: Any, frame: FrameType) -> int:
    """A bundle finished before recording: from a bundle encoder with no recorded commands."""
    pid = _new_bundle_encoder(rec, frame, bundle, None)
    rec.adopted["render_bundle"] += 1
    bid = rec.new(O_RENDER_BUNDLE, bundle)
    rec.append(BUNDLE_FINISH, rec.site(frame), bid, pid, rec.opt_string(bundle.label or BEFORE))
    return bid


# -- debug markers (command encoders and every kind of pass) ----------------------------------

def _marker(rec: Recorder, frame: FrameType, obj: Any, call: str, label: str | None) -> None:
    oid = ref(rec, obj, frame)
    encoder = type(obj) is _api.GPUCommandEncoder
    rec.append(DEBUG_MARKER, rec.site(frame), oid if encoder else -1, -1 if encoder else oid, rec.string(call),
               rec.opt_string(label))


def push_debug_group(rec: Recorder, frame: FrameType, self: Any, _: None, group_label: str) -> None:
    _marker(rec, frame, self, "push_debug_group", group_label)


def pop_debug_group(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    _marker(rec, frame, self, "pop_debug_group", None)


def insert_debug_marker(rec: Recorder, frame: FrameType, self: Any, _: None, marker_label: str) -> None:
    _marker(rec, frame, self, "insert_debug_marker", marker_label)


# -- texture copies, uploads and read-backs ---------------------------------------------------

def _extent(size: Any) -> tuple[int, int, int]:
    """width, height, depth_or_array_layers; height and depth default to 1 (as wgpu-py)."""
    if isinstance(size, Mapping):
        return int(size["width"]), int(size.get("height", 1)), int(size.get("depth_or_array_layers", 1))
    values = [int(v) for v in size] + [1, 1]
    return values[0], values[1], values[2]


def _location(location: Any) -> tuple[int, int, int, int, int]:
    """mip_level, x, y, z, aspect of a texture copy location (origin and mip level default to 0)."""
    origin = location.get("origin", (0, 0, 0))
    if isinstance(origin, Mapping):
        x, y, z = (int(origin.get(c, 0)) for c in "xyz")
    else:
        x, y, z = ([int(v) for v in origin] + [0, 0, 0])[:3]
    return int(location.get("mip_level", 0)), x, y, z, _ASPECT.get(location.get("aspect", "all") or "all", 0)


def _data_layout(layout: Any) -> tuple[int, int, int]:
    """offset, bytes_per_row, rows_per_image; -1 where the program gave none."""
    bytes_per_row, rows_per_image = layout.get("bytes_per_row"), layout.get("rows_per_image")
    return (int(layout.get("offset", 0)), -1 if bytes_per_row is None else int(bytes_per_row),
            -1 if rows_per_image is None else int(rows_per_image))


def copy_buffer_to_texture(rec: Recorder, frame: FrameType, self: Any, _: None, source: Any, destination: Any,
                           copy_size: Any) -> None:
    eid, bid = ref(rec, self, frame), ref(rec, source["buffer"], frame)
    tid = ref(rec, destination["texture"], frame)
    rec.append(COPY_BUFFER_TO_TEXTURE, rec.site(frame), eid, bid, tid,
               rows=(_data_layout(source), _location(destination), _extent(copy_size)))


def copy_texture_to_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, source: Any, destination: Any,
                           copy_size: Any) -> None:
    eid, tid = ref(rec, self, frame), ref(rec, source["texture"], frame)
    bid = ref(rec, destination["buffer"], frame)
    rec.append(COPY_TEXTURE_TO_BUFFER, rec.site(frame), eid, tid, bid,
               rows=(_location(source), _data_layout(destination), _extent(copy_size)))


def copy_texture_to_texture(rec: Recorder, frame: FrameType, self: Any, _: None, source: Any, destination: Any,
                            copy_size: Any) -> None:
    eid, src = ref(rec, self, frame), ref(rec, source["texture"], frame)
    dst = ref(rec, destination["texture"], frame)
    rec.append(COPY_TEXTURE_TO_TEXTURE, rec.site(frame), eid, src, dst,
               rows=(_location(source), _location(destination), _extent(copy_size)))


def _host_texture(rec: Recorder, frame: FrameType, kind: int, location: Any, data: Any, layout: Any,
                  size: Any) -> None:
    """WRITE_TEXTURE or READ_TEXTURE: the bytes from the layout's offset on, as payload and digest."""
    tid = ref(rec, location["texture"], frame)
    rows = (_data_layout(layout), _location(location), _extent(size))
    m = h._flat(data)
    if rows[0][0]:
        m = m[rows[0][0]:]
    blob, hi, lo = rec.capture.fields(m, rec.blob)
    rec.append(kind, rec.site(frame), tid, m.nbytes, blob, hi, lo, rows=rows)


def write_texture(rec: Recorder, frame: FrameType, self: Any, _: None, destination: Any, data: Any,
                  data_layout: Any, size: Any) -> None:
    _host_texture(rec, frame, WRITE_TEXTURE, destination, data, data_layout, size)


def read_texture(rec: Recorder, frame: FrameType, self: Any, data: Any, source: Any, data_layout: Any,
                 size: Any) -> None:
    _host_texture(rec, frame, READ_TEXTURE, source, data, data_layout, size)
    rec.sync_point()


# -- queries ----------------------------------------------------------------------------------

def resolve_query_set(rec: Recorder, frame: FrameType, self: Any, _: None, query_set: Any, first_query: int,
                      query_count: int, destination: Any, destination_offset: int) -> None:
    eid, qid, bid = ref(rec, self, frame), ref(rec, query_set, frame), ref(rec, destination, frame)
    rec.append(RESOLVE_QUERY_SET, rec.site(frame), eid, qid, int(first_query), int(query_count), bid,
               int(destination_offset))


def write_timestamp(rec: Recorder, frame: FrameType, self: Any, _: None, query_set: Any, query_index: Any) -> None:
    """``encoder._write_timestamp`` (wgpu-native's extras.write_timestamp on a command encoder)."""
    eid, qid = ref(rec, self, frame), ref(rec, query_set, frame)
    rec.append(WRITE_TIMESTAMP, rec.site(frame), eid, qid, int(query_index))


h._ADOPT.update({
    _api.GPUTexture: adopt_texture,
    _api.GPUTextureView: adopt_view,
    _api.GPUSampler: adopt_sampler,
    _api.GPUQuerySet: adopt_query_set,
    _api.GPURenderPipeline: adopt_render_pipeline,
    _api.GPURenderPassEncoder: adopt_render_pass,
    _api.GPURenderBundleEncoder: adopt_bundle_encoder,
    _api.GPURenderBundle: adopt_bundle,
})
