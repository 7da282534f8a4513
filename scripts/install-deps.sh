#!/bin/sh
# Installs the Debian packages osq needs to build, test and benchmark, if any
# are missing.  Uses sudo when not run as root.  The JDK and liblucene8-java
# are for osbench's Lucene peers (bench/lucene/OsbenchLucene.java).
# liblucene8-java and python3 also regenerate the stemmer's lexicon
# (tools/lexicon/make-lexicon.sh; the build uses the committed one).
set -eu
PKGS="build-essential cmake pkg-config zlib1g-dev libutf8proc-dev libjansson-dev libdeflate-dev liblz4-dev libyaml-dev libhangul-dev libexpat1-dev \
libsimdjson-dev libcmocka-dev libxapian-dev xapian-tools libgroonga-dev clang libclang-rt-14-dev strace \
openjdk-17-jdk-headless liblucene8-java python3"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
