"""replay/errors.py's table against the real implementations: each case provokes one device error on a
fresh device of wgpu-native and of Dawn (each in a process of its own, as a process holds one of them) and
the message must classify as the rule it breaks. Run as a script (``python test_dawn_errors.py BACKEND``)
this file is that child: it prints each case's error name and message as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback

import pytest

from wgtrace.replay.errors import classify
from wgtrace.tracer.backends import environment, unusable

SHADER = """
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(1) fn main() { b[0] = a[0] + 1u; }"""
ALIAS_SHADER = """
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
@compute @workgroup_size(1) fn main() { b[0] = a[0] + 1u; }"""
# case -> the kind its error must classify as (None: the implementations must let it through)
EXPECTED = {
    "read-only and read-write binding of one buffer": "H2",
    "copy within one buffer": "H2",
    "write_buffer into a destroyed buffer": "H3",
    "submit of a destroyed buffer": "H3",
    "copy while a pass is open": "H4",
    "finish with a pass open": "H4",
    "dispatch without a pipeline": "H4",
    "binding offset 4": "H5",
    "binding past the end": "H5",
    "copy past the end": "H5",
    "70000 workgroups": "H5",
    "write_buffer on a destroyed device": "device lost",
    "two read-write bindings of one buffer": None,
}
NATIVE_ABORTS = {"submit of a destroyed buffer"}  # wgpu-native aborts the process instead of raising


def _probe(backend: str) -> dict[str, tuple[str, str] | None]:
    """Each case on a fresh device: (the engine's error name, the message), or None when nothing was raised."""
    from wgtrace.tracer.backends import select

    select(backend)
    import wgpu

    from wgtrace.replay.engine import condense, error_name

    usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
    out: dict[str, tuple[str, str] | None] = {}
    for case in EXPECTED:
        if backend == "wgpu-native" and case in NATIVE_ABORTS:
            continue
        dev = wgpu.gpu.request_adapter_sync().request_device_sync()  # a Dawn adapter gives one device
        x, y = (dev.create_buffer(size=1024, usage=usage) for _ in range(2))
        try:
            _CASES[case](wgpu, dev, x, y)
            out[case] = None
        except Exception as e:
            out[case] = (error_name(e), condense(e))
            traceback.clear_frames(e.__traceback__)  # wgpudawn crashes at exit on a write_buffer error's frames
    return out


def _bound(dev, x, y, *, xo=0, size=256, code=SHADER, n=1):
    p = dev.create_compute_pipeline(layout="auto", compute={"module": dev.create_shader_module(code=code),
                                                            "entry_point": "main"})
    bg = dev.create_bind_group(layout=p.get_bind_group_layout(0), entries=[
        {"binding": 0, "resource": {"buffer": x, "offset": xo, "size": size}},
        {"binding": 1, "resource": {"buffer": y, "offset": 512, "size": size}}])
    enc = dev.create_command_encoder()
    c = enc.begin_compute_pass()
    c.set_pipeline(p)
    c.set_bind_group(0, bg)
    c.dispatch_workgroups(n)
    c.end()
    dev.queue.submit([enc.finish()])
    dev.queue.read_buffer(y)


def _destroyed_submit(wgpu, dev, x, y):
    enc = dev.create_command_encoder()
    enc.copy_buffer_to_buffer(x, 0, y, 0, 256)
    cb = enc.finish()
    x.destroy()
    dev.queue.submit([cb])


def _open_pass(dev, then):
    enc = dev.create_command_encoder()
    c = enc.begin_compute_pass()
    then(enc, c)
    enc.finish()


_CASES = {
    "read-only and read-write binding of one buffer": lambda wgpu, dev, x, y: _bound(dev, x, x),
    "copy within one buffer": lambda wgpu, dev, x, y: _open_pass(dev, lambda e, c: (
        c.end(), e.copy_buffer_to_buffer(x, 0, x, 512, 256))),
    "write_buffer into a destroyed buffer": lambda wgpu, dev, x, y: (
        x.destroy(), dev.queue.write_buffer(x, 0, b"\0" * 16)),
    "submit of a destroyed buffer": _destroyed_submit,
    "copy while a pass is open": lambda wgpu, dev, x, y: _open_pass(dev, lambda e, c: (
        e.copy_buffer_to_buffer(x, 0, y, 0, 256), c.end())),
    "finish with a pass open": lambda wgpu, dev, x, y: _open_pass(dev, lambda e, c: None),
    "dispatch without a pipeline": lambda wgpu, dev, x, y: _open_pass(dev, lambda e, c: (
        c.dispatch_workgroups(1), c.end())),
    "binding offset 4": lambda wgpu, dev, x, y: _bound(dev, x, y, xo=4),
    "binding past the end": lambda wgpu, dev, x, y: _bound(dev, x, y, xo=1024),
    "copy past the end": lambda wgpu, dev, x, y: _open_pass(dev, lambda e, c: (
        c.end(), e.copy_buffer_to_buffer(x, 0, y, 900, 256))),
    "70000 workgroups": lambda wgpu, dev, x, y: _bound(dev, x, y, n=70000),
    "write_buffer on a destroyed device": lambda wgpu, dev, x, y: (
        dev.destroy(), dev.queue.write_buffer(x, 0, b"\0" * 16)),
    "two read-write bindings of one buffer": lambda wgpu, dev, x, y: _bound(dev, x, x, code=ALIAS_SHADER),
}


def probe_in_child(backend: str) -> dict[str, list[str] | None]:
    reason = unusable(backend)
    if reason:
        pytest.skip(f"{backend}: {reason}")
    out = subprocess.run([sys.executable, __file__, backend], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **environment(backend)})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])  # wgpu-native prints a device's loss on stdout


@pytest.mark.parametrize("backend", ["wgpu-native", "dawn"])
def test_each_implementations_errors_classify_as_the_rule_they_break(backend):
    seen = probe_in_child(backend)
    assert set(seen) == set(EXPECTED) - (NATIVE_ABORTS if backend == "wgpu-native" else set())
    for case, error in seen.items():
        if EXPECTED[case] is None:
            assert error is None, f"{backend} refuses {case}: {error}"
        else:
            assert error is not None, f"{backend} lets {case} through"
            assert classify(error[0], error[1], backend) == EXPECTED[case], f"{backend}, {case}: {error}"


def test_a_message_is_read_with_its_own_implementations_words_only():
    dawn = "Source and destination are the same buffer ([Buffer (unlabeled)])."
    assert classify("validation error", dawn, "dawn") == "H2"
    assert classify("validation error", dawn, "wgpu-native") == "?"
    assert classify("out of memory", "anything", "dawn") == "out of memory"
    assert classify("refused", "refused: wgpu-native aborts the process on this submit: buffer 3 was destroyed at "
                               "event 9", "dawn") == "H3"


if __name__ == "__main__":
    print(json.dumps(_probe(sys.argv[1])))
