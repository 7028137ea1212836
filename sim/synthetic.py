"""Synthetic logical programs: random allocations, writes, dispatches, copies, reads and frees.

A program is a list of small ops (plain tuples) turned into a recorded-style Trace by ``build``.
Tests draw op lists with hypothesis; the replay truth harness draws them from a seed. Kernels mix
every input word into some output word, so a kernel that sees one wrong byte changes its output,
and the GPU can confirm what the checker claims.

Ops (allocation ids count up from 0 in order of ``alloc``):
    ("alloc", words)                     a storage buffer of ``4 * words`` bytes
    ("uniform",)                         a 16-byte uniform buffer (kernel parameters)
    ("write", a)                         queue.write_buffer over the whole allocation
    ("dispatch", (inputs...), out, u)    a kernel reading ``inputs``, writing ``out``; ``u`` a uniform or -1
    ("draw", (inputs...), out, u)        the same mix drawn: a render pass whose fragments read ``inputs``
                                         into an r32uint target, copied into ``out``
    ("copy", src, dst)                   copy_buffer_to_buffer of min(size) bytes
    ("read", a)                          queue.read_buffer of the whole allocation
    ("free", a)                          the program drops the buffer
    ("submit",)                          an explicit submit of the open encoder
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..traces import DEFAULT_LIMITS, Access, BufferUsage, Kind, Trace, TraceBuilder, make_header
from ..traces.digest import digest
from ..traces.schema import AttachmentOps, TextureUsage

WORKGROUP = 64
STORAGE_USAGE = int(BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC)
UNIFORM_USAGE = int(BufferUsage.UNIFORM | BufferUsage.COPY_DST | BufferUsage.COPY_SRC)
UNIFORM_BYTES = 16
MAX_INPUTS = 3
DRAW_FORMAT = "r32uint"

Op = tuple


def _mix(n_inputs: int, with_uniform: bool) -> tuple[str, str]:
    """WGSL folding every input word j with j % n == i into ``acc``, and the uniform's seed of it."""
    mix = "".join(
        f"""
    for (var j = i; j < arrayLength(&in{k}); j = j + n) {{
        acc = (acc ^ in{k}[j]) * 0x9E3779B1u;
        acc = (acc << 13u) | (acc >> 19u);
    }}"""
        for k in range(n_inputs)
    )
    seed = "params.x ^ (params.y * 3u) ^ (params.z * 5u) ^ (params.w * 7u)" if with_uniform else "0u"
    return mix, seed


def kernel_wgsl(n_inputs: int, with_uniform: bool) -> str:
    """A kernel whose output word i mixes every input word j with j % len(out) == i."""
    decls = [f"@group(0) @binding({k}) var<storage, read> in{k}: array<u32>;" for k in range(n_inputs)]
    decls.append(f"@group(0) @binding({n_inputs}) var<storage, read_write> out: array<u32>;")
    if with_uniform:
        decls.append(f"@group(0) @binding({n_inputs + 1}) var<uniform> params: vec4<u32>;")
    mix, seed = _mix(n_inputs, with_uniform)
    return "\n".join(decls) + f"""

@compute @workgroup_size({WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{
    let i = gid.x;
    let n = arrayLength(&out);
    if (i >= n) {{
        return;
    }}
    var acc: u32 = (i + 1u) ^ ({seed});{mix}
    out[i] = acc;
}}
"""


def draw_wgsl(n_inputs: int, with_uniform: bool, width: int) -> str:
    """A full-screen triangle whose fragment at x mixes every input word j with j % width == x, as a kernel."""
    decls = [f"@group(0) @binding({k}) var<storage, read> in{k}: array<u32>;" for k in range(n_inputs)]
    if with_uniform:
        decls.append(f"@group(0) @binding({n_inputs}) var<uniform> params: vec4<u32>;")
    mix, seed = _mix(n_inputs, with_uniform)
    return "\n".join(decls) + f"""

@vertex
fn vs(@builtin(vertex_index) v: u32) -> @builtin(position) vec4<f32> {{
    let xy = array<vec2<f32>, 3>(vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
    return vec4<f32>(xy[v], 0.0, 1.0);
}}

@fragment
fn fs(@builtin(position) position: vec4<f32>) -> @location(0) u32 {{
    let i = u32(position.x);
    let n = {width}u;
    var acc: u32 = (i + 1u) ^ ({seed});{mix}
    return acc;
}}
"""


