/*
 * engine_xapian.c -- Xapian 1.4 through libosq_xapian (include/osq/xapian.h).
 *
 * "xapian" is what a Xapian user indexing Korean would do: TermGenerator
 * and QueryParser with FLAG_CJK_NGRAM, default operator OR, BM25.
 * "xapian-osqtok" feeds Xapian osq's own tokens (osq_tokenize) instead, for
 * documents and queries alike, so that a comparison can tell the tokenizer
 * from the engine: OR of the query's tokens, or a phrase of them when the
 * query is one quoted phrase.
 *
 * Both store the document id as the document data and read it back for each
 * hit.  Titles are indexed with the text ("title\n\ntext"), as osq indexes a
 * document's title as a passage of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "osq/xapian.h"

/* Longest term Xapian's glass backend takes. */
enum { XAPIAN_TERM_MAX = 245 };

typedef struct xapian_build {
  osq_xapian *db;
  osq_tokenizer *tk; /* xapian-osqtok only */
  char *buf;
  size_t cap;
  osq_xapian_term *terms;
  size_t terms_cap;
} xapian_build;

/* Turns osq tokens into Xapian terms with positions counted from 1 (Xapian
 * takes position 0 for "no position"). */
static int tokens_to_terms(const osq_token *toks, size_t ntoks,
                           osq_xapian_term **terms, size_t *cap,
                           size_t *nterms) {
  if (ntoks > *cap) {
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < ntoks) ncap *= 2;
    osq_xapian_term *p = realloc(*terms, ncap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    *terms = p;
    *cap = ncap;
  }
  size_t n = 0;
  for (size_t i = 0; i < ntoks; i++) {
    if (toks[i].len == 0 || toks[i].len > XAPIAN_TERM_MAX) continue;
    (*terms)[n].term = toks[i].term;
    (*terms)[n].len = toks[i].len;
    (*terms)[n].pos = toks[i].pos + 1;
    n++;
  }
  *nterms = n;
  return OSQ_OK;
}

static int xapian_add(void *ctx, const osq_doc *doc, char *err, size_t errlen) {
  xapian_build *b = ctx;
  size_t len;
  int rc = bench_join_title(doc, &b->buf, &b->cap, &len);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "out of memory");
    return rc;
  }
  size_t idlen = strlen(doc->id);
  if (!b->tk) {
    rc = osq_xapian_add_text(b->db, b->buf, len, doc->id, idlen, 1, NULL);
  } else {
    const osq_token *toks;
    size_t ntoks, nterms;
    rc = osq_tokenize(b->tk, b->buf, len, &toks, &ntoks, NULL);
    if (rc == OSQ_OK)
      rc = tokens_to_terms(toks, ntoks, &b->terms, &b->terms_cap, &nterms);
    if (rc != OSQ_OK) {
      snprintf(err, errlen, "osq_tokenize(%s): %s", doc->id, osq_strerror(rc));
      return rc;
    }
    rc = osq_xapian_add_terms(b->db, b->terms, nterms, doc->id, idlen, NULL);
  }
  if (rc != OSQ_OK)
    snprintf(err, errlen, "adding %s to Xapian: %s", doc->id, osq_xapian_errmsg(b->db));
  return rc;
}

static int build(const char *dir, int osqtok, const bench_corpus *corpus,
                 bench_read_stats *st, char *err, size_t errlen) {
  xapian_build b;
  memset(&b, 0, sizeof b);
  char *msg = NULL;
  int rc = osq_xapian_open(dir, OSQ_XAPIAN_CREATE, &b.db, &msg);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "opening Xapian database %s: %s", dir, msg ? msg : osq_strerror(rc));
    free(msg);
    return rc;
  }
  if (osqtok && (rc = osq_tokenizer_create(&b.tk)) != OSQ_OK) {
    snprintf(err, errlen, "osq_tokenizer_create: %s", osq_strerror(rc));
    osq_xapian_close(b.db);
    return rc;
  }
  rc = bench_read_corpus(corpus, xapian_add, &b, st, err, errlen);
  if (rc == OSQ_OK && (rc = osq_xapian_commit(b.db)) != OSQ_OK)
    snprintf(err, errlen, "Xapian commit: %s", osq_xapian_errmsg(b.db));
  osq_xapian_close(b.db);
  osq_tokenizer_close(b.tk);
  free(b.buf);
  free(b.terms);
  return rc;
}

static int xapian_build_text(const char *dir, const bench_corpus *corpus,
                             bench_read_stats *st, char *err, size_t errlen) {
  return build(dir, 0, corpus, st, err, errlen);
}

