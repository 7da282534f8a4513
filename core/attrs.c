/*
 * attrs.c -- document attributes for filters, date sorting and lookups by id.
 *
 * A filter (osq_search_options: source, date_from, date_to) decides per
 * document, but the search walks passages.  So a filtered search first
 * turns the filter into one bitmap per segment, a bit per passage, from a
 * table of every live document's source, date and passage range; the
 * search then skips a candidate whose bit is clear exactly where it skips a
 * deleted one (search_maxscore.c, finish_candidate), so pruning, the top k and the
 * counts all see the filtered index.
 *
 * The table costs one read of every document record (about 15 ms for the
 * 15,000 rulings of the precedents corpus) and is made on the first search
 * that needs it, then kept with the index handle (osq_index: it belongs to
 * one manifest snapshot, as the segments do).  Sources and ids are kept
 * once each in a byte pool: consecutive documents of a JSON Lines file
 * mostly share their source.
 */
#include <stdlib.h>
#include <string.h>

#include "attrs.h"

typedef struct seg_attrs {
  uint32_t ndocs;
  int32_t *date;   /* per document: date key, 0 none */
  size_t *src, *id; /* offsets into the pool */
  uint32_t *first, *npass;
  uint8_t *live;   /* 1: not deleted */
} seg_attrs;

struct osq__attrs {
  uint32_t nsegs;
  seg_attrs *segs;
  osq__buf pool;
  /* ids of live documents: open addressing over (segment << 32 | doc) + 1,
   * 0 an empty slot; the later segment wins for an id found twice (a
   * replacement's old version is always deleted, so this only matters for
   * a damaged index) */
  uint64_t *idtab;
  size_t idcap;
};

/* ---- dates --------------------------------------------------------------- */

static int read_num(const char **p, int maxdigits, int *v) {
  int n = 0, x = 0;
  while (n < maxdigits && **p >= '0' && **p <= '9') {
    x = x * 10 + (**p - '0');
    (*p)++;
    n++;
  }
  *v = x;
  return n;
}

/* Skips a separator between date parts: '-', '.', '/', spaces, and the
 * Korean unit words 년 and 월 ("2000년 10월 27일"). */
static int skip_sep(const char **p) {
  const char *s = *p;
  for (;;) {
    if (**p == '-' || **p == '.' || **p == '/' || **p == ' ') (*p)++;
    else if (!strncmp(*p, "년", 3) || !strncmp(*p, "월", 3)) *p += 3;
    else break;
  }
  return *p > s;
}

OSQ_EXPORT int osq_date_parse(const char *s, int32_t *key) {
  *key = 0;
  if (!s) return OSQ_E_INVAL;
  const char *p = s;
  while (*p == ' ' || *p == '\t') p++;
  int y = 0, m = 0, d = 0;
  int n = read_num(&p, 8, &y);
  if (n == 8) { /* 20001027 */
    d = y % 100;
    m = y / 100 % 100;
    y /= 10000;
  } else if (n == 4) {
    const char *q = p;
    if (skip_sep(&q) && (n = read_num(&q, 2, &m)) > 0) {
      p = q;
      q = p;
      if (skip_sep(&q) && read_num(&q, 2, &d) > 0) p = q;
    }
  } else {
    return OSQ_E_INVAL;
  }
  /* what may follow: a closing '.' or 일, then the end or a time */
  if (*p == '.') p++;
  else if (!strncmp(p, "일", 3)) p += 3;
  if (*p && *p != ' ' && *p != 'T' && *p != '\t') return OSQ_E_INVAL;
  if (y < 1 || m > 12 || d > 31 || (m == 0 && d != 0)) return OSQ_E_INVAL;
  if (n == 8 && (m == 0 || d == 0)) return OSQ_E_INVAL;
  *key = y * 10000 + m * 100 + d;
  return OSQ_OK;
}

/* The document's date: the first of these that parses (osq.h). */
static int32_t doc_date(const osq__doc_info *di) {
  static const char *const keys[] = {"date", "선고일자", "공포일자", "시행일자"};
  int32_t k;
  if (*di->date && osq_date_parse(di->date, &k) == OSQ_OK) return k;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    for (uint32_t f = 0; f < di->nfields; f++)
      if (!strcmp(di->keys[f], keys[i]) && osq_date_parse(di->values[f], &k) == OSQ_OK) return k;
  return 0;
}

