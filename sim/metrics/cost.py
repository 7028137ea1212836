"""A CPU cost model: microseconds of host time per recorded call, summed over a plan.

Every parameter is the mean host time of one call (or one MiB) of raw wgpu-py, as measured by
``benchmarks/measure_costs.py``; that script prints a JSON object of exactly these fields, which
``Costs.from_json`` reads back. The defaults were measured on the H100 (``DEFAULT.source``);
``wgtrace sim --costs FILE`` takes another machine's figures, e.g. lavapipe's.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from ...traces import Kind, Trace
from ...traces.errors import InputError

MIB = 1 << 20


@dataclass(frozen=True)
class Costs:
    """Host microseconds per call, and per MiB where the bytes matter."""

    source: str = ("H100: NVIDIA H100 80GB HBM3, Vulkan, driver 580.159.04, wgpu-py 0.32.0, Python 3.12, via the "
                   "device tool; benchmarks/measure_costs.py --calls 200 --trials 5 (benchmarks/costs_h100.json)")
    buffer_create: float = 16.289
    buffer_destroy: float = 2.982
    bind_group: float = 52.692
    encoder_create: float = 9.268
    encoder_finish: float = 339.631
    pass_begin: float = 9.55
    pass_end: float = 2.806
    set_pipeline: float = 1.849
    set_bind_group: float = 3.179
    dispatch: float = 2.099
    dispatch_indirect: float = 2.081
    copy: float = 3.527
    clear: float = 3.078
    submit: float = 16.396
    write_call: float = 8.558
    write_per_mib: float = 269.84
    mapped_write_call: float = 6.12
    mapped_write_per_mib: float = 80.307
    unmap: float = 2.33
    map: float = 140.58
    read_call: float = 12.459
    read_per_mib: float = 97.164
    queue_read_call: float = 176.823
    queue_read_per_mib: float = 128.991

    @classmethod
    def from_json(cls, text: str) -> Costs:
        """Parameters as measure_costs.py prints them; fields it leaves out keep their defaults."""
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(cls)}
        for name, value in values.items():
            if name in known and name != "source" and (isinstance(value, bool) or not isinstance(value, int | float)
                                                         or not 0 <= value < math.inf):
                raise ValueError(f"{name} must be a non-negative number of microseconds, not {value!r}")
        return replace(cls(), **{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = Costs()

# kind -> (cost field per call, cost field per MiB or None)
_PER_KIND = {
    Kind.BUFFER_CREATE: ("buffer_create", None),
    Kind.BUFFER_DESTROY: ("buffer_destroy", None),
    Kind.BIND_GROUP: ("bind_group", None),
    Kind.ENCODER_CREATE: ("encoder_create", None),
    Kind.ENCODER_FINISH: ("encoder_finish", None),
    Kind.PASS_BEGIN: ("pass_begin", None),
    Kind.PASS_END: ("pass_end", None),
    Kind.SET_PIPELINE: ("set_pipeline", None),
    Kind.SET_BIND_GROUP: ("set_bind_group", None),
    Kind.DISPATCH: ("dispatch", None),
    Kind.DISPATCH_INDIRECT: ("dispatch_indirect", None),
    Kind.COPY: ("copy", None),
    Kind.CLEAR: ("clear", None),
    Kind.SUBMIT: ("submit", None),
    Kind.WRITE_BUFFER: ("write_call", "write_per_mib"),
    Kind.MAPPED_WRITE: ("mapped_write_call", "mapped_write_per_mib"),
    Kind.MAP: ("map", None),
    Kind.UNMAP: ("unmap", None),
    Kind.READ: ("read_call", "read_per_mib"),
    Kind.QUEUE_READ: ("queue_read_call", "queue_read_per_mib"),
}
_SIZED = (Kind.WRITE_BUFFER, Kind.MAPPED_WRITE, Kind.READ, Kind.QUEUE_READ)  # a2 holds the byte count


def predict(trace: Trace, costs: Costs = DEFAULT) -> dict[str, float]:
    """Predicted host microseconds per kind of call (names as in ``Costs``) and their ``total``."""
    counts = np.bincount(trace.kind, minlength=max(Kind) + 1)
    out: dict[str, float] = {}
    for kind, (per_call, per_mib) in _PER_KIND.items():
        n = int(counts[kind])
        if not n:
            continue
        us = n * getattr(costs, per_call)
        if per_mib is not None and kind in _SIZED:
            us += int(trace.args[trace.kind == kind, 2].sum()) / MIB * getattr(costs, per_mib)
        out[per_call.removesuffix("_call")] = round(us, 3)
    out["total"] = round(sum(out.values()), 3)
    return out


def load_costs(path: str | None) -> Costs:
    """Cost parameters from a JSON file as measure_costs.py prints it; the defaults when ``path`` is None."""
    if path is None:
        return DEFAULT
    try:
        with open(path) as f:
            return Costs.from_json(f.read())
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise InputError(f"{path}: not a JSON object of cost parameters ({e})") from None
