/*
 * segment_read.c -- reads a segment file through mmap (format in
 * segment_write.c).  Nothing read from the file is trusted: every offset and
 * length is checked against the bytes that hold it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <lz4.h>

#include "segment.h"

#define CORRUPT(seg, ...) corrupt_at((seg)->path, __VA_ARGS__)

static int corrupt_at(const char *path, const char *fmt, ...) OSQ__PRINTF(2, 3);
static int corrupt_at(const char *path, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return osq__fail(OSQ_E_CORRUPT, "the index is damaged at %s (corrupt segment: %s); run osindex check", path, msg);
}

int osq__segment_need_slow(const osq__segment *seg, uint64_t first, uint64_t last) {
  uint64_t start = OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES;
  for (uint64_t i = first; i <= last; i++) {
    if (i >= seg->npages) /* callers ask for bytes of sections 0..8 only */
      return osq__fail(OSQ_E_CORRUPT, "the index is damaged at %s: a read past its checksummed pages; run osindex check",
                       seg->path);
    if (__atomic_load_n(&seg->verified[i >> 6], __ATOMIC_RELAXED) >> (i & 63) & 1) continue;
    uint64_t a = i << seg->page_shift, b = (i + 1) << seg->page_shift;
    if (a < start) a = start;
    if (b > seg->pages_end) b = seg->pages_end;
    if (osq__crc32_bulk(0, seg->map.p + a, (size_t)(b - a)) != osq__get_u32(seg->page_crc + 4 * i)) {
      osq__fail(OSQ_E_CORRUPT,
                "the index is damaged at %s offset %llu (checksum mismatch in the %llu bytes from there); "
                "run osindex check",
                seg->path, (unsigned long long)a, (unsigned long long)(b - a));
      osq__damage_pending(); /* the search's "corrupt postings" keeps this message */
      return OSQ_E_CORRUPT;
    }
    __atomic_fetch_or(&seg->verified[i >> 6], 1ull << (i & 63), __ATOMIC_RELAXED);
  }
  return OSQ_OK;
}

