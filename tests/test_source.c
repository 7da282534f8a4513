/*
 * test_source.c -- osq_source: which documents come out of a tree of input
 * files, in which order, and which warnings name which file and line.
 *
 * Each test builds its inputs in a fresh temporary directory.  The main tree
 * is read twice, with and without the read-ahead thread, since the two must
 * behave the same.  JSON lines are judged by jansson, and read by simdjson
 * first when it can read them as jansson would: the expectations of
 * test_json_lines are jansson's, and test_json_matches_jansson holds the
 * fast path to jansson on random lines.
 */
/* The build defines it; this keeps a direct compile working too (mkdtemp,
 * nftw, setenv, symlink). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "json_vs_jansson.h"
#include "osq/source.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

typedef struct warning {
  char *path;
  uint64_t line;
  char *msg;
} warning;

typedef struct collected {
  warning w[512];
  size_t nw;
  struct {
    char *id, *title, *source, *url, *date, *text;
    size_t text_len;
  } d[2048];
  size_t nd;
} collected;

static void on_warn(void *ctx, const char *path, uint64_t line,
                    const char *msg) {
  collected *c = ctx;
  assert_non_null(path);
  assert_non_null(msg);
  assert_true(c->nw < sizeof c->w / sizeof c->w[0]);
  c->w[c->nw].path = strdup(path);
  c->w[c->nw].line = line;
  c->w[c->nw].msg = strdup(msg);
  c->nw++;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* Reads every document of paths into c; returns the final status. */
static int read_all(const char *const *paths, size_t n, collected *c,
                    osq_source_stats *st) {
  osq_source *s = NULL;
  osq_doc doc;
  int rc;
  memset(c, 0, sizeof *c);
  assert_int_equal(osq_source_open(paths, n, on_warn, c, &s), OSQ_OK);
  assert_non_null(s);
  while ((rc = osq_source_next(s, &doc)) == OSQ_OK) {
    size_t i = c->nd++;
    assert_true(c->nd <= sizeof c->d / sizeof c->d[0]);
    assert_non_null(doc.id);
    assert_non_null(doc.text);
    assert_int_equal(doc.text[doc.text_len], '\0');
    c->d[i].id = strdup(doc.id);
    c->d[i].title = dup_or_null(doc.title);
    c->d[i].source = dup_or_null(doc.source);
    c->d[i].url = dup_or_null(doc.url);
    c->d[i].date = dup_or_null(doc.date);
    c->d[i].text = malloc(doc.text_len + 1);
    memcpy(c->d[i].text, doc.text, doc.text_len + 1);
    c->d[i].text_len = doc.text_len;
  }
  /* The end is sticky. */
  assert_int_equal(osq_source_next(s, &doc), rc);
  if (st) osq_source_get_stats(s, st);
  osq_source_close(s);
  return rc;
}

static void free_collected(collected *c) {
  size_t i;
  for (i = 0; i < c->nw; i++) {
    free(c->w[i].path);
    free(c->w[i].msg);
  }
  for (i = 0; i < c->nd; i++) {
    free(c->d[i].id);
    free(c->d[i].title);
    free(c->d[i].source);
    free(c->d[i].url);
    free(c->d[i].date);
    free(c->d[i].text);
  }
}

static char *path_of(const char *dir, const char *rel) {
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = malloc(n);
  assert_non_null(p);
  snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

static void write_file(const char *dir, const char *rel, const void *data,
                       size_t len) {
  char *p = path_of(dir, rel);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  free(p);
}

static void write_str(const char *dir, const char *rel, const char *s) {
  write_file(dir, rel, s, strlen(s));
}

/* mode "ab" adds a second gzip member, as `cat a.gz b.gz` would. */
static void write_gz_mode(const char *dir, const char *rel, const char *s,
                          size_t len, const char *mode) {
  char *p = path_of(dir, rel);
  gzFile g = gzopen(p, mode);
  assert_non_null(g);
  assert_int_equal(gzwrite(g, s, (unsigned)len), (int)len);
  assert_int_equal(gzclose(g), Z_OK);
  free(p);
}

static void write_gz(const char *dir, const char *rel, const char *s,
                     size_t len) {
  write_gz_mode(dir, rel, s, len, "wb");
}

static void make_dir(const char *dir, const char *rel) {
  char *p = path_of(dir, rel);
  assert_int_equal(mkdir(p, 0755), 0);
  free(p);
}

static uint64_t size_of(const char *dir, const char *rel) {
  struct stat st;
  char *p = path_of(dir, rel);
  assert_int_equal(stat(p, &st), 0);
  free(p);
  return (uint64_t)st.st_size;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag == FTW_DP) return rmdir(p);
  return unlink(p);
}

static int setup_dir(void **state) {
  char *d = strdup("/tmp/osq_test_source.XXXXXX");
  if (!d || !mkdtemp(d)) return -1;
  *state = d;
  return 0;
}

static int teardown_dir(void **state) {
  char *d = *state;
  /* FTW_PHYS: never follow the loop symlink. */
  nftw(d, rm_one, 32, FTW_DEPTH | FTW_PHYS);
  free(d);
  unsetenv("OSQ_SOURCE_READAHEAD");
  return 0;
}

/* The warning i is about path dir/rel, line line, and says what. */
static void expect_warning(const collected *c, size_t i, const char *dir,
                           const char *rel, uint64_t line, const char *what) {
  char *p = rel ? path_of(dir, rel) : strdup(dir);
  if (i >= c->nw) fail_msg("missing warning %zu (%s: %s)", i, p, what);
  if (strcmp(c->w[i].path, p) != 0 || c->w[i].line != line ||
      !strstr(c->w[i].msg, what))
    fail_msg("warning %zu is \"%s:%llu: %s\", expected \"%s:%llu: ...%s...\"",
             i, c->w[i].path, (unsigned long long)c->w[i].line, c->w[i].msg, p,
             (unsigned long long)line, what);
  free(p);
}

/* ------------------------------------------------------------------------
 * The main tree
 * ---------------------------------------------------------------------- */

static const char b_jsonl[] =
    "{\"id\":\"b1\",\"title\":\"B one\",\"text\":\"first\"}\n"
    "{\"id\":\"b2\",\"title\": broken\n"
    "\n"
    "{\"id\":\"b3\",\"title\":\"B three\",\"text\":\"bad \xff byte\"}\n"
    "{\"title\":\"no id\",\"text\":\"x\"}\n"
    "{\"id\":7,\"text\":\"numeric id\",\"source\":\"s\",\"url\":\"u\","
    "\"date\":\"2024-01-01\",\"license\":\"ignored\"}\n"
    "{\"id\":\"b8\",\"title\":\"no text\"}\n"
    "   \r\n"
    "{\"id\":\"b9\",\"text\":\"last line, no newline\"}";

/* Written as two gzip members, split mid-line. */
static const char c_jsonl[] =
    "{\"id\":\"c1\",\"title\":\"C one\",\"text\":\"압축된 문서\"}\r\n"
    "{\"id\":\"c2\",\"title\":null,\"text\":\"두 번째\"}\r\n";
#define C_SPLIT 60

#define DEEP 50

/* Builds the main tree under dir; returns whether f.jsonl is unreadable
 * (root reads everything, whatever the mode). */
