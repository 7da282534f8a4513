/*
 * test_corpus.c -- what a user sees when searching the bundled corpus.
 *
 * Runs against the index that the ctest fixture builds from corpus/ with the
 * osindex command line (path given as argv[1]).  Ground truth for the
 * one-syllable query is computed independently, by cutting the corpus into
 * passages the way the writer does and scanning them with strstr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "internal.h"
#include "manifest.h"
#include "segment.h"
#include "osq/osq.h"
#include "osq/source.h"

static const char *index_dir;
static const char *corpus_dir;
static osq_index *ix;

typedef struct {
  size_t n;
  char **doc, **passage;
  char **context; /* "title\nsection heading": what a passage of a document
                     with Markdown sections is indexed with besides its text */
  double *score;
} hits;

/* Does result i hold word, in its text or its context?  (A passage of a
 * plain document has no context, but its title passage holds the title.) */
static int holds(const hits *h, size_t i, const char *word) {
  return strstr(h->passage[i], word) || strstr(h->context[i], word);
}

static void hits_free(hits *h) {
  for (size_t i = 0; i < h->n; i++) {
    free(h->doc[i]);
    free(h->passage[i]);
    free(h->context[i]);
  }
  free(h->context);
  free(h->doc);
  free(h->passage);
  free(h->score);
  memset(h, 0, sizeof *h);
}

static int search(const char *q, uint32_t k, int no_prune, hits *out) {
  osq_search_options so = {.k = k, .no_prune = no_prune};
  osq_results *r;
  int rc = osq_search(ix, q, strlen(q), &so, &r);
  if (rc) return rc;
  size_t n = osq_results_count(r);
  out->n = n;
  out->doc = calloc(n + 1, sizeof *out->doc);
  out->passage = calloc(n + 1, sizeof *out->passage);
  out->context = calloc(n + 1, sizeof *out->context);
  out->score = calloc(n + 1, sizeof *out->score);
  for (size_t i = 0; i < n; i++) {
    osq_hit h;
    assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
    out->doc[i] = strdup(h.doc_id);
    out->passage[i] = strdup(h.passage);
    size_t cl = strlen(h.title) + strlen(h.section) + 2;
    out->context[i] = malloc(cl);
    snprintf(out->context[i], cl, "%s\n%s", h.title, h.section);
    out->score[i] = h.score;
  }
  osq_results_free(r);
  return OSQ_OK;
}

static void test_huawei_rank1(void **state) {
  hits h = {0};
  assert_int_equal(search("화웨이", 10, 0, &h), OSQ_OK);
  assert_true(h.n >= 1);
  assert_string_equal(h.doc[0], "corpus/openstack/seed-article.txt");
  assert_non_null(strstr(h.passage[0], "새로운 스폰서로 화웨이가 참여했다"));
  hits_free(&h);
}

/* Passages with the word rank above passages without it. */
static void assert_word_first(const hits *h, const char *word) {
  int seen_without = 0;
  for (size_t i = 0; i < h->n; i++) {
    int has = holds(h, i, word);
    if (!has) seen_without = 1;
    else if (seen_without) fail_msg("result %zu contains %s but ranks below one without it", i + 1, word);
  }
}

/* A one-word query: the passages that hold the word whole rank above those
 * that only share its grams (../shared/KOREAN-SEARCH.md), for words whose
 * grams are frequent elsewhere: 중국인 (중국 + 국인 of 의장국인), 바이두
 * (바이러스, 이 두), 치후360 (설치 후), 클라우드스택 (클라우드), 아이치이
 * (its tail looks like a particle).  All of these failed before the
 * whole-word bonus. */
static void test_whole_word_first(void **state) {
  const char *words[] = {"중국인", "바이두", "치후360", "클라우드스택", "아이치이", "화웨이", "오픈스택재단"};
  for (size_t q = 0; q < sizeof words / sizeof *words; q++) {
    hits h = {0}, ph = {0};
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", words[q]);
    assert_int_equal(search(words[q], 10, 0, &h), OSQ_OK);
    assert_int_equal(search(quoted, 10, 0, &ph), OSQ_OK);
    if (ph.n == 0) fail_msg("%s: the corpus should hold it", words[q]);
    /* the top min(10, passages holding it) all hold it */
    for (size_t i = 0; i < ph.n && i < h.n; i++)
      if (!holds(&h, i, words[q]))
        fail_msg("%s: result %zu does not hold the word, though %zu passages do", words[q], i + 1, ph.n);
    assert_word_first(&h, words[q]);
    hits_free(&h);
    hits_free(&ph);
  }
}

