"""wgpu runs for real here: an adapter, one compute dispatch, the result read back."""

from __future__ import annotations

import numpy as np
import wgpu

SHADER = """
@group(0) @binding(0) var<storage, read_write> data: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < arrayLength(&data)) {
        data[gid.x] = data[gid.x] * 3u + 1u;
    }
}
"""


def test_one_compute_dispatch_reads_back():
    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    assert adapter is not None, "wgpu found no adapter (install mesa-vulkan-drivers for lavapipe)"
    device = adapter.request_device_sync()
    values = np.arange(1000, dtype=np.uint32)
    buffer = device.create_buffer_with_data(
        data=values, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC)
    pipeline = device.create_compute_pipeline(
        layout="auto", compute={"module": device.create_shader_module(code=SHADER), "entry_point": "main"})
    bind_group = device.create_bind_group(
        layout=pipeline.get_bind_group_layout(0), entries=[{"binding": 0, "resource": {"buffer": buffer}}])
    encoder = device.create_command_encoder()
    compute_pass = encoder.begin_compute_pass()
    compute_pass.set_pipeline(pipeline)
    compute_pass.set_bind_group(0, bind_group)
    compute_pass.dispatch_workgroups(16)
    compute_pass.end()
    device.queue.submit([encoder.finish()])
    result = np.frombuffer(device.queue.read_buffer(buffer), dtype=np.uint32)
    np.testing.assert_array_equal(result, values * 3 + 1)