int osq__segment_open(const char *path, osq__segment *seg) {
  memset(seg, 0, sizeof *seg);
  snprintf(seg->path, sizeof seg->path, "%s", path);
  int rc = osq__map_file(path, &seg->map);
  if (rc) return rc == OSQ_E_NOTFOUND ? osq__fail(OSQ_E_CORRUPT, "%s: segment file is missing", path) : rc;
  const uint8_t *p = seg->map.p;
  size_t n = seg->map.n;
  size_t table = OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES;
  if (n < table + OSQ__SEG_FOOTER_BYTES) { rc = CORRUPT(seg, "file too short (%zu bytes)", n); goto fail; }
  if (memcmp(p, OSQ__SEG_MAGIC, 8) != 0) { rc = CORRUPT(seg, "bad magic number"); goto fail; }
  if (osq__get_u32(p + 44) != osq__crc32(0, p, 40)) { rc = CORRUPT(seg, "header checksum mismatch"); goto fail; }
  if (osq__get_u32(p + 8) != OSQ_FORMAT_VERSION) {
    rc = osq__fail(OSQ_E_VERSION, "%s: segment format version %u, this osq reads version %u",
                   path, osq__get_u32(p + 8), OSQ_FORMAT_VERSION);
    goto fail;
  }
  if (osq__get_u32(p + 28) != OSQ__SEG_NSECTIONS) { rc = CORRUPT(seg, "bad section count"); goto fail; }
  if (osq__get_u32(p + 40) != osq__crc32(0, p + OSQ__SEG_HEADER_BYTES, table - OSQ__SEG_HEADER_BYTES)) {
    rc = CORRUPT(seg, "section table checksum mismatch");
    goto fail;
  }
  if (memcmp(p + n - 8, OSQ__SEG_FOOTER_MAGIC, 8) != 0) { rc = CORRUPT(seg, "bad footer (truncated file?)"); goto fail; }
  seg->npassages = osq__get_u32(p + 16);
  seg->ndocs = osq__get_u32(p + 20);
  seg->nterms = osq__get_u32(p + 24);
  seg->total_tokens = osq__get_u64(p + 32);
  seg->lexicon_id = osq__get_u64(p + 48);
  uint64_t limit = n - OSQ__SEG_FOOTER_BYTES;
  for (int s = 0; s < OSQ__SEG_NSECTIONS; s++) {
    const uint8_t *e = p + OSQ__SEG_HEADER_BYTES + s * OSQ__SEG_SECTION_BYTES;
    uint64_t off = osq__get_u64(e), len = osq__get_u64(e + 8);
    if (off < table || off > limit || len > limit - off) {
      rc = CORRUPT(seg, "section %d out of bounds", s);
      goto fail;
    }
    seg->sec[s].p = p + off;
    seg->sec[s].n = len;
    seg->sec[s].crc = osq__get_u32(e + 16);
  }
  /* The page checksums cover everything before PAGES (segment_write.c). */
  {
    const uint8_t *pg = seg->sec[OSQ__SEC_PAGES].p;
    uint64_t pgn = seg->sec[OSQ__SEC_PAGES].n;
    seg->pages_end = (uint64_t)(pg - p);
    for (int s = 0; s < OSQ__SEC_PAGES; s++)
      if ((uint64_t)(seg->sec[s].p - p) + seg->sec[s].n > seg->pages_end) {
        rc = CORRUPT(seg, "section %d lies after the page checksums", s);
        goto fail;
      }
    uint32_t size = pgn >= 8 ? osq__get_u32(pg) : 0;
    if (size < 512 || size > (1u << 20) || (size & (size - 1))) {
      rc = CORRUPT(seg, "page checksums: page size %u", size);
      goto fail;
    }
    seg->page_shift = (uint32_t)__builtin_ctz(size);
    uint64_t npages = (seg->pages_end + size - 1) >> seg->page_shift;
    if (pgn != 8 + 4 * npages || npages > UINT32_MAX) {
      rc = CORRUPT(seg, "page checksum table size");
      goto fail;
    }
    seg->npages = (uint32_t)npages;
    seg->page_crc = pg + 8;
    seg->verified = calloc((size_t)(npages + 64) / 64, sizeof *seg->verified);
    if (!seg->verified) {
      rc = osq__fail(OSQ_E_NOMEM, "%s: out of memory for %llu page flags", path, (unsigned long long)npages);
      goto fail;
    }
  }
  /* Fixed-size tables must match the counts. */
  if (seg->sec[OSQ__SEC_DICT_INDEX].n < 4) { rc = CORRUPT(seg, "dictionary index too short"); goto fail; }
  /* the dictionary's block count, which every lookup uses */
  if ((rc = osq__segment_need(seg, seg->sec[OSQ__SEC_DICT_INDEX].p, 4))) goto fail;
  seg->dict_blocks = osq__get_u32(seg->sec[OSQ__SEC_DICT_INDEX].p);
  if ((uint64_t)seg->dict_blocks * 4 + 4 != seg->sec[OSQ__SEC_DICT_INDEX].n ||
      seg->dict_blocks != (seg->nterms + OSQ__DICT_BLOCK - 1) / OSQ__DICT_BLOCK) {
    rc = CORRUPT(seg, "dictionary index size");
    goto fail;
  }
  if ((uint64_t)seg->npassages * OSQ__PASSAGE_BYTES != seg->sec[OSQ__SEC_PASSAGES].n) {
    rc = CORRUPT(seg, "passage table size");
    goto fail;
  }
  if ((uint64_t)seg->ndocs * 4 > seg->sec[OSQ__SEC_DOCS].n) { rc = CORRUPT(seg, "document table size"); goto fail; }
  if (seg->sec[OSQ__SEC_STORE].n < 4) { rc = CORRUPT(seg, "store too short"); goto fail; }
  seg->store_blocks = osq__get_u32(seg->sec[OSQ__SEC_STORE].p);
  if (((uint64_t)seg->store_blocks + 1) * 8 + 4 > seg->sec[OSQ__SEC_STORE].n) {
    rc = CORRUPT(seg, "store table size");
    goto fail;
  }
  if (seg->sec[OSQ__SEC_NORMS].n != seg->npassages) {
    rc = CORRUPT(seg, "norms size");
    goto fail;
  }
  osq__norm_table(seg->norm_len);
  if (seg->sec[OSQ__SEC_TITLES].n != ((uint64_t)seg->npassages + 7) / 8) {
    rc = CORRUPT(seg, "title bitmap size");
    goto fail;
  }
  /* from the header (under its CRC), so that opening reads no page of
   * the sections: damage there fails the queries that read it, not all */
  seg->has_titles = (osq__get_u32(p + 12) & OSQ__SEGF_TITLES) != 0;
  return OSQ_OK;
fail:
  free(seg->verified);
  seg->verified = NULL;
  osq__unmap(&seg->map);
  return rc;
}

void osq__segment_close(osq__segment *seg) {
  if (!seg) return;
  osq__unmap(&seg->map);
  free(seg->verified);
  seg->verified = NULL;
}

int osq__segment_verify(const osq__segment *seg) {
  const uint8_t *p = seg->map.p;
  size_t n = seg->map.n;
  /* every page first, so that damage before PAGES gets an offset (and a
   * merge reading the whole segment next checks no page twice) */
  uint64_t start = OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES;
  for (uint64_t i = 0; i < seg->npages; i++) {
    uint64_t a = i << seg->page_shift, b = (i + 1) << seg->page_shift;
    if (a < start) a = start;
    if (b > seg->pages_end) b = seg->pages_end;
    if (osq__crc32_bulk(0, p + a, (size_t)(b - a)) != osq__get_u32(seg->page_crc + 4 * i))
      return osq__fail(OSQ_E_CORRUPT,
                       "the index is damaged at %s offset %llu (checksum mismatch in the %llu bytes from there); "
                       "run osindex check",
                       seg->path, (unsigned long long)a, (unsigned long long)(b - a));
  }
  for (int s = 0; s < OSQ__SEG_NSECTIONS; s++)
    if (osq__crc32(0, seg->sec[s].p, seg->sec[s].n) != seg->sec[s].crc)
      return CORRUPT(seg, "checksum mismatch in section %d", s);
  if (osq__get_u32(p + n - OSQ__SEG_FOOTER_BYTES) != osq__crc32(0, p, n - OSQ__SEG_FOOTER_BYTES))
    return CORRUPT(seg, "file checksum mismatch");
  /* the one word no checksum covers */
  if (osq__get_u32(p + n - OSQ__SEG_FOOTER_BYTES + 4) != 0) return CORRUPT(seg, "reserved footer word is not zero");
  for (uint64_t i = 0; i < seg->npages; i++) __atomic_fetch_or(&seg->verified[i >> 6], 1ull << (i & 63), __ATOMIC_RELAXED);
  return OSQ_OK;
}

