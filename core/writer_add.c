/*
 * writer_add.c -- adding a document: its structure (docstruct.c), its
 * passages, and the context each passage is indexed with (CONTEXT below);
 * also the documents a merge re-adds (osq__writer_add_stored).
 */
#include "writer_int.h"

/* ---- CONTEXT ------------------------------------------------------------------
 * A passage is indexed with context that its text lacks: its document's
 * title, its section heading, and for the document's first passage the front
 * matter fields (the format, segment_write.c, says which and where).  So
 * `근로기준법 제23조` finds the passage of article 23 of that law, which
 * says neither the law's name nor, past its first lines, the article's, and
 * `2000도1007` finds the ruling whose front matter gives that case number.
 * The context tokens sit after the text's, OSQ__CONTEXT_GAP positions apart,
 * and count in the passage's length like its own. */

/* Times each piece of context is indexed (BM25F-like field weights: the
 * tf of a context term is the repeat count; the length grows by one copy of
 * the title at most), and the rules measured with them (docs/ranking.md):
 * ctx_title_flag 2 marks section starts like title passages (1 title
 * passages only, 0 none); ctx_skip_heads drops the heading from section
 * starts (measured worse); ctx_len_title counts one copy of the title in the
 * BM25 length; ctx_title_heads_only gives the full title weight to section
 * starts only.  OSQ__CTX_WEIGHTS="title,heading,fields,flag,skip,len,heads"
 * overrides them, for measurement only. */
static int ctx_w_title = 12, ctx_w_heading = 12, ctx_w_fields = 4, ctx_title_flag = 2, ctx_skip_heads = 0,
           ctx_len_title = 1, ctx_title_heads_only = 1;
/* Read once per process, by the first osq_writer_open, so that writers of
 * several threads never write them while another reads them. */
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static void ctx_from_env(void) {
#ifdef OSQ_TESTING
  const char *cw = getenv("OSQ__CTX_WEIGHTS");
  if (cw) sscanf(cw, "%d,%d,%d,%d,%d,%d,%d", &ctx_w_title, &ctx_w_heading, &ctx_w_fields, &ctx_title_flag, &ctx_skip_heads,
           &ctx_len_title, &ctx_title_heads_only);
#endif
}

/* Reads OSQ__CTX_WEIGHTS (test builds) once per process: osq_writer_open. */
void osq__writer_context_init(void) { pthread_once(&ctx_once, ctx_from_env); }

/* Appends the tokens of s[0..n) to the context, a gap after what is there. */
static int context_add(osq_writer *w, const char *s, size_t n) {
  if (n > 1024) n = 1024; /* context is a name or a line, not a text */
  const osq_token *toks;
  size_t nt;
  int rc = osq_tokenize(w->tk, s, n, &toks, &nt, NULL);
  if (rc || nt == 0) return rc;
  if (w->nctx + nt > w->ctx_cap) {
    size_t cap = (w->nctx + nt) * 2;
    struct ctx_tok *c = realloc(w->ctx, cap * sizeof *c);
    if (!c) return OSQ_E_NOMEM;
    w->ctx = c;
    w->ctx_cap = cap;
  }
  uint32_t base = w->nctx ? w->ctx[w->nctx - 1].pos + 1 + OSQ__CONTEXT_GAP : 0;
  for (size_t i = 0; i < nt; i++) {
    uint32_t len = toks[i].len > OSQ__MAX_TERM ? OSQ__MAX_TERM : toks[i].len;
    w->ctx[w->nctx].off = (uint32_t)w->ctx_terms.n;
    w->ctx[w->nctx].len = len;
    w->ctx[w->nctx].pos = base + toks[i].pos;
    if (osq__buf_put(&w->ctx_terms, toks[i].term, len)) return OSQ_E_NOMEM;
    w->nctx++;
  }
  return OSQ_OK;
}

/* A document's structure, as osq_writer_add parsed it or a segment being
 * merged stored it. */
typedef struct doc_shape {
  const char *title;
  const char *const *keys, *const *values, *const *headings;
  uint32_t nfields, nheadings;
} doc_shape;

/* Adds passage number `no` of a document, under heading `heading` (1-based,
 * 0: none), with its context.  The title passage is the document's first,
 * holding exactly the title: it gets no title as context. */
