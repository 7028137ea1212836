"""Hooking wgpu-py: the real classes' methods are swapped for recording wrappers while recording.

Each wrapper passes its arguments untouched to the real method, so the program computes exactly
what it would and sees the same results and the same exceptions. Then, under the recorder's lock,
the handler (handlers.py, render_handlers.py) turns the call into events. The lock makes each call and its events one
step, so calls from several threads are recorded in the order wgpu ran them. A wgpu method that
calls other wgpu methods (``queue.read_buffer`` makes a buffer, an encoder, a copy, a submit and a
mapped read) is one event: calls made while a wrapped call is running are not recorded. Drops
are seen by hooking ``_release`` of buffers and textures, which their finalizers call.

A wrapper has exactly the parameters of the method it wraps (it is generated from the method's
signature, see ``_source``). A ``(self, *args, **kwargs)`` wrapper would pack a tuple and a dict at
every call and unpack them twice, for the real method and for the handler: that cost more than
writing the event. Defaults are the method's own objects, so the real method gets what it would
have got. (A call whose arguments do not fit the signature raises the method's own TypeError
from the wrapper, before wgpu is reached, so no note of it is written.) The few handlers that read
an argument wgpu-py changes (see ``handlers.snapshots``) get a shallow copy taken before the call.

Where the package was built with its C extension (``_fast.c``, optional: setup.py), a method whose
parameters are positional-or-keyword or keyword-only, and whose handler needs no snapshot or
provisional record, gets a ``_fast.Hook`` instead: the same template in C, which binds the call
itself (the hot path: ``dispatch_workgroups(1)``, ``create_buffer(size=..., usage=...)``) and hands
the Python wrapper any call it cannot bind (arguments that do not fit, a sequence given other than
as a list or a tuple). It takes the recorder's lock (then a ``_fast.RLock``) without a method call,
passes the handler the same objects, the method's defaults included, and has no frame of its own,
so the call site is the same. A handler marked ``handlers.plain_event`` (set_pipeline,
set_bind_group, dispatch_workgroups, draw, end) has its event written by the Hook itself when the
arguments are plain values. Without the extension every method gets the Python wrapper and every
handler runs.
"""

from __future__ import annotations

import functools
import inspect
import linecache
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from wgpu.backends.wgpu_native import _api

from ..traces.schema import Kind
from . import handlers as h
from . import render_handlers as rh
from . import sites
from .recorder import BUFFER_DESTROY, TEXTURE_DESTROY, Recorder

Handler = Callable[..., None]

_DEBUG_MARKERS: dict[str, Handler] = {"push_debug_group": rh.push_debug_group, "pop_debug_group": rh.pop_debug_group,
                  "insert_debug_marker": rh.insert_debug_marker}
_RENDER_COMMANDS: dict[str, Handler] = {  # what render passes and render bundle encoders both record
    "set_pipeline": h.set_pipeline,
    "set_bind_group": h.set_bind_group,
    "set_vertex_buffer": rh.set_vertex_buffer,
    "set_index_buffer": rh.set_index_buffer,
    "draw": rh.draw,
    "draw_indexed": rh.draw_indexed,
    "draw_indirect": rh.draw_indirect,
    "draw_indexed_indirect": rh.draw_indexed_indirect,
    **_DEBUG_MARKERS,
}

