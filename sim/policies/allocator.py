"""The protocol a pool policy implements: the allocator the planner drives through one plan.

A pool policy (a frozen dataclass subclassing ``PoolPolicy``; its fields are its parameters) builds
one ``Allocator`` per plan with ``manager(device, storage)``. The planner then calls, in program
order:

- ``reserve(size, exclude)`` when the program creates a pooled buffer: return ``(page, offset,
  reserved)``, a range of a page the allocator got from ``storage.alloc(bytes)``, at least ``size``
  bytes (``reserved``: what it sets aside, padding included), at an offset aligned for the device
  (``device.storage_alignment``; ``device.uniform_alignment`` for uniforms). ``exclude`` is None, or
  the storage the still-unsubmitted commands use and that this allocation must not take (an
  ``Exclusion``: ask ``exclude.blocks(page, lo, hi)``, or ``exclude.first_fit(...)`` for the lowest
  usable offset in a free range). The planner passes one when the allocation will be filled by a
  queue write under a policy's ``+fix``/``+fix-range``, and to every reservation of a policy with
  ``defers_reuse`` (its own rule).
- ``free(page, offset)`` after the allocation's last use: the range is free again (the allocator
  decides when it is reused; ``storage.dealloc(page)`` gives a page back).
- ``submitted()`` (optional) when every encoder holding commands has been submitted: for allocators
  that hold freed memory back until then, as onnxruntime's does until its next flush.

What the planner checks of every answer of a policy wgtrace does not ship (``sim/planner/guard.py``):
a page it made and still holds, the range inside it, aligned, not overlapping a live allocation,
clear of ``exclude``, a page no larger than the device's binding limit unless the allocation needs
it; and any exception the allocator raises. Each is a ``PolicyError`` naming the policy and the
allocation. (The pools wgtrace ships keep the same promises, proved by their tests.)
"""

from __future__ import annotations

from typing import Protocol

from .exclusion import Exclusion
from .pages import Reservation


class Allocator(Protocol):
    """What ``PoolPolicy.manager`` returns: one plan's pool state (see the module doc)."""

    def reserve(self, size: int, exclude: Exclusion | None) -> Reservation: ...

    def free(self, page: int, offset: int) -> None: ...
