/*
 * search_score.c -- whether a passage matches and what it scores beyond
 * BM25 (which is inline in search_int.h): clause and phrase matching, tiers
 * of matching by words, counting matches, the whole-word and pair bonuses,
 * and --explain's account of a hit's score.
 */
#include "search_int.h"

/* Does the passage hold terms i0..i1 of leaf l at their offsets from one
 * another (all present in pid)? */
static int chain_at(evalctx *e, const qleaf *l, uint32_t i0, uint32_t i1) {
  uint32_t n0;
  const uint32_t *p0 = tcur_positions(&e->tc[l->term[i0]], &n0);
  if (!p0) { e->corrupt = 1; return 0; }
  for (uint32_t k = 0; k < n0; k++) {
    uint32_t i;
    for (i = i0 + 1; i <= i1; i++) {
      uint32_t ni;
      const uint32_t *pi = tcur_positions(&e->tc[l->term[i]], &ni);
      if (!pi) { e->corrupt = 1; return 0; }
      if (!has_pos(pi, ni, (int64_t)p0[k] + l->off[i] - l->off[i0])) break;
    }
    if (i > i1) return 1;
  }
  return 0;
}

/* Does the leaf's token sequence occur in passage pid, adjacent and in
 * order? */
static int leaf_phrase(evalctx *e, const qleaf *l, uint32_t pid) {
  if (l->n == 0) return 0;
  for (uint32_t i = 0; i < l->n; i++)
    if (!present(e, l->term[i], pid)) return 0;
  return l->n == 1 || chain_at(e, l, 0, l->n - 1);
}


int osq__node_match(evalctx *e, const osq__qnode *n, uint32_t pid) {
  if (n->kind == OSQ__Q_LEAF) {
    const qleaf *l = leaf_of(e->r, n);
    if (!l || l->n == 0) return 0;
    if (l->exact) return leaf_phrase(e, l, pid);
    for (uint32_t i = 0; i < l->n; i++)
      if (present(e, l->term[i], pid)) return 1;
    return 0;
  }
  if (n->any) {
    for (size_t i = 0; i < n->nkids; i++)
      if (n->kids[i]->occur != OSQ__OCC_NOT && osq__node_match(e, n->kids[i], pid)) return 1;
    return 0;
  }
  int must = 0, should = 0;
  for (size_t i = 0; i < n->nkids; i++) {
    const osq__qnode *k = n->kids[i];
    if (k->occur == OSQ__OCC_MUST) {
      if (!osq__node_match(e, k, pid)) return 0;
      must = 1;
    } else if (k->occur == OSQ__OCC_NOT) {
      if (osq__node_match(e, k, pid)) return 0;
    } else {
      should = 1;
    }
  }
  if (must) return 1;
  if (!should) return 0;
  for (size_t i = 0; i < n->nkids; i++)
    if (n->kids[i]->occur == OSQ__OCC_SHOULD && osq__node_match(e, n->kids[i], pid)) return 1;
  return 0;
}

/* Does word w stand in passage pid: its stem's tokens at their offsets
 * from one another (the whole word holds its stem)?  A bigram across a
 * space in the passage (이 두 of "습격이 두려워") is only ever part of such a
 * chain, never a match of a longer word on its own. */
int osq__word_match(evalctx *e, const qword *w, uint32_t pid) {
  const qleaf *l = &e->r->leaves[w->leaf];
  for (uint32_t i = w->w0; i <= w->s1; i++)
    if (!present(e, l->term[i], pid)) return 0;
  return w->w0 == w->s1 || chain_at(e, l, w->w0, w->s1);
}

/* Does passage pid hold a piece of word w: two tokens of its stem side by
 * side (three characters of a Korean word), or the stem when it is one
 * token?  Not of its ending: the 하므로 of 뚜렷하므로 is in every ruling. */
static int word_piece(evalctx *e, const qword *w, uint32_t pid) {
  const qleaf *l = &e->r->leaves[w->leaf];
  if (w->w0 == w->s1) return present(e, l->term[w->w0], pid);
  for (uint32_t i = w->w0; i < w->s1; i++)
    if (present(e, l->term[i], pid) && present(e, l->term[i + 1], pid) && chain_at(e, l, i, i + 1)) return 1;
  return 0;
}

/* For a tiered query (osq__plan_matching): 1 when passage pid matches (at
 * least `need` words and clauses, none of the excluded ones), 2 when it
 * matches fewer but holds at least a piece of a word, 0 otherwise.  The
 * first pass asks only whether it is 1. */
