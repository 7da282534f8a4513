/*
 * writer.c -- builds segments in memory and publishes them.
 *
 * The writer holds one in-memory segment: a hash table of terms, each with a
 * raw posting stream (varint pid gap, tf, position gaps), the passage table,
 * the document records and the compressed passage store.  When its buffers
 * pass osq_writer_options.flush_bytes it writes them as a segment file and
 * starts again, so memory stays bounded whatever the input size; commit
 * writes the last one and publishes every new segment in one new manifest.
 *
 * One writer at a time: the writer holds an exclusive flock() on the LOCK
 * file of the index directory.  The kernel drops it when the process dies,
 * so a killed writer never blocks the next one.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "manifest.h"
#include "segment.h"

typedef struct wterm {
  osq__wterm w; /* first member: segment_write sees osq__wterm */
  uint64_t hash;
  uint32_t last_pid;
} wterm;

/* A hash table slot.  Terms of up to 8 bytes -- Hangul bigrams are 6 --
 * are compared inside the slot, without touching the term itself. */
typedef struct tslot {
  uint64_t key; /* the term's bytes (len <= 8), else its hash */
  uint32_t id1; /* term id + 1; 0 = empty */
  uint32_t len;
} tslot;

struct osq_writer {
  char dir[4096];
  int lock_fd;
  osq_writer_options opts;
  osq__manifest man;
  osq__manifest_seg *new_segs;
  uint32_t nnew;
  osq_tokenizer *tk;
  /* the in-memory segment */
  wterm **terms;  /* by term id */
  size_t nterms, terms_cap;
  tslot *table;
  uint32_t *seen;  /* by term id: the passage that last used the term + 1 */
  uint32_t *slot;  /* by term id: its index among that passage's terms */
  size_t table_cap;
  osq__buf arena;  /* term bytes, in chunks that never move */
  uint8_t *arena_chunk;
  size_t arena_left;
  uint8_t **chunks;
  size_t nchunks;
  osq__wpassage *passages;
  uint32_t npassages, passages_cap;
  osq__buf docs;
  uint32_t *doc_offsets;
  uint32_t ndocs, docs_cap;
  osq__buf store, block; /* compressed blocks; the block being filled */
  uint64_t *store_offsets;
  uint32_t store_blocks, store_cap;
  uint64_t total_tokens;
  size_t mem_bytes;
  /* scratch */
  uint32_t *tok_slot, *pos;             /* per token */
  uint32_t *slot_term, *slot_tf, *slot_at; /* per distinct term of a passage */
  uint64_t *hashes;                          /* per token */
  size_t tok_cap;
  osq__cut *cuts;
  size_t cuts_cap;
  osq__buf clean;
  osq_writer_stats stats;
};

/* ---- passage cutting ------------------------------------------------------- */

static uint32_t count_chars(const char *s, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((uint8_t)s[i] & 0xC0) != 0x80;
  return c;
}

/* Byte offset after advancing `chars` characters from start (bounded by n). */
static size_t advance_chars(const char *s, size_t start, size_t n, uint32_t chars) {
  size_t i = start;
  while (i < n && chars > 0) {
    i++;
    while (i < n && ((uint8_t)s[i] & 0xC0) == 0x80) i++;
    chars--;
  }
  return i;
}

static int add_cut(osq__cut **cuts, size_t *cap, size_t *n, size_t a, size_t b) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    osq__cut *p = realloc(*cuts, c * sizeof *p);
    if (!p) return -1;
    *cuts = p;
    *cap = c;
  }
  (*cuts)[*n].start = (uint32_t)a;
  (*cuts)[*n].end = (uint32_t)b;
  (*n)++;
  return 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Cuts one paragraph text[a,b) into windows of at most max_chars characters
 * that overlap by overlap_chars, ending at a space when one is near. */
