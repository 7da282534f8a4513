#!/bin/sh
# osfloor on the bundled corpus's index: the bytes it reads for postings,
# positions and the dictionary are the ones `osindex stats` reports, and
# each floor lies below what the codec actually takes (a floor above a
# working codec's bytes would be a wrong formula).  Usage:
# osfloor_test.sh OSFLOOR OSINDEX INDEX
set -u
OSFLOOR=$1 OSINDEX=$2 INDEX=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# field FILE NAME: the number after "NAME": in a one-line JSON object
field() { sed -n "s/.*\"$2\":\([0-9][0-9]*\).*/\1/p" "$1"; }

"$OSFLOOR" -i "$INDEX" --json >"$T/floor" 2>"$T/err" || fail "osfloor exits $? on the corpus index: $(cat "$T/err")"
"$OSINDEX" stats -i "$INDEX" --json >"$T/stats" || fail "osindex stats failed"

for part in postings positions dictionary; do
  a=$(field "$T/floor" "${part}_bytes")
  b=$(field "$T/stats" "$part")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$part: osfloor reads '$a' bytes, osindex stats says '$b'"
done
[ "$(field "$T/floor" postings)" -gt 100000 ] || fail "too few postings: $(cat "$T/floor")"
[ "$(field "$T/floor" positions)" -ge "$(field "$T/floor" postings)" ] ||
  fail "fewer positions than postings (each posting has tf >= 1): $(cat "$T/floor")"
lt() { [ "$(field "$T/floor" "$1")" -lt "$(field "$T/floor" "$2")" ] || fail "$1 should be below $2: $(cat "$T/floor")"; }
lt floor_sets_bytes postings_bytes
lt floor_positions_bytes positions_bytes
lt interpolative_bytes postings_bytes

# the table, per input byte
"$OSFLOOR" -i "$INDEX" --input-bytes 2750000 >"$T/table" || fail "osfloor table"
grep -q '^  total ' "$T/table" || fail "no total line in: $(cat "$T/table")"

# errors name what is wrong
"$OSFLOOR" -i "$T/none" >/dev/null 2>"$T/err"
[ $? -eq 1 ] || fail "a missing index should exit 1"
grep -qF "$T/none" "$T/err" || fail "the missing index's message should name it: $(cat "$T/err")"
"$OSFLOOR" -i "$INDEX" --input-bytes 12x >/dev/null 2>"$T/err"
[ $? -eq 2 ] || fail "a bad --input-bytes should exit 2"
grep -qF "12x" "$T/err" || fail "the bad --input-bytes message should quote it: $(cat "$T/err")"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "osfloor: all checks passed"