int osq__passage_tier(evalctx *e, uint32_t pid) {
  osq_results *r = e->r;
  const osq__qnode *root = r->root;
  for (size_t i = 0; i < root->nkids; i++)
    if (root->kids[i]->occur == OSQ__OCC_NOT && osq__node_match(e, root->kids[i], pid)) return 0;
  size_t got = 0, left = r->nstrong;
  for (size_t i = 0; i < r->nwords && got + left >= r->need && got < r->need; i++) {
    if (r->words[i].weak) continue;
    got += (size_t)osq__word_match(e, &r->words[i], pid);
    left--;
  }
  for (size_t i = 0; i < r->nunits && got + left >= r->need && got < r->need; i++, left--)
    got += (size_t)osq__node_match(e, r->units[i], pid);
  if (got >= r->need) return 1;
  if (r->pass == 1) return 0;
  if (got > 0) return 2;
  /* a piece of a question word (무엇) or of 이를 says nothing */
  for (size_t i = 0; i < r->nwords; i++)
    if (!r->words[i].weak && word_piece(e, &r->words[i], pid)) return 2;
  for (size_t i = 0; i < r->nunits; i++)
    if (osq__node_match(e, r->units[i], pid)) return 2;
  return 0;
}

/* Is passage pid a result of the current pass? */
int osq__passage_ok(evalctx *e, uint32_t pid) {
  if (!e->r->tiered) return osq__node_match(e, e->r->root, pid);
  int t = osq__passage_tier(e, pid);
  return e->r->pass == 1 ? t == 1 : t == 2;
}

/* Counts a matching passage and, when it starts a new one, its document
 * (candidates come in pid order within a segment, and a document's
 * passages are consecutive). */
void osq__count_match(evalctx *e, uint32_t si, uint32_t pid) {
  osq_results *r = e->r;
  r->matched++;
  /* Once pruning has skipped passages both counts are lower bounds: the
   * documents are then no longer counted, which saves a read of the
   * passage table (a cache miss) for every match of a common word. */
  if (r->pruned && r->docs) return;
  osq__passage_info pi;
  if (osq__segment_passage(e->seg, pid, &pi)) {
    e->corrupt = 1;
    return;
  }
  if (r->docs == 0 || r->last_seg != si || r->last_doc != pi.doc) r->docs++;
  r->last_seg = si;
  r->last_doc = pi.doc;
}


/* whole_w times the idfs of tokens i0..i1 of leaf l when the passage holds
 * them whole, in order; explained into out if given. */
static double chain_bonus(evalctx *e, const qleaf *l, uint32_t i0, uint32_t i1, uint32_t pid, const char *what,
                          osq__buf *out) {
  osq_results *r = e->r;
  double idfs = 0;
  for (uint32_t i = i0; i <= i1; i++) {
    if (!present(e, l->term[i], pid)) return 0;
    idfs += r->terms[l->term[i]].idf;
  }
  if (!chain_at(e, l, i0, i1)) return 0;
  double v = r->whole_w * idfs;
  if (out) {
    char line[700];
    int n = snprintf(line, sizeof line, "  %s %.*s..%.*s: +%.3f\n", what, (int)r->terms[l->term[i0]].len,
                     r->terms[l->term[i0]].term, (int)r->terms[l->term[i1]].len, r->terms[l->term[i1]].term, v);
    osq__buf_put(out, line, (size_t)n);
  }
  return v;
}

/* The whole-word part of a passage's score, for a query of one word
 * (osq__query_words): a passage that holds the word whole, its bigrams adjacent
 * and in order, gets whole_w times their idfs, and as much again for the
 * word's stem without a particle tail (화웨이 of 화웨이가), so that passages
 * with the exact word come first, then those with its stem in another form
 * (화웨이는), then those that only share grams (게이트웨이).  BM25 over the
 * grams alone let a passage with many of the frequent gram 웨이 beat the
 * one about Huawei (../shared/KOREAN-SEARCH.md); the adjacency pairs, worth
 * a tenth of an idf, did not prevent it (바이두, 중국인, 치후360 on the
 * bundled corpus). */
