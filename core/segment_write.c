/*
 * segment_write.c -- writes one immutable segment file.
 *
 * THE SEGMENT FILE FORMAT (version 6, OSQ_FORMAT_VERSION)
 *
 * An index directory holds segment files named seg-NNNNNNNN.osq and a
 * MANIFEST that names the live ones (manifest.c).  A segment is written once,
 * under a temporary name, fsynced and renamed into place; it never changes
 * afterwards.  All integers are little-endian; "varint" is LEB128 (7 bits a
 * byte, high bit set on all but the last byte).  Passages are numbered 0..P-1
 * within the segment ("pid"); documents 0..D-1.
 *
 * Header, 64 bytes:
 *     0  8 bytes  magic "OSQSEG\x01\x00"
 *     8  u32      format version (OSQ_FORMAT_VERSION)
 *    12  u32      flags: bit 0 (version 6) set when some passage is a title
 *                 (TITLES has a bit set), so that opening reads no section
 *                 page; other bits 0
 *    16  u32      passages P
 *    20  u32      documents D
 *    24  u32      terms T
 *    28  u32      number of sections (10; 9 before version 6)
 *    32  u64      total tokens of all passages (average passage length)
 *    40  u32      CRC32 of the section table (read and checked on open)
 *    44  u32      CRC32 of header bytes 0..39
 *    48  u64      id of the stemmer's lexicon that made the segment's stem
 *                 terms (stem.c; 0: none), so that a reader knows when it
 *                 stems queries with another lexicon than the index did
 *                 (outside the header CRC, inside the whole file's)
 *    56  8 bytes  zero
 * Section table, 10 entries of 24 bytes: u64 offset from file start, u64
 * length, u32 CRC32 of the section's bytes, u32 zero.  Sections, in order:
 *
 *   0 DICT_INDEX  u32 B, then B u32 offsets into DICT, one per block.
 *   1 DICT        the term dictionary, sorted by term bytes, in blocks of 32
 *                 (stem terms, OSQ_STEM_MARK + a word's stem, sort before
 *                 every gram and word and after the head terms: version 5
 *                 added them; version 4 had no stem terms)
 *                 terms.  Each entry: varint shared prefix length with the
 *                 previous term of the block (0 for the block's first term,
 *                 which binary search reads whole), varint suffix length,
 *                 suffix bytes, varint df, varint max tf, varint min passage
 *                 length (the two make the term's score bound), varint
 *                 postings offset (into POSTINGS), varint postings length,
 *                 varint positions offset (into POSITIONS).
 *   2 POSTINGS    per term, if it has more than one block of 128 postings, a
 *                 skip table of one 24-byte entry per block: u32 last pid of
 *                 the block, u32 offset of the block from the end of the skip
 *                 table, u32 offset of the block's positions from the term's
 *                 positions offset, u32 max tf in the block, u32 min passage
 *                 length in the block, and a float32: the largest BM25 tf
 *                 factor tf*(k1+1)/(tf + k1*(1-b+b*len/avglen)) of the block
 *                 for the segment's own average length and the k1, b of
 *                 segment.h, rounded up (a tight block-max bound whenever
 *                 the segment is the whole index).  Then the blocks: the n
 *                 pid gaps (pid minus the previous pid minus 1; the previous
 *                 pid of the first posting is -1) as one patched frame, then
 *                 the n values tf-1 as another (codec.h: a base bit width, the
 *                 few values wider than it as exceptions).  n is 128 but for
 *                 the last block (df mod 128).  Version 1 had plain frames
 *                 (one width per frame): on the precedents corpus patched
 *                 frames take the postings from 47.6 to 40.7 MB.
 *   3 POSITIONS   per term, per posting block: the position values of the
 *                 block's postings in pid order, tf of them per posting (tf
 *                 comes from the posting block): the first position, then
 *                 the gaps between positions.  They are cut in patched frames
 *                 of 128 values (the last one shorter), so that the values
 *                 of a block number the sum of its tfs; the skip entry gives
 *                 where a block's frames start, and a reader finds the frame
 *                 holding a posting's values by the sizes in the frame
 *                 headers.  Read only for phrases, proximity and the
 *                 deep check.  Version 1 had a varint per value: on the
 *                 precedents corpus frames take the positions from 47.1 to
 *                 40.5 MB.
 *   4 PASSAGES    P entries of 28 bytes: u32 document, u32 store block, u32
 *                 byte offset in the uncompressed block, u32 byte length, u32
 *                 the BM25 length (the token positions of the passage's own
 *                 text: its context, below, is not counted), u32 the last
 *                 position plus one (context included: no position of the
 *                 passage is as large), u32 the passage's section heading:
 *                 1-based into its document's heading list, 0 for text under
 *                 no heading (version 3 had 20-byte entries, the first five).
 *   5 DOCS        u32 offsets (D of them) from the start of the records; then
 *                 per document: varint-length-prefixed strings id, title,
 *                 source, url, date, then varint first pid, varint passages;
 *                 then (version 4) varint F and F pairs of strings, the YAML
 *                 front matter's keys and values in their order (lists
 *                 joined by ", "); then varint H and H strings, the Markdown
 *                 headings of the document in order, without markup
 *                 (docstruct.c).
 *
 *                 A passage's positions are those of its stored text, then,
 *                 after a gap of OSQ__CONTEXT_GAP positions each, context
 *                 that is indexed but not stored as its text: its document's
 *                 title (not for the title passage itself), its section
 *                 heading (unless it is the title), and, for the document's
 *                 first passage, each front matter field as "key: value"
 *                 (values that are URLs left out).  The gap keeps phrases
 *                 and adjacency from joining the text to its context.
 *                 Merge rebuilds the context from DOCS and PASSAGES.
 *   6 STORE       u32 S blocks, then S+1 u64 offsets relative to the end of
 *                 the offset table, then S LZ4 blocks (LZ4's block format, no
 *                 frame), each the text of consecutive passages: a block
 *                 ends with the passage that takes it to OSQ__STORE_BLOCK =
 *                 16 KiB or more uncompressed.  Its uncompressed size is
 *                 not stored: a passage's offset and length in its block
 *                 come from PASSAGES, and a reader decompresses the block
 *                 up to the passage's end.  Version 2 had zlib streams of
 *                 about 4 KiB (segment.h has the measurements).
 *   8 TITLES      a bitmap of P bits (bit i of byte i/8): passage i is its
 *                 document's title, whose matches count OSQ__TITLE_W times
 *                 (the factor is folded into the skip entries' float bound).
 *   7 NORMS       P bytes: each passage's length in tokens, quantized
 *                 (exact below 64, then steps of 4%; see segment.h).  The
 *                 block bounds use the quantized length too.
 *   9 PAGES       (version 6) page checksums: u32 page size S (a power of
 *                 two, 2^OSQ__PAGE_SHIFT = 4 KiB; readers take 512 B to
 *                 1 MiB), u32 zero, then one u32 CRC32 per page of the
 *                 file up to this section's offset E: page i covers file
 *                 bytes [i*S, (i+1)*S) cut to [end of the section table,
 *                 E), so there are ceil(E / S) of them (page 0 starts after
 *                 the section table, which has its own CRC).  Every other
 *                 section lies before E: PAGES comes last.
 *
 * Footer, 16 bytes: u32 CRC32 of every byte before the footer, u32 zero,
 * 8 bytes magic "OSQSEGND".
 *
 * Readers map the file and trust nothing in it: every offset and length is
 * checked against the section that holds it, and an impossible value is
 * OSQ_E_CORRUPT naming the file.  Opening checks the header, the section table
 * and the footer magic, not the whole-file CRC, so that a query does not read
 * a whole index; `osindex check` verifies every CRC.
 *
 * VERIFIED ON FIRST USE (version 6).  Before version 6 a query read
 * sections whose CRCs it never verified: of 2,200 damaged files, 32 gave
 * wrong hits or garbled passages without an error.  Now every byte a reader
 * uses -- a dictionary block and its index entries, a skip table, a posting
 * block and its position frames, a passage record, a document record, a
 * store block and its offsets, the norms and title bits of the passages a
 * posting block names -- is first passed to osq__segment_need, which
 * verifies the CRC of each page holding it the first time that page is
 * used by the open index and remembers it (one bit a page), so that a
 * damaged page is reported as "the index is damaged at FILE offset N; run
 * osindex check" and never read as data.  A page's CRC comes from PAGES,
 * which is itself unverified: a damaged entry can only make a good page
 * fail, which is damage all the same.  The cost on query latency is in
 * bench/README.md.
 *
 * OLDER VERSIONS are not read, as for every version before: the manifest
 * (manifest.c) and a segment's header name the version, and a reader that
 * finds another one says so (OSQ_E_VERSION: "rebuild the index with
 * osindex --replace" for an older one, "upgrade osq" for a newer one), after
 * the checksums that cover the version field, so that damage is never
 * reported as a version.  A version-5 index has no page checksums to
 * verify; reading it unverified would bring back the silent wrong answers.
 *
 * Room to grow: deletions, merges and new segments are described by the
 * manifest, not by segments, so they need no change here.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "segment.h"
#include "stem.h"

typedef struct {
  uint32_t pids[OSQ__BLOCK], tfs[OSQ__BLOCK];
  uint32_t n;
} block_buf;

void osq__norm_table(uint32_t table[256]) {
  double v = 64;
  for (int b = 0; b < 256; b++) {
    if (b < 64) {
      table[b] = (uint32_t)b;
      continue;
    }
    uint32_t x = (uint32_t)v;
    table[b] = x > table[b - 1] ? x : table[b - 1] + 1;
    v *= 1.04;
  }
}

uint8_t osq__norm_encode(const uint32_t table[256], uint32_t len) {
  int lo = 0, hi = 255; /* the largest b with table[b] <= len */
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (table[mid] <= len) lo = mid;
    else hi = mid - 1;
  }
  return (uint8_t)lo;
}

