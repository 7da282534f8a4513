#!/bin/sh
# Builds the libFuzzer harnesses with clang (AddressSanitizer and UBSan on)
# in a build directory of their own, then runs each for SECONDS (default 20).
# New inputs that reach new code go to WORK/corpus-NAME (kept between runs);
# a crash, a hang or a leak leaves its input as WORK/NAME-crash-... (or
# -timeout-, -leak-, -oom-) and makes the script fail.  See tests/README.md.
#
# Usage: tests/fuzz/run.sh [SECONDS] [NAME...]      NAME: tokenizer query segment json docstruct
# Environment: OSQ_FUZZ_BUILD (default build-fuzz), OSQ_FUZZ_WORK (default
# OSQ_FUZZ_BUILD/fuzz-work), OSQ_FUZZ_FLAGS (more libFuzzer flags).
set -eu
secs=${1:-20}
[ $# -gt 0 ] && shift
names=${*:-tokenizer query segment json docstruct}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${OSQ_FUZZ_BUILD:-$root/build-fuzz}
work=${OSQ_FUZZ_WORK:-$build/fuzz-work}

CC=${CC_FUZZ:-clang} CXX=${CXX_FUZZ:-clang++} \
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOSQ_FUZZ=ON >/dev/null
targets=osindex
for n in $names; do targets="$targets fuzz_$n"; done
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $targets >/dev/null

mkdir -p "$work"
# Segments in the format of this very build, beside the committed seeds.
"$root/tests/fuzz/make_segment_seeds.sh" "$build/indexer/osindex" "$work/seeds-segment"

failed=""
for n in $names; do
  mkdir -p "$work/corpus-$n"
  extra=""
  [ "$n" = segment ] && extra="$work/seeds-segment"
  echo "== fuzz_$n for ${secs}s" >&2
  # shellcheck disable=SC2086
  if ! "$build/tests/fuzz/fuzz_$n" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/$n-" ${OSQ_FUZZ_FLAGS:-} \
      "$work/corpus-$n" "$root/tests/fuzz/seeds/$n" $extra 2>"$work/$n.log"; then
    failed="$failed $n"
    tail -n 60 "$work/$n.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$work/$n.log" | tr '\n' ' ' >&2
    echo >&2
  fi
done
if [ -n "$failed" ]; then
  echo "fuzzers that found something:$failed (inputs in $work; logs $work/NAME.log)" >&2
  exit 1
fi