/* ---- dictionary ----------------------------------------------------------- */

typedef struct {
  const uint8_t *p, *end;
  uint8_t term[OSQ__MAX_TERM + 1];
  uint32_t len;
} dict_iter;

static int dict_block_start(const osq__segment *seg, uint32_t b, dict_iter *it) {
  const uint8_t *idx = seg->sec[OSQ__SEC_DICT_INDEX].p + 4;
  int rc = osq__segment_need(seg, idx + (size_t)b * 4, b + 1 < seg->dict_blocks ? 8 : 4);
  if (rc) return rc;
  uint32_t off = osq__get_u32(idx + (size_t)b * 4);
  uint64_t dn = seg->sec[OSQ__SEC_DICT].n;
  uint64_t next = b + 1 < seg->dict_blocks ? osq__get_u32(idx + (size_t)(b + 1) * 4) : dn;
  if (off > next || next > dn) return CORRUPT(seg, "dictionary block %u out of bounds", b);
  if ((rc = osq__segment_need(seg, seg->sec[OSQ__SEC_DICT].p + off, next - off))) return rc;
  it->p = seg->sec[OSQ__SEC_DICT].p + off;
  it->end = seg->sec[OSQ__SEC_DICT].p + next;
  it->len = 0;
  return OSQ_OK;
}

/* Reads the next entry of a block.  Returns OSQ_OK, OSQ_DONE or corrupt. */
static int dict_next(const osq__segment *seg, dict_iter *it, osq__term_info *ti) {
  if (it->p >= it->end) return OSQ_DONE;
  uint32_t shared, suffix;
  if (osq__varint32(&it->p, it->end, &shared) || osq__varint32(&it->p, it->end, &suffix) ||
      shared > it->len || suffix > OSQ__MAX_TERM - shared || suffix > (size_t)(it->end - it->p))
    return CORRUPT(seg, "dictionary entry");
  memcpy(it->term + shared, it->p, suffix);
  it->p += suffix;
  it->len = shared + suffix;
  uint64_t v[6];
  for (int i = 0; i < 6; i++)
    if (osq__varint(&it->p, it->end, &v[i])) return CORRUPT(seg, "dictionary entry");
  /* Positions come in frames of at most OSQ__BLOCK values, each at least
   * a byte (a run of equal gaps packs into a few bits a value), so max tf
   * cannot exceed OSQ__BLOCK values a byte of what follows the term's
   * positions offset (nor the segment's tokens): this bounds the buffers
   * that readers size by tf. */
  if (v[0] == 0 || v[0] > seg->npassages || v[1] == 0 || v[1] > UINT32_MAX || v[2] > UINT32_MAX ||
      v[3] > seg->sec[OSQ__SEC_POSTINGS].n || v[4] > seg->sec[OSQ__SEC_POSTINGS].n - v[3] ||
      v[5] > seg->sec[OSQ__SEC_POSITIONS].n ||
      v[1] > (seg->sec[OSQ__SEC_POSITIONS].n - v[5]) * OSQ__BLOCK || v[1] > seg->total_tokens)
    return CORRUPT(seg, "dictionary entry values");
  ti->df = (uint32_t)v[0];
  ti->max_tf = (uint32_t)v[1];
  ti->min_len = (uint32_t)v[2];
  ti->post_off = v[3];
  ti->post_len = v[4];
  ti->pos_off = v[5];
  return OSQ_OK;
}

static int term_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

/* Finds the last block whose first term is <= key (or 0). */
static int dict_find_block(const osq__segment *seg, const uint8_t *key, size_t len,
                           uint32_t *block) {
  uint32_t lo = 0, hi = seg->dict_blocks; /* invariant: answer in [lo, hi) */
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    dict_iter it;
    osq__term_info ti;
    int rc = dict_block_start(seg, mid, &it);
    if (rc) return rc;
    rc = dict_next(seg, &it, &ti);
    if (rc) return rc == OSQ_DONE ? CORRUPT(seg, "empty dictionary block") : rc;
    if (term_cmp(it.term, it.len, key, len) <= 0)
      lo = mid;
    else
      hi = mid;
  }
  *block = lo;
  return OSQ_OK;
}

int osq__segment_lookup(const osq__segment *seg, const uint8_t *term, size_t len,
                        osq__term_info *ti) {
  if (seg->dict_blocks == 0 || len > OSQ__MAX_TERM) return OSQ_E_NOTFOUND;
  uint32_t b;
  int rc = dict_find_block(seg, term, len, &b);
  if (rc) return rc;
  dict_iter it;
  if ((rc = dict_block_start(seg, b, &it))) return rc;
  while ((rc = dict_next(seg, &it, ti)) == OSQ_OK) {
    int c = term_cmp(it.term, it.len, term, len);
    if (c == 0) return OSQ_OK;
    if (c > 0) return OSQ_E_NOTFOUND;
  }
  return rc == OSQ_DONE ? OSQ_E_NOTFOUND : rc;
}

