#!/bin/bash
# Fault injection: every fsync, write, rename and unlink of `osindex add`,
# `delete`, `merge` and of the automatic merges after add and delete fails
# in turn (strace -e inject=SYSCALL:error=E:when=N, N = 1 .. the number of
# calls the operation's main thread makes), each on a fresh copy of a small
# index.  After
# each fault:
#   - the exit status says what happened (tests/README.md, osindex.c):
#     2 = nothing changed, 0 / 3 / 4 = the change is committed; a failed
#     fsync or rename of the operation never gives 0;
#   - the index holds exactly the old documents (status 2) or exactly the
#     new ones (0, 3, 4): every live document found under its version's
#     token, no replaced or deleted version found;
#   - after status 3 (committed, durability not confirmed) every file the
#     previous manifest named is still there, since a power loss could bring
#     that manifest back;
#   - `osindex check --deep` passes;
#   - a following `osindex add` without faults succeeds, leaves no stray
#     file, and the index still holds every committed document.
# An index that fails any of these is counted as destroyed.
#
# Usage: fault_test.sh OSINDEX OSQ [long]
#   default: each call of each syscall with one errno (fsync EIO, write
#   ENOSPC, rename EIO, unlink EIO); "long": also write EIO, rename ENOSPC,
#   fsync ENOSPC and unlink EBUSY, on larger inputs.  OSQ_FAULT_KEEP=DIR keeps
#   the index of a failed case.  Exits 77 (skipped) without strace.
set -u
export LC_ALL=C
# LeakSanitizer stops the world with ptrace, which strace already holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
OSINDEX=$1 OSQ=$2 MODE=${3:-short}
if ! command -v strace >/dev/null 2>&1; then
  echo "SKIP: strace is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
# strace must be able to trace (no ptrace in some containers).
if ! strace -f -qq -o /dev/null true 2>/dev/null; then
  echo "SKIP: strace cannot trace here (ptrace not permitted)"
  exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TAB=$(printf '\t')

failures=0 cases=0 destroyed=0 wrong_status=0
declare -A by_status=()
fail() {
  echo "FAIL ($case_name): $*"
  failures=$((failures + 1))
  if [ -n "${OSQ_FAULT_KEEP:-}" ]; then
    mkdir -p "$OSQ_FAULT_KEEP" && cp -r "$T/ix" "$OSQ_FAULT_KEEP/$(echo "$case_name" | tr ' /=' '___')" 2>/dev/null
  fi
}

# docs FIRST LAST VERSION: JSON lines for documents dFIRST..dLAST, each with
# the token tNNNvVERSION (one Latin word: found only in that version).
SIZE=1
[ "$MODE" = long ] && SIZE=6
docs() {
  local i
  for ((i = $1; i <= $2; i++)); do
    local body="" k
    for ((k = 0; k < SIZE; k++)); do
      body="$body화웨이 클라우드 서비스와 오픈스택 재단의 협력 소식입니다. 볼륨 스냅샷 기능이 추가되었습니다. $k번째 문단.\\n"
    done
    printf '{"id":"d%03d","title":"문서 %03d","text":"%st%03dv%s 본문"}\n' "$i" "$i" "$body" "$i" "$3"
  done
}
# state FILE: the model of an index, one "token<TAB>id" a live document,
# "token<TAB>-" a replaced or deleted version.
live() { local i; for ((i = $1; i <= $2; i++)); do printf 't%03dv%s\td%03d\n' "$i" "$3" "$i"; done; }
dead() { local i; for ((i = $1; i <= $2; i++)); do printf 't%03dv%s\t-\n' "$i" "$3"; done; }

# holds IX STATE: non-zero (with a message in $T/why) unless the index
# holds exactly the model.
holds() {
  cut -f1 "$2" | awk '{ print $1 "\t" $1 }' | "$OSQ" -i "$1" -n 1 --batch - 2>"$T/qerr" |
    sed -n 's/^{"qid":"\([^"]*\)".*"doc_id":"\([^"]*\)".*/\1\t\2/p' | sort >"$T/got"
  local qs=${PIPESTATUS[2]}
  if [ "$qs" -ne 0 ]; then
    echo "osq exited $qs: $(head -c 300 "$T/qerr")" >"$T/why"
    return 1
  fi
  awk -F'\t' '$2 != "-"' "$2" | sort >"$T/want"
  if ! cmp -s "$T/want" "$T/got"; then
    echo "documents differ from the model (< missing, > unexpected): $(diff "$T/want" "$T/got" | grep '^[<>]' | head -4 | tr '\n' ' ')" >"$T/why"
    return 1
  fi
  return 0
}

