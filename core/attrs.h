/*
 * attrs.h -- what filters, date sorting and lookups by id need of every
 * document of an index (attrs.c), kept with the index once read.
 */
#ifndef OSQ_ATTRS_H
#define OSQ_ATTRS_H

#include "internal.h"
#include "manifest.h"
#include "segment.h"

/* Every live document's id, source and date, per segment of one snapshot. */
typedef struct osq__attrs osq__attrs;

/* Reads every document record of segs[0..nsegs) (dels: their deletions, as
 * osq_index_open read them).  Returns OSQ_OK, OSQ_E_CORRUPT or OSQ_E_NOMEM. */
int osq__attrs_build(const osq__segment *segs, const osq__deletions *dels, uint32_t nsegs, osq__attrs **out);
void osq__attrs_free(osq__attrs *a);

/* The document table of ix, read on first use (search_index.c), and its segments. */
int osq__index_attrs(osq_index *ix, const osq__attrs **a, const osq__segment **segs);

/* The live document with this id: *si, *doc.  OSQ_OK or OSQ_E_NOTFOUND. */
int osq__attrs_find(const osq__attrs *a, const char *id, uint32_t *si, uint32_t *doc);
/* The date key (osq_date_parse) of document doc of segment si; 0: none. */
int32_t osq__attrs_doc_date(const osq__attrs *a, uint32_t si, uint32_t doc);

/* The passages a search may return under a query's filters: one bitmap per
 * segment, a bit per passage. */
typedef struct osq__filter {
  uint32_t nsegs;
  uint8_t **pass;
} osq__filter;

/* Makes the filter o asks for (*out NULL when it asks for none).  Returns
 * OSQ_OK, OSQ_E_INVAL (a date that does not parse: osq_last_error names
 * it) or OSQ_E_NOMEM.  a may be NULL only when o asks for no filter
 * (osq__filter_wanted). */
int osq__filter_wanted(const osq_search_options *o);
int osq__filter_check(const osq_search_options *o);
int osq__filter_make(const osq__attrs *a, const osq__segment *segs, const osq_search_options *o, osq__filter **out);
void osq__filter_free(osq__filter *f);
static inline int osq__filter_pass(const osq__filter *f, uint32_t si, uint32_t pid) {
  return (f->pass[si][pid >> 3] >> (pid & 7)) & 1;
}

#endif
