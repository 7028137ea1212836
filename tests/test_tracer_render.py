"""The recorder on real render programs (lavapipe here): every format-1.1 call is its own event.

A textured draw uses every new id space (textures, views, samplers, query sets, render pipelines,
render passes, bundles); it must record with no OPAQUE note, validate, name the right objects in
its rows, and draw the same pixels as without recording. The wgpu suite's render test, a pygfx
scene and a fastplotlib figure (offscreen) must record with no OPAQUE note either.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import wgpu

from wgtrace.tracer import recording
from wgtrace.traces import Access, Kind, load, validate
from wgtrace.traces.digest import digest
from wgtrace.traces.schema import Aspect, AttachmentOps, TextureUsage

ROOT = Path(__file__).resolve().parents[1]

SHADER = """
struct Uniforms { scale: vec4<f32> }
@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;

struct VOut { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> }

@vertex
fn vs(@location(0) pos: vec2<f32>, @location(1) uv: vec2<f32>) -> VOut {
    var o: VOut;
    o.pos = vec4<f32>(pos * u.scale.xy, 0.5, 1.0);
    o.uv = uv;
    return o;
}

@fragment
fn fs(v: VOut) -> @location(0) vec4<f32> { return textureSample(tex, samp, v.uv); }

@fragment
fn solid() -> @location(0) vec4<f32> { return vec4<f32>(u.scale.z, 0.0, 1.0, 1.0); }
"""
SIZE = 16
COLOR, DEPTH = wgpu.TextureFormat.rgba8unorm, wgpu.TextureFormat.depth24plus
VERTEX_BUFFERS = [{"array_stride": 16, "attributes": [
    {"format": wgpu.VertexFormat.float32x2, "offset": 0, "shader_location": 0},
    {"format": wgpu.VertexFormat.float32x2, "offset": 8, "shader_location": 1}]}]
DEPTH_STATE = {"format": DEPTH, "depth_write_enabled": True, "depth_compare": wgpu.CompareFunction.less_equal}
QUAD = np.array([[-1, -1, 0, 1], [1, -1, 1, 1], [1, 1, 1, 0], [-1, 1, 0, 0]], dtype=np.float32)
TRIANGLE = np.array([[-0.5, -0.5, 0, 0], [0.5, -0.5, 0, 0], [0, 0.5, 0, 0]], dtype=np.float32)
INDICES = np.array([0, 1, 2, 0, 2, 3], dtype=np.uint16)


def textured_draw(device: wgpu.GPUDevice) -> tuple[np.ndarray, bytes, np.ndarray]:
    """Draw a textured quad (explicit layout) and a bundle's triangle (layout "auto") into a 16x16
    target with a depth buffer; returns the target copied to a buffer, read_texture of its copy, and
    the resolved occlusion query. Lines marked ``# NAME`` are where the test expects each event."""
    usage = wgpu.BufferUsage
    pixels = np.arange(4 * 4 * 4, dtype=np.uint8).reshape(4, 4, 4) * 3
    texture = device.create_texture(label="checker", size=(4, 4, 1), format=COLOR,
                                    usage=wgpu.TextureUsage.TEXTURE_BINDING | wgpu.TextureUsage.COPY_DST)
    device.queue.write_texture({"texture": texture}, pixels, {"bytes_per_row": 16}, (4, 4, 1))  # WRITE_TEXTURE
    view = texture.create_view()
    sampler = device.create_sampler(mag_filter="linear", min_filter="linear")
    uniforms = device.create_buffer_with_data(data=np.array([1, 1, 0.75, 1], dtype=np.float32),
                                              usage=usage.UNIFORM)
    vertices = device.create_buffer_with_data(data=QUAD, usage=usage.VERTEX)
    triangle = device.create_buffer_with_data(data=TRIANGLE, usage=usage.VERTEX)
    indices = device.create_buffer_with_data(data=np.concatenate([INDICES, INDICES[:2]]), usage=usage.INDEX)
    module = device.create_shader_module(code=SHADER)
    visible = wgpu.ShaderStage.VERTEX | wgpu.ShaderStage.FRAGMENT
    layout = device.create_bind_group_layout(entries=[
        {"binding": 0, "visibility": visible, "buffer": {"type": "uniform"}},
        {"binding": 1, "visibility": wgpu.ShaderStage.FRAGMENT, "texture": {}},
        {"binding": 2, "visibility": wgpu.ShaderStage.FRAGMENT, "sampler": {}},
    ])
    textured = device.create_render_pipeline(
        layout=device.create_pipeline_layout(bind_group_layouts=[layout]),
        vertex={"module": module, "entry_point": "vs", "buffers": VERTEX_BUFFERS},
        fragment={"module": module, "entry_point": "fs", "targets": [{"format": COLOR}]},
        primitive={"topology": wgpu.PrimitiveTopology.triangle_list, "cull_mode": wgpu.CullMode.none},
        depth_stencil=DEPTH_STATE)
    solid = device.create_render_pipeline(  # AUTO_PIPELINE
        layout="auto",
        vertex={"module": module, "entry_point": "vs", "buffers": VERTEX_BUFFERS},
        fragment={"module": module, "entry_point": "solid", "targets": [{"format": COLOR}]},
        depth_stencil=DEPTH_STATE)
    group = device.create_bind_group(layout=textured.get_bind_group_layout(0), entries=[  # the explicit layout
        {"binding": 0, "resource": {"buffer": uniforms}},
        {"binding": 1, "resource": view},
        {"binding": 2, "resource": sampler},
    ])
    solid_group = device.create_bind_group(layout=solid.get_bind_group_layout(0), entries=[
        {"binding": 0, "resource": {"buffer": uniforms}}])
    bundle_encoder = device.create_render_bundle_encoder(color_formats=[COLOR], depth_stencil_format=DEPTH)
    bundle_encoder.set_pipeline(solid)
    bundle_encoder.set_bind_group(0, solid_group)
    bundle_encoder.set_vertex_buffer(0, triangle)
    bundle_encoder.draw(3)
    bundle = bundle_encoder.finish()

    target = device.create_texture(size=(SIZE, SIZE, 1), format=COLOR, usage=wgpu.TextureUsage.RENDER_ATTACHMENT
                                   | wgpu.TextureUsage.COPY_SRC)
    depth = device.create_texture(size=(SIZE, SIZE), format=DEPTH, usage=wgpu.TextureUsage.RENDER_ATTACHMENT)
    copy = device.create_texture(size=(SIZE, SIZE, 1), format=COLOR,
                                 usage=wgpu.TextureUsage.COPY_DST | wgpu.TextureUsage.COPY_SRC)
    occlusion = device.create_query_set(type=wgpu.QueryType.occlusion, count=2)
    resolved = device.create_buffer(size=256, usage=usage.QUERY_RESOLVE | usage.COPY_SRC)
    readback = device.create_buffer(size=256 * SIZE, usage=usage.COPY_DST | usage.MAP_READ)

    encoder = device.create_command_encoder()
    encoder.push_debug_group("frame")
    render = encoder.begin_render_pass(  # RENDER_PASS
        color_attachments=[{"view": target.create_view(), "load_op": wgpu.LoadOp.clear,
                            "store_op": wgpu.StoreOp.store, "clear_value": (0.1, 0.2, 0.3, 1)}],
        depth_stencil_attachment={"view": depth.create_view(), "depth_load_op": wgpu.LoadOp.clear,
                                  "depth_store_op": wgpu.StoreOp.discard, "depth_clear_value": 1.0},
        occlusion_query_set=occlusion)
    render.set_viewport(0, 0, SIZE, SIZE, 0, 1)
    render.set_scissor_rect(0, 0, SIZE, SIZE)
    render.set_blend_constant((0, 0, 0, 0))
    render.set_stencil_reference(0)
    render.insert_debug_marker("quad")
    render.set_pipeline(textured)
    render.set_bind_group(0, group)
    render.set_vertex_buffer(0, vertices)
    render.set_index_buffer(indices, wgpu.IndexFormat.uint16, 0, 12)
    render.begin_occlusion_query(0)
    render.draw_indexed(6)
    render.end_occlusion_query()
    render.execute_bundles([bundle])
    render.end()
    encoder.pop_debug_group()
    encoder.copy_texture_to_buffer({"texture": target}, {"buffer": readback, "bytes_per_row": 256},
                                   (SIZE, SIZE, 1))
    encoder.copy_texture_to_texture({"texture": target}, {"texture": copy, "origin": (0, 0, 0)}, (SIZE, SIZE))
    encoder.resolve_query_set(occlusion, 0, 1, resolved, 0)
    device.queue.submit([encoder.finish()])
    read = bytes(device.queue.read_texture({"texture": copy}, {"bytes_per_row": SIZE * 4}, (SIZE, SIZE, 1)))
    readback.map_sync(wgpu.MapMode.READ)
    image = np.frombuffer(readback.read_mapped(), dtype=np.uint8).reshape(SIZE, 256)[:, : SIZE * 4].copy()
    readback.unmap()
    samples = np.frombuffer(device.queue.read_buffer(resolved, 0, 8), dtype=np.uint64).copy()
    occlusion.destroy()
    copy.destroy()
    return image.reshape(SIZE, SIZE, 4), read, samples


