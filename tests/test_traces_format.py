"""Trace format v1: what is written reads back identically, and bad bytes only raise TraceError."""

from __future__ import annotations

import io

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgtrace.traces import BufferUsage, Kind, TraceBuilder, TraceError, TraceWriter, load, make_header, save, validate
from wgtrace.traces.codec import pack_record
from wgtrace.traces.schema import MAGIC

from strategies import event_streams


def build(stream, builder):
    for kind, site, fields, rows in stream:
        builder.add(kind, site=site, rows=rows, t=len(builder) * 7, **fields)
    return builder


def same(a, b) -> None:
    for col in ("kind", "t", "site", "args", "nrows", "rows"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col), err_msg=col)
    assert a.strings == b.strings
    assert a.blobs == b.blobs
    assert a.header == b.header


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_streams(), st.integers(1, 5), st.booleans())
def test_streamed_events_read_back_identical(stream, chunk_events, compress):
    header = make_header(program=["prog.py"])
    expected = build(stream, TraceBuilder(header)).build()
    validate(expected)
    f = io.BytesIO()
    writer = build(stream, TraceWriter(f, header, chunk_events=chunk_events, compress=compress))
    writer.close()
    same(load(f.getvalue()), expected)
    g = io.BytesIO()
    save(expected, g, chunk_events=chunk_events, compress=compress)
    same(load(g.getvalue()), expected)


def sample_trace():
    b = TraceBuilder(make_header(program=["app.py"]))
    b.add(Kind.DEVICE, site="app.py:1", adapter="{}", limits="{}")
    usage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC
    for i in range(3):
        b.add(Kind.BUFFER_CREATE, site="app.py:2", buffer=i, size=256 * (i + 1), usage=usage, device=0)
    b.add(Kind.SHADER_MODULE, site="app.py:3", module=0, code="@compute fn main() {}", device=0)
    b.add(Kind.COMPUTE_PIPELINE, site="app.py:4", pipeline=0, module=0, entry_point="main", device=0,
          rows=[(0, 0, 2), (0, 1, 3)])
    b.add(Kind.BIND_GROUP, site="app.py:5", bind_group=0, pipeline=0, group=0,
          rows=[(0, 0, 0, 256, 2), (1, 1, 0, 512, 3)])
    b.add(Kind.ENCODER_CREATE, site="app.py:6", encoder=0, device=0)
    b.add(Kind.PASS_BEGIN, site="app.py:7", compute_pass=0, encoder=0)
    b.add(Kind.SET_PIPELINE, site="app.py:8", compute_pass=0, pipeline=0)
    b.add(Kind.SET_BIND_GROUP, site="app.py:9", compute_pass=0, index=0, bind_group=0)
    b.add(Kind.DISPATCH, site="app.py:10", compute_pass=0, x=4, y=1, z=1)
    b.add(Kind.PASS_END, site="app.py:11", compute_pass=0)
    b.add(Kind.ENCODER_FINISH, site="app.py:12", encoder=0)
    b.add(Kind.WRITE_BUFFER, site="app.py:13", buffer=2, offset=0, size=64, payload=bytes(range(64)))
    b.add(Kind.SUBMIT, site="app.py:14", device=0, rows=[(0,)])
    b.add(Kind.QUEUE_READ, site="app.py:15", buffer=1, offset=0, size=512)
    trace = b.build()
    trace.t = np.arange(len(trace), dtype=np.int64) * 1000
    return trace


def sample_bytes(chunk_events: int = 4) -> bytes:
    f = io.BytesIO()
    save(sample_trace(), f, chunk_events=chunk_events)
    return f.getvalue()


def assert_trace_error(data: bytes) -> str:
    with pytest.raises(TraceError) as e:
        load(data)
    message = str(e.value)
    assert "\n" not in message
    assert "byte" in message or "event" in message, message
    return message


def test_every_truncation_is_reported_with_its_place():
    data = sample_bytes()
    for cut in range(len(data)):
        assert_trace_error(data[:cut])


def test_partial_load_keeps_the_complete_prefix():
    data = sample_bytes(chunk_events=4)
    whole = load(data)
    prefix = load(data[:-3], partial=True)
    assert prefix.cut_short and "cut short" in prefix.cut_short
    assert len(prefix) == len(whole)
    cut = load(data[: len(data) // 2], partial=True)
    assert 0 < len(cut) < len(whole) and len(cut) % 4 == 0
    np.testing.assert_array_equal(cut.args, whole.args[: len(cut)])


def test_every_flipped_byte_is_detected_or_harmless():
    """A flip raises TraceError, except where it only re-spells a msgpack value (a uint32 as an
    int32 of the same value): then the trace read is exactly the one written."""
    data = sample_bytes()
    original = load(data)
    rng = np.random.default_rng(1)
    harmless = 0
    for pos in range(len(data)):
        for _ in range(6):
            bad = bytearray(data)
            bad[pos] ^= int(rng.integers(1, 256))
            try:
                same(load(bytes(bad)), original)
                harmless += 1
            except TraceError as e:
                assert "\n" not in str(e) and ("byte" in str(e) or "event" in str(e)), str(e)
    assert harmless <= 0.002 * 6 * len(data)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_only_raise_trace_error(data):
    for candidate in (data, MAGIC + data):
        try:
            load(candidate)
        except TraceError as e:
            assert "\n" not in str(e)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_spliced_records_only_raise_trace_error(data):
    """Well-framed records around arbitrary bodies: the checks after the checksum hold too."""
    body = data.draw(st.one_of(st.binary(max_size=80), st.builds(msgpack.packb, st.recursive(
        st.none() | st.integers(-(2**63), 2**64 - 1) | st.text(max_size=5) | st.binary(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
        max_leaves=12))))
    tag = data.draw(st.sampled_from(["H", "C", "E", "X"]))
    good = sample_bytes()
    header_end = len(MAGIC) + len(pack_record("H", msgpack.packb(sample_trace().header), compress=False))
    candidate = good[:header_end] + pack_record(tag, body, compress=data.draw(st.booleans()))
    try:
        load(candidate)
    except TraceError as e:
        assert "\n" not in str(e)


@pytest.mark.parametrize(("version", "needle"), [([2, 0], "newer than this wgtrace reads"),
                                                  ([0, 9], "unknown trace format version"),
                                                  ("1.0", "must be [major, minor]")])
def test_wrong_version_is_refused(version, needle):
    header = make_header(version=version)
    data = MAGIC + pack_record("H", msgpack.packb(header), compress=False)
    assert needle in assert_trace_error(data)


def test_validation_names_event_kind_and_field():
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    b.add(Kind.WRITE_BUFFER, buffer=7, offset=0, size=4)
    with pytest.raises(TraceError, match=r"event 1 \(write_buffer\): field 'buffer' refers to buffer 7"):
        validate(b.build())
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    b.add(Kind.BUFFER_CREATE, buffer=0, size=-4, usage=0, device=0)
    with pytest.raises(TraceError, match=r"event 1 \(buffer_create\): field 'size' is negative"):
        validate(b.build())
    b = TraceBuilder(make_header())
    b.add(Kind.DEVICE, adapter="{}", limits="{}")
    b.add(Kind.DISPATCH, compute_pass=0, x=1, y=1, z=1)
    with pytest.raises(TraceError, match=r"event 1 \(dispatch\): field 'compute_pass' refers to pass 0, which no"):
        validate(b.build())


def test_corruption_suite_size():
    """The suite above runs well over 10,000 corrupt inputs; keep it that way."""
    n = len(sample_bytes())
    assert n + 6 * n + 2 * 1500 + 1500 >= 10_000
