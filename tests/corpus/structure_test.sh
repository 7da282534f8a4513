#!/bin/sh
# Document structure, as a user of legal Markdown sees it: YAML front matter
# becomes fields (searchable, in the header and in --json, never in a
# snippet), a Markdown heading starts a passage that knows its section, and
# markup is not shown.  The documents are written here: a statute, two
# rulings (one citing the other by its case number), one with malformed
# front matter; then the bundled corpus's Markdown pages.
# Usage: structure_test.sh OSINDEX OSQ CORPUS_INDEX
set -u
OSINDEX=$1 OSQ=$2 CORPUS_INDEX=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
contains() { grep -qF -- "$2" "$1" || fail "$3: expected '$2' in $(head -c 800 "$1")"; }
lacks() { grep -qF -- "$2" "$1" && fail "$3: '$2' should not be in $(grep -F -- "$2" "$1" | head -c 800)"; }

python3 - "$T/docs.jsonl" <<'PY'
import json, sys
statute = """---
제목: 시험근로법
법령구분: 법률
시행일자: 2099-03-01
소관부처:
- 고용노동부
- 법무부
---

# 시험근로법

## 제1장 총칙

##### 제1조 (목적)

이 법은 시험 삼아 만든 근로조건의 기준을 정함으로써 근로자의 기본적 생활을 보장하고 향상시키며 균형 있는 국민경제의 발전을 꾀하는 것을 목적으로 한다.

##### 제2조 (정의)

이 법에서 사용하는 용어의 뜻은 다음과 같다.

  1\\. "근로자"란 직업의 종류와 관계없이 임금을 목적으로 사업이나 사업장에 근로를 제공하는 사람을 말한다.
  2\\. "사용자"란 사업주 또는 사업 경영 담당자를 말한다.

##### 제23조 (해고 등의 제한)

**①** 사용자는 근로자에게 정당한 이유 없이 해고, 휴직, 정직, 전직, 감봉, 그 밖의 징벌을 하지 못한다.

**②** 사용자는 근로자가 업무상 부상 또는 질병의 요양을 위하여 휴업한 기간과 그 후 30일 동안은 해고하지 못한다.
"""
ruling = """---
판례일련번호: '990001'
사건번호: 2099다12345
사건명: 손해배상(기)
법원명: 대법원
선고일자: 2099-06-30
출처: https://www.law.go.kr/LSW/precInfoP.do?precSeq=990001
---

# 손해배상(기)

## 판시사항

[1] 정당한 이유 없는 해고가 불법행위를 구성하는지 여부(적극)

## 판례내용

【원고, 상고인】 원고
【주    문】
  상고를 기각한다.
"""
citing = """---
사건번호: 2099다77777
사건명: 부당해고구제재심판정취소
법원명: 대법원
선고일자: 2099-09-09
---

# 부당해고구제재심판정취소

## 참조판례

대법원 2099. 6. 30. 선고 2099다12345 판결, 대법원 2099. 6. 30. 선고 2099다12345 판결(공2099하, 1234)

## 판례내용

원심은 대법원 2099다12345 판결을 따라 해고가 부당하다고 보았다. 2099다12345 판결의 법리는 이 사건에도 그대로 적용된다.
"""
bad = """---
사건번호: [2099다1, 닫히지 않은 목록
법원명: 대법원
---

# 잘못된머리말

본문에는 잘못된 머리말 뒤에도 찾을 수 있는 낱말 청어구이가 있다.
"""
with open(sys.argv[1], 'w') as f:
    for id_, title, text in [('law-t1', '시험근로법', statute), ('prec-t1', '손해배상(기)', ruling),
                             ('prec-t2', '부당해고구제재심판정취소', citing), ('prec-bad', '잘못된머리말', bad)]:
        f.write(json.dumps({'id': id_, 'title': title, 'text': text}, ensure_ascii=False) + '\n')
PY

"$OSINDEX" -i "$T/idx" "$T/docs.jsonl" >"$T/build.out" 2>"$T/build.err"
[ $? -eq 0 ] || fail "osindex should index documents with malformed front matter (exit 0): $(cat "$T/build.err")"
# malformed front matter: a warning naming the document and the line, then indexed as text
contains "$T/build.err" "warning: prec-bad: front matter line " "malformed front matter warning"
contains "$T/build.err" "kept as text" "malformed front matter warning says what was done"
lacks "$T/build.err" "law-t1" "well-formed front matter is no warning"
"$OSQ" -i "$T/idx" --json 청어구이 >"$T/bad.json"
contains "$T/bad.json" '"doc_id":"prec-bad"' "a document with malformed front matter is still found"

