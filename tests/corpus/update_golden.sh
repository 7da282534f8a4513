#!/bin/sh
# Regenerates the golden outputs after an intended change of ranking or
# output format.  Usage: tests/corpus/update_golden.sh BUILD_DIR
set -eu
B=${1:-build}
DIR=$(dirname "$0")
cd "$DIR/../.."
"$B/indexer/osindex" -q --replace -i "$B/corpus-index" corpus
while IFS='	' read -r name query; do
  [ -z "$name" ] && continue
  "$B/query/osq" -i "$B/corpus-index" -n 3 --color=never "$query" >"tests/corpus/golden/$name.out" 2>&1
done <tests/corpus/golden/queries.tsv
