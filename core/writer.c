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
 * so a killed writer never blocks the next one; a LOCK file left behind is
 * just a file.  The holder writes "pid N (program)" into it, which is what a
 * second writer's OSQ_E_LOCKED message quotes.
 *
 * IDS, REPLACEMENT, DELETION.  A document id is live at most once.  Before
 * the first add or delete, the writer reads the id of every live document of
 * every live segment into a hash table id -> (segment number, document)
 * (about 64 bytes plus the id's length per document: 64 MB for a million
 * documents); documents added through the writer join it, under the number
 * their in-memory segment will get when flushed.  Adding an id that is in
 * the table, or deleting one, queues the old (segment, document) for
 * deletion; the commit turns the queue into new deletion files (manifest.c)
 * published by the same manifest as the new segments, so a replacement is
 * atomic: readers see the old version or the new one, never both or none.
 *
 * COMMIT ORDER.  New segment files (temporary name, fsync, rename), then new
 * deletion files (the same), then the manifest (the same), each rename
 * followed by an fsync of the directory; only then are files the new
 * manifest no longer names deleted.  A crash at any point leaves the old
 * manifest or the new one, with every file it names; the files of the other
 * are garbage, deleted when the next writer opens the index.
 *
 * THE RENAME OF MANIFEST IS THE COMMIT POINT.  A failure before it (a write,
 * an fsync, a rename of a segment or deletion file, the manifest's own
 * write, fsync or rename) leaves the old manifest in place: the commit
 * failed, the files it wrote are garbage.  Once the rename succeeded the
 * change is published, whatever fails after it: a failed fsync of the
 * directory is OSQ_E_NOTDURABLE ("committed, durability not confirmed"),
 * never a failure that would make the writer delete what the published
 * manifest names.  Then, since a power loss could still bring the old
 * manifest back, the files only the old one names are kept too, and this
 * writer commits nothing more (refuse_unsynced).  Who deletes what:
 * remove_garbage and discard_new_segments delete only what the manifest on
 * the disk, read again under the LOCK, does not name; a writer that opens
 * the index fsyncs the directory before deleting anything, so that the
 * manifest it read is durable before the files an older one named go.
 * A merge that fails after the commit it follows leaves that commit
 * standing (OSQ_E_AUTOMERGE), and the segments it had written are deleted
 * (published by a later commit they would duplicate documents).
 *
 * STICKY STATUS.  A failure inside osq_writer_add, _delete, _commit or
 * _merge can leave the writer between two consistent states: a passage
 * counted whose postings were not all appended, a document's id recorded
 * (and its old version queued for deletion) while the flush that was to
 * write it failed, half the ids of the index loaded.  Rather than undo each
 * of these, the writer remembers the first such failure in w->failed and
 * every later add, delete, commit and merge returns it (as FTS5's
 * Fts5Index.rc and LMDB's MDB_TXN_ERROR do) until osq_writer_close, which
 * discards whatever was not published: the index on disk stays what the
 * last successful commit made it, and no commit can publish a half-added
 * document.  Not sticky, because they change nothing: a document without
 * an id (OSQ_E_INVAL), deleting an id that is not there (OSQ_E_NOTFOUND);
 * nor the two "committed, but" statuses (OSQ_E_AUTOMERGE: the merge cleaned
 * up after itself; OSQ_E_NOTDURABLE has its own rule, refuse_unsynced).
 *
 * MERGES (merge.c): a merge re-adds the live documents of some segments,
 * passage by passage as stored, to the in-memory segment, flushes it and
 * publishes a manifest in which the new segments replace the old ones.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lz4.h>

#include "docstruct.h"
#include "manifest.h"
#include "merge.h"
#include "segment.h"

#include <pthread.h>

/* Store blocks that may wait for the compressor thread (OSQ__STORE_BLOCK bytes each). */
#define STORE_QUEUE 16
#define STORE_WAKE 8 /* blocks queued before the compressor is woken */

/* How many tokens ahead add_passage prefetches hash-table slots. */
#define PREFETCH_AHEAD 16

typedef struct wterm {
  osq__wterm w; /* first member: segment_write sees osq__wterm */
  uint64_t hash;
  uint32_t last_pid;
  uint32_t seen; /* the passage that last used the term + 1 */
  uint32_t slot; /* its index among that passage's terms */
} wterm;
_Static_assert(sizeof(wterm) == 64, "a term's fields fill one cache line");

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
  wterm *terms;   /* by term id */
  size_t nterms, terms_cap;
  tslot *table;
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
  pid_t owner;            /* the process that opened the writer */
  void *lz4;              /* the store compressor's state, made once */
  uint32_t blocks_sent;   /* store blocks handed to the compressor */
  struct {                /* the compressor thread (see finish_store_block) */
    pthread_t th;
    int started, nothread, stop, busy, failed; /* failed: until reset_segment */
    int drain;              /* store_sync waits: compress even a short queue */
    pid_t pid;              /* the process that started the thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    osq__buf q[STORE_QUEUE]; /* filled blocks waiting, q[head..head+count) */
    size_t head, count;
    size_t bytes;           /* w->store.n as of the last block done */
  } zq;
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
  /* document structure (docstruct.c) and the context of the passages being
   * added (see CONTEXT below) */
  osq__docstruct ds;
  const char **sptr;       /* keys, values, headings of ds as arrays */
  size_t sptr_cap;
  osq__buf ctx_terms;      /* the context tokens' term bytes */
  struct ctx_tok { uint32_t off, len, pos; } *ctx;
  size_t nctx, ctx_cap;
  uint32_t ctx_len;        /* context positions counted in the BM25 length */
  uint64_t ctx_key;        /* what the context was built for; 0: nothing */
  osq_token *all;          /* a passage's tokens followed by its context's */
  size_t all_cap;
  osq__buf scratch;
  osq_writer_stats stats;
  /* ---- ids and deletions (see the comment at the top) ---- */
  int ids_loaded;
  struct idslot *ids; /* open addressing, power-of-two size */
  size_t ids_cap, ids_used;
  osq__buf id_bytes;  /* the ids' bytes */
  uint64_t *pending;  /* documents to delete: segment number << 32 | doc */
  size_t npending, pending_cap;
  int merging;        /* documents come from a merge: no id bookkeeping */
  int replace_done;   /* the replacing commit happened */
  int unsynced;       /* a manifest was published but its fsync failed (refuse_unsynced) */
  int failed;         /* the sticky status: see STICKY STATUS */
};

/* ---- passage cutting ------------------------------------------------------- */

