/*
 * test_codec.c -- bit packing of posting blocks (core/codec.h): every width
 * 0..32 round-trips over random and edge lists, and so do patched frames
 * with outliers; the decoder refuses input
 * that is too short and never reads past what it is given (the packed bytes
 * live in a malloc'd buffer of exactly their size, so ASan catches an
 * overread; without ASan, a guard check catches a wrong result).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"
#include "internal.h"

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint32_t rnd32(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 23) ^ (uint32_t)rng_state;
}

static uint32_t max_for(int w) { return w == 32 ? UINT32_MAX : w == 0 ? 0 : (1u << w) - 1; }

/* Packs v[0..n) at width w into a buffer of exactly osq__bp_bytes(n, w)
 * bytes, checks that nothing beyond was written, unpacks and compares. */
static void roundtrip(const uint32_t *v, uint32_t n, int w) {
  size_t bytes = osq__bp_bytes(n, w);
  /* the packer writes into a larger buffer so that a write past the end is
   * visible as a changed guard byte */
  uint8_t *wide = malloc(bytes + 16);
  assert_non_null(wide);
  memset(wide, 0xA5, bytes + 16);
  osq__bp_pack(v, n, w, wide);
  for (size_t i = bytes; i < bytes + 16; i++) assert_int_equal(wide[i], 0xA5);

  /* exactly-sized copy for the decoder (malloc(0) may return NULL) */
  uint8_t *exact = malloc(bytes ? bytes : 1);
  assert_non_null(exact);
  if (bytes) memcpy(exact, wide, bytes);
  uint32_t *out = malloc((n + 1) * sizeof *out);
  assert_non_null(out);
  for (uint32_t i = 0; i <= n; i++) out[i] = 0xDEADBEEF;
  assert_int_equal(osq__bp_unpack(exact, bytes, n, w, out), 0);
  for (uint32_t i = 0; i < n; i++) {
    if (out[i] != v[i]) fail_msg("w=%d n=%u: value %u unpacked as %u, packed %u", w, n, i, out[i], v[i]);
  }
  assert_int_equal(out[n], 0xDEADBEEF); /* no write past n values */

  /* one byte short is refused (for any non-empty payload) */
  if (bytes > 0) {
    uint32_t *o2 = malloc((n ? n : 1) * sizeof *o2);
    assert_non_null(o2);
    assert_int_equal(osq__bp_unpack(exact, bytes - 1, n, w, o2), -1);
    assert_int_equal(osq__bp_unpack(exact, 0, n, w, o2), -1);
    free(o2);
  }
  free(out);
  free(exact);
  free(wide);
}

static const uint32_t sizes[] = {1, 2, 3, 7, 8, 9, 31, 63, 64, 65, 127, 128};

static void test_width_of(void **state) {
  (void)state;
  assert_int_equal(osq__bits(0), 0);
  assert_int_equal(osq__bits(1), 1);
  assert_int_equal(osq__bits(255), 8);
  assert_int_equal(osq__bits(256), 9);
  assert_int_equal(osq__bits(UINT32_MAX), 32);
  uint32_t v[4] = {0, 5, 0, 1};
  assert_int_equal(osq__bp_width(v, 4), 3);
  v[2] = 0x80000000u;
  assert_int_equal(osq__bp_width(v, 4), 32);
  assert_int_equal(osq__bp_width(v, 0), 0);
  assert_int_equal(osq__bp_bytes(128, 32), 512);
  assert_int_equal(osq__bp_bytes(127, 3), 48);
  assert_int_equal(osq__bp_bytes(1, 1), 1);
  assert_int_equal(osq__bp_bytes(0, 17), 0);
}

static void test_all_zeros(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK] = {0};
  for (int w = 0; w <= 32; w++)
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) roundtrip(v, sizes[s], w);
}

static void test_all_max(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK];
  for (int w = 0; w <= 32; w++) {
    for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = max_for(w);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) roundtrip(v, sizes[s], w);
  }
}