static int cut_long(const char *text, size_t a, size_t b, uint32_t max_chars,
                    uint32_t overlap, osq__cut **cuts, size_t *cap, size_t *n) {
  while (a < b) {
    size_t e = advance_chars(text, a, b, max_chars);
    if (e < b) {
      /* Prefer to end after a sentence or at a space in the last fifth. */
      size_t lo = advance_chars(text, a, b, max_chars * 4 / 5), best = 0;
      for (size_t i = e; i > lo; i--) {
        if (text[i - 1] == '.' && is_ws(text[i])) { best = i; break; }
        if (!best && is_ws(text[i])) best = i;
      }
      if (best) e = best;
    }
    if (add_cut(cuts, cap, n, a, e)) return -1;
    if (e >= b) break;
    /* Next window starts overlap characters before e, at a space if near. */
    uint32_t wchars = count_chars(text + a, e - a);
    size_t next = advance_chars(text, a, e, wchars > overlap ? wchars - overlap : wchars / 2);
    while (next < e && !is_ws(text[next]) && next > a) {
      size_t k = next;
      while (k < e && !is_ws(text[k])) k++;
      if (k - next < 24) next = k; /* skip to the end of the word */
      break;
    }
    while (next < e && is_ws(text[next])) next++;
    if (next <= a) next = e;
    a = next;
  }
  return 0;
}

long osq__cut_passages(const char *text, size_t len, uint32_t min_chars, uint32_t max_chars,
                       uint32_t overlap, osq__cut **cuts, size_t *cap) {
  size_t n = 0;
  size_t i = 0;
  size_t acc_a = 0, acc_b = 0;
  uint32_t acc_chars = 0;
  int have = 0;
  while (i < len) {
    /* One paragraph: a line, trimmed. */
    size_t a = i;
    while (i < len && text[i] != '\n') i++;
    size_t b = i;
    if (i < len) i++;
    while (a < b && is_ws(text[a])) a++;
    while (b > a && is_ws(text[b - 1])) b--;
    if (a == b) continue;
    uint32_t chars = count_chars(text + a, b - a);
    if (have && acc_chars + chars > max_chars) {
      if (add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
      have = 0;
    }
    if (!have) {
      if (chars > max_chars) {
        if (cut_long(text, a, b, max_chars, overlap, cuts, cap, &n)) return -1;
        continue;
      }
      acc_a = a;
      acc_chars = 0;
      have = 1;
    }
    acc_b = b;
    acc_chars += chars;
    if (acc_chars >= min_chars) {
      if (add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
      have = 0;
    }
  }
  if (have && add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
  return (long)n;
}

/* ---- UTF-8 cleaning --------------------------------------------------------- */

/* Returns the text to index: text itself when it is valid UTF-8 without NUL,
 * else a copy in w->clean with each bad byte replaced by U+FFFD and NUL by a
 * space.  *bad counts replaced bytes. */
static const char *clean_text(osq_writer *w, const char *text, size_t len, size_t *bad) {
  const uint8_t *p = (const uint8_t *)text;
  size_t i = 0;
  *bad = 0;
  for (;;) {
    while (i < len && p[i] >= 1 && p[i] < 0x80) i++;
    if (i >= len) return text;
    size_t k = 0;
    uint8_t c = p[i];
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) k = 3;
    else if (c >= 0xF0 && c <= 0xF4) k = 4;
    if (!k || i + k > len) break;
    int ok = 1;
    for (size_t j = 1; j < k; j++) ok &= (p[i + j] & 0xC0) == 0x80;
    if (ok && k == 3) {
      uint32_t v = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6);
      ok = v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF);
    }
    if (ok && k == 4) {
      uint32_t v = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12);
      ok = v >= 0x10000 && v <= 0x10FFFF;
    }
    if (!ok) break;
    i += k;
  }
  /* Slow path: copy with replacements. */
  w->clean.n = 0;
  if (osq__buf_reserve(&w->clean, len * 3 + 1)) return NULL;
  uint8_t *o = w->clean.p;
  i = 0;
  while (i < len) {
    uint8_t c = p[i];
    if (c == 0) { *o++ = ' '; (*bad)++; i++; continue; }
    if (c < 0x80) { *o++ = c; i++; continue; }
    size_t k = 0;
    if (c >= 0xC2 && c <= 0xDF) k = 2;
    else if (c >= 0xE0 && c <= 0xEF) k = 3;
    else if (c >= 0xF0 && c <= 0xF4) k = 4;
    int ok = k && i + k <= len;
    for (size_t j = 1; ok && j < k; j++) ok &= (p[i + j] & 0xC0) == 0x80;
    if (ok && k == 3) {
      uint32_t v = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6);
      ok = v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF);
    }
    if (ok && k == 4) {
      uint32_t v = ((c & 0x07u) << 18) | ((p[i + 1] & 0x3Fu) << 12);
      ok = v >= 0x10000 && v <= 0x10FFFF;
    }
    if (!ok) {
      *o++ = 0xEF; *o++ = 0xBF; *o++ = 0xBD;
      (*bad)++;
      i++;
      continue;
    }
    memcpy(o, p + i, k);
    o += k;
    i += k;
  }
  w->clean.n = (size_t)(o - w->clean.p);
  return (const char *)w->clean.p;
}

