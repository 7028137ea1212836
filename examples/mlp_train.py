"""Eager, tensor-style training of a tiny 2-layer MLP on wgpu.

This mimics how an eager GPU runtime drives WebGPU: every op allocates a fresh
output buffer and a fresh uniform buffer (filled with ``queue.write_buffer``),
builds a bind group and records its dispatch into one long-lived command
encoder / compute pass that is only submitted at the end of a step or when a
value is read back. Writing only into fresh buffers keeps every
``write_buffer`` clear of commands still waiting in the open encoder.

``--hazard`` switches the input batch to one reused buffer that is refilled
with the *next* batch while the open encoder still reads it: because queue
writes land before the pending submit, each step silently trains on the wrong
inputs. That is the ordering hazard the project is built to detect.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import wgpu

BATCH = 64
IN_FEATURES = 32
HIDDEN = 64
CLASSES = 10
POOL_BATCHES = 8  # distinct batches cycled through by the data loader

STORAGE_USAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
UNIFORM_USAGE = wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST

SHADERS: dict[str, str] = {
    # out[m, n] = sum_k a[m, k] * b[k, n]; strides make transposed operands free.
    "matmul": """
struct Params { m: u32, n: u32, k: u32, a_rs: u32, a_cs: u32, b_rs: u32, b_cs: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = gid.y;
    let col = gid.x;
    if (row >= p.m || col >= p.n) { return; }
    var acc = 0.0;
    for (var i = 0u; i < p.k; i++) {
        acc += a[row * p.a_rs + i * p.a_cs] * b[i * p.b_rs + col * p.b_cs];
    }
    out[row * p.n + col] = acc;
}
""",
    "add_bias": """
struct Params { count: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) { return; }
    out[i] = x[i] + bias[i % p.cols];
}
""",
    "relu": """
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) { return; }
    out[i] = max(x[i], 0.0);
}
""",
    "relu_backward": """
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> pre: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) { return; }
    out[i] = select(0.0, grad[i], pre[i] > 0.0);
}
""",
    # One thread per row: per-sample loss and d(mean loss)/d(logits).
    "softmax_xent": """
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    if (r >= p.rows) { return; }
    let base = r * p.cols;
    var peak = logits[base];
    for (var c = 1u; c < p.cols; c++) { peak = max(peak, logits[base + c]); }
    var total = 0.0;
    for (var c = 0u; c < p.cols; c++) { total += exp(logits[base + c] - peak); }
    let label = labels[r];
    let scale = 1.0 / f32(p.rows);
    for (var c = 0u; c < p.cols; c++) {
        let prob = exp(logits[base + c] - peak) / total;
        grad[base + c] = (prob - select(0.0, 1.0, c == label)) * scale;
    }
    loss[r] = log(total) - (logits[base + label] - peak);
}
""",
    # Single invocation, sequential order: a bit-deterministic mean.
    "mean": """
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(1)
fn main() {
    var acc = 0.0;
    for (var i = 0u; i < p.count; i++) { acc += x[i]; }
    out[0] = acc / f32(p.count);
}
""",
    # Column sums (bias gradients), each column summed in row order.
    "sum_rows": """
struct Params { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    if (c >= p.cols) { return; }
    var acc = 0.0;
    for (var r = 0u; r < p.rows; r++) { acc += x[r * p.cols + c]; }
    out[c] = acc;
}
""",
    "sgd": """
