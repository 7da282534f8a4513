#!/usr/bin/env python3
"""osq serve as its users meet it: /search answers exactly what `osq --json`
prints (with paging, filters and sort), bad requests get 400 with a JSON
error and the server goes on, a commit by osindex is seen by the next
request, many requests at once all get the right answer, /doc/ID gives a
result's document, and SIGTERM ends the server with status 0 once the
requests in flight are answered.

Usage: serve_test.py OSINDEX OSQ CORPUS_INDEX CORPUS_DIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

OSINDEX, OSQ, INDEX, CORPUS = sys.argv[1:5]
failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg, flush=True)


def start(index):
    """Starts osq serve on a free port; returns (process, base URL)."""
    p = subprocess.Popen([OSQ, "serve", "-i", index, "--listen", "127.0.0.1:0", "--threads", "4"],
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not m:
        p.kill()
        sys.exit(f"FAIL: osq serve did not say where it listens: {line!r} {p.stderr.read()[:500]}")
    return p, f"http://127.0.0.1:{m.group(1)}"


def terminate(server):
    """SIGTERM, then the exit status ("hung" when none came in 60 s)."""
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        return "hung"


def get(base, path, status=200):
    try:
        with urllib.request.urlopen(base + path, timeout=60) as r:
            code, body, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        code, body, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
    if code != status:
        fail(f"GET {path}: status {code}, wanted {status}: {body[:300]!r}")
    return json.loads(body) if ctype.startswith("application/json") else body


def cli(*args, index=INDEX):
    out = subprocess.run([OSQ, "-i", index, "--json", *args], capture_output=True, text=True).stdout
    lines = [json.loads(l) for l in out.splitlines()]
    return [l for l in lines if "doc_id" in l], next((l["summary"] for l in lines if "summary" in l), None)


def search_url(q, **kw):
    return "/search?" + urllib.parse.urlencode({"q": q, **kw})


server, base = start(INDEX)
try:
    h = get(base, "/health")
    if h.get("status") != "ok" or not h.get("documents"):
        fail(f"/health: {h}")

    # --- /search is osq --json, with every option ---
    cases = [("화웨이", {}, []), ("오픈스택", {"n": "5"}, ["-n", "5"]), ('"오픈스택 재단"', {}, []),
             ("클라우드스택 -오픈스택", {}, []), ("국", {"n": "3"}, ["-n", "3"]),
             ("클라우드", {"n": "4", "offset": "6"}, ["-n", "4", "--offset", "6"]),
             ("클라우드", {"source": "https://github.com/openstack-kr/", "n": "20"},
              ["--source", "https://github.com/openstack-kr/", "-n", "20"]),
             ("오픈스택", {"sort": "date", "n": "7", "offset": "3"}, ["--sort", "date", "-n", "7", "--offset", "3"]),
             ("플레이버", {}, [])]
    expected = {}
    for q, params, args in cases:
        got = get(base, search_url(q, **params))
        want, wsum = cli(*args, q)
        expected[search_url(q, **params)] = want
        if got.get("results") != want:
            fail(f"/search {q} {params}: results differ from osq --json {args}:\n {got.get('results')}\n {want}")
        if got.get("summary") != wsum or got.get("total") != wsum["passages"]:
            fail(f"/search {q} {params}: summary {got.get('summary')} total {got.get('total')}, osq says {wsum}")
    if not expected[search_url("화웨이")]:
        fail("화웨이 finds nothing: the comparison proves nothing")

    # --- bad requests: 400 and a JSON error, and the server goes on ---
    bad = ["/search?q=%FF%FE", "/search?q=a&n=0", "/search?q=a&n=1001", "/search?q=a&n=ten",
           "/search?q=a&offset=-1", "/search?q=a&offset=20000", "/search?q=a&sort=name",
           "/search?q=a&date_from=2020-13-01", "/search?q=a&date_to=yesterday", "/search?q=a&color=1",
           "/search?q=a&q=b", "/search?n=3", "/search?q=%20%20", "/search?q=%3F%21", "/search?q=a%00b",
           search_url("가" * 700), "/search?q=a&source=%C3%28"]
    for path in bad:
        e = get(base, path, status=400)
        if not isinstance(e, dict) or not e.get("error"):
            fail(f"GET {path[:80]}: the 400 should carry a JSON error: {e!r:.200}")
    e = get(base, "/search?q=a&n=0", status=400)
    if "n" not in e.get("error", ""):
        fail(f"n out of range: the error should say so: {e}")
    get(base, "/nowhere", status=404)
    get(base, "/doc/no-such-document", status=404)
    req = urllib.request.Request(base + "/search?q=a", data=b"x" * 100, method="POST")
    try:
        urllib.request.urlopen(req, timeout=30)
        fail("POST should be refused")
    except urllib.error.HTTPError as err:
        if err.code != 405:
            fail(f"POST: status {err.code}, wanted 405")
    # headers far over the request memory: refused by libmicrohttpd, not a crash
    req = urllib.request.Request(base + "/health", headers={"X-Big": "a" * 100000})
    try:
        urllib.request.urlopen(req, timeout=30)
        fail("a 100 KB header should be refused")
    except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError):
        pass
    if get(base, "/health").get("status") != "ok":
        fail("the server should go on after bad requests")

    # --- /doc/ID: a result's document holds its passage ---
    top = expected[search_url("화웨이")][0]
    d = get(base, "/doc/" + urllib.parse.quote(top["doc_id"]))
    if d.get("doc_id") != top["doc_id"] or d["passages"][top["passage_no"]]["passage"] != top["passage"]:
        fail(f"/doc/{top['doc_id']} should hold passage {top['passage_no']} as the result shows it")

    # --- the search box as osq has it: a rewrite is said; completion ---
    g = get(base, search_url("ghkdnpdl"))
    if g.get("rewritten") != "화웨이" or not g["results"] or "화웨이" not in g["results"][0]["passage"]:
        fail(f"/search ghkdnpdl should search 화웨이 and say so: {str(g)[:300]}")
    sg = get(base, "/suggest?" + urllib.parse.urlencode({"q": "오픈스"}))
    words = [w["word"] for w in sg.get("suggestions", [])]
    if sg.get("prefix") != "오픈스" or "오픈스택" not in words[:3]:
        fail(f"/suggest 오픈스 should offer 오픈스택 first or nearly: {sg}")
    sg = get(base, "/suggest?" + urllib.parse.urlencode({"q": "황"}))
    if "화웨이" not in [w["word"] for w in sg.get("suggestions", [])]:
        fail(f"/suggest 황 (화웨이 half-typed) should offer 화웨이: {sg}")
    get(base, "/suggest?q=%ED%99%A9&n=0", status=400)
    get(base, "/suggest?q=%ED%99%A9&sort=date", status=400)

    # --- many requests at once, on several threads: every answer right ---
    paths = list(expected) * 6
    answers = [None] * len(paths)

    def worker(i0):
        for i in range(i0, len(paths), 8):
            try:
                answers[i] = json.loads(urllib.request.urlopen(base + paths[i], timeout=60).read())["results"]
            except Exception as ex:  # noqa: BLE001 -- reported below
                answers[i] = repr(ex)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wrong = [p for p, a in zip(paths, answers) if a != expected[p]]
    if wrong:
        fail(f"{len(wrong)} of {len(paths)} concurrent requests got another answer, e.g. {wrong[0]}")
    st = get(base, "/stats")
    if st["server"]["requests"] < len(paths) or st["index"]["documents"] != h["documents"]:
        fail(f"/stats: {st}")
finally:
    rc = terminate(server)
    if rc != 0:
        fail(f"SIGTERM: exit status {rc}, wanted 0")

# --- a commit is seen by the next request; SIGTERM amid requests ---
T = tempfile.mkdtemp()
IX = os.path.join(T, "ix")
subprocess.run([OSINDEX, "-q", "-i", IX, os.path.join(CORPUS, "openstack", "seed-article.txt")], check=True)
server, base = start(IX)
try:
    word = "퀘이사르트론"
    if get(base, search_url(word))["total"] != 0:
        fail(f"{word} should match nothing before it is added")
    gen = get(base, "/health")["generation"]
    doc = os.path.join(T, "new.jsonl")
    with open(doc, "w") as f:
        f.write(json.dumps({"id": "new-1", "title": "새 문서", "text": f"{word} 장비를 도입했다.",
                            "source": "test", "date": "2024-05-06"}, ensure_ascii=False) + "\n")
    subprocess.run([OSINDEX, "add", "-q", "-i", IX, doc], check=True)
    r = get(base, search_url(word))
    if r["total"] != 1 or r["results"][0]["doc_id"] != "new-1":
        fail(f"after osindex add, the next request should find new-1: {r}")
    if get(base, "/health")["generation"] <= gen:
        fail("/health should report the new generation")
    if get(base, search_url(word, date_from="2024-05"))["total"] != 1 or get(base, "/doc/new-1").get("date_key") != "2024-05-06":
        fail("the added document's date should serve filters and /doc")
    subprocess.run([OSINDEX, "delete", "-i", IX, "new-1"], check=True, capture_output=True)
    if get(base, search_url(word))["total"] != 0:
        fail("after osindex delete, the next request should not find new-1")
    get(base, "/doc/new-1", status=404)
    with open(doc, "w") as f:
        f.write(json.dumps({"id": "new-2", "title": "둘째", "text": f"{word} 두 번째."}, ensure_ascii=False) + "\n")
    subprocess.run([OSINDEX, "add", "-q", "-i", IX, doc], check=True)
    before, gen = get(base, search_url("화웨이")), get(base, "/health")["generation"]
    if get(base, "/stats")["index"]["segments"] < 2 or get(base, search_url(word))["total"] != 1:
        fail("a second add should make a second segment, and be found")
    subprocess.run([OSINDEX, "merge", "-i", IX], check=True, capture_output=True)
    after = get(base, search_url("화웨이"))
    if get(base, "/health")["generation"] <= gen or get(base, "/stats")["index"]["segments"] != 1:
        fail("after osindex merge, the next request should see the merged index")
    if after["results"] != before["results"] or after["total"] != before["total"]:
        fail("a merge should not change what 화웨이 finds")

    # requests keep coming while SIGTERM arrives: every answer that comes
    # is whole, and the server exits 0
    stop = threading.Event()
    seen = {"ok": 0, "broken": []}

    def pound():
        while not stop.is_set():
            try:
                body = urllib.request.urlopen(base + search_url("오픈스택", n="50"), timeout=30).read()
                json.loads(body)["results"]
                seen["ok"] += 1
            except (urllib.error.URLError, ConnectionError):
                return  # refused or reset once the server stops accepting
            except Exception as ex:  # noqa: BLE001
                seen["broken"].append(repr(ex))
                return

    ts = [threading.Thread(target=pound) for _ in range(4)]
    for t in ts:
        t.start()
    while seen["ok"] < 20 and all(t.is_alive() for t in ts):
        threading.Event().wait(0.01)
    rc = terminate(server)
    stop.set()
    for t in ts:
        t.join()
    if rc != 0:
        fail(f"SIGTERM under load: exit status {rc}, wanted 0")
    if seen["broken"]:
        fail(f"answers cut short by SIGTERM: {seen['broken'][:3]}")
    if "stopped (SIGTERM)" not in server.stderr.read():
        fail("osq serve should say it stopped on SIGTERM")
finally:
    if server.poll() is None:
        server.kill()
    subprocess.run(["rm", "-rf", T])

if failures:
    print(f"{failures} failure(s)")
    sys.exit(1)
print("serve: all passed")
