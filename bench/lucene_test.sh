#!/bin/sh
# osbench's Lucene peer end to end on the bundled corpus (CJKAnalyzer, the
# faster of the two to build): it indexes every document, answers a small
# query log with results, counts the query QueryParser rejects as failed
# (and still answers it, escaped), and in the passage unit indexes osq's
# passages, more of them than documents.  Usage: lucene_test.sh OSBENCH CORPUS
set -u
OSBENCH=$1 CORPUS=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# num FILE KEY: the first number after "KEY": in osbench's JSON
num() { sed -n "s/^ *\"$2\": \([0-9][0-9.e+-]*\),\{0,1\}$/\1/p" "$1" | head -n 1; }

printf 'one\tcommon\t오픈스택\ntwo\tmid\t보안 그룹\nphrase\trare\t"하이브리드 클라우드"\noperator\trare\t화웨이 AND\n' >"$T/q.tsv"

for unit in doc passage; do
  "$OSBENCH" --corpus "$CORPUS" --queries "$T/q.tsv" --engines lucene-cjk --unit $unit \
    --runs 1 --oneshot 0 --quiet --workdir "$T/w-$unit" --json "$T/$unit.json" >"$T/$unit.txt" 2>"$T/$unit.err"
  rc=$?
  [ $rc -eq 0 ] || fail "--unit $unit: osbench exits $rc: $(cat "$T/$unit.err")"
  grep -q '"failed_queries": 1,' "$T/$unit.json" ||
    fail "--unit $unit: \"화웨이 AND\" should be the one failed query: $(grep -A1 failed "$T/$unit.json")"
  hits=$(num "$T/$unit.json" results_per_query)
  [ -n "$hits" ] && awk "BEGIN { exit !($hits > 3) }" ||
    fail "--unit $unit: too few results per query: '$hits'"
  grep -q 'lucene-cjk .*CJKAnalyzer' "$T/$unit.txt" || fail "--unit $unit: no engine line in the table"
done
docs=$(num "$T/doc.json" documents)
[ "$docs" = 5203 ] || fail "the corpus should hold 5203 documents, not '$docs'"
punits=$(sed -n '/"indexing"/,/}/s/^ *"units": \([0-9]*\),$/\1/p' "$T/passage.json")
[ -n "$punits" ] && [ "$punits" -gt "$docs" ] ||
  fail "in the passage unit Lucene should index more passages than documents: '$punits'"
grep -q '"unit": "passage"' "$T/passage.json" || fail "the passage run's JSON should say its unit"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "osbench lucene-cjk: all checks passed"
