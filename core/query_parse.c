/*
 * query_parse.c -- the query language.
 *
 *   words          ranked by BM25 over their n-grams, adjacency rewarded;
 *                  consecutive plain words form one clause, so that
 *                  "오픈 스택" and "오픈스택" are the same query
 *   "a phrase"     the words must stand together, in order
 *   +word -word    the word must / must not occur (as a whole word)
 *   a AND b        both must occur
 *   a OR b         either
 *   NOT a          must not occur
 *   ( ... )        grouping
 *   word*          the index words starting with word (오픈* -> 오픈스택, ...):
 *                  expanded into an OR group by the search box before
 *                  parsing (rewrite.c, osq_box_search); osq_search alone
 *                  reads the * as a separator and searches the word
 * Operators are recognised in capitals only, so "and" and "or" stay words.
 * No input is an error: what does not parse is searched as plain words.
 *
 * The syntax characters are also read in the forms a Korean keyboard or a
 * word processor types (syntax_form): full-width ＂＋－（）ＡＮＤ, the
 * ideographic space U+3000 and other spaces, typographic quotation marks
 * “ ” „ « » 〝 〞 and the minus sign U+2212.  Only these are mapped, not the
 * whole query through NFKC: NFKC turns ㈜ into "(주)", which would become a
 * group.  Words come out the same either way, since the tokenizer folds
 * full-width letters and digits itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "query.h"

enum { T_END, T_WORD, T_QUOTE, T_LP, T_RP, T_AND, T_OR, T_NOT };

typedef struct {
  int type;
  int sign;  /* '+', '-' or 0 */
  const char *s;
  size_t n;
} lexeme;

typedef struct {
  const char *p, *end;
  lexeme cur;
  int error;
  int depth;
} parser;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static void lex(parser *ps) {
  lexeme *t = &ps->cur;
  while (ps->p < ps->end && is_space(*ps->p)) ps->p++;
  t->sign = 0;
  if (ps->p >= ps->end) { t->type = T_END; return; }
  if ((*ps->p == '+' || *ps->p == '-') && ps->p + 1 < ps->end && !is_space(ps->p[1])) {
    t->sign = *ps->p;
    ps->p++;
  }
  char c = *ps->p;
  if (c == '(') { t->type = T_LP; ps->p++; return; }
  if (c == ')') { t->type = T_RP; ps->p++; return; }
  if (c == '"') {
    const char *a = ++ps->p;
    while (ps->p < ps->end && *ps->p != '"') ps->p++;
    if (ps->p >= ps->end) ps->error = 1; /* unbalanced quote */
    t->type = T_QUOTE;
    t->s = a;
    t->n = (size_t)(ps->p - a);
    if (ps->p < ps->end) ps->p++;
    return;
  }
  const char *a = ps->p;
  while (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '(' && *ps->p != ')' && *ps->p != '"') ps->p++;
  t->s = a;
  t->n = (size_t)(ps->p - a);
  t->type = T_WORD;
  if (!t->sign) {
    if (t->n == 3 && !memcmp(a, "AND", 3)) t->type = T_AND;
    else if (t->n == 2 && !memcmp(a, "OR", 2)) t->type = T_OR;
    else if (t->n == 3 && !memcmp(a, "NOT", 3)) t->type = T_NOT;
  }
}

static osq__qnode *new_node(int kind) {
  osq__qnode *n = calloc(1, sizeof(osq__qnode));
  if (n) n->kind = kind;
  return n;
}

static osq__qnode *new_leaf(const char *s, size_t n, int phrase) {
  osq__qnode *l = new_node(OSQ__Q_LEAF);
  if (!l) return NULL;
  l->kind = OSQ__Q_LEAF;
  l->phrase = phrase;
  l->text = strndup(s, n);
  if (!l->text) { free(l); return NULL; }
  return l;
}

static int add_kid(osq__qnode *b, osq__qnode *k) {
  osq__qnode **p = realloc(b->kids, (b->nkids + 1) * sizeof *p);
  if (!p) return -1;
  b->kids = p;
  b->kids[b->nkids++] = k;
  return 0;
}

void osq__query_free(osq__qnode *n) {
  if (!n) return;
  for (size_t i = 0; i < n->nkids; i++) osq__query_free(n->kids[i]);
  free(n->kids);
  free(n->text);
  free(n);
}

static osq__qnode *parse_or(parser *ps);

/* Appends text to a leaf of merged plain words. */
static int leaf_append(osq__qnode *l, const char *s, size_t n) {
  size_t m = strlen(l->text);
  char *t = realloc(l->text, m + n + 2);
  if (!t) return -1;
  t[m] = ' ';
  memcpy(t + m + 1, s, n);
  t[m + n + 1] = 0;
  l->text = t;
  return 0;
}