static int xapian_build_osqtok(const char *dir, const bench_corpus *corpus,
                               bench_read_stats *st, char *err, size_t errlen) {
  return build(dir, 1, corpus, st, err, errlen);
}

typedef struct xapian_reader {
  osq_xapian *db;
  osq_tokenizer *tk; /* xapian-osqtok only */
  osq_xapian_term *terms;
  size_t terms_cap;
} xapian_reader;

static int open_reader(const char *dir, int osqtok, void **handle, char *err,
                       size_t errlen) {
  xapian_reader *r = calloc(1, sizeof *r);
  if (!r) return OSQ_E_NOMEM;
  char *msg = NULL;
  int rc = osq_xapian_open(dir, OSQ_XAPIAN_READ, &r->db, &msg);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "opening Xapian database %s: %s", dir, msg ? msg : osq_strerror(rc));
    free(msg);
    free(r);
    return rc;
  }
  if (osqtok && (rc = osq_tokenizer_create(&r->tk)) != OSQ_OK) {
    osq_xapian_close(r->db);
    free(r);
    return rc;
  }
  *handle = r;
  return OSQ_OK;
}

static int xapian_open_text(const char *dir, void **handle, char *err,
                            size_t errlen) {
  return open_reader(dir, 0, handle, err, errlen);
}

static int xapian_open_osqtok(const char *dir, void **handle, char *err,
                              size_t errlen) {
  return open_reader(dir, 1, handle, err, errlen);
}

static int collect(xapian_reader *r, osq_xapian_results *res, bench_ids *ids) {
  size_t n = osq_xapian_results_count(res);
  for (size_t i = 0; i < n && i < BENCH_K; i++) {
    const char *data;
    size_t len;
    if (osq_xapian_results_get(res, i, NULL, NULL, &data, &len) == OSQ_OK)
      bench_ids_push(ids, data, len);
  }
  osq_xapian_results_free(res);
  (void)r;
  return OSQ_OK;
}

static int xapian_search_text(void *handle, const bench_query *q,
                              bench_ids *ids, char *err, size_t errlen) {
  xapian_reader *r = handle;
  osq_xapian_results *res = NULL;
  ids->n = 0;
  int rc = osq_xapian_query(r->db, q->text, q->len, 1, BENCH_K, &res);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "%s", osq_xapian_errmsg(r->db));
    return rc;
  }
  return collect(r, res, ids);
}

static int xapian_search_osqtok(void *handle, const bench_query *q,
                                bench_ids *ids, char *err, size_t errlen) {
  xapian_reader *r = handle;
  const char *text = q->text;
  size_t len = q->len;
  if (q->phrase) { /* without its quotes */
    text++;
    len -= 2;
  }
  const osq_token *toks;
  size_t ntoks, nterms;
  ids->n = 0;
  int rc = osq_tokenize(r->tk, text, len, &toks, &ntoks, NULL);
  if (rc == OSQ_OK)
    rc = tokens_to_terms(toks, ntoks, &r->terms, &r->terms_cap, &nterms);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "osq_tokenize: %s", osq_strerror(rc));
    return rc;
  }
  osq_xapian_results *res = NULL;
  rc = osq_xapian_query_terms(r->db, r->terms, nterms,
                              q->phrase ? OSQ_XAPIAN_Q_TERMS_PHRASE : OSQ_XAPIAN_Q_TERMS_OR,
                              BENCH_K, &res);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "%s", osq_xapian_errmsg(r->db));
    return rc;
  }
  return collect(r, res, ids);
}

static void xapian_close_handle(void *handle) {
  xapian_reader *r = handle;
  if (!r) return;
  osq_xapian_close(r->db);
  osq_tokenizer_close(r->tk);
  free(r->terms);
  free(r);
}

const bench_engine bench_engine_xapian = {
    .name = "xapian",
    .what = "Xapian 1.4 TermGenerator + QueryParser, FLAG_CJK_NGRAM, OR, BM25, k=10",
    .build = xapian_build_text,
    .open = xapian_open_text,
    .search = xapian_search_text,
    .close = xapian_close_handle,
    .db_name = "",
};

const bench_engine bench_engine_xapian_osqtok = {
    .name = "xapian-osqtok",
    .what = "Xapian 1.4 fed osq_tokenize terms; OR of query tokens (phrase if quoted), BM25, k=10",
    .build = xapian_build_osqtok,
    .open = xapian_open_osqtok,
    .search = xapian_search_osqtok,
    .close = xapian_close_handle,
    .db_name = "",
};
