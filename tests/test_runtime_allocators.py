"""The allocators other runtimes use, against the numbers in their sources (cited in sim/policies/runtimes/).

Each sizing rule is checked on the constants and examples the sources and their documentation give;
each allocator's reuse rule on a few reservations; every runtime pool is hazard-free where it defers
reuse or takes the fix (the conformance kit), and hoists an upload over a kernel where it does not.
"""

from __future__ import annotations

import pytest

from wgtrace.sim.check import check
from wgtrace.sim.planner import plan
from wgtrace.sim.policies import Device, Exclusion, parse_pool, pool_names
from wgtrace.sim.policies.runtimes import RUNTIME_POOLS, OrtBucket, OrtSimple, TfjsBuffers, TinygradLru, TorchCaching
from wgtrace.sim.policies.runtimes.onnxruntime import BUCKET_LIMITS, BUCKETS, bucket_size, normalized
from wgtrace.sim.policies.runtimes.torch_caching import allocation_size, round_size
from wgtrace.sim.synthetic import build
from wgtrace.testing import assert_hazard_free, problems
from wgtrace.traces import Kind

from test_sim_pools import Pages

KIB, MIB = 1 << 10, 1 << 20
DEVICE = Device()


# -- PyTorch: c10/cuda/CUDACachingAllocator.cpp ------------------------------------------------------

def test_torch_rounds_to_512_bytes_and_to_power_of_two_divisions():
    assert [round_size(s) for s in (0, 1, 512, 513, 1000, MIB)] == [512, 512, 512, 1024, 1024, MIB]
    assert round_size(1200 * MIB, 4) == 1280 * MIB  # the documentation's example of roundup_power2_divisions
    assert round_size(1200 * MIB, 8) == 1280 * MIB and round_size(1100 * MIB, 8) == 1152 * MIB
    assert round_size(1024 * MIB, 4) == 1024 * MIB  # a power of two stays as it is
    assert round_size(1500, 4) == 1536  # at most 512 * divisions: plain 512-byte rounding


def test_torch_segments_are_2_mib_small_20_mib_large_and_2_mib_rounded_above_10_mib():
    assert allocation_size(512) == allocation_size(MIB) == 2 * MIB  # kSmallSize 1 MiB -> kSmallBuffer
    assert allocation_size(MIB + 512) == allocation_size(10 * MIB - 512) == 20 * MIB  # below kMinLargeAlloc
    assert allocation_size(10 * MIB) == 10 * MIB and allocation_size(10 * MIB + 512) == 12 * MIB  # kRoundLarge


def test_torch_splits_best_fits_and_coalesces():
    pages = Pages()
    torch = TorchCaching().manager(DEVICE, pages)
    a = torch.reserve(1000)
    b = torch.reserve(3000)
    c = torch.reserve(100)
    assert (a, b, c) == ((0, 0, 1024), (0, 1024, 3072), (0, 4096, 512)) and pages.size == {0: 2 * MIB}
    torch.free(*a[:2])
    assert torch.reserve(600) == (0, 0, 1024), "best fit: the 1 KiB hole, not the rest of the segment"
    big = torch.reserve(int(1.5 * MIB))
    assert big == (1, 0, int(1.5 * MIB)) and pages.size[1] == 20 * MIB, "1-10 MiB: a 20 MiB segment, split"
    whole = torch.reserve(19 * MIB + 512 * KIB)
    assert whole == (2, 0, 20 * MIB), "19.5 MiB: its own 20 MiB segment; 0.5 MiB left is not over 1 MiB: no split"
    for block in (b, c, (0, 0)):
        torch.free(*block[:2])
    assert torch.free_blocks[True] == [(2 * MIB, 0, 0)], "the freed blocks merge back into the whole segment"


def test_torch_max_split_size_keeps_oversized_blocks_whole_and_away_from_small_requests():
    torch = TorchCaching(max_split_size=64 * MIB).manager(DEVICE, Pages())
    large = torch.reserve(70 * MIB)
    torch.free(*large[:2])
    assert torch.reserve(30 * MIB)[0] != large[0], "below max_split_size: no block at or above it"
    assert torch.reserve(100 * MIB)[0] != large[0]
    assert torch.reserve(66 * MIB) == (large[0], 0, 70 * MIB), "within 20 MiB above the request: reused, unsplit"


def test_torch_with_the_exclusion_skips_blocks_in_flight():
    for by_range in (False, True):
        torch = TorchCaching().manager(DEVICE, Pages())
        a = torch.reserve(1024)
        torch.reserve(1024)
        torch.free(*a[:2])
        exclusion = Exclusion(by_range)
        exclusion.add(a[0], a[1], a[1] + 1024)
        again = torch.reserve(1024, exclusion)
        assert again[0] == a[0] if by_range else again[0] != a[0]
        assert again[1] != a[1] or again[0] != a[0]


# -- onnxruntime: core/providers/webgpu/buffer_manager.{h,cc}; the web build's gpu-data-manager.ts ------------

def test_ort_normalizes_to_16_bytes_and_buckets_from_64_b_to_160_mib():
    assert [normalized(s) for s in (0, 1, 16, 17)] == [0, 16, 16, 32]
    assert (len(BUCKETS), BUCKETS[0], BUCKETS[-1]) == (26, (64, 250), (160 * MIB, 6))
    assert (BUCKET_LIMITS[16 * MIB], BUCKET_LIMITS[128 * MIB]) == (10, 6)  # as buffer_manager's table says
    assert [bucket_size(s) for s in (1, 64, 65, 600, 16 * MIB - 1, 160 * MIB)] == [
        64, 64, 128, 2048, 16 * MIB, 160 * MIB]  # no 1 KiB bucket: 600 B takes 2 KiB
    assert bucket_size(160 * MIB + 1) == 160 * MIB + 16


