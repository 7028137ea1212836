"""The planner's guard on a pool policy: every answer checked against the protocol, every exception worded.

A pool policy may be a user's own (``--pool package.module:Name``), and a wrong answer would surface
far from its cause: as a crash deep in the planner, or as a plan whose hazards are the pool's bugs
rather than the program's. So the planner draws on every pool only through a ``Guard``, which is
also the ``Storage`` the pool takes its pages from, and checks what ``sim/policies/allocator.py``
promises: a reservation is (page, offset, reserved) on a page the pool made and still holds, lies
inside it, reserves at least the size asked for, is aligned for the allocation's usage on this
device, overlaps no live allocation, and avoids what the exclusion blocks; a page is given back only
when nothing lives on it, and is no larger than the device's binding limit unless the allocation it
is made for is larger still. Each breach, and any exception the pool raises, is a ``PolicyError``
naming the policy, what it did and the allocation (its size and the program's line that created it).

The pools wgtrace ships (``registry.POOLS``) are not checked here: tests/test_sim_pools.py proves the
same promises of each on random reservations, and checking every reservation of every plan would
cost the planner about half its time again. They are called through ``Trusted``, which only forwards.
"""

from __future__ import annotations

import operator
from bisect import bisect_right, insort
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from ...traces import BufferUsage
from ..policies import Device, Exclusion, PolicyError, PoolPolicy
from ..policies.pages import Reservation, Storage
from ..policies.registry import shipped
from . import fast
from .kinds import UNIFORM

STORAGE = int(BufferUsage.STORAGE)
WRITE_ALIGNMENT = 4  # copies and writes: offsets multiples of 4
T = TypeVar("T")