/* ---- the table ----------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static const char *id_of(const osq__attrs *a, uint64_t slot) {
  uint32_t si = (uint32_t)((slot - 1) >> 32), doc = (uint32_t)(slot - 1);
  return (const char *)a->pool.p + a->segs[si].id[doc];
}

static void id_insert(osq__attrs *a, uint64_t v) {
  const char *id = id_of(a, v);
  size_t j = hash_str(id) & (a->idcap - 1);
  for (; a->idtab[j]; j = (j + 1) & (a->idcap - 1))
    if (!strcmp(id_of(a, a->idtab[j]), id)) break;
  a->idtab[j] = v;
}

static int pool_put(osq__buf *b, const char *s, size_t *off) {
  *off = b->n;
  return osq__buf_put(b, s, strlen(s) + 1);
}

void osq__attrs_free(osq__attrs *a) {
  if (!a) return;
  for (uint32_t i = 0; i < a->nsegs; i++) {
    seg_attrs *s = &a->segs[i];
    free(s->date);
    free(s->src);
    free(s->id);
    free(s->first);
    free(s->npass);
    free(s->live);
  }
  free(a->segs);
  osq__buf_free(&a->pool);
  free(a->idtab);
  free(a);
}

int osq__attrs_build(const osq__segment *segs, const osq__deletions *dels, uint32_t nsegs, osq__attrs **out) {
  *out = NULL;
  osq__attrs *a = calloc(1, sizeof *a);
  if (!a || !(a->segs = calloc(nsegs ? nsegs : 1, sizeof *a->segs))) {
    free(a);
    return OSQ_E_NOMEM;
  }
  a->nsegs = nsegs;
  int rc = OSQ_OK;
  size_t live = 0;
  for (uint32_t si = 0; si < nsegs && !rc; si++) {
    const osq__segment *seg = &segs[si];
    seg_attrs *s = &a->segs[si];
    uint32_t n = seg->ndocs;
    s->ndocs = n;
    size_t m = n ? n : 1;
    s->date = calloc(m, sizeof *s->date);
    s->src = calloc(m, sizeof *s->src);
    s->id = calloc(m, sizeof *s->id);
    s->first = calloc(m, sizeof *s->first);
    s->npass = calloc(m, sizeof *s->npass);
    s->live = calloc(m, 1);
    if (!s->date || !s->src || !s->id || !s->first || !s->npass || !s->live) {
      rc = OSQ_E_NOMEM;
      break;
    }
    size_t prev_src = SIZE_MAX;
    for (uint32_t doc = 0; doc < n && !rc; doc++) {
      osq__doc_info di;
      char *store = NULL;
      if ((rc = osq__segment_doc(seg, doc, &di, &store))) break;
      /* a .txt file has no source: its path (its id) stands for it */
      const char *src = *di.source ? di.source : di.id;
      if (prev_src != SIZE_MAX && !strcmp((const char *)a->pool.p + prev_src, src)) s->src[doc] = prev_src;
      else if (!(rc = pool_put(&a->pool, src, &s->src[doc]))) prev_src = s->src[doc];
      if (!rc) rc = pool_put(&a->pool, di.id, &s->id[doc]);
      s->date[doc] = doc_date(&di);
      s->first[doc] = di.first_passage;
      s->npass[doc] = di.npassages;
      if ((uint64_t)di.first_passage + di.npassages > seg->npassages)
        rc = osq__fail(OSQ_E_CORRUPT, "%s: document %u names passages past the segment's %u", seg->path, doc,
                       seg->npassages);
      s->live[doc] = !(dels && dels[si].docs && osq__bit(dels[si].docs, doc));
      live += s->live[doc];
      free(store);
    }
  }
  if (!rc) {
    a->idcap = 16;
    while (a->idcap < 2 * live) a->idcap *= 2;
    if (!(a->idtab = calloc(a->idcap, sizeof *a->idtab))) rc = OSQ_E_NOMEM;
    for (uint32_t si = 0; si < nsegs && !rc; si++)
      for (uint32_t doc = 0; doc < a->segs[si].ndocs; doc++)
        if (a->segs[si].live[doc]) id_insert(a, ((uint64_t)si << 32 | doc) + 1);
  }
  if (rc) {
    osq__attrs_free(a);
    return rc;
  }
  *out = a;
  return OSQ_OK;
}

