/*
 * test_index.c -- writing an index and searching it through the public API
 * (include/osq/osq.h): what comes back for each kind of query, the passage
 * text and its highlights, one-syllable queries, the boolean operators and
 * phrases, NFD queries and documents, errors (bad UTF-8, no index, a locked
 * index, another format version), rebuilding and appending, many segments,
 * and that MaxScore pruning never changes the results.
 */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "manifest.h"
#include "osq/osq.h"
#include "../common/osq_test_util.h"

/* ---- temporary directories ---------------------------------------------------- */

#define rm_tree osqt_rm_tree

static char *make_tmpdir(void) {
  char *r = osqt_make_tmpdir("osq-unit");
  if (!r) fail_msg("mkdtemp in $TMPDIR: %s", strerror(errno));
  if (!r) abort(); /* fail_msg does not return; says so to the compiler */
  return r;
}

static int count_segment_files(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len > 8 && !strncmp(e->d_name, "seg-", 4) && !strcmp(e->d_name + len - 4, ".osq")) n++;
  }
  closedir(d);
  return n;
}

/* ---- text helpers -------------------------------------------------------------- */

static void put_cp(char *out, size_t *o, uint32_t c) {
  if (c < 0x80) {
    out[(*o)++] = (char)c;
  } else if (c < 0x800) {
    out[(*o)++] = (char)(0xC0 | (c >> 6));
    out[(*o)++] = (char)(0x80 | (c & 0x3F));
  } else {
    out[(*o)++] = (char)(0xE0 | (c >> 12));
    out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[(*o)++] = (char)(0x80 | (c & 0x3F));
  }
  out[*o] = 0;
}

/* NFD of a string of precomposed Hangul syllables (and ASCII). */
static char *to_nfd(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n * 3 + 1);
  assert_non_null(out);
  size_t o = 0;
  const uint8_t *p = (const uint8_t *)s;
  while (*p) {
    if (*p < 0x80) {
      put_cp(out, &o, *p++);
      continue;
    }
    assert_int_equal(*p & 0xF0, 0xE0);
    uint32_t c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    p += 3;
    assert_true(c >= 0xAC00 && c <= 0xD7A3);
    uint32_t si = c - 0xAC00;
    put_cp(out, &o, 0x1100 + si / (21 * 28));
    put_cp(out, &o, 0x1161 + (si % (21 * 28)) / 28);
    if (si % 28) put_cp(out, &o, 0x11A7 + si % 28);
  }
  out[o] = 0;
  return out;
}

static size_t count_occurrences(const char *hay, const char *needle) {
  size_t n = 0, m = strlen(needle);
  for (const char *p = strstr(hay, needle); p; p = strstr(p + m, needle)) n++;
  return n;
}

/* hay with spaces removed contains needle (spacing does not matter) */
static int contains_nospace(const char *hay, const char *needle) {
  size_t n = strlen(hay);
  char *t = malloc(n + 1);
  assert_non_null(t);
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (hay[i] != ' ') t[o++] = hay[i];
  t[o] = 0;
  int r = strstr(t, needle) != NULL;
  free(t);
  return r;
}

/* ---- running queries ---------------------------------------------------------- */

typedef struct rhit {
  char *doc_id, *title, *passage;
  size_t passage_len;
  uint32_t passage_no;
  double score;
  osq_span *spans;
  size_t nspans;
} rhit;

typedef struct rlist {
  rhit *h;
  size_t n;
  uint64_t matched;
} rlist;

static void rlist_free(rlist *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->h[i].doc_id);
    free(l->h[i].title);
    free(l->h[i].passage);
    free(l->h[i].spans);
  }
  free(l->h);
  memset(l, 0, sizeof *l);
}

/* Runs a query and copies the results, checking what every result must
 * satisfy: scores do not increase, the passage is NUL-terminated at its
 * length, spans are inside it, non-empty, sorted and non-overlapping. */
static int run_query_len(osq_index *ix, const char *q, size_t len, uint32_t k, int no_prune,
                         rlist *out) {
  memset(out, 0, sizeof *out);
  osq_search_options so = {.k = k, .no_prune = no_prune};
  osq_results *r = (osq_results *)0x1;
  int rc = osq_search(ix, q, len, &so, &r);
  if (rc != OSQ_OK) {
    assert_null(r);
    return rc;
  }
  assert_non_null(r);
  size_t n = osq_results_count(r);
  assert_true(n <= (k ? k : 10));
  out->matched = osq_results_matched(r);
  assert_true(out->matched >= n);
  out->h = calloc(n ? n : 1, sizeof *out->h);
  assert_non_null(out->h);
  for (size_t i = 0; i < n; i++) {
    osq_hit hit;
    assert_int_equal(osq_results_get(r, i, &hit), OSQ_OK);
    rhit *h = &out->h[i];
    assert_non_null(hit.doc_id);
    assert_non_null(hit.title);
    assert_non_null(hit.passage);
    assert_int_equal(hit.passage[hit.passage_len], 0);
    assert_int_equal(strlen(hit.passage), hit.passage_len);
    /* matches first, then passages sharing pieces of words: each part by score */
    int exact = osq_results_is_exact(r, i);
    if (i && exact) assert_true(osq_results_is_exact(r, i - 1));
    if (i && exact == osq_results_is_exact(r, i - 1)) assert_true(hit.score <= out->h[i - 1].score);
    for (size_t s = 0; s < hit.nspans; s++) {
      assert_true(hit.spans[s].start < hit.spans[s].end);
      assert_true(hit.spans[s].end <= hit.passage_len);
      if (s) assert_true(hit.spans[s].start > hit.spans[s - 1].end);
    }
    h->doc_id = strdup(hit.doc_id);
    h->title = strdup(hit.title);
    h->passage = strdup(hit.passage);
    h->passage_len = hit.passage_len;
    h->passage_no = hit.passage_no;
    h->score = hit.score;
    h->nspans = hit.nspans;
    h->spans = malloc((hit.nspans ? hit.nspans : 1) * sizeof *h->spans);
    assert_non_null(h->spans);
    if (hit.nspans) memcpy(h->spans, hit.spans, hit.nspans * sizeof *hit.spans);
    out->n++;
  }
  osq_hit past;
  assert_int_equal(osq_results_get(r, n, &past), OSQ_E_INVAL);
  osq_results_free(r);
  return OSQ_OK;
}

static void run_query(osq_index *ix, const char *q, uint32_t k, rlist *out) {
  int rc = run_query_len(ix, q, strlen(q), k, 0, out);
  if (rc != OSQ_OK) fail_msg("query '%s': %s (%s)", q, osq_err_name(rc), osq_last_error());
}

static void print_list(const char *what, const rlist *l) {
  fprintf(stderr, "%s: %zu hits\n", what, l->n);
  for (size_t i = 0; i < l->n; i++)
    fprintf(stderr, "  %zu. %.6f %s #%u: %s\n", i + 1, l->h[i].score, l->h[i].doc_id,
            l->h[i].passage_no, l->h[i].passage);
}

/* ---- the hand-made corpus --------------------------------------------------------- */

typedef struct hdoc {
  const char *id, *title;
  const char *paras[4];
} hdoc;

/* NFD paragraph of d6, built at setup */
static char *nfd_para;

static hdoc hdocs[] = {
    {"d1", "화웨이 클라우드 발표",
     {"화웨이가 새로운 클라우드 서비스를 발표했다.", "이 서비스는 오픈스택 기반으로 만들어졌다.",
      "한국 시장에는 내년에 출시될 예정이다.", NULL}},
    {"d2", "게이트웨이 장비",
     {"새 게이트웨이 장비는 네트워크 트래픽을 분산한다.", "오픈 스택 재단은 올해 서밋을 연다.",
      "볼륨 스냅샷 기능이 추가되었다.", NULL}},
    {"d3", "국밥 이야기",
     {"부산 국밥은 돼지 뼈로 국물을 낸다.", "국내 여행객이 많이 찾는 음식이다.",
      "볼륨 삭제 기능은 없다.", NULL}},
    {"d4", "NASA 2012",
     {"NASA는 2012년에 큐리오시티를 화성에 보냈다.", "탐사선은 게일 분화구에 착륙했다.",
      "스냅샷 삭제는 관리자만 할 수 있다.", NULL}},
    {"d5", "스마트폰",
     {"화웨이는 스마트폰도 만든다.", "카메라 성능이 좋아졌다.", NULL, NULL}},
    {"d6", NULL, {"맥에서 쓴 글.", NULL /* the NFD paragraph */, NULL, NULL}},
};
#define NHDOCS (sizeof hdocs / sizeof hdocs[0])

/* The passages the index must hold, in document order: the title (when
 * there is one), then each paragraph.  (These documents have no Markdown
 * sections, so their passages carry no title as context.) */
typedef struct xpassage {
  const char *doc_id, *text;
} xpassage;
static xpassage xpassages[64];
static size_t nxpassages;

static char *hand_dir;
static osq_index *hand_ix;

static char *doc_text(const hdoc *d) {
  size_t n = 1;
  for (int i = 0; i < 4 && d->paras[i]; i++) n += strlen(d->paras[i]) + 2;
  char *t = malloc(n);
  assert_non_null(t);
  t[0] = 0;
  for (int i = 0; i < 4 && d->paras[i]; i++) {
    if (i) strcat(t, i % 2 ? "\n\n" : "\n");
    strcat(t, d->paras[i]);
  }
  return t;
}

static const osq_writer_options one_para_per_passage = {.passage_min_chars = 1};

static void write_docs(const char *dir, const osq_writer_options *opts, const hdoc *docs, size_t n) {
  osq_writer *w = NULL;
  int rc = osq_writer_open(dir, opts, &w);
  if (rc) fail_msg("osq_writer_open(%s): %s (%s)", dir, osq_err_name(rc), osq_last_error());
  for (size_t i = 0; i < n; i++) {
    char *text = doc_text(&docs[i]);
    osq_doc d = {.id = docs[i].id, .title = docs[i].title, .source = "unit", .date = "2024-01-01",
                 .text = text, .text_len = strlen(text)};
    assert_int_equal(osq_writer_add(w, &d), OSQ_OK);
    free(text);
  }
  rc = osq_writer_commit(w);
  if (rc) fail_msg("commit: %s (%s)", osq_err_name(rc), osq_last_error());
  osq_writer_close(w);
}

