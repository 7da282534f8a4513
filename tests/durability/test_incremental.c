/*
 * test_incremental.c -- incremental indexing through the library: replacing
 * by id (across flushes and batches), deleting, merging, snapshots that
 * readers keep while a writer replaces, deletes and merges, the writer lock
 * (named holder, a killed holder), the legacy manifest layout, and
 * osq_index_check on damage.
 *
 * Usage: test_incremental OSINDEX   (the osindex binary, for the lock test)
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "manifest.h"
#include "osq/osq.h"
#include "../common/osq_test_util.h"

static const char *osindex_path;

/* ---- helpers ----------------------------------------------------------------- */

#define rm_tree osqt_rm_tree

static char *make_tmpdir(void) {
  char *r = osqt_make_tmpdir("osq-dur");
  if (!r) fail_msg("mkdtemp in $TMPDIR: %s", strerror(errno));
  if (!r) abort(); /* fail_msg does not return; says so to the compiler */
  return r;
}

static osq_writer *open_writer(const char *dir, size_t flush_bytes, int no_merge) {
  osq_writer_options o;
  memset(&o, 0, sizeof o);
  o.flush_bytes = flush_bytes;
  o.no_auto_merge = no_merge;
  osq_writer *w = NULL;
  int rc = osq_writer_open(dir, &o, &w);
  if (rc) fail_msg("osq_writer_open(%s): %s (%s)", dir, osq_err_name(rc), osq_last_error());
  return w;
}

/* Adds document id whose text carries the given words. */
static void add(osq_writer *w, const char *id, const char *words) {
  char text[512];
  snprintf(text, sizeof text, "문서 %s 의 본문입니다. %s", id, words);
  osq_doc d = {id, NULL, NULL, NULL, NULL, text, strlen(text)};
  int rc = osq_writer_add(w, &d);
  if (rc) fail_msg("add %s: %s (%s)", id, osq_err_name(rc), osq_last_error());
}

static void commit(osq_writer *w) {
  int rc = osq_writer_commit(w);
  if (rc) fail_msg("commit: %s (%s)", osq_err_name(rc), osq_last_error());
}

/* The ids of the hits for query (at most cap), joined by spaces into out. */
static size_t hit_ids(osq_index *ix, const char *query, char *out, size_t cap) {
  osq_search_options so = {.k = 100000};
  osq_results *r = NULL;
  int rc = osq_search(ix, query, strlen(query), &so, &r);
  if (rc) fail_msg("search %s: %s (%s)", query, osq_err_name(rc), osq_last_error());
  size_t n = osq_results_count(r), o = 0;
  out[0] = 0;
  for (size_t i = 0; i < n; i++) {
    osq_hit h;
    assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
    o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s", i ? " " : "", h.doc_id);
    if (o >= cap) o = cap - 1;
  }
  osq_results_free(r);
  return n;
}

static uint64_t live_docs(const char *dir) {
  osq_index *ix;
  int rc = osq_index_open(dir, &ix);
  if (rc) fail_msg("open: %s (%s)", osq_err_name(rc), osq_last_error());
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  osq_index_close(ix);
  return st.documents;
}

static void expect_hits(const char *dir, const char *query, const char *want) {
  osq_index *ix;
  int rc = osq_index_open(dir, &ix);
  if (rc) fail_msg("open: %s (%s)", osq_err_name(rc), osq_last_error());
  char got[4096];
  hit_ids(ix, query, got, sizeof got);
  osq_index_close(ix);
  if (strcmp(got, want) != 0) fail_msg("query %s: got '%s', want '%s'", query, got, want);
}

static void expect_clean(const char *dir) {
  uint64_t stray = 99;
  int rc = osq_index_check(dir, 1, NULL, NULL, &stray);
  if (rc) fail_msg("osq_index_check: %s (%s)", osq_err_name(rc), osq_last_error());
}

/* ---- replacing and deleting ----------------------------------------------------- */