def events(trace, kind: Kind) -> list[dict]:
    return [trace.event(int(i)) for i in trace.where(kind)]


def opaque_names(trace) -> Counter:
    return Counter(trace.event(int(i))["name"] for i in trace.where(Kind.OPAQUE))


def test_a_textured_draw_records_every_call_as_its_own_event(tmp_path, device):
    plain = textured_draw(device)
    path = tmp_path / "draw.wgtrace"
    with recording(path, data="full"):
        recorded = textured_draw(device)
    assert all(np.array_equal(a, b) for a, b in zip(plain, recorded, strict=True)), "recording changed the pixels"
    image, read, samples = recorded
    assert tuple(image[0, 0]) == (0, 3, 6, 9) and tuple(image[8, 8]) == (191, 0, 255, 255)  # texel 0; the bundle
    assert read == image.tobytes() and samples[0] > 0

    trace = load(path)
    validate(trace)
    assert opaque_names(trace) == Counter()
    assert trace.end["adopted"] == {"device": 1}

    textures = events(trace, Kind.TEXTURE_CREATE)
    assert [(t["texture"], t["width"], t["height"], t["depth_or_array_layers"], t["format"]) for t in textures] == [
        (0, 4, 4, 1, "rgba8unorm"), (1, SIZE, SIZE, 1, "rgba8unorm"), (2, SIZE, SIZE, 1, "depth24plus"),
        (3, SIZE, SIZE, 1, "rgba8unorm")]
    assert textures[0]["rows"] == [{"mip_level_count": 1, "sample_count": 1, "dimension": 2, "label": "checker",
                                    "usage": int(TextureUsage.TEXTURE_BINDING | TextureUsage.COPY_DST)}]
    upload = events(trace, Kind.WRITE_TEXTURE)[0]
    assert (upload["texture"], upload["size"], upload["payload"]) == (0, 64, (np.arange(64, dtype=np.uint8) * 3)
                                                                      .tobytes())
    assert upload["rows"] == [{"offset": 0, "bytes_per_row": 16, "rows_per_image": -1},
                              {"mip_level": 0, "x": 0, "y": 0, "z": 0, "aspect": Aspect.ALL},
                              {"width": 4, "height": 4, "depth_or_array_layers": 1}]
    views = events(trace, Kind.TEXTURE_VIEW)
    assert [(v["view"], v["texture"], v["format"], v["dimension"]) for v in views] == [
        (0, 0, "rgba8unorm", "2d"), (1, 1, "rgba8unorm", "2d"), (2, 2, "depth24plus", "2d")]
    assert views[0]["rows"] == [{"base_mip_level": 0, "mip_level_count": 1, "base_array_layer": 0,
                                 "array_layer_count": 1, "aspect": Aspect.ALL}]
    (sampler,) = events(trace, Kind.SAMPLER)
    assert json.loads(sampler["descriptor"])["mag_filter"] == "linear"

    bgl = events(trace, Kind.BIND_GROUP_LAYOUT)[0]
    assert [(r["binding"], r["access"]) for r in bgl["rows"]] == [
        (0, Access.UNIFORM), (1, Access.SAMPLED_TEXTURE), (2, Access.SAMPLER)]
    pipelines = events(trace, Kind.RENDER_PIPELINE)
    assert [(p["pipeline"], p["vertex_module"], p["fragment_module"], p["pipeline_layout"]) for p in pipelines] == [
        (0, 0, 0, 0), (1, 0, 0, -1)]
    assert [(r["group"], r["binding"], r["access"]) for r in pipelines[0]["rows"]] == [
        (0, 0, Access.UNIFORM), (0, 1, Access.SAMPLED_TEXTURE), (0, 2, Access.SAMPLER)]
    assert [(r["group"], r["binding"], r["access"]) for r in pipelines[1]["rows"]] == [(0, 0, Access.UNIFORM)]
    descriptor = json.loads(pipelines[0]["descriptor"])
    assert descriptor["vertex"]["entry_point"] == "vs" and descriptor["fragment"]["entry_point"] == "fs"
    assert descriptor["vertex"]["buffers"][0]["attributes"][1] == {"format": "float32x2", "offset": 8,
                                                                   "shader_location": 1}
    assert descriptor["fragment"]["targets"] == [{"blend": None, "format": "rgba8unorm", "write_mask": 0xF}]
    assert descriptor["depth_stencil"]["depth_compare"] == "less-equal"
    assert descriptor["primitive"]["topology"] == "triangle-list" and descriptor["multisample"]["count"] == 1
    groups = events(trace, Kind.BIND_GROUP)
    assert (groups[0]["layout"], groups[0]["pipeline"]) == (0, -1)
    assert [(r["binding"], r["resource"], r["offset"], r["size"], r["access"]) for r in groups[0]["rows"]] == [
        (0, 0, 0, 16, Access.UNIFORM), (1, 0, 0, 0, Access.SAMPLED_TEXTURE), (2, 0, 0, 0, Access.SAMPLER)]
    assert (groups[1]["layout"], groups[1]["pipeline"], groups[1]["group"]) == (-1, 1, 0)

    (bundle_encoder,) = events(trace, Kind.BUNDLE_ENCODER_CREATE)
    assert bundle_encoder["bundle_encoder"] == 0  # the first pass id of the trace
    assert json.loads(bundle_encoder["descriptor"])["color_formats"] == ["rgba8unorm"]
    (finish,) = events(trace, Kind.BUNDLE_FINISH)
    assert (finish["bundle"], finish["bundle_encoder"]) == (0, 0)
    (begin,) = events(trace, Kind.RENDER_PASS_BEGIN)
    assert (begin["render_pass"], begin["encoder"], begin["occlusion_query_set"]) == (1, 0, 0)
    assert [(r["attachment"], r["view"], r["resolve_target"], r["ops"], r["depth_slice"]) for r in begin["rows"]] == [
        (0, 1, -1, int(AttachmentOps.STORE), -1), (-1, 2, -1, 0, -1)]
    assert json.loads(begin["descriptor"])["clear_values"] == [[0.1, 0.2, 0.3, 1.0]]
    states = events(trace, Kind.RENDER_STATE)
    assert [(s["render_pass"], s["call"], json.loads(s["values"])) for s in states] == [
        (1, "set_viewport", [0, 0, SIZE, SIZE, 0, 1]), (1, "set_scissor_rect", [0, 0, SIZE, SIZE]),
        (1, "set_blend_constant", [0, 0, 0, 0]), (1, "set_stencil_reference", [0])]
    assert [(e["compute_pass"], e["pipeline"]) for e in events(trace, Kind.SET_PIPELINE)] == [(0, 1), (1, 0)]
    assert [(e["compute_pass"], e["bind_group"]) for e in events(trace, Kind.SET_BIND_GROUP)] == [(0, 1), (1, 0)]
    assert [(e["pass_encoder"], e["slot"], e["buffer"], e["offset"], e["size"])
            for e in events(trace, Kind.SET_VERTEX_BUFFER)] == [(0, 0, 2, 0, 48), (1, 0, 1, 0, 64)]
    (index,) = events(trace, Kind.SET_INDEX_BUFFER)
    assert (index["buffer"], index["index_bytes"], index["offset"], index["size"]) == (3, 2, 0, 12)
    assert [(d["pass_encoder"], d["vertex_count"]) for d in events(trace, Kind.DRAW)] == [(0, 3)]
    assert [(d["pass_encoder"], d["index_count"], d["instance_count"]) for d in events(trace, Kind.DRAW_INDEXED)] == [
        (1, 6, 1)]
    assert [e["query_index"] for e in events(trace, Kind.BEGIN_OCCLUSION_QUERY)] == [0]
    assert trace.count_kind(Kind.END_OCCLUSION_QUERY) == 1
    (execute,) = events(trace, Kind.EXECUTE_BUNDLES)
    assert execute["render_pass"] == 1 and [r["bundle"] for r in execute["rows"]] == [0]
    assert [e["compute_pass"] for e in events(trace, Kind.PASS_END)] == [1]
    assert [(m["encoder"], m["pass_encoder"], m["call"], m["label"]) for m in events(trace, Kind.DEBUG_MARKER)] == [
        (0, -1, "push_debug_group", "frame"), (-1, 1, "insert_debug_marker", "quad"),
        (0, -1, "pop_debug_group", None)]

    (to_buffer,) = events(trace, Kind.COPY_TEXTURE_TO_BUFFER)
    assert (to_buffer["texture"], to_buffer["buffer"]) == (1, 5)
    assert to_buffer["rows"][1:] == [{"offset": 0, "bytes_per_row": 256, "rows_per_image": -1},
                                     {"width": SIZE, "height": SIZE, "depth_or_array_layers": 1}]
    (to_texture,) = events(trace, Kind.COPY_TEXTURE_TO_TEXTURE)
    assert (to_texture["src"], to_texture["dst"], to_texture["rows"][2]["depth_or_array_layers"]) == (1, 3, 1)
    (resolve,) = events(trace, Kind.RESOLVE_QUERY_SET)
    assert (resolve["query_set"], resolve["first_query"], resolve["query_count"], resolve["destination"]) == (
        0, 0, 1, 4)
    (read_back,) = events(trace, Kind.READ_TEXTURE)
    assert (read_back["texture"], read_back["size"], read_back["payload"]) == (3, SIZE * SIZE * 4, read)
    assert (read_back["digest_hi"], read_back["digest_lo"]) == digest(read)
    (query_set,) = events(trace, Kind.QUERY_SET_CREATE)
    assert (query_set["type"], query_set["count"]) == ("occlusion", 2)
    assert [e["query_set"] for e in events(trace, Kind.QUERY_SET_DESTROY)] == [0]
    destroys = [(e["texture"], e["dropped"]) for e in events(trace, Kind.TEXTURE_DESTROY)]
    assert destroys[0] == (3, 0) and sorted(destroys[1:]) == [(0, 1), (1, 1), (2, 1)]  # the rest dropped on return


