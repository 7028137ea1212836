"""Format 1.1: textures, render passes, bundles and queries; every 1.0 trace still loads."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from wgtrace.traces import Access, Kind, TraceBuilder, TraceError, load, make_header, save, validate
from wgtrace.traces.schema import VERSION, AttachmentOps, Obj, TextureUsage

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"


def render_program() -> TraceBuilder:
    """A texture uploaded, sampled by a draw into a second texture, copied back: every new id space."""
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, site="app.py:1", device=0, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, site="app.py:2", buffer=0, size=4096, usage=0x21, device=0)
    usage = int(TextureUsage.TEXTURE_BINDING | TextureUsage.COPY_DST | TextureUsage.RENDER_ATTACHMENT
                | TextureUsage.COPY_SRC)
    for t in (0, 1):
        b.add(Kind.TEXTURE_CREATE, site="app.py:3", texture=t, width=16, height=16, depth_or_array_layers=1,
              format="rgba8unorm", device=0, rows=[(1, 1, 2, usage, "tex")])
        b.add(Kind.TEXTURE_VIEW, site="app.py:4", view=t, texture=t, format="rgba8unorm", dimension="2d",
              rows=[(0, 1, 0, 1, 0)])
    b.add(Kind.SAMPLER, site="app.py:5", sampler=0, descriptor="{}", device=0)
    b.add(Kind.WRITE_TEXTURE, site="app.py:6", texture=0, size=1024,
          rows=[(0, 64, 16), (0, 0, 0, 0, 0), (16, 16, 1)])
    b.add(Kind.SHADER_MODULE, site="app.py:7", module=0, code="", device=0)
    b.add(Kind.RENDER_PIPELINE, site="app.py:8", pipeline=0, vertex_module=0, fragment_module=0,
          descriptor=json.dumps({"vertex": {"entry_point": "vs"}}), device=0,
          rows=[(0, 0, Access.SAMPLED_TEXTURE), (0, 1, Access.SAMPLER)])
    b.add(Kind.BIND_GROUP, site="app.py:9", bind_group=0, pipeline=0, group=0,
          rows=[(0, 0, 0, 0, Access.SAMPLED_TEXTURE), (1, 0, 0, 0, Access.SAMPLER)])
    b.add(Kind.ENCODER_CREATE, site="app.py:10", encoder=0, device=0)
    b.add(Kind.RENDER_PASS_BEGIN, site="app.py:11", render_pass=0, encoder=0, descriptor="{}",
          rows=[(0, 1, -1, int(AttachmentOps.STORE), -1)])
    b.add(Kind.SET_PIPELINE, site="app.py:12", compute_pass=0, pipeline=0)
    b.add(Kind.SET_BIND_GROUP, site="app.py:13", compute_pass=0, index=0, bind_group=0)
    b.add(Kind.SET_VERTEX_BUFFER, site="app.py:14", pass_encoder=0, slot=0, buffer=0, offset=0, size=4096)
    b.add(Kind.DRAW, site="app.py:15", pass_encoder=0, vertex_count=3, instance_count=1)
    b.add(Kind.PASS_END, site="app.py:16", compute_pass=0)
    b.add(Kind.BUNDLE_ENCODER_CREATE, site="app.py:17", bundle_encoder=1, descriptor="{}", device=0)
    b.add(Kind.BUNDLE_FINISH, site="app.py:18", bundle=0, bundle_encoder=1)
    b.add(Kind.COPY_TEXTURE_TO_BUFFER, site="app.py:19", encoder=0, texture=1, buffer=0,
          rows=[(0, 0, 0, 0, 0), (0, 256, 16), (16, 16, 1)])
    return b


def test_a_render_program_validates_and_round_trips():
    trace = render_program().build()
    validate(trace)
    out = io.BytesIO()
    save(trace, out)
    back = load(io.BytesIO(out.getvalue()))
    assert back.header["version"] == list(VERSION) == [1, 1]
    assert [back.event(i) for i in range(len(back))] == [trace.event(i) for i in range(len(trace))]
    texture = back.event(2)
    assert texture["format"] == "rgba8unorm" and texture["rows"] == [
        {"mip_level_count": 1, "sample_count": 1, "dimension": 2, "usage": 0x17, "label": "tex"}]
    upload = back.event(int(back.where(Kind.WRITE_TEXTURE)[0]))
    assert upload["rows"][2] == {"width": 16, "height": 16, "depth_or_array_layers": 1}


def test_passes_count_across_compute_render_and_bundle_encoders():
    b = render_program()
    b.add(Kind.PASS_BEGIN, site="app.py:20", compute_pass=1, encoder=0)  # 1 is the bundle encoder's
    with pytest.raises(TraceError, match=r"creates pass 1, expected id 2"):
        validate(b.build())


def test_a_binding_names_the_object_type_its_access_says():
    b = render_program()
    b.add(Kind.BIND_GROUP, site="app.py:20", bind_group=1, pipeline=0, group=0,
          rows=[(0, 5, 0, 0, Access.SAMPLED_TEXTURE)])
    with pytest.raises(TraceError, match=r"field 'resource' refers to texture view 5, which no event created"):
        validate(b.build())


def test_positional_rows_are_exactly_the_layout():
    b = render_program()
    b.add(Kind.WRITE_TEXTURE, site="app.py:20", texture=0, size=4, rows=[(0, 4, 1)])
    with pytest.raises(TraceError, match=r"\(write_texture\): has 1 rows, this kind takes exactly 3"):
        validate(b.build())


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.wgtrace")), ids=lambda p: p.name)
def test_every_committed_trace_loads(path):
    """The compute corpus was recorded in format 1.0, the rendering programs in 1.1: both load."""
    trace = load(path)
    render = trace.count_kind(Kind.RENDER_PASS_BEGIN) > 0
    assert trace.header["version"] == ([1, 1] if render else [1, 0])
    validate(trace)


def test_a_newer_minor_loads_and_a_newer_major_is_refused():
    trace = render_program().build()
    for version, ok in (([1, 7], True), ([2, 0], False)):
        trace.header["version"] = version
        out = io.BytesIO()
        save(trace, out)
        if ok:
            assert len(load(io.BytesIO(out.getvalue()))) == len(trace)
        else:
            with pytest.raises(TraceError, match="newer than this wgtrace reads"):
                load(io.BytesIO(out.getvalue()))


def test_the_planner_plans_a_render_program_and_sim_prints_its_render_figures(tmp_path, capsys):
    """The planner models every kind of format 1.1: it no longer refuses a render program (it used to)."""
    from wgtrace.sim import plan
    from wgtrace.traces.cli import main

    b = render_program()
    b.add(Kind.ENCODER_FINISH, site="app.py:20", encoder=0)
    b.add(Kind.SUBMIT, site="app.py:21", device=0, rows=[(0,)])
    trace = b.build()
    for passes in ("as-recorded", "batched", "max-tasks:4/staging-copy"):
        p = plan(trace, "sliced", passes)
        validate(p.trace)
        assert p.trace.count_kind(Kind.DRAW) == 1 and p.trace.count_kind(Kind.RENDER_PASS_BEGIN) == 1
    path = tmp_path / "render.wgtrace"
    save(trace, path)
    assert main(["sim", str(path), "--pool", "sliced", "--pass", "batched/staging-copy"]) == 0
    out = capsys.readouterr().out
    assert "render passes           1" in out and "draws                   1" in out
    assert "texture uploads         1" in out and "texture bytes uploaded  1.0 KiB" in out


def test_objects_are_counted_over_every_kind_that_makes_them():
    trace = render_program().build()
    assert (trace.count(Obj.PASS), trace.count(Obj.PIPELINE), trace.count(Obj.TEXTURE)) == (2, 1, 2)
