#!/bin/bash
# Crash test: kills `osindex add`, `osindex merge` and `osindex delete` with
# SIGKILL at random moments and checks, after every kill, that
#   - `osindex check` passes (--deep every fifth iteration),
#   - the index holds exactly the documents committed before the kill: the
#     document count matches, every live document is found by `osq` under its
#     current version's unique token, and no replaced or deleted version is,
#   - an interrupted operation took effect entirely or not at all,
#   - a new `osindex add` works.
# Documents are made of texts of corpus/news with one unique token each; ids
# come from a fixed space, so that most batches replace documents, and the
# automatic merges of `add` (and the deletion rewrites) run often.
#
# Usage: crash_test.sh OSINDEX OSQ NEWS_JSONL [KILLS]   (runs until KILLS,
# default 50, operations were actually killed)
# OSQ_CRASH_SEED=N repeats a run (the seed is printed); OSQ_CRASH_KEEP=DIR
# keeps the index of a failed iteration there.
set -u
export LC_ALL=C
OSINDEX=$1 OSQ=$2 NEWS=$3 KILLS=${4:-50}
SEED=${OSQ_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED
T=$(mktemp -d)
IX=$T/ix
BG=
cleanup() { [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
echo "crash test: until $KILLS kills, seed $SEED (OSQ_CRASH_SEED=$SEED repeats it)"

failures=0
fail() {
  echo "FAIL (iteration $it, seed $SEED): $*"
  failures=$((failures + 1))
  if [ -n "${OSQ_CRASH_KEEP:-}" ]; then
    mkdir -p "$OSQ_CRASH_KEEP" && cp -r "$IX" "$OSQ_CRASH_KEEP/index-$it" && echo "  index kept in $OSQ_CRASH_KEEP/index-$it"
  fi
  [ "$failures" -ge 5 ] && { echo "too many failures"; exit 1; }
}

# The texts of the news corpus, JSON-escaped, one a line.
sed -e 's/.*"text": "//' -e 's/", "source": .*//' "$NEWS" >"$T/texts"
NTEXTS=$(wc -l <"$T/texts")
IDSPACE=1200

# gen_batch NAME NDOCS TEXTS_PER_DOC: writes $T/NAME.jsonl and $T/NAME.tsv
# (id<TAB>token) for NDOCS documents with distinct random ids.
gen_batch() {
  awk -v seed="$RANDOM$RANDOM" -v n="$2" -v k="$3" -v space=$IDSPACE -v tag="$1x$it" \
      -v ntexts="$NTEXTS" -v tsv="$T/$1.tsv" '
    { text[NR] = $0 }
    END {
      srand(seed)
      printf "" >tsv
      for (j = 0; j < n; j++) {
        do { id = sprintf("d%04d", int(rand() * space)) } while (id in used)
        used[id] = 1
        tok = sprintf("t%sy%d", tag, j)
        body = ""
        for (i = 0; i < k; i++) body = body text[1 + int(rand() * ntexts)] "\\n\\n"
        printf "{\"id\":\"%s\",\"title\":\"%s 판\",\"text\":\"%s%s 토큰\"}\n", id, id, body, tok
        printf "%s\t%s\n", id, tok >>tsv
      }
    }' "$T/texts" >"$T/$1.jsonl"
}

# The model: $T/live (id<TAB>token of each live document), $T/dead (tokens
# of replaced and deleted versions).
: >"$T/live"
: >"$T/dead"
apply_batch() { # apply_batch TSV: the batch committed
  awk -F'\t' -v dead="$T/dead.new" 'NR == FNR { b[$1] = $2; next }
    ($1 in b) { print $2 >>dead; next } { print }
    END { for (id in b) print id "\t" b[id] }' "$1" "$T/live" >"$T/live.new"
  [ -f "$T/dead.new" ] && cat "$T/dead.new" >>"$T/dead" && rm -f "$T/dead.new"
  mv "$T/live.new" "$T/live"
}
apply_delete() { # apply_delete IDS: the deletion committed
  awk -F'\t' -v dead="$T/dead.new" 'NR == FNR { d[$1] = 1; next } ($1 in d) { print $2 >>dead; next } { print }' \
    "$1" "$T/live" >"$T/live.new"
  [ -f "$T/dead.new" ] && cat "$T/dead.new" >>"$T/dead" && rm -f "$T/dead.new"
  mv "$T/live.new" "$T/live"
}

# found TSV: how many of TSV's (id, token) pairs osq finds as the top hit.
found() {
  awk -F'\t' '{ print $1 "\t" $2 }' "$1" | "$OSQ" -i "$IX" -n 1 --batch - 2>/dev/null |
    sed -n 's/^{"qid":"\([^"]*\)".*"doc_id":"\([^"]*\)".*/\1\t\2/p' | sort >"$T/got"
  sort "$1" | join -t "$(printf '\t')" - "$T/got" | awk -F'\t' '$1 == $3' | wc -l
}

# verify: the index is sound and holds exactly the model.
verify() {
  local deep=
  [ $((it % 5)) -eq 0 ] && deep=--deep
  if ! "$OSINDEX" check $deep -i "$IX" >"$T/check" 2>&1; then
    fail "osindex check $deep after $what: $(head -c 1500 "$T/check")"
    return
  fi
  local docs want
  docs=$("$OSINDEX" stats --json -i "$IX" | sed -n 's/^{"index":.*,"generation":[0-9]*,"documents":\([0-9]*\),.*/\1/p')
  want=$(wc -l <"$T/live")
  [ "$docs" = "$want" ] || fail "after $what: $docs documents in the index, $want committed"
  # every live document under its current token
  awk -F'\t' '{ print $2 "\t" $2 }' "$T/live" | "$OSQ" -i "$IX" -n 1 --batch - 2>/dev/null |
    sed -n 's/^{"qid":"\([^"]*\)".*"doc_id":"\([^"]*\)".*/\1\t\2/p' | sort >"$T/got"
  awk -F'\t' '{ print $2 "\t" $1 }' "$T/live" | sort >"$T/want"
  if ! cmp -s "$T/want" "$T/got"; then
    fail "after $what: live documents not found as committed: $(diff "$T/want" "$T/got" | head -5 | tr '\n' ' ')"
  fi
  # no replaced or deleted version (a sample of the most recent)
  # (result lines only: each query also ends with a "summary" line)
  tail -n 300 "$T/dead" | awk '{ print $1 "\t" $1 }' | "$OSQ" -i "$IX" -n 1 --batch - 2>/dev/null |
    grep '"doc_id"' >"$T/ghosts"
  [ -s "$T/ghosts" ] && fail "after $what: replaced or deleted versions still found: $(head -c 300 "$T/ghosts")"
}

# run_killed KIND CMD...: runs CMD in the background, SIGKILLs it after a
# random delay, uniform up to 1.2 times the typical duration of this kind (a
# moving average of the runs that finished), so that the kills spread over
# the whole operation: reading the ids, indexing, flushing, the commit, the
# merges after it, the cleanup.  A run killed late in that range widens it,
# as runs may be longer.  Sets $status (137: killed) and $killed_at (ms).
declare -A typical=([add]=300 [merge]=300 [delete]=60) longest=([add]=0 [merge]=0 [delete]=0)
run_killed() {
  local kind=$1
  shift
  local max=$(( ${typical[$kind]} * 6 / 5 ))
  local delay=$(( (RANDOM * 32768 + RANDOM) % (max + 1) ))
  local t0=$(date +%s%N)
  "$@" >/dev/null 2>"$T/err" &
  BG=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$BG" 2>/dev/null
  { wait "$BG"; } 2>/dev/null
  status=$?
  BG=
  elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [ "$status" -eq 0 ]; then
    typical[$kind]=$(( (${typical[$kind]} * 3 + elapsed_ms) / 4 ))
    [ "$elapsed_ms" -gt "${longest[$kind]}" ] && longest[$kind]=$elapsed_ms
  elif [ "$status" -eq 137 ] && [ "$delay" -gt $(( ${typical[$kind]} * 9 / 10 )) ]; then
    typical[$kind]=$(( ${typical[$kind]} * 5 / 4 ))
  fi
  killed_at=$delay
}

# step KIND [POINT]: one operation of KIND (add, merge, delete), killed at a
# random moment, or, given POINT, killed by the writer itself at that step of
# its commit (OSQ_TEST_CRASH_AT, see writer.c); then every check.
step() {
  local kind=$1 point=${2:-} n got
  local -a run=(run_killed "$kind")
  [ -n "$point" ] && run=(run_at "$point")
  case $kind in
    add)
      gen_batch batch 150 8
      "${run[@]}" "$OSINDEX" add -q -i "$IX" "$T/batch.jsonl"
      what="osindex add killed ${point:-after $killed_at ms}"
      n=$(wc -l <"$T/batch.tsv")
      got=$(found "$T/batch.tsv")
      if [ "$status" -eq 0 ]; then
        completed=$((completed + 1))
        [ "$got" -eq "$n" ] || fail "completed add: $got of $n documents found"
        apply_batch "$T/batch.tsv"
      elif [ "$status" -eq 137 ]; then
        kills=$((kills + 1))
        if [ "$got" -eq "$n" ]; then apply_batch "$T/batch.tsv"; committed_kills=$((committed_kills + 1))
        elif [ "$got" -ne 0 ]; then fail "$what: $got of $n documents of the batch are live (all or none)"; fi
      else
        fail "osindex add exited $status: $(head -c 500 "$T/err")"
      fi
      ;;
    merge)
      "${run[@]}" "$OSINDEX" merge -q -i "$IX"
      what="osindex merge killed ${point:-after $killed_at ms}"
      if [ "$status" -eq 0 ]; then completed=$((completed + 1))
      elif [ "$status" -eq 137 ]; then kills=$((kills + 1))
      else fail "osindex merge exited $status: $(head -c 500 "$T/err")"; fi
      ;;
    delete)
      shuf -n 40 --random-source=<(yes "$RANDOM") "$T/live" >"$T/del.tsv"
      cut -f1 "$T/del.tsv" >"$T/del.ids"
      "${run[@]}" sh -c "exec \"\$0\" delete -q -i \"\$1\" - <\"\$2\"" "$OSINDEX" "$IX" "$T/del.ids"
      what="osindex delete killed ${point:-after $killed_at ms}"
      n=$(wc -l <"$T/del.tsv")
      got=$(found "$T/del.tsv")
      if [ "$status" -eq 0 ]; then
        completed=$((completed + 1))
        [ "$got" -eq 0 ] || fail "completed delete: $got of $n deleted documents still found"
        apply_delete "$T/del.ids"
      elif [ "$status" -eq 137 ]; then
        kills=$((kills + 1))
        if [ "$got" -eq 0 ]; then apply_delete "$T/del.ids"; committed_kills=$((committed_kills + 1))
        elif [ "$got" -ne "$n" ]; then fail "$what: $got of $n documents still live (all or none)"; fi
      else
        fail "osindex delete exited $status: $(head -c 500 "$T/err")"
      fi
      ;;
  esac
  verify
  # and a new add works (it also cleans up what the killed writer left)
  gen_batch small 3 1
  if ! "$OSINDEX" add -q -i "$IX" "$T/small.jsonl" 2>"$T/err"; then
    fail "osindex add after $what: $(head -c 500 "$T/err")"
  else
    apply_batch "$T/small.tsv"
    [ "$(found "$T/small.tsv")" -eq 3 ] || fail "documents of the add after $what not found"
    # the writer removed what the killed one left: exactly the files the
    # manifest names remain
    "$OSINDEX" stats --json -i "$IX" >"$T/stats"
    local segs dels files dfiles tmps
    segs=$(grep -o '{"number":' "$T/stats" | wc -l)
    dels=$(grep -o '"deleted_documents":[1-9]' "$T/stats" | wc -l)
    dels=$((dels - $(grep -c '^{"index":.*"generation":[0-9]*,"documents":[0-9]*,"deleted_documents":[1-9]' "$T/stats")))
    files=$(ls "$IX" | grep -c '^seg-.*\.osq$')
    dfiles=$(ls "$IX" | grep -c '^seg-.*\.del\.')
    tmps=$(ls "$IX" | grep -c 'tmp')
    [ "$files" -eq "$segs" ] && [ "$dfiles" -eq "$dels" ] && [ "$tmps" -eq 0 ] ||
      fail "after $what and a new add: $files segment files for $segs segments, $dfiles deletion files for $dels, $tmps temporaries: $(ls "$IX" | tr '\n' ' ')"
  fi
}