static int hand_setup(void **state) {
  (void)state;
  nfd_para = to_nfd("맥북에서 작성한 한국어 보고서.");
  hdocs[5].paras[1] = nfd_para;
  nxpassages = 0;
  for (size_t i = 0; i < NHDOCS; i++) {
    if (hdocs[i].title) xpassages[nxpassages++] = (xpassage){hdocs[i].id, hdocs[i].title};
    for (int p = 0; p < 4 && hdocs[i].paras[p]; p++)
      xpassages[nxpassages++] = (xpassage){hdocs[i].id, hdocs[i].paras[p]};
  }
  hand_dir = make_tmpdir();
  write_docs(hand_dir, &one_para_per_passage, hdocs, NHDOCS);
  int rc = osq_index_open(hand_dir, &hand_ix);
  if (rc) {
    fprintf(stderr, "osq_index_open: %s (%s)\n", osq_err_name(rc), osq_last_error());
    return -1;
  }
  return 0;
}

static int hand_teardown(void **state) {
  (void)state;
  osq_index_close(hand_ix);
  hand_ix = NULL;
  rm_tree(hand_dir);
  free(hand_dir);
  free(nfd_para);
  return 0;
}

/* "doc_id\tpassage\n" lines, sorted: a set to compare. */
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *set_string(char **items, size_t n) {
  qsort(items, n, sizeof *items, cmp_str);
  size_t len = 1;
  for (size_t i = 0; i < n; i++) len += strlen(items[i]) + 1;
  char *s = malloc(len);
  assert_non_null(s);
  s[0] = 0;
  for (size_t i = 0; i < n; i++) {
    strcat(s, items[i]);
    strcat(s, "\n");
  }
  return s;
}

static char *item(const char *doc_id, const char *text) {
  size_t n = strlen(doc_id) + strlen(text) + 2;
  char *s = malloc(n);
  assert_non_null(s);
  snprintf(s, n, "%s\t%s", doc_id, text);
  return s;
}

/* Compares the set of passages a query returns with the expected passages
 * (those for which pred holds). */
static void expect_passage_set(const char *q, int (*pred)(const char *text)) {
  rlist l;
  run_query(hand_ix, q, 1000, &l);
  char *got[64], *want[64];
  size_t ng = 0, nw = 0;
  assert_true(l.n < 64);
  for (size_t i = 0; i < l.n; i++) got[ng++] = item(l.h[i].doc_id, l.h[i].passage);
  for (size_t i = 0; i < nxpassages; i++)
    if (pred(xpassages[i].text)) want[nw++] = item(xpassages[i].doc_id, xpassages[i].text);
  char *gs = set_string(got, ng), *ws = set_string(want, nw);
  int same = strcmp(gs, ws) == 0;
  if (!same) {
    print_list(q, &l);
    print_error("query '%s': passages\n%s\nwant\n%s\n", q, gs, ws);
  }
  for (size_t i = 0; i < ng; i++) free(got[i]);
  for (size_t i = 0; i < nw; i++) free(want[i]);
  free(gs);
  free(ws);
  rlist_free(&l);
  if (!same) fail();
  assert_true(nw > 0); /* the corpus is meant to have matches for each */
}

/* The text of span s of hit h. */
static char *span_text(const rhit *h, size_t s) {
  return strndup(h->passage + h->spans[s].start, h->spans[s].end - h->spans[s].start);
}

/* ---- tests on the hand-made index ---------------------------------------------------- */

static void test_stats(void **state) {
  (void)state;
  osq_index_stats st;
  osq_index_get_stats(hand_ix, &st);
  assert_int_equal(st.documents, NHDOCS);
  assert_int_equal(st.passages, nxpassages);
  assert_int_equal(st.segments, 1);
  assert_true(st.terms > 50);
  assert_true(st.bytes > 0);
}

static void test_distinctive_word(void **state) {
  (void)state;
  rlist l;
  run_query(hand_ix, "큐리오시티", 10, &l);
  assert_true(l.n >= 1);
  const rhit *h = &l.h[0];
  assert_string_equal(h->doc_id, "d4");
  assert_string_equal(h->title, "NASA 2012");
  /* the passage is the paragraph as it was written */
  assert_string_equal(h->passage, "NASA는 2012년에 큐리오시티를 화성에 보냈다.");
  assert_int_equal(h->passage_len, strlen(h->passage));
  /* passage 0 is the title, then the paragraphs */
  assert_int_equal(h->passage_no, 1);
  assert_true(h->score > 0);
  /* one highlight, exactly the bytes of the word */
  assert_int_equal(h->nspans, 1);
  const char *at = strstr(h->passage, "큐리오시티");
  assert_int_equal(h->spans[0].start, (uint32_t)(at - h->passage));
  assert_int_equal(h->spans[0].end, h->spans[0].start + strlen("큐리오시티"));
  /* no other passage holds any of its grams */
  assert_int_equal(l.n, 1);
  rlist_free(&l);
}

static void test_metadata(void **state) {
  (void)state;
  osq_search_options so = {.k = 5, .explain = 1};
  osq_results *r;
  assert_int_equal(osq_search(hand_ix, "큐리오시티", strlen("큐리오시티"), &so, &r), OSQ_OK);
  assert_int_equal(osq_results_count(r), 1);
  osq_hit hit;
  assert_int_equal(osq_results_get(r, 0, &hit), OSQ_OK);
  assert_string_equal(hit.doc_id, "d4");
  assert_string_equal(hit.source, "unit");
  assert_string_equal(hit.url, ""); /* absent: "" */
  assert_string_equal(hit.date, "2024-01-01");
  assert_non_null(hit.explain); /* asked for */
  assert_non_null(strstr(hit.explain, "score"));
  osq_results_free(r);
}

static void test_word_with_particle_ranks_word_first(void **state) {
  (void)state;
  /* "화웨이" is in d1 (title and first paragraph) and d5; "게이트웨이" shares
   * only the gram 웨이.  Every passage holding the whole word must rank above
   * every passage holding only part of it, also when the query carries a
   * particle (화웨이가 finds 화웨이는). */
  const char *queries[] = {"화웨이", "화웨이가", "화웨이는"};
  for (size_t q = 0; q < 3; q++) {
    rlist l;
    run_query(hand_ix, queries[q], 100, &l);
    size_t whole = 0;
    for (size_t i = 0; i < nxpassages; i++) whole += strstr(xpassages[i].text, "화웨이") != NULL;
    assert_int_equal(whole, 3);
    if (l.n < whole) {
      print_list(queries[q], &l);
      fail_msg("query %s: %zu hits, want at least %zu", queries[q], l.n, whole);
    }
    for (size_t i = 0; i < whole; i++) {
      if (!strstr(l.h[i].passage, "화웨이")) {
        print_list(queries[q], &l);
        fail_msg("query %s: hit %zu lacks 화웨이", queries[q], i + 1);
      }
    }
    for (size_t i = whole; i < l.n; i++) assert_null(strstr(l.h[i].passage, "화웨이"));
    /* 게이트웨이 shares one bigram of the word, not a piece of it: it is
     * not a result, not even after the matches */
    for (size_t i = 0; i < l.n; i++)
      if (strstr(l.h[i].passage, "게이트웨이") && !strstr(l.h[i].passage, "화웨이")) fail_msg("query %s: hit %zu is 게이트웨이", queries[q], i + 1);
    rlist_free(&l);
  }
}

static void test_highlight_whole_word(void **state) {
  (void)state;
  rlist l;
  run_query(hand_ix, "화웨이", 3, &l);
  assert_int_equal(l.n, 3);
  for (size_t i = 0; i < l.n; i++) {
    const rhit *h = &l.h[i];
    assert_int_equal(h->nspans, 1);
    char *s = span_text(h, 0);
    assert_string_equal(s, "화웨이");
    free(s);
    assert_int_equal(h->spans[0].start, (uint32_t)(strstr(h->passage, "화웨이") - h->passage));
  }
  rlist_free(&l);
  /* two words of one clause: the marks cover both words and nothing else
   * (the space between them may or may not be inside a mark) */
  run_query(hand_ix, "볼륨 스냅샷", 1, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].passage, "볼륨 스냅샷 기능이 추가되었다.");
  assert_true(l.h[0].nspans >= 1);
  assert_int_equal(l.h[0].spans[0].start, 0);
  assert_int_equal(l.h[0].spans[l.h[0].nspans - 1].end, strlen("볼륨 스냅샷"));
  char marked[64] = "";
  for (size_t s = 0; s < l.h[0].nspans; s++) {
    char *t = span_text(&l.h[0], s);
    strcat(marked, t);
    free(t);
  }
  assert_true(!strcmp(marked, "볼륨 스냅샷") || !strcmp(marked, "볼륨스냅샷"));
  rlist_free(&l);
}

static int has_guk(const char *t) {
  return strstr(t, "국") != NULL || (nfd_para && strstr(t, "\xe1\x84\x80\xe1\x85\xae\xe1\x86\xa8"));
}

static void test_one_syllable(void **state) {
  (void)state;
  /* "국" finds exactly the passages that contain the syllable, wherever it
   * stands in a word (국밥, 한국, 국내, 국물), NFD included */
  expect_passage_set("국", has_guk);
  /* and marks each occurrence, exactly the syllable's bytes */
  rlist l;
  run_query(hand_ix, "국", 100, &l);
  const char *nfd_guk = "\xe1\x84\x80\xe1\x85\xae\xe1\x86\xa8";
  for (size_t i = 0; i < l.n; i++) {
    const rhit *h = &l.h[i];
    size_t want = count_occurrences(h->passage, "국") + count_occurrences(h->passage, nfd_guk);
    if (h->nspans != want) {
      print_list("국", &l);
      fail_msg("hit %zu (%s): %zu spans, %zu occurrences of 국", i + 1, h->passage, h->nspans, want);
    }
    for (size_t s = 0; s < h->nspans; s++) {
      char *t = span_text(h, s);
      if (strcmp(t, "국") != 0 && strcmp(t, nfd_guk) != 0)
        fail_msg("hit %zu (%s): span %zu is '%s', want 국", i + 1, h->passage, s, t);
      free(t);
    }
  }
  rlist_free(&l);
}

