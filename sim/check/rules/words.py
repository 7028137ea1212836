"""How the rules name bytes and uses in their messages, kept in one place so every rule words them alike."""

from __future__ import annotations

from ...footprint import Use


def byte_span(lo: int, hi: int) -> str:
    """The half-open range [lo, hi) as people count bytes: "bytes 0-63"."""
    return f"bytes {lo}-{hi - 1}"


# How a command touches bytes, said of a command that still will: "which still reads bytes 0-63".
STILL = {Use.UNKNOWN: "uses", Use.UNIFORM: "reads (as a uniform)", Use.READ_ONLY_STORAGE: "reads",
         Use.STORAGE: "reads and writes", Use.INDIRECT: "reads (as indirect arguments)",
         Use.COPY_SRC: "copies from", Use.COPY_DST: "copies into", Use.CLEAR: "clears"}
# How a command writes bytes: "which writes them".
WRITES = {Use.UNKNOWN: "may write", Use.STORAGE: "writes", Use.COPY_DST: "copies into", Use.CLEAR: "clears"}
# A binding's usage, as WebGPU's usage scopes name it: "as a uniform".
USAGE = {Use.UNIFORM: "a uniform", Use.READ_ONLY_STORAGE: "read-only storage", Use.STORAGE: "writable storage",
         Use.INDIRECT: "indirect arguments"}
