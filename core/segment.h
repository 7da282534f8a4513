/*
 * segment.h -- the segment file: constants shared by the writer
 * (segment_write.c, where the format is described in prose) and the reader
 * (segment_read.c).
 */
#ifndef OSQ_SEGMENT_H
#define OSQ_SEGMENT_H

#include "codec.h"
#include "internal.h"

#define OSQ__SEG_MAGIC "OSQSEG\x01\x00"
#define OSQ__SEG_FOOTER_MAGIC "OSQSEGND"
#define OSQ__SEG_HEADER_BYTES 64
#define OSQ__SEG_NSECTIONS 10
#define OSQ__SEG_SECTION_BYTES 24
#define OSQ__SEG_FOOTER_BYTES 16
#define OSQ__SEGF_TITLES 1u      /* header flag: some passage is a title (format 6) */
#define OSQ__DICT_BLOCK 32       /* terms per front-coded dictionary block */
#define OSQ__SKIP_BYTES 24       /* bytes per skip entry */
/* The BM25 parameters the block bounds in skip entries are computed for. */
#define OSQ__BM25_K1 1.2
#define OSQ__BM25_B 0.6
#define OSQ__PASSAGE_BYTES 28    /* bytes per passage table entry */
/* Uncompressed bytes per store block (a block ends with the first passage
 * that reaches this size).  Showing a hit decompresses its block up to the
 * end of the passage.  With deflate (format 2), blocks of 8 / 4 / 2 KiB
 * gave a store of 45.2 / 51.3 / 57.9 MB on precedents and one-shot `osq`
 * queries of 2.2 / 1.8 / 1.7 ms.  With LZ4 (format 3), 16 KiB: see
 * OSQ__STORE_ACCEL. */
#define OSQ__STORE_BLOCK 16384
#define OSQ__MAX_TERM 255
/* Pages of the per-page checksums (format 6; segment_write.c): 2^12 =
 * 4 KiB.  A query verifies each page it reads the first time it reads it
 * (per open index), so a smaller page costs less on first use and more in
 * the table (4 bytes a page: 0.1 % of the file at 4 KiB).  Measured in
 * bench/README.md. */
#ifndef OSQ__PAGE_SHIFT
#define OSQ__PAGE_SHIFT 12
#endif

enum {
  OSQ__SEC_DICT_INDEX = 0,
  OSQ__SEC_DICT = 1,
  OSQ__SEC_POSTINGS = 2,
  OSQ__SEC_POSITIONS = 3,
  OSQ__SEC_PASSAGES = 4,
  OSQ__SEC_DOCS = 5,
  OSQ__SEC_STORE = 6,
  OSQ__SEC_NORMS = 7,
  OSQ__SEC_TITLES = 8,
  OSQ__SEC_PAGES = 9
};

/* Positions left empty between a passage's text and each piece of its
 * context (title, section heading, fields: segment_write.c), so that no
 * phrase or adjacent pair joins them. */
#define OSQ__CONTEXT_GAP 8

/* A match in a title passage counts this many times a body match; the
 * writer folds it into the stored block bounds. */
#define OSQ__TITLE_W 1.5

/* The passage store is compressed by LZ4 (format 3), block by block, at
 * this acceleration (1, LZ4's default).  Measured on the 123 MB of
 * precedents text, one core, compressing / decompressing a whole block:
 *
 *   libdeflate level 1, 4 KiB blocks    0.76 s   51.7 MB   15.2 us a block
 *   zstd level 1, 16 KiB                0.43 s   41.5 MB   16.6 us
 *   zstd level 1, 8 KiB                 0.51 s   47.5 MB   10.5 us
 *   LZ4, 8 KiB                          0.29 s   65.0 MB    3.4 us
 *   LZ4, 16 KiB                         0.26 s   58.2 MB    4.7 us
 *
 * Format 2 had deflate at 4 KiB (libdeflate level 1 since the third
 * session, zlib level 3 before: 1.9 s).  LZ4 at 16 KiB takes half a second
 * off indexing on one core, for a store an eighth larger (not part of the
 * index size target, which counts postings, positions and dictionary), and
 * showing a hit decompresses only up to its passage (LZ4 can stop there),
 * a third of deflate's time for a block four times as long. */
