"""The planner: identity on recorded traces, valid plans under every policy, and what each policy promises."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgtrace.sim import plan
from wgtrace.sim.footprint import commands_and_footprints
from wgtrace.sim.metrics import memory, simulate
from wgtrace.sim.plan import Plan
from wgtrace.sim.policies import Device, PolicyError, parse_passes, parse_pool, pass_names, pool_names
from wgtrace.sim.synthetic import build, random_ops
from wgtrace.traces import Access, Kind, Trace, TraceBuilder, load, make_header, validate

from strategies import programs

CORPUS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "traces", "corpus", "*.wgtrace")))
COLUMNS = ("kind", "t", "site", "args", "nrows", "rows")
STORAGE = 0x80 | 0x08 | 0x04
# render pass commands held by the encoder; commands recorded in an encoder outside any pass
RENDER_COMMANDS = (Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT, Kind.EXECUTE_BUNDLES)
ENCODER_COMMANDS = (Kind.COPY, Kind.CLEAR, Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
                    Kind.COPY_TEXTURE_TO_TEXTURE, Kind.RESOLVE_QUERY_SET, Kind.WRITE_TIMESTAMP)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hand_built() -> Trace:
    """Every shape the planner handles: explicit layouts with a dynamic offset, a buffer created mapped,
    an indirect dispatch, a clear, a MAP_READ readback, two encoders submitted in reverse order, an
    encoder never submitted, an explicit destroy then a drop, an opaque call."""
    limits = {"min-storage-buffer-offset-alignment": 256, "min-uniform-buffer-offset-alignment": 256,
              "max-storage-buffer-binding-size": 1 << 27}
    b = TraceBuilder(make_header(program=["hand"], limits=limits, capture={"mode": "digest", "payload_cap": 0}))
    t = iter(range(1000, 10**6, 1000))

    def add(kind: Kind, **fields) -> int:
        return b.add(kind, site=f"hand.py:{len(b) + 1}", t=next(t), **fields)

    add(Kind.DEVICE, device=0, adapter="{}", limits=json.dumps(limits))
    add(Kind.SHADER_MODULE, module=0, code="// kernel", device=0)
    add(Kind.BIND_GROUP_LAYOUT, layout=0, device=0,
        rows=[(0, Access.READ_ONLY_STORAGE, 0), (1, Access.STORAGE, 1)])
    add(Kind.PIPELINE_LAYOUT, pipeline_layout=0, device=0, rows=[(0,)])
    add(Kind.COMPUTE_PIPELINE, pipeline=0, module=0, entry_point="main", pipeline_layout=0, device=0,
        rows=[(0, 0, Access.READ_ONLY_STORAGE), (0, 1, Access.STORAGE)])
    add(Kind.BUFFER_CREATE, buffer=0, size=1024, usage=STORAGE, device=0)  # input, queue-written
    add(Kind.WRITE_BUFFER, buffer=0, offset=0, size=1024, digest_hi=1, digest_lo=1)
    add(Kind.BUFFER_CREATE, buffer=1, size=2048, usage=STORAGE, mapped_at_creation=1, device=0)
    add(Kind.MAPPED_WRITE, buffer=1, offset=0, size=2048, digest_hi=2, digest_lo=2)
    add(Kind.UNMAP, buffer=1)
    add(Kind.BUFFER_CREATE, buffer=2, size=12, usage=STORAGE | 0x100, device=0)  # indirect arguments
    add(Kind.WRITE_BUFFER, buffer=2, offset=0, size=12, digest_hi=3, digest_lo=3)
    add(Kind.BUFFER_CREATE, buffer=3, size=1024, usage=0x01 | 0x08, device=0)  # MAP_READ | COPY_DST
    add(Kind.BIND_GROUP, bind_group=0, layout=0, group=0, rows=[(0, 0, 0, 1024, Access.READ_ONLY_STORAGE),
                                                               (1, 1, 0, 1024, Access.STORAGE)])
    add(Kind.ENCODER_CREATE, encoder=0, device=0)
    add(Kind.PASS_BEGIN, compute_pass=0, encoder=0)
    add(Kind.SET_PIPELINE, compute_pass=0, pipeline=0)
    add(Kind.SET_BIND_GROUP, compute_pass=0, index=0, bind_group=0, rows=[(1024,)])
    add(Kind.DISPATCH, compute_pass=0, x=4, y=1, z=1)
    add(Kind.SET_BIND_GROUP, compute_pass=0, index=0, bind_group=0, rows=[(0,)])
    add(Kind.DISPATCH_INDIRECT, compute_pass=0, buffer=2, offset=0)
    add(Kind.PASS_END, compute_pass=0)
    add(Kind.COPY, encoder=0, src=1, src_offset=0, dst=3, dst_offset=0, size=1024)
    add(Kind.CLEAR, encoder=0, buffer=1, offset=1024, size=1024)
    add(Kind.ENCODER_FINISH, encoder=0)
    add(Kind.ENCODER_CREATE, encoder=1, device=0)
    add(Kind.COPY, encoder=1, src=0, src_offset=0, dst=1, dst_offset=0, size=256)  # never submitted
    add(Kind.SUBMIT, device=0, rows=[(0,)])
    add(Kind.MAP, buffer=3, mode=1, offset=0, size=1024)
    add(Kind.READ, buffer=3, offset=0, size=1024, digest_hi=4, digest_lo=4)
    add(Kind.UNMAP, buffer=3)
    add(Kind.BUFFER_CREATE, buffer=4, size=512, usage=STORAGE, device=0)
    add(Kind.ENCODER_CREATE, encoder=2, device=0)
    add(Kind.ENCODER_CREATE, encoder=3, device=0)
    add(Kind.COPY, encoder=2, src=0, src_offset=0, dst=4, dst_offset=0, size=512)
    add(Kind.COPY, encoder=3, src=4, src_offset=0, dst=1, dst_offset=0, size=512)
    add(Kind.ENCODER_FINISH, encoder=3)
    add(Kind.ENCODER_FINISH, encoder=2)
    add(Kind.SUBMIT, device=0, rows=[(3,), (2,)])
    add(Kind.BUFFER_DESTROY, buffer=0, dropped=0)
    add(Kind.BUFFER_DESTROY, buffer=0, dropped=1)
    add(Kind.OPAQUE, name="GPUDevice.create_texture", device=0)
    add(Kind.QUEUE_READ, buffer=1, offset=0, size=2048, digest_hi=5, digest_lo=5)
    add(Kind.BUFFER_CREATE, buffer=5, size=300, usage=STORAGE, device=0)
    add(Kind.WRITE_BUFFER, buffer=5, offset=0, size=300, digest_hi=6, digest_lo=6)
    return b.build(end={"exit_code": 0})


def generated(seed: int, n_ops: int = 60) -> Trace:
    return build(random_ops(np.random.default_rng(seed), n_ops))


def assert_same_columns(planned: Trace, recorded: Trace) -> None:
    for name in COLUMNS:
        assert np.array_equal(getattr(planned, name), getattr(recorded, name)), name


def assert_reproduces(trace: Trace) -> None:
    got = plan(trace, "as-recorded", "as-recorded")
    assert_same_columns(got.trace, trace)
    assert np.array_equal(got.origin, np.arange(len(trace)))
    want = Plan.as_recorded(trace).allocations
    for name in ("buffer", "offset", "size", "reserved", "start", "end"):
        assert np.array_equal(getattr(got.allocations, name), getattr(want, name)), name


def hoisted_writes(trace: Trace) -> int:
    """Reference H1 count: queue writes overlapping bytes that a recorded, still unsubmitted, later
    submitted command uses (quadratic: for small traces)."""
    _, fp = commands_and_footprints(trace)
    submit_of: dict[int, int] = {}
    for s in trace.where(Kind.SUBMIT).tolist():
        for e in trace.rows_of(s)[:, 0].tolist():
            submit_of.setdefault(e, s)
    submitted_after = np.array([submit_of.get(int(e), -1) for e in fp.encoder], dtype=np.int64)
    count = 0
    for w in trace.where(Kind.WRITE_BUFFER).tolist():
        buf, lo, size = trace.args[w, 0:3].tolist()
        hit = ((fp.command < w) & (submitted_after > w) & (fp.resource == buf) & (fp.start < lo + size)
               & (fp.end > lo))
        count += bool(hit.any())
    return count


def check_structure(p: Plan) -> None:
    """What every plan promises: a valid trace; commands never inside a pass they do not belong to;
    the pool never destroys a page an unsubmitted encoder may use; the pass policy's own rules."""
    trace, policy = p.trace, parse_passes(p.passes)
    validate(trace)
    open_pass: dict[int, int] = {}
    held: dict[int, int] = {}  # encoder -> commands recorded, until submitted
    dispatched: dict[int, int] = {}
    dispatches_in_pass: dict[int, int] = {}
    pass_encoder: dict[int, int] = {}
    origin = p.origin.tolist()
    for i, (k, a) in enumerate(zip(trace.kind.tolist(), trace.args.tolist(), strict=True)):
        if k in (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN):
            assert a[1] not in open_pass, f"event {i}: a pass begun while another is open (H4)"
            open_pass[a[1]] = a[0]
            pass_encoder[a[0]] = a[1]
            if k == Kind.PASS_BEGIN:
                dispatches_in_pass[a[0]] = 0
            else:  # a render pass's begin stands for its attachments: a command
                held[a[1]] = held.get(a[1], 0) + 1
        elif k == Kind.PASS_END:
            open_pass.pop(pass_encoder[a[0]])
        elif k in RENDER_COMMANDS and a[0] in pass_encoder:  # draws of a render pass (not of a bundle)
            assert open_pass.get(pass_encoder[a[0]]) == a[0]
            held[pass_encoder[a[0]]] = held.get(pass_encoder[a[0]], 0) + 1
        elif k in (Kind.DISPATCH, Kind.DISPATCH_INDIRECT):
            assert open_pass.get(pass_encoder[a[0]]) == a[0]
            dispatches_in_pass[a[0]] += 1
            held[pass_encoder[a[0]]] = held.get(pass_encoder[a[0]], 0) + 1
            dispatched[pass_encoder[a[0]]] = dispatched.get(pass_encoder[a[0]], 0) + 1
        elif k in ENCODER_COMMANDS:
            assert a[0] not in open_pass, f"event {i}: copy or clear inside a pass (H4)"
            held[a[0]] = held.get(a[0], 0) + 1
        elif k == Kind.SUBMIT:
            for e in trace.rows_of(i)[:, 0].tolist():
                if policy.max_tasks:
                    assert dispatched.get(e, 0) <= policy.max_tasks
                held.pop(e, None)
        elif k == Kind.BUFFER_DESTROY and origin[i] < 0:
            assert not held, f"event {i}: the pool destroys a page while an encoder holds commands (H3)"
        if not policy.records:
            rerecorded_rules(i, k, bool(held), policy)
    if policy.pass_per_dispatch:
        assert set(dispatches_in_pass.values()) <= {1}


