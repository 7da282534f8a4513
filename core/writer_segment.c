/*
 * writer_segment.c -- the in-memory segment: the hash table of terms with
 * their raw posting streams, the passage table, the document records, and
 * the flush that writes them as a segment file (segment_write.c, which
 * holds the format).
 */
#include "writer_int.h"

/* ---- the in-memory segment -------------------------------------------------- */

void osq__writer_reset_segment(osq_writer *w) {
  osq__writer_store_sync(w); /* the compressor must be idle before the store is emptied */
  if (w->zq.started && w->zq.pid == getpid()) {
    pthread_mutex_lock(&w->zq.mu);
    w->zq.failed = 0; /* a failure spoils only the segment it happened in */
    w->zq.bytes = 0;
    pthread_mutex_unlock(&w->zq.mu);
  }
  for (size_t i = 0; i < w->nterms; i++) {
    osq__buf_free(&w->terms[i].w.raw);
  }
  w->nterms = 0;
  if (w->table) memset(w->table, 0, w->table_cap * sizeof *w->table);
  for (size_t i = 0; i < w->nchunks; i++) free(w->chunks[i]);
  w->nchunks = 0;
  w->arena_left = 0;
  w->npassages = 0;
  w->docs.n = 0;
  w->ndocs = 0;
  w->store.n = 0;
  w->block.n = 0;
  w->store_blocks = 0;
  w->blocks_sent = 0;
  w->total_tokens = 0;
  w->mem_bytes = 0;
}

static const uint8_t *arena_copy(osq_writer *w, const char *s, size_t n) {
  if (w->arena_left < n) {
    size_t sz = 1 << 20;
    uint8_t *c = malloc(sz);
    if (!c) return NULL;
    uint8_t **ch = realloc(w->chunks, (w->nchunks + 1) * sizeof *ch);
    if (!ch) { free(c); return NULL; }
    w->chunks = ch;
    w->chunks[w->nchunks++] = c;
    w->arena_chunk = c;
    w->arena_left = sz;
    /* memory is counted as terms use it (below), not per chunk, so that a
     * small flush_bytes still groups documents */
  }
  uint8_t *d = w->arena_chunk;
  w->mem_bytes += n;
  memcpy(d, s, n);
  w->arena_chunk += n;
  w->arena_left -= n;
  return d;
}

static uint64_t slot_key(const char *s, size_t n, uint64_t h) {
  if (n > 8) return h;
  if (n == 8) {
    uint64_t k;
    memcpy(&k, s, 8);
    return k;
  }
  return osq__load_short((const uint8_t *)s, n);
}

static int grow_table(osq_writer *w) {
  size_t cap = w->table_cap ? w->table_cap * 2 : 1 << 16;
  tslot *t = calloc(cap, sizeof *t);
  if (!t) return OSQ_E_NOMEM;
  for (size_t i = 0; i < w->nterms; i++) {
    const wterm *wt = &w->terms[i];
    size_t h = (size_t)wt->hash & (cap - 1);
    while (t[h].id1) h = (h + 1) & (cap - 1);
    t[h].key = slot_key((const char *)wt->w.term, wt->w.len, wt->hash);
    t[h].id1 = (uint32_t)i + 1;
    t[h].len = wt->w.len;
  }
  free(w->table);
  w->table = t;
  w->table_cap = cap;
  return OSQ_OK;
}

/* Finds or adds a term whose hash is h; returns its id or -1 when out of
 * memory. */
