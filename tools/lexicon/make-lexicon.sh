#!/bin/sh
# Regenerates core/lexicon/ko-stem.lex.gz, the stemmer's lexicon, from nori's
# dictionary in Debian's liblucene8-java (scripts/install-deps.sh installs it
# and the JDK).  Usage: tools/lexicon/make-lexicon.sh [--max-syllables N]
# Takes about half a minute.  The lexicon id (stem.c) changes with the
# contents: indexes built before must be rebuilt (osq says so).
set -eu
cd "$(dirname "$0")/../.."
J=/usr/share/java
CP=$J/lucene-core-8.7.0.jar:$J/lucene-analyzers-nori-8.7.0.jar
for f in $(echo "$CP" | tr : ' '); do
  [ -f "$f" ] || { echo "make-lexicon: $f is missing (apt-get install liblucene8-java)" >&2; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# DictDump is in nori's package to reach its package-private dictionary
# classes; compiled here, never committed as a class file.
mkdir -p "$T/src/org/apache/lucene/analysis/ko/dict" "$T/classes"
cp tools/lexicon/DictDump.java "$T/src/org/apache/lucene/analysis/ko/dict/"
javac -nowarn -cp "$CP" -d "$T/classes" "$T/src/org/apache/lucene/analysis/ko/dict/DictDump.java"
java -cp "$CP:$T/classes" org.apache.lucene.analysis.ko.dict.DictDump "$T/nori.tsv"
python3 tools/lexicon/pack-lexicon.py "$T/nori.tsv" "$T/ko-stem.lex" "$@"
gzip -9 -n -c "$T/ko-stem.lex" >core/lexicon/ko-stem.lex.gz
ls -l core/lexicon/ko-stem.lex.gz