def rerecorded_rules(i: int, k: int, held: bool, policy) -> None:
    """What a re-recording policy promises at plan event ``i`` (``held``: an encoder holds commands)."""
    if k in (Kind.QUEUE_READ, Kind.MAP, Kind.READ_TEXTURE):
        assert not held, f"event {i}: a read before the encoder holding commands was submitted"
    if k == Kind.WRITE_BUFFER:
        assert not policy.upload.staged, "staging-copy plans upload with copies only"
    if k in (Kind.WRITE_BUFFER, Kind.WRITE_TEXTURE):
        assert not (policy.upload.flushes_first and held), f"event {i}: flush-write wrote with work pending"


def check_allocations(p: Plan) -> None:
    """Live allocations are disjoint, inside live pages, aligned, and in use never exceeds reserved."""
    a, trace = p.allocations, p.trace
    creates = trace.where(Kind.BUFFER_CREATE)
    page_size = trace.args[creates, 1]
    pool = parse_pool(p.pool)
    alignment = pool.parameters(Device.from_limits(trace.limits)).get("alignment", 1) if pool.pooled else 1
    reserved, in_use = memory(p)
    assert (in_use <= reserved).all()
    assert (a.offset % alignment == 0).all()
    assert (a.reserved >= a.size).all() and (a.start <= a.end).all()
    assert (a.offset + a.reserved <= page_size[a.buffer]).all()
    assert (creates[a.buffer] <= a.start).all()
    for page in np.unique(a.buffer).tolist():
        on = np.flatnonzero((a.buffer == page) & (a.start < a.end))
        for x in on:
            overlap = on[(on > x) & (a.start[on] < a.end[x]) & (a.end[on] > a.start[x])
                         & (a.offset[on] < a.offset[x] + a.reserved[x]) & (a.offset[on] + a.reserved[on] > a.offset[x])]
            assert not len(overlap), f"allocations {x} and {overlap.tolist()} share bytes of buffer {page}"