static long term_id(osq_writer *w, const char *s, size_t n, uint64_t h) {
  if (w->nterms * 2 >= w->table_cap && grow_table(w)) return -1;
  uint64_t key = slot_key(s, n, h);
  size_t mask = w->table_cap - 1, i = (size_t)h & mask;
  for (;;) {
    const tslot *e = &w->table[i];
    if (!e->id1) break;
    if (e->key == key && e->len == n &&
        (n <= 8 || memcmp(w->terms[e->id1 - 1].w.term, s, n) == 0))
      return e->id1 - 1;
    i = (i + 1) & mask;
  }
  if (w->nterms == w->terms_cap) {
    /* cache-line aligned, so that a term's hot fields are one miss */
    size_t cap = w->terms_cap ? w->terms_cap * 2 : 1 << 14;
    wterm *p = aligned_alloc(64, cap * sizeof *p);
    if (!p) return -1;
    if (w->nterms) memcpy(p, w->terms, w->nterms * sizeof *p);
    free(w->terms);
    w->terms = p;
    w->terms_cap = cap;
  }
  wterm *t = &w->terms[w->nterms];
  memset(t, 0, sizeof *t);
  t->w.term = arena_copy(w, s, n);
  if (!t->w.term) return -1;
  t->w.len = (uint32_t)n;
  t->hash = h;
  t->last_pid = UINT32_MAX;
  w->table[i].key = key;
  w->table[i].id1 = (uint32_t)w->nterms + 1;
  w->table[i].len = (uint32_t)n;
  w->mem_bytes += sizeof *t + 16;
  return (long)w->nterms++;
}

/* The tokens of a passage: those of text[0..len) followed by the context's
 * (w->ctx), a gap after them.  *own: the BM25 length, the text's own tokens. */
static int passage_tokens(osq_writer *w, const char *text, size_t len, const osq_token **out, size_t *nout,
                          uint32_t *own) {
  const osq_token *toks;
  size_t ntoks;
  int rc = osq_tokenize(w->tk, text, len, &toks, &ntoks, NULL);
  if (rc) return rc;
  *own = ntoks ? toks[ntoks - 1].pos + 1 : 0;
  if (w->nctx) {
    if (ntoks + w->nctx > w->all_cap) {
      size_t cap = (ntoks + w->nctx) * 2;
      osq_token *a = realloc(w->all, cap * sizeof *a);
      if (!a) return OSQ_E_NOMEM;
      w->all = a;
      w->all_cap = cap;
    }
    memcpy(w->all, toks, ntoks * sizeof *toks);
    uint32_t shift = ntoks ? toks[ntoks - 1].pos + 1 + OSQ__CONTEXT_GAP : 0;
    for (size_t k = 0; k < w->nctx; k++) {
      osq_token *t = &w->all[ntoks + k];
      memset(t, 0, sizeof *t);
      t->term = (const char *)w->ctx_terms.p + w->ctx[k].off;
      t->len = w->ctx[k].len;
      t->pos = w->ctx[k].pos + shift;
    }
    toks = w->all;
    ntoks += w->nctx;
  }
  *out = toks;
  *nout = ntoks;
  return OSQ_OK;
}

/* Room in the per-token and per-slot scratch arrays for ntoks tokens. */
static int reserve_scratch(osq_writer *w, size_t ntoks) {
  if (ntoks <= w->tok_cap) return OSQ_OK;
  size_t cap = ntoks * 2;
  uint32_t *a = realloc(w->tok_slot, cap * sizeof *a);
  if (a) w->tok_slot = a;
  uint32_t *b = realloc(w->pos, cap * sizeof *b);
  if (b) w->pos = b;
  uint32_t *c = realloc(w->slot_term, cap * sizeof *c);
  if (c) w->slot_term = c;
  uint32_t *d = realloc(w->slot_tf, cap * sizeof *d);
  if (d) w->slot_tf = d;
  uint32_t *e = realloc(w->slot_at, (cap + 1) * sizeof *e);
  if (e) w->slot_at = e;
  uint64_t *f = realloc(w->hashes, cap * sizeof *f);
  if (f) w->hashes = f;
  if (!a || !b || !c || !d || !e || !f) return OSQ_E_NOMEM;
  w->tok_cap = cap;
  return OSQ_OK;
}

/* The term id of every token, into w->tok_slot.  The table and the terms
 * are far larger than the caches, so the lookups are pipelined: every token
 * is hashed first; the lookup of token i prefetches the table slot of token
 * i + PREFETCH_AHEAD (not all at once: a passage's hundred misses would fill
 * the core's miss buffers) and the term it finds, which the pass after it
 * reads. */
