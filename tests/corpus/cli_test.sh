#!/bin/sh
# Command-line behaviour of osindex and osq on the bundled corpus: output a
# person reads (golden files), JSON and batch output for scripts, and the
# errors users hit.  Usage: cli_test.sh OSINDEX OSQ INDEX TESTDIR
set -u
OSINDEX=$1 OSQ=$2 INDEX=$3 DIR=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { grep -qF -- "$2" "$1" || fail "$3: expected '$2' in $(cat "$1" | head -c 600)"; }

# --- golden outputs (regenerate with tests/corpus/update_golden.sh) ---
while IFS='	' read -r name query; do
  [ -z "$name" ] && continue
  "$OSQ" -i "$INDEX" -n 3 --color=never "$query" >"$T/$name.out" 2>&1
  if ! cmp -s "$T/$name.out" "$DIR/golden/$name.out"; then
    fail "golden $name ($query) differs:"
    diff "$DIR/golden/$name.out" "$T/$name.out" | head -20
  fi
done <"$DIR/golden/queries.tsv"

# --- plain markers in a pipe, colour only when asked ---
"$OSQ" -i "$INDEX" 화웨이 >"$T/pipe" 2>&1
contains "$T/pipe" "**화웨이**" "highlight markers in a pipe"
grep -q "$(printf '\033')" "$T/pipe" && fail "colour escapes written to a pipe"
"$OSQ" -i "$INDEX" --color=always 화웨이 >"$T/color" 2>&1
grep -q "$(printf '\033')\[1;31m화웨이" "$T/color" || fail "--color=always does not colour the match"

# --- JSON: one line a passage, then a summary line ---
"$OSQ" -i "$INDEX" -n 2 --json 오픈스택 >"$T/json2"
[ "$(grep -c '"doc_id"' "$T/json2")" -eq 2 ] || fail "--json -n 2 should print 2 result lines"
[ "$(wc -l <"$T/json2")" -eq 3 ] || fail "--json -n 2 should end with one summary line"
tail -n 1 "$T/json2" | grep -q '^{"summary":{"passages":[0-9]*,"documents":[0-9]*,"at_least":' || fail "json summary line: $(tail -n 1 "$T/json2")"
contains "$T/json2" '"exact":true' "json exact flag"
"$OSQ" -i "$INDEX" -n 2 --json 화웨이 >"$T/json"
contains "$T/json" '"rank":1' "json rank"
contains "$T/json" '"summary":{"passages":1,"documents":1,"at_least":false' "json summary counts"
contains "$T/json" '"doc_id":"corpus/openstack/seed-article.txt"' "json doc_id"
contains "$T/json" '"passage":"한편, 오픈스택서밋홍콩에' "json passage"
contains "$T/json" '"highlights":[[' "json highlights"

# --- batch ---
printf 'q1\t화웨이\nq2\t오픈스택\n\n시트릭스\n' | "$OSQ" -i "$INDEX" -n 3 --batch - >"$T/batch"
[ "$(grep -c '"summary"' "$T/batch")" -eq 3 ] || fail "batch should print a summary line a query"
[ "$(grep -c '"qid":"q2","rank"' "$T/batch")" -eq 3 ] || fail "batch q2 should print 3 results"
contains "$T/batch" '"qid":"q1"' "batch qid"
contains "$T/batch" '"qid":"q2"' "batch qid"
contains "$T/batch" '"qid":"4"' "batch line number as qid"
printf 'bad\t\377\nok\t화웨이\n' | "$OSQ" -i "$INDEX" -n 1 --batch - >"$T/batch2" 2>"$T/batch2.err"
[ $? -eq 1 ] || fail "a batch with a failed query should exit 1"
contains "$T/batch2" '"qid":"bad","error"' "batch error line"
contains "$T/batch2" '"qid":"ok"' "batch goes on after an error"

# --- what matched: counts, nothing, only pieces, documents once ---
"$OSQ" -i "$INDEX" -n 10 화웨이 >"$T/out" 2>"$T/err"
head -n 1 "$T/out" | grep -qx "1 passage in 1 document matches" || fail "count header: $(head -n 1 "$T/out")"
"$OSQ" -i "$INDEX" -n 10 --no-correct 플레이버 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "a word no passage holds should exit 0"
contains "$T/err" "no passage contains 플레이버" "nothing-matches message"
grep -q "passages in" "$T/out" && fail "no count header when nothing matches"
if grep -q "^ 1\." "$T/out"; then
  head -n 1 "$T/out" | grep -q "^--- " || fail "passages sharing pieces come after a separator line: $(head -n 2 "$T/out")"