static void test_replace_within_and_across_flushes(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  /* flush_bytes 1: every document is flushed into a segment of its own, so
   * the replaced version lies in a segment this batch wrote */
  osq_writer *w = open_writer(dir, 1, 1);
  add(w, "a", "alphaone");
  add(w, "b", "bravoone");
  add(w, "a", "alphatwo");
  add(w, "c", "charlieone");
  assert_int_equal(osq_writer_delete(w, "c"), OSQ_OK);
  add(w, "c", "charlietwo");
  assert_int_equal(osq_writer_delete(w, "nosuch"), OSQ_E_NOTFOUND);
  assert_non_null(strstr(osq_last_error(), "nosuch"));
  commit(w);
  osq_writer_stats ws;
  osq_writer_get_stats(w, &ws);
  assert_int_equal(ws.replaced, 1);
  assert_int_equal(ws.deleted, 1);
  osq_writer_close(w);
  assert_int_equal(live_docs(dir), 3);
  expect_hits(dir, "alphaone", "");
  expect_hits(dir, "alphatwo", "a");
  expect_hits(dir, "charlieone", "");
  expect_hits(dir, "charlietwo", "c");
  expect_clean(dir);

  /* the in-memory segment too (default flush_bytes) */
  w = open_writer(dir, 0, 1);
  add(w, "d", "deltaone");
  add(w, "d", "deltatwo");
  assert_int_equal(osq_writer_delete(w, "b"), OSQ_OK);
  assert_int_equal(osq_writer_delete(w, "b"), OSQ_E_NOTFOUND);
  commit(w);
  osq_writer_close(w);
  expect_hits(dir, "deltaone", "");
  expect_hits(dir, "deltatwo", "d");
  expect_hits(dir, "bravoone", "");
  assert_int_equal(live_docs(dir), 3);
  expect_clean(dir);

  /* segments whose every document is deleted leave the manifest */
  osq__manifest m;
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  uint32_t before = m.nsegs;
  osq__manifest_free(&m);
  w = open_writer(dir, 0, 1);
  assert_int_equal(osq_writer_delete(w, "a"), OSQ_OK);
  commit(w);
  osq_writer_close(w);
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  assert_int_equal(m.nsegs, before - 1);
  for (uint32_t i = 0; i < m.nsegs; i++) assert_true(m.segs[i].del_docs < m.segs[i].ndocs);
  osq__manifest_free(&m);
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

static void test_merge_keeps_documents_and_drops_deleted(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  char id[32], words[64];
  for (int batch = 0; batch < 6; batch++) {
    osq_writer *w = open_writer(dir, 0, 1);
    for (int i = 0; i < 20; i++) {
      snprintf(id, sizeof id, "m%d", batch * 20 + i);
      snprintf(words, sizeof words, "tok%dx 공통어휘", batch * 20 + i);
      add(w, id, words);
    }
    /* replace some of the previous batch, delete one */
    for (int i = 0; batch > 0 && i < 5; i++) {
      snprintf(id, sizeof id, "m%d", (batch - 1) * 20 + i);
      snprintf(words, sizeof words, "new%dx 공통어휘", (batch - 1) * 20 + i);
      add(w, id, words);
    }
    if (batch > 0) {
      snprintf(id, sizeof id, "m%d", (batch - 1) * 20 + 19);
      assert_int_equal(osq_writer_delete(w, id), OSQ_OK);
    }
    commit(w);
    osq_writer_close(w);
  }
  osq_index *before;
  assert_int_equal(osq_index_open(dir, &before), OSQ_OK);
  osq_index_stats sb;
  osq_index_get_stats(before, &sb);
  assert_int_equal(sb.segments, 6);
  assert_int_equal(sb.documents, 120 - 5);
  assert_true(sb.deleted_documents > 0);
  char all_before[8192], all_after[8192];
  assert_int_equal(hit_ids(before, "공통어휘", all_before, sizeof all_before), 115);

  osq_writer *w = open_writer(dir, 0, 1);
  assert_int_equal(osq_writer_merge(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *after;
  assert_int_equal(osq_index_open(dir, &after), OSQ_OK);
  osq_index_stats sa;
  osq_index_get_stats(after, &sa);
  assert_int_equal(sa.segments, 1);
  assert_int_equal(sa.documents, 115);
  assert_int_equal(sa.deleted_documents, 0);
  assert_int_equal(sa.passages, sb.passages);
  assert_int_equal(hit_ids(after, "공통어휘", all_after, sizeof all_after), 115);
  /* every document is found by its own token, replaced ones by the new */
  for (int d = 0; d < 120; d++) {
    char q[32], got[256], want[32];
    int deleted = d % 20 == 19 && d < 100, replaced = d % 20 < 5 && d < 100;
    snprintf(q, sizeof q, replaced ? "new%dx" : "tok%dx", d);
    snprintf(want, sizeof want, deleted ? "" : "m%d", d);
    hit_ids(after, q, got, sizeof got);
    if (strcmp(got, want)) fail_msg("after merge, %s: got '%s', want '%s'", q, got, want);
    if (replaced) {
      snprintf(q, sizeof q, "tok%dx", d);
      hit_ids(after, q, got, sizeof got);
      if (got[0]) fail_msg("after merge, the replaced %s is back: '%s'", q, got);
    }
  }
  /* the reader opened before the merge still answers from its snapshot,
   * though its files are gone */
  char again[8192];
  assert_int_equal(hit_ids(before, "공통어휘", again, sizeof again), 115);
  assert_string_equal(again, all_before);
  osq_index_close(before);
  osq_index_close(after);
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

static void test_auto_merge_bounds_segments(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  for (int i = 0; i < 40; i++) {
    osq_writer *w = open_writer(dir, 0, 0);
    char id[16], words[32];
    snprintf(id, sizeof id, "s%d", i);
    snprintf(words, sizeof words, "single%dx", i);
    add(w, id, words);
    commit(w);
    osq_writer_close(w);
    osq__manifest m;
    assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
    if (m.nsegs > 10) fail_msg("after commit %d: %u segments", i, m.nsegs);
    osq__manifest_free(&m);
  }
  assert_int_equal(live_docs(dir), 40);
  expect_hits(dir, "single0x", "s0");
  expect_hits(dir, "single39x", "s39");
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

/* ---- snapshots while a writer works -------------------------------------------------- */

typedef struct {
  char text[8192];
  int n;
} collected;

static void collect(void *ctx, const char *file, const char *problem) {
  collected *c = ctx;
  size_t o = strlen(c->text);
  snprintf(c->text + o, sizeof c->text - o, "%s: %s\n", file, problem);
  c->n++;
}

#define SNAP_K 20

/* Child: opens the index again and again while the parent writes; in every
 * snapshot the documents are a multiple of SNAP_K, the common word finds
 * each live document exactly once, and no id appears twice.  Every tenth
 * time, osq_index_check runs too: it must not mistake the files a commit
 * deletes under it for damage. */
static int snapshot_reader(const char *dir, double seconds) {
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int opens = 0, checks = 0;
  for (;;) {
    osq_index *ix;
    int rc = osq_index_open(dir, &ix);
    if (rc) {
      fprintf(stderr, "reader: open %d: %s (%s)\n", opens, osq_err_name(rc), osq_last_error());
      return 1;
    }
    opens++;
    osq_index_stats st;
    osq_index_get_stats(ix, &st);
    osq_search_options so = {.k = 100000};
    osq_results *r;
    rc = osq_search(ix, "공통어휘", strlen("공통어휘"), &so, &r);
    if (rc) {
      fprintf(stderr, "reader: search: %s (%s)\n", osq_err_name(rc), osq_last_error());
      return 1;
    }
    size_t n = osq_results_count(r);
    char **ids = calloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
      osq_hit h;
      if (osq_results_get(r, i, &h)) {
        fprintf(stderr, "reader: hit %zu: %s\n", i, osq_last_error());
        return 1;
      }
      ids[i] = strdup(h.doc_id);
    }
    osq_results_free(r);
    int bad = st.documents % SNAP_K != 0 || n != st.documents;
    for (size_t i = 0; i < n && !bad; i++)
      for (size_t j = i + 1; j < n && !bad; j++)
        if (!strcmp(ids[i], ids[j])) {
          fprintf(stderr, "reader: %s twice\n", ids[i]);
          bad = 1;
        }
    if (bad)
      fprintf(stderr, "reader: generation %llu: %llu documents, %zu hits for the common word\n",
              (unsigned long long)st.generation, (unsigned long long)st.documents, n);
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    osq_index_close(ix);
    if (bad) return 1;
    if (opens % 10 == 0) {
      collected c;
      memset(&c, 0, sizeof c);
      rc = osq_index_check(dir, 0, collect, &c, NULL);
      if (rc) {
        fprintf(stderr, "reader: check during writes: %s (%s)\n%s", osq_err_name(rc), osq_last_error(), c.text);
        return 1;
      }
      checks++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > seconds) break;
  }
  fprintf(stderr, "reader: %d consistent snapshots, %d clean checks\n", opens, checks);
  return opens > 0 ? 0 : 1;
}

static void test_snapshots_during_writes(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w = open_writer(dir, 0, 0);
  char id[32], words[64];
  for (int i = 0; i < SNAP_K; i++) {
    snprintf(id, sizeof id, "p%d", i);
    add(w, id, "공통어휘");
  }
  commit(w);
  osq_writer_close(w);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) _exit(snapshot_reader(dir, 3.0));
  /* Each commit adds SNAP_K new documents, replaces ten and swaps a
   * deletion for an addition; merges run automatically and on demand. */
  int next = SNAP_K, batches = 0;
  static char gone[1 << 20]; /* ids deleted: a replacement would bring them back */
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    w = open_writer(dir, 0, 0);
    for (int i = 0; i < SNAP_K; i++) {
      snprintf(id, sizeof id, "p%d", next++);
      add(w, id, "공통어휘");
    }
    for (int i = 0; i < 10; i++) {
      int victim = (batches * 7 + i * 3) % next;
      if (gone[victim]) continue;
      snprintf(id, sizeof id, "p%d", victim);
      snprintf(words, sizeof words, "공통어휘 v%d", batches);
      add(w, id, words);
    }
    int victim = (batches * 13) % (next - SNAP_K);
    snprintf(id, sizeof id, "p%d", victim);
    if (!gone[victim] && next < (int)sizeof gone - 1 && osq_writer_delete(w, id) == OSQ_OK) {
      gone[victim] = 1;
      snprintf(id, sizeof id, "p%d", next++);
      add(w, id, "공통어휘");
    }
    commit(w);
    if (batches % 5 == 4) assert_int_equal(osq_writer_merge(w), OSQ_OK);
    osq_writer_close(w);
    batches++;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < 2.5);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  print_message("%d commits while the reader ran\n", batches);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("the reader saw an inconsistent snapshot");
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

/* ---- the writer lock ---------------------------------------------------------------- */

static void test_lock_names_holder(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w = open_writer(dir, 0, 0);
  add(w, "k1", "keyone");
  commit(w);
  /* a second writer in this process, and osindex in another */
  osq_writer *w2 = (osq_writer *)0x1;
  assert_int_equal(osq_writer_open(dir, NULL, &w2), OSQ_E_LOCKED);
  assert_null(w2);
  char me[32];
  snprintf(me, sizeof me, "pid %ld", (long)getpid());
  if (!strstr(osq_last_error(), me)) fail_msg("lock message '%s' does not name %s", osq_last_error(), me);
  char input[4200], errf[4200], cmd[13000];
  snprintf(input, sizeof input, "%s/in.jsonl", dir);
  snprintf(errf, sizeof errf, "%s/err.txt", dir);
  FILE *f = fopen(input, "w");
  assert_non_null(f);
  fputs("{\"id\":\"k2\",\"text\":\"keytwo\"}\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' add -q -i '%s' '%s' 2>'%s'", osindex_path, dir, input, errf);
  int st = system(cmd);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 2);
  char msg[2000] = "";
  f = fopen(errf, "r");
  assert_non_null(f);
  size_t n = fread(msg, 1, sizeof msg - 1, f);
  msg[n] = 0;
  fclose(f);
  if (!strstr(msg, me) || !strstr(msg, "locked")) fail_msg("osindex's message '%s' does not name %s", msg, me);
  /* the index is untouched and the holder goes on */
  add(w, "k3", "keythree");
  commit(w);
  osq_writer_close(w);
  assert_int_equal(live_docs(dir), 2);
  /* once the holder is gone, osindex works */
  st = system(cmd);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_int_equal(live_docs(dir), 3);
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

static void test_killed_holder_does_not_block(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    osq_writer *w;
    if (osq_writer_open(dir, NULL, &w) != OSQ_OK) _exit(1);
    add(w, "z", "zuluone"); /* uncommitted: lost with the process */
    if (write(pfd[1], "r", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(pfd[1]);
  char c;
  assert_int_equal(read(pfd[0], &c, 1), 1);
  close(pfd[0]);
  osq_writer *w = (osq_writer *)0x1;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_E_LOCKED);
  char holder[32];
  snprintf(holder, sizeof holder, "pid %ld", (long)child);
  if (!strstr(osq_last_error(), holder)) fail_msg("lock message '%s' does not name %s", osq_last_error(), holder);
  kill(child, SIGKILL);
  int st;
  assert_int_equal(waitpid(child, &st, 0), child);
  w = open_writer(dir, 0, 0);
  add(w, "y", "yankeeone");
  commit(w);
  osq_writer_close(w);
  expect_hits(dir, "yankeeone", "y");
  expect_hits(dir, "zuluone", "");
  rm_tree(dir);
  free(dir);
}

/* ---- formats ---------------------------------------------------------------------- */

/* A manifest of the first layout (24-byte entries, 0 at byte 28) reads as
 * segments without deletions, and a writer adds to it. */
static void test_legacy_manifest(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w = open_writer(dir, 0, 1);
  add(w, "a", "alphaone");
  commit(w);
  osq_writer_close(w);
  osq__manifest m;
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  osq__buf b = {0};
  osq__buf_put(&b, "OSQMANIF", 8);
  osq__buf_u32(&b, OSQ_FORMAT_VERSION);
  osq__buf_u32(&b, m.nsegs);
  osq__buf_u64(&b, m.generation);
  osq__buf_u32(&b, m.next_segment);
  osq__buf_u32(&b, 0);
  for (uint32_t i = 0; i < m.nsegs; i++) {
    osq__buf_u32(&b, m.segs[i].number);
    osq__buf_u32(&b, m.segs[i].ndocs);
    osq__buf_u32(&b, m.segs[i].npassages);
    osq__buf_u32(&b, 0);
    osq__buf_u64(&b, m.segs[i].bytes);
  }
  osq__buf_u32(&b, osq__crc32(0, b.p, b.n));
  assert_int_equal(osq__write_file_atomic(dir, "MANIFEST", b.p, b.n), OSQ_OK);
  osq__buf_free(&b);
  osq__manifest_free(&m);
  expect_hits(dir, "alphaone", "a");
  expect_clean(dir);
  w = open_writer(dir, 0, 1);
  add(w, "a", "alphatwo");
  commit(w);
  osq_writer_close(w);
  expect_hits(dir, "alphaone", "");
  expect_hits(dir, "alphatwo", "a");
  expect_clean(dir);
  rm_tree(dir);
  free(dir);
}

static void patch(const char *path, long off, const char *bytes, size_t n) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, off, off < 0 ? SEEK_END : SEEK_SET), 0);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void test_check_reports_damage(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w = open_writer(dir, 0, 1);
  for (int i = 0; i < 30; i++) {
    char id[16], words[32];
    snprintf(id, sizeof id, "c%d", i);
    snprintf(words, sizeof words, "check%dx 점검", i);
    add(w, id, words);
  }
  commit(w);
  assert_int_equal(osq_writer_delete(w, "c3"), OSQ_OK);
  commit(w);
  osq_writer_close(w);
  expect_clean(dir);
  osq__manifest m;
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  assert_int_equal(m.nsegs, 1);
  char seg[64], segpath[4200], del[64], delpath[4200];
  osq__segment_name(m.segs[0].number, seg, sizeof seg);
  osq__deletions_name(m.segs[0].number, m.segs[0].del_gen, del, sizeof del);
  snprintf(segpath, sizeof segpath, "%s/%s", dir, seg);
  snprintf(delpath, sizeof delpath, "%s/%s", dir, del);
  osq__manifest_free(&m);

  /* a deletion bitmap that disagrees with its documents, CRC redone */
  FILE *f = fopen(delpath, "rb");
  assert_non_null(f);
  uint8_t buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  /* the passage bitmap starts after the 32-byte header and 4 bytes of
   * document bits (30 documents); flip a passage bit and the count */
  uint8_t saved[4096];
  memcpy(saved, buf, n);
  int bit = 0;
  while (buf[36 + bit / 8] >> (bit % 8) & 1) bit++;
  buf[36 + bit / 8] |= (uint8_t)(1u << (bit % 8));
  osq__put_u32(buf + n - 4, osq__crc32(0, buf, n - 4));
  patch(delpath, 0, (const char *)buf, n);
  collected c;
  memset(&c, 0, sizeof c);
  int rc = osq_index_check(dir, 0, collect, &c, NULL);
  assert_int_equal(rc, OSQ_E_CORRUPT);
  if (!strstr(c.text, del)) fail_msg("check did not name %s: %s", del, c.text);
  patch(delpath, 0, (const char *)saved, n);
  expect_clean(dir);

  /* the segment's footer magic */
  patch(segpath, -8, "XXXXXXXX", 8);
  memset(&c, 0, sizeof c);
  assert_int_equal(osq_index_check(dir, 0, collect, &c, NULL), OSQ_E_CORRUPT);
  if (!strstr(c.text, seg)) fail_msg("check did not name %s: %s", seg, c.text);
  print_message("%s", c.text);
  rm_tree(dir);
  free(dir);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_incremental OSINDEX\n");
    return 2;
  }
  osindex_path = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replace_within_and_across_flushes),
      cmocka_unit_test(test_merge_keeps_documents_and_drops_deleted),
      cmocka_unit_test(test_auto_merge_bounds_segments),
      cmocka_unit_test(test_snapshots_during_writes),
      cmocka_unit_test(test_lock_names_holder),
      cmocka_unit_test(test_killed_holder_does_not_block),
      cmocka_unit_test(test_legacy_manifest),
      cmocka_unit_test(test_check_reports_damage),
  };
  return cmocka_run_group_tests_name("incremental indexing", tests, NULL, NULL);
}
