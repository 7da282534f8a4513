/*
 * search_highlight.c -- the spans of a passage's text that a query matched,
 * found by tokenizing the text again and marking the tokens of the query's
 * terms and the chains of a clause's words.
 */
#include "search_int.h"

/* ---- materializing hits: text, highlights, explanation ------------------------ */

static int cmp_span(const void *a, const void *b) {
  const osq_span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

static int tok_matches(const qterm *qt, const osq_token *tk) {
  if (qt->prefix == PREFIX_NUMBER)
    return tk->kind == OSQ_TOKEN_WORD && tk->len >= qt->len && !memcmp(tk->term, qt->term, qt->len) &&
           number_with_unit((const uint8_t *)tk->term, tk->len, qt);
  if (qt->prefix) return tk->kind != OSQ_TOKEN_WORD && tk->len >= qt->len && !memcmp(tk->term, qt->term, qt->len);
  return tk->len == qt->len && !memcmp(tk->term, qt->term, qt->len);
}

static int add_span(osq__buf *b, uint32_t s, uint32_t e) {
  osq_span sp = {s, e};
  if (e <= s) return OSQ_OK;
  return osq__buf_put(b, &sp, sizeof sp);
}

/* The byte range to mark for a token: a prefix term marks its first char. */
static void token_range(const qterm *qt, const osq_token *toks, size_t ntoks, size_t i, uint32_t *s, uint32_t *e) {
  *s = toks[i].start;
  *e = toks[i].end;
  if (qt->prefix && toks[i].kind == OSQ_TOKEN_GRAM) {
    for (size_t j = i + 1; j < ntoks; j++)
      if (toks[j].pos == toks[i].pos + 1 && toks[j].kind != OSQ_TOKEN_WORD) {
        *e = toks[j].start;
        break;
      }
  }
}

/* Spans end at the last non-space byte (a gram may bridge a space). */
static uint32_t trim_end(const char *text, uint32_t s, uint32_t e) {
  while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t')) e--;
  return e;
}

/* The index of a token at position pos that matches qt, or SIZE_MAX
 * (tokens come in position order). */
static size_t token_at(const osq_token *toks, size_t ntoks, uint32_t pos, const qterm *qt) {
  size_t lo = 0, hi = ntoks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (toks[mid].pos < pos) lo = mid + 1;
    else hi = mid;
  }
  for (; lo < ntoks && toks[lo].pos == pos; lo++)
    if (tok_matches(qt, &toks[lo])) return lo;
  return SIZE_MAX;
}

/* Marks each occurrence of tokens i0..i1 of leaf l standing at their
 * offsets from one another; returns how many.  one_span: the occurrence as
 * one span, punctuation between its words included (a phrase: "이상, 기왕에"),
 * else each token's range. */
static size_t mark_chain(const osq_results *r, const qleaf *l, uint32_t i0, uint32_t i1, const char *text,
                         const osq_token *toks, size_t ntoks, int one_span, osq__buf *b) {
  const qterm *first = &r->terms[l->term[i0]];
  size_t found = 0;
  for (size_t x = 0; x < ntoks; x++) {
    if (!tok_matches(first, &toks[x])) continue;
    uint32_t i;
    for (i = i0 + 1; i <= i1; i++)
      if (token_at(toks, ntoks, toks[x].pos + (uint32_t)(l->off[i] - l->off[i0]), &r->terms[l->term[i]]) == SIZE_MAX)
        break;
    if (i <= i1) continue;
    found++;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (i = i0; i <= i1; i++) {
      const qterm *qt = &r->terms[l->term[i]];
      size_t y = i > i0 ? token_at(toks, ntoks, toks[x].pos + (uint32_t)(l->off[i] - l->off[i0]), qt) : x;
      uint32_t s, e;
      token_range(qt, toks, ntoks, y, &s, &e);
      e = trim_end(text, s, e);
      if (!one_span) add_span(b, s, e);
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    }
    if (one_span) add_span(b, lo, hi);
  }
  return found;
}

/* Marks what matched: each whole occurrence of an exact clause (a phrase,
 * or +word / -word: only where every token stands at its offset, so that
 * "제18조 제2항" does not mark the 제2항 of another article), and for plain
 * words each occurrence of the word, else of its stem, else of its pieces
 * (two tokens side by side): every word the passage holds is marked, a
 * Latin word beside Korean ones too ("nova 인스턴스" marks "(Nova)"), and a
 * lone bigram of a longer word never. */
int osq__highlight(osq_results *r, const char *text, size_t len, osq_span **spans, size_t *nspans) {
  const osq_token *toks;
  size_t ntoks;
  int rc = osq__results_tokenize(r, text, len, &toks, &ntoks);
  if (rc) return rc;
  osq__buf b = {0};
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n == 0 || !l->exact) continue;
    mark_chain(r, l, 0, l->n - 1, text, toks, ntoks, 1, &b);
  }
  for (size_t wi = 0; wi < r->nwords; wi++) {
    const qword *w = &r->words[wi];
    const qleaf *l = &r->leaves[w->leaf];
    size_t found = mark_chain(r, l, w->w0, w->w1, text, toks, ntoks, 0, &b);
    if (w->s1 < w->w1) found += mark_chain(r, l, w->w0, w->s1, text, toks, ntoks, 0, &b);
    if (found) continue;
    for (uint32_t i = w->w0; i < w->s1; i++) mark_chain(r, l, i, i + 1, text, toks, ntoks, 0, &b);
    if (w->w0 == w->s1) mark_chain(r, l, w->w0, w->w0, text, toks, ntoks, 0, &b);
  }
  size_t n = b.n / sizeof(osq_span);
  osq_span *sp = (osq_span *)b.p;
  if (n) qsort(sp, n, sizeof *sp, cmp_span);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && sp[i].start <= sp[m - 1].end) {
      if (sp[i].end > sp[m - 1].end) sp[m - 1].end = sp[i].end;
    } else {
      sp[m++] = sp[i];
    }
  }
  *spans = sp;
  *nspans = m;
  return OSQ_OK;
}