int osq__segment_prefix(const osq__segment *seg, const uint8_t *prefix, size_t len,
                        int (*fn)(void *, const uint8_t *, size_t, const osq__term_info *),
                        void *ctx) {
  if (seg->dict_blocks == 0 || len > OSQ__MAX_TERM) return OSQ_OK;
  uint32_t b;
  int rc = dict_find_block(seg, prefix, len, &b);
  if (rc) return rc;
  for (; b < seg->dict_blocks; b++) {
    dict_iter it;
    osq__term_info ti;
    if ((rc = dict_block_start(seg, b, &it))) return rc;
    while ((rc = dict_next(seg, &it, &ti)) == OSQ_OK) {
      int c = memcmp(it.term, prefix, it.len < len ? it.len : len);
      if (c < 0 || (c == 0 && it.len < len)) continue;
      if (c > 0) return OSQ_OK;
      if (fn(ctx, it.term, it.len, &ti)) return OSQ_OK;
    }
    if (rc != OSQ_DONE) return rc;
  }
  return OSQ_OK;
}

/* ---- passages, documents, store ------------------------------------------ */

/* Can a passage lie in a store block of srcn compressed bytes?  LZ4 expands
 * at most about 255:1, and no passage is cut longer than 64 MB. */
static int passage_fits(const osq__passage_info *pi, uint64_t srcn) {
  return pi->length <= 64u << 20 && pi->offset <= 64u << 20 &&
         (uint64_t)pi->offset + pi->length <= srcn * 255 + 64 && srcn <= INT_MAX;
}

/* Passage pid's record as stored, unchecked (pid < npassages). */
static void passage_record(const osq__segment *seg, uint32_t pid, osq__passage_info *pi) {
  const uint8_t *e = seg->sec[OSQ__SEC_PASSAGES].p + (size_t)pid * OSQ__PASSAGE_BYTES;
  pi->doc = osq__get_u32(e);
  pi->block = osq__get_u32(e + 4);
  pi->offset = osq__get_u32(e + 8);
  pi->length = osq__get_u32(e + 12);
  pi->ntokens = osq__get_u32(e + 16);
  pi->positions = osq__get_u32(e + 20);
  pi->heading = osq__get_u32(e + 24);
}

int osq__segment_passage(const osq__segment *seg, uint32_t pid, osq__passage_info *pi) {
  if (pid >= seg->npassages) return CORRUPT(seg, "passage %u out of range", pid);
  int rc = osq__segment_need(seg, seg->sec[OSQ__SEC_PASSAGES].p + (size_t)pid * OSQ__PASSAGE_BYTES,
                             OSQ__PASSAGE_BYTES);
  if (rc) return rc;
  passage_record(seg, pid, pi);
  if (pi->doc >= seg->ndocs || pi->block >= seg->store_blocks)
    return CORRUPT(seg, "passage %u refers outside the segment", pid);
  return OSQ_OK;
}

/* A passage's store block (compressed bytes src[0..srcn)) after the checks
 * that its bounds can be trusted. */
static int store_block_of(const osq__segment *seg, uint32_t pid, osq__passage_info *pi,
                          const uint8_t **src, uint64_t *srcn) {
  int rc = osq__segment_passage(seg, pid, pi);
  if (rc) return rc;
  const uint8_t *st = seg->sec[OSQ__SEC_STORE].p;
  uint64_t stn = seg->sec[OSQ__SEC_STORE].n;
  uint64_t base = 4 + ((uint64_t)seg->store_blocks + 1) * 8;
  /* the block count, read unverified by osq__segment_open, and the two
   * offsets */
  if ((rc = osq__segment_need(seg, st, 4)) || (rc = osq__segment_need(seg, st + 4 + (uint64_t)pi->block * 8, 16)))
    return rc;
  uint64_t a = osq__get_u64(st + 4 + (uint64_t)pi->block * 8);
  uint64_t b = osq__get_u64(st + 4 + (uint64_t)(pi->block + 1) * 8);
  if (a > b || b > stn - base) return CORRUPT(seg, "store block %u out of bounds", pi->block);
  /* LZ4 expands at most about 255:1: a passage ending further into the
   * block is corrupt (checked before the buffer is allocated) */
  if (!passage_fits(pi, b - a)) return CORRUPT(seg, "passage %u too long", pid);
  if ((rc = osq__segment_need(seg, st + base + a, b - a))) return rc;
  *src = st + base + a;
  *srcn = b - a;
  return OSQ_OK;
}

static char *copy_text(const uint8_t *p, size_t n) {
  char *text = malloc(n + 1);
  if (!text) return NULL;
  memcpy(text, p, n);
  text[n] = 0;
  return text;
}