/* ---- the in-memory segment -------------------------------------------------- */

static void reset_segment(osq_writer *w) {
  for (size_t i = 0; i < w->nterms; i++) {
    osq__buf_free(&w->terms[i]->w.raw);
    free(w->terms[i]);
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
    w->mem_bytes += sz;
  }
  uint8_t *d = w->arena_chunk;
  memcpy(d, s, n);
  w->arena_chunk += n;
  w->arena_left -= n;
  return d;
}

static uint64_t slot_key(const char *s, size_t n, uint64_t h) {
  if (n > 8) return h;
  uint64_t k = 0;
  memcpy(&k, s, n);
  return k;
}

static int grow_table(osq_writer *w) {
  size_t cap = w->table_cap ? w->table_cap * 2 : 1 << 16;
  tslot *t = calloc(cap, sizeof *t);
  if (!t) return OSQ_E_NOMEM;
  for (size_t i = 0; i < w->nterms; i++) {
    const wterm *wt = w->terms[i];
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
        (n <= 8 || memcmp(w->terms[e->id1 - 1]->w.term, s, n) == 0))
      return e->id1 - 1;
    i = (i + 1) & mask;
  }
  if (w->nterms == w->terms_cap) {
    size_t cap = w->terms_cap ? w->terms_cap * 2 : 1 << 14;
    wterm **p = realloc(w->terms, cap * sizeof *p);
    uint32_t *seen = realloc(w->seen, cap * sizeof *seen);
    if (seen) w->seen = seen;
    uint32_t *slot = realloc(w->slot, cap * sizeof *slot);
    if (slot) w->slot = slot;
    if (p) w->terms = p;
    if (!p || !seen || !slot) return -1;
    w->terms_cap = cap;
  }
  wterm *t = calloc(1, sizeof *t);
  if (!t) return -1;
  t->w.term = arena_copy(w, s, n);
  if (!t->w.term) { free(t); return -1; }
  t->w.len = (uint32_t)n;
  t->hash = h;
  t->last_pid = UINT32_MAX;
  w->terms[w->nterms] = t;
  w->seen[w->nterms] = 0;
  w->table[i].key = key;
  w->table[i].id1 = (uint32_t)w->nterms + 1;
  w->table[i].len = (uint32_t)n;
  w->mem_bytes += sizeof *t + 16;
  return (long)w->nterms++;
}

