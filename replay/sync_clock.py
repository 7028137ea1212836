"""GPU time where timestamps do not measure it: each submit timed from its call until the device is idle.

A CPU adapter (lavapipe) writes timestamps that do not bracket its work (``gpu_clock``), but it does finish
its work: waiting for the device after every submit and timing the submit from its call to the end of that
wait gives the wall time the device took for what was submitted (its kernels, draws, copies and the queue's
own uploads, which run in the same submit), plus the submit call and the wait's wake-up, which every submit
pays alike. This is synchronised wall time: it serialises the program, so it is measured in rounds apart
from the CPU runs, and only the sum over a run is a GPU time (a submit's span is credited to its last
command buffer).
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter_ns

import numpy as np
import wgpu


def waiter(device: wgpu.GPUDevice, fence: wgpu.GPUBuffer) -> Callable[[], object]:
    """A call that returns once the device has finished everything submitted: wgpu-native's blocking poll where
    there is one (wgpu-py 0.32's ``on_submitted_work_done`` fails on wgpu-native 0.32's callback type), else a
    4-byte read-back of ``fence``, which waits for the work before it."""
    poll_wait = getattr(device, "_poll_wait", None)
    if callable(poll_wait):
        return poll_wait
    return lambda: device.queue.read_buffer(fence, 0, 4)


class SyncClock:
    """Each submit's wall nanoseconds from its call until the device is idle, credited to its last encoder."""

    def __init__(self, wait: Callable[[], object], encoders: int):
        self.wait = wait
        self.spans = np.zeros(encoders, dtype=np.int64)
        self.start = 0

    def opened(self, encoder_id: int, encoder: wgpu.GPUCommandEncoder) -> None:
        """Nothing to write into the encoder."""

    def closing(self, encoder_id: int, encoder: wgpu.GPUCommandEncoder) -> None:
        """Nothing to write into the encoder."""

    def submitting(self) -> None:
        self.start = perf_counter_ns()

    def submitted(self, encoder_ids: list[int]) -> None:
        self.wait()
        if encoder_ids:
            self.spans[encoder_ids[-1]] += perf_counter_ns() - self.start

    def spans_ns(self) -> np.ndarray:
        return self.spans

    def close(self) -> None:
        """Nothing to release."""
