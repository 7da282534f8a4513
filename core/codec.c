/* codec.c -- bit packing and patched frames (see codec.h). */
#include <string.h>

#include "codec.h"
#include "internal.h"

int osq__codec_scalar;

int osq__bp_width(const uint32_t *v, uint32_t n) {
  uint32_t acc = 0;
  for (uint32_t i = 0; i < n; i++) acc |= v[i];
  return osq__bits(acc);
}

void osq__bp_pack(const uint32_t *v, uint32_t n, int w, uint8_t *out) {
  if (w == 0) return;
  uint64_t acc = 0; /* fill < 32 bits pending, so a value of w <= 32 fits */
  int fill = 0;
  size_t o = 0;
  for (uint32_t i = 0; i < n; i++) {
    acc |= (uint64_t)v[i] << fill;
    fill += w;
    if (fill >= 32) { /* four whole bytes: one store */
      osq__put_u32(out + o, (uint32_t)acc); /* little-endian, as everything here */
      o += 4;
      acc >>= 32;
      fill -= 32;
    }
  }
  for (; fill > 0; fill -= 8) {
    out[o++] = (uint8_t)acc;
    acc >>= 8;
  }
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

/* AVX2 unpacking, eight values at a time.  Eight values of width w take
 * exactly w bytes, so a group starts on a byte: its first four values are
 * gathered from one 16-byte load, its last four from a second load at the
 * byte where value 4 starts (a shuffle puts each value's four bytes in its
 * 32-bit lane, a per-lane shift and a mask finish it).  A value and its
 * shift fit 32 bits up to w = 25; wider widths, and the tail of a frame
 * whose loads would pass the end of the input, stay scalar.  The layout is
 * the scalar one: this only reads it faster, on CPUs that have AVX2. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <pthread.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <sys/platform/x86.h>
#endif
#define SIMD_MAX_W 24
typedef struct {
  uint8_t shuf[2][16];
  uint32_t shift[2][4];
  uint32_t off2; /* byte of value 4 */
} simd_w;
static simd_w simd_tab[SIMD_MAX_W + 1];
static int simd_ok;
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;

/* glibc's view of the CPU, read without a CPUID instruction (which, in a
 * virtual machine, traps to the hypervisor: tens of microseconds of every
 * one-shot `osq` went to libgcc's __builtin_cpu_init). */
static int have_avx2(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  return CPU_FEATURE_ACTIVE(AVX2);
#else
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#endif
}

static void simd_init(void) {
  if (!have_avx2()) return;
  for (int w = 1; w <= SIMD_MAX_W; w++) {
    simd_w *t = &simd_tab[w];
    t->off2 = (uint32_t)(4 * w) >> 3;
    for (int k = 0; k < 8; k++) {
      uint32_t bit = (uint32_t)(k * w) - (k < 4 ? 0 : 8 * t->off2);
      for (int j = 0; j < 4; j++) t->shuf[k / 4][(k % 4) * 4 + j] = (uint8_t)((bit >> 3) + (uint32_t)j);
      t->shift[k / 4][k % 4] = bit & 7;
    }
  }
  simd_ok = 1;
}

/* Unpacks whole groups of eight while both loads stay inside avail; returns
 * how many values it did. */
__attribute__((target("avx2"))) static uint32_t unpack_avx2(const uint8_t *in, size_t avail, uint32_t n, int w,
                                                          uint32_t *out) {
  const simd_w *t = &simd_tab[w];
  const __m128i mask = _mm_set1_epi32((int)((1u << w) - 1));
  const __m128i s0 = _mm_loadu_si128((const __m128i *)t->shuf[0]), s1 = _mm_loadu_si128((const __m128i *)t->shuf[1]);
  const __m128i h0 = _mm_loadu_si128((const __m128i *)t->shift[0]), h1 = _mm_loadu_si128((const __m128i *)t->shift[1]);
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    size_t base = (size_t)i / 8 * (size_t)w;
    if (base + t->off2 + 16 > avail) break;
    __m128i a = _mm_loadu_si128((const __m128i *)(in + base));
    __m128i b = _mm_loadu_si128((const __m128i *)(in + base + t->off2));
    a = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi8(a, s0), h0), mask);
    b = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi8(b, s1), h1), mask);
    _mm_storeu_si128((__m128i *)(out + i), a);
    _mm_storeu_si128((__m128i *)(out + i + 4), b);
  }
  return i;
}
#define HAVE_SIMD 1
#endif

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
  uint32_t i = 0;
#ifdef HAVE_SIMD
  if (w <= SIMD_MAX_W && !osq__codec_scalar) {
    pthread_once(&simd_once, simd_init);
    if (simd_ok) i = unpack_avx2(in, avail, n, w, out);
    if (i == n) return 0;
  }
#endif
  if (i == 0 && need + 8 <= avail) {
    unpackers[w](in, n, out);
    return 0;
  }
  const uint64_t mask = w == 32 ? 0xffffffffull : ((1ull << w) - 1);
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

/* osq__bits without a branch on zero (values are mostly small here, zero
 * half the time among tfs, and the branch mispredicted). */
static inline int bits_nb(uint32_t v) { return 32 - __builtin_clz(v | 1) - (v == 0); }

