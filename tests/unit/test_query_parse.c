/*
 * test_query_parse.c -- the query language (core/query_parse.c): the tree
 * osq__query_parse() builds for each construct, as printed by
 * osq__query_dump() ("[words]" a leaf of plain words, "\"...\"" a phrase,
 * "+"/"-" must/must not, "(...)" a clause list, "ANY(...)" an OR group), the
 * fallback to plain words for malformed input, and random input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

/* Parses q; returns the dump (malloc'd) and the fallback flag. */
static char *parse_dump(const char *q, int *fallback) {
  osq__qnode *root = NULL;
  int fb = -1;
  assert_int_equal(osq__query_parse(q, strlen(q), &root, &fb), OSQ_OK);
  assert_non_null(root);
  assert_true(fb == 0 || fb == 1);
  /* the evaluator wants a clause list at the top */
  assert_int_equal(root->kind, OSQ__Q_BOOL);
  osq__buf b = {0};
  osq__query_dump(root, &b);
  osq__buf_byte(&b, 0);
  osq__query_free(root);
  if (fallback) *fallback = fb;
  return (char *)b.p;
}

static void check(const char *q, const char *want, int want_fallback) {
  int fb;
  char *got = parse_dump(q, &fb);
  int ok = strcmp(got, want) == 0 && fb == want_fallback;
  if (!ok)
    print_error("query '%s': got %s (fallback %d), want %s (fallback %d)\n", q, got, fb, want,
                want_fallback);
  free(got);
  if (!ok) fail();
}

/* ---- well-formed queries ------------------------------------------------------ */

static void test_plain_words_merge(void **state) {
  (void)state;
  check("화웨이", "([화웨이])", 0);
  /* consecutive plain words are one clause, spacing normalized to one space,
   * so that "오픈 스택" is ranked like "오픈스택" */
  check("화웨이 클라우드", "([화웨이 클라우드])", 0);
  check("  오픈   스택  ", "([오픈 스택])", 0);
  check("a\tb\nc", "([a b c])", 0);
  /* lower-case operators are words */
  check("볼륨 and 스냅샷 or not", "([볼륨 and 스냅샷 or not])", 0);
  /* a sign followed by a space is a word, not an operator */
  check("a - b", "([a - b])", 0);
}

static void test_phrase(void **state) {
  (void)state;
  check("\"오픈스택 재단\"", "(\"오픈스택 재단\")", 0);
  /* a phrase is its own clause, never merged with the words around it */
  check("클라우드 \"오픈스택 재단\" 서밋", "([클라우드] \"오픈스택 재단\" [서밋])", 0);
  check("+\"오픈 스택\"", "(+\"오픈 스택\")", 0);
  check("-\"오픈 스택\" 클라우드", "(-\"오픈 스택\" [클라우드])", 0);
  /* operators inside quotes are just words of the phrase */
  check("\"a AND b\"", "(\"a AND b\")", 0);
}

static void test_must_must_not(void **state) {
  (void)state;
  check("+화웨이 -게이트웨이", "(+[화웨이] -[게이트웨이])", 0);
  check("+화웨이", "(+[화웨이])", 0);
  check("-게이트웨이", "(-[게이트웨이])", 0);
  /* signed words split the plain words around them into separate clauses */
  check("a +b c", "([a] +[b] [c])", 0);
  check("a b -c d e", "([a b] -[c] [d e])", 0);
  /* a signed operator word is a word */
  check("+AND", "(+[AND])", 0);
}

static void test_and(void **state) {
  (void)state;
  check("볼륨 AND 스냅샷", "(+[볼륨] +[스냅샷])", 0);
  check("a AND b AND c", "(+[a] +[b] +[c])", 0);
  check("a AND NOT b", "(+[a] -[b])", 0);
  check("a AND -b", "(+[a] -[b])", 0);
}

static void test_and_keeps_negation_of_left_operand(void **state) {
  (void)state;
  /* AND makes its operands required, but an operand that is already
   * negated must stay negated: "NOT 삭제 AND 볼륨" is "without 삭제, with
   * 볼륨", never "with 삭제". */
  check("NOT 삭제 AND 볼륨", "(-[삭제] +[볼륨])", 0);
  check("-게이트웨이 AND 화웨이", "(-[게이트웨이] +[화웨이])", 0);
}

static void test_or(void **state) {
  (void)state;
  check("볼륨 OR 스냅샷", "ANY([볼륨] [스냅샷])", 0);
  check("a OR b OR c", "ANY([a] [b] [c])", 0);
  /* AND binds tighter than OR; plain words on one side stay one clause */
  check("a OR b AND c", "ANY([a] (+[b] +[c]))", 0);
  check("a b OR c", "ANY([a b] [c])", 0);
}