fi
"$OSQ" -i "$INDEX" -n 10 --no-correct --json 플레이버 >"$T/out" 2>"$T/err"
grep -q '"exact":true' "$T/out" && fail "플레이버: a result marked exact"
contains "$T/out" '"summary":{"passages":0' "json summary of nothing"
"$OSQ" -i "$INDEX" -n 10 --json 바이두 >"$T/out" 2>&1
grep -q '이 두려' "$T/out" && fail "바이두 found the bigram across 이 두"
"$OSQ" -i "$INDEX" -n 10 오픈스택 >"$T/out" 2>&1
ids=$(sed -n 's/^ *[0-9]*\. .*  (\(.*\), passage [0-9]*)$/\1/p' "$T/out")
[ "$(echo "$ids" | wc -l)" -eq 10 ] || fail "grouped output should show 10 documents: $(head -c 600 "$T/out")"
[ "$(echo "$ids" | sort | uniq -d | wc -l)" -eq 0 ] || fail "a document shown twice: $(echo "$ids" | sort | uniq -d)"
grep -q "more passages* of this document match" "$T/out" || fail "grouped output says how many more passages match"
"$OSQ" -i "$INDEX" -n 30 --passages 오픈스택 >"$T/out" 2>&1
ids=$(sed -n 's/^ *[0-9]*\. .*  (\(.*\), passage [0-9]*)$/\1/p' "$T/out")
[ "$(echo "$ids" | sort | uniq -d | wc -l)" -gt 0 ] || fail "--passages should list passages of one document"
for q in '' '   ' '?!'; do
  "$OSQ" -i "$INDEX" "$q" >"$T/out" 2>"$T/err"
  [ $? -eq 2 ] || fail "empty query '$q' should exit 2"
  contains "$T/err" "empty query" "empty query message"
done
printf 'e\t  \nok\t화웨이\n' | "$OSQ" -i "$INDEX" -n 1 --batch - >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "a batch with an empty query should exit 1"
contains "$T/out" '{"qid":"e","error":"empty query"}' "batch empty query error line"
contains "$T/out" '"qid":"ok","rank":1' "batch goes on after an empty query"
words=$(i=0; while [ $i -lt 3000 ]; do printf '오픈스택 '; i=$((i + 1)); done)
"$OSQ" -i "$INDEX" -n 3 "$words 화웨이" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "a query of 3,001 words should run"
contains "$T/err" "left out 2937" "dropped words of a long query are reported"

# --- errors users hit ---
"$OSQ" -i "$T/none" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "missing index should exit 2"
contains "$T/err" "no index at $T/none" "missing index message"
contains "$T/err" "osindex" "missing index says how to build one"

"$OSQ" -i "$INDEX" "$(printf 'abc\377')" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "invalid UTF-8 query should exit 2"
contains "$T/err" "not valid UTF-8" "invalid UTF-8 message"

cp -r "$INDEX" "$T/old"
printf '\143' | dd of="$T/old/MANIFEST" bs=1 seek=8 conv=notrunc 2>/dev/null
"$OSQ" -i "$T/old" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 3 ] || fail "index with a damaged version field should exit 3 (damage)"
contains "$T/err" "damaged" "a damaged version field is damage"
grep -q "version" "$T/err" && fail "a damaged version field is not a version mismatch: $(cat "$T/err")"
# the same version with its checksum (gzip's trailer is the CRC-32 of its
# input, little-endian, as the manifest stores it): an index of a newer osq
n=$(wc -c <"$T/old/MANIFEST")
head -c $((n - 4)) "$T/old/MANIFEST" | gzip -c | tail -c 8 | head -c 4 |
  dd of="$T/old/MANIFEST" bs=1 seek=$((n - 4)) conv=notrunc 2>/dev/null
"$OSQ" -i "$T/old" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "index of another version should exit 2"
contains "$T/err" "format version 99" "version message"
contains "$T/err" "upgrade osq" "a newer version says to upgrade osq"

