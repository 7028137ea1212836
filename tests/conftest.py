"""Fixtures the GPU tests share: a device on the machine's adapter, and a replay engine.

The compute program they share is a plain module, gpu_program.py, so that tests (and the child
pytest of the plugin's tests) can import it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wgpu

from wgtrace.replay.device import open_device
from wgtrace.replay.engine import Engine

from gpu_program import request_device


@pytest.fixture
def device() -> wgpu.GPUDevice:
    """A device of the test's own, made before the test body: a recording the test starts adopts it."""
    return request_device()


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """One replay engine (one device) for all of a test module's replays; after 60 s without progress
    its watchdog ends the test process instead of letting it hang."""
    engine = Engine(open_device(), timeout=60)
    yield engine
    engine.close()
