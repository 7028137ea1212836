"""What ``wgtrace info`` reports: a trace summarised as plain data."""

from __future__ import annotations

import numpy as np

from .model import Trace
from .schema import Kind


def summarize(trace: Trace) -> dict:
    """Header, counts per event kind, buffers and bytes, commands, duration, how it ended."""
    args = trace.args
    creates = trace.where(Kind.BUFFER_CREATE)
    sizes = args[creates, 1]
    writes = trace.where(Kind.WRITE_BUFFER)
    mapped_writes = trace.where(Kind.MAPPED_WRITE)
    reads = trace.where(Kind.READ, Kind.QUEUE_READ)
    h = trace.header
    return {
        "format": f"{h['format']} {h['version'][0]}.{h['version'][1]}",
        "program": " ".join(map(str, h.get("program") or [])) or None,
        "start_time": h.get("start_time"),
        "wgpu_version": h.get("wgpu_version"),
        "implementation": _implementation_name(h.get("implementation")),
        "adapter": _adapter_name(h.get("adapter")),
        "capture": h.get("capture", {}).get("mode"),
        "events": len(trace),
        "counts": trace.counts(),
        "devices": trace.count_kind(Kind.DEVICE),
        "buffers": len(creates),
        "buffer_bytes": _total(sizes),
        "largest_buffer": int(sizes.max()) if len(sizes) else 0,
        "queue_writes": len(writes),
        "bytes_written": _total(args[writes, 2]) + _total(args[mapped_writes, 2]),
        "reads": len(reads),
        "bytes_read": _total(args[reads, 2]),
        "dispatches": trace.count_kind(Kind.DISPATCH) + trace.count_kind(Kind.DISPATCH_INDIRECT),
        "passes": trace.count_kind(Kind.PASS_BEGIN),
        "encoders": trace.count_kind(Kind.ENCODER_CREATE),
        "submits": trace.count_kind(Kind.SUBMIT),
        "duration_s": round(float(trace.t[-1] - trace.t[0]) / 1e9, 6) if len(trace) else 0.0,
        "end": trace.end,
        "cut_short": trace.cut_short,
    }


def _total(column: np.ndarray) -> int:
    """The exact sum of a column (Python integers: int64 sums wrap around)."""
    return sum(column.tolist())


def _implementation_name(implementation: dict | None) -> str | None:
    """Which WebGPU implementation recorded the trace, as "dawn 0.32.0.4" (None before the field existed)."""
    if not implementation:
        return None
    return " ".join(str(p) for p in (implementation.get("name"), implementation.get("version")) if p)


def _adapter_name(adapter: dict | None) -> str | None:
    if not adapter:
        return None
    parts = [adapter.get("device"), adapter.get("backend_type")]
    return " / ".join(str(p) for p in parts if p) or None


def bytes_text(n: int) -> str:
    """Bytes in binary units, for people."""
    x = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if x < 1024 or unit == "GiB":
            return f"{int(x)} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1024
    raise AssertionError("unreachable")



