/*
 * test_tokenizer.c -- osq_tokenize(): Korean bigrams and unigrams with their
 * positions and byte offsets, spacing variants, NFD and full-width input,
 * mixed scripts, case folding and invalid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "osq/osq.h"

typedef struct {
  const char *term;
  uint32_t pos, start, end;
  int kind;
} want_tok;

#define G OSQ_TOKEN_GRAM
#define U OSQ_TOKEN_UNI
#define W OSQ_TOKEN_WORD
/* "Head" tokens (the first character of a run that follows a word, marked
 * with OSQ_HEAD_MARK) are checked by test_head_tokens; the other tests look
 * at the grams, unigrams and words only. */
#ifdef OSQ_HEAD_MARK
#define H OSQ_TOKEN_HEAD
#else
#define H 4
#endif

static osq_token *filtered; /* see tokenize() */

static int setup(void **state) {
  osq_tokenizer *tk = NULL;
  if (osq_tokenizer_create(&tk) != OSQ_OK) return -1;
  *state = tk;
  return 0;
}

static int teardown(void **state) {
  osq_tokenizer_close(*state);
  free(filtered);
  filtered = NULL;
  return 0;
}

static const char *kind_name(int k) {
  return k == G ? "GRAM" : k == U ? "UNI" : k == W ? "WORD" : k == H ? "HEAD" : "?";
}

/* Renders tokens as "term@pos[start,end)KIND term@pos..." so that a failure
 * prints the whole sequence. */
static char *render(const osq_token *t, size_t n, int with_offsets) {
  size_t cap = 64 + n * 96, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  s[0] = 0;
  for (size_t i = 0; i < n; i++) {
    const char *term = t[i].term;
    int len = (int)t[i].len, mark = len > 0 && term[0] == 0x01;
    if (mark) term++, len--; /* the head mark, shown as ^ */
    if (with_offsets)
      o += (size_t)snprintf(s + o, cap - o, "%s%s%.*s@%u[%u,%u)%s", i ? " " : "", mark ? "^" : "",
                            len, term, t[i].pos, t[i].start, t[i].end, kind_name(t[i].kind));
    else
      o += (size_t)snprintf(s + o, cap - o, "%s%s%.*s@%u%s", i ? " " : "", mark ? "^" : "", len,
                            term, t[i].pos, kind_name(t[i].kind));
  }
  return s;
}

/* Copies the tokens but for head tokens into a malloc'd array. */
static osq_token *without_heads(const osq_token *t, size_t n, size_t *m) {
  osq_token *o = malloc((n ? n : 1) * sizeof *o);
  assert_non_null(o);
  *m = 0;
  for (size_t i = 0; i < n; i++)
    if (t[i].kind != H) o[(*m)++] = t[i];
  return o;
}

static char *render_want(const want_tok *w, size_t n, int with_offsets) {
  size_t cap = 64 + n * 96, o = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  s[0] = 0;
  for (size_t i = 0; i < n; i++) {
    if (with_offsets)
      o += (size_t)snprintf(s + o, cap - o, "%s%s@%u[%u,%u)%s", i ? " " : "", w[i].term, w[i].pos,
                            w[i].start, w[i].end, kind_name(w[i].kind));
    else
      o += (size_t)snprintf(s + o, cap - o, "%s%s@%u%s", i ? " " : "", w[i].term, w[i].pos,
                            kind_name(w[i].kind));
  }
  return s;
}

/* Tokenizes text; *toks are the tokens but for head tokens (valid until
 * the next call). */
static void tokenize(osq_tokenizer *tk, const char *text, size_t len, const osq_token **toks,
                     size_t *n, size_t *bad) {
  const osq_token *all = NULL;
  size_t nall = (size_t)-1;
  assert_int_equal(osq_tokenize(tk, text, len, &all, &nall, bad), OSQ_OK);
  assert_true(nall != (size_t)-1);
  free(filtered);
  filtered = without_heads(all, nall, n);
  *toks = filtered;
}

