"""Binding access for layout='auto', read from WGSL declarations (no GPU needed)."""

from __future__ import annotations

from wgtrace.tracer.wgsl import accesses, entry_points, strip_comments
from wgtrace.traces import Access

MODULE = """
// @group(0) @binding(9) var<storage, read_write> commented: array<u32>;
/* a block comment /* nested */ @group(0) @binding(8) var<uniform> also_commented: u32; */
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0)
@binding(1)
var<storage> implicit_read: array<f32>;
@binding(2) @group(0) var<storage,read_write> out: array<f32>;
@group(1) @binding(0u) var<storage, read> only_b: array<f32>;
@group(1) @binding(1) var tex: texture_2d<f32>;
var<workgroup> scratch: array<f32, 64>;
var<private> counter: u32;

fn helper(i: u32) -> f32 { return implicit_read[i] + f32(p.n); }
fn unused_helper() -> f32 { return only_b[0]; }

@compute @workgroup_size(64)
fn a(@builtin(global_invocation_id) g: vec3<u32>) {
    out[g.x] = helper(g.x);
}

@compute @workgroup_size(1) fn b() { let x = only_b[0]; let s = textureLoad(tex, vec2<i32>(0, 0), 0); }
"""


def test_reachable_bindings_only():
    assert accesses(MODULE, "a") == {(0, 0): Access.UNIFORM, (0, 1): Access.READ_ONLY_STORAGE,
                                     (0, 2): Access.STORAGE}
    assert accesses(MODULE, "b") == {(1, 0): Access.READ_ONLY_STORAGE, (1, 1): Access.NONE}


def test_unknown_entry_point_falls_back_to_every_declaration():
    assert accesses(MODULE, "nope") == {(0, 0): Access.UNIFORM, (0, 1): Access.READ_ONLY_STORAGE,
                                        (0, 2): Access.STORAGE, (1, 0): Access.READ_ONLY_STORAGE,
                                        (1, 1): Access.NONE}


def test_entry_point_defaults_to_the_only_compute_function():
    single = "@group(0) @binding(3) var<storage, read_write> d: array<u32>;\n" \
             "@compute @workgroup_size(1) fn go() { d[0] = 1u; }"
    assert entry_points(single) == ["go"] and accesses(single, None) == {(0, 3): Access.STORAGE}
    assert entry_points(MODULE) == ["a", "b"]


def test_comments_are_stripped():
    text = strip_comments(MODULE)
    assert "commented" not in text and "also_commented" not in text and "nested" not in text