def fixed(pool: str, passes: str) -> bool:
    """Combinations that promise no queue write hoisted over a recorded command of reused storage."""
    return "+fix" in pool or parse_pool(pool).name == "exclusive" or parse_passes(passes).upload.name != "write-buffer"


def test_hand_built_trace_is_valid_and_reproduced():
    trace = hand_built()
    validate(trace)
    assert_reproduces(trace)


@pytest.mark.parametrize("passes", pass_names())
@pytest.mark.parametrize("pool", pool_names())
def test_every_named_policy_plans_the_hand_built_and_a_generated_trace(pool, passes):
    for trace in (hand_built(), generated(7)):
        p = plan(trace, pool, passes)
        assert (p.pool, p.passes) == (parse_pool(pool).spec, parse_passes(passes).spec)
        check_structure(p)
        check_allocations(p)
        if fixed(pool, passes):
            assert hoisted_writes(p.trace) <= hoisted_writes(trace)


def test_rerecorded_plans_run_each_submitted_command_once_and_drop_the_rest():
    trace = hand_built()
    never = int(np.flatnonzero(trace.kind == Kind.COPY)[1])
    for passes in ("pass-per-dispatch", "batched", "max-tasks:1", "batched/staging-copy"):
        p = plan(trace, "sliced+fix", passes)
        realised = p.origin[np.isin(p.trace.kind, [Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.CLEAR])]
        commands = np.flatnonzero(np.isin(trace.kind, [Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.CLEAR]))
        assert sorted(realised.tolist()) == commands.tolist()
        assert never not in p.origin.tolist()