/* Tokenizes text and compares every field of every token with want. */
static void expect_tokens(osq_tokenizer *tk, const char *text, size_t len, const want_tok *want,
                          size_t nwant) {
  const osq_token *t;
  size_t n, bad = 99;
  tokenize(tk, text, len, &t, &n, &bad);
  assert_int_equal(bad, 0);
  char *got = render(t, n, 1), *exp = render_want(want, nwant, 1);
  if (strcmp(got, exp) != 0) {
    /* normalization differences are invisible when printed: show bytes */
    for (size_t i = 0; i < n; i++) {
      print_error("token %zu bytes:", i);
      for (uint32_t k = 0; k < t[i].len; k++) print_error(" %02x", (uint8_t)t[i].term[k]);
      print_error("\n");
    }
    for (size_t i = 0; i < nwant; i++) {
      print_error("want %zu bytes:", i);
      for (const char *p = want[i].term; *p; p++) print_error(" %02x", (uint8_t)*p);
      print_error("\n");
    }
  }
  int same = strcmp(got, exp) == 0;
  if (!same) print_error("got  %s\nwant %s\n", got, exp);
  free(got);
  free(exp);
  if (!same) fail();
  /* render() covers everything but these; check them one by one anyway. */
  assert_int_equal(n, nwant);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(t[i].len, strlen(want[i].term));
    assert_memory_equal(t[i].term, want[i].term, t[i].len);
    assert_int_equal(t[i].pos, want[i].pos);
    assert_int_equal(t[i].start, want[i].start);
    assert_int_equal(t[i].end, want[i].end);
    assert_int_equal(t[i].kind, want[i].kind);
  }
}

#define EXPECT(tk, text, ...)                                                        \
  do {                                                                               \
    static const want_tok w_[] = {__VA_ARGS__};                                      \
    expect_tokens((tk), (text), strlen(text), w_, sizeof w_ / sizeof w_[0]);         \
  } while (0)

/* ---- Hangul runs ---------------------------------------------------------- */

static void test_bigrams_positions_offsets(void **state) {
  /* Each syllable is 3 bytes. */
  EXPECT(*state, "화웨이가",
         {"화웨", 0, 0, 6, G}, {"웨이", 1, 3, 9, G}, {"이가", 2, 6, 12, G}, {"가", 3, 9, 12, U});
}

static void test_one_syllable(void **state) {
  EXPECT(*state, "국", {"국", 0, 0, 3, U});
  /* surrounded by spaces: still one unigram, offsets point at the syllable */
  EXPECT(*state, "  국 ", {"국", 0, 2, 5, U});
}

static void test_two_words_one_run(void **state) {
  /* A run continues across a plain space: the gram bridging it spans the
   * space, and positions go on as if it were not there. */
  EXPECT(*state, "오픈 스택",
         {"오픈", 0, 0, 6, G}, {"픈스", 1, 3, 10, G}, {"스택", 2, 7, 13, G}, {"택", 3, 10, 13, U});
}

static void test_spacing_variants_identical(void **state) {
  osq_tokenizer *tk = *state;
  const char *variants[] = {"오픈 스택", "오픈스택", "오픈  스택", "오픈\t스택", "오 픈 스 택"};
  char *ref = NULL;
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    const osq_token *t;
    size_t n;
    tokenize(tk, variants[v], strlen(variants[v]), &t, &n, NULL);
    char *s = render(t, n, 0);
    if (!ref) {
      ref = s;
      assert_string_equal(ref, "오픈@0GRAM 픈스@1GRAM 스택@2GRAM 택@3UNI");
    } else {
      assert_string_equal(s, ref);
      free(s);
    }
  }
  free(ref);
}

static void test_punctuation_and_newline_break_runs(void **state) {
  /* Unlike a space, punctuation and line breaks end a run: no gram bridges
   * them, and each side ends with its own unigram. */
  EXPECT(*state, "오픈,스택",
         {"오픈", 0, 0, 6, G}, {"픈", 1, 3, 6, U}, {"스택", 2, 7, 13, G}, {"택", 3, 10, 13, U});
  EXPECT(*state, "오픈\n스택",
         {"오픈", 0, 0, 6, G}, {"픈", 1, 3, 6, U}, {"스택", 2, 7, 13, G}, {"택", 3, 10, 13, U});
}

/* ---- normalization ---------------------------------------------------------- */

static void append_cp(char *out, size_t *o, uint32_t c) {
  /* UTF-8 encoder for the test inputs (BMP only is enough here). */
  if (c < 0x80) {
    out[(*o)++] = (char)c;
  } else if (c < 0x800) {
    out[(*o)++] = (char)(0xC0 | (c >> 6));
    out[(*o)++] = (char)(0x80 | (c & 0x3F));
  } else {
    out[(*o)++] = (char)(0xE0 | (c >> 12));
    out[(*o)++] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[(*o)++] = (char)(0x80 | (c & 0x3F));
  }
  out[*o] = 0;
}

static size_t build(char *out, const uint32_t *cps, size_t n) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < n; i++) append_cp(out, &o, cps[i]);
  return o;
}