/* One operand: a word, a phrase or a group. */
static osq__qnode *parse_primary(parser *ps) {
  lexeme t = ps->cur;
  osq__qnode *n = NULL;
  if (t.type == T_WORD || t.type == T_QUOTE) {
    n = new_leaf(t.s, t.n, t.type == T_QUOTE);
    lex(ps);
  } else if (t.type == T_LP) {
    if (++ps->depth > 32) { ps->error = 1; return NULL; }
    lex(ps);
    n = parse_or(ps);
    if (ps->cur.type != T_RP) ps->error = 1;
    else lex(ps);
    ps->depth--;
    if (!n) ps->error = 1;
  } else {
    ps->error = 1; /* an operator where an operand belongs */
    return NULL;
  }
  if (n) n->occur = t.sign == '+' ? OSQ__OCC_MUST : t.sign == '-' ? OSQ__OCC_NOT : OSQ__OCC_SHOULD;
  return n;
}

/* A sequence of clauses joined by nothing (SHOULD), AND or NOT. */
static osq__qnode *parse_seq(parser *ps) {
  osq__qnode *b = new_node(OSQ__Q_BOOL);
  if (!b) return NULL;
  b->kind = OSQ__Q_BOOL;
  int pending_and = 0;
  osq__qnode *merge = NULL; /* the open leaf of plain words */
  while (!ps->error && ps->cur.type != T_END && ps->cur.type != T_RP && ps->cur.type != T_OR) {
    if (ps->cur.type == T_AND) {
      if (b->nkids == 0) { ps->error = 1; break; }
      /* "NOT a AND b" keeps a excluded */
      if (b->kids[b->nkids - 1]->occur == OSQ__OCC_SHOULD) b->kids[b->nkids - 1]->occur = OSQ__OCC_MUST;
      pending_and = 1;
      merge = NULL;
      lex(ps);
      continue;
    }
    int negate = 0;
    if (ps->cur.type == T_NOT) {
      negate = 1;
      lex(ps);
    }
    int plain = ps->cur.type == T_WORD && !ps->cur.sign && !negate && !pending_and;
    if (plain && merge) {
      if (leaf_append(merge, ps->cur.s, ps->cur.n)) break;
      lex(ps);
      continue;
    }
    osq__qnode *k = parse_primary(ps);
    if (!k) break;
    if (negate) k->occur = OSQ__OCC_NOT;
    else if (pending_and && k->occur == OSQ__OCC_SHOULD) k->occur = OSQ__OCC_MUST;
    pending_and = 0;
    if (add_kid(b, k)) { osq__query_free(k); break; }
    merge = plain && k->kind == OSQ__Q_LEAF ? k : NULL;
  }
  if (pending_and) ps->error = 1;
  if (b->nkids == 0) ps->error = 1;
  return b;
}

static osq__qnode *parse_or(parser *ps) {
  osq__qnode *left = parse_seq(ps);
  if (!left || ps->cur.type != T_OR) return left;
  osq__qnode *any = new_node(OSQ__Q_BOOL);
  if (!any) return left;
  any->kind = OSQ__Q_BOOL;
  any->any = 1;
  add_kid(any, left);
  while (!ps->error && ps->cur.type == T_OR) {
    lex(ps);
    osq__qnode *r = parse_seq(ps);
    if (!r) break;
    add_kid(any, r);
  }
  return any;
}

/* Flattens single-clause groups so that the tree says what was meant. */
static osq__qnode *simplify(osq__qnode *n) {
  if (n->kind != OSQ__Q_BOOL) return n;
  for (size_t i = 0; i < n->nkids; i++) n->kids[i] = simplify(n->kids[i]);
  if (n->nkids == 1 && !n->any) {
    osq__qnode *k = n->kids[0];
    int occ = n->occur;
    if (k->occur == OSQ__OCC_SHOULD || occ == OSQ__OCC_SHOULD) {
      int kocc = k->occur;
      n->kids[0] = NULL;
      n->nkids = 0;
      osq__query_free(n);
      /* a group's sign applies to what it holds */
      k->occur = occ != OSQ__OCC_SHOULD ? occ : kocc;
      if (k->kind == OSQ__Q_LEAF || k->occur == OSQ__OCC_SHOULD) return k;
      /* keep a signed group as a group of one */
      osq__qnode *b = new_node(OSQ__Q_BOOL);
      if (!b) return k;
      b->kind = OSQ__Q_BOOL;
      b->occur = OSQ__OCC_SHOULD;
      add_kid(b, k);
      return b;
    }
  }
  return n;
}