static int has_volume_not_delete(const char *t) { return strstr(t, "볼륨") && !strstr(t, "삭제"); }
static int has_volume_or_snapshot(const char *t) { return strstr(t, "볼륨") || strstr(t, "스냅샷"); }
static int has_volume_and_snapshot(const char *t) { return strstr(t, "볼륨") && strstr(t, "스냅샷"); }
static int has_snapshot_and_delete(const char *t) { return strstr(t, "스냅샷") && strstr(t, "삭제"); }
static int has_snapshot_not_volume(const char *t) { return strstr(t, "스냅샷") && !strstr(t, "볼륨"); }
static int has_openstack_foundation(const char *t) { return contains_nospace(t, "오픈스택재단"); }
static int has_openstack(const char *t) { return contains_nospace(t, "오픈스택"); }
static int has_delete(const char *t) { return strstr(t, "삭제") != NULL; }

static void test_must_and_must_not(void **state) {
  (void)state;
  expect_passage_set("+볼륨 -삭제", has_volume_not_delete);
  expect_passage_set("+스냅샷 -볼륨", has_snapshot_not_volume);
  expect_passage_set("+삭제", has_delete);
  /* ranked words with a must-not: nothing that holds it comes back */
  rlist l;
  run_query(hand_ix, "화웨이 -게이트웨이", 100, &l);
  assert_true(l.n >= 3);
  assert_true(!strcmp(l.h[0].doc_id, "d1") || !strcmp(l.h[0].doc_id, "d5"));
  assert_non_null(strstr(l.h[0].passage, "화웨이"));
  for (size_t i = 0; i < l.n; i++) assert_null(strstr(l.h[i].passage, "게이트웨이"));
  rlist_free(&l);
}

static void test_and_or_not(void **state) {
  (void)state;
  expect_passage_set("볼륨 OR 스냅샷", has_volume_or_snapshot);
  expect_passage_set("볼륨 AND 스냅샷", has_volume_and_snapshot);
  expect_passage_set("스냅샷 AND 삭제", has_snapshot_and_delete);
  expect_passage_set("스냅샷 NOT 볼륨", has_snapshot_not_volume);
  expect_passage_set("스냅샷 AND NOT 볼륨", has_snapshot_not_volume);
  expect_passage_set("(볼륨 OR 스냅샷) AND NOT 삭제", has_volume_not_delete);
  /* lower-case "or" is a word, not the operator: far fewer matches than OR */
  rlist l;
  run_query(hand_ix, "볼륨 or 스냅샷", 100, &l);
  for (size_t i = 0; i < l.n; i++) assert_true(has_volume_or_snapshot(l.h[i].passage));
  rlist_free(&l);
}

static void test_negated_operand_of_and(void **state) {
  (void)state;
  /* "NOT 볼륨 AND 스냅샷": passages with 스냅샷 and without 볼륨 */
  expect_passage_set("NOT 볼륨 AND 스냅샷", has_snapshot_not_volume);
  expect_passage_set("-볼륨 AND 스냅샷", has_snapshot_not_volume);
}

static void test_phrase(void **state) {
  (void)state;
  /* spacing inside a phrase does not matter, in the query or the text */
  expect_passage_set("\"오픈 스택 재단\"", has_openstack_foundation);
  expect_passage_set("\"오픈스택 재단\"", has_openstack_foundation);
  expect_passage_set("\"오픈스택\"", has_openstack);
  expect_passage_set("\"오픈 스택\"", has_openstack);
  /* words out of order are not the phrase */
  rlist l;
  run_query(hand_ix, "\"재단 오픈스택\"", 100, &l);
  assert_int_equal(l.n, 0);
  rlist_free(&l);
  /* ranked, unquoted: both spellings come first */
  run_query(hand_ix, "오픈 스택", 2, &l);
  assert_int_equal(l.n, 2);
  for (size_t i = 0; i < 2; i++) assert_true(has_openstack(l.h[i].passage));
  rlist_free(&l);
}

static int same_lists(const rlist *a, const rlist *b) {
  if (a->n != b->n) return 0;
  for (size_t i = 0; i < a->n; i++) {
    if (strcmp(a->h[i].doc_id, b->h[i].doc_id) || strcmp(a->h[i].passage, b->h[i].passage) ||
        a->h[i].passage_no != b->h[i].passage_no || a->h[i].score != b->h[i].score ||
        a->h[i].nspans != b->h[i].nspans ||
        memcmp(a->h[i].spans, b->h[i].spans, a->h[i].nspans * sizeof(osq_span)))
      return 0;
  }
  return 1;
}

static void test_nfd_query_equals_nfc(void **state) {
  (void)state;
  const char *words[] = {"화웨이", "국밥", "오픈 스택", "한국어", "\"오픈 스택 재단\"", "+볼륨 -삭제"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
    char *nfd = to_nfd(words[i]);
    assert_string_not_equal(nfd, words[i]);
    rlist a, b;
    run_query(hand_ix, words[i], 100, &a);
    run_query(hand_ix, nfd, 100, &b);
    assert_true(a.n > 0);
    if (!same_lists(&a, &b)) {
      print_list("NFC", &a);
      print_list("NFD", &b);
      fail_msg("NFD query differs from NFC for '%s'", words[i]);
    }
    rlist_free(&a);
    rlist_free(&b);
    free(nfd);
  }
}

static void test_nfd_document(void **state) {
  (void)state;
  /* d6 was written in NFD; an NFC query finds it and the highlight covers
   * the NFD bytes of the word in the stored passage */
  rlist l;
  run_query(hand_ix, "한국어", 10, &l);
  assert_true(l.n >= 1);
  assert_string_equal(l.h[0].doc_id, "d6");
  assert_string_equal(l.h[0].passage, nfd_para);
  char *word = to_nfd("한국어");
  assert_int_equal(strlen(word), 24);
  const char *at = strstr(l.h[0].passage, word);
  assert_non_null(at);
  assert_int_equal(l.h[0].nspans, 1);
  assert_int_equal(l.h[0].spans[0].start, (uint32_t)(at - l.h[0].passage));
  assert_int_equal(l.h[0].spans[0].end, (uint32_t)(at - l.h[0].passage) + 24);
  free(word);
  rlist_free(&l);
}

static void test_invalid_utf8_query(void **state) {
  (void)state;
  const char *bad[] = {"화웨이\xff", "\xc3", "\xed\x95", "a\xed\xa0\x80", "\xc0\xaf", "국\xf5\x80\x80\x80"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    osq_results *r = (osq_results *)0x1;
    int rc = osq_search(hand_ix, bad[i], strlen(bad[i]), NULL, &r);
    assert_int_equal(rc, OSQ_E_UTF8);
    assert_null(r);
    assert_true(strlen(osq_last_error()) > 0);
  }
  /* the index still answers afterwards */
  rlist l;
  run_query(hand_ix, "화웨이", 10, &l);
  assert_true(l.n > 0);
  rlist_free(&l);
}

static void test_no_match_and_empty(void **state) {
  (void)state;
  const char *qs[] = {"존재하지않는단어", "zzzz", "", "   ", "\"\"", "()", "-화웨이", "...", "\"", "AND"};
  for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
    rlist l;
    int rc = run_query_len(hand_ix, qs[i], strlen(qs[i]), 10, 0, &l);
    assert_int_equal(rc, OSQ_OK);
    if (i < 2) assert_int_equal(l.n, 0);
    rlist_free(&l);
  }
}

static void test_k(void **state) {
  (void)state;
  rlist all, one;
  run_query(hand_ix, "국", 100, &all);
  assert_true(all.n >= 3);
  run_query(hand_ix, "국", 1, &one);
  assert_int_equal(one.n, 1);
  assert_string_equal(one.h[0].passage, all.h[0].passage);
  assert_true(one.h[0].score == all.h[0].score);
  rlist_free(&one);
  /* k = 0 means 10 */
  run_query(hand_ix, "국", 0, &one);
  assert_int_equal(one.n, all.n < 10 ? all.n : 10);
  rlist_free(&one);
  rlist_free(&all);
}

static void test_case_and_fullwidth_query(void **state) {
  (void)state;
  /* "nasa", "NASA" and full-width "ＮＡＳＡ" are one word; the mark covers
   * the text as written */
  rlist a, b, c;
  run_query(hand_ix, "nasa", 10, &a);
  run_query(hand_ix, "NASA", 10, &b);
  run_query(hand_ix, "ＮＡＳＡ", 10, &c);
  assert_true(a.n >= 2);
  assert_true(same_lists(&a, &b));
  assert_true(same_lists(&a, &c));
  for (size_t i = 0; i < a.n; i++) {
    assert_string_equal(a.h[i].doc_id, "d4");
    assert_int_equal(a.h[i].nspans, 1);
    char *t = span_text(&a.h[i], 0);
    assert_string_equal(t, "NASA");
    free(t);
  }
  rlist_free(&a);
  rlist_free(&b);
  rlist_free(&c);
}

static void test_title_is_a_passage(void **state) {
  (void)state;
  rlist l;
  run_query(hand_ix, "이야기", 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].doc_id, "d3");
  assert_string_equal(l.h[0].passage, "국밥 이야기");
  assert_string_equal(l.h[0].title, "국밥 이야기");
  assert_int_equal(l.h[0].passage_no, 0);
  rlist_free(&l);
  /* the paragraphs follow the title, numbered in order */
  run_query(hand_ix, "\"볼륨 삭제\"", 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].doc_id, "d3");
  assert_int_equal(l.h[0].passage_no, 3);
  rlist_free(&l);
}