static void test_not(void **state) {
  (void)state;
  check("NOT 삭제", "(-[삭제])", 0);
  check("볼륨 NOT 삭제", "([볼륨] -[삭제])", 0);
  check("NOT 삭제 볼륨", "(-[삭제] [볼륨])", 0);
  check("NOT \"오픈 스택\"", "(-\"오픈 스택\")", 0);
}

static void test_parentheses(void **state) {
  (void)state;
  check("(볼륨 OR 스냅샷) AND 삭제", "(+ANY([볼륨] [스냅샷]) +[삭제])", 0);
  check("삭제 AND (볼륨 OR 스냅샷)", "(+[삭제] +ANY([볼륨] [스냅샷]))", 0);
  /* a group of one clause is that clause */
  check("(화웨이)", "([화웨이])", 0);
  check("((((화웨이))))", "([화웨이])", 0);
  /* a group's sign applies to what it holds */
  check("-(a b) c", "(-[a b] [c])", 0);
  check("+(a OR b)", "(+ANY([a] [b]))", 0);
  check("NOT (a OR b) c", "(-ANY([a] [b]) [c])", 0);
  check("(a AND b) OR (c AND d)", "ANY((+[a] +[b]) (+[c] +[d]))", 0);
}

/* ---- malformed queries fall back to plain words ------------------------------ */

static void test_fallback(void **state) {
  (void)state;
  check("\"오픈 스택", "([\"오픈 스택])", 1);       /* unbalanced quote */
  check("오픈 \"스택\" \"", "([오픈 \"스택\" \"])", 1);
  check("(볼륨 OR 스냅샷", "([(볼륨 OR 스냅샷])", 1); /* unbalanced paren */
  check("볼륨 OR 스냅샷)", "([볼륨 OR 스냅샷)])", 1);
  check(")(", "([)(])", 1);
  check("AND", "([AND])", 1);  /* an operator without operands */
  check("OR", "([OR])", 1);
  check("NOT", "([NOT])", 1);
  check("a OR", "([a OR])", 1);
  check("OR a", "([OR a])", 1);
  check("a AND", "([a AND])", 1);
  check("AND a", "([AND a])", 1);
  check("a AND OR b", "([a AND OR b])", 1);
  check("a NOT", "([a NOT])", 1);
  check("()", "([()])", 1);
  check("a () b", "([a () b])", 1);
  check("+", "([+])", 0); /* lone signs are words (see test_lone_sign) */
}

static void test_lone_sign(void **state) {
  (void)state;
  /* "-" alone is lexed as a word, not as an operator missing its operand:
   * the tree is the same one leaf the fallback would build, so nothing
   * visible depends on the fallback flag here; assert the tree and that
   * parsing does not fail. */
  int fb;
  char *got = parse_dump("-", &fb);
  assert_string_equal(got, "([-])");
  free(got);
  got = parse_dump("- -", &fb);
  assert_string_equal(got, "([- -])");
  free(got);
}

static void test_deep_nesting_falls_back(void **state) {
  (void)state;
  char q[512];
  size_t o = 0;
  for (int i = 0; i < 100; i++) q[o++] = '(';
  q[o++] = 'a';
  for (int i = 0; i < 100; i++) q[o++] = ')';
  q[o] = 0;
  int fb;
  char *got = parse_dump(q, &fb);
  assert_int_equal(fb, 1);
  char want[520];
  snprintf(want, sizeof want, "([%s])", q);
  assert_string_equal(got, want);
  free(got);
  /* 20 levels are fine */
  check("((((((((((((((((((((a))))))))))))))))))))", "([a])", 0);
}

static void test_empty_query(void **state) {
  (void)state;
  /* nothing to search: parses without crashing into a clause list */
  int fb;
  char *got = parse_dump("", &fb);
  assert_non_null(got);
  free(got);
  got = parse_dump("   ", &fb);
  assert_non_null(got);
  free(got);
}

/* The forms a Korean keyboard or a word processor types: full-width
 * characters, the ideographic space, typographic quotes, the minus sign. */
