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
 * packed data would run past avail or w > 32.  Uses AVX2 where the CPU has
 * it, unless osq__codec_scalar is set (tests compare the two). */
extern int osq__codec_scalar;
int osq__bp_unpack(const uint8_t *in, size_t avail, uint32_t n, int w,
                   uint32_t *out);

/* PATCHED FRAMES ("PFor", the exception scheme of Lucene's and PISA's block
 * codecs).  A block's largest value sets a plain frame's width; one long
 * gap in 128 costs every value its bits.  A patched frame packs every value
 * at a base width b and lists the few values that do not fit as
 * exceptions, whose high bits are packed apart and patched in after the
 * unpacking.  One frame of n values (n <= OSQ__BLOCK):
 *
 *   u8  b, the base width (0..32), with bit 7 set when exceptions follow
 *   if bit 7: u8 e, the number of exceptions (1..n); u8 h, the width of
 *       their high parts (1..32-b); e u8 indexes, strictly increasing and
 *       below n; the e high parts (value >> b), bit-packed at h bits
 *   the n values' low b bits, bit-packed
 *
 * The encoder picks the b of the fewest bytes. */
#define OSQ__PFOR_MAX_BYTES (3 + OSQ__BLOCK + 2 * OSQ__BLOCK * 4)
/* Encodes v[0..n) into out (at most OSQ__PFOR_MAX_BYTES); returns the bytes
 * written. */
size_t osq__pfor_pack(const uint32_t *v, uint32_t n, uint8_t *out);
/* Decodes a frame of n values from in[0..avail) into out.  Every value must
 * fit in maxw bits (32 for no limit): a frame whose widths exceed it is
 * invalid.  Returns the bytes the frame took, or -1 when it is invalid or
 * runs past avail. */
long osq__pfor_unpack(const uint8_t *in, size_t avail, uint32_t n, int maxw, uint32_t *out);
/* The bytes of the frame of n values at in[0..avail), read from its header
 * alone, or -1 when the header is invalid or the frame runs past avail. */
long osq__pfor_size(const uint8_t *in, size_t avail, uint32_t n);

/* Turns n gaps v[i] (pid minus the previous pid minus 1) into pids, the
 * first gap counted from prev (-1 before the first posting).  Returns the
 * last pid in 64 bits; when it is 2^32 or more the pids in v are not
 * meaningful (the caller rejects the block). */
uint64_t osq__gaps_to_pids(uint32_t *v, uint32_t n, int64_t prev);

#endif
