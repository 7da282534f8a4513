/*
 * test_xapian.c -- tests of libosq_xapian (include/osq/xapian.h) against a
 * real Xapian glass database in a temporary directory.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs these first */
#include <cmocka.h>

#include "osq/osq.h"
#include "osq/xapian.h"

/* ---------------------------------------------------------------------- */
/* Fixture: a fresh temporary directory per test, removed afterwards.     */

typedef struct fixture {
  char dir[PATH_MAX];
  char db[PATH_MAX]; /* dir/db: the database path used by most tests */
} fixture;

static int rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0)
    return -1;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d)
      return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char child[PATH_MAX];
      int n = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
      if (n > 0 && (size_t)n < sizeof child)
        rm_rf(child);
    }
    closedir(d);
    return rmdir(path);
  }
  return unlink(path);
}

/* out = a "/" b; the test fails if it does not fit. */
static void join(char out[PATH_MAX], const char *a, const char *b) {
  int n = snprintf(out, PATH_MAX, "%s/%s", a, b);
  if (n < 0 || n >= PATH_MAX)
    fail_msg("path too long: %s/%s", a, b);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f)
    return -1;
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp)
    tmp = "/tmp";
  int n = snprintf(f->dir, sizeof f->dir, "%s/osq-xapian-XXXXXX", tmp);
  if (n < 0 || (size_t)n >= sizeof f->dir || !mkdtemp(f->dir)) {
    free(f);
    return -1;
  }
  n = snprintf(f->db, sizeof f->db, "%s/db", f->dir);
  if (n < 0 || (size_t)n >= sizeof f->db) {
    rmdir(f->dir);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  int rc = rm_rf(f->dir);
  struct stat st;
  int gone = lstat(f->dir, &st) != 0;
  free(f);
  return rc == 0 && gone ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

/* Fails the test, printing the status and the handle's message. */
#define assert_status(x, expected, got)                                      \
  do {                                                                       \
    int exp_ = (expected), got_ = (got);                                     \
    if (exp_ != got_)                                                        \
      fail_msg("status %d, expected %d (%s)", got_, exp_,                    \
               osq_xapian_errmsg(x));                                        \
  } while (0)

static osq_xapian *open_ok(const char *path, int mode) {
  osq_xapian *x = NULL;
  char *msg = NULL;
  int rc = osq_xapian_open(path, mode, &x, &msg);
  if (rc != OSQ_OK)
    fail_msg("osq_xapian_open(%s, %d): %d %s", path, mode, rc,
             msg ? msg : "(no message)");
  assert_non_null(x);
  assert_null(msg);
  return x;
}

static uint32_t add_text(osq_xapian *x, const char *text, const char *data) {
  uint32_t id = 0;
  assert_status(x, OSQ_OK,
                osq_xapian_add_text(x, text, strlen(text), data, strlen(data),
                                    1, &id));
  assert_true(id > 0);
  return id;
}

static osq_xapian_results *query_ok(osq_xapian *x, const char *q, int cjk) {
  osq_xapian_results *r = NULL;
  assert_status(x, OSQ_OK, osq_xapian_query(x, q, strlen(q), cjk, 10, &r));
  assert_non_null(r);
  return r;
}

static osq_xapian_results *terms_query_ok(osq_xapian *x,
                                          const osq_xapian_term *t, size_t n,
                                          int op) {
  osq_xapian_results *r = NULL;
  assert_status(x, OSQ_OK, osq_xapian_query_terms(x, t, n, op, 10, &r));
  assert_non_null(r);
  return r;
}

/* Whether docid is among the results. */
static int has_doc(const osq_xapian_results *r, uint32_t docid) {
  for (size_t i = 0; i < osq_xapian_results_count(r); i++) {
    uint32_t id = 0;
    assert_int_equal(osq_xapian_results_get(r, i, &id, NULL, NULL, NULL),
                     OSQ_OK);
    if (id == docid)
      return 1;
  }
  return 0;
}

static osq_xapian_term T(const char *s, uint32_t pos) {
  osq_xapian_term t = {s, strlen(s), pos};
  return t;
}

/* The Korean corpus of the round-trip tests. */
static const char *const kTexts[] = {
    "화웨이가 오픈스택 재단에 합류했다",
    "오픈스택은 클라우드 인프라를 위한 오픈소스 소프트웨어다",
    "삼성전자가 새 반도체 공장을 짓는다",
    "리눅스 재단은 오픈소스 프로젝트를 지원한다",
};
static const char *const kData[] = {
    "{\"id\":\"d1\"}",
    "{\"id\":\"d2\"}",
    "{\"id\":\"d3\"}",
    "{\"id\":\"d4\"}",
};
#define NDOCS (sizeof kTexts / sizeof kTexts[0])

/* Builds the Korean corpus at path; ids[i] receives the docid of kTexts[i]. */
static void build_corpus(const char *path, uint32_t ids[NDOCS]) {
  osq_xapian *w = open_ok(path, OSQ_XAPIAN_CREATE);
  for (size_t i = 0; i < NDOCS; i++)
    ids[i] = add_text(w, kTexts[i], kData[i]);
  assert_status(w, OSQ_OK, osq_xapian_commit(w));
  assert_int_equal(osq_xapian_doccount(w), NDOCS);
  osq_xapian_close(w);
}

/* Overwrites n bytes at off of file with byte c. */
static void smash(const char *file, off_t off, size_t n, char c) {
  char buf[256];
  assert_true(n <= sizeof buf);
  memset(buf, c, n);
  int fd = open(file, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
  assert_int_equal(close(fd), 0);
}

/* ---------------------------------------------------------------------- */
/* Round trip with Xapian's own CJK n-gram tokenizer                      */

static void test_round_trip_cjk(void **state) {
  fixture *f = *state;
  uint32_t ids[NDOCS];
  build_corpus(f->db, ids);
  for (size_t i = 1; i < NDOCS; i++)
    assert_true(ids[i] > ids[i - 1]);

  osq_xapian *x = open_ok(f->db, OSQ_XAPIAN_READ);
  assert_int_equal(osq_xapian_doccount(x), NDOCS);

  /* "화웨이" occurs in the first document only. */
  osq_xapian_results *r = query_ok(x, "화웨이", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_int_equal(osq_xapian_results_matched(r), 1);
  uint32_t id = 0;
  double score = 0;
  const char *data = NULL;
  size_t data_len = 0;
  assert_int_equal(osq_xapian_results_get(r, 0, &id, &score, &data, &data_len),
                   OSQ_OK);
  assert_int_equal(id, ids[0]);
  assert_true(score > 0);
  assert_non_null(data);
  assert_int_equal(data_len, strlen(kData[0]));
  assert_memory_equal(data, kData[0], data_len);
  assert_int_equal(data[data_len], '\0');
  /* Out of range. */
  assert_int_equal(osq_xapian_results_get(r, 1, &id, NULL, NULL, NULL),
                   OSQ_E_INVAL);
  osq_xapian_results_free(r);

  /* Without FLAG_CJK_NGRAM the parser keeps "화웨이" as one word, which the
   * n-gram index does not contain. */
  r = query_ok(x, "화웨이", 0);
  assert_int_equal(osq_xapian_results_count(r), 0);
  osq_xapian_results_free(r);

  /* "오픈스택" is in documents 1 and 2; "재단" in 1 and 4.  OR of both:
   * document 1 has both and ranks first. */
  r = query_ok(x, "오픈스택", 1);
  assert_int_equal(osq_xapian_results_count(r), 2);
  assert_true(has_doc(r, ids[0]) && has_doc(r, ids[1]));
  osq_xapian_results_free(r);

  r = query_ok(x, "오픈스택 재단", 1);
  assert_int_equal(osq_xapian_results_count(r), 3);
  assert_int_equal(osq_xapian_results_get(r, 0, &id, NULL, &data, &data_len),
                   OSQ_OK);
  assert_int_equal(id, ids[0]);
  assert_string_equal(data, kData[0]);
  assert_true(has_doc(r, ids[1]) && has_doc(r, ids[3]));
  assert_false(has_doc(r, ids[2]));
  /* Scores are sorted. */
  double prev = 1e300;
  for (size_t i = 0; i < osq_xapian_results_count(r); i++) {
    assert_int_equal(osq_xapian_results_get(r, i, NULL, &score, NULL, NULL),
                     OSQ_OK);
    assert_true(score <= prev);
    prev = score;
  }
  osq_xapian_results_free(r);

  /* Boolean syntax goes through: 오픈소스 (2, 4) AND NOT 리눅스 (4). */
  r = query_ok(x, "오픈소스 NOT 리눅스", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_true(has_doc(r, ids[1]));
  osq_xapian_results_free(r);

  /* No match at all is success with zero results. */
  r = query_ok(x, "엔비디아", 1);
  assert_int_equal(osq_xapian_results_count(r), 0);
  assert_int_equal(osq_xapian_results_matched(r), 0);
  osq_xapian_results_free(r);

  /* A read-only handle refuses writes and says why. */
  assert_int_equal(osq_xapian_add_text(x, "글", 3, NULL, 0, 1, &id),
                   OSQ_E_INVAL);
  assert_int_equal(id, 0);
  assert_true(strlen(osq_xapian_errmsg(x)) > 0);
  /* Commit on a read-only handle has nothing to do. */
  assert_int_equal(osq_xapian_commit(x), OSQ_OK);
  osq_xapian_close(x);
}

/* CREATE overwrites, OPEN appends, close commits. */
static void test_modes_and_close_commits(void **state) {
  fixture *f = *state;
  uint32_t ids[NDOCS];
  build_corpus(f->db, ids);

  /* OPEN keeps what is there; close without commit still commits. */
  osq_xapian *w = open_ok(f->db, OSQ_XAPIAN_OPEN);
  assert_int_equal(osq_xapian_doccount(w), NDOCS);
  uint32_t extra = add_text(w, "엔비디아가 새 칩을 발표했다", "{\"id\":\"d5\"}");
  assert_int_equal(extra, ids[NDOCS - 1] + 1);
  osq_xapian_close(w);

  osq_xapian *x = open_ok(f->db, OSQ_XAPIAN_READ);
  assert_int_equal(osq_xapian_doccount(x), NDOCS + 1);
  osq_xapian_results *r = query_ok(x, "엔비디아", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_true(has_doc(r, extra));
  osq_xapian_results_free(r);
  osq_xapian_close(x);

  /* CREATE starts over. */
  w = open_ok(f->db, OSQ_XAPIAN_CREATE);
  assert_int_equal(osq_xapian_doccount(w), 0);
  osq_xapian_close(w);
  x = open_ok(f->db, OSQ_XAPIAN_READ);
  assert_int_equal(osq_xapian_doccount(x), 0);
  osq_xapian_close(x);
}

/* ---------------------------------------------------------------------- */
/* Pre-made terms with positions                                          */

static void test_terms_phrase(void **state) {
  fixture *f = *state;
  osq_xapian *w = open_ok(f->db, OSQ_XAPIAN_CREATE);
  uint32_t adjacent, apart, reversed, nopos;

  osq_xapian_term a[] = {T("오픈", 1), T("스택", 2), T("재단", 3)};
  assert_status(w, OSQ_OK, osq_xapian_add_terms(w, a, 3, "A", 1, &adjacent));
  osq_xapian_term b[] = {T("오픈", 1), T("소스", 2), T("스택", 3)};
  assert_status(w, OSQ_OK, osq_xapian_add_terms(w, b, 3, "B", 1, &apart));
  osq_xapian_term c[] = {T("스택", 1), T("오픈", 2)};
  assert_status(w, OSQ_OK, osq_xapian_add_terms(w, c, 2, "C", 1, &reversed));
  osq_xapian_term d[] = {T("오픈", 0), T("스택", 0)};
  assert_status(w, OSQ_OK, osq_xapian_add_terms(w, d, 2, "D", 1, &nopos));
  assert_status(w, OSQ_OK, osq_xapian_commit(w));
  osq_xapian_close(w);

  osq_xapian *x = open_ok(f->db, OSQ_XAPIAN_READ);
  assert_int_equal(osq_xapian_doccount(x), 4);
  osq_xapian_term q[] = {T("오픈", 1), T("스택", 2)};

  /* The phrase matches only the document where the terms are adjacent and
   * in order. */
  osq_xapian_results *r = terms_query_ok(x, q, 2, OSQ_XAPIAN_Q_TERMS_PHRASE);
  assert_int_equal(osq_xapian_results_count(r), 1);
  uint32_t id = 0;
  const char *data = NULL;
  size_t data_len = 0;
  assert_int_equal(osq_xapian_results_get(r, 0, &id, NULL, &data, &data_len),
                   OSQ_OK);
  assert_int_equal(id, adjacent);
  assert_int_equal(data_len, 1);
  assert_memory_equal(data, "A", 1);
  osq_xapian_results_free(r);

  /* AND ignores positions: all four documents have both terms. */
  r = terms_query_ok(x, q, 2, OSQ_XAPIAN_Q_TERMS_AND);
  assert_int_equal(osq_xapian_results_count(r), 4);
  assert_true(has_doc(r, adjacent) && has_doc(r, apart) &&
              has_doc(r, reversed) && has_doc(r, nopos));
  osq_xapian_results_free(r);

  /* OR of 재단 and 소스: documents A and B. */
  osq_xapian_term q2[] = {T("재단", 0), T("소스", 0)};
  r = terms_query_ok(x, q2, 2, OSQ_XAPIAN_Q_TERMS_OR);
  assert_int_equal(osq_xapian_results_count(r), 2);
  assert_true(has_doc(r, adjacent) && has_doc(r, apart));
  osq_xapian_results_free(r);

  /* AND of 재단 and 소스: nobody has both. */
  r = terms_query_ok(x, q2, 2, OSQ_XAPIAN_Q_TERMS_AND);
  assert_int_equal(osq_xapian_results_count(r), 0);
  osq_xapian_results_free(r);

  /* A query phrase with a gap (positions 1 and 3) widens the window to 3:
   * 오픈 _ 스택 matches B (and A, whose terms are within 3 positions). */
  osq_xapian_term q3[] = {T("오픈", 1), T("스택", 3)};
  r = terms_query_ok(x, q3, 2, OSQ_XAPIAN_Q_TERMS_PHRASE);
  assert_true(has_doc(r, apart));
  assert_false(has_doc(r, reversed));
  assert_false(has_doc(r, nopos));
  osq_xapian_results_free(r);

  /* The same phrase through the query parser (no n-grams: the terms are
   * the words). */
  r = query_ok(x, "\"오픈 스택\"", 0);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_true(has_doc(r, adjacent));
  osq_xapian_results_free(r);

  /* No terms: success, nothing found. */
  r = terms_query_ok(x, NULL, 0, OSQ_XAPIAN_Q_TERMS_OR);
  assert_int_equal(osq_xapian_results_count(r), 0);
  osq_xapian_results_free(r);

  /* Unknown operator. */
  r = (osq_xapian_results *)1;
  assert_int_equal(osq_xapian_query_terms(x, q, 2, 99, 10, &r), OSQ_E_INVAL);
  assert_null(r);
  osq_xapian_close(x);
}

/* An empty term is Xapian's InvalidArgumentError. */
static void test_terms_invalid(void **state) {
  fixture *f = *state;
  osq_xapian *w = open_ok(f->db, OSQ_XAPIAN_CREATE);
  osq_xapian_term bad[] = {T("오픈", 1), T("", 2)};
  uint32_t id = 123;
  assert_int_equal(osq_xapian_add_terms(w, bad, 2, NULL, 0, &id), OSQ_E_INVAL);
  assert_int_equal(id, 0);
  assert_non_null(strstr(osq_xapian_errmsg(w), "InvalidArgumentError"));
  assert_int_equal(osq_xapian_doccount(w), 0);
  osq_xapian_close(w);
}

/* ---------------------------------------------------------------------- */
/* Error mapping                                                          */

static void test_open_missing(void **state) {
  fixture *f = *state;
  char path[PATH_MAX];
  join(path, f->dir, "does-not-exist");
  osq_xapian *x = (osq_xapian *)1;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(path, OSQ_XAPIAN_READ, &x, &msg),
                   OSQ_E_NOINDEX);
  assert_null(x);
  assert_non_null(msg);
  assert_true(strlen(msg) > 0);
  assert_non_null(strstr(msg, "DatabaseNotFoundError"));
  free(msg);

  /* An existing directory that is not a database is not an index either. */
  msg = NULL;
  assert_int_equal(osq_xapian_open(f->dir, OSQ_XAPIAN_READ, &x, &msg),
                   OSQ_E_NOINDEX);
  assert_null(x);
  assert_non_null(msg);
  assert_true(strlen(msg) > 0);
  free(msg);

  /* errmsg may be NULL. */
  assert_int_equal(osq_xapian_open(path, OSQ_XAPIAN_READ, &x, NULL),
                   OSQ_E_NOINDEX);
  assert_null(x);
}

static void test_open_invalid(void **state) {
  fixture *f = *state;
  osq_xapian *x = NULL;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, 42, &x, &msg), OSQ_E_INVAL);
  assert_null(x);
  assert_non_null(msg);
  assert_true(strlen(msg) > 0);
  free(msg);
  assert_int_equal(osq_xapian_open(NULL, OSQ_XAPIAN_READ, &x, NULL),
                   OSQ_E_INVAL);
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_CREATE, NULL, NULL),
                   OSQ_E_INVAL);
  /* The database was not created by the refused calls. */
  struct stat st;
  assert_true(lstat(f->db, &st) != 0);

  /* NULL is accepted where it should be. */
  osq_xapian_close(NULL);
  osq_xapian_results_free(NULL);
  assert_string_equal(osq_xapian_errmsg(NULL), "");
  assert_int_equal(osq_xapian_results_count(NULL), 0);
  assert_int_equal(osq_xapian_doccount(NULL), 0);
  assert_int_equal(osq_xapian_commit(NULL), OSQ_E_INVAL);
  osq_xapian_results *r = NULL;
  assert_int_equal(osq_xapian_query(NULL, "a", 1, 0, 10, &r), OSQ_E_INVAL);
  assert_null(r);
}

