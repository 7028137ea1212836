"""What each wgpu-py call becomes in the trace: one handler per instrumented method.

A handler runs after the real call returned, with the call's own arguments (its parameters mirror
the wgpu-py method's, defaults included) and its result. It resolves every wgpu object to its
trace id, adopting objects the program made before the recording started (see ``adopt_*``), and
emits the event. Handlers only read wgpu objects; they never call wgpu. This module has the
devices, buffers, compute and bind groups (whose entries name buffers, texture views and samplers);
render_handlers.py has textures, samplers, queries, render pipelines, passes and bundles, and adds
its objects' adopters to ``_ADOPT``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any

from wgpu.backends.wgpu_native import _api

from ..traces import schema
from ..traces.schema import Access, Kind, Obj
from . import wgsl
from .recorder import Recorder

# Plain ints: looking an enum member up costs more than most of what a hot handler does.
BIND_GROUP = int(Kind.BIND_GROUP)
BIND_GROUP_LAYOUT = int(Kind.BIND_GROUP_LAYOUT)
BUFFER_CREATE = int(Kind.BUFFER_CREATE)
BUFFER_DESTROY = int(Kind.BUFFER_DESTROY)
CLEAR = int(Kind.CLEAR)
COMPUTE_PIPELINE = int(Kind.COMPUTE_PIPELINE)
COPY = int(Kind.COPY)
DEVICE = int(Kind.DEVICE)
DISPATCH = int(Kind.DISPATCH)
DISPATCH_INDIRECT = int(Kind.DISPATCH_INDIRECT)
ENCODER_CREATE = int(Kind.ENCODER_CREATE)
ENCODER_FINISH = int(Kind.ENCODER_FINISH)
MAP = int(Kind.MAP)
MAPPED_WRITE = int(Kind.MAPPED_WRITE)
OPAQUE = int(Kind.OPAQUE)
PASS_BEGIN = int(Kind.PASS_BEGIN)
PASS_END = int(Kind.PASS_END)
PIPELINE_LAYOUT = int(Kind.PIPELINE_LAYOUT)
QUEUE_READ = int(Kind.QUEUE_READ)
READ = int(Kind.READ)
SET_BIND_GROUP = int(Kind.SET_BIND_GROUP)
SET_PIPELINE = int(Kind.SET_PIPELINE)
SHADER_MODULE = int(Kind.SHADER_MODULE)
SUBMIT = int(Kind.SUBMIT)
TIMESTAMP_WRITES = int(Kind.TIMESTAMP_WRITES)
UNMAP = int(Kind.UNMAP)
WRITE_BUFFER = int(Kind.WRITE_BUFFER)
O_BIND_GROUP = int(Obj.BIND_GROUP)
O_BIND_GROUP_LAYOUT = int(Obj.BIND_GROUP_LAYOUT)
O_BUFFER = int(Obj.BUFFER)
O_DEVICE = int(Obj.DEVICE)
O_ENCODER = int(Obj.ENCODER)
O_MODULE = int(Obj.MODULE)
O_PASS = int(Obj.PASS)
O_PIPELINE = int(Obj.PIPELINE)
O_PIPELINE_LAYOUT = int(Obj.PIPELINE_LAYOUT)
WHOLE_SIZE = (1 << 64) - 1
BEFORE = "(created before recording)"
UNIFORM = int(Access.UNIFORM)
SAMPLED_TEXTURE = int(Access.SAMPLED_TEXTURE)
SAMPLER = int(Access.SAMPLER)
TEXTURE_ACCESSES = frozenset(int(a) for a in schema.TEXTURE_ACCESSES)
_BUFFER_ACCESS = {"uniform": UNIFORM, "read-only-storage": int(Access.READ_ONLY_STORAGE),
                  "storage": int(Access.STORAGE)}
_STORAGE_TEXTURE_ACCESS = {"write-only": int(Access.WRITE_ONLY_STORAGE_TEXTURE),
                           "read-only": int(Access.READ_ONLY_STORAGE_TEXTURE),
                           "read-write": int(Access.READ_WRITE_STORAGE_TEXTURE)}


def result_only(handler: Callable[..., None]) -> Callable[..., None]:
    """Mark a handler that needs only the call's object and result, so keyword arguments are not copied for it.

    The mark is an attribute of the function (set through its ``__dict__``, where function attributes
    live), read by the wrapper generator in instrument.py.
    """
    handler.__dict__["result_only"] = True
    return handler


def takes_sequences(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a handler whose call takes sequences (entries, command buffers) that it reads after wgpu has.

    Its wrapper turns one-shot iterators given for the named parameters into lists before the real
    call, so wgpu and the handler both see every item; wgpu iterates them exactly once either way.
    """

    def mark(handler: Callable[..., None]) -> Callable[..., None]:
        handler.__dict__["takes_sequences"] = names
        return handler

    return mark


