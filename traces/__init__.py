"""wgtrace.traces: the trace format (v1), its reader, writer and validation, and the corpus.

The reader's and the writer's names load on first use (``__getattr__``), so that a command that reads
and writes no trace (``wgtrace --help``) does not import them. ``validate`` is imported here, not
lazily: it is also the name of a submodule, which the reader imports, and the import would otherwise
bind the module over the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import lazy
from .errors import TraceError
from .model import Trace, TraceBuilder
from .schema import DEFAULT_LIMITS, SPECS, Access, BufferUsage, Kind, Obj
from .validate import validate

if TYPE_CHECKING:
    from .reader import TraceReader, load
    from .writer import TraceWriter, make_header, save

_HOME = {"TraceReader": ".reader", "load": ".reader", "TraceWriter": ".writer", "make_header": ".writer",
         "save": ".writer"}
__all__ = [
    "DEFAULT_LIMITS", "SPECS", "Access", "BufferUsage", "Kind", "Obj", "Trace", "TraceBuilder", "TraceError",
    "TraceReader", "TraceWriter", "load", "make_header", "save", "validate",
]
__getattr__ = lazy.names(__name__, _HOME)