/* A parent that cannot hold a directory: Xapian's DatabaseCreateError. */
static void test_create_fails(void **state) {
  fixture *f = *state;
  char file[PATH_MAX], path[PATH_MAX];
  join(file, f->dir, "plain-file");
  int fd = open(file, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  close(fd);
  join(path, file, "db");
  osq_xapian *x = NULL;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(path, OSQ_XAPIAN_CREATE, &x, &msg),
                   OSQ_E_IO);
  assert_null(x);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "DatabaseCreateError"));
  free(msg);
}

static void test_second_writer_locked(void **state) {
  fixture *f = *state;
  osq_xapian *w1 = open_ok(f->db, OSQ_XAPIAN_CREATE);
  add_text(w1, kTexts[0], kData[0]);
  assert_status(w1, OSQ_OK, osq_xapian_commit(w1));

  osq_xapian *w2 = (osq_xapian *)1;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_OPEN, &w2, &msg),
                   OSQ_E_LOCKED);
  assert_null(w2);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "DatabaseLockError"));
  free(msg);
  /* CREATE (overwrite) is refused too, and destroys nothing. */
  msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_CREATE, &w2, &msg),
                   OSQ_E_LOCKED);
  assert_null(w2);
  assert_true(msg && strlen(msg) > 0);
  free(msg);

  /* Readers are not locked out, and see the committed document. */
  osq_xapian *x = open_ok(f->db, OSQ_XAPIAN_READ);
  assert_int_equal(osq_xapian_doccount(x), 1);
  osq_xapian_close(x);

  /* Once the first writer is gone the lock is free. */
  osq_xapian_close(w1);
  w2 = open_ok(f->db, OSQ_XAPIAN_OPEN);
  assert_int_equal(osq_xapian_doccount(w2), 1);
  osq_xapian_close(w2);
}

