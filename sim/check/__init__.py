"""The hazard checker: every registered rule over a whole plan, and what a clean result proves.

``check``, ``CheckResult`` and ``Finding`` load on first use, so that importing a module of this package
(the rule registry, for the CLI's help) does not import the whole checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...traces import lazy

if TYPE_CHECKING:
    from .driver import CheckResult, check
    from .rule import Finding

_HOME = {"CheckResult": ".driver", "check": ".driver", "Finding": ".rule"}
__all__ = ["CheckResult", "Finding", "check"]
__getattr__ = lazy.names(__name__, _HOME)