static void test_syntax_forms(void **state) {
  (void)state;
  check("＂오픈스택 재단＂", "(\"오픈스택 재단\")", 0);
  check("“오픈스택 재단”", "(\"오픈스택 재단\")", 0);
  check("«오픈스택 재단»", "(\"오픈스택 재단\")", 0);
  check("화웨이　-게이트웨이", "([화웨이] -[게이트웨이])", 0); /* U+3000 */
  check("화웨이\u00a0클라우드", "([화웨이 클라우드])", 0);   /* no-break space */
  check("＋화웨이 －게이트웨이", "(+[화웨이] -[게이트웨이])", 0);
  check("화웨이 \u2212게이트웨이", "([화웨이] -[게이트웨이])", 0);
  check("볼륨 ＡＮＤ 스냅샷", "(+[볼륨] +[스냅샷])", 0);
  check("（볼륨 OR 스냅샷） 생성", "(ANY([볼륨] [스냅샷]) [생성])", 0);
  /* full-width letters in words become ASCII (the tokenizer folds them the
   * same way); other compatibility characters stay: ㈜ is not "(주)" */
  check("ｎｏｖａ", "([nova])", 0);
  check("㈜삼성 ⑴항", "([㈜삼성 ⑴항])", 0);
  /* an unbalanced typographic quote falls back like an ASCII one */
  check("“오픈스택", "([\"오픈스택])", 1);
}

static void test_len_is_respected(void **state) {
  (void)state;
  /* the query is q[0..len), not NUL-terminated */
  const char q[] = "볼륨 OR 스냅샷 TRAILING";
  osq__qnode *root = NULL;
  int fb;
  assert_int_equal(osq__query_parse(q, strlen("볼륨 OR 스냅샷"), &root, &fb), OSQ_OK);
  osq__buf b = {0};
  osq__query_dump(root, &b);
  osq__buf_byte(&b, 0);
  assert_string_equal((char *)b.p, "ANY([볼륨] [스냅샷])");
  osq__buf_free(&b);
  osq__query_free(root);
}

/* ---- random input -------------------------------------------------------------- */

static uint64_t rng_state = 0x0123456789ABCDEFull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

/* Checks the shape of a tree: leaves have text, groups have clauses, every
 * occur is one of the three. */
static void check_tree(const osq__qnode *n, int depth) {
  assert_true(depth < 200);
  assert_true(n->occur == OSQ__OCC_SHOULD || n->occur == OSQ__OCC_MUST || n->occur == OSQ__OCC_NOT);
  if (n->kind == OSQ__Q_LEAF) {
    assert_non_null(n->text);
    assert_int_equal(n->nkids, 0);
    return;
  }
  assert_int_equal(n->kind, OSQ__Q_BOOL);
  assert_true(n->nkids >= 1);
  for (size_t i = 0; i < n->nkids; i++) {
    assert_non_null(n->kids[i]);
    check_tree(n->kids[i], depth + 1);
  }
}

static void test_random_queries(void **state) {
  (void)state;
  static const char *alphabet[] = {"\"", "(", ")", "+", "-", "AND", "OR", "NOT", " ", " ",
                                   "화웨이", "클라우드", "국", "오픈", "스택", "a", "\t", "+(",
                                   "-\"", "and", "\"\"", "()"};
  const size_t na = sizeof alphabet / sizeof *alphabet;
  char q[512];
  int fallbacks = 0, parsed = 0;
  for (int iter = 0; iter < 10000; iter++) {
    size_t o = 0, pieces = rnd() % 16;
    for (size_t i = 0; i < pieces; i++) {
      const char *p = alphabet[rnd() % na];
      size_t m = strlen(p);
      memcpy(q + o, p, m);
      o += m;
      /* usually separate the pieces, sometimes glue them */
      if (rnd() % 3) q[o++] = ' ';
    }
    q[o] = 0;
    osq__qnode *root = NULL;
    int fb = -1;
    assert_int_equal(osq__query_parse(q, o, &root, &fb), OSQ_OK);
    assert_non_null(root);
    assert_int_equal(root->kind, OSQ__Q_BOOL);
    check_tree(root, 0);
    osq__buf b = {0};
    osq__query_dump(root, &b);
    osq__buf_byte(&b, 0);
    if (fb) {
      /* the fallback is the whole query as one leaf of plain words */
      char want[600];
      snprintf(want, sizeof want, "([%s])", q);
      assert_string_equal((char *)b.p, want);
      fallbacks++;
    } else {
      parsed++;
    }
    osq__buf_free(&b);
    osq__query_free(root);
  }
  /* the alphabet makes both outcomes common */
  assert_true(fallbacks > 100);
  assert_true(parsed > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_words_merge),
      cmocka_unit_test(test_phrase),
      cmocka_unit_test(test_must_must_not),
      cmocka_unit_test(test_and),
      cmocka_unit_test(test_and_keeps_negation_of_left_operand),
      cmocka_unit_test(test_or),
      cmocka_unit_test(test_not),
      cmocka_unit_test(test_parentheses),
      cmocka_unit_test(test_fallback),
      cmocka_unit_test(test_lone_sign),
      cmocka_unit_test(test_deep_nesting_falls_back),
      cmocka_unit_test(test_empty_query),
      cmocka_unit_test(test_syntax_forms), cmocka_unit_test(test_len_is_respected),
      cmocka_unit_test(test_random_queries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
