"""Measure the host cost of each wgpu-py call the cost model prices, and print it as JSON.

Self-contained: raw wgpu-py and numpy, nothing from wgtrace. Each figure is the median, over
``--trials`` trials, of the mean host time of one call in a batch of ``--calls`` calls (per-MiB
figures: the extra time of a 4 MiB call over a 256-byte one, scaled to 1 MiB). Calls are timed
one by one with ``perf_counter_ns`` around the call alone, so setup never counts; the GPU is
drained between batches so queued work does not leak into the next figure. The output's field
names are those of ``wgtrace.sim.metrics.Costs``; ``wgtrace sim --costs FILE`` reads it.

    XDG_RUNTIME_DIR=/tmp python benchmarks/measure_costs.py > costs.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections.abc import Callable
from time import perf_counter_ns

import numpy as np
import wgpu

SMALL = 256
LARGE = 4 << 20
MIB = 1 << 20
SHADER = """
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i < arrayLength(&out)) {
        out[i] = a[i % arrayLength(&a)] + b[i % arrayLength(&b)];
    }
}
"""
RENDER_SHADER = """
@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    return vec4<f32>(f32(i % 2u), f32(i / 2u), 0.0, 1.0);
}
@fragment
fn fs() -> @location(0) vec4<f32> {
    return vec4<f32>(1.0, 0.5, 0.25, 1.0);
}
"""
TARGET = "rgba8unorm"
TEXTURE = wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.COPY_SRC | wgpu.TextureUsage.COPY_DST | \
    wgpu.TextureUsage.TEXTURE_BINDING
STORAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.INDIRECT


class Bench:
    def __init__(self, device: wgpu.GPUDevice, calls: int, trials: int):
        self.device, self.calls, self.trials = device, calls, trials
        self.module = device.create_shader_module(code=SHADER)
        self.pipeline = device.create_compute_pipeline(layout="auto", compute={"module": self.module,
                                                                               "entry_point": "main"})
        self.buffers = [device.create_buffer(size=SMALL, usage=STORAGE) for _ in range(3)]
        self.bind_group = self.make_bind_group()
        self.indirect = device.create_buffer_with_data(data=np.array([1, 1, 1], np.uint32), usage=STORAGE)

    def make_bind_group(self) -> wgpu.GPUBindGroup:
        return self.device.create_bind_group(
            layout=self.pipeline.get_bind_group_layout(0),
            entries=[{"binding": k, "resource": {"buffer": b, "offset": 0, "size": SMALL}}
                     for k, b in enumerate(self.buffers)])

    def drain(self) -> None:
        """Wait for the GPU: a queue read maps after all submitted work (on_submitted_work_done_sync
        fails on wgpu-py 0.32's native library)."""
        self.device.queue.read_buffer(self.buffers[0], 0, 4)

    def per_call(self, setup: Callable[[], object], call: Callable[[object], object],
                 teardown: Callable[[object], object] = lambda state: None) -> float:
        """Median over trials of the mean microseconds of ``call(state)``, ``state`` made by ``setup``.

        One untimed batch goes first: wgpu's first queue writes set up its staging memory and cost
        a hundred times a steady-state call.
        """
        means = []
        for _ in range(self.trials + 1):
            total = 0
            for _ in range(self.calls):
                state = setup()
                t = perf_counter_ns()
                call(state)
                total += perf_counter_ns() - t
                teardown(state)
            self.drain()
            means.append(total / self.calls / 1000)
        return round(statistics.median(means[1:]), 3)

    def in_pass(self, call: Callable[[wgpu.GPUComputePassEncoder], object]) -> float:
        """Per-call microseconds of ``call`` inside one open compute pass with pipeline and group set."""
        means = []
        for _ in range(self.trials + 1):
            encoder = self.device.create_command_encoder()
            compute = encoder.begin_compute_pass()
            compute.set_pipeline(self.pipeline)
            compute.set_bind_group(0, self.bind_group)
            total = 0
            for _ in range(self.calls):
                t = perf_counter_ns()
                call(compute)
                total += perf_counter_ns() - t
            compute.end()
            self.device.queue.submit([encoder.finish()])
            self.drain()
            means.append(total / self.calls / 1000)
        return round(statistics.median(means[1:]), 3)

    def per_mib(self, small: float, large: float) -> float:
        return round(max(large - small, 0.0) * MIB / (LARGE - SMALL), 3)


def measure(device: wgpu.GPUDevice, calls: int, trials: int) -> dict:
    bench = Bench(device, calls, trials)
    d, q = device, device.queue
    small_data, large_data = np.ones(SMALL // 4, np.uint32), np.ones(LARGE // 4, np.uint32)
    large_buffer = d.create_buffer(size=LARGE, usage=STORAGE)
    out: dict[str, object] = {}

    out["buffer_create"] = bench.per_call(lambda: None, lambda _: d.create_buffer(size=SMALL, usage=STORAGE))
    out["buffer_destroy"] = bench.per_call(lambda: d.create_buffer(size=SMALL, usage=STORAGE), lambda b: b.destroy())
    out["bind_group"] = bench.per_call(lambda: None, lambda _: bench.make_bind_group())
    out["encoder_create"] = bench.per_call(lambda: None, lambda _: d.create_command_encoder())

    def recorded_encoder() -> wgpu.GPUCommandEncoder:
        encoder = d.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(bench.pipeline)
        compute.set_bind_group(0, bench.bind_group)
        compute.dispatch_workgroups(1)
        compute.end()
        return encoder

    out["encoder_finish"] = bench.per_call(recorded_encoder, lambda e: e.finish())
    out["pass_begin"] = bench.per_call(d.create_command_encoder, lambda e: e.begin_compute_pass())
    out["pass_end"] = bench.per_call(lambda: d.create_command_encoder().begin_compute_pass(), lambda p: p.end())
    out["set_pipeline"] = bench.in_pass(lambda p: p.set_pipeline(bench.pipeline))
    out["set_bind_group"] = bench.in_pass(lambda p: p.set_bind_group(0, bench.bind_group))
    out["dispatch"] = bench.in_pass(lambda p: p.dispatch_workgroups(1))
    out["dispatch_indirect"] = bench.in_pass(lambda p: p.dispatch_workgroups_indirect(bench.indirect, 0))
    a, b = bench.buffers[0], bench.buffers[1]
    out["copy"] = bench.per_call(d.create_command_encoder, lambda e: e.copy_buffer_to_buffer(a, 0, b, 0, SMALL))
    out["clear"] = bench.per_call(d.create_command_encoder, lambda e: e.clear_buffer(a, 0, SMALL))
    out["submit"] = bench.per_call(lambda: recorded_encoder().finish(), lambda cb: q.submit([cb]))

    out["write_call"] = bench.per_call(lambda: None, lambda _: q.write_buffer(a, 0, small_data))
    large = bench.per_call(lambda: None, lambda _: q.write_buffer(large_buffer, 0, large_data))
    out["write_per_mib"] = bench.per_mib(out["write_call"], large)

    def mapped(size: int) -> wgpu.GPUBuffer:
        return d.create_buffer(size=size, usage=wgpu.BufferUsage.MAP_WRITE | wgpu.BufferUsage.COPY_SRC,
                               mapped_at_creation=True)

    out["mapped_write_call"] = bench.per_call(lambda: mapped(SMALL), lambda s: s.write_mapped(small_data),
                                              lambda s: s.unmap())
    large = bench.per_call(lambda: mapped(LARGE), lambda s: s.write_mapped(large_data), lambda s: s.unmap())
    out["mapped_write_per_mib"] = bench.per_mib(out["mapped_write_call"], large)
    out["unmap"] = bench.per_call(lambda: mapped(SMALL), lambda s: s.unmap())

    def filled_readback(size: int) -> wgpu.GPUBuffer:
        staging = d.create_buffer(size=size, usage=wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.COPY_DST)
        encoder = d.create_command_encoder()
        encoder.copy_buffer_to_buffer(large_buffer, 0, staging, 0, size)
        q.submit([encoder.finish()])
        return staging

    out["map"] = bench.per_call(lambda: filled_readback(SMALL), lambda s: s.map_sync(wgpu.MapMode.READ),
                                lambda s: s.unmap())

    def mapped_readback(size: int) -> wgpu.GPUBuffer:
        staging = filled_readback(size)
        staging.map_sync(wgpu.MapMode.READ)
        return staging

    out["read_call"] = bench.per_call(lambda: mapped_readback(SMALL), lambda s: s.read_mapped(), lambda s: s.unmap())
    large = bench.per_call(lambda: mapped_readback(LARGE), lambda s: s.read_mapped(), lambda s: s.unmap())
    out["read_per_mib"] = bench.per_mib(out["read_call"], large)
    out["queue_read_call"] = bench.per_call(lambda: None, lambda _: q.read_buffer(a, 0, SMALL))
    large = bench.per_call(lambda: None, lambda _: q.read_buffer(large_buffer, 0, LARGE))
    out["queue_read_per_mib"] = bench.per_mib(out["queue_read_call"], large)
    out.update(measure_render(bench, large_buffer))
    return out


def measure_render(bench: Bench, large_buffer: wgpu.GPUBuffer) -> dict[str, float]:
    """The render side's calls: textures, views, samplers, render passes and what is recorded in them, texture
    uploads and copies out (per-MiB figures: a 1024 x 1024 RGBA upload over a 8 x 8 one)."""
    d, q = bench.device, bench.device.queue
    module = d.create_shader_module(code=RENDER_SHADER)
    pipeline = d.create_render_pipeline(layout="auto", vertex={"module": module, "entry_point": "vs"},
                                        fragment={"module": module, "entry_point": "fs",
                                                  "targets": [{"format": TARGET}]})
    target = d.create_texture(size=(64, 64, 1), format=TARGET, usage=TEXTURE)
    view = target.create_view()
    vertices = d.create_buffer(size=SMALL, usage=wgpu.BufferUsage.VERTEX)
    attachment = [{"view": view, "load_op": "clear", "store_op": "store", "clear_value": (0, 0, 0, 1)}]

    def texture(size: int = 64) -> wgpu.GPUTexture:
        return d.create_texture(size=(size, size, 1), format=TARGET, usage=TEXTURE)

    def in_render_pass(call: Callable[[wgpu.GPURenderPassEncoder], object]) -> float:
        def begun() -> tuple[wgpu.GPUCommandEncoder, wgpu.GPURenderPassEncoder]:
            encoder = d.create_command_encoder()
            render = encoder.begin_render_pass(color_attachments=attachment)
            render.set_pipeline(pipeline)
            return encoder, render
        return bench.per_call(begun, lambda s: call(s[1]), lambda s: s[1].end())

    out = {"texture_create": bench.per_call(lambda: None, lambda _: texture()),
           "texture_view": bench.per_call(texture, lambda t: t.create_view()),
           "texture_destroy": bench.per_call(texture, lambda t: t.destroy()),
           "sampler": bench.per_call(lambda: None, lambda _: d.create_sampler()),
           "render_pass_begin": bench.per_call(d.create_command_encoder,
                                               lambda e: e.begin_render_pass(color_attachments=attachment)),
           "draw": in_render_pass(lambda r: r.draw(3)),
           "render_state": in_render_pass(lambda r: r.set_viewport(0, 0, 32, 32, 0, 1)),
           "set_vertex_or_index_buffer": in_render_pass(lambda r: r.set_vertex_buffer(0, vertices)),
           "texture_copy": bench.per_call(d.create_command_encoder, lambda e: e.copy_texture_to_buffer(
               {"texture": target}, {"buffer": large_buffer, "bytes_per_row": 256}, (64, 1, 1)))}
    small, large = texture(8), texture(1024)
    pixels = {n: np.ones((n, n, 4), np.uint8) for n in (8, 1024)}

    def upload(t: wgpu.GPUTexture, n: int) -> None:
        q.write_texture({"texture": t}, pixels[n], {"bytes_per_row": 4 * n}, (n, n, 1))

    out["write_texture_call"] = bench.per_call(lambda: None, lambda _: upload(small, 8))
    big = bench.per_call(lambda: None, lambda _: upload(large, 1024))
    out["write_texture_per_mib"] = round(max(big - out["write_texture_call"], 0.0) * MIB / (4 * (1024**2 - 64)), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per batch (default 200)")
    parser.add_argument("--trials", type=int, default=5, help="batches; the median is reported (default 5)")
    args = parser.parse_args(argv)
    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    info = adapter.info
    costs = measure(device, args.calls, args.trials)
    source = (f"{info.get('device', '?')} ({info.get('backend_type', '?')}), wgpu-py {wgpu.__version__}, "
              f"{platform.processor() or platform.machine()}, benchmarks/measure_costs.py "
              f"--calls {args.calls} --trials {args.trials}")
    json.dump({"source": source, **costs}, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