RECORDED: dict[type, dict[str, Handler]] = {
    _api.GPUDevice: {
        "__init__": h.device_init,
        "create_buffer": h.create_buffer,
        "create_shader_module": h.create_shader_module,
        "create_bind_group_layout": h.create_bind_group_layout,
        "create_pipeline_layout": h.create_pipeline_layout,
        "create_compute_pipeline": h.create_compute_pipeline,
        "create_compute_pipeline_async": h.create_compute_pipeline_async,
        "create_bind_group": h.create_bind_group,
        "create_command_encoder": h.create_command_encoder,
        "create_texture": rh.create_texture,
        "create_sampler": rh.create_sampler,
        "create_query_set": rh.create_query_set,
        "_create_statistics_query_set": rh.create_query_set,  # extras.create_statistics_query_set
        "create_render_pipeline": rh.create_render_pipeline,
        "create_render_pipeline_async": rh.create_render_pipeline_async,
        "create_render_bundle_encoder": rh.create_render_bundle_encoder,
    },
    _api.GPUComputePipeline: {"get_bind_group_layout": h.get_bind_group_layout},
    _api.GPURenderPipeline: {"get_bind_group_layout": h.get_bind_group_layout},
    _api.GPUCommandEncoder: {
        "begin_compute_pass": h.begin_compute_pass,
        "begin_render_pass": rh.begin_render_pass,
        "copy_buffer_to_buffer": h.copy_buffer_to_buffer,
        "copy_buffer_to_texture": rh.copy_buffer_to_texture,
        "copy_texture_to_buffer": rh.copy_texture_to_buffer,
        "copy_texture_to_texture": rh.copy_texture_to_texture,
        "clear_buffer": h.clear_buffer,
        "resolve_query_set": rh.resolve_query_set,
        "_write_timestamp": rh.write_timestamp,  # extras.write_timestamp
        "finish": h.finish,
        **_DEBUG_MARKERS,
    },
    _api.GPUComputePassEncoder: {
        "set_pipeline": h.set_pipeline,
        "set_bind_group": h.set_bind_group,
        "dispatch_workgroups": h.dispatch_workgroups,
        "dispatch_workgroups_indirect": h.dispatch_workgroups_indirect,
        "end": h.end,
        **_DEBUG_MARKERS,
    },
    _api.GPURenderPassEncoder: {
        **_RENDER_COMMANDS,
        "set_viewport": rh.set_viewport,
        "set_scissor_rect": rh.set_scissor_rect,
        "set_blend_constant": rh.set_blend_constant,
        "set_stencil_reference": rh.set_stencil_reference,
        "begin_occlusion_query": rh.begin_occlusion_query,
        "end_occlusion_query": rh.end_occlusion_query,
        "execute_bundles": rh.execute_bundles,
        "end": h.end,
    },
    _api.GPURenderBundleEncoder: {**_RENDER_COMMANDS, "finish": rh.finish_bundle},
    _api.GPUQueue: {"submit": h.submit, "write_buffer": h.write_buffer, "read_buffer": h.read_buffer,
                    "write_texture": rh.write_texture, "read_texture": rh.read_texture},
    _api.GPUBuffer: {
        "map_async": h.map_async,
        "map_sync": h.map_async,
        "unmap": h.unmap,
        "read_mapped": h.read_mapped,
        "write_mapped": h.write_mapped,
        "destroy": h.destroy,
    },
    _api.GPUTexture: {"create_view": rh.create_view, "destroy": rh.destroy_texture},
    _api.GPUQuerySet: {"destroy": rh.destroy_query_set},
}

# What the format does not model: what wgpu-py adds beyond WebGPU (immediates, wgpu-native's extras)
# and device.destroy. Each is a note naming itself. Another implementation (Dawn's) may lack some: those
# are not wrapped.
_PASS_EXTRAS = ("set_immediates", "_write_timestamp", "_begin_pipeline_statistics_query",
                "_end_pipeline_statistics_query")
OPAQUE: dict[type, tuple[str, ...]] = {
    _api.GPUDevice: ("destroy",),
    _api.GPUComputePassEncoder: _PASS_EXTRAS,
    _api.GPURenderPassEncoder: (*_PASS_EXTRAS, "_multi_draw_indirect", "_multi_draw_indexed_indirect",
                                "_multi_draw_indirect_count", "_multi_draw_indexed_indirect_count"),
    _api.GPURenderBundleEncoder: ("set_immediates",),
}
# Calls that wgpu-native may end the process in (it aborts on a validation error inside a submit: a buffer
# destroyed before the submit that uses it, or read back after it was destroyed). Before the real call these
# write a provisional record into the journal (TraceWriter.provisional); whatever the handler appends
# afterwards takes its place, so only a program that dies inside the call leaves it in its trace.


