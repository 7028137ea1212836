"""What recording costs: microseconds added per recorded wgpu call, and wall-time overhead.

Self-contained (wgpu-py, numpy and wgtrace only), so it runs the same on lavapipe and on a real GPU:

    python benchmarks/bench_tracer.py [--json out.json] [--repeats 7] [--data digest|full]

Each workload runs on one device, alternately plain and under ``wgtrace.tracer.recording`` (digest
mode by default), ``--repeats`` times each after a warm-up; the table gives medians. Times include
waiting for the GPU, so the wall overhead is what a program would see.

- ``dispatch``: thousands of small dispatches in one pass (set_pipeline, set_bind_group,
  dispatch_workgroups), one submit, one read back: the recorder's hottest path.
- ``eager``: an eager-runtime step loop: every op allocates an output buffer and a uniform, writes
  the uniform with queue.write_buffer, builds a bind group and dispatches; one submit per step,
  a read every few steps; buffers are dropped (recorded as drops).

The floor, measured in the same run: the thinnest wrapper, a closure per recorded method that appends
its arguments as a tuple to a list and calls the method (``thin``); ``x thin`` is the recorder's added
time per call over the floor's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import wgpu

from wgtrace.tracer import recording, sites
from wgtrace.tracer.instrument import RECORDED
from wgtrace.traces import load

SHADER = """
struct Params { scale: f32, count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < p.count) { dst[gid.x] = src[gid.x] * p.scale + 1.0; }
}
"""
N = 64
STORAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
UNIFORM = wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST


class Kernels:
    def __init__(self, device: wgpu.GPUDevice):
        self.device = device
        module = device.create_shader_module(code=SHADER)
        self.pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
        self.layout = self.pipeline.get_bind_group_layout(0)

    @staticmethod
    def params(scale: float) -> bytes:
        return np.array([scale], np.float32).tobytes() + np.array([N], np.uint32).tobytes()

    def bind(self, uniform: wgpu.GPUBuffer, src: wgpu.GPUBuffer, dst: wgpu.GPUBuffer) -> wgpu.GPUBindGroup:
        return self.device.create_bind_group(layout=self.layout, entries=[
            {"binding": 0, "resource": {"buffer": uniform}},
            {"binding": 1, "resource": {"buffer": src}},
            {"binding": 2, "resource": {"buffer": dst}},
        ])


def dispatch_workload(k: Kernels, dispatches: int) -> None:
    device = k.device
    uniform = device.create_buffer_with_data(data=k.params(0.5), usage=UNIFORM)
    a = device.create_buffer_with_data(data=np.ones(N, np.float32), usage=STORAGE)
    b = device.create_buffer(size=N * 4, usage=STORAGE)
    groups = [k.bind(uniform, a, b), k.bind(uniform, b, a)]
    encoder = device.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(k.pipeline)
    for i in range(dispatches):
        compute.set_bind_group(0, groups[i & 1])
        compute.dispatch_workgroups(1)
    compute.end()
    device.queue.submit([encoder.finish()])
    device.queue.read_buffer(a)


def eager_workload(k: Kernels, steps: int, ops: int = 16, read_every: int = 5) -> None:
    device = k.device
    x = device.create_buffer_with_data(data=np.ones(N, np.float32), usage=STORAGE)
    for step in range(steps):
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        for _ in range(ops):
            out = device.create_buffer(size=N * 4, usage=STORAGE)
            uniform = device.create_buffer(size=8, usage=UNIFORM)
            device.queue.write_buffer(uniform, 0, k.params(0.999))
            compute.set_pipeline(k.pipeline)
            compute.set_bind_group(0, k.bind(uniform, x, out))
            compute.dispatch_workgroups(1)
            x = out
        compute.end()
        device.queue.submit([encoder.finish()])
        if step % read_every == 0:
            device.queue.read_buffer(x)
    device.queue.read_buffer(x)


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this thread): the recorder works in the calling thread only."""
    w, c = time.perf_counter(), time.thread_time()
    run()
    return time.perf_counter() - w, time.thread_time() - c


