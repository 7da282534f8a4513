#!/bin/sh
# Command one: install what is missing, build, index corpus/ and run a query.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
./build/indexer/osindex --replace -i osq-index corpus/   # --replace: a rerun rebuilds it
[ $# -eq 0 ] && set -- 화웨이
./build/query/osq -i osq-index "$@"
