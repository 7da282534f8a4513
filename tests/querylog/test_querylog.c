/*
 * test_querylog.c -- pruning never changes what a query returns, checked on
 * real data: every query of the benchmark query log, on the first documents
 * of the precedents corpus.
 *
 * osq_search prunes by default (block-max MaxScore: terms, blocks and
 * passages whose score bounds cannot reach the top k are skipped).  That is
 * only correct if the bounds really bound the scores, and the bounds differ
 * with the index: a single segment uses the block bounds stored in it, several
 * segments recompute them (the statistics are global).  So the program builds
 * two indexes from the same documents, one segment and several (a small
 * flush_bytes), and for every query compares osq_search with pruning against
 * osq_search with no_prune: the same number of hits and, rank by rank, the
 * same passage (document id and passage number) with a bit-identical score.
 * k = 10 for every query, k = 1 and k = 50 for every tenth, on both indexes
 * (3,000 documents: about 12 s in a Release build, 35 s under ASan+UBSan).
 *
 * It fails on any difference (the first few printed in full, then a count),
 * and also when the comparison could pass without testing anything: when
 * pruning skipped no candidate at all (osq_results_matched counts the
 * passages evaluated in full), or when fewer than 80 % of the queries find
 * something (the documents do not fit the query log).
 *
 * Usage: test_querylog CORPUS QUERY_LOG SCRATCH_DIR [NDOCS]
 *   CORPUS      a .jsonl.gz (or any input osq_source reads)
 *   QUERY_LOG   lines kind<TAB>bucket<TAB>query (bench/README.md)
 *   SCRATCH_DIR removed and created again; holds the two indexes
 *   NDOCS       documents indexed, from the start of CORPUS (default 3000)
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "osq/osq.h"
#include "osq/source.h"
#include "../common/osq_test_util.h"

/* Buffers of the multi-segment writer: 3,000 court rulings fill about 80 MB
 * of them, so five segments.  The program checks that there are at least
 * three. */
#define MULTI_FLUSH_BYTES ((size_t)16 << 20)
#define EXTRA_K_STRIDE 10 /* k = 1 and k = 50 for every tenth query */
#define PRINT_IN_FULL 3  /* differences printed with both hit lists */
#define MIN_HIT_PERCENT 80

typedef struct {
  char **text;
  size_t n;
} query_log;

typedef struct {
  uint64_t pairs;       /* query/k pairs compared */
  uint64_t differ;      /* of which pruned and unpruned differ */
  uint64_t errors;      /* searches that failed */
  int64_t skipped;      /* sum of matched(unpruned) - matched(pruned) */
  uint64_t matched_all; /* sum of matched(unpruned) */
  double seconds;
} tally;

static void on_warning(void *ctx, const char *path, uint64_t line, const char *message) {
  (void)ctx;
  fprintf(stderr, "warning: %s:%" PRIu64 ": %s\n", path, line, message);
}

/* ---- the query log ------------------------------------------------------- */

static void query_log_free(query_log *ql) {
  for (size_t i = 0; i < ql->n; i++) free(ql->text[i]);
  free(ql->text);
  memset(ql, 0, sizeof *ql);
}

/* Reads the query (third field) of every line kind<TAB>bucket<TAB>query. */
static int query_log_load(const char *path, query_log *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open query log %s: %s\n", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t linecap = 0, cap = 0;
  ssize_t got;
  uint64_t lineno = 0;
  int rc = 0;
  while ((got = getline(&line, &linecap, f)) >= 0) {
    lineno++;
    size_t len = (size_t)got;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0) continue;
    char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2 || !tab2[1]) {
      fprintf(stderr, "%s:%" PRIu64 ": expected kind<TAB>bucket<TAB>query\n", path, lineno);
      rc = -1;
      break;
    }
    if (out->n == cap) {
      size_t ncap = cap ? cap * 2 : 1024;
      char **p = realloc(out->text, ncap * sizeof *p);
      if (!p) {
        rc = -1;
        break;
      }
      out->text = p;
      cap = ncap;
    }
    if (!(out->text[out->n] = strdup(tab2 + 1))) {
      rc = -1;
      break;
    }
    out->n++;
  }
  if (rc == 0 && ferror(f)) {
    fprintf(stderr, "cannot read query log %s: %s\n", path, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && out->n == 0) {
    fprintf(stderr, "query log %s holds no query\n", path);
    rc = -1;
  }
  free(line);
  fclose(f);
  if (rc) query_log_free(out);
  return rc;
}

