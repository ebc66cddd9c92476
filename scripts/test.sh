#!/usr/bin/env bash
# The whole test suite, as CI runs it (README: `bash scripts/test.sh`):
#   1. install dependencies (a no-op when present)
#   2. release build; clang-tidy over src/ (the checks in .clang-tidy); every ctest test: unit, lint,
#      functional (real depai processes)
#   3. asan build (ASan+UBSan); the unit tests and lints again under the sanitizers
#   4. fuzz build (clang libFuzzer); a short run of every fuzz target from its seed corpus
# Fails (non-zero) if any step fails, if ctest finds no tests, or if a fuzz target crashes.
# Knobs: DEPAI_FUZZ_SECONDS (default 20 per target), DEPAI_ASAN_FUNCTIONAL=1 (also run the
# functional tests against the ASan binary), DEPAI_SKIP_DEPS=1 (skip step 1).
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/depai-ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export PATH="$PATH:/usr/local/go/bin"
jobs=$(nproc)
fuzz_seconds=${DEPAI_FUZZ_SECONDS:-20}
t_start=$(date +%s)
current="setup"
summary=()

section() {
  current=$*
  printf '\n==================== %s  [+%ss] ====================\n' "$*" "$(($(date +%s) - t_start))"
}
done_step() { summary+=("ok    $current"); }
trap 'rc=$?; if [ $rc -ne 0 ]; then printf "\n==================== FAILED: %s (exit %s) ====================\n" "$current" "$rc"; fi' EXIT

run_ctest() {  # run_ctest <preset> [ctest args...]: fails on any failure and when no tests run
  local preset=$1
  shift
  local log rc
  log=$(mktemp)
  set +e
  ctest --preset "$preset" -j"$jobs" --no-tests=error "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  if grep -q "No tests were found" "$log" || ! grep -Eq "tests passed, [0-9]+ tests failed out of [1-9]" "$log"; then
    echo "ctest ran no tests: failing"
    return 1
  fi
  summary+=("      $(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" | tail -n1) ($preset)")
  rm -f "$log"
  return "$rc"
}

if [ "${DEPAI_SKIP_DEPS:-0}" != 1 ]; then
  section "1/8 dependencies"
  bash scripts/install-deps.sh
  done_step
fi

section "2/8 build: release"
bash scripts/build.sh release
done_step

section "3/8 clang-tidy: src/**/*.cpp (release compile_commands.json)"
bash scripts/clang-tidy.sh build/release
done_step

section "4/8 tests: release (unit, lint, functional)"
run_ctest release
done_step

section "5/8 build: asan (AddressSanitizer + UndefinedBehaviorSanitizer)"
bash scripts/build.sh asan
done_step

section "6/8 tests: asan (unit, lint$([ "${DEPAI_ASAN_FUNCTIONAL:-0}" = 1 ] && echo ", functional"))"
asan_filter=(-E '^functional\.')
[ "${DEPAI_ASAN_FUNCTIONAL:-0}" = 1 ] && asan_filter=()
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest asan "${asan_filter[@]}"
done_step

section "7/8 build: fuzz (clang, libFuzzer)"
bash scripts/build.sh fuzz
done_step

section "8/8 fuzz: ${fuzz_seconds}s per target"
shopt -s nullglob
sources=(test/fuzz/fuzz_*.cpp)
if [ ${#sources[@]} -eq 0 ]; then
  echo "no fuzz targets in test/fuzz"
  exit 1
fi
failed=()
for src in "${sources[@]}"; do
  name=$(basename "$src" .cpp)
  bin="$PWD/build/fuzz/test/fuzz/$name"
  if [ ! -x "$bin" ]; then
    echo "-- $name: not built ($bin missing)"
    failed+=("$name (not built)")
    continue
  fi
  work=$(mktemp -d)
  mkdir -p "$work/corpus"
  if [ -d "test/fuzz/corpus/$name" ]; then cp -r "test/fuzz/corpus/$name/." "$work/corpus/"; fi
  seeds=$(find "$work/corpus" -type f | wc -l)
  set +e
  (cd "$work" && "$bin" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" corpus >"$work/log" 2>&1)
  rc=$?
  set -e
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$' || echo "?")
  if [ $rc -ne 0 ]; then
    echo "-- $name: FAILED (exit $rc, $seeds seeds)"
    tail -n 60 "$work/log"
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      echo "   input $(basename "$a") ($(wc -c <"$a") bytes), hex:"
      od -An -tx1 "$a" | head -n 8
    done
    failed+=("$name")
  else
    echo "-- $name: ok ($seeds seeds, $execs runs, ${fuzz_seconds}s)"
    rm -rf "$work"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets failed: ${failed[*]}"
  exit 1
fi
done_step

section "all tests passed in $(($(date +%s) - t_start))s"
printf '%s\n' "${summary[@]}"
