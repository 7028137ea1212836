"""A CPU cost model: microseconds of host time per call of each kind a plan makes, summed over the plan.

The model is linear: a plan's ``features`` (how many calls of each term's kinds, and MiB for sized
calls) times the term's cost. The costs come either from a microbenchmark of raw wgpu-py
(``benchmarks/measure_costs.py``, one call at a time) or from a calibration: replays of real traces
under policies chosen to separate the terms, fitted (``calibration.py``, ``wgtrace calibrate``). The
default is the H100's per-call figures, shipped beside this module with their source; ``--costs
FILE`` takes another device's, or a calibration.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...traces import Kind, Trace
from ...traces.errors import InputError
from ..footprint.state import DRAWS

MIB = 1 << 20
KIB = 1 << 10


@dataclass(frozen=True)
class Term:
    """One cost parameter: microseconds per call of ``kinds``, or, for a sized term, per ``unit`` bytes of what
    each call carries (``amount``: bytes per event of a trace)."""

    name: str
    kinds: tuple[Kind, ...]
    amount: Callable[[Trace], np.ndarray] | None = None
    unit: int = MIB
    cold: bool = False

    @property
    def sized(self) -> bool:
        return self.amount is not None


def _call(name: str, *kinds: Kind) -> Term:
    return Term(name, kinds)


def _column(column: int) -> Callable[[Trace], np.ndarray]:
    return lambda trace: trace.args[:, column]


def _sized(name: str, kind: Kind, size: int = 2) -> tuple[Term, Term]:
    return Term(f"{name}_call", (kind,)), Term(f"{name}_per_mib", (kind,), _column(size))


# the modules each kind of pipeline compiles: the args columns holding them
_PIPELINE_MODULES = {Kind.COMPUTE_PIPELINE: (1,), Kind.RENDER_PIPELINE: (1, 2)}


def wgsl_bytes(trace: Trace) -> np.ndarray:
    """Per event, the bytes of WGSL it hands the compiler: a shader module its code, a pipeline its modules'.

    Compiling is most of what creating a module or a pipeline costs, and it grows with the shader: a count of
    pipelines alone charges pygfx's large shaders what a small compute kernel costs."""
    out = np.zeros(len(trace), dtype=np.int64)
    modules = trace.where(Kind.SHADER_MODULE)
    code = {int(trace.args[i, 0]): len(trace.strings[int(trace.args[i, 1])].encode()) for i in modules.tolist()}
    out[modules] = [code[int(trace.args[i, 0])] for i in modules.tolist()]
    for kind, columns in _PIPELINE_MODULES.items():
        for i in trace.where(kind).tolist():
            out[i] = sum(code.get(int(trace.args[i, c]), 0) for c in columns)
    return out


# the calls that record a command into an encoder or a pass
ENCODED = (Kind.PASS_BEGIN, Kind.PASS_END, Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH,
           Kind.DISPATCH_INDIRECT, Kind.COPY, Kind.CLEAR, Kind.RENDER_PASS_BEGIN, Kind.SET_VERTEX_BUFFER,
           Kind.SET_INDEX_BUFFER, *DRAWS, Kind.RENDER_STATE, Kind.EXECUTE_BUNDLES, Kind.COPY_BUFFER_TO_TEXTURE,
           Kind.COPY_TEXTURE_TO_BUFFER, Kind.COPY_TEXTURE_TO_TEXTURE, Kind.BEGIN_OCCLUSION_QUERY,
           Kind.END_OCCLUSION_QUERY, Kind.RESOLVE_QUERY_SET, Kind.WRITE_TIMESTAMP)


def commands_since(kind: Kind) -> Callable[[Trace], np.ndarray]:
    """Per event, for a call of ``kind`` (a finish, a submit) the commands it takes in: those recorded since the
    previous call of that kind.

    Finishing an encoder and submitting it walk what it recorded, so their cost grows with it: on lavapipe a
    submit costs 17 us where a flush-before-write policy submits a few commands at a time and 88 us where the same
    program submits a step's worth, and a finish 6 us against 14. (Encoders recorded side by side count as one. A
    trace larger than memory is read in windows cut where every encoder was submitted, so none splits them.)"""

    def amount(trace: Trace) -> np.ndarray:
        out = np.zeros(len(trace), dtype=np.int64)
        calls = trace.where(kind)
        if len(calls):
            out[calls] = np.diff(np.cumsum(np.isin(trace.kind, ENCODED))[calls], prepend=0)
        return out

    return amount


# compiling a shader or a pipeline: what the calls after it pay for in cold caches (``cold_calls``)
COMPILES = (Kind.SHADER_MODULE, Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE)


