/*
 * inputs.c -- what osbench reads besides the engines' indexes: the corpus
 * (through osq_source, for every engine alike), query logs and relevance
 * judgments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ------------------------------------------------------------------------
 * Corpus
 * ---------------------------------------------------------------------- */

/* Warnings shown before they are only counted. */
enum { WARNINGS_SHOWN = 10 };

static void on_warning(void *ctx, const char *path, uint64_t line,
                       const char *message) {
  bench_read_stats *st = ctx;
  if (st->warnings < WARNINGS_SHOWN) {
    if (line)
      fprintf(stderr, "osbench: %s:%llu: %s\n", path, (unsigned long long)line, message);
    else
      fprintf(stderr, "osbench: %s: %s\n", path, message);
  } else if (st->warnings == WARNINGS_SHOWN) {
    fprintf(stderr, "osbench: (further input warnings are only counted)\n");
  }
  st->warnings++;
}

/* Hands fn the passages osq_writer_add makes of doc, each as a document of
 * its own (BENCH_UNIT_PASSAGE).  The title rule is the writer's (writer.c,
 * osq_writer_add): the title is a passage of its own unless it is empty,
 * 4096 bytes or longer, or the text begins with it after white space; the
 * text is cut by osq_cut_passages with the writer's default options. */
static int each_passage(const osq_doc *doc, bench_doc_fn fn, void *ctx,
                        bench_read_stats *st, char *err, size_t errlen) {
  osq_doc p = *doc;
  p.title = NULL;
  const char *title = doc->title ? doc->title : "";
  size_t tlen = strlen(title), lead = 0;
  while (lead < doc->text_len && (doc->text[lead] == ' ' || doc->text[lead] == '\t' ||
                                  doc->text[lead] == '\r' || doc->text[lead] == '\n'))
    lead++; /* writer.c's is_ws */
  if (tlen > 0 && doc->text_len - lead >= tlen && memcmp(doc->text + lead, title, tlen) == 0)
    tlen = 0;
  if (tlen > 0 && tlen < 4096) {
    p.text = title;
    p.text_len = tlen;
    st->units++;
    int rc = fn ? fn(ctx, &p, err, errlen) : OSQ_OK;
    if (rc != OSQ_OK) return rc;
  }
  osq_passage_cut *cuts = NULL;
  long n = osq_cut_passages(doc->text, doc->text_len, NULL, &cuts);
  if (n < 0) {
    snprintf(err, errlen, "out of memory cutting %s into passages", doc->id);
    return (int)n;
  }
  int rc = OSQ_OK;
  for (long i = 0; i < n && rc == OSQ_OK; i++) {
    p.text = doc->text + cuts[i].start;
    p.text_len = cuts[i].end - cuts[i].start;
    st->units++;
    if (fn) rc = fn(ctx, &p, err, errlen);
  }
  free(cuts);
  return rc;
}

int bench_read_corpus(const bench_corpus *corpus, bench_doc_fn fn, void *ctx,
                      bench_read_stats *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  osq_source *src = NULL;
  int rc = osq_source_open((const char *const *)corpus->paths, corpus->npaths, on_warning, st,
                           &src);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "cannot read the corpus: %s", osq_strerror(rc));
    return rc;
  }
  osq_doc doc;
  while ((rc = osq_source_next(src, &doc)) == OSQ_OK) {
    st->documents++;
    st->text_bytes += doc.text_len;
    if (doc.title) st->title_bytes += strlen(doc.title);
    if (corpus->unit == BENCH_UNIT_PASSAGE) {
      if ((rc = each_passage(&doc, fn, ctx, st, err, errlen)) != OSQ_OK) break;
    } else {
      st->units++;
      if (fn && (rc = fn(ctx, &doc, err, errlen)) != OSQ_OK) break;
    }
  }
  if (rc == OSQ_DONE) rc = OSQ_OK;
  else if (!err[0])
    snprintf(err, errlen, "reading the corpus: %s", osq_strerror(rc));
  osq_source_close(src);
  if (rc == OSQ_OK && st->documents == 0) {
    snprintf(err, errlen, "the corpus holds no document (.txt, .jsonl, .jsonl.gz)");
    rc = OSQ_E_NOTFOUND;
  }
  return rc;
}

int bench_join_title(const osq_doc *doc, char **buf, size_t *cap,
                     size_t *len) {
  size_t tlen = doc->title ? strlen(doc->title) : 0;
  size_t need = tlen + 2 + doc->text_len + 1;
  if (need > *cap) {
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need) ncap *= 2;
    char *p = realloc(*buf, ncap);
    if (!p) return OSQ_E_NOMEM;
    *buf = p;
    *cap = ncap;
  }
  size_t n = 0;
  if (tlen) {
    memcpy(*buf, doc->title, tlen);
    memcpy(*buf + tlen, "\n\n", 2);
    n = tlen + 2;
  }
  if (doc->text_len) memcpy(*buf + n, doc->text, doc->text_len);
  n += doc->text_len;
  (*buf)[n] = '\0';
  *len = n;
  return OSQ_OK;
}

