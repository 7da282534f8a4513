/*
 * search.c -- the smallest search program: the best passages for a query,
 * the matched words in [brackets].
 *
 *   cc search.c $(pkg-config --cflags --libs osq) -o osq-search
 *   ./osq-search INDEX QUERY [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osq/osq.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: osq-search INDEX QUERY [N]\n");
    return 2;
  }
  osq_index *ix;
  int rc = osq_index_open(argv[1], &ix);
  if (rc) {
    fprintf(stderr, "osq-search: %s: %s\n", osq_strerror(rc), osq_last_error());
    return 1;
  }
  osq_search_options opts = {.k = argc > 3 ? (uint32_t)atoi(argv[3]) : 5};
  osq_results *r;
  rc = osq_search(ix, argv[2], strlen(argv[2]), &opts, &r);
  osq_index_close(ix); /* allowed: the results keep what they need (osq.h) */
  if (rc) {
    fprintf(stderr, "osq-search: %s: %s\n", osq_strerror(rc), osq_last_error());
    return 1;
  }
  osq_results_summary sum;
  osq_results_get_summary(r, &sum);
  printf("%s%llu passages in %llu documents match\n", sum.at_least ? "at least " : "",
         (unsigned long long)sum.passages, (unsigned long long)sum.documents);
  for (size_t i = 0; i < osq_results_count(r) && !rc; i++) {
    osq_hit h;
    if ((rc = osq_results_get(r, i, &h))) break;
    printf("%zu. %s  %s  (%.2f)\n   ", i + 1, h.doc_id, h.title, h.score);
    size_t at = 0;
    for (size_t s = 0; s < h.nspans; s++) {
      printf("%.*s[%.*s]", (int)(h.spans[s].start - at), h.passage + at,
             (int)(h.spans[s].end - h.spans[s].start), h.passage + h.spans[s].start);
      at = h.spans[s].end;
    }
    printf("%s\n", h.passage + at);
  }
  if (rc) fprintf(stderr, "osq-search: %s: %s\n", osq_strerror(rc), osq_last_error());
  osq_results_free(r);
  return rc ? 1 : 0;
}