def random_ops(rng: np.random.Generator, n_ops: int, *, max_words: int = 256, max_live: int = 12,
               p_uniform: float = 0.3, p_rewrite: float = 0.15, p_draw: float = 0.0) -> list[Op]:
    """A random well-formed program: every kernel input was written first, frees come after last use.

    ``p_draw``: the share of kernels that are drawn instead (0 draws nothing and draws no extra random
    numbers, so programs without draws are the same as before draws existed).
    """
    ops: list[Op] = []
    live: list[int] = []
    uniforms: set[int] = set()
    written: set[int] = set()

    n_allocs = [0]

    def alloc(op: Op) -> int:
        a = n_allocs[0]
        n_allocs[0] += 1
        ops.append(op)
        live.append(a)
        return a

    def pick(pool: list[int]) -> int:
        return int(rng.choice(pool))

    while len(ops) < n_ops:
        r = rng.random()
        readable = sorted(written & set(live))
        if len(live) > max_live or (live and 0.85 <= r < 0.95):
            victim = pick(live)
            live.remove(victim)
            uniforms.discard(victim)
            written.discard(victim)
            ops.append(("free", victim))
        elif r < 0.25 or not readable:
            a = alloc(("alloc", int(rng.integers(1, max_words + 1))))
            ops.append(("write", a))
            written.add(a)
        elif r < 0.55 and (storage := [a for a in readable if a not in uniforms]):
            k = int(rng.integers(1, min(MAX_INPUTS, len(storage)) + 1))
            inputs = tuple(int(x) for x in rng.choice(storage, size=k, replace=False))
            u = -1
            if rng.random() < p_uniform:
                u = alloc(("uniform",))
                uniforms.add(u)
                written.add(u)
                ops.append(("write", u))
            out = alloc(("alloc", int(rng.integers(1, max_words + 1))))
            ops.append(("draw" if p_draw and rng.random() < p_draw else "dispatch", inputs, out, u))
            written.add(out)
        elif r < 0.62 and len(live) > 1:
            src = pick(readable)
            dst = pick([a for a in live if a not in uniforms and a != src] or [src])
            if dst != src:  # WebGPU refuses a copy within one buffer
                ops.append(("copy", src, dst))
                written.add(dst)
        elif r < 0.62 + p_rewrite:
            ops.append(("write", pick(readable)))
        elif r < 0.85:
            ops.append(("read", pick(readable)))
        else:
            ops.append(("submit",))
    return ops


