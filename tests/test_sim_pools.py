"""Pools on their own: random reservations and frees, with and without an exclusion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wgtrace.sim.policies import POOLS, Device, Exclusion
from wgtrace.sim.policies.device import align_up
from wgtrace.sim.policies.pool_policies import ExclusivePages, SizeClass, Sliced, SlicedPr56
from wgtrace.sim.policies.pools import dealloc_period_for

KIB, MIB = 1 << 10, 1 << 20
SMALL_DEVICE = Device(max_page_size=32 * MIB, storage_alignment=256, uniform_alignment=256)
POOLED = [cls for cls in POOLS.values() if cls.pooled]


class Pages:
    """A storage that remembers every live page and its size."""

    def __init__(self):
        self.size: dict[int, int] = {}
        self.made = 0

    def alloc(self, size: int) -> int:
        self.size[self.made] = size
        self.made += 1
        return self.made - 1

    def dealloc(self, page: int) -> None:
        del self.size[page]


def alignment_of(policy, device: Device) -> int:
    return policy.parameters(device)["alignment"]


def check(manager, pages: Pages, live: dict[int, tuple[int, int, int, int]], alignment: int) -> None:
    """Live slices are disjoint, inside live pages, aligned, and no more than the pool reports reserved."""
    by_page: dict[int, list[tuple[int, int]]] = {}
    for page, offset, reserved, size in live.values():
        assert page in pages.size, "a live allocation on a page given back"
        assert offset % alignment == 0
        assert reserved >= size
        assert offset + reserved <= pages.size[page]
        by_page.setdefault(page, []).append((offset, offset + reserved))
    for spans in by_page.values():
        spans.sort()
        for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False):
            assert hi <= lo, "overlapping live allocations"
    assert sum(r for _, _, r, _ in live.values()) <= manager.reserved_bytes()
    assert manager.reserved_bytes() == sum(pages.size.values())
    assert sorted((p, o, r) for p, o, r, _ in live.values()) == manager.live()


sizes = st.one_of(st.integers(0, 4 * KIB), st.integers(0, 3 * MIB), st.sampled_from([0, 1, 16, 255, 256, 257]))
steps = st.lists(st.tuples(st.sampled_from(["reserve", "reserve", "free", "exclude", "clear"]), sizes,
                           st.integers(0, 1 << 30)), min_size=1, max_size=80)


@pytest.mark.parametrize("policy", POOLED, ids=lambda c: c.name)
@pytest.mark.parametrize("by_range", [False, True], ids=["pages", "ranges"])
@settings(max_examples=40, deadline=None)
@given(steps=steps)
def test_pools_keep_live_allocations_disjoint_aligned_and_within_what_they_reserve(policy, by_range, steps):
    pages = Pages()
    pool = policy()
    manager = pool.manager(SMALL_DEVICE, pages)
    alignment = alignment_of(pool, SMALL_DEVICE)
    exclusion = Exclusion(by_range)
    freed: list[tuple[int, int, int]] = []
    live: dict[int, tuple[int, int, int, int]] = {}
    for n, (op, size, pick) in enumerate(steps):
        if op == "reserve":
            use_exclusion = pick % 2 == 0
            page, offset, reserved = manager.reserve(size, exclusion if use_exclusion else None)
            if use_exclusion:
                assert not exclusion.blocks(page, offset, offset + max(size, 1)), "reserved excluded storage"
            live[n] = (page, offset, reserved, size)
        elif op == "free" and live:
            key = sorted(live)[pick % len(live)]
            page, offset, reserved, _ = live.pop(key)
            manager.free(page, offset)
            freed.append((page, offset, reserved))
        elif op == "exclude" and freed:
            page, offset, reserved = freed[pick % len(freed)]
            exclusion.add(page, offset, offset + max(reserved, 1))
        elif op == "clear":
            exclusion.clear()
        check(manager, pages, live, alignment)


@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 500)), max_size=30), st.integers(0, 4000),
       st.integers(1, 600))
def test_exclusion_ranges_merge_and_answer_like_a_set_of_bytes(spans, lo, length):
    exclusion = Exclusion(by_range=True)
    covered = set()
    for start, n in spans:
        exclusion.add(7, start, start + n)
        covered.update(range(start, start + n))
    flat = exclusion.ranges.get(7, [])
    assert flat == sorted(flat) and all(a < b for a, b in zip(flat, flat[1:], strict=False))
    assert exclusion.blocks(7, lo, lo + length) == bool(covered & set(range(lo, lo + length)))
    at = exclusion.first_fit(7, 0, 8192, length, 32)
    free = [x for x in range(0, 8192 - length + 1, 32) if not covered & set(range(x, x + length))]
    assert at == (free[0] if free else -1)


def test_todays_ladder_matches_cubecl_for_the_webgpu_default_device():
    device = Device()
    assert Sliced().ladder(device) == [(8 * MIB, 2 * MIB), (32 * MIB, 16 * MIB)]
    params = Sliced().parameters(device)
    assert params["exclusive"][1] == {"max_alloc_size": 128 * MIB, "dealloc_period": 5000}
    assert dealloc_period_for(1 << 30) == 10000
    assert dealloc_period_for(3 << 29) == 15000  # 2.5 rounds away from zero, as Rust does


def test_pr56_preset_sorts_pools_by_max_slice():
    assert SlicedPr56().ladder(Device()) == [(8 * MIB, 2 * MIB), (32 * MIB, 16 * MIB), (128 * MIB, 128 * MIB)]


def test_exclusive_pages_are_24_log_spaced_sizes_from_32_kib():
    sizes = ExclusivePages().sizes(Device())
    assert sizes[0] == 32 * KIB and sizes[-1] == 128 * MIB and len(sizes) == 24
    assert all(s % 256 == 0 for s in sizes) and sizes == sorted(set(sizes))


def test_size_classes_round_up_to_powers_of_two_from_the_alignment():
    pages = Pages()
    manager = SizeClass().manager(Device(), pages)
    got = [manager.reserve(s)[2] for s in (0, 1, 256, 257, 5000, 3 * MIB)]
    assert got == [256, 256, 256, 512, 8192, 4 * MIB]


def test_a_freed_slice_is_reused_at_once_unless_excluded():
    """CubeCL frees a slice when its last handle drops; the fix keeps queue-filled allocations off it."""
    for by_range in (False, True):
        manager = Sliced().manager(Device(), Pages())
        a = manager.reserve(1000)
        b = manager.reserve(1000)
        manager.free(*a[:2])
        assert manager.reserve(1000) == a
        manager.free(*a[:2])
        exclusion = Exclusion(by_range)
        exclusion.add(a[0], a[1], a[1] + 1000)
        again = manager.reserve(1000, exclusion)
        assert again != a
        if by_range:
            assert again[0] == a[0] and again[1] == b[1] + b[2], "the range fix stays on the page"
        else:
            assert again[0] != a[0], "PR 56 excludes the whole page"


def test_exclusive_pool_releases_pages_after_its_period_of_disuse():
    pages = Pages()
    manager = Sliced().manager(Device(max_page_size=128 * MIB), pages)
    big = manager.reserve(40 * MIB)
    manager.free(*big[:2])
    for _ in range(5000):
        manager.free(*manager.reserve(100)[:2])
    assert big[0] not in pages.size


def test_align_up():
    assert [align_up(x, 256) for x in (0, 1, 256, 257)] == [0, 256, 256, 512]
