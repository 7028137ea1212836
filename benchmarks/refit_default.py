"""Make the shipped default cost file again from the measured runs it was fitted on, with no GPU.

`sim/metrics/costs_h100.json` is a calibration (issue 21): the replays measured on an H100 through
`benchmarks/gpu_batch.sh OUT calibrate` and a render-only `wgtrace calibrate` (their runs and the
microbenchmark prior are in `benchmarks/calibration/h100/`), fitted on nine traces, judged on four
held out. This script makes the four random programs again (they are generated, byte for byte the
same), fits those runs with this version's model and writes the file. Run it after changing the cost
model; `tests/test_calibrate.py` fails while the shipped file is not what it gives.

    python benchmarks/refit_default.py [-o sim/metrics/costs_h100.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from wgtrace.sim.workloads.random_program import generate
from wgtrace.traces.writer import save

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "calibration" / "h100"
CORPUS = ROOT / "traces" / "corpus"
FIT = ("mlp_train", "mlp_train_full", "prefix_sum", "frame_loop", "pygfx_scene")
HELD_OUT = ("image_filters", "nbody", "mlp_train_hazard", "fastplotlib_figure")
RANDOM = 4


def refit(output: Path) -> subprocess.CompletedProcess:
    """Fit the committed runs into ``output``; the recorded command names the generated traces by how they are
    made rather than by a temporary path."""
    with tempfile.TemporaryDirectory() as tmp:
        generated = []
        for seed in range(RANDOM):
            path = Path(tmp) / f"random_{seed}.wgtrace"
            save(generate(1500 + 500 * seed, seed=seed), path)
            generated.append(str(path))
        corpus = [str(CORPUS / f"{name}.wgtrace") for name in FIT]
        held = [str(CORPUS / f"{name}.wgtrace") for name in HELD_OUT]
        run = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", *corpus, *generated, "--holdout",
                              *held, "--prior", str(RUNS / "micro.json"), "--runs", str(RUNS / "runs_compute.json"),
                              str(RUNS / "runs_render.json"), "-o", str(output)], capture_output=True, text=True)
        if run.returncode == 0:
            costs = json.loads(output.read_text())
            command = costs["calibration"]["command"].replace(f"{tmp}/", "<random_program.generate>/")
            costs["calibration"]["command"] = command.replace(f"{ROOT}/", "")
            output.write_text(json.dumps(costs, indent=1, sort_keys=True) + "\n")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "sim" / "metrics" / "costs_h100.json")
    args = parser.parse_args()
    run = refit(args.output)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
