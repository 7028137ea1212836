"""A package's public names, imported on first use (PEP 562's module ``__getattr__``).

A package whose ``__init__`` imports its whole API makes every import of any of its modules pay for
all of it: the command line's start-up above all. ``names(package, homes)`` returns the package's
``__getattr__``: a name is imported from its home module when first asked for, then kept.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def names(package: str, homes: dict[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for ``package``: each name of ``homes`` from its module (relative to ``package``)."""
    def load(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(homes[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    return load
