#!/usr/bin/env bash
# The whole test suite, as CI runs it: install deps, build release and run every ctest test
# (unit, lint, functional); then the unit tests again under ASan+UBSan; then a short smoke run of
# every libFuzzer target. Fails if any step fails or if ctest finds no tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/depai-ccache}
jobs=$(nproc)

section() { printf '\n==================== %s ====================\n' "$*"; }

run_ctest() {  # run_ctest <preset> [ctest args...]: fails on test failures and on "no tests"
  local preset=$1
  shift
  local log
  log=$(mktemp)
  set +e
  ctest --preset "$preset" -j"$jobs" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  if grep -q "No tests were found" "$log"; then
    echo "ctest found no tests: failing"
    return 1
  fi
  return "$rc"
}

section "dependencies"
bash scripts/install-deps.sh

section "build (release)"
bash scripts/build.sh release

section "tests (release)"
run_ctest release

section "build (asan: AddressSanitizer + UndefinedBehaviorSanitizer)"
bash scripts/build.sh asan

section "unit tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest asan -E '^functional\.'

section "build (fuzz, clang libFuzzer)"
bash scripts/build.sh fuzz

section "fuzz smoke runs"
shopt -s nullglob
targets=(build/fuzz/test/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets were built"
  exit 1
fi
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  corpus="test/fuzz/corpus/$name"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus/." "$work/"
  echo "-- $name (20s)"
  "$t" -max_total_time=20 -print_final_stats=1 "$work" 2>&1 | tail -n 4
done

section "all tests passed"
