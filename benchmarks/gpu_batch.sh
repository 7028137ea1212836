#!/usr/bin/env bash
# The GPU figures of BENCHMARKS.md, in one batch, on a machine with a real GPU (the H100 here).
# Usage: benchmarks/gpu_batch.sh OUTDIR [PART]   PART: bench (default), tracer, seed, seed-render, truth,
#   probe or calibrate
# Expects wgtrace importable (installed, or the wheel on PYTHONPATH) and a Vulkan driver.
# BACKEND=dawn runs truth and calibrate on Dawn (wgpudawn installed); ADAPTER picks the adapter by name;
# calibrate takes REPEAT (rounds, 15) and GPU_REPEAT (rounds timing the device, 0).
set -uo pipefail
out=${1:?output directory}
part=${2:-bench}
mkdir -p "$out"
py=${PYTHON:-python3}
adapter=${ADAPTER:-}
a=(); [ -n "$adapter" ] && a=(--adapter "$adapter")
b=("${a[@]}"); [ -n "${BACKEND:-}" ] && b+=(--backend "$BACKEND")
run() { echo "+ $*" >&2; "$@"; echo "rc=$? for $1 $2" >&2; }
if [ "$part" = bench ]; then
  run $py benchmarks/measure_costs.py --calls 200 --trials 5 >"$out/costs.json"
  run $py benchmarks/bench_tracer.py --repeats 9 --json "$out/tracer.json" >"$out/tracer.txt"
  run $py benchmarks/bench_replay.py "${a[@]}" --dispatches 20000 --repeat 7 --layout one-pass --json >"$out/replay_one_pass.json"
  run $py benchmarks/bench_replay.py "${a[@]}" --dispatches 20000 --repeat 7 --layout pass-per-dispatch --json >"$out/replay_ppd.json"
elif [ "$part" = tracer ]; then
  run $py benchmarks/bench_tracer.py --repeats 9 --json "$out/tracer.json" >"$out/tracer.txt"
elif [ "$part" = seed-render ]; then
  run $py benchmarks/bench_seed.py traces/corpus/frame_loop.wgtrace "${a[@]}" --repeat 10 --json >"$out/seed_render.json"
elif [ "$part" = seed ]; then
  c=(); [ -f "${COSTS:-$out/costs.json}" ] && c=(--costs "${COSTS:-$out/costs.json}")
  run $py benchmarks/bench_seed.py "${a[@]}" --repeat 10 "${c[@]}" --json >"$out/seed.json"
  # the same policies on a rendering program recorded with its data
  run $py benchmarks/bench_seed.py traces/corpus/frame_loop.wgtrace "${a[@]}" --repeat 10 "${c[@]}" --json \
    >"$out/seed_render.json"
  run $py benchmarks/bench_replay.py "${a[@]}" --dispatches 20000 --repeat 7 --layout one-pass --json >"$out/replay_one_pass.json"
elif [ "$part" = probe ]; then
  # which read-back after a render pass completes here, each in a child process with a time limit
  run $py benchmarks/readback_probe.py --timeout 15 >"$out/probe.txt" 2>&1
elif [ "$part" = calibrate ]; then
  # the cost model fitted on replays of the corpus, the random programs and the random pygfx scenes, judged
  # on held-out traces; the per-call microbenchmark of the same start is the prior. The render traces run in
  # a calibration of their own (a read-back after a render pass hangs on some starts, which ends the
  # process); every replay once per round, then GPU_REPEAT rounds timing the device (GPU time: 10)
  run $py benchmarks/measure_costs.py --calls 200 --trials 5 >"$out/micro.json"
  read -ra rand < <($py -c "import sys; sys.path.insert(0, 'benchmarks'); from refit_default import random_programs; \
from pathlib import Path; print(*random_programs(Path('$out')))")
  c=traces/corpus
  scenes=(benchmarks/calibration/traces/pygfx_random_*.wgtrace)
  common=(--repeat "${REPEAT:-15}" --gpu-repeat "${GPU_REPEAT:-0}" --prior "$out/micro.json" "${b[@]}")
  run timeout 300 $py -m wgtrace.traces calibrate $c/frame_loop.wgtrace $c/pygfx_scene.wgtrace "${scenes[@]}" \
    --holdout $c/fastplotlib_figure.wgtrace --timeout 12 "${common[@]}" -o "$out/costs_render.json" \
    --save-runs "$out/runs_render.json" >"$out/calibrate_render.txt"
  run timeout 400 $py -m wgtrace.traces calibrate $c/mlp_train.wgtrace $c/mlp_train_full.wgtrace $c/prefix_sum.wgtrace \
    "${rand[@]}" --holdout $c/image_filters.wgtrace $c/nbody.wgtrace $c/mlp_train_hazard.wgtrace --timeout 15 \
    "${common[@]}" -o "$out/costs_compute.json" --save-runs "$out/runs_compute.json" >"$out/calibrate_compute.txt"
  rm -f "$out"/random_*.wgtrace
else
  # TRUTH_PROCS processes of TRUTH_PROGRAMS random programs each (13 cases a program; kernels drawn in
  # render passes with probability --draws, 0.3 by default): 2 x 385 = 10,010 cases by default
  for s in $(seq 1 "${TRUTH_PROCS:-2}"); do
    run $py -m wgtrace.traces truth "${TRUTH_PROGRAMS:-385}" --seed "$s" "${b[@]}" --json >"$out/truth_$s.json" &
  done
  wait
fi
