"""Multi-level inclusive prefix sum and tree reduction of a u32 array on wgpu.

The scan is hierarchical: each workgroup scans a block of BLOCK values in
workgroup memory and emits the block total into the next level's buffer; that
level is scanned the same way until one block remains, then the totals are
added back down level by level. The reduction sums BLOCK values per workgroup,
level by level. That gives many small dispatches and one intermediate buffer
per level. Buffers are padded to whole blocks so kernels need no bounds checks:
the input is uploaded zero-padded with ``create_buffer_with_data`` (then copied
into the in-place working buffer with ``copy_buffer_to_buffer``) and every level
buffer is zeroed with ``clear_buffer``. The final add-back pass runs through
``dispatch_workgroups_indirect``. Results are verified against numpy.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import wgpu

BLOCK = 64  # workgroup size = elements per block

_BINDINGS = """
@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read_write> sums: array<u32>;
var<workgroup> shared_vals: array<u32, BLOCK>;
"""

SHADERS: dict[str, str] = {
    # In-place Hillis-Steele scan of one block; block total goes to sums[block].
    "scan_block": """
@compute @workgroup_size(BLOCK)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = wid.x * BLOCK + lid;
    shared_vals[lid] = data[i];
    workgroupBarrier();
    for (var offset = 1u; offset < BLOCK; offset *= 2u) {
        var v = shared_vals[lid];
        if (lid >= offset) { v += shared_vals[lid - offset]; }
        workgroupBarrier();
        shared_vals[lid] = v;
        workgroupBarrier();
    }
    data[i] = shared_vals[lid];
    if (lid == BLOCK - 1u) { sums[wid.x] = shared_vals[lid]; }
}
""",
    # Add the scanned total of all previous blocks (sums[block - 1]) to each block.
    "add_block_offsets": """
@compute @workgroup_size(BLOCK)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    if (wid.x == 0u) { return; }
    data[wid.x * BLOCK + lid] += sums[wid.x - 1u];
}
""",
    # Tree reduction of one block into sums[block], in a fixed pairing order.
    "reduce_block": """