static void test_particle(void **state) {
  hits h = {0};
  assert_int_equal(search("화웨이가", 20, 0, &h), OSQ_OK);
  assert_true(h.n >= 1);
  assert_non_null(strstr(h.passage[0], "화웨이"));
  assert_word_first(&h, "화웨이");
  hits_free(&h);
}

static void test_spacing(void **state) {
  hits a = {0}, b = {0};
  assert_int_equal(search("오픈 스택", 20, 0, &a), OSQ_OK);
  assert_int_equal(search("오픈스택", 20, 0, &b), OSQ_OK);
  assert_int_equal(a.n, 20);
  assert_int_equal(a.n, b.n);
  for (size_t i = 0; i < a.n; i++) {
    assert_true(holds(&a, i, "오픈스택"));
    assert_true(holds(&b, i, "오픈스택"));
    /* the same passages, ranked the same way */
    assert_string_equal(a.passage[i], b.passage[i]);
  }
  hits_free(&a);
  hits_free(&b);
}

/* The spaced form in a document is found by the unspaced query. */
static void test_spacing_reverse(void **state) {
  hits h = {0};
  assert_int_equal(search("가상머신", 50, 0, &h), OSQ_OK);
  int spaced = 0;
  for (size_t i = 0; i < h.n; i++)
    if (strstr(h.passage[i], "가상 머신") && !strstr(h.passage[i], "가상머신")) spaced = 1;
  assert_true(spaced);
  hits_free(&h);
}

/* Ground truth for one-syllable queries: passages of the corpus, cut the way
 * the writer cuts them, that contain the syllable. */
static size_t count_passages_with(const char *needle) {
  const char *paths[1] = {corpus_dir};
  osq_source *src;
  assert_int_equal(osq_source_open(paths, 1, NULL, NULL, &src), OSQ_OK);
  size_t count = 0;
  osq_doc d;
  while (osq_source_next(src, &d) == OSQ_OK) {
    /* the passages as the writer cuts them: a passage holds the needle in
     * its text, its section heading or (with sections) its document's title */
    osq_doc_passage *ps = NULL;
    long n = osq_cut_document(&d, NULL, &ps);
    assert_true(n >= 0);
    for (long i = 0; i < n; i++)
      count += strstr(ps[i].text, needle) || strstr(ps[i].section, needle) ||
               (ps[i].title_context && d.title && strstr(d.title, needle));
    free(ps);
  }
  osq_source_close(src);
  return count;
}

/* Decomposed text (NFD, as macOS writes it) is cut into the same passages as
 * its precomposed form: every document of the corpus, decomposed, gives as
 * many passages, each the decomposed form of the precomposed one (passage
 * sizes count a syllable once, not once per jamo, and no cut splits one). */
static void test_nfd_cuts_like_nfc(void **state) {
  const char *paths[1] = {corpus_dir};
  osq_source *src;
  assert_int_equal(osq_source_open(paths, 1, NULL, NULL, &src), OSQ_OK);
  osq__cut *a = NULL, *b = NULL;
  size_t acap = 0, bcap = 0, docs = 0, changed = 0;
  osq_doc d;
  while (osq_source_next(src, &d) == OSQ_OK) {
    char *nfc = strndup(d.text, d.text_len);
    assert_non_null(nfc);
    char *nfd = (char *)utf8proc_NFD((const utf8proc_uint8_t *)nfc);
    assert_non_null(nfd);
    long na = osq__cut_passages(nfc, strlen(nfc), 80, 600, 100, &a, &acap);
    long nb = osq__cut_passages(nfd, strlen(nfd), 80, 600, 100, &b, &bcap);
    if (na != nb) fail_msg("%s: %ld passages precomposed, %ld decomposed", d.id, na, nb);
    for (long i = 0; i < na; i++) {
      char *pa = strndup(nfc + a[i].start, a[i].end - a[i].start);
      char *pb = strndup(nfd + b[i].start, b[i].end - b[i].start);
      /* compared in NFC: NFD also maps compatibility ideographs (U+F90A) */
      char *pa_nfc = (char *)utf8proc_NFC((const utf8proc_uint8_t *)pa);
      char *pb_nfc = (char *)utf8proc_NFC((const utf8proc_uint8_t *)pb);
      if (strcmp(pa_nfc, pb_nfc)) fail_msg("%s: passage %ld differs when decomposed", d.id, i);
      free(pa);
      free(pa_nfc);
      free(pb);
      free(pb_nfc);
    }
    changed += strcmp(nfc, nfd) != 0;
    docs++;
    free(nfc);
    free(nfd);
  }
  free(a);
  free(b);
  osq_source_close(src);
  assert_true(docs > 1000 && changed > 1000);
}