# --- damage a query reads is an error naming the file and offset, never an answer ---
# (format 6: every page is verified on first use, segment_write.c).  The
# whole POSTINGS section (section 2: its offset and length are the u64s at
# 64 + 2 * 24 and 72 + 2 * 24) zeroed: the index opens, the query fails.
cp -r "$INDEX" "$T/dmg"
dseg=$(ls "$T"/dmg/seg-*.osq | head -1)
u64() { od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '; }
poff=$(u64 "$dseg" 112) plen=$(u64 "$dseg" 120)
dd if=/dev/zero of="$dseg" bs=1 seek="$poff" count="$plen" conv=notrunc 2>/dev/null
"$OSQ" -i "$T/dmg" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 3 ] || fail "a query reading a damaged page should exit 3: $(cat "$T/err")"
contains "$T/err" "the index is damaged at $dseg offset" "damage names the file and offset"
contains "$T/err" "run osindex check" "damage says what to run"
[ -s "$T/out" ] && fail "a query reading damaged postings printed results: $(head -c 300 "$T/out")"
grep -q "rebuild" "$T/err" && fail "rebuild is advised before check has shown what is lost: $(cat "$T/err")"
printf 'q1\t화웨이\nq2\t오픈스택\n' | "$OSQ" -i "$T/dmg" --batch - >"$T/out" 2>"$T/err"
[ $? -eq 3 ] || fail "a batch meeting damage should exit 3"
"$OSINDEX" check -i "$T/dmg" >"$T/out" 2>&1
[ $? -eq 1 ] || fail "check of the damaged index should exit 1"
contains "$T/out" "offset $((poff / 4096 * 4096))" "check names the first damaged page (4 KiB pages)"
contains "$T/out" "rebuild" "check, having shown what is lost, says how to rebuild"

"$OSQ" -i "$INDEX" '"오픈스택 (AND' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "malformed syntax should fall back to words, not fail"

# --- query words that start with '-' are words, not options ---
"$OSQ" -i "$INDEX" -n 20 --color=never 화웨이 -게이트웨이 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "'osq 화웨이 -게이트웨이' should run the query: $(cat "$T/err")"
contains "$T/out" "**화웨이**" "must-not query finds 화웨이"
grep -q "게이트웨이" "$T/out" && fail "'osq 화웨이 -게이트웨이' returned a passage with 게이트웨이"
"$OSQ" -i "$INDEX" -n 1 '-게이트웨이 화웨이' >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "a query starting with -word should run: $(cat "$T/err")"
"$OSQ" -i "$INDEX" -n 20 --color=never 클라우드 -nova >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "'osq 클라우드 -nova' should exclude nova, not read -n ova: $(cat "$T/err")"
grep -qi "nova" "$T/out" && fail "'osq 클라우드 -nova' returned a passage with nova"
"$OSQ" -i "$INDEX" --color=bogus 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "--color=bogus should exit 2"
contains "$T/err" "bogus" "--color error names the value"

# --- output that cannot be written is an error ---
if [ -w /dev/full ]; then
  "$OSQ" -i "$INDEX" 화웨이 >/dev/full 2>"$T/err"
  [ $? -eq 2 ] || fail "a full disk under stdout should exit 2"
  contains "$T/err" "writing the results" "write error message"
  printf 'q1\t화웨이\n' | "$OSQ" -i "$INDEX" --batch - >/dev/full 2>"$T/err"
  [ $? -eq 2 ] || fail "a batch whose output cannot be written should exit 2"
  "$OSINDEX" stats -i "$INDEX" >/dev/full 2>"$T/err"
  [ $? -eq 2 ] || fail "osindex stats into a full disk should exit 2"
  contains "$T/err" "writing the output" "osindex write error message"
fi
"$OSQ" -i "$INDEX" --batch "$T" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "--batch of a directory should exit 2"

# --- control characters in documents do not reach the terminal ---
mkdir -p "$T/esc"
printf '{"id":"e1","title":"제목\\u001b]0;PWNED\\u0007\\u001b[2J","text":"탈출문자 시험 \\u001b[31m빨강 \\u009b2J"}\n' >"$T/esc/e.jsonl"
"$OSINDEX" -q -i "$T/escix" "$T/esc" >"$T/out" 2>&1 || fail "indexing control characters: $(cat "$T/out")"
"$OSQ" -i "$T/escix" --color=always 탈출문자 >"$T/out" 2>&1
grep -q "PWNED" "$T/out" || fail "the title with control characters is not shown: $(cat "$T/out")"
# the only escapes left must be osq's own colours
sed 's/\x1b\[[0-9;]*m//g' "$T/out" | grep -q "$(printf '\033')" && fail "a document's escape sequence reached the output"
grep -q "$(printf '\302\233')" "$T/out" && fail "a C1 control (CSI) reached the output"
"$OSQ" -i "$T/escix" --json 탈출문자 >"$T/out" 2>&1
contains "$T/out" '\u001B]0;PWNED' "JSON keeps control characters, escaped"

