"""The writer a recording appends to: ``TraceWriter`` with its append cursors in slots.

``TraceWriter`` keeps the cursors of its journal (the next slot ``_epos``, the count ``_n``, where
the next slot or flush is due, the slots area ``_ev``) in its instance dict, where every event's
append reads five of them and writes two. Held in slots instead, the Python code reads and writes
them as before, and the C appender (``_fast.Appender``) finds each at a fixed offset of the object.
"""

from __future__ import annotations

from ..traces.writer import TraceWriter


class JournalWriter(TraceWriter):
    """A ``TraceWriter`` whose append cursors live in slots (see the module's docstring)."""

    __slots__ = ("_n", "_epos", "_elast", "_flush_due", "_ev")
