"""The checker's H1 verdict against the brute-force oracle, on random low-level plans.

The plans are drawn event by event: several encoders open at once, commands recorded into any of
them (dispatches, copies, clears, render passes whose draws bind buffers, sample texture views, read
vertex buffers and execute bundles, texture copies), encoders finished and submitted in any order
(several per submit) or never, queue writes, mapped writes, queue reads and mapped reads over random
byte ranges, texture uploads and read-backs over random boxes of random mips and layers. Every example is also checked
as a recorded program (``sim.synthetic``) elsewhere; here the point is the corners of queue order.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wgtrace.sim.check import check, oracle
from wgtrace.traces import Access, BufferUsage, Kind, TraceBuilder, make_header, validate
from wgtrace.traces.schema import AttachmentOps

LIMITS = {"min-storage-buffer-offset-alignment": 4, "min-uniform-buffer-offset-alignment": 4}
ACCESSES = (Access.READ_ONLY_STORAGE, Access.STORAGE, Access.UNIFORM)
ACTIONS = ("encoder", "dispatch", "dispatch", "indirect", "copy", "clear", "write", "write", "mapped_write",
           "read", "read_mapped", "finish", "submit", "submit", "drop", "render", "render", "bundle",
           "write_texture", "write_texture", "read_texture", "texture_copy")
COMMANDS = ("dispatch", "indirect", "copy", "clear", "render", "texture_copy")
# textures: (width, height, layers, mips)
TEXTURES = ((4, 4, 2, 2), (4, 4, 1, 1))
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
        for t, (w, h, layers, mips) in enumerate(TEXTURES):
            self.b.add(Kind.TEXTURE_CREATE, site="plan.py:0", texture=t, width=w, height=h,
                       depth_or_array_layers=layers, format="rgba8unorm", device=0, rows=[(mips, 1, 2, 0x1F, None)])
        self.pipelines: dict[tuple[int, ...], int] = {}
        self.count = {"encoder": 0, "pass": 0, "group": 0, "view": 0, "bundle": 0}
        self.open: list[int] = []
        self.finished: list[int] = []
        self.actions = {"dispatch": self.dispatch, "indirect": self.dispatch, "copy": self.copy, "clear": self.clear,
                        "write": self.host, "mapped_write": self.host, "read": self.host, "read_mapped": self.host,
                        "finish": self.finish, "submit": self.submit, "drop": self.drop, "render": self.render,
                        "bundle": self.bundle, "write_texture": self.texture_host, "read_texture": self.texture_host,
                        "texture_copy": self.texture_copy}
        self.bundles: list[int] = []

    def build(self, max_actions: int):
        tape = self.tape
        for step in range(max_actions):
            if tape.done:
                break
            site = f"plan.py:{step + 1}"
            action = tape.pick(ACTIONS)
            if action == "encoder" or (action in COMMANDS and not self.open):
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

    def pipeline(self, accesses: tuple[int, ...], render: bool = False) -> int:
        key = (*accesses, -1) if render else accesses
        if key not in self.pipelines:
            self.pipelines[key] = len(self.pipelines)
            rows = [(0, k, a) for k, a in enumerate(accesses)]
            if render:
                self.b.add(Kind.RENDER_PIPELINE, site="plan.py:0", pipeline=self.pipelines[key], vertex_module=0,
                           descriptor=json.dumps({"vertex": {"buffers": [{}]}}), device=0, rows=rows)
            else:
                self.b.add(Kind.COMPUTE_PIPELINE, site="plan.py:0", pipeline=self.pipelines[key], module=0,
                           entry_point=f"k{len(self.pipelines)}", device=0, rows=rows)
        return self.pipelines[key]

    def view(self, site: str, single: bool = False) -> int:
        """A view of a random texture: one mip of one layer, or (unless ``single``) a random range."""
        t = self.tape.int(0, len(TEXTURES) - 1)
        _, _, layers, mips = TEXTURES[t]
        mip, layer = self.tape.int(0, mips - 1), self.tape.int(0, layers - 1)
        n_mips = 1 if single else self.tape.int(1, mips - mip)
        n_layers = 1 if single else self.tape.int(1, layers - layer)
        v = self.count["view"]
        self.count["view"] += 1
        self.b.add(Kind.TEXTURE_VIEW, site=site, view=v, texture=t, format="rgba8unorm", dimension="2d",
                   rows=[(mip, n_mips, layer, n_layers, 0)])
        return v

    def box(self) -> tuple[int, tuple, tuple]:
        """A random texture and a random box in it: (texture, (mip, x, y, layer, 0), (w, h, layers))."""
        t = self.tape.int(0, len(TEXTURES) - 1)
        w, h, layers, mips = TEXTURES[t]
        mip = self.tape.int(0, mips - 1)
        w, h = max(w >> mip, 1), max(h >> mip, 1)
        x, y, z = self.tape.int(0, w - 1), self.tape.int(0, h - 1), self.tape.int(0, layers - 1)
        return t, (mip, x, y, z, 0), (self.tape.int(1, w - x), self.tape.int(1, h - y), self.tape.int(1, layers - z))

    def draws(self, site: str, pass_id: int) -> None:
        """One or two draws: each binds a uniform or storage span and a sampled view, and reads a vertex buffer."""
        for _ in range(self.tape.int(1, 2)):
            access = self.tape.pick(ACCESSES)
            p = self.pipeline((access, Access.SAMPLED_TEXTURE), render=True)
            g = self.count["group"]
            self.count["group"] += 1
            entries = [(0, *self.span(min_words=1), access), (1, self.view(site), 0, 0, Access.SAMPLED_TEXTURE)]
            self.b.add(Kind.BIND_GROUP, site=site, bind_group=g, pipeline=p, group=0, rows=entries)
            self.b.add(Kind.SET_PIPELINE, site=site, compute_pass=pass_id, pipeline=p)
            self.b.add(Kind.SET_BIND_GROUP, site=site, compute_pass=pass_id, index=0, bind_group=g)
            buf, lo, n = self.span()
            self.b.add(Kind.SET_VERTEX_BUFFER, site=site, pass_encoder=pass_id, slot=0, buffer=buf, offset=lo, size=n)
            self.b.add(Kind.DRAW, site=site, pass_encoder=pass_id, vertex_count=3, instance_count=1)

    def render(self, site: str, action: str) -> None:
        enc = self.tape.pick(self.open)
        target = self.view(site, single=True)
        c = self.count["pass"]
        self.count["pass"] += 1
        ops = self.tape.pick([int(AttachmentOps.STORE), int(AttachmentOps.LOAD | AttachmentOps.STORE)])
        self.b.add(Kind.RENDER_PASS_BEGIN, site=site, render_pass=c, encoder=enc, descriptor="{}",
                   rows=[(0, target, -1, ops, -1)])
        self.draws(site, c)
        if self.bundles and self.tape.int(0, 1):
            self.b.add(Kind.EXECUTE_BUNDLES, site=site, render_pass=c, rows=[(self.tape.pick(self.bundles),)])
        self.b.add(Kind.PASS_END, site=site, compute_pass=c)

    def bundle(self, site: str, action: str) -> None:
        c = self.count["pass"]
        self.count["pass"] += 1
        self.b.add(Kind.BUNDLE_ENCODER_CREATE, site=site, bundle_encoder=c, descriptor="{}", device=0)
        self.draws(site, c)
        self.b.add(Kind.BUNDLE_FINISH, site=site, bundle=self.count["bundle"], bundle_encoder=c)
        self.bundles.append(self.count["bundle"])
        self.count["bundle"] += 1

    def texture_host(self, site: str, action: str) -> None:
        t, at, extent = self.box()
        kind = Kind.WRITE_TEXTURE if action == "write_texture" else Kind.READ_TEXTURE
        self.b.add(kind, site=site, texture=t, size=16, rows=[(0, 16, extent[1]), at, extent])

    def texture_copy(self, site: str, action: str) -> None:
        t, at, extent = self.box()
        buf, lo, _ = self.span()
        self.add_texture_copy(site, t, at, extent, buf, lo)

    def add_texture_copy(self, site: str, t: int, at: tuple, extent: tuple, buf: int, lo: int) -> None:
        """A copy between the box ``at``/``extent`` of texture ``t`` and buffer ``buf`` from byte ``lo``, rows of 16
        bytes, either way."""
        enc = self.tape.pick(self.open)
        data = (lo, 16, extent[1])
        if self.tape.int(0, 1):
            self.b.add(Kind.COPY_BUFFER_TO_TEXTURE, site=site, encoder=enc, buffer=buf, texture=t,
                       rows=[data, at, extent])
        else:
            self.b.add(Kind.COPY_TEXTURE_TO_BUFFER, site=site, encoder=enc, texture=t, buffer=buf,
                       rows=[at, data, extent])

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
