/*
 * fuzz_tokenizer.c -- libFuzzer harness for osq_tokenize on arbitrary bytes.
 *
 * Invariants checked on every token: a kind osq.h defines; a non-empty term
 * that is valid UTF-8 (after the OSQ_HEAD_MARK byte for a head token, which
 * is the only place that byte may appear); a byte range [start, end) inside
 * the input; positions that never decrease.  A broken invariant aborts, and
 * libFuzzer saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "osq/osq.h"

#define REQUIRE(cond, ...)                                          \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "fuzz_tokenizer: %s: ", #cond);               \
      fprintf(stderr, __VA_ARGS__);                                 \
      fprintf(stderr, "\n");                                        \
      abort();                                                      \
    }                                                               \
  } while (0)

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!k || k > n) return 0;
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

static int valid_utf8(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n;) {
    if (p[i] == OSQ_HEAD_MARK) return 0;
    size_t k = utf8_seq(p + i, n - i);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

static osq_tokenizer *tk;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!tk && osq_tokenizer_create(&tk) != OSQ_OK) abort();
  const osq_token *toks;
  size_t n, bad = 0;
  int rc = osq_tokenize(tk, (const char *)data, size, &toks, &n, &bad);
  if (rc == OSQ_E_NOMEM) return 0;
  REQUIRE(rc == OSQ_OK, "status %s", osq_err_name(rc));
  REQUIRE(bad <= size, "%zu bad bytes in %zu", bad, size);
  uint32_t last_pos = 0;
  for (size_t i = 0; i < n; i++) {
    const osq_token *t = &toks[i];
    REQUIRE(t->kind >= OSQ_TOKEN_GRAM && t->kind <= OSQ_TOKEN_HEAD, "token %zu kind %u", i, t->kind);
    REQUIRE(t->term && t->len > 0, "token %zu is empty", i);
    const uint8_t *term = (const uint8_t *)t->term;
    if (t->kind == OSQ_TOKEN_HEAD) {
      REQUIRE(term[0] == OSQ_HEAD_MARK && t->len > 1 && valid_utf8(term + 1, t->len - 1),
              "head token %zu is not the mark and a character", i);
    } else {
      REQUIRE(valid_utf8(term, t->len), "token %zu (%u bytes) is not valid UTF-8", i, t->len);
    }
    REQUIRE(t->start < t->end && t->end <= size, "token %zu covers [%u, %u) of %zu bytes", i, t->start, t->end,
            size);
    REQUIRE(i == 0 || t->pos >= last_pos, "token %zu at position %u after %u", i, t->pos, last_pos);
    last_pos = t->pos;
  }
  return 0;
}