static int add_doc_passage(osq_writer *w, const doc_shape *d, const char *text, size_t len, uint32_t no,
                           uint32_t heading) {
  /* a passage that starts with its section's heading */
  int heads = heading && heading <= d->nheadings && !strncmp(text, d->headings[heading - 1], strlen(d->headings[heading - 1]));
  size_t tlen = strlen(d->title);
  int is_title = no == 0 && tlen && len == tlen && !memcmp(text, d->title, tlen);
  if (heading > d->nheadings) heading = 0;
  const char *h = heading ? d->headings[heading - 1] : "";
  /* A heading followed at once by a subsection's is a passage of its own,
   * the heading alone: it is found by its words, not by the title's, and
   * gets no lift (it would rank short and empty above the text). */
  int bare = heads && strlen(h) == len;
  if (!strcmp(h, d->title) || bare || (heads && ctx_skip_heads)) h = "";
  if (bare) heads = 0;
  int first = no == 0 && d->nfields;
  uint64_t key = 1 | (uint64_t)is_title << 1 | (uint64_t)first << 2 | (uint64_t)bare << 3 |
                 (uint64_t)(*h ? heading : 0) << 4;
  if (key != w->ctx_key || no == 0) { /* no == 0: another document */
    w->nctx = 0;
    w->ctx_len = 0;
    w->ctx_terms.n = 0;
    int rc = OSQ_OK;
    /* The title is context only in a document with sections, where it
     * names the whole its parts belong to; a plain document (a news item)
     * keeps its title passage alone, so that a passage holding a word ranks
     * above its neighbours that share only the title.  It weighs
     * ctx_w_title only in a record with front matter (a statute, a ruling:
     * its title is its name, what a lookup gives); in a free-form page
     * (the bundled corpus's Markdown notes) once, or its short passages
     * would outrank every passage that holds the query's other words
     * (docs/ranking.md). */
    int wt = !d->nheadings ? 0 : d->nfields && (heads || !ctx_title_heads_only) ? ctx_w_title : 1;
    for (int r = 0; !is_title && !bare && !rc && r < wt; r++) {
      rc = context_add(w, d->title, tlen);
      if (r == 0 && ctx_len_title) w->ctx_len = w->nctx ? w->ctx[w->nctx - 1].pos + 1 : 0;
    }
    for (int r = 0; *h && !rc && r < ctx_w_heading; r++) rc = context_add(w, h, strlen(h));
    for (uint32_t i = 0; first && !rc && i < d->nfields; i++) {
      /* URLs would add only noise: "https", "www", "go", "kr" */
      if (!strncmp(d->values[i], "http://", 7) || !strncmp(d->values[i], "https://", 8)) continue;
      /* nor a field that repeats the title (제목, 사건명): the title is there */
      if (!strcmp(d->values[i], d->title)) continue;
      w->scratch.n = 0;
      if (osq__buf_put(&w->scratch, d->keys[i], strlen(d->keys[i])) || osq__buf_put(&w->scratch, ": ", 2) ||
          osq__buf_put(&w->scratch, d->values[i], strlen(d->values[i])))
        return OSQ_E_NOMEM;
      for (int r = 0; !rc && r < ctx_w_fields; r++) rc = context_add(w, (const char *)w->scratch.p, w->scratch.n);
    }
    if (rc) {
      w->ctx_key = 0;
      return rc;
    }
    w->ctx_key = key;
  }
  return osq__writer_add_passage(w, text, len, ctx_title_flag == 2 ? (is_title || heads) : (is_title && ctx_title_flag),
                                 heading);
}

typedef struct add_ctx {
  osq_writer *w;
  const doc_shape *d;
  int rc;
} add_ctx;

/* osq__doc_passages' callback for osq_writer_add. */
static int add_one(void *ctx, const char *text, size_t len, uint32_t no, uint32_t heading, int title_passage) {
  add_ctx *a = ctx;
  if (title_passage) { /* the title as given: its bad bytes are replaced here */
    size_t bad;
    char *copy = strndup(text, len);
    if (!copy) return a->rc = OSQ_E_NOMEM;
    const char *t = osq__writer_clean_text(a->w, copy, len, &bad);
    /* a title with bad bytes is not the title passage: its text differs */
    a->rc = t ? add_doc_passage(a->w, a->d, t, bad ? a->w->clean.n : len, no, 0) : OSQ_E_NOMEM;
    free(copy);
  } else {
    a->rc = add_doc_passage(a->w, a->d, text, len, no, heading);
  }
  return a->rc;
}