def test_objects_made_before_recording_are_adopted(tmp_path, device):
    usage = wgpu.TextureUsage.COPY_DST | wgpu.TextureUsage.TEXTURE_BINDING | wgpu.TextureUsage.RENDER_ATTACHMENT
    texture = device.create_texture(size=(8, 4, 2), format=COLOR, usage=usage, mip_level_count=2, label="early")
    view = texture.create_view(dimension="2d-array")
    sampler = device.create_sampler()
    fragment = wgpu.ShaderStage.FRAGMENT
    layout = device.create_bind_group_layout(entries=[
        {"binding": 0, "visibility": fragment, "texture": {"view_dimension": "2d-array"}},
        {"binding": 1, "visibility": fragment, "sampler": {}}])
    module = device.create_shader_module(code=SHADER)
    pipeline = device.create_render_pipeline(
        layout="auto", vertex={"module": module, "entry_point": "vs", "buffers": VERTEX_BUFFERS},
        fragment={"module": module, "entry_point": "solid", "targets": [{"format": COLOR}]})
    uniforms = device.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM)
    with recording(tmp_path / "t.wgtrace"):
        device.queue.write_texture({"texture": texture, "mip_level": 1, "origin": {"y": 1}}, np.zeros(64, np.uint8),
                                   {"offset": 16, "bytes_per_row": 16, "rows_per_image": 1}, {"width": 4})
        group = device.create_bind_group(layout=layout, entries=[
            {"binding": 0, "resource": view}, {"binding": 1, "resource": sampler}])
        solid_group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=[
            {"binding": 0, "resource": {"buffer": uniforms}}])
        target = texture.create_view(base_mip_level=1, base_array_layer=1)  # a "2d" view of one layer (wgpu-py)
        vertices = device.create_buffer_with_data(data=TRIANGLE, usage=wgpu.BufferUsage.VERTEX)
        encoder = device.create_command_encoder()
        render = encoder.begin_render_pass(color_attachments=[
            {"view": target, "load_op": wgpu.LoadOp.load, "store_op": wgpu.StoreOp.discard}])
        render.set_pipeline(pipeline)
        render.set_bind_group(0, solid_group)
        render.set_vertex_buffer(0, vertices, 16)
        render.draw(1, first_vertex=1)
        render.end()
        device.queue.submit([encoder.finish()])
        texture.destroy()
        texture.destroy()
        del view, sampler, group, texture
    trace = load(tmp_path / "t.wgtrace")
    validate(trace)
    assert opaque_names(trace) == Counter()
    assert trace.end["adopted"] == {"device": 1, "texture": 1, "texture_view": 1, "sampler": 1, "bind_group_layout": 1,
                                    "render_pipeline": 1, "buffer": 1}
    (made,) = events(trace, Kind.TEXTURE_CREATE)
    assert (made["width"], made["height"], made["depth_or_array_layers"], made["format"]) == (8, 4, 2, "rgba8unorm")
    assert made["rows"] == [{"mip_level_count": 2, "sample_count": 1, "dimension": 2, "usage": int(usage),
                             "label": "early"}]
    upload = events(trace, Kind.WRITE_TEXTURE)[0]
    assert upload["size"] == 48 and upload["rows"] == [
        {"offset": 16, "bytes_per_row": 16, "rows_per_image": 1},
        {"mip_level": 1, "x": 0, "y": 1, "z": 0, "aspect": Aspect.ALL},
        {"width": 4, "height": 1, "depth_or_array_layers": 1}]
    views = events(trace, Kind.TEXTURE_VIEW)
    # the adopted view's range is unknown: the texture's default view; the later one is resolved as wgpu-py does
    assert [(v["view"], v["texture"], v["dimension"], v["rows"][0]["base_mip_level"], v["rows"][0]["mip_level_count"],
             v["rows"][0]["base_array_layer"], v["rows"][0]["array_layer_count"]) for v in views] == [
        (0, 0, "2d", 0, 2, 0, 1), (1, 0, "2d", 1, 1, 1, 1)]
    assert json.loads(events(trace, Kind.SAMPLER)[0]["descriptor"]) == {}
    groups = events(trace, Kind.BIND_GROUP)
    assert [(r["binding"], r["resource"], r["access"]) for r in groups[0]["rows"]] == [
        (0, 0, Access.SAMPLED_TEXTURE), (1, 0, Access.SAMPLER)]
    assert [(r["resource"], r["size"], r["access"]) for r in groups[1]["rows"]] == [(0, 16, Access.NONE)]
    (pipe,) = events(trace, Kind.RENDER_PIPELINE)
    assert (pipe["fragment_module"], pipe["pipeline_layout"], pipe["rows"]) == (-1, -1, [])
    (begin,) = events(trace, Kind.RENDER_PASS_BEGIN)
    assert [(r["view"], r["ops"]) for r in begin["rows"]] == [(1, int(AttachmentOps.LOAD))]
    assert [(e["offset"], e["size"]) for e in events(trace, Kind.SET_VERTEX_BUFFER)] == [(16, 32)]
    assert [(d["vertex_count"], d["first_vertex"]) for d in events(trace, Kind.DRAW)] == [(1, 1)]
    assert [(e["texture"], e["dropped"]) for e in events(trace, Kind.TEXTURE_DESTROY)] == [(0, 0)]