def op_payload(seed: int, index: int, size: int) -> bytes:
    """Deterministic bytes for the write at op ``index``: same seed, same bytes."""
    return np.random.default_rng([seed, index]).integers(0, 2**32, size // 4, dtype=np.uint32).tobytes()


def build(ops: Sequence[Op], *, seed: int = 0, alignment: int = 256, safe: bool = True,
          data: str = "full", reuse_bind_groups: bool = False) -> Trace:
    """Record ``ops`` the way a plain wgpu-py program would run them.

    One encoder stays open until an explicit submit or a read; each dispatch gets its own pass;
    each allocation is its own buffer. With ``safe``, the program submits before a write to a
    buffer that its open encoder uses, as a careful program must; without it, such a write is
    recorded as is (an H1 hazard in the recording itself). With ``reuse_bind_groups``, a dispatch of the
    same kernel over the same buffers sets the bind group made the first time, as a program that makes
    its bind groups once does; else every dispatch makes its own. The header's start time is "generated",
    so the same ops and seed give the same bytes (a calibration names its traces by their SHA-256).
    """
    limits = {**DEFAULT_LIMITS, "min-storage-buffer-offset-alignment": alignment,
              "min-uniform-buffer-offset-alignment": alignment}
    b = TraceBuilder(make_header(program=["sim.synthetic", f"seed={seed}"], limits=limits,
                                 adapter={"device": "synthetic"}, capture={"mode": data, "payload_cap": 0},
                                 portable_results=True, start_time="generated"))
    program = _Program(b, seed=seed, safe=safe, data=data, reuse_bind_groups=reuse_bind_groups)
    program.add(Kind.DEVICE, "program.py:0", adapter=json.dumps({"device": "synthetic"}), limits=json.dumps(limits))
    for i, op in enumerate(ops):
        program.run(i, op)
    program.submit(f"program.py:{len(ops) + 1}")
    return b.build(end={"exit_code": 0})


class _Program:
    """The program ``build`` records, one op at a time: its buffers, its pipelines and its open encoder.

    Object ids count up from 0 in order of creation, each kind on its own; every event is 1 µs after
    the one before.
    """

    def __init__(self, b: TraceBuilder, *, seed: int, safe: bool, data: str, reuse_bind_groups: bool = False):
        self.b, self.seed, self.safe, self.data = b, seed, safe, data
        self.made: dict[tuple, int] | None = {} if reuse_bind_groups else None  # (pipeline, entries) -> bind group
        self.t = 0
        self.sizes: list[int] = []  # of each allocation, by id
        self.pipelines: dict[tuple, int] = {}  # (inputs, with a uniform[, width]) -> pipeline (and module) id
        self.textures = 0
        self.bind_groups = 0
        self.passes = 0
        self.encoders = 0
        self.encoder = -1  # the open encoder, -1 when none is
        self.used: set[int] = set()  # the allocations the open encoder's commands use

    def add(self, kind: Kind, site: str, **fields: Any) -> int:
        self.t += 1000
        return self.b.add(kind, site=site, t=self.t, **fields)

    def run(self, i: int, op: Op) -> None:
        """Record op ``i``; its call site is line ``i + 1`` of the program."""
        site = f"program.py:{i + 1}"
        name = op[0]
        if name in ("alloc", "uniform"):
            self.alloc(site, UNIFORM_BYTES if name == "uniform" else 4 * op[1], name == "uniform")
        elif name == "write":
            self.write(site, i, op[1])
        elif name == "dispatch":
            self.dispatch(site, op[1], op[2], op[3])
        elif name == "draw":
            self.draw(site, op[1], op[2], op[3])
        elif name == "copy":
            self.copy(site, op[1], op[2])
        elif name == "read":
            self.submit(site)
            self.add(Kind.QUEUE_READ, site, buffer=op[1], offset=0, size=self.sizes[op[1]])
        elif name == "free":
            self.add(Kind.BUFFER_DESTROY, site, buffer=op[1], dropped=1)
        elif name == "submit":
            self.submit(site)
        else:
            raise ValueError(f"op {i}: unknown op {name!r}")

    def open_encoder(self, site: str) -> int:
        """The open encoder; one is created when none is open."""
        if self.encoder < 0:
            self.encoder = self.encoders
            self.encoders += 1
            self.add(Kind.ENCODER_CREATE, site, encoder=self.encoder, device=0)
        return self.encoder

    def submit(self, site: str) -> None:
        """Finish and submit the open encoder, if one is open."""
        if self.encoder >= 0:
            self.add(Kind.ENCODER_FINISH, site, encoder=self.encoder)
            self.add(Kind.SUBMIT, site, device=0, rows=[(self.encoder,)])
            self.encoder = -1
            self.used = set()

    def alloc(self, site: str, size: int, uniform: bool) -> None:
        usage = UNIFORM_USAGE if uniform else STORAGE_USAGE
        self.add(Kind.BUFFER_CREATE, site, buffer=len(self.sizes), size=size, usage=usage, device=0)
        self.sizes.append(size)

    def write(self, site: str, i: int, a: int) -> None:
        if self.safe and a in self.used:
            self.submit(site)
        payload = op_payload(self.seed, i, self.sizes[a])
        hi, lo = digest(payload)
        self.add(Kind.WRITE_BUFFER, site, buffer=a, offset=0, size=self.sizes[a],
                 payload=payload if self.data == "full" else None, digest_hi=hi, digest_lo=lo)

    def pipeline(self, site: str, n_inputs: int, with_uniform: bool) -> int:
        """The pipeline of the kernel with ``n_inputs`` inputs, made (with its own module) at first use."""
        key = (n_inputs, with_uniform)
        if key not in self.pipelines:
            pipeline = self.pipelines[key] = len(self.pipelines)
            self.add(Kind.SHADER_MODULE, site, module=pipeline, code=kernel_wgsl(*key), device=0)
            layout = [(0, k, Access.READ_ONLY_STORAGE) for k in range(n_inputs)]
            layout.append((0, n_inputs, Access.STORAGE))
            if with_uniform:
                layout.append((0, n_inputs + 1, Access.UNIFORM))
            self.add(Kind.COMPUTE_PIPELINE, site, pipeline=pipeline, module=pipeline, entry_point="main", device=0,
                     rows=layout)
        return self.pipelines[key]

    def dispatch(self, site: str, inputs: tuple[int, ...], out: int, u: int) -> None:
        """A bind group of its own, then a pass of its own that dispatches one thread per output word."""
        pipeline = self.pipeline(site, len(inputs), u >= 0)
        entries = [(k, a, 0, self.sizes[a], Access.READ_ONLY_STORAGE) for k, a in enumerate(inputs)]
        entries.append((len(inputs), out, 0, self.sizes[out], Access.STORAGE))
        if u >= 0:
            entries.append((len(inputs) + 1, u, 0, UNIFORM_BYTES, Access.UNIFORM))
        bg = self.bind_group(site, pipeline, entries)
        enc = self.open_encoder(site)
        p = self.passes
        self.passes += 1
        self.add(Kind.PASS_BEGIN, site, compute_pass=p, encoder=enc)
        self.add(Kind.SET_PIPELINE, site, compute_pass=p, pipeline=pipeline)
        self.add(Kind.SET_BIND_GROUP, site, compute_pass=p, index=0, bind_group=bg)
        self.add(Kind.DISPATCH, site, compute_pass=p, x=-(-self.sizes[out] // 4 // WORKGROUP), y=1, z=1)
        self.add(Kind.PASS_END, site, compute_pass=p)
        self.used |= {*inputs, out} | ({u} if u >= 0 else set())

    def bind_group(self, site: str, pipeline: int, entries: list[tuple]) -> int:
        """A new bind group of ``entries`` for ``pipeline``'s group 0, or the one made before where they are reused."""
        key = (pipeline, tuple(entries))
        if self.made is not None and key in self.made:
            return self.made[key]
        bg = self.bind_groups
        self.bind_groups += 1
        self.add(Kind.BIND_GROUP, site, bind_group=bg, pipeline=pipeline, group=0, rows=entries)
        if self.made is not None:
            self.made[key] = bg
        return bg

    def render_pipeline(self, site: str, n_inputs: int, with_uniform: bool, width: int) -> int:
        """The pipeline drawing the mix of ``n_inputs`` inputs ``width`` texels wide, made at first use."""
        key = (n_inputs, with_uniform, width)
        if key not in self.pipelines:
            pipeline = self.pipelines[key] = len(self.pipelines)
            self.add(Kind.SHADER_MODULE, site, module=pipeline, code=draw_wgsl(*key), device=0)
            layout = [(0, k, Access.READ_ONLY_STORAGE) for k in range(n_inputs)]
            if with_uniform:
                layout.append((0, n_inputs, Access.UNIFORM))
            descriptor = {"vertex": {"entry_point": "vs", "buffers": []},
                          "fragment": {"entry_point": "fs", "targets": [{"format": DRAW_FORMAT}]},
                          "primitive": {"topology": "triangle-list"}}
            self.add(Kind.RENDER_PIPELINE, site, pipeline=pipeline, vertex_module=pipeline, fragment_module=pipeline,
                     descriptor=json.dumps(descriptor, sort_keys=True), device=0, rows=layout)
        return self.pipelines[key]

    def draw(self, site: str, inputs: tuple[int, ...], out: int, u: int) -> None:
        """A target texture of its own, a render pass drawing into it, and a copy of it into ``out``."""
        width = self.sizes[out] // 4
        pipeline = self.render_pipeline(site, len(inputs), u >= 0, width)
        entries = [(k, a, 0, self.sizes[a], Access.READ_ONLY_STORAGE) for k, a in enumerate(inputs)]
        if u >= 0:
            entries.append((len(inputs), u, 0, UNIFORM_BYTES, Access.UNIFORM))
        bg = self.bind_groups
        self.bind_groups += 1
        self.add(Kind.BIND_GROUP, site, bind_group=bg, pipeline=pipeline, group=0, rows=entries)
        texture = self.textures
        self.textures += 1
        usage = int(TextureUsage.RENDER_ATTACHMENT | TextureUsage.COPY_SRC)
        self.add(Kind.TEXTURE_CREATE, site, texture=texture, width=width, height=1, depth_or_array_layers=1,
                 format=DRAW_FORMAT, device=0, rows=[(1, 1, 2, usage, None)])
        self.add(Kind.TEXTURE_VIEW, site, view=texture, texture=texture, format=DRAW_FORMAT, dimension="2d",
                 rows=[(0, 1, 0, 1, 0)])
        enc = self.open_encoder(site)
        p = self.passes
        self.passes += 1
        clear = json.dumps({"color_attachments": [{"clear_value": [0, 0, 0, 0]}]})
        self.add(Kind.RENDER_PASS_BEGIN, site, render_pass=p, encoder=enc, descriptor=clear,
                 rows=[(0, texture, -1, int(AttachmentOps.STORE), -1)])
        self.add(Kind.SET_PIPELINE, site, compute_pass=p, pipeline=pipeline)
        self.add(Kind.SET_BIND_GROUP, site, compute_pass=p, index=0, bind_group=bg)
        self.add(Kind.DRAW, site, pass_encoder=p, vertex_count=3, instance_count=1)
        self.add(Kind.PASS_END, site, compute_pass=p)
        self.add(Kind.COPY_TEXTURE_TO_BUFFER, site, encoder=enc, texture=texture, buffer=out,
                 rows=[(0, 0, 0, 0, 0), (0, -(-width * 4 // 256) * 256, 1), (width, 1, 1)])
        self.add(Kind.TEXTURE_DESTROY, site, texture=texture, dropped=1)
        self.used |= {*inputs, out} | ({u} if u >= 0 else set())

    def copy(self, site: str, src: int, dst: int) -> None:
        enc = self.open_encoder(site)
        self.add(Kind.COPY, site, encoder=enc, src=src, src_offset=0, dst=dst, dst_offset=0,
                 size=min(self.sizes[src], self.sizes[dst]))
        self.used |= {src, dst}