void bench_utf8_trim(char *s) {
  size_t n = strlen(s), lead = n;
  /* Back over continuation bytes (at most three) to the lead byte. */
  while (lead > 0 && n - lead < 4 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80) lead--;
  if (lead == 0) return;
  unsigned char c = (unsigned char)s[lead - 1];
  size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  if (n - (lead - 1) < want) s[lead - 1] = '\0';
}

void bench_ids_push(bench_ids *ids, const char *id, size_t len) {
  if (ids->n >= BENCH_K) return;
  if (len > BENCH_ID_MAX - 1) len = BENCH_ID_MAX - 1;
  memcpy(ids->id[ids->n], id, len);
  ids->id[ids->n][len] = '\0';
  ids->n++;
}

/* ------------------------------------------------------------------------
 * Query logs
 * ---------------------------------------------------------------------- */

/* Index of name in *names, appended if new; -1 when out of memory. */
static int intern(char ***names, size_t *n, const char *name, size_t len) {
  for (size_t i = 0; i < *n; i++)
    if (strlen((*names)[i]) == len && memcmp((*names)[i], name, len) == 0)
      return (int)i;
  char **p = realloc(*names, (*n + 1) * sizeof *p);
  if (!p) return -1;
  *names = p;
  if (!(p[*n] = strndup(name, len))) return -1;
  return (int)(*n)++;
}

static void chomp(char *line, size_t *len) {
  while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r'))
    line[--*len] = '\0';
}

static int is_blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

/* A query that is one quoted phrase and nothing else. */
static int whole_phrase(const char *q, size_t len) {
  if (len < 2 || q[0] != '"' || q[len - 1] != '"') return 0;
  return memchr(q + 1, '"', len - 2) == NULL;
}

void bench_querylog_free(bench_querylog *ql) {
  if (!ql) return;
  for (size_t i = 0; i < ql->n; i++) {
    free(ql->q[i].text);
    free(ql->q[i].qid);
  }
  free(ql->q);
  for (size_t i = 0; i < ql->nkinds; i++) free(ql->kinds[i]);
  free(ql->kinds);
  for (size_t i = 0; i < ql->nbuckets; i++) free(ql->buckets[i]);
  free(ql->buckets);
  free(ql->path);
  memset(ql, 0, sizeof *ql);
}

int bench_querylog_load(const char *path, int as_eval, size_t limit,
                        bench_querylog *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open query file %s: %s", path, strerror(errno));
    return OSQ_E_IO;
  }
  int rc = OSQ_OK;
  char *line = NULL;
  size_t linecap = 0, cap = 0;
  ssize_t got;
  uint64_t lineno = 0;
  if (!(out->path = strdup(path))) rc = OSQ_E_NOMEM;
  while (rc == OSQ_OK && (limit == 0 || out->n < limit) &&
         (got = getline(&line, &linecap, f)) >= 0) {
    lineno++;
    size_t len = (size_t)got;
    chomp(line, &len);
    if (is_blank(line)) continue;
    const char *kind = "all", *bucket = NULL, *text = line, *qid = NULL;
    size_t kind_len = 3, bucket_len = 0, qid_len = 0;
    char *tab1 = strchr(line, '\t');
    if (as_eval) {
      if (!tab1) {
        snprintf(err, errlen, "%s:%llu: expected qid<TAB>query", path,
                 (unsigned long long)lineno);
        rc = OSQ_E_PARSE;
        break;
      }
      qid = line;
      qid_len = (size_t)(tab1 - line);
      text = tab1 + 1;
      kind = "question";
      kind_len = 8;
    } else if (tab1) {
      char *tab2 = strchr(tab1 + 1, '\t');
      kind = line;
      kind_len = (size_t)(tab1 - line);
      if (tab2) {
        bucket = tab1 + 1;
        bucket_len = (size_t)(tab2 - bucket);
        text = tab2 + 1;
      } else {
        text = tab1 + 1;
      }
    }
    if (is_blank(text)) continue;
    if (out->n == cap) {
      size_t ncap = cap ? cap * 2 : 256;
      bench_query *p = realloc(out->q, ncap * sizeof *p);
      if (!p) {
        rc = OSQ_E_NOMEM;
        break;
      }
      out->q = p;
      cap = ncap;
    }
    bench_query *q = &out->q[out->n];
    memset(q, 0, sizeof *q);
    q->len = strlen(text);
    q->text = strndup(text, q->len);
    q->qid = qid ? strndup(qid, qid_len) : NULL;
    q->kind = intern(&out->kinds, &out->nkinds, kind, kind_len);
    q->bucket = bucket ? intern(&out->buckets, &out->nbuckets, bucket, bucket_len) : -1;
    q->phrase = whole_phrase(text, q->len);
    out->n++;
    if (!q->text || (qid && !q->qid) || q->kind < 0 || (bucket && q->bucket < 0))
      rc = OSQ_E_NOMEM;
  }
  if (rc == OSQ_OK && ferror(f)) {
    snprintf(err, errlen, "cannot read query file %s: %s", path, strerror(errno));
    rc = OSQ_E_IO;
  }
  free(line);
  fclose(f);
  if (rc == OSQ_OK && out->n == 0) {
    snprintf(err, errlen, "query file %s holds no query", path);
    rc = OSQ_E_PARSE;
  }
  if (rc == OSQ_E_NOMEM) snprintf(err, errlen, "out of memory reading %s", path);
  if (rc != OSQ_OK) bench_querylog_free(out);
  return rc;
}