LINES = """
@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    var xy = array<vec2<f32>, 3>(vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(0.0, 1.0));
    return vec4<f32>(xy[i], 0.0, 1.0);
}
@fragment
fn fs() -> @location(0) vec4<f32> { return vec4<f32>(1.0); }
"""
EXTRA_FEATURES = ["timestamp-query", "timestamp-query-inside-encoders", "pipeline-statistics-query",
                  "polygon-mode-line"]


def queries_and_extras(device: wgpu.GPUDevice) -> tuple[np.ndarray, dict]:
    """Timestamps (pass writes, wgpu-native's write_timestamp), a statistics query, a line-mode pipeline
    (wgpu-py takes polygon_mode out of the program's primitive dict), multi_draw_indirect, a buffer
    uploaded into a texture. Returns the texture read back and the primitive dict after the call."""
    from wgpu.backends.wgpu_native import extras

    usage = wgpu.BufferUsage
    timestamps = device.create_query_set(type=wgpu.QueryType.timestamp, count=4, label="times")
    statistics = extras.create_statistics_query_set(device, count=1, statistics=["compute-shader-invocations"])
    pipeline = device.create_compute_pipeline(layout="auto", compute={
        "module": device.create_shader_module(code="@compute @workgroup_size(1) fn main() {}")})
    module = device.create_shader_module(code=LINES)
    primitive = {"topology": wgpu.PrimitiveTopology.triangle_list, "polygon_mode": "Line"}
    lines = device.create_render_pipeline(layout="auto", vertex={"module": module}, primitive=primitive,
                                          fragment={"module": module, "targets": [{"format": COLOR}]})
    target = device.create_texture(size=(8, 8), format=COLOR, usage=wgpu.TextureUsage.RENDER_ATTACHMENT
                                   | wgpu.TextureUsage.COPY_DST | wgpu.TextureUsage.COPY_SRC)
    upload = device.create_buffer_with_data(data=np.full(256 * 8, 7, dtype=np.uint8), usage=usage.COPY_SRC)
    indirect = device.create_buffer_with_data(data=np.array([3, 1, 0, 0], dtype=np.uint32), usage=usage.INDIRECT)
    resolved = device.create_buffer(size=256, usage=usage.QUERY_RESOLVE)

    encoder = device.create_command_encoder()
    encoder.copy_buffer_to_texture({"buffer": upload, "bytes_per_row": 256, "rows_per_image": 8},
                                   {"texture": target, "origin": {"x": 0}}, {"width": 8, "height": 8})
    extras.write_timestamp(encoder, timestamps, 0)
    compute = encoder.begin_compute_pass(timestamp_writes={"query_set": timestamps,
                                                           "beginning_of_pass_write_index": 1})
    compute.push_debug_group("work")
    compute.set_pipeline(pipeline)
    extras.begin_pipeline_statistics_query(compute, statistics, 0)
    compute.dispatch_workgroups(4)
    extras.end_pipeline_statistics_query(compute)
    compute.pop_debug_group()
    compute.end()
    render = encoder.begin_render_pass(
        color_attachments=[{"view": target.create_view(), "load_op": "load", "store_op": "store"}],
        timestamp_writes={"query_set": timestamps, "end_of_pass_write_index": 2})
    render.set_pipeline(lines)
    extras.multi_draw_indirect(render, indirect, count=1)
    render.end()
    encoder.resolve_query_set(timestamps, 0, 3, resolved, 0)
    device.queue.submit([encoder.finish()])
    image = np.frombuffer(device.queue.read_texture({"texture": target}, {"bytes_per_row": 32}, (8, 8)),
                          dtype=np.uint8)
    return image.copy(), primitive


