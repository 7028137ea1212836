"""Does a kernel's work land in the submitting thread's CPU time? (the cost model's calibration asks)

Submits one dispatch of a kernel that loops ``--iters`` times per invocation (256 workgroups of 64),
then reads 4 bytes back, and prints the thread CPU time and the wall time of the submit and of the
read. On an adapter that runs kernels on other threads (lavapipe's llvmpipe workers) or on a GPU,
the submit's and the read's CPU stay flat while their wall time grows with the kernel.

``--steps N`` then times N steps back to back (encoder, pass, dispatch, finish, submit: nbody's loop),
the second of two rounds, while the device still runs the earlier steps' kernels: on lavapipe a
submit then waits for the kernels before it (a step's wall time is its kernel's), and part of that
wait is the submitting thread's CPU, so a step's CPU grows with the kernels it waits for.

``--writes N`` times N light steps (``--iters 1``) on the thread's CPU, with and without a 16-byte
``write_buffer`` before each submit, and the write alone, in alternating rounds (the first two
dropped): what a submit that carries an upload costs beyond one that carries none (a time-stepping
program submits with none; most programs write before every submit, and wgpu then submits its own
command buffer of staging copies first).

    python benchmarks/submit_cpu.py --iters 1 1000 10000 [--steps 20] [--writes 200]
"""

from __future__ import annotations

import argparse
import statistics
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


def _pipeline(device: wgpu.GPUDevice, iters: int) -> tuple[wgpu.GPUComputePipeline, wgpu.GPUBuffer,
                                                              wgpu.GPUBindGroup]:
    module = device.create_shader_module(code=SHADER.replace("ITER", str(iters)))
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    out = device.create_buffer(size=4 * 64 * 256, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": out}}])
    return pipeline, out, group


def _step(device: wgpu.GPUDevice, pipeline: wgpu.GPUComputePipeline, group: wgpu.GPUBindGroup) -> wgpu.GPUCommandBuffer:
    """One step's commands, encoded: a pass with one dispatch of 256 workgroups."""
    encoder = device.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    compute.set_bind_group(0, group)
    compute.dispatch_workgroups(256)
    compute.end()
    return encoder.finish()


def steps(device: wgpu.GPUDevice, iters: int, n: int) -> tuple[float, float]:
    """(CPU, wall) in us per step of ``n`` steps submitted back to back, the second of two rounds."""
    pipeline, out, group = _pipeline(device, iters)
    figures = (0.0, 0.0)
    for _ in range(2):
        c0, w0 = time.thread_time(), time.perf_counter()
        for _ in range(n):
            device.queue.submit([_step(device, pipeline, group)])
        c1, w1 = time.thread_time(), time.perf_counter()
        device.queue.read_buffer(out, 0, 4)
        figures = (1e6 * (c1 - c0) / n, 1e6 * (w1 - w0) / n)
    return figures


def measure(device: wgpu.GPUDevice, iters: int) -> tuple[float, float, float, float]:
    """(submit CPU, submit wall, read CPU, read wall) in ms, of the second of two identical runs."""
    pipeline, out, group = _pipeline(device, iters)
    figures = (0.0, 0.0, 0.0, 0.0)
    for _ in range(2):
        commands = _step(device, pipeline, group)
        c0, w0 = time.thread_time(), time.perf_counter()
        device.queue.submit([commands])
        c1, w1 = time.thread_time(), time.perf_counter()
        device.queue.read_buffer(out, 0, 4)
        c2, w2 = time.thread_time(), time.perf_counter()
        figures = (1e3 * (c1 - c0), 1e3 * (w1 - w0), 1e3 * (c2 - c1), 1e3 * (w2 - w1))
    return figures


def writes(device: wgpu.GPUDevice, n: int, rounds: int = 12) -> dict[str, list[float]]:
    """CPU us per light step with and without a queue write before its submit, and per write alone."""
    pipeline, out, group = _pipeline(device, 1)
    other = device.create_buffer(size=256, usage=wgpu.BufferUsage.COPY_DST)
    data = bytes(16)

    def step(write: bool) -> None:
        commands = _step(device, pipeline, group)
        if write:
            device.queue.write_buffer(other, 0, data)
        device.queue.submit([commands])

    loops = {"step, no write": lambda: step(False), "step, write before submit": lambda: step(True),
             "write alone": lambda: device.queue.write_buffer(other, 0, data)}
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(rounds):
        for name, body in loops.items():
            device.queue.read_buffer(out, 0, 4)
            c0 = time.thread_time()
            for _ in range(n):
                body()
            times[name].append(1e6 * (time.thread_time() - c0) / n)
    return {name: values[2:] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, nargs="+", default=[1, 1000, 10000])
    parser.add_argument("--steps", type=int, default=0, help="also time this many steps back to back")
    parser.add_argument("--writes", type=int, default=0, help="also time this many light steps with and without "
                                                               "a queue write before each submit")
    args = parser.parse_args()
    device = wgpu.gpu.request_adapter_sync(power_preference="high-performance").request_device_sync()
    print(f"adapter: {device.adapter.info['device']} ({device.adapter.info['backend_type']})")
    for iters in args.iters:
        s_cpu, s_wall, r_cpu, r_wall = measure(device, iters)
        print(f"iters {iters:>6}: submit {s_cpu:.2f} ms CPU, {s_wall:.2f} ms wall; "
              f"read {r_cpu:.2f} ms CPU, {r_wall:.2f} ms wall")
    for iters in args.iters if args.steps else ():
        cpu, wall = steps(device, iters, args.steps)
        print(f"iters {iters:>6}: {args.steps} steps back to back: {cpu:.0f} us CPU, {wall:.0f} us wall per step")
    for name, values in (writes(device, args.writes) if args.writes else {}).items():
        print(f"{name:27} {statistics.median(values):7.2f} us CPU  (range {min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