# run_at POINT CMD...: runs CMD with OSQ_TEST_CRASH_AT=POINT; sets $status.
run_at() {
  local point=$1
  shift
  { OSQ_TEST_CRASH_AT=$point "$@" >/dev/null 2>"$T/err"; } 2>/dev/null
  status=$?
  [ "$status" -eq 137 ] || fail "OSQ_TEST_CRASH_AT=$point $*: exited $status, not killed at that step"
}

kills=0 completed=0 committed_kills=0
t_start=$(date +%s)
it=0
gen_batch fresh 200 4
"$OSINDEX" -q -i "$IX" "$T/fresh.jsonl" || { echo "FAIL: first build"; exit 1; }
apply_batch "$T/fresh.tsv"

# Once at each step of a commit and of a merge (writer_files.c, osq__writer_crash_point):
# segments written; deletion files written; manifest published; during the
# removal of old files; a merge's segments written; a merge published.
for point in flushed deletions-written published cleanup; do
  it=$((it + 1))
  step add "$point"
done
for point in deletions-written published; do
  it=$((it + 1))
  step delete "$point"
done
for point in merge-flushed merge-published cleanup; do
  it=$((it + 1))
  step add # something to merge
  it=$((it + 1))
  step merge "$point"
done
points_done=$kills
kills=0 committed_kills=0

# Then at random moments.
while [ "$kills" -lt "$KILLS" ] && [ "$it" -lt $((KILLS * 4)) ]; do
  it=$((it + 1))
  case $((it % 6)) in
    3) step merge ;;
    5) step delete ;;
    *) step add ;;
  esac
done
verify
echo "crash test: $points_done kills at the steps of a commit, then $kills at random moments" \
  "($committed_kills after their commit) in $it iterations, $(( $(date +%s) - t_start )) s;" \
  "$completed operations finished before the kill; $(wc -l <"$T/live") live documents;" \
  "longest finished add ${longest[add]} ms, merge ${longest[merge]} ms, delete ${longest[delete]} ms"
if [ "$failures" -gt 0 ]; then
  echo "$failures failures"
  exit 1
fi
echo "crash test: all passed"
