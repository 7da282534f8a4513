/*
 * hit_json.c -- a result as JSON (hit_json.h): what `osq --json` prints a
 * line of, and `osq serve` answers with, built in one place so that the two
 * cannot drift apart.
 */
#include <stdlib.h>
#include <string.h>

#include "hit_json.h"

/* A JSON string of s[0..n); bytes that are not UTF-8 (a file name in
 * EUC-KR, a qid typed in another encoding) become U+FFFD rather than the
 * field going missing. */
json_t *json_text(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  if (j) return j;
  char *o = malloc(n * 3 + 1);
  if (!o) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    size_t len = 1;
    unsigned char c = (unsigned char)s[i];
    if (c >= 0xC2 && c <= 0xF4) {
      len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (i + len > n || !json_stringn(s + i, len)) len = 0;
    } else if (c >= 0x80 || c == 0) {
      len = 0;
    }
    if (len == 0) {
      memcpy(o + k, "\xEF\xBF\xBD", 3);
      k += 3;
      i++;
    } else {
      memcpy(o + k, s + i, len);
      k += len;
      i += len;
    }
  }
  j = json_stringn(o, k);
  free(o);
  return j;
}
json_t *json_textz(const char *s) { return json_text(s, strlen(s)); }

json_t *json_hit(const osq_hit *h, size_t rank, const char *qid, int exact) {
  json_t *o = json_object();
  if (!o) return NULL;
  if (qid) json_object_set_new(o, "qid", json_textz(qid));
  json_object_set_new(o, "rank", json_integer((json_int_t)rank));
  json_object_set_new(o, "score", json_real(h->score));
  json_object_set_new(o, "exact", json_boolean(exact));
  json_object_set_new(o, "doc_id", json_textz(h->doc_id));
  json_object_set_new(o, "title", json_textz(h->title));
  if (*h->source) json_object_set_new(o, "source", json_textz(h->source));
  if (*h->url) json_object_set_new(o, "url", json_textz(h->url));
  if (*h->date) json_object_set_new(o, "date", json_textz(h->date));
  json_object_set_new(o, "passage_no", json_integer(h->passage_no));
  if (h->section && *h->section) json_object_set_new(o, "section", json_textz(h->section));
  if (h->nfields) {
    json_t *f = json_object();
    for (size_t i = 0; i < h->nfields; i++) json_object_set_new(f, h->field_keys[i], json_textz(h->field_values[i]));
    json_object_set_new(o, "fields", f);
  }
  json_object_set_new(o, "passage", json_text(h->passage, h->passage_len));
  json_t *hl = json_array();
  for (size_t i = 0; i < h->nspans; i++) {
    json_t *pair = json_array();
    json_array_append_new(pair, json_integer(h->spans[i].start));
    json_array_append_new(pair, json_integer(h->spans[i].end));
    json_array_append_new(hl, pair);
  }
  json_object_set_new(o, "highlights", hl);
  if (h->explain) json_object_set_new(o, "explain", json_string(h->explain));
  return o;
}

json_t *json_summary(const osq_results_summary *sum, size_t results) {
  return json_pack("{s:I,s:I,s:b,s:I,s:I,s:I,s:I}", "passages", (json_int_t)sum->passages, "documents",
                   (json_int_t)sum->documents, "at_least", sum->at_least, "results", (json_int_t)results,
                   "exact_results", (json_int_t)(sum->exact_hits < results ? sum->exact_hits : results), "words",
                   (json_int_t)sum->words, "dropped_words", (json_int_t)sum->dropped_words);
}