class Guard:
    """One plan's view of its pool policy: the Storage it is given, and the bookkeeping the checks need.

    ``page_size``: every page the pool holds; ``placed[b]``: where live allocation b is (page, offset,
    size); ``starts[page]``: the sorted offsets of its live non-empty ranges, ``ends[page, offset]``
    their ends and owners; ``on_page[page]``: how many live allocations it holds. ``reserving``: the
    allocation being reserved (its pages are checked against its size). ``checked``: False for a pool
    wgtrace ships, whose allocators the guard only forwards to (``Trusted``).
    """

    def __init__(self, policy: PoolPolicy, device: Device, storage: Storage, usage: np.ndarray,
                 where: Callable[[int], str]):
        self.spec, self.device, self.storage, self.where = policy.spec, device, storage, where
        self.policy = policy
        self.checked = not shipped(policy)
        storage_align = np.where((usage & STORAGE) != 0, device.storage_alignment, WRITE_ALIGNMENT)
        uniform_align = np.where((usage & UNIFORM) != 0, device.uniform_alignment, WRITE_ALIGNMENT)
        self.alignment: list[int] = np.maximum(storage_align, uniform_align).tolist()
        self.uniform: list[bool] = ((usage & UNIFORM) != 0).tolist()
        self.page_size: dict[int, int] = {}
        self.placed: dict[int, tuple[int, int, int]] = {}
        self.starts: dict[int, list[int]] = {}
        self.ends: dict[tuple[int, int], tuple[int, int]] = {}
        self.on_page: dict[int, int] = {}
        self.reserving: tuple[int, int] | None = None
        self.allocators: list[GuardedAllocator | Trusted] = []

    # -- what the pool calls: the Storage protocol --------------------------------------------------

    def alloc(self, size: int) -> int:
        n = self._integer(size, "asked storage.alloc for a page of")
        if n < 0:
            raise self.error(f"asked storage.alloc for a page of {n} bytes")
        limit = self.device.max_page_size
        if n > limit and (self.reserving is None or self.reserving[1] <= limit):
            why = "outside any reservation" if self.reserving is None else "for an allocation that fits in it"
            raise self.error(f"made a page of {n:,} bytes, over the device's binding limit "
                             f"(max-storage-buffer-binding-size {limit:,}), {why}")
        page = self.storage.alloc(n)
        self.page_size[page] = n
        self.on_page[page] = 0
        return page

    def dealloc(self, page: int) -> None:
        if page not in self.page_size:
            raise self.error(f"gave back page {page}, which it does not hold")
        if self.on_page[page]:
            b = next(b for b, placed in self.placed.items() if placed[0] == page)
            raise self.error(f"gave back page {page} while {self.where(b)} still lives on it")
        self.storage.dealloc(page)
        del self.page_size[page], self.on_page[page]
        self.starts.pop(page, None)

    # -- what the planner calls -------------------------------------------------------------------

    def manager(self) -> GuardedAllocator | Trusted:
        """The policy's allocator for this plan (``PoolPolicy.manager``), behind the guard (a shipped pool's
        drawing pages from the planner itself)."""
        if not self.checked:
            trusted = Trusted(fast.twin(self.policy.manager(self.device, self.storage)))
            self.allocators.append(trusted)
            return trusted
        allocator = self.call(lambda: self.policy.manager(self.device, self), "building its allocator")
        for method in ("reserve", "free"):
            if not callable(getattr(allocator, method, None)):
                raise self.error(f"manager() returned {type(allocator).__name__}, which has no {method}() "
                                 f"(see wgtrace.sim.policies.Allocator)")
        guarded = GuardedAllocator(self, allocator)
        self.allocators.append(guarded)
        return guarded

    def submitted(self) -> None:
        """Every encoder holding commands has been submitted: tell the allocators that want to know."""
        for allocator in self.allocators:
            allocator.submitted()

    def call(self, fn: Callable[[], T], doing: str, b: int | None = None) -> T:
        """``fn()``, an exception it raises worded as a PolicyError (one the guard raised passes as it is)."""
        try:
            return fn()
        except PolicyError:
            raise
        except Exception as e:
            text = str(e).splitlines()[0] if str(e) else ""
            raise self.error(f"raised {type(e).__name__}{': ' + text if text else ''} while {doing}", b) from e

    def error(self, what: str, b: int | None = None) -> PolicyError:
        if b is None and self.reserving is not None:
            b = self.reserving[0]
        return PolicyError(f"pool policy {self.spec}: {what}" + (f", for {self.where(b)}" if b is not None else ""))

    # -- the checks ---------------------------------------------------------------------------------

    def admit(self, b: int, size: int, exclude: Exclusion | None, got: Any) -> Reservation:
        """Check reservation ``got`` for allocation ``b`` and record it live."""
        try:
            page, offset, reserved = (operator.index(x) for x in got)
        except (TypeError, ValueError):
            raise self.error(f"reserve() returned {got!r}, not (page, offset, reserved bytes)", b) from None
        if page not in self.page_size:
            raise self.error(f"reserve() returned page {page}, which it never made with storage.alloc or has "
                             f"given back", b)
        room = self.page_size[page]
        if offset < 0 or reserved < size or offset > room - reserved:
            raise self.error(f"reserve() returned {reserved:,} bytes at offset {offset:,} of page {page} "
                             f"({room:,} bytes) for {size:,} bytes: not a range of the page at least that large", b)
        align = self.alignment[b]
        if offset % align:
            kind = "uniform" if self.uniform[b] else "storage" if align > WRITE_ALIGNMENT else "copy"
            raise self.error(f"reserve() returned offset {offset:,} on page {page}, not a multiple of the device's "
                             f"{kind} offset alignment {align}", b)
        end = offset + size
        if exclude is not None and exclude.blocks(page, offset, max(end, offset + 1)):
            raise self.error(f"reserve() ignored the exclusion: bytes {offset:,}-{max(end, offset + 1) - 1:,} of "
                             f"page {page} are still used by commands not yet submitted", b)
        if end > offset:
            self._take_range(b, page, offset, end)
        self.placed[b] = (page, offset, size)
        self.on_page[page] += 1
        return page, offset, reserved

    def release(self, b: int) -> None:
        """Allocation ``b`` is given back: its range is free."""
        page, offset, size = self.placed.pop(b)
        self.on_page[page] -= 1
        if size:
            starts = self.starts[page]
            del starts[bisect_right(starts, offset) - 1]
            del self.ends[page, offset]

    def _take_range(self, b: int, page: int, lo: int, hi: int) -> None:
        """Record [lo, hi) of ``page`` as allocation ``b``'s, refusing an overlap with a live one."""
        starts = self.starts.setdefault(page, [])
        i = bisect_right(starts, lo)
        for j in (i - 1, i):
            if 0 <= j < len(starts):
                other_hi, other = self.ends[page, starts[j]]
                if starts[j] < hi and lo < other_hi:
                    raise self.error(f"reserve() returned bytes {lo:,}-{hi - 1:,} of page {page}, which overlap "
                                     f"bytes {starts[j]:,}-{other_hi - 1:,} of {self.where(other)}, still live", b)
        insort(starts, lo)
        self.ends[page, lo] = (hi, b)

    def _integer(self, value: Any, what: str) -> int:
        try:
            return operator.index(value)
        except TypeError:
            raise self.error(f"{what} {value!r} bytes, not an integer") from None


class GuardedAllocator:
    """A pool's allocator as the planner calls it: through the guard, with the allocation it is for."""

    def __init__(self, guard: Guard, allocator: Any):
        self.guard = guard
        self.allocator = allocator
        self.hook: Callable[[], None] | None = getattr(allocator, "submitted", None)

    def reserve(self, b: int, size: int, exclude: Exclusion | None) -> Reservation:
        guard = self.guard
        guard.reserving = (b, size)
        got = guard.call(lambda: self.allocator.reserve(size, exclude), "reserving", b)
        guard.reserving = None
        return guard.admit(b, size, exclude, got)

    def free(self, b: int, page: int, offset: int) -> None:
        self.guard.release(b)
        self.guard.call(lambda: self.allocator.free(page, offset), f"freeing bytes at offset {offset:,} of page "
                                                                  f"{page}", b)

    def submitted(self) -> None:
        if self.hook is not None:
            self.guard.call(self.hook, "told of a submit")


class Trusted:
    """A shipped pool's allocator as the planner calls it: forwarded, unchecked (see the module doc)."""

    def __init__(self, allocator: Any):
        self.allocator = allocator
        self.hook: Callable[[], None] | None = getattr(allocator, "submitted", None)

    def reserve(self, b: int, size: int, exclude: Exclusion | None) -> Reservation:
        return self.allocator.reserve(size, exclude)

    def free(self, b: int, page: int, offset: int) -> None:
        self.allocator.free(page, offset)

    def submitted(self) -> None:
        if self.hook is not None:
            self.hook()