int osq__segment_passage_text_cached(const osq__segment *seg, osq__store_cache *sc, uint32_t pid,
                                     char **out, size_t *len) {
  if (!sc) return osq__segment_passage_text(seg, pid, out, len);
  osq__passage_info pi = {0};
  const uint8_t *src = NULL;
  uint64_t srcn = 0;
  int rc = store_block_of(seg, pid, &pi, &src, &srcn);
  if (rc) return rc;
  size_t want = (size_t)pi.offset + pi.length;
  if (sc->seg != seg || sc->block != pi.block || sc->n < want) {
    /* Decompress as far as this block's passages from pid on reach; their
     * records are read only for that, so one that does not make sense just
     * ends the look-ahead (it is reported when it is asked for). */
    size_t end = want;
    for (uint32_t q = pid + 1; q < seg->npassages; q++) {
      osq__passage_info qi;
      if (osq__segment_need(seg, seg->sec[OSQ__SEC_PASSAGES].p + (size_t)q * OSQ__PASSAGE_BYTES, OSQ__PASSAGE_BYTES))
        break;
      passage_record(seg, q, &qi);
      if (qi.block != pi.block || !passage_fits(&qi, srcn)) break;
      if ((size_t)qi.offset + qi.length > end) end = (size_t)qi.offset + qi.length;
    }
    sc->seg = NULL; /* invalid until filled */
    if (end + 1 > sc->cap) {
      uint8_t *nb = realloc(sc->buf, end + 1);
      if (!nb) return OSQ_E_NOMEM;
      sc->buf = nb;
      sc->cap = end + 1;
    }
    int got = LZ4_decompress_safe_partial((const char *)src, (char *)sc->buf, (int)srcn, (int)end, (int)end);
    if (got < 0 || (size_t)got != end) /* this passage or one after it: decide for this one alone */
      return osq__segment_passage_text(seg, pid, out, len);
    sc->seg = seg;
    sc->block = pi.block;
    sc->n = end;
  }
  char *text = copy_text(sc->buf + pi.offset, pi.length);
  if (!text) return OSQ_E_NOMEM;
  *out = text;
  *len = pi.length;
  return OSQ_OK;
}

void osq__store_cache_free(osq__store_cache *sc) {
  if (!sc) return;
  free(sc->buf);
  memset(sc, 0, sizeof *sc);
}

int osq__segment_passage_text(const osq__segment *seg, uint32_t pid, char **out, size_t *len) {
  osq__passage_info pi = {0};
  const uint8_t *src = NULL;
  uint64_t srcn = 0;
  int rc = store_block_of(seg, pid, &pi, &src, &srcn);
  if (rc) return rc;
  /* Decompress only as far as the passage ends, into a buffer freed before
   * returning: the passage is copied out to one of its own size.  Keeping
   * the whole buffer (8 KB on average with 16 KiB blocks) for each hit made
   * every hit touch fresh heap pages; the next hit now reuses the freed one
   * instead: a one-shot `osq` query of two words takes 156 -> 140 page
   * faults and 1.77 -> 1.60 ms (median of 100 runs). */
  size_t want = (size_t)pi.offset + pi.length;
  uint8_t *buf = malloc(want + 1);
  if (!buf) return OSQ_E_NOMEM;
  int got = LZ4_decompress_safe_partial((const char *)src, (char *)buf, (int)srcn, (int)want, (int)want);
  if (got < 0 || (size_t)got != want) {
    free(buf);
    return CORRUPT(seg, "store block %u does not decompress (%s)", pi.block, got < 0 ? "bad data" : "too short");
  }
  char *text = copy_text(buf + pi.offset, pi.length);
  free(buf);
  if (!text) return OSQ_E_NOMEM;
  *out = text;
  *len = pi.length;
  return OSQ_OK;
}