/* Adds a document from a segment being merged: its record and its passages
 * exactly as stored (so passage boundaries do not move), with the same
 * context as when it was first added. */
int osq__writer_add_stored(osq_writer *w, const osq__doc_info *di, char *const *texts, const size_t *lens,
                           const uint32_t *headings) {
  if (osq__writer_reserve_doc(w)) return OSQ_E_NOMEM;
  uint32_t first = w->npassages;
  int rc;
  doc_shape d = {di->title, di->keys, di->values, di->headings, di->nfields, di->nheadings};
  for (uint32_t i = 0; i < di->npassages; i++)
    if ((rc = add_doc_passage(w, &d, texts[i], lens[i], i, headings[i]))) return rc;
  const char *f[5] = {di->id, di->title, di->source, di->url, di->date};
  if (osq__writer_doc_record(w, f, first, di->keys, di->values, di->nfields, di->headings, di->nheadings))
    return OSQ_E_NOMEM;
  w->ndocs++;
  return osq__writer_flush_if_full(w);
}

int osq__writer_add(osq_writer *w, const osq_doc *doc) {
  int lrc = osq__writer_load_ids(w);
  if (lrc) return lrc;
  size_t bad = 0;
  const char *text = doc->text ? doc->text : "";
  size_t len = doc->text ? doc->text_len : 0;
  text = osq__writer_clean_text(w, text, len, &bad);
  if (!text) return OSQ_E_NOMEM;
  if (bad) len = w->clean.n;
  w->stats.bad_bytes += bad;
  w->stats.input_bytes += doc->text_len;
  if (osq__writer_reserve_doc(w)) return OSQ_E_NOMEM;
  uint32_t first = w->npassages;
  int rc;
  /* Front matter and Markdown (docstruct.c): fields, sections, clean text. */
  osq__docstruct *ds = &w->ds;
  if ((rc = osq__docstruct_parse(ds, text, len))) return rc;
  if (ds->problem[0]) {
    w->stats.bad_front_matter++;
    if (w->opts.warn) w->opts.warn(w->opts.warn_ctx, doc->id, ds->problem);
  }
  size_t nptr = 2 * (size_t)ds->nfields + ds->nheadings;
  if (nptr >= w->sptr_cap) { /* never NULL: the arrays below point into it */
    const char **p = realloc(w->sptr, (nptr + 8) * 2 * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->sptr = p;
    w->sptr_cap = (nptr + 8) * 2;
  }
  const char *q = (const char *)ds->fields.p;
  for (uint32_t i = 0; i < 2 * ds->nfields; i++, q += strlen(q) + 1) w->sptr[i % 2 ? ds->nfields + i / 2 : i / 2] = q;
  q = (const char *)ds->headings.p;
  for (uint32_t i = 0; i < ds->nheadings; i++, q += strlen(q) + 1) w->sptr[2 * ds->nfields + i] = q;
  doc_shape d = {doc->title ? doc->title : "", w->sptr, w->sptr + ds->nfields, w->sptr + 2 * ds->nfields,
                 ds->nfields, ds->nheadings};
  add_ctx ac = {w, &d, OSQ_OK};
  rc = osq__doc_passages(ds, d.title, w->opts.passage_min_chars, w->opts.passage_max_chars,
                         w->opts.passage_overlap_chars, &w->cuts, &w->cuts_cap, add_one, &ac);
  if (rc) return ac.rc ? ac.rc : OSQ_E_NOMEM;
  const char *f[5] = {doc->id, doc->title, doc->source, doc->url, doc->date};
  if (osq__writer_doc_record(w, f, first, d.keys, d.values, d.nfields, d.headings, d.nheadings)) return OSQ_E_NOMEM;
  if ((rc = osq__writer_note_id(w, doc->id, w->ndocs))) return rc;
  w->ndocs++;
  w->stats.documents++;
  w->stats.passages += w->npassages - first;
  return osq__writer_flush_if_full(w);
}
