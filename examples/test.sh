#!/bin/sh
# examples/test.sh BUILD_DIR: installs libosq from BUILD_DIR into a
# temporary prefix, builds the examples and tests/corpus/test_threads.c
# against the installed library through pkg-config only, and runs them on
# the bundled corpus: the indexer makes an index of two files, the search
# program finds 화웨이 in the article that is about it, and 4 threads
# searching the corpus index get exactly the results of one.  The examples
# are built a second time through the installed CMake package.  Run by scripts/test.sh.
set -eu
cd "$(dirname "$0")/.."
build=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake --install "$build" --prefix "$T/prefix" >/dev/null
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
pkg-config --exists osq || { echo "examples: pkg-config finds no osq in $T/prefix" >&2; exit 1; }
[ "$(pkg-config --modversion osq)" = "$(sed -n 's/^#define OSQ_VERSION_STRING "\(.*\)"/\1/p' include/osq/osq.h)" ]
make -s -C examples -f Makefile CC="${CC:-cc}" CFLAGS="-O2 -Wall -Wextra -Werror" \
  OSQ_CFLAGS="$(pkg-config --cflags osq)" OSQ_LIBS="$(pkg-config --libs osq)" clean all
mv examples/osq-index examples/osq-search "$T/"
${CC:-cc} -O2 -Wall -Wextra -Werror $(pkg-config --cflags osq) tests/corpus/test_threads.c -o "$T/test_threads" \
  $(pkg-config --libs osq) -lpthread
# the programs run against the installed library, nothing else
export LD_LIBRARY_PATH="$T/prefix/lib"
ldd "$T/osq-search" | grep -q "$T/prefix/lib/libosq.so.0 " || { echo "examples: not linked to the installed libosq.so.0" >&2; exit 1; }
"$T/osq-index" "$T/index" corpus/openstack/seed-article.txt corpus/README.md
"$T/osq-search" "$T/index" 화웨이 3 > "$T/out"
grep -q "^1\. corpus/openstack/seed-article.txt" "$T/out" || { echo "examples: 화웨이 did not find the seed article first:" >&2; cat "$T/out" >&2; exit 1; }
grep -q "\[화웨이\]" "$T/out" || { echo "examples: no highlighted 화웨이" >&2; exit 1; }
queries=../shared/queries/openstack-ko.txt
[ -f "$queries" ] || queries=bench/smoke-queries.tsv
# the whole bundled corpus, as osindex built it for ctest
[ -f "$build/corpus-index/MANIFEST" ] || "$build/indexer/osindex" -q --replace -i "$build/corpus-index" corpus
"$T/test_threads" "$build/corpus-index" "$queries" 4 2
# the same programs through the CMake package (find_package(osq))
cmake -S examples -B "$T/cmake" -DCMAKE_PREFIX_PATH="$T/prefix" >/dev/null
cmake --build "$T/cmake" >/dev/null
"$T/cmake/osq-search" "$T/index" 화웨이 3 | cmp - "$T/out"
echo "examples: built against the installed libosq $(pkg-config --modversion osq) and passed"
