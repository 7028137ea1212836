"""Replay of render programs on the real adapter: recorded, replayed as recorded, and read back pixel for pixel.

Each program is recorded here with the tracer (full data, so the replay feeds the program's own
bytes), then replayed; every read-back (frames copied to buffers, ``read_texture``) must equal
the recording's byte for byte (the same adapter) and the program-order reference. The render
hazard programs of render_hazards.py replay their own divergence: as recorded, the write overtakes
the draw exactly as it did in the recording, so the replay matches the recording and differs from
the program-order reference, which draws what program order draws.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wgpu

from wgtrace.replay.data import payloads
from wgtrace.replay.device import open_device
from wgtrace.replay.engine import DecodedPlan, Engine
from wgtrace.replay.report import frame_times, plan_for, replay
from wgtrace.replay.verify import program_order_plan, reference_plan, tolerance_of
from wgtrace.tracer import recording
from wgtrace.traces import Kind, TraceBuilder, load, make_header, save
from wgtrace.traces.cli import main
from wgtrace.traces.errors import InputError

from render_hazards import HAZARDS, PROGRAMS, ROW, SAFE, SIZE

ROOT = Path(__file__).parent.parent
W = H = 8
COLOR = wgpu.TextureFormat.rgba8unorm
DEPTH = wgpu.TextureFormat.depth32float
TEXTURED = """
struct VOut { @builtin(position) pos: vec4<f32>, @location(0) uv: vec2<f32> };
@group(0) @binding(0) var<uniform> tint: vec4<f32>;
@group(0) @binding(1) var tex: texture_2d<f32>;
@group(0) @binding(2) var samp: sampler;

@vertex
fn vs(@location(0) xy: vec2<f32>, @location(1) uv: vec2<f32>) -> VOut {
    var out: VOut;
    out.pos = vec4<f32>(xy, 0.5, 1.0);
    out.uv = uv;
    return out;
}

@fragment
fn fs(v: VOut) -> @location(0) vec4<f32> { return textureSample(tex, samp, v.uv) * tint; }
"""
SOLID = """
@group(0) @binding(0) var<uniform> colour: vec4<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let xy = array<vec2<f32>, 3>(vec2<f32>(-1.0, -1.0), vec2<f32>(0.2, -1.0), vec2<f32>(-1.0, 0.2));
    return vec4<f32>(xy[i], 0.25, 1.0);
}