/* Joining codepoints join at most a few to one character: a run of a
 * hundred thousand combining accents ("Zalgo" text) or stray jamo is cut
 * like any long text, not kept as one character no cut may split (which
 * once made a 2 MB passage, and past 64 MB an index no reader accepts). */
static void test_joining_runs_are_cut(void **state) {
  const char *marks[] = {"\xcc\x81", "\xe1\x85\xa1"}; /* U+0301, U+1161 */
  for (size_t m = 0; m < 2; m++) {
    size_t ml = strlen(marks[m]), n = 0, cap = 64 + 100000 * ml;
    char *t = malloc(cap);
    assert_non_null(t);
    n += (size_t)sprintf(t, "가나다 a");
    for (int i = 0; i < 100000; i++, n += ml) memcpy(t + n, marks[m], ml);
    n += (size_t)sprintf(t + n, " 끝");
    osq_passage_cut *cuts = NULL;
    long k = osq_cut_passages(t, n, NULL, &cuts);
    assert_true(k > 100000 / 9 / 600);
    for (long i = 0; i < k; i++)
      if (cuts[i].end - cuts[i].start > 600 * 9 * 4) fail_msg("passage %ld of %u bytes", i, cuts[i].end - cuts[i].start);
    free(cuts);
    free(t);
  }
}

static void test_one_syllable(void **state) {
  hits h = {0};
  assert_int_equal(search("국", 100000, 0, &h), OSQ_OK);
  for (size_t i = 0; i < h.n; i++)
    if (!holds(&h, i, "국")) fail_msg("result %zu has no 국: %s", i + 1, h.passage[i]);
  size_t truth = count_passages_with("국");
  assert_true(truth > 100);
  assert_int_equal(h.n, truth);
  hits_free(&h);
}

static void test_exclusion(void **state) {
  hits h = {0};
  assert_int_equal(search("클라우드스택 -오픈스택", 1000, 0, &h), OSQ_OK);
  assert_true(h.n >= 1);
  for (size_t i = 0; i < h.n; i++)
    if (strstr(h.passage[i], "오픈스택")) fail_msg("result %zu contains 오픈스택", i + 1);
  hits_free(&h);
}

static void test_phrase(void **state) {
  hits h = {0};
  assert_int_equal(search("\"오픈스택 재단\"", 1000, 0, &h), OSQ_OK);
  assert_true(h.n >= 3);
  for (size_t i = 0; i < h.n; i++)
    assert_true(strstr(h.passage[i], "오픈스택 재단") || strstr(h.passage[i], "오픈스택재단"));
  hits_free(&h);
}

static void test_nfd_equals_nfc(void **state) {
  /* 화웨이 and 오픈스택 in NFD (conjoining jamo). */
  const char *nfd_huawei = "\xe1\x84\x92\xe1\x85\xaa\xe1\x84\x8b\xe1\x85\xb0\xe1\x84\x8b\xe1\x85\xb5";
  const char *pairs[][2] = {{"화웨이", nfd_huawei}};
  for (size_t p = 0; p < sizeof pairs / sizeof *pairs; p++) {
    hits a = {0}, b = {0};
    assert_int_equal(search(pairs[p][0], 20, 0, &a), OSQ_OK);
    assert_int_equal(search(pairs[p][1], 20, 0, &b), OSQ_OK);
    assert_true(a.n > 0);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
      assert_string_equal(a.doc[i], b.doc[i]);
      assert_string_equal(a.passage[i], b.passage[i]);
    }
    hits_free(&a);
    hits_free(&b);
  }
}

