"""Usage scopes under sub-allocation: pools with ``read_write_bindings`` and ``separate_uniform_pool``
(``sliced``, ``size-class``, as CubeCL since #814) bind pooled storage read-write and keep uniforms on
pages of their own, so no dispatch binds a page writable beside another usage (H2); PR 56's pool
(``sliced-pr56``) keeps the conflict of Burn #1996. The WGSL rewrite, explicit layouts (also run on
the real adapter: wgpu accepts the rewritten layouts and shaders), and a property over random
programs: plans stay valid and every binding keeps its bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgtrace.replay.report import replay
from wgtrace.sim import plan
from wgtrace.sim.check import check
from wgtrace.sim.planner.bindings import read_write_wgsl
from wgtrace.sim.policies import POOLS, parse_pool, pass_names, pool_names
from wgtrace.sim.synthetic import build
from wgtrace.traces import DEFAULT_LIMITS, Access, BufferUsage, Kind, Trace, TraceBuilder, load, make_header, validate

from strategies import programs

MLP_TRAIN = Path(__file__).parent.parent / "traces" / "corpus" / "mlp_train.wgtrace"
STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC
READ_WRITE_POOLS = [p for p in pool_names() if parse_pool(p).read_write_bindings]
KERNEL = """
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if (gid.x < arrayLength(&out)) { out[gid.x] = a[gid.x] + 1u; }
}
"""


def test_policies_that_fix_usage_scopes():
    fixed = {name for name, cls in POOLS.items() if cls.read_write_bindings and cls.separate_uniform_pool}
    assert fixed == {"sliced", "size-class", "torch-caching"}
    whole_buffers_by_usage = {"ort-simple", "ort-bucket", "tfjs"}  # uniforms cached apart, one buffer per allocation
    assert not any(cls.read_write_bindings or cls.separate_uniform_pool for name, cls in POOLS.items()
                   if name not in fixed | whole_buffers_by_usage)


def test_mlp_train_under_sliced_fix_batched_has_neither_h2_nor_h1():
    p = plan(load(MLP_TRAIN), "sliced+fix", "batched")
    rules = {f.rule for f in check(p).findings}
    assert "H2" not in rules and "H1" not in rules, rules


def test_mlp_train_under_pr56_keeps_the_usage_scope_conflict():
    found = check(plan(load(MLP_TRAIN), "sliced-pr56+fix", "batched")).of("H2")
    assert found and all("read-only storage" in f.message or "uniform" in f.message for f in found)


def test_uniforms_take_pages_of_their_own_under_sliced_only():
    trace = load(MLP_TRAIN)
    uniform = (trace.args[trace.where(Kind.BUFFER_CREATE), 2] & BufferUsage.UNIFORM) != 0
    for pool, apart in (("sliced+fix", True), ("size-class", True), ("sliced-pr56+fix", False)):
        pages = plan(trace, pool, "batched").allocations.buffer
        shared = set(pages[uniform].tolist()) & set(pages[~uniform].tolist())
        assert (not shared) == apart, pool


def test_wgsl_rewrite_touches_only_the_read_only_storage_declarations_asked_for():
    code = """// @group(0) @binding(0) var<storage, read> commented: array<u32>;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@binding(1) @group(0)
