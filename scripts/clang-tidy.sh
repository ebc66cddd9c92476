#!/usr/bin/env bash
# Runs clang-tidy with the checks kept in .clang-tidy over every src/**/*.cpp (headers under src/
# through HeaderFilterRegex; generated protobuf code is under build/ and never checked), using the
# compile commands of a configured build, one clang-tidy per core.
# Fails (non-zero) when a kept check fires (.clang-tidy makes them errors), when clang-tidy is
# missing or when the build has no compile_commands.json.
# Usage: scripts/clang-tidy.sh [build-dir]   (default build/release; run scripts/build.sh first)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$tidy" ]; then
  echo "clang-tidy not found: run scripts/install-deps.sh" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "no $build/compile_commands.json: run scripts/build.sh release first" >&2
  exit 1
fi
jobs=$(nproc)
mapfile -t files < <(find src -name '*.cpp' | sort)
echo "clang-tidy ($("$tidy" --version | grep -o 'version [0-9.]*')): ${#files[@]} files, $jobs jobs"
t0=$(date +%s)
runner=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
rc=0
if [ -n "$runner" ]; then
  # run-clang-tidy buffers each file's output and exits 1 when any file failed.
  "$runner" -quiet -j "$jobs" -clang-tidy-binary "$tidy" -p "$build" "^$PWD/src/.*\.cpp$" >"$build/clang-tidy.log" 2>&1 || rc=$?
else
  out=$(mktemp -d)
  printf '%s\n' "${files[@]}" |
    xargs -P "$jobs" -I{} sh -c '"$1" --quiet -p "$2" "$3" >"$4/$(echo "$3" | tr / _).log" 2>&1' _ "$tidy" "$build" {} "$out" || rc=$?
  cat "$out"/*.log >"$build/clang-tidy.log"
  rm -rf "$out"
fi
sed -i 's/\x1b\[[0-9;]*m//g' "$build/clang-tidy.log"  # run-clang-tidy asks for colours
# Show the diagnostics (a header's once), not the per-file command lines and "N warnings generated".
grep -E "(warning|error): " "$build/clang-tidy.log" | sort -u || true
echo "clang-tidy: $(($(date +%s) - t0))s, exit $rc (full log: $build/clang-tidy.log)"
exit "$rc"
