#!/bin/sh
# Installs the Debian packages osq needs to build, test and benchmark, if any
# are missing.  Uses sudo when not run as root.  The JDK and liblucene8-java
# are for osbench's Lucene peers (bench/lucene/OsbenchLucene.java).
# liblucene8-java and python3 also regenerate the stemmer's lexicon
# (tools/lexicon/make-lexicon.sh; the build uses the committed one).
# libmicrohttpd-dev builds osq serve; wrk loads it (bench/README.md);
# chromium and playwright-core (npm, into tests/serve/node_modules, pinned by
# its package-lock.json) drive its search page in tests/serve/page_test.mjs.
set -eu
PKGS="build-essential cmake pkg-config zlib1g-dev libutf8proc-dev libjansson-dev libdeflate-dev liblz4-dev libyaml-dev libhangul-dev libexpat1-dev \
libsimdjson-dev libcmocka-dev libxapian-dev xapian-tools libgroonga-dev clang libclang-rt-14-dev strace \
openjdk-17-jdk-headless liblucene8-java python3 libmicrohttpd-dev wrk chromium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing:$missing" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
# The page test's browser driver: the machine's Node.js and npm (not a
# Debian package here); without them the page test says it is skipped.
serve_tests="$(cd "$(dirname "$0")/../tests/serve" && pwd)"
if [ ! -d "$serve_tests/node_modules/playwright-core" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing: playwright-core (npm, tests/serve)" >&2
    (cd "$serve_tests" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
      echo "install-deps: npm ci in tests/serve failed: the search page test will be skipped" >&2
  else
    echo "install-deps: no npm: the search page test (tests/serve/page_test.mjs) will be skipped" >&2
  fi
fi
