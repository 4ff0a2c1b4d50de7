#!/usr/bin/env bash
# Installs what is missing, then builds and tests tokend:
#   1. clang with -Wthread-safety -Werror (lock annotations checked at compile time),
#   2. the libFuzzer targets, a short bounded run each,
#   3. GCC with AddressSanitizer + UndefinedBehaviorSanitizer, running every test, then the
#      check that no test secret or token appears in the suite's output.
# TOKEND_RELEASE_TESTS=1 adds 4. a GCC Release build running every test again (about ten
# minutes more on two cores; .ci/run leaves it out to stay under 30 minutes).
# Build folders go under build/ (or $TOKEND_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TOKEND_BUILD_DIR:-$root/build}
jobs=$(nproc)

"$root/scripts/install-deps.sh"

step() { printf '\n==> %s\n' "$*"; }

step "clang -Wthread-safety build"
# Only the compiler's analysis matters here: no optimisation, no debug info, nothing run.
cmake -G Ninja -S "$root" -B "$build/thread-safety" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O0 -g0" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTOKEND_THREAD_SAFETY=ON >/dev/null
# The lock annotations are in the service, the client and the test doubles; the tests' own
# code is compiled by the two builds below.
cmake --build "$build/thread-safety" -j "$jobs" --target tokend tokenctl tokend_testing \
  devidp_lib tokend-devidp

step "libFuzzer: the JWT and JWKS/discovery parsers, ${TOKEND_FUZZ_SECONDS:-20}s each"
cmake -G Ninja -S "$root" -B "$build/fuzz" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DTOKEND_BUILD_TESTS=OFF \
  -DTOKEND_FUZZ=ON >/dev/null
cmake --build "$build/fuzz" -j "$jobs" --target jwt_fuzzer jwks_fuzzer
for target in jwt jwks; do
  corpus=$(mktemp -d)
  status=0
  "$build/fuzz/tests/fuzz/${target}_fuzzer" -max_total_time="${TOKEND_FUZZ_SECONDS:-20}" \
    -print_final_stats=1 "$corpus" "$root/tests/fuzz/corpus/$target" >"$corpus.log" 2>&1 ||
    status=$?
  grep -E "^stat::number_of_executed_units|^Done|ERROR|SUMMARY" "$corpus.log" || true
  if [ $status -ne 0 ]; then tail -40 "$corpus.log"; exit 1; fi
  rm -rf "$corpus" "$corpus.log"
done

step "AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
# -O1 keeps the sanitizers' reports exact and the build quick; -g1 gives file:line in traces.
cmake -G Ninja -S "$root" -B "$build/sanitize" -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g1" -DTOKEND_SANITIZE=ON >/dev/null
cmake --build "$build/sanitize" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$build/sanitize" --output-on-failure -j "$jobs"
"$root/tests/check_no_secrets.sh" "$build/sanitize/Testing/Temporary/LastTest.log"

[ "${TOKEND_RELEASE_TESTS:-0}" = 1 ] || exit 0
step "Release build and tests"
cmake -G Ninja -S "$root" -B "$build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build/release" -j "$jobs"
ctest --test-dir "$build/release" --output-on-failure -j "$jobs"
# Every test's output, passed or failed, is in LastTest.log: no test secret or token may be.
"$root/tests/check_no_secrets.sh" "$build/release/Testing/Temporary/LastTest.log"
