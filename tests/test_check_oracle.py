"""The checker's H1 verdict against the brute-force oracle, on random low-level plans.

The plans are drawn event by event: several encoders open at once, commands recorded into any of
them, encoders finished and submitted in any order (several per submit) or never, queue writes,
mapped writes, queue reads and mapped reads over random byte ranges. Every example is also checked
as a recorded program (``sim.synthetic``) elsewhere; here the point is the corners of queue order.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgtrace.sim.check import check, oracle
from wgtrace.traces import Access, Kind, TraceBuilder, make_header, validate

LIMITS = {"min-storage-buffer-offset-alignment": 4, "min-uniform-buffer-offset-alignment": 4}
ACCESSES = (Access.READ_ONLY_STORAGE, Access.STORAGE, Access.UNIFORM)
ACTIONS = ("encoder", "dispatch", "dispatch", "indirect", "copy", "clear", "write", "write", "mapped_write",
           "read", "read_mapped", "finish", "submit", "submit", "drop")


class Tape:
    """Choices read from a byte string hypothesis draws once: fast to make, and it shrinks like bytes.

    An exhausted tape answers the smallest choice and ends the plan, so a shorter tape is a simpler plan.
    """

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    @property
    def done(self) -> bool:
        return self.at >= len(self.data)

    def int(self, lo: int, hi: int) -> int:
        if hi <= lo or self.at >= len(self.data):
            return lo
        self.at += 1
        return lo + self.data[self.at - 1] % (hi - lo + 1)

    def pick(self, items):
        return items[self.int(0, len(items) - 1)]

    def some(self, items, least: int = 0):
        """A subset (in drawn order) of at least ``least`` items."""
        pool, out = list(items), []
        while pool and (len(out) < least or self.int(0, 1)):
            out.append(pool.pop(self.int(0, len(pool) - 1)))
        return out


@st.composite
def plans(draw: st.DrawFn, max_actions: int = 24):
    """A valid trace exercising queue order; each call site names its action index."""
    length = draw(st.integers(4, 8 * max_actions))
    tape = Tape(draw(st.binary(min_size=length, max_size=length)))
    b = TraceBuilder(make_header(limits=LIMITS, program=["random plan"]))
    b.add(Kind.DEVICE, site="plan.py:0", device=0, adapter="{}", limits=json.dumps(LIMITS))
    sizes = [tape.pick([16, 32, 64]) for _ in range(tape.int(1, 3))]
    for i, size in enumerate(sizes):
        b.add(Kind.BUFFER_CREATE, site="plan.py:0", buffer=i, size=size, usage=0x80 | 0x100 | 0x4 | 0x8, device=0)
    b.add(Kind.SHADER_MODULE, site="plan.py:0", module=0, code="", device=0)
    pipelines: dict[tuple[int, ...], int] = {}
    count = {"encoder": 0, "pass": 0, "group": 0}
    open_, finished = [], []

    def span(min_words: int = 0) -> tuple[int, int, int]:
        buf = tape.int(0, len(sizes) - 1)
        words = sizes[buf] // 4
        lo = tape.int(0, words - min_words)
        n = tape.int(min_words, words - lo)
        return buf, 4 * lo, 4 * n

    def pipeline(accesses: tuple[int, ...]) -> int:
        if accesses not in pipelines:
            pipelines[accesses] = len(pipelines)
            b.add(Kind.COMPUTE_PIPELINE, site="plan.py:0", pipeline=pipelines[accesses], module=0,
                  entry_point=f"k{len(pipelines)}", device=0, rows=[(0, k, a) for k, a in enumerate(accesses)])
        return pipelines[accesses]

    def dispatch(site: str, enc: int, indirect: bool) -> None:
        accesses = tuple(tape.pick(ACCESSES) for _ in range(tape.int(1, 3)))
        p = pipeline(accesses)
        entries = [(k, *span(min_words=1), a) for k, a in enumerate(accesses)]
        g = count["group"]
        count["group"] += 1
        b.add(Kind.BIND_GROUP, site=site, bind_group=g, pipeline=p, group=0, rows=entries)
        c = count["pass"]
        count["pass"] += 1
        b.add(Kind.PASS_BEGIN, site=site, compute_pass=c, encoder=enc)
        b.add(Kind.SET_PIPELINE, site=site, compute_pass=c, pipeline=p)
        b.add(Kind.SET_BIND_GROUP, site=site, compute_pass=c, index=0, bind_group=g)
        if indirect:
            buf, lo, _ = span(min_words=3)
            b.add(Kind.DISPATCH_INDIRECT, site=site, compute_pass=c, buffer=buf, offset=lo)
        else:
            b.add(Kind.DISPATCH, site=site, compute_pass=c, x=1, y=1, z=1)
        b.add(Kind.PASS_END, site=site, compute_pass=c)

    for step in range(max_actions):
        if tape.done:
            break
        site = f"plan.py:{step + 1}"
        action = tape.pick(ACTIONS)
        if action == "encoder" or (action in ("dispatch", "indirect", "copy", "clear") and not open_):
            b.add(Kind.ENCODER_CREATE, site=site, encoder=count["encoder"], device=0)
            open_.append(count["encoder"])
            count["encoder"] += 1
        if action in ("dispatch", "indirect"):
            dispatch(site, tape.pick(open_), action == "indirect")
        elif action == "copy":
            src, src_off, n = span()
            dst = tape.int(0, len(sizes) - 1)
            dst_off = 4 * tape.int(0, (sizes[dst] - n) // 4) if n <= sizes[dst] else 0
            b.add(Kind.COPY, site=site, encoder=tape.pick(open_), src=src, src_offset=src_off, dst=dst,
                  dst_offset=dst_off, size=min(n, sizes[dst]))
        elif action == "clear":
            buf, lo, n = span()
            b.add(Kind.CLEAR, site=site, encoder=tape.pick(open_), buffer=buf, offset=lo, size=n)
        elif action in ("write", "mapped_write", "read", "read_mapped"):
            kind = {"write": Kind.WRITE_BUFFER, "mapped_write": Kind.MAPPED_WRITE, "read": Kind.QUEUE_READ,
                    "read_mapped": Kind.READ}[action]
            buf, lo, n = span()
            b.add(kind, site=site, buffer=buf, offset=lo, size=n)
        elif action == "finish" and open_:
            enc = tape.pick(open_)
            open_.remove(enc)
            finished.append(enc)
            b.add(Kind.ENCODER_FINISH, site=site, encoder=enc)
        elif action == "submit" and finished:
            chosen = tape.some(finished, least=1)
            for enc in chosen:
                finished.remove(enc)
            b.add(Kind.SUBMIT, site=site, device=0, rows=[(e,) for e in chosen])
        elif action == "drop" and open_:
            open_.remove(tape.pick(open_))
    if tape.int(0, 3) != 1:
        for enc in open_:
            b.add(Kind.ENCODER_FINISH, site="plan.py:99", encoder=enc)
        if open_ or finished:
            b.add(Kind.SUBMIT, site="plan.py:99", device=0, rows=[(e,) for e in [*finished, *open_]])
    trace = b.build()
    validate(trace)
    return trace


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_oracle_agrees_with_h1(trace):
    found = check(trace).of("H1")
    truth = oracle.run(trace)
    assert bool(found) == truth.hazard, (found, truth)
    for f in found:
        assert {f.event, f.other_event} & set(truth.differs), f