/* ---- the indexes ---------------------------------------------------------- */

static osq_writer *open_writer(const char *dir, size_t flush_bytes) {
  osq_writer_options wo;
  memset(&wo, 0, sizeof wo);
  wo.flush_bytes = flush_bytes;
  wo.replace = 1;
  wo.no_auto_merge = 1; /* keep the segments the flushes made */
  osq_writer *w = NULL;
  int rc = osq_writer_open(dir, &wo, &w);
  if (rc) {
    fprintf(stderr, "osq_writer_open(%s): %s (%s)\n", dir, osq_strerror(rc), osq_last_error());
    return NULL;
  }
  return w;
}

/* Indexes the first ndocs documents of corpus into both dirs[0] (one
 * segment) and dirs[1] (segments of MULTI_FLUSH_BYTES). */
static int build_indexes(const char *corpus, uint64_t ndocs, char dirs[2][4096]) {
  osq_writer *w[2] = {open_writer(dirs[0], 0), open_writer(dirs[1], MULTI_FLUSH_BYTES)};
  osq_source *src = NULL;
  int rc = -1;
  if (!w[0] || !w[1]) goto done;
  int src_rc = osq_source_open(&corpus, 1, on_warning, NULL, &src);
  if (src_rc) {
    fprintf(stderr, "osq_source_open(%s): %s\n", corpus, osq_strerror(src_rc));
    goto done;
  }
  osq_doc doc;
  uint64_t added = 0;
  while (added < ndocs && (src_rc = osq_source_next(src, &doc)) == OSQ_OK) {
    for (int i = 0; i < 2; i++) {
      int arc = osq_writer_add(w[i], &doc);
      if (arc) {
        fprintf(stderr, "osq_writer_add(%s, %s): %s (%s)\n", dirs[i], doc.id, osq_strerror(arc),
                osq_last_error());
        goto done;
      }
    }
    added++;
  }
  if (src_rc < 0) {
    fprintf(stderr, "reading %s: %s\n", corpus, osq_strerror(src_rc));
    goto done;
  }
  if (added < ndocs) {
    fprintf(stderr, "%s holds only %" PRIu64 " documents, %" PRIu64 " wanted\n", corpus, added, ndocs);
    goto done;
  }
  for (int i = 0; i < 2; i++) {
    int crc = osq_writer_commit(w[i]);
    if (crc) {
      fprintf(stderr, "osq_writer_commit(%s): %s (%s)\n", dirs[i], osq_strerror(crc), osq_last_error());
      goto done;
    }
  }
  rc = 0;
done:
  osq_source_close(src);
  osq_writer_close(w[0]);
  osq_writer_close(w[1]);
  return rc;
}

/* ---- the comparison ------------------------------------------------------- */

static void print_hits(osq_results *r, const char *label) {
  size_t n = osq_results_count(r);
  printf("    %s: %zu hits, %" PRIu64 " matched\n", label, n, osq_results_matched(r));
  for (size_t i = 0; i < n; i++) {
    osq_hit h;
    int rc = osq_results_get_doc(r, i, &h);
    if (rc) printf("      %3zu  (%s: %s)\n", i + 1, osq_strerror(rc), osq_last_error());
    else printf("      %3zu  %.17g  %s #%" PRIu32 "\n", i + 1, h.score, h.doc_id, h.passage_no);
  }
}

/* The first rank (1-based) at which the hit lists differ, 0 when they are
 * identical, or -1 when a hit cannot be read. */
