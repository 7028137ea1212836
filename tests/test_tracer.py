"""The recorder on real wgpu (lavapipe here): what it writes, and that programs compute the same.

Every example is run plain and under ``recording``; its wgpu calls are counted independently by
wrappers installed before the recorder's (``counting``), and each event count must match them.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import wgpu
from wgpu.backends.wgpu_native import _api

from wgtrace.tracer import recording
from wgtrace.tracer.instrument import DROPS, OPAQUE, RECORDED
from wgtrace.tracer.sites import line_at
from wgtrace.traces import Access, Kind, TraceBuilder, load
from wgtrace.traces.digest import digest

from gpu_program import STORAGE, request_device

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the examples are a package at the repository root
    sys.path.insert(0, str(ROOT))

SHADER = """
struct Params { scale: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@group(0) @binding(3) var<storage, read_write> unused: array<u32>;

fn load_src(i: u32) -> u32 { return src[i]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    if (g.x < arrayLength(&dst)) { dst[g.x] = load_src(g.x) * p.scale; }
}
"""

# what each event kind counts, as wgpu-py calls made by the program (top level only)
CALLS = {
    Kind.DEVICE: ["GPUDevice.__init__"],
    Kind.BUFFER_CREATE: ["GPUDevice.create_buffer", "GPUDevice.create_buffer_with_data"],
    Kind.SHADER_MODULE: ["GPUDevice.create_shader_module"],
    Kind.COMPUTE_PIPELINE: ["GPUDevice.create_compute_pipeline"],
    Kind.BIND_GROUP: ["GPUDevice.create_bind_group"],
    Kind.ENCODER_CREATE: ["GPUDevice.create_command_encoder"],
    Kind.ENCODER_FINISH: ["GPUCommandEncoder.finish"],
    Kind.PASS_BEGIN: ["GPUCommandEncoder.begin_compute_pass"],
    Kind.PASS_END: ["GPUComputePassEncoder.end"],
    Kind.SET_PIPELINE: ["GPUComputePassEncoder.set_pipeline"],
    Kind.SET_BIND_GROUP: ["GPUComputePassEncoder.set_bind_group"],
    Kind.DISPATCH: ["GPUComputePassEncoder.dispatch_workgroups"],
    Kind.DISPATCH_INDIRECT: ["GPUComputePassEncoder.dispatch_workgroups_indirect"],
    Kind.COPY: ["GPUCommandEncoder.copy_buffer_to_buffer"],
    Kind.CLEAR: ["GPUCommandEncoder.clear_buffer"],
    Kind.WRITE_BUFFER: ["GPUQueue.write_buffer"],
    Kind.SUBMIT: ["GPUQueue.submit"],
    Kind.QUEUE_READ: ["GPUQueue.read_buffer"],
    Kind.MAP: ["GPUBuffer.map_sync", "GPUBuffer.map_async"],
    Kind.UNMAP: ["GPUBuffer.unmap", "GPUDevice.create_buffer_with_data"],
    Kind.READ: ["GPUBuffer.read_mapped"],
    Kind.MAPPED_WRITE: ["GPUBuffer.write_mapped", "GPUDevice.create_buffer_with_data"],
}
COUNTED = {cls: [n.split(".")[1] for names in CALLS.values() for n in names if n.startswith(cls.__name__ + ".")]
           for cls in (_api.GPUDevice, _api.GPUCommandEncoder, _api.GPUComputePassEncoder, _api.GPUQueue,
                       _api.GPUBuffer)}
COUNTED[_api.GPUBuffer].append("destroy")


@contextmanager
def counting() -> Iterator[Counter]:
    """Count the program's own wgpu calls (not those wgpu makes inside another call)."""
    counts: Counter = Counter()
    depth = threading.local()
    undo = []

    def wrap(cls: type, name: str):
        real = getattr(cls, name)

        def counter(self, *args, **kwargs):
            level = getattr(depth, "n", 0)
            if level == 0:
                counts[f"{cls.__name__}.{name}"] += 1
            depth.n = level + 1
            try:
                return real(self, *args, **kwargs)
            finally:
                depth.n = level

