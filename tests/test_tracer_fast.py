"""The recorder's C hot path (tracer/_fast.c) against its pure-Python fallback: the same program gives the
same trace either way (every event but its time, every string), down the paths a Hook hands back to the
Python wrapper (arguments that do not bind, a sequence given as an iterator) and those it takes
(positional and keyword arguments, a call that raises inside wgpu, drops, events with rows)."""

from __future__ import annotations

import gc
import inspect
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import wgpu
from wgpu.backends.wgpu_native import _api

from wgtrace.tracer import recording, sites
from wgtrace.traces import load

from gpu_program import STORAGE

SHADER = """
@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < arrayLength(&data)) { data[g.x] += 1u; } }
"""


def program(device: wgpu.GPUDevice) -> bytes:
    """Positional and keyword calls (the Hook's), calls that do not bind and a sequence given as an iterator
    (the Python wrapper's), a call wgpu refuses, dynamic offsets (rows), drops."""
    module = device.create_shader_module(code=SHADER)
    pipeline = device.create_compute_pipeline(layout="auto", compute={"module": module, "entry_point": "main"})
    data = device.create_buffer_with_data(data=np.arange(64, dtype=np.uint32), usage=STORAGE)
    group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                     entries=[{"binding": 0, "resource": {"buffer": data}}])
    device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                             entries=iter([{"binding": 0, "resource": {"buffer": data}}]))
    with pytest.raises(TypeError):
        device.create_buffer(size=16)  # a required keyword missing: no note
    encoder = device.create_command_encoder(label="encoder")
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    for i in range(20):
        compute.set_bind_group(0, group)
        compute.dispatch_workgroups(1) if i % 2 else compute.dispatch_workgroups(1, 1, 1)
        device.create_buffer(size=16, usage=STORAGE)  # dropped at once
    compute.set_pipeline(pipeline=pipeline)
    compute.dispatch_workgroups(workgroup_count_x=1)
    with pytest.raises(TypeError):
        compute.dispatch_workgroups(1, 1, 1, 1)  # does not bind: no note
    with pytest.raises(TypeError):
        compute.set_bind_group(0, group, index=0)  # twice: no note
    with pytest.raises(TypeError):
        compute.dispatch_workgroups("one")  # binds, wgpu refuses it: a note
    compute.set_bind_group(0, group, [], 0, 0)
    compute.end()
    device.queue.submit([encoder.finish()])
    gc.collect()
    return bytes(device.queue.read_buffer(data))


# Records ``program`` in a process of its own, its C extension importable or not (argv: the tests'
# directory, "C" or "Python", the trace's path); prints what ``recorded`` returns, the hot path first.
_RECORD_IN_A_PROCESS = """
import json, sys
if sys.argv[2] == "Python":
    class _Missing:
        def find_spec(self, name, path=None, target=None):
            if name == "wgtrace.tracer._fast":
                raise ImportError("no C extension here")
    sys.meta_path.insert(0, _Missing())
sys.path.insert(0, sys.argv[1])
from gpu_program import request_device
from test_tracer_fast import recorded
from wgtrace.tracer import sites
result, events, strings = recorded(sys.argv[3], request_device())
print(json.dumps(["C" if sites.FAST else "Python", result.hex(), events, strings], default=str))
"""


def recorded(path, device: wgpu.GPUDevice) -> tuple[bytes, list[dict], list[str]]:
    with recording(path):
        result = program(device)
    trace = load(path)
    events = [{k: v for k, v in e.items() if k != "t"} | {"stack": trace.stack_of(e["event"])} for e in trace.events()]
    return result, events, list(trace.strings)


@pytest.mark.skipif(sites.FAST is None, reason="built without the C extension")
def test_the_c_hot_path_and_the_python_fallback_record_the_same_trace(tmp_path, device, monkeypatch):
    traces = []
    for extension in (sites.FAST, None):
        monkeypatch.setattr(sites, "FAST", extension)
        with recording(tmp_path / "hooks.wgtrace"):
            wrapper = _api.GPUComputePassEncoder.dispatch_workgroups
            assert type(wrapper) is extension.Hook if extension else inspect.isfunction(wrapper)
        traces.append(recorded(tmp_path / f"{len(traces)}.wgtrace", device))  # one line: the same stacks
    fast, python = traces
    assert fast == python
    assert fast[0] == (np.arange(64, dtype=np.uint32) + 21).tobytes()
    notes = [e["name"] for e in fast[1] if e["kind"] == "opaque"]
    assert notes == ["GPUComputePassEncoder.dispatch_workgroups raised"]



@pytest.mark.skipif(sites.FAST is None, reason="built without the C extension")
def test_the_recorders_lock_is_reentrant_and_held_by_one_thread():
    lock = sites.FAST.RLock()
    taken: list[bool] = []

    def other() -> None:
        with pytest.raises(RuntimeError):
            lock.release()
        taken.append(lock._is_owned())
        with lock:  # waits for the first thread's last release
            taken.append(lock._is_owned())

    with lock:
        assert lock.acquire() and lock._is_owned()
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.2)
        assert taken == [False] and thread.is_alive()
        lock.release()
    thread.join()
    assert taken == [False, True] and not lock._is_owned()
    with pytest.raises(RuntimeError):
        lock.release()
    lock.acquire()
    lock._at_fork_reinit()  # a forked child's: free, whoever held it
    assert not lock._is_owned()


def test_a_recorder_built_without_the_c_extension_records_the_same_trace(tmp_path):
    """The pure-Python fallback as a machine without a compiler has it: no ``_fast`` at import, so the writer
    keeps its cursors in slots of its own (tracer/journal.py) and the lock is threading's."""
    runs = {}
    for hot_path in ("C", "Python") if sites.FAST else ("Python",):
        done = subprocess.run([sys.executable, "-c", _RECORD_IN_A_PROCESS, str(Path(__file__).parent), hot_path,
                               str(tmp_path / f"{hot_path}.wgtrace")], capture_output=True, text=True, check=True)
        ran, *runs[hot_path] = json.loads(done.stdout)
        assert ran == hot_path
    assert all(run == runs["Python"] for run in runs.values())
    assert bytes.fromhex(runs["Python"][0]) == (np.arange(64, dtype=np.uint32) + 21).tobytes()
