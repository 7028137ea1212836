"""Replay on the real wgpu adapter: recorded reads reproduced, divergences and device errors reported.

Expected read-backs come from a numpy model of the synthetic programs' kernels run in program
order, independent of the GPU and of the replay engine: a replay that reproduces them is right,
and a hazardous program must diverge from them at the read the hazard corrupts.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from wgtrace.replay.device import adapter_name
from wgtrace.replay.engine import DecodedPlan
from wgtrace.replay.report import replay
from wgtrace.replay.truth import gpu_valid
from wgtrace.sim import synthetic
from wgtrace.sim.plan import Plan
from wgtrace.traces import BufferUsage, Kind, Trace, TraceBuilder, make_header, save
from wgtrace.traces.cli import main
from wgtrace.traces.digest import digest

STORAGE = synthetic.STORAGE_USAGE


def model_reads(ops, seed: int) -> list[bytes]:
    """What every read of ``build(ops, seed=seed)`` returns when the program runs in program order."""
    mem: list[np.ndarray] = []
    reads = []
    for i, op in enumerate(ops):
        name = op[0]
        if name == "alloc":
            mem.append(np.zeros(op[1], np.uint32))
        elif name == "uniform":
            mem.append(np.zeros(synthetic.UNIFORM_BYTES // 4, np.uint32))
        elif name == "write":
            mem[op[1]] = np.frombuffer(synthetic.op_payload(seed, i, 4 * len(mem[op[1]])), np.uint32).copy()
        elif name == "dispatch":
            mem[op[2]] = _kernel([mem[a] for a in op[1]], len(mem[op[2]]), mem[op[3]] if op[3] >= 0 else None)
        elif name == "copy":
            n = min(len(mem[op[1]]), len(mem[op[2]]))
            mem[op[2]][:n] = mem[op[1]][:n]
        elif name == "read":
            reads.append(mem[op[1]].tobytes())
    return reads


def _kernel(inputs: list[np.ndarray], n: int, params: np.ndarray | None) -> np.ndarray:
    acc = np.arange(1, n + 1, dtype=np.uint32)
    if params is not None:
        x, y, z, w = (int(v) for v in params)
        acc ^= np.uint32((x ^ (y * 3) ^ (z * 5) ^ (w * 7)) & 0xFFFFFFFF)
    for x in inputs:
        for start in range(0, len(x), n):
            block = x[start:start + n]
            m = len(block)
            a = (acc[:m] ^ block) * np.uint32(0x9E3779B1)
            acc[:m] = (a << np.uint32(13)) | (a >> np.uint32(19))
    return acc


def with_expected_reads(trace: Trace, expected: list[bytes], payloads: bool) -> Trace:
    """``trace`` with its reads recorded as the model says: bytes as payload blobs, or digests only."""
    reads = trace.where(Kind.QUEUE_READ)
    assert len(reads) == len(expected)
    args = trace.args.copy()
    blobs = list(trace.blobs)
    for i, data in zip(reads.tolist(), expected, strict=True):
        args[i, 4], args[i, 5] = digest(data)
        if payloads:
            args[i, 3] = len(blobs)
            blobs.append(data)
    return Trace(header=trace.header, kind=trace.kind, t=trace.t, site=trace.site, args=args, nrows=trace.nrows,
                 rows=trace.rows, strings=trace.strings, blobs=blobs, end=trace.end)


def random_program(seed: int, n_ops: int = 40) -> list:
    return gpu_valid(synthetic.random_ops(np.random.default_rng(seed), n_ops))


@pytest.mark.parametrize("seed", range(6))
def test_replay_reproduces_recorded_reads(engine, seed):
    ops = random_program(seed)
    trace = with_expected_reads(synthetic.build(ops, seed=seed), model_reads(ops, seed), payloads=seed % 2 == 0)
    report = replay(trace, engine, adapter="test", repeat=2)
    assert report.error is None
    assert report.synthetic_writes == 0
    assert report.verdict.vs_recording == report.verdict.reads == len(trace.where(Kind.QUEUE_READ))
    assert report.ok, [d.line() for d in report.verdict.divergences]
    assert report.deterministic and len(report.runs) == 2
    assert all(r.cpu_s > 0 and r.wall_s >= r.issue_s for r in report.runs)


def test_synthetic_data_is_keyed_by_source_event(engine):
    ops = random_program(7)
    trace = synthetic.build(ops, seed=7, data="digest")
    a = replay(trace, engine, adapter="test", seed=5, reference=False)
    b = replay(trace, engine, adapter="test", seed=5, reference=False)
    c = replay(trace, engine, adapter="test", seed=6, reference=False)
    assert a.recorded_writes == 0 and a.synthetic_writes == trace.count_kind(Kind.WRITE_BUFFER)
    assert a.verdict.vs_recording == 0
    keyed = [engine.run(DecodedPlan.of(trace), r).reads for r in (_data(trace, 5), _data(trace, 5), _data(trace, 6))]
    assert keyed[0] == keyed[1] != keyed[2]
    assert a.ok and b.ok and c.ok


def test_a_timed_run_times_every_call_and_reads_the_same(engine):
    trace = synthetic.build(random_program(3), seed=3)
    decoded, data = DecodedPlan.of(trace), _data(trace, 3)
    clock = np.zeros(len(trace), dtype=np.int64)
    timed, plain = engine.run(decoded, data, clock=clock), engine.run(decoded, data)
    assert timed.error is None and timed.reads == plain.reads
    assert (clock > 0).all() and clock.sum() / 1e9 <= timed.wall_s


def _data(trace: Trace, seed: int) -> dict[int, bytes]:
    from wgtrace.replay.data import payloads

    return payloads(Plan.as_recorded(trace), seed).data


def test_hazard_divergence_names_the_read_and_counts_bytes(engine):
    ops = [("alloc", 64), ("write", 0), ("alloc", 64), ("dispatch", (0,), 1, -1), ("write", 0), ("read", 1),
           ("read", 0)]
    trace = with_expected_reads(synthetic.build(ops, seed=1, safe=False), model_reads(ops, 1), payloads=True)
    report = replay(trace, engine, adapter="test")
    assert report.error is None and not report.ok
    recording, reference = report.verdict.divergences
    assert (recording.kind, recording.site, recording.against, recording.size) == ("queue_read", "program.py:6",
                                                                                   "recording", 256)
    assert reference.against == "reference" and reference.differ == recording.differ
    assert 200 < recording.differ <= 256
    safe = with_expected_reads(synthetic.build(ops, seed=1, safe=True), model_reads(ops, 1), payloads=True)
    assert replay(safe, engine, adapter="test").ok


def _kernel_trace(build) -> Trace:
    """A device, two storage buffers and the one-input kernel of sim.synthetic, then ``build(b)``."""
    b = TraceBuilder(make_header(program=["test"]))
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    for k in range(2):
        b.add(Kind.BUFFER_CREATE, buffer=k, size=1024, usage=STORAGE, device=0)
    b.add(Kind.SHADER_MODULE, module=0, code=synthetic.kernel_wgsl(1, False), device=0)
    b.add(Kind.COMPUTE_PIPELINE, pipeline=0, module=0, entry_point="main", device=0,
          rows=[(0, 0, 2), (0, 1, 3)])
    build(b)
    return b.build()


def _dispatch(b: TraceBuilder, pass_id: int, bind_group: int, site: str = "app.py:1") -> None:
    b.add(Kind.SET_PIPELINE, "app.py:1", compute_pass=pass_id, pipeline=0)
    b.add(Kind.SET_BIND_GROUP, "app.py:1", compute_pass=pass_id, index=0, bind_group=bind_group)
    b.add(Kind.DISPATCH, site, compute_pass=pass_id, x=1, y=1, z=1)


def test_copy_inside_an_open_pass_is_reported_at_the_copy(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.BIND_GROUP, bind_group=0, pipeline=0, group=0, rows=[(0, 0, 0, 1024, 2), (1, 1, 0, 1024, 3)])
        b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
        b.add(Kind.PASS_BEGIN, compute_pass=0, encoder=0)
        _dispatch(b, 0, 0)
        b.add(Kind.COPY, "app.py:7", encoder=0, src=0, src_offset=0, dst=1, dst_offset=0, size=64)
        b.add(Kind.PASS_END, compute_pass=0)
        b.add(Kind.ENCODER_FINISH, "app.py:9", encoder=0)
        b.add(Kind.SUBMIT, device=0, rows=[(0,)])

    trace = _kernel_trace(build)
    e = replay(trace, engine, adapter="test").error
    assert (e.error, e.kind, e.site) == ("validation error", "encoder_finish", "app.py:9")
    assert (e.cause, e.cause_kind, e.cause_site) == (11, "copy", "app.py:7")
    assert "pass" in e.message


def test_usage_conflict_is_reported_at_the_dispatch(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.BIND_GROUP, bind_group=0, pipeline=0, group=0, rows=[(0, 0, 0, 512, 2), (1, 0, 512, 512, 3)])
        b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
        b.add(Kind.PASS_BEGIN, compute_pass=0, encoder=0)
        _dispatch(b, 0, 0, "app.py:5")
        b.add(Kind.PASS_END, compute_pass=0)
        b.add(Kind.ENCODER_FINISH, encoder=0)
        b.add(Kind.SUBMIT, device=0, rows=[(0,)])

    e = replay(_kernel_trace(build), engine, adapter="test").error
    assert (e.kind, e.cause_kind, e.cause_site) == ("encoder_finish", "dispatch", "app.py:5")
    assert "conflicting usages" in e.message


def test_destroy_while_pending_is_refused_not_fatal(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
        b.add(Kind.COPY, "app.py:3", encoder=0, src=0, src_offset=0, dst=1, dst_offset=0, size=64)
        b.add(Kind.BUFFER_DESTROY, "app.py:4", buffer=1, dropped=0)
        b.add(Kind.ENCODER_FINISH, encoder=0)
        b.add(Kind.SUBMIT, "app.py:6", device=0, rows=[(0,)])

    e = replay(_kernel_trace(build), engine, adapter="test").error
    assert (e.error, e.kind, e.site) == ("refused", "submit", "app.py:6")
    assert "buffer 1 was destroyed" in e.message
    assert replay(synthetic.build([("alloc", 8), ("write", 0), ("read", 0)]), engine, adapter="test").ok


def test_submit_of_a_mapped_buffer_is_refused_not_fatal(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.BUFFER_CREATE, buffer=2, size=64, usage=BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC,
              mapped_at_creation=1, device=0)
        b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
        b.add(Kind.COPY, encoder=0, src=2, src_offset=0, dst=0, dst_offset=0, size=64)
        b.add(Kind.ENCODER_FINISH, encoder=0)
        b.add(Kind.SUBMIT, "app.py:5", device=0, rows=[(0,)])

    e = replay(_kernel_trace(build), engine, adapter="test").error
    assert (e.error, e.site) == ("refused", "app.py:5") and "buffer 2 is mapped" in e.message


def test_misaligned_binding_is_reported_at_the_bind_group(engine):
    def build(b: TraceBuilder) -> None:
        b.add(Kind.BIND_GROUP, "app.py:2", bind_group=0, pipeline=0, group=0,
              rows=[(0, 0, 4, 256, 2), (1, 1, 0, 256, 3)])

    e = replay(_kernel_trace(build), engine, adapter="test").error
    assert (e.kind, e.site, e.cause_site) == ("bind_group", "app.py:2", "app.py:2")
    assert "alignment" in e.message


def test_cli_replays_and_reports(tmp_path, capsys):
    ops = random_program(3)
    path = tmp_path / "p.wgtrace"
    save(with_expected_reads(synthetic.build(ops, seed=3), model_reads(ops, 3), payloads=False), path)
    assert main(["replay", str(path), "--repeat", "2", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"ok": true' in out and '"vs_recording"' in out
    assert main(["replay", str(path)]) == 0
    assert "verdict  OK" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["replay", "/nonexistent.wgtrace"],
    ["replay", "{trace}", "--pool", "no-such-pool", "--pass", "no-such-pass"],
    ["replay", "{trace}", "--adapter", "no-such-adapter-anywhere"],
    ["replay", "{trace}", "--timeout", "0"],
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv):
    path = tmp_path / "p.wgtrace"
    save(synthetic.build([("alloc", 8), ("write", 0), ("read", 0)]), path)
    try:
        code = main([a.format(trace=path) for a in argv])
    except SystemExit as e:  # refused by the argument parser, before the command runs
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wgtrace replay: error:") and "\n" not in err


def test_adapter_is_named(engine):
    assert adapter_name(engine.device.adapter)


SPIN = """
@group(0) @binding(0) var<storage, read_write> data: array<atomic<u32>>;

