/*
 * stem.c -- a dictionary stemmer for Korean words ("eojeol").
 *
 * A word (a run of Hangul syllables between spaces) is split into a stem and
 * a tail: the stem is the longest CONTENT entry of the lexicon that starts
 * the word and leaves a tail that is a chain of FUNCTION entries (particles,
 * endings, derivational suffixes, the copula); with no such entry, the
 * longest prefix of two or more syllables that leaves a non-empty valid
 * tail; else the whole word.  No decompounding: 오픈스택을 -> 오픈스택,
 * 화웨이가 -> 화웨이, 설치했습니다 -> 설치.  This is the lab's 'st0'
 * (docs/ranking.md): it is indexed as a field of its own beside the bigrams
 * (tokenize.c, OSQ_TOKEN_STEM).
 *
 * THE LEXICON FORMAT (core/lexicon/ko-stem.lex.gz, packed by
 * tools/lexicon/pack-lexicon.py from nori's mecab-ko-dic; see
 * core/lexicon/NOTICE).  Little-endian.
 *
 *     0  8 bytes  magic "OSQLEX1\0"
 *     8  u64      lexicon id: 64-bit FNV-1a of every byte after the header
 *    16  the FUNCTION set, then the CONTENT set, each:
 *          u32 entries E, u32 blocks B, (B+1) u32 offsets of the blocks
 *          from the end of the offset table (the last one is the end), then
 *          the blocks.  Entries are sorted by their syllable indexes
 *          (codepoint - 0xAC00, as u16), 16 to a block; each entry: a byte
 *          of syllables shared with the previous entry of the block (0 for
 *          a block's first, which binary search reads whole), a byte whose
 *          low 7 bits are the number of syllables that follow and whose top
 *          bit is the entry's QSTOP flag, then those syllables as u16.
 *
 * The lexicon is linked into the library (lexicon.S, .incbin); it is read in
 * place, nothing is loaded or built at startup: the header and block offsets
 * are checked once (pthread_once), each entry as it is decoded, and a lexicon
 * that fails disables stemming rather than crash.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "stem.h"

extern const uint8_t osq__lexicon_data[];
extern const uint8_t osq__lexicon_end[];

typedef struct {
  const uint8_t *off;    /* B+1 u32 offsets */
  const uint8_t *blocks; /* block bytes */
  uint32_t n, nblocks, bytes;
} lexset;

static struct {
  int ok;
  uint64_t id;
  lexset func, content;
} lex;

static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Opens one set at p (of avail bytes); its size into *used.  Only the
 * block offsets are checked here (a walk of every entry would cost a one-shot
 * query milliseconds); set_has checks each entry it decodes. */
static int set_open(lexset *s, const uint8_t *p, size_t avail, size_t *used) {
  if (avail < 8) return 0;
  s->n = rd32(p);
  s->nblocks = rd32(p + 4);
  if (s->nblocks > (avail - 8) / 4 - 1) return 0;
  s->off = p + 8;
  s->blocks = s->off + 4 * ((size_t)s->nblocks + 1);
  size_t head = (size_t)(s->blocks - p);
  s->bytes = rd32(s->off + 4 * (size_t)s->nblocks);
  if (s->bytes > avail - head) return 0;
  for (uint32_t b = 0; b < s->nblocks; b++) {
    uint32_t a = rd32(s->off + 4 * (size_t)b), e = rd32(s->off + 4 * (size_t)b + 4);
    if (a >= e || e > s->bytes || e - a < 4 || s->blocks[a] != 0) return 0;
  }
  *used = head + s->bytes;
  return 1;
}