int osq__segment_doc(const osq__segment *seg, uint32_t doc, osq__doc_info *di, char **storage) {
  if (doc >= seg->ndocs) return CORRUPT(seg, "document %u out of range", doc);
  const uint8_t *base = seg->sec[OSQ__SEC_DOCS].p + (size_t)seg->ndocs * 4;
  const uint8_t *end = seg->sec[OSQ__SEC_DOCS].p + seg->sec[OSQ__SEC_DOCS].n;
  int rc = osq__segment_need(seg, seg->sec[OSQ__SEC_DOCS].p + (size_t)doc * 4, 4);
  if (rc) return rc;
  uint32_t off = osq__get_u32(seg->sec[OSQ__SEC_DOCS].p + (size_t)doc * 4);
  if (off > (size_t)(end - base)) return CORRUPT(seg, "document %u record out of bounds", doc);
  const uint8_t *p = base + off;
  const uint8_t *str[5];
  uint32_t lens[5];
  size_t total = 0;
  for (int i = 0; i < 5; i++) {
    if (osq__varint32(&p, end, &lens[i]) || lens[i] > (size_t)(end - p))
      return CORRUPT(seg, "document %u record", doc);
    str[i] = p;
    p += lens[i];
    total += lens[i] + 1;
  }
  if (osq__varint32(&p, end, &di->first_passage) || osq__varint32(&p, end, &di->npassages))
    return CORRUPT(seg, "document %u record", doc);
  /* Fields and headings: a first pass checks them and sizes the copy.  Each
   * string takes at least its length byte, so a count above the bytes left
   * is damage, not a reason to allocate. */
  uint32_t nf, nh, l = 0;
  const uint8_t *rest = p;
  if (osq__varint32(&p, end, &nf) || nf > (size_t)(end - p) / 2) return CORRUPT(seg, "document %u fields", doc);
  for (uint32_t k = 0; k < 2 * nf; k++) {
    if (osq__varint32(&p, end, &l) || l > (size_t)(end - p)) return CORRUPT(seg, "document %u fields", doc);
    p += l;
    total += l + 1;
  }
  if (osq__varint32(&p, end, &nh) || nh > (size_t)(end - p)) return CORRUPT(seg, "document %u headings", doc);
  for (uint32_t k = 0; k < nh; k++) {
    if (osq__varint32(&p, end, &l) || l > (size_t)(end - p)) return CORRUPT(seg, "document %u headings", doc);
    p += l;
    total += l + 1;
  }
  /* the record as far as it was read: verified before any of it is used */
  if ((rc = osq__segment_need(seg, base + off, (size_t)(p - (base + off))))) return rc;
  size_t nptr = 2 * (size_t)nf + nh;
  char *s = malloc(nptr * sizeof(char *) + total);
  if (!s) return OSQ_E_NOMEM;
  const char **ptrs = (const char **)(void *)s;
  char *o = s + nptr * sizeof(char *);
  const char **dst[5] = {&di->id, &di->title, &di->source, &di->url, &di->date};
  for (int i = 0; i < 5; i++) {
    memcpy(o, str[i], lens[i]);
    o[lens[i]] = 0;
    *dst[i] = o;
    o += lens[i] + 1;
  }
  di->nfields = nf;
  di->nheadings = nh;
  di->keys = ptrs;
  di->values = ptrs + nf;
  di->headings = ptrs + 2 * (size_t)nf;
  p = rest;
  osq__varint32(&p, end, &nf); /* checked above */
  for (uint32_t k = 0; k < 2 * nf; k++) {
    osq__varint32(&p, end, &l);
    memcpy(o, p, l);
    o[l] = 0;
    if (k % 2) di->values[k / 2] = o;
    else di->keys[k / 2] = o;
    o += l + 1;
    p += l;
  }
  osq__varint32(&p, end, &nh);
  for (uint32_t k = 0; k < nh; k++) {
    osq__varint32(&p, end, &l);
    memcpy(o, p, l);
    o[l] = 0;
    di->headings[k] = o;
    o += l + 1;
    p += l;
  }
  *storage = s;
  return OSQ_OK;
}

/* ---- posting cursor ------------------------------------------------------- */

/* Verifies the pages of base[pids[i] >> shift] for i in [lo, hi] (pids
 * ascending). */
static int need_pids(const osq__segment *seg, const uint8_t *base, uint32_t shift, const uint32_t *pids, uint32_t lo,
                     uint32_t hi) {
  const uint8_t *a = base + (pids[lo] >> shift), *b = base + (pids[hi] >> shift);
  uint64_t pa = (uint64_t)(a - seg->map.p) >> seg->page_shift, pb = (uint64_t)(b - seg->map.p) >> seg->page_shift;
  if (pa == pb) return osq__segment_need(seg, a, 1);
  if (osq__segment_pages_verified(seg, pa, pb)) return OSQ_OK; /* all of them, as mostly */
  uint32_t mid = lo + (hi - lo) / 2;
  int rc = need_pids(seg, base, shift, pids, lo, mid);
  return rc ? rc : need_pids(seg, base, shift, pids, mid + 1, hi);
}