static void test_explain_adds_up(void **state) {
  (void)state;
  /* --explain's breakdown sums to the score it explains */
  const char *qs[] = {"화웨이가", "오픈 스택 재단", "국", "+볼륨 스냅샷"};
  for (size_t q = 0; q < 4; q++) {
    osq_search_options so = {.k = 5, .explain = 1};
    osq_results *r;
    assert_int_equal(osq_search(hand_ix, qs[q], strlen(qs[q]), &so, &r), OSQ_OK);
    assert_true(osq_results_count(r) > 0);
    for (size_t i = 0; i < osq_results_count(r); i++) {
      osq_hit hit;
      assert_int_equal(osq_results_get(r, i, &hit), OSQ_OK);
      assert_non_null(hit.explain);
      const char *eq = strrchr(hit.explain, '=');
      assert_non_null(eq);
      double bm25, adj;
      if (sscanf(eq, "= %lf (BM25) + %lf (adjacency)", &bm25, &adj) != 2)
        fail_msg("cannot read the sum in: %s", hit.explain);
      if (bm25 + adj < hit.score - 0.002 || bm25 + adj > hit.score + 0.002)
        fail_msg("query '%s' hit %zu: score %.4f but explain says %.3f + %.3f:\n%s", qs[q], i,
                 hit.score, bm25, adj, hit.explain);
    }
    osq_results_free(r);
  }
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static void test_random_queries(void **state) {
  (void)state;
  static const char *alphabet[] = {"\"", "(", ")", "+", "-", "AND", "OR", "NOT", " ", " ",
                                   "화웨이", "클라우드", "국", "오픈", "스택", "볼륨", "삭제",
                                   "스냅샷", "가", "nasa", "2012", "\t", "+(", "-\"", "\"\""};
  const size_t na = sizeof alphabet / sizeof *alphabet;
  rng_state = 0xC0FFEE123456789ull;
  char q[512];
  for (int iter = 0; iter < 3000; iter++) {
    size_t o = 0, pieces = rnd() % 12;
    for (size_t i = 0; i < pieces; i++) {
      const char *p = alphabet[rnd() % na];
      size_t m = strlen(p);
      memcpy(q + o, p, m);
      o += m;
      if (rnd() % 3) q[o++] = ' ';
    }
    q[o] = 0;
    rlist l;
    int rc = run_query_len(hand_ix, q, o, 1 + rnd() % 20, (int)(rnd() % 2), &l);
    if (rc != OSQ_OK) fail_msg("query '%s': %s", q, osq_err_name(rc));
    rlist_free(&l);
  }
}

/* ---- errors, locking, versions ------------------------------------------------------ */

static void test_open_missing(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  char path[4200];
  snprintf(path, sizeof path, "%s/does-not-exist", dir);
  osq_index *ix = (osq_index *)0x1;
  assert_int_equal(osq_index_open(path, &ix), OSQ_E_NOINDEX);
  assert_null(ix);
  assert_non_null(strstr(osq_last_error(), path));
  /* an empty directory is no index either */
  ix = (osq_index *)0x1;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_NOINDEX);
  assert_null(ix);
  rm_tree(dir);
  free(dir);
}

static const hdoc small_a[] = {
    {"a1", "첫 번째", {"알파 문서는 사과를 좋아한다.", NULL, NULL, NULL}},
    {"a2", "두 번째", {"알파 문서는 포도를 좋아한다.", NULL, NULL, NULL}},
};
static const hdoc small_b[] = {
    {"b1", "세 번째", {"베타 문서는 바나나를 좋아한다.", NULL, NULL, NULL}},
};

static size_t hits_for(osq_index *ix, const char *q) {
  rlist l;
  run_query(ix, q, 100, &l);
  size_t n = l.n;
  rlist_free(&l);
  return n;
}

/* Indexes doc alone in dir, searches q, and expects exactly one hit, which
 * *h receives; the caller frees *r and closes *ix. */
static void index_one_find_one(const char *dir, const osq_doc *doc, const char *q, osq_index **ix,
                               osq_results **r, osq_hit *h) {
  osq_writer *w = NULL;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  assert_int_equal(osq_writer_add(w, doc), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  assert_int_equal(osq_index_open(dir, ix), OSQ_OK);
  assert_int_equal(osq_search(*ix, q, strlen(q), NULL, r), OSQ_OK);
  assert_int_equal(osq_results_count(*r), 1);
  assert_int_equal(osq_results_get(*r, 0, h), OSQ_OK);
}

/* A stored field longer than 65,535 bytes is kept to that many bytes at
 * most, cut between characters, never inside one. */
static void test_long_stored_field_cut_between_characters(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  size_t n = 1 + 3 * 30000; /* "a" then 가 x 30000: byte 65,535 falls inside a 가 */
  char *url = malloc(n + 1);
  assert_non_null(url);
  url[0] = 'a';
  for (size_t i = 1; i < n; i += 3) memcpy(url + i, "\xea\xb0\x80", 3);
  url[n] = 0;
  const char *text = "긴 주소를 가진 문서입니다.";
  osq_doc d = {.id = "long-url", .url = url, .text = text, .text_len = strlen(text)};
  osq_index *ix;
  osq_results *r;
  osq_hit h;
  index_one_find_one(dir, &d, "주소", &ix, &r, &h);
  assert_int_equal(strlen(h.url), 1 + 3 * 21844); /* the last whole 가 before 65,535 */
  assert_memory_equal(h.url, url, strlen(h.url));
  osq_results_free(r);
  osq_index_close(ix);
  free(url);
  rm_tree(dir);
  free(dir);
}

/* A title of 4 KiB or more (from a library caller: osindex cuts titles at
 * 1 KiB) still becomes a passage, its first 4,095 bytes or less, cut
 * between characters. */
static void test_long_title_is_a_passage(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  size_t n = strlen("표제어휘 ") + 3 * 2000;
  char *title = malloc(n + 1);
  assert_non_null(title);
  strcpy(title, "표제어휘 ");
  for (size_t i = strlen(title); i < n; i += 3) memcpy(title + i, "\xea\xb0\x80", 3);
  title[n] = 0;
  const char *text = "본문에는 다른 말만 있습니다.";
  osq_doc d = {.id = "long-title", .title = title, .text = text, .text_len = strlen(text)};
  osq_index *ix;
  osq_results *r;
  osq_hit h;
  index_one_find_one(dir, &d, "표제어휘", &ix, &r, &h);
  assert_true(h.passage_len <= 4095 && h.passage_len > 4000);
  assert_memory_equal(h.passage, title, h.passage_len);
  assert_int_equal((h.passage_len - strlen("표제어휘 ")) % 3, 0); /* whole characters */
  osq_results_free(r);
  osq_index_close(ix);
  free(title);
  rm_tree(dir);
  free(dir);
}

static void test_locked(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w1 = NULL, *w2 = (osq_writer *)0x1;
  assert_int_equal(osq_writer_open(dir, NULL, &w1), OSQ_OK);
  assert_int_equal(osq_writer_open(dir, NULL, &w2), OSQ_E_LOCKED);
  assert_null(w2);
  const char *msg = osq_last_error();
  if (!strstr(msg, dir)) fail_msg("lock message '%s' does not name %s", msg, dir);
  /* the first writer is unaffected */
  char *text = doc_text(&small_a[0]);
  osq_doc d = {.id = small_a[0].id, .title = small_a[0].title, .text = text, .text_len = strlen(text)};
  assert_int_equal(osq_writer_add(w1, &d), OSQ_OK);
  assert_int_equal(osq_writer_commit(w1), OSQ_OK);
  free(text);
  /* readers do not wait for the writer */
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  assert_int_equal(hits_for(ix, "사과"), 1);
  osq_index_close(ix);
  osq_writer_close(w1);
  /* closed: the lock is free again */
  assert_int_equal(osq_writer_open(dir, NULL, &w2), OSQ_OK);
  osq_writer_close(w2);
  rm_tree(dir);
  free(dir);
}

static void test_add_without_id(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  osq_doc d = {.title = "제목", .text = "본문", .text_len = strlen("본문")};
  assert_int_equal(osq_writer_add(w, &d), OSQ_E_INVAL);
  d.id = "";
  assert_int_equal(osq_writer_add(w, &d), OSQ_E_INVAL);
  osq_writer_close(w);
  rm_tree(dir);
  free(dir);
}

static void test_uncommitted_is_discarded(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a, 2);
  osq_writer *w;
  /* a tiny flush_bytes makes the writer write segment files before commit */
  osq_writer_options o = {.flush_bytes = 1, .passage_min_chars = 1};
  assert_int_equal(osq_writer_open(dir, &o, &w), OSQ_OK);
  char *text = doc_text(&small_b[0]);
  osq_doc d = {.id = small_b[0].id, .title = small_b[0].title, .text = text, .text_len = strlen(text)};
  assert_int_equal(osq_writer_add(w, &d), OSQ_OK);
  free(text);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 2);
  assert_int_equal(hits_for(ix, "바나나"), 0);
  assert_int_equal(hits_for(ix, "사과"), 1);
  osq_index_close(ix);
  /* and left no segment file behind */
  assert_int_equal(count_segment_files(dir), 1);
  rm_tree(dir);
  free(dir);
}

static void test_rebuild_replaces(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a, 2);
  osq_index *old;
  assert_int_equal(osq_index_open(dir, &old), OSQ_OK);
  assert_int_equal(hits_for(old, "사과"), 1);

  osq_writer_options o = one_para_per_passage;
  o.replace = 1;
  write_docs(dir, &o, small_b, 1);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 1);
  assert_int_equal(st.segments, 1);
  assert_int_equal(hits_for(ix, "사과"), 0);
  assert_int_equal(hits_for(ix, "알파"), 0);
  assert_int_equal(hits_for(ix, "바나나"), 1);
  rlist l;
  run_query(ix, "바나나", 10, &l);
  assert_string_equal(l.h[0].doc_id, "b1");
  rlist_free(&l);
  osq_index_close(ix);
  /* the replaced segment files are gone */
  assert_int_equal(count_segment_files(dir), 1);
  /* a reader opened before the rebuild still answers from what it mapped */
  assert_int_equal(hits_for(old, "사과"), 1);
  run_query(old, "포도", 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].doc_id, "a2");
  assert_string_equal(l.h[0].passage, "알파 문서는 포도를 좋아한다.");
  rlist_free(&l);
  osq_index_close(old);
  rm_tree(dir);
  free(dir);
}