static void test_nfd_hangul_equals_nfc(void **state) {
  osq_tokenizer *tk = *state;
  /* "화웨이" in NFD: 화 = U+1112 U+116A, 웨 = U+110B U+1170, 이 = U+110B U+1175
   * (six conjoining jamo of 3 bytes each: syllables at bytes 0, 6, 12). */
  static const uint32_t nfd[] = {0x1112, 0x116A, 0x110B, 0x1170, 0x110B, 0x1175};
  char buf[64];
  size_t len = build(buf, nfd, 6);
  assert_int_equal(len, 18);

  const osq_token *t;
  size_t n;
  tokenize(tk, "화웨이", strlen("화웨이"), &t, &n, NULL);
  char *nfc_terms = render(t, n, 0);
  assert_string_equal(nfc_terms, "화웨@0GRAM 웨이@1GRAM 이@2UNI");

  tokenize(tk, buf, len, &t, &n, NULL);
  char *nfd_terms = render(t, n, 0);
  assert_string_equal(nfd_terms, nfc_terms);
  free(nfd_terms);
  free(nfc_terms);
  /* the offsets point into the NFD bytes */
  expect_tokens(tk, buf, len,
                (const want_tok[]){{"화웨", 0, 0, 12, G}, {"웨이", 1, 6, 18, G}, {"이", 2, 12, 18, U}},
                3);
}

static void test_nfd_hangul_with_final_consonants(void **state) {
  osq_tokenizer *tk = *state;
  /* "한국" in NFD: U+1112 U+1161 U+11AB, U+1100 U+116E U+11A8 (9 bytes each) */
  static const uint32_t nfd[] = {0x1112, 0x1161, 0x11AB, 0x1100, 0x116E, 0x11A8};
  char buf[64];
  size_t len = build(buf, nfd, 6);
  expect_tokens(tk, buf, len, (const want_tok[]){{"한국", 0, 0, 18, G}, {"국", 1, 9, 18, U}}, 2);
  /* a precomposed syllable followed by a conjoining final: 하 + ㄴ = 한 */
  static const uint32_t mixed[] = {0xD558, 0x11AB, 0xAD6D};
  len = build(buf, mixed, 3);
  expect_tokens(tk, buf, len, (const want_tok[]){{"한국", 0, 0, 9, G}, {"국", 1, 6, 9, U}}, 2);
}

static void test_nfd_latin_equals_nfc(void **state) {
  osq_tokenizer *tk = *state;
  /* "café" typed on macOS arrives as "cafe" + U+0301 COMBINING ACUTE ACCENT.
   * NFKC composes it, so it must give the same word as precomposed "café"
   * (U+00E9), the offsets covering all 6 input bytes. */
  static const uint32_t nfd[] = {'c', 'a', 'f', 'e', 0x0301};
  char buf[32];
  size_t len = build(buf, nfd, 5);
  assert_int_equal(len, 6);
  expect_tokens(tk, "caf\xc3\xa9", 5, (const want_tok[]){{"caf\xc3\xa9", 0, 0, 5, W}}, 1);
  expect_tokens(tk, buf, len, (const want_tok[]){{"caf\xc3\xa9", 0, 0, 6, W}}, 1);
}

/* Invisible characters inside a word (zero-width space, soft hyphen, word
 * joiner, a byte-order mark) do not split it. */
static void test_ignorable_characters(void **state) {
  osq_tokenizer *tk = *state;
  const char *variants[] = {"오픈스택", "오픈\u200b스택", "오픈\u00ad스택", "오\u2060픈스\u200d택", "\ufeff오픈스택"};
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    const osq_token *t;
    size_t n;
    tokenize(tk, variants[v], strlen(variants[v]), &t, &n, NULL);
    char *s = render(t, n, 0);
    assert_string_equal(s, "오픈@0GRAM 픈스@1GRAM 스택@2GRAM 택@3UNI");
    free(s);
  }
  /* the match covers the invisible character's bytes */
  EXPECT(tk, "open\u00adstack", {"openstack", 0, 0, 11, W});
}

static void test_fullwidth_latin(void **state) {
  /* U+FF2F U+FF50 ... : 9 characters of 3 bytes */
  EXPECT(*state, "ＯｐｅｎＳｔａｃｋ", {"openstack", 0, 0, 27, W});
  EXPECT(*state, "２０１２년", {"2012", 0, 0, 12, W}, {"년", 1, 12, 15, U});
}

