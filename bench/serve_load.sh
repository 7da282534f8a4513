#!/bin/sh
# Load on osq serve: wrk on loopback, 16 connections, 2 threads, 30 s, once
# with the one-word queries of a query file and once with its two-word ones
# (each connection cycles through them), then the server's peak RSS.
# Prints wrk's report (with --latency) for each, and the RSS.
#
#   bench/serve_load.sh BUILD_DIR INDEX QUERIES [SECONDS] [N]
#
# QUERIES: one query a line (../shared/queries/openstack-ko.txt), quoted
# phrases skipped; N: results a request asks for (default 10).
set -eu
B=$1 INDEX=$2 QUERIES=$3 SECONDS_=${4:-30} N=${5:-10}
command -v wrk >/dev/null || { echo "serve_load: no wrk (Debian package wrk; scripts/install-deps.sh)" >&2; exit 2; }
T=$(mktemp -d)
"$B/query/osq" serve -i "$INDEX" --listen 127.0.0.1:0 2>"$T/log" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT
for i in $(seq 50); do grep -q http "$T/log" && break; sleep 0.1; done
PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/log")
SPID=$(pgrep -P $PID osq-serve || echo $PID) # osq execs osq-serve: the same pid
for words in 1 2; do
  python3 - "$QUERIES" "$words" "$N" >"$T/paths.lua" <<'PY'
import sys, urllib.parse
qs = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip() and '"' not in l]
qs = [q for q in qs if len(q.split()) == int(sys.argv[2])]
print("paths = {")
for q in qs:
    print('  "/search?%s",' % urllib.parse.urlencode({"q": q, "n": sys.argv[3]}))
print("}")
print("-- %d queries" % len(qs))
print("""
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
""")
PY
  echo "== $words-word queries ($(grep -c '/search' "$T/paths.lua") of them), n=$N, ${SECONDS_} s"
  wrk -c 16 -t 2 -d "${SECONDS_}s" --latency -s "$T/paths.lua" "http://127.0.0.1:$PORT" 2>&1
done
# VmHWM counts the index's mapped pages too (page cache, once per handle
# that maps them); RssAnon is the server's own memory
echo "== osq serve peak RSS: $(grep -h -E 'VmHWM|RssAnon|RssFile' /proc/$SPID/status | tr -s ' \t\n' ' ')"
curl -s "http://127.0.0.1:$PORT/stats"; echo