def test_a_pooled_buffer_created_mapped_is_uploaded_and_never_mapped():
    p = plan(hand_built(), "sliced", "as-recorded")
    mapped = p.trace.kind == Kind.BUFFER_CREATE
    assert not p.trace.args[mapped, 4].any() or (p.trace.args[mapped, 2] & 0x01).all()
    writes = np.flatnonzero(p.trace.kind == Kind.WRITE_BUFFER)
    assert 8 in p.origin[writes].tolist(), "the mapped write at event 8 became a queue write"


@FAST
@given(ops=programs(), pool=st.sampled_from(pool_names()), passes=st.sampled_from(pass_names()))
def test_generated_programs_plan_validly_under_any_policy(ops, pool, passes):
    trace = build(ops, data="digest")
    assert_reproduces(trace)
    p = plan(trace, pool, passes)
    check_structure(p)
    check_allocations(p)
    if fixed(pool, passes):
        assert hoisted_writes(p.trace) == 0


def test_without_the_fix_a_pooled_queue_write_can_overtake_a_kernel():
    """The seed's bug: some generated program hoists a write over a kernel under sliced x batched."""
    found = [seed for seed in range(40) if hoisted_writes(plan(generated(seed), "sliced", "batched").trace)]
    assert found, "no generated program shows the hazard the fix exists for"
    for seed in found[:3]:
        for pool in ("sliced+fix", "sliced+fix-range"):
            assert hoisted_writes(plan(generated(seed), pool, "batched").trace) == 0
        assert hoisted_writes(plan(generated(seed), "sliced", "batched/flush-write").trace) == 0


