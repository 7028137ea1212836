"""Pool policies: named, parameterised as CubeCL ships them, and their registry (``--pool NAME[+fix]``).

A policy object holds parameters only; ``manager`` builds the mutable pools (``pools.py``) for one
plan. The seed's fix is an option of every pooled policy: ``+fix`` excludes whole pages the open
encoder uses, ``+fix-range`` only their bytes (``exclusion.py``).

Sub-allocation also puts tensors that one dispatch binds differently on one page, which WebGPU's
usage scope forbids (rule H2: a page bound writable beside read-only or uniform). Two class-level
flags say whether a policy avoids that as CubeCL does since #814: ``read_write_bindings`` (the
planner binds every storage binding of a pooled buffer read-write) and ``separate_uniform_pool``
(allocations with UNIFORM usage take pages of their own pool instance, so no page holds both).

``PoolPolicy`` is also the public base of a user's own policy (``--pool package.module:Name``, see
``allocator.py`` for the protocol and ``registry.py`` for how names are found); the registry of
names is ``registry.py``, the allocators other runtimes use are in ``runtimes/``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .allocator import Allocator
from .device import KIB, MIB, Device, align_up
from .pages import Storage
from .parameters import text_of
from .pools import (
    BASE_DEALLOC_PERIOD,
    MIN_SIZE_NEEDED_TO_OFFSET,
    SIZE_CLASS_MIN_PAGE,
    SIZE_CLASS_SLOTS,
    ExclusiveMemoryPool,
    MemoryManagement,
    Pool,
    SizeClassPool,
    SlicedPool,
    SmallMemoryPool,
    dealloc_period_for,
)


@dataclass(frozen=True)
class PoolPolicy:
    """A named pool policy: parameters only. ``fix`` is "", "page" (``+fix``) or "range" (``+fix-range``).

    ``read_write_bindings`` and ``separate_uniform_pool`` (see the module doc) are False by default:
    true only for policies whose pages can hold several allocations and that must avoid H2.
    ``fixes``: the variants of the seed's fix worth listing for the policy (``pool_names``; any is accepted).
    ``defers_reuse``: the pool itself never hands out storage an unsubmitted command still uses (tfjs
    and onnxruntime hold such releases back until the submit): the planner passes it the exclusion on
    every reservation, and it takes no ``+fix``.

    A user's policy subclasses this as a frozen dataclass whose fields are its parameters, and
    implements ``manager`` (``allocator.py``). Its ``name`` may stay empty: it is then named by its
    reference, ``module:Class``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    pooled: ClassVar[bool] = True
    read_write_bindings: ClassVar[bool] = False
    separate_uniform_pool: ClassVar[bool] = False
    fixes: ClassVar[tuple[str, ...]] = ("", "page", "range")
    defers_reuse: ClassVar[bool] = False
    fix: str = ""

    @property
    def spec(self) -> str:
        """The name that gives this policy back: ``NAME[(parameters)][+fix|+fix-range]``."""
        name = self.name or f"{type(self).__module__}:{type(self).__qualname__}"
        return name + text_of(self, frozenset({"fix"})) + {"": "", "page": "+fix", "range": "+fix-range"}[self.fix]

    def parameters(self, device: Device) -> dict:
        """The parameters this policy takes on ``device``, in the names of the runtime it models; by default
        its fields and the alignment the planner requires of every offset."""
        fields = {k: v for k, v in vars(self).items() if k != "fix"}
        return {**fields, "alignment": device.binding_alignment}

    def manager(self, device: Device, storage: Storage) -> Allocator:
        """One plan's allocator, taking its pages from ``storage``."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement manager(device, storage)")


@dataclass(frozen=True)
class Exclusive(PoolPolicy):
    """A buffer per allocation, created and released where the program does: what a plain program does."""

    name: ClassVar[str] = "exclusive"
    summary: ClassVar[str] = "a buffer per allocation (the program's own buffers; also named as-recorded)"
    pooled: ClassVar[bool] = False

    def parameters(self, device: Device) -> dict:
        return {}

    def manager(self, device: Device, storage: Storage) -> MemoryManagement:
        raise TypeError("the exclusive policy keeps the program's own buffers; it has no pools")


@dataclass(frozen=True)
class Sliced(PoolPolicy):
    """CubeCL today (``MemoryConfiguration::Sliced``, ``build_pools``).

    A pool for zero-sized requests, a ladder of sliced pools (page ``max_page_size / 4^k`` down to
    below 32 MiB, slices up to page / 2^k), then exclusive pages up to ``max_page_size`` released
    after ``dealloc_period`` reservations. Alignment: ``min_uniform_buffer_offset_alignment``.
    Usage scopes as since cubecl #814 (commit d16a03013, "Fix memory corruption on wgpu"): storage
    bound read-write, metadata and scalars (uniforms) in a pool of their own.
    """

    name: ClassVar[str] = "sliced"
    summary: ClassVar[str] = "CubeCL today: sliced page ladder + exclusive tail pool"
    read_write_bindings: ClassVar[bool] = True
    separate_uniform_pool: ClassVar[bool] = True

    def ladder(self, device: Device) -> list[tuple[int, int]]:
        alignment = device.uniform_alignment
        current, base, rungs = device.max_page_size, 1, []
        while current >= 32 * MIB:
            current = align_up(current // 4, alignment)
            rungs.append((current, current // 2**base))
            base += 1
        return rungs[::-1]

    def parameters(self, device: Device) -> dict:
        max_alloc = device.max_page_size // device.uniform_alignment * device.uniform_alignment
        return {"alignment": device.uniform_alignment,
                "sliced": [{"page_size": p, "max_slice_size": s} for p, s in self.ladder(device)],
                "exclusive": [{"max_alloc_size": 0, "dealloc_period": None},
                              {"max_alloc_size": max_alloc, "dealloc_period": dealloc_period_for(max_alloc)}]}

    def manager(self, device: Device, storage: Storage) -> MemoryManagement:
        alignment = device.uniform_alignment
        max_alloc = device.max_page_size // alignment * alignment
        pools: list[Pool] = [ExclusiveMemoryPool(0, alignment, None)]
        pools += [SlicedPool(p, s, alignment) for p, s in self.ladder(device)]
        pools.append(ExclusiveMemoryPool(max_alloc, alignment, dealloc_period_for(max_alloc)))
        return MemoryManagement(pools, storage, cleanup=True)


@dataclass(frozen=True)
class SlicedPr56(PoolPolicy):
    """CubeCL at PR 56 (``DynamicMemoryManagementOptions::preset``), the seed's own pools.

    Chunks of ``max_page_size`` (rounded down to 8) with slices up to a chunk, then chunks of a
    quarter down to below 32 MiB with slices up to chunk / 2^(pools so far); pools tried in order
    of max slice, each a next-fit ring. Requests up to ``alignment`` bytes take a small chunk each.
    Alignment: ``min_storage_buffer_offset_alignment``. Nothing is ever released. Bindings keep the
    program's access and uniforms share pages with storage: the H2 of Burn #1996 that #814 fixed.
    """

    name: ClassVar[str] = "sliced-pr56"
    summary: ClassVar[str] = "CubeCL at PR 56: preset chunk ladder, next-fit rings, small-chunk pool"

    def ladder(self, device: Device) -> list[tuple[int, int]]:
        current = device.max_page_size // 8 * 8
        rungs = [(current, current)]
        while current >= 32 * MIB:
            current //= 4
            rungs.append((current, current // 2 ** len(rungs)))
        return sorted(rungs, key=lambda r: r[1])

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.storage_alignment,
                "small": {"chunk_size": device.storage_alignment},
                "sliced": [{"chunk_size": c, "slice_max_size": s} for c, s in self.ladder(device)]}

    def manager(self, device: Device, storage: Storage) -> MemoryManagement:
        alignment = device.storage_alignment
        pools: list[Pool] = [SmallMemoryPool(alignment)]
        pools += [SlicedPool(c, s, alignment, fit="next", near_full=False, min_offset_size=MIN_SIZE_NEEDED_TO_OFFSET)
                  for c, s in self.ladder(device)]
        return MemoryManagement(pools, storage, cleanup=False)


@dataclass(frozen=True)
class ExclusivePages(PoolPolicy):
    """CubeCL's ``MemoryConfiguration::ExclusiveMemoryPool``: 24 exclusive pools, sizes log-spaced.

    ``max_alloc_size`` from 32 KiB to ``max_page_size`` (aligned, duplicates dropped), each with
    ``dealloc_period = 5000 * round(1 + size / 1 GiB)``. CubeCL uses it for staging and uniforms.
    """

    name: ClassVar[str] = "exclusive-pages"
    summary: ClassVar[str] = "CubeCL ExclusiveMemoryPool: whole-buffer reuse in 24 log-spaced size pools"

    def sizes(self, device: Device) -> list[int]:
        lo, hi, n = math.log(32 * KIB), math.log(device.max_page_size), 24
        sizes: list[int] = []
        for i in range(n):
            size = align_up(int(math.exp(lo + (hi - lo) * i / (n - 1))), device.uniform_alignment)
            if not sizes or sizes[-1] != size:
                sizes.append(size)
        return sizes

    def parameters(self, device: Device) -> dict:
        return {"alignment": device.uniform_alignment,
                "exclusive": [{"max_alloc_size": s, "dealloc_period": dealloc_period_for(s)}
                              for s in self.sizes(device)]}

    def manager(self, device: Device, storage: Storage) -> MemoryManagement:
        pools: list[Pool] = [ExclusiveMemoryPool(s, device.uniform_alignment, dealloc_period_for(s))
                             for s in self.sizes(device)]
        return MemoryManagement(pools, storage, cleanup=True)


@dataclass(frozen=True)
class SizeClass(PoolPolicy):
    """Power-of-two buckets (not in CubeCL): each bucket up to ``max_slice_size`` cuts pages of its own.

    ``page_size`` and ``max_slice_size`` are the smallest rung of today's CubeCL ladder (8 MiB and
    2 MiB on a 128 MiB device); a page holds ``slots_per_page`` = 16 slots but is at least
    ``min_page_size`` = 64 KiB (our choice: a slab per bucket, small enough that many buckets stay
    cheap); ``dealloc_period`` is CubeCL's base 5000 reservations; slots align to the larger of the
    storage and uniform offset alignments, so any binding of a slot is legal. Usage scopes as CubeCL
    today (read-write storage bindings, uniforms in a pool of their own): chosen so that its plans
    are usable on a real GPU, where slots of one page bound differently in a dispatch are an H2.
    """

    name: ClassVar[str] = "size-class"
    summary: ClassVar[str] = "power-of-two buckets carved from shared pages"
    read_write_bindings: ClassVar[bool] = True
    separate_uniform_pool: ClassVar[bool] = True

    def shape(self, device: Device) -> tuple[int, int, int]:
        rungs = Sliced().ladder(device)
        page_size, max_slice = rungs[0] if rungs else (align_up(device.max_page_size, 256), device.max_page_size)
        return page_size, max_slice, device.binding_alignment

    def parameters(self, device: Device) -> dict:
        page_size, max_slice, alignment = self.shape(device)
        return {"page_size": page_size, "max_slice_size": max_slice, "alignment": alignment,
                "min_page_size": SIZE_CLASS_MIN_PAGE, "slots_per_page": SIZE_CLASS_SLOTS,
                "dealloc_period": BASE_DEALLOC_PERIOD}

    def manager(self, device: Device, storage: Storage) -> MemoryManagement:
        page_size, max_slice, alignment = self.shape(device)
        return MemoryManagement([SizeClassPool(page_size, max_slice, alignment, BASE_DEALLOC_PERIOD,
                                    min_page_size=SIZE_CLASS_MIN_PAGE, slots_per_page=SIZE_CLASS_SLOTS)],
                       storage, cleanup=True)