def _pre_submit(rec: Recorder, frame: Any, queue: Any, command_buffers: Any) -> None:
    writer = rec.writer
    assert writer is not None
    rows = [(h.ref(rec, cb, frame),) for cb in command_buffers]
    writer.provisional(int(Kind.SUBMIT), rec.site(frame), h.ref(rec, queue, frame), rows=rows or None)


def _pre_read(name: str) -> Callable[..., None]:
    def pre(rec: Recorder, frame: Any, queue: Any, *args: Any, **kwargs: Any) -> None:
        writer = rec.writer
        assert writer is not None
        writer.provisional(int(Kind.OPAQUE), rec.site(frame), writer.string(name),
                           writer.string("began and never returned"), h.opt_ref(rec, queue))

    return pre


PRE: dict[tuple[type, str], Callable[..., None]] = {
    (_api.GPUQueue, "submit"): _pre_submit,
    (_api.GPUQueue, "read_buffer"): _pre_read("GPUQueue.read_buffer"),
    (_api.GPUQueue, "read_texture"): _pre_read("GPUQueue.read_texture"),
}

# Objects whose finalizer's _release is hooked to see the program drop them, with their destroy kind.
# (Not query sets: wgpu-py's GPUQuerySet.destroy is a _release, so a drop could not be told from it.)
DROPS: dict[type, int] = {_api.GPUBuffer: BUFFER_DESTROY, _api.GPUTexture: TEXTURE_DESTROY}


def install(rec: Recorder) -> list[Callable[[], None]]:
    """Wrap every instrumented method; returns the undo steps, to run in reverse order."""
    undo = []
    for cls, methods in RECORDED.items():
        for name, handler in methods.items():
            undo.append(_patch(cls, name, _wrap(rec, cls, name, handler)))
    for cls, names in OPAQUE.items():
        for name in (name for name in names if hasattr(cls, name)):
            undo.append(_patch(cls, name, _wrap(rec, cls, name, h.opaque(f"{cls.__name__}.{name}"), exact=False)))
    for cls, kind in DROPS.items():
        undo.append(_patch(cls, "_release", _drop_hook(rec, cls, kind)))
    return undo


def _patch(cls: type, name: str, wrapper: Callable) -> Callable[[], None]:
    own = cls.__dict__.get(name)
    setattr(cls, name, wrapper)

    def undo() -> None:
        if own is None:
            delattr(cls, name)
        else:
            setattr(cls, name, own)

    return undo


# The body of every wrapper. ``_state[0]`` (a list cell, the cheapest shared flag): 0 idle; 1 inside
# the real call, whose own wgpu calls pass straight through; 2 recording, when SIGTERM and SIGINT wait
# for the event to be whole; 3 stopped, when every call passes straight through (a bound method taken
# while recording can outlive the recording).
_TEMPLATE = """\
def {name}({params}):
{sequences}    _acquire()
    try:
        if _state[0]:  # nested in a recorded call, or the recording has stopped
            return _real({forward})
{pre}        _state[0] = 1
        try:
            _result = _real({forward})
        except BaseException as _error:
            _raised(_getframe(1), {self}, _error)
            raise
        _state[0] = 2
        try:
            if _drops:
                _drain_drops()
            _handler(_rec, _getframe(1), {self}, _result{handler_args})
        except Exception as _bug:
            _rec.internal_error(_bug)
        if _state[0] == 2:
            _state[0] = 0
    finally:
        _release()
    if _rec.signalled:
        _rec.deliver(_rec.signalled)
    return _result
"""
_GENERIC = inspect.Signature([
    inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
    inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
])
_HERE = os.path.dirname(os.path.abspath(__file__))


