"""Image filter chain on wgpu: blur, Sobel edges and a soft threshold, ping-ponged.

A 2-D float image lives in two storage buffers; each filter reads one and
writes the other, so the chain needs no per-pass allocation. One uniform holds
the filter parameters and is rewritten with ``queue.write_buffer`` *between*
submits (the threshold drifts per iteration) -- the safe way to reuse a buffer,
since the previous submission is already ahead of the write on the queue.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import wgpu

WORKGROUP = 8

_COMMON = """
struct Params { width: u32, height: u32, lo: f32, hi: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Clamp-to-edge sampling.
fn at(x: i32, y: i32) -> f32 {
    let cx = u32(clamp(x, 0, i32(p.width) - 1));
    let cy = u32(clamp(y, 0, i32(p.height) - 1));
    return src[cy * p.width + cx];
}
"""

_ENTRY = """
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x >= p.width || gid.y >= p.height) { return; }
    let x = i32(gid.x);
    let y = i32(gid.y);
    dst[gid.y * p.width + gid.x] = apply(x, y);
}
"""

# Each filter is an `apply(x, y) -> f32` function; the names are the pass order.
FILTERS: dict[str, str] = {
    "blur_h": """
fn apply(x: i32, y: i32) -> f32 {
    return 0.0625 * at(x - 2, y) + 0.25 * at(x - 1, y) + 0.375 * at(x, y)
         + 0.25 * at(x + 1, y) + 0.0625 * at(x + 2, y);
}
""",
    "blur_v": """
fn apply(x: i32, y: i32) -> f32 {
    return 0.0625 * at(x, y - 2) + 0.25 * at(x, y - 1) + 0.375 * at(x, y)
         + 0.25 * at(x, y + 1) + 0.0625 * at(x, y + 2);
}
""",
    "sobel": """
fn apply(x: i32, y: i32) -> f32 {
    let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
           - at(x - 1, y - 1) - 2.0 * at(x - 1, y) - at(x - 1, y + 1);
    let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
           - at(x - 1, y - 1) - 2.0 * at(x, y - 1) - at(x + 1, y - 1);
    return sqrt(gx * gx + gy * gy);
}
""",
    "threshold": """
fn apply(x: i32, y: i32) -> f32 {
    return smoothstep(p.lo, p.hi, at(x, y));
}
""",
}


def make_image(size: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth blobs plus noise, so every filter has structure to act on."""
    coords = np.linspace(0.0, 1.0, size, dtype=np.float32)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    image = 0.5 + 0.25 * np.sin(9.0 * xx) * np.cos(7.0 * yy)
    image += 0.3 * ((xx - 0.5) ** 2 + (yy - 0.4) ** 2 < 0.06)
    image += 0.1 * rng.standard_normal((size, size))
    return image.astype(np.float32)


def run_chain(device: wgpu.GPUDevice, image: np.ndarray, iterations: int) -> np.ndarray:
    """Apply the filter chain ``iterations`` times and return the final image."""
    height, width = image.shape
    usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
    ping = device.create_buffer(size=image.nbytes, usage=usage)
    pong = device.create_buffer(size=image.nbytes, usage=usage)
    device.queue.write_buffer(ping, 0, image)
    params = device.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST)

    pipelines = []
    for name, body in FILTERS.items():
        module = device.create_shader_module(label=name, code=_COMMON + body + _ENTRY)
        pipelines.append(
            device.create_compute_pipeline(label=name, layout="auto", compute={"module": module, "entry_point": "main"})
        )

    def bind(pipeline: wgpu.GPUComputePipeline, src: wgpu.GPUBuffer, dst: wgpu.GPUBuffer) -> wgpu.GPUBindGroup:
        return device.create_bind_group(
            layout=pipeline.get_bind_group_layout(0),
            entries=[
                {"binding": 0, "resource": {"buffer": params}},
                {"binding": 1, "resource": {"buffer": src}},
                {"binding": 2, "resource": {"buffer": dst}},
            ],
        )

    # Bind groups for both ping-pong directions, built once.
    forward = [bind(pl, ping, pong) for pl in pipelines]
    backward = [bind(pl, pong, ping) for pl in pipelines]
    groups = (-(-width // WORKGROUP), -(-height // WORKGROUP))

    current = ping
    for it in range(iterations):
        lo = 0.15 + 0.05 * it
        values = np.array([width, height, 0, 0], dtype=np.uint32)
        values[2:] = np.array([lo, lo + 0.4], dtype=np.float32).view(np.uint32)
        device.queue.write_buffer(params, 0, values)

        encoder = device.create_command_encoder()
        for i, pipeline in enumerate(pipelines):
            bind_group = (forward if current is ping else backward)[i]
            compute_pass = encoder.begin_compute_pass()
            compute_pass.set_pipeline(pipeline)
            compute_pass.set_bind_group(0, bind_group)
            compute_pass.dispatch_workgroups(*groups)
            compute_pass.end()
            current = pong if current is ping else ping
        device.queue.submit([encoder.finish()])

    data = device.queue.read_buffer(current)
    return np.frombuffer(data, dtype=np.float32).reshape(height, width)


def main(argv: list[str] | None = None) -> str:
    """Filter a synthetic image and print a checksum of the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="image width and height")
    parser.add_argument("--iterations", type=int, default=4, help="filter chain repeats")
    args = parser.parse_args(argv)

    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    image = make_image(args.size, np.random.default_rng(0))
    result = run_chain(device, image, args.iterations)
    digest = hashlib.sha256(result.tobytes()).hexdigest()[:16]
    print(f"checksum: {digest}")
    return digest


if __name__ == "__main__":
    main()
