"""Each hazard rule H1-H6 on hand-written traces: a program that has the hazard and one that does not.

``App`` writes a trace the way the tracer records a wgpu-py program, one call per method, each at
its own line of a notional ``app.py`` so a test can say where a finding must point.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from wgtrace.sim.check import check
from wgtrace.sim.plan import Allocations, Plan
from wgtrace.traces import DEFAULT_LIMITS, Access, BufferUsage, Kind, TraceBuilder, make_header, validate

RO, RW, UNIFORM = Access.READ_ONLY_STORAGE, Access.STORAGE, Access.UNIFORM
LIMITS = DEFAULT_LIMITS
USAGE = int(BufferUsage.STORAGE | BufferUsage.UNIFORM | BufferUsage.INDIRECT | BufferUsage.COPY_DST
            | BufferUsage.COPY_SRC)


class App:
    """A hand-written recorded program. Methods return the event index (or the new object's id)."""

    def __init__(self, limits: dict | None = None):
        limits = LIMITS if limits is None else limits
        self.b = TraceBuilder(make_header(limits=limits, program=["app.py"]))
        self.line = 0
        self.ids = {"buffer": 0, "encoder": 0, "pass": 0, "pipeline": 0, "group": 0, "module": 0, "layout": 0}
        self.add(Kind.DEVICE, device=0, adapter="{}", limits=json.dumps(limits))

    def add(self, kind: Kind, line: int | None = None, rows=(), **fields) -> int:
        self.line = self.line + 1 if line is None else line
        return self.b.add(kind, site=f"app.py:{self.line}", rows=list(rows), **fields)

    def new(self, what: str) -> int:
        self.ids[what] += 1
        return self.ids[what] - 1

    def buffer(self, size: int, label: str | None = None) -> int:
        b = self.new("buffer")
        self.add(Kind.BUFFER_CREATE, buffer=b, size=size, usage=USAGE, label=label,
                 device=0)
        return b

    def pipeline(self, *accesses: Access, label: str | None = None, module_label: str | None = None) -> int:
        m = self.new("module")
        self.add(Kind.SHADER_MODULE, module=m, code="", label=module_label, device=0)
        p = self.new("pipeline")
        self.add(Kind.COMPUTE_PIPELINE, pipeline=p, module=m, entry_point="main", label=label, device=0,
                 rows=[(0, k, a) for k, a in enumerate(accesses)])
        return p

    def bind_group(self, pipeline: int, *entries: tuple[int, int, int, Access]) -> int:
        g = self.new("group")
        self.add(Kind.BIND_GROUP, bind_group=g, pipeline=pipeline, group=0,
                 rows=[(k, buf, off, size, acc) for k, (buf, off, size, acc) in enumerate(entries)])
        return g

    def encoder(self) -> int:
        e = self.new("encoder")
        self.add(Kind.ENCODER_CREATE, encoder=e, device=0)
        return e

    def begin(self, encoder: int, line: int | None = None) -> int:
        p = self.new("pass")
        self.add(Kind.PASS_BEGIN, line, compute_pass=p, encoder=encoder)
        return p

    def dispatch(self, encoder: int, pipeline: int, *entries: tuple[int, int, int, Access],
                 indirect: tuple[int, int] | None = None, line: int | None = None) -> int:
        """A whole pass: begin, set_pipeline, set_bind_group, dispatch (at ``line``), end."""
        g = self.bind_group(pipeline, *entries)
        p = self.begin(encoder)
        self.add(Kind.SET_PIPELINE, compute_pass=p, pipeline=pipeline)
        self.add(Kind.SET_BIND_GROUP, compute_pass=p, index=0, bind_group=g)
        if indirect:
            i = self.add(Kind.DISPATCH_INDIRECT, line, compute_pass=p, buffer=indirect[0], offset=indirect[1])
        else:
            i = self.add(Kind.DISPATCH, line, compute_pass=p, x=1, y=1, z=1)
        self.add(Kind.PASS_END, compute_pass=p)
        return i

    def copy(self, encoder: int, src: int, src_offset: int, dst: int, dst_offset: int, size: int,
             line: int | None = None) -> int:
        return self.add(Kind.COPY, line, encoder=encoder, src=src, src_offset=src_offset, dst=dst,
                        dst_offset=dst_offset, size=size)

    def clear(self, encoder: int, buffer: int, offset: int, size: int, line: int | None = None) -> int:
        return self.add(Kind.CLEAR, line, encoder=encoder, buffer=buffer, offset=offset, size=size)

    def write(self, buffer: int, offset: int, size: int, line: int | None = None) -> int:
        return self.add(Kind.WRITE_BUFFER, line, buffer=buffer, offset=offset, size=size)

    def read(self, buffer: int, offset: int, size: int, line: int | None = None) -> int:
        return self.add(Kind.QUEUE_READ, line, buffer=buffer, offset=offset, size=size)

    def finish(self, encoder: int) -> int:
        return self.add(Kind.ENCODER_FINISH, encoder=encoder)

    def submit(self, *encoders: int, finish: bool = True) -> int:
        if finish:
            for e in encoders:
                self.finish(e)
        return self.add(Kind.SUBMIT, device=0, rows=[(e,) for e in encoders])

    def destroy(self, buffer: int, dropped: int = 0, line: int | None = None) -> int:
        return self.add(Kind.BUFFER_DESTROY, line, buffer=buffer, dropped=dropped)

    def trace(self):
        t = self.b.build()
        validate(t)
        return t


def kernel_then_write(submit_first: bool):
    """Kernel A reads X and writes Y; then write_buffer(X) at line 88 and a submit, in either order."""
    app = App()
    x, y = app.buffer(4096, "x"), app.buffer(4096, "y")
    app.write(x, 0, 4096)
    app.write(y, 0, 4096)
    k = app.pipeline(RO, RW, label="matmul")
    enc = app.encoder()
    app.dispatch(enc, k, (x, 0, 4096, RO), (y, 0, 4096, RW), line=80)
    if submit_first:
        app.submit(enc)
    app.write(x, 0, 4096, line=88)
    if not submit_first:
        app.submit(enc)
    return app.trace()


def only(result, rule: str):
    """The rule's findings, after asserting no other rule fired."""
    assert {f.rule for f in result.findings} <= {rule}, [f.message for f in result.findings]
    return result.of(rule)


# -- H1 -------------------------------------------------------------------------------------------

def test_h1_write_before_submit_is_flagged_at_the_write():
    result = check(kernel_then_write(submit_first=False))
    (f,) = only(result, "H1")
    assert (f.severity, f.site, f.other_site, f.buffer, f.lo, f.hi) == ("error", "app.py:88", "app.py:80", 0, 0, 4096)
    assert f.message == ("write_buffer at app.py:88 lands before dispatch `matmul` at app.py:80, which still reads "
                         "bytes 0-4095 of the same storage")
    assert f.allocations == f.other_allocations == (0,)
    assert not result.ok and "Not proven" in result.proof()


def test_h1_submit_first_is_clean_and_says_what_was_proven():
    result = check(kernel_then_write(submit_first=True))
    assert result.findings == [] and result.ok
    s = result.stats
    assert (s["queue_writes"], s["host_reads"], s["pending_commands"], s["reorderings"]) == (3, 0, 0, 0)
    assert result.proof().startswith("Proven for this plan: 3 queue writes, 0 mapped writes and 0 host reads were "
                                     "each checked against every command still pending when issued")
    assert "program order" in result.proof()


def test_h1_counts_the_reorderings_it_verified():
    app = App()
    x, y, z = app.buffer(256), app.buffer(256), app.buffer(256)
    k = app.pipeline(RO, RW)
    enc = app.encoder()
    app.dispatch(enc, k, (x, 0, 256, RO), (y, 0, 256, RW))
    app.dispatch(enc, k, (y, 0, 256, RO), (x, 0, 256, RW))
    app.write(z, 0, 256)
    app.write(z, 0, 128)
    app.submit(enc)
    result = check(app.trace())
    assert result.of("H1") == []
    assert (result.stats["pending_commands"], result.stats["reorderings"]) == (2, 4)


def test_h1_overlap_is_by_byte_range_not_by_buffer():
    app = App()
    x = app.buffer(512)
    k = app.pipeline(RO)
    enc = app.encoder()
    app.dispatch(enc, k, (x, 0, 256, RO), line=10)
    app.write(x, 256, 256, line=20)
    app.write(x, 252, 8, line=30)
    app.submit(enc)
    found = check(app.trace()).of("H1")
    assert [(f.site, f.lo, f.hi) for f in found] == [("app.py:30", 252, 256)]


def test_h1_encoder_dropped_unsubmitted_conflicts_with_nothing():
    app = App()
    x = app.buffer(256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RW), (x, 0, 256, RW))
    app.finish(enc)
    app.write(x, 0, 256)
    app.submit(app.encoder())
    assert check(app.trace()).of("H1") == []