int osq__attrs_find(const osq__attrs *a, const char *id, uint32_t *si, uint32_t *doc) {
  for (size_t j = hash_str(id) & (a->idcap - 1); a->idtab[j]; j = (j + 1) & (a->idcap - 1))
    if (!strcmp(id_of(a, a->idtab[j]), id)) {
      *si = (uint32_t)((a->idtab[j] - 1) >> 32);
      *doc = (uint32_t)(a->idtab[j] - 1);
      return OSQ_OK;
    }
  return OSQ_E_NOTFOUND;
}

int32_t osq__attrs_doc_date(const osq__attrs *a, uint32_t si, uint32_t doc) {
  return si < a->nsegs && doc < a->segs[si].ndocs ? a->segs[si].date[doc] : 0;
}

/* ---- filters ------------------------------------------------------------- */

int osq__filter_wanted(const osq_search_options *o) {
  return o && ((o->source && *o->source) || (o->date_from && *o->date_from) || (o->date_to && *o->date_to));
}

/* The range [*lo, *hi] of date keys o's date filters allow. */
static int date_range(const osq_search_options *o, int32_t *lo, int32_t *hi) {
  *lo = 0;
  *hi = INT32_MAX;
  int32_t k;
  if (o->date_from && *o->date_from) {
    if (osq_date_parse(o->date_from, &k))
      return osq__fail(OSQ_E_INVAL, "date_from '%.64s' is not a date (YYYY-MM-DD, YYYY-MM or YYYY)", o->date_from);
    *lo = k; /* a part left out is 0: from the start of the year or month */
  }
  if (o->date_to && *o->date_to) {
    if (osq_date_parse(o->date_to, &k))
      return osq__fail(OSQ_E_INVAL, "date_to '%.64s' is not a date (YYYY-MM-DD, YYYY-MM or YYYY)", o->date_to);
    /* to the end of the year or month: 2000 -> 2000-12-99, 2000-10 -> 2000-10-99 */
    if (k % 100 == 0) k += 99;
    if (k % 10000 < 100) k += 1200;
    *hi = k;
  }
  return OSQ_OK;
}

int osq__filter_check(const osq_search_options *o) {
  int32_t lo, hi;
  return o ? date_range(o, &lo, &hi) : OSQ_OK;
}

void osq__filter_free(osq__filter *f) {
  if (!f) return;
  if (f->pass)
    for (uint32_t i = 0; i < f->nsegs; i++) free(f->pass[i]);
  free(f->pass);
  free(f);
}

/* Sets bits [a, b): whole bytes at once (a ruling has dozens of passages). */
static void set_range(uint8_t *bits, uint32_t a, uint32_t b) {
  while (a < b && (a & 7)) osq__set_bit(bits, a++);
  if (b - a >= 8) {
    memset(bits + (a >> 3), 0xFF, (b - a) >> 3);
    a += (b - a) & ~7u;
  }
  while (a < b) osq__set_bit(bits, a++);
}

