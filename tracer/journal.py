"""The writer a recording appends to: ``TraceWriter`` with its append cursors out of its instance dict.

``TraceWriter`` keeps the cursors of its journal (the next slot ``_epos``, the count ``_n``, where
the next slot or flush is due, the next row ``_rpos`` and how far rows fit, the slots and rows areas
``_ev`` and ``_rows_mm``) in its instance dict, where every event's append reads five of them and
writes two. With the C extension, the integers live in the C base ``_fast.Cursors`` as C integers,
which the C appender (``_fast.Appender``) reads and writes in place (no int object made per event),
and the areas in slots, at fixed offsets of the object; the Python code reads and writes them all as
before. Without it they are slots too, for the same code.
"""

from __future__ import annotations

from ..traces.writer import TraceWriter
from .sites import FAST

_CURSORS: tuple[type, ...] = () if FAST is None else (FAST.Cursors,)
_AREAS = ("_ev", "_rows_mm")
_SLOTS = _AREAS if FAST is not None else ("_n", "_epos", "_elast", "_flush_due", "_rpos", "_rlimit", *_AREAS)


class JournalWriter(TraceWriter, *_CURSORS):  # type: ignore[misc]  # the C base where it was built
    """A ``TraceWriter`` whose append cursors live outside its dict (see the module's docstring)."""

    __slots__ = _SLOTS