/* A passage's length in tokens as pass_k holds it (bits 9..31): this value
 * means "as long or longer, see the passage table". */
#define PASS_LEN_MAX ((1u << 23) - 1)

/* What a term's dictionary entry needs from its encoded lists. */
typedef struct term_meta {
  uint32_t max_tf, min_len;
  uint64_t post_off, post_len, pos_off; /* relative to the encoding job's buffers */
} term_meta;

/* One encoding job: the lists of terms [first, last) into its own buffers.
 * Two jobs run at once (see osq__segment_write). */
typedef struct encode_job {
  const osq__wsegment *seg;
  size_t first, last;
  osq__buf post, pos;
  term_meta *meta; /* meta[first..last) */
  uint32_t *pvals; /* one block's position values */
  size_t pvals_cap;
  int rc;
  char err[256];
} encode_job;

/* Encodes one term's raw postings into the job's POSTINGS and POSITIONS. */
static int encode_lists(encode_job *j, const osq__wterm *t, term_meta *m) {
  const osq__wsegment *seg = j->seg;
  osq__buf *post = &j->post, *pos = &j->pos;
  const uint8_t *p = t->raw.p, *end = t->raw.p + t->raw.n;
  uint32_t nblocks = (t->df + OSQ__BLOCK - 1) / OSQ__BLOCK;
  uint64_t post_off = post->n, pos_off = pos->n;
  size_t skip_at = post->n;
  if (nblocks > 1) {
    if (osq__buf_reserve(post, (size_t)nblocks * OSQ__SKIP_BYTES)) return OSQ_E_NOMEM;
    memset(post->p + post->n, 0, (size_t)nblocks * OSQ__SKIP_BYTES);
    post->n += (size_t)nblocks * OSQ__SKIP_BYTES;
  }
  size_t blocks_at = post->n;
  uint32_t max_tf_all = 0, min_len_all = UINT32_MAX;
  int64_t last = -1;
  uint32_t done = 0;
  block_buf b;
  for (uint32_t blk = 0; blk < nblocks; blk++) {
    uint32_t n = t->df - done < OSQ__BLOCK ? t->df - done : OSQ__BLOCK;
    uint32_t max_tf = 0, min_len = UINT32_MAX;
    double max_f = 0;
    uint64_t block_pos = pos->n - pos_off;
    size_t block_at = post->n - blocks_at;
    size_t nvals = 0;
    uint32_t pid_of[OSQ__BLOCK];
    for (uint32_t i = 0; i < n; i++) {
      uint64_t gap, tf;
      if (osq__varint(&p, end, &gap) || osq__varint(&p, end, &tf) || tf == 0)
        return osq__fail(OSQ_E_CORRUPT, "internal: bad raw postings");
      int64_t pid = last + 1 + (int64_t)gap;
      b.pids[i] = (uint32_t)(pid - last - 1);
      b.tfs[i] = (uint32_t)tf - 1;
      pid_of[i] = (uint32_t)pid;
      last = pid;
      if (tf > max_tf) max_tf = (uint32_t)tf;
      if (nvals + tf > j->pvals_cap) {
        size_t cap = j->pvals_cap ? j->pvals_cap * 2 : 4096;
        while (cap < nvals + tf) cap *= 2;
        uint32_t *pv = realloc(j->pvals, cap * sizeof *pv);
        if (!pv) return OSQ_E_NOMEM;
        j->pvals = pv;
        j->pvals_cap = cap;
      }
      for (uint64_t k = 0; k < tf; k++) {
        uint64_t d;
        if (osq__varint(&p, end, &d) || d > UINT32_MAX) return osq__fail(OSQ_E_CORRUPT, "internal: bad raw positions");
        j->pvals[nvals++] = (uint32_t)d;
      }
    }
    /* The block bounds, in a loop of their own: its reads of pass_k, one
     * per posting at random, do not wait on the varint decoding, and
     * overlap (together in one loop they missed the cache one by one). */
    for (uint32_t i = 0; i < n; i++) {
      uint32_t pid = pid_of[i], tf = b.tfs[i] + 1;
      uint32_t pk = seg->pass_k[pid], len = pk >> 9;
      if (len == PASS_LEN_MAX) len = seg->passages[pid].ntokens;
      if (len < min_len) min_len = len;
      /* the same expression, in the same order, as the search's BM25; the
       * length part is precomputed per norm byte */
      double num = (double)tf * (OSQ__BM25_K1 + 1.0), den = (double)tf + seg->norm_k[pk & 0xff];
      /* no division for a posting clearly below the block's largest so far
       * (most of them; the division was a quarter of this loop): the
       * margin keeps the result the division's, to the last bit */
      if ((pk & 0x100 ? num * OSQ__TITLE_W : num) >= max_f * den * (1.0 - 1e-9)) {
        double f = num / den;
        if (pk & 0x100) f *= OSQ__TITLE_W;
        if (f > max_f) max_f = f;
      }
    }
    /* the block's positions: patched frames of OSQ__BLOCK values */
    for (size_t f = 0; f < nvals; f += OSQ__BLOCK) {
      uint32_t fn = nvals - f < OSQ__BLOCK ? (uint32_t)(nvals - f) : OSQ__BLOCK;
      if (osq__buf_reserve(pos, OSQ__PFOR_MAX_BYTES)) return OSQ_E_NOMEM;
      pos->n += osq__pfor_pack(j->pvals + f, fn, pos->p + pos->n);
    }
    if (osq__buf_reserve(post, 2 * OSQ__PFOR_MAX_BYTES)) return OSQ_E_NOMEM;
    post->n += osq__pfor_pack(b.pids, n, post->p + post->n);
    post->n += osq__pfor_pack(b.tfs, n, post->p + post->n);
    if (nblocks > 1) {
      uint8_t *s = post->p + skip_at + (size_t)blk * OSQ__SKIP_BYTES;
      osq__put_u32(s, (uint32_t)last);
      osq__put_u32(s + 4, (uint32_t)block_at);
      osq__put_u32(s + 8, (uint32_t)block_pos);
      osq__put_u32(s + 12, max_tf);
      osq__put_u32(s + 16, min_len);
      float ff = (float)max_f;
      if ((double)ff < max_f) ff = nextafterf(ff, INFINITY);
      memcpy(s + 20, &ff, 4);
    }
    if (max_tf > max_tf_all) max_tf_all = max_tf;
    if (min_len < min_len_all) min_len_all = min_len;
    done += n;
  }
  m->max_tf = max_tf_all;
  m->min_len = min_len_all;
  m->post_off = post_off;
  m->post_len = post->n - post_off;
  m->pos_off = pos_off;
  return OSQ_OK;
}

