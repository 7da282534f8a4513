/*
 * test_threads.c -- one osq_index searched from several threads at once
 * gives exactly what one thread gets (include/osq/osq.h, THREADS).
 *
 *   test_threads INDEX QUERIES [THREADS [ROUNDS]]
 *
 * QUERIES holds one query a line (a TSV line's last field is its query, so
 * bench/smoke-queries.tsv serves too).  The index is opened once; every
 * query is run in this thread first, its results written out whole (ids,
 * passage numbers, scores to the last bit, passage text, highlighted spans,
 * the summary counts); then THREADS threads (4) run every query ROUNDS
 * times (3), each starting at a different query so that different queries
 * overlap, and compare what they get with that text.  Last, results are
 * read and freed after their index was closed, which the library allows.
 * Built with -fsanitize=thread by scripts/test.sh, it is also the race test.
 * Uses only the public API, through the shared library.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osq/osq.h>

typedef struct {
  char *s;
  size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (b->n + (size_t)need + 1 > b->cap) {
    b->cap = (b->n + (size_t)need + 1) * 2;
    b->s = realloc(b->s, b->cap);
    if (!b->s) abort();
  }
  vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap2);
  va_end(ap2);
  b->n += (size_t)need;
}

static osq_index *ix;
static char **queries;
static size_t nqueries;
static char **expected; /* per query, what one thread got */
static int nthreads = 4, rounds = 3;

/* Everything a caller can see of a query's results, as text; NULL and a
 * message on stderr when a call fails. */
static char *run_query(osq_index *index, const char *q) {
  osq_search_options so = {.k = 10};
  osq_results *r = NULL;
  int rc = osq_search(index, q, strlen(q), &so, &r);
  if (rc) {
    fprintf(stderr, "osq_search(%s): %s: %s\n", q, osq_err_name(rc), osq_last_error());
    return NULL;
  }
  sbuf b = {0};
  osq_results_summary s;
  osq_results_get_summary(r, &s);
  sb_printf(&b, "count %zu matched %llu passages %llu documents %llu exact %zu terms %u\n", osq_results_count(r),
            (unsigned long long)osq_results_matched(r), (unsigned long long)s.passages,
            (unsigned long long)s.documents, s.exact_hits, s.terms);
  for (size_t i = 0; i < osq_results_count(r); i++) {
    osq_hit h;
    uint64_t same = 0;
    if ((rc = osq_results_get(r, i, &h)) || (rc = osq_results_doc_passages(r, i, &same))) {
      fprintf(stderr, "osq_results_get(%s, %zu): %s: %s\n", q, i, osq_err_name(rc), osq_last_error());
      free(b.s);
      osq_results_free(r);
      return NULL;
    }
    sb_printf(&b, "%a %s #%u (%llu) [%s] %s\n", h.score, h.doc_id, h.passage_no, (unsigned long long)same, h.title,
              h.passage);
    for (size_t j = 0; j < h.nspans; j++) sb_printf(&b, " %u-%u", h.spans[j].start, h.spans[j].end);
    sb_printf(&b, "\n");
  }
  osq_results_free(r);
  return b.s;
}

static void *worker(void *arg) {
  size_t t = (size_t)arg, bad = 0;
  for (int round = 0; round < rounds; round++)
    for (size_t j = 0; j < nqueries; j++) {
      size_t q = (j + t * nqueries / (size_t)nthreads) % nqueries;
      char *got = run_query(ix, queries[q]);
      if (!got || strcmp(got, expected[q])) {
        if (bad++ < 3)
          fprintf(stderr, "thread %zu, round %d: %s: results differ from one thread's:\n--- one thread\n%s--- thread %zu\n%s",
                  t, round, queries[q], expected[q], t, got ? got : "(failed)\n");
      }
      free(got);
    }
  return (void *)bad;
}

