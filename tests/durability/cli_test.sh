#!/bin/sh
# Incremental indexing through the command lines: osindex add (replacing by
# id), delete, merge, the automatic merges, check and stats; queries through
# osq --json.  Usage: cli_test.sh OSINDEX OSQ
set -u
OSINDEX=$1 OSQ=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
IX=$T/ix
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { grep -qF -- "$2" "$1" || fail "$3: expected '$2' in: $(head -c 800 "$1")"; }

# doc ID TOKEN [TEXT]: one JSON line; the token makes the version findable.
doc() { printf '{"id":"%s","title":"제목 %s","text":"%s 본문입니다. %s"}\n' "$1" "$1" "${3:-화웨이 클라우드}" "$2"; }
# top QUERY: the document id of the best hit, or nothing
top() { "$OSQ" -i "$IX" -n 1 --json "$1" | sed -n 's/.*"doc_id":"\([^"]*\)".*/\1/p'; }
# hits QUERY: how many passages match (result lines: the last line is a summary)
hits() { "$OSQ" -i "$IX" -n 100 --json "$1" 2>/dev/null | grep -c '"doc_id"'; }
# stat FIELD: a number from osindex stats --json (the totals, not a segment's)
stat() { "$OSINDEX" stats --json -i "$IX" | sed -e 's/,"parts".*//' -e "s/.*[{,]\"$1\":\([0-9]*\).*/\1/"; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

# --- build, then add: an id already in the index is replaced ---------------
{ doc a alpha1; doc b bravo1; doc c charlie1; } >"$T/1.jsonl"
"$OSINDEX" -q -i "$IX" "$T/1.jsonl" || fail "build"
expect "top alpha1" "$(top alpha1)" a
expect "documents after the build" "$(stat documents)" 3

{ doc a alpha2 "시트릭스 가상화"; doc d delta1; } >"$T/2.jsonl"
"$OSINDEX" add -i "$IX" "$T/2.jsonl" 2>"$T/err" || fail "add"
contains "$T/err" "1 replaced" "add reports the replacement"
expect "new version of a" "$(top alpha2)" a
expect "old version of a is gone" "$(hits alpha1)" 0
expect "old text of a is gone" "$("$OSQ" -i "$IX" -n 10 --json 화웨이 | grep -c '"doc_id":"a"')" 0
expect "d added" "$(top delta1)" d
expect "documents after replacing" "$(stat documents)" 4
expect "the replaced version waits for a merge" "$(stat deleted_documents)" 1

# the same id twice in one batch: the later one wins
{ doc e echo1; doc e echo2; } >"$T/3.jsonl"
"$OSINDEX" add -q -i "$IX" "$T/3.jsonl" || fail "add with a repeated id"
expect "first of a repeated id is gone" "$(hits echo1)" 0
expect "last of a repeated id" "$(top echo2)" e
expect "documents after a repeated id" "$(stat documents)" 5

# ...also within a build
{ doc x xray1; doc y yankee1; doc x xray2; } >"$T/rb.jsonl"
"$OSINDEX" -q -i "$T/rb" "$T/rb.jsonl" || fail "build with a repeated id"
expect "build with a repeated id" "$("$OSQ" -i "$T/rb" -n 5 --json xray1 2>/dev/null | grep -c '"doc_id"') $("$OSQ" -i "$T/rb" -n 5 --json xray2 | grep -c '"doc_id"')" "0 1"

# --- delete ----------------------------------------------------------------
"$OSINDEX" delete -i "$IX" b nosuch 2>"$T/err"
expect "delete with an unknown id exits" $? 1
contains "$T/err" "no document with id 'nosuch'" "unknown id message"
contains "$T/err" "1 document deleted" "delete reports what it deleted"
expect "deleted document is gone" "$(hits bravo1)" 0
expect "documents after delete" "$(stat documents)" 4
printf 'd\n\n' | "$OSINDEX" delete -q -i "$IX" - || fail "delete ids from stdin"
expect "deleted from stdin is gone" "$(hits delta1)" 0
"$OSINDEX" delete -q -i "$IX" d 2>/dev/null
expect "deleting a deleted id exits" $? 1
expect "documents after deletes" "$(stat documents)" 3
"$OSINDEX" delete -i "$T/none" a >/dev/null 2>&1
expect "delete without an index exits" $? 2

"$OSINDEX" check --deep -i "$IX" >"$T/out" || fail "check --deep after adds and deletes: $(cat "$T/out")"
contains "$T/out" "ok" "check says ok"

# --- merge -------------------------------------------------------------------
"$OSINDEX" merge -i "$IX" 2>"$T/err" || fail "merge: $(cat "$T/err")"
expect "segments after merge" "$(stat segments)" 1
expect "deleted documents after merge" "$(stat deleted_documents)" 0
expect "documents after merge" "$(stat documents)" 3
for t in alpha2:a charlie1:c echo2:e; do
  expect "after merge, $t" "$(top "${t%:*}")" "${t#*:}"
done
expect "deleted stay deleted after merge" "$(hits bravo1)$(hits delta1)$(hits alpha1)" 000
[ "$(ls "$IX" | grep -c '^seg-')" -eq 1 ] || fail "merge left old files: $(ls "$IX")"
"$OSINDEX" check --deep -i "$IX" >"$T/out" || fail "check --deep after merge: $(cat "$T/out")"
"$OSINDEX" merge -i "$IX" 2>"$T/err" || fail "second merge"
contains "$T/err" "nothing to merge" "merge of a merged index"
# passages and their numbers survive a merge
"$OSQ" -i "$IX" -n 1 --json alpha2 >"$T/out"
contains "$T/out" '"passage_no":1' "passage numbers survive a merge"
contains "$T/out" '"title":"제목 a"' "titles survive a merge"

# --- the automatic merge keeps the segment count bounded ---------------------
i=0
while [ $i -lt 14 ]; do
  doc "s$i" "single$i" >"$T/s.jsonl"
  "$OSINDEX" add -q -i "$IX" "$T/s.jsonl" || fail "small add $i"
  n=$(stat segments)
  [ "$n" -le 10 ] || fail "after small add $i: $n segments (more than 10)"
  i=$((i + 1))
done
i=0
while [ $i -lt 14 ]; do
  expect "after automatic merges, single$i" "$(top "single$i")" "s$i"
  i=$((i + 1))
done
# --no-merge leaves them; the next add merges
i=0
while [ $i -lt 12 ]; do
  doc "n$i" "nomerge$i" >"$T/s.jsonl"
  "$OSINDEX" add -q --no-merge -i "$IX" "$T/s.jsonl" || fail "add --no-merge $i"
  i=$((i + 1))
done
[ "$(stat segments)" -gt 10 ] || fail "--no-merge merged anyway"
doc n12 nomerge12 >"$T/s.jsonl"
"$OSINDEX" add -q -i "$IX" "$T/s.jsonl" || fail "add after --no-merge"
[ "$(stat segments)" -le 10 ] || fail "add after --no-merge did not merge: $(stat segments) segments"
expect "documents after the small adds" "$(stat documents)" $((3 + 14 + 13))
"$OSINDEX" check -i "$IX" >"$T/out" || fail "check after automatic merges: $(cat "$T/out")"

# a segment that lost half of its documents is rewritten
"$OSINDEX" -q -i "$T/half" "$T/1.jsonl"
"$OSINDEX" delete -q -i "$T/half" a b || fail "delete two of three"
ix_save=$IX IX=$T/half
expect "half-deleted segment rewritten" "$(stat deleted_documents) $(stat documents)" "0 1"
IX=$ix_save

# --- stats -------------------------------------------------------------------
"$OSINDEX" stats -i "$IX" >"$T/out" || fail "stats"
for w in documents passages segments terms bytes dictionary postings positions store deletions seg-; do
  contains "$T/out" "$w" "stats shows $w"
done
"$OSINDEX" stats --json -i "$IX" >"$T/out" || fail "stats --json"
contains "$T/out" '"parts":{"dictionary":' "stats --json parts"
"$OSINDEX" stats -i "$T/none" >/dev/null 2>&1
expect "stats without an index exits" $? 2

# --- check finds damage and names the file -------------------------------------
"$OSINDEX" -q -i "$T/good" "$T/1.jsonl" "$T/2.jsonl"
"$OSINDEX" delete -q -i "$T/good" c
seg=$(cd "$T/good" && ls | grep '\.osq$' | head -1)
del=$(cd "$T/good" && ls | grep '\.del\.' | head -1)
[ -n "$seg" ] && [ -n "$del" ] || fail "setup for damage: $(ls "$T/good")"
"$OSINDEX" check --deep -i "$T/good" >"$T/out" || fail "check of the undamaged copy: $(cat "$T/out")"

damage() { rm -rf "$T/bad" && cp -r "$T/good" "$T/bad"; }
checks_bad() { # checks_bad WHAT NEEDLE...
  what=$1
  shift
  "$OSINDEX" check --deep -i "$T/bad" >"$T/out" 2>&1
  st=$?
  [ $st -eq 1 ] || fail "check of $what exited $st, want 1: $(head -c 400 "$T/out")"
  for needle in "$@"; do contains "$T/out" "$needle" "check of $what"; done
}
damage
size=$(wc -c <"$T/bad/$seg")
printf 'X' | dd of="$T/bad/$seg" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
checks_bad "a flipped byte" "$seg" "checksum mismatch"
damage
rm "$T/bad/$seg"
checks_bad "a missing segment" "$seg" "missing"
damage
truncate -s 20 "$T/bad/$del"
checks_bad "a truncated deletion file" "$del" "deletion file"
damage
printf 'X' | dd of="$T/bad/MANIFEST" bs=1 seek=40 conv=notrunc 2>/dev/null
checks_bad "a damaged manifest" "MANIFEST" "checksum"
damage
truncate -s 200 "$T/bad/$seg"
checks_bad "a truncated segment" "$seg"
"$OSINDEX" check -i "$T/none" >/dev/null 2>&1
expect "check without an index exits" $? 2

# a rebuild replaces a damaged index
"$OSINDEX" -q --replace -i "$T/bad" "$T/3.jsonl" || fail "rebuild over a damaged index"
"$OSINDEX" check --deep -i "$T/bad" >"$T/out" || fail "check after the rebuild: $(cat "$T/out")"
[ "$(ls "$T/bad" | grep -c '^seg-')" -eq 1 ] || fail "the rebuild left old files: $(ls "$T/bad")"

# --- leftovers of a crashed writer: not a problem; the next writer deletes them
damage
cp "$T/bad/$seg" "$T/bad/seg-00000999.osq"
printf 'junk' >"$T/bad/MANIFEST.tmp.12345"
printf 'junk' >"$T/bad/seg-00000998.osq.tmp"
printf 'keep' >"$T/bad/notes.txt"
"$OSINDEX" check -i "$T/bad" >"$T/out" || fail "check with leftovers: $(cat "$T/out")"
contains "$T/out" "3 files no manifest names" "check counts leftovers"
doc z zulu1 >"$T/z.jsonl"
"$OSINDEX" add -q -i "$T/bad" "$T/z.jsonl" || fail "add with leftovers"
[ -e "$T/bad/seg-00000999.osq" ] || [ -e "$T/bad/MANIFEST.tmp.12345" ] || [ -e "$T/bad/seg-00000998.osq.tmp" ] &&
  fail "the writer left leftovers: $(ls "$T/bad")"
[ -e "$T/bad/notes.txt" ] || fail "the writer deleted a file that is not its own"

# --- a LOCK file left by a dead process does not block -------------------------
printf 'pid 999999 (osindex)\n' >"$IX/LOCK"
doc l lima1 >"$T/l.jsonl"
"$OSINDEX" add -q -i "$IX" "$T/l.jsonl" || fail "add with a stale LOCK file"
expect "added past a stale LOCK" "$(top lima1)" l

if [ $failures -gt 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "durability cli: all passed"