static long first_difference(osq_results *a, osq_results *b) {
  size_t na = osq_results_count(a), nb = osq_results_count(b);
  for (size_t i = 0; i < na && i < nb; i++) {
    osq_hit x, y;
    int rc = osq_results_get_doc(a, i, &x);
    if (rc == OSQ_OK) rc = osq_results_get_doc(b, i, &y);
    if (rc) {
      fprintf(stderr, "osq_results_get_doc(%zu): %s (%s)\n", i, osq_strerror(rc), osq_last_error());
      return -1;
    }
    if (memcmp(&x.score, &y.score, sizeof x.score) || x.passage_no != y.passage_no ||
        strcmp(x.doc_id, y.doc_id))
      return (long)i + 1;
  }
  return na == nb ? 0 : (long)(na < nb ? na : nb) + 1;
}

/* Runs query q with k pruned and unpruned on ix and compares.  Returns the
 * number of hits, or -1 when a search failed. */
static long compare(osq_index *ix, const char *label, const char *q, uint32_t k, tally *t) {
  osq_search_options pruned = {.k = k}, exhaustive = {.k = k, .no_prune = 1};
  osq_results *a = NULL, *b = NULL;
  long hits = -1;
  double t0 = osqt_now();
  int rc = osq_search(ix, q, strlen(q), &pruned, &a);
  if (rc == OSQ_OK) rc = osq_search(ix, q, strlen(q), &exhaustive, &b);
  t->pairs++;
  if (rc) {
    fprintf(stderr, "%s: osq_search(\"%s\", k=%" PRIu32 "): %s (%s)\n", label, q, k, osq_strerror(rc),
            osq_last_error());
    t->errors++;
    goto done;
  }
  uint64_t ma = osq_results_matched(a), mb = osq_results_matched(b);
  t->skipped += (int64_t)mb - (int64_t)ma;
  t->matched_all += mb;
  long diff = first_difference(a, b);
  if (diff < 0) {
    t->errors++;
    goto done;
  }
  if (diff > 0) {
    if (t->differ++ < PRINT_IN_FULL) {
      printf("DIFFERENT on the %s index, k=%" PRIu32 ", from rank %ld: %s\n", label, k, diff, q);
      print_hits(a, "pruned");
      print_hits(b, "no_prune");
    } else {
      printf("DIFFERENT on the %s index, k=%" PRIu32 ", from rank %ld: %s (%zu vs %zu hits)\n", label, k, diff,
             q, osq_results_count(a), osq_results_count(b));
    }
  }
  hits = (long)osq_results_count(b);
done:
  osq_results_free(a);
  osq_results_free(b);
  t->seconds += osqt_now() - t0;
  return hits;
}

