"""Small wgpu render (and texture) programs with and without a hoisted queue write, for the GPU tests.

A queue write (``queue.write_buffer``, ``queue.write_texture``) takes effect before every command not
yet submitted. Each ``*_hazard`` program records a draw (its pass ended, the target's copy to a
read-back buffer after it), then writes new data into what the draw reads (its uniform, its vertex
buffer, its texture), and only then submits: program order says the frame shows the OLD data, the
GPU shows the NEW. Each ``*_safe`` twin submits first and writes after; a second frame, recorded and
submitted after the write, shows the new data, as program order says too.

``run(device) -> dict`` for each program (``PROGRAMS`` names them) returns:

- ``frames``: what the GPU drew, one (H, W, 4) uint8 array per frame read back;
- ``program_order``: what an execution in program order draws, the same shapes, computed here from
  the program's constants (never from the GPU);
- ``hazard_line`` / ``overtaken_line``: the lines of the program's hoisted write (``# HAZARD``) and of
  the command it overtakes (``# OVERTAKEN``), None in a safe twin; ``file``: this module's path.

Each program's hoisted write and the command it overtakes are made on lines of the program's own
function (never in a helper here), so that the recorder charges them to those lines. Targets are
4x4 rgba8unorm; a row of the read-back buffer is 256 bytes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import wgpu

SIZE = 4  # the target is SIZE x SIZE texels
ROW = 256  # bytes_per_row of a read-back buffer
COLOR = wgpu.TextureFormat.rgba8unorm
CLEAR = (0.0, 0.0, 0.0, 1.0)
CLEAR_PIXEL = (0, 0, 0, 255)
MARKERS = ("# HAZARD", "# OVERTAKEN")

# the uniform programs: the fragment colour is the uniform
OLD_COLOUR = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)  # red: (255, 0, 0, 255)
NEW_COLOUR = np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32)  # blue: (0, 0, 255, 255)

# the vertex programs: a quad (two triangles) over the left half of the target, moved to the right half
LEFT = np.array([[-1, -1], [0, -1], [0, 1], [-1, -1], [0, 1], [-1, 1]], dtype=np.float32)
RIGHT = LEFT + np.array([1, 0], dtype=np.float32)
QUAD_PIXEL = (0, 255, 0, 255)  # green

# the texture programs: each fragment (and each compute invocation) loads its own texel
OLD_TEXELS = (np.arange(SIZE * SIZE * 4, dtype=np.uint8) * 4).reshape(SIZE, SIZE, 4)  # 0, 4, ..., 252
NEW_TEXELS = 255 - OLD_TEXELS
LAYOUT, EXTENT = {"bytes_per_row": SIZE * 4}, (SIZE, SIZE, 1)  # of a whole-texture write_texture

FULL_SCREEN = """
@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let xy = array<vec2<f32>, 3>(vec2<f32>(-1.0, -1.0), vec2<f32>(3.0, -1.0), vec2<f32>(-1.0, 3.0));
    return vec4<f32>(xy[i], 0.0, 1.0);
}
"""
UNIFORM_SHADER = FULL_SCREEN + """
@group(0) @binding(0) var<uniform> colour: vec4<f32>;

@fragment
fn fs() -> @location(0) vec4<f32> { return colour; }
"""
VERTEX_SHADER = """
@vertex
fn vs(@location(0) xy: vec2<f32>) -> @builtin(position) vec4<f32> { return vec4<f32>(xy, 0.0, 1.0); }