static void test_append_adds_segment(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a, 2);
  write_docs(dir, &one_para_per_passage, small_b, 1); /* replace = 0 */
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.segments, 2);
  assert_int_equal(st.documents, 3);
  assert_int_equal(hits_for(ix, "사과"), 1);
  assert_int_equal(hits_for(ix, "바나나"), 1);
  /* a query spanning both segments ranks across them */
  rlist l;
  run_query(ix, "문서는", 10, &l);
  assert_int_equal(l.n, 3);
  int seen_a1 = 0, seen_a2 = 0, seen_b1 = 0;
  for (size_t i = 0; i < l.n; i++) {
    seen_a1 |= !strcmp(l.h[i].doc_id, "a1");
    seen_a2 |= !strcmp(l.h[i].doc_id, "a2");
    seen_b1 |= !strcmp(l.h[i].doc_id, "b1");
  }
  assert_true(seen_a1 && seen_a2 && seen_b1);
  rlist_free(&l);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void test_invalid_utf8_document(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, &one_para_per_passage, &w), OSQ_OK);
  const char text[] = "\xff잘못된 바이트\xfe 포함 문서\n둘째 줄은 멀쩡하다.";
  osq_doc d = {.id = "bad", .text = text, .text_len = sizeof text - 1};
  assert_int_equal(osq_writer_add(w, &d), OSQ_OK);
  osq_writer_stats ws;
  osq_writer_get_stats(w, &ws);
  assert_int_equal(ws.documents, 1);
  assert_int_equal(ws.bad_bytes, 2);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  rlist l;
  run_query(ix, "바이트", 10, &l);
  assert_int_equal(l.n, 1);
  /* bad bytes are shown as U+FFFD, the rest as written */
  assert_string_equal(l.h[0].passage, "\xef\xbf\xbd잘못된 바이트\xef\xbf\xbd 포함 문서");
  assert_int_equal(l.h[0].nspans, 1);
  char *s = span_text(&l.h[0], 0);
  assert_string_equal(s, "바이트");
  free(s);
  rlist_free(&l);
  run_query(ix, "멀쩡하다", 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].passage, "둘째 줄은 멀쩡하다.");
  rlist_free(&l);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void patch_file(const char *path, size_t off, const void *bytes, size_t n) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void read_file_bytes(const char *path, uint8_t *buf, size_t n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(buf, 1, n, f), n);
  fclose(f);
}

/* Writes v as the manifest's format version and, when fix_crc, the
 * checksum that makes it an intact manifest of that version (else it is a
 * damaged one). */
static void set_manifest_version(const char *manifest, uint32_t v, int fix_crc) {
  uint8_t buf[4096];
  FILE *f = fopen(manifest, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_true(n > 12 && n < sizeof buf);
  osq__put_u32(buf + 8, v);
  if (fix_crc) osq__put_u32(buf + n - 4, osq__crc32(0, buf, n - 4));
  patch_file(manifest, 0, buf, n);
}

static void test_version(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a, 2);
  char manifest[4200];
  snprintf(manifest, sizeof manifest, "%s/MANIFEST", dir);
  osq__manifest m;
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  assert_int_equal(m.nsegs, 1);
  char name[64], seg[4200];
  osq__segment_name(m.segs[0].number, name, sizeof name);
  snprintf(seg, sizeof seg, "%s/%s", dir, name);
  osq__manifest_free(&m);

  /* MANIFEST: format version at byte 8 */
  uint8_t v[4];
  uint32_t two = OSQ_FORMAT_VERSION + 1;
  set_manifest_version(manifest, two, 1);
  osq_index *ix = (osq_index *)0x1;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_VERSION);
  assert_null(ix);
  assert_non_null(strstr(osq_last_error(), dir));
  assert_non_null(strstr(osq_last_error(), "upgrade osq"));
  /* a writer refuses it too, even a rebuild (replace), and leaves it alone */
  osq_writer *w = (osq_writer *)0x1;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_E_VERSION);
  assert_null(w);
  osq_writer_options rebuild = {.replace = 1};
  w = (osq_writer *)0x1;
  assert_int_equal(osq_writer_open(dir, &rebuild, &w), OSQ_E_VERSION);
  assert_null(w);
  assert_non_null(strstr(osq_last_error(), "upgrade osq"));
  uint8_t hdr[12];
  read_file_bytes(manifest, hdr, 12);
  assert_memory_equal(hdr + 8, &two, 4);
  /* a damaged version field (the checksum does not match) is damage */
  set_manifest_version(manifest, OSQ_FORMAT_VERSION + 14, 0);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_CORRUPT);
  assert_non_null(strstr(osq_last_error(), "damaged"));
  assert_null(strstr(osq_last_error(), "version"));
  /* an older version: "rebuild" */
  set_manifest_version(manifest, OSQ_FORMAT_VERSION - 1, 1);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_VERSION);
  assert_non_null(strstr(osq_last_error(), "rebuild"));
  set_manifest_version(manifest, OSQ_FORMAT_VERSION, 1);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_close(ix);

  /* segment: format version at byte 8, header CRC (of bytes 0..39) at 44 */
  uint8_t h[64];
  read_file_bytes(seg, h, 64);
  memcpy(v, h + 8, 4);
  osq__put_u32(h + 8, two);
  osq__put_u32(h + 44, osq__crc32(0, h, 40));
  patch_file(seg, 0, h, 64);
  ix = (osq_index *)0x1;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_VERSION);
  assert_null(ix);
  assert_non_null(strstr(osq_last_error(), name));
  /* restored, it opens again */
  memcpy(h + 8, v, 4);
  osq__put_u32(h + 44, osq__crc32(0, h, 40));
  patch_file(seg, 0, h, 64);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  assert_int_equal(hits_for(ix, "사과"), 1);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void test_corrupt_segment(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a, 2);
  osq__manifest m;
  assert_int_equal(osq__manifest_read(dir, &m), OSQ_OK);
  char name[64], seg[4200];
  osq__segment_name(m.segs[0].number, name, sizeof name);
  snprintf(seg, sizeof seg, "%s/%s", dir, name);
  osq__manifest_free(&m);
  /* a truncated segment file is corrupt, named in the message */
  assert_int_equal(truncate(seg, 100), 0);
  osq_index *ix = (osq_index *)0x1;
  int rc = osq_index_open(dir, &ix);
  assert_int_equal(rc, OSQ_E_CORRUPT);
  assert_null(ix);
  assert_non_null(strstr(osq_last_error(), name));
  /* a missing one too */
  assert_int_equal(unlink(seg), 0);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_E_CORRUPT);
  rm_tree(dir);
  free(dir);
}

static void test_empty_index(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 0);
  assert_int_equal(hits_for(ix, "화웨이"), 0);
  assert_int_equal(hits_for(ix, "국"), 0);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void test_documents_without_text(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  osq_doc only_title = {.id = "t1", .title = "제목만 있는 문서", .text_len = 0};
  osq_doc nothing = {.id = "t2", .text = "", .text_len = 0};
  osq_doc blank = {.id = "t3", .text = " \n\n \t\n", .text_len = 6};
  assert_int_equal(osq_writer_add(w, &only_title), OSQ_OK);
  assert_int_equal(osq_writer_add(w, &nothing), OSQ_OK);
  assert_int_equal(osq_writer_add(w, &blank), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 3);
  assert_int_equal(st.passages, 1);
  rlist l;
  run_query(ix, "제목", 10, &l);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.h[0].doc_id, "t1");
  assert_string_equal(l.h[0].passage, "제목만 있는 문서");
  rlist_free(&l);
  osq_index_close(ix);

  /* a segment of documents without any passage is still a valid segment */
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  osq_doc nothing2 = {.id = "t4", .text = "", .text_len = 0};
  assert_int_equal(osq_writer_add(w, &nothing2), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 4);
  assert_int_equal(hits_for(ix, "제목"), 1);
  assert_int_equal(hits_for(ix, "국"), 0);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void add_hdoc(osq_writer *w, const hdoc *h) {
  char *text = doc_text(h);
  osq_doc d = {.id = h->id, .title = h->title, .text = text, .text_len = strlen(text)};
  assert_int_equal(osq_writer_add(w, &d), OSQ_OK);
  free(text);
}

static void test_two_commits_one_writer(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, &one_para_per_passage, &w), OSQ_OK);
  add_hdoc(w, &small_a[0]);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  assert_int_equal(hits_for(ix, "사과"), 1);
  osq_index_close(ix);
  add_hdoc(w, &small_b[0]);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, 2);
  assert_int_equal(hits_for(ix, "사과"), 1);
  assert_int_equal(hits_for(ix, "바나나"), 1);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

static void test_rebuild_with_two_commits_keeps_both(void **state) {
  (void)state;
  /* A rebuild (replace = 1) that commits twice -- a checkpoint half-way --
   * ends with everything added through the writer, and nothing from before
   * the rebuild. */
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, small_a + 1, 1); /* the old index: a2 */
  osq_writer_options o = one_para_per_passage;
  o.replace = 1;
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, &o, &w), OSQ_OK);
  add_hdoc(w, &small_a[0]);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  add_hdoc(w, &small_b[0]);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  size_t apple = hits_for(ix, "사과"), banana = hits_for(ix, "바나나"), grape = hits_for(ix, "포도");
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
  if (apple != 1 || banana != 1 || grape != 0)
    fail_msg("after a rebuild committed twice: a1 (1st commit) %zu hits, b1 (2nd commit) %zu, "
             "a2 (old index) %zu; want 1, 1, 0",
             apple, banana, grape);
}

static size_t count_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((uint8_t)s[i] & 0xC0) != 0x80;
  return c;
}

