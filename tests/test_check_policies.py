"""The checker on planned programs: what each pool and pass policy must and must not produce.

Over random logical programs (``tests/strategies.py``): every pool with the seed's fix, under every
pass policy, yields no H1; every pool that reuses storage, without the fix, under ``batched`` with
``write-buffer`` uploads, yields H1 on programs built to provoke it, at the upload's line; a plain
program (``exclusive`` + ``pass-per-dispatch``) that submits before each write yields nothing at
all. The brute-force oracle agrees with the checker's H1 verdict on every plan made here.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim import plan
from wgtrace.sim.check import check, oracle
from wgtrace.sim.policies import parse_pool, pass_names, pool_names
from wgtrace.sim.synthetic import build

from strategies import programs

FIXED = [p for p in pool_names() if "+fix" in p]
# exclusive never reuses storage; a pool that defers reuse itself (tfjs, onnxruntime) never reuses it in flight
REUSING = [p for p in pool_names() if "+" not in p and p != "exclusive" and not parse_pool(p).defers_reuse]


def h1_agrees_with_oracle(p) -> list:
    found = check(p).of("H1")
    assert bool(found) == oracle.run(p).hazard, (p.pool, p.passes, [f.message for f in found])
    return found


@settings(max_examples=12, deadline=None)
@given(programs(max_ops=25))
def test_every_fixed_pool_under_every_pass_policy_has_no_h1(ops):
    trace = build(ops, data="digest")  # a careful program: it submits before writing what its encoder uses
    for pool in FIXED:
        for passes in pass_names():
            assert h1_agrees_with_oracle(plan(trace, pool, passes)) == [], (pool, passes, ops)


@st.composite
def provoking(draw: st.DrawFn) -> tuple[list, int, int]:
    """A kernel reads A; A is freed; B of A's size is allocated and uploaded while the kernel is pending.

    Sizes stay within 64 words, where every reusing pool hands B the storage A just gave back.
    Returns the ops, the op index of B's upload and of the kernel.
    """
    words = draw(st.integers(1, 64))
    ops: list = []
    for _ in range(draw(st.integers(0, 3))):  # other live tensors, written and kept
        ops += [("alloc", draw(st.integers(1, 64))), ("write", len([o for o in ops if o[0] == "alloc"]))]
    n = len([o for o in ops if o[0] == "alloc"])
    a, out, b = n, n + 1, n + 2
    ops += [("alloc", words), ("write", a), ("alloc", draw(st.integers(1, 64)))]
    kernel = len(ops)
    ops += [("dispatch", (a,), out, -1), ("free", a), ("alloc", words)]
    upload = len(ops)
    ops += [("write", b), ("read", out)]
    return ops, upload, kernel


@settings(max_examples=40, deadline=None)
@given(provoking())
def test_every_reusing_pool_without_the_fix_hoists_the_upload_under_batched(case):
    ops, upload, kernel = case
    trace = build(ops, data="digest")
    for pool in REUSING:
        found = h1_agrees_with_oracle(plan(trace, pool, "batched/write-buffer"))
        assert [(f.site, f.other_site) for f in found] == [(f"program.py:{upload + 1}", f"program.py:{kernel + 1}")]
        for fix in ("+fix", "+fix-range"):
            assert h1_agrees_with_oracle(plan(trace, pool + fix, "batched/write-buffer")) == []


@settings(max_examples=60, deadline=None)
@given(programs(max_ops=30))
def test_plain_program_that_submits_before_each_write_is_clean(ops):
    submitted = [x for op in ops for x in ((("submit",), op) if op[0] == "write" else (op,))]
    p = plan(build(submitted, data="digest"), "exclusive", "pass-per-dispatch")
    result = check(p)
    assert result.findings == [], [f.message for f in result.findings]
    assert not oracle.run(p).hazard
