"""GPU time of a replay: every command encoder bracketed by two timestamps, read back after the run.

The CPU model prices the calls a plan makes; what the device then spends running them is measured here.
A timestamp written into the encoder as it is created and another just before it is finished bound the
GPU time of its command buffer (its passes, copies and the barriers between them); command buffers of one
queue run one after another, so the spans of a run's command buffers add up to its GPU busy time, less
the queue's own uploads (``write_buffer``'s staging copies run in a command buffer wgpu makes) and the
idle gaps between submits. It needs ``timestamp-query`` and ``timestamp-query-inside-encoders``; the
writes cost the replaying thread a little CPU, so GPU runs are timed apart from CPU runs.

On a CPU adapter (lavapipe) the stamps are written but do not bracket the work: the same plan's whole-run
spans came out 0.6 ms in one round and 7 ms in another for ``nbody``, and 0.55 to 20 ms across the
policies of ``mlp_train_hazard``, whose kernels do not change. ``measures_work`` says which adapters to trust;
the others are timed by synchronised wall time (``sync_clock``), which ``method`` names.
"""

from __future__ import annotations

import numpy as np
import wgpu

QUERIES_PER_SET = 4096
FEATURES = ("timestamp-query", "timestamp-query-inside-encoders")


def available(device: wgpu.GPUDevice) -> bool:
    """Whether ``device`` can bracket encoders with timestamps: the features, and wgpu-py's encoder call for it."""
    return all(f in device.features for f in FEATURES) and hasattr(device.create_command_encoder(), "_write_timestamp")


def measures_work(device: wgpu.GPUDevice) -> bool:
    """Whether the stamps ``device`` writes measure its work: it can write them and is not a CPU adapter."""
    return available(device) and str(device.adapter.info.get("adapter_type", "")).lower() != "cpu"


def method(device: wgpu.GPUDevice) -> str:
    """How a GPU run on ``device`` is timed: ``timestamps`` where they measure its work, else ``synchronised``."""
    return "timestamps" if measures_work(device) else "synchronised"


class GpuClock:
    """Timestamps around each encoder of one run; ``spans_ns`` reads them back as each encoder's GPU time."""

    def __init__(self, device: wgpu.GPUDevice, encoders: int):
        self.device = device
        sets = -(-2 * encoders // QUERIES_PER_SET)
        self.sets = [device.create_query_set(type="timestamp", count=QUERIES_PER_SET) for _ in range(sets)]
        self.encoders = encoders
        self.ran: set[int] = set()

    def opened(self, encoder_id: int, encoder: wgpu.GPUCommandEncoder) -> None:
        q = 2 * encoder_id
        encoder._write_timestamp(self.sets[q // QUERIES_PER_SET], q % QUERIES_PER_SET)

    def closing(self, encoder_id: int, encoder: wgpu.GPUCommandEncoder) -> None:
        q = 2 * encoder_id + 1
        encoder._write_timestamp(self.sets[q // QUERIES_PER_SET], q % QUERIES_PER_SET)

    def submitting(self) -> None:
        """Nothing to do before a submit: the stamps are in the command buffers."""

    def submitted(self, encoder_ids: list[int]) -> None:
        self.ran.update(encoder_ids)

    def spans_ns(self) -> np.ndarray:
        """Each encoder's GPU nanoseconds (end minus start; 0 for one never submitted), after the run's work
        is done. Only submitted encoders' queries are resolved: on Vulkan a resolve waits for its queries to
        be written, and an unsubmitted encoder's never are."""
        out = np.zeros(self.encoders, dtype=np.int64)
        ids = np.array(sorted(self.ran), dtype=np.int64)
        if not len(ids):
            return out
        resolved = self.device.create_buffer(size=QUERIES_PER_SET * 8, usage=wgpu.BufferUsage.QUERY_RESOLVE |
                                             wgpu.BufferUsage.COPY_SRC)
        for first, last in _runs(ids, QUERIES_PER_SET // 2):
            q = 2 * first
            count = 2 * (last - first + 1)
            encoder = self.device.create_command_encoder()
            encoder.resolve_query_set(self.sets[q // QUERIES_PER_SET], q % QUERIES_PER_SET, count, resolved, 0)
            self.device.queue.submit([encoder.finish()])
            stamps = np.frombuffer(self.device.queue.read_buffer(resolved, 0, count * 8), dtype=np.uint64)
            pairs = stamps.astype(np.int64).reshape(-1, 2)
            out[first:last + 1] = np.maximum(pairs[:, 1] - pairs[:, 0], 0)
        resolved.destroy()
        return out

    def close(self) -> None:
        for query_set in self.sets:
            query_set.destroy()


def _runs(ids: np.ndarray, per_set: int) -> list[tuple[int, int]]:
    """``ids`` (sorted) as (first, last) runs of consecutive ids that do not cross a query set."""
    breaks = np.flatnonzero((np.diff(ids) != 1) | (ids[1:] // per_set != ids[:-1] // per_set)) + 1
    return [(int(run[0]), int(run[-1])) for run in np.split(ids, breaks)]
