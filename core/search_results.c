/*
 * search_results.c -- osq_search and the osq_results API: one ranking over
 * every segment (search_run), paging, source and date filters, sorting by
 * date, and reading hits (passage text, document, highlights, explanation).
 */
#include "search_int.h"

static int cmp_hit_desc(const void *a, const void *b) {
  const hit_ref *x = a, *y = b;
  if (worse(x, y)) return 1;
  if (worse(y, x)) return -1;
  return 0;
}


/* Offset of the first byte that is not valid UTF-8, or n. */
static size_t utf8_bad_offset(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0, k;
  while (i < n && (k = osq__utf8_len(p + i, n - i)) > 0) i += k;
  return i;
}

/* One ranking of the top k (osq_search: paging, filters and sorting around
 * it).  The results take filter: osq_results_free frees it. */
static int search_run(osq_index *ix, const char *query, size_t len, const osq_search_options *opts, uint32_t k,
                      osq__filter *filter, osq_results **out) {
  *out = NULL;
  osq_results *r = calloc(1, sizeof *r);
  if (!r) {
    osq__filter_free(filter);
    return OSQ_E_NOMEM;
  }
  atomic_fetch_add_explicit(&ix->refs, 1, memory_order_relaxed);
  r->ix = ix;
  r->filter = filter;
  r->explain = opts && opts->explain;
  int fallback;
  int rc = osq__query_parse(query, len, &r->root, &fallback);
  if (rc) goto fail;
  if ((rc = osq__search_compile(r, r->root, 1, 0))) goto fail;
  if ((rc = osq__plan_matching(r))) goto fail;
  osq__mark_required(r, 1);
  r->whole_w = osq__query_words(r) <= osq__tune_whole_max ? osq__tune_whole_w : 0;
  if ((rc = osq__search_stats(r))) goto fail;
  osq__whole_bounds(r);
  for (size_t t = 0; t < r->nterms; t++)
    r->terms[t].pair_ub = osq__tune_pair_w * r->terms[t].idf * r->terms[t].pair_occ / 2 + r->terms[t].whole_ub;
  heap hp = {NULL, 0, k};
  hp.h = malloc(k * sizeof *hp.h);
  if (!hp.h) { rc = OSQ_E_NOMEM; goto fail; }
  r->pass = 1;
  for (uint32_t s = 0; s < ix->nsegs && !rc; s++)
    rc = osq__search_segment(r, s, &hp, opts && opts->no_prune);
  if (rc) { free(hp.h); goto fail; }
  qsort(hp.h, hp.n, sizeof *hp.h, cmp_hit_desc);
  r->nexact = hp.n;
  /* One word of one or two tokens: its only piece is the word, so a second
   * pass could only scan its bigrams' postings to find nothing. */
  int pieces = r->tiered;
  if (pieces && r->nstrong == 1 && r->nunits == 0)
    for (size_t i = 0; i < r->nwords; i++)
      if (!r->words[i].weak && r->words[i].s1 - r->words[i].w0 <= 1) pieces = 0;
  if (pieces && hp.n < k) {
    /* Fewer matches than wanted: the passages that share a piece of a
     * word, after them. */
    heap h2 = {hp.h + hp.n, 0, k - hp.n};
    int pruned = r->pruned;
    r->pass = 2;
    osq__mark_required(r, 0);
    for (uint32_t s = 0; s < ix->nsegs && !rc; s++)
      rc = osq__search_segment(r, s, &h2, opts && opts->no_prune);
    r->pruned = pruned;
    if (rc) { free(hp.h); goto fail; }
    qsort(h2.h, h2.n, sizeof *h2.h, cmp_hit_desc);
    hp.n += h2.n;
  }
  r->refs = hp.h;
  r->n = hp.n;
  r->hits = calloc(r->n ? r->n : 1, sizeof *r->hits);
  if (!r->hits) { rc = OSQ_E_NOMEM; goto fail; }
  *out = r;
  return OSQ_OK;
fail:
  osq_results_free(r);
  return rc;
}

/* OSQ_SORT_DATE: a result and its document's date. */
typedef struct dated_ref {
  hit_ref h;
  int32_t date;
} dated_ref;

static int cmp_dated(const void *a, const void *b) {
  const dated_ref *x = a, *y = b;
  if (x->date != y->date) return x->date > y->date ? -1 : 1; /* newest first; 0 (no date) last */
  return cmp_hit_desc(&x->h, &y->h);
}

/* Orders the matches by date, then the passages that only share pieces of
 * the words (which stay after them, as in a ranking by score). */