        own = cls.__dict__.get(name)
        setattr(cls, name, counter)
        undo.append(lambda: setattr(cls, name, own) if own is not None else delattr(cls, name))

    for cls, names in COUNTED.items():
        for name in dict.fromkeys(names):
            wrap(cls, name)
    try:
        yield counts
    finally:
        for step in reversed(undo):
            step()


EXAMPLES = {  # name -> (module, argv): small sizes, every API pattern of each program kept
    "mlp_train": ("mlp_train", ["--steps", "6", "--log-every", "2"]),
    "mlp_hazard": ("mlp_train", ["--steps", "4", "--hazard"]),
    "image_filters": ("image_filters", ["--size", "64", "--iterations", "2"]),
    "nbody": ("nbody", ["--bodies", "128", "--steps", "4"]),
    "prefix_sum": ("prefix_sum", ["--size", "20000", "--rounds", "2"]),
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_recorded_counts_and_checksum(name, tmp_path, capsys):
    module_name, argv = EXAMPLES[name]
    module = importlib.import_module(f"examples.{module_name}")
    plain = module.main(argv)
    path = tmp_path / f"{name}.wgtrace"
    with counting() as counts, recording(path):
        recorded = module.main(argv)
    assert recorded == plain, "recording changed what the program computed"
    trace = load(path)
    for kind, calls in CALLS.items():
        assert trace.count_kind(kind) == sum(counts[c] for c in calls), kind.name
    destroys = trace.args[trace.where(Kind.BUFFER_DESTROY)]
    assert int((destroys[:, 1] == 0).sum()) == counts["GPUBuffer.destroy"]
    assert len(set(destroys[:, 0].tolist())) == len(destroys) <= trace.count_kind(Kind.BUFFER_CREATE)
    assert trace.end == {"events": len(trace)}
    assert trace.header["adapter"] and trace.header["limits"] and trace.header["capture"]["mode"] == "digest"
    # every call is charged to the example's own line; the counting wrappers above look like program code
    # to the recorder (calls wgpu makes for create_buffer_with_data pass through them), and a drop's site
    # is wherever the last reference went
    calls = np.flatnonzero(trace.kind != Kind.BUFFER_DESTROY)
    assert all(trace.site_of(int(i)).startswith(("examples/", "tests/test_tracer.py")) for i in calls)
    assert sum(trace.site_of(int(i)).startswith("examples/") for i in calls) > len(calls) // 2
    assert f"checksum: {plain}" in capsys.readouterr().out


def compute_once(dev: wgpu.GPUDevice, values: np.ndarray, scale: int = 3) -> np.ndarray:
    """One dispatch of SHADER with layout='auto'; returns dst."""
    module = dev.create_shader_module(code=SHADER)
    pipeline = dev.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    params = dev.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST)
    dev.queue.write_buffer(params, 0, np.array([scale, 0, 0, 0], dtype=np.uint32))
    src = dev.create_buffer_with_data(data=values, usage=STORAGE)
    dst = dev.create_buffer(size=src.size, usage=STORAGE)
    group = dev.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=[
        {"binding": 0, "resource": {"buffer": params}},
        {"binding": 1, "resource": {"buffer": src, "offset": 0}},
        {"binding": 2, "resource": dst},
    ])
    encoder = dev.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    compute.set_bind_group(0, group)
    compute.dispatch_workgroups((len(values) + 63) // 64)
    compute.end()
    dev.queue.submit([encoder.finish()])
    return np.frombuffer(dev.queue.read_buffer(dst), dtype=np.uint32)


def test_auto_layout_access_from_wgsl_and_bind_group_rows(tmp_path, device):
    with recording(tmp_path / "t.wgtrace"):
        out = compute_once(device, np.arange(100, dtype=np.uint32))
    assert (out == np.arange(100) * 3).all()
    trace = load(tmp_path / "t.wgtrace")
    pipeline = trace.event(int(trace.where(Kind.COMPUTE_PIPELINE)[0]))
    assert pipeline["pipeline_layout"] == -1 and pipeline["entry_point"] == "main"
    assert [(r["group"], r["binding"], r["access"]) for r in pipeline["rows"]] == [
        (0, 0, Access.UNIFORM), (0, 1, Access.READ_ONLY_STORAGE), (0, 2, Access.STORAGE)]  # 3 is never used
    group = trace.event(int(trace.where(Kind.BIND_GROUP)[0]))
    assert (group["layout"], group["pipeline"], group["group"]) == (-1, 0, 0)
    assert [(r["binding"], r["offset"], r["size"], r["access"]) for r in group["rows"]] == [
        (0, 0, 16, Access.UNIFORM), (1, 0, 400, Access.READ_ONLY_STORAGE), (2, 0, 400, Access.STORAGE)]


def test_explicit_layouts_and_dynamic_offsets(tmp_path, device):
    visible = wgpu.ShaderStage.COMPUTE
    with recording(tmp_path / "t.wgtrace"):
        layout = device.create_bind_group_layout(entries=[
            {"binding": 0, "visibility": visible, "buffer": {}},
            {"binding": 1, "visibility": visible, "buffer": {"type": "read-only-storage", "has_dynamic_offset": True}},
            {"binding": 2, "visibility": visible, "buffer": {"type": "storage"}},
            {"binding": 3, "visibility": visible, "buffer": {"type": "storage"}},
        ])
        pipeline = device.create_compute_pipeline(
            layout=device.create_pipeline_layout(bind_group_layouts=[layout]),
            compute={"module": device.create_shader_module(code=SHADER), "entry_point": "main"})
        params = device.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM)
        buffers = [device.create_buffer(size=1024, usage=STORAGE) for _ in range(3)]
        group = device.create_bind_group(layout=layout, entries=[
            {"binding": 0, "resource": {"buffer": params}},
            {"binding": 1, "resource": {"buffer": buffers[0], "size": 256}},
            {"binding": 2, "resource": {"buffer": buffers[1], "offset": 256}},
            {"binding": 3, "resource": {"buffer": buffers[2]}},
        ])
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline)
        compute.set_bind_group(0, group, [0, 256, 512], 1, 1)
        compute.dispatch_workgroups(1, 2, 3)
        compute.end()
        device.queue.submit([encoder.finish()])
    trace = load(tmp_path / "t.wgtrace")
    bgl = trace.event(int(trace.where(Kind.BIND_GROUP_LAYOUT)[0]))
    assert [(r["binding"], r["access"], r["dynamic"]) for r in bgl["rows"]] == [
        (0, Access.UNIFORM, 0), (1, Access.READ_ONLY_STORAGE, 1), (2, Access.STORAGE, 0), (3, Access.STORAGE, 0)]
    assert [r["bind_group_layout"] for r in trace.event(int(trace.where(Kind.PIPELINE_LAYOUT)[0]))["rows"]] == [0]
    pipe = trace.event(int(trace.where(Kind.COMPUTE_PIPELINE)[0]))
    assert pipe["pipeline_layout"] == 0
    # binding 3 is in the layout but the entry point never uses it
    assert [(r["binding"], r["access"]) for r in pipe["rows"]] == [
        (0, Access.UNIFORM), (1, Access.READ_ONLY_STORAGE), (2, Access.STORAGE)]
    rows = trace.event(int(trace.where(Kind.BIND_GROUP)[0]))["rows"]
    assert [(r["offset"], r["size"], r["access"]) for r in rows] == [
        (0, 16, Access.UNIFORM), (0, 256, Access.READ_ONLY_STORAGE), (256, 768, Access.STORAGE),
        (0, 1024, Access.STORAGE)]
    sbg = int(trace.where(Kind.SET_BIND_GROUP)[0])
    assert trace.rows_of(sbg)[:, 0].tolist() == [256]
    assert trace.args[int(trace.where(Kind.DISPATCH)[0]), 1:4].tolist() == [1, 2, 3]