build_base() { # build_base NAME: $T/base-NAME from the setup commands in $T/setup
  rm -rf "$T/base-$1"
  sh -e "$T/setup" "$T/base-$1" >/dev/null 2>&1 || { echo "setup of $1 failed"; exit 1; }
}

# scenario NAME OP STATE_OLD STATE_NEW SETUP_SCRIPT: runs every fault of
# every syscall of OP (a command with IX for the index path) on a copy of
# the index SETUP_SCRIPT builds.
scenario() {
  local name=$1 op=$2 old=$3 new=$4
  printf '%s\n' "$5" >"$T/setup"
  build_base "$name"
  # the calls OP makes, per syscall, in its main thread.  Only that thread
  # is traced (no -f): the writer's files are all written by it, strace
  # counts calls per thread, and a sanitizer's runtime writes to a pipe of
  # its own from another thread (a fault there is the runtime's problem)
  rm -rf "$T/ix" && cp -a "$T/base-$name" "$T/ix"
  strace -qq -o "$T/trace" -e trace=fsync,write,rename,unlink sh -c "exec $op" >/dev/null 2>&1
  local specs="fsync:EIO write:ENOSPC rename:EIO unlink:EIO"
  [ "$MODE" = long ] && specs="$specs fsync:ENOSPC write:EIO rename:ENOSPC unlink:EBUSY"
  local spec
  for spec in $specs; do
    local sc=${spec%:*} err=${spec#*:} n
    n=$(grep -c "^$sc(" "$T/trace")
    local k
    for ((k = 1; k <= n; k++)); do
      one_case "$name" "$op" "$old" "$new" "$sc" "$err" "$k"
    done
  done
}

one_case() {
  local name=$1 op=$2 old=$3 new=$4 sc=$5 err=$6 k=$7
  case_name="$name: $sc #$k $err"
  cases=$((cases + 1))
  rm -rf "$T/ix" && cp -a "$T/base-$name" "$T/ix"
  (cd "$T/ix" && ls | grep '^seg-') >"$T/oldfiles"
  strace -qq -o /dev/null -e trace="$sc" -e inject="$sc:error=$err:when=$k" sh -c "exec $op" >"$T/out" 2>"$T/err"
  local st=$?
  by_status[$st]=$((${by_status[$st]:-0} + 1))
  local bad=0 want
  case $st in
    2) want=$old ;;
    0 | 3 | 4) want=$new ;;
    *) fail "exit status $st: $(head -c 400 "$T/err")"; wrong_status=$((wrong_status + 1)); want=$new; bad=1 ;;
  esac
  if [ "$st" -eq 0 ] && { [ "$sc" = fsync ] || [ "$sc" = rename ]; }; then
    fail "a failed $sc gave exit status 0"
    wrong_status=$((wrong_status + 1))
  fi
  if [ "$st" -ne 0 ] && ! [ -s "$T/err" ]; then
    fail "exit status $st without a message"
    wrong_status=$((wrong_status + 1))
  fi
  if [ "$st" -eq 3 ]; then
    grep -q "durability not confirmed" "$T/err" || { fail "status 3 without 'durability not confirmed'"; wrong_status=$((wrong_status + 1)); }
    local f
    while read -r f; do
      [ -e "$T/ix/$f" ] || { fail "status 3, but $f, which the previous manifest names, is gone"; bad=1; }
    done <"$T/oldfiles"
  fi
  if [ "$st" -eq 4 ]; then
    grep -q "committed, but" "$T/err" || { fail "status 4 without 'committed, but'"; wrong_status=$((wrong_status + 1)); }
  fi
  if ! holds "$T/ix" "$want"; then
    if [ "$st" -eq 2 ] && holds "$T/ix" "$new"; then
      fail "exit status 2 (nothing changed), but the change is committed"
      wrong_status=$((wrong_status + 1))
    else
      fail "after exit status $st: $(cat "$T/why")"
      bad=1
    fi
  fi
  if ! "$OSINDEX" check --deep -i "$T/ix" >"$T/check" 2>&1; then
    fail "osindex check --deep after exit status $st: $(head -c 600 "$T/check")"
    bad=1
  fi
  # the next writer, without faults
  if ! "$OSINDEX" add -q -i "$T/ix" "$T/extra.jsonl" 2>"$T/err2"; then
    fail "the next osindex add failed: $(head -c 400 "$T/err2")"
    bad=1
  fi
  cat "$want" "$T/extra.tsv" >"$T/after"
  if ! holds "$T/ix" "$T/after"; then
    fail "after the next add: $(cat "$T/why")"
    bad=1
  fi
  if ! "$OSINDEX" check -i "$T/ix" >"$T/check" 2>&1; then
    fail "osindex check after the next add: $(head -c 600 "$T/check")"
    bad=1
  elif grep -q "no manifest names" "$T/check"; then
    fail "the next add left stray files: $(cat "$T/check")"
  fi
  destroyed=$((destroyed + bad))
}

