/*
 * hit_json.h -- a result as JSON, the one shape `osq --json` prints and
 * `osq serve` answers with (query/osq.c, query/serve.c).
 */
#ifndef OSQ_HIT_JSON_H
#define OSQ_HIT_JSON_H

#include <jansson.h>

#include "osq/osq.h"

/* A JSON string of s[0..n); bytes that are not UTF-8 become U+FFFD. */
json_t *json_text(const char *s, size_t n);
json_t *json_textz(const char *s);
/* A result line: rank, score, exact, doc_id, title, ..., highlights (and
 * qid first, when not NULL).  NULL when out of memory. */
json_t *json_hit(const osq_hit *h, size_t rank, const char *qid, int exact);
/* The summary object of a query's results: passages, documents, at_least,
 * results (lines given), exact_results, words, dropped_words. */
json_t *json_summary(const osq_results_summary *sum, size_t results);

#endif
