"""Types of the re-recording loop's hot path in C (_loop.c)."""

from typing import Any

from ..policies.exclusion import Exclusion as _Exclusion

class Exclusion(_Exclusion):
    """sim/policies/exclusion.py's Exclusion in C: the same methods and answers (``ranges`` is not kept). Typed as
    that class, whose place it takes; not a subclass of it."""

def rerecord(loop: Any, codes: tuple[int, ...], trusted: type) -> None: ...

class Cache:
    """sim/policies/runtimes/buffer_cache.py's whole-buffer caches in C (see fast.twin)."""

    free_lists: dict[int, list[int]]
    def __init__(self, storage: Any, key_round: int, size_round: int, buckets: Any, limits: dict[int, int] | None,
                 deferred: bool) -> None: ...
    def reserve(self, size: int, exclude: Any = None) -> tuple[int, int, int]: ...
    def free(self, page: int, offset: int) -> None: ...
    def submitted(self) -> None: ...

class Caching:
    """sim/policies/runtimes/torch_caching.py's CachingAllocator in C (see fast.twin)."""

    def __init__(self, storage: Any, alignment: int, max_split_size: int | None, divisions: int) -> None: ...
    def reserve(self, size: int, exclude: Any = None) -> tuple[int, int, int]: ...
    def free(self, page: int, offset: int) -> None: ...
