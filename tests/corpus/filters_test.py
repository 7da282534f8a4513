#!/usr/bin/env python3
"""Paging, filters and sorting of osq (--offset, --source, --date-from,
--date-to, --sort date), as a user sees them: a page is the ranking's next
results, a filter keeps exactly the documents it names and the counts count
them, dates come from the "date" field or the front matter of rulings and
statutes, undated documents sort last, and a bad value is a usage error.

The source and paging checks run on the bundled corpus's index; the date
checks on documents written here (the bundled corpus has no dates).
Usage: filters_test.py OSINDEX OSQ CORPUS_INDEX
"""
import json
import os
import subprocess
import sys
import tempfile

OSINDEX, OSQ, INDEX = sys.argv[1:4]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg)


def osq(*args, index=INDEX, status=0):
    p = subprocess.run([OSQ, "-i", index, "--color=never", *args], capture_output=True, text=True)
    if p.returncode != status:
        fail(f"osq {' '.join(args)}: exit {p.returncode}, wanted {status}; stderr: {p.stderr[:400]}")
    return p


def results(*args, index=INDEX):
    """The --json result lines and the summary."""
    lines = [json.loads(l) for l in osq("--json", *args, index=index).stdout.splitlines()]
    return [l for l in lines if "doc_id" in l], next(l["summary"] for l in lines if "summary" in l)


def key(h):
    return (h["doc_id"], h["passage_no"], h["score"])


# --- paging: --offset N is the ranking from its N+1st result on ---
whole, _ = results("-n", "12", "오픈스택")
page, _ = results("-n", "4", "--offset", "8", "오픈스택")
if [key(h) for h in page] != [key(h) for h in whole[8:12]]:
    fail(f"--offset 8 -n 4 is not results 9-12: {[key(h) for h in page]} vs {[key(h) for h in whole[8:12]]}")
if [h["rank"] for h in page] != [9, 10, 11, 12]:
    fail(f"ranks of the page from 9: {[h['rank'] for h in page]}")
beyond, s = results("--count", "--offset", "100000", "화웨이")
if beyond or s["passages"] != 1:
    fail(f"a page past the end: no results, the count unchanged: {beyond} {s}")
# grouped text output pages by documents
two = osq("-n", "2", "클라우드").stdout.splitlines()
second = osq("-n", "1", "--offset", "1", "클라우드").stdout.splitlines()
heads = [l for l in two if l[:3].strip().rstrip(".").isdigit()]
if len(heads) != 2 or not second or second[1] != heads[1]:
    fail(f"text --offset 1 -n 1 should show the second document as ' 2.': {second[:2]} vs {heads}")

# --- source: a prefix of the "source" field, or of a .txt's path ---
allq, alls = results("--count", "-n", "100000", "클라우드")
for prefix in ["https://github.com/openstack-kr/", "https://github.com/openstack/horizon/", "corpus/openstack/seed"]:
    want = [h for h in allq if (h.get("source") or h["doc_id"]).startswith(prefix)]
    got, s = results("--count", "-n", "100000", "--source", prefix, "클라우드")
    if not want:
        fail(f"no result of '클라우드' has source {prefix}: the test proves nothing")
    if sorted(map(key, got)) != sorted(map(key, want)):
        fail(f"--source {prefix}: {len(got)} results, {len(want)} of the unfiltered ones have that source")
    if s["passages"] != len(want) or s["documents"] != len({h["doc_id"] for h in want}) or s["at_least"]:
        fail(f"--source {prefix} --count: summary {s}, wanted {len(want)} passages in "
             f"{len({h['doc_id'] for h in want})} documents")
    top, s2 = results("-n", "3", "--source", prefix, "클라우드")
    if [key(h) for h in top] != [key(h) for h in sorted(want, key=lambda h: -h["score"])[:3]]:
        fail(f"--source {prefix} -n 3 (pruned) is not the best 3 of that source")
p = osq("--source", "https://nowhere.example/", "클라우드")
if p.stdout or "filters" not in p.stderr:
    fail(f"a filter nothing passes: no results, said on stderr: {p.stdout[:200]} / {p.stderr}")

# --- sort by date on undated documents: the ranking by score ---
a, _ = results("-n", "20", "오픈스택")
b, _ = results("-n", "20", "--sort", "date", "오픈스택")
if [key(h) for h in a] != [key(h) for h in b]:
    fail("--sort date on documents without dates should keep the order by score")

