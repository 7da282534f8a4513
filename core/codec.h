/*
 * codec.h -- integer codecs for posting lists: fixed-width bit packing of
 * blocks of up to OSQ__BLOCK values.  Pure functions over caller buffers;
 * they never allocate.  Decoders are told how many bytes they may read and
 * never read past them.
 */
#ifndef OSQ_CODEC_H
#define OSQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define OSQ__BLOCK 128

/* Bits needed for v (0 for 0). */
static inline int osq__bits(uint32_t v) { return v ? 32 - __builtin_clz(v) : 0; }
/* Bytes taken by n values of w bits. */
static inline size_t osq__bp_bytes(uint32_t n, int w) {
  return ((size_t)n * (size_t)w + 7) / 8;
}
/* Largest bit width among v[0..n). */
int osq__bp_width(const uint32_t *v, uint32_t n);
/* Packs v[0..n) at w bits each into out (osq__bp_bytes(n, w) bytes). */
void osq__bp_pack(const uint32_t *v, uint32_t n, int w, uint8_t *out);
/* Unpacks n values of w bits from in[0..avail).  Returns 0, or -1 if the
 * packed data would run past avail or w > 32. */
int osq__bp_unpack(const uint8_t *in, size_t avail, uint32_t n, int w,
                   uint32_t *out);

#endif