def test_queries_timestamps_copies_and_what_wgpu_py_adds(tmp_path, capsys):
    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    if not set(EXTRA_FEATURES) <= set(adapter.features):
        pytest.skip(f"the adapter lacks some of {EXTRA_FEATURES}")
    device = adapter.request_device_sync(required_features=EXTRA_FEATURES)
    plain = queries_and_extras(device)
    with recording(tmp_path / "t.wgtrace"):
        recorded = queries_and_extras(device)
    assert np.array_equal(plain[0], recorded[0]) and plain[1] == recorded[1] == {"topology": "triangle-list"}
    assert (recorded[0] == 7).sum() and (recorded[0] == 255).sum()  # the upload, and the lines drawn over it
    trace = load(tmp_path / "t.wgtrace")
    validate(trace)
    # what WebGPU lacks is a note that names itself; wgpu-native's query set and write_timestamp are not
    assert opaque_names(trace) == Counter({"GPUComputePassEncoder._begin_pipeline_statistics_query": 1,
                                           "GPUComputePassEncoder._end_pipeline_statistics_query": 1,
                                           "GPURenderPassEncoder._multi_draw_indirect": 1})
    assert [(q["type"], q["count"], q["label"]) for q in events(trace, Kind.QUERY_SET_CREATE)] == [
        ("timestamp", 4, "times"), ("pipeline-statistics", 1, None)]
    assert [(w["encoder"], w["query_set"], w["query_index"]) for w in events(trace, Kind.WRITE_TIMESTAMP)] == [
        (0, 0, 0)]
    assert [(w["pass_encoder"], w["query_set"], w["beginning_index"], w["end_index"])
            for w in events(trace, Kind.TIMESTAMP_WRITES)] == [(0, 0, 1, -1), (1, 0, -1, 2)]
    assert [(m["encoder"], m["pass_encoder"], m["call"], m["label"]) for m in events(trace, Kind.DEBUG_MARKER)] == [
        (-1, 0, "push_debug_group", "work"), (-1, 0, "pop_debug_group", None)]
    (pipeline,) = events(trace, Kind.RENDER_PIPELINE)
    descriptor = json.loads(pipeline["descriptor"])
    assert descriptor["primitive"]["polygon_mode"] == "Line"
    assert (descriptor["vertex"]["entry_point"], descriptor["fragment"]["entry_point"]) == ("vs", "fs")
    (upload,) = events(trace, Kind.COPY_BUFFER_TO_TEXTURE)
    assert (upload["buffer"], upload["texture"]) == (0, 0) and upload["rows"] == [
        {"offset": 0, "bytes_per_row": 256, "rows_per_image": 8},
        {"mip_level": 0, "x": 0, "y": 0, "z": 0, "aspect": Aspect.ALL},
        {"width": 8, "height": 8, "depth_or_array_layers": 1}]
    (resolve,) = events(trace, Kind.RESOLVE_QUERY_SET)
    assert (resolve["query_set"], resolve["first_query"], resolve["query_count"], resolve["destination"]) == (
        0, 0, 3, 2)
    (read,) = events(trace, Kind.READ_TEXTURE)
    assert read["size"] == 256 and (read["digest_hi"], read["digest_lo"]) == digest(recorded[0].tobytes())


