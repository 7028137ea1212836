"""The planner and the simulator on render programs (format 1.1): every pool x pass policy plans them.

What every plan of a render program promises: a valid trace; as recorded, every recorded event event
for event (buffer references rewritten to the physical buffer and offset); re-recorded, every render
pass that runs kept whole, its events in order, in one encoder, and every draw kept; bundles kept as
recorded; no H2-H5 finding the recorded program did not have, and H1 only where the policy brings one
(a pooled queue write without the fix, never on a texture). Traces: hand-written ``RenderApp``
programs, the ``bench_check_render`` frame loop, the render_hazards programs recorded on this
machine's adapter, the pygfx example recorded as users record it, and random render programs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_check_render import LOAD, SAMPLED, SAMPLER, STORE, RenderApp

from wgtrace.sim import check, plan, simulate
from wgtrace.sim.planner.uploads import padded_layout, repack, staged_texture_bytes
from wgtrace.sim.policies import parse_passes, parse_pool, pass_names, pool_names
from wgtrace.sim.workloads.render_loop import generate
from wgtrace.traces import Access, BufferUsage, Kind, Trace, load, validate
from wgtrace.traces.schema import AttachmentOps, Obj

from test_check_oracle import RandomPlan, Tape
from test_check_rules import RO, RW, UNIFORM, App

ROOT = Path(__file__).resolve().parents[1]

DRAWS = (Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT)
PASS_A0 = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE, Kind.SET_PIPELINE,
           Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.PASS_END, Kind.TIMESTAMP_WRITES,
           Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, *DRAWS, Kind.RENDER_STATE, Kind.BEGIN_OCCLUSION_QUERY,
           Kind.END_OCCLUSION_QUERY, Kind.EXECUTE_BUNDLES)
# (kind, buffer column, offset column): buffer references in args; texture copies keep the offset in a row
BUFFER_ARGS = ((Kind.SET_VERTEX_BUFFER, 2, 3), (Kind.SET_INDEX_BUFFER, 1, 3), (Kind.DRAW_INDIRECT, 1, 2),
               (Kind.DRAW_INDEXED_INDIRECT, 1, 2), (Kind.RESOLVE_QUERY_SET, 4, 5), (Kind.DISPATCH_INDIRECT, 1, 2),
               (Kind.COPY, 1, 2), (Kind.COPY, 3, 4), (Kind.CLEAR, 1, 2))
BUFFER_ROWS = {Kind.COPY_BUFFER_TO_TEXTURE: (1, 0), Kind.COPY_TEXTURE_TO_BUFFER: (2, 1)}
RENDER_KINDS = tuple(k for k in Kind if k >= Kind.TEXTURE_CREATE)
VERTEX, INDEX = int(BufferUsage.VERTEX | BufferUsage.COPY_DST), int(BufferUsage.INDEX | BufferUsage.COPY_DST)
QUERY_RESOLVE = int(BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC)
PASSES = [*pass_names(), "max-tasks:3", "max-tasks:3/staging-copy"]
# H2 the compute planner already brings by pooling, render or not: a copy between two allocations of one page
# ("a copy within one buffer"), and a dispatch binding a page read-only beside writable (sliced-pr56 by design;
# any pool where a shader's declaration cannot be rewritten read-write)
COMPUTE_POOLING_H2 = (Kind.COPY, Kind.DISPATCH, Kind.DISPATCH_INDIRECT)


# -- the programs ---------------------------------------------------------------------------------


def scene(frames: int = 3) -> Trace:
    """A render loop using most of format 1.1: per frame a uniform and a texture upload (rows 64 bytes apart, so
    staging pads them), a compute pass writing what draws read as vertices, a render pass (color + depth, an
    occlusion query, render state, a marker, a bundle, indexed and indirect draws), a resolve of the queries,
    copies to and from textures, a read-back; one encoder never submitted; a texture and a query set destroyed."""
    app = RenderApp()
    camera = app.buffer(256, "camera")
    storage = app.buffer(1024, "particles")
    vertices = _buffer(app, 4096, VERTEX | int(BufferUsage.STORAGE), "vertices")
    indices = _buffer(app, 1024, INDEX, "indices")
    indirect = app.buffer(256, "indirect")
    resolved = _buffer(app, 256, QUERY_RESOLVE, "occlusion")
    staging = _buffer(app, 16 * 256, int(BufferUsage.COPY_SRC | BufferUsage.COPY_DST), "upload")
    readback = _buffer(app, 16 * 256, int(BufferUsage.MAP_READ | BufferUsage.COPY_DST), "readback")
    atlas, frame, depth = app.texture(label="atlas"), app.texture(label="frame"), app.texture(label="depth")
    atlas_view, frame_view, depth_view = app.view(atlas), app.view(frame), app.view(depth)
    app.add(Kind.QUERY_SET_CREATE, query_set=0, type="occlusion", count=4, device=0)
    mesh = app.render_pipeline(UNIFORM, SAMPLED, SAMPLER, vertex_buffers=1, label="mesh")
    sampler = app.sampler()
    group = app.group(mesh, (camera, 0, 256, UNIFORM), (atlas_view, 0, 0, SAMPLED), (sampler, 0, 0, SAMPLER))
    kernel = app.pipeline(RO, RW, label="particles")
    bundle_encoder = app.new("pass")
    app.add(Kind.BUNDLE_ENCODER_CREATE, bundle_encoder=bundle_encoder, descriptor="{}", device=0)
    app.add(Kind.SET_PIPELINE, compute_pass=bundle_encoder, pipeline=mesh)
    app.add(Kind.SET_BIND_GROUP, compute_pass=bundle_encoder, index=0, bind_group=group)
    app.add(Kind.SET_VERTEX_BUFFER, pass_encoder=bundle_encoder, slot=0, buffer=vertices, offset=0, size=4096)
    app.add(Kind.DEBUG_MARKER, pass_encoder=bundle_encoder, call="insert_debug_marker", label="bundle")
    app.add(Kind.DRAW, pass_encoder=bundle_encoder, vertex_count=6, instance_count=1)
    bundle = app.new("bundle")
    app.add(Kind.BUNDLE_FINISH, bundle=bundle, bundle_encoder=bundle_encoder)
    app.write(indirect, 0, 256)
    for f in range(frames):
        app.write(camera, 0, 64)
        app.write_texture(atlas, 0, 0, 16, 16)
        enc = app.encoder()
        app.add(Kind.DEBUG_MARKER, encoder=enc, call="push_debug_group", label=f"frame {f}")
        app.dispatch(enc, kernel, (storage, 0, 1024, RO), (vertices, 0, 4096, RW))
        app.add(Kind.COPY_BUFFER_TO_TEXTURE, encoder=enc, buffer=staging, texture=atlas,
                rows=[(0, 256, 16), (0, 0, 0, 0, 0), (16, 16, 1)])
        p = app.new("pass")
        app.add(Kind.RENDER_PASS_BEGIN, render_pass=p, encoder=enc, occlusion_query_set=0, descriptor="{}",
                rows=[(0, frame_view, -1, LOAD if f else STORE, -1), (-1, depth_view, -1, STORE, -1)])
        app.add(Kind.DEBUG_MARKER, pass_encoder=p, call="insert_debug_marker", label="draws")
        app.add(Kind.RENDER_STATE, render_pass=p, call="set_viewport", values="[0, 0, 16, 16, 0, 1]")
        app.add(Kind.BEGIN_OCCLUSION_QUERY, render_pass=p, query_index=f % 4)
        app.draw(p, mesh, group, vertex=vertices)
        app.add(Kind.SET_INDEX_BUFFER, pass_encoder=p, buffer=indices, index_bytes=4, offset=0, size=1024)
        app.add(Kind.DRAW_INDEXED, pass_encoder=p, index_count=36, instance_count=1, first_index=0)
        app.add(Kind.DRAW_INDIRECT, pass_encoder=p, buffer=indirect, offset=0)
        app.add(Kind.END_OCCLUSION_QUERY, render_pass=p)
        app.add(Kind.EXECUTE_BUNDLES, render_pass=p, rows=[(bundle,)])
        app.end(p)
        app.add(Kind.RESOLVE_QUERY_SET, encoder=enc, query_set=0, first_query=0, query_count=4,
                destination=resolved, destination_offset=0)
        app.add(Kind.COPY_TEXTURE_TO_TEXTURE, encoder=enc, src=frame, dst=atlas,
                rows=[(0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (8, 8, 1)])
        app.add(Kind.COPY_TEXTURE_TO_BUFFER, encoder=enc, texture=frame, buffer=readback,
                rows=[(0, 0, 0, 0, 0), (0, 256, 16), (16, 16, 1)])
        app.add(Kind.DEBUG_MARKER, encoder=enc, call="pop_debug_group")
        app.submit(enc)
        app.add(Kind.MAP, buffer=readback, mode=1, offset=0, size=16 * 256)
        app.add(Kind.READ, buffer=readback, offset=0, size=16 * 256)
        app.add(Kind.UNMAP, buffer=readback)
    app.add(Kind.READ_TEXTURE, texture=frame, size=1024, rows=[(0, 64, 16), (0, 0, 0, 0, 0), (16, 16, 1)])
    never = app.encoder()
    p = app.begin_render(never, (frame_view, STORE))
    app.draw(p, mesh, group, vertex=vertices)
    app.end(p)
    app.add(Kind.TEXTURE_DESTROY, texture=depth, dropped=0)
    app.add(Kind.QUERY_SET_DESTROY, query_set=0, dropped=0)
    app.destroy(camera)
    return app.trace()


class LimitedApp(RenderApp):
    """A RenderApp on a device with these limits."""

    def __init__(self, limits: dict):
        App.__init__(self, limits)
        self.ids.update(texture=0, view=0, sampler=0, bundle=0)


def _buffer(app: RenderApp, size: int, usage: int, label: str) -> int:
    b = app.new("buffer")
    app.add(Kind.BUFFER_CREATE, buffer=b, size=size, usage=usage, label=label, device=0)
    return b


class RenderPlan(RandomPlan):
    """The oracle's random plans, as programs make them: a mapped write or read only maps first (those of the
    oracle write and read buffers never mapped, to try the checker's corners, not the planner's)."""

    def host(self, site: str, action: str) -> None:
        super().host(site, {"mapped_write": "write", "read_mapped": "read"}.get(action, action))

    def texture_copy(self, site: str, action: str) -> None:
        """A texture copy whose bytes stay inside its buffer (the device refuses one that does not; the oracle's
        may run past the end, which under a pool reads as a neighbour's bytes)."""
        t, at, extent = self.box()
        w, h, layers = extent
        if 16 * (h * layers - 1) + 4 * w > max(self.sizes):
            w, h, layers = extent = (1, 1, 1)
        need = 16 * (h * layers - 1) + 4 * w
        buf = self.tape.pick([b for b, size in enumerate(self.sizes) if size >= need])
        self.add_texture_copy(site, t, at, extent, buf, 4 * self.tape.int(0, (self.sizes[buf] - need) // 4))


def churn(frames: int, seed: int) -> Trace:
    """A frame loop that makes and drops buffers as renderers do: each frame a few transient uniform, vertex and
    storage buffers, written, drawn with (and some used by a dispatch), dropped before or after the submit, so
    pools hand their storage to the next frame's buffers while the last frame's draws may still be pending."""
    rng = np.random.default_rng(seed)
    app = RenderApp()
    atlas, target = app.texture(label="atlas"), app.texture(label="frame")
    atlas_view, target_view = app.view(atlas), app.view(target)
    sampler = app.sampler()
    mesh = app.render_pipeline(UNIFORM, SAMPLED, SAMPLER, vertex_buffers=1)
    kernel = app.pipeline(RO, RW)
    keep = app.buffer(1024, "kept")
    for f in range(frames):
        uniform = _buffer(app, 256, int(BufferUsage.UNIFORM | BufferUsage.COPY_DST), f"u{f}")
        vertices = _buffer(app, int(rng.choice([256, 512, 4096])), VERTEX | int(BufferUsage.STORAGE), f"v{f}")
        app.write(uniform, 0, 256)
        app.write(vertices, 0, 256)
        if rng.integers(2):
            app.write_texture(atlas, 0, 0, 16, 16)
        g = app.group(mesh, (uniform, 0, 256, UNIFORM), (atlas_view, 0, 0, SAMPLED), (sampler, 0, 0, SAMPLER))
        enc = app.encoder()
        if rng.integers(2):
            app.dispatch(enc, kernel, (keep, 0, 1024, RO), (vertices, 0, 256, RW))
        p = app.begin_render(enc, (target_view, LOAD if f else STORE))
        app.draw(p, mesh, g, vertex=vertices)
        late = rng.integers(4)
        if late == 3:  # dropped inside the pass, after its draw; a new buffer filled before the pass ends
            app.destroy(uniform, dropped=1)
            scratch = _buffer(app, 256, int(BufferUsage.UNIFORM | BufferUsage.COPY_DST), f"m{f}")
            app.write(scratch, 0, 256)
            app.destroy(scratch, dropped=1)
        app.end(p)
        if late == 0:  # dropped while its draw is pending, and a new buffer filled before the submit
            app.destroy(uniform, dropped=1)
            app.destroy(vertices, dropped=1)
            scratch = _buffer(app, 256, int(BufferUsage.UNIFORM | BufferUsage.COPY_DST), f"s{f}")
            app.write(scratch, 0, 256)
            app.destroy(scratch, dropped=1)
        if rng.integers(4) == 0:  # a write the program itself hoists over its draw
            app.write(keep, 0, 64)
        app.submit(enc)
        if late:
            if late != 3:
                app.destroy(uniform, dropped=1)
            app.destroy(vertices, dropped=int(late == 1))
    return app.trace()


def random_program(data: bytes) -> Trace:
    return RenderPlan(Tape(data)).build(24)


@pytest.fixture(scope="module")
def hazard_traces(tmp_path_factory) -> dict[str, Trace]:
    """The render_hazards programs recorded on this machine's adapter (skipped where it has none)."""
    try:
        from wgtrace.tracer import recording

        from gpu_program import request_device
        from render_hazards import PROGRAMS
    except ImportError as e:  # pragma: no cover
        pytest.skip(f"no wgpu: {e}")
    out = {}
    for name, program in PROGRAMS.items():
        path = tmp_path_factory.mktemp("hazards") / f"{name}.wgtrace"
        device = request_device()
        with recording(path):
            program(device)
        out[name] = load(path)
    return out


@pytest.fixture(scope="module")
def pygfx_trace(tmp_path_factory) -> Trace:
    """examples/pygfx_scene.py recorded with ``wgtrace record``, its payloads in full (skipped without pygfx)."""
    if importlib.util.find_spec("pygfx") is None:
        pytest.skip("examples/pygfx_scene.py needs pygfx: pip install -e '.[render]'")
    path = tmp_path_factory.mktemp("pygfx") / "pygfx.wgtrace"
    env = {**os.environ, "RENDERCANVAS_FORCE_OFFSCREEN": "1"}
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "record", "--data", "full", "-o", str(path), "--",
                          "python", "-m", "examples.pygfx_scene"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return load(path)


# -- what every plan promises ---------------------------------------------------------------------


def pass_of(trace: Trace) -> np.ndarray:
    """Per event, the pass it records into (or creates); -1 for none."""
    out = np.full(len(trace), -1, dtype=np.int64)
    a0 = np.flatnonzero(np.isin(trace.kind, PASS_A0))
    out[a0] = trace.args[a0, 0]
    a1 = np.flatnonzero(np.isin(trace.kind, (Kind.BUNDLE_FINISH, Kind.DEBUG_MARKER)))
    out[a1] = trace.args[a1, 1]
    return out


def render_passes(trace: Trace) -> dict[int, list[int]]:
    """Per render pass begin: the events of its pass, begin to first end, in order (ended passes only)."""
    owner = pass_of(trace)
    out = {}
    for begin in trace.where(Kind.RENDER_PASS_BEGIN).tolist():
        mine = np.flatnonzero(owner == trace.args[begin, 0])
        ends = mine[trace.kind[mine] == Kind.PASS_END]
        if len(ends):
            out[begin] = mine[(mine >= begin) & (mine <= ends[0])].tolist()
    return out


def submitted_encoders(trace: Trace) -> set[int]:
    submits = trace.where(Kind.SUBMIT)
    return set(trace.rows[trace.row_ids(submits), 0].tolist())


def expected_event(source: Trace, e: int, p) -> tuple[np.ndarray, np.ndarray]:
    """Source event ``e``'s args and rows with every buffer reference moved to its allocation's page and offset."""
    a = p.allocations
    args, rows = source.args[e].copy(), source.rows_of(e).copy()
    k = int(source.kind[e])
    for kind, col, off in BUFFER_ARGS:
        if k == kind:
            b = args[col]
            args[off] += a.offset[b]
            args[col] = a.buffer[b]
    if k in BUFFER_ROWS:
        col, position = BUFFER_ROWS[Kind(k)]
        b = args[col]
        rows[position, 0] += a.offset[b]
        args[col] = a.buffer[b]
    if k == Kind.BIND_GROUP:
        on_buffer = np.isin(rows[:, 4], [Access.NONE, Access.UNIFORM, Access.READ_ONLY_STORAGE, Access.STORAGE])
        rows[on_buffer, 2] += a.offset[rows[on_buffer, 1]]
        rows[on_buffer, 1] = a.buffer[rows[on_buffer, 1]]
    return args, rows


def assert_as_recorded(p) -> None:
    """Every render, texture and bind group event of the source is in the plan once, as recorded, its buffers moved."""
    source, t = p.source, p.trace
    at = {int(o): j for j, o in enumerate(p.origin.tolist()) if o >= 0}
    for e in np.flatnonzero(np.isin(source.kind, (*RENDER_KINDS, Kind.BIND_GROUP))).tolist():
        j = at[e]
        assert (t.kind[j], t.site[j], t.t[j]) == (source.kind[e], source.site[e], source.t[e]), e
        args, rows = expected_event(source, e, p)
        assert np.array_equal(t.args[j], args), (e, t.args[j], args)
        got = t.rows_of(j)
        if source.kind[e] == Kind.BIND_GROUP:  # read-write bindings may flip an access (2 -> 3)
            got, rows = got[:, :4], rows[:, :4]
        assert np.array_equal(got, rows), (e, got, rows)
    assert (np.bincount(p.origin[p.origin >= 0]) <= 1).all()


def assert_rerecorded(p) -> None:
    """Each render pass that runs is in the plan once, whole: its events in order and nothing between them."""
    source, t = p.source, p.trace
    src_passes = render_passes(source)
    runs = submitted_encoders(source)
    running = {b: ev for b, ev in src_passes.items() if int(source.args[b, 1]) in runs}
    planned = render_passes(t)
    assert len(planned) == len(t.where(Kind.RENDER_PASS_BEGIN)), "a render pass the plan never ends"
    seen = []
    for begin, events in planned.items():
        assert events == list(range(begin, begin + len(events))), "the pass is split by other events"
        src = int(p.origin[begin])
        assert p.origin[events].tolist() == running[src], "the pass's events are not the recorded ones, in order"
        seen.append(src)
    assert sorted(seen) == sorted(running), "a render pass that runs is missing, or one runs twice"
    # every draw that runs (in a pass that runs, or in a bundle) is kept, once
    bundle_draws = [e for e in source.where(*DRAWS).tolist()
                    if source.kind[source.where(Kind.BUNDLE_ENCODER_CREATE, Kind.PASS_BEGIN,
                                                Kind.RENDER_PASS_BEGIN)[source.args[e, 0]]]
                    == Kind.BUNDLE_ENCODER_CREATE]
    want = sorted([e for ev in running.values() for e in ev if source.kind[e] in DRAWS] + bundle_draws)
    assert sorted(p.origin[np.isin(t.kind, DRAWS)].tolist()) == want
    # bundle encoders and finishes kept as recorded, in order
    for kind in (Kind.BUNDLE_ENCODER_CREATE, Kind.BUNDLE_FINISH):
        assert p.origin[t.where(kind)].tolist() == source.where(kind).tolist()


def fixed(pool: str, passes: str) -> bool:
    """Combinations that promise no queue write hoisted over a recorded command of reused storage."""
    return "+fix" in pool or parse_pool(pool).name == "exclusive" or parse_passes(passes).upload.name != "write-buffer"


def findings(result, p=None) -> dict[str, set[int]]:
    """Per rule, the source events of its findings."""
    out: dict[str, set[int]] = {}
    for f in result.findings:
        e = f.event if p is None else int(p.origin[f.event])
        out.setdefault(f.rule, set()).add(e)
    return out


def assert_no_new_hazards(p, recorded) -> None:
    """H2-H5: nothing the recorded program did not have (but the compute pooling H2s); H1: only a pooled
    queue write without the fix brings one, never on a texture; as recorded, every H1 of the program stays."""
    result = check(p)
    got, had = findings(result, p), findings(recorded)
    source = p.source
    for rule in ("H2", "H3", "H4", "H5"):
        new = got.get(rule, set()) - had.get(rule, set())
        if rule == "H2":
            new = {e for e in new if e < 0 or source.kind[e] not in COMPUTE_POOLING_H2}
        assert not new, (rule, [f.message for f in result.of(rule) if int(p.origin[f.event]) in new][:3])
    new_h1 = [f for f in result.of("H1") if int(p.origin[f.event]) not in had.get("H1", set())]
    new_h1 = [f for f in new_h1 if source.kind[int(p.origin[f.event])] != Kind.READ]  # a read never mapped
    assert not [f for f in new_h1 if f.texture is not None], [f.message for f in new_h1]
    if fixed(p.pool, p.passes):
        assert not new_h1, [f.message for f in new_h1][:3]
    if parse_passes(p.passes).records:
        assert had.get("H1", set()) <= got.get("H1", set())


def assert_uses_live(p) -> None:
    """Every buffer range a command of the plan uses belongs to an allocation alive at that command: no pool gives
    storage back before the last command using it is emitted (render passes are emitted at their end)."""
    from wgtrace.sim.footprint import commands_and_footprints

    source, a = p.source, p.allocations
    _, fp = commands_and_footprints(source)
    at = np.full(len(source), -1, dtype=np.int64)
    realised = p.origin >= 0
    at[p.origin[realised]] = np.flatnonzero(realised)
    rows = np.flatnonzero((fp.resource < fp.n_buffers) & (at[fp.command] >= 0))
    j, b = at[fp.command[rows]], fp.resource[rows]
    dead = (j < a.start[b]) | (j >= a.end[b])
    assert not dead.any(), [(int(fp.command[r]), int(x)) for r, x in zip(rows[dead], b[dead], strict=True)][:5]


def assert_metrics(p) -> None:
    m, t = simulate(p), p.trace
    assert m.render_passes == t.count_kind(Kind.RENDER_PASS_BEGIN)
    assert m.draws == sum(t.count_kind(k) for k in DRAWS)
    assert m.textures_created == t.count_kind(Kind.TEXTURE_CREATE) == p.source.count_kind(Kind.TEXTURE_CREATE)
    assert m.texture_uploads == t.count_kind(Kind.WRITE_TEXTURE) + t.count_kind(Kind.COPY_BUFFER_TO_TEXTURE)
    if m.textures_created:
        assert m.peak_texture_bytes > 0


def assert_plans(trace: Trace, pool: str, passes: str, recorded=None) -> None:
    p = plan(trace, pool, passes)
    validate(p.trace)
    if parse_passes(passes).records:
        assert_as_recorded(p)
    else:
        assert_rerecorded(p)
    assert_no_new_hazards(p, recorded if recorded is not None else check(trace))
    assert_uses_live(p)
    assert_metrics(p)


def assert_plans_everywhere(trace: Trace) -> None:
    recorded = check(trace)
    for pool in pool_names():
        for passes in PASSES:
            try:
                assert_plans(trace, pool, passes, recorded)
            except AssertionError as e:
                raise AssertionError(f"{pool} x {passes}: {e}") from e


# -- the tests ------------------------------------------------------------------------------------


def test_the_scene_plans_under_every_policy():
    assert_plans_everywhere(scene())


def test_the_benchmark_frame_loop_plans_under_every_policy():
    trace = generate(20, 3)
    assert_plans_everywhere(trace)
    recorded = check(trace)
    assert len(recorded.of("H1")) == 1  # frame 15 uploads to the atlas after its pass is recorded
    for passes in ("batched", "max-tasks:32", "batched/flush-write"):
        assert len(check(plan(trace, "sliced+fix", passes)).of("H1")) <= 1


@pytest.mark.parametrize("seed", range(4))
def test_a_frame_loop_that_makes_and_drops_buffers_plans_under_every_policy(seed):
    assert_plans_everywhere(churn(12, seed))


def test_pools_reuse_a_dropped_buffer_and_only_the_fix_keeps_writes_off_pending_draws():
    """Without the fix a transient buffer's storage goes to the next frame's buffer, whose queue write lands
    before the last frame's pending draw: H1 on a page (a buffer), never on a texture; with it, none."""
    introduced = 0
    for seed in range(6):
        trace = churn(12, seed)
        had = findings(check(trace)).get("H1", set())
        for pool in ("sliced", "size-class", "exclusive-pages"):
            p = plan(trace, pool, "batched")
            new = [f for f in check(p).of("H1") if int(p.origin[f.event]) not in had]
            assert all(f.buffer is not None and f.texture is None for f in new)
            introduced += len(new)
            fixed_plan = plan(trace, pool + "+fix", "batched")
            assert not [f for f in check(fixed_plan).of("H1") if int(fixed_plan.origin[f.event]) not in had]
    assert introduced, "no frame loop shows the hazard the fix exists for"


def test_recorded_render_hazard_programs_plan_under_every_policy(hazard_traces):
    for name, trace in hazard_traces.items():
        try:
            assert_plans_everywhere(trace)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from e
        hazard = findings(check(trace)).get("H1", set())
        assert bool(hazard) == name.endswith("_hazard")
        for pool in ("exclusive", "sliced+fix"):  # as recorded, the program's hazard is kept where it was
            p = plan(trace, pool, "as-recorded")
            assert findings(check(p), p).get("H1", set()) == hazard, (name, pool)


def test_the_pygfx_example_plans_under_every_policy(pygfx_trace):
    trace = pygfx_trace
    assert trace.count_kind(Kind.RENDER_PASS_BEGIN) and trace.count_kind(Kind.WRITE_TEXTURE)
    assert_plans_everywhere(trace)
    staged = plan(trace, "sliced+fix", "batched/staging-copy")
    assert staged.trace.count_kind(Kind.WRITE_TEXTURE) == 0  # its atlas rows are 128 bytes apart: padded
    for j in staged.trace.where(Kind.COPY_BUFFER_TO_TEXTURE).tolist():
        assert staged.trace.rows_of(j)[0, 1] % 256 == 0


CORPUS = sorted((ROOT / "traces" / "corpus").glob("*.wgtrace"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_render_traces_plan_under_every_policy(path):
    trace = load(path)
    if not trace.count(Obj.TEXTURE):
        pytest.skip("a compute trace (test_sim_planner plans those)")
    assert_plans_everywhere(trace)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(min_size=8, max_size=300), pool=st.sampled_from(pool_names()), passes=st.sampled_from(PASSES))
def test_random_render_programs_plan_under_any_policy(data, pool, passes):
    assert_plans(random_program(data), pool, passes)


def test_as_recorded_is_the_identity_on_render_programs():
    for trace in (scene(), generate(5, 2)):
        p = plan(trace, "as-recorded", "as-recorded")
        for name in ("kind", "t", "site", "args", "nrows", "rows"):
            assert np.array_equal(getattr(p.trace, name), getattr(trace, name)), name


def test_pooled_render_buffers_are_rewritten_to_their_pages():
    trace = scene()
    p = plan(trace, "sliced+fix", "as-recorded")
    a = p.allocations
    vertices, indices, indirect = 2, 3, 4
    assert len(np.unique(a.buffer)) < len(a.buffer), "nothing shares a page"
    for j in p.trace.where(Kind.SET_VERTEX_BUFFER).tolist():
        assert p.trace.args[j, 2] == a.buffer[vertices] and p.trace.args[j, 3] == a.offset[vertices]
    for j in p.trace.where(Kind.SET_INDEX_BUFFER).tolist():
        assert p.trace.args[j, 1] == a.buffer[indices] and p.trace.args[j, 3] == a.offset[indices]
    for j in p.trace.where(Kind.DRAW_INDIRECT).tolist():
        assert p.trace.args[j, 1] == a.buffer[indirect] and p.trace.args[j, 2] == a.offset[indirect]
    assert_as_recorded(p)


def test_texture_copy_and_resolve_offsets_keep_their_alignment():
    """A buffer whose texture copies need 8-byte blocks, or that receives a query resolve (256), is pooled only
    where the pool's slices keep that alignment; elsewhere it keeps a buffer of its own."""
    def program(limits: dict) -> tuple[Trace, int, int]:
        app = LimitedApp(limits)
        tex = app.new("texture")
        app.add(Kind.TEXTURE_CREATE, texture=tex, width=8, height=8, depth_or_array_layers=1, format="rgba16float",
                device=0, rows=[(1, 1, 2, 0x1F, None)])
        small = app.buffer(64)  # shares a page with the copy's buffer when pooled
        copied = app.buffer(8 * 256)
        resolved = _buffer(app, 256, QUERY_RESOLVE, "resolve")
        app.add(Kind.QUERY_SET_CREATE, query_set=0, type="occlusion", count=1, device=0)
        app.write(small, 0, 64)
        enc = app.encoder()
        app.add(Kind.COPY_TEXTURE_TO_BUFFER, encoder=enc, texture=tex, buffer=copied,
                rows=[(0, 0, 0, 0, 0), (0, 256, 8), (8, 8, 1)])
        app.add(Kind.RESOLVE_QUERY_SET, encoder=enc, query_set=0, first_query=0, query_count=1,
                destination=resolved, destination_offset=0)
        app.submit(enc)
        return app.trace(), copied, resolved

    fine = {"min-storage-buffer-offset-alignment": 4, "min-uniform-buffer-offset-alignment": 4}
    trace, copied, resolved = program(fine)
    for pool in ("sliced", "sliced-pr56", "size-class"):
        p = plan(trace, pool, "batched")
        a = p.allocations
        assert (np.flatnonzero(a.buffer == a.buffer[copied]) == [copied]).all() and a.offset[copied] == 0
        assert (np.flatnonzero(a.buffer == a.buffer[resolved]) == [resolved]).all()
        assert not check(p).of("H5")
    trace, copied, resolved = program({"min-storage-buffer-offset-alignment": 256,
                                       "min-uniform-buffer-offset-alignment": 256})
    for pool in ("sliced", "sliced-pr56", "size-class"):
        p = plan(trace, pool, "batched")
        a = p.allocations
        assert a.offset[copied] % 8 == 0 and a.offset[resolved] % 256 == 0
        own = set(p.origin[p.trace.where(Kind.BUFFER_CREATE)].tolist())
        creates = trace.where(Kind.BUFFER_CREATE)
        assert not own & {int(creates[copied]), int(creates[resolved])}, f"{pool}: the buffers were not pooled"
        assert not check(p).of("H5")


def test_a_buffer_a_render_pass_writes_is_never_on_a_shared_page():
    """A render pass is one usage scope: a page holding its writable storage and a uniform it reads would be H2."""
    app = RenderApp()
    uniform, particles, target = app.buffer(256), app.buffer(256), app.texture()
    pipeline = app.render_pipeline(UNIFORM, Access.STORAGE)
    g = app.group(pipeline, (uniform, 0, 256, UNIFORM), (particles, 0, 256, Access.STORAGE))
    app.write(uniform, 0, 256)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.draw(p, pipeline, g)
    app.end(p)
    app.submit(enc)
    trace = app.trace()
    for pool in ("sliced", "sliced-pr56", "exclusive-pages", "size-class"):
        pl = plan(trace, pool, "batched")
        a = pl.allocations
        assert (a.buffer == a.buffer[particles]).sum() == 1, pool
        assert not check(pl).of("H2"), pool


def test_staging_copy_pads_texture_rows_to_256_and_carries_the_repacked_bytes():
    app = RenderApp()
    t = app.texture(16, 8)
    payload = bytes(range(256)) * 2  # 8 rows of 64 bytes
    write = app.add(Kind.WRITE_TEXTURE, texture=t, size=len(payload), payload=payload,
                    rows=[(0, 64, 8), (0, 0, 0, 0, 0), (16, 8, 1)])
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(t), LOAD))
    app.end(p)
    app.submit(enc)
    trace = app.trace()
    staged = plan(trace, "exclusive", "batched/staging-copy")
    validate(staged.trace)
    st_trace = staged.trace
    assert st_trace.count_kind(Kind.WRITE_TEXTURE) == 0
    (copy,) = st_trace.where(Kind.COPY_BUFFER_TO_TEXTURE).tolist()
    (mapped,) = st_trace.where(Kind.MAPPED_WRITE).tolist()
    assert staged.origin[copy] == staged.origin[mapped] == write
    assert st_trace.rows_of(copy).tolist() == [[0, 256, 8, 0, 0], [0, 0, 0, 0, 0], [16, 8, 1, 0, 0]]
    size = int(st_trace.args[mapped, 2])
    assert size == 256 * 8
    data = st_trace.blobs[int(st_trace.args[mapped, 3])]
    want = b"".join(payload[64 * r:64 * r + 64] + bytes(192) for r in range(8))
    assert data == want == staged_texture_bytes(trace, write, payload)
    creates = st_trace.where(Kind.BUFFER_CREATE)
    staging = creates[st_trace.args[creates, 0] == st_trace.args[copy, 1]][0]
    assert st_trace.args[staging, 1] == size and st_trace.args[staging, 4] == 1  # mapped at creation
    assert not check(staged).findings
    # write-buffer keeps the upload; flush-write submits the open encoder first
    assert plan(trace, "exclusive", "batched").trace.count_kind(Kind.WRITE_TEXTURE) == 1
    m_write = simulate(plan(trace, "exclusive", "batched"))
    m_staged = simulate(staged)
    assert m_write.texture_bytes_uploaded == m_staged.texture_bytes_uploaded == 16 * 8 * 4


def test_flush_write_submits_before_a_texture_upload():
    app = RenderApp()
    source, target = app.texture(), app.texture()
    pipeline = app.render_pipeline(SAMPLED)
    g = app.group(pipeline, (app.view(source), 0, 0, SAMPLED))
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.draw(p, pipeline, g)
    app.end(p)
    app.submit(enc)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), LOAD))
    app.draw(p, pipeline, g)
    app.end(p)
    app.write_texture(source)  # while the second frame's pass is recorded: the program's own hazard
    app.submit(enc)
    trace = app.trace()
    assert len(check(trace).of("H1")) == 1
    flushed = plan(trace, "exclusive", "max-tasks:32/flush-write")
    t = flushed.trace
    w = int(t.where(Kind.WRITE_TEXTURE)[0])
    assert t.kind[w - 1] == Kind.SUBMIT and not check(flushed).of("H1")
    for passes in ("batched", "pass-per-dispatch"):  # the program's submits kept: its hazard too
        assert len(check(plan(trace, "exclusive", passes)).of("H1")) == 1