static int finish_store_block(osq_writer *w) {
  if (w->block.n == 0) return OSQ_OK;
  uLongf bound = compressBound((uLong)w->block.n);
  if (osq__buf_reserve(&w->store, bound)) return OSQ_E_NOMEM;
  if (compress2(w->store.p + w->store.n, &bound, w->block.p, (uLong)w->block.n, 6) != Z_OK)
    return OSQ_E_NOMEM;
  if (w->store_blocks + 2 > w->store_cap) {
    uint32_t cap = w->store_cap ? w->store_cap * 2 : 1024;
    uint64_t *p = realloc(w->store_offsets, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->store_offsets = p;
    w->store_cap = cap;
  }
  w->store_offsets[w->store_blocks] = w->store.n;
  w->store.n += bound;
  w->store_blocks++;
  w->store_offsets[w->store_blocks] = w->store.n;
  w->block.n = 0;
  return OSQ_OK;
}

/* Indexes one passage text as pid w->npassages of document w->ndocs. */
static int add_passage(osq_writer *w, const char *text, size_t len) {
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
  int rc = osq_tokenize(w->tk, text, len, &toks, &ntoks, NULL);
  if (rc) return rc;
  uint32_t pid = w->npassages;
  osq__wpassage *ps = &w->passages[pid];
  ps->doc = w->ndocs;
  ps->block = w->store_blocks;
  ps->offset = (uint32_t)w->block.n;
  ps->length = (uint32_t)len;
  ps->ntokens = ntoks ? toks[ntoks - 1].pos + 1 : 0;
  if (osq__buf_put(&w->block, text, len)) return OSQ_E_NOMEM;
  if (w->block.n >= OSQ__STORE_BLOCK && (rc = finish_store_block(w))) return rc;
  w->npassages++;
  w->total_tokens += ps->ntokens;
  if (ntoks == 0) return OSQ_OK;
  /* Group the tokens by term without sorting: pass one gives each distinct
   * term a slot and counts its occurrences, pass two lays the positions out
   * by slot (each term's positions come out ascending), pass three appends
   * one posting per slot to the term's raw stream. */
  if (ntoks > w->tok_cap) {
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
  }
  /* The table is far larger than the caches: hash every token first and
   * prefetch its slot, so the lookups below overlap their misses. */
  if (w->nterms * 2 + ntoks * 2 >= w->table_cap && grow_table(w)) return OSQ_E_NOMEM;
  uint64_t *hashes = (uint64_t *)w->hashes;
  for (size_t i = 0; i < ntoks; i++) {
    size_t n = toks[i].len > OSQ__MAX_TERM ? OSQ__MAX_TERM : toks[i].len;
    hashes[i] = osq__hash(toks[i].term, n);
    __builtin_prefetch(&w->table[(size_t)hashes[i] & (w->table_cap - 1)]);
  }
  uint32_t nslots = 0;
  for (size_t i = 0; i < ntoks; i++) {
    size_t n = toks[i].len > OSQ__MAX_TERM ? OSQ__MAX_TERM : toks[i].len;
    long id = term_id(w, toks[i].term, n, hashes[i]);
    if (id < 0) return OSQ_E_NOMEM;
    if (w->seen[id] != pid + 1) {
      w->seen[id] = pid + 1;
      w->slot[id] = nslots;
      w->slot_term[nslots] = (uint32_t)id;
      w->slot_tf[nslots] = 0;
      nslots++;
    }
    uint32_t sl = w->slot[id];
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
    if (sl + 8 < nslots) {
      const wterm *ahead = w->terms[w->slot_term[sl + 8]];
      __builtin_prefetch(ahead);
      __builtin_prefetch((const char *)ahead + 64);
    }
    if (sl + 4 < nslots) {
      const wterm *ahead = w->terms[w->slot_term[sl + 4]];
      __builtin_prefetch(ahead->w.raw.p + ahead->w.raw.n, 1);
    }
    wterm *t = w->terms[w->slot_term[sl]];
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

static int term_cmp(const void *a, const void *b) {
  const osq__wterm *x = *(osq__wterm *const *)a, *y = *(osq__wterm *const *)b;
  int c = memcmp(x->term, y->term, x->len < y->len ? x->len : y->len);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Writes the in-memory segment as a new segment file (not yet published). */
static int flush_segment(osq_writer *w) {
  if (w->ndocs == 0) return OSQ_OK;
  int rc = finish_store_block(w);
  if (rc) return rc;
  if (w->store_blocks == 0) {
    /* The format wants at least the offset table; an empty block keeps
     * every passage's block index valid. */
    if ((rc = osq__buf_put(&w->block, "", 0)) || (rc = finish_store_block(w))) return rc;
    if (w->store_blocks == 0) {
      if (!w->store_offsets && !(w->store_offsets = calloc(2, sizeof *w->store_offsets))) return OSQ_E_NOMEM;
      w->store_offsets[0] = w->store_offsets[1] = 0;
    }
  }
  qsort(w->terms, w->nterms, sizeof *w->terms, term_cmp);
  osq__wsegment seg;
  memset(&seg, 0, sizeof seg);
  seg.terms = (osq__wterm **)w->terms;
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
  /* The hash table indexes terms by id; sorting broke that, so the
   * segment is discarded either way. */
  reset_segment(w);
  if (rc) return rc;
  osq__manifest_seg *p = realloc(w->new_segs, (w->nnew + 1) * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  w->new_segs = p;
  w->new_segs[w->nnew++] = ms;
  w->stats.index_bytes += ms.bytes;
  return OSQ_OK;
}

/* ---- public API ------------------------------------------------------------- */

static int mkdirs(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* Deletes segment files and temporaries that the manifest does not name:
 * leftovers of a writer that crashed before publishing. */
static void remove_garbage(osq_writer *w) {
  DIR *d = opendir(w->dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    int garbage = 0;
    unsigned num;
    char tail[8];
    if (strstr(n, ".tmp")) garbage = 1;
    else if (sscanf(n, "seg-%8u.os%1s", &num, tail) == 2 && strlen(n) == 16) {
      garbage = 1;
      for (uint32_t i = 0; i < w->man.nsegs; i++)
        if (w->man.segs[i].number == num) garbage = 0;
    }
    if (garbage) {
      char path[4200];
      snprintf(path, sizeof path, "%s/%s", w->dir, n);
      unlink(path);
    }
  }
  closedir(d);
}

OSQ_EXPORT int osq_writer_open(const char *dir, const osq_writer_options *opts, osq_writer **out) {
  *out = NULL;
  osq__clear_error();
  if (!dir || !*dir || strlen(dir) > 4000) return osq__fail(OSQ_E_INVAL, "bad index path");
  osq_writer *w = calloc(1, sizeof *w);
  if (!w) return OSQ_E_NOMEM;
  w->lock_fd = -1;
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  if (opts) w->opts = *opts;
  if (!w->opts.flush_bytes) w->opts.flush_bytes = (size_t)256 << 20;
  if (!w->opts.passage_min_chars) w->opts.passage_min_chars = 80;
  if (!w->opts.passage_max_chars) w->opts.passage_max_chars = 600;
  if (!w->opts.passage_overlap_chars) w->opts.passage_overlap_chars = 100;
  if (w->opts.passage_overlap_chars >= w->opts.passage_max_chars)
    w->opts.passage_overlap_chars = w->opts.passage_max_chars / 4;
  int rc;
  if (mkdirs(dir) != 0) {
    rc = osq__fail(OSQ_E_IO, "%s: cannot create index directory: %s", dir, strerror(errno));
    goto fail;
  }
  char lock[4200];
  snprintf(lock, sizeof lock, "%s/LOCK", dir);
  w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (w->lock_fd < 0) {
    rc = osq__fail(OSQ_E_IO, "%s: %s", lock, strerror(errno));
    goto fail;
  }
  if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[64] = "";
    ssize_t n = pread(w->lock_fd, holder, sizeof holder - 1, 0);
    holder[n > 0 ? n : 0] = 0;
    holder[strcspn(holder, "\n")] = 0;
    rc = osq__fail(OSQ_E_LOCKED, "%s: index is locked by another writer (%s)", dir,
                   holder[0] ? holder : "unknown process");
    goto fail;
  }
  char me[64];
  int mn = snprintf(me, sizeof me, "pid %ld\n", (long)getpid());
  if (ftruncate(w->lock_fd, 0) != 0 || pwrite(w->lock_fd, me, (size_t)mn, 0) != mn) {
    /* The holder's name is a courtesy; the flock is what excludes. */
  }
  rc = osq__manifest_read(dir, &w->man);
  if (rc == OSQ_E_NOINDEX) {
    memset(&w->man, 0, sizeof w->man);
    w->man.next_segment = 1;
    rc = OSQ_OK;
  }
  if (rc) goto fail;
  remove_garbage(w);
  if ((rc = osq_tokenizer_create(&w->tk))) goto fail;
  osq__clear_error();
  *out = w;
  return OSQ_OK;
fail:
  osq_writer_close(w);
  return rc;
}

OSQ_EXPORT int osq_writer_add(osq_writer *w, const osq_doc *doc) {
  if (!doc->id || !*doc->id) return osq__fail(OSQ_E_INVAL, "document without an id");
  size_t bad = 0;
  const char *text = doc->text ? doc->text : "";
  size_t len = doc->text ? doc->text_len : 0;
  text = clean_text(w, text, len, &bad);
  if (!text) return OSQ_E_NOMEM;
  if (bad) len = w->clean.n;
  w->stats.bad_bytes += bad;
  w->stats.input_bytes += doc->text_len;
  if (w->ndocs == w->docs_cap) {
    uint32_t cap = w->docs_cap ? w->docs_cap * 2 : 1024;
    uint32_t *p = realloc(w->doc_offsets, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->doc_offsets = p;
    w->docs_cap = cap;
  }
  uint32_t first = w->npassages;
  int rc;
  /* The title is a passage of its own, so that headlines are found. */
  const char *title = doc->title ? doc->title : "";
  size_t tlen = strlen(title);
  /* ...unless the body starts with it (news items whose text repeats the
   * headline), which would show the same passage twice. */
  size_t lead = 0;
  while (lead < len && is_ws(text[lead])) lead++;
  if (tlen > 0 && len - lead >= tlen && memcmp(text + lead, title, tlen) == 0) tlen = 0;
  if (tlen > 0 && tlen < 4096) {
    size_t tbad;
    char *tcopy = strndup(title, tlen);
    if (!tcopy) return OSQ_E_NOMEM;
    const char *t = clean_text(w, tcopy, tlen, &tbad);
    rc = t ? add_passage(w, t, tbad ? w->clean.n : tlen) : OSQ_E_NOMEM;
    free(tcopy);
    if (rc) return rc;
    if (bad) { /* clean_text reused w->clean: redo the body */
      text = clean_text(w, doc->text, doc->text_len, &bad);
      if (!text) return OSQ_E_NOMEM;
      len = w->clean.n;
    }
  }
  long ncuts = osq__cut_passages(text, len, w->opts.passage_min_chars, w->opts.passage_max_chars,
                                 w->opts.passage_overlap_chars, &w->cuts, &w->cuts_cap);
  if (ncuts < 0) return OSQ_E_NOMEM;
  for (long i = 0; i < ncuts; i++)
    if ((rc = add_passage(w, text + w->cuts[i].start, w->cuts[i].end - w->cuts[i].start))) return rc;
  /* The document record. */
  w->doc_offsets[w->ndocs] = (uint32_t)w->docs.n;
  const char *f[5] = {doc->id, doc->title, doc->source, doc->url, doc->date};
  for (int i = 0; i < 5; i++) {
    const char *s = f[i] ? f[i] : "";
    size_t n = strlen(s);
    if (n > 65535) n = 65535;
    if (osq__buf_str(&w->docs, s, n)) return OSQ_E_NOMEM;
  }
  if (osq__buf_varint(&w->docs, first) || osq__buf_varint(&w->docs, w->npassages - first))
    return OSQ_E_NOMEM;
  w->ndocs++;
  w->stats.documents++;
  w->stats.passages += w->npassages - first;
  size_t mem = w->mem_bytes + w->store.n + w->docs.n + (size_t)w->npassages * sizeof(osq__wpassage);
  if (mem >= w->opts.flush_bytes || w->ndocs >= UINT32_MAX / 2) return flush_segment(w);
  return OSQ_OK;
}

OSQ_EXPORT int osq_writer_commit(osq_writer *w) {
  int rc = flush_segment(w);
  if (rc) return rc;
  if (w->nnew == 0 && w->man.generation > 0) return OSQ_OK;
  osq__manifest m = w->man;
  uint32_t keep = w->opts.replace ? 0 : w->man.nsegs;
  m.generation++;
  m.nsegs = keep + w->nnew;
  m.segs = malloc((m.nsegs ? m.nsegs : 1) * sizeof *m.segs);
  if (!m.segs) return OSQ_E_NOMEM;
  if (keep) memcpy(m.segs, w->man.segs, keep * sizeof *m.segs);
  if (w->nnew) memcpy(m.segs + keep, w->new_segs, w->nnew * sizeof *m.segs);
  rc = osq__manifest_write(w->dir, &m);
  if (rc) {
    free(m.segs);
    return rc;
  }
  osq__manifest_free(&w->man);
  w->man = m;
  w->nnew = 0;
  /* Readers that still map replaced segments keep their mapping; the
   * files go now. */
  if (w->opts.replace) remove_garbage(w);
  return OSQ_OK;
}

OSQ_EXPORT void osq_writer_get_stats(const osq_writer *w, osq_writer_stats *st) { *st = w->stats; }

OSQ_EXPORT void osq_writer_close(osq_writer *w) {
  if (!w) return;
  reset_segment(w);
  /* Segments flushed but never committed are garbage now. */
  for (uint32_t i = 0; i < w->nnew; i++) {
    char name[64], path[4200];
    osq__segment_name(w->new_segs[i].number, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", w->dir, name);
    unlink(path);
  }
  free(w->new_segs);
  osq__manifest_free(&w->man);
  osq_tokenizer_close(w->tk);
  free(w->terms);
  free(w->table);
  free(w->chunks);
  free(w->passages);
  osq__buf_free(&w->docs);
  free(w->doc_offsets);
  osq__buf_free(&w->store);
  osq__buf_free(&w->block);
  free(w->store_offsets);
  free(w->tok_slot);
  free(w->pos);
  free(w->slot_term);
  free(w->slot_tf);
  free(w->slot_at);
  free(w->hashes);
  free(w->seen);
  free(w->slot);
  free(w->cuts);
  osq__buf_free(&w->clean);
  osq__buf_free(&w->arena);
  if (w->lock_fd >= 0) close(w->lock_fd);
  free(w);
}
