"""The planner's loops in C (sim/planner/_loop.c) against their Python reference: every pool x pass policy plans the
same program byte for byte either way, a user's own pool and pass policy included, an error a
user's pool raises inside the C loop is the same PolicyError, and the C Exclusion, caches, caching allocator and
memory management answer as the Python ones."""

from __future__ import annotations

import gc
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from wgtrace.sim import plan, synthetic
from wgtrace.sim.plan import Plan
from wgtrace.sim.planner import fast
from wgtrace.sim.planner.emitter import Emitter
from wgtrace.sim.policies import Device, Exclusion, PolicyError, parse_pool, pass_names, pool_names
from wgtrace.sim.policies.runtimes import OrtBucket, OrtSimple, TfjsBuffers, TinygradLru, TorchCaching
from wgtrace.sim.workloads import eager_loop
from wgtrace.traces import Trace, load

from test_sim_pools import Pages

CORPUS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "traces", "corpus", "*.wgtrace")))
PASSES = [*pass_names(), "max-tasks:3", "max-tasks:3/staging-copy"]
KIB, MIB = 1 << 10, 1 << 20
USER_POOLS = ["user_policies:Bucketed(keep=2)+fix", "user_policies:Reckless"]
C = fast.LOOP

needs_c = pytest.mark.skipif(C is None, reason="built without the C extension")

# Plans a small program with the C loop hidden, as on a machine without a compiler; prints the loop's module
_WITHOUT_C = """
import sys
class _Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "wgtrace.sim.planner._loop":
            raise ImportError("no C extension here")
sys.meta_path.insert(0, _Missing())
from wgtrace.sim import plan
from wgtrace.sim.planner import fast
from wgtrace.sim.workloads import eager_loop
p = plan(eager_loop.generate(2000), "sliced+fix-range", "max-tasks:16/staging-copy")
print(fast.LOOP, len(p.trace))
"""


def columns(p: Plan) -> list[np.ndarray]:
    t = p.trace
    return [t.kind, t.t, t.site, t.args, t.nrows, t.rows, p.origin, *vars(p.allocations).values()]


def both_ways(trace: Trace, pool: str, passes: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Plan, Plan]:
    """The plan of ``trace`` by the C loop, then by the Python loop."""
    plans = []
    for loop in (C, None):
        monkeypatch.setattr(fast, "LOOP", loop)
        trace._cache.clear()
        plans.append(plan(trace, pool, passes))
    return plans[0], plans[1]


def assert_same(c: Plan, python: Plan) -> None:
    for x, y in zip(columns(c), columns(python), strict=True):
        np.testing.assert_array_equal(x, y)
    assert c.trace.strings == python.trace.strings and c.trace.blobs == python.trace.blobs
    assert c.trace.header == python.trace.header


def compute_traces() -> list[Trace]:
    """Programs without a render side (the C loop's): seeded synthetic ones, an eager loop, the corpus's."""
    traces = [synthetic.build(synthetic.random_ops(np.random.default_rng(seed), 60), seed=seed) for seed in range(3)]
    traces.append(eager_loop.generate(4000, seed=3))
    corpus = [load(path) for path in CORPUS]
    return traces + [t for t in corpus if not any(int(k) >= 27 for k in np.unique(t.kind))]


@pytest.fixture(scope="module")
def traces() -> list[Trace]:
    return compute_traces()


@needs_c
@pytest.mark.parametrize("pool", pool_names() + USER_POOLS)
def test_the_c_loops_plan_every_pass_policy_as_the_python_loops(pool, traces, monkeypatch):
    for trace in traces:
        for passes in PASSES + ["user_policies:EveryFew(max_tasks=2)/write-buffer"]:
            assert_same(*both_ways(trace, pool, passes, monkeypatch))


@needs_c
def test_a_program_with_a_render_side_plans_in_python_and_the_same(monkeypatch):
    render = [load(path) for path in CORPUS if "pygfx" in path or "frame_loop" in path]
    assert render
    for trace in render:
        for passes in ("as-recorded", "batched/staging-copy", "max-tasks:3", "tfjs"):
            assert_same(*both_ways(trace, "sliced+fix-range", passes, monkeypatch))