static void read_queries(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    exit(2);
  }
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *q = strrchr(line, '\t');
    q = q ? q + 1 : line;
    if (!*q) continue;
    queries = realloc(queries, (nqueries + 1) * sizeof *queries);
    if (!queries || !(queries[nqueries] = strdup(q))) abort();
    nqueries++;
  }
  fclose(f);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test_threads INDEX QUERIES [THREADS [ROUNDS]]\n");
    return 2;
  }
  if (argc > 3) nthreads = atoi(argv[3]);
  if (argc > 4) rounds = atoi(argv[4]);
  if (nthreads < 1 || nthreads > 64 || rounds < 1) return 2;
  read_queries(argv[2]);
  if (nqueries < 5) {
    fprintf(stderr, "%s: only %zu queries\n", argv[2], nqueries);
    return 2;
  }
  int rc = osq_index_open(argv[1], &ix);
  if (rc) {
    fprintf(stderr, "%s: %s: %s\n", argv[1], osq_err_name(rc), osq_last_error());
    return 1;
  }
  expected = calloc(nqueries, sizeof *expected);
  size_t with_hits = 0;
  for (size_t q = 0; q < nqueries; q++) {
    if (!(expected[q] = run_query(ix, queries[q]))) return 1;
    with_hits += strncmp(expected[q], "count 0 ", 8) != 0;
  }
  /* A test that cannot fail is no test: most queries must find something. */
  if (with_hits * 2 < nqueries) {
    fprintf(stderr, "only %zu of %zu queries found anything: wrong index?\n", with_hits, nqueries);
    return 1;
  }

  pthread_t th[64];
  for (int t = 0; t < nthreads; t++)
    if (pthread_create(&th[t], NULL, worker, (void *)(size_t)t)) {
      perror("pthread_create");
      return 1;
    }
  size_t bad = 0;
  for (int t = 0; t < nthreads; t++) {
    void *v;
    pthread_join(th[t], &v);
    bad += (size_t)v;
  }
  printf("%zu queries (%zu with results), %d threads x %d rounds: %zu differed\n", nqueries, with_hits, nthreads,
         rounds, bad);

  /* ABI: a program built against an older osq.h, whose osq_hit and
   * osq_writer_stats ended earlier, gets its prefix filled and nothing past
   * it (include/osq/osq.h, ABI). */
  {
    osq_search_options so1 = {.k = 3};
    osq_results *r1 = NULL;
    unsigned char buf[sizeof(osq_hit) + 64];
    const size_t old = offsetof(osq_hit, section);
    if ((rc = osq_search_sized(ix, queries[0], strlen(queries[0]), &so1, offsetof(osq_search_options, explain), &r1)))
      return 1;
    memset(buf, 0xA5, sizeof buf);
    if (osq_results_count(r1) == 0 || (rc = osq_results_get_sized(r1, 0, (osq_hit *)buf, old))) return 1;
    for (size_t i = old; i < sizeof buf; i++)
      if (buf[i] != 0xA5) {
        fprintf(stderr, "osq_results_get_sized wrote byte %zu past the caller's %zu\n", i, old);
        return 1;
      }
    osq_hit full;
    osq_results_get(r1, 0, &full);
    if (memcmp(buf, &full, old)) {
      fprintf(stderr, "osq_results_get_sized: the prefix differs from the full hit\n");
      return 1;
    }
    osq_results_free(r1);
    printf("a hit of an older header's size (%zu of %zu bytes): filled, nothing past it\n", old, sizeof(osq_hit));
  }

  /* Results outlive their index: osq_index_close with results not yet
   * freed, then read and free them (osq.h: the results keep what they need). */
  osq_search_options so = {.k = 5};
  osq_results *r = NULL;
  const char *q = queries[0];
  if ((rc = osq_search(ix, q, strlen(q), &so, &r))) return 1;
  osq_index_close(ix);
  ix = NULL;
  osq_hit h;
  if (osq_results_count(r) > 0) {
    if ((rc = osq_results_get(r, 0, &h))) {
      fprintf(stderr, "osq_results_get after osq_index_close: %s\n", osq_err_name(rc));
      return 1;
    }
    if (strstr(expected[0], h.passage) == NULL) {
      fprintf(stderr, "after osq_index_close, result 0 of %s is not what it was: %s\n", q, h.passage);
      return 1;
    }
  }
  osq_results_free(r);

  for (size_t i = 0; i < nqueries; i++) {
    free(queries[i]);
    free(expected[i]);
  }
  free(queries);
  free(expected);
  return bad ? 1 : 0;
}
