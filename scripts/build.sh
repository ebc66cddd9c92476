#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) with ccache.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/depai-ccache}
export PATH="$PATH:/usr/local/go/bin"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
