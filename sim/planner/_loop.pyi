"""Types of the re-recording loop's hot path in C (_loop.c)."""

from typing import Any

from ..policies.exclusion import Exclusion as _Exclusion

class Exclusion(_Exclusion):
    """sim/policies/exclusion.py's Exclusion in C: the same methods and answers (``ranges`` is not kept). Typed as
    that class, whose place it takes; not a subclass of it."""

def rerecord(loop: Any, codes: tuple[int, ...], trusted: type) -> None: ...