# a statute article by 법령명 제N조: the article's own passage first, its heading and fields in the header
"$OSQ" -i "$T/idx" -n 3 --color=never '시험근로법 제23조' >"$T/art.txt"
sed -n 2p "$T/art.txt" >"$T/art1.txt"  # line 1 counts the matches
contains "$T/art1.txt" "시험근로법 › 제23조 (해고 등의 제한)  (law-t1, passage" "article header: title › section"
contains "$T/art1.txt" "법률 · 시행 2099-03-01" "statute fields in the header"
sed -n 3p "$T/art.txt" >"$T/art1.snip"
contains "$T/art1.snip" "** (해고 등의 제한)  ① 사용자는" "the article's passage starts with its heading, without markup"
lacks "$T/art1.snip" "제2조" "a heading starts a new passage: no earlier article in it"
"$OSQ" -i "$T/idx" -n 1 --json '시험근로법 제23조' >"$T/art.json"
contains "$T/art.json" '"section":"제23조 (해고 등의 제한)"' "section in --json"
contains "$T/art.json" '"passage":"제23조 (해고 등의 제한)' "passage text begins with the article heading"
contains "$T/art.json" '"fields":{"제목":"시험근로법","법령구분":"법률","시행일자":"2099-03-01","소관부처":"고용노동부, 법무부"}' "all fields in --json, lists joined"
# the heading of each passage of the statute is its own article's
"$OSQ" -i "$T/idx" -n 20 --json '근로자' >"$T/all.json"
python3 - "$T/all.json" >"$T/sections.txt" <<'PY' || fail "a passage's section does not match its text: $(cat "$T/sections.txt")"
import json, sys
bad = 0
for l in open(sys.argv[1]):
    x = json.loads(l)
    if 'doc_id' not in x: continue  # the summary line
    if x['doc_id'] != 'law-t1' or 'section' not in x: continue
    s, p = x['section'], x['passage']
    if s.startswith('제') and not p.startswith(s) and s.split(' ')[0] + ' (' in p: bad += 1; print(s, '|', p[:60])
sys.exit(1 if bad else 0)
PY

# a ruling by its case number: the ruling itself before the one citing it four times
"$OSQ" -i "$T/idx" -n 3 --json 2099다12345 >"$T/case.json"
head -1 "$T/case.json" >"$T/case1.json"
contains "$T/case1.json" '"doc_id":"prec-t1"' "case number finds the ruling first"
contains "$T/case1.json" '"사건번호":"2099다12345"' "case number field"
contains "$T/case1.json" '"판례일련번호":"990001"' "a quoted YAML scalar loses its quotes"
"$OSQ" -i "$T/idx" -n 1 --color=never 2099다12345 >"$T/case.txt"
contains "$T/case.txt" "(prec-t1, passage 0)  2099다12345 · 2099-06-30 · 대법원" "ruling fields in the header"
# fields are searchable by their values
"$OSQ" -i "$T/idx" -n 1 --json '2099-09-09' >"$T/date.json"
contains "$T/date.json" '"doc_id":"prec-t2"' "a date field is searchable"

# never front matter or Markdown markup in a snippet or a stored passage
for q in 시험근로법 해고 사용자 2099다12345 대법원 근로자 판시사항 '"1. 근로자"'; do
  "$OSQ" -i "$T/idx" -n 50 --json "$q" >>"$T/every.json"
  "$OSQ" -i "$T/idx" -n 50 --color=never "$q" >>"$T/every.txt"
done
python3 - "$T/every.json" >"$T/markup.txt" <<'PY' || fail "front matter or markup in passages: $(head -c 800 "$T/markup.txt")"
import json, re, sys
bad = 0
for l in open(sys.argv[1]):
    x = json.loads(l)
    if 'doc_id' not in x: continue  # the summary line
    if x['doc_id'] == 'prec-bad': continue  # its front matter is text, as warned
    p = x['passage']
    for pat in (r'(^|\n)---', r'사건번호:', r'선고일자:', r'법령구분:', r'\*\*', r'\\[.()\[\]]', r'(^|\n)#'):
        if re.search(pat, p): bad += 1; print(pat, '|', p[:80])
sys.exit(1 if bad else 0)
PY
contains "$T/every.txt" "1. \"근로자\"란" "a backslash escape is shown as its character"
lacks "$T/every.txt" "**①**" "bold markers are not shown"

# the bundled corpus's Markdown pages: a heading's section in the header, no '#' run in any snippet
"$OSQ" -i "$CORPUS_INDEX" -n 3 --color=never '스터디 개요' >"$T/kr.txt"
contains "$T/kr.txt" "› 스터디 개요" "bundled Markdown page: section heading in the header"
"$OSQ" -i "$CORPUS_INDEX" -n 200 --json '스터디' >"$T/kr.json"
python3 - "$T/kr.json" <<'PY' || fail "a '#' heading marker in a bundled-corpus snippet"
import json, re, sys
# lines inside a code fence are code: kr-00155's "# First, upload the segments" stays
bad = [x for x in (json.loads(l).get('passage', '') for l in open(sys.argv[1]))
       if re.search(r'(^|\n)#{1,6} ', x) and '# First, upload' not in x and '# And now' not in x]
print('\n'.join(b[:80] for b in bad))
sys.exit(1 if bad else 0)
PY

[ "$failures" -eq 0 ] && echo "structure: all passed"
exit $((failures > 0))
