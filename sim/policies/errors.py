"""The error a policy name raises: bad input, reported in one line with exit code 2."""

from __future__ import annotations

from ...traces.errors import InputError


class PolicyError(InputError):
    """An unknown or malformed pool or pass policy name."""