@fragment
fn fs() -> @location(0) vec4<f32> { return vec4<f32>(0.0, 1.0, 0.0, 1.0); }
"""
TEXTURE_SHADER = FULL_SCREEN + """
@group(0) @binding(0) var tex: texture_2d<f32>;

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return textureLoad(tex, vec2<i32>(pos.xy), 0);
}
"""
TEXTURE_KERNEL = f"""
@group(0) @binding(0) var tex: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size({SIZE}, {SIZE})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    out[gid.y * {SIZE}u + gid.x] = pack4x8unorm(textureLoad(tex, vec2<i32>(gid.xy), 0));
}}
"""


# -- the scenes the programs share: everything up to the encoder ------------------------------------


@dataclass
class Scene:
    """A pipeline with its bind group (None: none), the resource the hazard rewrites, the target, and
    two read-back buffers (one a frame)."""

    pipeline: wgpu.GPURenderPipeline | wgpu.GPUComputePipeline
    group: wgpu.GPUBindGroup | None
    resource: wgpu.GPUBuffer | wgpu.GPUTexture
    target: wgpu.GPUTexture | wgpu.GPUBuffer
    readback: tuple[wgpu.GPUBuffer, wgpu.GPUBuffer]


def _render_pipeline(device: wgpu.GPUDevice, code: str, label: str,
                     buffers: list | None = None) -> wgpu.GPURenderPipeline:
    module = device.create_shader_module(code=code, label=label)
    return device.create_render_pipeline(
        layout="auto",
        vertex={"module": module, "entry_point": "vs", "buffers": buffers or []},
        fragment={"module": module, "entry_point": "fs", "targets": [{"format": COLOR}]},
        primitive={"topology": wgpu.PrimitiveTopology.triangle_list, "cull_mode": wgpu.CullMode.none})


def _target(device: wgpu.GPUDevice) -> wgpu.GPUTexture:
    return device.create_texture(size=(SIZE, SIZE, 1), format=COLOR,
                                 usage=wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.COPY_SRC)


def _readbacks(device: wgpu.GPUDevice) -> tuple[wgpu.GPUBuffer, wgpu.GPUBuffer]:
    usage = wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.MAP_READ
    return (device.create_buffer(size=ROW * SIZE, usage=usage), device.create_buffer(size=ROW * SIZE, usage=usage))


def _texture(device: wgpu.GPUDevice) -> wgpu.GPUTexture:
    """A SIZE x SIZE rgba8unorm texture holding OLD_TEXELS."""
    texture = device.create_texture(size=(SIZE, SIZE, 1), format=COLOR,
                                    usage=wgpu.TextureUsage.TEXTURE_BINDING | wgpu.TextureUsage.COPY_DST)
    device.queue.write_texture({"texture": texture}, OLD_TEXELS, LAYOUT, EXTENT)
    return texture


def uniform_scene(device: wgpu.GPUDevice) -> Scene:
    usage = wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST
    uniform = device.create_buffer_with_data(data=OLD_COLOUR, usage=usage)
    pipeline = _render_pipeline(device, UNIFORM_SHADER, "solid")
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": uniform}}])
    return Scene(pipeline, group, uniform, _target(device), _readbacks(device))


def vertex_scene(device: wgpu.GPUDevice) -> Scene:
    vertices = device.create_buffer_with_data(data=LEFT, usage=wgpu.BufferUsage.VERTEX | wgpu.BufferUsage.COPY_DST)
    buffers = [{"array_stride": 8, "attributes": [{"format": wgpu.VertexFormat.float32x2, "offset": 0,
                                                   "shader_location": 0}]}]
    pipeline = _render_pipeline(device, VERTEX_SHADER, "quad", buffers)
    return Scene(pipeline, None, vertices, _target(device), _readbacks(device))


def texture_scene(device: wgpu.GPUDevice) -> Scene:
    texture = _texture(device)
    pipeline = _render_pipeline(device, TEXTURE_SHADER, "textured")
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": texture.create_view()}])
    return Scene(pipeline, group, texture, _target(device), _readbacks(device))


def texture_compute_scene(device: wgpu.GPUDevice) -> Scene:
    """The compute variant: the kernel loads each texel into a storage buffer (its "target")."""
    texture = _texture(device)
    module = device.create_shader_module(code=TEXTURE_KERNEL, label="load_texels")
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    out = device.create_buffer(size=SIZE * SIZE * 4, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=[
        {"binding": 0, "resource": texture.create_view()}, {"binding": 1, "resource": {"buffer": out}}])
    return Scene(pipeline, group, texture, out, _readbacks(device))


def begin(encoder: wgpu.GPUCommandEncoder, scene: Scene) -> wgpu.GPURenderPassEncoder:
    """The render pass over the scene's target (cleared to CLEAR), its pipeline and bind group set."""
    assert isinstance(scene.target, wgpu.GPUTexture)
    render = encoder.begin_render_pass(color_attachments=[{
        "view": scene.target.create_view(), "load_op": wgpu.LoadOp.clear, "store_op": wgpu.StoreOp.store,
        "clear_value": CLEAR}])
    render.set_pipeline(scene.pipeline)
    if scene.group is not None:
        render.set_bind_group(0, scene.group)
    return render