@fragment
fn fs() -> @location(0) vec4<f32> { return colour; }
"""
QUAD = np.array([[-0.8, -0.8, 0, 1], [0.8, -0.8, 1, 1], [-0.8, 0.8, 0, 0], [0.8, 0.8, 1, 0]], dtype=np.float32)
INDICES = np.array([0, 1, 2, 2, 1, 3], dtype=np.uint16)
TEXELS = (np.arange(4 * 4 * 4, dtype=np.uint32) * 37 % 256).astype(np.uint8).reshape(4, 4, 4)


def scene(device: wgpu.GPUDevice) -> dict[str, np.ndarray]:
    """A textured, depth-tested quad (explicit layout, indexed draw), a triangle in front of it from a bundle
    (auto layout), an occlusion query and timestamps around them; the frame read back two ways."""
    usage = wgpu.TextureUsage
    target = device.create_texture(size=(W, H, 1), format=COLOR,
                                   usage=usage.RENDER_ATTACHMENT | usage.COPY_SRC | usage.TEXTURE_BINDING)
    depth = device.create_texture(size=(W, H, 1), format=DEPTH, usage=usage.RENDER_ATTACHMENT)
    staging = device.create_texture(size=(4, 4, 1), format=COLOR, usage=usage.COPY_DST | usage.COPY_SRC)
    device.queue.write_texture({"texture": staging}, TEXELS, {"bytes_per_row": 16}, (4, 4, 1))
    image = device.create_texture(size=(4, 4, 1), format=COLOR,
                                  usage=usage.TEXTURE_BINDING | usage.COPY_DST | usage.COPY_SRC)
    upload = device.create_buffer_with_data(data=np.zeros((4, 256), np.uint8), usage=wgpu.BufferUsage.COPY_SRC)
    sampler = device.create_sampler(mag_filter="linear", min_filter="linear")
    tint = device.create_buffer_with_data(data=np.array([1.0, 0.9, 0.8, 1.0], np.float32),
                                          usage=wgpu.BufferUsage.UNIFORM)
    colour = device.create_buffer_with_data(data=np.array([0.0, 1.0, 0.5, 1.0], np.float32),
                                            usage=wgpu.BufferUsage.UNIFORM)
    vertices = device.create_buffer_with_data(data=QUAD, usage=wgpu.BufferUsage.VERTEX)
    indices = device.create_buffer_with_data(data=INDICES, usage=wgpu.BufferUsage.INDEX)

    layout = device.create_bind_group_layout(entries=[
        {"binding": 0, "visibility": wgpu.ShaderStage.VERTEX | wgpu.ShaderStage.FRAGMENT, "buffer": {}},
        {"binding": 1, "visibility": wgpu.ShaderStage.FRAGMENT, "texture": {}},
        {"binding": 2, "visibility": wgpu.ShaderStage.FRAGMENT, "sampler": {}}])
    depth_state = {"format": DEPTH, "depth_write_enabled": True, "depth_compare": wgpu.CompareFunction.less}
    module = device.create_shader_module(code=TEXTURED, label="textured")
    textured = device.create_render_pipeline(
        layout=device.create_pipeline_layout(bind_group_layouts=[layout]),
        vertex={"module": module, "entry_point": "vs", "buffers": [{"array_stride": 16, "attributes": [
            {"format": wgpu.VertexFormat.float32x2, "offset": 0, "shader_location": 0},
            {"format": wgpu.VertexFormat.float32x2, "offset": 8, "shader_location": 1}]}]},
        depth_stencil=depth_state,
        fragment={"module": module, "entry_point": "fs", "targets": [{"format": COLOR, "blend": {
            "color": {"src_factor": "constant", "dst_factor": "one-minus-constant"},
            "alpha": {"src_factor": "one", "dst_factor": "zero"}}}]})
    solid_module = device.create_shader_module(code=SOLID, label="solid")
    solid = device.create_render_pipeline(layout="auto", vertex={"module": solid_module, "entry_point": "vs"},
                                          depth_stencil=depth_state,
                                          fragment={"module": solid_module, "entry_point": "fs",
                                                    "targets": [{"format": COLOR}]})
    group = device.create_bind_group(layout=layout, entries=[
        {"binding": 0, "resource": {"buffer": tint}}, {"binding": 1, "resource": image.create_view()},
        {"binding": 2, "resource": sampler}])
    solid_group = device.create_bind_group(layout=solid.get_bind_group_layout(0),
                                           entries=[{"binding": 0, "resource": {"buffer": colour}}])

    bundle_encoder = device.create_render_bundle_encoder(color_formats=[COLOR], depth_stencil_format=DEPTH)
    bundle_encoder.set_pipeline(solid)
    bundle_encoder.set_bind_group(0, solid_group)
    bundle_encoder.draw(3)
    bundle = bundle_encoder.finish()

    occlusion = device.create_query_set(type=wgpu.QueryType.occlusion, count=1)
    timestamps = device.create_query_set(type=wgpu.QueryType.timestamp, count=2) \
        if "timestamp-query" in device.features else None
    queries = device.create_buffer(size=512, usage=wgpu.BufferUsage.QUERY_RESOLVE | wgpu.BufferUsage.COPY_SRC)
    readback = device.create_buffer(size=256 * H, usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ)
    query_readback = device.create_buffer(size=512, usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ)

    encoder = device.create_command_encoder()
    encoder.push_debug_group("frame")
    encoder.copy_buffer_to_texture({"buffer": upload, "bytes_per_row": 256}, {"texture": image}, (4, 4, 1))
    encoder.copy_texture_to_texture({"texture": staging}, {"texture": image}, (4, 4, 1))
    render = encoder.begin_render_pass(
        color_attachments=[{"view": target.create_view(), "load_op": "clear", "store_op": "store",
                            "clear_value": (0.1, 0.2, 0.3, 1.0)}],
        depth_stencil_attachment={"view": depth.create_view(), "depth_clear_value": 1.0, "depth_load_op": "clear",
                                  "depth_store_op": "store"},
        occlusion_query_set=occlusion,
        timestamp_writes=None if timestamps is None else {
            "query_set": timestamps, "beginning_of_pass_write_index": 0, "end_of_pass_write_index": 1})
    render.insert_debug_marker("quad")
    render.set_viewport(0, 0, W, H, 0, 1)
    render.set_scissor_rect(1, 0, W - 1, H)
    render.set_blend_constant((0.75, 0.75, 0.75, 1.0))
    render.set_pipeline(textured)
    render.set_bind_group(0, group)
    render.set_vertex_buffer(0, vertices)
    render.set_index_buffer(indices, wgpu.IndexFormat.uint16)
    render.begin_occlusion_query(0)
    render.draw_indexed(len(INDICES))
    render.end_occlusion_query()
    render.execute_bundles([bundle])
    render.end()
    encoder.pop_debug_group()
    encoder.copy_texture_to_buffer({"texture": target}, {"buffer": readback, "bytes_per_row": 256}, (W, H, 1))
    encoder.resolve_query_set(occlusion, 0, 1, queries, 0)
    if timestamps is not None:
        encoder.resolve_query_set(timestamps, 0, 2, queries, 256)
    encoder.copy_buffer_to_buffer(queries, 0, query_readback, 0, 512)
    device.queue.submit([encoder.finish()])
    readback.map_sync(wgpu.MapMode.READ)
    frame = np.frombuffer(readback.read_mapped(), np.uint8).reshape(H, 256)[:, : 4 * W].reshape(H, W, 4).copy()
    readback.unmap()
    query_readback.map_sync(wgpu.MapMode.READ)
    samples = np.frombuffer(query_readback.read_mapped(), np.uint64)[:1].copy()
    query_readback.unmap()
    again = np.asarray(device.queue.read_texture({"texture": target}, {"bytes_per_row": 4 * W}, (W, H, 1)))
    return {"frame": frame, "read_texture": np.frombuffer(again, np.uint8).reshape(H, W, 4), "samples": samples}


@pytest.fixture(scope="module")
def scene_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "scene.wgtrace"
    device = open_device()
    with recording(path, data="full"):
        out = scene(device)
    return load(path), out


def test_a_render_program_replays_pixel_exact(engine, scene_trace):
    trace, out = scene_trace
    assert (out["frame"] == out["read_texture"]).all() and out["samples"][0] > 0  # the program drew something
    assert not (out["frame"] == out["frame"][0, 0]).all()
    kinds = set(trace.counts())
    assert {"render_pipeline", "bundle_finish", "execute_bundles", "draw_indexed", "read_texture",
            "copy_texture_to_buffer", "copy_texture_to_texture", "copy_buffer_to_texture", "resolve_query_set",
            "begin_occlusion_query", "render_state", "debug_marker", "sampler", "write_texture"} <= kinds
    report = replay(trace, engine, adapter="test", repeat=2)
    assert report.ok, [d.line() for d in report.verdict.divergences] + [str(report.error), str(report.reference_error)]
    v = report.verdict
    stamped = trace.count_kind(Kind.TIMESTAMP_WRITES) > 0
    # the query read-back holds the resolved timestamps too, so it is not compared where they were written
    assert v.timestamp_reads == (1 if stamped else 0)
    assert v.reads == 3 - v.timestamp_reads and v.vs_recording == v.reads == v.vs_reference
    assert v.recording == "exact" and v.frames == v.render_frames == 2
    assert report.skipped_timestamps == 0 and report.deterministic
    t = report.timings()
    assert "cpu_us_per_dispatch" not in t and t["frames"] == 1 and t["ms_per_frame"]["median"] > 0


def test_the_replay_reads_what_the_program_read(engine, scene_trace):
    """Byte for byte: the replay's read_texture is the program's frame, and its copy holds the same texels."""
    trace, out = scene_trace
    run = engine.run(DecodedPlan.of(trace), payloads(plan_for(trace)).data)
    assert run.error is None
    (_, copied), (_, queries), (texture_event, texels) = run.reads
    assert trace.kind[texture_event] == Kind.READ_TEXTURE and texels == out["read_texture"].tobytes()
    frame = np.frombuffer(copied, np.uint8).reshape(H, 256)[:, : 4 * W].reshape(H, W, 4)
    assert (frame == out["frame"]).all()
    assert np.frombuffer(queries, np.uint64)[0] == out["samples"][0]  # the occlusion query's sample count


def test_timestamps_are_skipped_and_said_on_a_device_without_them(scene_trace):
    trace, _ = scene_trace
    if not trace.count_kind(Kind.TIMESTAMP_WRITES):
        pytest.skip("the adapter has no timestamp queries")
    engine = Engine(open_device(features=()))
    try:
        report = replay(trace, engine, adapter="test", reference=False)
    finally:
        engine.close()
    assert report.ok and report.skipped_timestamps == 2  # the pass's writes, and their resolve
    assert report.verdict.timestamp_reads == 1


def test_another_adapter_compares_frames_within_the_formats_tolerance(engine, scene_trace, tmp_path, capsys):
    trace, _ = scene_trace
    trace.header["adapter"] = {**trace.header["adapter"], "device": "some other GPU"}
    path = tmp_path / "elsewhere.wgtrace"
    save(trace, path)
    assert main(["replay", str(path), "--json"]) == 0
    reads = json.loads(capsys.readouterr().out)["reads"]
    assert reads["recording_comparison"] == "tolerance" and reads["vs_recording"] == reads["frames"] >= 1
    assert reads["tolerances"] == ["unorm8: ±1 per channel"]
    unorm = tolerance_of("rgba8unorm-srgb")
    a = np.arange(64, dtype=np.uint8)
    assert unorm is not None and unorm.differ(a.tobytes(), (a + 1).tobytes()) == 0
    assert unorm.differ(a.tobytes(), (a + 2).tobytes()) == 64
    f32 = tolerance_of("rgba32float")
    x = np.linspace(1, 2, 16, dtype=np.float32)
    assert f32 is not None and f32.differ(x.tobytes(), (x * 1.0005).tobytes()) == 0
    assert f32.differ(x.tobytes(), (x * 1.01).tobytes()) == 16
    assert tolerance_of("rgba8uint") is None and tolerance_of("r32uint") is None


def test_render_hazards_replay_the_recorded_divergence(tmp_path, engine, device):
    """Safe programs replay OK; a hazard replays what the recording read (the write overtook the draw there
    too), and its program-order reference draws what program order draws, so it diverges from it."""
    for name in (*HAZARDS, *SAFE):
        path = tmp_path / f"{name}.wgtrace"
        with recording(path, data="full"):
            out = PROGRAMS[name](device)
        trace = load(path)
        report = replay(trace, engine, adapter="test")
        assert report.error is None and report.reference_error is None, name
        against = {d.against for d in report.verdict.divergences}
        assert report.verdict.vs_recording == report.verdict.reads == len(out["frames"]), name
        if name in SAFE:
            assert report.ok, (name, [d.line() for d in report.verdict.divergences])
            continue
        assert against == {"reference"} and not report.ok, (name, [d.line() for d in report.verdict.divergences])
        assert not (out["frames"][0] == out["program_order"][0]).all(), name
        # the reference (the planner's, or replay's own where the planner refuses render work) draws program order
        for reference in (reference_plan(trace), program_order_plan(trace)):
            run = engine.run(DecodedPlan.of(reference.trace), payloads(reference).data)
            assert run.error is None
            (_, frame), = run.reads
            pixels = np.frombuffer(frame, np.uint8)
            pixels = (pixels.reshape(SIZE, ROW)[:, : SIZE * 4] if name != "texture_compute_hazard"
                      else pixels[: SIZE * SIZE * 4]).reshape(SIZE, SIZE, 4)
            assert (pixels == out["program_order"][0]).all(), (name, reference.passes)


def test_the_program_order_reference_splits_a_pass_a_write_lands_in(engine, device, tmp_path):
    """A write recorded while a render pass is open: the reference ends the pass before it, submits, and
    begins it again loading the target, with its pipeline and bind group set again."""
    from render_hazards import NEW_COLOUR, OLD_COLOUR, begin, copy_out, read, solid, uniform_scene, unorm8

    path = tmp_path / "split.wgtrace"
    with recording(path, data="full"):
        scene_ = uniform_scene(device)
        encoder = device.create_command_encoder()
        render = begin(encoder, scene_)
        render.set_scissor_rect(0, 0, SIZE // 2, SIZE)
        render.draw(3)
        device.queue.write_buffer(scene_.resource, 0, NEW_COLOUR)
        render.set_scissor_rect(SIZE // 2, 0, SIZE // 2, SIZE)
        render.draw(3)
        render.end()
        copy_out(encoder, scene_, 0)
        device.queue.submit([encoder.finish()])
        frame = read(scene_, 0)
    trace = load(path)
    assert (frame == solid(unorm8(NEW_COLOUR))).all()  # the write overtook both draws
    plan = program_order_plan(trace)
    assert plan.trace.count_kind(Kind.RENDER_PASS_BEGIN) == 2 and plan.trace.count_kind(Kind.SUBMIT) == 2
    run = engine.run(DecodedPlan.of(plan.trace), payloads(plan).data)
    assert run.error is None
    (_, data), = run.reads
    pixels = np.frombuffer(data, np.uint8).reshape(SIZE, ROW)[:, : SIZE * 4].reshape(SIZE, SIZE, 4)
    assert (pixels[:, : SIZE // 2] == unorm8(OLD_COLOUR)).all() and (pixels[:, SIZE // 2:] == unorm8(NEW_COLOUR)).all()


def _record_example(tmp_path_factory, module: str) -> Path:
    path = tmp_path_factory.mktemp(module) / f"{module}.wgtrace"
    env = {**os.environ, "RENDERCANVAS_FORCE_OFFSCREEN": "1", "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR",
                                                                                                "/tmp")}
    done = subprocess.run([sys.executable, "-m", "wgtrace.traces", "record", "--data", "full", "-o", str(path), "--",
                           sys.executable, "-m", f"examples.{module}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return path


@pytest.mark.parametrize("module, frames", [("pygfx_scene", 4), ("fastplotlib_figure", 2)])
def test_pygfx_and_fastplotlib_replay_ok_frame_for_frame(tmp_path_factory, capsys, module, frames):
    path = _record_example(tmp_path_factory, module)
    assert main(["replay", str(path), "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert "verdict  OK" in out, out
    assert f"{frames} checked: {frames} against the recording, {frames} against the program-order reference" in out
    assert f"frames   {frames} texture read-backs verified ({frames} of render targets)" in out
    assert "ms per frame" in out and "per dispatch" not in out, out
    assert main(["replay", str(path), "--json", "--no-reference"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["timings"]["frames"] == frames and doc["plan"]["opaque"] == 0
    assert doc["plan"]["frames"] == frames and doc["plan"]["render_passes"] > 0


def test_frame_times_run_submit_to_submit():
    from wgtrace.replay.engine import Run

    runs = [Run([], 10, 1.0, 0.5, 1.1, frames=[0.2, 0.4, 0.6, 0.8]), Run([], 10, 2.0, 0.5, 2.1, frames=[0.0, 1.0])]
    t = frame_times(runs)
    assert t["frames"] == 4 and t["ms_per_frame"]["min"] == pytest.approx(200) and t["ms_per_frame"]["max"] == 1000
    assert frame_times([Run([], 1, 1.0, 1.0, 1.0)]) == {}


def _refused(build) -> TraceBuilder:
    b = TraceBuilder(make_header(program=["test"]))
    b.add(Kind.DEVICE, "app.py:1", device=0, adapter="{}", limits="{}")
    build(b)
    return b


def test_what_the_trace_does_not_describe_is_refused_before_any_gpu_work(engine, tmp_path, capsys):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.ENCODER_CREATE, "app.py:2", encoder=0, device=0)
        b.add(Kind.RENDER_PASS_BEGIN, "app.py:3", render_pass=0, encoder=0, descriptor='{"label": "before"}')

    trace = _refused(build).build()
    with pytest.raises(InputError, match=r"event 2 \(render_pass_begin at app.py:3\): a render pass begun before"):
        engine.run(DecodedPlan.of(trace), {})
    path = tmp_path / "t.wgtrace"
    save(trace, path)
    capsys.readouterr()
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "attachments are not in the trace" in err, err


def test_textures_and_views_replay_and_a_bad_view_is_reported_at_its_call(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.TEXTURE_CREATE, "app.py:2", texture=0, width=4, height=4, depth_or_array_layers=1,
              format="rgba8unorm", device=0, rows=[(1, 1, 2, 0x6, None)])
        b.add(Kind.TEXTURE_VIEW, "app.py:3", view=0, texture=0, format="rgba8unorm", dimension="2d",
              rows=[(0, 1, 0, 1, 0)])
        b.add(Kind.TEXTURE_VIEW, "app.py:4", view=1, texture=0, format="rgba8unorm", dimension="2d",
              rows=[(3, 1, 0, 1, 0)])

    run = engine.run(DecodedPlan.of(_refused(build).build()), {})
    assert run.error is not None and (run.error.kind, run.error.site) == ("texture_view", "app.py:4"), run.error


def test_a_destroyed_texture_in_a_submit_or_read_is_refused_not_fatal(engine):
    """wgpu-native aborts the process on a submit that uses a destroyed texture, and on a read_texture of one."""
    def build(b: TraceBuilder) -> None:
        b.add(Kind.TEXTURE_CREATE, "app.py:2", texture=0, width=4, height=4, depth_or_array_layers=1,
              format="rgba8unorm", device=0, rows=[(1, 1, 2, 0x3, None)])
        b.add(Kind.BUFFER_CREATE, "app.py:3", buffer=0, size=1024, usage=0x9, device=0)
        b.add(Kind.ENCODER_CREATE, "app.py:4", encoder=0, device=0)
        b.add(Kind.COPY_TEXTURE_TO_BUFFER, "app.py:5", encoder=0, texture=0, buffer=0,
              rows=[(0, 0, 0, 0, 0), (0, 256, -1), (4, 4, 1)])
        b.add(Kind.TEXTURE_DESTROY, "app.py:6", texture=0, dropped=0)
        b.add(Kind.ENCODER_FINISH, "app.py:7", encoder=0)
        b.add(Kind.SUBMIT, "app.py:8", device=0, rows=[(0,)])

    e = replay(_refused(build).build(), engine, adapter="test", reference=False).error
    assert e is not None and (e.error, e.site) == ("refused", "app.py:8") and "texture 0 was destroyed" in e.message

    def read(b: TraceBuilder) -> None:
        b.add(Kind.TEXTURE_CREATE, "app.py:2", texture=0, width=4, height=4, depth_or_array_layers=1,
              format="rgba8unorm", device=0, rows=[(1, 1, 2, 0x3, None)])
        b.add(Kind.TEXTURE_DESTROY, "app.py:3", texture=0, dropped=0)
        b.add(Kind.READ_TEXTURE, "app.py:4", texture=0, size=64, rows=[(0, 16, -1), (0, 0, 0, 0, 0), (4, 4, 1)])

    e = replay(_refused(read).build(), engine, adapter="test", reference=False).error
    assert e is not None and (e.error, e.kind) == ("refused", "read_texture") and "destroyed" in e.message


def test_a_bad_command_in_a_render_pass_is_found_by_bisection(engine, device, tmp_path):
    path = tmp_path / "vertex.wgtrace"
    with recording(path, data="full"):
        PROGRAMS["vertex_safe"](device)
    trace = load(path)
    vertex_set = int(trace.where(Kind.SET_VERTEX_BUFFER)[0])
    trace.args[vertex_set, 3] = 1 << 20  # an offset past the vertex buffer's end
    e = replay(trace, engine, adapter="test", reference=False).error
    assert e is not None and (e.kind, e.cause, e.cause_kind) == ("encoder_finish", vertex_set, "set_vertex_buffer"), e
