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
    assert accesses(MODULE, "b") == {(1, 0): Access.READ_ONLY_STORAGE, (1, 1): Access.SAMPLED_TEXTURE}


def test_unknown_entry_point_falls_back_to_every_declaration():
    assert accesses(MODULE, "nope") == {(0, 0): Access.UNIFORM, (0, 1): Access.READ_ONLY_STORAGE,
                                        (0, 2): Access.STORAGE, (1, 0): Access.READ_ONLY_STORAGE,
                                        (1, 1): Access.SAMPLED_TEXTURE}


def test_entry_point_defaults_to_the_only_compute_function():
    single = "@group(0) @binding(3) var<storage, read_write> d: array<u32>;\n" \
             "@compute @workgroup_size(1) fn go() { d[0] = 1u; }"
    assert entry_points(single) == ["go"] and accesses(single, None) == {(0, 3): Access.STORAGE}
    assert entry_points(MODULE) == ["a", "b"]


def test_comments_are_stripped():
    text = strip_comments(MODULE)
    assert "commented" not in text and "also_commented" not in text and "nested" not in text


RENDER = """
struct Camera { m: mat4x4<f32> }
@group(0) @binding(0) var<uniform> camera: Camera;
@group(0) @binding(1) var color: texture_2d<f32>;
@group(0) @binding(2) var linear: sampler;
@group(0) @binding(3) var shadow: texture_depth_2d;
@group(0) @binding(4) var shadow_cmp: sampler_comparison;
@group(1) @binding(0) var out_w: texture_storage_2d<rgba8unorm, write>;
@group(1) @binding(1) var out_r: texture_storage_2d<r32float, read>;
@group(1) @binding(2) var out_rw: texture_storage_2d_array<r32uint,read_write>;
@group(1) @binding(3) var ms: texture_multisampled_2d<f32>;
@group(1) @binding(4) var<storage, read> weights: array<vec4<f32>>;
@group(2) @binding(0) var cube: texture_cube<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    return camera.m * vec4<f32>(weights[i].xyz, 1.0);
}

fn shade(uv: vec2<f32>) -> vec4<f32> {
    return textureSample(color, linear, uv) * textureSampleCompare(shadow, shadow_cmp, uv, 0.5);
}

@fragment
fn fs(@builtin(position) p: vec4<f32>) -> @location(0) vec4<f32> {
    textureStore(out_w, vec2<i32>(0, 0), shade(p.xy));
    let r = textureLoad(out_r, vec2<i32>(0, 0)) + textureLoad(out_rw, vec2<i32>(0, 0), 0).x;
    return vec4<f32>(r.x) + textureLoad(ms, vec2<i32>(0, 0), 0);
}

@compute @workgroup_size(1) fn cs() { let c = textureSampleLevel(cube, linear, vec3<f32>(1.0), 0.0); }
"""


def test_textures_and_samplers_of_each_stage():
    assert accesses(RENDER, "vs", "vertex") == {(0, 0): Access.UNIFORM, (1, 4): Access.READ_ONLY_STORAGE}
    assert accesses(RENDER, None, "fragment") == {
        (0, 1): Access.SAMPLED_TEXTURE, (0, 2): Access.SAMPLER, (0, 3): Access.SAMPLED_TEXTURE,
        (0, 4): Access.SAMPLER, (1, 0): Access.WRITE_ONLY_STORAGE_TEXTURE, (1, 1): Access.READ_ONLY_STORAGE_TEXTURE,
        (1, 2): Access.READ_WRITE_STORAGE_TEXTURE, (1, 3): Access.SAMPLED_TEXTURE}
    assert accesses(RENDER, None) == {(2, 0): Access.SAMPLED_TEXTURE, (0, 2): Access.SAMPLER}
    assert (entry_points(RENDER, "vertex"), entry_points(RENDER, "fragment"), entry_points(RENDER)) == (
        ["vs"], ["fs"], ["cs"])


def test_a_storage_texture_without_an_access_is_write_only():
    code = "@group(0) @binding(0) var t: texture_storage_1d<rgba8unorm>;\n@compute @workgroup_size(1) fn m() { " \
           "textureStore(t, 0, vec4<f32>()); }"
    assert accesses(code, None) == {(0, 0): Access.WRITE_ONLY_STORAGE_TEXTURE}
