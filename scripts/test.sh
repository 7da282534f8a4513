#!/bin/sh
# Command two: install what is missing, build with warnings as errors, and
# run every test; then the whole suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and each fuzzer for a short fixed time
# (OSQ_FUZZ_SECONDS, default 30).  See tests/README.md.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"
ctest --test-dir build-test --output-on-failure -j"$jobs"

echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer" >&2
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_WERROR=ON -DOSQ_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$jobs"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} ctest --test-dir build-sanitize --output-on-failure -j"$jobs"

echo "== fuzzers, ${OSQ_FUZZ_SECONDS:-30} s each" >&2
OSQ_FUZZ_BUILD="$PWD/build-fuzz" tests/fuzz/run.sh "${OSQ_FUZZ_SECONDS:-30}"