size_t osq__pfor_pack(const uint32_t *v, uint32_t n, uint8_t *out) {
  /* two histograms, even and odd values, halve the chain of increments
   * of one counter when most values have one width */
  uint8_t count[33] = {0}, count2[33] = {0}; /* n <= 128: a byte holds a count */
  uint32_t any = 0;
  uint32_t j = 0;
  for (; j + 1 < n; j += 2) {
    count[bits_nb(v[j])]++;
    count2[bits_nb(v[j + 1])]++;
    any |= v[j] | v[j + 1];
  }
  if (j < n) {
    count[bits_nb(v[j])]++;
    any |= v[j];
  }
  int maxw = osq__bits(any);
  for (int w = 0; w <= maxw; w++) count[w] = (uint8_t)(count[w] + count2[w]);
  /* bytes for each base width b: the frame, plus its exceptions */
  int best = maxw;
  size_t best_cost = 1 + osq__bp_bytes(n, maxw);
  uint32_t above = n - count[0]; /* values wider than b */
  for (int b = 0; b < maxw; b++) {
    if (b > 0) above -= count[b];
    size_t cost = 1 + osq__bp_bytes(n, b) + 2 + above + osq__bp_bytes(above, maxw - b);
    if (cost < best_cost) {
      best_cost = cost;
      best = b;
    }
  }
  size_t o = 0;
  if (best == maxw) {
    out[o++] = (uint8_t)best;
  } else {
    uint32_t idx[OSQ__BLOCK], high[OSQ__BLOCK], e = 0;
    for (uint32_t i = 0; i < n; i++) { /* best < maxw <= 32; no branch on data */
      uint32_t h = v[i] >> best;
      idx[e] = i;
      high[e] = h;
      e += h != 0;
    }
    out[o++] = (uint8_t)(best | 0x80);
    out[o++] = (uint8_t)e;
    out[o++] = (uint8_t)(maxw - best);
    for (uint32_t i = 0; i < e; i++) out[o++] = (uint8_t)idx[i];
    if (e == 0) __builtin_unreachable(); /* a value wider than best set maxw; tells gcc high[0] is set */
    osq__bp_pack(high, e, maxw - best, out + o);
    o += osq__bp_bytes(e, maxw - best);
  }
  if (best == maxw) {
    osq__bp_pack(v, n, best, out + o); /* no exceptions: nothing to mask */
    o += osq__bp_bytes(n, best);
  } else if (best > 0) {
    uint32_t low[OSQ__BLOCK];
    uint32_t mask = (1u << best) - 1;
    for (uint32_t i = 0; i < n; i++) low[i] = v[i] & mask;
    osq__bp_pack(low, n, best, out + o);
    o += osq__bp_bytes(n, best);
  }
  return o;
}

long osq__pfor_unpack(const uint8_t *in, size_t avail, uint32_t n, int maxw, uint32_t *out) {
  long size = osq__pfor_size(in, avail, n); /* the header checked, the frame inside avail */
  if (size < 0) return -1;
  int b = in[0] & 0x7f;
  uint32_t e = (in[0] & 0x80) ? in[1] : 0, h = e ? in[2] : 0;
  if (b + (int)h > maxw) return -1;
  const uint8_t *idx = in + 3, *hp = idx + e;
  size_t o = e ? 3 + e + osq__bp_bytes(e, (int)h) : 1;
  if (osq__bp_unpack(in + o, avail - o, n, b, out)) return -1;
  if (e) {
    uint32_t high[OSQ__BLOCK];
    if (osq__bp_unpack(hp, avail - (size_t)(hp - in), e, (int)h, high)) return -1;
    int last = -1;
    for (uint32_t i = 0; i < e; i++) {
      if ((int)idx[i] <= last || idx[i] >= n) return -1;
      last = idx[i];
      out[idx[i]] |= high[i] << b;
    }
  }
  return size;
}

long osq__pfor_size(const uint8_t *in, size_t avail, uint32_t n) {
  if (n > OSQ__BLOCK || avail < 1) return -1;
  int b = in[0] & 0x7f;
  if (b > 32 || (in[0] & 0x40)) return -1;
  size_t o = 1;
  if (in[0] & 0x80) {
    if (avail < 3) return -1;
    uint32_t e = in[1], h = in[2];
    if (e == 0 || e > n || h == 0 || (uint32_t)b + h > 32) return -1;
    o = 3 + e + osq__bp_bytes(e, (int)h);
  }
  o += osq__bp_bytes(n, b);
  return o <= avail ? (long)o : -1;
}

uint64_t osq__gaps_to_pids(uint32_t *v, uint32_t n, int64_t prev) {
  if (n == 0) return (uint64_t)prev;
  uint32_t any = 0;
  for (uint32_t i = 0; i < n; i++) any |= v[i];
  uint32_t i = 0;
  uint64_t acc = (uint64_t)(prev + 1);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  /* Gaps below 2^24: 128 of them, plus one each, sum below 2^31, so 32-bit
   * lanes cannot wrap; four lanes at a time (SSE2, every x86-64). */
  if ((any >> 24) == 0 && acc + (uint64_t)n * (1u << 24) < ((uint64_t)1 << 32)) {
    const __m128i one = _mm_set1_epi32(1);
    __m128i carry = _mm_set1_epi32((int)(uint32_t)(prev));
    for (; i + 4 <= n; i += 4) {
      __m128i x = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(v + i)), one);
      x = _mm_add_epi32(x, _mm_slli_si128(x, 4));
      x = _mm_add_epi32(x, _mm_slli_si128(x, 8));
      x = _mm_add_epi32(x, carry);
      _mm_storeu_si128((__m128i *)(v + i), x);
      carry = _mm_shuffle_epi32(x, 0xFF);
    }
    if (i > 0) acc = (uint64_t)v[i - 1] + 1;
  }
#endif
  (void)any;
  for (; i < n; i++) {
    acc += v[i];
    v[i] = (uint32_t)acc;
    acc++;
  }
  return acc - 1;
}