def _wrap(rec: Recorder, cls: type, name: str, handler: Handler, exact: bool = True) -> Callable:
    """The recording wrapper of ``cls.name``: the real call, then the handler under the recorder's lock.

    ``exact``: the wrapper has the method's own signature; else ``(self, *args, **kwargs)``, for
    handlers that look at how the arguments were given (opaque notes list them in call order).
    """
    real = getattr(cls, name)
    qualname = f"{cls.__name__}.{name}"
    state = rec.state
    signature = _signature(real) if exact else _GENERIC
    if not set(getattr(handler, "takes_sequences", ())) <= signature.parameters.keys():
        signature = _GENERIC  # a sequence parameter under another name: materialise every argument
    pre_call = PRE.get((cls, name))
    source, defaults = _source(name, signature, handler, pre_call is not None)

    def pre(frame: Any, obj: Any, *args: Any, **kwargs: Any) -> None:
        """The provisional record, best effort: the handler writes the real event after the call."""
        assert pre_call is not None
        state[0] = 2
        try:
            if rec.drops:
                rec.drain_drops()
            pre_call(rec, frame, obj, *args, **kwargs)
        except Exception:  # noqa: S110  # the event after the call is what counts; this record is a bonus
            pass
        state[0] = 0

    def raised(frame: Any, obj: Any, error: BaseException) -> None:
        """A note for a call that raised (the program then gets the exception unchanged)."""
        state[0] = 2
        try:
            if rec.drops:
                rec.drain_drops()
            h.raised(rec, frame, qualname, obj, error)
        except Exception as bug:
            rec.internal_error(bug)
        if state[0] == 2:
            state[0] = 0

    namespace = {
        **defaults, "_real": real, "_handler": handler, "_rec": rec, "_state": state, "_drops": rec.drops,
        "_drain_drops": rec.drain_drops, "_acquire": rec.lock.acquire, "_release": rec.lock.release,
        "_getframe": sys._getframe, "_raised": raised, "_listed": _listed, "_snapshot": _snapshot, "_pre": pre,
    }
    # Named inside this package, so that call sites skip the wrapper's frames like any of wgtrace's;
    # the linecache entry lets tracebacks through a wrapper show its source.
    filename = os.path.join(_HERE, f"<wrapper of {qualname}>")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    wrapper = functools.update_wrapper(namespace[name], real)
    snapshots: tuple[str, ...] = getattr(handler, "snapshots", ())
    if sites.FAST is None or pre_call is not None or snapshots or not _bindable(signature):
        return wrapper
    return _hook(rec, real, handler, signature, wrapper, raised)


def _hook(rec: Recorder, real: Callable, handler: Handler, signature: inspect.Signature, wrapper: Callable,
          raised: Callable[[Any, Any, BaseException], None]) -> Callable:
    """The ``_fast.Hook`` of a method, which hands ``wrapper`` the calls it cannot bind."""
    assert sites.FAST is not None
    params = list(signature.parameters.values())[1:]
    sequences = getattr(handler, "takes_sequences", ())
    kind, spec = getattr(handler, "plain_event", (None, ""))
    hook = sites.FAST.Hook(
        wrapper=wrapper, real=real, handler=handler, rec=rec, raised=raised,
        positional=1 + sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params), names=tuple(p.name for p in params),
        defaults=tuple(p.default for p in params), empty=inspect.Parameter.empty,
        listed=sum(1 << i for i, p in enumerate(params, 1) if p.name in sequences),
        result_only=getattr(handler, "result_only", False), kind=kind, spec=spec)
    functools.update_wrapper(hook, real)
    hook.__signature__ = signature  # what inspect reports for it: the method's own parameters, as the wrapper's
    return hook


def _bindable(signature: inspect.Signature) -> bool:
    """Whether a ``_fast.Hook`` binds calls of ``signature`` itself: parameters positional-or-keyword or
    keyword-only, at most 16 (no ``*args``, ``**kwargs`` or positional-only ones)."""
    params = signature.parameters.values()
    return signature is not _GENERIC and len(params) <= 16 \
        and all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)


