#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release) into build/<preset>, with ccache.
# Usage: scripts/build.sh [dev|release|asan|fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
case "$preset" in
  dev | release | asan | fuzz) ;;
  *) echo "usage: $0 [dev|release|asan|fuzz]" >&2; exit 2 ;;
esac
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/depai-ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}  # relative paths: hits across build dirs and clones
export PATH="$PATH:/usr/local/go/bin"           # CMake asks `go env GOMODCACHE` for the CometBFT protos
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j"$(nproc)"