docs 900 901 1 >"$T/extra.jsonl"
live 900 901 1 >"$T/extra.tsv"
docs 1 40 1 >"$T/a.jsonl"
docs 41 50 1 >"$T/b.jsonl"
{ docs 51 60 1; docs 1 5 2; } >"$T/c.jsonl"
OI=$OSINDEX
BASE2="$OI -q -i \"\$1\" $T/a.jsonl; $OI add -q --no-merge -i \"\$1\" $T/b.jsonl"

# add: new documents and replacements (deletion files), no merge
{ live 1 50 1; } >"$T/s-old"
{ live 6 60 1; live 1 5 2; dead 1 5 1; } >"$T/s-new"
scenario add "$OI add -q --no-merge -i $T/ix $T/c.jsonl" "$T/s-old" "$T/s-new" "$BASE2"

# delete, no merge
{ live 1 9 1; live 12 44 1; live 46 50 1; dead 10 11 1; dead 45 45 1; } >"$T/s-del"
scenario delete "$OI delete -q --no-merge -i $T/ix d010 d011 d045" "$T/s-old" "$T/s-del" "$BASE2"

# delete that leaves a segment more than half deleted: the automatic merge
# rewrites it
{ live 1 40 1; live 47 50 1; dead 41 46 1; } >"$T/s-delm"
scenario delete-automerge "$OI delete -q -i $T/ix d041 d042 d043 d044 d045 d046" "$T/s-old" "$T/s-delm" "$BASE2"

# merge of three segments, one with a deletion file
scenario merge "$OI merge -q -i $T/ix" "$T/s-new" "$T/s-new" \
  "$BASE2; $OI add -q --no-merge -i \"\$1\" $T/c.jsonl"

# add to ten segments: the commit, then the automatic merge
SETUP10="$OI -q -i \"\$1\" $T/a.jsonl"
for i in 1 2 3 4 5 6 7 8 9; do
  docs $((100 + i)) $((100 + i)) 1 >"$T/s$i.jsonl"
  SETUP10="$SETUP10; $OI add -q --no-merge -i \"\$1\" $T/s$i.jsonl"
done
docs 200 204 1 >"$T/d.jsonl"
{ live 1 40 1; live 101 109 1; } >"$T/s10-old"
{ cat "$T/s10-old"; live 200 204 1; } >"$T/s10-new"
scenario add-automerge "$OI add -q -i $T/ix $T/d.jsonl" "$T/s10-old" "$T/s10-new" "$SETUP10"

st=""
for k in $(printf '%s\n' "${!by_status[@]}" | sort -n); do st="$st $k:${by_status[$k]}"; done
echo "fault injection ($MODE): $cases faults injected; exit statuses$st; $wrong_status wrong exit statuses; $destroyed indexes destroyed"
[ "$cases" -ge 40 ] || { echo "FAIL: only $cases faults injected: the sweep did not run"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
exit 0