static void test_fullwidth_query(void **state) {
  hits a = {0}, b = {0};
  assert_int_equal(search("ＮＡＳＡ", 10, 0, &a), OSQ_OK);
  assert_int_equal(search("nasa", 10, 0, &b), OSQ_OK);
  assert_true(a.n >= 1);
  assert_int_equal(a.n, b.n);
  for (size_t i = 0; i < a.n; i++) assert_string_equal(a.passage[i], b.passage[i]);
  assert_non_null(strstr(a.passage[0], "NASA"));
  hits_free(&a);
  hits_free(&b);
}

/* Query syntax typed in full-width or typographic forms means what the
 * ASCII syntax means: a phrase stays a phrase (4 passages, not the 300 that
 * hold either word), an exclusion excludes. */
static void test_fullwidth_syntax(void **state) {
  const char *pairs[][2] = {{"\"오픈스택 재단\"", "“오픈스택 재단”"},
                            {"\"오픈스택 재단\"", "＂오픈스택 재단＂"},
                            {"화웨이 -게이트웨이", "화웨이　-게이트웨이"},
                            {"+화웨이 -게이트웨이", "＋화웨이 －게이트웨이"}};
  for (size_t q = 0; q < sizeof pairs / sizeof *pairs; q++) {
    hits a = {0}, b = {0};
    assert_int_equal(search(pairs[q][0], 1000, 0, &a), OSQ_OK);
    assert_int_equal(search(pairs[q][1], 1000, 0, &b), OSQ_OK);
    if (a.n != b.n) fail_msg("'%s': %zu results, '%s': %zu", pairs[q][0], a.n, pairs[q][1], b.n);
    for (size_t i = 0; i < a.n; i++)
      if (strcmp(a.passage[i], b.passage[i]) || a.score[i] != b.score[i])
        fail_msg("'%s' and '%s' differ at result %zu", pairs[q][0], pairs[q][1], i + 1);
    if (strstr(pairs[q][0], "게이트웨이"))
      for (size_t i = 0; i < b.n; i++)
        if (strstr(b.passage[i], "게이트웨이")) fail_msg("'%s' returned an excluded passage", pairs[q][1]);
    hits_free(&a);
    hits_free(&b);
  }
}

/* A phrase marks whole occurrences of the phrase only: every span of
 * "오픈스택 재단" reads 오픈스택재단 or 오픈스택 재단, never a lone 오픈스택
 * (which the same passages hold, and plain words do mark). */
static void test_phrase_highlights_whole_phrase(void **state) {
  osq_results *r;
  assert_int_equal(osq_search(ix, "\"오픈스택 재단\"", strlen("\"오픈스택 재단\""), NULL, &r), OSQ_OK);
  size_t n = osq_results_count(r), spans = 0;
  assert_true(n >= 3);
  for (size_t i = 0; i < n; i++) {
    osq_hit h;
    assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
    assert_true(h.nspans >= 1);
    for (size_t k = 0; k < h.nspans; k++, spans++) {
      char buf[64];
      size_t o = 0;
      for (uint32_t j = h.spans[k].start; j < h.spans[k].end && o + 1 < sizeof buf; j++)
        if (h.passage[j] != ' ') buf[o++] = h.passage[j];
      buf[o] = 0;
      if (strcmp(buf, "오픈스택재단")) fail_msg("result %zu marks '%s', not the phrase", i + 1, buf);
    }
  }
  osq_results_free(r);
  /* the same words unquoted still mark each word */
  assert_int_equal(osq_search(ix, "오픈스택 재단", strlen("오픈스택 재단"), NULL, &r), OSQ_OK);
  int lone = 0;
  for (size_t i = 0; i < osq_results_count(r); i++) {
    osq_hit h;
    assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
    for (size_t k = 0; k < h.nspans; k++)
      if (h.spans[k].end - h.spans[k].start == strlen("오픈스택") &&
          !memcmp(h.passage + h.spans[k].start, "오픈스택", strlen("오픈스택")))
        lone = 1;
  }
  assert_true(lone);
  osq_results_free(r);
}

