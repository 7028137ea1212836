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
from wgtrace.traces import Access, BufferUsage, Kind, TraceBuilder, make_header, validate

LIMITS = {"min-storage-buffer-offset-alignment": 4, "min-uniform-buffer-offset-alignment": 4}
ACCESSES = (Access.READ_ONLY_STORAGE, Access.STORAGE, Access.UNIFORM)
ACTIONS = ("encoder", "dispatch", "dispatch", "indirect", "copy", "clear", "write", "write", "mapped_write",
           "read", "read_mapped", "finish", "submit", "submit", "drop")
HOST_KINDS = {"write": Kind.WRITE_BUFFER, "mapped_write": Kind.MAPPED_WRITE, "read": Kind.QUEUE_READ,
              "read_mapped": Kind.READ}


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


class RandomPlan:
    """A valid trace exercising queue order, built action by action from a tape; sites name the action."""

    def __init__(self, tape: Tape):
        self.tape = tape
        self.b = TraceBuilder(make_header(limits=LIMITS, program=["random plan"]))
        self.b.add(Kind.DEVICE, site="plan.py:0", device=0, adapter="{}", limits=json.dumps(LIMITS))
        self.sizes = [tape.pick([16, 32, 64]) for _ in range(tape.int(1, 3))]
        usage = int(BufferUsage.STORAGE | BufferUsage.INDIRECT | BufferUsage.COPY_SRC | BufferUsage.COPY_DST)
        for i, size in enumerate(self.sizes):
            self.b.add(Kind.BUFFER_CREATE, site="plan.py:0", buffer=i, size=size, usage=usage, device=0)
        self.b.add(Kind.SHADER_MODULE, site="plan.py:0", module=0, code="", device=0)
        self.pipelines: dict[tuple[int, ...], int] = {}
        self.count = {"encoder": 0, "pass": 0, "group": 0}
        self.open: list[int] = []
        self.finished: list[int] = []
        self.actions = {"dispatch": self.dispatch, "indirect": self.dispatch, "copy": self.copy, "clear": self.clear,
                        "write": self.host, "mapped_write": self.host, "read": self.host, "read_mapped": self.host,
                        "finish": self.finish, "submit": self.submit, "drop": self.drop}

    def build(self, max_actions: int):
        tape = self.tape
        for step in range(max_actions):
            if tape.done:
                break
            site = f"plan.py:{step + 1}"
            action = tape.pick(ACTIONS)
            if action == "encoder" or (action in ("dispatch", "indirect", "copy", "clear") and not self.open):
                self.b.add(Kind.ENCODER_CREATE, site=site, encoder=self.count["encoder"], device=0)
                self.open.append(self.count["encoder"])
                self.count["encoder"] += 1
            if action in self.actions:
                self.actions[action](site, action)
        if tape.int(0, 3) != 1:
            for enc in self.open:
                self.b.add(Kind.ENCODER_FINISH, site="plan.py:99", encoder=enc)
            if self.open or self.finished:
                self.b.add(Kind.SUBMIT, site="plan.py:99", device=0, rows=[(e,) for e in [*self.finished, *self.open]])
        trace = self.b.build()
        validate(trace)
        return trace

    def span(self, min_words: int = 0) -> tuple[int, int, int]:
        buf = self.tape.int(0, len(self.sizes) - 1)
        words = self.sizes[buf] // 4
        lo = self.tape.int(0, words - min_words)
        n = self.tape.int(min_words, words - lo)
        return buf, 4 * lo, 4 * n

    def pipeline(self, accesses: tuple[int, ...]) -> int:
        if accesses not in self.pipelines:
            self.pipelines[accesses] = len(self.pipelines)
            rows = [(0, k, a) for k, a in enumerate(accesses)]
            self.b.add(Kind.COMPUTE_PIPELINE, site="plan.py:0", pipeline=self.pipelines[accesses], module=0,
                       entry_point=f"k{len(self.pipelines)}", device=0, rows=rows)
        return self.pipelines[accesses]

    def dispatch(self, site: str, action: str) -> None:
        enc = self.tape.pick(self.open)
        accesses = tuple(self.tape.pick(ACCESSES) for _ in range(self.tape.int(1, 3)))
        p = self.pipeline(accesses)
        entries = [(k, *self.span(min_words=1), a) for k, a in enumerate(accesses)]
        g, c = self.count["group"], self.count["pass"]
        self.count["group"] += 1
        self.count["pass"] += 1
        b = self.b
        b.add(Kind.BIND_GROUP, site=site, bind_group=g, pipeline=p, group=0, rows=entries)
        b.add(Kind.PASS_BEGIN, site=site, compute_pass=c, encoder=enc)
        b.add(Kind.SET_PIPELINE, site=site, compute_pass=c, pipeline=p)
        b.add(Kind.SET_BIND_GROUP, site=site, compute_pass=c, index=0, bind_group=g)
        if action == "indirect":
            buf, lo, _ = self.span(min_words=3)
            b.add(Kind.DISPATCH_INDIRECT, site=site, compute_pass=c, buffer=buf, offset=lo)
        else:
            b.add(Kind.DISPATCH, site=site, compute_pass=c, x=1, y=1, z=1)
        b.add(Kind.PASS_END, site=site, compute_pass=c)

    def copy(self, site: str, action: str) -> None:
        src, src_off, n = self.span()
        dst = self.tape.int(0, len(self.sizes) - 1)
        dst_off = 4 * self.tape.int(0, (self.sizes[dst] - n) // 4) if n <= self.sizes[dst] else 0
        self.b.add(Kind.COPY, site=site, encoder=self.tape.pick(self.open), src=src, src_offset=src_off, dst=dst,
                   dst_offset=dst_off, size=min(n, self.sizes[dst]))

    def clear(self, site: str, action: str) -> None:
        buf, lo, n = self.span()
        self.b.add(Kind.CLEAR, site=site, encoder=self.tape.pick(self.open), buffer=buf, offset=lo, size=n)

    def host(self, site: str, action: str) -> None:
        buf, lo, n = self.span()
        self.b.add(HOST_KINDS[action], site=site, buffer=buf, offset=lo, size=n)

    def finish(self, site: str, action: str) -> None:
        if self.open:
            enc = self.tape.pick(self.open)
            self.open.remove(enc)
            self.finished.append(enc)
            self.b.add(Kind.ENCODER_FINISH, site=site, encoder=enc)

    def submit(self, site: str, action: str) -> None:
        if self.finished:
            chosen = self.tape.some(self.finished, least=1)
            for enc in chosen:
                self.finished.remove(enc)
            self.b.add(Kind.SUBMIT, site=site, device=0, rows=[(e,) for e in chosen])

    def drop(self, site: str, action: str) -> None:
        if self.open:
            self.open.remove(self.tape.pick(self.open))


@st.composite
def plans(draw: st.DrawFn, max_actions: int = 24):
    """A valid trace exercising queue order (see ``RandomPlan``)."""
    length = draw(st.integers(4, 8 * max_actions))
    return RandomPlan(Tape(draw(st.binary(min_size=length, max_size=length)))).build(max_actions)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_oracle_agrees_with_h1(trace):
    found = check(trace).of("H1")
    truth = oracle.run(trace)
    assert bool(found) == truth.hazard, (found, truth)
    for f in found:
        assert {f.event, f.other_event} & set(truth.differs), f
