"""Hazard checker speed on a render loop: events per second on one core, as frames grow.

The scene's buffers are uploaded once. Then each frame does what a pygfx frame does: it rewrites a camera uniform and a
per-object uniform with ``write_buffer``, uploads a 64x64 region of a texture atlas with
``write_texture``, records a render pass (a color and a depth attachment) of ``--draws`` draws,
each binding the camera, its object's uniform and a view of the atlas and reading a vertex and an
index buffer, copies the frame out to a buffer and submits. One frame in 16 uploads to the atlas
after its pass is recorded (H1 on a texture). The trace is ``wgtrace.sim.workloads.render_loop``'s,
built once per size; only ``check`` is timed.

    python benchmarks/bench_check_render.py                    # 2,000 and 20,000 frames
    python benchmarks/bench_check_render.py --frames 500 --draws 8
"""

from __future__ import annotations

import argparse
import json
import os
from time import perf_counter, thread_time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from wgtrace.sim.check import check  # noqa: E402
from wgtrace.sim.workloads.render_loop import generate  # noqa: E402


def measure(frames: int, draws: int, repeat: int) -> dict:
    trace = generate(frames, draws)
    times = []
    for _ in range(repeat):
        cpu, wall = thread_time(), perf_counter()
        result = check(trace)
        times.append((thread_time() - cpu, perf_counter() - wall))
    best = min(t[0] for t in times)
    return {"frames": frames, "draws_per_frame": draws, "events": len(trace), "first_cpu_s": times[0][0],
            "best_cpu_s": best, "events_per_cpu_s": len(trace) / best, "findings": len(result.findings),
            "h1": len(result.of("H1")), "proven": result.proven}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--draws", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(f, args.draws, args.repeat) for f in args.frames]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        print(f"{r['frames']:>7,} frames x {r['draws_per_frame']} draws  {r['events']:>10,} events | first cpu "
              f"{r['first_cpu_s']:7.3f} s | best cpu {r['best_cpu_s']:7.3f} s ({r['events_per_cpu_s']:>10,.0f} "
              f"ev/cpu-s) | H1 {r['h1']}")


if __name__ == "__main__":
    main()