# --- a damaged segment is never merged into one with valid checksums ---
"$OSINDEX" -q -i "$T/dm" corpus/openstack >"$T/out" 2>&1 || fail "indexing corpus/openstack: $(cat "$T/out")"
seg=$(ls "$T"/dm/seg-*.osq | head -1)
printf XXXX | dd of="$seg" bs=1 seek=$(($(wc -c <"$seg") / 2)) conv=notrunc 2>/dev/null
"$OSINDEX" add -q -i "$T/dm" corpus/openstack/seed-article.txt >"$T/out" 2>&1
[ $? -eq 0 ] || fail "add beside a damaged segment should still add: $(cat "$T/out")"
"$OSINDEX" merge -i "$T/dm" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "merge of a damaged segment should exit 2"
contains "$T/err" "not merged" "merge says why it refused"
"$OSINDEX" check -i "$T/dm" >"$T/out" 2>&1
[ $? -eq 1 ] || fail "check after a refused merge should still find the damage"
contains "$T/out" "checksum mismatch" "the damage is still reported"
# an automatic merge that meets a damaged segment is skipped, and said so
mkdir -p "$T/many"
# documents long enough that the end of a segment's stored text lies in
# another 4 KiB page than its document records: the ids an add reads stay
# verifiable (page checksums, segment_write.c)
for k in 1 2 3 4 5 6 7 8 9 10 11; do
  { printf 'doc %s\n' $k; seq 1 3000 | tr '\n' ' '; printf '\n화웨이 문서 %s\n' $k; } >"$T/many/d$k.txt"
done
"$OSINDEX" -q -i "$T/mm" --no-merge "$T/many/d1.txt" >"$T/out" 2>&1 || fail "building mm: $(cat "$T/out")"
for k in 2 3 4 5 6 7 8 9 10; do "$OSINDEX" add -q --no-merge -i "$T/mm" "$T/many/d$k.txt" >"$T/out" 2>&1 || fail "add $k: $(cat "$T/out")"; done
mseg=$(ls "$T"/mm/seg-*.osq | head -1)
# damage the stored text (short texts are LZ4 literals), not the header
at=$(grep -abo "화웨이 문서" "$mseg" | tail -1 | cut -d: -f1)
[ -n "$at" ] || fail "no stored text found in $mseg"
printf XXXX | dd of="$mseg" bs=1 seek="${at:-0}" conv=notrunc 2>/dev/null
"$OSINDEX" add -q -i "$T/mm" "$T/many/d11.txt" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "add beside a damaged segment, merge due, should still add: $(cat "$T/err")"
contains "$T/err" "not merged" "a refused automatic merge is reported"
contains "$T/err" "osindex check" "the report says what to run"
"$OSINDEX" check -i "$seg" >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "check of a file, not an index directory, should exit 2"
contains "$T/err" "not an index directory" "check of a file says so"

# --- a file-size limit is an error with a message, not a silent kill ---
(ulimit -f 200 && "$OSINDEX" -i "$T/fx" corpus) >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "osindex past ulimit -f should exit 2, not be killed"
contains "$T/err" "File too large" "the size limit is named"

# --- osindex on bad input ---
mkdir -p "$T/in/sub"
printf '{"id":"a","title":"첫째","text":"화웨이 문서"}\n{"id":"b",\n{"id":"c","title":"셋째","text":"오픈스택 문서"}\n' >"$T/in/docs.jsonl"
printf 'bin\000ary\000' >"$T/in/sub/x.txt"
"$OSINDEX" -i "$T/ix" "$T/in" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "osindex with some bad input should succeed"
contains "$T/err" "docs.jsonl:2:" "malformed JSON warning names file and line"
contains "$T/err" "x.txt" "binary file warning names the file"
contains "$T/err" "2 documents" "summary counts the good documents"
"$OSQ" -i "$T/ix" --json 오픈스택 >"$T/out"
contains "$T/out" '"doc_id":"c"' "documents after a bad line are indexed"

mkdir -p "$T/bad"
printf 'not json\n' >"$T/bad/only.jsonl"
"$OSINDEX" -i "$T/ix2" "$T/bad" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "osindex with nothing indexable should exit 1"
contains "$T/err" "nothing could be indexed" "nothing indexed message"

