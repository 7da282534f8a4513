#!/bin/sh
# Writes small real segment files, seeds for fuzz_segment, into OUTDIR:
# small.osq (five documents of every kind of text, titles, several
# passages) and blocks.osq (150 short documents, so that some terms have
# posting lists of two blocks with a skip table).
# Usage: make_segment_seeds.sh OSINDEX OUTDIR
set -eu
osindex=$1
out=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/osq-seeds-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

cat > "$work/small.jsonl" <<'JSON'
{"id": "d1", "title": "화웨이 클라우드", "text": "화웨이가 오픈스택 재단의 골드 멤버가 되었다. 화웨이는 클라우드 사업을 키운다."}
{"id": "d2", "title": "게이트웨이", "text": "게이트웨이 설정: 네트워크 노드에서 라우터와 게이트웨이를 만든다.\n\n볼륨 스냅샷은 cinder가 만든다. 삭제는 하지 않는다."}
{"id": "d3", "text": "오픈 스택 설치 안내. Nova, Neutron, Cinder, Keystone 2016년 3월 12일 제12조 1의 2"}
{"id": "d4", "title": "국", "text": "국립 연구소의 수퍼컴퓨터. 국 한 그릇. 미국 정부는 세계 최고 연구를 했다."}
{"id": "d5", "title": "NFD", "text": "\u1112\u1161\u11ab\uae00 ＡＢＣ full-width 가상 머신 가상머신 문서 테스트 입니다"}
JSON
"$osindex" -q -i "$work/small" "$work/small.jsonl"
cp "$work"/small/seg-*.osq "$out/small.osq"

i=0
: > "$work/blocks.jsonl"
while [ $i -lt 150 ]; do
  echo "{\"id\": \"b$i\", \"title\": \"문서 $i\", \"text\": \"문서 테스트 입니다 $i 번째 볼륨 스냅샷\"}" >> "$work/blocks.jsonl"
  i=$((i + 1))
done
"$osindex" -q -i "$work/blocks" "$work/blocks.jsonl"
cp "$work"/blocks/seg-*.osq "$out/blocks.osq"