struct Params { count: u32, lr: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.count) { return; }
    out[i] = w[i] - p.lr * g[i];
}
""",
}


def _pack_params(*values: int | float) -> bytes:
    """Pack ints as u32 and floats as f32, padded to 16 bytes for uniform layout."""
    words = np.zeros(-(-len(values) // 4) * 4, dtype=np.uint32)
    for i, value in enumerate(values):
        if isinstance(value, float):
            words[i] = np.float32(value).view(np.uint32)
        else:
            words[i] = value
    return words.tobytes()


def _groups(count: int, size: int = 64) -> int:
    return -(-count // size)


class Tensor:
    """A GPU buffer plus the shape and dtype needed to launch ops on it."""

    def __init__(self, buffer: wgpu.GPUBuffer, shape: tuple[int, ...], dtype: type):
        self.buffer = buffer
        self.shape = shape
        self.dtype = dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


class Runtime:
    """Eager op launcher that batches dispatches into one open encoder + pass."""

    def __init__(self, device: wgpu.GPUDevice):
        self.device = device
        self._pipelines: dict[str, wgpu.GPUComputePipeline] = {}
        self._layouts: dict[str, wgpu.GPUBindGroupLayout] = {}
        for name, code in SHADERS.items():
            module = device.create_shader_module(label=name, code=code)
            pipeline = device.create_compute_pipeline(
                label=name,
                layout="auto",
                compute={"module": module, "entry_point": "main"},
            )
            self._pipelines[name] = pipeline
            self._layouts[name] = pipeline.get_bind_group_layout(0)
        self._encoder: wgpu.GPUCommandEncoder | None = None
        self._pass: wgpu.GPUComputePassEncoder | None = None
        self._step_uniforms: list[wgpu.GPUBuffer] = []

    # -- memory -------------------------------------------------------------

    def empty(self, shape: tuple[int, ...], dtype: type = np.float32) -> Tensor:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        buffer = self.device.create_buffer(size=nbytes, usage=STORAGE_USAGE)
        return Tensor(buffer, shape, dtype)

    def upload(self, array: np.ndarray) -> Tensor:
        """Copy a host array into a freshly allocated tensor (never in use yet)."""
        tensor = self.empty(array.shape, array.dtype.type)
        self.device.queue.write_buffer(tensor.buffer, 0, np.ascontiguousarray(array))
        return tensor

    def overwrite(self, tensor: Tensor, array: np.ndarray) -> None:
        """Refill an existing tensor in place; unsafe if the open encoder uses it."""
        self.device.queue.write_buffer(tensor.buffer, 0, np.ascontiguousarray(array))

    def read(self, tensor: Tensor) -> np.ndarray:
        """Flush pending work (read_buffer submits its own copy) and read back."""
        self.flush()
        data = self.device.queue.read_buffer(tensor.buffer)
        return np.frombuffer(data, dtype=tensor.dtype).reshape(tensor.shape)

    # -- command recording --------------------------------------------------

    def _launch(self, kernel: str, params: bytes, tensors: list[Tensor], groups: tuple[int, int]) -> None:
        uniform = self.device.create_buffer(size=len(params), usage=UNIFORM_USAGE)
        self.device.queue.write_buffer(uniform, 0, params)
        self._step_uniforms.append(uniform)
        entries = [{"binding": 0, "resource": {"buffer": uniform}}]
        entries += [{"binding": i, "resource": {"buffer": t.buffer}} for i, t in enumerate(tensors, start=1)]
        bind_group = self.device.create_bind_group(layout=self._layouts[kernel], entries=entries)
        if self._pass is None:
            self._encoder = self.device.create_command_encoder()
            self._pass = self._encoder.begin_compute_pass()
        self._pass.set_pipeline(self._pipelines[kernel])
        self._pass.set_bind_group(0, bind_group)
        self._pass.dispatch_workgroups(*groups)

    def flush(self) -> None:
        """Submit the open encoder, then free the uniforms it consumed."""
        if self._pass is None:
            return
        self._pass.end()
        self.device.queue.submit([self._encoder.finish()])
        self._pass = self._encoder = None
        for uniform in self._step_uniforms:
            uniform.destroy()
        self._step_uniforms.clear()

    # -- ops (each allocates its outputs) -----------------------------------

    def matmul(self, a: Tensor, b: Tensor, *, transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
        m, k = a.shape[::-1] if transpose_a else a.shape
        k_b, n = b.shape[::-1] if transpose_b else b.shape
        assert k == k_b, (a.shape, b.shape, transpose_a, transpose_b)
        a_rs, a_cs = (1, m) if transpose_a else (k, 1)
        b_rs, b_cs = (1, k) if transpose_b else (n, 1)
        out = self.empty((m, n))
        params = _pack_params(m, n, k, a_rs, a_cs, b_rs, b_cs)
        self._launch("matmul", params, [a, b, out], (_groups(n, 8), _groups(m, 8)))
        return out

    def add_bias(self, x: Tensor, bias: Tensor) -> Tensor:
        out = self.empty(x.shape)
        params = _pack_params(x.size, x.shape[1])
        self._launch("add_bias", params, [x, bias, out], (_groups(x.size), 1))
        return out

    def relu(self, x: Tensor) -> Tensor:
        out = self.empty(x.shape)
        self._launch("relu", _pack_params(x.size), [x, out], (_groups(x.size), 1))
        return out

    def relu_backward(self, grad: Tensor, pre: Tensor) -> Tensor:
        out = self.empty(grad.shape)
        params = _pack_params(grad.size)
        self._launch("relu_backward", params, [grad, pre, out], (_groups(grad.size), 1))
        return out

    def softmax_xent(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Return (d mean-loss / d logits, per-sample loss)."""
        rows, cols = logits.shape
        grad = self.empty(logits.shape)
        loss = self.empty((rows,))
        params = _pack_params(rows, cols)
        self._launch("softmax_xent", params, [logits, labels, grad, loss], (_groups(rows), 1))
        return grad, loss

    def mean(self, x: Tensor) -> Tensor:
        out = self.empty((1,))
        self._launch("mean", _pack_params(x.size), [x, out], (1, 1))
        return out

    def sum_rows(self, x: Tensor) -> Tensor:
        rows, cols = x.shape
        out = self.empty((cols,))
        self._launch("sum_rows", _pack_params(rows, cols), [x, out], (_groups(cols), 1))
        return out

    def sgd(self, w: Tensor, g: Tensor, lr: float) -> Tensor:
        out = self.empty(w.shape)
        self._launch("sgd", _pack_params(w.size, lr), [w, g, out], (_groups(w.size), 1))
        return out