static int parse_query(const char *q, size_t len, osq__qnode **out, int *fallback);

/* The ASCII character that codepoint c stands for in the query syntax, or
 * -1 to keep c as it is. */
static int syntax_form(utf8proc_int32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) return (int)(c - 0xFEE0); /* full-width ASCII */
  switch (c) {
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: /* “ ” „ ‟ */
    case 0x00AB: case 0x00BB: case 0x2033:               /* « » ″ */
    case 0x301D: case 0x301E: case 0x301F:               /* 〝 〞 〟 */
      return '"';
    case 0x2212: case 0xFE63: return '-'; /* minus sign, small hyphen-minus */
    case 0xFE62: return '+';              /* small plus sign */
    case 0xFE59: return '(';              /* small parentheses */
    case 0xFE5A: return ')';
    default: break;
  }
  if (utf8proc_category(c) == UTF8PROC_CATEGORY_ZS) return ' '; /* U+3000, no-break space, ... */
  return -1;
}

/* q[0..len) with the syntax characters' other forms mapped to ASCII, into
 * *out (malloc'd; never longer than q).  Returns OSQ_OK, OSQ_E_NOMEM, or
 * OSQ_E_UTF8 for invalid UTF-8 (then q is parsed as it is). */
static int map_syntax_forms(const char *q, size_t len, char **out, size_t *outlen) {
  char *o = malloc(len + 1);
  if (!o) return OSQ_E_NOMEM;
  size_t i = 0, n = 0;
  while (i < len) {
    utf8proc_int32_t c;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)q + i, (utf8proc_ssize_t)(len - i), &c);
    if (k <= 0) {
      free(o);
      return OSQ_E_UTF8;
    }
    int a = c < 0x80 ? -1 : syntax_form(c);
    if (a >= 0) o[n++] = (char)a;
    else {
      memcpy(o + n, q + i, (size_t)k);
      n += (size_t)k;
    }
    i += (size_t)k;
  }
  o[n] = 0;
  *out = o;
  *outlen = n;
  return OSQ_OK;
}

int osq__query_parse(const char *q, size_t len, osq__qnode **out, int *fallback) {
  char *mapped = NULL;
  size_t mlen = 0;
  int rc = map_syntax_forms(q, len, &mapped, &mlen);
  if (rc == OSQ_E_NOMEM) return rc;
  if (rc == OSQ_OK) {
    q = mapped;
    len = mlen;
  }
  rc = parse_query(q, len, out, fallback);
  free(mapped);
  return rc;
}

static int parse_query(const char *q, size_t len, osq__qnode **out, int *fallback) {
  parser ps;
  memset(&ps, 0, sizeof ps);
  ps.p = q;
  ps.end = q + len;
  lex(&ps);
  osq__qnode *root = parse_or(&ps);
  if (ps.cur.type != T_END) ps.error = 1;
  *fallback = 0;
  if (!root || ps.error) {
    osq__query_free(root);
    *fallback = 1;
    root = new_node(OSQ__Q_BOOL);
    if (!root) return OSQ_E_NOMEM;
    root->kind = OSQ__Q_BOOL;
    osq__qnode *l = new_leaf(q, len, 0);
    if (!l || add_kid(root, l)) {
      osq__query_free(l);
      osq__query_free(root);
      return OSQ_E_NOMEM;
    }
    *out = root;
    return OSQ_OK;
  }
  root = simplify(root);
  if (root->kind == OSQ__Q_LEAF) {
    /* The evaluator wants a clause list at the top. */
    osq__qnode *b = new_node(OSQ__Q_BOOL);
    if (!b) { osq__query_free(root); return OSQ_E_NOMEM; }
    b->kind = OSQ__Q_BOOL;
    add_kid(b, root);
    root = b;
  }
  *out = root;
  return OSQ_OK;
}

void osq__query_dump(const osq__qnode *n, osq__buf *out) {
  const char *occ = n->occur == OSQ__OCC_MUST ? "+" : n->occur == OSQ__OCC_NOT ? "-" : "";
  osq__buf_put(out, occ, strlen(occ));
  if (n->kind == OSQ__Q_LEAF) {
    if (n->phrase) osq__buf_put(out, "\"", 1);
    else osq__buf_put(out, "[", 1);
    osq__buf_put(out, n->text, strlen(n->text));
    osq__buf_put(out, n->phrase ? "\"" : "]", 1);
    return;
  }
  osq__buf_put(out, n->any ? "ANY(" : "(", n->any ? 4 : 1);
  for (size_t i = 0; i < n->nkids; i++) {
    if (i) osq__buf_put(out, " ", 1);
    osq__query_dump(n->kids[i], out);
  }
  osq__buf_put(out, ")", 1);
}