def cold_calls(kind: np.ndarray, warm: frozenset[int] = frozenset()) -> tuple[np.ndarray, frozenset[int]]:
    """Per event of ``kind``, whether it is the first call of its kind since the last compile (``COMPILES``), and
    the kinds called since the last compile once they are all made. ``warm``: the kinds called since the last
    compile before these events (a window of a longer trace goes on from the one before it).

    Compiling runs a compiler over megabytes (lavapipe compiles every pipeline to machine code on the CPU); the
    first call of each kind after it finds its code and data out of the caches. Timed one by one in the training
    replays of the shipped lavapipe calibration, such a call costs 1.1 to 4.5 times one of its kind later on (a
    submit 67 us against 24, a map 251 against 160); a program whose steady part is a few calls pays mostly that."""
    compile_ = np.isin(kind, COMPILES)
    segment = np.cumsum(compile_)
    order = np.argsort(kind, kind="stable")  # a radix sort of small integers: by kind, in order within each
    by_kind, its_segment = kind[order], segment[order]
    first = np.ones(len(kind), dtype=bool)
    first[1:] = (by_kind[1:] != by_kind[:-1]) | (its_segment[1:] != its_segment[:-1])
    out = np.zeros(len(kind), dtype=bool)
    out[order[first]] = True
    out &= ~compile_ & ~((segment == 0) & np.isin(kind, list(warm)))
    last = np.flatnonzero(compile_)
    after = kind[last[-1] + 1:] if len(last) else kind
    called = np.flatnonzero(np.bincount(after, minlength=max(Kind) + 1))
    return out, frozenset(called.tolist()) | (frozenset() if len(last) else warm)


def per_event(term: Term, trace: Trace, cold: np.ndarray) -> np.ndarray:
    """Per event of ``trace``, what ``term`` counts of it: a call of its kinds (1), or what the call carries for a
    sized term (in bytes, not ``unit``s), or for a cold term a call only where ``cold`` (``cold_calls``)."""
    mine = np.isin(trace.kind, term.kinds)
    if term.cold:
        return (mine & cold).astype(np.int64)
    return np.where(mine, term.amount(trace), 0) if term.amount is not None else mine.astype(np.int64)


