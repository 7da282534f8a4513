/* cut.c -- passage cutting as a public function, for tools that index the
 * same passages into another engine (osindex --engine xapian, osbench). */
#include <stdlib.h>

#include "docstruct.h"
#include "internal.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int osq__doc_passages(const osq__docstruct *ds, const char *title, uint32_t min_chars, uint32_t max_chars,
                      uint32_t overlap_chars, osq__cut **cuts, size_t *cap, osq__passage_fn fn, void *ctx) {
  const char *body = (const char *)ds->text.p;
  size_t blen = ds->text.n, tlen = strlen(title), lead = 0;
  uint32_t no = 0;
  int rc;
  /* The title is a passage of its own, so that headlines are found,
   * unless the body starts with it (news items whose text repeats the
   * headline, Markdown whose first heading is the title), which would show
   * the same passage twice. */
  while (lead < blen && is_space(body[lead])) lead++;
  if (tlen > 0 && blen - lead >= tlen && memcmp(body + lead, title, tlen) == 0) tlen = 0;
  /* A title longer than a passage can usefully be is indexed and shown by
   * its first OSQ__TITLE_PASSAGE_MAX bytes, cut between characters
   * (osindex's reader already cuts titles at 1 KiB; this is for library
   * callers). */
  if (tlen > OSQ__TITLE_PASSAGE_MAX) {
    tlen = OSQ__TITLE_PASSAGE_MAX;
    while (tlen > 0 && ((unsigned char)title[tlen] & 0xC0) == 0x80) tlen--;
  }
  if (tlen > 0 && (rc = fn(ctx, title, tlen, no++, 0, 1))) return rc;
  /* Each section is cut apart: a heading starts a passage. */
  for (uint32_t s = 0; s < ds->nsections; s++) {
    const osq__section *sec = &ds->sections[s];
    const char *st = body + sec->start;
    long n = osq__cut_passages(st, sec->end - sec->start, min_chars, max_chars, overlap_chars, cuts, cap);
    if (n < 0) return -1;
    for (long i = 0; i < n; i++)
      if ((rc = fn(ctx, st + (*cuts)[i].start, (*cuts)[i].end - (*cuts)[i].start, no++, sec->heading_no, 0)))
        return rc;
  }
  return 0;
}

OSQ_EXPORT long osq_cut_passages(const char *text, size_t len, const osq_writer_options *opts,
                                 osq_passage_cut **out) {
  uint32_t min = opts && opts->passage_min_chars ? opts->passage_min_chars : 80;
  uint32_t max = opts && opts->passage_max_chars ? opts->passage_max_chars : 600;
  if (max > OSQ__PASSAGE_MAX_CHARS) max = OSQ__PASSAGE_MAX_CHARS; /* as the writer clamps it */
  if (min > max) min = max;
  uint32_t overlap = opts && opts->passage_overlap_chars ? opts->passage_overlap_chars : 100;
  if (overlap >= max) overlap = max / 4;
  osq__cut *cuts = NULL;
  size_t cap = 0;
  long n = osq__cut_passages(text, len, min, max, overlap, &cuts, &cap);
  if (n < 0) {
    free(cuts);
    return OSQ_E_NOMEM;
  }
  /* osq_passage_cut and osq__cut have the same layout */
  *out = (osq_passage_cut *)cuts;
  return n;
}

typedef struct collect {
  struct { const char *text; size_t len; uint32_t heading; int title; } *p;
  size_t n, cap, bytes;
} collect;

static int collect_one(void *ctx, const char *text, size_t len, uint32_t no, uint32_t heading, int title_passage) {
  collect *c = ctx;
  (void)no;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    void *p = realloc(c->p, cap * sizeof *c->p);
    if (!p) return -1;
    c->p = p;
    c->cap = cap;
  }
  c->p[c->n].text = text;
  c->p[c->n].len = len;
  c->p[c->n].heading = heading;
  c->p[c->n].title = title_passage;
  c->n++;
  c->bytes += len + 1;
  return 0;
}

OSQ_EXPORT long osq_cut_document(const osq_doc *doc, const osq_writer_options *opts, osq_doc_passage **out) {
  uint32_t min = opts && opts->passage_min_chars ? opts->passage_min_chars : 80;
  uint32_t max = opts && opts->passage_max_chars ? opts->passage_max_chars : 600;
  if (max > OSQ__PASSAGE_MAX_CHARS) max = OSQ__PASSAGE_MAX_CHARS;
  if (min > max) min = max;
  uint32_t overlap = opts && opts->passage_overlap_chars ? opts->passage_overlap_chars : 100;
  if (overlap >= max) overlap = max / 4;
  const char *title = doc->title ? doc->title : "";
  osq__docstruct ds;
  memset(&ds, 0, sizeof ds);
  collect c = {0};
  osq__cut *cuts = NULL;
  size_t cap = 0;
  long rc = osq__docstruct_parse(&ds, doc->text ? doc->text : "", doc->text ? doc->text_len : 0);
  if (!rc && osq__doc_passages(&ds, title, min, max, overlap, &cuts, &cap, collect_one, &c)) rc = OSQ_E_NOMEM;
  osq_doc_passage *r = NULL;
  if (!rc) {
    size_t hbytes = ds.headings.n + 1;
    r = malloc(c.n * sizeof *r + c.bytes + hbytes + 1);
    if (!r) rc = OSQ_E_NOMEM;
  }
  if (!rc) {
    char *o = (char *)(r + c.n), *heads = o + c.bytes;
    memcpy(heads, ds.headings.p ? (const char *)ds.headings.p : "", ds.headings.n);
    heads[ds.headings.n] = 0; /* "" for passages under no heading */
    for (size_t i = 0; i < c.n; i++) {
      const char *h = heads + ds.headings.n;
      if (c.p[i].heading) {
        h = heads;
        for (uint32_t k = 1; k < c.p[i].heading; k++) h += strlen(h) + 1;
      }
      memcpy(o, c.p[i].text, c.p[i].len);
      o[c.p[i].len] = 0;
      size_t tl = strlen(title);
      int is_title = i == 0 && tl && c.p[i].len == tl && !memcmp(o, title, tl);
      r[i] = (osq_doc_passage){o, c.p[i].len, h, is_title, ds.nheadings > 0 && !is_title};
      o += c.p[i].len + 1;
    }
    *out = r;
    rc = (long)c.n;
  }
  free(c.p);
  free(cuts);
  osq__docstruct_free(&ds);
  return rc;
}