/* Overwriting the first block of a glass table: Xapian 1.4 reports
 * DatabaseCorruptError ("dir_end invalid in block 0") when opening. */
static void test_corrupt_table(void **state) {
  fixture *f = *state;
  uint32_t ids[NDOCS];
  build_corpus(f->db, ids);
  char file[PATH_MAX];
  join(file, f->db, "postlist.glass");
  smash(file, 0, 64, 'Z');

  osq_xapian *x = (osq_xapian *)1;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_READ, &x, &msg),
                   OSQ_E_CORRUPT);
  assert_null(x);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "DatabaseCorruptError"));
  free(msg);

  /* Opening it for writing fails the same way. */
  msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_OPEN, &x, &msg),
                   OSQ_E_CORRUPT);
  assert_null(x);
  assert_true(msg && strlen(msg) > 0);
  free(msg);
}

/* Overwriting the magic of the version file "iamglass". */
static void test_corrupt_version_file(void **state) {
  fixture *f = *state;
  uint32_t ids[NDOCS];
  build_corpus(f->db, ids);
  char file[PATH_MAX];
  join(file, f->db, "iamglass");
  smash(file, 0, 16, 'Z');

  osq_xapian *x = NULL;
  char *msg = NULL;
  assert_int_equal(osq_xapian_open(f->db, OSQ_XAPIAN_READ, &x, &msg),
                   OSQ_E_CORRUPT);
  assert_null(x);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "magic"));
  free(msg);
}