/* ------------------------------------------------------------------------
 * Judgments
 * ---------------------------------------------------------------------- */

typedef struct qrel_entry {
  char *qid;
  char **docs;
  size_t n;
} qrel_entry;

struct bench_qrels {
  qrel_entry *e; /* sorted by qid */
  size_t n;
};

typedef struct qrel_pair {
  char *qid, *doc;
} qrel_pair;

static int cmp_pair(const void *a, const void *b) {
  return strcmp(((const qrel_pair *)a)->qid, ((const qrel_pair *)b)->qid);
}

void bench_qrels_free(bench_qrels *qr) {
  if (!qr) return;
  for (size_t i = 0; i < qr->n; i++) {
    free(qr->e[i].qid);
    for (size_t j = 0; j < qr->e[i].n; j++) free(qr->e[i].docs[j]);
    free(qr->e[i].docs);
  }
  free(qr->e);
  free(qr);
}

int bench_qrels_load(const char *path, bench_qrels **out, char *err,
                     size_t errlen) {
  *out = NULL;
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, errlen, "cannot open judgments %s: %s", path, strerror(errno));
    return OSQ_E_IO;
  }
  qrel_pair *pairs = NULL;
  size_t np = 0, cap = 0;
  char *line = NULL;
  size_t linecap = 0;
  uint64_t lineno = 0;
  int rc = OSQ_OK;
  while (getline(&line, &linecap, f) >= 0) {
    lineno++;
    char *save = NULL;
    char *qid = strtok_r(line, " \t\r\n", &save);
    if (!qid) continue;
    char *iter = strtok_r(NULL, " \t\r\n", &save);
    char *doc = strtok_r(NULL, " \t\r\n", &save);
    char *rel = strtok_r(NULL, " \t\r\n", &save);
    if (!iter || !doc || !rel) {
      snprintf(err, errlen, "%s:%llu: expected \"qid 0 docid relevance\"", path,
               (unsigned long long)lineno);
      rc = OSQ_E_PARSE;
      break;
    }
    if (atoi(rel) <= 0) continue;
    if (np == cap) {
      size_t ncap = cap ? cap * 2 : 1024;
      qrel_pair *p = realloc(pairs, ncap * sizeof *p);
      if (!p) {
        rc = OSQ_E_NOMEM;
        break;
      }
      pairs = p;
      cap = ncap;
    }
    pairs[np].qid = strdup(qid);
    pairs[np].doc = strdup(doc);
    np++;
    if (!pairs[np - 1].qid || !pairs[np - 1].doc) {
      rc = OSQ_E_NOMEM;
      break;
    }
  }
  free(line);
  fclose(f);
  bench_qrels *qr = NULL;
  if (rc == OSQ_OK && np == 0) {
    snprintf(err, errlen, "judgments %s hold no relevant document", path);
    rc = OSQ_E_PARSE;
  }
  if (rc == OSQ_OK) {
    qsort(pairs, np, sizeof *pairs, cmp_pair);
    qr = calloc(1, sizeof *qr);
    if (!qr || !(qr->e = calloc(np, sizeof *qr->e))) rc = OSQ_E_NOMEM;
  }
  /* Group the sorted pairs by qid; ownership of the strings moves. */
  for (size_t i = 0; rc == OSQ_OK && i < np;) {
    size_t j = i;
    while (j < np && strcmp(pairs[j].qid, pairs[i].qid) == 0) j++;
    qrel_entry *e = &qr->e[qr->n++];
    e->docs = malloc((j - i) * sizeof *e->docs);
    if (!e->docs) {
      rc = OSQ_E_NOMEM;
      break;
    }
    e->qid = pairs[i].qid;
    pairs[i].qid = NULL;
    for (size_t k = i; k < j; k++) {
      e->docs[e->n++] = pairs[k].doc;
      pairs[k].doc = NULL;
      if (k > i) {
        free(pairs[k].qid);
        pairs[k].qid = NULL;
      }
    }
    i = j;
  }
  for (size_t i = 0; i < np; i++) {
    free(pairs[i].qid);
    free(pairs[i].doc);
  }
  free(pairs);
  if (rc == OSQ_E_NOMEM) snprintf(err, errlen, "out of memory reading %s", path);
  if (rc != OSQ_OK) {
    bench_qrels_free(qr);
    return rc;
  }
  *out = qr;
  return OSQ_OK;
}

void bench_qrels_get(const bench_qrels *qr, const char *qid, char ***docs,
                     size_t *ndocs) {
  *docs = NULL;
  *ndocs = 0;
  size_t lo = 0, hi = qr->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(qr->e[mid].qid, qid);
    if (c == 0) {
      *docs = qr->e[mid].docs;
      *ndocs = qr->e[mid].n;
      return;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
}

size_t bench_qrels_queries(const bench_qrels *qr) { return qr ? qr->n : 0; }
