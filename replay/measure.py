"""What a replay costs: the plan's own figures (from the simulator) and timings over repeats.

Memory, counts and the predicted CPU cost come from ``sim.metrics.simulate`` on the plan itself, not from
the device: the engine creates exactly the buffers the plan names, so those figures are exact and
the same on every adapter, and the prediction can be set against what the replay measured.
Timings are summarised by the median and the range over repeats.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..sim.metrics import DEFAULT, Costs, simulate
from ..sim.plan import Plan
from ..traces import Kind

_FIGURES = ("events", "buffers_created", "peak_reserved_bytes", "peak_in_use_bytes", "passes_begun", "encoders",
            "submits", "dispatches", "copies", "clears", "queue_writes", "bytes_written", "mapped_writes",
            "staged_bytes", "reads", "bytes_read", "bind_groups")


def figures(plan: Plan, costs: Costs = DEFAULT) -> dict[str, Any]:
    """The plan's counts and memory, the events replay skips, and the cost model's predicted CPU time."""
    metrics = simulate(plan, costs)
    out: dict[str, Any] = {k: getattr(metrics, k) for k in _FIGURES}
    out["created_bytes"] = int(plan.trace.args[plan.trace.where(Kind.BUFFER_CREATE), 1].sum())
    out["opaque"] = plan.trace.count_kind(Kind.OPAQUE)
    out["predicted_cpu_s"] = metrics.cost_us.get("total", 0.0) / 1e6
    return out


def spread(values: list[float]) -> dict[str, float]:
    """Median, minimum and maximum of a non-empty list."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], Callable[[int], None] | None]]:
    """Yields ``part(n)``: the progress callback for the next ``n`` events of ``total``.

    A rich bar on stderr for long replays on a terminal; otherwise every part is ``None``, so the
    engine's loop does not even call a no-op.
    """
    if total < 100_000 or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        done = [0]

        def part(n: int) -> Callable[[int], None]:
            base = done[0]
            done[0] += n
            return lambda k: bar.update(task, completed=base + k)

        yield part
