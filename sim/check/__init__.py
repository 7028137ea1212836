"""The hazard checker: every registered rule over a whole plan, and what a clean result proves."""

from .driver import CheckResult, check
from .rule import Finding

__all__ = ["CheckResult", "Finding", "check"]