var<storage> b: array<f32>;
@group(0x1) @binding(2u) var < storage , read > c: array<f32>;
@group(0) @binding(3) var<storage, read> d: array<f32>; /* var<storage, read> */
@group(0) @binding(4) var<uniform> p: vec4<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
"""
    got, missing = read_write_wgsl(code, {(0, 0), (0, 1), (1, 2), (0, 4), (0, 5), (2, 0)})
    assert missing == {(0, 4), (0, 5), (2, 0)}
    assert got.splitlines() == [
        "// @group(0) @binding(0) var<storage, read> commented: array<u32>;",
        "@group(0) @binding(0) var<storage, read_write> a: array<f32>;",
        "@binding(1) @group(0)",
        "var<storage, read_write> b: array<f32>;",
        "@group(0x1) @binding(2u) var<storage, read_write> c: array<f32>;",
        "@group(0) @binding(3) var<storage, read> d: array<f32>; /* var<storage, read> */",
        "@group(0) @binding(4) var<uniform> p: vec4<u32>;",
        "@group(0) @binding(5) var<storage, read_write> out: array<f32>;",
    ]
    assert read_write_wgsl(code, ()) == (code, set())


def explicit_layouts() -> Trace:
    """Pipeline 0 (explicit layout 0) and pipeline 1 (auto layout) share module 0; pipeline 2's module
    numbers its binding with a constant, which the rewrite cannot follow. Each dispatch binds two
    pooled buffers, a read-only input and a read-write output, which sliced puts on one page."""
    b = TraceBuilder(make_header(program=["layouts"], limits=DEFAULT_LIMITS,
                                 capture={"mode": "digest", "payload_cap": 0}))

    def add(kind: Kind, **fields) -> int:
        return b.add(kind, site=f"layouts.py:{len(b) + 1}", t=1000 * (len(b) + 1), **fields)

    add(Kind.DEVICE, device=0, adapter="{}", limits=json.dumps(DEFAULT_LIMITS))
    add(Kind.SHADER_MODULE, module=0, code=KERNEL, device=0)
    add(Kind.SHADER_MODULE, module=1, code="const IN = 0;\n" + KERNEL.replace("@binding(0)", "@binding(IN)"),
        device=0)
    add(Kind.BIND_GROUP_LAYOUT, layout=0, device=0, rows=[(0, Access.READ_ONLY_STORAGE, 0), (1, Access.STORAGE, 0)])
    add(Kind.PIPELINE_LAYOUT, pipeline_layout=0, device=0, rows=[(0,)])
    rows = [(0, 0, Access.READ_ONLY_STORAGE), (0, 1, Access.STORAGE)]
    add(Kind.COMPUTE_PIPELINE, pipeline=0, module=0, entry_point="main", pipeline_layout=0, device=0, rows=rows)
    add(Kind.COMPUTE_PIPELINE, pipeline=1, module=0, entry_point="main", device=0, rows=rows)
    add(Kind.COMPUTE_PIPELINE, pipeline=2, module=1, entry_point="main", device=0, rows=rows)
    for buffer in range(2):
        add(Kind.BUFFER_CREATE, buffer=buffer, size=256, usage=STORAGE, device=0)
    add(Kind.WRITE_BUFFER, buffer=0, offset=0, size=256, digest_hi=1, digest_lo=1)
    entries = [(0, 0, 0, 256, Access.READ_ONLY_STORAGE), (1, 1, 0, 256, Access.STORAGE)]
    add(Kind.BIND_GROUP, bind_group=0, layout=0, group=0, rows=entries)
    add(Kind.BIND_GROUP, bind_group=1, pipeline=1, group=0, rows=entries)
    add(Kind.BIND_GROUP, bind_group=2, pipeline=2, group=0, rows=entries)
    add(Kind.ENCODER_CREATE, encoder=0, device=0)
    add(Kind.PASS_BEGIN, compute_pass=0, encoder=0)
    for pipeline in range(3):
        add(Kind.SET_PIPELINE, compute_pass=0, pipeline=pipeline)
        add(Kind.SET_BIND_GROUP, compute_pass=0, index=0, bind_group=pipeline)
        add(Kind.DISPATCH, compute_pass=0, x=1, y=1, z=1)
    add(Kind.PASS_END, compute_pass=0)
    add(Kind.ENCODER_FINISH, encoder=0)
    add(Kind.SUBMIT, device=0, rows=[(0,)])
    add(Kind.QUEUE_READ, buffer=1, offset=0, size=256, digest_hi=2, digest_lo=2)
    return b.build(end={"exit_code": 0})


def access_rows(trace: Trace, kind: Kind, column: int) -> list[list[int]]:
    return [trace.rows_of(int(i))[:, column].tolist() for i in trace.where(kind)]


def test_explicit_layouts_and_shared_modules_flip_together_and_unfollowable_wgsl_stays():
    source = explicit_layouts()
    p = plan(source, "sliced", "batched")
    trace = p.trace
    validate(trace)
    assert len(set(p.allocations.buffer.tolist())) == 1, "both buffers on one page"
    assert access_rows(trace, Kind.BIND_GROUP_LAYOUT, 1) == [[3, 3]]
    assert access_rows(trace, Kind.COMPUTE_PIPELINE, 2) == [[3, 3], [3, 3], [2, 3]]
    assert access_rows(trace, Kind.BIND_GROUP, 4) == [[3, 3], [3, 3], [2, 3]]
    code = [trace.strings[int(trace.args[i, 1])] for i in trace.where(Kind.SHADER_MODULE)]
    assert code[0] == KERNEL.replace("var<storage, read>", "var<storage, read_write>")
    assert code[1] == source.strings[int(source.args[source.where(Kind.SHADER_MODULE)[1], 1])]
    h2 = check(p).of("H2")
    assert [f.event for f in h2] == [int(trace.where(Kind.DISPATCH)[2])], "only the unfollowable kernel conflicts"
    assert source.strings == plan(source, "sliced-pr56", "batched").trace.strings


def test_wgpu_accepts_the_rewritten_layouts_and_refuses_only_the_unfollowable_kernel(engine):
    source = explicit_layouts()
    e = replay(source, engine, adapter="test", pool="sliced", passes="batched", reference=False).error
    third = int(plan(source, "sliced", "batched").trace.where(Kind.DISPATCH)[2])
    assert (e.kind, e.cause, e.cause_kind) == ("encoder_finish", third, "dispatch"), e.line()
    assert "conflicting usages" in e.message


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(ops=programs(), pool=st.sampled_from(READ_WRITE_POOLS), passes=st.sampled_from(pass_names()))
def test_read_write_plans_validate_and_every_binding_keeps_its_bytes(ops, pool, passes):
    """Each planned bind group row binds the bytes its source row binds, moved to the allocation's
    page; only read-only storage becomes read-write (every storage buffer is pooled here, no uniform
    is bound as storage). No dispatch has an H2: what is left are copies within one page."""
    source = build(ops, data="digest")
    p = plan(source, pool, passes)
    validate(p.trace)
    a = p.allocations
    for i in p.trace.where(Kind.BIND_GROUP).tolist():
        got, want = p.trace.rows_of(i), source.rows_of(int(p.origin[i]))
        assert np.array_equal(got[:, [0, 3]], want[:, [0, 3]])
        assert np.array_equal(got[:, 1], a.buffer[want[:, 1]])
        assert np.array_equal(got[:, 2], a.offset[want[:, 1]] + want[:, 2])
        assert np.array_equal(got[:, 4], np.where(want[:, 4] == Access.READ_ONLY_STORAGE, Access.STORAGE, want[:, 4]))
    assert {f.call for f in check(p).of("H2")} <= {"copy_buffer_to_buffer"}
