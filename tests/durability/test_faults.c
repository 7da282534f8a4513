/*
 * test_faults.c -- the writer after a failure (core/writer.c, STICKY STATUS).
 *
 * Every allocation, then every file write, fsync, rename and open that
 * libosq makes while a writer opens, adds documents (new, replacing one,
 * deleting one) and commits is failed in turn, once each: run k fails the
 * k-th, and the runs go on until one ends without reaching its fault.  The
 * calls are intercepted with the linker's --wrap (tests/durability/
 * CMakeLists.txt), in the thread of the test only (the store compressor's
 * thread is left alone: its allocations are not in a fixed order).  After
 * each run:
 *   - the first failing call's status is returned by every later call of
 *     that writer (the sticky status), and by the commit;
 *   - the index passes osq_index_check (deep);
 *   - it is exactly the old index (the commit failed) or exactly the new one
 *     (the commit said OK, or the two "committed, but" statuses): every
 *     document of the run there with its new text, the replaced one's old
 *     text gone, the deleted one gone; never a mix.
 * Three workloads: flush at commit, a flush inside every add (flush_bytes
 * 1), and osq_writer_merge instead of the commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <osq/osq.h>

/* ---- the fault hooks ---------------------------------------------------- */

enum { F_NONE, F_ALLOC, F_IO };
static int fault_kind;        /* which calls count */
static long fault_at;         /* fail the fault_at-th counted call */
static long fault_count;      /* counted calls so far */
static int fault_hit;         /* the fault was injected */
static pthread_t test_thread;
static char calls[2048]; /* what the calls of the last run returned, for messages */

static int fault_now(int kind) {
  if (fault_kind != kind || !pthread_equal(pthread_self(), test_thread)) return 0;
  if (++fault_count != fault_at) return 0;
  fault_hit = 1;
  return 1;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n) { return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) {
  return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_aligned_alloc(a, n);
}
char *__wrap_strdup(const char *s) { return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) {
  return fault_now(F_ALLOC) ? (errno = ENOMEM, NULL) : __real_strndup(s, n);
}

ssize_t __real_write(int fd, const void *b, size_t n);
ssize_t __real_pwrite(int fd, const void *b, size_t n, off_t o);
int __real_fsync(int fd);
int __real_rename(const char *a, const char *b);
int __real_ftruncate(int fd, off_t n);
int __real_open(const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *b, size_t n) { return fault_now(F_IO) ? (errno = ENOSPC, -1) : __real_write(fd, b, n); }
ssize_t __wrap_pwrite(int fd, const void *b, size_t n, off_t o) {
  return fault_now(F_IO) ? (errno = ENOSPC, -1) : __real_pwrite(fd, b, n, o);
}
int __wrap_fsync(int fd) { return fault_now(F_IO) ? (errno = EIO, -1) : __real_fsync(fd); }
int __wrap_rename(const char *a, const char *b) { return fault_now(F_IO) ? (errno = EIO, -1) : __real_rename(a, b); }
int __wrap_ftruncate(int fd, off_t n) { return fault_now(F_IO) ? (errno = ENOSPC, -1) : __real_ftruncate(fd, n); }
int __wrap_open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = va_arg(ap, int);
  va_end(ap);
  if (fault_now(F_IO)) {
    errno = (flags & O_CREAT) ? ENOSPC : EIO;
    return -1;
  }
  return __real_open(path, flags, mode);
}

/* ---- the documents ------------------------------------------------------- */

/* Latin words are whole tokens: each marks one version of one document. */
static const char *const BASE_IDS[] = {"doc1", "doc2", "doc3", "doc4"};
static const char *const BASE_WORDS[] = {"alphaword", "bravoword", "charlieword", "foxtrotword"};

static void make_text(char *out, size_t n, const char *word) {
  snprintf(out, n,
           "오픈스택 클라우드에서 %s 를 찾는다. 화웨이와 미란티스가 기여했다.\n\n"
           "두 번째 문단: 가상 머신과 볼륨 연결, 보안 그룹 %s.\n\n"
           "세 번째 문단은 조금 더 길게 씁니다. 인스턴스 생성과 네트워크 구성, 키스톤 인증을 다룹니다.",
           word, word);
}

static int add_doc(osq_writer *w, const char *id, const char *word) {
  char text[1024];
  make_text(text, sizeof text, word);
  osq_doc d = {.id = id, .title = word, .source = "test", .text = text, .text_len = strlen(text)};
  return osq_writer_add(w, &d);
}

static char root[64];
static char dir[4200];

static void rm_index(const char *d) {
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  if (system(cmd) != 0) fail_msg("rm -rf %s", d);
}