static void test_long_paragraphs_are_windowed(void **state) {
  (void)state;
  /* Default passage options: a paragraph longer than 600 characters is cut
   * into overlapping windows of at most 600.  Every piece of the text can
   * still be found, and a window ends at a space when there is one. */
  char *dir = make_tmpdir();
  enum { NSYL = 2000, NWORDS = 500 };
  /* a run of 2000 distinct syllables without a space: every 3-syllable
   * substring occurs once in the corpus */
  char *run = malloc(NSYL * 3 + 1);
  assert_non_null(run);
  size_t o = 0;
  for (int i = 0; i < NSYL; i++) put_cp(run, &o, 0xAC00 + (uint32_t)(i * 37) % 11172);
  /* 500 numbered words */
  char *words = malloc(NWORDS * 6 + 1);
  assert_non_null(words);
  size_t wo = 0;
  for (int i = 0; i < NWORDS; i++) wo += (size_t)sprintf(words + wo, "%sw%04d", i ? " " : "", i);
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  osq_doc d1 = {.id = "run", .text = run, .text_len = o};
  osq_doc d2 = {.id = "words", .text = words, .text_len = wo};
  assert_int_equal(osq_writer_add(w, &d1), OSQ_OK);
  assert_int_equal(osq_writer_add(w, &d2), OSQ_OK);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_true(st.passages >= 2 * (NSYL / 600) + 2);
  for (int i = 0; i + 3 <= NSYL; i++) {
    char q[16];
    memcpy(q, run + i * 3, 9);
    q[9] = 0;
    rlist l;
    run_query(ix, q, 3, &l);
    if (l.n == 0 || strcmp(l.h[0].doc_id, "run") != 0 || !strstr(l.h[0].passage, q))
      fail_msg("syllables %d..%d of the long run: not found in the top passage", i, i + 2);
    const rhit *h = &l.h[0];
    assert_true(count_chars(h->passage, h->passage_len) <= 600);
    assert_non_null(strstr(run, h->passage)); /* a piece of the paragraph */
    const char *at = strstr(h->passage, q);
    assert_int_equal(h->nspans, 1);
    assert_int_equal(h->spans[0].start, (uint32_t)(at - h->passage));
    assert_int_equal(h->spans[0].end, (uint32_t)(at - h->passage) + 9);
    rlist_free(&l);
  }
  for (int i = 0; i < NWORDS; i++) {
    char q[16];
    snprintf(q, sizeof q, "w%04d", i);
    rlist l;
    run_query(ix, q, 3, &l);
    if (l.n == 0) fail_msg("word %s of the long paragraph not found", q);
    for (size_t k = 0; k < l.n; k++) {
      const rhit *h = &l.h[k];
      assert_string_equal(h->doc_id, "words");
      assert_true(count_chars(h->passage, h->passage_len) <= 600);
      assert_non_null(strstr(words, h->passage));
      /* whole words at both ends: the window ended at a space */
      assert_int_equal(h->passage[0], 'w');
      assert_true(h->passage_len >= 5);
      const char *tail = h->passage + h->passage_len - 5;
      if (!(tail[0] == 'w' && tail == h->passage) && !(tail[-1] == ' ' && tail[0] == 'w'))
        fail_msg("window does not end with a whole word: ...%s", h->passage_len > 20 ? h->passage + h->passage_len - 20 : h->passage);
    }
    rlist_free(&l);
  }
  osq_index_close(ix);
  free(run);
  free(words);
  rm_tree(dir);
  free(dir);
}

/* ---- many generated documents ------------------------------------------------------- */

static const char *vocab[] = {
    "서버", "클라우드", "네트워크", "스토리지", "볼륨", "스냅샷", "인스턴스", "가상화",
    "컨테이너", "데이터베이스", "백업", "복구", "보안", "인증", "암호화", "로그",
    "모니터링", "알림", "배포", "업데이트", "패치", "커널", "드라이버", "메모리",
    "프로세서", "디스크", "파일", "시스템", "사용자", "관리자", "권한", "정책",
    "설정", "구성", "성능", "지연", "처리량", "확장", "분산", "노드",
    "클러스터", "스케줄러", "큐", "메시지", "이벤트", "트랜잭션", "국", "국가",
    "한국", "국제", "국민", "화웨이", "게이트웨이", "오픈스택", "재단", "서밋",
    "발표", "출시", "지원", "개발", "테스트", "오픈 스택", "linux", "API",
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])
static const char *particles[] = {"", "", "", "은", "는", "이", "가", "을", "를", "에", "에서", "의", "와", "로"};
#define NPART (sizeof particles / sizeof particles[0])

#define NGEN 2000
static char *gen_text[NGEN];
static char gen_id[NGEN][16];
static char gen_tok[NGEN][16];
static char *gen_multi_dir, *gen_single_dir;
static osq_index *gen_multi, *gen_single;
static int gen_multi_flushed; /* segment files written before the commit */

static void gen_corpus(void) {
  rng_state = 0x5EED5EED5EEDull;
  for (int d = 0; d < NGEN; d++) {
    snprintf(gen_id[d], sizeof gen_id[d], "g%04d", d);
    snprintf(gen_tok[d], sizeof gen_tok[d], "uq%05dz", d * 7 + 3);
    size_t cap = 8192, o = 0;
    char *t = malloc(cap);
    int paras = 1 + (int)(rnd() % 4), tok_para = (int)(rnd() % (uint32_t)paras);
    for (int p = 0; p < paras; p++) {
      if (p) o += (size_t)snprintf(t + o, cap - o, "\n");
      int words = 4 + (int)(rnd() % 30);
      int tok_at = p == tok_para ? (int)(rnd() % (uint32_t)words) : -1;
      for (int i = 0; i < words; i++) {
        if (i == tok_at) o += (size_t)snprintf(t + o, cap - o, "%s ", gen_tok[d]);
        o += (size_t)snprintf(t + o, cap - o, "%s%s%s", vocab[rnd() % NVOCAB], particles[rnd() % NPART],
                              i + 1 < words ? " " : ".");
      }
    }
    gen_text[d] = t;
  }
}

/* Writes the generated corpus; returns how many segment files the writer
 * had flushed before the commit. */
static int gen_write(const char *dir, size_t flush_bytes) {
  osq_writer_options o = {.flush_bytes = flush_bytes};
  osq_writer *w = NULL;
  int rc = osq_writer_open(dir, &o, &w);
  if (rc) fail_msg("osq_writer_open: %s (%s)", osq_err_name(rc), osq_last_error());
  for (int d = 0; d < NGEN; d++) {
    osq_doc doc = {.id = gen_id[d], .text = gen_text[d], .text_len = strlen(gen_text[d])};
    rc = osq_writer_add(w, &doc);
    if (rc) fail_msg("add %d: %s (%s)", d, osq_err_name(rc), osq_last_error());
  }
  int flushed = count_segment_files(dir);
  rc = osq_writer_commit(w);
  if (rc) fail_msg("commit: %s (%s)", osq_err_name(rc), osq_last_error());
  osq_writer_stats ws;
  osq_writer_get_stats(w, &ws);
  assert_int_equal(ws.documents, NGEN);
  osq_writer_close(w);
  return flushed;
}

static int gen_setup(void **state) {
  (void)state;
  gen_corpus();
  gen_multi_dir = make_tmpdir();
  gen_single_dir = make_tmpdir();
  gen_multi_flushed = gen_write(gen_multi_dir, 64 << 10);
  gen_write(gen_single_dir, 0);
  if (osq_index_open(gen_multi_dir, &gen_multi) || osq_index_open(gen_single_dir, &gen_single)) {
    fprintf(stderr, "open: %s\n", osq_last_error());
    return -1;
  }
  return 0;
}

static int gen_teardown(void **state) {
  (void)state;
  osq_index_close(gen_multi);
  osq_index_close(gen_single);
  rm_tree(gen_multi_dir);
  rm_tree(gen_single_dir);
  free(gen_multi_dir);
  free(gen_single_dir);
  for (int d = 0; d < NGEN; d++) free(gen_text[d]);
  return 0;
}

static void test_gen_segments(void **state) {
  (void)state;
  osq_index_stats a, b;
  osq_index_get_stats(gen_multi, &a);
  osq_index_get_stats(gen_single, &b);
  print_message("flush_bytes 64 KiB: %llu segments for %d documents (%llu passages, %llu bytes)\n",
                (unsigned long long)a.segments, NGEN, (unsigned long long)a.passages,
                (unsigned long long)a.bytes);
  assert_true(a.segments >= 2);
  assert_int_equal(b.segments, 1);
  assert_int_equal(a.documents, NGEN);
  assert_int_equal(b.documents, NGEN);
  assert_int_equal(a.passages, b.passages);
  assert_int_equal(count_segment_files(gen_multi_dir), (int)a.segments);
}

static void test_gen_flush_groups_documents(void **state) {
  (void)state;
  /* flush_bytes bounds the writer's memory: documents of a few hundred
   * bytes each fit many to a 64 KiB segment.  One segment per document would
   * mean 2000 files to open for every query. */
  size_t input = 0;
  for (int d = 0; d < NGEN; d++) input += strlen(gen_text[d]);
  /* counted before the commit, so that merges after it do not hide it */
  print_message("input %zu bytes, %d segment files flushed before the commit\n", input,
                gen_multi_flushed);
  assert_true(gen_multi_flushed >= 1);
  if (gen_multi_flushed > NGEN / 4)
    fail_msg("flush_bytes = 64 KiB: %d segments flushed for %d documents of %zu bytes in all",
             gen_multi_flushed, NGEN, input);
}

static void find_every_doc(osq_index *ix) {
  for (int d = 0; d < NGEN; d++) {
    rlist l;
    run_query(ix, gen_tok[d], 10, &l);
    if (l.n != 1 || strcmp(l.h[0].doc_id, gen_id[d]) != 0) {
      print_list(gen_tok[d], &l);
      fail_msg("token %s of %s: not found as the only hit", gen_tok[d], gen_id[d]);
    }
    const char *at = strstr(l.h[0].passage, gen_tok[d]);
    assert_non_null(at);
    assert_int_equal(l.h[0].nspans, 1);
    assert_int_equal(l.h[0].spans[0].start, (uint32_t)(at - l.h[0].passage));
    assert_int_equal(l.h[0].spans[0].end, (uint32_t)(at - l.h[0].passage + strlen(gen_tok[d])));
    /* the passage is a piece of the document's text */
    assert_non_null(strstr(gen_text[d], l.h[0].passage));
    rlist_free(&l);
  }
}

