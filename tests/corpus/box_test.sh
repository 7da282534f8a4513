#!/bin/sh
# The search box on the bundled corpus (core/rewrite.c, core/suggest.c,
# core/hangul.c): what users type that the query language alone does not
# find, and what osq says it did.  Usage: box_test.sh OSQ INDEX
set -u
OSQ=$1 INDEX=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { grep -qF -- "$2" "$1" || fail "$3: expected '$2' in $(head -c 600 "$1")"; }
SEED='corpus/openstack/seed-article.txt, passage 15'

# --- the seed article's 화웨이 passage in the top 3, the rewrite shown ---
for q in ㅎㅇㅇ ghkdnpdl 화훼이 huawei; do
  "$OSQ" -i "$INDEX" -n 3 --passages --color=never "$q" >"$T/out" 2>"$T/err"
  [ $? -eq 0 ] || fail "$q: exit status"
  grep "^ *[123]\. " "$T/out" | grep -qF "$SEED" || fail "$q: the 화웨이 passage is not in the top 3: $(head -c 400 "$T/out")"
  grep -qF "for $q (" "$T/err" || grep -qF "no passage matches $q; searched " "$T/err" ||
    fail "$q: the rewrite is said on stderr: $(cat "$T/err")"
done
"$OSQ" -i "$INDEX" -n 3 ㅎㅇㅇ 2>"$T/err" >/dev/null
contains "$T/err" "searched 화웨이 for ㅎㅇㅇ (initial consonants; or: " "초성 names the other words"
"$OSQ" -i "$INDEX" -n 3 ghkdnpdl 2>"$T/err" >/dev/null
contains "$T/err" "searched 화웨이 for ghkdnpdl (keyboard layout)" "layout note"
"$OSQ" -i "$INDEX" -n 3 화훼이 2>"$T/err" >/dev/null
contains "$T/err" "no passage matches 화훼이; searched 화웨이 instead (spelling)" "typo note: what was typed matches nothing, what was searched"

# --- mixed 초성, the reverse layout, Latin typos ---
"$OSQ" -i "$INDEX" -n 3 오ㅍㅅㅌ >"$T/out" 2>"$T/err"
contains "$T/err" "searched 오픈스택 for 오ㅍㅅㅌ" "mixed syllables and initial consonants"
"$OSQ" -i "$INDEX" -n 3 ㅐㅔ둔ㅅㅁ차 >"$T/out" 2>"$T/err"
contains "$T/err" "openstack" "Hangul typed in Korean mode meaning openstack"
"$OSQ" -i "$INDEX" -n 3 openstak >"$T/out" 2>"$T/err"
contains "$T/err" "no passage matches openstak; searched openstack instead (spelling)" "Latin typo"
contains "$T/out" "**openstack**" "the corrected word is highlighted"
"$OSQ" -i "$INDEX" -n 3 openstak의 >"$T/out" 2>"$T/err"
contains "$T/err" "searched openstack의 instead (spelling)" "a typo before a particle"
"$OSQ" -i "$INDEX" -n 3 "화훼이?" >"$T/out" 2>"$T/err"
contains "$T/err" "searched 화웨이? instead (spelling)" "a typo before punctuation"

# --- --no-correct and --exact ---
"$OSQ" -i "$INDEX" -n 3 --no-correct 화훼이 >"$T/out" 2>"$T/err"
contains "$T/err" "no passage contains 화훼이" "--no-correct searches the word as typed"
grep -q "searched" "$T/err" && fail "--no-correct still corrected: $(cat "$T/err")"
"$OSQ" -i "$INDEX" -n 3 --exact ghkdnpdl >"$T/out" 2>"$T/err"
contains "$T/err" "no passage contains ghkdnpdl" "--exact does not convert the layout"

# --- an ordinary query is searched as typed, and says nothing ---
"$OSQ" -i "$INDEX" -n 3 --json 화웨이 >"$T/out" 2>"$T/err"
grep -q "rewritten" "$T/out" && fail "화웨이 was rewritten: $(tail -n 1 "$T/out")"
[ -s "$T/err" ] && fail "화웨이 printed on stderr: $(cat "$T/err")"
"$OSQ" -i "$INDEX" -n 3 "오픈스택 클라우드" >"$T/plain" 2>"$T/err"
"$OSQ" -i "$INDEX" -n 3 --exact "오픈스택 클라우드" >"$T/exact" 2>>"$T/err"
cmp -s "$T/plain" "$T/exact" || fail "a query of two common words ranks differently with the box"
[ -s "$T/err" ] && fail "오픈스택 클라우드 printed on stderr: $(cat "$T/err")"
# codes are not typos: echo1 is not corrected to another id
"$OSQ" -i "$INDEX" -n 3 nova2 >"$T/out" 2>"$T/err"
grep -q "spelling" "$T/err" && fail "a word with digits was corrected: $(cat "$T/err")"