# --- dates: JSON "date", front matter 선고일자 / 공포일자, none ---
T = tempfile.mkdtemp()
docs = [
    {"id": "a", "title": "가 판결", "text": "교통사고 판결 이유를 적는다.", "date": "2020-01-05"},
    {"id": "b", "title": "나 판결", "text": "---\n사건번호: 2019도1\n선고일자: 2019-12-31\n---\n\n교통사고 판결 요지."},
    {"id": "c", "title": "다 판결", "text": "날짜가 없는 교통사고 판결 메모."},
    {"id": "d", "title": "라 판결", "text": "교통사고 판결 기사.", "date": "2021. 3. 4."},
    {"id": "e", "title": "마 법률", "text": "---\n법령구분: 법률\n공포일자: 2020-07-01\n시행일자: 2021-01-01\n---\n\n교통사고 판결 조항."},
    {"id": "f", "title": "바 판결", "text": "교통사고 판결 날짜가 틀림.", "date": "어제"},
    {"id": "g", "title": "사 판결", "text": "---\n선고일자: 2018년 3월 4일\n---\n\n교통사고 판결 정리.", "date": "20180304x"},
    {"id": "h", "title": "아 판결", "text": "교통사고 판결 원문.", "date": "20170203"},
]
with open(os.path.join(T, "docs.jsonl"), "w") as f:
    for d in docs:
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
DIX = os.path.join(T, "ix")
subprocess.run([OSINDEX, "-q", "-i", DIX, os.path.join(T, "docs.jsonl")], check=True)


def ids(*args):
    r, s = results("-n", "10", *args, "교통사고", index=DIX)
    return [h["doc_id"] for h in r], s


got, _ = ids("--sort", "date")
if got[:6] != ["d", "e", "a", "b", "g", "h"] or set(got[6:]) != {"c", "f"}:
    fail(f"--sort date: newest first (d 2021-03-04, e 공포일자 2020-07-01, a, b 선고일자, g 선고일자 2018년 3월 4일 "
         f"under a date that does not read, h 20170203), undated last: {got}")
for args, want in [(["--date-from", "2020"], {"a", "d", "e"}),
                   (["--date-to", "2019"], {"b", "g", "h"}),
                   (["--date-from", "2020-01-05", "--date-to", "2020-07"], {"a", "e"}),
                   (["--date-from", "2019-12-31", "--date-to", "2019-12-31"], {"b"}),
                   (["--date-to", "2021.03.04"], {"a", "b", "d", "e", "g", "h"}),
                   (["--date-from", "2018-03-04", "--date-to", "2018-03-04"], {"g"}),
                   (["--date-from", "2017-02", "--date-to", "2017-02"], {"h"}),
                   (["--date-from", "1900", "--date-to", "9999"], {"a", "b", "d", "e", "g", "h"})]:
    got, s = ids(*args)
    if set(got) != want or s["documents"] != len(want):
        fail(f"{' '.join(args)}: {got} (summary {s}), wanted {sorted(want)}")
got, _ = ids("--sort", "date", "--offset", "1", "-n", "2")
if got[:2] != ["e", "a"]:
    fail(f"--sort date --offset 1 -n 2: the second and third newest (e, a): {got}")
page, _ = results("-n", "1", "--offset", "1", "--sort", "date", "교통사고", index=DIX)
if not page or page[0]["rank"] != 2:
    fail(f"rank of a page by date: {page}")
# the same filters through the text output
out = osq("--date-from", "2021", "교통사고", index=DIX).stdout
if "(d, passage" not in out or "(a, passage" in out:
    fail(f"text output under --date-from 2021: {out}")

# --- bad values are usage errors (exit 2) naming the option ---
for args, words in [(["--date-from", "2020-13-01"], "--date-from"), (["--date-to", "yesterday"], "--date-to"),
                    (["--sort", "name"], "--sort"), (["--offset", "-1"], "--offset"), (["--offset", "x"], "--offset")]:
    p = osq(*args, "교통사고", index=DIX, status=2)
    if words not in p.stderr:
        fail(f"{' '.join(args)}: the message should name {words}: {p.stderr}")

subprocess.run(["rm", "-rf", T])
if failures:
    print(f"{failures} failure(s)")
    sys.exit(1)
print("filters: all passed")