static void test_case_folding(void **state) {
  EXPECT(*state, "NASA", {"nasa", 0, 0, 4, W});
  EXPECT(*state, "OpenStack 화웨이", {"openstack", 0, 0, 9, W}, {"화웨", 1, 10, 16, G},
         {"웨이", 2, 13, 19, G}, {"이", 3, 16, 19, U});
  /* beyond ASCII: Greek capitals fold too */
  EXPECT(*state, "ΑΒΓ", {"αβγ", 0, 0, 6, W});
}

/* ---- mixed scripts ------------------------------------------------------------- */

static void test_hangul_then_digits(void **state) {
  EXPECT(*state, "오픈스택서밋2012",
         {"오픈", 0, 0, 6, G}, {"픈스", 1, 3, 9, G}, {"스택", 2, 6, 12, G}, {"택서", 3, 9, 15, G},
         {"서밋", 4, 12, 18, G}, {"밋", 5, 15, 18, U}, {"2012", 6, 18, 22, W});
}

static void test_digits_syllable_digits(void **state) {
  EXPECT(*state, "86모40", {"86", 0, 0, 2, W}, {"모", 1, 2, 5, U}, {"40", 2, 5, 7, W});
}

static void test_words_and_runs_positions(void **state) {
  EXPECT(*state, "IBM은 2012년에",
         {"ibm", 0, 0, 3, W}, {"은", 1, 3, 6, U}, {"2012", 2, 7, 11, W}, {"년에", 3, 11, 17, G},
         {"에", 4, 14, 17, U});
}

#ifdef OSQ_HEAD_MARK
/* Raw tokens, heads included. */
static void expect_raw(osq_tokenizer *tk, const char *text, const char *want) {
  const osq_token *t;
  size_t n;
  assert_int_equal(osq_tokenize(tk, text, strlen(text), &t, &n, NULL), OSQ_OK);
  char *got = render(t, n, 1);
  if (strcmp(got, want) != 0) fail_msg("'%s': got %s, want %s", text, got, want);
  free(got);
}

static void test_head_tokens(void **state) {
  osq_tokenizer *tk = *state;
  /* a run right after a word also gives its first character as a head
   * token, at the position of the run's first token */
  expect_raw(tk, "제12조", "제@0[0,3)UNI 12@1[3,5)WORD ^조@2[5,8)HEAD 조@2[5,8)UNI");
  expect_raw(tk, "86모40", "86@0[0,2)WORD ^모@1[2,5)HEAD 모@1[2,5)UNI 40@2[5,7)WORD");
  expect_raw(tk, "1의 화웨이", "1@0[0,1)WORD ^의@1[1,4)HEAD 의화@1[1,8)GRAM 화웨@2[5,11)GRAM "
                               "웨이@3[8,14)GRAM 이@4[11,14)UNI");
  /* no word before the run: no head */
  expect_raw(tk, "화웨이", "화웨@0[0,6)GRAM 웨이@1[3,9)GRAM 이@2[6,9)UNI");
  expect_raw(tk, "국", "국@0[0,3)UNI");
}
#endif

/* ---- robustness ------------------------------------------------------------------ */

static void test_invalid_utf8(void **state) {
  osq_tokenizer *tk = *state;
  const char text[] = "\xff\xfe화웨이\xc3";
  const osq_token *t;
  size_t n, bad = 0;
  tokenize(tk, text, sizeof text - 1, &t, &n, &bad);
  assert_int_equal(bad, 3);
  char *got = render(t, n, 1);
  assert_string_equal(got, "화웨@0[2,8)GRAM 웨이@1[5,11)GRAM 이@2[8,11)UNI");
  free(got);

  /* a truncated sequence inside a run separates it; each bad byte counts */
  const char text2[] = "화\xed\x95웨이";
  tokenize(tk, text2, sizeof text2 - 1, &t, &n, &bad);
  assert_int_equal(bad, 2);
  got = render(t, n, 1);
  assert_string_equal(got, "화@0[0,3)UNI 웨이@1[5,11)GRAM 이@2[8,11)UNI");
  free(got);

  /* surrogates and overlong forms are invalid, not characters */
  const char text3[] = "a\xed\xa0\x80" "b\xc0\xaf" "c";
  tokenize(tk, text3, sizeof text3 - 1, &t, &n, &bad);
  assert_int_equal(bad, 5);
  got = render(t, n, 1);
  assert_string_equal(got, "a@0[0,1)WORD b@1[4,5)WORD c@2[7,8)WORD");
  free(got);

  /* bad_bytes may be NULL */
  assert_int_equal(osq_tokenize(tk, text, sizeof text - 1, &t, &n, NULL), OSQ_OK);
  assert_int_equal(n, 3);
}

