"""The rules over render passes, bundles and textures, on hand-written traces with and without each hazard.

``RenderApp`` extends the compute ``App`` of test_check_rules with textures, views, render
pipelines, render passes, bundles, texture copies and uploads, each call at its own line of a
notional ``app.py``.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from wgtrace.sim.check import check
from wgtrace.sim.footprint import Textures, commands_and_footprints
from wgtrace.traces import Access, Kind, TraceBuilder, make_header, validate
from wgtrace.traces.schema import AttachmentOps, TextureUsage

from strategies import event_streams
from test_check_rules import UNIFORM, App

SAMPLED, SAMPLER = Access.SAMPLED_TEXTURE, Access.SAMPLER
TEXTURE_USAGE = int(TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING
                    | TextureUsage.RENDER_ATTACHMENT | TextureUsage.STORAGE_BINDING)
STORE, LOAD = int(AttachmentOps.STORE), int(AttachmentOps.LOAD | AttachmentOps.STORE)


class RenderApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.ids.update(texture=0, view=0, sampler=0, bundle=0)

    def texture(self, width: int = 16, height: int = 16, layers: int = 1, mips: int = 1, dimension: int = 2,
                label: str | None = None) -> int:
        t = self.new("texture")
        self.add(Kind.TEXTURE_CREATE, texture=t, width=width, height=height, depth_or_array_layers=layers,
                 format="rgba8unorm", device=0, rows=[(mips, 1, dimension, TEXTURE_USAGE, label)])
        return t

    def view(self, texture: int, mip: int = 0, mips: int = 1, layer: int = 0, layers: int = 1) -> int:
        v = self.new("view")
        self.add(Kind.TEXTURE_VIEW, view=v, texture=texture, format="rgba8unorm", dimension="2d",
                 rows=[(mip, mips, layer, layers, 0)])
        return v

    def sampler(self) -> int:
        s = self.new("sampler")
        self.add(Kind.SAMPLER, sampler=s, descriptor="{}", device=0)
        return s

    def render_pipeline(self, *accesses: Access, vertex_buffers: int = 0, label: str | None = None) -> int:
        m = self.new("module")
        self.add(Kind.SHADER_MODULE, module=m, code="", device=0)
        p = self.new("pipeline")
        descriptor = {"label": label, "vertex": {"entry_point": "vs", "buffers": [{}] * vertex_buffers}}
        self.add(Kind.RENDER_PIPELINE, pipeline=p, vertex_module=m, fragment_module=m,
                 descriptor=json.dumps(descriptor), device=0, rows=[(0, k, a) for k, a in enumerate(accesses)])
        return p

    def group(self, pipeline: int, *entries: tuple[int, int, int, Access]) -> int:
        """A bind group; an entry is (resource, offset, size, access): a buffer, view or sampler."""
        return self.bind_group(pipeline, *entries)

    def begin_render(self, encoder: int, *targets: tuple[int, int], line: int | None = None,
                     depth: tuple[int, int] | None = None) -> int:
        """begin_render_pass with color attachments (view, ops) and an optional depth one."""
        p = self.new("pass")
        rows = [(k, view, -1, ops, -1) for k, (view, ops) in enumerate(targets)]
        if depth is not None:
            rows.append((-1, depth[0], -1, depth[1], -1))
        self.add(Kind.RENDER_PASS_BEGIN, line, render_pass=p, encoder=encoder, descriptor="{}", rows=rows)
        return p

    def draw(self, render_pass: int, pipeline: int, group: int | None = None, *, vertex: int | None = None,
             line: int | None = None) -> int:
        self.add(Kind.SET_PIPELINE, compute_pass=render_pass, pipeline=pipeline)
        if group is not None:
            self.add(Kind.SET_BIND_GROUP, compute_pass=render_pass, index=0, bind_group=group)
        if vertex is not None:
            self.add(Kind.SET_VERTEX_BUFFER, pass_encoder=render_pass, slot=0, buffer=vertex, offset=0, size=256)
        return self.add(Kind.DRAW, line, pass_encoder=render_pass, vertex_count=3, instance_count=1)

    def end(self, render_pass: int) -> int:
        return self.add(Kind.PASS_END, compute_pass=render_pass)

    def write_texture(self, texture: int, x: int = 0, y: int = 0, w: int = 16, h: int = 16, mip: int = 0,
                      line: int | None = None) -> int:
        return self.add(Kind.WRITE_TEXTURE, line, texture=texture, size=w * h * 4,
                        rows=[(0, w * 4, h), (mip, x, y, 0, 0), (w, h, 1)])

    def textured_frame(self, *, write_first: bool) -> tuple[int, int, int]:
        """A draw sampling texture 0 into texture 1; write_texture(0) before or after it. (write, draw, texture)"""
        source, target = self.texture(label="atlas"), self.texture(label="frame")
        src_view, dst_view = self.view(source), self.view(target)
        pipeline = self.render_pipeline(SAMPLED, SAMPLER)
        g = self.group(pipeline, (src_view, 0, 0, SAMPLED), (self.sampler(), 0, 0, SAMPLER))
        enc = self.encoder()
        write = self.write_texture(source, line=50) if write_first else -1
        p = self.begin_render(enc, (dst_view, STORE))
        d = self.draw(p, pipeline, g, line=60)
        self.end(p)
        if not write_first:
            write = self.write_texture(source, line=70)
        self.submit(enc)
        return write, d, source


def test_a_texture_upload_after_the_draw_that_samples_it_lands_first():
    app = RenderApp()
    write, draw, texture = app.textured_frame(write_first=False)
    result = check(app.trace())
    (f,) = result.of("H1")
    assert (f.event, f.other_event, f.site, f.other_site) == (write, draw, "app.py:70", "app.py:60")
    assert f.texture == texture and f.buffer is None
    assert f.message == ("write_texture at app.py:70 lands before draw `vs` at app.py:60, which still samples texels "
                         "(0, 0)-(15, 15) of mip 0 of texture 0 'atlas'")
    assert not result.proven and result.stats["texture_writes"] == 1 and result.stats["draws"] == 1


def test_an_upload_before_the_draw_is_proven_safe():
    app = RenderApp()
    app.textured_frame(write_first=True)
    result = check(app.trace())
    assert result.findings == [] and result.proven and result.verdict == "clean"


def test_a_uniform_rewritten_before_the_submit_reaches_the_draw():
    app = RenderApp()
    uniform, target = app.buffer(256, "camera"), app.texture()
    pipeline = app.render_pipeline(UNIFORM)
    g = app.group(pipeline, (uniform, 0, 256, UNIFORM))
    app.write(uniform, 0, 256)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    draw = app.draw(p, pipeline, g, line=40)
    app.end(p)
    write = app.write(uniform, 0, 64, line=45)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert (f.event, f.other_event, f.buffer, f.lo, f.hi) == (write, draw, uniform, 0, 64)
    assert "reads (as a uniform) bytes 0-63 of the same storage" in f.message


def test_a_vertex_buffer_rewritten_before_the_submit_reaches_the_draw():
    app = RenderApp()
    vertices, target = app.buffer(256, "positions"), app.texture()
    pipeline = app.render_pipeline(vertex_buffers=1)
    app.write(vertices, 0, 256)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    draw = app.draw(p, pipeline, vertex=vertices, line=40)
    app.end(p)
    write = app.write(vertices, 128, 64, line=45)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert (f.event, f.other_event, f.lo, f.hi) == (write, draw, 128, 192)
    assert "reads (as a vertex buffer)" in f.message


def test_a_vertex_buffer_the_pipeline_does_not_read_is_not_a_use():
    app = RenderApp()
    vertices, target = app.buffer(256), app.texture()
    pipeline = app.render_pipeline(vertex_buffers=0)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.draw(p, pipeline, vertex=vertices)
    app.end(p)
    app.write(vertices, 0, 64)
    app.submit(enc)
    assert check(app.trace()).of("H1") == []


def test_an_upload_into_an_attachment_lands_before_the_pass_that_clears_it():
    app = RenderApp()
    target = app.texture(label="frame")
    enc = app.encoder()
    begin = app.begin_render(enc, (app.view(target), STORE), line=30)
    app.end(begin)
    write = app.write_texture(target, 0, 0, 4, 4, line=35)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert (f.event, f.other_event) == (write, app.b.build().where(Kind.RENDER_PASS_BEGIN)[0])
    assert f.message.endswith("which still renders into texels (0, 0)-(3, 0) of mip 0 of texture 0 'frame'")


def test_uploads_to_other_texels_mips_or_layers_do_not_conflict():
    app = RenderApp()
    source, target = app.texture(32, 32, layers=2, mips=2), app.texture()
    sampled = app.view(source, mip=1, mips=1, layer=1, layers=1)  # mip 1 of layer 1 only
    pipeline = app.render_pipeline(SAMPLED)
    g = app.group(pipeline, (sampled, 0, 0, SAMPLED))
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.draw(p, pipeline, g)
    app.end(p)
    app.write_texture(source, 0, 0, 32, 32, mip=0)  # mip 0 (of layer 0)
    app.add(Kind.WRITE_TEXTURE, texture=source, size=64, rows=[(0, 64, 16), (0, 0, 0, 1, 0), (16, 16, 1)])  # layer 1
    app.write_texture(target, 0, 0, 16, 16)  # the pending pass's attachment: the one hazard
    app.submit(enc)
    found = check(app.trace()).of("H1")
    assert [f.texture for f in found] == [1]


def test_a_box_upload_meets_only_the_rows_and_columns_it_covers():
    app = RenderApp()
    t = app.texture(16, 16)
    enc = app.encoder()
    copy_to = app.buffer(4096)
    app.add(Kind.COPY_TEXTURE_TO_BUFFER, encoder=enc, texture=t, buffer=copy_to,
            rows=[(0, 0, 0, 0, 0), (0, 256, 4), (8, 4, 1)])  # texels x 0-7, y 0-3
    app.write_texture(t, 8, 0, 8, 4)  # x 8-15: beside it
    app.write_texture(t, 0, 4, 16, 4)  # y 4-7: below it
    hit = app.write_texture(t, 7, 3, 2, 2, line=90)  # touches texel (7, 3)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert f.event == hit and "copies from texels (7, 3)-(7, 3) of mip 0" in f.message


def test_a_bundle_uses_what_its_draws_use_where_it_is_executed():
    app = RenderApp()
    uniform, target = app.buffer(256), app.texture()
    pipeline = app.render_pipeline(UNIFORM)
    g = app.group(pipeline, (uniform, 0, 256, UNIFORM))
    bundle_encoder = app.new("pass")
    app.add(Kind.BUNDLE_ENCODER_CREATE, bundle_encoder=bundle_encoder, descriptor="{}", device=0)
    app.draw(bundle_encoder, pipeline, g)
    bundle = app.new("bundle")
    app.add(Kind.BUNDLE_FINISH, bundle=bundle, bundle_encoder=bundle_encoder)
    app.write(uniform, 0, 256)  # no encoder holds the bundle yet
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    execute = app.add(Kind.EXECUTE_BUNDLES, 44, render_pass=p, rows=[(bundle,)])
    app.end(p)
    write = app.write(uniform, 0, 16, line=48)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert (f.event, f.other_event, f.other_call) == (write, execute, "execute_bundles")


def test_execute_bundles_resets_the_pass_state():
    app = RenderApp()
    uniform, target = app.buffer(256), app.texture()
    pipeline = app.render_pipeline(UNIFORM)
    g = app.group(pipeline, (uniform, 0, 256, UNIFORM))
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.add(Kind.SET_PIPELINE, compute_pass=p, pipeline=pipeline)
    app.add(Kind.SET_BIND_GROUP, compute_pass=p, index=0, bind_group=g)
    app.add(Kind.EXECUTE_BUNDLES, render_pass=p)
    draw = app.add(Kind.DRAW, 52, pass_encoder=p, vertex_count=3, instance_count=1)
    app.end(p)
    app.submit(enc)
    (f,) = check(app.trace()).of("H4")
    assert f.event == draw and f.message == "draw at app.py:52 with no pipeline set in its render pass"


def test_h2_a_render_pass_is_one_usage_scope():
    app = RenderApp()
    t, out = app.texture(label="feedback"), app.texture()
    storage = app.buffer(256, "particles")
    view = app.view(t)
    sampling = app.render_pipeline(SAMPLED)
    writes = app.render_pipeline(Access.STORAGE)
    reads_vertices = app.render_pipeline(vertex_buffers=1)
    enc = app.encoder()
    p = app.begin_render(enc, (view, STORE), line=20)  # renders into t ...
    first = app.draw(p, sampling, app.group(sampling, (view, 0, 0, SAMPLED)), line=21)  # ... and samples it
    p2 = app.begin_render(enc, (app.view(out), STORE))
    app.draw(p2, writes, app.group(writes, (storage, 0, 256, Access.STORAGE)), line=23)
    second = app.draw(p2, reads_vertices, vertex=storage, line=24)
    app.end(p2)
    app.submit(enc)
    found = check(app.trace()).of("H2")
    assert [f.event for f in found] == [first, second]
    assert found[0].message.startswith("begin_render_pass at app.py:20 uses texture 0 'feedback' as a render "
                                       "attachment (color attachment 0, texels (0, 0)-(15, 15) of mip 0 of texture 0")
    assert "and draw `vs` at app.py:21 uses it as a sampled texture (group 0 binding 0" in found[0].message
    assert "forbids an attachment beside any other use in one render pass" in found[0].message
    assert found[1].message.startswith("draw `vs` at app.py:23 uses buffer 0 'particles' as writable storage")
    assert "draw `vs` at app.py:24 uses it as a vertex buffer (vertex buffer slot 0" in found[1].message


def test_h2_read_only_depth_beside_sampling_is_allowed():
    app = RenderApp()
    depth, color = app.texture(), app.texture()
    depth_view = app.view(depth)
    pipeline = app.render_pipeline(SAMPLED)
    enc = app.encoder()
    read_only = int(AttachmentOps.READ_ONLY | AttachmentOps.STENCIL_READ_ONLY)
    p = app.begin_render(enc, (app.view(color), STORE), depth=(depth_view, read_only))
    app.draw(p, pipeline, app.group(pipeline, (depth_view, 0, 0, SAMPLED)))
    app.end(p)
    app.submit(enc)
    assert check(app.trace()).findings == []


def test_h3_a_texture_destroyed_while_a_pass_renders_into_it():
    app = RenderApp()
    t = app.texture(label="frame")
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(t), LOAD), line=10)
    app.end(p)
    destroy = app.add(Kind.TEXTURE_DESTROY, 12, texture=t, dropped=0)
    app.submit(enc)
    (f,) = check(app.trace()).of("H3")
    assert f.event == destroy and f.texture == t
    assert f.message.startswith("texture.destroy() at app.py:12 destroys texture 0 'frame' while begin_render_pass "
                                "at app.py:10, not yet submitted, still uses texels (0, 0)-(15, 15)")


def test_h4_a_copy_while_a_render_pass_is_open():
    app = RenderApp()
    t, b = app.texture(), app.buffer(4096)
    enc = app.encoder()
    app.begin_render(enc, (app.view(t), STORE), line=10)
    app.add(Kind.COPY_TEXTURE_TO_BUFFER, 11, encoder=enc, texture=t, buffer=b,
            rows=[(0, 0, 0, 0, 0), (0, 256, 16), (16, 16, 1)])
    (f,) = check(app.trace()).of("H4")
    assert f.message == "copy_texture_to_buffer at app.py:11 while the render pass begun at app.py:10 is still open"


def test_h5_texture_copy_rows_offsets_and_boxes():
    app = RenderApp()
    t, b = app.texture(16, 16, label="t"), app.buffer(1024, "readback")
    enc = app.encoder()
    app.add(Kind.COPY_TEXTURE_TO_BUFFER, 20, encoder=enc, texture=t, buffer=b,
            rows=[(0, 0, 0, 0, 0), (2, 64, 16), (16, 16, 1)])
    app.add(Kind.COPY_BUFFER_TO_TEXTURE, 21, encoder=enc, buffer=b, texture=t,
            rows=[(0, 256, 4), (0, 8, 8, 0, 0), (16, 4, 1)])
    app.write_texture(t, 0, 0, 16, 16, mip=1, line=22)
    app.submit(enc)
    found = check(app.trace()).of("H5")
    assert [f.message for f in found] == [
        "copy_texture_to_buffer at app.py:20: bytes_per_row 64 is not a multiple of 256; buffer offset 2 is not a "
        "multiple of the texel block size 4; bytes 2-1025 run past the end of buffer 0 'readback' (1024 bytes)",
        "copy_buffer_to_texture at app.py:21: a 16x4x1 box at (8, 8, 0) reaches past mip 0 of texture 0 't' "
        "(16x16x1)",
        "write_texture at app.py:22: mip level 1 of texture 0 't', which has 1",
    ]


def test_texel_runs_merge_whole_rows_and_whole_subresources():
    app = RenderApp()
    app.texture(8, 4, layers=3, mips=2)
    tex = Textures(app.trace(), 0)
    whole = tex.subresources([0], [0], [2], [0], [3])
    assert (whole.lo.tolist(), whole.hi.tolist()) == ([0], [3 * (32 + 8)])
    rows = tex.boxes([0], [0], [0], [1], [0], [8], [2], [1])
    assert (rows.lo.tolist(), rows.hi.tolist()) == ([8], [24])
    box = tex.boxes([0], [0], [2], [1], [1], [3], [2], [2])  # layers 1-2, rows 1-2, x 2-4
    assert box.lo.tolist() == [40 + 10, 40 + 18, 80 + 10, 80 + 18] and (box.hi - box.lo).tolist() == [3] * 4
    assert tex.region(0, 58, 61) == "texels (2, 2)-(4, 2) of mip 0, layer 1"


def test_footprints_of_a_render_trace_name_every_use():
    app = RenderApp()
    app.textured_frame(write_first=True)
    commands, fp = commands_and_footprints(app.trace())
    uses = sorted({(int(u), int(s)) for u, s in zip(fp.use, fp.slot, strict=True)})
    assert uses == [(10, 0), (14, 0)]  # the sampled view at group 0 binding 0; color attachment 0
    assert (fp.resource >= fp.n_buffers).all() and set(fp.scope.tolist()) == {int(commands.event[0])}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_streams(max_events=40))
def test_the_checker_takes_any_valid_trace(stream):
    """Any well-formed stream, whatever its values (absurd sizes, offsets, boxes), is checked without failing."""
    b = TraceBuilder(make_header())
    for kind, site, fields, rows in stream:
        b.add(kind, site=site, rows=rows, **fields)
    trace = b.build()
    validate(trace)
    result = check(trace)
    assert result.stats["events"] == len(trace)
