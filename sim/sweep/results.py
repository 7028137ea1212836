"""A sweep's rows as Parquet: one fixed schema, rows sorted, nothing in the file that differs between runs.

The file holds the rows and the schema (no pandas metadata, no timestamps), zstd-compressed, so
the same rows give the same bytes. It is written to a temporary file beside the target and moved
over it, so a sweep interrupted while writing leaves the previous file whole. Reading a file back
gives the rows a later sweep can reuse; a file of another schema (another wgtrace's columns) gives none.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ...traces.errors import InputError
from .rows import COLUMNS, sort_key

_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
          "costs": pa.map_(pa.string(), pa.float64()), "series": pa.list_(pa.int64())}
SCHEMA = pa.schema([pa.field(name, _TYPES[kind]) for name, kind in COLUMNS])
_MAPS = [name for name, kind in COLUMNS if kind == "costs"]


def table(rows: list[dict[str, Any]]) -> pa.Table:
    """The rows, sorted by trace, pool and pass policy, as a table of ``SCHEMA``."""
    ordered = sorted(rows, key=sort_key)
    columns = []
    for name, kind in COLUMNS:
        values = [row[name] for row in ordered]
        if kind == "costs":
            values = [None if v is None else sorted(v.items()) for v in values]
        columns.append(pa.array(values, type=_TYPES[kind]))
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def write(rows: list[dict[str, Any]], path: str) -> None:
    """Write the rows to ``path`` (atomically: a temporary file beside it, then renamed over it)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".sweep-", suffix=".parquet", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        pq.write_table(table(rows), tmp, compression="zstd")
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's owner-only
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read(path: str) -> list[dict[str, Any]]:
    """The rows of an earlier sweep at ``path``: none when there is no file or its columns are another version's."""
    if not os.path.exists(path):
        return []
    try:
        found = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"{path}: not the Parquet file of a sweep ({e}); name another output") from None
    if found.schema != SCHEMA:
        return []
    rows = found.to_pylist()
    for row in rows:
        for name in _MAPS:
            if row[name] is not None:
                row[name] = dict(row[name])
    return rows


def writable(path: str) -> None:
    """Refuse, before any job runs, an output whose folder is missing or cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{path}: a folder; name the Parquet file to write")
    if not os.path.isdir(folder):
        raise InputError(f"{path}: no folder {folder} to write it in")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{path}: cannot write in {folder}")

