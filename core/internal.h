/*
 * internal.h -- declarations shared by the files of libosq, not exported.
 * Internal names start with osq__.
 */
#ifndef OSQ_INTERNAL_H
#define OSQ_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "osq/osq.h"

#define OSQ__HIDDEN __attribute__((visibility("hidden")))

/* The most characters a passage is cut to, whatever the options say: with
 * at most 9 codepoints of 4 bytes a character (writer_cut.c, JOIN_MAX), far
 * below the 64 MB a reader accepts (segment_read.c, passage_fits). */
#define OSQ__PASSAGE_MAX_CHARS 1000000u
/* The most bytes of a title made its own passage (cut.c); titles of 4 KiB or
 * more were once left without one. */
#define OSQ__TITLE_PASSAGE_MAX 4095u

#if defined(__GNUC__)
#define OSQ__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define OSQ__LIKELY(x) __builtin_expect(!!(x), 1)
#define OSQ__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define OSQ__PRINTF(a, b)
#define OSQ__LIKELY(x) (x)
#define OSQ__UNLIKELY(x) (x)
#endif

/* Records a message for osq_last_error() and returns status, so that error
 * paths read `return osq__fail(OSQ_E_CORRUPT, "%s: ...", path);`. */
int osq__fail(int status, const char *fmt, ...) OSQ__PRINTF(2, 3);
/* Damage found in file path while reading what (a search that saw a cursor
 * fail): OSQ_E_CORRUPT, keeping the last error when it is the page checksum
 * failure that made the cursor fail (it says where: the file's offset),
 * else "the index is damaged at PATH (what); run osindex check". */
int osq__damaged(const char *path, const char *what);
/* Marks the last error as a page checksum failure (segment_read.c). */
void osq__damage_pending(void);
void osq__clear_error(void);

/* Makes tk also give OSQ_TOKEN_STEM tokens (the writer's tokenizer). */
void osq__tokenizer_stems(osq_tokenizer *tk, int on);

/* ---- growable byte buffer ------------------------------------------- */
typedef struct osq__buf {
  uint8_t *p;
  size_t n, cap;
} osq__buf;

int osq__buf_reserve(osq__buf *b, size_t extra);
int osq__buf_put(osq__buf *b, const void *src, size_t n);
void osq__buf_free(osq__buf *b);
static inline int osq__buf_byte(osq__buf *b, uint8_t c) {
  if (b->n == b->cap && osq__buf_reserve(b, 1)) return OSQ_E_NOMEM;
  b->p[b->n++] = c;
  return OSQ_OK;
}
int osq__buf_varint(osq__buf *b, uint64_t v);
/* Writes v as a varint at o (room for 10 bytes); returns the end. */
static inline uint8_t *osq__put_varint(uint8_t *o, uint64_t v) {
  while (v >= 0x80) {
    *o++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *o++ = (uint8_t)v;
  return o;
}
int osq__buf_u32(osq__buf *b, uint32_t v);
int osq__buf_u64(osq__buf *b, uint64_t v);
int osq__buf_str(osq__buf *b, const char *s, size_t n); /* varint len + bytes */

/* ---- little-endian fixed-width and varint decoding ------------------- */
/* The formats are little-endian and read with memcpy: osq builds only for
 * little-endian hosts (every one Debian ships osq's dependencies for). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "osq reads its formats as little-endian: this host is not"
#endif
static inline uint32_t osq__get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v; /* little-endian hosts only; checked above */
}
static inline uint64_t osq__get_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void osq__put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void osq__put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Checked varint decode: reads from *pp, never past end.  Returns 0 and
 * advances *pp, or -1 if the varint is truncated or longer than 10 bytes. */
static inline int osq__varint(const uint8_t **pp, const uint8_t *end,
                              uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return -1;
    uint8_t c = *p++;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *pp = p;
      *out = v;
      return 0;
    }
  }
  return -1;
}
static inline int osq__varint32(const uint8_t **pp, const uint8_t *end,
                                uint32_t *out) {
  uint64_t v;
  if (osq__varint(pp, end, &v) || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when the bytes
 * there are not one (overlong forms, surrogates, values past U+10FFFF and
 * truncated sequences are not).  avail > 0 bytes may be read. */
static inline size_t osq__utf8_len(const uint8_t *p, size_t avail) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!k || k > avail) return 0;
  for (size_t j = 1; j < k; j++)
    if ((p[j] & 0xC0) != 0x80) return 0;
  if (k == 3) {
    uint32_t v = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  }
  if (k == 4) {
    uint32_t v = ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
  }
  return k;
}

/* ---- files ----------------------------------------------------------- */
/* Writes a whole file under a temporary name, fsyncs it and renames it into
 * place, then fsyncs the directory.  Returns OSQ_OK; OSQ_E_IO or
 * OSQ_E_NOMEM when the file is not in place (the old one, if any, is
 * untouched); OSQ_E_NOTDURABLE when the rename happened but the directory's
 * fsync failed: the new file is what readers see, and a power loss may
 * bring the old one back. */
int osq__write_file_atomic(const char *dir, const char *name, const void *data,
                           size_t n);
int osq__fsync_dir(const char *dir);
/* Writes all n bytes (retrying short writes and EINTR); 0 or -1 (errno). */
int osq__write_all(int fd, const void *data, size_t n);
uint32_t osq__crc32(uint32_t crc, const void *p, size_t n);
/* The same CRC, always by libdeflate (for many small pieces in a row: the
 * page checksums of a segment being written or checked). */
uint32_t osq__crc32_bulk(uint32_t crc, const void *p, size_t n);

/* A read-only mapping of a whole file. */
typedef struct osq__map {
  const uint8_t *p;
  size_t n;
} osq__map;
int osq__map_file(const char *path, osq__map *m);
void osq__unmap(osq__map *m);

/* ---- hashing --------------------------------------------------------- */
/* The n < 8 bytes at p as one integer, distinct for distinct bytes of the
 * same length, read without touching a byte past p + n.  Not memcpy into a
 * zeroed word: the byte stores that builds would have to complete before
 * the word's load (a store-forwarding stall, 14 % of the indexing loop). */
static inline uint64_t osq__load_short(const uint8_t *p, size_t n) {
  if (n >= 4) { /* two loads that overlap when n < 8 */
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + n - 4, 4);
    return (uint64_t)lo | (uint64_t)hi << 32;
  }
  if (n == 0) return 0;
  return (uint64_t)p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16;
}

static inline uint64_t osq__hash(const void *data, size_t n) {
  /* FNV-1a over 8-byte words, then a final mix; terms are short. */
  const uint8_t *p = data;
  uint64_t h = 0xcbf29ce484222325ull ^ (n * 0x9e3779b97f4a7c15ull);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  h = (h ^ osq__load_short(p, n)) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

/* ---- passage cutting (writer_cut.c), exported for tests ------------------- */
typedef struct osq__cut {
  uint32_t start, end; /* byte range of the passage in the document text */
} osq__cut;
/* Cuts text into passages; *cuts is realloc'd.  Returns count or -1. */
long osq__cut_passages(const char *text, size_t len, uint32_t min_chars,
                       uint32_t max_chars, uint32_t overlap_chars,
                       osq__cut **cuts, size_t *cap);

#endif /* OSQ_INTERNAL_H */