static void test_gen_every_doc_found_multi(void **state) {
  (void)state;
  find_every_doc(gen_multi);
}

static void test_gen_every_doc_found_single(void **state) {
  (void)state;
  find_every_doc(gen_single);
}

/* Scores are equal: exactly (bit for bit) when exact, else up to rounding
 * (summing the same terms in another order). */
static int same_score(double a, double b, int exact) {
  if (exact) return a == b;
  double d = a > b ? a - b : b - a, m = a > b ? a : b;
  return d <= 1e-9 * (m > 1 ? m : 1);
}

/* The two lists hold the same hits with the same scores.  Hits whose scores
 * tie may come in either order; in the last group of ties, which the top-k
 * cut may split, only the scores must agree. */
static int equivalent(const rlist *a, const rlist *b, uint32_t k, int exact, char *why,
                      size_t whylen) {
  if (a->n != b->n) {
    snprintf(why, whylen, "%zu hits vs %zu", a->n, b->n);
    return 0;
  }
  for (size_t i = 0; i < a->n; i++)
    if (!same_score(a->h[i].score, b->h[i].score, exact)) {
      snprintf(why, whylen, "hit %zu: score %.17g vs %.17g", i + 1, a->h[i].score, b->h[i].score);
      return 0;
    }
  for (size_t i = 0; i < a->n;) {
    size_t j = i;
    while (j < a->n && same_score(a->h[j].score, a->h[i].score, 0)) j++;
    if (!(j == a->n && a->n == k)) {
      for (size_t x = i; x < j; x++) {
        int found = 0;
        for (size_t y = i; y < j && !found; y++)
          found = !strcmp(a->h[x].doc_id, b->h[y].doc_id) && a->h[x].passage_no == b->h[y].passage_no &&
                  !strcmp(a->h[x].passage, b->h[y].passage);
        if (!found) {
          snprintf(why, whylen, "hit %zu (%s #%u) missing from the other list", x + 1, a->h[x].doc_id,
                   a->h[x].passage_no);
          return 0;
        }
      }
    }
    i = j;
  }
  return 1;
}

static char **sample_queries(size_t *n) {
  static char *qs[256];
  size_t o = 0;
  rng_state = 0xABCDEF0123ull;
  const char *fixed[] = {"국", "서", "스", "화웨이", "화웨이가", "오픈 스택", "오픈스택 재단", "\"오픈 스택\"",
                         "볼륨 스냅샷 삭제", "+볼륨 -스냅샷", "볼륨 OR 스냅샷", "볼륨 AND 스냅샷",
                         "국 가", "클라우드 서버 네트워크 스토리지 메모리", "linux API", "uq00003z 서버"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) qs[o++] = strdup(fixed[i]);
  while (o < 160) {
    char buf[256];
    const char *a = vocab[rnd() % NVOCAB], *b = vocab[rnd() % NVOCAB];
    const char *pa = particles[3 + rnd() % (NPART - 3)];
    const char *c3 = vocab[rnd() % NVOCAB];
    switch (rnd() % 13) {
      case 9: snprintf(buf, sizeof buf, "%s %s %s", a, b, c3); break;
      case 10: snprintf(buf, sizeof buf, "국 %s", a); break;
      case 11: snprintf(buf, sizeof buf, "+%s -%s %s", a, b, c3); break;
      case 12: snprintf(buf, sizeof buf, "%s %s OR %s", a, b, c3); break;
      case 0: snprintf(buf, sizeof buf, "%s", a); break;
      case 1: snprintf(buf, sizeof buf, "%s%s", a, pa); break;
      case 2: snprintf(buf, sizeof buf, "%s %s", a, b); break;
      case 3: snprintf(buf, sizeof buf, "\"%s %s\"", a, b); break;
      case 4: snprintf(buf, sizeof buf, "+%s %s", a, b); break;
      case 5: snprintf(buf, sizeof buf, "%s -%s", a, b); break;
      case 6: snprintf(buf, sizeof buf, "%s OR %s", a, b); break;
      case 7: snprintf(buf, sizeof buf, "%s AND %s", a, b); break;
      default: snprintf(buf, sizeof buf, "%s%s %s", a, pa, b); break;
    }
    qs[o++] = strdup(buf);
  }
  *n = o;
  return qs;
}

static void compare_modes(osq_index *ix, const char *what, const uint32_t *ks, size_t nks) {
  size_t nq;
  char **qs = sample_queries(&nq);
  int bad = 0;
  uint64_t skipped = 0; /* candidates the pruned search never scored */
  for (size_t i = 0; i < nq; i++) {
    for (size_t kk = 0; kk < nks; kk++) {
      rlist a, b;
      assert_int_equal(run_query_len(ix, qs[i], strlen(qs[i]), ks[kk], 0, &a), OSQ_OK);
      assert_int_equal(run_query_len(ix, qs[i], strlen(qs[i]), ks[kk], 1, &b), OSQ_OK);
      assert_true(a.matched <= b.matched);
      skipped += b.matched - a.matched;
      char why[256];
      /* the same index, the same passages: the same scores, bit for bit */
      if (!equivalent(&a, &b, ks[kk], 1, why, sizeof why)) {
        fprintf(stderr, "%s: query '%s' k=%u: pruned and unpruned differ: %s\n", what, qs[i], ks[kk], why);
        if (bad++ < 3) {
          print_list("pruned", &a);
          print_list("no_prune", &b);
        }
      }
      rlist_free(&a);
      rlist_free(&b);
    }
  }
  for (size_t i = 0; i < nq; i++) free(qs[i]);
  if (bad) fail_msg("%s: %d query/k pairs differ between pruned and unpruned search", what, bad);
  /* the comparison means something only if pruning did skip work */
  assert_true(skipped > 0);
}

static void test_gen_prune_equals_no_prune_multi(void **state) {
  (void)state;
  /* fewer k here: every query visits every segment */
  static const uint32_t ks[] = {1, 10};
  compare_modes(gen_multi, "multi-segment", ks, 2);
}

static void test_gen_prune_equals_no_prune_single(void **state) {
  (void)state;
  static const uint32_t ks[] = {1, 3, 10, 50};
  compare_modes(gen_single, "single segment", ks, 4);
}

static void test_gen_segmentation_does_not_change_results(void **state) {
  (void)state;
  /* the same documents in 1 or many segments: same hits, same scores */
  size_t nq;
  char **qs = sample_queries(&nq);
  int bad = 0;
  for (size_t i = 0; i < nq; i++) {
    rlist a, b;
    run_query(gen_multi, qs[i], 20, &a);
    run_query(gen_single, qs[i], 20, &b);
    char why[256];
    if (!equivalent(&a, &b, 20, 0, why, sizeof why)) {
      fprintf(stderr, "query '%s': multi vs single segment: %s\n", qs[i], why);
      bad++;
    }
    rlist_free(&a);
    rlist_free(&b);
  }
  for (size_t i = 0; i < nq; i++) free(qs[i]);
  assert_int_equal(bad, 0);
}

static void test_gen_one_syllable_exact(void **state) {
  (void)state;
  /* "큐" is a word of its own in the vocabulary; every passage with it is
   * found: compare the count of documents with a strstr scan */
  rlist l;
  run_query(gen_single, "큐", 2000, &l);
  size_t docs_with = 0;
  for (int d = 0; d < NGEN; d++) docs_with += strstr(gen_text[d], "큐") != NULL;
  assert_true(docs_with > 10);
  /* each hit holds it; each document holding it has a hit */
  char *seen = calloc(NGEN, 1);
  assert_non_null(seen);
  for (size_t i = 0; i < l.n; i++) {
    assert_non_null(strstr(l.h[i].passage, "큐"));
    int d = atoi(l.h[i].doc_id + 1);
    assert_true(d >= 0 && d < NGEN);
    seen[d] = 1;
  }
  size_t ndocs = 0;
  for (int d = 0; d < NGEN; d++) ndocs += seen[d];
  assert_int_equal(ndocs, docs_with);
  free(seen);
  rlist_free(&l);
}

/* ---- many segments --------------------------------------------------------------- */

static void test_many_segments_stay_readable(void **state) {
  (void)state;
  /* flush_bytes = 1: every document becomes a segment.  Whatever the number
   * of segments a commit publishes, the index must open again.  3,000
   * segments are 6,000 fsyncs: on a disk they took 14 s, so the index goes
   * to tmpfs (/dev/shm) where the machine has one; what is checked (the
   * manifest naming them all, opening, searching, a writer on top) does not
   * depend on the file system. */
  char buf[4096], *dir = NULL;
  if (access("/dev/shm", W_OK | X_OK) == 0) {
    snprintf(buf, sizeof buf, "/dev/shm/osq-unit-many-XXXXXX");
    if (mkdtemp(buf)) dir = strdup(buf);
  }
  if (!dir) dir = make_tmpdir();
  enum { N = 3000 };
  osq_writer_options o = {.flush_bytes = 1};
  osq_writer *w;
  assert_int_equal(osq_writer_open(dir, &o, &w), OSQ_OK);
  for (int d = 0; d < N; d++) {
    char id[16], text[64];
    snprintf(id, sizeof id, "m%d", d);
    snprintf(text, sizeof text, "문서 번호 tok%dx 입니다.", d);
    osq_doc doc = {.id = id, .text = text, .text_len = strlen(text)};
    assert_int_equal(osq_writer_add(w, &doc), OSQ_OK);
  }
  int rc = osq_writer_commit(w);
  assert_int_equal(rc, OSQ_OK);
  osq_writer_close(w);
  osq_index *ix = NULL;
  rc = osq_index_open(dir, &ix);
  if (rc) {
    print_error("%d segments committed, then osq_index_open: %s (%s)\n", N, osq_err_name(rc),
                osq_last_error());
    rm_tree(dir);
    free(dir);
    fail();
  }
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  assert_int_equal(st.documents, N);
  assert_int_equal(hits_for(ix, "tok2999x"), 1);
  osq_index_close(ix);
  /* and a writer can add to it */
  rc = osq_writer_open(dir, NULL, &w);
  if (rc) fail_msg("osq_writer_open: %s (%s)", osq_err_name(rc), osq_last_error());
  osq_writer_close(w);
  rm_tree(dir);
  free(dir);
}