@contextmanager
def thin_wrappers() -> Iterator[list]:
    """The floor: every method the recorder wraps, wrapped by a closure that appends its arguments to a list."""
    log: list = []
    saved = [(cls, name, cls.__dict__.get(name)) for cls, methods in RECORDED.items() for name in methods
             if hasattr(cls, name)]
    for cls, name, _ in saved:
        setattr(cls, name, _thin(getattr(cls, name), log.append))
    try:
        yield log
    finally:
        for cls, name, own in saved:
            if own is None:
                delattr(cls, name)
            else:
                setattr(cls, name, own)


def _thin(real: Callable, append: Callable) -> Callable:
    def thin(*args, **kwargs):
        append((args, kwargs))
        return real(*args, **kwargs)

    return thin


def measure(run: Callable[[], None], repeats: int, data: str) -> dict:
    """Medians of plain, thinly wrapped and recorded runs (interleaved), and the recorded run's event count.

    The per-call figure uses the calling thread's CPU time, which the GPU driver's own threads
    (lavapipe runs kernels on the CPU) do not disturb; the wall figure is what the program feels.
    """
    plain, thin, recorded, calls = [], [], [], 0
    path = os.path.join(tempfile.mkdtemp(prefix="wgtrace-bench-"), "bench.wgtrace")
    run()  # warm-up: shader compilation, allocator
    for _ in range(repeats):
        plain.append(_timed(run))
        with thin_wrappers():
            thin.append(_timed(run))
        with recording(path, data=data):
            recorded.append(_timed(run))
        calls = len(load(path))
    os.remove(path)
    pw, pc = (statistics.median(x) for x in zip(*plain, strict=True))
    rw, rc = (statistics.median(x) for x in zip(*recorded, strict=True))
    tc = statistics.median(c for _, c in thin)
    return {"calls": calls, "plain_wall_s": pw, "recorded_wall_s": rw, "plain_cpu_s": pc, "recorded_cpu_s": rc,
            "thin_cpu_s": tc, "per_call_us": (rc - pc) / calls * 1e6, "thin_per_call_us": (tc - pc) / calls * 1e6,
            "wall_overhead_pct": (rw - pw) / pw * 100}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--dispatches", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--data", choices=("digest", "full"), default="digest")
    args = parser.parse_args(argv)

    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    kernels = Kernels(device)
    workloads = {
        "dispatch": lambda: dispatch_workload(kernels, args.dispatches),
        "eager": lambda: eager_workload(kernels, args.steps),
    }
    results = {name: measure(run, args.repeats, args.data) for name, run in workloads.items()}

    info = dict(adapter.info)
    hot_path = "C" if sites.FAST is not None else "Python"
    print(f"device: {info.get('device')} ({info.get('backend_type')}); python {platform.python_version()}, "
          f"wgpu {wgpu.__version__}; capture {args.data}; recorder hot path in {hot_path}; median of {args.repeats}")
    print(f"{'workload':<10}{'calls':>8}{'plain ms':>10}{'recorded ms':>13}{'us/call':>9}{'thin us':>9}"
          f"{'x thin':>8}{'wall %':>8}")
    for name, r in results.items():
        print(f"{name:<10}{r['calls']:>8}{r['plain_wall_s'] * 1e3:>10.1f}{r['recorded_wall_s'] * 1e3:>13.1f}"
              f"{r['per_call_us']:>9.2f}{r['thin_per_call_us']:>9.2f}"
              f"{r['per_call_us'] / r['thin_per_call_us']:>8.1f}{r['wall_overhead_pct']:>8.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": info, "python": platform.python_version(), "wgpu": wgpu.__version__,
                       "capture": args.data, "hot_path": hot_path, "repeats": args.repeats, "argv": sys.argv[1:],
                       "workloads": results},
                      f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