@compute @workgroup_size(BLOCK)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    shared_vals[lid] = data[wid.x * BLOCK + lid];
    workgroupBarrier();
    for (var half = BLOCK / 2u; half > 0u; half /= 2u) {
        if (lid < half) { shared_vals[lid] += shared_vals[lid + half]; }
        workgroupBarrier();
    }
    if (lid == 0u) { sums[wid.x] = shared_vals[0]; }
}
""",
}

USAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST


def _blocks(count: int) -> int:
    return -(-count // BLOCK)


class ScanKernels:
    """Compiled pipelines plus helpers to record one dispatch each."""

    def __init__(self, device: wgpu.GPUDevice):
        self.device = device
        header = f"const BLOCK: u32 = {BLOCK}u;\n" + _BINDINGS
        self.pipelines: dict[str, wgpu.GPUComputePipeline] = {}
        for name, body in SHADERS.items():
            module = device.create_shader_module(label=name, code=header + body)
            self.pipelines[name] = device.create_compute_pipeline(
                label=name, layout="auto", compute={"module": module, "entry_point": "main"}
            )

    def record(
        self,
        encoder: wgpu.GPUCommandEncoder,
        kernel: str,
        data: wgpu.GPUBuffer,
        sums: wgpu.GPUBuffer,
        blocks: int | wgpu.GPUBuffer,
    ) -> None:
        """Record one dispatch; ``blocks`` may be an INDIRECT args buffer."""
        pipeline = self.pipelines[kernel]
        bind_group = self.device.create_bind_group(
            layout=pipeline.get_bind_group_layout(0),
            entries=[
                {"binding": 0, "resource": {"buffer": data}},
                {"binding": 1, "resource": {"buffer": sums}},
            ],
        )
        compute_pass = encoder.begin_compute_pass(label=kernel)
        compute_pass.set_pipeline(pipeline)
        compute_pass.set_bind_group(0, bind_group)
        if isinstance(blocks, int):
            compute_pass.dispatch_workgroups(blocks)
        else:
            compute_pass.dispatch_workgroups_indirect(blocks, 0)
        compute_pass.end()


def _level_buffer(device: wgpu.GPUDevice, encoder: wgpu.GPUCommandEncoder, count: int) -> wgpu.GPUBuffer:
    """A zeroed buffer holding ``count`` values padded to whole blocks."""
    buffer = device.create_buffer(size=_blocks(count) * BLOCK * 4, usage=USAGE)
    encoder.clear_buffer(buffer)
    return buffer


def scan_and_reduce(kernels: ScanKernels, values: np.ndarray) -> tuple[np.ndarray, int]:
    """Return (inclusive prefix sum, total) of ``values`` computed on the GPU."""
    device = kernels.device
    count = len(values)
    padded = np.zeros(_blocks(count) * BLOCK, dtype=np.uint32)
    padded[:count] = values
    source = device.create_buffer_with_data(data=padded, usage=USAGE)
    encoder = device.create_command_encoder()

    # The scan runs in place on a working copy; the reduction reads the source.
    data = device.create_buffer(size=source.size, usage=USAGE)
    encoder.copy_buffer_to_buffer(source, 0, data, 0, source.size)

    # Scan up: levels[k] holds the block totals of levels[k - 1]. The top level's
    # single total is written too (the kernel always emits one) but not needed.
    levels = [data]
    level_count = count
    while True:
        sums = _level_buffer(device, encoder, _blocks(level_count))
        kernels.record(encoder, "scan_block", levels[-1], sums, _blocks(level_count))
        if level_count <= BLOCK:
            break
        levels.append(sums)
        level_count = _blocks(level_count)

    # Add back down; the last (largest) pass takes its size from an INDIRECT buffer.
    for k in range(len(levels) - 2, 0, -1):
        blocks = levels[k].size // (4 * BLOCK)
        kernels.record(encoder, "add_block_offsets", levels[k], levels[k + 1], blocks)
    if len(levels) > 1:
        indirect = device.create_buffer_with_data(
            data=np.array([_blocks(count), 1, 1], dtype=np.uint32),
            usage=wgpu.BufferUsage.INDIRECT,
        )
        kernels.record(encoder, "add_block_offsets", levels[0], levels[1], indirect)

    # Reduce the untouched source, level by level down to one value.
    reduce_in = source
    level_count = count
    while True:
        reduce_out = _level_buffer(device, encoder, _blocks(level_count))
        kernels.record(encoder, "reduce_block", reduce_in, reduce_out, _blocks(level_count))
        reduce_in, level_count = reduce_out, _blocks(level_count)
        if level_count == 1:
            break

    device.queue.submit([encoder.finish()])
    scanned = np.frombuffer(device.queue.read_buffer(data, 0, count * 4), dtype=np.uint32)
    total = int(np.frombuffer(device.queue.read_buffer(reduce_in, 0, 4), dtype=np.uint32)[0])
    return scanned, total


def main(argv: list[str] | None = None) -> str:
    """Scan and reduce a few random arrays, verify them, print a checksum."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="elements per array")
    parser.add_argument("--rounds", type=int, default=3, help="arrays to process")
    args = parser.parse_args(argv)

    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    kernels = ScanKernels(device)
    rng = np.random.default_rng(0)
    digest = hashlib.sha256()
    for _ in range(args.rounds):
        values = rng.integers(0, 16, args.size, dtype=np.uint32)
        scanned, total = scan_and_reduce(kernels, values)
        expected = np.cumsum(values, dtype=np.uint32)
        if not np.array_equal(scanned, expected):
            bad = int(np.flatnonzero(scanned != expected)[0])
            raise AssertionError(f"scan mismatch at {bad}: {scanned[bad]} != {expected[bad]}")
        if total != int(expected[-1]):
            raise AssertionError(f"reduction mismatch: {total} != {int(expected[-1])}")
        digest.update(scanned.tobytes())
        digest.update(np.uint32(total).tobytes())
    print("ok")
    checksum = digest.hexdigest()[:16]
    print(f"checksum: {checksum}")
    return checksum


if __name__ == "__main__":
    main()