def plain_event(kind: int, spec: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a handler that only writes ``kind`` with its object's id, then per parameter of ``spec``: 'r'
    the argument's id, 'i' the argument (an int, as given), '-' nothing (the handler writes nothing else
    while it has the method's default).

    A ``_fast.Hook`` (instrument.py) then writes that event itself when every argument is such a plain
    value (ids already given, ints, defaults), and runs the handler for any other call: the same event,
    without a Python frame per call.
    """

    def mark(handler: Callable[..., None]) -> Callable[..., None]:
        handler.__dict__["plain_event"] = (kind, "r" + spec)
        return handler

    return mark


def snapshots(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a handler that needs the named dict arguments as the program gave them, where wgpu-py
    changes them during the call (it pops keys off a render pipeline's ``primitive``).

    Its wrapper passes the real method the program's own objects, as always, and the handler a
    shallow copy taken before the call.
    """

    def mark(handler: Callable[..., None]) -> Callable[..., None]:
        handler.__dict__["snapshots"] = names
        return handler

    return mark


def _flat(data: Any) -> memoryview:
    """A flat byte view of any buffer-protocol object, in memory order."""
    m = data if type(data) is memoryview else memoryview(data)  # memoryview cannot be subclassed
    if not m.c_contiguous:
        m = memoryview(m.tobytes(order="A"))
    return m.cast("B") if m.ndim != 1 or m.format != "B" else m


# -- ids, and adoption of objects made before the recording started ---------------------------

def ref(rec: Recorder, obj: Any, frame: FrameType) -> int:
    """The trace id of ``obj``; an object the trace has not seen yet is adopted first."""
    try:
        return getattr(obj, rec.key)
    except AttributeError:
        return _ADOPT[type(obj)](rec, obj, frame)


def opt_ref(rec: Recorder, obj: Any) -> int:
    """The trace id of ``obj`` if it has one, else -1 (for notes that must not add events)."""
    value = getattr(obj, rec.key, -1)
    return value if isinstance(value, int) else -1


def adopt_device(rec: Recorder, device: Any, frame: FrameType) -> int:
    rec.adopted["device"] += 1
    return new_device(rec, device, frame)


def new_device(rec: Recorder, device: Any, frame: FrameType) -> int:
    info = dict(device.adapter.info)
    limits = dict(device.limits)
    if rec.writer is None:
        rec.open_writer(info, limits)
    did = rec.new(O_DEVICE, device)
    setattr(device._queue, rec.key, did)
    rec.append(DEVICE, rec.site(frame), did, rec.string(json.dumps(info, sort_keys=True, default=str)),
             rec.string(json.dumps(limits, sort_keys=True, default=str)))
    return did


def adopt_buffer(rec: Recorder, buf: Any, frame: FrameType) -> int:
    rec.adopted["buffer"] += 1
    return _new_buffer(rec, frame, buf, ref(rec, buf._device, frame), buf.label or BEFORE)


def _new_buffer(rec: Recorder, frame: FrameType, buf: Any, device: int, label: str) -> int:
    """BUFFER_CREATE from the buffer itself (wgpu-py keeps its size, usage and map state)."""
    bid = rec.new(O_BUFFER, buf)
    rec.append(BUFFER_CREATE, rec.site(frame), bid, buf.size, buf.usage, rec.opt_string(label),
               int(buf.map_state == "mapped"), device)
    return bid


def adopt_module(rec: Recorder, module: Any, frame: FrameType) -> int:
    """A module made before recording: its source is lost (wgpu-py keeps none), so it is empty."""
    rec.adopted["shader_module"] += 1
    device = ref(rec, module._device, frame)
    mid = rec.new(O_MODULE, module)
    rec.append(SHADER_MODULE, rec.site(frame), mid, rec.string(""), rec.opt_string(module.label or BEFORE), device)
    return mid


def adopt_layout(rec: Recorder, layout: Any, frame: FrameType) -> int:
    rec.adopted["bind_group_layout"] += 1
    device = ref(rec, layout._device, frame)
    lid = rec.new(O_BIND_GROUP_LAYOUT, layout)
    rec.layout_access[lid] = {}
    rec.append(BIND_GROUP_LAYOUT, rec.site(frame), lid, device)
    return lid


def adopt_pipeline_layout(rec: Recorder, layout: Any, frame: FrameType) -> int:
    rec.adopted["pipeline_layout"] += 1
    device = ref(rec, layout._device, frame)
    pid = rec.new(O_PIPELINE_LAYOUT, layout)
    rec.pipeline_layouts[pid] = []
    rec.append(PIPELINE_LAYOUT, rec.site(frame), pid, device)
    return pid


def adopt_pipeline(rec: Recorder, pipeline: Any, frame: FrameType) -> int:
    """A pipeline made before recording: its module and bindings are unknown (no rows)."""
    rec.adopted["compute_pipeline"] += 1
    device = ref(rec, pipeline._device, frame)
    mid = rec.new(O_MODULE, None)
    rec.append(SHADER_MODULE, rec.site(frame), mid, rec.string(""), rec.opt_string(BEFORE), device)
    pid = rec.new(O_PIPELINE, pipeline)
    rec.pipeline_access[pid] = {}
    label = rec.opt_string(pipeline.label or BEFORE)
    rec.append(COMPUTE_PIPELINE, rec.site(frame), pid, mid, rec.string(""), -1, label, device)
    return pid


def adopt_bind_group(rec: Recorder, group: Any, frame: FrameType) -> int:
    rec.adopted["bind_group"] += 1
    bid = rec.new(O_BIND_GROUP, group)
    rec.append(BIND_GROUP, rec.site(frame), bid, -1, -1, -1, rec.opt_string(group.label or BEFORE))
    return bid


def adopt_encoder(rec: Recorder, encoder: Any, frame: FrameType) -> int:
    rec.adopted["encoder"] += 1
    device = ref(rec, encoder._device, frame)
    eid = rec.new(O_ENCODER, encoder)
    rec.append(ENCODER_CREATE, rec.site(frame), eid, rec.opt_string(encoder.label or BEFORE), device)
    return eid


def adopt_command_buffer(rec: Recorder, command_buffer: Any, frame: FrameType) -> int:
    """A command buffer finished before recording: an encoder with no recorded commands."""
    eid = adopt_encoder(rec, command_buffer, frame)
    rec.append(ENCODER_FINISH, rec.site(frame), eid)
    return eid


def adopt_pass(rec: Recorder, compute_pass: Any, frame: FrameType) -> int:
    """A pass begun before recording; wgpu-py does not say which encoder began it."""
    eid = _placeholder_encoder(rec, compute_pass, frame)
    rec.adopted["compute_pass"] += 1
    pid = rec.new(O_PASS, compute_pass)
    rec.append(PASS_BEGIN, rec.site(frame), pid, eid)
    return pid


def _placeholder_encoder(rec: Recorder, owner: Any, frame: FrameType) -> int:
    device = ref(rec, owner._device, frame)
    eid = rec.new(O_ENCODER, None)
    rec.append(ENCODER_CREATE, rec.site(frame), eid, rec.opt_string(BEFORE), device)
    return eid


_ADOPT = {
    _api.GPUDevice: adopt_device,
    _api.GPUQueue: lambda rec, queue, frame: ref(rec, queue._device, frame),
    _api.GPUBuffer: adopt_buffer,
    _api.GPUShaderModule: adopt_module,
    _api.GPUBindGroupLayout: adopt_layout,
    _api.GPUPipelineLayout: adopt_pipeline_layout,
    _api.GPUComputePipeline: adopt_pipeline,
    _api.GPUBindGroup: adopt_bind_group,
    _api.GPUCommandEncoder: adopt_encoder,
    _api.GPUCommandBuffer: adopt_command_buffer,
    _api.GPUComputePassEncoder: adopt_pass,
}


# -- device -----------------------------------------------------------------------------------

def device_init(rec: Recorder, frame: FrameType, self: Any, _: None, label: str, internal: Any, adapter: Any,
                features: Any, limits: Any, queue: Any) -> None:
    new_device(rec, self, frame)


@result_only
def create_buffer(rec: Recorder, frame: FrameType, self: Any, buf: Any) -> None:
    _new_buffer(rec, frame, buf, ref(rec, self, frame), buf.label)


def create_shader_module(rec: Recorder, frame: FrameType, self: Any, module: Any, *, label: str = "", code: Any,
                         compilation_hints: Any = ()) -> None:
    device = ref(rec, self, frame)
    source = code if isinstance(code, str) else ""
    mid = rec.new(O_MODULE, module)
    rec.module_code[mid] = source
    rec.append(SHADER_MODULE, rec.site(frame), mid, rec.string(source), rec.opt_string(label), device)


@takes_sequences("entries")
def create_bind_group_layout(rec: Recorder, frame: FrameType, self: Any, layout: Any, *, label: str = "",
                             entries: Iterable[Any]) -> None:
    device = ref(rec, self, frame)
    rows = []
    for entry in entries:
        buffer = entry.get("buffer")
        dynamic = 0
        if buffer is not None:
            access = _BUFFER_ACCESS.get(str(buffer.get("type", "uniform")), UNIFORM)
            dynamic = int(bool(buffer.get("has_dynamic_offset", False)))
        elif entry.get("texture") is not None:
            access = SAMPLED_TEXTURE
        elif entry.get("storage_texture") is not None:
            access = _STORAGE_TEXTURE_ACCESS.get(str(entry["storage_texture"].get("access", "write-only")), 0)
        elif entry.get("sampler") is not None:
            access = SAMPLER
        else:
            access = 0
        rows.append((int(entry["binding"]), access, dynamic))
    lid = rec.new(O_BIND_GROUP_LAYOUT, layout)
    rec.layout_access[lid] = {b: a for b, a, _ in rows}
    rec.append(BIND_GROUP_LAYOUT, rec.site(frame), lid, device, rows=rows)


def _layout_id(rec: Recorder, layout: Any, frame: FrameType) -> int:
    """A bind group layout as an explicit layout id; one from get_bind_group_layout gets an event now."""
    tag = getattr(layout, rec.key, None)
    if not isinstance(tag, tuple):
        return ref(rec, layout, frame)
    lid = rec.derived_layouts.get(tag)
    if lid is None:
        pipeline, group = tag
        access = rec.pipeline_access[pipeline].get(group, {})
        device = ref(rec, layout._device, frame)
        lid = rec.derived_layouts[tag] = rec.new(O_BIND_GROUP_LAYOUT, None)
        rec.layout_access[lid] = access
        rows = [(b, int(a), 0) for b, a in sorted(access.items())]
        rec.append(BIND_GROUP_LAYOUT, rec.site(frame), lid, device, rows=rows)
    return lid


@takes_sequences("bind_group_layouts")
def create_pipeline_layout(rec: Recorder, frame: FrameType, self: Any, layout: Any, *, label: str = "",
                           bind_group_layouts: Iterable[Any], immediate_size: int = 0) -> None:
    device = ref(rec, self, frame)
    groups = [_layout_id(rec, g, frame) for g in bind_group_layouts]
    pid = rec.new(O_PIPELINE_LAYOUT, layout)
    rec.pipeline_layouts[pid] = groups
    rec.append(PIPELINE_LAYOUT, rec.site(frame), pid, device, rows=[(g,) for g in groups])


def _pipeline(rec: Recorder, frame: FrameType, device_obj: Any, pipeline: Any, label: str, layout: Any,
              compute: Any) -> None:
    """COMPUTE_PIPELINE with a row per binding the entry point uses (see wgsl.py for 'auto')."""
    device = ref(rec, device_obj, frame)
    mid, entry, used = stage(rec, frame, compute, "compute")
    plid, access = pipeline_bindings(rec, frame, layout, used)
    pid = rec.new(O_PIPELINE, pipeline)
    rows = register_pipeline(rec, pid, plid, access)
    rec.append(COMPUTE_PIPELINE, rec.site(frame), pid, mid, rec.string(entry or ""), plid, rec.opt_string(label),
               device, rows=rows)


def stage(rec: Recorder, frame: FrameType, descriptor: Any,
          kind: str) -> tuple[int, str | None, dict[wgsl.Binding, Access] | None]:
    """A programmable stage's module id, its entry point (resolved when the program left it out and the
    module has one entry point of ``kind``; else None) and the bindings it uses (None: source unknown)."""
    mid = ref(rec, descriptor["module"], frame)
    entry = descriptor.get("entry_point")
    code = rec.module_code.get(mid, "")
    if entry is None and code:
        found = wgsl.entry_points(code, kind)
        entry = found[0] if len(found) == 1 else None
    return mid, entry, wgsl.accesses(code, entry or None, kind) if code else None


def pipeline_bindings(rec: Recorder, frame: FrameType, layout: Any,
                      used: Mapping[wgsl.Binding, int] | None) -> tuple[int, Mapping[wgsl.Binding, int]]:
    """The pipeline layout id (-1: 'auto') and the access of each binding the pipeline uses."""
    if isinstance(layout, _api.GPUPipelineLayout):
        plid = ref(rec, layout, frame)
        return plid, _layout_access(rec, plid, used)
    return -1, used or {}


def register_pipeline(rec: Recorder, pid: int, pipeline_layout: int,
                      access: Mapping[wgsl.Binding, int]) -> list[tuple[int, int, int]]:
    """Keep a pipeline's layout and bindings by group (for get_bind_group_layout); its rows (group,
    binding, access)."""
    if pipeline_layout >= 0:
        rec.pipeline_layout_of[pid] = pipeline_layout
    by_group: dict[int, dict[int, int]] = {}
    for (group, binding), a in access.items():
        by_group.setdefault(group, {})[binding] = int(a)
    rec.pipeline_access[pid] = by_group
    return [(g, b, int(a)) for (g, b), a in sorted(access.items())]


def _layout_access(rec: Recorder, pipeline_layout: int,
                   used: Mapping[wgsl.Binding, int] | None) -> dict[wgsl.Binding, int]:
    """The access each binding of an explicit pipeline layout declares, for the bindings in ``used``
    (every binding when the entry point's source is unknown)."""
    access = {}
    for group, lid in enumerate(rec.pipeline_layouts.get(pipeline_layout, [])):
        for binding, declared in rec.layout_access.get(lid, {}).items():
            if used is None or (group, binding) in used:
                access[(group, binding)] = declared
    return access


def create_compute_pipeline(rec: Recorder, frame: FrameType, self: Any, pipeline: Any, *, label: str = "",
                            layout: Any, compute: Any) -> None:
    _pipeline(rec, frame, self, pipeline, label, layout, compute)


def create_compute_pipeline_async(rec: Recorder, frame: FrameType, self: Any, promise: Any, *, label: str = "",
                                  layout: Any, compute: Any) -> None:
    """wgpu-native creates the pipeline at once and resolves the promise with it; else it is a note."""
    value = getattr(promise, "_value", None)
    if isinstance(value, _api.GPUComputePipeline):
        _pipeline(rec, frame, self, value, label, layout, compute)
    else:
        did = ref(rec, self, frame)
        name = rec.string("GPUDevice.create_compute_pipeline_async")
        rec.append(OPAQUE, rec.site(frame), name, rec.opt_string(label), did)


def get_bind_group_layout(rec: Recorder, frame: FrameType, self: Any, layout: Any, index: int) -> None:
    """Tag the layout (no event): a pipeline's explicit layout is the bind group layout the program
    made, with every binding it declares; an auto layout is (pipeline, group), the bindings used."""
    pid = ref(rec, self, frame)
    groups = rec.pipeline_layouts.get(rec.pipeline_layout_of.get(pid, -1), ())
    setattr(layout, rec.key, groups[index] if 0 <= index < len(groups) else (pid, int(index)))


@takes_sequences("entries")
def create_bind_group(rec: Recorder, frame: FrameType, self: Any, group: Any, *, label: str = "", layout: Any,
                      entries: Iterable[Any]) -> None:
    tag = getattr(layout, rec.key, None)
    if isinstance(tag, tuple):
        lid, (pipeline, index) = -1, tag
        access = rec.pipeline_access[pipeline].get(index, {})
    else:
        lid, pipeline, index = ref(rec, layout, frame), -1, -1
        access = rec.layout_access.get(lid, {})
    rows = []
    for entry in entries:
        resource = entry["resource"]
        binding = int(entry["binding"])
        if type(resource) is dict or isinstance(resource, Mapping):  # {"buffer": b, "offset": o, "size": s}
            buf, offset, size = resource["buffer"], resource.get("offset", 0), resource.get("size")
            if size is None or size == WHOLE_SIZE:
                size = buf.size - offset
        elif isinstance(resource, _api.GPUBuffer):
            buf, offset, size = resource, 0, resource.size
        elif isinstance(resource, _api.GPUTextureView):  # the layout's texture access, else sampled
            declared = access.get(binding, 0)
            rows.append((binding, ref(rec, resource, frame), 0, 0,
                         declared if declared in TEXTURE_ACCESSES else SAMPLED_TEXTURE))
            continue
        else:  # a sampler
            rows.append((binding, ref(rec, resource, frame), 0, 0, SAMPLER))
            continue
        declared = access.get(binding, 0)
        rows.append((binding, ref(rec, buf, frame), offset, size, declared if declared <= 3 else 0))
    gid = rec.new(O_BIND_GROUP, group)
    rec.append(BIND_GROUP, rec.site(frame), gid, lid, pipeline, index, rec.opt_string(label), rows=rows)


@result_only
def create_command_encoder(rec: Recorder, frame: FrameType, self: Any, encoder: Any) -> None:
    device = ref(rec, self, frame)
    eid = rec.new(O_ENCODER, encoder)
    rec.append(ENCODER_CREATE, rec.site(frame), eid, rec.opt_string(encoder.label), device)


# -- command encoder and compute pass ---------------------------------------------------------

def begin_compute_pass(rec: Recorder, frame: FrameType, self: Any, compute_pass: Any, *, label: str = "",
                       timestamp_writes: Any = None) -> None:
    eid = ref(rec, self, frame)
    pid = rec.new(O_PASS, compute_pass)
    rec.append(PASS_BEGIN, rec.site(frame), pid, eid)
    if timestamp_writes is not None:
        timestamp_writes_event(rec, frame, pid, timestamp_writes)


def timestamp_writes_event(rec: Recorder, frame: FrameType, pass_id: int, writes: Any) -> None:
    """TIMESTAMP_WRITES of a pass just begun (an index the program left out is -1: not written)."""
    query_set = ref(rec, writes["query_set"], frame)
    begin, end_ = writes.get("beginning_of_pass_write_index"), writes.get("end_of_pass_write_index")
    rec.append(TIMESTAMP_WRITES, rec.site(frame), pass_id, query_set, -1 if begin is None else int(begin),
               -1 if end_ is None else int(end_))


@plain_event(PASS_END, "")
def end(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    pid = ref(rec, self, frame)
    rec.append(PASS_END, rec.site(frame), pid)


@plain_event(SET_PIPELINE, "r")
def set_pipeline(rec: Recorder, frame: FrameType, self: Any, _: None, pipeline: Any) -> None:
    pid, pipeline_id = ref(rec, self, frame), ref(rec, pipeline, frame)
    rec.append(SET_PIPELINE, rec.site(frame), pid, pipeline_id)


@plain_event(SET_BIND_GROUP, "ir---")
def set_bind_group(rec: Recorder, frame: FrameType, self: Any, _: None, index: int, bind_group: Any,
                   dynamic_offsets_data: Any = (), dynamic_offsets_data_start: int | None = None,
                   dynamic_offsets_data_length: int | None = None) -> None:
    pid, gid = ref(rec, self, frame), ref(rec, bind_group, frame)
    if dynamic_offsets_data_start is None and not len(dynamic_offsets_data):  # the common case, kept short
        rec.append(SET_BIND_GROUP, rec.site(frame), pid, int(index), gid)
        return
    offsets = dynamic_offsets_data
    if dynamic_offsets_data_start is not None:
        assert dynamic_offsets_data_length is not None  # wgpu raises unless both are given, and no handler runs then
        offsets = offsets[dynamic_offsets_data_start : dynamic_offsets_data_start + dynamic_offsets_data_length]
    rows = [(int(o),) for o in offsets] if len(offsets) else None
    rec.append(SET_BIND_GROUP, rec.site(frame), pid, int(index), gid, rows=rows)


@plain_event(DISPATCH, "iii")
def dispatch_workgroups(rec: Recorder, frame: FrameType, self: Any, _: None, workgroup_count_x: int,
                        workgroup_count_y: int = 1, workgroup_count_z: int = 1) -> None:
    pid = ref(rec, self, frame)
    rec.append(DISPATCH, rec.site(frame), pid, workgroup_count_x, workgroup_count_y, workgroup_count_z)


def dispatch_workgroups_indirect(rec: Recorder, frame: FrameType, self: Any, _: None, indirect_buffer: Any,
                                 indirect_offset: int) -> None:
    pid, bid = ref(rec, self, frame), ref(rec, indirect_buffer, frame)
    rec.append(DISPATCH_INDIRECT, rec.site(frame), pid, bid, int(indirect_offset))


def copy_buffer_to_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, source: Any, source_offset: int,
                          destination: Any, destination_offset: int, size: int | None = None) -> None:
    size = source.size - int(source_offset) if size is None else int(size)
    eid, src, dst = ref(rec, self, frame), ref(rec, source, frame), ref(rec, destination, frame)
    rec.append(COPY, rec.site(frame), eid, src, int(source_offset), dst, int(destination_offset), size)


def clear_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, buffer: Any, offset: int = 0,
                 size: int | None = None) -> None:
    size = buffer.size - int(offset) if size is None else int(size)
    eid, bid = ref(rec, self, frame), ref(rec, buffer, frame)
    rec.append(CLEAR, rec.site(frame), eid, bid, int(offset), size)


