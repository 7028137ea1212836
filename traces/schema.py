"""The vocabulary of trace format v1: event kinds, their fields, and what each field refers to.

Every event is one row of fixed integer columns (kind, t, site, a0..a5, nrows); variable-length
parts (bind group entries, submitted encoders, layout entries) are rows of a shared five-column
table. This module names what each column means per kind, so that the reader, the validator and
every consumer read the same table instead of hard-coding positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

FORMAT_NAME = "wgtrace"
VERSION = (1, 0)
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
    PASS = 8


class Access(IntEnum):
    """How a binding may touch its buffer, as its layout declares it."""

    NONE = 0
    UNIFORM = 1
    READ_ONLY_STORAGE = 2
    STORAGE = 3


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


# Field roles: a plain integer, a reference to an object (must exist), the object an event
# creates (must be the next id), a string-table id, a blob id, or a count/offset (non-negative).
INT = "int"
NONNEG = "nonneg"
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
    kind: Kind
    args: tuple[Field, ...]
    rows: tuple[Field, ...] = ()
    doc: str = ""
    creates: Obj | None = field(default=None, compare=False)

    def arg(self, name: str) -> int:
        """Column index (0..5) of the named argument."""
        for i, f in enumerate(self.args):
            if f.name == name:
                return i
        raise KeyError(f"{self.kind.name} has no field {name!r}")


DIGEST = (Field("digest_hi"), Field("digest_lo"))
_BYTES = (Field("offset", NONNEG), Field("size", NONNEG), Field("payload", BLOB), *DIGEST)

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
                ref("buffer", Obj.BUFFER),
                Field("offset", NONNEG),
                Field("size", NONNEG),
                Field("access", ACCESS),
            ),
            doc="layout is explicit, or pipeline+group when it came from pipeline.get_bind_group_layout",
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
            doc="any other call (render passes, textures, queries): kept for the record, never planned",
        ),
    )
}

for _spec in SPECS.values():
    object.__setattr__(_spec, "creates", next((f.obj for f in _spec.args if f.role == "new"), None))

KIND_NAMES = {k.value: k.name.lower() for k in Kind}