def _own_parameters(method) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(method, follow_wrapped=False).parameters.values()]


def test_wrappers_take_the_methods_own_parameters_and_one_shot_iterators(tmp_path, device):
    plain = {(cls, name): _own_parameters(getattr(cls, name)) for cls, m in RECORDED.items() for name in m}
    visible = wgpu.ShaderStage.COMPUTE
    with recording(tmp_path / "t.wgtrace"):
        assert {key: _own_parameters(getattr(*key)) for key in plain} == plain
        layout = device.create_bind_group_layout(entries=(e for e in [
            {"binding": 0, "visibility": visible, "buffer": {}},
            {"binding": 1, "visibility": visible, "buffer": {"type": "read-only-storage"}},
            {"binding": 2, "visibility": visible, "buffer": {"type": "storage"}},
            {"binding": 3, "visibility": visible, "buffer": {"type": "storage"}},
        ]))
        pipeline = device.create_compute_pipeline(
            layout=device.create_pipeline_layout(bind_group_layouts=iter([layout])),
            compute={"module": device.create_shader_module(code=SHADER), "entry_point": "main"})
        buffers = [device.create_buffer(size=256, usage=wgpu.BufferUsage.UNIFORM if i == 0 else STORAGE)
                   for i in range(4)]
        group = device.create_bind_group(layout=layout, entries=iter(
            [{"binding": i, "resource": {"buffer": b}} for i, b in enumerate(buffers)]))
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline=pipeline)
        compute.set_bind_group(index=0, bind_group=group)
        compute.dispatch_workgroups(workgroup_count_x=2)
        with pytest.raises(TypeError) as recorded_error:  # the wrapper's own, as the method would raise it
            compute.dispatch_workgroups(2, workgroup_count_x=2)
        compute.end()
        device.queue.submit(cb for cb in [encoder.finish()])
    with pytest.raises(TypeError) as plain_error:
        device.create_command_encoder().begin_compute_pass().dispatch_workgroups(2, workgroup_count_x=2)
    assert str(recorded_error.value) == str(plain_error.value)
    trace = load(tmp_path / "t.wgtrace")
    assert len(trace.event(int(trace.where(Kind.BIND_GROUP_LAYOUT)[0]))["rows"]) == 4
    assert [r["bind_group_layout"] for r in trace.event(int(trace.where(Kind.PIPELINE_LAYOUT)[0]))["rows"]] == [0]
    assert [r["resource"] for r in trace.event(int(trace.where(Kind.BIND_GROUP)[0]))["rows"]] == [0, 1, 2, 3]
    assert trace.args[int(trace.where(Kind.SET_BIND_GROUP)[0]), 1:3].tolist() == [0, 0]
    assert trace.args[trace.where(Kind.DISPATCH), 1:4].tolist() == [[2, 1, 1]]
    assert trace.rows_of(int(trace.where(Kind.SUBMIT)[0]))[:, 0].tolist() == [0]