def copy_out(encoder: wgpu.GPUCommandEncoder, scene: Scene, frame: int) -> None:
    """The target into read-back buffer ``frame`` (a texture: rows of ROW bytes; the compute variant's
    buffer: packed at the start)."""
    if isinstance(scene.target, wgpu.GPUTexture):
        encoder.copy_texture_to_buffer({"texture": scene.target},
                                       {"buffer": scene.readback[frame], "bytes_per_row": ROW}, (SIZE, SIZE, 1))
    else:
        encoder.copy_buffer_to_buffer(scene.target, 0, scene.readback[frame], 0, SIZE * SIZE * 4)


def read(scene: Scene, frame: int) -> np.ndarray:
    """Read-back buffer ``frame`` as the (SIZE, SIZE, 4) uint8 pixels it holds."""
    buffer = scene.readback[frame]
    buffer.map_sync(wgpu.MapMode.READ)
    data = np.frombuffer(buffer.read_mapped(), dtype=np.uint8).copy()
    buffer.unmap()
    if isinstance(scene.target, wgpu.GPUTexture):
        return data.reshape(SIZE, ROW)[:, : SIZE * 4].reshape(SIZE, SIZE, 4)
    return data[: SIZE * SIZE * 4].reshape(SIZE, SIZE, 4)


# -- what program order draws --------------------------------------------------------------------------


def solid(pixel: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.array(pixel, dtype=np.uint8), (SIZE, SIZE, 4)).copy()


def unorm8(colour: np.ndarray) -> tuple[int, ...]:
    return tuple(int(round(float(c) * 255)) for c in colour)


def quad(columns: range) -> np.ndarray:
    """The clear colour, and QUAD_PIXEL in ``columns``: a half-target quad covers the texel centres of
    its two columns (x = -0.75, -0.25 in clip space are left of 0; 0.25, 0.75 right)."""
    frame = solid(CLEAR_PIXEL)
    frame[:, columns] = QUAD_PIXEL
    return frame


def marked_line(program: Callable, marker: str) -> int | None:
    """The line of ``program``'s source that ends with ``marker`` (None: no such line; two: an error)."""
    lines, first = inspect.getsourcelines(program)
    found = [first + k for k, line in enumerate(lines) if line.rstrip().endswith(marker)]
    assert len(found) <= 1, (program.__name__, marker, found)
    return found[0] if found else None


def result(program: Callable, frames: list[np.ndarray], program_order: list[np.ndarray]) -> dict:
    return {"name": program.__name__, "frames": frames, "program_order": program_order,
            "hazard_line": marked_line(program, "# HAZARD"), "overtaken_line": marked_line(program, "# OVERTAKEN"),
            "file": __file__}


# -- the programs ------------------------------------------------------------------------------------


def uniform_hazard(device: wgpu.GPUDevice) -> dict:
    scene = uniform_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)  # OVERTAKEN
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.write_buffer(scene.resource, 0, NEW_COLOUR)  # HAZARD
    device.queue.submit([encoder.finish()])
    return result(uniform_hazard, [read(scene, 0)], [solid(unorm8(OLD_COLOUR))])


def uniform_safe(device: wgpu.GPUDevice) -> dict:
    scene = uniform_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.submit([encoder.finish()])
    device.queue.write_buffer(scene.resource, 0, NEW_COLOUR)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)
    render.end()
    copy_out(encoder, scene, 1)
    device.queue.submit([encoder.finish()])
    return result(uniform_safe, [read(scene, 0), read(scene, 1)],
                  [solid(unorm8(OLD_COLOUR)), solid(unorm8(NEW_COLOUR))])


