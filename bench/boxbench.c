/*
 * boxbench -- what the search box's dictionary scans cost on an index:
 * osq_suggest (completion) and osq_box_search (초성, layout, corrections)
 * for the words given, each timed over many runs in one process.
 *
 *   boxbench INDEX RUNS WORD...      prints, a line a word:
 *     word  suggest-median-us  suggest-p90-us  box-search-median-us  search-median-us  first suggestion
 *
 * A program that prints figures (bench/README.md), never a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osq/osq.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: boxbench INDEX RUNS WORD...\n");
    return 2;
  }
  osq_index *ix;
  osq_box *box;
  if (osq_index_open(argv[1], &ix) || osq_box_open(ix, NULL, &box)) {
    fprintf(stderr, "boxbench: %s: %s\n", argv[1], osq_last_error());
    return 2;
  }
  int runs = atoi(argv[2]);
  if (runs < 1) runs = 1;
  double *t = malloc((size_t)runs * sizeof *t), *u = malloc((size_t)runs * sizeof *u),
         *v = malloc((size_t)runs * sizeof *v);
  if (!t || !u || !v) return 2;
  osq_search_options so;
  memset(&so, 0, sizeof so);
  so.k = 10;
  for (int a = 3; a < argc; a++) {
    const char *w = argv[a];
    char first[256] = "-";
    for (int r = 0; r < runs; r++) {
      osq_suggestion *s;
      size_t n;
      double t0 = now_us();
      if (osq_suggest(ix, w, strlen(w), 10, &s, &n)) return 1;
      t[r] = now_us() - t0;
      if (r == 0 && n) snprintf(first, sizeof first, "%s", s[0].word);
      osq_suggestions_free(s, n);
      osq_results *res;
      osq_box_report rep;
      t0 = now_us();
      if (osq_box_search(box, w, strlen(w), &so, &res, &rep)) return 1;
      u[r] = now_us() - t0;
      if (r == 0 && rep.note) fprintf(stderr, "%s: %s\n", w, rep.note);
      osq_box_report_free(&rep);
      osq_results_free(res);
      t0 = now_us();
      if (osq_search(ix, w, strlen(w), &so, &res)) return 1;
      v[r] = now_us() - t0;
      osq_results_free(res);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_d);
    qsort(u, (size_t)runs, sizeof *u, cmp_d);
    qsort(v, (size_t)runs, sizeof *v, cmp_d);
    printf("%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\n", w, t[runs / 2], t[runs * 9 / 10], u[runs / 2], v[runs / 2], first);
  }
  free(t);
  free(u);
  free(v);
  osq_box_close(box);
  osq_index_close(ix);
  return 0;
}