def test_drop_sites_take_the_line_f_lineno_gives():
    """Drops keep (code, offset) and look the line up later (line_at): it must be f_lineno's line."""
    seen = []

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            seen.append((frame.f_code, frame.f_lasti, frame.f_lineno))
        return trace

    sys.settrace(trace)
    try:
        json.dumps({"a": [1, 2, {"b": None}]}, indent=2, sort_keys=True)
        textwrap.fill("several words to wrap " * 10, 30)
    finally:
        sys.settrace(None)
    assert len(seen) > 1000
    assert [line_at(code, lasti) for code, lasti, _ in seen] == [lineno for _, _, lineno in seen]


def test_append_keeps_its_errors():
    """The recorder's append packs events with struct; a bad value still raises what array raised."""
    builder = TraceBuilder()
    with pytest.raises(TypeError):
        builder.append(int(Kind.DISPATCH), -1, 0, 1.5)
    with pytest.raises(OverflowError):
        builder.append(int(Kind.DISPATCH), -1, 0, 1 << 64)
    assert builder.append(int(Kind.DISPATCH), -1, np.int64(3), 1, 1, 1) == 0
    assert builder.build().args[0, :4].tolist() == [3, 1, 1, 1]


def test_full_capture_payloads_digests_and_cap(tmp_path, device):
    data = [np.full(64, i, dtype=np.uint32) for i in range(4)]
    buf = device.create_buffer(size=256, usage=STORAGE)
    with recording(tmp_path / "full.wgtrace", data="full", payload_cap=600):
        for d in data:
            device.queue.write_buffer(buf, 0, d)
        back = device.queue.read_buffer(buf)
    trace = load(tmp_path / "full.wgtrace")
    assert trace.header["capture"] == {"mode": "full", "payload_cap": 600}
    writes = [trace.event(int(i)) for i in trace.where(Kind.WRITE_BUFFER)]
    assert [w["payload"] for w in writes] == [data[0].tobytes(), data[1].tobytes(), None, None]
    assert all((w["digest_hi"], w["digest_lo"]) == digest(d.tobytes()) for w, d in zip(writes, data, strict=True))
    read = trace.event(int(trace.where(Kind.QUEUE_READ)[0]))
    assert read["payload"] is None and (read["digest_hi"], read["digest_lo"]) == digest(bytes(back))
    with recording(tmp_path / "digest.wgtrace"):
        device.queue.write_buffer(buf, 4, data[3], 8, 16)
    trace = load(tmp_path / "digest.wgtrace")
    write = trace.event(int(trace.where(Kind.WRITE_BUFFER)[0]))
    assert (write["offset"], write["size"], write["payload"]) == (4, 16, None)
    assert (write["digest_hi"], write["digest_lo"]) == digest(data[3].tobytes()[8:24])