static void *encode_range(void *arg) {
  encode_job *j = arg;
  for (size_t i = j->first; i < j->last && !j->rc; i++) {
    /* A term's record and the start of its raw postings were written long
     * ago and are out of the cache: fetched two terms ahead, the misses
     * at each new term (a fifth of this loop) overlap the work. */
    if (i + 4 < j->last) __builtin_prefetch(j->seg->terms[i + 4]);
    if (i + 2 < j->last) {
      const osq__wterm *ahead = j->seg->terms[i + 2];
      __builtin_prefetch(ahead->raw.p);
      __builtin_prefetch(ahead->raw.p + 64);
    }
    j->rc = encode_lists(j, j->seg->terms[i], &j->meta[i]);
    if (j->rc)
      snprintf(j->err, sizeof j->err, "%s",
               j->rc == OSQ_E_NOMEM ? "out of memory encoding the posting lists" : osq_last_error());
  }
  return NULL;
}

/* Writes one dictionary entry (front-coded against prev unless it opens a
 * block), offsets made absolute by the job's bases. */
static int dict_entry(osq__buf *dict, const osq__wterm *t, const osq__wterm *prev, int first_in_block,
                      const term_meta *m, uint64_t post_base, uint64_t pos_base) {
  uint32_t shared = 0;
  if (!first_in_block && prev)
    while (shared < prev->len && shared < t->len && prev->term[shared] == t->term[shared]) shared++;
  if (osq__buf_varint(dict, shared) || osq__buf_varint(dict, t->len - shared) ||
      osq__buf_put(dict, t->term + shared, t->len - shared) ||
      osq__buf_varint(dict, t->df) || osq__buf_varint(dict, m->max_tf) ||
      osq__buf_varint(dict, m->min_len) || osq__buf_varint(dict, post_base + m->post_off) ||
      osq__buf_varint(dict, m->post_len) || osq__buf_varint(dict, pos_base + m->pos_off))
    return OSQ_E_NOMEM;
  return OSQ_OK;
}