@compute @workgroup_size(1)
fn main() {
    for (var i = 0u; i < 0xFFFFFFFFu; i++) {
        atomicAdd(&data[0], 1u);
    }
}
"""


def test_a_kernel_that_never_ends_is_reported_not_waited_on(tmp_path):
    b = TraceBuilder(make_header(program=["test"]))
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, buffer=0, size=256, usage=STORAGE, device=0)
    b.add(Kind.SHADER_MODULE, module=0, code=SPIN, device=0)
    b.add(Kind.COMPUTE_PIPELINE, pipeline=0, module=0, entry_point="main", device=0, rows=[(0, 0, 3)])
    b.add(Kind.BIND_GROUP, bind_group=0, pipeline=0, group=0, rows=[(0, 0, 0, 256, 3)])
    b.add(Kind.ENCODER_CREATE, encoder=0, device=0)
    b.add(Kind.PASS_BEGIN, compute_pass=0, encoder=0)
    b.add(Kind.SET_PIPELINE, compute_pass=0, pipeline=0)
    b.add(Kind.SET_BIND_GROUP, compute_pass=0, index=0, bind_group=0)
    b.add(Kind.DISPATCH, compute_pass=0, x=65535, y=65535, z=1)
    b.add(Kind.PASS_END, compute_pass=0)
    b.add(Kind.ENCODER_FINISH, encoder=0)
    b.add(Kind.SUBMIT, device=0, rows=[(0,)])
    b.add(Kind.QUEUE_READ, "app.py:12", buffer=0, offset=0, size=256)
    path = tmp_path / "spin.wgtrace"
    save(b.build(), path)
    done = subprocess.run([sys.executable, "-m", "wgtrace.traces", "replay", str(path), "--timeout", "2",
                           "--warmup", "0", "--no-reference"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no progress for 2 s" in done.stderr and "app.py:12" in done.stderr
