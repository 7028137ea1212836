"""Call sites name the program's own line, past the libraries it calls, and every event has a short call stack.

The recorder's ``Sites`` is tested on its own with three kinds of files made in a temporary
directory (a stand-in for wgpu in a skipped directory, a library in a ``site-packages`` directory,
the program), then end to end: a recorded program whose write goes through a library, the stack in
the trace file, and ``wgtrace check`` reporting it as JSON and SARIF.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from wgtrace.tracer import recording
from wgtrace.tracer.sites import LIBRARY_DIRS, STACK_DEPTH, Sites
from wgtrace.traces import TraceError, load, save
from wgtrace.traces.cli import main
from wgtrace.traces.model import TraceBuilder, site_key
from wgtrace.traces.schema import Kind
from wgtrace.traces.validate import validate
from wgtrace.traces.writer import TraceWriter, make_header

from gpu_program import STORAGE, begin_double

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "corpus"
HERE = Path(__file__).resolve()

WGPU = """\
import sys


def call(lookup):
    return lookup(sys._getframe(1))


def run(fn, *args):
    return fn(*args)
"""
LIBRARY = """\
import fakewgpu


def draw(lookup):
    return _update(lookup)


def _update(lookup):
    return fakewgpu.call(lookup)


def each(fn, lookup):
    return fn(lookup)
"""
PROGRAM = """\
import fakelib
import fakewgpu


def direct(lookup):
    return fakewgpu.call(lookup)


def through_library(lookup):
    return fakelib.draw(lookup)


def caller_a(lookup):
    return through_library(lookup)


def caller_b(lookup):
    return through_library(lookup)


def deep(n, lookup):
    return deep(n - 1, lookup) if n else fakewgpu.call(lookup)


def gen(lookup):
    while True:
        yield fakewgpu.call(lookup)


def drive_a(g):
    return next(g)


def drive_b(g):
    return next(g)


def launched(lookup):
    return fakewgpu.run(direct, lookup)


def loop(lookup, n):
    return [fakewgpu.call(lookup) for _ in range(n)] + [fakewgpu.call(lookup)]
