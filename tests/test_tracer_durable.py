"""Durable recording: whatever ends the program (SIGKILL, an abort inside wgpu-native, a kill before the first
device), its trace keeps every event up to that moment; forks, a second recorder, a planted symlink and an
output that is the program's own input cannot spoil it; and the program runs as ``python`` would run it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wgtrace.traces import Kind, load

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")}

SETUP = '''
import os, sys, time
import wgpu
device = wgpu.gpu.request_adapter_sync().request_device_sync()
code = ("@group(0) @binding(0) var<storage, read_write> d: array<u32>;"
        "@compute @workgroup_size(1) fn main() { d[0] += 1u; }")
pipeline = device.create_compute_pipeline(layout="auto", compute={"module": device.create_shader_module(code=code)})
buf = device.create_buffer(size=256, usage=wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_DST)
group = device.create_bind_group(layout=pipeline.get_bind_group_layout(0),
                                 entries=[{"binding": 0, "resource": {"buffer": buf}}])

def encode():
    encoder = device.create_command_encoder()
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    compute.set_bind_group(0, group)
    compute.dispatch_workgroups(1)
    compute.end()
    return encoder.finish()
'''

LOOP = SETUP + '''
for i in range(10**9):
    device.queue.submit([encode()])
    print(i + 1, flush=True)  # submits that returned
'''

ABORT = SETUP + '''
commands = encode()
buf.destroy()
print("submitting", flush=True)
device.queue.submit([commands])  # wgpu-native aborts the process: the buffer has been destroyed
print("not reached")
'''

FORK = SETUP + '''
import atexit, multiprocessing, signal

def square(n):
    return n * n

device.queue.submit([encode()])
pid = os.fork()
if pid == 0:  # the child runs its exit handlers (python's own exit would hang in wgpu-native, forked)
    atexit._run_exitfuncs()
    os._exit(0)
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
os.kill(pid, signal.SIGTERM)  # the child's SIGTERM handler ran the recorder's stop
os.waitpid(pid, 0)
with multiprocessing.get_context("fork").Pool(2) as pool:
    print(pool.map(square, range(4)))
    pool.terminate()
device.queue.submit([encode()])
print("done")
'''

SHOW = '''
import os, sys
print(repr(__file__), sys.argv, sys.path[0], __name__, __package__, type(__loader__).__name__,
      __spec__ and __spec__.name, type(__builtins__).__name__, sorted(globals()))
here = os.path.dirname(__file__)
os.chdir("/")
print(open(os.path.join(here, "data.txt")).read())
'''


def record(out: Path, *program: str, cwd: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wgtrace.traces", "record", "-o", str(out), "--", *program],
                            cwd=cwd, env=ENV, text=True, **kwargs)


def wgtrace(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wgtrace.traces", *args], capture_output=True, text=True, cwd=cwd,
                          env=ENV)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def app(tmp_path: Path):
    def write(source: str, name: str = "app.py") -> Path:
        path = tmp_path / name
        path.write_text(source)
        return path

    return write


@pytest.mark.parametrize("after", [1, 37, 997])
def test_sigkill_at_any_moment_keeps_every_event(app, tmp_path, after):
    """Killed after a random moment past its ``after``-th submit: the trace holds every submit the program saw
    return (it printed each), and at most the one it was in."""
    app(LOOP)
    proc = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        for line in proc.stdout:
            if int(line) >= after:
                break
        time.sleep(random.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        printed = after + len(proc.stdout.read().split())
    finally:
        proc.kill()
        proc.wait()
    trace = load(tmp_path / "t.wgtrace", partial=True)
    assert trace.cut_short and "recovered from its journal" in trace.cut_short
    submits = trace.count_kind(Kind.SUBMIT)
    assert printed <= submits <= printed + 1
    assert trace.count_kind(Kind.DISPATCH) >= printed
    assert trace.header["adapter"] and trace.limits  # from the DEVICE event: the header came first


def test_a_native_abort_keeps_the_destroy_and_the_submit_it_died_in(app, tmp_path):
    program = app(ABORT)
    proc = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL)
    assert proc.stdout.readline() == "submitting\n"
    assert proc.wait(timeout=60) == -signal.SIGABRT
    trace = load(tmp_path / "t.wgtrace", partial=True)
    last = len(trace) - 1
    assert trace.count_kind(Kind.BUFFER_DESTROY) == 1 and trace.kind[last] == Kind.SUBMIT
    assert trace.unfinished == last and "never returned" in trace.cut_short
    out = wgtrace("check", "--partial", str(tmp_path / "t.wgtrace"))
    assert out.returncode == 1, out.stderr
    assert "error H3" in out.stdout and "cut short" in out.stdout
    site = f"app.py:{line_of(program, 'device.queue.submit([commands])')}"
    assert f"the last is event {last}, submit at {site}, a call that began and never returned" in out.stdout
    assert "no encoder was left unsubmitted" in out.stdout


def test_unsubmitted_encoders_are_named(app, tmp_path):
    app(SETUP + '''
encode()
commands = encode()
device.queue.submit([encode()])
print("ready", flush=True)
time.sleep(60)
''')
    proc = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "ready\n"
    finally:
        proc.kill()
        proc.wait()
    out = wgtrace("check", "--partial", str(tmp_path / "t.wgtrace"))
    assert "encoders 0, 1 were still unsubmitted" in out.stdout and "clean" in out.stdout


def test_a_kill_before_the_first_device_leaves_a_loadable_empty_trace(app, tmp_path):
    app('import time\nprint("ready", flush=True)\ntime.sleep(60)\n')
    proc = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "ready\n"
    finally:
        proc.kill()
        proc.wait()
    trace = load(tmp_path / "t.wgtrace", partial=True)
    assert len(trace) == 0 and "stopped mid-run" in trace.cut_short and "holds no later events" in trace.cut_short
    out = wgtrace("check", "--partial", str(tmp_path / "t.wgtrace"))
    assert "cut short before its first event" in out.stdout


def test_forked_children_do_not_write_to_the_parents_trace(app, tmp_path):
    app(FORK)
    proc = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.endswith("done\n")
    trace = load(tmp_path / "t.wgtrace")  # whole: no end record from a child, no bytes after the parent's
    assert trace.end["exit_code"] == 0 and trace.count_kind(Kind.SUBMIT) == 2
    assert not (tmp_path / "t.wgtrace.journal").exists()


def test_an_output_the_program_reads_is_refused(app, tmp_path):
    program = app('print("ran")\n')
    (tmp_path / "data.txt").write_text("input")
    for out, args in (("app.py", ["app.py"]), ("data.txt", ["app.py", "data.txt"]),
                      ("data.txt", ["app.py", "--input=data.txt"])):
        done = wgtrace("record", "-o", out, "--", "python", *args, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
        assert "will not write the trace" in done.stderr
    assert program.read_text() == 'print("ran")\n' and (tmp_path / "data.txt").read_text() == "input"


def test_a_planted_symlink_is_refused(app, tmp_path):
    app('print("ran")\n')
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "t.wgtrace").symlink_to(tmp_path / "victim")
    done = wgtrace("record", "-o", "t.wgtrace", "--", "python", "app.py", cwd=tmp_path)
    assert done.returncode == 2 and "symbolic link" in done.stderr and len(done.stderr.splitlines()) == 1
    assert (tmp_path / "victim").read_text() == "precious" and (tmp_path / "t.wgtrace").is_symlink()


def test_a_second_recording_to_the_same_file_is_refused(app, tmp_path):
    app(SETUP + '''
device.queue.submit([encode()])
print("ready", flush=True)
sys.stdin.readline()
device.queue.submit([encode()])
''')
    first = record(tmp_path / "t.wgtrace", "python", "app.py", cwd=tmp_path, stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE)
    try:
        assert first.stdout.readline() == "ready\n"
        second = wgtrace("record", "-o", "t.wgtrace", "--", "python", "app.py", cwd=tmp_path)
        assert second.returncode == 2 and "another recording is writing it" in second.stderr
        first.communicate("\n", timeout=60)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0
    trace = load(tmp_path / "t.wgtrace")
    assert trace.count_kind(Kind.SUBMIT) == 2 and trace.end["exit_code"] == 0


@pytest.mark.parametrize("command", [["python", "app.py", "x"], ["python", "./app.py"], ["python", "-m", "app", "y"]])
def test_the_program_sees_what_python_gives_it(app, tmp_path, command):
    app(SHOW)
    (tmp_path / "data.txt").write_text("beside")
    plain = subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, capture_output=True, text=True, env=ENV)
    recorded = wgtrace("record", "-o", "t.wgtrace", "--", *command, cwd=tmp_path)
    assert plain.returncode == 0 and recorded.returncode == 0, recorded.stderr
    assert recorded.stdout == plain.stdout
    assert "beside" in plain.stdout and plain.stdout.startswith(f"'{tmp_path}/")  # absolute, as python 3.9+ has it