static void test_random(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK];
  for (int w = 0; w <= 32; w++) {
    for (int rep = 0; rep < 20; rep++) {
      for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = rnd32() & max_for(w);
      /* make sure the top bit of the width is used somewhere */
      if (w) v[rnd32() % OSQ__BLOCK] |= 1u << (w - 1);
      for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) roundtrip(v, sizes[s], w);
      uint32_t n = 1 + rnd32() % OSQ__BLOCK;
      roundtrip(v, n, w);
    }
  }
}

static void test_alternating_and_single_bits(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK];
  for (int w = 1; w <= 32; w++) {
    for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = i % 2 ? max_for(w) : 0;
    roundtrip(v, 127, w);
    roundtrip(v, 128, w);
    for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = 1u << (i % (uint32_t)w);
    roundtrip(v, 127, w);
    roundtrip(v, 128, w);
  }
}

/* The width the writer would pick for a list packs it without loss. */
static void test_width_from_data(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK];
  for (int rep = 0; rep < 200; rep++) {
    int bits = (int)(rnd32() % 33);
    uint32_t n = 1 + rnd32() % OSQ__BLOCK;
    for (uint32_t i = 0; i < n; i++) v[i] = rnd32() & max_for(bits);
    int w = osq__bp_width(v, n);
    assert_true(w <= bits);
    roundtrip(v, n, w);
  }
}

static void test_unpack_refuses_bad_width(void **state) {
  (void)state;
  uint8_t in[160] = {0};
  uint32_t out[OSQ__BLOCK];
  assert_int_equal(osq__bp_unpack(in, sizeof in, 4, 33, out), -1);
  assert_int_equal(osq__bp_unpack(in, sizeof in, 4, -1, out), -1);
  assert_int_equal(osq__bp_unpack(in, sizeof in, 4, 255, out), -1);
}

static void test_unpack_short_input(void **state) {
  (void)state;
  /* For every width and a few sizes: any avail below the packed size is
   * refused, from an exactly-sized malloc'd buffer of avail bytes. */
  uint32_t out[OSQ__BLOCK];
  for (int w = 1; w <= 32; w++) {
    static const uint32_t ns[] = {1, 127, 128};
    for (size_t s = 0; s < 3; s++) {
      size_t need = osq__bp_bytes(ns[s], w);
      for (size_t avail = 0; avail < need; avail += (need > 40 ? 7 : 1)) {
        uint8_t *in = malloc(avail ? avail : 1);
        assert_non_null(in);
        memset(in, 0xFF, avail ? avail : 1);
        assert_int_equal(osq__bp_unpack(in, avail, ns[s], w, out), -1);
        free(in);
      }
    }
  }
  /* width 0 needs no bytes at all: it succeeds with zeros */
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) out[i] = 7;
  assert_int_equal(osq__bp_unpack(NULL, 0, OSQ__BLOCK, 0, out), 0);
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) assert_int_equal(out[i], 0);
}

static void test_unpack_from_larger_buffer(void **state) {
  (void)state;
  /* Blocks sit back to back in a posting list: decoding one with avail
   * reaching far beyond it must give the same values. */
  uint32_t v[OSQ__BLOCK], out[OSQ__BLOCK];
  for (int w = 1; w <= 32; w++) {
    for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = rnd32() & max_for(w);
    size_t bytes = osq__bp_bytes(127, w);
    uint8_t *buf = malloc(bytes + 64);
    assert_non_null(buf);
    memset(buf, 0xFF, bytes + 64);
    osq__bp_pack(v, 127, w, buf);
    assert_int_equal(osq__bp_unpack(buf, bytes + 64, 127, w, out), 0);
    for (uint32_t i = 0; i < 127; i++) assert_int_equal(out[i], v[i]);
    free(buf);
  }
}


/* ---- patched frames --------------------------------------------------- */

/* Encodes v[0..n) as a patched frame, decodes it from a buffer of exactly
 * its size, compares; returns the frame's bytes. */