/* Pruning must not change results: compare with exhaustive evaluation. */
static void test_pruning_is_exact(void **state) {
  const char *queries[] = {"화웨이", "오픈스택", "오픈 스택", "클라우드스택", "중국 오픈스택", "\"오픈스택 재단\"",
                           "가상머신", "인스턴스 생성", "keystone", "nova", "horizon 대시보드", "국",
                           "인스턴스 -삭제", "볼륨 OR 스냅샷", "오픈소스 소프트웨어 생태계", "화웨이가",
                           "프로젝트 사용자 역할", "NASA", "+클라우드 -오픈스택", "(볼륨 OR 스냅샷) AND 생성",
                           "바이두", "플레이버", "땅 집", "nova 인스턴스", "치후 360", "오픈스택 재단 서밋 홍콩 중국 개발자",
                           "\"오픈스택, 재단\"", "윌리엄 브래드포드는 플리머스 식민지에서 몇 년 동안 총독으로 재직했나요?"};
  for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
    hits a = {0}, b = {0};
    assert_int_equal(search(queries[q], 10, 0, &a), OSQ_OK);
    assert_int_equal(search(queries[q], 10, 1, &b), OSQ_OK);
    if (a.n != b.n) fail_msg("%s: %zu vs %zu results", queries[q], a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
      if (strcmp(a.passage[i], b.passage[i]) || a.score[i] != b.score[i])
        fail_msg("%s: result %zu differs with pruning", queries[q], i + 1);
    }
    hits_free(&a);
    hits_free(&b);
  }
}

/* merge and check read passages through a cache of the last store block:
 * every passage's text must be the one read on its own, whether the pids
 * come in order (each block decompressed once), backwards or by strides
 * (a miss, or a hit past what was decompressed, at every step). */
static void test_store_cache_texts(void **state) {
  osq__manifest m;
  assert_int_equal(osq__manifest_read(index_dir, &m), OSQ_OK);
  size_t compared = 0;
  for (uint32_t s = 0; s < m.nsegs; s++) {
    char name[64], path[4200];
    osq__segment_name(m.segs[s].number, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", index_dir, name);
    osq__segment seg;
    assert_int_equal(osq__segment_open(path, &seg), OSQ_OK);
    osq__store_cache sc = {0};
    const uint32_t n = seg.npassages, strides[] = {1, 0 /* backwards */, 7};
    for (size_t k = 0; k < 3; k++) {
      for (uint32_t j = 0; j < n; j++) {
        uint32_t pid = strides[k] == 0 ? n - 1 - j : (uint32_t)(((uint64_t)j * strides[k]) % n);
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        assert_int_equal(osq__segment_passage_text(&seg, pid, &a, &al), OSQ_OK);
        assert_int_equal(osq__segment_passage_text_cached(&seg, &sc, pid, &b, &bl), OSQ_OK);
        if (al != bl || memcmp(a, b, al)) fail_msg("%s: passage %u differs through the store cache", name, pid);
        free(a);
        free(b);
        compared++;
      }
    }
    osq__store_cache_free(&sc);
    osq__segment_close(&seg);
  }
  osq__manifest_free(&m);
  assert_true(compared > 10000);
}

static void test_bad_query(void **state) {
  osq_results *r = NULL;
  assert_int_equal(osq_search(ix, "\xff\xfe", 2, NULL, &r), OSQ_E_UTF8);
  assert_null(r);
  assert_non_null(strstr(osq_last_error(), "offset 0"));
  /* malformed syntax is not an error */
  const char *odd[] = {"\"오픈스택", "(화웨이", "화웨이)", "AND", "OR OR", "-", "+", "()", "\"\"", "NOT", "a AND"};
  for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
    assert_int_equal(osq_search(ix, odd[i], strlen(odd[i]), NULL, &r), OSQ_OK);
    osq_results_free(r);
  }
}

