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
    ("copy", src, dst)                   copy_buffer_to_buffer of min(size) bytes
    ("read", a)                          queue.read_buffer of the whole allocation
    ("free", a)                          the program drops the buffer
    ("submit",)                          an explicit submit of the open encoder
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from ..traces import Access, Kind, Trace, TraceBuilder, make_header
from ..traces.digest import digest

WORKGROUP = 64
STORAGE_USAGE = 0x80 | 0x08 | 0x04  # STORAGE | COPY_DST | COPY_SRC
UNIFORM_USAGE = 0x40 | 0x08 | 0x04  # UNIFORM | COPY_DST | COPY_SRC
UNIFORM_BYTES = 16
MAX_INPUTS = 3

Op = tuple


def kernel_wgsl(n_inputs: int, with_uniform: bool) -> str:
    """A kernel whose output word i mixes every input word j with j % len(out) == i."""
    decls = [f"@group(0) @binding({k}) var<storage, read> in{k}: array<u32>;" for k in range(n_inputs)]
    decls.append(f"@group(0) @binding({n_inputs}) var<storage, read_write> out: array<u32>;")
    if with_uniform:
        decls.append(f"@group(0) @binding({n_inputs + 1}) var<uniform> params: vec4<u32>;")
    mix = "".join(
        f"""
    for (var j = i; j < arrayLength(&in{k}); j = j + n) {{
        acc = (acc ^ in{k}[j]) * 0x9E3779B1u;
        acc = (acc << 13u) | (acc >> 19u);
    }}"""
        for k in range(n_inputs)
    )
    seed = "params.x ^ (params.y * 3u) ^ (params.z * 5u) ^ (params.w * 7u)" if with_uniform else "0u"
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


def random_ops(rng: np.random.Generator, n_ops: int, *, max_words: int = 256, max_live: int = 12,
               p_uniform: float = 0.3, p_rewrite: float = 0.15) -> list[Op]:
    """A random well-formed program: every kernel input was written first, frees come after last use."""
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
            ops.append(("dispatch", inputs, out, u))
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
          data: str = "full") -> Trace:
    """Record ``ops`` the way a plain wgpu-py program would run them.

    One encoder stays open until an explicit submit or a read; each dispatch gets its own pass;
    each allocation is its own buffer. With ``safe``, the program submits before a write to a
    buffer that its open encoder uses, as a careful program must; without it, such a write is
    recorded as is (an H1 hazard in the recording itself).
    """
    limits = {"min-storage-buffer-offset-alignment": alignment, "min-uniform-buffer-offset-alignment": alignment,
              "max-storage-buffer-binding-size": 1 << 27, "max-uniform-buffer-binding-size": 1 << 16}
    b = TraceBuilder(make_header(program=["sim.synthetic", f"seed={seed}"], limits=limits,
                                 adapter={"device": "synthetic"}, capture={"mode": data, "payload_cap": 0},
                                 portable_results=True))
    sizes: list[int] = []
    pipelines: dict[tuple[int, bool], int] = {}
    counters = {"bind_group": 0, "encoder": 0, "pass": 0, "module": 0}
    state = {"encoder": -1, "used": set()}
    t = [0]

    def add(kind: Kind, site: str, **fields) -> int:
        t[0] += 1000
        return b.add(kind, site=site, t=t[0], **fields)

    add(Kind.DEVICE, "program.py:0", adapter=json.dumps({"device": "synthetic"}), limits=json.dumps(limits))

    def encoder(site: str) -> int:
        if state["encoder"] < 0:
            state["encoder"] = counters["encoder"]
            counters["encoder"] += 1
            add(Kind.ENCODER_CREATE, site, encoder=state["encoder"], device=0)
        return state["encoder"]

    def submit(site: str) -> None:
        if state["encoder"] >= 0:
            add(Kind.ENCODER_FINISH, site, encoder=state["encoder"])
            add(Kind.SUBMIT, site, device=0, rows=[(state["encoder"],)])
            state["encoder"] = -1
            state["used"] = set()

    for i, op in enumerate(ops):
        site = f"program.py:{i + 1}"
        name = op[0]
        if name in ("alloc", "uniform"):
            size = UNIFORM_BYTES if name == "uniform" else 4 * op[1]
            usage = UNIFORM_USAGE if name == "uniform" else STORAGE_USAGE
            add(Kind.BUFFER_CREATE, site, buffer=len(sizes), size=size, usage=usage, device=0)
            sizes.append(size)
        elif name == "write":
            a = op[1]
            if safe and a in state["used"]:
                submit(site)
            payload = op_payload(seed, i, sizes[a])
            hi, lo = digest(payload)
            add(Kind.WRITE_BUFFER, site, buffer=a, offset=0, size=sizes[a],
                payload=payload if data == "full" else None, digest_hi=hi, digest_lo=lo)
        elif name == "dispatch":
            inputs, out, u = op[1], op[2], op[3]
            key = (len(inputs), u >= 0)
            if key not in pipelines:
                add(Kind.SHADER_MODULE, site, module=counters["module"], code=kernel_wgsl(*key), device=0)
                layout = [(0, k, Access.READ_ONLY_STORAGE) for k in range(len(inputs))]
                layout.append((0, len(inputs), Access.STORAGE))
                if u >= 0:
                    layout.append((0, len(inputs) + 1, Access.UNIFORM))
                pipelines[key] = len(pipelines)
                add(Kind.COMPUTE_PIPELINE, site, pipeline=pipelines[key], module=counters["module"],
                    entry_point="main", device=0, rows=layout)
                counters["module"] += 1
            entries = [(k, a, 0, sizes[a], Access.READ_ONLY_STORAGE) for k, a in enumerate(inputs)]
            entries.append((len(inputs), out, 0, sizes[out], Access.STORAGE))
            if u >= 0:
                entries.append((len(inputs) + 1, u, 0, UNIFORM_BYTES, Access.UNIFORM))
            bg = counters["bind_group"]
            counters["bind_group"] += 1
            add(Kind.BIND_GROUP, site, bind_group=bg, pipeline=pipelines[key], group=0, rows=entries)
            enc = encoder(site)
            p = counters["pass"]
            counters["pass"] += 1
            add(Kind.PASS_BEGIN, site, compute_pass=p, encoder=enc)
            add(Kind.SET_PIPELINE, site, compute_pass=p, pipeline=pipelines[key])
            add(Kind.SET_BIND_GROUP, site, compute_pass=p, index=0, bind_group=bg)
            add(Kind.DISPATCH, site, compute_pass=p, x=-(-sizes[out] // 4 // WORKGROUP), y=1, z=1)
            add(Kind.PASS_END, site, compute_pass=p)
            state["used"] |= {*inputs, out} | ({u} if u >= 0 else set())
        elif name == "copy":
            src, dst = op[1], op[2]
            enc = encoder(site)
            add(Kind.COPY, site, encoder=enc, src=src, src_offset=0, dst=dst, dst_offset=0,
                size=min(sizes[src], sizes[dst]))
            state["used"] |= {src, dst}
        elif name == "read":
            submit(site)
            add(Kind.QUEUE_READ, site, buffer=op[1], offset=0, size=sizes[op[1]])
        elif name == "free":
            add(Kind.BUFFER_DESTROY, site, buffer=op[1], dropped=1)
        elif name == "submit":
            submit(site)
        else:
            raise ValueError(f"op {i}: unknown op {name!r}")
    submit(f"program.py:{len(ops) + 1}")
    return b.build(end={"exit_code": 0})
