"""A render loop on plain wgpu-py: every frame updates a uniform, vertex data and a texture, then draws.

The pattern real renderers follow: per frame, ``queue.write_buffer`` of a uniform (a tint that
drifts) and of the vertex buffer (the triangle moves), ``queue.write_texture`` of a small texture
(a pattern that scrolls), then one render pass that draws the textured triangle over a cleared
target, a copy of the target into a read-back buffer and one submit. All uploads come before the
pass is recorded, so the queue runs them in program order.

``--hazard`` uploads each frame's texture after its pass is recorded and before the submit: the
upload lands first, so every frame samples the next frame's pattern (the H1 ``wgtrace check``
reports, on a texture). Prints ``frame N: <16 hex>`` per frame and ``checksum: <16 hex>`` of the
last, the SHA-256 of the frame's RGBA bytes as read back.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import wgpu

SIZE = 32
TEXTURE = 16
ROW = 256  # bytes_per_row of the read-back copy: a multiple of 256

SHADER = """
struct Frame { tint: vec4<f32> }
@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var pattern: texture_2d<f32>;
@group(0) @binding(2) var nearest: sampler;

struct Out { @builtin(position) position: vec4<f32>, @location(0) uv: vec2<f32> }

@vertex
fn vs(@location(0) xy: vec2<f32>, @location(1) uv: vec2<f32>) -> Out {
    return Out(vec4<f32>(xy, 0.0, 1.0), uv);
}

@fragment
fn fs(v: Out) -> @location(0) vec4<f32> {
    return textureSample(pattern, nearest, v.uv) * frame.tint;
}
"""


def triangle(step: int) -> np.ndarray:
    """The triangle's vertices (x, y, u, v) at ``step``: it slides to the right."""
    dx = 0.1 * step
    return np.array([[-0.9 + dx, -0.9, 0.0, 1.0], [0.5 + dx, -0.9, 1.0, 1.0], [-0.9 + dx, 0.8, 0.0, 0.0]],
                    dtype=np.float32)


def pattern(step: int) -> np.ndarray:
    """A TEXTURE x TEXTURE RGBA checker that scrolls one texel per step."""
    y, x = np.mgrid[0:TEXTURE, 0:TEXTURE]
    on = ((x + step) // 4 + y // 4) % 2
    rgba = np.stack([on * 255, (x * 16) % 256, (y * 16) % 256, np.full_like(x, 255)], axis=-1)
    return rgba.astype(np.uint8)


def tint(step: int) -> np.ndarray:
    return np.array([1.0, 1.0 - 0.1 * (step % 5), 0.5 + 0.1 * (step % 4), 1.0], dtype=np.float32)


class Renderer:
    def __init__(self, device: wgpu.GPUDevice):
        self.device = device
        usage = wgpu.TextureUsage
        self.target = device.create_texture(size=(SIZE, SIZE, 1), format="rgba8unorm", label="frame",
                                            usage=usage.RENDER_ATTACHMENT | usage.COPY_SRC)
        self.texture = device.create_texture(size=(TEXTURE, TEXTURE, 1), format="rgba8unorm", label="pattern",
                                             usage=usage.TEXTURE_BINDING | usage.COPY_DST)
        self.uniform = device.create_buffer(size=16, usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST,
                                            label="tint")
        self.vertices = device.create_buffer(size=48, usage=wgpu.BufferUsage.VERTEX | wgpu.BufferUsage.COPY_DST,
                                             label="triangle")
        self.readback = device.create_buffer(size=ROW * SIZE, label="readback",
                                             usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ)
        module = device.create_shader_module(code=SHADER)
        self.pipeline = device.create_render_pipeline(
            layout="auto",
            vertex={"module": module, "entry_point": "vs", "buffers": [{
                "array_stride": 16, "step_mode": "vertex",
                "attributes": [{"format": "float32x2", "offset": 0, "shader_location": 0},
                               {"format": "float32x2", "offset": 8, "shader_location": 1}]}]},
            fragment={"module": module, "entry_point": "fs", "targets": [{"format": "rgba8unorm"}]},
            primitive={"topology": "triangle-list"},
            label="textured triangle",
        )
        sampler = device.create_sampler(mag_filter="nearest", min_filter="nearest")
        self.group = device.create_bind_group(layout=self.pipeline.get_bind_group_layout(0), entries=[
            {"binding": 0, "resource": {"buffer": self.uniform}},
            {"binding": 1, "resource": self.texture.create_view()},
            {"binding": 2, "resource": sampler},
        ])
        self.view = self.target.create_view()

    def upload_texture(self, step: int) -> None:
        self.device.queue.write_texture({"texture": self.texture}, pattern(step),
                                        {"bytes_per_row": TEXTURE * 4, "rows_per_image": TEXTURE},
                                        (TEXTURE, TEXTURE, 1))

    def frame(self, step: int, hazard: bool) -> bytes:
        queue = self.device.queue
        queue.write_buffer(self.uniform, 0, tint(step))
        queue.write_buffer(self.vertices, 0, triangle(step))
        if not hazard:
            self.upload_texture(step)
        encoder = self.device.create_command_encoder()
        render = encoder.begin_render_pass(color_attachments=[{
            "view": self.view, "load_op": "clear", "store_op": "store", "clear_value": (0.1, 0.1, 0.1, 1.0)}])
        render.set_pipeline(self.pipeline)
        render.set_bind_group(0, self.group)
        render.set_vertex_buffer(0, self.vertices)
        render.draw(3)
        render.end()
        encoder.copy_texture_to_buffer({"texture": self.target}, {"buffer": self.readback, "bytes_per_row": ROW},
                                       (SIZE, SIZE, 1))
        if hazard:
            self.upload_texture(step + 1)  # lands before the draw above: it samples the next pattern
        queue.submit([encoder.finish()])
        self.readback.map_sync(wgpu.MapMode.READ)
        rows = np.frombuffer(self.readback.read_mapped(), dtype=np.uint8).reshape(SIZE, ROW)
        self.readback.unmap()
        return rows[:, : SIZE * 4].tobytes()


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--hazard", action="store_true", help="upload each texture after recording its pass")
    args = parser.parse_args(argv)
    device = wgpu.gpu.request_adapter_sync().request_device_sync()
    renderer = Renderer(device)
    if args.hazard:
        renderer.upload_texture(0)
    digest = ""
    for step in range(args.frames):
        digest = hashlib.sha256(renderer.frame(step, args.hazard)).hexdigest()[:16]
        print(f"frame {step}: {digest}")
    print(f"checksum: {digest}")
    return digest


if __name__ == "__main__":
    main()