static int load_block(osq__cursor *c, uint32_t blk) {
  const osq__segment *seg = c->seg;
  uint32_t n = blk + 1 < c->nblocks ? OSQ__BLOCK : c->ti.df - blk * OSQ__BLOCK;
  const uint8_t *bp;
  uint64_t pos_rel;
  int64_t prev;
  if (c->nblocks > 1) {
    const uint8_t *s = c->post + (size_t)blk * OSQ__SKIP_BYTES;
    /* the skip table was verified whole by osq__cursor_open */
    uint32_t boff = osq__get_u32(s + 4);
    pos_rel = osq__get_u32(s + 8);
    if (boff > (size_t)(c->post_end - c->blocks)) return CORRUPT(seg, "skip entry out of bounds");
    bp = c->blocks + boff;
    prev = blk ? (int64_t)osq__get_u32(s - OSQ__SKIP_BYTES) : -1;
  } else {
    bp = c->blocks;
    pos_rel = 0;
    prev = -1;
  }
  size_t avail = (size_t)(c->post_end - bp);
  /* Every tf - 1 fits the width of the term's max tf - 1, so no tf is more
   * than twice the dictionary's bound. */
  long nd = osq__pfor_unpack(bp, avail, n, 32, c->pids), nt = -1;
  if (nd >= 0) nt = osq__pfor_unpack(bp + nd, avail - (size_t)nd, n, osq__bits(c->ti.max_tf - 1), c->tfs);
  /* the bytes just decoded (or as far as they were read) are verified
   * before any of it is used */
  int rc = osq__segment_need(seg, bp, nt >= 0 ? (size_t)(nd + nt) : avail < 64 ? avail : 64);
  if (rc) return rc;
  if (nt < 0) return CORRUPT(seg, "posting block %u truncated or of impossible bit widths", blk);
  /* Gaps are non-negative, so checking the last pid checks them all; the
   * last is computed in 64 bits so no gap can wrap it. */
  uint64_t acc = osq__gaps_to_pids(c->pids, n, prev) + 1;
  /* c->tfs keeps tf - 1 as stored (osq__cursor_tf adds the 1); the sum the
   * positions need is taken when they are first read. */
  if (acc - 1 >= c->seg->npassages || acc - 1 > UINT32_MAX)
    return CORRUPT(seg, "posting refers to passage %llu of %u", (unsigned long long)(acc - 1), c->seg->npassages);
  /* A block must end where its skip entry says: seeks trust the skip table
   * to find a block holding the target, and the block-max bounds to hold up
   * to its last pid; a block that stops short would let a seek run off it
   * or stand still. */
  if (c->nblocks > 1 && acc - 1 != osq__get_u32(c->post + (size_t)blk * OSQ__SKIP_BYTES))
    return CORRUPT(seg, "posting block %u does not end at its skip entry's passage", blk);
  if (pos_rel > (uint64_t)(c->pos_end - c->pos_base)) return CORRUPT(seg, "positions out of bounds");
  /* The passages' norms and title bits, which the search reads directly
   * (segment.h), for the pids of this block.  A dense list's block lies in
   * one page of each (one check); a sparse one's pids are split until each
   * run lies in one page, so that no page between them is verified for
   * nothing. */
  if ((rc = need_pids(seg, seg->sec[OSQ__SEC_NORMS].p, 0, c->pids, 0, n - 1)) ||
      (rc = need_pids(seg, seg->sec[OSQ__SEC_TITLES].p, 3, c->pids, 0, n - 1)))
    return rc;
  c->block = blk;
  c->n = n;
  c->i = 0;
  c->pid = c->pids[0];
  c->pos_block = c->pos_base + pos_rel;
  c->pos_nvals = UINT32_MAX; /* not summed yet */
  c->pos_i = c->pos_v = 0;
  c->pos_fp = c->pos_block;
  c->pos_fk = 0;
  c->pos_dec = UINT32_MAX;
  return OSQ_OK;
}

int osq__cursor_open(osq__cursor *c, const osq__segment *seg, const osq__term_info *ti) {
  c->seg = seg;
  c->ti = *ti;
  c->corrupt = 0;
  c->sh_block = 0;
  c->post = seg->sec[OSQ__SEC_POSTINGS].p + ti->post_off;
  c->post_end = c->post + ti->post_len;
  c->pos_base = seg->sec[OSQ__SEC_POSITIONS].p + ti->pos_off;
  c->pos_end = seg->sec[OSQ__SEC_POSITIONS].p + seg->sec[OSQ__SEC_POSITIONS].n;
  c->nblocks = (ti->df + OSQ__BLOCK - 1) / OSQ__BLOCK;
  size_t skip = c->nblocks > 1 ? (size_t)c->nblocks * OSQ__SKIP_BYTES : 0;
  if (skip > ti->post_len) return CORRUPT(seg, "skip table out of bounds");
  /* Seeks and the block-max bounds read the skip table anywhere: all of
   * it is verified now (24 bytes per 128 postings). */
  int rc = osq__segment_need(seg, c->post, skip);
  if (rc) {
    c->pid = UINT32_MAX;
    return rc;
  }
  c->blocks = c->post + skip;
  rc = load_block(c, 0);
  if (rc) c->pid = UINT32_MAX;
  return rc;
}

int osq__cursor_next(osq__cursor *c) {
  if (c->pid == UINT32_MAX) return OSQ_DONE;
  if (++c->i < c->n) {
    c->pid = c->pids[c->i];
    return OSQ_OK;
  }
  if (c->block + 1 >= c->nblocks) {
    c->pid = UINT32_MAX;
    return OSQ_DONE;
  }
  int rc = load_block(c, c->block + 1);
  if (rc) c->pid = UINT32_MAX;
  return rc;
}

int osq__cursor_seek_slow(osq__cursor *c, uint32_t target) {
  if (c->pid >= target) return c->pid == UINT32_MAX ? OSQ_DONE : OSQ_OK;
  /* Within the current block? */
  if (c->pids[c->n - 1] < target) {
    /* Skip whole blocks with the skip table (galloping, then binary). */
    uint32_t blk = c->block + 1;
    if (blk >= c->nblocks) {
      c->pid = UINT32_MAX;
      return OSQ_DONE;
    }
    uint32_t lo = blk, step = 1, hi = blk;
    while (hi < c->nblocks && osq__get_u32(c->post + (size_t)hi * OSQ__SKIP_BYTES) < target) {
      lo = hi + 1;
      hi += step;
      step *= 2;
    }
    if (hi > c->nblocks) hi = c->nblocks;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (osq__get_u32(c->post + (size_t)mid * OSQ__SKIP_BYTES) < target)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo >= c->nblocks) {
      c->pid = UINT32_MAX;
      return OSQ_DONE;
    }
    int rc = load_block(c, lo);
    if (rc) {
      c->pid = UINT32_MAX;
      return rc;
    }
  }
  /* the first pid >= target in the block (its last one is) */
  uint32_t lo = c->i, hi = c->n - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->pids[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  c->i = lo;
  c->pid = c->pids[lo];
  return OSQ_OK;
}

