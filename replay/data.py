"""The bytes each write of a plan puts on the device.

A write carries its recorded payload when the trace has one of the right size (looked up on the
plan event, then on the source event it realises). Otherwise it gets deterministic synthetic
bytes keyed by ``(seed, source event)``: the key is the SOURCE event (``plan.origin``), not the
position in the plan, so one logical write carries the same bytes under every policy and a
policy's reads can be compared byte for byte with the program-order reference.

A texture upload (``write_texture``) is a write like the others: its recorded bytes (those from
the data layout's offset on), else synthetic ones keyed the same way.

Synthetic bytes are random, except for buffers the program created as uniform or indirect
buffers: those get zeros. They steer control flow (sizes, loop bounds, workgroup counts), and
random values there make a kernel loop billions of times or dispatch billions of workgroups.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..sim.plan import Plan
from ..traces import BufferUsage, Kind, Trace
from ..traces.errors import InputError
from ..traces.schema import KIND_NAMES
from ..traces.summary import bytes_text

BUFFER_WRITES = (Kind.WRITE_BUFFER, Kind.MAPPED_WRITE)
WRITES = (*BUFFER_WRITES, Kind.WRITE_TEXTURE)
# where a write's size and payload blob are: buffer writes (buffer, offset, size, payload, ...); texture
# writes (texture, size, payload, ...)
_SIZE = {int(Kind.WRITE_BUFFER): 2, int(Kind.MAPPED_WRITE): 2, int(Kind.WRITE_TEXTURE): 1}
STEERING_USAGE = int(BufferUsage.UNIFORM | BufferUsage.INDIRECT)
_INSERTED_KEY = 1 << 40  # keys for writes a policy inserted (no source event), apart from source keys


@dataclass(eq=False)
class Payloads:
    """``data[plan event]`` for every write; how many came from the recording and how many were made up."""

    data: dict[int, bytes]
    recorded: int
    synthetic: int


def synthetic(seed: int, key: int, size: int) -> bytes:
    """``size`` deterministic bytes for the write keyed ``key``: same seed and key, same bytes."""
    return np.random.default_rng([seed, key]).integers(0, 256, size, dtype=np.uint8).tobytes()


def payloads(plan: Plan, seed: int = 0) -> Payloads:
    """The bytes of every write of ``plan``, made before the replay starts so that no run times them."""
    trace, source = plan.trace, plan.source
    _refuse_oversized(trace)
    usage = source.args[source.where(Kind.BUFFER_CREATE), 2]
    data: dict[int, bytes] = {}
    recorded = 0
    for i in trace.where(*WRITES).tolist():
        size = int(trace.args[i, _SIZE[int(trace.kind[i])]])
        src = int(plan.origin[i])
        blob = _blob(trace, i, size)
        if blob is None and src >= 0:
            blob = _blob(source, src, size)
        if blob is not None:
            recorded += 1
        elif src >= 0 and source.kind[src] in BUFFER_WRITES and usage[source.args[src, 0]] & STEERING_USAGE:
            blob = bytes(size)
        else:
            blob = synthetic(seed, src if src >= 0 else _INSERTED_KEY + i, size)
        data[i] = blob
    return Payloads(data, recorded, len(data) - recorded)


def host_memory() -> int:
    """Bytes of physical memory on this machine (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _refuse_oversized(trace: Trace) -> None:
    """InputError, before a byte is made: a buffer write larger than its buffer (wgpu would refuse it, after
    the bytes were made), or writes that together need more host memory than half of this machine's."""
    writes = trace.where(*BUFFER_WRITES)
    sizes = trace.args[trace.where(Kind.BUFFER_CREATE), 1]
    size, buffer = trace.args[writes, 2], trace.args[writes, 0]
    past = np.flatnonzero(size > sizes[buffer] - np.minimum(trace.args[writes, 1], sizes[buffer]))
    if len(past):
        i = int(writes[past[0]])
        raise InputError(f"event {i} ({KIND_NAMES[int(trace.kind[i])]} at {trace.site_of(i)}): writes "
                         f"{bytes_text(int(trace.args[i, 2]))} at offset {int(trace.args[i, 1])} of buffer "
                         f"{int(trace.args[i, 0])}, which holds {bytes_text(int(sizes[trace.args[i, 0]]))}")
    total = sum(int(trace.args[i, _SIZE[int(trace.kind[i])]]) for i in trace.where(*WRITES).tolist())
    memory = host_memory()
    if memory and total > memory // 2:
        raise InputError(f"the plan's writes carry {bytes_text(total)}, more than half of this machine's "
                         f"{bytes_text(memory)}: replay makes every write's bytes before it starts")


def _blob(trace: Trace, i: int, size: int) -> bytes | None:
    k = int(trace.kind[i])
    if k not in _SIZE:
        return None
    b = int(trace.args[i, _SIZE[k] + 1])
    if b < 0 or b >= len(trace.blobs) or len(trace.blobs[b]) != size:
        return None
    return trace.blobs[b]