def test_h1_finished_but_unsubmitted_encoder_still_pending():
    app = App()
    x = app.buffer(256)
    enc = app.encoder()
    app.clear(enc, x, 0, 256, line=5)
    app.finish(enc)
    app.write(x, 0, 64, line=6)
    app.submit(enc, finish=False)
    (f,) = check(app.trace()).of("H1")
    assert f.message == ("write_buffer at app.py:6 lands before clear_buffer at app.py:5, which still clears "
                         "bytes 0-63 of the same storage")


def test_h1_queue_read_overtakes_pending_writer_but_not_pending_reader():
    app = App()
    x, y = app.buffer(256), app.buffer(256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO, RW, module_label="double"), (x, 0, 256, RO), (y, 0, 256, RW), line=40)
    app.read(x, 0, 256, line=41)
    app.read(y, 0, 64, line=42)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert f.message == ("read_buffer at app.py:42 reads bytes 0-63 before dispatch `double` at app.py:40, recorded "
                         "earlier but not yet submitted, writes them")


def test_h1_indirect_arguments_are_read_by_the_dispatch():
    """The #156 regression: a write lands on indirect arguments that a pending dispatch still reads."""
    app = App()
    args, out = app.buffer(256), app.buffer(256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RW), (out, 0, 256, RW), indirect=(args, 16), line=7)
    app.write(args, 0, 16, line=8)
    assert check(app.trace()).of("H1") == []  # never submitted
    app.write(args, 24, 4, line=9)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert (f.site, f.lo, f.hi) == ("app.py:9", 24, 28)
    assert "which still reads (as indirect arguments) bytes 24-27" in f.message


