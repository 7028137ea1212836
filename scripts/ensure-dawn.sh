#!/usr/bin/env bash
# Makes sure Dawn (the `dawn` extra, wgpudawn) finds a Vulkan adapter, for `--backend dawn`.
# Dawn refuses Debian 12's lavapipe (Mesa 22.3.6: "shaderUniform*ArrayDynamicIndexing required"); Mesa
# 25.0.7 from bookworm-backports works. That package is downloaded and unpacked into a private folder of
# the venv ($prefix/share/wgtrace/dawn-lavapipe), with an ICD file naming its library by absolute path,
# which wgtrace hands to Dawn's processes only (VK_ICD_FILENAMES). Nothing is installed: the system's
# apt sources, apt lists and Mesa stay as they were, so wgpu-native keeps the system lavapipe.
# Does nothing when wgpudawn is not installed, or when Dawn already finds a Vulkan adapter.
set -euo pipefail
py=${1:-.venv/bin/python}
version=25.0.7-2~bpo12+1
"$py" -c 'import wgpudawn' >/dev/null 2>&1 || exit 0
prefix=$("$py" -c 'import sys; print(sys.prefix)')
dest="$prefix/share/wgtrace/dawn-lavapipe"
icd="$dest/lvp_icd.json"
probe() {
  "$py" -c 'import sys; from wgtrace.tracer.backends import unusable; sys.exit(1 if unusable("dawn") else 0)'
}
if probe; then
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null \
  || { echo "ensure-dawn: Dawn finds no Vulkan adapter and this is no Debian system: Dawn's tests will be skipped" >&2; exit 0; }
echo "Dawn finds no Vulkan adapter: unpacking Mesa $version's lavapipe from bookworm-backports into $dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" \
  > "$work/sources.list"
apt=(apt-get -qq -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
skip() { echo "ensure-dawn: $1: Dawn's tests will be skipped" >&2; exit 0; }
"${apt[@]}" update || skip "cannot read bookworm-backports' package lists"
# the version known to work, or whatever backports holds now (it moves on)
(cd "$work/debs" && { "${apt[@]}" download "mesa-vulkan-drivers=$version" \
                      || "${apt[@]}" download "mesa-vulkan-drivers/bookworm-backports"; }) \
  || skip "cannot download mesa-vulkan-drivers from bookworm-backports"
dpkg -x "$work"/debs/mesa-vulkan-drivers_*.deb "$work/root"
lib=$(find "$work/root" -name libvulkan_lvp.so | head -n 1)
[ -n "$lib" ] || { echo "ensure-dawn: no libvulkan_lvp.so in mesa-vulkan-drivers $version" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest"
cp "$lib" "$dest/libvulkan_lvp.so"
sed "s|\"library_path\": *\"[^\"]*\"|\"library_path\": \"$dest/libvulkan_lvp.so\"|" \
  "$work/root/usr/share/vulkan/icd.d/lvp_icd.json" > "$icd"
probe || skip "Dawn still finds no Vulkan adapter with $icd"