/* ---------------------------------------------------------------------- */
/* Query parser errors                                                    */

static void test_parse_error(void **state) {
  fixture *f = *state;
  uint32_t ids[NDOCS];
  build_corpus(f->db, ids);
  osq_xapian *x = open_ok(f->db, OSQ_XAPIAN_READ);

  /* A dangling boolean operator is a QueryParserError in Xapian 1.4.22
   * with FLAG_CJK_NGRAM | FLAG_DEFAULT; the wrapper reports it rather than
   * falling back to plain words. */
  static const char *const bad[] = {"화웨이 AND", "AND", "오픈스택 NOT",
                                    "NOT 재단", "화웨이 OR OR 재단"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    osq_xapian_results *r = (osq_xapian_results *)1;
    int rc = osq_xapian_query(x, bad[i], strlen(bad[i]), 1, 10, &r);
    if (rc != OSQ_E_PARSE)
      fail_msg("query [%s]: status %d, expected OSQ_E_PARSE", bad[i], rc);
    assert_null(r);
    const char *msg = osq_xapian_errmsg(x);
    assert_non_null(strstr(msg, "QueryParserError"));
    assert_non_null(strstr(msg, "Syntax"));
  }

  /* The handle still works after a parse error. */
  osq_xapian_results *r = query_ok(x, "화웨이", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_true(has_doc(r, ids[0]));
  osq_xapian_results_free(r);

  /* Xapian forgives other malformed input: an unbalanced quote is a phrase
   * to the end, a stray parenthesis is dropped. */
  r = query_ok(x, "\"화웨이", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  assert_true(has_doc(r, ids[0]));
  osq_xapian_results_free(r);
  r = query_ok(x, "(화웨이", 1);
  assert_int_equal(osq_xapian_results_count(r), 1);
  osq_xapian_results_free(r);
  r = query_ok(x, "\"", 1);
  assert_int_equal(osq_xapian_results_count(r), 0);
  osq_xapian_results_free(r);

  osq_xapian_close(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_cjk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_modes_and_close_commits, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_terms_phrase, setup, teardown),
      cmocka_unit_test_setup_teardown(test_terms_invalid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_invalid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_second_writer_locked, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_version_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_parse_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