"""


def line_of(path: Path, text: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line][nth]


def _import(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Fake:
    """The three kinds of code as modules: ``wgpu`` (skipped), ``lib`` (a library), ``app`` (the program)."""

    def __init__(self, root: Path, program_is_library: bool = False):
        self.root = root
        (root / "skip").mkdir()
        (root / "site-packages").mkdir()
        (root / "app").mkdir()
        self.wgpu_file = root / "skip" / "fakewgpu.py"
        self.lib_file = root / "site-packages" / "fakelib.py"
        self.app_file = root / "app" / "app.py"
        self.wgpu_file.write_text(WGPU)
        self.lib_file.write_text(LIBRARY)
        self.app_file.write_text(PROGRAM)
        self.wgpu = _import("fakewgpu", self.wgpu_file)
        self.lib = _import("fakelib", self.lib_file)
        self.app = _import("fake_app", self.app_file)
        self.strings: dict[str, int] = {}
        self.table: list[str] = []
        # the program a library too, and this test file: no frame of the program's own is left
        own = (str(root / "app") + os.sep, str(HERE.parent) + os.sep)
        libraries = LIBRARY_DIRS + (own if program_is_library else ())
        self.sites = Sites(self.intern, (str(root / "skip") + os.sep,), libraries=libraries)
        self.lookup = self.sites.lookup

    def intern(self, s: str) -> int:
        if s not in self.strings:
            self.strings[s] = len(self.table)
            self.table.append(s)
        return self.strings[s]

    def decode(self, key: int) -> tuple[str | None, tuple[str, ...]]:
        k = key + 1
        site, stack = (k & 0xFFFFFFFF) - 1, (k >> 32) - 1
        return (self.table[site] if site >= 0 else None,
                tuple(self.table[stack].split("\n")) if stack >= 0 else ())

    def app_at(self, text: str, nth: int = 0) -> str:
        return f"{self.app_file}:{line_of(self.app_file, text, nth)}"

    def lib_at(self, text: str) -> str:
        return f"{self.lib_file}:{line_of(self.lib_file, text)}"


@pytest.fixture
def fake(tmp_path):
    yield Fake(tmp_path)
    for name in ("fakewgpu", "fakelib", "fake_app"):
        sys.modules.pop(name, None)


def here(text: str) -> str:
    return f"{os.path.relpath(HERE)}:{line_of(HERE, text)}"


def test_site_is_the_programs_line_past_the_library_and_the_stack_lists_it_innermost_first(fake):
    site, stack = fake.decode(fake.app.caller_a(fake.lookup))  # the call: A
    assert site == fake.app_at("return fakelib.draw(lookup)")
    assert stack == (fake.lib_at("return fakewgpu.call(lookup)"), fake.lib_at("return _update(lookup)"),
                     fake.app_at("return fakelib.draw(lookup)"), fake.app_at("return through_library(lookup)"),
                     here("# the call: A"))  # pytest's frames above the test are library frames: left out


def test_one_helper_line_reached_from_two_callers_has_two_stacks(fake):
    keys = [fake.app.caller_a(fake.lookup), fake.app.caller_b(fake.lookup), fake.app.caller_a(fake.lookup)]
    (site_a, stack_a), (site_b, stack_b), again = map(fake.decode, keys)
    assert site_a == site_b == fake.app_at("return fakelib.draw(lookup)")
    assert stack_a[3] == fake.app_at("return through_library(lookup)", 0)
    assert stack_b[3] == fake.app_at("return through_library(lookup)", 1)
    assert again == (site_a, stack_a) and keys[0] == keys[2]


def test_a_direct_call_and_a_repeated_one_from_a_live_frame(fake):
    site, stack = fake.decode(fake.app.direct(fake.lookup))
    assert site == stack[0] == fake.app_at("return fakewgpu.call(lookup)")
    keys = fake.app.loop(fake.lookup, 5)  # one frame over and over (the comprehension's), then its caller's
    assert len(set(keys[:-1])) == 1
    inner, last = fake.decode(keys[0]), fake.decode(keys[-1])
    assert inner[0] == last[0] == fake.app_at("return [fakewgpu.call(lookup)")
    assert inner[1][-1] == last[1][-1] == here("keys = fake.app.loop(")


def test_stacks_keep_at_most_eight_frames(fake):
    site, stack = fake.decode(fake.app.deep(20, fake.lookup))
    assert site == fake.app_at("return deep(n - 1, lookup) if n else fakewgpu.call(lookup)")
    assert len(stack) == STACK_DEPTH and set(stack) == {site}


def test_a_generator_resumed_by_other_callers_gets_each_callers_stack(fake):
    g = fake.app.gen(fake.lookup)
    stacks = [fake.decode(fake.app.drive_a(g))[1], fake.decode(fake.app.drive_b(g))[1],
              fake.decode(fake.app.drive_a(g))[1]]
    assert [s[1] for s in stacks] == [fake.app_at("return next(g)", 0), fake.app_at("return next(g)", 1),
                                      fake.app_at("return next(g)", 0)]


def test_the_stack_ends_where_wgpu_or_wgtrace_called_the_program(fake):
    site, stack = fake.decode(fake.app.launched(fake.lookup))
    assert stack == (fake.app_at("return fakewgpu.call(lookup)"),)  # not the test above fakewgpu.run


def test_a_program_that_is_a_library_keeps_the_first_frame_outside_wgpu(tmp_path):
    fake = Fake(tmp_path, program_is_library=True)
    try:
        site, stack = fake.decode(fake.app.caller_a(fake.lookup))
        assert site == fake.lib_at("return fakewgpu.call(lookup)")  # no program frame: the old rule
        assert stack[:3] == (site, fake.lib_at("return _update(lookup)"), fake.app_at("return fakelib.draw(lookup)"))
        assert len(stack) == STACK_DEPTH  # all library frames: none is left out
    finally:
        for name in ("fakewgpu", "fakelib", "fake_app"):
            sys.modules.pop(name, None)


def test_tokens_stay_out_of_a_tracers_way(fake):
    frame = sys._getframe()
    fake.app.direct(fake.lookup)
    fake.lookup(frame)
    fake.lookup(frame)  # seen twice: this frame now carries a token
    token = frame.f_trace
    assert isinstance(token, fake.sites.Token)
    token(frame, "line", None)  # what a trace function installed later would do first
    assert frame.f_trace is None
    previous = sys.gettrace()
    seen = []
    sys.settrace(lambda f, event, arg: seen.append(event))
    try:
        keys = [fake.app.caller_a(fake.lookup) for _ in range(3)]
    finally:
        sys.settrace(previous)
    assert len(set(keys)) == 1 and fake.decode(keys[0])[0] == fake.app_at("return fakelib.draw(lookup)")
    assert "call" in seen


def test_drops_get_the_stack_of_the_line_that_let_go(fake):
    captured = fake.app.direct(fake.sites.capture)
    site, stack = fake.decode(fake.sites.resolve(captured))
    assert site == stack[0] == fake.app_at("return fakewgpu.call(lookup)")
    assert fake.sites.resolve(None) == -1


# -- the trace format --------------------------------------------------------------------------------

def test_stacks_round_trip_through_save_and_load(tmp_path):
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, site="app.py:1", stack=("app.py:1", "main.py:9"), device=0, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, site="app.py:2", buffer=0, size=256, usage=int(STORAGE), device=0)
    b.add(Kind.BUFFER_CREATE, site="app.py:3", stack=("lib.py:7", "app.py:3"), buffer=1, size=256,
          usage=int(STORAGE), device=0)
    trace = b.build()
    assert [trace.stack_of(i) for i in range(3)] == [("app.py:1", "main.py:9"), (), ("lib.py:7", "app.py:3")]
    assert [trace.site_of(i) for i in range(3)] == ["app.py:1", "app.py:2", "app.py:3"]
    for chunk_events in (1, 2, 65536):
        path = tmp_path / f"t{chunk_events}.wgtrace"
        save(trace, path, chunk_events=chunk_events)
        back = load(path)
        assert np.array_equal(back.stack, trace.stack) and np.array_equal(back.site, trace.site)
        assert [back.stack_of(i) for i in range(3)] == [trace.stack_of(i) for i in range(3)]


def test_the_streaming_writer_splits_keys_and_chunks_without_stacks_read_as_none(tmp_path):
    f = io.BytesIO()
    w = TraceWriter(f, make_header(), chunk_events=2)
    stack, site = w.string("app.py:5\nmain.py:1"), w.string("app.py:5")
    w.append(int(Kind.DEVICE), site, 0, w.string("{}"), w.string("{}"))  # chunk 1: no stacks
    w.append(int(Kind.ENCODER_CREATE), site, 0, -1, 0)
    w.append(int(Kind.ENCODER_CREATE), site_key(site, stack), 1, -1, 0)  # chunk 2: one
    w.close()
    trace = load(f.getvalue())
    assert [trace.site_of(i) for i in range(3)] == ["app.py:5"] * 3
    assert [trace.stack_of(i) for i in range(3)] == [(), (), ("app.py:5", "main.py:1")]
    assert trace.stack is not None and list(trace.stack) == [-1, -1, stack]


def test_traces_without_stacks_have_none(tmp_path):
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, site="app.py:1", device=0, adapter="{}", limits="{}")
    trace = b.build()
    assert trace.stack is None and trace.stack_of(0) == ()
    save(trace, tmp_path / "t.wgtrace")
    assert load(tmp_path / "t.wgtrace").stack is None


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.wgtrace")
                                         if load(p).header["version"] == [1, 0]))
def test_format_10_corpus_traces_load_without_stacks(name):
    trace = load(CORPUS / name)
    assert trace.header["version"] == [1, 0]
    assert trace.stack is None and trace.stack_of(0) == () and trace.stack_of(len(trace) - 1) == ()


def test_corpus_recordings_in_format_11_keep_stacks():
    trace = load(CORPUS / "frame_loop.wgtrace")
    assert trace.header["version"] == [1, 1] and trace.stack is not None
    upload = int(trace.where(Kind.WRITE_TEXTURE)[0])
    assert trace.site_of(upload).startswith("examples/frame_loop.py:") and len(trace.stack_of(upload)) >= 2


def test_validation_rejects_a_stack_that_names_no_string():
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, site="app.py:1", stack=("app.py:1",), device=0, adapter="{}", limits="{}")
    trace = b.build()
    validate(trace)
    assert trace.stack is not None
    trace.stack[0] = len(trace.strings)
    with pytest.raises(TraceError, match="event 0 .*call stack refers to string"):
        validate(trace)
    trace.stack[0] = -2
    with pytest.raises(TraceError, match="call stack"):
        validate(trace)


# -- end to end: a recorded hazard, checked --------------------------------------------------------

RECORDED_LIBRARY = """\
def upload(device, buffer, data):
    _queue(device, buffer, data)