def test_ort_reuses_a_released_buffer_only_after_the_next_flush():
    ort = OrtSimple().manager(DEVICE, Pages())
    a = ort.reserve(100)
    ort.free(*a[:2])
    assert ort.reserve(100)[0] != a[0], "released, but no flush yet"
    ort.submitted()
    assert ort.reserve(97) == (a[0], 0, 112), "the same 16-byte size after the flush"


def test_ort_buckets_keep_at_most_their_limit_and_destroy_the_rest():
    pages = Pages()
    ort = OrtBucket().manager(DEVICE, pages)
    held = [ort.reserve(100 * MIB) for _ in range(8)]
    huge = ort.reserve(200 * MIB)
    assert held[0][2] == 128 * MIB and huge[2] == 200 * MIB
    for r in [*held, huge]:
        ort.free(*r[:2])
    ort.submitted()
    assert len(ort.free_lists[128 * MIB]) == 6 and len(pages.size) == 6, "6 kept at 128 MiB; 2 and 200 MiB go"


# -- tfjs: tfjs-backend-webgpu src/buffer_manager.ts, src/backend_webgpu.ts ------------------------------------

def test_tfjs_keys_by_exact_size_pops_the_last_freed_and_skips_what_the_queue_owns():
    tfjs = TfjsBuffers().manager(DEVICE, Pages())
    a, b = tfjs.reserve(100), tfjs.reserve(100)
    assert (a[2], tfjs.reserve(104)[2]) == (100, 104)
    tfjs.free(*a[:2])
    tfjs.free(*b[:2])
    owned = Exclusion(False)
    owned.add(b[0], 0, 100)
    assert tfjs.reserve(100, owned)[0] == a[0], "b is still the queue's: the one freed before it"
    assert tfjs.reserve(100)[0] == b[0]
    assert TfjsBuffers.defers_reuse and "tfjs+fix" not in pool_names()


def test_tfjs_submits_every_15_dispatches_and_stages_uploads():
    ops = [("alloc", 64), ("write", 0)] + [("alloc", 64) for _ in range(31)]
    ops += [("dispatch", (0,), 1 + i, -1) for i in range(31)]
    p = plan(build(ops), "tfjs", "tfjs")
    assert p.trace.count_kind(Kind.SUBMIT) == 3 and p.trace.count_kind(Kind.WRITE_BUFFER) == 0
    assert p.trace.count_kind(Kind.COPY) == 1 and check(p).ok


# -- tinygrad: tinygrad/device.py LRUAllocator, runtime/ops_webgpu.py --------------------------------------------

def test_tinygrad_caches_by_exact_size_without_splitting():
    tiny = TinygradLru().manager(DEVICE, Pages())
    a = tiny.reserve(10)
    assert a[2] == 12, "round_up(size, 4)"
    tiny.free(*a[:2])
    assert tiny.reserve(12)[0] != a[0], "12 is another key than 10, though its buffer is as large"
    assert tiny.reserve(10) == a, "reused at once, whatever the open encoder holds"


# -- as policies ------------------------------------------------------------------------------------------------

def test_the_runtime_pools_are_registered_once_with_their_variants():
    names = [p.name for p in RUNTIME_POOLS]
    assert names == ["torch-caching", "ort-simple", "ort-bucket", "tfjs", "tinygrad-lru"]
    assert [n for n in pool_names() if n.split("+")[0] in names] == [
        "torch-caching", "torch-caching+fix", "torch-caching+fix-range", "ort-simple", "ort-bucket", "tfjs",
        "tinygrad-lru", "tinygrad-lru+fix"]


@pytest.mark.parametrize("pool", ["ort-simple", "ort-bucket", "tfjs", "tinygrad-lru+fix"])
def test_safe_whole_buffer_pools_pass_the_conformance_kit(pool):
    assert_hazard_free(pool, max_examples=25)


@pytest.mark.parametrize("pool", ["torch-caching+fix", "torch-caching+fix-range"])
def test_torch_with_the_fix_is_h1_free_but_copies_within_a_segment(pool):
    """Segments hold many tensors: a copy between two of them is a copy within one buffer, which WebGPU
    refuses (H2); CubeCL's sliced pools meet the same. Every other rule holds."""
    found = problems([("alloc", 1), ("write", 0), ("alloc", 1), ("write", 1), ("copy", 0, 1), ("read", 1)],
                     pool, "batched")
    assert len(found) == 1 and found[0].startswith("H2 copy_buffer_to_buffer at program.py:5 copies bytes 0-3 of")
    assert "WebGPU forbids a copy within one buffer" in found[0]
    assert_hazard_free(pool, max_examples=25, rules={"H1", "H3", "H4", "H5"})


@pytest.mark.parametrize("pool", ["torch-caching", "tinygrad-lru"])
def test_pools_that_reuse_at_once_hoist_an_upload_over_the_kernel_that_freed_it(pool):
    ops = [("alloc", 16), ("write", 0), ("alloc", 16), ("dispatch", (0,), 1, -1), ("free", 0), ("alloc", 16),
           ("write", 2), ("read", 1)]
    found = check(plan(build(ops), pool, "batched")).of("H1")
    assert [(f.site, f.other_site) for f in found] == [("program.py:7", "program.py:4")]
    assert not check(plan(build(ops), parse_pool(pool + "+fix"), "batched")).of("H1")
