"""Whole-buffer caches: a buffer per allocation, freed buffers kept in lists keyed by size for reuse.

onnxruntime's, tfjs's and tinygrad's WebGPU allocators never cut one buffer into several
allocations; they differ only in the key and the size they give a request, and in when a freed
buffer may be reused. Each pops the most recently freed buffer of its key (a list used as a stack);
with an exclusion, the most recent one the exclusion does not block.
"""

from __future__ import annotations

from ..exclusion import Exclusion
from ..pages import Reservation, Storage


class BufferCache:
    """The shared part: ``key`` and ``buffer_size`` say how a request is cached and sized, ``released``
    where a freed buffer goes (its key's list, by default), ``submitted`` what a submit changes (nothing).

    ``size_of`` / ``key_of``: every buffer the cache holds (in use, free or pending) and its size and key.
    """

    def __init__(self, storage: Storage):
        self.storage = storage
        self.size_of: dict[int, int] = {}
        self.key_of: dict[int, int] = {}
        self.in_use: set[int] = set()
        self.free_lists: dict[int, list[int]] = {}

    def key(self, size: int) -> int:
        """The free list a request of ``size`` bytes takes from."""
        return size

    def buffer_size(self, size: int) -> int:
        """The size of the buffer a request of ``size`` bytes gets when none is free."""
        return size

    def reserve(self, size: int, exclude: Exclusion | None = None) -> Reservation:
        key = self.key(size)
        page = self.take(key, size, exclude)
        if page is None:
            made = self.buffer_size(size)
            page = self.storage.alloc(made)
            self.size_of[page], self.key_of[page] = made, key
        self.in_use.add(page)
        return page, 0, self.size_of[page]

    def take(self, key: int, size: int, exclude: Exclusion | None) -> int | None:
        """The most recently freed buffer of ``key`` that ``exclude`` allows, off its list; None if none."""
        stack = self.free_lists.get(key)
        if not stack:
            return None
        k = len(stack) - 1
        if exclude is not None:
            blocks, need = exclude.blocks, max(size, 1)
            while k >= 0 and blocks(stack[k], 0, need):
                k -= 1
        return stack.pop(k) if k >= 0 else None

    def free(self, page: int, offset: int) -> None:
        self.in_use.discard(page)
        self.released(page)

    def released(self, page: int) -> None:
        """A freed buffer: reusable at once, by default."""
        self.free_lists.setdefault(self.key_of[page], []).append(page)

    def submitted(self) -> None:
        """Every encoder holding commands has been submitted: nothing changes, by default."""

    def drop(self, page: int) -> None:
        """Give a buffer back to the device."""
        self.storage.dealloc(page)
        del self.size_of[page], self.key_of[page]

    def reserved_bytes(self) -> int:
        return sum(self.size_of.values())

    def live(self) -> list[tuple[int, int, int]]:
        return sorted((page, 0, self.size_of[page]) for page in self.in_use)