static void lex_init(void) {
  const uint8_t *p = osq__lexicon_data;
  size_t n = (size_t)(osq__lexicon_end - osq__lexicon_data), used;
  if (n < 16 || memcmp(p, "OSQLEX1", 8)) return;
  uint64_t h = (uint64_t)rd32(p + 8) | (uint64_t)rd32(p + 12) << 32;
  if (!set_open(&lex.func, p + 16, n - 16, &used)) return;
  size_t at = 16 + used;
  if (!set_open(&lex.content, p + at, n - at, &used)) return;
  lex.id = h;
  lex.ok = 1;
}

uint64_t osq__lexicon_id(void) {
  pthread_once(&lex_once, lex_init);
  return lex.ok ? lex.id : 0;
}

/* Compares entry a[0..na) with key k[0..nk). */
static int cmp_syl(const uint16_t *a, size_t na, const uint16_t *k, size_t nk) {
  size_t m = na < nk ? na : nk;
  for (size_t i = 0; i < m; i++)
    if (a[i] != k[i]) return a[i] < k[i] ? -1 : 1;
  return na < nk ? -1 : na > nk;
}

/* Is k[0..nk) in set s?  Its QSTOP flag into *flag. */
static int set_has(const lexset *s, const uint16_t *k, size_t nk, int *flag) {
  if (nk == 0 || nk > 127 || s->nblocks == 0) return 0;
  uint16_t cur[256];
  /* the last block whose first entry is <= k */
  uint32_t lo = 0, hi = s->nblocks - 1;
  while (lo < hi) {
    uint32_t mid = (lo + hi + 1) / 2;
    const uint8_t *q = s->blocks + rd32(s->off + 4 * (size_t)mid);
    size_t len = q[1] & 0x7F;
    if (2 + 2 * len > rd32(s->off + 4 * (size_t)mid + 4) - rd32(s->off + 4 * (size_t)mid)) return 0;
    for (size_t i = 0; i < len; i++) cur[i] = rd16(q + 2 + 2 * i);
    if (cmp_syl(cur, len, k, nk) <= 0) lo = mid;
    else hi = mid - 1;
  }
  const uint8_t *q = s->blocks + rd32(s->off + 4 * (size_t)lo);
  const uint8_t *qe = s->blocks + rd32(s->off + 4 * (size_t)lo + 4);
  size_t len = 0;
  while (q < qe) {
    if (qe - q < 2) return 0;
    size_t shared = q[0], add = q[1] & 0x7F;
    int f = q[1] >> 7;
    if (shared > len || shared + add > 255 || (size_t)(qe - q - 2) < 2 * add) return 0; /* damaged */
    for (size_t i = 0; i < add; i++) cur[shared + i] = rd16(q + 2 + 2 * i);
    len = shared + add;
    q += 2 + 2 * add;
    /* entries sorted: the shared prefix keeps cur[0..shared) as it was */
    int c = cmp_syl(cur, len, k, nk);
    if (c == 0) {
      if (flag) *flag = f;
      return 1;
    }
    if (c > 0) return 0;
  }
  return 0;
}

size_t osq__stem(const uint16_t *w, size_t n, int *flags) {
  *flags = 0;
  pthread_once(&lex_once, lex_init);
  if (!lex.ok || n < 2 || n > OSQ__STEM_MAX_SYL) return n;
  /* ok[j]: w[j..n) is a chain of function entries (empty: yes) */
  uint8_t ok[OSQ__STEM_MAX_SYL + 1];
  ok[n] = 1;
  for (size_t j = n; j-- > 0;) {
    ok[j] = 0;
    size_t kmax = n - j;
    for (size_t k = kmax; k >= 1 && !ok[j]; k--)
      if (ok[j + k] && set_has(&lex.func, w + j, k, NULL)) ok[j] = 1;
  }
  for (size_t i = n; i >= 1; i--) {
    int f = 0;
    if (ok[i] && set_has(&lex.content, w, i, &f)) {
      if (f) *flags |= OSQ__STEM_QSTOP;
      return i;
    }
  }
  for (size_t i = n - 1; i >= 2; i--)
    if (ok[i]) return i;
  return n;
}
