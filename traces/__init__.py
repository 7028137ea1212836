"""wgtrace.traces: the trace format (v1), its reader, writer and validation, and the corpus."""

from .errors import TraceError
from .model import Trace, TraceBuilder
from .reader import TraceReader, load
from .schema import DEFAULT_LIMITS, SPECS, Access, BufferUsage, Kind, Obj
from .validate import validate
from .writer import TraceWriter, make_header, save

__all__ = [
    "DEFAULT_LIMITS", "SPECS", "Access", "BufferUsage", "Kind", "Obj", "Trace", "TraceBuilder", "TraceError",
    "TraceReader", "TraceWriter", "load", "make_header", "save", "validate",
]