def _signature(method: Callable) -> inspect.Signature:
    """The method's own parameters (not those of a function it says it wraps), else ``_GENERIC``."""
    try:
        signature = inspect.signature(method, follow_wrapped=False)
    except (TypeError, ValueError):  # no signature to read
        return _GENERIC
    params = list(signature.parameters.values())
    if (not params or params[0].kind is not params[0].POSITIONAL_OR_KEYWORD  # no self
            or any(p.kind is p.POSITIONAL_ONLY for p in params)
            or any(p.name.startswith("_") for p in params)):  # a name that could shadow the template's
        return _GENERIC
    return signature


def _source(name: str, signature: inspect.Signature, handler: Handler, pre: bool = False) -> tuple[str, dict[str, Any]]:
    """The wrapper's source, and the names its parameters' defaults take in its namespace."""
    sequences = getattr(handler, "takes_sequences", ())
    snapshots = getattr(handler, "snapshots", ())
    params: list[str] = []
    forward: list[str] = []
    to_handler: list[str] = []
    listed: list[str] = []
    defaults: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            params.append(f"*{p.name}")
            forward.append(f"*{p.name}")
            to_handler.append(forward[-1])
            if sequences:
                listed.append(f"{p.name} = tuple(map(_listed, {p.name}))")
            continue
        if p.kind is p.VAR_KEYWORD:
            params.append(f"**{p.name}")
            forward.append(f"**{p.name}")
            to_handler.append(forward[-1])
            if sequences:
                listed.append(f"{p.name} = {{key: _listed(value) for key, value in {p.name}.items()}}")
            continue
        if p.kind is p.KEYWORD_ONLY and not any(text.startswith("*") for text in params):
            params.append("*")
        if p.default is p.empty:
            params.append(p.name)
        else:
            default = f"_default_{len(defaults)}"
            defaults[default] = p.default
            params.append(f"{p.name}={default}")
        forward.append(f"{p.name}={p.name}" if p.kind is p.KEYWORD_ONLY else p.name)
        if p.name in sequences:
            listed.append(f"{p.name} = _listed({p.name})")
        if p.name in snapshots:
            listed.append(f"_snapshot_{p.name} = _snapshot({p.name})")
            to_handler.append(f"{p.name}=_snapshot_{p.name}" if p.kind is p.KEYWORD_ONLY else f"_snapshot_{p.name}")
        else:
            to_handler.append(forward[-1])
    handler_args = "" if getattr(handler, "result_only", False) else "".join(f", {a}" for a in to_handler[1:])
    pre_call = f"        _pre(_getframe(1), {forward[0]}{''.join(f', {a}' for a in to_handler[1:])})\n" if pre else ""
    source = _TEMPLATE.format(name=name, params=", ".join(params), forward=", ".join(forward), self=forward[0],
                              handler_args=handler_args, sequences="".join(f"    {line}\n" for line in listed),
                              pre=pre_call)
    return source, defaults


def _snapshot(value: Any) -> Any:
    """A shallow copy of a dict argument, for a handler to read after wgpu-py has changed the original."""
    return dict(value) if type(value) is dict else value


def _listed(value: Any) -> Any:
    """A one-shot iterator as a list, so that wgpu and the handler both see every item."""
    if type(value) is list or type(value) is tuple or not isinstance(value, Iterator):
        return value
    return list(value)


def _drop_hook(rec: Recorder, cls: Any, kind: int) -> Callable:
    """``cls._release`` runs from the object's finalizer, when its last reference is gone.

    Hooking it costs nothing per object, where a weak reference per object would cost an object.
    It runs wherever the reference died, so it takes no lock and must never raise. Only a release
    that lets go of the wgpu object counts: wgpu-py also releases a canvas context's texture when it
    is presented, and then again (doing nothing) from its finalizer.
    """
    real = cls._release
    getframe = sys._getframe

    def _release(self: Any) -> None:
        try:
            if self._internal is not None:
                rec.dropped(self, getframe(1), kind)
        except Exception:  # an exception here would be printed into the program's output
            pass
        finally:
            real(self)

    return functools.update_wrapper(_release, real)