#ifndef OSQ__STORE_ACCEL
#define OSQ__STORE_ACCEL 1
#endif

/* Passage lengths for BM25, one byte a passage ("norms", as in Lucene):
 * exact below 64 tokens, then in steps of 4%.  The byte array of a whole
 * segment stays in cache where the 20-byte passage table would not.
 * osq__norm_table fills the 256 lengths the bytes stand for;
 * osq__norm_encode picks the largest that does not exceed len, so a
 * decoded length never exceeds the real one. */
void osq__norm_table(uint32_t table[256]);
uint8_t osq__norm_encode(const uint32_t table[256], uint32_t len);

/* ---- what the writer hands to segment_write ----------------------------- */
typedef struct osq__wterm {
  const uint8_t *term;
  uint32_t len;
  uint32_t df;
  osq__buf raw; /* per posting: varint pid gap, varint tf, tf varint pos gaps */
} osq__wterm;

typedef struct osq__wpassage {
  uint32_t doc, block, offset, length, ntokens; /* ntokens: the BM25 length */
  uint32_t positions; /* last position + 1 (context included) */
  uint32_t heading; /* its section's heading in the document's list, 1-based; 0: none */
  uint32_t title;   /* the passage is its document's title */
} osq__wpassage;

typedef struct osq__wsegment {
  osq__wterm **terms;  /* sorted by term bytes */
  size_t nterms;
  osq__wpassage *passages;
  uint32_t npassages;
  osq__buf docs;       /* the DOCS section records (see segment_write.c) */
  uint32_t *doc_offsets;
  uint32_t ndocs;
  osq__buf store;      /* concatenated compressed store blocks */
  uint64_t *store_offsets; /* nblocks + 1 offsets into store */
  uint32_t store_blocks;
  uint64_t total_tokens;
  /* filled by osq__segment_write */
  uint32_t norm_len[256];
  double norm_k[256];  /* k1*(1-b+b*len/avglen) for each norm byte's len */
  double avglen;
  /* per passage, for block bounds, in 4 bytes so that the encoders' random
   * reads mostly hit the cache (a 16-byte record per passage cost a miss a
   * posting, 5 % of osindex): exact token count (bits 9..31, saturated),
   * title (bit 8), norm byte (bits 0..7) */
  uint32_t *pass_k;
} osq__wsegment;

/* Writes seg to dir/name (temporary name, fsync, rename).  *bytes receives
 * the file size. */
int osq__segment_write(const char *dir, const char *name,
                       osq__wsegment *seg, uint64_t *bytes);

/* ---- reading ------------------------------------------------------------ */
typedef struct osq__segment {
  char path[4096];
  osq__map map;
  uint32_t npassages, ndocs, nterms;
  uint64_t total_tokens;
  uint64_t lexicon_id; /* the stemmer's lexicon that made its stem terms */
  struct { const uint8_t *p; uint64_t n; uint32_t crc; } sec[OSQ__SEG_NSECTIONS];
  uint32_t dict_blocks;
  uint32_t store_blocks;
  uint32_t norm_len[256];
  int has_titles; /* any title passage (bounds must allow the boost) */
  /* Per-page checksums (format 6): the page CRCs (PAGES section), the
   * bytes they cover ([end of the section table, pages_end)), and a bit a
   * page set once the page has been verified.  Set with relaxed atomics:
   * threads searching at once may verify a page twice, never use it
   * unverified (the file is immutable, so there is nothing else to order). */
  uint32_t page_shift, npages;
  uint64_t pages_end;
  const uint8_t *page_crc;
  uint64_t *verified; /* bit i (word i / 64): page i verified */
  /* Passage bitmap of deleted passages (manifest.c), or NULL: set and owned
   * by whoever opened the segment (osq_index_open), never by segment_read. */
  const uint8_t *deleted;
} osq__segment;

/* Non-zero when passage pid is deleted: search skips it. */
static inline int osq__segment_deleted(const osq__segment *seg, uint32_t pid) {
  return seg->deleted && ((seg->deleted[pid >> 3] >> (pid & 7)) & 1);
}

/* A dictionary entry. */
typedef struct osq__term_info {
  uint32_t df;
  uint32_t max_tf;
  uint32_t min_len;
  uint64_t post_off, post_len;
  uint64_t pos_off;
} osq__term_info;