@needs_c
def test_an_error_of_a_users_pool_inside_the_c_loop_is_the_same_policy_error(monkeypatch):
    trace = synthetic.build(synthetic.random_ops(np.random.default_rng(0), 60))
    messages = []
    for loop in (C, None):
        monkeypatch.setattr(fast, "LOOP", loop)
        with pytest.raises(PolicyError) as error:
            plan(trace, "user_policies:Raising", "batched")
        messages.append(str(error.value))
    assert messages[0] == messages[1] and "raised RuntimeError: out of buckets" in messages[0]


def test_without_the_c_extension_the_planner_runs_its_python_loop():
    out = subprocess.run([sys.executable, "-c", _WITHOUT_C], capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "None" and int(out.split()[1]) > 2000


@needs_c
@pytest.mark.parametrize("by_range", [False, True])
def test_the_c_exclusion_answers_as_the_python_one(by_range):
    rng = np.random.default_rng(7)
    c, python = C.Exclusion(by_range), Exclusion(by_range)
    assert c.by_range == python.by_range
    for _ in range(20000):
        page, lo = int(rng.integers(0, 6)), int(rng.integers(0, 64)) * 16
        hi, need, alignment = lo + int(rng.integers(1, 200)), int(rng.integers(1, 300)), int(rng.choice([1, 16, 256]))
        op = rng.integers(0, 10)
        if op < 4:
            c.add(page, lo, hi)
            python.add(page, lo, hi)
        elif op == 4 and rng.random() < 0.2:
            c.clear()
            python.clear()
        elif op < 7:
            assert c.blocks(page, lo, hi) == python.blocks(page, lo, hi)
            assert c.first_fit(page, lo, hi + 600, need, alignment) == python.first_fit(page, lo, hi + 600, need,
                                                                                        alignment)
        else:
            slots = [(int(p), int(o) * 16) for p, o in rng.integers(0, [6, 64], size=(int(rng.integers(0, 8)), 2))]
            blocks = [(int(rng.integers(0, 999)), p, o) for p, o in slots]
            assert c.last_free(slots, need) == python.last_free(slots, need)
            assert c.first_free(blocks, 0, len(blocks), need) == python.first_free(blocks, 0, len(blocks), need)
    assert c.pages == python.pages


@needs_c
@pytest.mark.parametrize("policy", [TfjsBuffers(), TinygradLru(), OrtSimple(), OrtBucket()], ids=lambda p: p.name)
@pytest.mark.parametrize("by_range", [False, True])
def test_the_c_caches_answer_as_the_python_ones(policy, by_range):
    """The same reservations, frees and submits, with an exclusion: the same answers and the same pages made and
    given back (a tight size range, so buffers are reused, and onnxruntime's bucket limits are reached)."""
    rng = np.random.default_rng(3)
    python_pages, c_pages = Pages(), Pages()
    python = policy.manager(Device(), python_pages)
    c = fast.twin(policy.manager(Device(), c_pages))
    assert type(c) is C.Cache
    exclusions = [Exclusion(by_range), C.Exclusion(by_range)]
    live: list[tuple[int, int, int]] = []
    for _ in range(20000):
        op = rng.integers(0, 10)
        if op < 4:
            size = int(rng.choice([0, 1, 60, 64, 100, 250, 600, 4096]))
            exclude = None if rng.random() < 0.3 else exclusions
            got = python.reserve(size, exclude[0] if exclude else None)
            assert c.reserve(size, exclude[1] if exclude else None) == got
            live.append(got)
        elif op < 7 and live:
            page, offset, _ = live.pop(int(rng.integers(0, len(live))))
            python.free(page, offset)
            c.free(page, offset)
            if rng.random() < 0.5:
                for exclusion in exclusions:
                    exclusion.add(page, 0, 64)
        elif op == 7:
            python.submitted()
            c.submitted()
            for exclusion in exclusions:
                exclusion.clear()
    assert c_pages.size == python_pages.size and c_pages.made == python_pages.made


@needs_c
@pytest.mark.parametrize("policy", [TorchCaching(), TorchCaching(max_split_size=64 * MIB, roundup_power2_divisions=4)],
                         ids=["default", "max-split-divisions"])
@pytest.mark.parametrize("by_range", [False, True])
def test_the_c_caching_allocator_answers_as_torchs(policy, by_range):
    """Small and large requests, splits and merges, oversized blocks, an exclusion: the same answers and pages."""
    rng = np.random.default_rng(5)
    python_pages, c_pages = Pages(), Pages()
    python = policy.manager(Device(), python_pages)
    c = fast.twin(policy.manager(Device(), c_pages))
    assert type(c) is C.Caching
    exclusions = [Exclusion(by_range), C.Exclusion(by_range)]
    live: list[tuple[int, int, int]] = []
    for _ in range(6000):
        op = rng.integers(0, 10)
        if op < 4:
            size = int(rng.choice([1, 700, 4096, 300 * KIB, 900 * KIB, 3 * MIB, 12 * MIB, 30 * MIB, 70 * MIB]))
            exclude = None if rng.random() < 0.3 else exclusions
            got = python.reserve(size, exclude[0] if exclude else None)
            assert c.reserve(size, exclude[1] if exclude else None) == got
            live.append(got)
        elif op < 8 and live:
            page, offset, size = live.pop(int(rng.integers(0, len(live))))
            python.free(page, offset)
            c.free(page, offset)
            if rng.random() < 0.3:
                for exclusion in exclusions:
                    exclusion.add(page, offset, offset + size)
        elif op == 8:
            for exclusion in exclusions:
                exclusion.clear()
    assert c_pages.size == python_pages.size


@needs_c
@pytest.mark.parametrize("pool", ["sliced", "sliced+fix", "sliced+fix-range", "exclusive-pages+fix-range", "size-class",
                                  "size-class+fix", "size-class+fix-range", "sliced-pr56", "sliced-pr56+fix",
                                  "sliced-pr56+fix-range"])
def test_cubecls_memory_management_in_c_answers_as_the_python_one(pool):
    """Sliced pages (first fit, coalescing, near-full requests), exclusive pages (reuse by free count, the average
    request, the periodic release), size classes (slots reused last freed first, carving, the release of empty
    pages), PR 56's next-fit rings and small chunks, own pages: the same answers and the same pages made and given
    back (but PR 56's, which never gives one back)."""
    policy = parse_pool(pool)
    rng = np.random.default_rng(11)
    python_pages, c_pages = Pages(), Pages()
    python = policy.manager(Device(), python_pages)
    c = fast.twin(policy.manager(Device(), c_pages))
    assert type(c) is C.Managed
    exclusions = [Exclusion(policy.fix == "range"), C.Exclusion(policy.fix == "range")]
    live: list[tuple[int, int, int]] = []
    for _ in range(30000):
        op = rng.integers(0, 10)
        if op < 4:
            size = int(rng.choice([0, 4, 256, 1000, 40 * KIB, 3 * MIB, 7 * MIB, 30 * MIB, 120 * MIB]))
            exclude = None if rng.random() < 0.4 or not policy.fix else exclusions
            got = python.reserve(size, exclude[0] if exclude else None)
            assert c.reserve(size, exclude[1] if exclude else None) == got
            live.append(got)
        elif op < 8 and live:
            page, offset, size = live.pop(int(rng.integers(0, len(live))))
            python.free(page, offset)
            c.free(page, offset)
            for exclusion in exclusions:
                exclusion.add(page, offset, offset + max(size, 1))
        elif op == 8:
            for exclusion in exclusions:
                exclusion.clear()
    assert c_pages.size == python_pages.size and c_pages.made == python_pages.made
    assert len(python_pages.size) < python_pages.made or pool.startswith("sliced-pr56")


@pytest.mark.parametrize("loop", [C, None], ids=["c", "python"])
@pytest.mark.parametrize(("pool", "passes"), [("sliced+fix-range", "batched/staging-copy"), ("tfjs", "as-recorded"),
                                              ("torch-caching", "max-tasks:3/flush-write"), ("exclusive", "batched")])
def test_a_plan_leaves_nothing_for_the_collector(pool, passes, loop, monkeypatch):
    """The emitter, its pools and the loop let go of each other once the plan is made: reference counting frees
    them, not the collector's next pass, which walks every list of theirs (inside the next plan)."""
    monkeypatch.setattr(fast, "LOOP", loop)
    trace = eager_loop.generate(2000)
    gc.collect()
    gc.disable()
    try:
        plan(trace, pool, passes)
        assert not [o for o in gc.get_objects() if isinstance(o, Emitter)]
    finally:
        gc.enable()


@needs_c
@pytest.mark.parametrize("pool", ["sliced+fix-range", "tfjs", "torch-caching"])
def test_a_plan_under_a_c_pool_leaves_nothing_behind(pool):
    """The C pools hold the emitter (their storage), which holds them: the collector must free the cycle."""
    gc.collect()
    plan(eager_loop.generate(2000), pool, "batched")
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Emitter)]
