#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz/ (clang, ASan + UBSan) and
# runs each for a bounded time on its committed seeds in fuzz/corpus/<target>/
# plus what earlier runs found (build-fuzz/corpus/<target>/; the committed
# seeds are never written to). Fails if any target crashes, leaks, times out
# on one input or does not build; prints the executions of each target.
#
#   fuzz/run.sh [TARGET...]        default: every directory in fuzz/corpus/
#
# TRELINK_FUZZ_SECONDS   time per target (default 20)
# TRELINK_BUILD_JOBS     parallel build jobs (default: all cores)
#
# A crash leaves its input in build-fuzz/artifacts/; replay it with
#   build-fuzz/fuzz/<target>_fuzzer build-fuzz/artifacts/<target>-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${TRELINK_FUZZ_SECONDS:-20}
jobs=${TRELINK_BUILD_JOBS:-$(nproc)}
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

echo "==> building fuzzers (build-fuzz/)"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTRELINK_FUZZ=ON -DTRELINK_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzzers

mkdir -p build-fuzz/artifacts build-fuzz/logs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=()
summary=()
for target in "${targets[@]}"; do
  binary="build-fuzz/fuzz/${target}_fuzzer"
  seeds="fuzz/corpus/$target"
  work="build-fuzz/corpus/$target"
  log="build-fuzz/logs/$target.log"
  if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
    echo "==> $target: no fuzzer binary or no seed corpus" >&2
    failed+=("$target")
    continue
  fi
  mkdir -p "$work"
  echo "==> fuzzing $target for ${seconds}s"
  status=0
  "$binary" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$target-" "$work" "$seeds" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  summary+=("$(printf '%-18s %12s executions  %s' "$target" "${execs:-?}" "$([ $status -eq 0 ] && echo ok || echo FAILED)")")
  if [ $status -ne 0 ]; then
    failed+=("$target")
    echo "==> $target failed (exit $status); the end of $log:" >&2
    tail -n 60 "$log" >&2
  fi
done

echo "==> fuzzing: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> fuzzing FAILED: ${failed[*]}" >&2
  exit 1
fi