/* Passage sizes count characters as a reader sees them: a codepoint that
 * joins the one before it -- a conjoining vowel or final consonant jamo of
 * NFD Hangul (U+1160..U+11FF), a combining diacritical mark (U+0300..U+036F)
 * -- is not one more character, and no cut falls before it.  NFD text (as
 * macOS writes it) is then cut into the same passages as its NFC form, and
 * no passage starts with half a syllable.  Rarer combining marks, and the
 * archaic jamo of U+D7B0..U+D7FF, count as characters: looking every
 * non-Hangul character up in the Unicode tables cost osindex 8 %, and the
 * archaic jamo would need a test on every ED byte (half the syllables).
 * At most JOIN_MAX codepoints join one character (NFD Hangul takes two,
 * accented Latin one to three): a run of thousands ("Zalgo" text, stray
 * jamo) would otherwise be one character that no cut may split, and a
 * passage could grow past what a reader accepts.  p is at a lead byte. */
#define JOIN_MAX 8
static inline int joins_previous(const uint8_t *p, size_t avail) {
  switch (p[0]) {
    case 0xCC: return avail >= 2;                   /* U+0300..U+033F */
    case 0xCD: return avail >= 2 && p[1] <= 0xAF;   /* U+0340..U+036F */
    case 0xE1: return avail >= 3 && ((p[1] == 0x85 && p[2] >= 0xA0) || p[1] == 0x86 || p[1] == 0x87);
    default: return 0;
  }
}

static uint32_t count_chars(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  uint32_t c = 0;
  unsigned maybe = 0;
  /* Codepoints, and whether a lead byte could start a joining one: a loop
   * the compiler vectorizes; NFC Korean never needs the second. */
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    c += (b & 0xC0) != 0x80;
    maybe |= (b == 0xCC) | (b == 0xCD) | (b == 0xE1);
  }
  if (!maybe) return c;
  unsigned run = 0;
  for (size_t i = 0; i < n; i++) {
    if ((p[i] & 0xC0) == 0x80) continue;
    if (p[i] >= 0xC0 && run < JOIN_MAX && joins_previous(p + i, n - i)) {
      c--;
      run++;
    } else {
      run = 0;
    }
  }
  return c;
}

/* The bytes of s[0..n) less those of codepoints that join the one before:
 * the same for NFD Hangul as for NFC (an initial jamo takes 3 bytes, as a
 * syllable does), so byte thresholds cut both forms alike. */
static size_t visible_bytes(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  size_t v = 0, i = 0;
  while (i < n) {
    size_t k = 1;
    while (i + k < n && (p[i + k] & 0xC0) == 0x80) k++;
    if ((p[i] & 0xC0) == 0x80 || !joins_previous(p + i, n - i)) v += k;
    i += k;
  }
  return v;
}