def test_the_wgpu_suite_render_test_records_without_notes(tmp_path):
    spec = importlib.util.spec_from_file_location("suite_render", ROOT / "tests" / "wgpu_suite" / "suite_render.py")
    assert spec is not None and spec.loader is not None
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    with recording(tmp_path / "suite.wgtrace"):
        suite.test_render_triangle_to_texture()
    trace = load(tmp_path / "suite.wgtrace")
    validate(trace)
    assert opaque_names(trace) == Counter()
    kinds = Counter(Kind(k).name for k in trace.kind)
    assert {k: kinds[k] for k in ("TEXTURE_CREATE", "TEXTURE_VIEW", "RENDER_PIPELINE", "RENDER_PASS_BEGIN", "DRAW",
                                  "COPY_TEXTURE_TO_BUFFER", "TEXTURE_DESTROY")} == dict.fromkeys(
        ("TEXTURE_CREATE", "TEXTURE_VIEW", "RENDER_PIPELINE", "RENDER_PASS_BEGIN", "DRAW", "COPY_TEXTURE_TO_BUFFER",
         "TEXTURE_DESTROY"), 1)
    (pipeline,) = events(trace, Kind.RENDER_PIPELINE)
    assert (pipeline["pipeline_layout"], pipeline["rows"]) == (-1, [])  # layout "auto", no bindings