static int build_tree(const char *dir) {
  static const char binary[] = "title\0\0\0\x01\x02binary\0junk";
  char rel[4096];
  int i, fd, unreadable;
  size_t n;

  write_str(dir, "a.txt", "Title A\nBody of A.\n\n둘째 문단.\n");
  write_str(dir, "b.jsonl", b_jsonl);
  write_gz(dir, "c.jsonl.gz", c_jsonl, C_SPLIT);
  write_gz_mode(dir, "c.jsonl.gz", c_jsonl + C_SPLIT,
                strlen(c_jsonl) - C_SPLIT, "ab");
  make_dir(dir, "d");
  write_file(dir, "d/x.txt", binary, sizeof binary);
  write_str(dir, "e.txt", "");
  write_str(dir, "e2.jsonl", "");
  write_str(dir, "e3.jsonl.gz", "");
  write_str(dir, "f.jsonl", "{\"id\":\"f1\",\"text\":\"readable by root\"}\n");
  write_str(dir, "ignored.csv", "a,b\n");
  write_str(dir, "README", "not an input\n");

  /* n/l01/l02/.../l50/deep.txt */
  n = (size_t)snprintf(rel, sizeof rel, "n");
  make_dir(dir, rel);
  for (i = 1; i <= DEEP; i++) {
    n += (size_t)snprintf(rel + n, sizeof rel - n, "/l%02d", i);
    make_dir(dir, rel);
  }
  snprintf(rel + n, sizeof rel - n, "/deep.txt");
  write_str(dir, rel, "Deep\nat the bottom");

  {
    char *p = path_of(dir, "f.jsonl");
    assert_int_equal(chmod(p, 0), 0);
    fd = open(p, O_RDONLY);
    unreadable = fd < 0;
    if (fd >= 0) close(fd);
    free(p);
  }
  return unreadable;
}

static void check_tree(const char *dir) {
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  const char *paths[1] = {dir};
  int unreadable = build_tree(dir);
  char *id, deep[4096];
  size_t i, n, k = 0, w = 0;
  uint64_t total;

  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);

  /* Documents, in name order. */
  assert_int_equal(c->nd, unreadable ? 8 : 9);
  id = path_of(dir, "a.txt");
  assert_string_equal(c->d[k].id, id);
  assert_string_equal(c->d[k].title, "Title A");
  assert_string_equal(c->d[k].text, "Body of A.\n\n둘째 문단.\n");
  free(id);
  k++;
  assert_string_equal(c->d[k].id, "b1");
  assert_string_equal(c->d[k].title, "B one");
  assert_string_equal(c->d[k].text, "first");
  assert_null(c->d[k].source);
  k++;
  assert_string_equal(c->d[k].id, "b3");
  assert_string_equal(c->d[k].text, "bad \xEF\xBF\xBD byte");
  k++;
  assert_string_equal(c->d[k].id, "7");
  assert_null(c->d[k].title);
  assert_string_equal(c->d[k].text, "numeric id");
  assert_string_equal(c->d[k].source, "s");
  assert_string_equal(c->d[k].url, "u");
  assert_string_equal(c->d[k].date, "2024-01-01");
  k++;
  assert_string_equal(c->d[k].id, "b9");
  assert_string_equal(c->d[k].text, "last line, no newline");
  k++;
  assert_string_equal(c->d[k].id, "c1");
  assert_string_equal(c->d[k].title, "C one");
  assert_string_equal(c->d[k].text, "압축된 문서");
  k++;
  assert_string_equal(c->d[k].id, "c2");
  assert_null(c->d[k].title);
  k++;
  if (!unreadable) {
    assert_string_equal(c->d[k].id, "f1");
    k++;
  }
  n = (size_t)snprintf(deep, sizeof deep, "%s/n", dir);
  for (i = 1; i <= DEEP; i++)
    n += (size_t)snprintf(deep + n, sizeof deep - n, "/l%02zu", i);
  snprintf(deep + n, sizeof deep - n, "/deep.txt");
  assert_string_equal(c->d[k].id, deep);
  assert_string_equal(c->d[k].title, "Deep");
  assert_string_equal(c->d[k].text, "at the bottom");
  k++;
  assert_int_equal(k, c->nd);

  /* Warnings, in reading order, each naming its file and line. */
  expect_warning(c, w++, dir, "b.jsonl", 2, "malformed JSON");
  /* "bad " starts at byte 37 of line 4; \xff is 4 bytes further. */
  expect_warning(c, w++, dir, "b.jsonl", 4, "invalid UTF-8 at byte offset 41");
  expect_warning(c, w++, dir, "b.jsonl", 5, "no \"id\"");
  expect_warning(c, w++, dir, "b.jsonl", 7, "no \"text\"");
  expect_warning(c, w++, dir, "d/x.txt", 0, "binary file skipped");
  expect_warning(c, w++, dir, "e.txt", 0, "empty file skipped");
  if (unreadable)
    expect_warning(c, w++, dir, "f.jsonl", 0, strerror(EACCES));
  else
    print_message("running as root: the unreadable-file check is skipped\n");
  assert_int_equal(c->nw, w);

  /* Statistics. */
  total = size_of(dir, "a.txt") + size_of(dir, "b.jsonl") +
          size_of(dir, "c.jsonl.gz") + size_of(dir, "d/x.txt") +
          size_of(dir, "e.txt") + size_of(dir, "e2.jsonl") +
          size_of(dir, "e3.jsonl.gz") +
          size_of(dir, "f.jsonl") + size_of(dir, deep + strlen(dir) + 1);
  assert_int_equal(st.documents, c->nd);
  assert_int_equal(st.files, 9);
  assert_int_equal(st.files_failed, unreadable ? 2 : 1); /* x.txt, f.jsonl */
  assert_int_equal(st.lines_failed, 3); /* lines 2, 5, 7 */
  assert_int_equal(st.total_bytes, total);
  assert_int_equal(st.done_bytes, total);
  assert_int_equal(st.bytes_read,
                   total - size_of(dir, "c.jsonl.gz") + strlen(c_jsonl) -
                       (unreadable ? size_of(dir, "f.jsonl") : 0));
  free_collected(c);
  free(c);
}

static void test_tree_readahead(void **state) { check_tree(*state); }

static void test_tree_sync(void **state) {
  setenv("OSQ_SOURCE_READAHEAD", "0", 1);
  check_tree(*state);
}

/* ------------------------------------------------------------------------
 * Paths named on the command line
 * ---------------------------------------------------------------------- */

static void test_explicit_paths(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  char *missing = path_of(dir, "missing.jsonl");
  char *csv = path_of(dir, "data.csv");
  char *txt = path_of(dir, "one.txt");
  char *twice = path_of(dir, "/one.txt"); /* "dir//one.txt": the id as given */
  const char *paths[4] = {missing, csv, txt, twice};

  write_str(dir, "data.csv", "a,b\n");
  write_str(dir, "one.txt", "\xEF\xBB\xBFOne\r\nline \xc3\x28 two\n");
  assert_int_equal(read_all(paths, 4, c, &st), OSQ_DONE);

  assert_int_equal(c->nd, 2);
  assert_string_equal(c->d[0].id, txt);
  assert_string_equal(c->d[0].title, "One"); /* no BOM, no \r */
  assert_string_equal(c->d[0].text, "line \xEF\xBF\xBD( two\n");
  assert_string_equal(c->d[1].id, twice);

  assert_int_equal(c->nw, 4);
  expect_warning(c, 0, missing, NULL, 0, strerror(ENOENT));
  expect_warning(c, 1, csv, NULL, 0, "not a .txt, .jsonl or .jsonl.gz file");
  expect_warning(c, 2, txt, NULL, 2, "invalid UTF-8 at byte offset 5");
  expect_warning(c, 3, twice, NULL, 2, "invalid UTF-8 at byte offset 5");
  assert_int_equal(st.files, 3);
  assert_int_equal(st.files_failed, 1);
  free_collected(c);
  free(c);
  free(missing);
  free(csv);
  free(txt);
  free(twice);
}