# --- --json says what was searched ---
"$OSQ" -i "$INDEX" -n 3 --json ghkdnpdl >"$T/out" 2>/dev/null
tail -n 1 "$T/out" | grep -qF '"rewritten":"화웨이"' || fail "json rewritten: $(tail -n 1 "$T/out")"
"$OSQ" -i "$INDEX" -n 3 --json OpenStack >"$T/out" 2>/dev/null
tail -n 1 "$T/out" | grep -qF '"rewritten":"(OpenStack OR 오픈스택)"' || fail "json alias: $(tail -n 1 "$T/out")"
grep '"doc_id"' "$T/out" | grep -q '오픈스택' || fail "OpenStack finds no passage with 오픈스택"

# --- completion ---
"$OSQ" -i "$INDEX" --suggest 오픈스 >"$T/out" 2>"$T/err"
[ "$(head -n 1 "$T/out" | cut -f1)" = 오픈스택 ] || fail "--suggest 오픈스: $(head -n 3 "$T/out")"
"$OSQ" -i "$INDEX" --suggest 황 >"$T/out"
cut -f1 "$T/out" | grep -qx 화웨이 || fail "--suggest 황 (half-typed 화웨이) lacks 화웨이: $(tr '\n' ' ' <"$T/out")"
cut -f1 "$T/out" | grep -qx 황제 || fail "--suggest 황 lacks 황제 (the syllable itself)"
"$OSQ" -i "$INDEX" --suggest 화웨 | cut -f1 | grep -qx 화웨이 || fail "--suggest 화웨"
"$OSQ" -i "$INDEX" --suggest 오픈ㅅ | cut -f1 | grep -qx 오픈스택 || fail "--suggest 오픈ㅅ (a lone consonant last)"
"$OSQ" -i "$INDEX" --suggest opens | cut -f1 | head -n 1 | grep -qx openstack || fail "--suggest opens"
"$OSQ" -i "$INDEX" --json --suggest 오픈스 | grep -qF '"suggestions":[{"word":"오픈스택","passages":' || fail "--json --suggest"
"$OSQ" -i "$INDEX" --suggest 뷁뷁 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] || fail "--suggest with nothing to offer should exit 0"
contains "$T/err" "no word of the index starts with 뷁뷁" "--suggest with nothing to offer"
# (a golden of the text form)
"$OSQ" -i "$INDEX" -n 5 --suggest 오픈스 >"$T/out"
printf '오픈스택\t310\n오픈스택이\t3\n오픈스택에\t9\n오픈스택에서\t7\n오픈스택서밋\t4\n' | cmp -s - "$T/out" || fail "--suggest golden: $(cat "$T/out")"

# --- word* in the query syntax ---
"$OSQ" -i "$INDEX" -n 3 '오픈*' >"$T/out" 2>"$T/err"
contains "$T/err" "searched (오픈스택 OR " "오픈* expands to completions"
"$OSQ" -i "$INDEX" -n 3 '"오픈*"' >"$T/out" 2>"$T/err"
grep -q searched "$T/err" && fail "a phrase was rewritten: $(cat "$T/err")"

# --- synonyms files ---
printf '# test\n\n플레이버, zzflavorzz ,nova\n' >"$T/syn"
"$OSQ" -i "$INDEX" -n 3 --synonyms "$T/syn" --no-correct 플레이버 >"$T/out" 2>"$T/err"
contains "$T/err" "searched (플레이버 OR nova) for 플레이버 (aliases)" "a synonyms file (zzflavorzz is not in the index: left out)"
printf '화웨이, huawei\n화웨이\n' >"$T/bad"
"$OSQ" -i "$INDEX" --synonyms "$T/bad" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "a malformed synonyms file should exit 2"
contains "$T/err" "$T/bad:2: a group needs two words" "synonyms error names file and line"
printf 'a b, c\n' >"$T/bad"
"$OSQ" -i "$INDEX" --synonyms "$T/bad" 화웨이 >"$T/out" 2>"$T/err"
contains "$T/err" "$T/bad:1: an alias is one word" "a space in an alias"
printf '\377, x\n' >"$T/bad"
"$OSQ" -i "$INDEX" --synonyms "$T/bad" 화웨이 >"$T/out" 2>"$T/err"
contains "$T/err" "$T/bad:1: not UTF-8" "invalid UTF-8 in a synonyms file"
"$OSQ" -i "$INDEX" --synonyms "$T/missing" 화웨이 >"$T/out" 2>"$T/err"
[ $? -eq 2 ] || fail "a missing synonyms file should exit 2"
contains "$T/err" "$T/missing" "a missing synonyms file is named"

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "box: all checks passed"
