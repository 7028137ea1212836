"""Gravitational n-body simulation on wgpu with tiled O(n^2) forces.

Each step reads positions/velocities from one buffer pair and writes the other
(ping-pong), one submit per step. Bodies are loaded tile by tile into
workgroup memory and summed in a fixed order, so the result is bit-exact run to
run. The final state is read through a MAP_READ staging buffer
(copy_buffer_to_buffer, map_sync, read_mapped, unmap) rather than
``queue.read_buffer``, to exercise the explicit mapping path.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import wgpu

TILE = 64

SHADER = f"""
const TILE: u32 = {TILE}u;

struct Params {{ count: u32, dt: f32, softening: f32, damping: f32 }}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pos_in: array<vec4<f32>>;   // xyz, mass
@group(0) @binding(2) var<storage, read> vel_in: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> pos_out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> vel_out: array<vec4<f32>>;

var<workgroup> tile: array<vec4<f32>, TILE>;

@compute @workgroup_size(TILE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {{
    let i = gid.x;
    let alive = i < p.count;
    let me = pos_in[min(i, p.count - 1u)];
    var acc = vec3<f32>(0.0);
    for (var base = 0u; base < p.count; base += TILE) {{
        let j = base + lid;
        // Out-of-range slots get zero mass and contribute nothing.
        tile[lid] = select(vec4<f32>(0.0), pos_in[min(j, p.count - 1u)], j < p.count);
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {{
            let other = tile[k];
            let d = other.xyz - me.xyz;
            let r2 = dot(d, d) + p.softening;
            acc += d * (other.w / (r2 * sqrt(r2)));
        }}
        workgroupBarrier();
    }}
    if (!alive) {{ return; }}
    let v = (vel_in[i].xyz + acc * p.dt) * p.damping;
    vel_out[i] = vec4<f32>(v, 0.0);
    pos_out[i] = vec4<f32>(me.xyz + v * p.dt, me.w);
}}
"""


def initial_state(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A rotating disc of bodies with random masses, as (count, 4) float32 arrays."""
    radius = rng.uniform(0.2, 1.0, count)
    angle = rng.uniform(0.0, 2.0 * np.pi, count)
    pos = np.zeros((count, 4), dtype=np.float32)
    pos[:, 0] = radius * np.cos(angle)
    pos[:, 1] = radius * np.sin(angle)
    pos[:, 2] = 0.05 * rng.standard_normal(count)
    pos[:, 3] = rng.uniform(0.5, 1.5, count) / count
    vel = np.zeros((count, 4), dtype=np.float32)
    vel[:, 0] = -0.5 * np.sin(angle)
    vel[:, 1] = 0.5 * np.cos(angle)
    return pos, vel


def simulate(device: wgpu.GPUDevice, pos: np.ndarray, vel: np.ndarray, steps: int, dt: float) -> np.ndarray:
    """Advance ``steps`` steps; return the final positions and velocities stacked."""
    count = len(pos)
    usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
    # Two (positions, velocities) buffer pairs to ping-pong between.
    state_a = [device.create_buffer(size=pos.nbytes, usage=usage) for _ in range(2)]
    state_b = [device.create_buffer(size=pos.nbytes, usage=usage) for _ in range(2)]
    device.queue.write_buffer(state_a[0], 0, pos)
    device.queue.write_buffer(state_a[1], 0, vel)

    params = device.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST)
    values = np.array([count, 0, 0, 0], dtype=np.uint32)
    values[1:] = np.array([dt, 1e-3, 0.999], dtype=np.float32).view(np.uint32)
    device.queue.write_buffer(params, 0, values)

    module = device.create_shader_module(label="nbody", code=SHADER)
    pipeline = device.create_compute_pipeline(
        label="nbody", layout="auto", compute={"module": module, "entry_point": "main"}
    )
    layout = pipeline.get_bind_group_layout(0)
    bind_groups = [
        device.create_bind_group(
            layout=layout,
            entries=[
                {"binding": 0, "resource": {"buffer": params}},
                {"binding": 1, "resource": {"buffer": src[0]}},
                {"binding": 2, "resource": {"buffer": src[1]}},
                {"binding": 3, "resource": {"buffer": dst[0]}},
                {"binding": 4, "resource": {"buffer": dst[1]}},
            ],
        )
        for src, dst in ((state_a, state_b), (state_b, state_a))
    ]

    groups = -(-count // TILE)
    for step in range(steps):
        encoder = device.create_command_encoder()
        compute_pass = encoder.begin_compute_pass()
        compute_pass.set_pipeline(pipeline)
        compute_pass.set_bind_group(0, bind_groups[step % 2])
        compute_pass.dispatch_workgroups(groups)
        compute_pass.end()
        device.queue.submit([encoder.finish()])

    final_pos, final_vel = state_b if steps % 2 else state_a
    staging = device.create_buffer(size=2 * pos.nbytes, usage=wgpu.BufferUsage.MAP_READ | wgpu.BufferUsage.COPY_DST)
    encoder = device.create_command_encoder()
    encoder.copy_buffer_to_buffer(final_pos, 0, staging, 0, pos.nbytes)
    encoder.copy_buffer_to_buffer(final_vel, 0, staging, pos.nbytes, pos.nbytes)
    device.queue.submit([encoder.finish()])
    staging.map_sync(wgpu.MapMode.READ)
    data = np.frombuffer(staging.read_mapped(), dtype=np.float32).reshape(2, count, 4)
    staging.unmap()
    return data


def main(argv: list[str] | None = None) -> str:
    """Simulate and print a checksum of the final positions and velocities."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=256, help="number of bodies")
    parser.add_argument("--steps", type=int, default=20, help="integration steps")
    parser.add_argument("--dt", type=float, default=0.01, help="time step")
    args = parser.parse_args(argv)

    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    pos, vel = initial_state(args.bodies, np.random.default_rng(0))
    state = simulate(device, pos, vel, args.steps, args.dt)
    digest = hashlib.sha256(state.tobytes()).hexdigest()[:16]
    print(f"checksum: {digest}")
    return digest


if __name__ == "__main__":
    main()