/* Page checksums of a stream of pieces starting at file offset pos: one
 * u32 CRC32 a page into *out, the first page's CRC from pos (the end of
 * the section table) to the page's end. */
typedef struct page_sum {
  uint32_t shift;
  uint64_t pos;
  uint32_t crc;
  osq__buf *out;
} page_sum;

static int page_sum_feed(page_sum *ps, const uint8_t *p, size_t n) {
  while (n) {
    uint64_t page_end = ((ps->pos >> ps->shift) + 1) << ps->shift;
    size_t take = n < page_end - ps->pos ? n : (size_t)(page_end - ps->pos);
    ps->crc = osq__crc32_bulk(ps->crc, p, take);
    ps->pos += take;
    p += take;
    n -= take;
    if (ps->pos == page_end) {
      if (osq__buf_u32(ps->out, ps->crc)) return OSQ_E_NOMEM;
      ps->crc = 0;
    }
  }
  return OSQ_OK;
}

static int write_all(int fd, const void *data, size_t n, uint32_t *crc) {
  if (crc) *crc = osq__crc32(*crc, data, n);
  return osq__write_all(fd, data, n);
}

int osq__segment_write(const char *dir, const char *name,
                       osq__wsegment *seg, uint64_t *bytes) {
  osq__buf sec[OSQ__SEG_NSECTIONS];
  memset(sec, 0, sizeof sec);
  /* A section may end in a second piece, written after it rather than
   * copied onto it: the second encoder's lists (owned here), the store's
   * compressed blocks (the writer's). */
  const uint8_t *tail_p[OSQ__SEG_NSECTIONS];
  size_t tail_n[OSQ__SEG_NSECTIONS];
  memset(tail_p, 0, sizeof tail_p);
  memset(tail_n, 0, sizeof tail_n);
  osq__buf tail_own[2];
  memset(tail_own, 0, sizeof tail_own);
  int rc = OSQ_OK;
  char tmp[4096] = "", dst[4096];
  int fd = -1;

  /* DICT, DICT_INDEX, POSTINGS, POSITIONS */
  /* The average length exactly as the search computes it for an index of
   * this one segment. */
  osq__norm_table(seg->norm_len);
  seg->avglen = seg->npassages ? (double)seg->total_tokens / (double)seg->npassages : 1.0;
  if (seg->avglen <= 0) seg->avglen = 1.0;
  for (int b = 0; b < 256; b++)
    seg->norm_k[b] = OSQ__BM25_K1 * (1.0 - OSQ__BM25_B + OSQ__BM25_B * (double)seg->norm_len[b] / seg->avglen);
  uint32_t *pass_k = malloc(((size_t)seg->npassages + 1) * sizeof *pass_k);
  if (!pass_k) return OSQ_E_NOMEM;
  for (uint32_t i = 0; i < seg->npassages; i++) {
    uint32_t len = seg->passages[i].ntokens;
    pass_k[i] = (len < PASS_LEN_MAX ? len : PASS_LEN_MAX) << 9 | (seg->passages[i].title ? 0x100u : 0) |
                osq__norm_encode(seg->norm_len, len);
  }
  seg->pass_k = pass_k;
  /* POSTINGS and POSITIONS: two jobs, each a run of terms holding about
   * half the raw postings, encode at once (the other core is idle by now:
   * the input is read and the store compressed); the second job's bytes
   * follow the first's, and the dictionary, written after, adds that
   * base to its offsets. */
  {
    size_t n = seg->nterms, split = n;
    uint64_t total = 0, acc = 0;
    for (size_t i = 0; i < n; i++) total += seg->terms[i]->raw.n;
    if (n >= 2 * OSQ__DICT_BLOCK && total >= (1u << 20))
      for (size_t i = 0; i < n; i++) {
        acc += seg->terms[i]->raw.n;
        if (acc * 2 >= total) {
          split = i + 1;
          break;
        }
      }
    term_meta *meta = malloc((n ? n : 1) * sizeof *meta);
    encode_job jobs[2];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < 2; k++) {
      jobs[k].seg = seg;
      jobs[k].meta = meta;
    }
    jobs[0].first = 0;
    jobs[0].last = split;
    jobs[1].first = split;
    jobs[1].last = n;
    pthread_t th;
    int threaded = 0;
    if (!meta) {
      rc = OSQ_E_NOMEM;
    } else {
      threaded = split < n && pthread_create(&th, NULL, encode_range, &jobs[1]) == 0;
      encode_range(&jobs[0]);
      if (threaded) pthread_join(th, NULL);
      else encode_range(&jobs[1]);
      for (int k = 0; k < 2 && !rc; k++)
        if (jobs[k].rc) rc = osq__fail(jobs[k].rc, "%s", jobs[k].err);
    }
    /* the second job's lists follow the first's in the file */
    uint64_t post_base1 = jobs[0].post.n, pos_base1 = jobs[0].pos.n;
    uint32_t nblocks = (uint32_t)((n + OSQ__DICT_BLOCK - 1) / OSQ__DICT_BLOCK);
    if (!rc) rc = osq__buf_u32(&sec[OSQ__SEC_DICT_INDEX], nblocks);
    for (size_t i = 0; i < n && !rc; i++) {
      int first = (i % OSQ__DICT_BLOCK) == 0;
      if (first && (rc = osq__buf_u32(&sec[OSQ__SEC_DICT_INDEX], (uint32_t)sec[OSQ__SEC_DICT].n))) break;
      rc = dict_entry(&sec[OSQ__SEC_DICT], seg->terms[i], i ? seg->terms[i - 1] : NULL, first, &meta[i],
                      i < split ? 0 : post_base1, i < split ? 0 : pos_base1);
    }
    sec[OSQ__SEC_POSTINGS] = jobs[0].post;
    sec[OSQ__SEC_POSITIONS] = jobs[0].pos;
    tail_own[0] = jobs[1].post;
    tail_own[1] = jobs[1].pos;
    tail_p[OSQ__SEC_POSTINGS] = tail_own[0].p;
    tail_n[OSQ__SEC_POSTINGS] = tail_own[0].n;
    tail_p[OSQ__SEC_POSITIONS] = tail_own[1].p;
    tail_n[OSQ__SEC_POSITIONS] = tail_own[1].n;
    for (int k = 0; k < 2; k++) free(jobs[k].pvals);
    free(meta);
    if (rc) goto done;
  }
  /* PASSAGES */
  if ((rc = osq__buf_reserve(&sec[OSQ__SEC_PASSAGES], (size_t)seg->npassages * OSQ__PASSAGE_BYTES)))
    goto done;
  for (uint32_t i = 0; i < seg->npassages; i++) {
    const osq__wpassage *ps = &seg->passages[i];
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->doc);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->block);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->offset);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->length);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->ntokens);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->positions);
    osq__buf_u32(&sec[OSQ__SEC_PASSAGES], ps->heading);
  }
  /* DOCS */
  for (uint32_t i = 0; i < seg->ndocs; i++)
    if ((rc = osq__buf_u32(&sec[OSQ__SEC_DOCS], seg->doc_offsets[i]))) goto done;
  if ((rc = osq__buf_put(&sec[OSQ__SEC_DOCS], seg->docs.p, seg->docs.n))) goto done;
  /* STORE */
  if ((rc = osq__buf_u32(&sec[OSQ__SEC_STORE], seg->store_blocks))) goto done;
  for (uint32_t i = 0; i <= seg->store_blocks; i++)
    if ((rc = osq__buf_u64(&sec[OSQ__SEC_STORE], seg->store_offsets[i]))) goto done;
  tail_p[OSQ__SEC_STORE] = seg->store.p;
  tail_n[OSQ__SEC_STORE] = seg->store.n;
  /* TITLES */
  {
    size_t nb = ((size_t)seg->npassages + 7) / 8;
    if ((rc = osq__buf_reserve(&sec[OSQ__SEC_TITLES], nb + 1))) goto done;
    memset(sec[OSQ__SEC_TITLES].p, 0, nb);
    for (uint32_t i = 0; i < seg->npassages; i++)
      if (seg->passages[i].title) sec[OSQ__SEC_TITLES].p[i >> 3] |= (uint8_t)(1u << (i & 7));
    sec[OSQ__SEC_TITLES].n = nb;
  }
  /* NORMS */
  {
    uint32_t table[256];
    osq__norm_table(table);
    if ((rc = osq__buf_reserve(&sec[OSQ__SEC_NORMS], seg->npassages + 1))) goto done;
    for (uint32_t i = 0; i < seg->npassages; i++)
      sec[OSQ__SEC_NORMS].p[sec[OSQ__SEC_NORMS].n++] = osq__norm_encode(table, seg->passages[i].ntokens);
  }

  /* PAGES: the checksum of every page of what precedes it (after the
   * header and the section table, which have their own), computed from the
   * sections in memory, in file order. */
  {
    page_sum ps = {OSQ__PAGE_SHIFT, OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES, 0,
                   &sec[OSQ__SEC_PAGES]};
    rc = osq__buf_u32(ps.out, 1u << OSQ__PAGE_SHIFT);
    if (!rc) rc = osq__buf_u32(ps.out, 0);
    for (int s = 0; s < OSQ__SEC_PAGES && !rc; s++) {
      rc = page_sum_feed(&ps, sec[s].p, sec[s].n);
      if (!rc) rc = page_sum_feed(&ps, tail_p[s], tail_n[s]);
    }
    if (!rc && (ps.pos & ((1u << OSQ__PAGE_SHIFT) - 1))) rc = osq__buf_u32(ps.out, ps.crc);
    if (rc) goto done;
  }

  /* Header and section table. */
  uint8_t hdr[OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES];
  memset(hdr, 0, sizeof hdr);
  memcpy(hdr, OSQ__SEG_MAGIC, 8);
  osq__put_u32(hdr + 8, OSQ_FORMAT_VERSION);
  {
    uint32_t flags = 0;
    for (uint32_t i = 0; i < seg->npassages && !flags; i++)
      if (seg->passages[i].title) flags |= OSQ__SEGF_TITLES;
    osq__put_u32(hdr + 12, flags);
  }
  osq__put_u32(hdr + 16, seg->npassages);
  osq__put_u32(hdr + 20, seg->ndocs);
  osq__put_u32(hdr + 24, (uint32_t)seg->nterms);
  osq__put_u32(hdr + 28, OSQ__SEG_NSECTIONS);
  osq__put_u64(hdr + 32, seg->total_tokens);
  osq__put_u64(hdr + 48, osq__lexicon_id());
  uint64_t off = sizeof hdr;
  uint32_t sec_crc[OSQ__SEG_NSECTIONS];
  for (int s = 0; s < OSQ__SEG_NSECTIONS; s++) {
    uint8_t *e = hdr + OSQ__SEG_HEADER_BYTES + s * OSQ__SEG_SECTION_BYTES;
    sec_crc[s] = osq__crc32(0, sec[s].p, sec[s].n);
    if (tail_n[s])
      sec_crc[s] = (uint32_t)crc32_combine(sec_crc[s], osq__crc32(0, tail_p[s], tail_n[s]), (z_off_t)tail_n[s]);
    osq__put_u64(e, off);
    osq__put_u64(e + 8, sec[s].n + tail_n[s]);
    osq__put_u32(e + 16, sec_crc[s]);
    off += sec[s].n + tail_n[s];
  }
  osq__put_u32(hdr + 40, osq__crc32(0, hdr + OSQ__SEG_HEADER_BYTES,
                                    OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES));
  osq__put_u32(hdr + 44, osq__crc32(0, hdr, 40));

  snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = osq__fail(OSQ_E_IO, "%s: %s", tmp, strerror(errno));
    goto done;
  }
  /* the whole file's CRC from the sections' (no second pass over them) */
  uint32_t crc = 0;
  int bad = write_all(fd, hdr, sizeof hdr, &crc);
  for (int s = 0; s < OSQ__SEG_NSECTIONS && !bad; s++) {
    bad = write_all(fd, sec[s].p, sec[s].n, NULL);
    if (!bad && tail_n[s]) bad = write_all(fd, tail_p[s], tail_n[s], NULL);
    crc = (uint32_t)crc32_combine(crc, sec_crc[s], (z_off_t)(sec[s].n + tail_n[s]));
  }
  uint8_t foot[OSQ__SEG_FOOTER_BYTES];
  memset(foot, 0, sizeof foot);
  osq__put_u32(foot, crc);
  memcpy(foot + 8, OSQ__SEG_FOOTER_MAGIC, 8);
  if (!bad) bad = write_all(fd, foot, sizeof foot, NULL);
  if (!bad) bad = fsync(fd);
  if (bad) {
    rc = osq__fail(OSQ_E_IO, "%s: write: %s", tmp, strerror(errno));
    goto done;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = osq__fail(OSQ_E_IO, "%s: close: %s", tmp, strerror(errno));
    goto done;
  }
  fd = -1;
  if (rename(tmp, dst) != 0) {
    rc = osq__fail(OSQ_E_IO, "%s: rename: %s", dst, strerror(errno));
    goto done;
  }
  *bytes = off + OSQ__SEG_FOOTER_BYTES;
  rc = osq__fsync_dir(dir);
done:
  if (fd >= 0) {
    close(fd);
    unlink(tmp);
  } else if (rc && tmp[0]) {
    unlink(tmp);
  }
  for (int s = 0; s < OSQ__SEG_NSECTIONS; s++) osq__buf_free(&sec[s]);
  osq__buf_free(&tail_own[0]);
  osq__buf_free(&tail_own[1]);
  free(seg->pass_k);
  seg->pass_k = NULL;
  return rc;
}
