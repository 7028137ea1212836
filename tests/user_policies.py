"""Policies of a user's own, as a runtime author writes them: what the plug-in tests load by reference.

``Bucketed`` is a sound pool with a parameter; ``Reckless`` reuses a freed buffer at once and takes
no exclusion (the hazard the seed's fix exists for); ``Overlapping``, ``Misaligned``, ``Huge`` and
``Raising`` each break one promise of the Allocator protocol, which the planner's guard must name;
``Fickle`` plans one program two ways, which the conformance kit must notice.
``EveryFew`` is a pass policy with a parameter, ``Replaying`` one that claims what it cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from wgtrace.sim.policies import Device, Exclusion, PassPolicy, PoolPolicy, Reservation, Storage, Upload
from wgtrace.sim.policies.pass_policies import StagingCopy

KIB = 1024


class BucketAllocator:
    """Power-of-two buckets from 256 bytes, one buffer each; a freed buffer goes back to its bucket's list,
    which holds at most ``keep`` buffers (the rest are given back)."""

    def __init__(self, storage: Storage, keep: int, honour_exclusion: bool):
        self.storage, self.keep, self.honour = storage, keep, honour_exclusion
        self.free_lists: dict[int, list[int]] = {}
        self.bucket_of: dict[int, int] = {}

    def reserve(self, size: int, exclude: Exclusion | None) -> Reservation:
        bucket = max(256, 1 << max(size - 1, 0).bit_length())
        for page in reversed(self.free_lists.get(bucket, [])):
            if not (self.honour and exclude is not None and exclude.blocks(page, 0, max(size, 1))):
                self.free_lists[bucket].remove(page)
                return page, 0, bucket
        page = self.storage.alloc(bucket)
        self.bucket_of[page] = bucket
        return page, 0, bucket

    def free(self, page: int, offset: int) -> None:
        kept = self.free_lists.setdefault(self.bucket_of[page], [])
        if len(kept) < self.keep:
            kept.append(page)
        else:
            del self.bucket_of[page]
            self.storage.dealloc(page)


@dataclass(frozen=True)
class Bucketed(PoolPolicy):
    """Sound: power-of-two buckets, at most ``keep`` free buffers per bucket, the exclusion honoured."""

    keep: int = 8

    def manager(self, device: Device, storage: Storage) -> BucketAllocator:
        return BucketAllocator(storage, self.keep, honour_exclusion=True)


@dataclass(frozen=True)
class Reckless(PoolPolicy):
    """Unsafe: a freed buffer is reused by the next request of its bucket, whatever the exclusion says."""

    def manager(self, device: Device, storage: Storage) -> BucketAllocator:
        return BucketAllocator(storage, keep=64, honour_exclusion=False)


class OneBigPage:
    """Every allocation at offset ``step * n`` of one page; ``step`` decides what breaks."""

    def __init__(self, storage: Storage, step: int, page_size: int):
        self.page = storage.alloc(page_size)
        self.step, self.n = step, 0

    def reserve(self, size: int, exclude: Exclusion | None) -> Reservation:
        self.n += 1
        return self.page, self.step * (self.n - 1), size

    def free(self, page: int, offset: int) -> None:
        """Nothing is ever reused."""


@dataclass(frozen=True)
class Overlapping(PoolPolicy):
    """Every allocation at offset 0 of one page: live allocations overlap."""

    def manager(self, device: Device, storage: Storage) -> OneBigPage:
        return OneBigPage(storage, 0, 64 * KIB)


@dataclass(frozen=True)
class Misaligned(PoolPolicy):
    """Allocations 4 bytes apart: offsets off the device's alignment."""

    def manager(self, device: Device, storage: Storage) -> OneBigPage:
        return OneBigPage(storage, 4, 64 * KIB)


@dataclass(frozen=True)
class Huge(PoolPolicy):
    """A first page larger than the device's binding limit, for allocations that fit in it."""

    def manager(self, device: Device, storage: Storage) -> OneBigPage:
        return OneBigPage(storage, 64 * KIB, 2 * device.max_page_size)


class RaisingAllocator(OneBigPage):
    """Raises on its second reservation, as a pool with a bug does."""

    def reserve(self, size: int, exclude: Exclusion | None) -> Reservation:
        if self.n:
            raise RuntimeError("out of buckets")
        return super().reserve(size, exclude)


@dataclass(frozen=True)
class Raising(PoolPolicy):
    """An allocator that raises on its second reservation."""

    def manager(self, device: Device, storage: Storage) -> RaisingAllocator:
        return RaisingAllocator(storage, 64 * KIB, 64 * KIB)


@dataclass(frozen=True)
class EveryFew(PassPolicy):
    """A pass policy of one's own: one pass, a submit every ``max_tasks`` dispatches (``:N``) and before reads,
    the program's submits ignored, uploads staged."""

    honours_submits: ClassVar[bool] = False
    takes_count: ClassVar[bool] = True
    upload: Upload = StagingCopy()
    max_tasks: int = 4


@dataclass(frozen=True)
class Replaying(PassPolicy):
    """Wrong: claims to keep the program's own passes, which only as-recorded does."""

    records: ClassVar[bool] = True


@dataclass(frozen=True)
class Fickle(PoolPolicy):
    """Not deterministic: every other plan starts with a spare page, so the same program plans two ways."""

    plans: ClassVar[list[int]] = [0]

    def manager(self, device: Device, storage: Storage) -> BucketAllocator:
        self.plans[0] += 1
        if self.plans[0] % 2:
            storage.alloc(256)
        return BucketAllocator(storage, keep=8, honour_exclusion=True)