static int sort_by_date(osq_results *r, const osq__attrs *a) {
  dated_ref *d = malloc((r->n ? r->n : 1) * sizeof *d);
  if (!d) return OSQ_E_NOMEM;
  for (size_t i = 0; i < r->n; i++) {
    osq__passage_info pi;
    int rc = osq__segment_passage(&r->ix->segs[r->refs[i].seg], r->refs[i].pid, &pi);
    if (rc) {
      free(d);
      return rc;
    }
    d[i].h = r->refs[i];
    d[i].date = osq__attrs_doc_date(a, r->refs[i].seg, pi.doc);
  }
  qsort(d, r->nexact, sizeof *d, cmp_dated);
  qsort(d + r->nexact, r->n - r->nexact, sizeof *d, cmp_dated);
  for (size_t i = 0; i < r->n; i++) r->refs[i] = d[i].h;
  free(d);
  return OSQ_OK;
}



/* Paging, filters and sorting around search_run: the filter is made once,
 * from the index's document table; a ranking by date ranks every match
 * (pruning is by score), so when more match than the page reaches, the
 * search runs again for all of them -- at most OSQ_MAX_RANK, the best by
 * score, when even more match. */
OSQ_EXPORT int osq_search(osq_index *ix, const char *query, size_t len,
                          const osq_search_options *opts, osq_results **out) {
  *out = NULL;
  osq__clear_error();
  size_t bad = utf8_bad_offset(query, len);
  if (bad < len) return osq__fail(OSQ_E_UTF8, "query is not valid UTF-8 (bad byte 0x%02x at offset %zu)", (unsigned)(uint8_t)query[bad], bad);
  osq_search_options o;
  if (opts) o = *opts;
  else memset(&o, 0, sizeof o);
  uint32_t k = o.k ? o.k : 10;
  if (o.sort != OSQ_SORT_RELEVANCE && o.sort != OSQ_SORT_DATE)
    return osq__fail(OSQ_E_INVAL, "unknown sort order %d", o.sort);
  if ((uint64_t)o.offset + k > OSQ_MAX_RANK)
    return osq__fail(OSQ_E_INVAL, "offset %u and %u results reach past the %u a search ranks", o.offset, k,
                     OSQ_MAX_RANK);
  int by_date = o.sort == OSQ_SORT_DATE;
  int rc = osq__filter_check(&o); /* before reading every document */
  if (rc) return rc;
  const osq__attrs *a = NULL;
  osq__filter *f = NULL;
  if (osq__filter_wanted(&o) || by_date) {
    if ((rc = osq__index_load_attrs(ix, &a))) return rc;
    if ((rc = osq__filter_make(a, ix->segs, &o, &f))) return rc;
  }
  if (by_date) o.no_prune = 1;
  uint32_t want = o.offset + k;
  osq_results *r;
  for (int again = 0;; again = 1) {
    if ((rc = search_run(ix, query, len, &o, want, f, &r))) return rc;
    if (!by_date || r->matched <= want || again || want == OSQ_MAX_RANK) break;
    want = r->matched > OSQ_MAX_RANK ? OSQ_MAX_RANK : (uint32_t)r->matched;
    f = r->filter; /* kept for the second run */
    r->filter = NULL;
    osq_results_free(r);
  }
  if (by_date && (rc = sort_by_date(r, a))) {
    osq_results_free(r);
    return rc;
  }
  size_t drop = o.offset < r->n ? o.offset : r->n;
  if (drop) {
    /* no hit is materialized yet: r->hits is all zeros */
    memmove(r->refs, r->refs + drop, (r->n - drop) * sizeof *r->refs);
    r->n -= drop;
    r->nexact = r->nexact > drop ? r->nexact - drop : 0;
  }
  if (r->n > k) r->n = k;
  if (r->nexact > r->n) r->nexact = r->n;
  *out = r;
  return OSQ_OK;
}

OSQ_EXPORT size_t osq_results_count(const osq_results *r) { return r->n; }
OSQ_EXPORT uint64_t osq_results_matched(const osq_results *r) { return r->matched + r->matched2; }

OSQ_EXPORT void osq_results_get_summary(const osq_results *r, osq_results_summary *s) {
  memset(s, 0, sizeof *s);
  s->passages = r->matched;
  s->documents = r->docs;
  s->at_least = r->pruned;
  s->exact_hits = r->nexact;
  s->words = (uint32_t)r->nwords_seen;
  s->dropped_words = (uint32_t)r->dropped_words;
  s->terms = (uint32_t)r->nterms;
}

OSQ_EXPORT int osq_results_is_exact(const osq_results *r, size_t i) { return i < r->nexact; }


/* Reads result i's document record (once) and fills the hit's score and
 * document fields. */