double osq__whole_bonus(evalctx *e, uint32_t pid, osq__buf *out) {
  double bonus = 0;
  osq_results *r = e->r;
  if (r->whole_w == 0) return 0;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t w0 = 0, w1; next_word(l, w0, &w0, &w1); w0 = w1 + 1) {
      bonus += chain_bonus(e, l, w0, w1, pid, "whole word", out);
      uint32_t s1 = stem_end(l, w0, w1);
      if (s1 < w1 && s1 > w0) bonus += chain_bonus(e, l, w0, s1, pid, "whole stem", out);
    }
  }
  return bonus;
}

/* The proximity part of a passage's score; explains into out if given. */
double osq__pair_bonus(evalctx *e, uint32_t pid, osq__buf *out) {
  double bonus = osq__whole_bonus(e, pid, out);
  osq_results *r = e->r;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t i = 0; i + 1 < l->n; i++) {
      if (!pair_counts(l, i)) continue;
      uint32_t a = l->term[i], b = l->term[i + 1];
      if (!present(e, a, pid) || !present(e, b, pid)) continue;
      uint32_t na, nb;
      const uint32_t *pa = tcur_positions(&e->tc[a], &na);
      if (!pa) { e->corrupt = 1; return 0; }
      const uint32_t *pb = tcur_positions(&e->tc[b], &nb);
      if (!pb) { e->corrupt = 1; return 0; }
      int32_t d = l->off[i + 1] - l->off[i];
      int hit = 0;
      /* both sorted: walk them together */
      uint32_t x = 0, y = 0;
      while (x < na && y < nb) {
        int64_t want = (int64_t)pa[x] + d;
        if (pb[y] == want) { hit = 1; break; }
        if (pb[y] < want) y++;
        else x++;
      }
      if (!hit) continue;
      double v = osq__tune_pair_w * (r->terms[a].idf + r->terms[b].idf) / 2;
      bonus += v;
      if (out) {
        char line[700];
        int n = snprintf(line, sizeof line, "  adjacent %.*s+%.*s: +%.3f\n", (int)r->terms[a].len,
                         r->terms[a].term, (int)r->terms[b].len, r->terms[b].term, v);
        osq__buf_put(out, line, (size_t)n);
      }
    }
  }
  return bonus;
}

int osq__explain_hit(osq_results *r, const hit_ref *h, char **out) {
  const osq__segment *seg = &r->ix->segs[h->seg];
  evalctx e = {r, seg, NULL, 0};
  osq__buf b = {0};
  int rc = OSQ_OK;
  e.tc = calloc(r->nterms ? r->nterms : 1, sizeof *e.tc);
  if (!e.tc) return OSQ_E_NOMEM;
  for (size_t t = 0; t < r->nterms && !rc; t++) rc = osq__tcur_open(&e.tc[t], seg, &r->terms[t]);
  if (!rc) {
    uint32_t len = osq__segment_plen(seg, h->pid);
    char line[800];
    int n = snprintf(line, sizeof line, "score %.4f = BM25 over n-grams + adjacency and whole words (passage length %u, average %.1f)\n",
                     h->score, len, r->avglen);
    osq__buf_put(&b, line, (size_t)n);
    double total = 0;
    for (size_t t = 0; t < r->nterms; t++) {
      const qterm *qt = &r->terms[t];
      if (qt->qtf == 0 || !present(&e, (uint32_t)t, h->pid)) continue;
      uint32_t tf = tcur_tf(&e.tc[t]);
      double v = bm25(r, qt, tf, len) * (osq__segment_title(seg, h->pid) ? osq__tune_title_w : 1.0);
      total += v;
      int stem = qt->len > 1 && qt->term[0] == OSQ_STEM_MARK;
      n = snprintf(line, sizeof line, "  %s %.*s%s: tf %u, df %llu, idf %.3f -> %.3f\n", stem ? "stem" : "term",
                   (int)qt->len - stem, qt->term + stem, qt->prefix ? "*" : "", tf, (unsigned long long)qt->df, qt->idf, v);
      osq__buf_put(&b, line, (size_t)n);
    }
    double bonus = osq__pair_bonus(&e, h->pid, &b);
    n = snprintf(line, sizeof line, "  = %.3f (BM25) + %.3f (adjacency and whole words)", total, bonus);
    osq__buf_put(&b, line, (size_t)n);
    osq__buf_byte(&b, 0);
    if (e.corrupt) rc = osq__damaged(seg->path, "corrupt postings");
  }
  for (size_t t = 0; t < r->nterms; t++) osq__tcur_close(&e.tc[t]);
  free(e.tc);
  if (rc) {
    osq__buf_free(&b);
    return rc;
  }
  *out = (char *)b.p;
  return OSQ_OK;
}
