"""The vocabulary of trace format v1: event kinds, their fields, and what each field refers to.

Every event is one row of fixed integer columns (kind, t, site, a0..a5, nrows); variable-length
parts (bind group entries, submitted encoders, layout entries) are rows of a shared five-column
table. This module names what each column means per kind, so that the reader, the validator and
every consumer read the same table instead of hard-coding positions.

Version 1.1 adds what real programs use beyond compute on buffers: textures, views, samplers,
query sets, render pipelines, render passes and their commands, render bundles, texture copies and
uploads. A kind's rows are either repeated (``rows``: any number, all alike) or positional
(``layout``: exactly these rows, each its own fields), as a texture copy has a source, a
destination and an extent. Every 1.0 trace is a valid 1.1 trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

FORMAT_NAME = "wgtrace"
VERSION = (1, 1)
MAGIC = b"WGTRACE\x00"
N_ARGS = 6
ROW_WIDTH = 5


class Obj(IntEnum):
    """Object types; each has its own dense id space, assigned in creation order."""

    DEVICE = 0
    BUFFER = 1
    MODULE = 2
    BIND_GROUP_LAYOUT = 3
    PIPELINE_LAYOUT = 4
    PIPELINE = 5
    BIND_GROUP = 6
    ENCODER = 7
    PASS = 8  # a compute pass, a render pass or a render bundle encoder: what pass commands record into
    TEXTURE = 9
    TEXTURE_VIEW = 10
    SAMPLER = 11
    QUERY_SET = 12
    RENDER_BUNDLE = 13


class Access(IntEnum):
    """How a binding may touch its resource, as its layout declares it (the resource's type follows)."""

    NONE = 0
    UNIFORM = 1
    READ_ONLY_STORAGE = 2
    STORAGE = 3
    SAMPLED_TEXTURE = 4
    READ_ONLY_STORAGE_TEXTURE = 5
    WRITE_ONLY_STORAGE_TEXTURE = 6
    READ_WRITE_STORAGE_TEXTURE = 7
    SAMPLER = 8


BUFFER_ACCESSES = (Access.UNIFORM, Access.READ_ONLY_STORAGE, Access.STORAGE)
TEXTURE_ACCESSES = (Access.SAMPLED_TEXTURE, Access.READ_ONLY_STORAGE_TEXTURE, Access.WRITE_ONLY_STORAGE_TEXTURE,
                    Access.READ_WRITE_STORAGE_TEXTURE)


def resource_of(access: int) -> Obj:
    """The object type a binding of this access names: a buffer, a texture view or a sampler.

    NONE (a use the recorder could not tell) names a buffer, as in format 1.0; texture and sampler
    bindings always carry their own access.
    """
    if access == Access.NONE or access in BUFFER_ACCESSES:
        return Obj.BUFFER
    if access in TEXTURE_ACCESSES:
        return Obj.TEXTURE_VIEW
    if access == Access.SAMPLER:
        return Obj.SAMPLER
    raise ValueError(f"access {access} names no resource")


class TextureUsage(IntFlag):
    """``GPUTextureUsage`` bits, as WebGPU numbers them (a TEXTURE_CREATE's ``usage``)."""

    COPY_SRC = 0x1
    COPY_DST = 0x2
    TEXTURE_BINDING = 0x4
    STORAGE_BINDING = 0x8
    RENDER_ATTACHMENT = 0x10


class Aspect(IntEnum):
    """Which aspect of a texture a view or copy selects (``GPUTextureAspect``)."""

    ALL = 0
    STENCIL_ONLY = 1
    DEPTH_ONLY = 2


class AttachmentOps(IntFlag):
    """A render pass attachment's load/store operations and read-only flags, one bit each.

    Color attachments use LOAD (``load_op`` "load"; else "clear") and STORE (``store_op`` "store";
    else "discard"); a depth-stencil attachment uses them for depth, the STENCIL_ bits for stencil,
    and the READ_ONLY bits when that aspect is read-only (then it is neither loaded nor stored).
    """

    LOAD = 0x1
    STORE = 0x2
    READ_ONLY = 0x4
    STENCIL_LOAD = 0x8
    STENCIL_STORE = 0x10
    STENCIL_READ_ONLY = 0x20


class BufferUsage(IntFlag):
    """``GPUBufferUsage`` bits, as WebGPU numbers them (a trace's BUFFER_CREATE ``usage``)."""

    MAP_READ = 0x1
    MAP_WRITE = 0x2
    COPY_SRC = 0x4
    COPY_DST = 0x8
    INDEX = 0x10
    VERTEX = 0x20
    UNIFORM = 0x40
    STORAGE = 0x80
    INDIRECT = 0x100
    QUERY_RESOLVE = 0x200


# WebGPU's default limits, for a trace that does not say which its device had (keys as wgpu-py spells them).
DEFAULT_LIMITS = {
    "min-storage-buffer-offset-alignment": 256,
    "min-uniform-buffer-offset-alignment": 256,
    "max-storage-buffer-binding-size": 1 << 27,
    "max-uniform-buffer-binding-size": 1 << 16,
    "max-bind-groups": 4,
    "max-compute-workgroups-per-dimension": 65535,
    "max-buffer-size": 1 << 28,
}


class Kind(IntEnum):
    DEVICE = 1
    BUFFER_CREATE = 2
    BUFFER_DESTROY = 3
    SHADER_MODULE = 4
    BIND_GROUP_LAYOUT = 5
    PIPELINE_LAYOUT = 6
    COMPUTE_PIPELINE = 7
    BIND_GROUP = 8
    ENCODER_CREATE = 9
    ENCODER_FINISH = 10
    PASS_BEGIN = 11
    PASS_END = 12
    SET_PIPELINE = 13
    SET_BIND_GROUP = 14
    DISPATCH = 15
    DISPATCH_INDIRECT = 16
    COPY = 17
    CLEAR = 18
    WRITE_BUFFER = 19
    SUBMIT = 20
    MAP = 21
    UNMAP = 22
    READ = 23
    MAPPED_WRITE = 24
    QUEUE_READ = 25
    OPAQUE = 26
    TEXTURE_CREATE = 27
    TEXTURE_DESTROY = 28
    TEXTURE_VIEW = 29
    SAMPLER = 30
    QUERY_SET_CREATE = 31
    QUERY_SET_DESTROY = 32
    RENDER_PIPELINE = 33
    RENDER_PASS_BEGIN = 34
    TIMESTAMP_WRITES = 35
    SET_VERTEX_BUFFER = 36
    SET_INDEX_BUFFER = 37
    DRAW = 38
    DRAW_INDEXED = 39
    DRAW_INDIRECT = 40
    DRAW_INDEXED_INDIRECT = 41
    RENDER_STATE = 42
    BEGIN_OCCLUSION_QUERY = 43
    END_OCCLUSION_QUERY = 44
    BUNDLE_ENCODER_CREATE = 45
    BUNDLE_FINISH = 46
    EXECUTE_BUNDLES = 47
    COPY_BUFFER_TO_TEXTURE = 48
    COPY_TEXTURE_TO_BUFFER = 49
    COPY_TEXTURE_TO_TEXTURE = 50
    WRITE_TEXTURE = 51
    READ_TEXTURE = 52
    RESOLVE_QUERY_SET = 53
    WRITE_TIMESTAMP = 54
    DEBUG_MARKER = 55


# Field roles: a plain integer, a reference to an object (must exist), the object an event
# creates (must be the next id), a string-table id, a blob id, or a count/offset (non-negative).
INT = "int"
NONNEG = "nonneg"
RESOURCE = "resource"  # in a binding row: a buffer, texture view or sampler, as the row's access says
STR = "str"
OPT_STR = "opt_str"
BLOB = "opt_blob"
ACCESS = "access"


@dataclass(frozen=True)
class Field:
    name: str
    role: str = INT
    obj: Obj | None = None
    optional: bool = False  # for references: -1 means none


def ref(name: str, obj: Obj, optional: bool = False) -> Field:
    return Field(name, "ref", obj, optional)


def new(name: str, obj: Obj) -> Field:
    return Field(name, "new", obj)


@dataclass(frozen=True)
class Spec:
    """A kind's fields: ``args`` (a0..), repeated ``rows`` or positional ``layout`` rows (exactly these)."""

    kind: Kind
    args: tuple[Field, ...]
    rows: tuple[Field, ...] = ()
    doc: str = ""
    layout: tuple[tuple[str, tuple[Field, ...]], ...] = ()
    creates: Obj | None = field(default=None, compare=False)

    def row_fields(self, position: int) -> tuple[Field, ...]:
        """The fields of the event's row at ``position``."""
        return self.layout[position][1] if self.layout else self.rows

    def arg(self, name: str) -> int:
        """Column index (0..5) of the named argument."""
        for i, f in enumerate(self.args):
            if f.name == name:
                return i
        raise KeyError(f"{self.kind.name} has no field {name!r}")


DIGEST = (Field("digest_hi"), Field("digest_lo"))
_BYTES = (Field("offset", NONNEG), Field("size", NONNEG), Field("payload", BLOB), *DIGEST)
_PASS = ref("pass_encoder", Obj.PASS)  # a render pass or bundle encoder (timestamps: any pass)
_RENDER_PASS = ref("render_pass", Obj.PASS)
_LABEL = Field("label", OPT_STR)
_DEVICE = ref("device", Obj.DEVICE)
# Positional rows of texture copies, uploads and read-backs (unused columns are 0).
TEXTURE_LOCATION = (Field("mip_level", NONNEG), Field("x", NONNEG), Field("y", NONNEG), Field("z", NONNEG),
                    Field("aspect", NONNEG))
EXTENT = (Field("width", NONNEG), Field("height", NONNEG), Field("depth_or_array_layers", NONNEG))
DATA_LAYOUT = (Field("offset", NONNEG), Field("bytes_per_row", INT), Field("rows_per_image", INT))
_TEXTURE_DATA = (("data", DATA_LAYOUT), ("texture", TEXTURE_LOCATION), ("extent", EXTENT))
_HOST_TEXTURE = (ref("texture", Obj.TEXTURE), Field("size", NONNEG), Field("payload", BLOB), *DIGEST)

SPECS: dict[Kind, Spec] = {
    s.kind: s
    for s in (
        Spec(
            Kind.DEVICE,
            (new("device", Obj.DEVICE), Field("adapter", STR), Field("limits", STR)),
            doc="a device was requested; adapter info and limits are JSON strings",
        ),
        Spec(
            Kind.BUFFER_CREATE,
            (
                new("buffer", Obj.BUFFER),
                Field("size", NONNEG),
                Field("usage", NONNEG),
                Field("label", OPT_STR),
                Field("mapped_at_creation", NONNEG),
                ref("device", Obj.DEVICE),
            ),
        ),
        Spec(
            Kind.BUFFER_DESTROY,
            (ref("buffer", Obj.BUFFER), Field("dropped", NONNEG)),
            doc="dropped=1: the program released its last reference; 0: buffer.destroy()",
        ),
        Spec(
            Kind.SHADER_MODULE,
            (new("module", Obj.MODULE), Field("code", STR), Field("label", OPT_STR), ref("device", Obj.DEVICE)),
        ),
        Spec(
            Kind.BIND_GROUP_LAYOUT,
            (new("layout", Obj.BIND_GROUP_LAYOUT), ref("device", Obj.DEVICE)),
            rows=(Field("binding", NONNEG), Field("access", ACCESS), Field("dynamic", NONNEG)),
        ),
        Spec(
            Kind.PIPELINE_LAYOUT,
            (new("pipeline_layout", Obj.PIPELINE_LAYOUT), ref("device", Obj.DEVICE)),
            rows=(ref("bind_group_layout", Obj.BIND_GROUP_LAYOUT),),
        ),
        Spec(
            Kind.COMPUTE_PIPELINE,
            (
                new("pipeline", Obj.PIPELINE),
                ref("module", Obj.MODULE),
                Field("entry_point", STR),
                ref("pipeline_layout", Obj.PIPELINE_LAYOUT, optional=True),
                Field("label", OPT_STR),
                ref("device", Obj.DEVICE),
            ),
            rows=(Field("group", NONNEG), Field("binding", NONNEG), Field("access", ACCESS)),
            doc="rows: every binding the entry point uses; pipeline_layout -1 means layout='auto'",
        ),
        Spec(
            Kind.BIND_GROUP,
            (
                new("bind_group", Obj.BIND_GROUP),
                ref("layout", Obj.BIND_GROUP_LAYOUT, optional=True),
                ref("pipeline", Obj.PIPELINE, optional=True),
                Field("group", INT),
                Field("label", OPT_STR),
            ),
            rows=(
                Field("binding", NONNEG),
                Field("resource", RESOURCE),
                Field("offset", NONNEG),
                Field("size", NONNEG),
                Field("access", ACCESS),
            ),
            doc="layout is explicit, or pipeline+group when it came from pipeline.get_bind_group_layout; a row's "
                "resource is a buffer (offset, size), texture view or sampler (offset, size 0), as its access says",
        ),
        Spec(Kind.ENCODER_CREATE, (new("encoder", Obj.ENCODER), Field("label", OPT_STR), ref("device", Obj.DEVICE))),
        Spec(Kind.ENCODER_FINISH, (ref("encoder", Obj.ENCODER),)),
        Spec(Kind.PASS_BEGIN, (new("compute_pass", Obj.PASS), ref("encoder", Obj.ENCODER))),
        Spec(Kind.PASS_END, (ref("compute_pass", Obj.PASS),)),
        Spec(Kind.SET_PIPELINE, (ref("compute_pass", Obj.PASS), ref("pipeline", Obj.PIPELINE))),
        Spec(
            Kind.SET_BIND_GROUP,
            (ref("compute_pass", Obj.PASS), Field("index", NONNEG), ref("bind_group", Obj.BIND_GROUP)),
            rows=(Field("dynamic_offset", NONNEG),),
        ),
        Spec(
            Kind.DISPATCH, (ref("compute_pass", Obj.PASS), Field("x", NONNEG), Field("y", NONNEG), Field("z", NONNEG))
        ),
        Spec(
            Kind.DISPATCH_INDIRECT, (ref("compute_pass", Obj.PASS), ref("buffer", Obj.BUFFER), Field("offset", NONNEG))
        ),
        Spec(
            Kind.COPY,
            (
                ref("encoder", Obj.ENCODER),
                ref("src", Obj.BUFFER),
                Field("src_offset", NONNEG),
                ref("dst", Obj.BUFFER),
                Field("dst_offset", NONNEG),
                Field("size", NONNEG),
            ),
        ),
        Spec(
            Kind.CLEAR,
            (ref("encoder", Obj.ENCODER), ref("buffer", Obj.BUFFER), Field("offset", NONNEG), Field("size", NONNEG)),
        ),
        Spec(Kind.WRITE_BUFFER, (ref("buffer", Obj.BUFFER), *_BYTES), doc="queue.write_buffer"),
        Spec(
            Kind.SUBMIT,
            (ref("device", Obj.DEVICE),),
            rows=(ref("encoder", Obj.ENCODER),),
            doc="queue.submit of the command buffers finished from these encoders, in order",
        ),
        Spec(
            Kind.MAP,
            (ref("buffer", Obj.BUFFER), Field("mode", NONNEG), Field("offset", NONNEG), Field("size", NONNEG)),
            doc="mode: 1 read, 2 write",
        ),
        Spec(Kind.UNMAP, (ref("buffer", Obj.BUFFER),)),
        Spec(Kind.READ, (ref("buffer", Obj.BUFFER), *_BYTES), doc="buffer.read_mapped of a mapped range"),
        Spec(
            Kind.MAPPED_WRITE,
            (ref("buffer", Obj.BUFFER), *_BYTES),
            doc="buffer.write_mapped (mapped at creation or mapped for writing)",
        ),
        Spec(
            Kind.QUEUE_READ,
            (ref("buffer", Obj.BUFFER), *_BYTES),
            doc="queue.read_buffer: a copy submitted on its own, then a mapped read",
        ),
        Spec(
            Kind.OPAQUE,
            (Field("name", STR), Field("detail", OPT_STR), ref("device", Obj.DEVICE, optional=True)),
            doc="any other call (what wgpu-py adds beyond WebGPU, a call that raised): kept for the record",
        ),
        Spec(
            Kind.TEXTURE_CREATE,
            (new("texture", Obj.TEXTURE), Field("width", NONNEG), Field("height", NONNEG),
             Field("depth_or_array_layers", NONNEG), Field("format", STR), _DEVICE),
            layout=(("descriptor", (Field("mip_level_count", NONNEG), Field("sample_count", NONNEG),
                                    Field("dimension", NONNEG), Field("usage", NONNEG), _LABEL)),),
            doc="device.create_texture; dimension 1, 2 or 3; usage as TextureUsage",
        ),
        Spec(Kind.TEXTURE_DESTROY, (ref("texture", Obj.TEXTURE), Field("dropped", NONNEG)),
             doc="dropped=1: the program released its last reference; 0: texture.destroy()"),
        Spec(
            Kind.TEXTURE_VIEW,
            (new("view", Obj.TEXTURE_VIEW), ref("texture", Obj.TEXTURE), Field("format", STR),
             Field("dimension", STR), _LABEL),
            layout=(("range", (Field("base_mip_level", NONNEG), Field("mip_level_count", NONNEG),
                               Field("base_array_layer", NONNEG), Field("array_layer_count", NONNEG),
                               Field("aspect", NONNEG))),),
            doc="texture.create_view; the subresource range is resolved (counts never 'the rest')",
        ),
        Spec(Kind.SAMPLER, (new("sampler", Obj.SAMPLER), Field("descriptor", STR), _LABEL, _DEVICE),
             doc="device.create_sampler; descriptor is JSON"),
        Spec(Kind.QUERY_SET_CREATE, (new("query_set", Obj.QUERY_SET), Field("type", STR), Field("count", NONNEG),
                                     _LABEL, _DEVICE)),
        Spec(Kind.QUERY_SET_DESTROY, (ref("query_set", Obj.QUERY_SET), Field("dropped", NONNEG))),
        Spec(
            Kind.RENDER_PIPELINE,
            (new("pipeline", Obj.PIPELINE), ref("vertex_module", Obj.MODULE),
             ref("fragment_module", Obj.MODULE, optional=True),
             ref("pipeline_layout", Obj.PIPELINE_LAYOUT, optional=True), Field("descriptor", STR), _DEVICE),
            rows=(Field("group", NONNEG), Field("binding", NONNEG), Field("access", ACCESS)),
            doc="device.create_render_pipeline; descriptor is the JSON of everything a replay needs (entry points, "
                "vertex buffers, targets, primitive, depth-stencil, multisample, label); rows as compute_pipeline",
        ),
        Spec(
            Kind.RENDER_PASS_BEGIN,
            (new("render_pass", Obj.PASS), ref("encoder", Obj.ENCODER),
             ref("occlusion_query_set", Obj.QUERY_SET, optional=True), Field("descriptor", STR)),
            rows=(Field("attachment", INT), ref("view", Obj.TEXTURE_VIEW),
                  ref("resolve_target", Obj.TEXTURE_VIEW, optional=True), Field("ops", NONNEG),
                  Field("depth_slice", INT)),
            doc="encoder.begin_render_pass; rows: attachments (0.. color, -1 depth-stencil), ops as AttachmentOps; "
                "descriptor: JSON of the rest (label, clear values, max_draw_count)",
        ),
        Spec(
            Kind.TIMESTAMP_WRITES,
            (_PASS, ref("query_set", Obj.QUERY_SET), Field("beginning_index", INT), Field("end_index", INT)),
            doc="a pass's timestamp_writes, right after its begin; an index of -1 is not written",
        ),
        Spec(Kind.SET_VERTEX_BUFFER, (_PASS, Field("slot", NONNEG), ref("buffer", Obj.BUFFER),
                                      Field("offset", NONNEG), Field("size", NONNEG)),
             doc="pass is a render pass or bundle encoder; size resolved (to the end of the buffer)"),
        Spec(Kind.SET_INDEX_BUFFER, (_PASS, ref("buffer", Obj.BUFFER), Field("index_bytes", NONNEG),
                                     Field("offset", NONNEG), Field("size", NONNEG)),
             doc="index_bytes: 2 for uint16, 4 for uint32; size resolved"),
        Spec(Kind.DRAW, (_PASS, Field("vertex_count", NONNEG), Field("instance_count", NONNEG),
                         Field("first_vertex", NONNEG), Field("first_instance", NONNEG))),
        Spec(Kind.DRAW_INDEXED, (_PASS, Field("index_count", NONNEG), Field("instance_count", NONNEG),
                                 Field("first_index", NONNEG), Field("base_vertex", INT),
                                 Field("first_instance", NONNEG))),
        Spec(Kind.DRAW_INDIRECT, (_PASS, ref("buffer", Obj.BUFFER), Field("offset", NONNEG))),
        Spec(Kind.DRAW_INDEXED_INDIRECT, (_PASS, ref("buffer", Obj.BUFFER), Field("offset", NONNEG))),
        Spec(Kind.RENDER_STATE, (_RENDER_PASS, Field("call", STR), Field("values", STR)),
             doc="set_viewport, set_scissor_rect, set_blend_constant or set_stencil_reference; values: JSON list"),
        Spec(Kind.BEGIN_OCCLUSION_QUERY, (_RENDER_PASS, Field("query_index", NONNEG))),
        Spec(Kind.END_OCCLUSION_QUERY, (_RENDER_PASS,)),
        Spec(Kind.BUNDLE_ENCODER_CREATE, (new("bundle_encoder", Obj.PASS), Field("descriptor", STR), _LABEL, _DEVICE),
             doc="device.create_render_bundle_encoder; descriptor: JSON (color formats, depth-stencil format, ...)"),
        Spec(Kind.BUNDLE_FINISH, (new("bundle", Obj.RENDER_BUNDLE), ref("bundle_encoder", Obj.PASS), _LABEL)),
        Spec(Kind.EXECUTE_BUNDLES, (_RENDER_PASS,), rows=(ref("bundle", Obj.RENDER_BUNDLE),)),
        Spec(Kind.COPY_BUFFER_TO_TEXTURE, (ref("encoder", Obj.ENCODER), ref("buffer", Obj.BUFFER),
                                           ref("texture", Obj.TEXTURE)),
             layout=(("source", DATA_LAYOUT), ("destination", TEXTURE_LOCATION), ("extent", EXTENT))),
        Spec(Kind.COPY_TEXTURE_TO_BUFFER, (ref("encoder", Obj.ENCODER), ref("texture", Obj.TEXTURE),
                                           ref("buffer", Obj.BUFFER)),
             layout=(("source", TEXTURE_LOCATION), ("destination", DATA_LAYOUT), ("extent", EXTENT))),
        Spec(Kind.COPY_TEXTURE_TO_TEXTURE, (ref("encoder", Obj.ENCODER), ref("src", Obj.TEXTURE),
                                            ref("dst", Obj.TEXTURE)),
             layout=(("source", TEXTURE_LOCATION), ("destination", TEXTURE_LOCATION), ("extent", EXTENT))),
        Spec(Kind.WRITE_TEXTURE, _HOST_TEXTURE, layout=_TEXTURE_DATA,
             doc="queue.write_texture; size: bytes of data from the layout's offset on (the payload in full mode)"),
        Spec(Kind.READ_TEXTURE, _HOST_TEXTURE, layout=_TEXTURE_DATA,
             doc="queue.read_texture (wgpu-py): a copy submitted on its own, then a mapped read"),
        Spec(Kind.RESOLVE_QUERY_SET, (ref("encoder", Obj.ENCODER), ref("query_set", Obj.QUERY_SET),
                                      Field("first_query", NONNEG), Field("query_count", NONNEG),
                                      ref("destination", Obj.BUFFER), Field("destination_offset", NONNEG))),
        Spec(Kind.WRITE_TIMESTAMP, (ref("encoder", Obj.ENCODER), ref("query_set", Obj.QUERY_SET),
                                    Field("query_index", NONNEG))),
        Spec(Kind.DEBUG_MARKER, (ref("encoder", Obj.ENCODER, optional=True),
                                 ref("pass_encoder", Obj.PASS, optional=True), Field("call", STR), _LABEL),
             doc="push_debug_group, pop_debug_group or insert_debug_marker on an encoder or a pass"),
    )
}

for _spec in SPECS.values():
    object.__setattr__(_spec, "creates", next((f.obj for f in _spec.args if f.role == "new"), None))

KIND_NAMES = {k.value: k.name.lower() for k in Kind}
