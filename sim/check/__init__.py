"""The hazard checker: every registered rule over a whole plan, and what a clean result proves.

``check``, ``CheckResult`` and ``Finding`` load on first use, so that importing a module of this package
(the rule registry, for the CLI's help) does not import the whole checker.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .driver import CheckResult, check
    from .rule import Finding

_HOME = {"CheckResult": ".driver", "check": ".driver", "Finding": ".rule"}
__all__ = ["CheckResult", "Finding", "check"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOME[name], __name__), name)
    globals()[name] = value
    return value