long osq__cursor_positions(osq__cursor *c, uint32_t *out, uint32_t cap) {
  if (c->pos_nvals == UINT32_MAX) {
    /* the block's values: the sum of its tfs */
    uint64_t nvals = c->n;
    for (uint32_t i = 0; i < c->n; i++) nvals += c->tfs[i];
    if (nvals >= UINT32_MAX) return -1;
    c->pos_nvals = (uint32_t)nvals;
  }
  /* The first value of the current entry: the tfs before it, summed. */
  if (c->pos_i > c->i) c->pos_i = c->pos_v = 0;
  while (c->pos_i < c->i) c->pos_v += c->tfs[c->pos_i++] + 1;
  uint32_t tf = c->tfs[c->i] + 1, v = c->pos_v;
  uint64_t pos = 0;
  uint32_t n = 0;
  for (uint32_t k = 0; k < tf; k++, v++) {
    uint32_t fk = v / OSQ__BLOCK;
    if (fk != c->pos_dec) {
      /* find frame fk by the sizes in the frame headers, then decode it */
      if (fk < c->pos_fk) {
        c->pos_fp = c->pos_block;
        c->pos_fk = 0;
      }
      for (;;) {
        uint32_t fn = c->pos_nvals - c->pos_fk * OSQ__BLOCK;
        if (fn > OSQ__BLOCK) fn = OSQ__BLOCK;
        size_t avail = (size_t)(c->pos_end - c->pos_fp);
        long sz = osq__pfor_size(c->pos_fp, avail, fn);
        /* the frame's bytes (or its header) verified before use */
        if (osq__segment_need(c->seg, c->pos_fp, sz >= 0 ? (size_t)sz : avail < 64 ? avail : 64)) return -1;
        if (sz < 0) return -1;
        if (c->pos_fk == fk) {
          if (osq__pfor_unpack(c->pos_fp, avail, fn, 32, c->pos_buf) < 0) return -1;
          break;
        }
        c->pos_fp += sz;
        c->pos_fk++;
      }
      c->pos_dec = fk;
    }
    uint32_t d = c->pos_buf[v % OSQ__BLOCK];
    pos = k ? pos + d : d;
    if (pos > UINT32_MAX) return -1;
    if (n < cap) out[n++] = (uint32_t)pos;
  }
  return n;
}

int osq__cursor_shallow(osq__cursor *c, uint32_t pid, uint32_t *max_tf, uint32_t *min_len,
                        uint32_t *last_pid, float *max_f) {
  if (c->pid == UINT32_MAX) return OSQ_DONE;
  if (c->nblocks <= 1 || pid <= c->pids[c->n - 1]) {
    osq__cursor_block_bound(c, max_tf, min_len, last_pid, max_f);
    return OSQ_OK;
  }
  /* Gallop from the block the previous call found (the searches' pids
   * mostly grow, and a binary search over the whole skip table costs a
   * cache miss a step), unless pid lies before it. */
  uint32_t lo = c->block + 1;
  if (c->sh_block > lo && c->sh_block < c->nblocks &&
      osq__get_u32(c->post + (size_t)(c->sh_block - 1) * OSQ__SKIP_BYTES) < pid)
    lo = c->sh_block;
  uint32_t hi = lo, step = 1;
  while (hi < c->nblocks && osq__get_u32(c->post + (size_t)hi * OSQ__SKIP_BYTES) < pid) {
    lo = hi + 1;
    hi += step;
    step *= 2;
  }
  if (hi > c->nblocks) hi = c->nblocks;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (osq__get_u32(c->post + (size_t)mid * OSQ__SKIP_BYTES) < pid) lo = mid + 1;
    else hi = mid;
  }
  c->sh_block = lo;
  if (lo >= c->nblocks) return OSQ_DONE;
  const uint8_t *s = c->post + (size_t)lo * OSQ__SKIP_BYTES;
  /* this block is not decoded, so load_block has not checked its entry:
   * an impossible last pid would wrap the caller's "up to last + 1" */
  if (osq__get_u32(s) >= c->seg->npassages) return CORRUPT(c->seg, "skip entry refers past the last passage");
  *last_pid = osq__get_u32(s);
  *max_tf = osq__get_u32(s + 12);
  *min_len = osq__get_u32(s + 16);
  memcpy(max_f, s + 20, 4);
  return OSQ_OK;
}

void osq__cursor_block_bound(const osq__cursor *c, uint32_t *max_tf, uint32_t *min_len,
                             uint32_t *last_pid, float *max_f) {
  if (c->nblocks > 1) {
    const uint8_t *s = c->post + (size_t)c->block * OSQ__SKIP_BYTES;
    *last_pid = osq__get_u32(s);
    *max_tf = osq__get_u32(s + 12);
    *min_len = osq__get_u32(s + 16);
    memcpy(max_f, s + 20, 4);
  } else {
    *last_pid = c->pids[c->n - 1];
    *max_tf = c->ti.max_tf;
    *min_len = c->ti.min_len;
    *max_f = -1; /* unknown: use max_tf and min_len */
  }
}
