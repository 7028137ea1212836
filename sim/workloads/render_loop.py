"""A render loop, as a pygfx frame records it: render traces of any number of frames.

The scene's buffers are uploaded once. Then each frame does what a pygfx frame does: it rewrites a camera uniform and a
per-object uniform with ``write_buffer``, uploads a 64x64 region of a texture atlas with
``write_texture``, records a render pass (a color and a depth attachment) of ``--draws`` draws,
each binding the camera, its object's uniform and a view of the atlas and reading a vertex and an
index buffer, copies the frame out to a buffer and submits. One frame in 16 uploads to the atlas
after its pass is recorded (H1 on a texture).

The benchmarks' render workload (bench_check_render, bench_growth) and the growth test's.
"""

from __future__ import annotations

import json
from typing import Any

from ...traces import Access, Kind, Trace, TraceBuilder, make_header
from ...traces.schema import AttachmentOps, TextureUsage

OBJECTS = 64
HAZARD_EVERY = 16


def generate(frames: int, draws: int) -> Trace:
    b = TraceBuilder(make_header(program=["bench_check_render"]))
    add = b.add
    add(Kind.DEVICE, site="app.py:1", device=0, adapter="{}", limits="{}")
    uniform = 0x40 | 0x8
    add(Kind.BUFFER_CREATE, site="app.py:2", buffer=0, size=256, usage=uniform, device=0, label="camera")
    for o in range(OBJECTS):
        add(Kind.BUFFER_CREATE, site="app.py:3", buffer=1 + o, size=256, usage=uniform, device=0)
    vertices, indices, readback = OBJECTS + 1, OBJECTS + 2, OBJECTS + 3
    add(Kind.BUFFER_CREATE, site="app.py:4", buffer=vertices, size=1 << 20, usage=0x20 | 0x8, device=0)
    add(Kind.BUFFER_CREATE, site="app.py:4", buffer=indices, size=1 << 18, usage=0x10 | 0x8, device=0)
    add(Kind.BUFFER_CREATE, site="app.py:5", buffer=readback, size=256 * 256, usage=0x1 | 0x8, device=0)
    for buffer, size in ((0, 256), *((1 + o, 256) for o in range(OBJECTS)), (vertices, 1 << 20), (indices, 1 << 18)):
        add(Kind.WRITE_BUFFER, site="app.py:5", buffer=buffer, offset=0, size=size)
    usage = int(TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING | TextureUsage.RENDER_ATTACHMENT
                | TextureUsage.COPY_SRC)
    for t, (size, fmt) in enumerate(((1024, "rgba8unorm"), (256, "rgba8unorm"), (256, "depth32float"))):
        add(Kind.TEXTURE_CREATE, site="app.py:6", texture=t, width=size, height=size, depth_or_array_layers=1,
            format=fmt, device=0, rows=[(1, 1, 2, usage, None)])
        add(Kind.TEXTURE_VIEW, site="app.py:7", view=t, texture=t, format=fmt, dimension="2d",
            rows=[(0, 1, 0, 1, 0)])
    add(Kind.SHADER_MODULE, site="app.py:8", module=0, code="", device=0)
    add(Kind.RENDER_PIPELINE, site="app.py:9", pipeline=0, vertex_module=0, fragment_module=0, device=0,
        descriptor=json.dumps({"label": "mesh", "vertex": {"buffers": [{}]}}),
        rows=[(0, 0, Access.UNIFORM), (0, 1, Access.UNIFORM), (0, 2, Access.SAMPLED_TEXTURE)])
    for o in range(OBJECTS):
        add(Kind.BIND_GROUP, site="app.py:10", bind_group=o, pipeline=0, group=0,
            rows=[(0, 0, 0, 256, Access.UNIFORM), (1, 1 + o, 0, 256, Access.UNIFORM),
                  (2, 0, 0, 0, Access.SAMPLED_TEXTURE)])
    clear, load = int(AttachmentOps.STORE), int(AttachmentOps.LOAD | AttachmentOps.STORE)
    for f in range(frames):
        enc, p = f, f
        add(Kind.WRITE_BUFFER, site="app.py:20", buffer=0, offset=0, size=64)
        add(Kind.WRITE_BUFFER, site="app.py:21", buffer=1 + f % OBJECTS, offset=0, size=64)
        x, y = 64 * (f % 16), 64 * (f // 16 % 16)
        upload: dict[str, Any] = dict(texture=0, size=64 * 64 * 4, rows=[(0, 256, 64), (0, x, y, 0, 0), (64, 64, 1)])
        add(Kind.WRITE_TEXTURE, site="app.py:22", **upload)
        add(Kind.ENCODER_CREATE, site="app.py:23", encoder=enc, device=0)
        add(Kind.RENDER_PASS_BEGIN, site="app.py:24", render_pass=p, encoder=enc, descriptor="{}",
            rows=[(0, 1, -1, clear if f % 2 else load, -1), (-1, 2, -1, clear, -1)])
        add(Kind.SET_PIPELINE, site="app.py:25", compute_pass=p, pipeline=0)
        add(Kind.SET_VERTEX_BUFFER, site="app.py:26", pass_encoder=p, slot=0, buffer=vertices, offset=0, size=1 << 20)
        add(Kind.SET_INDEX_BUFFER, site="app.py:27", pass_encoder=p, buffer=indices, index_bytes=4, offset=0,
            size=1 << 18)
        for d in range(draws):
            add(Kind.SET_BIND_GROUP, site="app.py:28", compute_pass=p, index=0, bind_group=(f + d) % OBJECTS)
            add(Kind.DRAW_INDEXED, site="app.py:29", pass_encoder=p, index_count=36, instance_count=1,
                first_index=36 * d)
        add(Kind.PASS_END, site="app.py:30", compute_pass=p)
        add(Kind.COPY_TEXTURE_TO_BUFFER, site="app.py:31", encoder=enc, texture=1, buffer=readback,
            rows=[(0, 0, 0, 0, 0), (0, 1024, 64), (256, 64, 1)])
        if f % HAZARD_EVERY == HAZARD_EVERY - 1:
            add(Kind.WRITE_TEXTURE, site="app.py:33", **upload)
        add(Kind.ENCODER_FINISH, site="app.py:34", encoder=enc)
        add(Kind.SUBMIT, site="app.py:35", device=0, rows=[(enc,)])
    return b.build()
