#!/bin/bash
# Command-line edges of osindex that could lose data without a word:
# building over an existing index (--replace), indexes of other format
# versions, read errors of inputs and of id lists, long lines and endless
# inputs.  Usage: edges_test.sh OSINDEX OSQ
set -u
export LC_ALL=C
OSINDEX=$1 OSQ=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { grep -qF -- "$2" "$1" || fail "$3: expected '$2' in: $(head -c 800 "$1")"; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
docs() { "$OSINDEX" stats --json -i "$1" | sed -e 's/,"parts".*//' -e 's/.*"documents":\([0-9]*\).*/\1/'; }
# top IX QUERY: the document id of the best hit
top() { "$OSQ" -i "$1" -n 1 --json "$2" | sed -n 's/.*"doc_id":"\([^"]*\)".*/\1/p'; }
doc() { printf '{"id":"%s","title":"제목 %s","text":"화웨이 클라우드 본문입니다. %s"}\n' "$1" "$1" "$2"; }
# set_version DIR V: an intact manifest of format version V (< 256): the
# byte at 8, then the CRC-32 at the end (gzip's trailer is the CRC-32 of its
# input, little-endian, as the manifest stores it)
set_version() {
  local m=$1/MANIFEST n
  n=$(wc -c <"$m")
  printf "\\$(printf %03o "$2")" | dd of="$m" bs=1 seek=8 conv=notrunc 2>/dev/null
  head -c $((n - 4)) "$m" | gzip -c | tail -c 8 | head -c 4 | dd of="$m" bs=1 seek=$((n - 4)) conv=notrunc 2>/dev/null
}

# --- building over an existing index asks for --replace ---------------------
{ doc a alpha1; doc b bravo1; doc c charlie1; } >"$T/1.jsonl"
doc z zulu1 >"$T/2.jsonl"
"$OSINDEX" -q -i "$T/ix" "$T/1.jsonl" || fail "a build into a new directory"
expect "documents after the build" "$(docs "$T/ix")" 3
"$OSINDEX" -q -i "$T/ix" "$T/2.jsonl" >"$T/out" 2>"$T/err"
expect "a build over an index without --replace exits" $? 2
contains "$T/err" "already holds an index of 3 documents" "the refusal says what is there"
contains "$T/err" "--replace" "the refusal says how to rebuild"
contains "$T/err" "osindex add" "the refusal says how to add"
expect "documents after the refused build" "$(docs "$T/ix")" 3
expect "a refused build adds nothing" "$(top "$T/ix" zulu1)" ""
"$OSINDEX" -q --replace -i "$T/ix" "$T/2.jsonl" || fail "a build with --replace"
expect "documents after --replace" "$(docs "$T/ix")" 1
expect "the rebuilt index" "$(top "$T/ix" zulu1)$(top "$T/ix" alpha1)" z
"$OSINDEX" -q --replace -i "$T/new" "$T/1.jsonl" || fail "--replace where there is no index yet"
expect "--replace into a new directory" "$(docs "$T/new")" 3
"$OSINDEX" add --replace -i "$T/ix" "$T/1.jsonl" >"$T/out" 2>"$T/err"
expect "add --replace exits" $? 2
contains "$T/err" "--replace does not apply to add" "add --replace message"

# --- other format versions --------------------------------------------------
cp -r "$T/new" "$T/newer"
set_version "$T/newer" 99
cp "$T/newer/MANIFEST" "$T/newer.manifest"
ls "$T/newer" >"$T/newer.files"
"$OSINDEX" -q --replace -i "$T/newer" "$T/2.jsonl" >"$T/out" 2>"$T/err"
expect "--replace over an index of a newer format exits" $? 2
contains "$T/err" "format version 99 is newer" "the newer-format message"
contains "$T/err" "upgrade osq" "a newer format says to upgrade osq"
grep -q "rebuild" "$T/err" && fail "a newer format must not advise a rebuild: $(cat "$T/err")"
cmp -s "$T/newer/MANIFEST" "$T/newer.manifest" || fail "the newer index's MANIFEST was changed"
ls "$T/newer" | cmp -s - "$T/newer.files" || fail "the newer index's files changed: $(ls "$T/newer")"
"$OSINDEX" add -q -i "$T/newer" "$T/2.jsonl" >"$T/out" 2>"$T/err"
expect "add to an index of a newer format exits" $? 2
contains "$T/err" "upgrade osq" "add to a newer format says to upgrade osq"

cp -r "$T/new" "$T/older"
set_version "$T/older" 1
"$OSQ" -i "$T/older" alpha1 >"$T/out" 2>"$T/err"
expect "a query on an older format exits" $? 2
contains "$T/err" "rebuild the index with osindex --replace" "an older format says how to rebuild"
"$OSINDEX" -q --replace -i "$T/older" "$T/2.jsonl" || fail "--replace over an older format"
expect "the older index rebuilt" "$(top "$T/older" zulu1)" z

# --- a read error in an id list is an error, not its end --------------------
"$OSINDEX" -q --replace -i "$T/del" "$T/1.jsonl" || fail "build for delete"
"$OSINDEX" delete -i "$T/del" - <"$T" >"$T/out" 2>"$T/err"
expect "delete - from a directory exits" $? 2
contains "$T/err" "reading ids from standard input" "the read error is reported"
contains "$T/err" "nothing was deleted" "the read error says nothing was deleted"
expect "documents after the failed delete" "$(docs "$T/del")" 3
{ echo a; head -c 70000 /dev/zero | tr '\0' '\n'; echo b; } >"$T/ids"
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
  # EIO on the second read of the list (-P: only reads of that file count)
  ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -P "$T/ids" -e trace=read \
    -e inject=read:error=EIO:when=2 "$OSINDEX" delete -i "$T/del" - <"$T/ids" >"$T/out" 2>"$T/err"
  expect "delete - with EIO mid-list exits" $? 2
  contains "$T/err" "Input/output error" "EIO mid-list is reported"
  expect "documents after EIO mid-list (none deleted, not the first id only)" "$(docs "$T/del")" 3
else
  echo "note: strace missing, the EIO case of delete - is not run"
fi
"$OSINDEX" delete -q -i "$T/del" - <"$T/ids" 2>/dev/null || fail "delete - of a list with blank lines"
expect "documents after delete -" "$(docs "$T/del")" 1

# --- long lines and endless inputs ------------------------------------------
# rep N WORD: N copies of "WORD " (one line)
rep() { local i; for ((i = 0; i < $1; i++)); do printf '%s ' "$2"; done; }
mkdir -p "$T/long"
{ rep 400 화웨이클라우드; printf 'longlineend\n'; } >"$T/long/oneline.txt"   # one line of 8 KB
{ printf '{"id":"lt","title":"'; rep 300 긴제목입니다; printf 'titleend","text":"본문 longtitlebody"}\n'; } >"$T/long/t.jsonl"
"$OSINDEX" -i "$T/lix" "$T/long" >"$T/out" 2>"$T/err"
expect "indexing long lines exits" $? 0
contains "$T/err" "oneline.txt:1: the first line (the title) is" "a long first line is warned about"
contains "$T/err" "t.jsonl:1: the title of document \"lt\" is" "a long JSON title is warned about"
expect "a one-line .txt of 8 KB is found by its last word" "$(top "$T/lix" longlineend)" "$T/long/oneline.txt"
expect "... and by its first" "$(top "$T/lix" 화웨이클라우드)" "$T/long/oneline.txt"
"$OSQ" -i "$T/lix" -n 1 --json longlineend | sed -n 's/.*"title":"\([^"]*\)".*/\1/p' >"$T/title"
tl=$(wc -c <"$T/title")
[ "$tl" -gt 900 ] && [ "$tl" -le 1025 ] || fail "the cut title is $tl bytes, not about 1024"
expect "a document with a long title is found" "$(top "$T/lix" longtitlebody)" lt

# past the size limit for one document (a small one here): the file or the
# line is skipped, with its name and line; the rest is indexed
mkdir -p "$T/big"
{ printf 'big\n'; rep 30000 큰파일; } >"$T/big/big.txt"
doc ok1 okayone >"$T/big/lines.jsonl"
{ printf '{"id":"huge","title":"h","text":"'; rep 30000 큰줄; printf '"}\n'; } >>"$T/big/lines.jsonl"
doc ok2 okaytwo >>"$T/big/lines.jsonl"
ln -s /dev/zero "$T/big-zero.txt"
mkfifo "$T/fifo.jsonl"
OSQ_SOURCE_FIFO_WAIT_MS=300 OSQ_SOURCE_MAX_DOC_BYTES=100000 timeout 60 "$OSINDEX" -i "$T/bix" "$T/big" "$T/big-zero.txt" "$T/fifo.jsonl" >"$T/out" 2>"$T/err"
expect "indexing past the size limit exits" $? 0
contains "$T/err" "big.txt: " "the big file is named"
contains "$T/err" "the limit for one document; skipped" "the limit is named"
contains "$T/err" "lines.jsonl:2: line longer than 100000 bytes" "the long line is named with its number"
contains "$T/err" "big-zero.txt: not a regular file or FIFO" "a link to /dev/zero is skipped, not read for ever"
contains "$T/err" "fifo.jsonl: a FIFO nothing was written to in time; skipped" "a FIFO nobody writes to is not waited on for ever"
expect "the lines around a skipped one" "$(top "$T/bix" okayone)$(top "$T/bix" okaytwo)" ok1ok2
expect "documents past the limit" "$(docs "$T/bix")" 2

# --- input edges ---------------------------------------------------------------
mkdir -p "$T/e/tree/sub"
# a NUL byte in the first line of a JSON Lines file spoils that line only
{ printf '{"id":"n0","text":"x\0y"}\n'; doc n1 nulfirstok; } >"$T/e/nul.jsonl"
# bytes after the end of the gzip data
{ doc g1 gzipokay | gzip -c; printf 'not gzip at all'; } >"$T/e/trail.jsonl.gz"
# a directory link out of the tree (to its parent) and one inside it
doc s1 subokay >"$T/e/tree/sub/s.jsonl"
ln -s .. "$T/e/tree/up"
ln -s sub "$T/e/tree/inside"
"$OSINDEX" -i "$T/eix" "$T/e/nul.jsonl" "$T/e/trail.jsonl.gz" "$T/e/tree" >"$T/out" 2>"$T/err"
expect "indexing the input edges exits" $? 0
contains "$T/err" "nul.jsonl:1: malformed JSON" "a NUL in the first line is that line's problem, with its number"
grep -q "nul.jsonl: binary" "$T/err" && fail "a JSON Lines file with a NUL in its first line was taken for binary"
expect "the valid line after a NUL" "$(top "$T/eix" nulfirstok)" n1
contains "$T/err" "trail.jsonl.gz: 15 bytes after the end of the gzip data ignored" "garbage after the gzip data is reported"
expect "the gzip data before the garbage" "$(top "$T/eix" gzipokay)" g1
contains "$T/err" "tree/up: symbolic link to a directory outside the tree" "a link to .. is not followed"
grep -q "directory loop" "$T/err" && fail "the link to .. was followed (a loop was found beyond it): $(cat "$T/err")"
expect "a link inside the tree is followed" "$(top "$T/eix" subokay)" s1
expect "documents of the input edges" "$(docs "$T/eix")" 3

# a new index directory is fsynced in its parent
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
  ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -o "$T/mk.trace" -e trace=mkdir,fsync \
    "$OSINDEX" -q -i "$T/mk/new" "$T/1.jsonl" 2>/dev/null || fail "a build into a new directory under strace"
  grep -A1 "mkdir(\"$T/mk/new\"" "$T/mk.trace" | grep -q "fsync([0-9]*<$T/mk>)" ||
    fail "the new index directory was not fsynced in its parent: $(grep -E 'mkdir|fsync' "$T/mk.trace" | head -5)"
fi

# the LOCK's holder is named even in the moment before it wrote its pid
if command -v flock >/dev/null 2>&1; then
  : >"$T/ix/LOCK"
  # the holder says when it has the lock (a fixed sleep here lost the race
  # on a loaded machine: osindex took the lock first and succeeded)
  flock "$T/ix/LOCK" sh -c ": >'$T/held'; sleep 0.03; echo 'pid 4242 (tester)' >'$T/ix/LOCK'; sleep 1" &
  i=0
  while [ ! -e "$T/held" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
  "$OSINDEX" add -q -i "$T/ix" "$T/2.jsonl" >"$T/out" 2>"$T/err"
  expect "add while another holds the LOCK exits" $? 2
  contains "$T/err" "pid 4242 (tester)" "the lock holder's pid is named"
  wait
fi

# --- damage is reported as damage, with what is lost; memory as memory --------
{ doc a alpha1; doc b bravo1; doc c charlie1; doc d delta1; } >"$T/4.jsonl"
"$OSINDEX" -q -i "$T/dmg" "$T/4.jsonl" && "$OSINDEX" add -q --no-merge -i "$T/dmg" "$T/2.jsonl" &&
  "$OSINDEX" delete -q --no-merge -i "$T/dmg" a || fail "building the index to damage"
seg2=$(ls "$T/dmg" | grep '^seg-.*\.osq$' | sort | tail -n 1)
del=$(ls "$T/dmg" | grep '\.del\.' | head -n 1)
cp -r "$T/dmg" "$T/dmg-mem"
printf 'XXXX' | dd of="$T/dmg/$seg2" bs=1 seek=200 conv=notrunc 2>/dev/null
"$OSINDEX" check -i "$T/dmg" >"$T/out" 2>&1
expect "check of a damaged index exits" $? 1
contains "$T/out" "1 damaged segment holds 1 of the index's 4 documents" "check says what is lost"
contains "$T/out" "osindex --replace" "check says how to rebuild, after what is lost"
# a damaged version field of a deletion file: damage, not a version
cp "$T/dmg-mem/$del" "$T/del.orig"
printf '\143' | dd of="$T/dmg-mem/$del" bs=1 seek=8 conv=notrunc 2>/dev/null
"$OSINDEX" check -i "$T/dmg-mem" >"$T/out" 2>&1
expect "check with a damaged deletion file exits" $? 1
contains "$T/out" "$del: corrupt deletion file: checksum mismatch" "a damaged version field of a deletion file is damage"
grep -q "version 99" "$T/out" && fail "a damaged version field was reported as a version: $(cat "$T/out")"
cp "$T/del.orig" "$T/dmg-mem/$del"
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
  # mmap of a segment failing for want of memory (as under ulimit -v)
  seg1=$(ls "$T/dmg-mem" | grep '^seg-.*\.osq$' | sort | head -n 1)
  ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -P "$T/dmg-mem/$seg1" -e trace=mmap \
    -e inject=mmap:error=ENOMEM "$OSINDEX" check -i "$T/dmg-mem" >"$T/out" 2>&1
  expect "check out of memory exits" $? 2
  contains "$T/out" "out of memory" "out of memory is out of memory"
  grep -q "damaged" "$T/out" && fail "out of memory was reported as damage: $(cat "$T/out")"
  "$OSINDEX" check -i "$T/dmg-mem" >/dev/null 2>&1 || fail "the index checked out of memory is intact"
fi

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "edges: all passed"