def test_read_buffer_and_map_are_one_event_each(tmp_path, device):
    buf = device.create_buffer_with_data(data=np.arange(16, dtype=np.uint32), usage=STORAGE)
    staging = device.create_buffer(size=64, usage=wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.COPY_DST)
    with recording(tmp_path / "t.wgtrace"):
        device.queue.read_buffer(buf, 16)
        encoder = device.create_command_encoder()
        encoder.copy_buffer_to_buffer(buf, 0, staging, 0, 64)
        device.queue.submit([encoder.finish()])
        staging.map_sync(wgpu.MapMode.READ)
        staging.read_mapped(8, 16)
        staging.unmap()
    trace = load(tmp_path / "t.wgtrace")
    kinds = [Kind(k).name for k in trace.kind]
    assert kinds == ["DEVICE", "BUFFER_CREATE", "QUEUE_READ", "ENCODER_CREATE", "BUFFER_CREATE", "COPY",
                     "ENCODER_FINISH", "SUBMIT", "MAP", "READ", "UNMAP"]
    assert trace.end["adopted"] == {"device": 1, "buffer": 2}  # made before the recording started
    assert trace.args[2, :3].tolist() == [0, 16, 48]
    assert trace.args[8, :4].tolist() == [1, 1, 0, 64] and trace.args[9, :3].tolist() == [1, 8, 16]


def test_destroy_and_drop_each_buffer_once(tmp_path, device):
    with recording(tmp_path / "t.wgtrace"):
        a = device.create_buffer(size=64, usage=STORAGE)
        b = device.create_buffer(size=64, usage=STORAGE)
        a.destroy()
        a.destroy()
        line = sys._getframe().f_lineno + 1
        del a, b
        device.create_buffer(size=64, usage=STORAGE)  # dropped at once
    trace = load(tmp_path / "t.wgtrace")
    destroys = [trace.event(int(i)) for i in trace.where(Kind.BUFFER_DESTROY)]
    assert [(d["buffer"], d["dropped"]) for d in destroys] == [(0, 0), (1, 1), (2, 1)]
    assert destroys[1]["site"].endswith(f"test_tracer.py:{line}")


def test_calls_that_raise_propagate_unchanged_and_are_noted(tmp_path, device):
    with recording(tmp_path / "t.wgtrace"):
        with pytest.raises(wgpu.GPUValidationError, match="MAP"):
            device.create_buffer(size=16, usage=wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.STORAGE)
        buf = device.create_buffer(size=16, usage=STORAGE)
        with pytest.raises(ValueError, match="Invalid data_length"):
            device.queue.write_buffer(buf, 0, np.zeros(8, dtype=np.uint32))
    trace = load(tmp_path / "t.wgtrace")
    notes = [trace.event(int(i)) for i in trace.where(Kind.OPAQUE)]
    assert [n["name"] for n in notes] == ["GPUDevice.create_buffer raised", "GPUQueue.write_buffer raised"]
    assert "GPUValidationError: Validation Error" in notes[0]["detail"] and "MAP" in notes[0]["detail"]
    assert trace.count_kind(Kind.BUFFER_CREATE) == 1 and trace.count_kind(Kind.WRITE_BUFFER) == 0


