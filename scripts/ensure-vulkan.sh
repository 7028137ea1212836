#!/usr/bin/env bash
# Makes sure wgpu finds a Vulkan (or Metal/DX12) adapter: if none, installs Mesa's lavapipe Vulkan
# driver from Debian's packages (mesa-vulkan-drivers), the CPU implementation the tests run on where
# there is no GPU. wgpu's OpenGL fallback (Mesa's llvmpipe through EGL, present on machines with
# Mesa's GL libraries) does not count: the replay tests fail on it (seen here: a kernel that never
# ends is not stopped the way Vulkan's lavapipe stops it).
set -euo pipefail
py=${1:-.venv/bin/python}
probe() {
  "$py" -c 'import wgpu, sys; a = wgpu.gpu.request_adapter_sync(); sys.exit(0 if a and a.info["backend_type"] != "OpenGL" else 1)' \
    >/dev/null 2>&1
}
if probe; then
  exit 0
fi
echo "wgpu found no Vulkan adapter: installing Mesa's lavapipe Vulkan driver (mesa-vulkan-drivers)"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mesa-vulkan-drivers >/dev/null
probe || { echo "wgpu still finds no Vulkan adapter after installing mesa-vulkan-drivers" >&2; exit 1; }
