#!/usr/bin/env bash
# `make demo`: the main job end to end. Record the bundled eager training program, check it as it
# ran and under the seed's policies, replay it on this machine's GPU (lavapipe without one) under
# the policy before CubeCL PR 56 and the one it introduced, and compare them.
set -uo pipefail
cd "$(dirname "$0")/.."
wgtrace=${WGTRACE:-.venv/bin/wgtrace}
python=${PYTHON:-.venv/bin/python}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p out
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "1. record the program, unmodified, with its data" \
  "$wgtrace" record -o out/mlp_train.wgtrace --data full -- "$python" -m examples.mlp_train || exit 1
step "2. what it did" "$wgtrace" info out/mlp_train.wgtrace || exit 1
step "3. check the program as it ran: clean" "$wgtrace" check out/mlp_train.wgtrace || exit 1
step "4. re-planned with CubeCL's pages, a pass per 16 dispatches and write_buffer uploads, no fix: hazards" \
  "$wgtrace" check out/mlp_train.wgtrace --pool exclusive-pages --pass max-tasks:16 --limit 2
[ $? -eq 1 ] || { echo "expected the unfixed policy to be flagged"; exit 1; }
step "5. the same with the seed's exclusion fix: clean" \
  "$wgtrace" check out/mlp_train.wgtrace --pool exclusive-pages+fix --pass max-tasks:16 || exit 1
step "6. replay before PR 56 (pass per dispatch, staging uploads) and with it, verify and compare" \
  "$wgtrace" replay out/mlp_train.wgtrace --repeat 5 \
    --pool exclusive-pages --pass pass-per-dispatch/staging-copy \
    --pool exclusive-pages+fix --pass max-tasks:16 || exit 1
into() { local file=$1; shift; "$@" > "$file"; }
step "7. replay them again for the report, as JSON" \
  into out/replay.json "$wgtrace" replay out/mlp_train.wgtrace --repeat 5 --json \
    --pool exclusive-pages --pass pass-per-dispatch/staging-copy \
    --pool exclusive-pages+fix --pass max-tasks:16 || exit 1
step "8. see both: memory over time, timelines, findings, predicted against measured (one HTML file)" \
  "$wgtrace" report out/mlp_train.wgtrace --replay out/replay.json -o out/report.html || exit 1
echo "open $(pwd)/out/report.html in a browser"