def test_max_tasks_never_holds_a_texture_upload_back_over_a_submitted_draw():
    """max-tasks re-batches the program's submits: an upload after a submitted draw that samples the texture
    submits the draw first, so the upload does not land before it (no H1 the program did not have)."""
    app = RenderApp()
    source, target = app.texture(), app.texture()
    pipeline = app.render_pipeline(SAMPLED)
    g = app.group(pipeline, (app.view(source), 0, 0, SAMPLED))
    for _ in range(3):
        app.write_texture(source)
        enc = app.encoder()
        p = app.begin_render(enc, (app.view(target), STORE))
        app.draw(p, pipeline, g)
        app.end(p)
        app.submit(enc)
    trace = app.trace()
    assert not check(trace).findings
    for passes in ("max-tasks:32", "max-tasks:32/staging-copy", "batched"):
        p = plan(trace, "exclusive", passes)
        assert not check(p).findings, passes
    assert plan(trace, "exclusive", "max-tasks:2").trace.count_kind(Kind.SUBMIT) == 3


def test_render_passes_count_as_tasks_and_close_the_compute_pass():
    app = RenderApp()
    x, target = app.buffer(256), app.texture()
    kernel = app.pipeline(RW)
    draw = app.render_pipeline()
    enc = app.encoder()
    for _ in range(4):
        app.dispatch(enc, kernel, (x, 0, 256, RW))
        p = app.begin_render(enc, (app.view(target), LOAD))
        app.draw(p, draw)
        app.end(p)
    app.submit(enc)
    trace = app.trace()
    batched = plan(trace, "exclusive", "batched").trace
    assert batched.count_kind(Kind.PASS_BEGIN) == 4 and batched.count_kind(Kind.RENDER_PASS_BEGIN) == 4
    assert plan(trace, "exclusive", "max-tasks:2").trace.count_kind(Kind.SUBMIT) == 4