def test_the_programs_own_hazard_is_kept_by_as_recorded():
    trace = build([("alloc", 64), ("write", 0), ("alloc", 64), ("dispatch", (0,), 1, -1), ("write", 0)],
                  safe=False)
    assert hoisted_writes(trace) == 1
    assert hoisted_writes(plan(trace, "sliced+fix", "as-recorded").trace) == 1


def test_max_tasks_submits_every_n_dispatches():
    trace = build([("alloc", 64), ("write", 0)] + [("alloc", 64) for _ in range(10)]
                  + [("dispatch", (0,), 1 + i, -1) for i in range(10)])
    p = plan(trace, "exclusive", "max-tasks:4")
    assert p.trace.count_kind(Kind.SUBMIT) == 3
    assert plan(trace, "exclusive", "pass-per-dispatch").trace.count_kind(Kind.PASS_BEGIN) == 10
    assert plan(trace, "exclusive", "batched").trace.count_kind(Kind.PASS_BEGIN) == 1


def test_unknown_policies_name_the_valid_ones():
    for bad in ("slicd", "sliced+fixx", "sliced+"):
        with pytest.raises(PolicyError, match="valid: .*sliced"):
            parse_pool(bad)
    for bad in ("bached", "batched:3", "max-tasks:0", "max-tasks:x", "batched/ftp", "as-recorded/staging-copy"):
        with pytest.raises(PolicyError):
            parse_passes(bad)
    assert parse_passes("max-tasks").max_tasks == 32
    assert parse_passes("max-tasks:16/flush-write").spec == "max-tasks:16/flush-write"
    assert parse_pool("as-recorded").spec == "exclusive"


def test_generated_traces_are_reproduced():
    for seed in range(10):
        assert_reproduces(generated(seed, 120))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: os.path.basename(p))
def test_corpus_trace_is_reproduced_and_plans_under_every_policy(path):
    trace = load(path)
    assert_reproduces(trace)
    base = hoisted_writes(trace)
    for pool in pool_names():
        for passes in pass_names():
            p = plan(trace, pool, passes)
            check_structure(p)
            assert simulate(p).dispatches == p.trace.count_kind(Kind.DISPATCH) + p.trace.count_kind(
                Kind.DISPATCH_INDIRECT)
            if fixed(pool, passes):
                assert hoisted_writes(p.trace) <= base


def test_pages_are_laid_out_for_the_device_given():
    """A trace recorded where offsets align to 32 bytes, planned for a device that wants 256."""
    from wgtrace.sim.check import check

    trace = load(next(p for p in CORPUS if p.endswith("mlp_train.wgtrace")))
    assert trace.limits["min-storage-buffer-offset-alignment"] == 32
    stricter = {**trace.limits, "min-storage-buffer-offset-alignment": 256, "min-uniform-buffer-offset-alignment": 256}
    p = plan(trace, "sliced+fix", "batched", limits=stricter)
    assert p.trace.header["limits"] == stricter and trace.header["limits"] != stricter
    assert (p.allocations.offset > 0).any() and (p.allocations.offset % 256 == 0).all()
    assert not check(p).of("H5")
    assert (plan(trace, "sliced+fix", "batched").allocations.offset % 256 != 0).any()