/* A writer whose store compressor thread is running, used in a forked
 * child: adding fails with a message instead of waiting on the parent's
 * thread, closing returns; the parent's writer goes on and commits. */
static void test_writer_across_fork(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  osq_writer *w = NULL;
  assert_int_equal(osq_writer_open(dir, NULL, &w), OSQ_OK);
  char text[3000]; /* 120 x 20 bytes */
  size_t tn = 0;
  for (int i = 0; i < 120; i++) tn += (size_t)snprintf(text + tn, sizeof text - tn, "%s", "오픈스택 문서 ");
  assert_true(tn < sizeof text - 1);
  char id[32];
  enum { NDOCS = 16 }; /* 38 KB: past two 16 KiB store blocks, so the thread has started */
  for (int i = 0; i < NDOCS; i++) {
    snprintf(id, sizeof id, "d%d", i);
    osq_doc d = {.id = id, .text = text, .text_len = strlen(text)};
    assert_int_equal(osq_writer_add(w, &d), OSQ_OK);
  }
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(20); /* a hang is a failure, not a stuck test */
    int bad = 0;
    for (int i = 0; i < 6; i++) {
      osq_doc d = {.id = "child", .text = text, .text_len = strlen(text)};
      if (osq_writer_add(w, &d) != OSQ_OK) bad = 1;
    }
    int rc = osq_writer_commit(w);
    osq_writer_close(w);
    _exit(bad || rc != OSQ_OK ? 0 : 3); /* 0: refused as it should be */
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_int_equal(osq_writer_commit(w), OSQ_OK);
  osq_writer_close(w);
  osq_index *ix = NULL;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  osq_index_stats st2;
  osq_index_get_stats(ix, &st2);
  assert_int_equal(st2.documents, NDOCS);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

/* ---- what a query matches: words, one-syllable words, phrases over punctuation ---- */

static const hdoc word_docs[] = {
    {"w1", NULL, {"이 땅 위에 집을 지었다.", "땅집 한 채가 남았다.", NULL, NULL}},
    {"w2", NULL, {"땅만 넓고 아무것도 없다.", "집만 덩그러니 서 있다.", NULL, NULL}},
    {"w3", NULL, {"규정이 없는 이상, 기왕에 신고를 마친 업주로부터 노래를 들었다.", "대법관 김능환(재판장) 양창수 민일영", NULL, NULL}},
    {"w4", NULL, {"곰의 습격이 두려워 마을을 떠났다.", "바이두 검색 엔진은 중국에서 쓰인다.", "지카바이러스가 퍼졌다.", NULL}},
    {"w5", NULL, {"당시 트럭 운전사들이 파업했다.", "시트릭스가 재단을 떠났다.", NULL, NULL}},
    {"w6", NULL, {"몸무게가 85㎏ 이상이나 되는 피해자", "몸무게가 850 정도인 화물", NULL, NULL}},
};

/* Every hit of q is a match (osq_results_is_exact) holding each needle, and
 * there are `want` of them; later hits, which only share pieces, hold no
 * `never`.  Returns the summary. */
static osq_results_summary check_matches(osq_index *ix, const char *q, size_t want, const char *const *needles,
                                         const char *never) {
  osq_results *r;
  osq_search_options so = {.k = 100};
  if (osq_search(ix, q, strlen(q), &so, &r)) fail_msg("query %s: %s", q, osq_last_error());
  osq_results_summary sum;
  osq_results_get_summary(r, &sum);
  size_t exact = 0;
  for (size_t i = 0; i < osq_results_count(r); i++) {
    osq_hit h;
    assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
    if (never && strstr(h.passage, never)) fail_msg("query %s: hit %zu is '%s'", q, i + 1, h.passage);
    if (!osq_results_is_exact(r, i)) continue;
    exact++;
    for (const char *const *n = needles; *n; n++)
      if (!contains_nospace(h.passage, *n)) fail_msg("query %s: match %zu lacks %s: %s", q, i + 1, *n, h.passage);
    /* every word the passage holds is marked */
    if (h.nspans == 0) fail_msg("query %s: match %zu has no highlight", q, i + 1);
  }
  if (exact != want) fail_msg("query %s: %zu matches, want %zu", q, exact, want);
  assert_int_equal(sum.passages, want);
  assert_int_equal(sum.exact_hits, want);
  assert_false(sum.at_least);
  osq_results_free(r);
  return sum;
}

static void test_words_match_whole(void **state) {
  (void)state;
  char *dir = make_tmpdir();
  write_docs(dir, &one_para_per_passage, word_docs, sizeof word_docs / sizeof *word_docs);
  osq_index *ix;
  assert_int_equal(osq_index_open(dir, &ix), OSQ_OK);
  /* one-syllable words stay words: 땅 and 집 anywhere in the passage, not
   * the compound 땅집 alone */
  const char *both[] = {"땅", "집", NULL};
  osq_results_summary s = check_matches(ix, "땅 집", 2, both, NULL);
  assert_int_equal(s.documents, 1);
  /* punctuation and markup between the words of a phrase */
  const char *p1[] = {"기왕에", NULL};
  check_matches(ix, "\"이상 기왕에\"", 1, p1, NULL);
  const char *p2[] = {"김능환", "재판장", NULL};
  check_matches(ix, "\"김능환 재판장\"", 1, p2, NULL);
  check_matches(ix, "\"재판장 양창수\"", 1, p2, NULL);
  /* a number with its unit (㎏ is kg in the index), not another number */
  const char *p3[] = {"85㎏", NULL};
  check_matches(ix, "\"몸무게가 85\"", 1, p3, "850");
  /* a bigram across a space in the text is not a word: 이 두 of 습격이
   * 두려워, 시 트 of 당시 트럭; nor is a lone bigram of the word a piece */
  const char *baidu[] = {"바이두", NULL};
  check_matches(ix, "바이두", 1, baidu, "습격이");
  check_matches(ix, "바이두", 1, baidu, "지카");
  const char *citrix[] = {"시트릭스", NULL};
  check_matches(ix, "시트릭스", 1, citrix, "트럭");
  /* a particle: the stem matches (시트릭스가 / 시트릭스는) */
  check_matches(ix, "시트릭스는", 1, citrix, "트럭");
  /* nothing holds it: no match, the pieces after */
  const char *none[] = {NULL};
  check_matches(ix, "바이킹", 0, none, NULL);
  osq_index_close(ix);
  rm_tree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest hand[] = {
      cmocka_unit_test(test_stats),
      cmocka_unit_test(test_distinctive_word),
      cmocka_unit_test(test_metadata),
      cmocka_unit_test(test_word_with_particle_ranks_word_first),
      cmocka_unit_test(test_highlight_whole_word),
      cmocka_unit_test(test_one_syllable),
      cmocka_unit_test(test_must_and_must_not),
      cmocka_unit_test(test_and_or_not),
      cmocka_unit_test(test_negated_operand_of_and),
      cmocka_unit_test(test_phrase),
      cmocka_unit_test(test_nfd_query_equals_nfc),
      cmocka_unit_test(test_nfd_document),
      cmocka_unit_test(test_invalid_utf8_query),
      cmocka_unit_test(test_no_match_and_empty),
      cmocka_unit_test(test_k),
      cmocka_unit_test(test_case_and_fullwidth_query),
      cmocka_unit_test(test_title_is_a_passage),
      cmocka_unit_test(test_explain_adds_up),
      cmocka_unit_test(test_random_queries),
  };
  const struct CMUnitTest standalone[] = {
      cmocka_unit_test(test_open_missing),
      cmocka_unit_test(test_locked),
      cmocka_unit_test(test_long_title_is_a_passage),
      cmocka_unit_test(test_long_stored_field_cut_between_characters),
      cmocka_unit_test(test_add_without_id),
      cmocka_unit_test(test_uncommitted_is_discarded),
      cmocka_unit_test(test_rebuild_replaces),
      cmocka_unit_test(test_append_adds_segment),
      cmocka_unit_test(test_invalid_utf8_document),
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_corrupt_segment),
      cmocka_unit_test(test_empty_index),
      cmocka_unit_test(test_words_match_whole),
      cmocka_unit_test(test_two_commits_one_writer),
      cmocka_unit_test(test_rebuild_with_two_commits_keeps_both),
      cmocka_unit_test(test_long_paragraphs_are_windowed),
      cmocka_unit_test(test_many_segments_stay_readable),
  };
  const struct CMUnitTest gen[] = {
      cmocka_unit_test(test_gen_segments),
      cmocka_unit_test(test_gen_flush_groups_documents),
      cmocka_unit_test(test_gen_every_doc_found_multi),
      cmocka_unit_test(test_gen_every_doc_found_single),
      cmocka_unit_test(test_gen_prune_equals_no_prune_multi),
      cmocka_unit_test(test_gen_prune_equals_no_prune_single),
      cmocka_unit_test(test_gen_segmentation_does_not_change_results),
      cmocka_unit_test(test_gen_one_syllable_exact),
  };
  /* OSQ_UNIT_FILTER=pattern (wildcards * and ?) runs only matching tests */
  const char *filter = getenv("OSQ_UNIT_FILTER");
  if (filter && *filter) cmocka_set_test_filter(filter);
  /* OSQ_UNIT_SKIP=test_name skips matching tests */
  const char *skip = getenv("OSQ_UNIT_SKIP");
  if (skip && *skip) cmocka_set_skip_filter(skip);
  /* last, on its own: under OSQ_SANITIZE a crash here would end the run */
  const struct CMUnitTest last[] = {
      cmocka_unit_test(test_documents_without_text),
      cmocka_unit_test(test_writer_across_fork),
  };
  int failed = cmocka_run_group_tests_name("hand-made index", hand, hand_setup, hand_teardown);
  failed += cmocka_run_group_tests_name("errors, locking, rebuilds", standalone, NULL, NULL);
  failed += cmocka_run_group_tests_name("generated documents", gen, gen_setup, gen_teardown);
  failed += cmocka_run_group_tests_name("documents without text", last, NULL, NULL);
  return failed ? 1 : 0;
}