def test_bundles_are_kept_as_recorded_with_plan_pass_ids():
    trace = scene(2)
    for passes in ("batched", "pass-per-dispatch", "max-tasks:1"):
        p = plan(trace, "sliced+fix", passes)
        t = p.trace
        (create,) = t.where(Kind.BUNDLE_ENCODER_CREATE).tolist()
        bundle_pass = int(t.args[create, 0])
        makers = t.where(Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE)
        assert t.args[makers, 0].tolist() == list(range(len(makers)))  # dense, in creation order
        (finish,) = t.where(Kind.BUNDLE_FINISH).tolist()
        assert t.args[finish, 1] == bundle_pass
        inside = np.flatnonzero(pass_of(t) == bundle_pass)
        assert p.origin[inside].tolist() == np.flatnonzero(pass_of(trace) == int(trace.args[
            trace.where(Kind.BUNDLE_ENCODER_CREATE)[0], 0])).tolist()


def test_markers_and_timestamps_left_out_are_only_those_of_encoders_and_compute_passes():
    trace = scene(2)
    p = plan(trace, "exclusive", "batched")
    kept = set(p.origin[p.trace.where(Kind.DEBUG_MARKER)].tolist())
    owner = pass_of(trace)
    markers = trace.where(Kind.DEBUG_MARKER).tolist()
    on_encoder = {m for m in markers if owner[m] < 0}
    in_never = {m for m in markers if m > int(trace.where(Kind.ENCODER_CREATE)[-1])}
    assert kept == set(markers) - on_encoder - in_never


