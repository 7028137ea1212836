"""Make the shipped cost files again from the measured runs they were fitted on, with no GPU.

`sim/metrics/costs_h100.json` (the default) and `costs_lavapipe.json` are calibrations: replays measured
on an H100 (issue 21: `benchmarks/gpu_batch.sh OUT calibrate` and a render-only `wgtrace calibrate`) and
on lavapipe (issue 19), their runs and priors in `benchmarks/calibration/`, each fitted on the corpus
traces of ``FIT``, four random compute programs and, where the device's runs have them, time-stepping
programs and the random pygfx scenes of ``benchmarks/calibration/traces/`` (``RENDER``), and judged on
four corpus traces held out. This script makes the generated programs again (byte for byte the same),
fits the runs with this version's model and writes the files. Run it after
changing the cost model; `tests/test_calibrate.py` fails while a shipped file is not what it gives.

    python benchmarks/refit_default.py [--device h100|lavapipe] [-o FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from wgtrace.replay.calibrate import read_runs
from wgtrace.sim.workloads import random_program, time_steps
from wgtrace.traces.writer import save

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ROOT / "benchmarks" / "calibration"
# per device: its runs files, the microbenchmark figures they were fitted against, and runs with GPU rounds
# for the GPU-time model (timestamps on the H100, synchronised wall time on lavapipe)
DEVICES = {
    "h100": ((CALIBRATION / "h100" / "ninth_start" / "runs_compute.json",
              CALIBRATION / "h100" / "ninth_start" / "runs_render.json"),
             CALIBRATION / "h100" / "ninth_start" / "micro.json",
             (CALIBRATION / "h100" / "gpu_time" / "runs_compute.json",
              CALIBRATION / "h100" / "gpu_time" / "runs_render.json")),
    "lavapipe": (tuple(CALIBRATION / "lavapipe" / "cold" / f"runs_{k}.json" for k in "abcde"),
                 ROOT / "benchmarks" / "costs_lavapipe.json",
                 (CALIBRATION / "lavapipe" / "gpu_time" / "runs_compute.json",
                  CALIBRATION / "lavapipe" / "gpu_time" / "runs_render.json")),
}
CORPUS = ROOT / "traces" / "corpus"
FIT = ("mlp_train", "mlp_train_full", "prefix_sum", "frame_loop", "pygfx_scene")
HELD_OUT = ("image_filters", "nbody", "mlp_train_hazard", "fastplotlib_figure")
RANDOM = 4
STEPS = 2  # time-stepping programs (uploads once, then submits with none), fitted where a device's runs have them
# recorded on lavapipe: wgtrace record -o benchmarks/calibration/traces/pygfx_random_S.wgtrace --
#   python -m examples.pygfx_random --seed S --frames F, for S in 0..5 and F = 3 + 2 * (S % 3)
RENDER = tuple(CALIBRATION / "traces" / f"pygfx_random_{seed}.wgtrace" for seed in range(6))


def random_programs(directory: Path) -> list[Path]:
    """The random programs the calibrations train on, written into ``directory`` (the same bytes each time)."""
    paths = [directory / f"random_{seed}.wgtrace" for seed in range(RANDOM)]
    for seed, path in enumerate(paths):
        save(random_program.generate(1500 + 500 * seed, seed=seed), path)
    return paths


def time_stepping_programs(directory: Path) -> list[Path]:
    """The ``STEPS`` time-stepping programs a thirteenth H100 start also measured (not in the default training:
    BENCHMARKS.md says why), written into ``directory``."""
    paths = [directory / f"steps_{seed}.wgtrace" for seed in range(STEPS)]
    for seed, path in enumerate(paths):
        save(time_steps.generate(40 + 40 * seed, seed=seed), path)
    return paths


def refit(output: Path, device: str = "h100") -> subprocess.CompletedProcess:
    """Fit ``device``'s committed runs into ``output``; the recorded command names the generated traces by how
    they are made rather than by a temporary path."""
    runs, prior, gpu_runs = DEVICES[device]
    measured = read_runs([str(p) for p in runs])["provenance"]["traces"]
    with tempfile.TemporaryDirectory() as tmp:
        made = random_programs(Path(tmp)) + time_stepping_programs(Path(tmp))
        generated = [str(p) for p in made if p.name in measured]
        corpus = [str(CORPUS / f"{name}.wgtrace") for name in FIT] + [str(p) for p in RENDER if p.name in measured]
        held = [str(CORPUS / f"{name}.wgtrace") for name in HELD_OUT]
        run = subprocess.run([sys.executable, "-m", "wgtrace.traces", "calibrate", *corpus, *generated, "--holdout",
                              *held, "--prior", str(prior), "--runs", *map(str, runs),
                              *(["--gpu-runs", *map(str, gpu_runs)] if gpu_runs else []), "-o", str(output)],
                             capture_output=True, text=True)
        if run.returncode == 0:
            costs = json.loads(output.read_text())
            command = costs["calibration"]["command"].replace(f"{tmp}/", "<random_program.generate>/")
            costs["calibration"]["command"] = command.replace(f"{ROOT}/", "")
            output.write_text(json.dumps(costs, indent=1, sort_keys=True) + "\n")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=sorted(DEVICES), default="h100")
    parser.add_argument("-o", "--output", type=Path, help="default: sim/metrics/costs_DEVICE.json")
    args = parser.parse_args()
    run = refit(args.output or ROOT / "sim" / "metrics" / f"costs_{args.device}.json", args.device)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