def finish(rec: Recorder, frame: FrameType, self: Any, command_buffer: Any, *, label: str = "") -> None:
    eid = ref(rec, self, frame)
    setattr(command_buffer, rec.key, eid)
    rec.append(ENCODER_FINISH, rec.site(frame), eid)


# -- queue ------------------------------------------------------------------------------------

@takes_sequences("command_buffers")
def submit(rec: Recorder, frame: FrameType, self: Any, _: None, command_buffers: Iterable[Any]) -> None:
    rows = [(ref(rec, cb, frame),) for cb in command_buffers]
    did = ref(rec, self, frame)
    rec.append(SUBMIT, rec.site(frame), did, rows=rows or None)
    rec.sync_point()


def write_buffer(rec: Recorder, frame: FrameType, self: Any, _: None, buffer: Any, buffer_offset: int, data: Any,
                 data_offset: int = 0, size: int | None = None) -> None:
    bid = ref(rec, buffer, frame)
    m = _flat(data)
    start = int(data_offset)
    length = m.nbytes - start if not size else int(size)
    if start or length != m.nbytes:
        m = m[start : start + length]
    blob, hi, lo = rec.capture.fields(m, rec.blob)
    rec.append(WRITE_BUFFER, rec.site(frame), bid, int(buffer_offset), length, blob, hi, lo)


