"""Running a sweep's jobs: one after another in this process, or as tasks on a Dask cluster.

Either way each row goes to ``on_row`` as it arrives (for the progress bar and the checkpoints);
arrival order does not matter, rows are sorted when written. The cluster is a ``LocalCluster`` of
worker processes on this machine (the simulator holds the GIL: threads would not run jobs side by
side), or an existing one at a scheduler's address; the tasks are the same. A task that never
returns its row (its worker died, the cluster lost it) becomes a row with that error.
"""

from __future__ import annotations

import logging
import os
import uuid
from asyncio import CancelledError
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ...traces.errors import InputError
from .cli import CONNECT_TIMEOUT_S
from .jobs import Job, failed, run_job

Row = dict[str, Any]


def run_serial(jobs: list[Job], on_row: Callable[[Row], None]) -> None:
    """Every job here, in order: the reference a cluster's rows must equal."""
    for job in jobs:
        on_row(run_job(job))


@contextmanager
def cluster(scheduler: str | None = None, workers: int | None = None,
            timeout_s: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A Dask client: of the scheduler at ``scheduler`` (given ``timeout_s`` to answer), else of a LocalCluster
    of ``workers`` processes (one per CPU by default), closed on leaving."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout_s)
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(f"{scheduler}: cannot reach the Dask scheduler: {e}") from None
        with client:
            yield client
        return
    # no dashboard, so nobody reads the workers' statistical profiler: it samples each task's stack every 10 ms,
    # about 8% of a worker's CPU on jobs of a few milliseconds (benchmarks/bench_sweep.py)
    with (dask.config.set({"distributed.worker.profile.enabled": False}),
          LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs=logging.CRITICAL) as local, Client(local) as client):
        yield client


def run_on(client: Any, jobs: list[Job], on_row: Callable[[Row], None]) -> None:
    """Every job as a task of ``client``'s cluster, submitted in the order given (the scheduler starts them so)."""
    from dask.distributed import as_completed

    token = uuid.uuid4().hex[:12]  # keys of their own on a cluster other sweeps share
    keys = [f"wgtrace-sweep-{token}-{i}" for i in range(len(jobs))]
    by_key = dict(zip(keys, jobs, strict=True))
    futures = client.map(run_job, jobs, key=keys)
    # rows are fetched in the background as tasks finish: a round trip per row would cost as much as the task
    for future, row in as_completed(futures, with_results=True, raise_errors=False):
        if future.status != "finished":
            row = failed(by_key[future.key], f"the cluster lost this task: {_why(future)}")
        future.release()
        on_row(row)


def _why(future: Any) -> str:
    """What ended a task that returned no row."""
    try:
        error = future.exception()
    except CancelledError as e:  # a cancelled task raises its cancellation instead of returning it
        error = e
    return f"{type(error).__name__}: {error}"