def test_metrics_count_render_passes_draws_and_texture_bytes():
    trace = scene(3)
    m = simulate(plan(trace, "as-recorded", "as-recorded"))
    assert m.render_passes == 4 and m.draws == 3 * 3 + 1 + 1 and m.bundles_executed == 3
    assert m.textures_created == 3 and m.peak_texture_bytes == 3 * 16 * 16 * 4
    assert m.texture_uploads == 3 + 3 and m.texture_bytes_uploaded == 6 * 16 * 16 * 4
    r = simulate(plan(trace, "sliced+fix", "batched/staging-copy"))
    assert r.render_passes == 3 and r.draws == 3 * 3 + 1 and r.texture_bytes_uploaded == m.texture_bytes_uploaded
    compute = simulate(plan(load(ROOT / "traces" / "corpus" / "nbody.wgtrace"), "sliced", "batched"))
    assert (compute.render_passes, compute.draws, compute.textures_created, compute.texture_bytes_uploaded) == (0,) * 4


def test_a_texture_destroyed_keeps_the_peak_and_drops_after():
    app = RenderApp()
    a = app.texture(64, 64)
    app.texture(32, 32, mips=2)
    app.add(Kind.TEXTURE_DESTROY, texture=a, dropped=0)
    app.texture(8, 8)
    m = simulate(plan(app.trace()))
    assert m.peak_texture_bytes == 64 * 64 * 4 + (32 * 32 + 16 * 16) * 4