/* ------------------------------------------------------------------------
 * Damaged gzip files
 * ---------------------------------------------------------------------- */

/* Lines {"id":"g00000",...} with enough varied text that the compressed
 * file is long. */
static char *gz_lines(int n, size_t *len) {
  size_t cap = (size_t)n * 200, o = 0;
  char *s = malloc(cap);
  int i;
  assert_non_null(s);
  for (i = 0; i < n; i++)
    o += (size_t)snprintf(s + o, cap - o,
                          "{\"id\":\"g%05d\",\"text\":\"문서 %d: %u %u %u\"}\n",
                          i, i, (unsigned)i * 2654435761u,
                          (unsigned)i * 40503u, (unsigned)i ^ 0x5bd1e995u);
  *len = o;
  return s;
}

static void test_gz_truncated(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  size_t len, i;
  char *data = gz_lines(2000, &len);
  char *p = path_of(dir, "t.jsonl.gz");
  const char *paths[1] = {p};
  uint64_t size;

  write_gz(dir, "t.jsonl.gz", data, len);
  size = size_of(dir, "t.jsonl.gz");
  assert_int_equal(truncate(p, (off_t)(size / 2)), 0);
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);

  /* A prefix of the documents, all whole. */
  assert_true(c->nd > 100 && c->nd < 2000);
  for (i = 0; i < c->nd; i++) {
    char id[32];
    snprintf(id, sizeof id, "g%05zu", i);
    assert_string_equal(c->d[i].id, id);
  }
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, p, NULL, c->nd + 1, "truncated gzip data");
  assert_int_equal(st.files_failed, 1);
  assert_int_equal(st.lines_failed, 0);
  assert_int_equal(st.done_bytes, st.total_bytes);
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

static void test_gz_corrupt(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  size_t len, i;
  char *data = gz_lines(2000, &len);
  char *p = path_of(dir, "k.jsonl.gz");
  const char *paths[1] = {p};
  uint64_t size;
  FILE *f;

  write_gz(dir, "k.jsonl.gz", data, len);
  size = size_of(dir, "k.jsonl.gz");
  f = fopen(p, "r+b");
  assert_non_null(f);
  fseek(f, (long)(size / 2), SEEK_SET);
  for (i = 0; i < 64; i++) fputc(0xA5 ^ (int)i, f);
  fclose(f);
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);

  /* The file is one gzip member, damaged: none of its data is read as
   * documents (what inflate gave before the error may be garbage: the
   * member's CRC cannot vouch for it), and one warning says why. */
  assert_int_equal(c->nd, 0);
  assert_int_equal(c->nw, 1);
  assert_string_equal(c->w[0].path, p);
  assert_non_null(strstr(c->w[0].msg, "corrupt gzip data"));
  assert_non_null(strstr(c->w[0].msg, "nothing of the damaged gzip member"));
  assert_int_equal(st.files_failed, 1);
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

/* A byte changed in stored (level 0) deflate data inflates without an
 * error, as garbage text, and only the member's CRC-32 tells: that member's
 * documents must not be read at all (before gz_verify the damaged document
 * was read, and the 150 before it in the member), those of the intact
 * member before it must. */
static void test_gz_crc_mismatch(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  size_t len, i;
  char *data = gz_lines(300, &len);
  char *p = path_of(dir, "m.jsonl.gz");
  const char *paths[1] = {p};
  uint64_t first, size;
  FILE *f;

  write_gz_mode(dir, "m.jsonl.gz", data, len, "wb0");
  first = size_of(dir, "m.jsonl.gz");
  write_gz_mode(dir, "m.jsonl.gz", data, len, "ab0"); /* a second member, the same lines */
  size = size_of(dir, "m.jsonl.gz");
  assert_true(size > first + 1000);
  /* the text of a line in the middle of the second member: '문' -> another
   * valid syllable, so that the line stays valid JSON and valid UTF-8 */
  {
    uint8_t *buf = malloc(size);
    f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, size, f), size);
    size_t at = first + (size - first) / 2;
    while (at < size - 3 && memcmp(buf + at, "\xEB\xAC\xB8", 3) != 0) at++; /* 문 */
    assert_true(at < size - 3);
    fseek(f, (long)(at + 2), SEEK_SET);
    fputc(0xB9, f); /* 문 (EB AC B8) -> the next syllable, EB AC B9 */
    fclose(f);
    free(buf);
  }
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);
  /* the first member's 300 documents, in order, and nothing else */
  assert_int_equal(c->nd, 300);
  for (i = 0; i < c->nd; i++) {
    char id[32];
    snprintf(id, sizeof id, "g%05zu", i);
    assert_string_equal(c->d[i].id, id);
    assert_null(strstr(c->d[i].text, "\xEB\xAC\xB9"));
  }
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, p, NULL, 301, "corrupt gzip data: incorrect data check");
  assert_int_equal(st.files_failed, 1);
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

static void test_gz_not_gzip(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  char *p = path_of(dir, "plain.jsonl.gz");
  const char *paths[1] = {p};

  write_str(dir, "plain.jsonl.gz", "{\"id\":\"p\",\"text\":\"not gzip\"}\n");
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);
  assert_int_equal(c->nd, 0);
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, p, NULL, 1, "corrupt gzip data: incorrect header check");
  assert_int_equal(st.files_failed, 1);
  free_collected(c);
  free(c);
  free(p);
}

/* ------------------------------------------------------------------------
 * Long lines, many bad lines
 * ---------------------------------------------------------------------- */

static void test_long_line(void **state) {
  const char *dir = *state;
  const size_t text_bytes = (size_t)50 << 20; /* 50 MiB of "가" */
  const char *head = "{\"id\":\"big\",\"text\":\"";
  const char *tail = "\"}\n{\"id\":\"after\",\"text\":\"small\"}\n";
  size_t hl = strlen(head), tl = strlen(tail), i, n;
  size_t chars = text_bytes / 3;
  char *line = malloc(hl + 3 * chars + tl);
  char *p = path_of(dir, "long.jsonl");
  const char *paths[1] = {p};
  osq_source *s;
  osq_doc doc;
  osq_source_stats st;

  assert_non_null(line);
  memcpy(line, head, hl);
  for (i = 0; i < chars; i++) memcpy(line + hl + 3 * i, "\xea\xb0\x80", 3);
  n = hl + 3 * chars;
  memcpy(line + n, tail, tl);
  n += tl;
  write_file(dir, "long.jsonl", line, n);
  free(line);

  assert_int_equal(osq_source_open(paths, 1, NULL, NULL, &s), OSQ_OK);
  assert_int_equal(osq_source_next(s, &doc), OSQ_OK);
  assert_string_equal(doc.id, "big");
  assert_int_equal(doc.text_len, 3 * chars);
  assert_memory_equal(doc.text, "\xea\xb0\x80", 3);
  assert_memory_equal(doc.text + 3 * chars - 3, "\xea\xb0\x80", 3);
  assert_int_equal(osq_source_next(s, &doc), OSQ_OK);
  assert_string_equal(doc.id, "after");
  assert_string_equal(doc.text, "small");
  assert_int_equal(osq_source_next(s, &doc), OSQ_DONE);
  osq_source_get_stats(s, &st);
  assert_int_equal(st.bytes_read, n);
  assert_int_equal(st.documents, 2);
  osq_source_close(s);
  free(p);
}