def _make_dataset(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A learnable synthetic task: labels from a random linear teacher."""
    teacher = rng.standard_normal((IN_FEATURES, CLASSES))
    x = rng.standard_normal((POOL_BATCHES * BATCH, IN_FEATURES)).astype(np.float32)
    y = np.argmax(x @ teacher, axis=1).astype(np.uint32)
    return x, y


def _batch(data: tuple[np.ndarray, np.ndarray], step: int) -> tuple[np.ndarray, np.ndarray]:
    start = (step % POOL_BATCHES) * BATCH
    return data[0][start : start + BATCH], data[1][start : start + BATCH]


def train(
    device: wgpu.GPUDevice,
    steps: int,
    lr: float,
    log_every: int,
    hazard: bool,
) -> list[np.ndarray]:
    """Run SGD for ``steps`` steps and return the final parameters (read back)."""
    rng = np.random.default_rng(0)
    data = _make_dataset(rng)
    rt = Runtime(device)
    w1 = rt.upload((rng.standard_normal((IN_FEATURES, HIDDEN)) * np.sqrt(2 / IN_FEATURES)).astype(np.float32))
    b1 = rt.upload(np.zeros(HIDDEN, dtype=np.float32))
    w2 = rt.upload((rng.standard_normal((HIDDEN, CLASSES)) * np.sqrt(1 / HIDDEN)).astype(np.float32))
    b2 = rt.upload(np.zeros(CLASSES, dtype=np.float32))
    reused_x = rt.upload(_batch(data, 0)[0]) if hazard else None

    for step in range(steps):
        x_host, y_host = _batch(data, step)
        x = reused_x if hazard else rt.upload(x_host)
        y = rt.upload(y_host)

        pre = rt.add_bias(rt.matmul(x, w1), b1)
        h = rt.relu(pre)
        logits = rt.add_bias(rt.matmul(h, w2), b2)
        dlogits, sample_loss = rt.softmax_xent(logits, y)
        loss = rt.mean(sample_loss)

        dw2 = rt.matmul(h, dlogits, transpose_a=True)
        db2 = rt.sum_rows(dlogits)
        dpre = rt.relu_backward(rt.matmul(dlogits, w2, transpose_b=True), pre)
        dw1 = rt.matmul(x, dpre, transpose_a=True)
        db1 = rt.sum_rows(dpre)

        w1, b1 = rt.sgd(w1, dw1, lr), rt.sgd(b1, db1, lr)
        w2, b2 = rt.sgd(w2, dw2, lr), rt.sgd(b2, db2, lr)

        if hazard and step + 1 < steps:
            # BUG on purpose: the open encoder still reads reused_x.
            rt.overwrite(reused_x, _batch(data, step + 1)[0])
        rt.flush()
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step:4d} loss {float(rt.read(loss)[0]):.6f}")

    return [rt.read(t) for t in (w1, b1, w2, b2)]


def main(argv: list[str] | None = None) -> str:
    """Train, print the loss every few steps and a checksum of the final weights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="training steps")
    parser.add_argument("--lr", type=float, default=0.1, help="SGD learning rate")
    parser.add_argument("--log-every", type=int, default=10, help="loss read interval")
    parser.add_argument(
        "--hazard",
        action="store_true",
        help="refill the reused input buffer while the open encoder still reads it",
    )
    args = parser.parse_args(argv)

    adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
    device = adapter.request_device_sync()
    params = train(device, args.steps, args.lr, args.log_every, args.hazard)
    digest = hashlib.sha256(b"".join(p.tobytes() for p in params)).hexdigest()[:16]
    print(f"checksum: {digest}")
    return digest


if __name__ == "__main__":
    main()