"$OSINDEX" -i "$T/ix3" "$T/missing-dir" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "osindex of a missing path should exit 1"
contains "$T/err" "missing-dir" "missing path is named"

# --- a word repeated at the end of the dictionary: its positions pack into
# fewer bytes than its tf (patched frames), which must not look corrupt ---
mkdir -p "$T/rep"
{ printf 'title\nhello'; i=0; while [ $i -lt 300 ]; do printf ' zz'; i=$((i + 1)); done; printf '\n'; } >"$T/rep/a.txt"
printf 'title\nhello zz zz zz zz zz\n' >"$T/rep/b.txt"
"$OSINDEX" -q -i "$T/repix" "$T/rep" >"$T/out" 2>"$T/err" || fail "indexing repeated words failed: $(cat "$T/err")"
"$OSQ" -i "$T/repix" -n 5 --json zz >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "a word of high tf at the end of the dictionary: $(cat "$T/err")"
contains "$T/out" 'rep/a.txt"' "the document with zz 300 times is found"
contains "$T/out" 'rep/b.txt"' "the document with zz 5 times is found"
"$OSINDEX" check -i "$T/repix" --deep >"$T/out" 2>&1 || fail "check of the repeated-word index: $(cat "$T/out")"

# --- the Xapian engine behind the same command line ---
if "$OSINDEX" -q --engine xapian -i "$T/xdb" corpus >"$T/out" 2>"$T/err"; then
  "$OSQ" --engine xapian -i "$T/xdb" -n 2 --json 화웨이 >"$T/xjson" 2>&1
  contains "$T/xjson" '"rank":1' "xapian json rank"
  contains "$T/xjson" '"doc_id":"corpus/openstack/seed-article.txt"' "xapian json doc_id"
  contains "$T/xjson" '"highlights":[[' "xapian json highlights"
  "$OSQ" --engine xapian -i "$T/xdb" "화웨이 AND" >"$T/out" 2>"$T/err"
  [ $? -eq 2 ] || fail "a query Xapian cannot parse should exit 2"
  contains "$T/err" "QueryParserError" "Xapian's parse error is shown"
  "$OSQ" --engine xapian -i "$T/xdb" "$(printf 'abc\377')" >"$T/out" 2>"$T/err"
  [ $? -eq 2 ] || fail "invalid UTF-8 through --engine xapian should exit 2"
  contains "$T/err" "not valid UTF-8" "xapian invalid UTF-8 message"
else
  contains "$T/err" "cannot load the Xapian engine" "osindex --engine xapian without the library says why"
fi

# --- stems: a word with a particle scores its stem, which the index holds
# for every form of the word (화웨이가 and 화웨이는 -> 화웨이) ---
"$OSQ" -i "$INDEX" -n 1 --explain 화웨이가 >"$T/out" 2>&1
contains "$T/out" "**화웨이" "화웨이가 ranks a passage holding 화웨이 first"
contains "$T/out" "  stem 화웨이: tf 3" "화웨이가 scores the stem 화웨이"
for q in 오픈스택을 오픈스택 "오픈 스택"; do
  "$OSQ" -i "$INDEX" -n 1 --explain "$q" >"$T/out" 2>&1
  contains "$T/out" "  stem 오픈스택: tf" "$q scores the stem 오픈스택"
done
"$OSQ" -i "$INDEX" -n 1 --explain 누구를 >"$T/out" 2>&1
grep -q "  stem " "$T/out" && fail "a query stop word (누구) should not score its stem: $(cat "$T/out")"

# --- stems: an index whose stems another lexicon made is reported ---
"$OSQ" -i "$INDEX" 화웨이 >"$T/out" 2>"$T/err"
grep -q "lexicon" "$T/err" && fail "a fresh index should not warn about its lexicon: $(cat "$T/err")"
cp -r "$INDEX" "$T/oldlex"
seg=$(ls "$T/oldlex"/seg-*.osq | head -1)
# the lexicon id is the u64 at byte 48 of the segment header
printf '\001\002\003\004\005\006\007\010' | dd of="$seg" bs=1 seek=48 conv=notrunc 2>/dev/null
"$OSQ" -i "$T/oldlex" 화웨이가 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "a lexicon mismatch is a warning, not an error"
contains "$T/err" "were stemmed with lexicon 0807060504030201" "lexicon mismatch named"
contains "$T/err" "rebuild the index" "lexicon mismatch says what to do"
contains "$T/out" "화웨이" "a lexicon mismatch still answers"

if [ "$failures" -ne 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "all command-line checks passed"