static void test_warning_cap(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  char *p = path_of(dir, "bad.jsonl");
  const char *paths[1] = {p};
  size_t cap = 150 * 8 + 64, o = 0, i;
  char *data = malloc(cap);

  for (i = 0; i < 150; i++) o += (size_t)snprintf(data + o, cap - o, "oops\n");
  o += (size_t)snprintf(data + o, cap - o, "{\"id\":\"ok\",\"text\":\"t\"}\n");
  write_file(dir, "bad.jsonl", data, o);
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);
  assert_int_equal(c->nd, 1);
  assert_int_equal(c->nw, 101);
  for (i = 0; i < 100; i++)
    expect_warning(c, i, p, NULL, i + 1, "malformed JSON");
  expect_warning(c, 100, p, NULL, 0, "50 more problems");
  assert_int_equal(st.lines_failed, 150);
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

/* ------------------------------------------------------------------------
 * JSON lines: read as jansson read them
 * ---------------------------------------------------------------------- */

/* A line of a .jsonl file and what reading it gives: the document (id NULL
 * when the line is skipped) and the warnings, whole and in order.  The
 * expectations are what osq_source gave when jansson parsed its input. */
typedef struct json_case {
  const char *line;
  struct {
    const char *id, *title, *source, *url, *date, *text;
    size_t text_len;
  } doc;
  const char *warn[3];
} json_case;

static const json_case json_cases[] = {
    {"{\"id\":\"e1\",\"title\":\"tab\\there\",\"text\":\"line\\nnext \\u00e9 \\ud55c\\uAE00 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\r\"}",
     {"e1", "tab\there", NULL, NULL, NULL, "line\nnext \xc3\xa9 \xed\x95\x9c\xea\xb8\x80 \xf0\x9f\x98\x80 \"q\" \\ / \x08\x0c\r", 36},
     {}},
    {"{\"id\":42,\"text\":\"integer id\"}",
     {"42", NULL, NULL, NULL, NULL, "integer id", 10},
     {}},
    {"{\"id\":-0,\"text\":\"minus zero\"}",
     {"0", NULL, NULL, NULL, NULL, "minus zero", 10},
     {}},
    {"{\"id\":1.5,\"text\":\"real id\",\"title\":1e2,\"source\":0.1,\"url\":-2.5E-3,\"date\":20240101}",
     {"1.5", "100", "0.10000000000000001", "-0.0025000000000000001", "20240101", "real id", 7},
     {}},
    {"{\"id\":\"d1\",\"text\":\"first\",\"text\":\"second\",\"title\":\"t1\",\"title\":null}",
     {"d1", NULL, NULL, NULL, NULL, "second", 6},
     {}},
    {"{\"id\":\"d2\",\"id\":\"d3\",\"text\":\"x\",\"text\":null}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"no \"text\" in document \"d3\"; line skipped"}},
    {"{\"id\":\"n1\",\"title\":\"ab\\u0000cd\",\"text\":\"a\\u0000b\"}",
     {"n1", "ab", NULL, NULL, NULL, "a\x00""b", 3},
     {}},
    {"{\"id\":\"n\\u0000\",\"text\":\"x\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"\"id\" contains U+0000; line skipped"}},
    {"{\"k\\u0000\":1,\"id\":\"n2\",\"text\":\"x\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 10: NUL byte in object key not supported near '\"k\\u0000\"'"}},
    {"{\"id\":\"u1\",\"text\":\"bad \xff\xfe in text\",\"title\":\"\xc3(\"}",
     {"u1", "\xef\xbf\xbd(", NULL, NULL, NULL, "bad \xef\xbf\xbd\xef\xbf\xbd in text", 18},
     {"invalid UTF-8 at byte offset 23; 3 bad bytes replaced by U+FFFD"}},
    {"{\"id\":\"u2\",\"t\xe9xt\":\"bad key\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"invalid UTF-8 at byte offset 13; 1 bad bytes replaced by U+FFFD", "no \"text\" in document \"u2\"; line skipped"}},
    {"[{\"id\":\"arr\",\"text\":\"not an object\"}]",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"not a JSON object; line skipped"}},
    {"\"just a string\"",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 15: '[' or '{' expected near '\"just a string\"'"}},
    {"42",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 2: '[' or '{' expected near '42'"}},
    {"{\"id\":\"g1\",\"text\":\"trailing\"} junk",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 34: end of file expected near 'junk'"}},
    {"{\"id\":\"g2\",\"text\":\"trailing\"}}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 30: end of file expected near '}'"}},
    {"{\"id\":\"s1\",\"text\":\"lone \\ud800 surrogate\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 41: invalid Unicode '\\uD800'"}},
    {"{\"id\":\"s2\",\"text\":\"bad \\x escape\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 25: invalid escape near '\"bad \\x'"}},
    {"{\"id\":\"s3\",\"text\":\"raw\x01 control\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 22: control character 0x1 near '\"raw'"}},
    {"{\"id\":9223372036854775807,\"text\":\"max int\"}",
     {"9223372036854775807", NULL, NULL, NULL, NULL, "max int", 7},
     {}},
    {"{\"id\":9223372036854775808,\"text\":\"too big\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"numeric \"id\" cannot be read exactly in a line with an integer past 64 bits; line skipped (give ids as strings)"}},
    {"{\"id\":\"r1\",\"text\":\"x\",\"x\":1e999}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 31: real number overflow near '1e999'"}},
    {"{\"id\":\"r2\",\"text\":\"x\",\"x\":[1,2,{\"y\":18446744073709551615}]}",
     {"r2", NULL, NULL, NULL, NULL, "x", 1},
     {}},
    {"{\"id\":true,\"text\":\"bool id\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"\"id\" is not a string or number; line skipped"}},
    {"{\"id\":\"o1\",\"text\":[\"not\",\"a\",\"string\"]}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"\"text\" of document \"o1\" is not a string; line skipped"}},
    {"{\"id\":\"o2\",\"text\":\"t\",\"title\":false,\"source\":{\"a\":1},\"url\":[],\"date\":\"d\"}",
     {"o2", NULL, NULL, NULL, "d", "t", 1},
     {"\"title\" is not a string; ignored", "\"source\" is not a string; ignored", "\"url\" is not a string; ignored"}},
    {"{\"id\":\"w1\",  \"text\" : \"spaces\" ,\"title\":\"\\u0041\\u00DF\\u6771\"}",
     {"w1", "A\xc3\x9f\xe6\x9d\xb1", NULL, NULL, NULL, "spaces", 6},
     {}},
    {"{\"id\":\"x1\",\"text\":\"unterminated",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 31: premature end of input near '\"unterminated'"}},
    {"{\"id\":\"x2\",\"text\":\"t\",}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 23: string or '}' expected near '}'"}},
    {"{\"id\":\"x3\" \"text\":\"t\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 17: '}' expected near '\"text\"'"}},
    {"{\"id\":\"x4\",\"text\":01}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 19: invalid token near '0'"}},
    {"{\"id\":\"x5\",\"text\":\"t\",\"a\":tru}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 29: invalid token near 'tru'"}},
    {"{\"id\":\"x6\",\"text\":\"t\",\"a\":nulls}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 31: invalid token near 'nulls'"}},
    {"{\"id\":\"x7\",\"text\":\"\\u12\"}",
     {NULL, NULL, NULL, NULL, NULL, NULL, 0},
     {"malformed JSON at byte offset 24: invalid escape near '\"\\u12\"'"}},
    {"{\"id\":\"x8\",\"text\":\"t\"}  ",
     {"x8", NULL, NULL, NULL, NULL, "t", 1},
     {}},
    {"{\"id\":\"last\",\"text\":\"end\"}",
     {"last", NULL, NULL, NULL, NULL, "end", 3},
     {}},
};

