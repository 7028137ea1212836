"""Does a kernel's work land in the submitting thread's CPU time? (the cost model's calibration asks)

Submits one dispatch of a kernel that loops ``--iters`` times per invocation (256 workgroups of 64),
then reads 4 bytes back, and prints the thread CPU time and the wall time of the submit and of the
read. On an adapter that runs kernels on other threads (lavapipe's llvmpipe workers) or on a GPU,
the submit's and the read's CPU stay flat while their wall time grows with the kernel.

    python benchmarks/submit_cpu.py --iters 1 1000 10000
"""

from __future__ import annotations

import argparse
import time

import wgpu

SHADER = """
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var x = f32(g.x);
  for (var i = 0u; i < ITERu; i++) { x = sin(x) * 1.0001 + 0.5; }
  out[g.x] = x;
}
"""


def measure(device: wgpu.GPUDevice, iters: int) -> tuple[float, float, float, float]:
    """(submit CPU, submit wall, read CPU, read wall) in ms, of the second of two identical runs."""
    module = device.create_shader_module(code=SHADER.replace("ITER", str(iters)))
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    out = device.create_buffer(size=4 * 64 * 256, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": out}}])
    figures = (0.0, 0.0, 0.0, 0.0)
    for _ in range(2):
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(pipeline)
        compute.set_bind_group(0, group)
        compute.dispatch_workgroups(256)
        compute.end()
        commands = encoder.finish()
        c0, w0 = time.thread_time(), time.perf_counter()
        device.queue.submit([commands])
        c1, w1 = time.thread_time(), time.perf_counter()
        device.queue.read_buffer(out, 0, 4)
        c2, w2 = time.thread_time(), time.perf_counter()
        figures = (1e3 * (c1 - c0), 1e3 * (w1 - w0), 1e3 * (c2 - c1), 1e3 * (w2 - w1))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, nargs="+", default=[1, 1000, 10000])
    args = parser.parse_args()
    device = wgpu.gpu.request_adapter_sync(power_preference="high-performance").request_device_sync()
    print(f"adapter: {device.adapter.info['device']} ({device.adapter.info['backend_type']})")
    for iters in args.iters:
        s_cpu, s_wall, r_cpu, r_wall = measure(device, iters)
        print(f"iters {iters:>6}: submit {s_cpu:.2f} ms CPU, {s_wall:.2f} ms wall; "
              f"read {r_cpu:.2f} ms CPU, {r_wall:.2f} ms wall")


if __name__ == "__main__":
    main()