def _queue(device, buffer, data):
    device.queue.write_buffer(buffer, 0, data)
"""
RECORDED_PROGRAM = """\
import numpy as np
import recordedlib


def refresh(device, buffer):
    recordedlib.upload(device, buffer, np.ones(64, np.uint32))


def step(device, x, compute, encoder):
    compute.dispatch_workgroups(1)
    compute.end()
    refresh(device, x)
    device.queue.submit([encoder.finish()])
"""


@pytest.fixture
def recorded(tmp_path, device, monkeypatch):
    """A program whose write goes through a library in site-packages, ahead of the kernel that reads it (H1)."""
    (tmp_path / "site-packages").mkdir()
    (tmp_path / "site-packages" / "recordedlib.py").write_text(RECORDED_LIBRARY)
    (tmp_path / "recorded_app.py").write_text(RECORDED_PROGRAM)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    import recorded_app
    x = device.create_buffer_with_data(data=np.arange(64, dtype=np.uint32), usage=STORAGE)
    y = device.create_buffer(size=256, usage=STORAGE)
    path = tmp_path / "hazard.wgtrace"
    with recording(path):
        encoder, compute = begin_double(device, x, y)
        recorded_app.step(device, x, compute, encoder)  # the program's call
    sys.modules.pop("recorded_app")
    sys.modules.pop("recordedlib")
    return path, tmp_path


def test_a_recorded_write_through_a_library_is_charged_to_the_program(recorded):
    path, root = recorded
    trace = load(path)
    (write,) = trace.where(Kind.WRITE_BUFFER)
    app, lib = root / "recorded_app.py", root / "site-packages" / "recordedlib.py"
    assert trace.site_of(int(write)) == f"{app}:{line_of(app, 'recordedlib.upload(')}"
    assert trace.stack_of(int(write)) == (
        f"{lib}:{line_of(lib, 'device.queue.write_buffer')}", f"{lib}:{line_of(lib, '_queue(device')}",
        f"{app}:{line_of(app, 'recordedlib.upload(')}", f"{app}:{line_of(app, 'refresh(device, x)')}",
        here("# the program's call"))
    (dispatch,) = trace.where(Kind.DISPATCH)
    assert trace.stack_of(int(dispatch))[0] == trace.site_of(int(dispatch)) == f"{app}:{line_of(app, 'dispatch_')}"


def test_check_json_and_sarif_show_the_stacks_of_both_events(recorded, capsys):
    path, root = recorded
    app = root / "recorded_app.py"
    assert main(["check", str(path), "--json"]) == 1
    (f,) = [x for x in json.loads(capsys.readouterr().out)["findings"] if x["rule"] == "H1"]
    assert f["site"] == f"{app}:{line_of(app, 'recordedlib.upload(')}"
    assert f["stack"][2:4] == [f["site"], f"{app}:{line_of(app, 'refresh(device, x)')}"]
    assert f["stack"][0].startswith(str(root / "site-packages" / "recordedlib.py"))
    assert f["other_site"] == f"{app}:{line_of(app, 'compute.dispatch_workgroups')}"
    assert f["other_stack"] == [f["other_site"], here("# the program's call")]

    sarif = root / "check.sarif"
    assert main(["check", str(path), "--sarif", str(sarif)]) == 1
    capsys.readouterr()
    (result,) = [r for r in json.loads(sarif.read_text())["runs"][0]["results"] if r["ruleId"] == "H1"]
    mine, other = result["stacks"]
    assert [fr["location"]["message"]["text"] for fr in mine["frames"]] == f["stack"]
    assert [fr["location"]["message"]["text"] for fr in other["frames"]] == f["other_stack"]
    third = mine["frames"][2]["location"]["physicalLocation"]
    assert third["region"] == {"startLine": line_of(app, "recordedlib.upload(")}
    assert third["artifactLocation"]["uri"] == app.as_uri()
    assert "write_buffer" in mine["message"]["text"] and "dispatch" in other["message"]["text"]

    assert main(["check", str(path)]) == 1
    assert f"    stack: {f['stack'][0]} < {f['stack'][1]} < {f['stack'][2]}" in capsys.readouterr().out


def test_reports_of_a_trace_without_stacks_say_none(tmp_path, capsys):
    from test_check_rules import kernel_then_write

    save(kernel_then_write(submit_first=False), tmp_path / "h.wgtrace")
    main(["check", str(tmp_path / "h.wgtrace"), "--json"])
    (f,) = json.loads(capsys.readouterr().out)["findings"]
    assert f["stack"] == f["other_stack"] == []
    main(["check", str(tmp_path / "h.wgtrace"), "--sarif", str(tmp_path / "h.sarif")])
    (result,) = json.loads((tmp_path / "h.sarif").read_text())["runs"][0]["results"]
    assert "stacks" not in result



def test_an_error_raised_inside_a_library_is_described_at_the_programs_line():
    from wgtrace.tracer.recorder import describe

    try:
        json.loads("not json")  # the exception's innermost frame is the standard library's
    except ValueError as e:
        line = e.__traceback__.tb_lineno if e.__traceback__ else 0
        assert describe(e) == f"JSONDecodeError at tests/test_tracer_stacks.py:{line}"