static void expect_field(size_t line, const char *name, const char *got,
                         const char *want) {
  if (!want && !got) return;
  if (!want || !got || strcmp(got, want) != 0)
    fail_msg("line %zu: %s is \"%s\", expected \"%s\"", line, name,
             got ? got : "(null)", want ? want : "(null)");
}

/* Escapes, numbers as strings, duplicate keys, U+0000, invalid UTF-8, lines
 * that are not objects or have something after the object, values jansson
 * refused (integers over INT64_MAX, reals that overflow) and every kind of
 * malformed line, each with jansson's offset and message. */
static void test_json_lines(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  osq_source_stats st;
  char *p = path_of(dir, "cases.jsonl");
  const char *paths[1] = {p};
  size_t n = sizeof json_cases / sizeof json_cases[0], i, k, nd = 0, nw = 0;
  FILE *f = fopen(p, "wb");

  assert_non_null(f);
  for (i = 0; i < n; i++) fprintf(f, "%s\n", json_cases[i].line);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(read_all(paths, 1, c, &st), OSQ_DONE);

  for (i = 0; i < n; i++) {
    const json_case *jc = &json_cases[i];
    for (k = 0; k < 3 && jc->warn[k]; k++, nw++) {
      if (nw >= c->nw) fail_msg("line %zu: no warning \"%s\"", i + 1, jc->warn[k]);
      if (c->w[nw].line != i + 1 || strcmp(c->w[nw].msg, jc->warn[k]) != 0)
        fail_msg("line %zu: warning \"%llu: %s\", expected \"%zu: %s\"", i + 1,
                 (unsigned long long)c->w[nw].line, c->w[nw].msg, i + 1,
                 jc->warn[k]);
    }
    if (!jc->doc.id) continue;
    if (nd >= c->nd) fail_msg("line %zu: no document", i + 1);
    expect_field(i + 1, "id", c->d[nd].id, jc->doc.id);
    expect_field(i + 1, "title", c->d[nd].title, jc->doc.title);
    expect_field(i + 1, "source", c->d[nd].source, jc->doc.source);
    expect_field(i + 1, "url", c->d[nd].url, jc->doc.url);
    expect_field(i + 1, "date", c->d[nd].date, jc->doc.date);
    assert_int_equal(c->d[nd].text_len, jc->doc.text_len);
    assert_memory_equal(c->d[nd].text, jc->doc.text, jc->doc.text_len);
    nd++;
  }
  assert_int_equal(c->nd, nd);
  assert_int_equal(c->nw, nw);
  assert_int_equal(st.documents, nd);
  assert_int_equal(st.lines_failed, n - nd);
  free_collected(c);
  free(c);
  free(p);
}

/* A byte-order mark is skipped on the first line only, and offsets count
 * it; values nested 2048 deep are read, 2049 are not (jansson's limit). */
static void test_json_bom_and_depth(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  char *bom = path_of(dir, "bom.jsonl"), *bad = path_of(dir, "bom-bad.jsonl");
  char *deep = path_of(dir, "deep.jsonl");
  const char *paths[3] = {bom, bad, deep};
  const char *head = "{\"id\":\"deep\",\"text\":\"t\",\"a\":";
  size_t hl = strlen(head), levels, o = 0, i;
  char *data = malloc(2 * (hl + 2 * 2047 + 4));

  write_str(dir, "bom.jsonl",
            "\xEF\xBB\xBF{\"id\":\"bom\",\"text\":\"x\\u00e9\"}\r\n"
            "\xEF\xBB\xBF{\"id\":\"bom2\",\"text\":\"x\"}\n");
  write_str(dir, "bom-bad.jsonl",
            "\xEF\xBB\xBF{\"id\":\"bom3\" \"text\":\"x\"}\n"
            "{\"id\":\"bom4\",\"text\":\"x\xff\"}\n");
  /* Arrays 2046 and 2047 deep in "a": the 1 inside is at depth 2048, then
   * 2049 (the top object is at depth 1). */
  assert_non_null(data);
  for (levels = 2046; levels <= 2047; levels++) {
    memcpy(data + o, head, hl);
    o += hl;
    for (i = 0; i < levels; i++) data[o++] = '[';
    data[o++] = '1';
    for (i = 0; i < levels; i++) data[o++] = ']';
    data[o++] = '}';
    data[o++] = '\n';
  }
  write_file(dir, "deep.jsonl", data, o);
  assert_int_equal(read_all(paths, 3, c, NULL), OSQ_DONE);

  assert_int_equal(c->nd, 3);
  assert_string_equal(c->d[0].id, "bom");
  assert_string_equal(c->d[0].text, "x\xc3\xa9");
  assert_string_equal(c->d[1].id, "bom4");
  assert_string_equal(c->d[1].text, "x\xEF\xBF\xBD");
  assert_string_equal(c->d[2].id, "deep");
  assert_int_equal(c->nw, 4);
  expect_warning(c, 0, bom, NULL, 2,
                 "malformed JSON at byte offset 3: '[' or '{' expected near "
                 "'\xEF\xBB\xBF'");
  expect_warning(c, 1, bad, NULL, 1,
                 "malformed JSON at byte offset 22: '}' expected near "
                 "'\"text\"'");
  expect_warning(c, 2, bad, NULL, 2, "invalid UTF-8 at byte offset 22;");
  expect_warning(c, 3, deep, NULL, 2,
                 "malformed JSON at byte offset 2076: maximum parsing depth "
                 "reached near '1'");
  free_collected(c);
  free(c);
  free(data);
  free(bom);
  free(bad);
  free(deep);
}

/* The text of line i in test_json_line_lengths: n bytes, a newline every
 * 37th. */
static void fill_text(char *t, size_t i, size_t n) {
  size_t j;
  for (j = 0; j < n; j++)
    t[j] = j % 37 == 36 ? '\n' : (char)('a' + (i + j) % 26);
}

/* Writes {"id":"ID","text":"TEXT"} and a newline at dst, the newlines of
 * the text escaped.  Returns the bytes written. */
static size_t put_line(char *dst, const char *id, const char *text, size_t n) {
  size_t o = (size_t)sprintf(dst, "{\"id\":\"%s\",\"text\":\"", id), j;
  for (j = 0; j < n; j++) {
    if (text[j] == '\n') {
      dst[o++] = '\\';
      dst[o++] = 'n';
    } else {
      dst[o++] = text[j];
    }
  }
  memcpy(dst + o, "\"}\n", 3);
  return o + 3;
}

/* Lines of many lengths, in two files: the parser grows (and is let go
 * when the file with the 9 MiB line ends), lines lie across the 1 MiB read
 * boundaries, and long strings with escapes all along come out whole. */
