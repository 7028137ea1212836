"""What a replay costs: the plan's own figures (from the simulator) and timings over repeats.

Memory, counts and the predicted CPU cost come from ``sim.metrics.simulate`` on the plan itself, not from
the device: the engine creates exactly the buffers the plan names, so those figures are exact and
the same on every adapter, and the prediction can be set against what the replay measured.
Timings are summarised by the median and the range over repeats. Render work has figures of its own
(render passes, draws, textures and their bytes, texture uploads and copies, frames), counted from
the plan's events.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..sim.footprint.formats import block
from ..sim.metrics import DEFAULT, Costs, simulate
from ..sim.plan import Plan
from ..traces import Kind, Trace
from .render import frames, has_render

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
    out["costs"] = costs.source
    out.update(render_figures(plan.trace))
    return out


def render_figures(trace: Trace) -> dict[str, int]:
    """Counts of a plan's render and texture work (all 0 for compute on buffers)."""
    def count(*kinds: Kind) -> int:
        return int(len(trace.where(*kinds)))

    render = has_render(trace)
    return {
        "render_passes": count(Kind.RENDER_PASS_BEGIN),
        "draws": count(Kind.DRAW, Kind.DRAW_INDEXED, Kind.DRAW_INDIRECT, Kind.DRAW_INDEXED_INDIRECT),
        "bundles": count(Kind.BUNDLE_FINISH), "bundle_executions": count(Kind.EXECUTE_BUNDLES),
        "textures": count(Kind.TEXTURE_CREATE), "texture_bytes": texture_bytes(trace) if render else 0,
        "texture_writes": count(Kind.WRITE_TEXTURE),
        "texture_bytes_written": int(trace.args[trace.where(Kind.WRITE_TEXTURE), 1].sum()),
        "texture_copies": count(Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER,
                                Kind.COPY_TEXTURE_TO_TEXTURE),
        "texture_reads": count(Kind.READ_TEXTURE), "queries_resolved": count(Kind.RESOLVE_QUERY_SET),
        "timestamp_writes": count(Kind.TIMESTAMP_WRITES, Kind.WRITE_TIMESTAMP),
        "frames": len(frames(trace)[0]) if render else 0,
    }


def texture_bytes(trace: Trace) -> int:
    """Bytes of every texture the plan creates: each mip level's blocks, times layers and samples."""
    total = 0
    for i in trace.where(Kind.TEXTURE_CREATE).tolist():
        w, h, d, fmt = (int(x) for x in trace.args[i, 1:5])
        mips, samples, dimension = (int(x) for x in trace.rows_of(i)[0, :3])
        b = block(trace.strings[fmt])
        if b is None:
            continue
        for level in range(max(mips, 1)):
            lw, lh = max(w >> level, 1), max(h >> level, 1)
            depth = max(d >> level, 1) if dimension == 3 else d
            total += -(-lw // b.width) * -(-lh // b.height) * b.bytes * depth * max(samples, 1)
    return total


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