static size_t pfor_roundtrip(const uint32_t *v, uint32_t n) {
  uint8_t *wide = malloc(OSQ__PFOR_MAX_BYTES + 16);
  assert_non_null(wide);
  memset(wide, 0xA5, OSQ__PFOR_MAX_BYTES + 16);
  size_t bytes = osq__pfor_pack(v, n, wide);
  assert_true(bytes >= 1 && bytes <= OSQ__PFOR_MAX_BYTES);
  for (size_t i = bytes; i < OSQ__PFOR_MAX_BYTES + 16; i++) assert_int_equal(wide[i], 0xA5);
  uint8_t *exact = malloc(bytes);
  assert_non_null(exact);
  memcpy(exact, wide, bytes);
  uint32_t out[OSQ__BLOCK];
  assert_int_equal(osq__pfor_unpack(exact, bytes, n, 32, out), (long)bytes);
  assert_memory_equal(out, v, (size_t)n * sizeof *v);
  /* the size from the header alone agrees, and needs every byte */
  assert_int_equal(osq__pfor_size(exact, bytes, n), (long)bytes);
  assert_int_equal(osq__pfor_size(exact, bytes - 1, n), -1);
  /* one byte short is refused, never overread */
  if (bytes > 1 && n > 0) {
    uint32_t o2[OSQ__BLOCK];
    long k = osq__pfor_unpack(exact, bytes - 1, n, 32, o2);
    /* a frame whose last value has no bits left can still fit: only
     * frames that need their last byte must fail */
    if (k >= 0) assert_memory_equal(o2, v, (size_t)n * sizeof *v);
  }
  free(exact);
  free(wide);
  return bytes;
}

static void test_pfor_roundtrip(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK];
  for (int round = 0; round < 3000; round++) {
    uint32_t n = 1 + rnd32() % OSQ__BLOCK;
    int base = (int)(rnd32() % 20);
    uint32_t outliers = rnd32() % 6;
    for (uint32_t i = 0; i < n; i++) v[i] = rnd32() & max_for(base);
    for (uint32_t k = 0; k < outliers; k++) v[rnd32() % n] = rnd32() >> (rnd32() % 32);
    pfor_roundtrip(v, n);
  }
  memset(v, 0, sizeof v);
  assert_int_equal(pfor_roundtrip(v, OSQ__BLOCK), 1); /* all zero: the header alone */
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = UINT32_MAX;
  pfor_roundtrip(v, OSQ__BLOCK);
  pfor_roundtrip(v, 1);
}

static void test_pfor_beats_plain_frames_on_outliers(void **state) {
  (void)state;
  /* 127 small gaps and one huge: plain frames pay 20 bits for every value */
  uint32_t v[OSQ__BLOCK];
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = i % 4;
  v[77] = 1u << 19;
  size_t plain = 1 + osq__bp_bytes(OSQ__BLOCK, 20);
  size_t patched = pfor_roundtrip(v, OSQ__BLOCK);
  assert_true(patched * 4 < plain);
  /* without outliers the frame is plain: one header byte over bit packing */
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = 5 + i % 3;
  assert_int_equal(pfor_roundtrip(v, OSQ__BLOCK), 1 + osq__bp_bytes(OSQ__BLOCK, 3));
}

static void test_pfor_refuses_bad_frames(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK], out[OSQ__BLOCK];
  for (uint32_t i = 0; i < OSQ__BLOCK; i++) v[i] = i % 4;
  v[10] = 1000;
  v[90] = 70000;
  uint8_t f[OSQ__PFOR_MAX_BYTES];
  size_t n = osq__pfor_pack(v, OSQ__BLOCK, f);
  assert_true(f[0] & 0x80); /* it has exceptions */
  assert_int_equal(osq__pfor_unpack(f, n, OSQ__BLOCK, 32, out), (long)n);
  /* wider than the caller allows (a tf beyond the term's max) */
  assert_int_equal(osq__pfor_unpack(f, n, OSQ__BLOCK, 16, out), -1);
  uint8_t g[OSQ__PFOR_MAX_BYTES];
  memcpy(g, f, n);
  g[3] = 90, g[4] = 10; /* indexes out of order */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  memcpy(g, f, n);
  g[4] = 200; /* index past n */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  memcpy(g, f, n);
  g[1] = 0; /* exceptions flagged, none counted */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  memcpy(g, f, n);
  g[1] = 129; /* more exceptions than values */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  memcpy(g, f, n);
  g[2] = 33; /* high parts wider than 32 bits in all */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  g[0] = 33; /* base width past 32 */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  g[0] = 0x40; /* a reserved bit */
  assert_int_equal(osq__pfor_unpack(g, n, OSQ__BLOCK, 32, out), -1);
  /* every truncation is refused */
  for (size_t k = 0; k < n; k++) assert_int_equal(osq__pfor_unpack(f, k, OSQ__BLOCK, 32, out), -1);
  assert_int_equal(osq__pfor_unpack(f, n, OSQ__BLOCK + 1, 32, out), -1);
}