def test_h1_a_command_submitted_ahead_of_an_earlier_recorded_one():
    """A staging copy in its own encoder, submitted while the main encoder still holds a kernel reading X."""
    app = App()
    x, staging, out = app.buffer(256), app.buffer(256), app.buffer(256)
    app.write(x, 0, 256)
    app.write(staging, 0, 256)
    main = app.encoder()
    app.dispatch(main, app.pipeline(RO, RW, label="k"), (x, 0, 256, RO), (out, 0, 256, RW), line=50)
    upload = app.encoder()
    app.copy(upload, staging, 0, x, 0, 256, line=51)
    app.submit(upload)
    app.submit(main)
    (f,) = only(check(app.trace()), "H1")
    assert (f.site, f.other_site) == ("app.py:51", "app.py:50")
    assert "runs ahead of dispatch `k` at app.py:50, recorded earlier into an encoder the queue runs later" in f.message


def test_h1_encoders_submitted_in_recording_order_are_clean():
    app = App()
    x, staging, out = app.buffer(256), app.buffer(256), app.buffer(256)
    app.write(x, 0, 256)
    app.write(staging, 0, 256)
    main = app.encoder()
    app.dispatch(main, app.pipeline(RO, RW), (x, 0, 256, RO), (out, 0, 256, RW))
    upload = app.encoder()
    app.copy(upload, staging, 0, x, 0, 256)
    app.submit(main, upload)
    assert check(app.trace()).findings == []


