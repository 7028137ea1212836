"""A render pass into a texture, copied back to a buffer (run by tests/test_tracer_suite.py)."""

import numpy as np
import wgpu

SHADER = """
@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    var xy = array<vec2<f32>, 3>(vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
    return vec4<f32>(xy[i], 0.0, 1.0);
}
@fragment
fn fs() -> @location(0) vec4<f32> { return vec4<f32>(1.0, 0.5, 0.0, 1.0); }
"""


def test_render_triangle_to_texture():
    device = wgpu.gpu.request_adapter_sync().request_device_sync()
    size = 16
    texture = device.create_texture(size=(size, size, 1), format=wgpu.TextureFormat.rgba8unorm,
                                    usage=wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.COPY_SRC)
    module = device.create_shader_module(code=SHADER)
    pipeline = device.create_render_pipeline(
        layout="auto",
        vertex={"module": module, "entry_point": "vs"},
        fragment={"module": module, "entry_point": "fs", "targets": [{"format": wgpu.TextureFormat.rgba8unorm}]},
        primitive={"topology": wgpu.PrimitiveTopology.triangle_list},
    )
    encoder = device.create_command_encoder()
    render = encoder.begin_render_pass(color_attachments=[{
        "view": texture.create_view(), "load_op": wgpu.LoadOp.clear, "store_op": wgpu.StoreOp.store,
        "clear_value": (0, 0, 0, 1)}])
    render.set_pipeline(pipeline)
    render.draw(3)
    render.end()
    readback = device.create_buffer(size=256 * size, usage=wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ)
    encoder.copy_texture_to_buffer({"texture": texture}, {"buffer": readback, "bytes_per_row": 256},
                                   (size, size, 1))
    device.queue.submit([encoder.finish()])
    readback.map_sync(wgpu.MapMode.READ)
    pixels = np.frombuffer(readback.read_mapped(), dtype=np.uint8).reshape(size, 256)[:, : size * 4]
    readback.unmap()
    assert (pixels.reshape(size, size, 4)[:, :, 0] == 255).all()
    texture.destroy()