static void test_json_line_lengths(void **state) {
  const char *dir = *state;
  static const size_t lens[] = {10,     70000, 100,      (1 << 20) - 40,
                                3,      3 << 20, 5,      9 << 20,
                                1 << 16, 7,      1 << 20, 60};
  const size_t nlens = sizeof lens / sizeof lens[0], split = 8;
  char *p1 = path_of(dir, "lengths1.jsonl"), *p2 = path_of(dir, "lengths2.jsonl");
  const char *paths[2] = {p1, p2};
  size_t i, total = 0, longest = 0, o = 0;
  char *buf, *text, id[32];
  osq_source *s;
  osq_doc doc;
  osq_source_stats st;

  for (i = 0; i < nlens; i++) {
    total += 2 * lens[i] + 64;
    if (lens[i] > longest) longest = lens[i];
  }
  buf = malloc(total);
  text = malloc(longest);
  assert_non_null(buf);
  assert_non_null(text);
  for (i = 0; i < nlens; i++) {
    if (i == split) {
      write_file(dir, "lengths1.jsonl", buf, o);
      o = 0;
    }
    fill_text(text, i, lens[i]);
    snprintf(id, sizeof id, "L%zu", i);
    o += put_line(buf + o, id, text, lens[i]);
  }
  write_file(dir, "lengths2.jsonl", buf, o);

  assert_int_equal(osq_source_open(paths, 2, NULL, NULL, &s), OSQ_OK);
  for (i = 0; i < nlens; i++) {
    assert_int_equal(osq_source_next(s, &doc), OSQ_OK);
    snprintf(id, sizeof id, "L%zu", i);
    assert_string_equal(doc.id, id);
    fill_text(text, i, lens[i]);
    assert_int_equal(doc.text_len, lens[i]);
    assert_memory_equal(doc.text, text, lens[i]);
    assert_int_equal(doc.text[lens[i]], '\0');
  }
  assert_int_equal(osq_source_next(s, &doc), OSQ_DONE);
  osq_source_get_stats(s, &st);
  assert_int_equal(st.documents, nlens);
  assert_int_equal(st.lines_failed, 0);
  osq_source_close(s);
  free(buf);
  free(text);
  free(p1);
  free(p2);
}

/* ---- random lines, held to jansson ------------------------------------ */

static uint64_t rnd_state;
static uint64_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 7;
  rnd_state ^= rnd_state << 17;
  return rnd_state;
}
#define PICK(a) ((a)[rnd() % (sizeof(a) / sizeof((a)[0]))])

typedef struct gen {
  char *b;
  size_t n, cap;
} gen;

static void gen_put(gen *g, const char *s, size_t k) {
  if (g->n + k > g->cap) return; /* a line cut short is a case too */
  memcpy(g->b + g->n, s, k);
  g->n += k;
}
static void gen_str(gen *g, const char *s) { gen_put(g, s, strlen(s)); }

static void gen_space(gen *g) {
  static const char *const sp[] = {"", "", "", " ", "\t", "\r\n ", "\n"};
  gen_str(g, PICK(sp));
}

static void gen_string(gen *g) {
  static const char *const parts[] = {
      "a",      "id",     "text",       "\xED\x95\x9C",  "\\n",  "\\u00e9",
      "\\ud55c", "\\ud83d\\ude00", "\\\"", "\\\\",  "\\/",    "\\u0000",
      "\\uDBFF\\uDFFF", "\xF0\x9F\x98\x80", " ", "\x7F", "\\b\\f\\r\\t", "title"};
  int k = (int)(rnd() % 5);
  gen_str(g, "\"");
  while (k-- > 0) gen_str(g, PICK(parts));
  gen_str(g, "\"");
}

static void gen_value(gen *g, int depth) {
  static const char *const numbers[] = {
      "0", "-0", "1", "-1", "42", "9223372036854775807",
      "-9223372036854775808", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "-9223372036854775809", "1.5", "-0.0", "1e5",
      "1E+2", "2.5e-3", "1e308", "1.7976931348623157e308", "1.8e308",
      "1e-400", "4.9e-324", "123456789012345678901234567890", "0.1",
      "3.14159265358979323846264338327950288", "1e400",
      "0e99999999999999999999"};
  static const char *const keys[] = {
      "\"id\"",  "\"title\"", "\"text\"", "\"source\"", "\"url\"",
      "\"date\"", "\"a\"",    "\"\"",     "\"t\\u0065xt\"", "\"license\""};
  static const char *const words[] = {"true", "false", "null"};
  int r = (int)(rnd() % 10), k, i;
  if (depth > 4) r %= 6;
  switch (r) {
  case 0: case 1: case 2:
    gen_string(g);
    break;
  case 3: case 4:
    gen_str(g, PICK(numbers));
    break;
  case 5:
    gen_str(g, PICK(words));
    break;
  case 6: case 7: case 8:
    gen_str(g, "{");
    for (i = 0, k = (int)(rnd() % 5); i < k; i++) {
      if (i) gen_str(g, ",");
      gen_space(g);
      if (rnd() % 3)
        gen_str(g, PICK(keys));
      else
        gen_string(g);
      gen_space(g);
      gen_str(g, ":");
      gen_space(g);
      gen_value(g, depth + 1);
      gen_space(g);
    }
    gen_str(g, "}");
    break;
  default:
    gen_str(g, "[");
    for (i = 0, k = (int)(rnd() % 4); i < k; i++) {
      if (i) gen_str(g, ",");
      gen_space(g);
      gen_value(g, depth + 1);
      gen_space(g);
    }
    gen_str(g, "]");
  }
}

/* Changes a few bytes: a random byte, a piece cut out, a fragment put in
 * (bad UTF-8, broken escapes and numbers, NUL bytes), the end cut off. */
static void gen_mutate(gen *g) {
  static const char *const frags[] = {
      "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u0000", "{", "}", "[", "]",
      ",", ":", "0", "-", "1e", ".", "e+", "true", "nul", "\xFF", "\xC3",
      "\xED\xA0\x80", "\xE2\x82", "\xF4\x90\x80\x80", "\xC0\xAF", "\n", "\t",
      "\x01", "\x7F", " ", "9223372036854775808", "1e400", "01", "1.", "tru",
      "\xEF\xBB\xBF", "\"id\"", "\"text\""};
  int m = (int)(rnd() % 4);
  while (m-- > 0) {
    size_t at = rnd() % (g->n + 1), k;
    switch (rnd() % 5) {
    case 0:
      if (g->n) g->b[rnd() % g->n] = (char)rnd();
      break;
    case 1:
      k = 1 + rnd() % 4;
      if (at + k > g->n) k = g->n - at;
      memmove(g->b + at, g->b + at + k, g->n - at - k);
      g->n -= k;
      break;
    case 2: {
      const char *f = rnd() % 8 ? PICK(frags) : "";
      k = *f ? strlen(f) : 1; /* "" stands for a NUL byte */
      if (g->n + k > g->cap) break;
      memmove(g->b + at + k, g->b + at, g->n - at);
      memcpy(g->b + at, *f ? f : "\0", k);
      g->n += k;
      break;
    }
    case 3:
      g->n = at;
      break;
    default:
      break;
    }
  }
}

/* Random JSON, valid or made invalid, read by the fast path and by
 * jansson: a line the fast path reads is an object to jansson, with the
 * same values, and every object jansson reads goes the fast path unless it
 * holds a NUL byte.  And lines where jansson skips a NUL byte after a
 * number or a word, which simdjson refuses. */