def test_h1_mapped_write_is_a_host_write():
    app = App()
    x = app.buffer(256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO), (x, 0, 256, RO))
    app.add(Kind.MAPPED_WRITE, 30, buffer=x, offset=0, size=256)
    app.submit(enc)
    (f,) = check(app.trace()).of("H1")
    assert f.call == "write_mapped" and f.site == "app.py:30"


# -- H2 -------------------------------------------------------------------------------------------

def test_h2_writable_and_read_only_slices_of_one_buffer():
    """The #814 regression: two disjoint slices of one page, one read-only, one read-write, in one dispatch."""
    app = App()
    page = app.buffer(1024, "page")
    enc = app.encoder()
    app.write(page, 0, 1024)
    app.dispatch(enc, app.pipeline(RO, RW, label="add"), (page, 0, 256, RO), (page, 512, 256, RW), line=12)
    app.submit(enc)
    (f,) = only(check(app.trace()), "H2")
    assert (f.site, f.buffer, f.lo, f.hi) == ("app.py:12", 0, 512, 768)
    assert f.message == ("dispatch `add` at app.py:12 binds buffer 0 'page' as writable storage (group 0 binding 1, "
                         "bytes 512-767) and as read-only storage (group 0 binding 0, bytes 0-255): WebGPU forbids a "
                         "writable usage beside any other in one dispatch")


@pytest.mark.parametrize("second", [UNIFORM, "indirect"])
def test_h2_uniform_or_indirect_beside_writable(second):
    app = App()
    page = app.buffer(1024)
    enc = app.encoder()
    app.write(page, 0, 1024)
    if second == "indirect":
        app.dispatch(enc, app.pipeline(RW), (page, 0, 256, RW), indirect=(page, 512))
    else:
        app.dispatch(enc, app.pipeline(RW, second), (page, 0, 256, RW), (page, 512, 16, second))
    app.submit(enc)
    assert len(only(check(app.trace()), "H2")) == 1


def test_h2_copy_within_one_buffer():
    """Two allocations on one pool page: copying between them copies a buffer into itself."""
    app = App()
    page, other = app.buffer(1024, "page"), app.buffer(1024)
    app.write(page, 0, 1024)
    enc = app.encoder()
    app.copy(enc, page, 0, page, 512, 256, line=20)
    app.copy(enc, page, 0, other, 0, 256, line=21)
    app.submit(enc)
    (f,) = only(check(app.trace()), "H2")
    assert (f.site, f.buffer, f.lo, f.hi) == ("app.py:20", 0, 512, 768)
    assert f.message == ("copy_buffer_to_buffer at app.py:20 copies bytes 0-255 of buffer 0 'page' to bytes 512-767 "
                         "of the same buffer: WebGPU forbids a copy within one buffer")


def test_h2_read_only_usages_together_and_writable_twice_are_allowed():
    app = App()
    page, other = app.buffer(1024), app.buffer(1024)
    enc = app.encoder()
    app.write(page, 0, 1024)
    app.dispatch(enc, app.pipeline(RO, UNIFORM, RW), (page, 0, 256, RO), (page, 256, 16, UNIFORM), (other, 0, 256, RW))
    app.dispatch(enc, app.pipeline(RW, RW), (other, 0, 256, RW), (other, 256, 256, RW))
    app.submit(enc)
    assert check(app.trace()).findings == []


# -- H3 -------------------------------------------------------------------------------------------

def destroy_program(dropped: int, submit_first: bool):
    app = App()
    x, y = app.buffer(256, "x"), app.buffer(256)
    app.write(x, 0, 256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO, RW, label="k"), (x, 0, 256, RO), (y, 0, 256, RW), line=20)
    if submit_first:
        app.submit(enc)
    app.destroy(x, dropped=dropped, line=21)
    if not submit_first:
        app.submit(enc)
    return app.trace()