def test_sim_and_compare_print_the_render_figures_only_for_render_traces(tmp_path, capsys):
    from wgtrace.traces import save
    from wgtrace.traces.cli import main

    path = tmp_path / "scene.wgtrace"
    save(scene(), path)
    assert main(["sim", str(path), "--pool", "sliced+fix", "--pass", "batched"]) == 0
    out = capsys.readouterr().out
    for label in ("render passes", "draws", "textures created", "peak texture memory", "texture bytes uploaded"):
        assert label in out
    corpus = str(ROOT / "traces" / "corpus" / "nbody.wgtrace")
    assert main(["sim", corpus]) == 0
    assert "render passes" not in capsys.readouterr().out
    assert main(["compare", str(path), corpus, "--pools", "exclusive", "--passes", "batched"]) == 0
    tables = capsys.readouterr().out.split("nbody")
    assert "draws" in tables[0] and "draws" not in tables[1]
    assert main(["compare", str(path), "--pools", "exclusive", "--passes", "batched", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["traces"][0]["rows"][0]
    assert row["render_passes"] == 3 and row["texture_uploads"] == 6


def test_repack_and_padded_layout():
    layout = padded_layout((0, -1, -1), (3, 2, 2), (4, 1, 1))  # 12-byte rows, tight
    assert layout is not None and (layout.bytes_per_row, layout.rows, layout.size) == (256, 2, 256 * 4)
    data = bytes(range(48))
    out = repack(data, layout)
    assert [out[256 * r:256 * r + 12] for r in range(4)] == [data[12 * r:12 * r + 12] for r in range(4)]
    assert out.count(0) == len(out) - 47  # every other byte is padding (data[0] is 0 too)
    assert padded_layout((0, 64, 8), (16, 8, 1), (0, 1, 1)) is None  # unknown format: stays a write_texture
    bc = padded_layout((0, 128, -1), (16, 16, 1), (16, 4, 4))  # 4x4 blocks of 16 bytes
    assert bc is not None and (bc.row_bytes, bc.rows, bc.bytes_per_row) == (64, 4, 256)


def test_occlusion_queries_resolve_into_the_pages_they_were_given():
    trace = scene(2)
    for pool in ("sliced", "size-class+fix"):
        p = plan(trace, pool, "batched")
        a = p.allocations
        for j in p.trace.where(Kind.RESOLVE_QUERY_SET).tolist():
            assert p.trace.args[j, 4] == a.buffer[5] and p.trace.args[j, 5] == a.offset[5]
            assert a.offset[5] % 256 == 0


def test_attachments_ops_survive_rerecording():
    trace = scene(2)
    p = plan(trace, "sliced", "max-tasks:1")
    for j in p.trace.where(Kind.RENDER_PASS_BEGIN).tolist():
        src = int(p.origin[j])
        assert np.array_equal(p.trace.rows_of(j), trace.rows_of(src))
        assert p.trace.args[j, 2:].tolist() == trace.args[src, 2:].tolist()
        assert p.trace.site[j] == trace.site[src]
    ops = p.trace.rows[p.trace.row_ids(p.trace.where(Kind.RENDER_PASS_BEGIN)), 3]
    assert (ops & int(AttachmentOps.LOAD)).any() and not (ops & int(AttachmentOps.LOAD)).all()


KERNEL = """
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) { out[gid.x] = a[gid.x]; }
"""


def _kernel_program(render_first: bool, shared_layout: bool) -> tuple[Trace, int, int]:
    """A kernel reading ``a`` (read-only storage) and writing ``out``, both pooled; a render pipeline made before
    it (so pipeline ids of both kinds interleave), sharing its explicit bind group layout or not.
    Returns (trace, the kernel's bind group event, the kernel's module event)."""
    app = RenderApp()
    storage = int(BufferUsage.STORAGE | BufferUsage.COPY_DST)
    a, out, target = _buffer(app, 256, storage, "a"), _buffer(app, 256, storage, "out"), app.texture()
    module = app.new("module")
    module_event = app.add(Kind.SHADER_MODULE, module=module, code=KERNEL, device=0)
    layout = app.new("layout")
    app.add(Kind.BIND_GROUP_LAYOUT, layout=layout, device=0, rows=[(0, RO, 0), (1, RW, 0)])
    pipeline_layout = 0
    app.add(Kind.PIPELINE_LAYOUT, pipeline_layout=pipeline_layout, device=0, rows=[(layout,)])
    if render_first:
        draw = app.new("pipeline")
        app.add(Kind.RENDER_PIPELINE, pipeline=draw, vertex_module=module, fragment_module=module,
                pipeline_layout=pipeline_layout if shared_layout else -1, descriptor="{}", device=0,
                rows=[(0, 0, RO)] if shared_layout else [])
    kernel = app.new("pipeline")
    app.add(Kind.COMPUTE_PIPELINE, pipeline=kernel, module=module, entry_point="main",
            pipeline_layout=-1 if not shared_layout else pipeline_layout, device=0, rows=[(0, 0, RO), (0, 1, RW)])
    g = app.new("group")
    if shared_layout:
        group = app.add(Kind.BIND_GROUP, bind_group=g, layout=layout, group=0,
                        rows=[(0, a, 0, 256, RO), (1, out, 0, 256, RW)])
    else:
        group = app.add(Kind.BIND_GROUP, bind_group=g, pipeline=kernel, group=0,
                        rows=[(0, a, 0, 256, RO), (1, out, 0, 256, RW)])
    app.write(a, 0, 256)
    enc = app.encoder()
    c = app.begin(enc)
    app.add(Kind.SET_PIPELINE, compute_pass=c, pipeline=kernel)
    app.add(Kind.SET_BIND_GROUP, compute_pass=c, index=0, bind_group=g)
    app.add(Kind.DISPATCH, compute_pass=c, x=4, y=1, z=1)
    app.end(c)
    p = app.begin_render(enc, (app.view(target), STORE))
    app.end(p)
    app.submit(enc)
    return app.trace(), group, module_event


def test_a_kernel_after_a_render_pipeline_is_bound_read_write_by_its_own_pipeline_id():
    """Pipeline ids are shared by compute and render pipelines: the kernel's auto layout is found by its id."""
    trace, group, module = _kernel_program(render_first=True, shared_layout=False)
    p = plan(trace, "sliced", "batched")
    j = int(np.flatnonzero(p.origin == group)[0])
    assert p.trace.rows_of(j)[:, 4].tolist() == [RW, RW]
    code = p.trace.strings[int(p.trace.args[int(np.flatnonzero(p.origin == module)[0]), 1])]
    assert "var<storage, read_write> a" in code
    assert not check(p).of("H2")


def test_what_a_render_pipeline_binds_is_never_made_read_write():
    """A layout a render pipeline shares is left as recorded (a vertex shader may not write storage)."""
    trace, group, module = _kernel_program(render_first=True, shared_layout=True)
    p = plan(trace, "sliced", "batched")
    j = int(np.flatnonzero(p.origin == group)[0])
    assert p.trace.rows_of(j)[:, 4].tolist() == [RO, RW]
    assert p.trace.strings[int(p.trace.args[int(np.flatnonzero(p.origin == module)[0]), 1])] == KERNEL
    layouts = p.trace.where(Kind.BIND_GROUP_LAYOUT)
    assert p.trace.rows_of(int(layouts[0]))[:, 1].tolist() == [RO, RW]
    validate(p.trace)


def test_destroys_inside_a_render_pass_follow_the_pass_in_every_plan():
    """A buffer dropped and a texture destroyed between a pass's draw and its end: re-recorded plans emit the pass
    at its end and the destroys after it, so the program's own H3 (the texture) stays where it was, and nothing
    the pass uses is gone before it."""
    app = RenderApp()
    sampled, target = app.texture(label="sampled"), app.texture(label="target")
    uniform = _buffer(app, 256, int(BufferUsage.UNIFORM | BufferUsage.COPY_DST), "u")
    pipeline = app.render_pipeline(UNIFORM, SAMPLED)
    g = app.group(pipeline, (uniform, 0, 256, UNIFORM), (app.view(sampled), 0, 0, SAMPLED))
    app.write(uniform, 0, 256)
    enc = app.encoder()
    p = app.begin_render(enc, (app.view(target), STORE))
    app.draw(p, pipeline, g)
    app.destroy(uniform, dropped=1)
    destroy = app.add(Kind.TEXTURE_DESTROY, texture=sampled, dropped=0)
    app.end(p)
    app.submit(enc)
    trace = app.trace()
    assert findings(check(trace)).get("H3") == {destroy}
    assert_plans_everywhere(trace)
    for passes in ("batched", "max-tasks:32/staging-copy"):
        pl = plan(trace, "sliced+fix", passes)
        j = int(np.flatnonzero(pl.origin == destroy)[0])
        assert j > int(pl.trace.where(Kind.PASS_END)[0]) and findings(check(pl), pl).get("H3") == {destroy}
