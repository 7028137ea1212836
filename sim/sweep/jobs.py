"""One job of a sweep: a trace under one pool and one pass policy, run where it lands (a Dask worker or here).

A job carries the trace's path and digest, not its events: the worker reads the file itself, so no
trace passes through the scheduler, and keeps the last few it read (with the planner's lifted
program cached on each), so the policies of one trace mostly share one read. Whatever goes wrong
inside a job, the job returns its row with the error, never an exception: one bad job is one row.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from ...traces import Trace, load
from ...traces.errors import InputError
from ..check import check
from ..metrics import DEFAULT, Costs, simulate
from ..planner import plan
from .corpus import TraceFile, sha256_of
from .rows import check_columns, complete, metric_columns, replay_columns, reuse_key, sort_key

TRACES_KEPT = 4  # traces a worker keeps read: a sweep submits the jobs of a trace together


@lru_cache(maxsize=1)
def wgtrace_version() -> str:
    """The installed wgtrace's version (looked up once per process: the lookup reads package metadata)."""
    return version("wgtrace")


@dataclass(frozen=True)
class Settings:
    """What every job of a sweep computes beyond the simulator's metrics, and with which cost parameters."""

    check: bool = False
    replay: bool = False
    repeat: int = 1
    costs: Costs = DEFAULT

    def text(self) -> str:
        """The settings in a few words, with a digest of the cost parameters: part of a row's identity."""
        costs = hashlib.sha256(json.dumps(self.costs.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
        parts = ["sim"] + (["check"] if self.check else []) + ([f"replay(repeat={self.repeat})"] if self.replay else [])
        return "+".join(parts) + f"; costs {costs}"


@dataclass(frozen=True)
class Job:
    """A trace, a pool and a pass policy (names as the policies spell them), and what to compute."""

    trace: TraceFile
    pool: str
    passes: str
    settings: Settings = field(default_factory=Settings)
    version: str = field(default_factory=wgtrace_version)

    def identity(self) -> dict[str, Any]:
        """The columns that name a row: the trace, its content, the policies, the version and the settings."""
        return {"trace": self.trace.path, "trace_sha256": self.trace.sha256, "trace_events": self.trace.events,
                "cut_short": self.trace.cut_short, "pool": self.pool, "passes": self.passes,
                "wgtrace_version": self.version, "settings": self.settings.text()}

    @property
    def name(self) -> tuple[str, str, str]:
        """The job's row within its sweep (``rows.sort_key``)."""
        return sort_key(self.identity())

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """The row of an earlier sweep that stands for this job's (``rows.reuse_key``)."""
        return reuse_key(self.identity())


def jobs_for(traces: list[TraceFile], pools: list[str], passes: list[str], settings: Settings) -> list[Job]:
    """Every trace under every pool x pass policy."""
    return [Job(t, pool, p, settings) for t in traces for pool in pools for p in passes]


def failed(job: Job, error: str) -> dict[str, Any]:
    """The row of a job that failed: its identity and the error."""
    return complete({**job.identity(), "error": error})


def run_job(job: Job) -> dict[str, Any]:
    """The row of ``job``: the plan's metrics, and its check and replay when asked; or the error that stopped it."""
    row = job.identity()
    try:
        if wgtrace_version() != job.version:
            raise InputError(f"this worker runs wgtrace {wgtrace_version()}, the sweep {job.version}")
        trace = _trace(job.trace.location, job.trace.sha256)
        p = plan(trace, job.pool, job.passes)
        row.update(metric_columns(simulate(p, job.settings.costs)))
        if job.settings.check:
            row.update(check_columns(check(p)))
        if job.settings.replay:
            row.update(_replay(trace, job))
    except InputError as e:
        return failed(job, str(e))
    except Exception as e:  # whatever a job raises is its row's error, never a lost sweep
        return failed(job, f"{type(e).__name__}: {e}")
    return complete(row)


@lru_cache(maxsize=TRACES_KEPT)
def _trace(path: str, sha256: str) -> Trace:
    """The trace at ``path``, read once per worker while it is among the last few, if it still has ``sha256``."""
    found = sha256_of(path)
    if found != sha256:
        raise InputError(f"{path}: changed since the sweep began (SHA-256 {found[:12]}..., not {sha256[:12]}...)")
    return load(path, partial=True)


_GPU = threading.Lock()  # one replay at a time in a worker process: timings of replays sharing a device mean little


def _replay(trace: Trace, job: Job) -> dict[str, Any]:
    """Replay the job's plan on this worker's GPU; wgpu is imported only by sweeps that replay."""
    from ...replay.report import replay

    engine, adapter = _engine()
    with _GPU:
        report = replay(trace, engine, adapter=adapter, pool=job.pool, passes=job.passes, repeat=job.settings.repeat,
                        costs=job.settings.costs, label=f"{job.trace.path} {job.pool} {job.passes}")
    return replay_columns(report)


@lru_cache(maxsize=1)
def _engine() -> tuple[Any, str]:
    """This worker's device and replay engine, opened on its first replay and kept for the next."""
    from ...replay.device import adapter_name, open_device
    from ...replay.engine import Engine
    from ...replay.watchdog import DEFAULT_TIMEOUT_S

    device = open_device()
    return Engine(device, DEFAULT_TIMEOUT_S), adapter_name(device.adapter)
