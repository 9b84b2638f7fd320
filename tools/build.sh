#!/usr/bin/env bash
# Configure (once) and build meshdp into DIR (default build/). Extra args go to meson setup.
# Usage: tools/build.sh [DIR] [MESON-SETUP-ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" "$@" >/dev/null
elif [ $# -gt 0 ]; then
	meson configure "$dir" "$@" >/dev/null
fi
ninja -C "$dir"