/* Byte offset after advancing `chars` characters from start (bounded by n). */
static size_t advance_chars(const char *s, size_t start, size_t n, uint32_t chars) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = start;
  unsigned run = 0;
  while (i < n && chars > 0) {
    i++;
    while (i < n && (p[i] & 0xC0) == 0x80) i++;
    if (i < n && run < JOIN_MAX && joins_previous(p + i, n - i)) { /* still the same character */
      run++;
      continue;
    }
    run = 0;
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
      if (visible_bytes(text + next, k - next) < 24) next = k; /* skip to the end of the word */
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
    const char *nl = memchr(text + i, '\n', len - i);
    i = nl ? (size_t)(nl - text) : len;
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
  size_t i = 0, k;
  *bad = 0;
  while (i < len) { /* the check, with short cuts for the common characters */
    unsigned c = p[i];
    if (c - 0xE1u < 12u) { /* lead byte E1..EC: never overlong, never a surrogate (Hangul, CJK) */
      if (i + 3 > len || ((p[i + 1] ^ 0x80u) | (p[i + 2] ^ 0x80u)) >= 0x40u) break;
      i += 3;
    } else if (c - 1u < 0x7Fu) { /* ASCII but NUL */
      i++;
    } else {
      if (c == 0 || !(k = osq__utf8_len(p + i, len - i))) break;
      i += k;
    }
  }
  if (i >= len) return text;
  /* Slow path: copy with replacements. */
  w->clean.n = 0;
  if (osq__buf_reserve(&w->clean, len * 3 + 1)) return NULL;
  uint8_t *o = w->clean.p;
  i = 0;
  while (i < len) {
    if (p[i] == 0) {
      *o++ = ' ';
      (*bad)++;
      i++;
      continue;
    }
    k = osq__utf8_len(p + i, len - i);
    if (!k) {
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

static int store_sync(osq_writer *w);

static void reset_segment(osq_writer *w) {
  store_sync(w); /* the compressor must be idle before the store is emptied */
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

/* Compresses one store block and appends it to the store: called by the
 * compressor thread, or by the indexing thread when there is none. */
static int compress_store_block(osq_writer *w, const osq__buf *blk) {
  /* An LZ4 block (segment.h says why LZ4), with the compressor's state
   * allocated once for the writer's life. */
  if (blk->n > (size_t)LZ4_MAX_INPUT_SIZE) return osq__fail(OSQ_E_INVAL, "%s: a passage of over 2 GB", w->dir);
  if (!w->lz4 && !(w->lz4 = malloc((size_t)LZ4_sizeofState()))) return OSQ_E_NOMEM;
  int bound = LZ4_compressBound((int)blk->n);
  if (osq__buf_reserve(&w->store, (size_t)bound)) return OSQ_E_NOMEM;
  bound = LZ4_compress_fast_extState(w->lz4, (const char *)blk->p, (char *)w->store.p + w->store.n, (int)blk->n,
                                     bound, OSQ__STORE_ACCEL);
  if (bound <= 0) return OSQ_E_NOMEM; /* cannot happen with the bound's room */
  if (w->store_blocks + 2 > w->store_cap) {
    uint32_t cap = w->store_cap ? w->store_cap * 2 : 1024;
    uint64_t *p = realloc(w->store_offsets, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->store_offsets = p;
    w->store_cap = cap;
  }
  w->store_offsets[w->store_blocks] = w->store.n;
  w->store.n += (size_t)bound;
  w->store_blocks++;
  w->store_offsets[w->store_blocks] = w->store.n;
  return OSQ_OK;
}

/* THE COMPRESSOR THREAD.  Compressing the passage store was a fifth of the
 * indexing work, and it depends on nothing but the passage texts, so a
 * second thread does it while the indexing thread tokenizes: filled blocks
 * wait in a queue of STORE_QUEUE buffers (the two threads swap buffers, no
 * copy), and while the thread runs only it touches w->store, w->lz4 and the
 * block offsets.  store_sync() waits for the queue to drain; everything
 * that reads the store (writing the segment, resetting it, closing) calls
 * it first.  Blocks are numbered as they are handed over (blocks_sent), so
 * a passage knows its block before the block is compressed. */
static void *store_thread(void *arg) {
  osq_writer *w = arg;
  osq__buf blk = {NULL, 0, 0};
  int awake = 0;
  pthread_mutex_lock(&w->zq.mu);
  for (;;) {
    /* Woken for a batch of blocks, then on until the queue is empty, not
     * block by block: on one core each wake-up is a switch of threads both
     * ways (4 % of osindex when it woke for every block). */
    if (!w->zq.count) awake = 0;
    if (!awake && w->zq.count < STORE_WAKE && !(w->zq.count && (w->zq.stop || w->zq.drain))) {
      if (w->zq.stop) break; /* and nothing queued */
      pthread_cond_wait(&w->zq.cv, &w->zq.mu);
      continue;
    }
    awake = 1;
    osq__buf t = w->zq.q[w->zq.head];
    w->zq.q[w->zq.head] = blk; /* the emptied buffer goes back for reuse */
    blk = t;
    w->zq.head = (w->zq.head + 1) % STORE_QUEUE;
    w->zq.count--;
    w->zq.busy = 1;
    int failed = w->zq.failed;
    pthread_mutex_unlock(&w->zq.mu);
    int rc = failed ? OSQ_OK : compress_store_block(w, &blk);
    blk.n = 0;
    pthread_mutex_lock(&w->zq.mu);
    if (rc) w->zq.failed = 1;
    w->zq.bytes = w->store.n;
    w->zq.busy = 0;
    pthread_cond_broadcast(&w->zq.cv);
  }
  pthread_mutex_unlock(&w->zq.mu);
  osq__buf_free(&blk);
  return NULL;
}

/* Waits until every block handed over is in the store. */
static int store_sync(osq_writer *w) {
  if (!w->zq.started) return OSQ_OK;
  if (w->zq.pid != getpid()) /* a forked child: the thread is the parent's */
    return osq__fail(OSQ_E_INVAL, "%s: a writer cannot be used across fork()", w->dir);
  pthread_mutex_lock(&w->zq.mu);
  w->zq.drain = 1;
  pthread_cond_broadcast(&w->zq.cv);
  while (w->zq.count || w->zq.busy) pthread_cond_wait(&w->zq.cv, &w->zq.mu);
  w->zq.drain = 0;
  int failed = w->zq.failed; /* kept until the segment is reset */
  pthread_mutex_unlock(&w->zq.mu);
  return failed ? osq__fail(OSQ_E_NOMEM, "%s: out of memory compressing the passage store", w->dir) : OSQ_OK;
}

/* The store's compressed size so far (for the flush decision). */
static size_t store_bytes(osq_writer *w) {
  if (!w->zq.started || w->zq.pid != getpid()) return w->store.n;
  pthread_mutex_lock(&w->zq.mu);
  size_t n = w->zq.bytes;
  pthread_mutex_unlock(&w->zq.mu);
  return n;
}

static void store_stop(osq_writer *w) {
  if (!w->zq.started) return;
  if (w->zq.pid != getpid()) { /* a forked child: no thread to stop here */
    w->zq.started = 0;
    return;
  }
  pthread_mutex_lock(&w->zq.mu);
  w->zq.stop = 1;
  pthread_cond_broadcast(&w->zq.cv);
  pthread_mutex_unlock(&w->zq.mu);
  pthread_join(w->zq.th, NULL);
  pthread_mutex_destroy(&w->zq.mu);
  pthread_cond_destroy(&w->zq.cv);
  for (size_t i = 0; i < STORE_QUEUE; i++) osq__buf_free(&w->zq.q[i]);
  w->zq.started = 0;
}

/* Hands the block being filled to the compressor (or compresses it here
 * when no thread could be started). */
static int finish_store_block(osq_writer *w) {
  if (w->block.n == 0) return OSQ_OK;
  if (!w->zq.started && !w->zq.nothread) {
    if (pthread_mutex_init(&w->zq.mu, NULL) == 0) {
      if (pthread_cond_init(&w->zq.cv, NULL) == 0) {
        w->zq.stop = w->zq.busy = w->zq.drain = 0;
        w->zq.head = w->zq.count = 0;
        w->zq.bytes = w->store.n;
        w->zq.pid = getpid();
        if (pthread_create(&w->zq.th, NULL, store_thread, w) == 0) w->zq.started = 1;
        else pthread_cond_destroy(&w->zq.cv);
      }
      if (!w->zq.started) pthread_mutex_destroy(&w->zq.mu);
    }
    if (!w->zq.started) w->zq.nothread = 1; /* no thread: compress inline from now on */
  }
  if (!w->zq.started) {
    int rc = compress_store_block(w, &w->block);
    if (rc) return rc;
  } else {
    if (w->zq.pid != getpid())
      return osq__fail(OSQ_E_INVAL, "%s: a writer cannot be used across fork()", w->dir);
    pthread_mutex_lock(&w->zq.mu);
    while (w->zq.count == STORE_QUEUE) pthread_cond_wait(&w->zq.cv, &w->zq.mu);
    size_t tail = (w->zq.head + w->zq.count) % STORE_QUEUE;
    osq__buf t = w->zq.q[tail];
    w->zq.q[tail] = w->block;
    w->block = t;
    w->zq.count++;
    if (w->zq.count >= STORE_WAKE) pthread_cond_broadcast(&w->zq.cv);
    pthread_mutex_unlock(&w->zq.mu);
  }
  w->blocks_sent++;
  w->block.n = 0;
  return OSQ_OK;
}

/* Indexes one passage text as pid w->npassages of document w->ndocs, with
 * the context tokens in w->ctx after its own (context_build). */
static int add_passage(osq_writer *w, const char *text, size_t len, int title, uint32_t heading) {
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
  uint32_t own = ntoks ? toks[ntoks - 1].pos + 1 : 0; /* the BM25 length: the text's own tokens */
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
  /* The table and the terms are far larger than the caches, so the
   * lookups are pipelined: every token is hashed first; the lookup of token
   * i prefetches the table slot of token i + PREFETCH_AHEAD (not all at
   * once: a passage's hundred misses would fill the core's miss buffers)
   * and the term it finds, which the pass after it reads. */
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
  if (!rc) rc = store_sync(w);
  if (rc) {
    /* passages were numbered into store blocks that are not there: the
     * in-memory segment cannot be written; it is dropped, and the error
     * says so */
    reset_segment(w);
    return rc;
  }
  if (w->store_blocks == 0) {
    /* The format wants at least the offset table; an empty block keeps
     * every passage's block index valid. */
    if ((rc = osq__buf_put(&w->block, "", 0)) || (rc = finish_store_block(w)) || (rc = store_sync(w))) return rc;
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
  reset_segment(w);
  if (rc) return rc;
  osq__manifest_seg *p = realloc(w->new_segs, (w->nnew + 1) * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  w->new_segs = p;
  w->new_segs[w->nnew++] = ms;
  w->stats.index_bytes += ms.bytes;
  return OSQ_OK;
}

/* ---- ids, deletions, stored documents (see the comment at the top) ---------- */

typedef struct idslot {
  uint64_t hash;
  uint32_t off, len; /* the id in w->id_bytes; len 0: an empty slot */
  uint32_t seg, doc; /* where the live document is; seg 0: none (deleted) */
} idslot;

/* The slot holding id, or the empty slot where it would go. */
static idslot *id_slot(osq_writer *w, const char *id, size_t len, uint64_t h) {
  size_t mask = w->ids_cap - 1, i = (size_t)h & mask;
  for (;;) {
    idslot *s = &w->ids[i];
    if (s->len == 0) return s;
    if (s->hash == h && s->len == len && !memcmp(w->id_bytes.p + s->off, id, len)) return s;
    i = (i + 1) & mask;
  }
}

static int ids_grow(osq_writer *w) {
  size_t cap = w->ids_cap ? w->ids_cap * 2 : 1024;
  idslot *t = calloc(cap, sizeof *t);
  if (!t) return OSQ_E_NOMEM;
  for (size_t i = 0; i < w->ids_cap; i++) {
    if (!w->ids[i].len) continue;
    size_t j = (size_t)w->ids[i].hash & (cap - 1);
    while (t[j].len) j = (j + 1) & (cap - 1);
    t[j] = w->ids[i];
  }
  free(w->ids);
  w->ids = t;
  w->ids_cap = cap;
  return OSQ_OK;
}

static int queue_deletion(osq_writer *w, uint32_t seg, uint32_t doc) {
  if (w->npending == w->pending_cap) {
    size_t cap = w->pending_cap ? w->pending_cap * 2 : 256;
    uint64_t *p = realloc(w->pending, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->pending = p;
    w->pending_cap = cap;
  }
  w->pending[w->npending++] = ((uint64_t)seg << 32) | doc;
  return OSQ_OK;
}

/* Records that id now lives at (seg, doc); an older live document with the
 * same id is queued for deletion (*replaced set). */
static int id_put(osq_writer *w, const char *id, size_t len, uint32_t seg, uint32_t doc, int *replaced) {
  *replaced = 0;
  if ((w->ids_used + 1) * 2 > w->ids_cap && ids_grow(w)) return OSQ_E_NOMEM;
  uint64_t h = osq__hash(id, len);
  idslot *s = id_slot(w, id, len, h);
  if (s->len == 0) {
    if (len > UINT32_MAX || w->id_bytes.n > UINT32_MAX - len) return osq__fail(OSQ_E_NOMEM, "too many document ids");
    s->off = (uint32_t)w->id_bytes.n;
    if (osq__buf_put(&w->id_bytes, id, len)) {
      s->off = 0;
      return OSQ_E_NOMEM;
    }
    s->hash = h;
    s->len = (uint32_t)len;
    w->ids_used++;
  } else if (s->seg) {
    int rc = queue_deletion(w, s->seg, s->doc);
    if (rc) return rc;
    *replaced = 1;
  }
  s->seg = seg;
  s->doc = doc;
  return OSQ_OK;
}

static void path_of(const osq_writer *w, const char *name, char *out, size_t n) {
  snprintf(out, n, "%s/%s", w->dir, name);
}

static int open_segment(const osq_writer *w, const osq__manifest_seg *e, osq__segment *seg, osq__deletions *d) {
  return osq__open_segment_entry(w->dir, e, seg, d, 1);
}

/* Reads the ids of the live documents of the live segments, once. */
static int load_ids(osq_writer *w) {
  if (w->ids_loaded || w->merging) return OSQ_OK;
  if (!w->opts.replace || w->replace_done) {
    for (uint32_t i = 0; i < w->man.nsegs; i++) {
      const osq__manifest_seg *e = &w->man.segs[i];
      osq__segment seg;
      osq__deletions d;
      int rc = open_segment(w, e, &seg, &d);
      if (rc) return rc;
      for (uint32_t doc = 0; doc < e->ndocs && !rc; doc++) {
        if (osq__bit(d.docs, doc)) continue;
        osq__doc_info di;
        char *storage = NULL;
        int replaced;
        if ((rc = osq__segment_doc(&seg, doc, &di, &storage))) break;
        /* An index written before ids were unique may hold an id twice: the
         * later segment's document wins, and the commit deletes the other. */
        rc = id_put(w, di.id, strlen(di.id), e->number, doc, &replaced);
        free(storage);
      }
      osq__segment_close(&seg);
      osq__deletions_free(&d);
      if (rc) return rc;
    }
  }
  w->ids_loaded = 1;
  return OSQ_OK;
}

/* Called by osq_writer_add once document doc of the in-memory segment is
 * complete.  The in-memory segment becomes segment number next_segment when
 * flushed (flush_segment allocates numbers in order). */
static int note_id(osq_writer *w, const char *id, uint32_t doc) {
  if (w->merging) return OSQ_OK;
  int replaced;
  int rc = id_put(w, id, strlen(id), w->man.next_segment, doc, &replaced);
  if (!rc && replaced) w->stats.replaced++;
  return rc;
}

static int writer_delete(osq_writer *w, const char *id) {
  int rc = load_ids(w);
  if (rc) return rc;
  size_t len = strlen(id);
  idslot *s = w->ids_cap ? id_slot(w, id, len, osq__hash(id, len)) : NULL;
  if (!s || !s->len || !s->seg) return osq__fail(OSQ_E_NOTFOUND, "%s: no document with id '%s'", w->dir, id);
  if ((rc = queue_deletion(w, s->seg, s->doc))) return rc;
  s->seg = 0;
  w->stats.deleted++;
  return OSQ_OK;
}

/* Forgets the id table (after a merge renumbered documents). */
static void drop_ids(osq_writer *w) {
  free(w->ids);
  w->ids = NULL;
  w->ids_cap = w->ids_used = 0;
  osq__buf_free(&w->id_bytes);
  w->ids_loaded = 0;
}

static int cmp_u64_asc(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Turns the queued deletions into deletion files for m (generation
 * m->generation); segments left without a live document leave m. */
static int apply_deletions(osq_writer *w, osq__manifest *m) {
  if (w->npending == 0) return OSQ_OK;
  qsort(w->pending, w->npending, sizeof *w->pending, cmp_u64_asc);
  int rc = OSQ_OK;
  for (size_t i = 0; i < w->npending && !rc;) {
    uint32_t number = (uint32_t)(w->pending[i] >> 32);
    size_t j = i;
    while (j < w->npending && (uint32_t)(w->pending[j] >> 32) == number) j++;
    osq__manifest_seg *e = NULL;
    for (uint32_t k = 0; k < m->nsegs; k++)
      if (m->segs[k].number == number) e = &m->segs[k];
    if (!e) { /* a segment this commit replaces (a rebuild) */
      i = j;
      continue;
    }
    osq__segment seg;
    osq__deletions d;
    if ((rc = open_segment(w, e, &seg, &d))) break;
    for (size_t k = i; k < j && !rc; k++) {
      uint32_t doc = (uint32_t)w->pending[k];
      if (doc >= d.ndocs) {
        rc = osq__fail(OSQ_E_CORRUPT, "%s: internal: deleting document %u of %u", seg.path, doc, d.ndocs);
        break;
      }
      if (osq__bit(d.docs, doc)) continue;
      osq__doc_info di;
      char *storage = NULL;
      if ((rc = osq__segment_doc(&seg, doc, &di, &storage))) break;
      free(storage);
      if (di.first_passage > d.npassages || di.npassages > d.npassages - di.first_passage) {
        rc = osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: document %u has passages out of range", seg.path, doc);
        break;
      }
      osq__set_bit(d.docs, doc);
      d.del_docs++;
      for (uint32_t p = di.first_passage; p < di.first_passage + di.npassages; p++)
        if (!osq__bit(d.passages, p)) {
          osq__set_bit(d.passages, p);
          d.del_passages++;
        }
    }
    osq__segment_close(&seg);
    if (!rc && d.del_docs == d.ndocs) {
      e->number = 0; /* nothing live: drop the segment (below) */
    } else if (!rc) {
      uint64_t bytes;
      rc = osq__deletions_write(w->dir, number, m->generation, &d, &bytes);
      e->flags |= OSQ__SEGF_DELETIONS;
      e->del_gen = m->generation;
      e->del_docs = d.del_docs;
      e->del_passages = d.del_passages;
    }
    osq__deletions_free(&d);
    i = j;
  }
  if (rc) return rc;
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->nsegs; k++)
    if (m->segs[k].number) m->segs[n++] = m->segs[k];
  m->nsegs = n;
  return OSQ_OK;
}

/* Room for one more document record. */
static int reserve_doc(osq_writer *w) {
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
static int append_doc_record(osq_writer *w, const char *const f[5], uint32_t first, const char *const *keys,
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
static int flush_if_full(osq_writer *w) {
  size_t mem = w->mem_bytes + store_bytes(w) + w->docs.n + (size_t)w->npassages * sizeof(osq__wpassage);
  if (mem >= w->opts.flush_bytes || w->ndocs >= UINT32_MAX / 2) return flush_segment(w);
  return OSQ_OK;
}

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
  return add_passage(w, text, len, ctx_title_flag == 2 ? (is_title || heads) : (is_title && ctx_title_flag), heading);
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
    const char *t = clean_text(a->w, copy, len, &bad);
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
  if (reserve_doc(w)) return OSQ_E_NOMEM;
  uint32_t first = w->npassages;
  int rc;
  doc_shape d = {di->title, di->keys, di->values, di->headings, di->nfields, di->nheadings};
  for (uint32_t i = 0; i < di->npassages; i++)
    if ((rc = add_doc_passage(w, &d, texts[i], lens[i], i, headings[i]))) return rc;
  const char *f[5] = {di->id, di->title, di->source, di->url, di->date};
  if (append_doc_record(w, f, first, di->keys, di->values, di->nfields, di->headings, di->nheadings))
    return OSQ_E_NOMEM;
  w->ndocs++;
  return flush_if_full(w);
}

/* ---- public API ------------------------------------------------------------- */

/* Makes dir and its missing parents.  Each directory made is fsynced in
 * its parent: without that, a power loss after the first commit could lose
 * the new index directory's entry, and with it every file of the index.
 * Returns 0 or -1 (errno). */
static int mkdirs(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  size_t len = strlen(tmp);
  while (len > 1 && tmp[len - 1] == '/') tmp[--len] = 0;
  for (char *p = tmp + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    if (mkdir(tmp, 0755) == 0) {
      char *slash = strrchr(tmp, '/');
      char parent[4096];
      if (!slash) snprintf(parent, sizeof parent, ".");
      else if (slash == tmp) snprintf(parent, sizeof parent, "/");
      else snprintf(parent, sizeof parent, "%.*s", (int)(slash - tmp), tmp);
      if (osq__fsync_dir(parent) != OSQ_OK) {
        errno = EIO;
        return -1;
      }
    } else if (errno != EEXIST) {
      return -1;
    }
    if (!c) break;
    *p = c;
  }
  return 0;
}

/* Test hook: OSQ_TEST_CRASH_AT=NAME kills the process with SIGKILL at the
 * named step of a commit or merge, so that tests/durability/crash_test.sh
 * crashes once inside every window between two durable steps.  Unset, it
 * costs one getenv per step of a commit.  Only in builds with OSQ_TESTING
 * (CMakeLists.txt). */
static void crash_point(const char *name) {
#ifdef OSQ_TESTING
  const char *at = getenv("OSQ_TEST_CRASH_AT");
  if (at && !strcmp(at, name)) raise(SIGKILL);
#else
  (void)name;
#endif
}

/* Non-zero when m names the file of this kind (1 segment, 2 deletion
 * file, osq__index_file_kind) and number (and generation). */
static int manifest_names(const osq__manifest *m, int kind, uint32_t num, uint64_t gen) {
  for (uint32_t i = 0; i < m->nsegs; i++) {
    const osq__manifest_seg *s = &m->segs[i];
    if (s->number != num) continue;
    if (kind == 1 || ((s->flags & OSQ__SEGF_DELETIONS) && s->del_gen == gen)) return 1;
  }
  return 0;
}

/* Deletes segment files, deletion files and temporaries that no manifest
 * names: leftovers of a writer that crashed before publishing, and files
 * an earlier manifest named.  Readers that mapped them keep their mappings
 * (manifest.c, SNAPSHOTS).  Only a writer holding the LOCK calls this.
 *
 * Nothing the current MANIFEST names is ever deleted, whatever this
 * writer believes: the manifest is read again from the disk here (under
 * the LOCK nobody else can change it), and a file goes only when neither
 * that manifest nor w->man names it and it is not one of this writer's
 * flushed segments.  When the manifest cannot be read, nothing goes.
 * confirm: fsync the directory first and delete nothing if that fails.  A
 * writer that opens the index does not know that its manifest is durable
 * (the last writer may have died, or had its fsync fail, between the
 * rename and the directory's fsync); until it is, a power loss could bring
 * back an older manifest, which names the files that would be deleted.
 * After a writer's own commit the directory has just been fsynced, and
 * after one whose fsync failed (w->unsynced) nothing is deleted at all. */
static void remove_garbage(osq_writer *w, int confirm) {
  if (w->unsynced) return;
  osq__manifest disk;
  memset(&disk, 0, sizeof disk);
  int have_disk = 0, confirmed = !confirm;
  DIR *d = opendir(w->dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    uint32_t num = 0;
    uint64_t gen = 0;
    int kind = osq__index_file_kind(n, &num, &gen);
    if (kind == 0) continue;
    if (kind != 3) {
      if (manifest_names(&w->man, kind, num, gen)) continue;
      int mine = 0;
      for (uint32_t i = 0; i < w->nnew && !mine; i++) mine = kind == 1 && w->new_segs[i].number == num;
      if (mine) continue;
      if (!have_disk) {
        /* errors leave the message for the caller's status alone */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", osq_last_error());
        int rc = osq__manifest_read(w->dir, &disk);
        osq__fail(0, "%s", saved);
        if (rc) break;
        have_disk = 1;
      }
      if (manifest_names(&disk, kind, num, gen)) continue;
    }
    if (!confirmed) {
      char saved[1024];
      snprintf(saved, sizeof saved, "%s", osq_last_error());
      int rc = osq__fsync_dir(w->dir);
      osq__fail(0, "%s", saved);
      if (rc) break;
      confirmed = 1;
    }
    char path[4400];
    path_of(w, n, path, sizeof path);
    unlink(path);
    crash_point("cleanup");
  }
  closedir(d);
  osq__manifest_free(&disk);
}

/* Deletes the segments this writer flushed but did not publish (the
 * commit or merge that was to name them failed, or the writer is closed),
 * unless the manifest on the disk names them: after a rename whose result
 * was an error, only the disk knows. */
static void discard_new_segments(osq_writer *w) {
  osq__manifest disk;
  memset(&disk, 0, sizeof disk);
  char saved[1024];
  snprintf(saved, sizeof saved, "%s", osq_last_error());
  int rc = osq__manifest_read(w->dir, &disk);
  osq__fail(0, "%s", saved);
  if (rc == OSQ_OK || rc == OSQ_E_NOINDEX) {
    for (uint32_t i = 0; i < w->nnew; i++) {
      if (manifest_names(&disk, 1, w->new_segs[i].number, 0)) continue;
      char name[64], path[4200];
      osq__segment_name(w->new_segs[i].number, name, sizeof name);
      snprintf(path, sizeof path, "%s/%s", w->dir, name);
      unlink(path);
    }
  }
  osq__manifest_free(&disk);
  w->nnew = 0;
}

/* The highest segment number of any file in the directory, plus one. */
static uint32_t next_free_number(osq_writer *w) {
  uint32_t next = 1;
  DIR *d = opendir(w->dir);
  if (!d) return next;
  struct dirent *e;
  while ((e = readdir(d))) {
    uint32_t num = 0;
    uint64_t gen = 0;
    int kind = osq__index_file_kind(e->d_name, &num, &gen);
    if ((kind == 1 || kind == 2) && num >= next && num < UINT32_MAX) next = num + 1;
  }
  closedir(d);
  return next;
}

OSQ_EXPORT int osq_writer_open(const char *dir, const osq_writer_options *opts, osq_writer **out) {
  *out = NULL;
  osq__clear_error();
  if (!dir || !*dir || strlen(dir) > 4000) return osq__fail(OSQ_E_INVAL, "bad index path");
  osq_writer *w = calloc(1, sizeof *w);
  if (!w) return OSQ_E_NOMEM;
  w->lock_fd = -1;
  w->owner = getpid();
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  if (opts) w->opts = *opts;
  if (!w->opts.flush_bytes) w->opts.flush_bytes = (size_t)256 << 20;
  if (!w->opts.passage_min_chars) w->opts.passage_min_chars = 80;
  if (!w->opts.passage_max_chars) w->opts.passage_max_chars = 600;
  /* A passage stays far below what a reader accepts (64 MB, segment_read.c):
   * at most 4 bytes a codepoint and 1 + JOIN_MAX codepoints a character. */
  if (w->opts.passage_max_chars > OSQ__PASSAGE_MAX_CHARS) w->opts.passage_max_chars = OSQ__PASSAGE_MAX_CHARS;
  if (w->opts.passage_min_chars > w->opts.passage_max_chars) w->opts.passage_min_chars = w->opts.passage_max_chars;
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
    /* The holder writes its pid just after it takes the lock: an empty
     * LOCK is read again for a moment (20 x 5 ms), so that the message
     * names it. */
    for (int tries = 0; tries < 20; tries++) {
      ssize_t n = pread(w->lock_fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = 0;
      holder[strcspn(holder, "\n")] = 0;
      if (holder[0]) break;
      nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    rc = osq__fail(OSQ_E_LOCKED, "%s: another writer, %s, holds %s; try again when it is done", dir,
                   holder[0] ? holder : "a process that has not written its pid yet", lock);
    goto fail;
  }
  char me[128];
  int mn = snprintf(me, sizeof me, "pid %ld (%.60s)\n", (long)getpid(), program_invocation_short_name);
  /* Written over the last holder's line, then cut to length: the file is
   * never empty in between (a waiting writer quotes what it holds). */
  if (pwrite(w->lock_fd, me, (size_t)mn, 0) != mn || ftruncate(w->lock_fd, mn) != 0) {
    /* The holder's name is a courtesy; the flock is what excludes. */
  }
  rc = osq__manifest_read(dir, &w->man);
  int garbage_now = rc == OSQ_OK;
  if (rc == OSQ_E_NOINDEX ||
      (w->opts.replace && (rc == OSQ_E_CORRUPT || (rc == OSQ_E_VERSION && !w->man.newer)))) {
    /* Nothing to add to, or a rebuild of an index this osq cannot read:
     * start empty, with numbers past every file there.  The old files go
     * only after the rebuild's commit.  Never over an index of a newer
     * format: its osq reads it, this one only knows it cannot. */
    memset(&w->man, 0, sizeof w->man);
    w->man.next_segment = next_free_number(w);
    rc = OSQ_OK;
  }
  if (rc) goto fail;
  if (garbage_now) remove_garbage(w, 1);
  if ((rc = osq_tokenizer_create(&w->tk))) goto fail;
  pthread_once(&ctx_once, ctx_from_env);
  osq__tokenizer_stems(w->tk, 1);
  osq__clear_error();
  *out = w;
  return OSQ_OK;
fail:
  osq_writer_close(w);
  return rc;
}

static int writer_add(osq_writer *w, const osq_doc *doc) {
  int lrc = load_ids(w);
  if (lrc) return lrc;
  size_t bad = 0;
  const char *text = doc->text ? doc->text : "";
  size_t len = doc->text ? doc->text_len : 0;
  text = clean_text(w, text, len, &bad);
  if (!text) return OSQ_E_NOMEM;
  if (bad) len = w->clean.n;
  w->stats.bad_bytes += bad;
  w->stats.input_bytes += doc->text_len;
  if (reserve_doc(w)) return OSQ_E_NOMEM;
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
  if (append_doc_record(w, f, first, d.keys, d.values, d.nfields, d.headings, d.nheadings)) return OSQ_E_NOMEM;
  if ((rc = note_id(w, doc->id, w->ndocs))) return rc;
  w->ndocs++;
  w->stats.documents++;
  w->stats.passages += w->npassages - first;
  return flush_if_full(w);
}

/* Writes m as the new MANIFEST and makes it the writer's own.  On
 * OSQ_E_NOTDURABLE m is published all the same (the rename happened) and
 * becomes the writer's too, which is then w->unsynced; on any other failure
 * nothing changes and m stays the caller's. */
static int adopt_manifest(osq_writer *w, osq__manifest *m) {
  int rc = osq__manifest_write(w->dir, m);
  if (rc && rc != OSQ_E_NOTDURABLE) return rc;
  osq__manifest_free(&w->man);
  w->man = *m;
  w->nnew = 0;
  if (rc) w->unsynced = 1;
  return rc;
}

/* Publishes what was flushed (w->new_segs) and the queued deletions in a new
 * manifest; keep_old: the live segments stay (else a rebuild drops them).
 * Returns OSQ_OK, OSQ_E_NOTDURABLE (published, see adopt_manifest) or the
 * failure that left the old manifest in place. */
static int publish(osq_writer *w, int keep_old) {
  osq__manifest m = w->man;
  uint32_t keep = keep_old ? w->man.nsegs : 0;
  m.generation++;
  m.nsegs = keep + w->nnew;
  m.segs = malloc((m.nsegs ? m.nsegs : 1) * sizeof *m.segs);
  if (!m.segs) return OSQ_E_NOMEM;
  if (keep) memcpy(m.segs, w->man.segs, keep * sizeof *m.segs);
  if (w->nnew) memcpy(m.segs + keep, w->new_segs, w->nnew * sizeof *m.segs);
  crash_point("flushed");
  int rc = apply_deletions(w, &m);
  if (!rc) crash_point("deletions-written");
  if (!rc) rc = adopt_manifest(w, &m);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    free(m.segs);
    return rc;
  }
  w->npending = 0;
  crash_point("published");
  /* Files the new manifest does not name go now (readers that mapped them
   * keep their mapping) -- unless the manifest may not be durable: then a
   * power loss could bring back the old one, which names them. */
  if (!rc) remove_garbage(w, 0);
  return rc;
}

/* ---- merging ------------------------------------------------------------------ */

/* Re-adds the live documents of the segments at w->man.segs[pick[0..n)]
 * into new segments and publishes a manifest where those replace them (at
 * the place of the first).  Nothing may be pending.  Returns OSQ_OK,
 * OSQ_E_NOTDURABLE (published, see adopt_manifest), or the failure that
 * left the index as it was (the segments it wrote are deleted). */
static int merge_segments(osq_writer *w, const uint32_t *pick, uint32_t n) {
  if (w->ndocs || w->nnew || w->npending) return osq__fail(OSQ_E_INVAL, "internal: merge with uncommitted changes");
  osq_writer_stats saved = w->stats;
  w->merging = 1;
  int rc = OSQ_OK;
  for (uint32_t i = 0; i < n && !rc; i++) rc = osq__merge_copy(w, w->dir, &w->man.segs[pick[i]]);
  if (!rc) rc = flush_segment(w);
  if (!rc) crash_point("merge-flushed");
  w->merging = 0;
  w->stats = saved;
  osq__manifest m = w->man;
  m.segs = NULL;
  if (!rc && !(m.segs = malloc((w->man.nsegs + w->nnew + 1) * sizeof *m.segs))) rc = OSQ_E_NOMEM;
  if (rc) {
    /* Segments a flush wrote before the failure hold copies of live
     * documents: published by a later commit they would be duplicates. */
    reset_segment(w);
    discard_new_segments(w);
    return rc;
  }
  m.generation++;
  m.nsegs = 0;
  uint32_t first = pick[0];
  for (uint32_t i = 1; i < n; i++)
    if (pick[i] < first) first = pick[i];
  for (uint32_t i = 0; i < w->man.nsegs; i++) {
    if (i == first)
      for (uint32_t k = 0; k < w->nnew; k++) m.segs[m.nsegs++] = w->new_segs[k];
    int picked = 0;
    for (uint32_t k = 0; k < n; k++) picked |= pick[k] == i;
    if (!picked) m.segs[m.nsegs++] = w->man.segs[i];
  }
  rc = adopt_manifest(w, &m);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    free(m.segs);
    discard_new_segments(w);
    return rc;
  }
  w->stats.merges++;
  drop_ids(w); /* documents moved: read the ids again when needed */
  crash_point("merge-published");
  if (!rc) remove_garbage(w, 0);
  return rc;
}

/* The automatic merge policy (merge.c picks the segments). */
static int auto_merge(osq_writer *w) {
  if (w->opts.no_auto_merge) return OSQ_OK;
  uint32_t *pick = malloc((w->man.nsegs + 1) * sizeof *pick);
  /* (no memory: the commit stands all the same, OSQ_E_AUTOMERGE below) */
  int rc = pick ? OSQ_OK : OSQ_E_NOMEM;
  /* Every merge leaves fewer segments or fewer deleted documents, so this
   * ends; the bound is a guard against a policy bug. */
  for (int round = 0; round < 100000 && !rc; round++) {
    uint32_t n = osq__merge_pick(&w->man, osq__merge_budget(w->opts.flush_bytes), pick);
    if (n == 0) break;
    uint32_t before = w->man.nsegs;
    uint64_t deleted = 0;
    for (uint32_t i = 0; i < n; i++) deleted += w->man.segs[pick[i]].del_docs;
    rc = merge_segments(w, pick, n);
    if (rc == OSQ_E_CORRUPT) { /* a damaged segment: left for check to report (merge.c) */
      w->stats.merges_refused++;
      rc = OSQ_OK;
      break;
    }
    if (!rc && w->man.nsegs >= before && deleted == 0) break; /* no progress */
  }
  free(pick);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    /* The commit before it stands: say so, so that nobody retries or rolls
     * back documents that are safely in the index. */
    char why[900];
    snprintf(why, sizeof why, "%s", osq_last_error()[0] ? osq_last_error() : osq_strerror(rc));
    rc = osq__fail(OSQ_E_AUTOMERGE, "the automatic merge after the commit failed (%s: %s); the index is as the commit left it",
                   osq_strerror(rc), why);
  }
  return rc;
}

/* An fsync failed after a manifest was published: the kernel may have
 * dropped dirty pages it could not write, so this writer can promise
 * nothing more about the index.  Its later commits and merges fail; a new
 * writer (which fsyncs the directory before deleting anything) carries on. */
static int refuse_unsynced(osq_writer *w) {
  return osq__fail(OSQ_E_IO, "%s: an fsync of this writer's earlier commit failed; close the writer and check the index "
                   "(osindex check) before writing again", w->dir);
}

static int writer_commit(osq_writer *w) {
  if (w->unsynced) return refuse_unsynced(w);
  int rc = flush_segment(w);
  if (rc) return rc;
  if (w->nnew == 0 && w->npending == 0 && w->man.generation > 0) return OSQ_OK;
  /* replace: the first commit of a rebuild replaces the index; later ones
   * through the same writer add to what it published. */
  rc = publish(w, !w->opts.replace || w->replace_done);
  if (rc && rc != OSQ_E_NOTDURABLE) return rc;
  w->replace_done = 1;
  /* Not durable: no merge either; more writing would only hide the fault. */
  if (rc) return rc;
  return auto_merge(w);
}

static int writer_merge(osq_writer *w) {
  uint64_t gen = w->man.generation;
  int rc = writer_commit(w);
  if (rc) return rc;
  /* Every segment, unless that would just rewrite one clean segment. */
  if (w->man.nsegs == 0 || (w->man.nsegs == 1 && !(w->man.segs[0].flags & OSQ__SEGF_DELETIONS)))
    return OSQ_OK;
  uint32_t *pick = malloc(w->man.nsegs * sizeof *pick);
  rc = pick ? OSQ_OK : OSQ_E_NOMEM;
  uint32_t n = w->man.nsegs;
  for (uint32_t i = 0; i < n && pick; i++) pick[i] = i;
  if (!rc) rc = merge_segments(w, pick, n);
  free(pick);
  if (rc && rc != OSQ_E_NOTDURABLE && w->man.generation != gen) {
    /* the commit above published changes: they stand */
    char why[900];
    snprintf(why, sizeof why, "%s", osq_last_error()[0] ? osq_last_error() : osq_strerror(rc));
    rc = osq__fail(OSQ_E_AUTOMERGE, "the merge after the commit failed (%s: %s); the index is as the commit left it",
                   osq_strerror(rc), why);
  }
  return rc;
}

/* ---- the sticky status (see STICKY STATUS at the top) --------------------------- */

static int refuse_failed(osq_writer *w) {
  return osq__fail(w->failed, "%s: an earlier call of this writer failed (%s); close it: what it added since its "
                   "last commit is discarded, the index is as that commit left it", w->dir, osq_strerror(w->failed));
}

/* Passes rc on, remembering it when it may have left the writer half-way. */
static int stick(osq_writer *w, int rc) {
  if (rc && rc != OSQ_E_NOTFOUND && rc != OSQ_E_AUTOMERGE && rc != OSQ_E_NOTDURABLE && !w->failed) w->failed = rc;
  return rc;
}

OSQ_EXPORT int osq_writer_add(osq_writer *w, const osq_doc *doc) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  if (!doc->id || !*doc->id) return osq__fail(OSQ_E_INVAL, "document without an id");
  return stick(w, writer_add(w, doc));
}

OSQ_EXPORT int osq_writer_delete(osq_writer *w, const char *id) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  if (!id || !*id) return osq__fail(OSQ_E_INVAL, "empty document id");
  return stick(w, writer_delete(w, id));
}

OSQ_EXPORT int osq_writer_commit(osq_writer *w) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  return stick(w, writer_commit(w));
}

OSQ_EXPORT int osq_writer_merge(osq_writer *w) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  return stick(w, writer_merge(w));
}

OSQ_EXPORT void osq_writer_get_stats(const osq_writer *w, osq_writer_stats *st) { *st = w->stats; }

OSQ_EXPORT void osq_writer_close(osq_writer *w) {
  if (!w) return;
  reset_segment(w);
  store_stop(w);
  /* Segments flushed but never committed are garbage now (unless this is
   * a forked copy of the writer: they are its parent's). */
  if (w->nnew && w->owner == getpid() && w->lock_fd >= 0) discard_new_segments(w);
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
  free(w->lz4);
  free(w->store_offsets);
  free(w->tok_slot);
  free(w->pos);
  free(w->slot_term);
  free(w->slot_tf);
  free(w->slot_at);
  free(w->hashes);
  free(w->cuts);
  osq__buf_free(&w->clean);
  osq__docstruct_free(&w->ds);
  free(w->sptr);
  osq__buf_free(&w->ctx_terms);
  free(w->ctx);
  free(w->all);
  osq__buf_free(&w->scratch);
  osq__buf_free(&w->arena);
  drop_ids(w);
  free(w->pending);
  if (w->lock_fd >= 0) close(w->lock_fd);
  free(w);
}