def _with_cold(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    """``terms`` and, for each per-call term but a compile's, what one of its calls costs more when cold."""
    return terms + tuple(Term(f"{t.name}_cold", t.kinds, cold=True) for t in terms
                         if t.amount is None and not set(t.kinds) & set(COMPILES))


# every parameter of the model, in a fixed order (that of ``features`` and of a fit's columns)
TERMS: tuple[Term, ...] = _with_cold((
    _call("buffer_create", Kind.BUFFER_CREATE), Term("buffer_create_per_mib", (Kind.BUFFER_CREATE,), _column(1)),
    _call("buffer_destroy", Kind.BUFFER_DESTROY),
    _call("bind_group", Kind.BIND_GROUP), _call("encoder_create", Kind.ENCODER_CREATE),
    _call("encoder_finish", Kind.ENCODER_FINISH),
    Term("encoder_finish_per_command", (Kind.ENCODER_FINISH,), commands_since(Kind.ENCODER_FINISH), 1),
    _call("pass_begin", Kind.PASS_BEGIN),
    _call("pass_end", Kind.PASS_END), _call("set_pipeline", Kind.SET_PIPELINE),
    _call("set_bind_group", Kind.SET_BIND_GROUP), _call("dispatch", Kind.DISPATCH),
    _call("dispatch_indirect", Kind.DISPATCH_INDIRECT), _call("copy", Kind.COPY), _call("clear", Kind.CLEAR),
    _call("submit", Kind.SUBMIT), Term("submit_per_command", (Kind.SUBMIT,), commands_since(Kind.SUBMIT), 1),
    *_sized("write", Kind.WRITE_BUFFER), *_sized("mapped_write", Kind.MAPPED_WRITE),
    _call("unmap", Kind.UNMAP), _call("map", Kind.MAP), *_sized("read", Kind.READ),
    *_sized("queue_read", Kind.QUEUE_READ),
    _call("shader_module", Kind.SHADER_MODULE), Term("shader_module_per_kib", (Kind.SHADER_MODULE,), wgsl_bytes, KIB),
    _call("pipeline", Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE),
    Term("pipeline_per_kib", (Kind.COMPUTE_PIPELINE, Kind.RENDER_PIPELINE), wgsl_bytes, KIB),
    _call("layout", Kind.BIND_GROUP_LAYOUT, Kind.PIPELINE_LAYOUT),
    _call("texture_create", Kind.TEXTURE_CREATE), _call("texture_view", Kind.TEXTURE_VIEW),
    _call("texture_destroy", Kind.TEXTURE_DESTROY), _call("sampler", Kind.SAMPLER),
    _call("render_pass_begin", Kind.RENDER_PASS_BEGIN), _call("draw", *DRAWS),
    _call("set_vertex_or_index_buffer", Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER),
    _call("render_state", Kind.RENDER_STATE), _call("execute_bundles", Kind.EXECUTE_BUNDLES),
    _call("texture_copy", Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER, Kind.COPY_TEXTURE_TO_TEXTURE),
    *_sized("write_texture", Kind.WRITE_TEXTURE, size=1), *_sized("read_texture", Kind.READ_TEXTURE, size=1),
))
TERM_NAMES = tuple(t.name for t in TERMS)


@dataclass(frozen=True)
class Costs:
    """Host microseconds per call (per MiB, KiB of WGSL or command submitted, for a sized term) of each term of
    ``TERMS``, by name; a term no measurement covers costs 0. ``source`` says where the figures come from;
    ``calibration``, for a fitted model, the device, backend, date, command, each term's uncertainty and the fit's
    residuals."""

    source: str = ""
    values: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None

    def __getitem__(self, term: str) -> float:
        return self.values.get(term, 0.0)

    @classmethod
    def from_json(cls, text: str) -> Costs:
        """A JSON object of ``source``, term values (as measure_costs.py prints them or ``calibrate`` writes
        them) and optionally ``calibration``; other keys are ignored."""
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("expected a JSON object")
        terms = {}
        for name in TERM_NAMES:
            value = values.get(name, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a non-negative number of microseconds, not {value!r}")
            terms[name] = float(value)
        calibration = values.get("calibration")
        return cls(str(values.get("source", "")), terms, calibration if isinstance(calibration, dict) else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, **{name: self[name] for name in TERM_NAMES}}
        if self.calibration is not None:
            out["calibration"] = self.calibration
        return out


def features(trace: Trace, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Per term (in ``TERMS``' order), how many calls events ``start:stop`` make (cold ones, for a cold term), or
    how much they carry."""
    kind = trace.kind[start:stop]
    cold = cold_calls(trace.kind)[0]
    calls = np.bincount(kind, minlength=max(Kind) + 1)
    cold_ones = np.bincount(kind[cold[start:stop]], minlength=len(calls))
    out = np.zeros(len(TERMS))
    for j, term in enumerate(TERMS):
        if term.amount is not None:
            out[j] = int(term.amount(trace)[start:stop][np.isin(kind, term.kinds)].sum()) / term.unit
        else:
            out[j] = int((cold_ones if term.cold else calls)[list(term.kinds)].sum())
    return out


def predict(trace: Trace, costs: Costs | None = None) -> dict[str, float]:
    """Predicted host microseconds per term of the calls ``trace`` makes (terms it makes none of are left
    out; a call's ``_call`` and ``_per_mib`` parts are one entry without the suffix), and their ``total``."""
    return priced(features(trace), costs)


def event_costs(trace: Trace, costs: Costs | None = None) -> np.ndarray:
    """Predicted host microseconds of each event of ``trace``: what ``predict`` adds up, call by call."""
    costs = DEFAULT if costs is None else costs
    cold, _ = cold_calls(trace.kind)
    out = np.zeros(len(trace))
    for term in (t for t in TERMS if costs[t.name]):
        out += per_event(term, trace, cold) / (term.unit if term.sized else 1) * costs[term.name]
    return out


def priced(features: np.ndarray, costs: Costs | None = None) -> dict[str, float]:
    """``predict`` from a plan's ``features`` (a trace read window by window adds them up first)."""
    costs = DEFAULT if costs is None else costs
    out: dict[str, float] = {}
    for term, x in zip(TERMS, features.tolist(), strict=True):
        if x:
            key = term.name.split("_per_")[0].removesuffix("_cold").removesuffix("_call")
            out[key] = out.get(key, 0.0) + x * costs[term.name]
    out = {k: round(v, 3) for k, v in out.items()}
    out["total"] = round(sum(out.values()), 3)
    return out


def load_costs(path: str | os.PathLike | None) -> Costs:
    """Cost parameters from a JSON file (a calibration, or measure_costs.py's figures); the defaults when
    ``path`` is None."""
    if path is None:
        return DEFAULT
    try:
        with open(path) as f:
            return Costs.from_json(f.read())
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise InputError(f"{path}: not a JSON object of cost parameters ({e})") from None


# the shipped calibrations (benchmarks/refit_default.py makes them; their provenance is in the files), the first the
# default: an H100's
SHIPPED = tuple(Path(__file__).with_name(f"costs_{device}.json") for device in ("h100", "lavapipe"))
DEFAULT_FILE = SHIPPED[0]
DEFAULT = load_costs(DEFAULT_FILE)


def _device(adapter: str) -> str:
    return adapter.split(" (")[0].strip()


def for_adapter(adapter: str) -> Costs:
    """The shipped calibration measured on an adapter of this name (``llvmpipe (LLVM 15.0.6, 256 bits)`` matches
    any llvmpipe), else ``DEFAULT``: a replay predicts with the costs of the device it runs on where one ships."""
    for path in SHIPPED[1:]:
        costs = load_costs(path)
        if costs.calibration and _device(str(costs.calibration.get("adapter", ""))) == _device(adapter):
            return costs
    return DEFAULT
