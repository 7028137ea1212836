"""wgpu runs for real here: an adapter, one compute dispatch, the result read back."""

from __future__ import annotations

import numpy as np

from gpu_program import double


def test_one_compute_dispatch_reads_back(device):
    values = np.arange(1000, dtype=np.uint32)
    np.testing.assert_array_equal(double(device, values), values * 2)