int osq__filter_make(const osq__attrs *a, const osq__segment *segs, const osq_search_options *o, osq__filter **out) {
  *out = NULL;
  if (!osq__filter_wanted(o)) return OSQ_OK;
  int32_t lo, hi;
  int rc = date_range(o, &lo, &hi);
  if (rc) return rc;
  int dated = lo > 0 || hi < INT32_MAX;
  const char *src = o->source && *o->source ? o->source : NULL;
  size_t srclen = src ? strlen(src) : 0;
  osq__filter *f = calloc(1, sizeof *f);
  if (!f || !(f->pass = calloc(a->nsegs ? a->nsegs : 1, sizeof *f->pass))) {
    free(f);
    return OSQ_E_NOMEM;
  }
  f->nsegs = a->nsegs;
  for (uint32_t si = 0; si < a->nsegs; si++) {
    const seg_attrs *s = &a->segs[si];
    if (!(f->pass[si] = calloc((segs[si].npassages + 7) / 8 + 1, 1))) {
      osq__filter_free(f);
      return OSQ_E_NOMEM;
    }
    size_t last_src = SIZE_MAX;
    int last_ok = 0;
    for (uint32_t doc = 0; doc < s->ndocs; doc++) {
      if (!s->live[doc]) continue;
      if (dated && (s->date[doc] == 0 || s->date[doc] < lo || s->date[doc] > hi)) continue;
      if (src) {
        if (s->src[doc] != last_src) { /* documents of one file share it */
          last_src = s->src[doc];
          last_ok = !strncmp((const char *)a->pool.p + last_src, src, srclen);
        }
        if (!last_ok) continue;
      }
      set_range(f->pass[si], s->first[doc], s->first[doc] + s->npass[doc]);
    }
  }
  *out = f;
  return OSQ_OK;
}

/* ---- documents by id ------------------------------------------------------- */

/* One block holds the struct, the document record (di's storage) and the
 * arrays; the passages are malloc'd one by one. */
typedef struct document_box {
  osq_document d;
  char *store;            /* the document record's strings */
  char **text;
  size_t *lens;
  const char **sections;
} document_box;

OSQ_EXPORT void osq_document_free(osq_document *d) {
  if (!d) return;
  document_box *b = (document_box *)d;
  if (b->text)
    for (size_t i = 0; i < d->npassages; i++) free(b->text[i]);
  free(b->text);
  free(b->lens);
  free(b->sections);
  free(b->store);
  free(b);
}

OSQ_EXPORT int osq_document_get(osq_index *ix, const char *id, osq_document **out) {
  *out = NULL;
  osq__clear_error();
  const osq__attrs *a;
  const osq__segment *segs;
  int rc = osq__index_attrs(ix, &a, &segs);
  if (rc) return rc;
  uint32_t si, doc;
  if (osq__attrs_find(a, id, &si, &doc)) return OSQ_E_NOTFOUND;
  const osq__segment *seg = &segs[si];
  document_box *b = calloc(1, sizeof *b);
  if (!b) return OSQ_E_NOMEM;
  osq__doc_info di;
  if ((rc = osq__segment_doc(seg, doc, &di, &b->store))) goto fail;
  size_t n = di.npassages;
  b->text = calloc(n ? n : 1, sizeof *b->text);
  b->lens = calloc(n ? n : 1, sizeof *b->lens);
  b->sections = calloc(n ? n : 1, sizeof *b->sections);
  if (!b->text || !b->lens || !b->sections) {
    rc = OSQ_E_NOMEM;
    goto fail;
  }
  b->d.npassages = n;
  for (size_t i = 0; i < n; i++) {
    uint32_t pid = di.first_passage + (uint32_t)i;
    osq__passage_info pi;
    if ((rc = osq__segment_passage(seg, pid, &pi))) goto fail;
    if (pi.heading > di.nheadings) {
      rc = osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: passage %u names heading %u of %u", seg->path, pid,
                     pi.heading, di.nheadings);
      goto fail;
    }
    b->sections[i] = pi.heading ? di.headings[pi.heading - 1] : "";
    if ((rc = osq__segment_passage_text(seg, pid, &b->text[i], &b->lens[i]))) goto fail;
  }
  b->d.doc_id = di.id;
  b->d.title = di.title;
  b->d.source = di.source;
  b->d.url = di.url;
  b->d.date = di.date;
  b->d.date_key = osq__attrs_doc_date(a, si, doc);
  b->d.field_keys = di.keys;
  b->d.field_values = di.values;
  b->d.nfields = di.nfields;
  b->d.passages = (const char *const *)b->text;
  b->d.passage_lens = b->lens;
  b->d.sections = b->sections;
  *out = &b->d;
  return OSQ_OK;
fail:
  osq_document_free(&b->d);
  return rc;
}
