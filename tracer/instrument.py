"""Hooking wgpu-py: the real classes' methods are swapped for recording wrappers while recording.

Each wrapper passes its arguments untouched to the real method, so the program computes exactly
what it would and sees the same results and the same exceptions. Then, under the recorder's lock,
the handler (handlers.py) turns the call into events. The lock makes each call and its events one
step, so calls from several threads are recorded in the order wgpu ran them. A wgpu method that
calls other wgpu methods (``queue.read_buffer`` makes a buffer, an encoder, a copy, a submit and a
mapped read) is one event: calls made while a wrapped call is running are not recorded. Drops
are seen by hooking ``GPUBuffer._release``, which the buffer's finalizer calls.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

from wgpu.backends.wgpu_native import _api

from . import handlers as h
from .recording import Recorder

Handler = Callable[..., None]

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
    },
    _api.GPUComputePipeline: {"get_bind_group_layout": h.get_bind_group_layout},
    _api.GPUCommandEncoder: {
        "begin_compute_pass": h.begin_compute_pass,
        "copy_buffer_to_buffer": h.copy_buffer_to_buffer,
        "clear_buffer": h.clear_buffer,
        "finish": h.finish,
    },
    _api.GPUComputePassEncoder: {
        "set_pipeline": h.set_pipeline,
        "set_bind_group": h.set_bind_group,
        "dispatch_workgroups": h.dispatch_workgroups,
        "dispatch_workgroups_indirect": h.dispatch_workgroups_indirect,
        "end": h.end,
    },
    _api.GPUQueue: {"submit": h.submit, "write_buffer": h.write_buffer, "read_buffer": h.read_buffer},
    _api.GPUBuffer: {
        "map_async": h.map_async,
        "map_sync": h.map_async,
        "unmap": h.unmap,
        "read_mapped": h.read_mapped,
        "write_mapped": h.write_mapped,
        "destroy": h.destroy,
    },
}

OPAQUE: dict[type, tuple[str, ...]] = {
    _api.GPUDevice: ("create_texture", "create_sampler", "create_render_pipeline", "create_render_pipeline_async",
                     "create_render_bundle_encoder", "create_query_set", "destroy"),
    _api.GPUCommandEncoder: ("begin_render_pass", "copy_buffer_to_texture", "copy_texture_to_buffer",
                             "copy_texture_to_texture", "resolve_query_set"),
    _api.GPUComputePassEncoder: ("set_immediates",),
    _api.GPURenderPassEncoder: ("set_pipeline", "set_bind_group", "set_vertex_buffer", "set_index_buffer", "draw",
                                "draw_indexed", "draw_indirect", "draw_indexed_indirect", "execute_bundles", "end"),
    _api.GPUQueue: ("write_texture", "read_texture"),
    _api.GPUTexture: ("destroy",),
    _api.GPUQuerySet: ("destroy",),
}


def install(rec: Recorder) -> list[Callable[[], None]]:
    """Wrap every instrumented method; returns the undo steps, to run in reverse order."""
    undo = []
    for cls, methods in RECORDED.items():
        for name, handler in methods.items():
            undo.append(_patch(cls, name, _wrap(rec, cls, name, handler)))
    for cls, names in OPAQUE.items():
        for name in names:
            undo.append(_patch(cls, name, _wrap(rec, cls, name, h.opaque(f"{cls.__name__}.{name}"))))
    undo.append(_patch(_api.GPUBuffer, "_release", _drop_hook(rec)))
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


def _wrap(rec: Recorder, cls: type, name: str, handler: Handler) -> Callable:
    """The recording wrapper of ``cls.name``.

    ``rec.state[0]`` (a list cell, the cheapest shared flag): 0 idle; 1 inside the real call, whose
    own wgpu calls pass straight through; 2 recording, when SIGTERM and SIGINT wait for the event to be
    whole; 3 stopped, when every call passes straight through (a bound method taken while
    recording can outlive the recording).
    """
    real = getattr(cls, name)
    acquire, release = rec.lock.acquire, rec.lock.release
    state, drops = rec.state, rec.drops
    getframe = sys._getframe
    qualname = f"{cls.__name__}.{name}"
    with_args = not getattr(handler, "result_only", False)
    sequences = getattr(handler, "takes_sequences", False)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if sequences:
            args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
            kwargs = {k: list(v) if isinstance(v, Iterator) else v for k, v in kwargs.items()}
        acquire()
        try:
            if state[0]:  # nested in a recorded call, or the recording has stopped
                return real(self, *args, **kwargs)
            state[0] = 1
            try:
                result = real(self, *args, **kwargs)
            except BaseException as e:
                state[0] = 2
                try:
                    if drops:
                        rec.drain_drops()
                    h.raised(rec, getframe(1), qualname, self, e)
                except Exception as bug:
                    rec.internal_error(bug)
                if state[0] == 2:
                    state[0] = 0
                raise
            state[0] = 2
            try:
                if drops:
                    rec.drain_drops()
                if with_args:
                    handler(rec, getframe(1), self, result, *args, **kwargs)
                else:
                    handler(rec, getframe(1), self, result)
            except Exception as bug:
                rec.internal_error(bug)
            if state[0] == 2:
                state[0] = 0
        finally:
            release()
        if rec.signalled:
            rec.deliver(rec.signalled)
        return result

    return functools.update_wrapper(wrapper, real)


def _drop_hook(rec: Recorder) -> Callable:
    """GPUBuffer._release runs once, from the buffer's finalizer, when its last reference is gone.

    Hooking it costs nothing per buffer, where a weak reference per buffer would cost an object.
    It runs wherever the reference died, so it takes no lock and must never raise.
    """
    real = _api.GPUBuffer._release
    getframe = sys._getframe

    def _release(self: Any) -> None:
        try:
            rec.dropped(self, getframe(1))
        except Exception:  # an exception here would be printed into the program's output
            pass
        finally:
            real(self)

    return functools.update_wrapper(_release, real)
