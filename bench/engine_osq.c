/*
 * engine_osq.c -- osq through its public API: osq_writer to build,
 * osq_index + osq_search to query, default options throughout.  osq-box:
 * the same index queried through the search box (osq_box_search: 초성,
 * keyboard layout, word*, aliases, corrections; core/rewrite.c), as the
 * osq command line queries it, to measure what the box costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int add_doc(void *ctx, const osq_doc *doc, char *err, size_t errlen) {
  int rc = osq_writer_add(ctx, doc);
  if (rc != OSQ_OK)
    snprintf(err, errlen, "osq_writer_add(%s): %s (%s)", doc->id, osq_strerror(rc),
             osq_last_error());
  return rc;
}

/* osq reads the documents in either unit: cutting passages is its own job
 * (what --unit passage hands the peers is exactly what osq_writer_add makes
 * of each document), and a passage given to it as a document would be cut
 * again and, with no title, lose the title's boost. */
static int osq_build(const char *dir, const bench_corpus *corpus,
                     bench_read_stats *st, char *err, size_t errlen) {
  bench_corpus docs = *corpus;
  docs.unit = BENCH_UNIT_DOC;
  osq_writer *w = NULL;
  int rc = osq_writer_open(dir, NULL, &w);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "osq_writer_open(%s): %s (%s)", dir, osq_strerror(rc),
             osq_last_error());
    return rc;
  }
  rc = bench_read_corpus(&docs, add_doc, w, st, err, errlen);
  if (rc == OSQ_OK && (rc = osq_writer_commit(w)) != OSQ_OK)
    snprintf(err, errlen, "osq_writer_commit: %s (%s)", osq_strerror(rc), osq_last_error());
  osq_writer_close(w);
  return rc;
}

static int osq_open(const char *dir, void **handle, char *err, size_t errlen) {
  osq_index *ix = NULL;
  int rc = osq_index_open(dir, &ix);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "osq_index_open(%s): %s (%s)", dir, osq_strerror(rc),
             osq_last_error());
    return rc;
  }
  *handle = ix;
  return OSQ_OK;
}

static int osq_query_with(osq_index *ix, osq_box *box, const bench_query *q, bench_ids *ids,
                          char *err, size_t errlen) {
  osq_search_options opts;
  memset(&opts, 0, sizeof opts);
  opts.k = BENCH_K;
  osq_results *r = NULL;
  ids->n = 0;
  osq_box_report rep;
  int rc = box ? osq_box_search(box, q->text, q->len, &opts, &r, &rep) : osq_search(ix, q->text, q->len, &opts, &r);
  if (box) osq_box_report_free(&rep);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "osq_search: %s (%s)", osq_strerror(rc), osq_last_error());
    return rc;
  }
  size_t n = osq_results_count(r);
  for (size_t i = 0; i < n && i < BENCH_K; i++) {
    osq_hit hit;
    if ((rc = osq_results_get_doc(r, i, &hit)) != OSQ_OK) {
      snprintf(err, errlen, "osq_results_get_doc: %s (%s)", osq_strerror(rc), osq_last_error());
      break;
    }
    bench_ids_push(ids, hit.doc_id, strlen(hit.doc_id));
  }
  osq_results_free(r);
  return rc;
}

static int osq_query(void *handle, const bench_query *q, bench_ids *ids,
                     char *err, size_t errlen) {
  return osq_query_with(handle, NULL, q, ids, err, errlen);
}

static void osq_close_handle(void *handle) { osq_index_close(handle); }

typedef struct box_handle {
  osq_index *ix;
  osq_box *box;
} box_handle;

static int box_open(const char *dir, void **handle, char *err, size_t errlen) {
  box_handle *h = calloc(1, sizeof *h);
  if (!h) return OSQ_E_NOMEM;
  int rc = osq_open(dir, (void **)&h->ix, err, errlen);
  if (rc == OSQ_OK && (rc = osq_box_open(h->ix, NULL, &h->box)) != OSQ_OK)
    snprintf(err, errlen, "osq_box_open: %s (%s)", osq_strerror(rc), osq_last_error());
  if (rc != OSQ_OK) {
    osq_index_close(h->ix);
    free(h);
    return rc;
  }
  *handle = h;
  return OSQ_OK;
}

static int box_query(void *handle, const bench_query *q, bench_ids *ids, char *err, size_t errlen) {
  box_handle *h = handle;
  return osq_query_with(h->ix, h->box, q, ids, err, errlen);
}

static void box_close(void *handle) {
  box_handle *h = handle;
  osq_box_close(h->box);
  osq_index_close(h->ix);
  free(h);
}

const bench_engine bench_engine_osq_box = {
    .name = "osq-box",
    .what = "osq_writer defaults; osq_box_search (the search box), k=10",
    .build = osq_build,
    .open = box_open,
    .search = box_query,
    .close = box_close,
    .db_name = "",
};

const bench_engine bench_engine_osq = {
    .name = "osq",
    .what = "osq_writer defaults; osq_search, k=10",
    .build = osq_build,
    .open = osq_open,
    .search = osq_query,
    .close = osq_close_handle,
    .db_name = "",
};
