/*
 * abi.c -- the entry points that keep libosq.so.0 compatible as its structs
 * grow (include/osq/osq.h, ABI).
 *
 * A program built against osq.h calls osq_search, osq_results_get, ... as
 * macros over the *_sized functions here, which receive the size of the
 * struct as that program's header declared it.  A struct the library reads
 * (options, a document) is copied into a zeroed one of today's size, so a
 * field the caller's header did not have reads as 0, its default; a struct
 * the library fills is filled in full here and only the caller's prefix of
 * it is copied out.  Inside the library (OSQ_BUILDING_LIBRARY) the plain
 * names are the real functions.
 */
#include <string.h>

#include "internal.h"

/* Copies the caller's in_size bytes of *in into a zeroed *out of out_size;
 * returns out, or NULL when in is NULL. */
static const void *grow_in(const void *in, size_t in_size, void *out, size_t out_size) {
  if (!in) return NULL;
  memset(out, 0, out_size);
  memcpy(out, in, in_size < out_size ? in_size : out_size);
  return out;
}

static void shrink_out(void *out, size_t out_size, const void *in, size_t in_size) {
  memcpy(out, in, out_size < in_size ? out_size : in_size);
}

OSQ_EXPORT const char *osq_version(int *number) {
  if (number) *number = OSQ_VERSION_NUMBER;
  return OSQ_VERSION_STRING;
}

OSQ_EXPORT int osq_writer_open_sized(const char *dir, const osq_writer_options *opts, size_t opts_size,
                                     osq_writer **out) {
  osq_writer_options o;
  return osq_writer_open(dir, grow_in(opts, opts_size, &o, sizeof o), out);
}

OSQ_EXPORT int osq_writer_add_sized(osq_writer *w, const osq_doc *doc, size_t doc_size) {
  osq_doc d;
  if (!doc) return osq__fail(OSQ_E_INVAL, "no document");
  return osq_writer_add(w, grow_in(doc, doc_size, &d, sizeof d));
}

OSQ_EXPORT void osq_writer_get_stats_sized(const osq_writer *w, osq_writer_stats *st, size_t st_size) {
  osq_writer_stats s;
  osq_writer_get_stats(w, &s);
  shrink_out(st, st_size, &s, sizeof s);
}

OSQ_EXPORT void osq_index_get_stats_sized(const osq_index *ix, osq_index_stats *st, size_t st_size) {
  osq_index_stats s;
  osq_index_get_stats(ix, &s);
  shrink_out(st, st_size, &s, sizeof s);
}

OSQ_EXPORT int osq_search_sized(osq_index *ix, const char *query, size_t len, const osq_search_options *opts,
                                size_t opts_size, osq_results **out) {
  osq_search_options o;
  return osq_search(ix, query, len, grow_in(opts, opts_size, &o, sizeof o), out);
}

OSQ_EXPORT void osq_results_get_summary_sized(const osq_results *r, osq_results_summary *s, size_t s_size) {
  osq_results_summary t;
  osq_results_get_summary(r, &t);
  shrink_out(s, s_size, &t, sizeof t);
}

OSQ_EXPORT int osq_results_get_sized(osq_results *r, size_t i, osq_hit *hit, size_t hit_size) {
  osq_hit h;
  memset(&h, 0, sizeof h);
  int rc = osq_results_get(r, i, &h);
  shrink_out(hit, hit_size, &h, sizeof h);
  return rc;
}

OSQ_EXPORT int osq_results_get_doc_sized(osq_results *r, size_t i, osq_hit *hit, size_t hit_size) {
  osq_hit h;
  memset(&h, 0, sizeof h);
  int rc = osq_results_get_doc(r, i, &h);
  shrink_out(hit, hit_size, &h, sizeof h);
  return rc;
}