static void test_json_matches_jansson(void **state) {
#define NUL_CASE(s) {s, sizeof s - 1}
  static const struct {
    const char *s;
    size_t n;
  } nul_cases[] = {
      NUL_CASE("{\"id\":1\0,\"text\":\"x\"}"),
      NUL_CASE("[true\0,null\0\0]"),
      NUL_CASE("{\"id\":2\0\0}"),
      NUL_CASE("{\"id\":3\0 \0}"),
      NUL_CASE("{\"id\":4}\0"),
  };
#undef NUL_CASE
  char line[4096 + OSQ_JSON_PADDING], why[512];
  gen g = {line, 0, 4096};
  osq_json *j;
  long seen[JVJ_VERDICTS] = {0}, fast = 0;
  int verdict, took;
  size_t i;
  (void)state;

  assert_int_equal(osq__json_new(&j), OSQ_OK);
  rnd_state = 0x9E3779B97F4A7C15ull;
  for (i = 0; i < 200000; i++) {
    g.n = 0;
    gen_space(&g);
    gen_value(&g, i % 8 ? 0 : 5);
    gen_space(&g);
    gen_mutate(&g);
    if (json_vs_jansson(j, line, g.n, &verdict, &took, why, sizeof why))
      fail_msg("case %zu \"%.*s\": %s", i, (int)g.n, line, why);
    seen[verdict]++;
    fast += took;
  }
  /* Each verdict, and the fast path, often enough that the comparison
   * means something. */
  for (i = 0; i < JVJ_VERDICTS; i++) assert_true(seen[i] > 5000);
  assert_true(fast > 5000);

  for (i = 0; i < sizeof nul_cases / sizeof nul_cases[0]; i++) {
    memcpy(line, nul_cases[i].s, nul_cases[i].n);
    if (json_vs_jansson(j, line, nul_cases[i].n, &verdict, &took, why,
                        sizeof why))
      fail_msg("NUL case %zu: %s", i, why);
  }
  osq__json_free(j);
}

/* jansson skips a NUL byte after a number or a word, and so reads the
 * line: such lines go the slow path, and come out as they always did.  (NUL
 * bytes at a file's start, or many of them, make it a binary file: the
 * lines come after a first line longer than the first read.) */
static void test_json_nul_after_number(void **state) {
  static const char nul_lines[] = "{\"id\":1\0,\"text\":\"x\"}\n"
                                  "{\"id\":\"w\",\"a\":true\0,\"text\":\"y\"}\n"
                                  "[true\0,null\0]\n"
                                  "{\"id\":2\0\0}\n";
  const char *dir = *state;
  const size_t textlen = (size_t)3 << 19; /* 1.5 MiB */
  collected *c = calloc(1, sizeof *c);
  char *p = path_of(dir, "nul.jsonl");
  char *data = malloc(textlen + 64 + sizeof nul_lines);
  const char *paths[1] = {p};
  size_t o;

  assert_non_null(data);
  o = (size_t)sprintf(data, "{\"id\":\"long\",\"text\":\"");
  memset(data + o, 'a', textlen);
  o += textlen;
  memcpy(data + o, "\"}\n", 3);
  o += 3;
  memcpy(data + o, nul_lines, sizeof nul_lines - 1);
  o += sizeof nul_lines - 1;
  write_file(dir, "nul.jsonl", data, o);
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 3);
  assert_string_equal(c->d[0].id, "long");
  assert_string_equal(c->d[1].id, "1");
  assert_string_equal(c->d[1].text, "x");
  assert_string_equal(c->d[2].id, "w");
  assert_string_equal(c->d[2].text, "y");
  assert_int_equal(c->nw, 2);
  expect_warning(c, 0, p, NULL, 4, "not a JSON object; line skipped");
  /* One NUL byte is skipped, not two: the second is the end. */
  expect_warning(c, 1, p, NULL, 5,
                 "malformed JSON at byte offset 8: '}' expected near end of "
                 "file");
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

/* A stray NUL byte inside the first read of a JSON Lines file (here in
 * its last line, 100 KB in) spoils that line only: the file is not taken
 * for a binary one, as it was when any NUL in the first MiB skipped it.
 * NULs at its start spoil the first line only when the file's lines are
 * lines of JSON objects (they were a reason to skip the whole file, valid
 * lines included, without a line number); a file whose lines are not is
 * binary. */
static void test_json_stray_nul(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  char *p = path_of(dir, "stray.jsonl");
  const char *paths[1] = {p};
  char *data = malloc(2000 * 64 + 64);
  size_t o = 0;
  assert_non_null(data);
  for (int i = 0; i < 2000; i++) o += (size_t)sprintf(data + o, "{\"id\":\"d%d\",\"text\":\"문서 %d\"}\n", i, i);
  static const char bad[] = "{\"id\":\"bad\",\"text\":\"a\0b\"}\n";
  memcpy(data + o, bad, sizeof bad - 1);
  o += sizeof bad - 1;
  write_file(dir, "stray.jsonl", data, o);
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 2000);
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, p, NULL, 2001, "malformed JSON");
  free_collected(c);
  memset(c, 0, sizeof *c);
  static const char first[] = "{\"id\":\0\0\0\x01}\n{\"id\":\"x\",\"text\":\"y\"}\n";
  write_file(dir, "stray.jsonl", first, sizeof first - 1);
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 1);
  assert_string_equal(c->d[0].id, "x");
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, p, NULL, 1, "malformed JSON");
  free_collected(c);
  memset(c, 0, sizeof *c);
  static const char bin[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\n{\"id\":\"x\",\"text\":\"y\"}\n\x02\x03\n";
  write_file(dir, "stray.jsonl", bin, sizeof bin - 1);
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 0);
  expect_warning(c, 0, p, NULL, 0, "binary file skipped (a NUL byte at offset 8");
  free_collected(c);
  free(c);
  free(data);
  free(p);
}

/* An integer past 64 bits is valid JSON: the document is read (the number
 * as a real), and a numeric id beside it stays an integer.  A real past the
 * double range is what jansson cannot read: that line only is skipped. */
static void test_json_big_numbers(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  char *p = path_of(dir, "big.jsonl");
  const char *paths[1] = {p};
  write_str(dir, "big.jsonl",
            "{\"id\":\"u64\",\"text\":\"a\",\"tweet_id\":18446744073709551615}\n"
            "{\"id\":7,\"text\":\"b\",\"n\":-99999999999999999999}\n"
            "{\"id\":\"e\",\"text\":\"c\",\"score\":1e400}\n"
            "{\"id\":1234567890123456789,\"h\":18446744073709551616,\"text\":\"x\"}\n"
            "{\"id\":1234567890123456790,\"h\":18446744073709551616,\"text\":\"y\"}\n"
            "{\"id\":\"bad\xff\",\"h\":18446744073709551615,\"text\":\"z\"}\n"
            "{\"id\":\"last\",\"text\":\"d\"}\n");
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 4);
  assert_string_equal(c->d[0].id, "u64");
  assert_string_equal(c->d[1].id, "7");
  /* a big integer beside a repaired byte: read from the repaired copy */
  assert_string_equal(c->d[2].id, "bad\xef\xbf\xbd");
  assert_string_equal(c->d[3].id, "last");
  assert_int_equal(c->nw, 4);
  expect_warning(c, 0, p, NULL, 3, "real number overflow");
  /* ids above 2^53 beside a big integer would be rounded to one id */
  expect_warning(c, 1, p, NULL, 4, "numeric \"id\" cannot be read exactly");
  expect_warning(c, 2, p, NULL, 5, "numeric \"id\" cannot be read exactly");
  expect_warning(c, 3, p, NULL, 6, "invalid UTF-8");
  free_collected(c);
  free(c);
  free(p);
}