def read_buffer(rec: Recorder, frame: FrameType, self: Any, data: Any, buffer: Any, buffer_offset: int = 0,
                size: int | None = None) -> None:
    bid = ref(rec, buffer, frame)
    m = _flat(data)
    blob, hi, lo = rec.capture.fields(m, rec.blob)
    rec.append(QUEUE_READ, rec.site(frame), bid, int(buffer_offset), m.nbytes, blob, hi, lo)
    rec.sync_point()


# -- buffer mapping ---------------------------------------------------------------------------

def _map_mode(mode: Any) -> int:
    if isinstance(mode, str):
        return (1 if "READ" in mode.upper() else 0) | (2 if "WRITE" in mode.upper() else 0)
    return int(mode)


def map_async(rec: Recorder, frame: FrameType, self: Any, _: Any, mode: Any, offset: int = 0,
              size: int | None = None) -> None:
    offset = int(offset or 0)
    size = self.size - offset if size is None else int(size)
    bid = ref(rec, self, frame)
    rec.append(MAP, rec.site(frame), bid, _map_mode(mode), offset, size)
    rec.sync_point()


def unmap(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    bid = ref(rec, self, frame)
    rec.append(UNMAP, rec.site(frame), bid)


def _mapped_offset(buf: Any, offset: int | None) -> int:
    return int(offset) if offset is not None else int(buf._mapped_status[0])


def read_mapped(rec: Recorder, frame: FrameType, self: Any, data: Any, buffer_offset: int | None = None,
                size: int | None = None, *, copy: bool = True) -> None:
    bid = ref(rec, self, frame)
    m = _flat(data)
    blob, hi, lo = rec.capture.fields(m, rec.blob)
    rec.append(READ, rec.site(frame), bid, _mapped_offset(self, buffer_offset), m.nbytes, blob, hi, lo)


def write_mapped(rec: Recorder, frame: FrameType, self: Any, _: None, data: Any,
                 buffer_offset: int | None = None) -> None:
    bid = ref(rec, self, frame)
    m = _flat(data)
    blob, hi, lo = rec.capture.fields(m, rec.blob)
    rec.append(MAPPED_WRITE, rec.site(frame), bid, _mapped_offset(self, buffer_offset), m.nbytes, blob, hi, lo)


def destroy(rec: Recorder, frame: FrameType, self: Any, _: None) -> None:
    """Only the first destroy is an event; the buffer is then never reported as dropped."""
    bid = ref(rec, self, frame)
    if rec.mark_destroyed(bid):
        rec.append(BUFFER_DESTROY, rec.site(frame), bid, 0)


# -- everything else: opaque notes ------------------------------------------------------------

def opaque(name: str) -> Callable[..., None]:
    """A handler that notes the call by name, with its label (or buffer ids) as detail."""

    def note(rec: Recorder, frame: FrameType, self: Any, result: Any, *args: Any, **kwargs: Any) -> None:
        device = _device_of(self)
        did = ref(rec, device, frame) if device is not None else -1
        rec.ensure_writer()
        detail = _detail(rec, frame, args, kwargs)
        rec.append(OPAQUE, rec.site(frame), rec.string(name), rec.opt_string(detail), did)

    return note


def _device_of(obj: Any) -> Any:
    device = obj if isinstance(obj, _api.GPUDevice) else getattr(obj, "_device", None)
    return device if isinstance(device, _api.GPUDevice) else None


def _detail(rec: Recorder, frame: FrameType, args: tuple, kwargs: dict) -> str:
    """The label, or the buffers the call touches (texture copies, query resolves), for people."""
    parts = []
    if kwargs.get("label"):
        parts.append(f"label={kwargs['label']}")
    for value in (*args, *kwargs.values()):
        buf = value.get("buffer") if isinstance(value, dict) else value
        if isinstance(buf, _api.GPUBuffer):
            parts.append(f"buffer {ref(rec, buf, frame)}")
    return ", ".join(parts)


def raised(rec: Recorder, frame: FrameType, name: str, self: Any, error: BaseException) -> None:
    """A call that raised changed nothing the trace models: it is a note, naming the exception."""
    device = _device_of(self)
    did = opt_ref(rec, device) if device is not None else -1
    rec.ensure_writer()
    lines = [line.strip() for line in str(error).splitlines() if line.strip() and line.strip() != "Caused by:"]
    detail = f"{type(error).__name__}: {' / '.join(lines)}"[:300] if lines else type(error).__name__
    rec.append(OPAQUE, rec.site(frame), rec.string(f"{name} raised"), rec.string(detail), did)