/* The AVX2 unpacking (where the CPU has it) and the scalar one agree on
 * every width and length, with room past the data (the vector loads) and
 * without (they must stop short). */
static void test_simd_matches_scalar(void **state) {
  (void)state;
  uint32_t v[OSQ__BLOCK], a[OSQ__BLOCK], b[OSQ__BLOCK];
  uint8_t buf[OSQ__BLOCK * 4 + 64];
  for (int w = 0; w <= 32; w++)
    for (int round = 0; round < 40; round++) {
      uint32_t n = round < 2 ? OSQ__BLOCK : 1 + rnd32() % OSQ__BLOCK;
      for (uint32_t i = 0; i < n; i++) v[i] = rnd32() & max_for(w);
      memset(buf, 0xFF, sizeof buf);
      osq__bp_pack(v, n, w, buf);
      size_t bytes = osq__bp_bytes(n, w);
      size_t avail = round % 2 ? bytes : sizeof buf;
      /* garbage past the data must not leak into the values */
      for (size_t i = bytes; i < sizeof buf; i++) buf[i] = (uint8_t)rnd32();
      osq__codec_scalar = 1;
      assert_int_equal(osq__bp_unpack(buf, avail, n, w, a), 0);
      osq__codec_scalar = 0;
      assert_int_equal(osq__bp_unpack(buf, avail, n, w, b), 0);
      assert_memory_equal(a, v, n * sizeof *v);
      assert_memory_equal(b, v, n * sizeof *v);
    }
}


/* Gaps to pids (four lanes at a time for small gaps) against the plain
 * 64-bit sum, with small and large gaps and starts. */
static void test_gaps_to_pids(void **state) {
  (void)state;
  uint32_t g[OSQ__BLOCK], v[OSQ__BLOCK];
  for (int round = 0; round < 4000; round++) {
    uint32_t n = 1 + rnd32() % OSQ__BLOCK;
    int w = (int)(rnd32() % 33);
    int64_t prev = round % 4 == 0 ? -1 : round % 4 == 1 ? (int64_t)(rnd32() % 1000)
                 : round % 4 == 2 ? (int64_t)(rnd32() >> 1) : (int64_t)UINT32_MAX - (int64_t)(rnd32() % 70000);
    for (uint32_t i = 0; i < n; i++) g[i] = rnd32() & max_for(w);
    memcpy(v, g, sizeof g);
    uint64_t last = osq__gaps_to_pids(v, n, prev);
    uint64_t acc = (uint64_t)(prev + 1);
    for (uint32_t i = 0; i < n; i++) {
      acc += g[i];
      if (acc - 1 < ((uint64_t)1 << 32) || i + 1 == n) {
        /* every pid below 2^32 is exact; beyond, only the 64-bit last counts */
        if (acc < ((uint64_t)1 << 32)) assert_int_equal(v[i], (uint32_t)acc);
      }
      acc++;
    }
    assert_true(last == acc - 1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_width_of),
      cmocka_unit_test(test_all_zeros),
      cmocka_unit_test(test_all_max),
      cmocka_unit_test(test_random),
      cmocka_unit_test(test_alternating_and_single_bits),
      cmocka_unit_test(test_width_from_data),
      cmocka_unit_test(test_unpack_refuses_bad_width),
      cmocka_unit_test(test_unpack_short_input),
      cmocka_unit_test(test_unpack_from_larger_buffer),
      cmocka_unit_test(test_simd_matches_scalar),
      cmocka_unit_test(test_gaps_to_pids),
      cmocka_unit_test(test_pfor_roundtrip),
      cmocka_unit_test(test_pfor_beats_plain_frames_on_outliers),
      cmocka_unit_test(test_pfor_refuses_bad_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
