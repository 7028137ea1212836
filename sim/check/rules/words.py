"""How the rules name bytes and uses in their messages, kept in one place so every rule words them alike."""

from __future__ import annotations

from ...footprint import Use


def byte_span(lo: int, hi: int) -> str:
    """The half-open range [lo, hi) as people count bytes: "bytes 0-63"."""
    return f"bytes {lo}-{hi - 1}"


# How a command touches bytes, said of a command that still will: "which still reads bytes 0-63".
STILL = {Use.UNKNOWN: "uses", Use.UNIFORM: "reads (as a uniform)", Use.READ_ONLY_STORAGE: "reads",
         Use.STORAGE: "reads and writes", Use.INDIRECT: "reads (as indirect arguments)",
         Use.COPY_SRC: "copies from", Use.COPY_DST: "copies into", Use.CLEAR: "clears",
         Use.VERTEX: "reads (as a vertex buffer)", Use.INDEX: "reads (as indices)", Use.SAMPLED: "samples",
         Use.STORAGE_TEXTURE_READ: "reads (as a storage texture)", Use.STORAGE_TEXTURE_WRITE: "writes",
         Use.STORAGE_TEXTURE_READ_WRITE: "reads and writes", Use.ATTACHMENT: "renders into",
         Use.ATTACHMENT_LOAD: "loads and renders into", Use.ATTACHMENT_READ_ONLY: "reads (as a read-only attachment)",
         Use.RESOLVE: "resolves into", Use.QUERY_RESOLVE: "resolves queries into"}
# How a command writes bytes: "which writes them".
WRITES = {Use.UNKNOWN: "may write", Use.STORAGE: "writes", Use.COPY_DST: "copies into", Use.CLEAR: "clears",
          Use.STORAGE_TEXTURE_WRITE: "writes", Use.STORAGE_TEXTURE_READ_WRITE: "writes",
          Use.ATTACHMENT: "renders into", Use.ATTACHMENT_LOAD: "renders into", Use.RESOLVE: "resolves into",
          Use.QUERY_RESOLVE: "resolves queries into"}
# A use, as WebGPU's usage scopes name it: "as a uniform".
USAGE = {Use.UNIFORM: "a uniform", Use.READ_ONLY_STORAGE: "read-only storage", Use.STORAGE: "writable storage",
         Use.INDIRECT: "indirect arguments", Use.VERTEX: "a vertex buffer", Use.INDEX: "an index buffer",
         Use.SAMPLED: "a sampled texture", Use.STORAGE_TEXTURE_READ: "a read-only storage texture",
         Use.STORAGE_TEXTURE_WRITE: "a write-only storage texture",
         Use.STORAGE_TEXTURE_READ_WRITE: "a read-write storage texture", Use.ATTACHMENT: "a render attachment",
         Use.ATTACHMENT_LOAD: "a render attachment", Use.ATTACHMENT_READ_ONLY: "a read-only depth-stencil attachment",
         Use.RESOLVE: "a resolve target"}