def test_block_that_raises_ends_the_trace_with_the_error(tmp_path, device):
    with pytest.raises(ZeroDivisionError), recording(tmp_path / "t.wgtrace"):
        device.create_buffer(size=16, usage=STORAGE)
        line = sys._getframe().f_lineno + 1
        1 / 0  # noqa: B018
    trace = load(tmp_path / "t.wgtrace")
    assert trace.end["error"] == f"ZeroDivisionError at tests/test_tracer.py:{line}"
    assert trace.count_kind(Kind.BUFFER_CREATE) == 1


def test_several_devices(tmp_path):
    with recording(tmp_path / "t.wgtrace"):
        first, second = request_device(), request_device()
        a = compute_once(first, np.arange(64, dtype=np.uint32), 2)
        b = compute_once(second, np.arange(64, dtype=np.uint32), 2)
    assert (a == b).all()
    trace = load(tmp_path / "t.wgtrace")
    assert trace.count_kind(Kind.DEVICE) == 2
    creates = trace.args[trace.where(Kind.BUFFER_CREATE)]
    assert creates[:, 5].tolist() == [0, 0, 0, 1, 1, 1]
    assert trace.args[trace.where(Kind.SUBMIT), 0].tolist() == [0, 1]


def test_threads_each_call_recorded_whole(tmp_path, device):
    module = device.create_shader_module(code="@compute @workgroup_size(1) fn main() {}")
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module})
    n_threads, n = 4, 200

    def work():
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline)
        for i in range(n):
            compute.dispatch_workgroups(i + 1)
        compute.end()
        device.queue.submit([encoder.finish()])

    with recording(tmp_path / "t.wgtrace"):
        threads = [threading.Thread(target=work) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    trace = load(tmp_path / "t.wgtrace")
    dispatch = trace.args[trace.where(Kind.DISPATCH)]
    assert len(dispatch) == n_threads * n
    for p in range(n_threads):  # each pass got its own dispatches, in its own order
        assert dispatch[dispatch[:, 0] == p, 1].tolist() == list(range(1, n + 1))
    assert sorted(trace.rows[trace.row_start[trace.where(Kind.SUBMIT)], 0].tolist()) == list(range(n_threads))


def test_opaque_calls_and_wgpu_restored_afterwards(tmp_path, device):
    before = {(cls, name): cls.__dict__.get(name) for cls, m in RECORDED.items() for name in m}
    before |= {(cls, name): cls.__dict__.get(name) for cls, names in OPAQUE.items() for name in names}
    before |= {(cls, "_release"): cls.__dict__.get("_release") for cls in DROPS}
    with recording(tmp_path / "t.wgtrace"):
        texture = device.create_texture(size=(4, 4, 1), format=wgpu.TextureFormat.rgba8unorm,
                                        usage=wgpu.TextureUsage.COPY_DST, label="tex")
        texture.destroy()
        request_device().destroy()  # no kind models it: a note
    after = {key: key[0].__dict__.get(key[1]) for key in before}
    assert after == before
    trace = load(tmp_path / "t.wgtrace")
    assert trace.count_kind(Kind.TEXTURE_CREATE) == 1 and trace.count_kind(Kind.TEXTURE_DESTROY) == 1
    notes = [trace.event(int(i)) for i in trace.where(Kind.OPAQUE)]
    assert [(n["name"], n["detail"], n["device"]) for n in notes] == [("GPUDevice.destroy", None, 1)]


def test_recordings_do_not_nest(tmp_path):
    with recording(tmp_path / "a.wgtrace"), pytest.raises(RuntimeError, match="already recording"):
        with recording(tmp_path / "b.wgtrace"):
            pass
    assert load(tmp_path / "a.wgtrace").end == {"events": 0}