static void test_empty(void **state) {
  osq_tokenizer *tk = *state;
  const osq_token *t;
  size_t n = 99, bad = 99;
  assert_int_equal(osq_tokenize(tk, "", 0, &t, &n, &bad), OSQ_OK);
  assert_int_equal(n, 0);
  assert_int_equal(bad, 0);
  /* only separators */
  assert_int_equal(osq_tokenize(tk, " .,!\n\t ", 7, &t, &n, &bad), OSQ_OK);
  assert_int_equal(n, 0);
}

static void test_results_replaced_by_next_call(void **state) {
  /* The tokenizer is reusable: a second call does not mix with the first. */
  osq_tokenizer *tk = *state;
  EXPECT(tk, "화웨이가", {"화웨", 0, 0, 6, G}, {"웨이", 1, 3, 9, G}, {"이가", 2, 6, 12, G},
         {"가", 3, 9, 12, U});
  EXPECT(tk, "국", {"국", 0, 0, 3, U});
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* Every token is well formed: non-empty term of valid UTF-8, offsets inside
 * the input, positions strictly increasing. */
static void check_invariants(const char *text, size_t len, const osq_token *t, size_t n) {
  (void)text;
  for (size_t i = 0; i < n; i++) {
    assert_true(t[i].len > 0);
    assert_true(t[i].start < t[i].end);
    assert_true(t[i].end <= len);
    assert_true(t[i].kind == G || t[i].kind == U || t[i].kind == W || t[i].kind == H);
    /* positions go up; only a head token shares its position with the
     * token after it, the first token of its run, which starts with the
     * head's character */
    if (i && t[i - 1].kind == H) {
      assert_int_equal(t[i].pos, t[i - 1].pos);
      assert_true(t[i].kind == G || t[i].kind == U);
      assert_true(t[i - 1].len >= 2 && t[i].len >= t[i - 1].len - 1);
      assert_memory_equal(t[i].term, t[i - 1].term + 1, t[i - 1].len - 1);
    } else if (i) {
      assert_true(t[i].pos > t[i - 1].pos);
    }
    if (t[i].kind == H) assert_true(i + 1 < n);
    const uint8_t *p = (const uint8_t *)t[i].term;
    for (uint32_t k = 0; k < t[i].len;) {
      uint8_t c = p[k];
      uint32_t m = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
      assert_true(m > 0);
      assert_true(k + m <= t[i].len);
      for (uint32_t j = 1; j < m; j++) assert_int_equal(p[k + j] & 0xC0, 0x80);
      k += m;
    }
  }
}

static void test_random_byte_soup(void **state) {
  osq_tokenizer *tk = *state;
  const size_t len = 1 << 20;
  char *buf = malloc(len);
  assert_non_null(buf);
  rng_state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < len; i++) buf[i] = (char)rnd();
  const osq_token *t;
  size_t n, bad = 0;
  assert_int_equal(osq_tokenize(tk, buf, len, &t, &n, &bad), OSQ_OK);
  assert_true(bad > 0 && bad <= len);
  check_invariants(buf, len, t, n);

  /* Bytes biased towards UTF-8 lead and continuation bytes, conjoining jamo
   * and combining marks, which exercise the cluster path. */
  static const char *pieces[] = {"\xe1\x84\x92", "\xe1\x85\xaa", "\xe1\x86\xab", "\xcc\x81",
                                 "\xea\xb0\x80", "\xed\x9e\xa3", "\xef\xbc\xaf", " ", "A",
                                 "\xe0", "\x80", "\xf0\x9f", "\xc3", "\n"};
  size_t o = 0;
  while (o + 4 < len) {
    const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
    size_t m = strlen(p);
    memcpy(buf + o, p, m);
    o += m;
  }
  assert_int_equal(osq_tokenize(tk, buf, o, &t, &n, &bad), OSQ_OK);
  check_invariants(buf, o, t, n);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_bigrams_positions_offsets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_syllable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_words_one_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_spacing_variants_identical, setup, teardown),
      cmocka_unit_test_setup_teardown(test_punctuation_and_newline_break_runs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nfd_hangul_equals_nfc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nfd_hangul_with_final_consonants, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nfd_latin_equals_nfc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ignorable_characters, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fullwidth_latin, setup, teardown),
      cmocka_unit_test_setup_teardown(test_case_folding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hangul_then_digits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_digits_syllable_digits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_words_and_runs_positions, setup, teardown),
#ifdef OSQ_HEAD_MARK
      cmocka_unit_test_setup_teardown(test_head_tokens, setup, teardown),
#endif
      cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(test_results_replaced_by_next_call, setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_byte_soup, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
