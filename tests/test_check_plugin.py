"""The pytest plugin on real tests: ``--wgpu-hazards`` and the ``wgpu_hazards`` fixture, on lavapipe.

Each case runs pytest in a subprocess on a small test file whose tests drive real wgpu, so that
the tracer's instrumentation never touches this process's own wgpu use.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
HERE = Path(__file__).resolve().parent

PROGRAM = '''
import numpy as np
from gpu_program import STORAGE, begin_double, request_device


def run(submit_first):
    device = request_device()
    x = device.create_buffer_with_data(data=np.zeros(64, dtype=np.uint32), usage=STORAGE)
    y = device.create_buffer(size=256, usage=STORAGE)
    encoder, compute = begin_double(device, x, y)
    compute.dispatch_workgroups(1)
    compute.end()
    if submit_first:
        device.queue.submit([encoder.finish()])
    device.queue.write_buffer(x, 0, np.ones(64, dtype=np.uint32))  # THE WRITE
    if not submit_first:
        device.queue.submit([encoder.finish()])
    device.queue.read_buffer(y)
'''
WRITE_LINE = PROGRAM.lstrip().splitlines().index(
    "    device.queue.write_buffer(x, 0, np.ones(64, dtype=np.uint32))  # THE WRITE") + 1


@pytest.fixture(autouse=True)
def shared_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child pytest runs in a folder of its own: it finds gpu_program.py through PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))


def test_option_fails_the_hazardous_test_and_passes_the_clean_one(pytester: pytest.Pytester):
    pytester.makepyfile(test_gpu=PROGRAM + '''

def test_hazard():
    run(submit_first=False)


def test_clean():
    run(submit_first=True)


def test_no_wgpu():
    assert True
''')
    result = pytester.runpytest_subprocess("--wgpu-hazards", "-p", "no:cacheprovider",
                                           "--wgpu-hazards-dir", str(pytester.path / "kept"))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*test_hazard*",
        "*wgpu hazard: 1 error(s) in this test's wgpu calls (H1)",
        f"*H1 write_buffer at test_gpu.py:{WRITE_LINE} lands before dispatch `double` at test_gpu.py:*, which still "
        "reads bytes 0-255 of the same storage",
        "*trace kept: *kept*test_hazard.wgtrace*",
    ])
    assert [p.name for p in (pytester.path / "kept").iterdir()] == ["test_gpu.py__test_hazard.wgtrace"]


def test_fixture_watches_only_the_test_that_asks(pytester: pytest.Pytester):
    pytester.makepyfile(test_gpu=PROGRAM + '''

def test_watched(wgpu_hazards):
    run(submit_first=False)


def test_unwatched():
    run(submit_first=False)


def test_watched_clean(wgpu_hazards):
    run(submit_first=True)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED test_gpu.py::test_watched - Failed: wgpu hazard: 1 error(s)*"])
