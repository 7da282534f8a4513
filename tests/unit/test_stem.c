/*
 * test_stem.c -- the dictionary stemmer (core/stem.c) and the stem tokens
 * the indexer's tokenizer gives: a word ending in a particle or an ending has
 * the stem of its bare form, compounds stay whole, query stop words are
 * flagged, and stem tokens sit at their word's first position without
 * changing the positions of the other tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "stem.h"

/* The stem of a UTF-8 word of Hangul syllables, as UTF-8, into out. */
static void stem_of(const char *word, char *out, int *flags) {
  uint16_t syl[OSQ__STEM_MAX_SYL];
  size_t n = 0;
  const uint8_t *p = (const uint8_t *)word;
  while (*p) {
    int32_t c = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    syl[n++] = (uint16_t)(c - 0xAC00);
    p += 3;
  }
  size_t k = osq__stem(syl, n, flags);
  memcpy(out, word, 3 * k);
  out[3 * k] = 0;
}

static void expect_stem(const char *word, const char *stem) {
  char got[256];
  int flags;
  stem_of(word, got, &flags);
  if (strcmp(got, stem)) fail_msg("stem of %s: got %s, want %s", word, got, stem);
}

static void test_lexicon_present(void **state) {
  (void)state;
  /* a lexicon that failed its checks would disable stemming */
  assert_true(osq__lexicon_id() != 0);
}

static void test_particles_and_endings(void **state) {
  (void)state;
  expect_stem("화웨이가", "화웨이");
  expect_stem("화웨이는", "화웨이");
  expect_stem("화웨이", "화웨이");
  expect_stem("오픈스택을", "오픈스택");
  expect_stem("오픈스택", "오픈스택");
  expect_stem("학교에서는", "학교");
  expect_stem("대법원은", "대법원");
}

static void test_compounds_stay_whole(void **state) {
  (void)state;
  /* no decompounding: the longest entry, or the word less its tail */
  expect_stem("클라우드스택을", "클라우드스택");
  expect_stem("손해배상청구를", "손해배상청구");
}

static void test_query_stop_flag(void **state) {
  (void)state;
  char got[64];
  int flags = 0;
  stem_of("누구를", got, &flags); /* a question word */
  assert_true(flags & OSQ__STEM_QSTOP);
  stem_of("화웨이가", got, &flags);
  assert_false(flags & OSQ__STEM_QSTOP);
}

static void test_short_and_long(void **state) {
  (void)state;
  int flags;
  uint16_t syl[OSQ__STEM_MAX_SYL + 1] = {0};
  assert_int_equal(osq__stem(syl, 0, &flags), 0);
  assert_int_equal(osq__stem(syl, 1, &flags), 1);
  assert_int_equal(osq__stem(syl, OSQ__STEM_MAX_SYL + 1, &flags), OSQ__STEM_MAX_SYL + 1);
  for (size_t i = 0; i <= OSQ__STEM_MAX_SYL; i++) syl[i] = (uint16_t)(11171 - i);
  size_t k = osq__stem(syl, OSQ__STEM_MAX_SYL, &flags);
  assert_true(k >= 1 && k <= OSQ__STEM_MAX_SYL);
}

/* The indexer's tokenizer: one stem token per Korean word, at its first
 * position; the other tokens as without stems. */
static void test_stem_tokens(void **state) {
  (void)state;
  osq_tokenizer *a, *b;
  assert_int_equal(osq_tokenizer_create(&a), OSQ_OK);
  assert_int_equal(osq_tokenizer_create(&b), OSQ_OK);
  osq__tokenizer_stems(b, 1);
  const char *text = "화웨이가 5G 장비를, 오픈스택을 썼다";
  const osq_token *ta, *tb;
  size_t na, nb;
  assert_int_equal(osq_tokenize(a, text, strlen(text), &ta, &na, NULL), OSQ_OK);
  assert_int_equal(osq_tokenize(b, text, strlen(text), &tb, &nb, NULL), OSQ_OK);
  const char *want[] = {"화웨이", "장비", "오픈스택", "썼"};
  uint32_t want_pos[] = {0, 5, 8, 13}; /* 5g is one position */
  size_t ns = 0, j = 0;
  for (size_t i = 0; i < nb; i++) {
    if (tb[i].kind == OSQ_TOKEN_STEM) {
      assert_true(ns < 4);
      assert_int_equal((uint8_t)tb[i].term[0], OSQ_STEM_MARK);
      if (tb[i].len - 1 != strlen(want[ns]) || memcmp(tb[i].term + 1, want[ns], tb[i].len - 1))
        fail_msg("stem %zu: %.*s, want %s", ns, (int)tb[i].len - 1, tb[i].term + 1, want[ns]);
      assert_int_equal(tb[i].pos, want_pos[ns]);
      assert_memory_equal(text + tb[i].start, want[ns], strlen(want[ns]));
      ns++;
      continue;
    }
    assert_true(j < na);
    assert_int_equal(tb[i].pos, ta[j].pos);
    assert_int_equal(tb[i].len, ta[j].len);
    assert_memory_equal(tb[i].term, ta[j].term, ta[j].len);
    j++;
  }
  assert_int_equal(ns, 4);
  assert_int_equal(j, na);
  /* the last token is never a stem: a passage's length is its last position + 1 */
  assert_int_not_equal(tb[nb - 1].kind, OSQ_TOKEN_STEM);
  osq_tokenizer_close(a);
  osq_tokenizer_close(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lexicon_present),
      cmocka_unit_test(test_particles_and_endings),
      cmocka_unit_test(test_compounds_stay_whole),
      cmocka_unit_test(test_query_stop_flag),
      cmocka_unit_test(test_short_and_long),
      cmocka_unit_test(test_stem_tokens),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