# A library's frame, drawn offscreen: frame() returns the image. Each runs in a process of its own (the
# libraries keep one device and their caches per process): "plain" draws a frame unrecorded, then one
# recorded, which adopts what the first made; "recorded" draws the first frame recorded, then one plain.
SCENES = {
    "pygfx": """
import pygfx as gfx
from rendercanvas.offscreen import RenderCanvas

def frame():
    canvas = RenderCanvas(size=(64, 64))
    renderer = gfx.renderers.WgpuRenderer(canvas)
    scene = gfx.Scene()
    scene.add(gfx.Mesh(gfx.box_geometry(1, 1, 1), gfx.MeshPhongMaterial()))
    scene.add(gfx.AmbientLight())
    camera = gfx.PerspectiveCamera(70)
    camera.show_object(scene)
    canvas.request_draw(lambda: renderer.render(scene, camera))
    return np.asarray(canvas.draw())
""",
    "fastplotlib": """
import fastplotlib as fpl

def frame():
    figure = fpl.Figure(size=(160, 120))  # a smaller figure has no room for its axes' rulers
    figure[0, 0].add_line(np.random.default_rng(0).random((100, 2)).astype(np.float32))
    figure.show()
    return np.asarray(figure.canvas.draw())
""",
}
DRIVER = """
import sys
import numpy as np
from wgtrace.tracer import recording
{scene}
out, first = sys.argv[1], sys.argv[2]
for n, recorded in enumerate((first == "recorded", first != "recorded")):
    if recorded:
        with recording(f"{{out}}/{{first}}.wgtrace"):
            image = frame()
    else:
        image = frame()
    np.save(f"{{out}}/{{first}}-{{n}}-{{'recorded' if recorded else 'plain'}}.npy", image)
"""