def vertex_hazard(device: wgpu.GPUDevice) -> dict:
    scene = vertex_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.set_vertex_buffer(0, scene.resource)
    render.draw(len(LEFT))  # OVERTAKEN
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.write_buffer(scene.resource, 0, RIGHT)  # HAZARD
    device.queue.submit([encoder.finish()])
    return result(vertex_hazard, [read(scene, 0)], [quad(range(0, 2))])


def vertex_safe(device: wgpu.GPUDevice) -> dict:
    scene = vertex_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.set_vertex_buffer(0, scene.resource)
    render.draw(len(LEFT))
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.submit([encoder.finish()])
    device.queue.write_buffer(scene.resource, 0, RIGHT)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.set_vertex_buffer(0, scene.resource)
    render.draw(len(LEFT))
    render.end()
    copy_out(encoder, scene, 1)
    device.queue.submit([encoder.finish()])
    return result(vertex_safe, [read(scene, 0), read(scene, 1)], [quad(range(0, 2)), quad(range(2, 4))])


def texture_hazard(device: wgpu.GPUDevice) -> dict:
    scene = texture_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)  # OVERTAKEN
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.write_texture({"texture": scene.resource}, NEW_TEXELS, LAYOUT, EXTENT)  # HAZARD
    device.queue.submit([encoder.finish()])
    return result(texture_hazard, [read(scene, 0)], [OLD_TEXELS.copy()])


def texture_safe(device: wgpu.GPUDevice) -> dict:
    scene = texture_scene(device)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)
    render.end()
    copy_out(encoder, scene, 0)
    device.queue.submit([encoder.finish()])
    device.queue.write_texture({"texture": scene.resource}, NEW_TEXELS, LAYOUT, EXTENT)
    encoder = device.create_command_encoder()
    render = begin(encoder, scene)
    render.draw(3)
    render.end()
    copy_out(encoder, scene, 1)
    device.queue.submit([encoder.finish()])
    return result(texture_safe, [read(scene, 0), read(scene, 1)], [OLD_TEXELS.copy(), NEW_TEXELS.copy()])


def texture_compute_hazard(device: wgpu.GPUDevice) -> dict:
    """The compute variant of texture_hazard: a kernel that loads the texture, the texture rewritten."""
    scene = texture_compute_scene(device)
    encoder = device.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(scene.pipeline)
    compute.set_bind_group(0, scene.group)
    compute.dispatch_workgroups(1)  # OVERTAKEN
    compute.end()
    copy_out(encoder, scene, 0)
    device.queue.write_texture({"texture": scene.resource}, NEW_TEXELS, LAYOUT, EXTENT)  # HAZARD
    device.queue.submit([encoder.finish()])
    return result(texture_compute_hazard, [read(scene, 0)], [OLD_TEXELS.copy()])


def texture_compute_safe(device: wgpu.GPUDevice) -> dict:
    scene = texture_compute_scene(device)
    for frame in range(2):
        encoder = device.create_command_encoder()
        compute = encoder.begin_compute_pass()
        compute.set_pipeline(scene.pipeline)
        compute.set_bind_group(0, scene.group)
        compute.dispatch_workgroups(1)
        compute.end()
        copy_out(encoder, scene, frame)
        device.queue.submit([encoder.finish()])
        if frame == 0:
            device.queue.write_texture({"texture": scene.resource}, NEW_TEXELS, LAYOUT, EXTENT)
    return result(texture_compute_safe, [read(scene, 0), read(scene, 1)], [OLD_TEXELS.copy(), NEW_TEXELS.copy()])


HAZARDS = ("uniform_hazard", "vertex_hazard", "texture_hazard", "texture_compute_hazard")
SAFE = ("uniform_safe", "vertex_safe", "texture_safe", "texture_compute_safe")
PROGRAMS: dict[str, Callable[[wgpu.GPUDevice], dict]] = {
    name: globals()[name] for name in (*HAZARDS, *SAFE)}