int osq__segment_open(const char *path, osq__segment *seg);
void osq__segment_close(osq__segment *seg);
/* Verifies the CRC of every section, of every page and of the whole file
 * (then marks every page verified). */
int osq__segment_verify(const osq__segment *seg);

/* Verifies, the first time, each page holding bytes [p, p + n) of the
 * mapped file (p inside a section): OSQ_OK, or OSQ_E_CORRUPT naming the
 * file and the page's offset ("the index is damaged at FILE offset N; run
 * osindex check").  Every byte a reader trusts passes through this first:
 * a query never answers from bytes no checksum has vouched for. */
int osq__segment_need_slow(const osq__segment *seg, uint64_t first, uint64_t last);
/* Are pages [first, last] all verified already?  (A word of 64 pages a
 * load: a range of a few hundred pages is a few loads.) */
static inline int osq__segment_pages_verified(const osq__segment *seg, uint64_t first, uint64_t last) {
  for (uint64_t w = first >> 6; w <= last >> 6; w++) {
    uint64_t lo = w == first >> 6 ? first & 63 : 0, hi = w == last >> 6 ? last & 63 : 63;
    uint64_t mask = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
    if ((__atomic_load_n(&seg->verified[w], __ATOMIC_RELAXED) & mask) != mask) return 0;
  }
  return 1;
}
static inline int osq__segment_need(const osq__segment *seg, const void *p, size_t n) {
  if (n == 0) return OSQ_OK;
  uint64_t a = (uint64_t)((const uint8_t *)p - seg->map.p);
  uint64_t first = a >> seg->page_shift, last = (a + n - 1) >> seg->page_shift;
  if (first == last && (__atomic_load_n(&seg->verified[first >> 6], __ATOMIC_RELAXED) >> (first & 63) & 1))
    return OSQ_OK;
  if (first != last && osq__segment_pages_verified(seg, first, last)) return OSQ_OK;
  return osq__segment_need_slow(seg, first, last);
}
/* Looks up term.  Returns OSQ_OK, OSQ_E_NOTFOUND or OSQ_E_CORRUPT. */
int osq__segment_lookup(const osq__segment *seg, const uint8_t *term,
                        size_t len, osq__term_info *ti);
/* Calls fn for each term that starts with prefix, in order; fn returns
 * non-zero to stop.  Returns OSQ_OK or OSQ_E_CORRUPT. */
int osq__segment_prefix(const osq__segment *seg, const uint8_t *prefix,
                        size_t len,
                        int (*fn)(void *ctx, const uint8_t *term, size_t len,
                                  const osq__term_info *ti),
                        void *ctx);

/* Passage metadata. */
typedef struct osq__passage_info {
  uint32_t doc, block, offset, length, ntokens; /* ntokens: the BM25 length */
  uint32_t positions; /* every position of the passage is below this */
  uint32_t heading; /* 1-based into osq__doc_info.headings; 0: none */
} osq__passage_info;
int osq__segment_passage(const osq__segment *seg, uint32_t pid,
                         osq__passage_info *pi);
/* Is passage pid a title passage?  pid < npassages. */
static inline int osq__segment_title(const osq__segment *seg, uint32_t pid) {
  return (seg->sec[OSQ__SEC_TITLES].p[pid >> 3] >> (pid & 7)) & 1;
}

/* The BM25 length of passage pid (its norm decoded); pid < npassages. */
static inline uint32_t osq__segment_plen(const osq__segment *seg, uint32_t pid) {
  return seg->norm_len[seg->sec[OSQ__SEC_NORMS].p[pid]];
}
/* Copies the passage text into out (NUL-terminated, malloc'd). */
int osq__segment_passage_text(const osq__segment *seg, uint32_t pid,
                              char **out, size_t *len);
/* For reading passages in pid order (merge, check --deep): holds the store
 * block last decompressed, as far as its passages from the one asked for
 * onwards reach, so that a block of 16 KiB is decompressed once and not
 * once per passage (from its start each time: 15 % of a merge's time).
 * Zero it before use; osq__store_cache_free releases it. */