static osq_index *open_index(const char *dir, uint64_t *segments) {
  osq_index *ix = NULL;
  int rc = osq_index_open(dir, &ix);
  if (rc) {
    fprintf(stderr, "osq_index_open(%s): %s (%s)\n", dir, osq_strerror(rc), osq_last_error());
    return NULL;
  }
  osq_index_stats st;
  osq_index_get_stats(ix, &st);
  *segments = st.segments;
  return ix;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: test_querylog CORPUS QUERY_LOG SCRATCH_DIR [NDOCS]\n");
    return 2;
  }
  const char *corpus = argv[1], *log_path = argv[2], *scratch = argv[3];
  uint64_t ndocs = 3000;
  if (argc == 5) {
    char *end;
    ndocs = strtoull(argv[4], &end, 10);
    if (*end || ndocs == 0) {
      fprintf(stderr, "NDOCS must be a positive number, not %s\n", argv[4]);
      return 2;
    }
  }
  double t0 = osqt_now();
  query_log ql;
  if (query_log_load(log_path, &ql)) return 1;

  char dirs[2][4096];
  snprintf(dirs[0], sizeof dirs[0], "%s/one-segment", scratch);
  snprintf(dirs[1], sizeof dirs[1], "%s/multi-segment", scratch);
  osqt_rm_tree(scratch); /* a missing dir is fine */
  if (mkdir(scratch, 0777) && errno != EEXIST) {
    fprintf(stderr, "cannot create %s: %s\n", scratch, strerror(errno));
    query_log_free(&ql);
    return 1;
  }
  if (build_indexes(corpus, ndocs, dirs)) {
    query_log_free(&ql);
    return 1;
  }
  double t_build = osqt_now() - t0;

  int status = 0;
  uint64_t segments[2] = {0, 0};
  osq_index *ix[2] = {open_index(dirs[0], &segments[0]), open_index(dirs[1], &segments[1])};
  if (!ix[0] || !ix[1]) {
    status = 1;
    goto done;
  }
  if (segments[0] != 1 || segments[1] < 3) {
    fprintf(stderr, "%s has %" PRIu64 " segments (1 expected), %s has %" PRIu64 " (3 or more expected)\n",
            dirs[0], segments[0], dirs[1], segments[1]);
    status = 1;
    goto done;
  }

  tally t[2];
  memset(t, 0, sizeof t);
  const char *labels[2] = {"one-segment", "multi-segment"};
  const uint32_t extra_k[] = {1, 50};
  size_t with_hits = 0;
  for (size_t q = 0; q < ql.n; q++) {
    for (int i = 0; i < 2; i++) {
      long hits = compare(ix[i], labels[i], ql.text[q], 10, &t[i]);
      if (i == 0 && hits > 0) with_hits++;
      if (q % EXTRA_K_STRIDE == 0)
        for (size_t j = 0; j < sizeof extra_k / sizeof *extra_k; j++)
          compare(ix[i], labels[i], ql.text[q], extra_k[j], &t[i]);
    }
  }
  double t_total = osqt_now() - t0;

  uint64_t pairs = t[0].pairs + t[1].pairs, differ = t[0].differ + t[1].differ;
  uint64_t errors = t[0].errors + t[1].errors;
  if (differ || errors) {
    printf("%" PRIu64 " of %" PRIu64 " query/k pairs differ (%" PRIu64 " on one segment, %" PRIu64
           " on %" PRIu64 " segments); %" PRIu64 " searches failed\n",
           differ, pairs, t[0].differ, t[1].differ, segments[1], errors);
    status = 1;
    goto done;
  }
  printf("querylog_prune: %zu queries on the first %" PRIu64 " documents (%zu with hits), %" PRIu64
         " query/k pairs identical pruned and unpruned: %" PRIu64 " on 1 segment (%.1f s), %" PRIu64
         " on %" PRIu64 " segments (%.1f s); pruning skipped %" PRId64 " of %" PRIu64
         " full evaluations on 1 segment, %" PRId64 " of %" PRIu64 " on %" PRIu64
         "; indexing %.1f s, total %.1f s\n",
         ql.n, ndocs, with_hits, pairs, t[0].pairs, t[0].seconds, t[1].pairs, segments[1], t[1].seconds,
         t[0].skipped, t[0].matched_all, t[1].skipped, t[1].matched_all, segments[1], t_build, t_total);
  if (t[0].skipped <= 0 || t[1].skipped <= 0) {
    fprintf(stderr, "pruning skipped no evaluation (one segment: %" PRId64 ", several: %" PRId64
            "): the comparison tested nothing\n", t[0].skipped, t[1].skipped);
    status = 1;
  }
  if (with_hits * 100 < ql.n * MIN_HIT_PERCENT) {
    fprintf(stderr, "only %zu of %zu queries find anything in the first %" PRIu64 " documents of %s "
            "(%d %% expected): the documents do not fit the query log\n",
            with_hits, ql.n, ndocs, corpus, MIN_HIT_PERCENT);
    status = 1;
  }
done:
  osq_index_close(ix[0]);
  osq_index_close(ix[1]);
  query_log_free(&ql);
  return status;
}
