/* codec.c -- bit packing (see codec.h). */
#include <string.h>

#include "codec.h"
#include "internal.h"

int osq__bp_width(const uint32_t *v, uint32_t n) {
  uint32_t acc = 0;
  for (uint32_t i = 0; i < n; i++) acc |= v[i];
  return osq__bits(acc);
}

void osq__bp_pack(const uint32_t *v, uint32_t n, int w, uint8_t *out) {
  if (w == 0) return;
  uint64_t acc = 0;
  int fill = 0;
  size_t o = 0;
  for (uint32_t i = 0; i < n; i++) {
    acc |= (uint64_t)v[i] << fill;
    fill += w;
    while (fill >= 8) {
      out[o++] = (uint8_t)acc;
      acc >>= 8;
      fill -= 8;
    }
  }
  if (fill > 0) out[o++] = (uint8_t)acc;
}

/* Unpacks n values of the constant width W with 8-byte loads; the caller
 * guarantees 8 readable bytes past the packed data.  One function per width,
 * so the shifts and masks are constants the compiler folds. */
#define UNPACK_W(W)                                                          \
  static void unpack_##W(const uint8_t *in, uint32_t n, uint32_t *out) {     \
    const uint64_t mask = (W) == 32 ? 0xffffffffull : ((1ull << (W)) - 1);  \
    for (uint32_t i = 0; i < n; i++) {                                       \
      size_t bit = (size_t)i * (W);                                          \
      uint64_t x;                                                            \
      memcpy(&x, in + (bit >> 3), 8);                                        \
      out[i] = (uint32_t)((x >> (bit & 7)) & mask);                          \
    }                                                                        \
  }
UNPACK_W(1) UNPACK_W(2) UNPACK_W(3) UNPACK_W(4) UNPACK_W(5) UNPACK_W(6) UNPACK_W(7) UNPACK_W(8)
UNPACK_W(9) UNPACK_W(10) UNPACK_W(11) UNPACK_W(12) UNPACK_W(13) UNPACK_W(14) UNPACK_W(15) UNPACK_W(16)
UNPACK_W(17) UNPACK_W(18) UNPACK_W(19) UNPACK_W(20) UNPACK_W(21) UNPACK_W(22) UNPACK_W(23) UNPACK_W(24)
UNPACK_W(25) UNPACK_W(26) UNPACK_W(27) UNPACK_W(28) UNPACK_W(29) UNPACK_W(30) UNPACK_W(31) UNPACK_W(32)
#undef UNPACK_W

typedef void (*unpack_fn)(const uint8_t *, uint32_t, uint32_t *);
static const unpack_fn unpackers[33] = {
    NULL,       unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,  unpack_6,  unpack_7,  unpack_8,
    unpack_9,  unpack_10, unpack_11, unpack_12, unpack_13, unpack_14, unpack_15, unpack_16, unpack_17,
    unpack_18, unpack_19, unpack_20, unpack_21, unpack_22, unpack_23, unpack_24, unpack_25, unpack_26,
    unpack_27, unpack_28, unpack_29, unpack_30, unpack_31, unpack_32};

int osq__bp_unpack(const uint8_t *in, size_t avail, uint32_t n, int w,
                   uint32_t *out) {
  if (w < 0 || w > 32) return -1;
  if (w == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return 0;
  }
  size_t need = osq__bp_bytes(n, w);
  if (need > avail) return -1;
  if (need + 8 <= avail) {
    unpackers[w](in, n, out);
    return 0;
  }
  const uint64_t mask = w == 32 ? 0xffffffffull : ((1ull << w) - 1);
  uint32_t i = 0;
  /* Fast part: whole 8-byte loads that stay inside the buffer. */
  for (; i < n; i++) {
    size_t bit = (size_t)i * (size_t)w;
    size_t byte = bit >> 3;
    if (byte + 8 > avail) break;
    uint64_t x;
    memcpy(&x, in + byte, 8);
    out[i] = (uint32_t)((x >> (bit & 7)) & mask);
  }
  for (; i < n; i++) {
    size_t bit = (size_t)i * (size_t)w;
    size_t byte = bit >> 3;
    uint64_t x = 0;
    size_t k = avail - byte < 8 ? avail - byte : 8;
    memcpy(&x, in + byte, k);
    out[i] = (uint32_t)((x >> (bit & 7)) & mask);
  }
  return 0;
}