typedef struct osq__store_cache {
  const osq__segment *seg;
  uint32_t block;
  uint8_t *buf;
  size_t n, cap; /* bytes decompressed, bytes allocated */
} osq__store_cache;
/* As osq__segment_passage_text, through cache sc (NULL: none).  The text
 * and the errors are the same either way. */
int osq__segment_passage_text_cached(const osq__segment *seg, osq__store_cache *sc,
                                     uint32_t pid, char **out, size_t *len);
void osq__store_cache_free(osq__store_cache *sc);
typedef struct osq__doc_info {
  const char *id, *title, *source, *url, *date; /* NUL-terminated copies */
  uint32_t first_passage, npassages;
  /* front matter fields and section headings (format 4), in *storage too */
  uint32_t nfields, nheadings;
  const char **keys, **values, **headings;
} osq__doc_info;
/* Reads document doc's record; strings and arrays are malloc'd into
 * *storage (one block: free it). */
int osq__segment_doc(const osq__segment *seg, uint32_t doc, osq__doc_info *di,
                     char **storage);

/* ---- posting cursor ------------------------------------------------------ */
typedef struct osq__cursor {
  const osq__segment *seg;
  osq__term_info ti;
  const uint8_t *post, *post_end; /* this term's postings bytes */
  const uint8_t *pos_base, *pos_end;
  const uint8_t *blocks;          /* first block (after the skip table) */
  uint32_t nblocks, block;        /* current block index */
  uint32_t n, i;                  /* entries in block, index in block */
  uint32_t pids[OSQ__BLOCK], tfs[OSQ__BLOCK]; /* pids; tf - 1 as stored */
  uint32_t pid;                   /* current pid, UINT32_MAX at end */
  /* positions: decoded lazily, one frame of OSQ__BLOCK values at a time */
  const uint8_t *pos_block;       /* positions of the current block */
  uint32_t pos_nvals;             /* values in the block: the sum of its tfs */
  uint32_t pos_i, pos_v;          /* entry pos_i's first value is value pos_v */
  const uint8_t *pos_fp;          /* frame pos_fk of the block starts here */
  uint32_t pos_fk;
  uint32_t pos_dec;               /* frame decoded into pos_buf, or UINT32_MAX */
  uint32_t pos_buf[OSQ__BLOCK];
  uint32_t sh_block;              /* block the last shallow search found */
  int corrupt;
} osq__cursor;

int osq__cursor_open(osq__cursor *c, const osq__segment *seg,
                     const osq__term_info *ti);
/* Moves to the first pid >= target.  Returns OSQ_OK, OSQ_DONE or
 * OSQ_E_CORRUPT. */
int osq__cursor_seek_slow(osq__cursor *c, uint32_t target);
static inline int osq__cursor_seek(osq__cursor *c, uint32_t target) {
  if (c->pid >= target) return c->pid == UINT32_MAX ? OSQ_DONE : OSQ_OK;
  if (c->pids[c->n - 1] >= target) { /* within the decoded block */
    uint32_t i = c->i;
    while (c->pids[i] < target) i++;
    c->i = i;
    c->pid = c->pids[i];
    return OSQ_OK;
  }
  return osq__cursor_seek_slow(c, target);
}
int osq__cursor_next(osq__cursor *c);
static inline uint32_t osq__cursor_tf(const osq__cursor *c) { return c->tfs[c->i] + 1; }
/* Decodes the positions of the current entry into out (at most cap; returns
 * how many, or -1 if corrupt). */
long osq__cursor_positions(osq__cursor *c, uint32_t *out, uint32_t cap);
/* Upper bound of tf / lowest passage length in the block holding the
 * current entry (for block-max pruning). */
/* The bound of the block that would hold pid (>= the current pid), read
 * from the skip table without decoding: OSQ_OK, OSQ_DONE when no block
 * can hold it, or OSQ_E_CORRUPT (the entry names an impossible pid). */
int osq__cursor_shallow(osq__cursor *c, uint32_t pid, uint32_t *max_tf, uint32_t *min_len,
                        uint32_t *last_pid, float *max_f);
void osq__cursor_block_bound(const osq__cursor *c, uint32_t *max_tf,
                             uint32_t *min_len, uint32_t *last_pid, float *max_f);

#endif