static int lookup_terms(osq_writer *w, const osq_token *toks, size_t ntoks) {
  if (w->nterms * 2 + ntoks * 2 >= w->table_cap && grow_table(w)) return OSQ_E_NOMEM;
  uint64_t *hashes = (uint64_t *)w->hashes;
  for (size_t i = 0; i < ntoks; i++) {
    size_t n = toks[i].len > OSQ__MAX_TERM ? OSQ__MAX_TERM : toks[i].len;
    hashes[i] = osq__hash(toks[i].term, n);
    if (i < PREFETCH_AHEAD) __builtin_prefetch(&w->table[(size_t)hashes[i] & (w->table_cap - 1)]);
  }
  uint32_t *ids = w->tok_slot; /* term ids, then (in place) slots */
  for (size_t i = 0; i < ntoks; i++) {
    if (i + PREFETCH_AHEAD < ntoks)
      __builtin_prefetch(&w->table[(size_t)hashes[i + PREFETCH_AHEAD] & (w->table_cap - 1)]);
    size_t n = toks[i].len > OSQ__MAX_TERM ? OSQ__MAX_TERM : toks[i].len;
    long id = term_id(w, toks[i].term, n, hashes[i]);
    if (id < 0) return OSQ_E_NOMEM;
    ids[i] = (uint32_t)id;
    __builtin_prefetch(&w->terms[id], 1);
  }
  return OSQ_OK;
}

/* Appends one posting of passage pid to each distinct term of its tokens,
 * whose term ids lookup_terms left in w->tok_slot.  Grouped without
 * sorting: pass one gives each distinct term a slot and counts its
 * occurrences, pass two lays the positions out by slot (each term's
 * positions come out ascending), pass three appends one posting per slot
 * to the term's raw stream. */
static int append_postings(osq_writer *w, const osq_token *toks, size_t ntoks, uint32_t pid) {
  uint32_t *ids = w->tok_slot;
  uint32_t nslots = 0;
  for (size_t i = 0; i < ntoks; i++) {
    wterm *t = &w->terms[ids[i]];
    if (t->seen != pid + 1) {
      t->seen = pid + 1;
      t->slot = nslots;
      w->slot_term[nslots] = ids[i];
      w->slot_tf[nslots] = 0;
      nslots++;
    }
    uint32_t sl = t->slot;
    w->tok_slot[i] = sl;
    w->slot_tf[sl]++;
  }
  uint32_t at = 0;
  for (uint32_t sl = 0; sl < nslots; sl++) {
    w->slot_at[sl] = at;
    at += w->slot_tf[sl];
  }
  for (size_t i = 0; i < ntoks; i++) w->pos[w->slot_at[w->tok_slot[i]]++] = toks[i].pos;
  at = 0;
  for (uint32_t sl = 0; sl < nslots; sl++) {
    /* the term records are in cache since pass one; their buffers are not */
    if (sl + 4 < nslots) {
      const wterm *ahead = &w->terms[w->slot_term[sl + 4]];
      if (ahead->w.raw.p) __builtin_prefetch(ahead->w.raw.p + ahead->w.raw.n, 1); /* NULL + 0 is UB */
    }
    wterm *t = &w->terms[w->slot_term[sl]];
    uint32_t tf = w->slot_tf[sl];
    size_t before = t->w.raw.cap;
    uint32_t gap = t->last_pid == UINT32_MAX ? pid : pid - t->last_pid - 1;
    if (osq__buf_reserve(&t->w.raw, 10 + 5 * (size_t)(tf + 1))) return OSQ_E_NOMEM;
    uint8_t *o = t->w.raw.p + t->w.raw.n;
    o = osq__put_varint(o, gap);
    o = osq__put_varint(o, tf);
    uint32_t prev = 0;
    for (uint32_t k = 0; k < tf; k++) {
      uint32_t p = w->pos[at + k];
      o = osq__put_varint(o, k ? p - prev : p);
      prev = p;
    }
    t->w.raw.n = (size_t)(o - t->w.raw.p);
    at += tf;
    t->w.df++;
    t->last_pid = pid;
    w->mem_bytes += t->w.raw.cap - before;
  }
  return OSQ_OK;
}

