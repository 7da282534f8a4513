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

int osq__bp_unpack(const uint8_t *in, size_t avail, uint32_t n, int w,
                   uint32_t *out) {
  if (w < 0 || w > 32) return -1;
  if (w == 0) {
    memset(out, 0, (size_t)n * sizeof *out);
    return 0;
  }
  size_t need = osq__bp_bytes(n, w);
  if (need > avail) return -1;
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
