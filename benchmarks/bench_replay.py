"""Replay's own CPU cost per dispatch against raw wgpu-py making the same calls, measured in one run.

The raw side is a plain wgpu-py loop of N dispatches; the replay side is the trace of exactly those
calls, replayed by the engine. Both create the same objects, record the same commands, submit once
and end with the same one-word read that waits for the device. Runs alternate (raw, replay, raw,
...) so that drift in the machine hits both alike; the figures are medians over the repeats.

    python benchmarks/bench_replay.py [--dispatches N] [--repeat R] [--layout pass-per-dispatch|one-pass] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from time import perf_counter, thread_time

import wgpu

from wgtrace.replay.device import adapter_name, open_device
from wgtrace.replay.engine import DecodedPlan, Engine
from wgtrace.traces import Kind, TraceBuilder, make_header

SHADER = """
@group(0) @binding(0) var<storage, read_write> data: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < arrayLength(&data)) {
        data[gid.x] = data[gid.x] * 3u + 1u;
    }
}
"""
USAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
SIZE = 256


def raw(device: wgpu.GPUDevice, n: int, one_pass: bool) -> tuple[float, float, float]:
    """(issue s, thread CPU s, synchronised s) of the plain wgpu-py program."""
    c0, t0 = thread_time(), perf_counter()
    buffer = device.create_buffer(size=SIZE, usage=USAGE)
    module = device.create_shader_module(code=SHADER)
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    bind_group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                          entries=[{"binding": 0, "resource": {"buffer": buffer, "offset": 0,
                                                                               "size": SIZE}}])
    encoder = device.create_command_encoder()
    if one_pass:
        compute_pass = encoder.begin_compute_pass()
        for _ in range(n):
            compute_pass.set_pipeline(pipeline)
            compute_pass.set_bind_group(0, bind_group)
            compute_pass.dispatch_workgroups(1, 1, 1)
        compute_pass.end()
    else:
        for _ in range(n):
            compute_pass = encoder.begin_compute_pass()
            compute_pass.set_pipeline(pipeline)
            compute_pass.set_bind_group(0, bind_group)
            compute_pass.dispatch_workgroups(1, 1, 1)
            compute_pass.end()
    device.queue.submit([encoder.finish()])
    t1, c1 = perf_counter(), thread_time()
    device.queue.read_buffer(buffer, 0, 4)
    t2 = perf_counter()
    buffer.destroy()
    return t1 - t0, c1 - c0, t2 - t0


def trace_of_raw(n: int, one_pass: bool):
    """The trace of exactly the calls ``raw`` makes (its last read is the replay's final sync)."""
    b = TraceBuilder(make_header(program=["bench_replay"]))
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, buffer=0, size=SIZE, usage=int(USAGE), device=0)
    b.add(Kind.SHADER_MODULE, module=0, code=SHADER, device=0)
    b.add(Kind.COMPUTE_PIPELINE, pipeline=0, module=0, entry_point="main", device=0, rows=[(0, 0, 3)])
    b.add(Kind.BIND_GROUP, bind_group=0, pipeline=0, group=0, rows=[(0, 0, 0, SIZE, 3)])
    b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
    passes = 1 if one_pass else n
    per_pass = n if one_pass else 1
    for p in range(passes):
        b.add(Kind.PASS_BEGIN, compute_pass=p, encoder=0)
        for _ in range(per_pass):
            b.add(Kind.SET_PIPELINE, compute_pass=p, pipeline=0)
            b.add(Kind.SET_BIND_GROUP, compute_pass=p, index=0, bind_group=0)
            b.add(Kind.DISPATCH, compute_pass=p, x=1, y=1, z=1)
        b.add(Kind.PASS_END, compute_pass=p)
    b.add(Kind.ENCODER_FINISH, encoder=0)
    b.add(Kind.SUBMIT, device=0, rows=[(0,)])
    return b.build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dispatches", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--layout", choices=("pass-per-dispatch", "one-pass"), default="pass-per-dispatch")
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    one_pass = args.layout == "one-pass"
    device = open_device(args.adapter)
    engine = Engine(device)
    program = DecodedPlan.of(trace_of_raw(args.dispatches, one_pass))
    samples: dict[str, list[tuple[float, float, float]]] = {"raw": [], "replay": []}
    for k in range(args.repeat + 1):
        r = raw(device, args.dispatches, one_pass)
        run = engine.run(program, {})
        if run.error is not None:
            print(f"bench_replay: replay failed: {run.error.line()}", file=sys.stderr)
            return 1
        if k:
            samples["raw"].append(r)
            samples["replay"].append((run.issue_s, run.cpu_s, run.wall_s))
    engine.close()
    n = args.dispatches
    out = {"adapter": adapter_name(device.adapter), "dispatches": n, "layout": args.layout, "repeat": args.repeat}
    for side, rows in samples.items():
        for j, what in enumerate(("issue", "cpu", "wall")):
            out[f"{side}_{what}_us_per_dispatch"] = statistics.median(r[j] for r in rows) / n * 1e6
    out["ratio_issue"] = out["replay_issue_us_per_dispatch"] / out["raw_issue_us_per_dispatch"]
    out["ratio_cpu"] = out["replay_cpu_us_per_dispatch"] / out["raw_cpu_us_per_dispatch"]
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"adapter {out['adapter']}, {n} dispatches ({args.layout}), median of {args.repeat}")
        for side in ("raw", "replay"):
            issue, cpu, wall = (out[f"{side}_{w}_us_per_dispatch"] for w in ("issue", "cpu", "wall"))
            print(f"  {side:<7} issue {issue:7.2f} us/dispatch   cpu {cpu:7.2f}   synchronised {wall:7.2f}")
        print(f"  replay / raw: issue {out['ratio_issue']:.3f}x, cpu {out['ratio_cpu']:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