static void make_base(void) {
  rm_index(dir);
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  for (size_t i = 0; i < 4; i++) assert_int_equal(add_doc(w, BASE_IDS[i], BASE_WORDS[i]), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
}

/* The id of the one document holding word, "" when none, "*" when several. */
static void who_has(osq_index *ix, const char *word, char *out, size_t n) {
  osq_results *r;
  osq_search_options so = {.k = 10};
  assert_int_equal(osq_search(ix, word, strlen(word), &so, &r), OSQ_OK);
  out[0] = 0;
  osq_results_summary s;
  osq_results_get_summary(r, &s);
  for (size_t i = 0; i < s.exact_hits; i++) {
    osq_hit h;
    assert_int_equal(osq_results_get_doc(r, i, &h), OSQ_OK);
    if (out[0] && strcmp(out, h.doc_id)) snprintf(out, n, "*");
    else snprintf(out, n, "%s", h.doc_id);
  }
  osq_results_free(r);
}

static void count_problem(void *ctx, const char *file, const char *problem) {
  (*(int *)ctx)++;
  print_error("check: %s: %s\n", file, problem);
}

/* 0: the old index, 1: the new one; fails on anything else. */
static int index_state(long run) {
  int problems = 0;
  int rc = osq_index_check(dir, 1, count_problem, &problems, NULL);
  if (rc) fail_msg("run %ld: check: %s (%s)", run, osq_err_name(rc), osq_last_error());
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  char a[64], b[64], c[64], d[64], e[64], f[64];
  who_has(ix, "alphaword", a, sizeof a);
  who_has(ix, "bravoword", b, sizeof b);
  who_has(ix, "charlieword", c, sizeof c);
  who_has(ix, "foxtrotword", f, sizeof f);
  who_has(ix, "deltaword", d, sizeof d);
  who_has(ix, "echoword", e, sizeof e);
  osq_index_close(ix);
  int old = st.documents == 4 && !strcmp(a, "doc1") && !strcmp(b, "doc2") && !strcmp(c, "doc3") && !strcmp(f, "doc4") &&
            !d[0] && !e[0];
  int now = st.documents == 4 && !strcmp(a, "doc1") && !b[0] && !c[0] && !strcmp(f, "doc4") && !strcmp(d, "doc2") &&
            !strcmp(e, "new1");
  if (old == now)
    fail_msg("run %ld: neither the old index nor the new one: %llu documents; alpha %s bravo %s charlie %s delta %s "
             "echo %s foxtrot %s",
             run, (unsigned long long)st.documents, a, b, c, d, e, f);
  return now;
}

/* One run: the writer's calls with the fault armed; returns whether the
 * fault was reached. */
static int run_once(int kind, long at, int workload, int *committed) {
  osq_writer_options o = {0};
  if (workload == 1) o.flush_bytes = 1;
  osq_writer *w = NULL;
  int first = OSQ_OK, rcs[6], n = 0;
  fault_kind = kind;
  fault_at = at;
  fault_count = 0;
  fault_hit = 0;
  int rc = osq_writer_open(dir, &o, &w);
  rcs[n++] = rc;
  if (!rc) {
    rcs[n++] = add_doc(w, "new1", "echoword");
    rcs[n++] = add_doc(w, "doc2", "deltaword"); /* replaces doc2 */
    rcs[n++] = osq_writer_delete(w, "doc3");
    rcs[n++] = workload == 2 ? osq_writer_merge(w) : osq_writer_commit(w);
    rcs[n++] = osq_writer_commit(w); /* nothing new, or the sticky failure */
  }
  fault_kind = F_NONE;
  calls[0] = 0;
  for (int i = 0; i < n; i++)
    snprintf(calls + strlen(calls), sizeof calls - strlen(calls), " %s", osq_err_name(rcs[i]));
  snprintf(calls + strlen(calls), sizeof calls - strlen(calls), " (%s)", osq_last_error());
  osq_writer_close(w);
  /* the sticky status: after the first failure every call returns it */
  for (int i = 0; i < n; i++) {
    int soft = rcs[i] == OSQ_E_AUTOMERGE || rcs[i] == OSQ_E_NOTDURABLE;
    if (first && rcs[i] != first)
      fail_msg("run %ld (workload %d): call %d returned %s after an earlier call failed with %s", at, workload, i,
               osq_err_name(rcs[i]), osq_err_name(first));
    if (rcs[i] && !soft && !first) first = rcs[i];
  }
  /* committed: the first commit (or merge) published */
  *committed = n >= 5 && (rcs[4] == OSQ_OK || rcs[4] == OSQ_E_AUTOMERGE || rcs[4] == OSQ_E_NOTDURABLE);
  return fault_hit;
}

static void sweep(int kind, int workload) {
  long runs = 0, failed_runs = 0;
  for (long at = 1;; at++) {
    make_base();
    int committed;
    int hit = run_once(kind, at, workload, &committed);
    int now = index_state(at);
    if (now != committed)
      fail_msg("%s fault %ld (workload %d): the commit %s but the index is the %s one; calls:%s",
               kind == F_ALLOC ? "allocation" : "I/O", at, workload, committed ? "succeeded" : "failed",
               now ? "new" : "old", calls);
    runs++;
    failed_runs += !committed;
    if (!hit) break;
    if (at > 200000) fail_msg("no end to the faults");
  }
  print_message("%s faults, workload %d: %ld runs, %ld left the old index, %ld the new one\n",
                kind == F_ALLOC ? "allocation" : "I/O", workload, runs, failed_runs, runs - failed_runs);
  /* the last run reached no fault and committed; faults made some fail */
  assert_true(runs > 10 && failed_runs > 0);
}

static void test_alloc_commit(void **state) { sweep(F_ALLOC, 0); }
static void test_alloc_flush_in_add(void **state) { sweep(F_ALLOC, 1); }
static void test_alloc_merge(void **state) { sweep(F_ALLOC, 2); }
static void test_io_commit(void **state) { sweep(F_IO, 0); }
static void test_io_flush_in_add(void **state) { sweep(F_IO, 1); }
static void test_io_merge(void **state) { sweep(F_IO, 2); }

int main(void) {
  test_thread = pthread_self();
  /* tmpfs when there is one: thousands of commits, each with its fsyncs */
  struct stat sb;
  int shm = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0;
  snprintf(root, sizeof root, "%s/osq-faults-XXXXXX", shm ? "/dev/shm" : "/tmp");
  if (!mkdtemp(root)) {
    perror(root);
    return 1;
  }
  snprintf(dir, sizeof dir, "%s/index", root);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alloc_commit), cmocka_unit_test(test_alloc_flush_in_add), cmocka_unit_test(test_alloc_merge),
      cmocka_unit_test(test_io_commit),    cmocka_unit_test(test_io_flush_in_add),    cmocka_unit_test(test_io_merge),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  rm_index(root);
  return failed;
}