/* ------------------------------------------------------------------------
 * Directory oddities
 * ---------------------------------------------------------------------- */

/* A directory whose path is longer than PATH_MAX cannot be looked at: it
 * is reported (it may hold documents), not skipped in silence, and the rest
 * is read. */
static void test_path_too_long(void **state) {
  const char *dir = *state;
  enum { LEVELS = 24 }; /* 24 names of 200 bytes: past PATH_MAX (4096) */
  char name[201];
  int fds[LEVELS + 1];
  memset(name, 'd', 200);
  name[200] = 0;
  fds[0] = open(dir, O_RDONLY | O_DIRECTORY);
  assert_true(fds[0] >= 0);
  for (int i = 1; i <= LEVELS; i++) {
    assert_int_equal(mkdirat(fds[i - 1], name, 0755), 0);
    fds[i] = openat(fds[i - 1], name, O_RDONLY | O_DIRECTORY);
    assert_true(fds[i] >= 0);
  }
  int f = openat(fds[LEVELS], "deep.txt", O_WRONLY | O_CREAT, 0644);
  assert_true(f >= 0);
  assert_int_equal(write(f, "Deep\ntext", 9), 9);
  close(f);
  write_str(dir, "ok.txt", "Ok\ntext");
  collected *c = calloc(1, sizeof *c);
  const char *paths[1] = {dir};
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 1);
  assert_string_equal(c->d[0].title, "Ok");
  int told = 0;
  for (size_t i = 0; i < c->nw; i++) told |= strstr(c->w[i].msg, strerror(ENAMETOOLONG)) != NULL;
  if (!told) fail_msg("no warning says '%s' (%zu warnings)", strerror(ENAMETOOLONG), c->nw);
  free_collected(c);
  free(c);
  /* nftw in the teardown cannot reach this deep: remove it here */
  assert_int_equal(unlinkat(fds[LEVELS], "deep.txt", 0), 0);
  for (int i = LEVELS; i >= 1; i--) {
    close(fds[i]);
    assert_int_equal(unlinkat(fds[i - 1], name, AT_REMOVEDIR), 0);
  }
  close(fds[0]);
}

static void test_symlink_loop(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  char *link = path_of(dir, "sub/loop");
  const char *paths[1] = {dir};

  make_dir(dir, "sub");
  write_str(dir, "sub/doc.txt", "Doc\nonce");
  assert_int_equal(symlink("..", link), 0);
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 1);
  assert_string_equal(c->d[0].title, "Doc");
  assert_int_equal(c->nw, 1);
  expect_warning(c, 0, link, NULL, 0, "loop");
  free_collected(c);
  free(c);
  free(link);
}

static void test_depth_guard(void **state) {
  const char *dir = *state;
  collected *c = calloc(1, sizeof *c);
  const char *paths[1] = {dir};
  char rel[1024];
  size_t n = 0;
  int i;

  /* 260 levels: the 257th is beyond the guard. */
  for (i = 1; i <= 260; i++) {
    n += (size_t)snprintf(rel + n, sizeof rel - n, "%sd", i > 1 ? "/" : "");
    make_dir(dir, rel);
  }
  snprintf(rel + n, sizeof rel - n, "/bottom.txt");
  write_str(dir, rel, "Bottom\nunreachable");
  write_str(dir, "top.txt", "Top\nreachable");
  assert_int_equal(read_all(paths, 1, c, NULL), OSQ_DONE);
  assert_int_equal(c->nd, 1);
  assert_string_equal(c->d[0].title, "Top");
  assert_int_equal(c->nw, 1);
  rel[257 * 2 - 1] = '\0'; /* "d/d/.../d", 257 of them */
  expect_warning(c, 0, dir, rel, 0, "nested more than 256 levels");
  free_collected(c);
  free(c);
}

static void test_empty_and_close_early(void **state) {
  const char *dir = *state;
  osq_source *s;
  osq_doc doc;
  osq_source_stats st;
  const char *paths[1] = {dir};
  size_t len;
  char *data = gz_lines(5000, &len);

  /* No paths at all. */
  assert_int_equal(osq_source_open(NULL, 0, NULL, NULL, &s), OSQ_OK);
  assert_int_equal(osq_source_next(s, &doc), OSQ_DONE);
  osq_source_get_stats(s, &st);
  assert_int_equal(st.files, 0);
  osq_source_close(s);
  osq_source_close(NULL);

  /* Closing with the read-ahead queue full must not hang or leak. */
  write_gz(dir, "many.jsonl.gz", data, len);
  assert_int_equal(osq_source_open(paths, 1, NULL, NULL, &s), OSQ_OK);
  assert_int_equal(osq_source_next(s, &doc), OSQ_OK);
  assert_string_equal(doc.id, "g00000");
  osq_source_get_stats(s, &st);
  assert_int_equal(st.documents, 1);
  assert_true(st.done_bytes <= st.total_bytes);
  osq_source_close(s);
  free(data);
}

/* Documents from a FIFO reach the reader as they are written, even when the
 * writer waits for each to be read before it sends the next (a request /
 * response stream): the read-ahead worker wakes the reader for batches of
 * documents, and must not hold back the few it has while it blocks. */
static void test_fifo_one_at_a_time(void **state) {
  const char *dir = *state;
  char path[4096];
  snprintf(path, sizeof path, "%s/stream.jsonl", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  int ack[2];
  assert_int_equal(pipe(ack), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(ack[1]);
    int fd = open(path, O_WRONLY);
    if (fd < 0) _exit(1);
    for (int i = 0; i < 3; i++) {
      char line[64], c;
      int n = snprintf(line, sizeof line, "{\"id\":\"f%d\",\"text\":\"오픈스택 %d\"}\n", i, i);
      if (write(fd, line, (size_t)n) != n) _exit(1);
      if (read(ack[0], &c, 1) != 1) _exit(1); /* the reader has document i */
    }
    close(fd);
    _exit(0);
  }
  close(ack[0]);
  alarm(20); /* held-back documents would wait here forever: a failure, not a hang */
  osq_source *s;
  const char *paths[1] = {path};
  assert_int_equal(osq_source_open(paths, 1, NULL, NULL, &s), OSQ_OK);
  osq_doc doc;
  for (int i = 0; i < 3; i++) {
    char want[16];
    snprintf(want, sizeof want, "f%d", i);
    assert_int_equal(osq_source_next(s, &doc), OSQ_OK);
    assert_string_equal(doc.id, want);
    assert_int_equal(write(ack[1], "k", 1), 1);
  }
  assert_int_equal(osq_source_next(s, &doc), OSQ_DONE);
  alarm(0);
  osq_source_close(s);
  close(ack[1]);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tree_readahead, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_tree_sync, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_explicit_paths, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_gz_truncated, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_gz_corrupt, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_gz_crc_mismatch, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_gz_not_gzip, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_long_line, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_warning_cap, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_json_lines, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_json_bom_and_depth, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_json_line_lengths, setup_dir,
                                      teardown_dir),
      cmocka_unit_test(test_json_matches_jansson),
      cmocka_unit_test_setup_teardown(test_json_big_numbers, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_json_stray_nul, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_json_nul_after_number, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_path_too_long, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_symlink_loop, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_depth_guard, setup_dir,
                                      teardown_dir),
      cmocka_unit_test_setup_teardown(test_fifo_one_at_a_time, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_empty_and_close_early, setup_dir,
                                      teardown_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
