/*
 * fuzz_query.c -- libFuzzer harness for the query parser and the search.
 *
 * Every input is parsed by osq__query_parse (which must never fail on
 * syntax: only OSQ_E_NOMEM is an error) and dumped, then searched with
 * osq_search in a small index built once at startup in a temporary
 * directory; every hit is materialized (passage, highlights, explanation).
 * The same input goes through the search box (osq_box_search: 초성, keyboard
 * layout, word*, aliases, corrections) and completion (osq_suggest).
 * A status other than OSQ_OK, OSQ_E_UTF8 (for input that is not UTF-8) or
 * OSQ_E_NOMEM, or a highlight outside its passage, aborts.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osq/osq.h"
#include "query.h"
#include "../common/osq_test_util.h"

static const char *const DOCS[][3] = {
    {"d1", "화웨이 클라우드", "화웨이가 오픈스택 재단의 골드 멤버가 되었다. 화웨이는 클라우드 사업을 키운다."},
    {"d2", "게이트웨이", "게이트웨이 설정: 네트워크 노드에서 라우터와 게이트웨이를 만든다.\n\n볼륨 스냅샷은 cinder가 만든다."},
    {"d3", "", "오픈 스택 설치 안내. Nova, Neutron, Cinder, Keystone 2016년 3월 12일 제12조 1의 2"},
    {"d4", "국", "국립 연구소의 수퍼컴퓨터. 국 한 그릇. 미국 정부는 세계 최고 연구를 했다."},
    {"d5", "NFD", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab\xea\xb8\x80 ＡＢＣ full-width 가상 머신 가상머신"},
};

static char dir[4096];
static osq_index *ix;
static osq_box *box;

static void cleanup(void) {
  osq_box_close(box);
  osq_index_close(ix);
  if (dir[0]) osqt_rm_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (!osqt_mkdtemp(dir, sizeof dir, "osq-fuzz-query")) abort();
  atexit(cleanup);
  osq_writer *w;
  if (osq_writer_open(dir, NULL, &w)) abort();
  for (size_t i = 0; i < sizeof DOCS / sizeof *DOCS; i++) {
    osq_doc d;
    memset(&d, 0, sizeof d);
    d.id = DOCS[i][0];
    d.title = DOCS[i][1];
    d.text = DOCS[i][2];
    d.text_len = strlen(d.text);
    if (osq_writer_add(w, &d)) abort();
    if (i == 2 && osq_writer_commit(w)) abort(); /* two segments */
  }
  if (osq_writer_commit(w)) abort();
  osq_writer_close(w);
  if (osq_index_open(dir, &ix)) abort();
  if (osq_box_open(ix, NULL, &box)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *q = (const char *)data;
  osq__qnode *root = NULL;
  int fallback = 0;
  int rc = osq__query_parse(q, size, &root, &fallback);
  if (rc == OSQ_E_NOMEM) return 0;
  if (rc != OSQ_OK || !root) abort();
  osq__buf b = {0};
  osq__query_dump(root, &b);
  osq__buf_free(&b);
  osq__query_free(root);

  osq_suggestion *sg;
  size_t nsg;
  rc = osq_suggest(ix, q, size, 10, &sg, &nsg);
  if (rc != OSQ_OK && rc != OSQ_E_NOMEM) abort();
  if (rc == OSQ_OK) osq_suggestions_free(sg, nsg);

  for (int mode = 0; mode < 3; mode++) {
    osq_search_options so;
    memset(&so, 0, sizeof so);
    so.k = mode == 1 ? 3 : 10;
    so.explain = mode == 1;
    so.no_prune = mode == 1;
    osq_results *r = NULL;
    osq_box_report rep;
    if (mode == 2) {
      rc = osq_box_search(box, q, size, &so, &r, &rep);
      if (rc == OSQ_OK) osq_box_report_free(&rep);
    } else {
      rc = osq_search(ix, q, size, &so, &r);
    }
    if (rc == OSQ_E_UTF8 || rc == OSQ_E_NOMEM) return 0;
    if (rc != OSQ_OK) {
      fprintf(stderr, "osq_search: %s (%s)\n", osq_err_name(rc), osq_last_error());
      abort();
    }
    for (size_t i = 0; i < osq_results_count(r); i++) {
      osq_hit hit;
      if (osq_results_get(r, i, &hit) != OSQ_OK) abort();
      uint32_t end = 0;
      for (size_t s = 0; s < hit.nspans; s++) {
        if (hit.spans[s].start < end || hit.spans[s].end <= hit.spans[s].start || hit.spans[s].end > hit.passage_len) {
          fprintf(stderr, "span %zu [%u, %u) of a %zu-byte passage\n", s, hit.spans[s].start, hit.spans[s].end,
                  hit.passage_len);
          abort();
        }
        end = hit.spans[s].end;
      }
    }
    osq_results_free(r);
  }
  return 0;
}