/* One-word queries (../shared/queries/openstack-ko.txt): every result that
 * is a match holds the word (spaces aside), or its stem for a word with a
 * particle; results that only share pieces come after the matches, and the
 * count of matches is the count of passages holding the word.  Before,
 * 91 of the 280 top-10 results of these queries lacked the word
 * (게이트웨이 for 화웨이, 이 두 for 바이두, 당시 트럭 for 시트릭스). */
static void test_matches_hold_the_word(void **state) {
  const char *words[][2] = {{"화웨이", "화웨이"}, {"바이두", "바이두"}, {"시트릭스", "시트릭스"}, {"아이치이", "아이치"},
                            {"치후360", "치후360"}, {"시트립", "시트립"}, {"미란티스", "미란티스"}, {"클라우드스택", "클라우드스택"},
                            {"오픈스택재단", "오픈스택재단"}, {"화웨이가", "화웨이"}, {"플레이버", "플레이버"}};
  for (size_t q = 0; q < sizeof words / sizeof *words; q++) {
    osq_results *r;
    osq_search_options so = {.k = 10};
    assert_int_equal(osq_search(ix, words[q][0], strlen(words[q][0]), &so, &r), OSQ_OK);
    osq_results_summary sum;
    osq_results_get_summary(r, &sum);
    size_t n = osq_results_count(r), holding = 0;
    for (size_t i = 0; i < n; i++) {
      osq_hit h;
      assert_int_equal(osq_results_get(r, i, &h), OSQ_OK);
      char *flat = malloc(h.passage_len + 1);
      size_t o = 0;
      for (size_t j = 0; j < h.passage_len; j++)
        if (h.passage[j] != ' ') flat[o++] = h.passage[j];
      flat[o] = 0;
      int has = strstr(flat, words[q][1]) != NULL;
      free(flat);
      if (osq_results_is_exact(r, i)) {
        if (i && !osq_results_is_exact(r, i - 1)) fail_msg("%s: a match after a non-match", words[q][0]);
        if (!has) fail_msg("%s: match %zu lacks %s: %s", words[q][0], i + 1, words[q][1], h.passage);
        holding++;
      }
      if (strstr(h.passage, "이 두려") || strstr(h.passage, "당시 트럭") || strstr(h.passage, "게이트웨이"))
        fail_msg("%s: result %zu shares a bigram only: %s", words[q][0], i + 1, h.passage);
    }
    if (holding != sum.exact_hits) fail_msg("%s: %zu matches, summary says %zu", words[q][0], holding, sum.exact_hits);
    if (!sum.at_least && sum.passages != holding && holding < 10)
      fail_msg("%s: %llu passages match, %zu shown", words[q][0], (unsigned long long)sum.passages, holding);
    if (!strcmp(words[q][0], "플레이버")) assert_int_equal(sum.passages, 0);
    else assert_true(sum.passages >= 1);
    osq_results_free(r);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_corpus INDEX CORPUS_DIR\n");
    return 2;
  }
  index_dir = argv[1];
  corpus_dir = argv[2];
  if (osq_index_open(index_dir, &ix) != OSQ_OK) {
    fprintf(stderr, "cannot open %s: %s\n", index_dir, osq_last_error());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_huawei_rank1),   cmocka_unit_test(test_particle),
      cmocka_unit_test(test_whole_word_first),
      cmocka_unit_test(test_spacing),        cmocka_unit_test(test_spacing_reverse),
      cmocka_unit_test(test_one_syllable),   cmocka_unit_test(test_exclusion),
      cmocka_unit_test(test_phrase),         cmocka_unit_test(test_nfd_equals_nfc),
      cmocka_unit_test(test_fullwidth_query), cmocka_unit_test(test_pruning_is_exact),
      cmocka_unit_test(test_bad_query),      cmocka_unit_test(test_store_cache_texts),
      cmocka_unit_test(test_fullwidth_syntax), cmocka_unit_test(test_nfd_cuts_like_nfc),
      cmocka_unit_test(test_joining_runs_are_cut),
      cmocka_unit_test(test_phrase_highlights_whole_phrase),
      cmocka_unit_test(test_matches_hold_the_word),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  osq_index_close(ix);
  return rc;
}