def test_h3_destroy_while_an_encoder_that_is_submitted_later_uses_it():
    (f,) = only(check(destroy_program(dropped=0, submit_first=False)), "H3")
    assert (f.site, f.other_site, f.buffer) == ("app.py:21", "app.py:20", 0)
    assert f.message.startswith("buffer.destroy() at app.py:21 destroys buffer 0 'x' while dispatch `k` at app.py:20, "
                                "not yet submitted, still uses bytes 0-255 of it: the submit at app.py:")


@pytest.mark.parametrize(("dropped", "submit_first"), [(1, False), (0, True)])
def test_h3_dropping_the_last_reference_or_destroying_after_submit_is_fine(dropped, submit_first):
    assert check(destroy_program(dropped, submit_first)).findings == []


# -- H4 -------------------------------------------------------------------------------------------

def test_h4_copy_while_pass_open_pass_command_after_end_and_more():
    app = App()
    x, y = app.buffer(256), app.buffer(256)
    k = app.pipeline(RW)
    g = app.bind_group(k, (y, 0, 256, RW))
    enc = app.encoder()
    p = app.begin(enc, line=29)
    app.copy(enc, x, 0, y, 0, 256, line=30)                               # copy while the pass is open
    app.add(Kind.DISPATCH, 31, compute_pass=p, x=1, y=1, z=1)              # no pipeline set
    app.add(Kind.PASS_END, compute_pass=p)
    app.add(Kind.SET_PIPELINE, 33, compute_pass=p, pipeline=k)             # after the pass ended
    app.add(Kind.SET_BIND_GROUP, 34, compute_pass=p, index=0, bind_group=g)
    app.finish(enc)
    app.clear(enc, x, 0, 256, line=36)                                     # into a finished encoder
    app.submit(enc, finish=False)
    app.submit(enc, finish=False)                                          # submitted again
    other = app.encoder()
    app.submit(other, finish=False)                                        # never finished
    found = check(app.trace()).of("H4")
    assert [f.message for f in found] == [
        "copy_buffer_to_buffer at app.py:30 while the compute pass begun at app.py:29 is still open",
        "dispatch at app.py:31 with no pipeline set in its compute pass",
        "set_pipeline at app.py:33 on a compute pass that already ended at app.py:32",
        "set_bind_group at app.py:34 on a compute pass that already ended at app.py:32",
        "clear_buffer at app.py:36 records into an encoder already finished at app.py:35",
        "submit at app.py:38 of encoder 0's command buffer, already submitted at app.py:37",
        "submit at app.py:40 of encoder 1, which is not finished",
    ]


def test_h4_copies_between_passes_are_fine():
    app = App()
    x, y = app.buffer(256), app.buffer(256)
    app.write(x, 0, 256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RW), (x, 0, 256, RW))
    app.copy(enc, x, 0, y, 0, 256)
    app.dispatch(enc, app.pipeline(RO), (y, 0, 256, RO))
    app.submit(enc)
    assert check(app.trace()).findings == []


# -- H5 -------------------------------------------------------------------------------------------

def test_h5_alignment_bounds_and_sizes():
    app = App()
    x = app.buffer(1024, "x")
    y = app.buffer(1024, "y")
    app.write(x, 0, 1024)
    app.write(x, 2, 6, line=10)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO, UNIFORM), (x, 128, 64, RO), (x, 768, 512, UNIFORM))
    app.copy(enc, x, 0, y, 512, 6, line=20)
    app.submit(enc)
    found = only(check(app.trace()), "H5")
    assert [f.message for f in found] == [
        "write_buffer at app.py:10: offset 2 is not a multiple of 4; size 6 is not a multiple of 4",
        "create_bind_group at app.py:14: binding 0: offset 128 is not a multiple of the storage offset alignment 256",
        "create_bind_group at app.py:14: binding 1: bytes 768-1279 run past the end of buffer 0 'x' (1024 bytes)",
        "copy_buffer_to_buffer at app.py:20: size 6 is not a multiple of 4",
    ]
    assert (found[2].buffer, found[2].lo, found[2].hi) == (0, 768, 1280)


