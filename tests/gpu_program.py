"""The small wgpu compute program the GPU tests share: a kernel that doubles X into Y, and its setup.

Several tests run the same few wgpu steps: a device, two storage buffers, the kernel's pipeline
(layout "auto") and its bind group, an encoder with a compute pass. ``begin_double`` takes those
steps and stops short of the dispatch, so that each test dispatches on a line of its own: the
checker names the line of every call, and the tests assert which line that is. Tests import this
module as they import ``strategies``; the pytest plugin's tests import it into a child pytest too.
"""

from __future__ import annotations

import numpy as np
import wgpu

STORAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
WORKGROUP = 64
DOUBLE = f"""
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;

@compute @workgroup_size({WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    if (gid.x < arrayLength(&y)) {{
        y[gid.x] = x[gid.x] * 2u;
    }}
}}
"""


def request_device() -> wgpu.GPUDevice:
    """A new device on the high-performance adapter (lavapipe where the machine has no GPU)."""
    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    assert adapter is not None, "wgpu found no adapter (install mesa-vulkan-drivers for lavapipe)"
    return adapter.request_device_sync()


def begin_double(device: wgpu.GPUDevice, x: wgpu.GPUBuffer, y: wgpu.GPUBuffer,
                 label: str = "double") -> tuple[wgpu.GPUCommandEncoder, wgpu.GPUComputePassEncoder]:
    """An encoder and its open compute pass with DOUBLE's pipeline and the bind group (x, y) set.

    ``label`` names the shader module, which is how the checker names the kernel's dispatches.
    """
    module = device.create_shader_module(code=DOUBLE, label=label)
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0), entries=[
        {"binding": 0, "resource": {"buffer": x}}, {"binding": 1, "resource": {"buffer": y}}])
    encoder = device.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    compute.set_bind_group(0, group)
    return encoder, compute


def double(device: wgpu.GPUDevice, values: np.ndarray) -> np.ndarray:
    """``2 * values`` computed on the device: one dispatch, submitted and read back."""
    x = device.create_buffer_with_data(data=values, usage=STORAGE)
    y = device.create_buffer(size=x.size, usage=STORAGE)
    encoder, compute = begin_double(device, x, y)
    compute.dispatch_workgroups(-(-len(values) // WORKGROUP))
    compute.end()
    device.queue.submit([encoder.finish()])
    return np.frombuffer(device.queue.read_buffer(y), dtype=np.uint32)