static int fill_doc(osq_results *r, size_t i, osq_hit *hit) {
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  if (!r->hits[i].docstore) {
    osq__passage_info pi = {0};
    int rc = osq__segment_passage(seg, h->pid, &pi);
    if (rc) return rc;
    if ((rc = osq__segment_doc(seg, pi.doc, &r->hits[i].di, &r->hits[i].docstore))) return rc;
    if (pi.heading > r->hits[i].di.nheadings)
      return osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: passage %u names heading %u of %u", seg->path, h->pid,
                       pi.heading, r->hits[i].di.nheadings);
    r->hits[i].heading = pi.heading;
  }
  memset(hit, 0, sizeof *hit);
  hit->score = h->score;
  hit->doc_id = r->hits[i].di.id;
  hit->title = r->hits[i].di.title;
  hit->source = r->hits[i].di.source;
  hit->url = r->hits[i].di.url;
  hit->date = r->hits[i].di.date;
  hit->passage_no = h->pid - r->hits[i].di.first_passage;
  hit->section = r->hits[i].heading ? r->hits[i].di.headings[r->hits[i].heading - 1] : "";
  hit->field_keys = r->hits[i].di.keys;
  hit->field_values = r->hits[i].di.values;
  hit->nfields = r->hits[i].di.nfields;
  return OSQ_OK;
}

OSQ_EXPORT int osq_results_get_doc(osq_results *r, size_t i, osq_hit *hit) {
  if (i >= r->n) return OSQ_E_INVAL;
  return fill_doc(r, i, hit);
}

OSQ_EXPORT int osq_results_get(osq_results *r, size_t i, osq_hit *hit) {
  if (i >= r->n) return OSQ_E_INVAL;
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  int rc = fill_doc(r, i, hit);
  if (rc) return rc;
  if (!r->hits[i].ready) {
    if ((rc = osq__segment_passage_text(seg, h->pid, &r->hits[i].passage, &r->hits[i].len))) return rc;
    if ((rc = osq__highlight(r, r->hits[i].passage, r->hits[i].len, &r->hits[i].spans, &r->hits[i].nspans))) return rc;
    if (r->explain && (rc = osq__explain_hit(r, h, &r->hits[i].explain))) return rc;
    r->hits[i].ready = 1;
  }
  hit->passage = r->hits[i].passage;
  hit->passage_len = r->hits[i].len;
  hit->spans = r->hits[i].spans;
  hit->nspans = r->hits[i].nspans;
  hit->explain = r->hits[i].explain;
  return OSQ_OK;
}

OSQ_EXPORT int osq_results_doc_passages(osq_results *r, size_t i, uint64_t *n) {
  *n = 0;
  if (i >= r->n) return OSQ_E_INVAL;
  osq_hit hit;
  int rc = fill_doc(r, i, &hit);
  if (rc) return rc;
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  const osq__doc_info *di = &r->hits[i].di;
  evalctx e = {r, seg, NULL, 0};
  e.tc = calloc(r->nterms ? r->nterms : 1, sizeof *e.tc);
  if (!e.tc) return OSQ_E_NOMEM;
  for (size_t t = 0; t < r->nterms && !rc; t++) rc = osq__tcur_open(&e.tc[t], seg, &r->terms[t]);
  int pass = r->pass;
  r->pass = h->exact ? 1 : 2;
  uint64_t count = 0;
  for (uint32_t pid = di->first_passage; !rc && pid - di->first_passage < di->npassages && pid < seg->npassages; pid++) {
    if (osq__segment_deleted(seg, pid)) continue;
    int ok = osq__passage_ok(&e, pid);
    if (e.corrupt) rc = osq__damaged(seg->path, "corrupt postings");
    else count += (uint64_t)ok;
  }
  r->pass = pass;
  for (size_t t = 0; t < r->nterms; t++) osq__tcur_close(&e.tc[t]);
  free(e.tc);
  if (!rc) *n = count;
  return rc;
}

OSQ_EXPORT void osq_results_free(osq_results *r) {
  if (!r) return;
  if (r->hits)
    for (size_t i = 0; i < r->n; i++) {
      free(r->hits[i].passage);
      free(r->hits[i].docstore);
      free(r->hits[i].spans);
      free(r->hits[i].explain);
    }
  free(r->hits);
  free(r->refs);
  for (size_t i = 0; i < r->nleaves; i++) {
    free(r->leaves[i].term);
    free(r->leaves[i].off);
    free(r->leaves[i].flag);
    free(r->leaves[i].kind);
    free(r->leaves[i].chunk);
  }
  free(r->words);
  free(r->units);
  free(r->leaves);
  for (size_t t = 0; t < r->nterms; t++)
    if (r->terms[t].pre) {
      for (uint32_t s = 0; s < r->ix->nsegs; s++) osq__tcur_close(&r->terms[t].pre[s]);
      free(r->terms[t].pre);
    }
  free(r->terms);
  osq__query_free(r->root);
  osq__filter_free(r->filter);
  osq_tokenizer_close(r->tk);
  if (r->ix) osq__index_release(r->ix);
  free(r);
}