/* Indexes one passage text as pid w->npassages of document w->ndocs, with
 * the context tokens in w->ctx after its own (context_build). */
int osq__writer_add_passage(osq_writer *w, const char *text, size_t len, int title, uint32_t heading) {
  if (w->npassages == UINT32_MAX - 1) return osq__fail(OSQ_E_INVAL, "too many passages in a segment");
  if (w->npassages == w->passages_cap) {
    uint32_t cap = w->passages_cap ? w->passages_cap * 2 : 4096;
    osq__wpassage *p = realloc(w->passages, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->passages = p;
    w->passages_cap = cap;
  }
  const osq_token *toks;
  size_t ntoks;
  uint32_t own;
  int rc = passage_tokens(w, text, len, &toks, &ntoks, &own);
  if (rc) return rc;
  uint32_t pid = w->npassages;
  osq__wpassage *ps = &w->passages[pid];
  ps->doc = w->ndocs;
  ps->block = w->blocks_sent;
  ps->offset = (uint32_t)w->block.n;
  ps->length = (uint32_t)len;
  ps->ntokens = own + w->ctx_len;
  ps->positions = ntoks ? toks[ntoks - 1].pos + 1 : 0;
  ps->title = title != 0;
  ps->heading = heading;
  if (osq__buf_put(&w->block, text, len)) return OSQ_E_NOMEM;
  if (w->block.n >= OSQ__STORE_BLOCK && (rc = osq__writer_store_block(w))) return rc;
  w->npassages++;
  w->total_tokens += ps->ntokens;
  if (ntoks == 0) return OSQ_OK;
  if ((rc = reserve_scratch(w, ntoks)) || (rc = lookup_terms(w, toks, ntoks))) return rc;
  return append_postings(w, toks, ntoks, pid);
}

static int term_cmp(const void *a, const void *b) {
  const osq__wterm *x = *(osq__wterm *const *)a, *y = *(osq__wterm *const *)b;
  int c = memcmp(x->term, y->term, x->len < y->len ? x->len : y->len);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Writes the in-memory segment as a new segment file (not yet published). */
int osq__writer_flush(osq_writer *w) {
  if (w->ndocs == 0) return OSQ_OK;
  int rc = osq__writer_store_block(w);
  if (!rc) rc = osq__writer_store_sync(w);
  if (rc) {
    /* passages were numbered into store blocks that are not there: the
     * in-memory segment cannot be written; it is dropped, and the error
     * says so */
    osq__writer_reset_segment(w);
    return rc;
  }
  if (w->store_blocks == 0) {
    /* The format wants at least the offset table; an empty block keeps
     * every passage's block index valid. */
    if ((rc = osq__buf_put(&w->block, "", 0)) || (rc = osq__writer_store_block(w)) || (rc = osq__writer_store_sync(w)))
      return rc;
    if (w->store_blocks == 0) {
      if (!w->store_offsets && !(w->store_offsets = calloc(2, sizeof *w->store_offsets))) return OSQ_E_NOMEM;
      w->store_offsets[0] = w->store_offsets[1] = 0;
    }
  }
  /* Terms live in one array by id (their hot fields together, for the
   * indexing loop); the segment wants them sorted, through pointers. */
  osq__wterm **sorted = malloc((w->nterms ? w->nterms : 1) * sizeof *sorted);
  if (!sorted) return OSQ_E_NOMEM;
  for (size_t i = 0; i < w->nterms; i++) sorted[i] = &w->terms[i].w;
  if (w->nterms) qsort(sorted, w->nterms, sizeof *sorted, term_cmp);
  osq__wsegment seg;
  memset(&seg, 0, sizeof seg);
  seg.terms = sorted;
  seg.nterms = w->nterms;
  seg.passages = w->passages;
  seg.npassages = w->npassages;
  seg.docs = w->docs;
  seg.doc_offsets = w->doc_offsets;
  seg.ndocs = w->ndocs;
  seg.store = w->store;
  seg.store_offsets = w->store_offsets;
  seg.store_blocks = w->store_blocks;
  seg.total_tokens = w->total_tokens;
  osq__manifest_seg ms;
  memset(&ms, 0, sizeof ms);
  ms.number = w->man.next_segment++;
  ms.ndocs = w->ndocs;
  ms.npassages = w->npassages;
  char name[64];
  osq__segment_name(ms.number, name, sizeof name);
  rc = osq__segment_write(w->dir, name, &seg, &ms.bytes);
  free(sorted);
  /* the segment is discarded either way */
  osq__writer_reset_segment(w);
  if (rc) return rc;
  osq__manifest_seg *p = realloc(w->new_segs, (w->nnew + 1) * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  w->new_segs = p;
  w->new_segs[w->nnew++] = ms;
  w->stats.index_bytes += ms.bytes;
  return OSQ_OK;
}

/* ---- document records ------------------------------------------------------- */

/* Room for one more document record. */
int osq__writer_reserve_doc(osq_writer *w) {
  if (w->ndocs < w->docs_cap) return OSQ_OK;
  uint32_t cap = w->docs_cap ? w->docs_cap * 2 : 1024;
  uint32_t *p = realloc(w->doc_offsets, cap * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  w->doc_offsets = p;
  w->docs_cap = cap;
  return OSQ_OK;
}

/* A stored field is shown, not read at length: at most 65,535 bytes of it
 * are kept, cut before a UTF-8 character that would straddle the limit (the
 * text was cleaned to valid UTF-8 before it got here). */
#define STORED_FIELD_MAX 65535
static size_t stored_len(const char *s) {
  size_t n = strlen(s);
  if (n <= STORED_FIELD_MAX) return n;
  n = STORED_FIELD_MAX;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

/* Appends the DOCS record of document w->ndocs: id, title, source, url,
 * date (NULL is ""), its first passage and passage count, its nf fields
 * (keys[i], values[i]) and nh headings (segment_write.c). */
int osq__writer_doc_record(osq_writer *w, const char *const f[5], uint32_t first, const char *const *keys,
                           const char *const *values, uint32_t nf, const char *const *headings, uint32_t nh) {
  w->doc_offsets[w->ndocs] = (uint32_t)w->docs.n;
  for (int i = 0; i < 5; i++) {
    const char *s = f[i] ? f[i] : "";
    if (osq__buf_str(&w->docs, s, stored_len(s))) return OSQ_E_NOMEM;
  }
  if (osq__buf_varint(&w->docs, first) || osq__buf_varint(&w->docs, w->npassages - first))
    return OSQ_E_NOMEM;
  if (osq__buf_varint(&w->docs, nf)) return OSQ_E_NOMEM;
  for (uint32_t i = 0; i < 2 * nf; i++) {
    const char *s = i % 2 ? values[i / 2] : keys[i / 2];
    if (osq__buf_str(&w->docs, s, stored_len(s))) return OSQ_E_NOMEM;
  }
  if (osq__buf_varint(&w->docs, nh)) return OSQ_E_NOMEM;
  for (uint32_t i = 0; i < nh; i++)
    if (osq__buf_str(&w->docs, headings[i], strlen(headings[i]))) return OSQ_E_NOMEM;
  return OSQ_OK;
}

/* Flushes the in-memory segment once its buffers reach flush_bytes. */
int osq__writer_flush_if_full(osq_writer *w) {
  size_t mem = w->mem_bytes + osq__writer_store_bytes(w) + w->docs.n + (size_t)w->npassages * sizeof(osq__wpassage);
  if (mem >= w->opts.flush_bytes || w->ndocs >= UINT32_MAX / 2) return osq__writer_flush(w);
  return OSQ_OK;
}