@pytest.mark.parametrize("library", SCENES)
def test_a_library_frame_records_without_notes_and_draws_the_same(library, tmp_path):
    if importlib.util.find_spec(library) is None:  # not imported here: fastplotlib picks its canvas on import
        pytest.skip(f"{library} is not installed")
    script = tmp_path / "scene.py"
    script.write_text(DRIVER.format(scene=SCENES[library]))
    env = {**os.environ, "RENDERCANVAS_FORCE_OFFSCREEN": "1"}
    started = time.perf_counter()
    for first in ("recorded", "plain"):
        done = subprocess.run([sys.executable, str(script), str(tmp_path), first], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "recorder error" not in done.stderr, done.stderr
    assert time.perf_counter() - started < 40
    images = {p.stem: np.load(p) for p in tmp_path.glob("*.npy")}
    assert sorted(images) == ["plain-0-plain", "plain-1-recorded", "recorded-0-recorded", "recorded-1-plain"]
    assert images["recorded-0-recorded"].size and images["recorded-0-recorded"].any()
    for name in ("plain-0-plain", "plain-1-recorded", "recorded-1-plain"):
        assert np.array_equal(images[name], images["recorded-0-recorded"]), f"{name} differs: recording changed it"
    for first in ("recorded", "plain"):  # every object made while recording, then with the caches adopted
        trace = load(tmp_path / f"{first}.wgtrace")
        validate(trace)
        assert opaque_names(trace) == Counter(), first
        kinds = Counter(Kind(k).name for k in trace.kind)
        assert all(kinds[k] for k in ("TEXTURE_VIEW", "RENDER_PIPELINE", "RENDER_PASS_BEGIN", "SET_BIND_GROUP", "DRAW",
                                      "COPY_TEXTURE_TO_BUFFER")), kinds
