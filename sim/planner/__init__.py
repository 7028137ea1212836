"""The planner: a trace, a pool policy and a pass policy in; the physical program (a ``Plan``) out."""

from .core import plan

__all__ = ["plan"]