def test_h5_uses_the_traces_own_limits_and_dynamic_offsets():
    app = App(limits={**LIMITS, "min-storage-buffer-offset-alignment": 64})
    x = app.buffer(1024)
    app.write(x, 0, 1024)
    layout = app.new("layout")
    app.add(Kind.BIND_GROUP_LAYOUT, layout=layout, device=0, rows=[(0, RO, 1)])
    k = app.pipeline(RO)
    g = app.new("group")
    app.add(Kind.BIND_GROUP, bind_group=g, layout=layout, group=0, rows=[(0, x, 128, 256, RO)])
    enc = app.encoder()
    for dynamic in (64, 96, 832):
        p = app.begin(enc)
        app.add(Kind.SET_PIPELINE, compute_pass=p, pipeline=k)
        app.add(Kind.SET_BIND_GROUP, compute_pass=p, index=0, bind_group=g, rows=[(dynamic,)])
        app.add(Kind.DISPATCH, compute_pass=p, x=1, y=1, z=1)
        app.add(Kind.PASS_END, compute_pass=p)
    app.submit(enc)
    found = only(check(app.trace()), "H5")
    assert [f.message.split(": ", 1)[1] for f in found] == [
        "binding 0 with dynamic offset 96: offset 96 is not a multiple of the storage offset alignment 64",
        "binding 0 with dynamic offset 832: bytes 960-1215 run past the end of buffer 0 (1024 bytes)",
    ]


def test_h5_aligned_program_is_clean():
    assert check(kernel_then_write(submit_first=True)).of("H5") == []


# -- H6 -------------------------------------------------------------------------------------------

def test_h6_reading_bytes_nothing_wrote_is_a_warning():
    app = App()
    x, y = app.buffer(256, "x"), app.buffer(256)
    app.write(x, 0, 64)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO, RW, label="k"), (x, 0, 256, RO), (y, 0, 256, RW), line=9)
    app.submit(enc)
    result = check(app.trace())
    (f,) = only(result, "H6")
    assert (f.severity, f.site, f.lo, f.hi, f.allocations) == ("warning", "app.py:9", 64, 256, (0,))
    assert f.message.startswith("dispatch `k` at app.py:9 reads bytes 64-255 of buffer 0 'x' (allocation 0), which "
                                "nothing wrote since the allocation began at app.py:2")
    assert result.ok


def test_h6_written_by_a_queue_write_a_copy_or_a_kernel_is_fine():
    app = App()
    x, y, z = app.buffer(256), app.buffer(256), app.buffer(256)
    app.write(x, 0, 256)
    enc = app.encoder()
    app.copy(enc, x, 0, y, 0, 128)
    app.clear(enc, y, 128, 128)
    app.dispatch(enc, app.pipeline(RO, RW), (y, 0, 256, RO), (z, 0, 256, RW))
    app.dispatch(enc, app.pipeline(RO), (z, 0, 256, RO))
    app.submit(enc)
    assert check(app.trace()).findings == []


def test_h6_a_pooled_allocation_sees_the_previous_tenant():
    """Two allocations share bytes 0-255 of one buffer in turn; the second is read before anything wrote it."""
    app = App()
    page = app.buffer(256, "page")
    app.write(page, 0, 256)
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO), (page, 0, 256, RO))
    app.submit(enc)
    handover = app.line + 1
    enc = app.encoder()
    app.dispatch(enc, app.pipeline(RO, label="late"), (page, 0, 256, RO), line=handover + 9)
    app.submit(enc)
    trace = app.trace()
    n = len(trace)
    allocations = Allocations(buffer=np.array([0, 0]), offset=np.array([0, 0]), size=np.array([256, 256]),
                              reserved=np.array([256, 256]), start=np.array([1, handover]), end=np.array([handover, n]))
    plan = Plan(trace=trace, origin=np.arange(n), allocations=allocations, source=trace, pool="test")
    (f,) = only(check(plan), "H6")
    assert f.allocations == (1,) and f.site == f"app.py:{handover + 9}"
    assert check(trace).findings == []  # as recorded: one allocation, written before both reads


def test_check_is_deterministic():
    trace = kernel_then_write(submit_first=False)
    assert check(trace).as_dict() == check(trace).as_dict()
