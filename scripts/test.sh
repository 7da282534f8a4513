#!/bin/sh
# Command two: install what is missing, build with warnings as errors, and
# run every test; then the whole suite again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and each fuzzer for a short fixed time
# (OSQ_FUZZ_SECONDS, default 30).  See tests/README.md.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_WERROR=ON -DOSQ_TESTING=ON >/dev/null
cmake --build build-test -j"$jobs"
ctest --test-dir build-test --output-on-failure -j"$jobs"

echo "== examples/ built against the installed library (pkg-config)" >&2
sh examples/test.sh build-test

echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer" >&2
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_WERROR=ON -DOSQ_TESTING=ON -DOSQ_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$jobs"
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} ctest --test-dir build-sanitize --output-on-failure -j"$jobs"

echo "== one index searched from 4 threads, under ThreadSanitizer" >&2
# Only the test and the indexer that makes its index are built here (clang's
# TSan runtime, libclang-rt-14-dev); the test fails on any race report.
queries=../shared/queries/openstack-ko.txt
[ -f "$queries" ] || queries=bench/smoke-queries.tsv
CC=clang CXX=clang++ cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_WERROR=ON -DOSQ_TESTING=ON -DOSQ_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_threads osindex
build-tsan/indexer/osindex -q --replace -i build-tsan/corpus-index corpus
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/corpus/test_threads build-tsan/corpus-index "$queries" 4 3

echo "== fuzzers, ${OSQ_FUZZ_SECONDS:-30} s each" >&2
OSQ_FUZZ_BUILD="$PWD/build-fuzz" tests/fuzz/run.sh "${OSQ_FUZZ_SECONDS:-30}"
