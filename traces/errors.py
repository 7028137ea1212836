"""Errors that mean bad input: reported to the user in one line, with exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input of any kind (a file, a policy name, an argument): one line that says what and where."""


class TraceError(InputError):
    """A trace that cannot be read or is not well formed.

    The message always says where: a byte offset in the file, or an event index with its kind
    and the field at fault.
    """

    def __init__(self, message: str, *, event: int | None = None, offset: int | None = None):
        super().__init__(message)
        self.event = event
        self.offset = offset
