"""What a submit that carries a queue write costs beyond one that carries none (the cost model asks).

A time-stepping program submits with no upload; most programs write before every submit, and wgpu then
submits its own command buffer of staging copies first. This times, on the submitting thread's CPU, a
loop of one light step (encoder, compute pass, set pipeline and bind group, one dispatch, finish,
submit), with and without a 16-byte ``write_buffer`` before each submit, and the write alone; rounds
alternate and the first two are dropped.

    python benchmarks/submit_writes.py [--steps 200] [--rounds 12]
"""

from __future__ import annotations

import argparse
import statistics
from time import thread_time

import wgpu

SHADER = """
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@compute @workgroup_size(1)
fn main() { a[0] = a[0] + 1u; }
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    device = wgpu.gpu.request_adapter_sync(power_preference="high-performance").request_device_sync()
    pipeline = device.create_compute_pipeline(layout="auto", compute={
        "module": device.create_shader_module(code=SHADER), "entry_point": "main"})
    usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.COPY_SRC
    state, other = device.create_buffer(size=256, usage=usage), device.create_buffer(size=256, usage=usage)
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": state}}])
    data = bytes(16)

    def step(write: bool) -> None:
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline)
        compute.set_bind_group(0, group)
        compute.dispatch_workgroups(1)
        compute.end()
        if write:
            device.queue.write_buffer(other, 0, data)
        device.queue.submit([encoder.finish()])

    loops = {"step, no write": lambda: step(False), "step, write before submit": lambda: step(True),
             "write alone": lambda: device.queue.write_buffer(other, 0, data)}
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.rounds):
        for name, body in loops.items():
            device.queue.read_buffer(state)
            start = thread_time()
            for _ in range(args.steps):
                body()
            times[name].append((thread_time() - start) / args.steps * 1e6)
    print(f"adapter: {device.adapter.info['device']} ({device.adapter.info['backend_type']})")
    for name, values in times.items():
        kept = values[2:]
        print(f"{name:27} {statistics.median(kept):7.2f} us CPU  (range {min(kept):.2f}-{max(kept):.2f})")


if __name__ == "__main__":
    main()
