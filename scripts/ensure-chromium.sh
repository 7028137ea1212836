#!/usr/bin/env bash
# Makes sure a Chromium is installed for the report's browser tests (tests/test_view_report.py): if none
# is found, installs Debian's `chromium` package. Playwright drives it through its executable_path and
# never downloads a browser of its own.
set -euo pipefail
found() {
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}
if found; then
  exit 0
fi
echo "no Chromium found: installing Debian's chromium package (for the report's browser tests)"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
found || { echo "still no Chromium after installing the chromium package" >&2; exit 1; }
