#!/usr/bin/env bash
# Makes sure wgpu finds an adapter: if none, installs Mesa's lavapipe Vulkan driver from Debian's
# packages (mesa-vulkan-drivers), the CPU implementation the tests run on where there is no GPU.
set -euo pipefail
py=${1:-.venv/bin/python}
probe() { "$py" -c 'import wgpu, sys; sys.exit(0 if wgpu.gpu.request_adapter_sync() else 1)' >/dev/null 2>&1; }
if probe; then
  exit 0
fi
echo "wgpu found no adapter: installing Mesa's lavapipe Vulkan driver (mesa-vulkan-drivers)"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers >/dev/null
probe || { echo "wgpu still finds no adapter after installing mesa-vulkan-drivers" >&2; exit 1; }
