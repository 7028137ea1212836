"""The render examples (pygfx, fastplotlib) recorded as users record them, in a separate process.

Each example is run twice, plainly and under ``wgtrace record``: recording must not change a single pixel (the
per-frame digests it prints match), the trace must load and validate, every call must be recorded as what it is
(no OPAQUE notes: render passes, textures and the rest have their own event kinds), and ``wgtrace check`` must
model the trace without failing on it. Skipped where pygfx or fastplotlib is not installed (``pip install -e
'.[render]'``, which ``.[test]`` includes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from wgtrace.traces import Kind, Trace, load, validate

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120

# example module -> the packages it cannot run without
EXAMPLES = {
    "pygfx_scene": ("pygfx",),
    "fastplotlib_figure": ("pygfx", "fastplotlib"),
}


@dataclass
class Runs:
    """One example run plainly and under ``wgtrace record``."""

    module: str
    plain: subprocess.CompletedProcess
    recorded: subprocess.CompletedProcess
    trace_path: Path
    seconds: dict[str, float]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", "/tmp")
    env["RENDERCANVAS_FORCE_OFFSCREEN"] = "1"
    return env


def _run(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=TIMEOUT)
    return out, time.perf_counter() - start


def _frames(out: subprocess.CompletedProcess) -> list[str]:
    return [line for line in out.stdout.splitlines() if line.startswith("frame ")]


def _check_recorded(runs: Runs) -> None:
    """The recorded run exited 0 and the recorder reported no error of its own (it does not change the exit code)."""
    out = runs.recorded
    assert out.returncode == 0 and "recorder error" not in out.stderr, f"exit {out.returncode}: {out.stderr[-3000:]}"


def _opaque(trace: Trace) -> Counter[str]:
    return Counter(trace.event(int(i))["name"] for i in trace.where(Kind.OPAQUE))


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def runs(request, tmp_path_factory) -> Runs:
    module = request.param
    for package in EXAMPLES[module]:
        reason = f"examples/{module}.py needs {package}: pip install -e '.[render]'"
        if package == "fastplotlib":
            # importing fastplotlib picks a rendercanvas backend for the whole process, and fails without a GUI
            # toolkit unless RENDERCANVAS_FORCE_OFFSCREEN is set: look for it without importing it here
            if importlib.util.find_spec(package) is None:
                pytest.skip(reason)
        else:
            pytest.importorskip(package, reason=reason)
    trace_path = tmp_path_factory.mktemp(module) / f"{module}.wgtrace"
    plain, t_plain = _run([sys.executable, "-m", f"examples.{module}"])
    recorded, t_rec = _run([sys.executable, "-m", "wgtrace.traces", "record", "-o", str(trace_path), "--",
                            "python", "-m", f"examples.{module}"])
    return Runs(module, plain, recorded, trace_path, {"plain": t_plain, "record": t_rec})


def test_recording_leaves_every_frame_unchanged(runs):
    assert runs.plain.returncode == 0, runs.plain.stderr
    _check_recorded(runs)
    frames = _frames(runs.plain)
    assert len(frames) >= 2, runs.plain.stdout
    assert len(set(frames)) == len(frames), f"frames should differ from one another: {frames}"
    assert _frames(runs.recorded) == frames
    print(f"{runs.module}: plain {runs.seconds['plain']:.1f} s, recorded {runs.seconds['record']:.1f} s")


def test_trace_loads_and_validates(runs):
    _check_recorded(runs)
    trace = load(runs.trace_path)
    validate(trace, runs.module)
    assert trace.end == {"exit_code": 0, "events": len(trace)}
    for kind in (Kind.RENDER_PIPELINE, Kind.TEXTURE_CREATE, Kind.WRITE_BUFFER, Kind.SUBMIT):
        assert trace.count_kind(kind) > 0, f"{runs.module}: no {kind.name} events"


def test_every_call_is_recorded_as_itself(runs):
    _check_recorded(runs)
    trace = load(runs.trace_path)
    opaque = _opaque(trace)
    listing = ", ".join(f"{name} x{n}" for name, n in opaque.most_common())
    assert trace.count_kind(Kind.OPAQUE) == 0, f"{runs.module}: {sum(opaque.values())} OPAQUE events: {listing}"


def test_checker_models_the_trace(runs):
    _check_recorded(runs)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "wgtrace.traces", "check", str(runs.trace_path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=TIMEOUT)
    seconds = time.perf_counter() - start
    assert out.returncode in (0, 1), f"wgtrace check exited {out.returncode}: {out.stderr[-2000:]}"
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["stats"]["commands"] > 0, result["stats"]
    print(f"{runs.module}: check {seconds:.1f} s, stats {result['stats']}")
