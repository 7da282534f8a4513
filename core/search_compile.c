/*
 * search_compile.c -- a parsed query (query_parse.c) into what a search
 * runs: terms and clauses ("leaves") of the same n-grams the indexer made,
 * the Korean word heuristics (particles and endings, question words, short
 * compounds written two ways), the stem field's terms, which words a
 * passage must hold (plan_matching), and the terms' global statistics and
 * whole-word bounds.  search_int.h describes the scoring.
 */
#include "search_int.h"

/* Tokenizes with the search's own tokenizer, made on first use. */
int osq__results_tokenize(osq_results *r, const char *text, size_t len, const osq_token **toks, size_t *ntoks) {
  int rc;
  if (!r->tk && (rc = osq_tokenizer_create(&r->tk))) return rc;
  return osq_tokenize(r->tk, text, len, toks, ntoks, NULL);
}

static int add_term(osq_results *r, const char *t, uint32_t len, int prefix, uint32_t *idx) {
  if (len > OSQ__MAX_TERM) len = OSQ__MAX_TERM;
  for (size_t i = 0; i < r->nterms; i++)
    if (r->terms[i].len == len && r->terms[i].prefix == prefix && !memcmp(r->terms[i].term, t, len)) {
      *idx = (uint32_t)i;
      return OSQ_OK;
    }
  qterm *p = realloc(r->terms, (r->nterms + 1) * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  r->terms = p;
  qterm *q = &r->terms[r->nterms];
  memset(q, 0, sizeof *q);
  memcpy(q->term, t, len);
  q->len = len;
  q->prefix = prefix;
  *idx = (uint32_t)r->nterms++;
  return OSQ_OK;
}

/* Syllables that end Korean words as particles or verb endings. */
static int is_particle(const char *gram, int second) {
  static const char *const P[] = {"은", "는", "이", "가", "을", "를", "의", "에", "도", "로", "와", "과", "요",
                                  "다", "서", "나", "까", "고", "며", "면", "지", "만", "야", "죠", "데", "께"};
  const char *c = gram + (second ? 3 : 0); /* Hangul syllables are 3 bytes */
  if (((uint8_t)gram[0] & 0xF0) != 0xE0) return 0;
  for (size_t i = 0; i < sizeof P / sizeof *P; i++)
    if (!memcmp(c, P[i], 3)) return 1;
  return 0;
}

/* Endings of Korean words (particles and verb endings).  A word that ends in
 * one matches a passage through its stem, the word without the ending, when
 * the stem keeps two characters or more: 화웨이가 -> 화웨이, 식민지에서 ->
 * 식민지, 재직했나요 -> 재직.  Matching only: the score weights the last
 * bigrams of such words down (LEAF_TAIL) as measured in docs/ranking.md.
 * Longer endings first, so that 에서 is taken before 서. */
static const char *const ENDINGS[] = {
    "했습니다", "하였는데", "하였으며", "되었나요", "되었습니까", "되었는데", "였으므로", "하였으므로",
    "습니까", "입니까", "합니까", "했나요", "였나요", "었나요", "인가요", "은가요", "는가요", "있나요",
    "습니다", "입니다", "합니다", "됩니다", "에서는", "으로는", "에게는", "이라는", "하였다", "했는데",
    "하는데", "에서의", "으로서", "으로써", "이었다", "했으며", "되었다", "에서도", "되나요", "하나요", "됩니까", "되는지", "하는지", "이라고", "하므로", "으므로", "이므로",
    "에서", "에게", "으로", "까지", "부터", "보다", "처럼", "마다", "에는", "에도", "와는", "과는",
    "이나", "이란", "이라", "라는", "한테", "께서", "조차", "밖에", "에의", "로서", "로써", "으며",
    "이며", "하다", "했다", "한다", "하는", "하고", "하며", "하면", "해서", "하여", "했던", "되는",
    "되다", "된다", "나요", "가요", "까요", "인가", "는가", "인지", "는지", "은지", "였다", "이다",
    "이고", "니까", "어요", "아요", "해요", "세요", "되어", "하기", "하게", "했고", "에선", "으면", "므로",
    "은", "는", "이", "가", "을", "를", "의", "에", "도", "로", "와", "과", "요", "다", "서", "나",
    "까", "고", "며", "면", "지", "만", "야", "죠", "데", "께", "란"};

/* How many characters of the word's last run of bigrams g[a..b] (term
 * bytes of each) an ending takes, keeping a stem of two characters or
 * more; 0 for none.  Only Hangul syllables (3 bytes) take part. */
static uint32_t ending_chars(const osq_results *r, const qleaf *l, uint32_t a, uint32_t b) {
  uint32_t nch = b - a + 2;
  if (nch < 3) return 0;
  /* the run's last (up to) 4 characters, as bytes */
  uint8_t tail[12];
  uint32_t take = nch - 2 < 4 ? nch - 2 : 4, n = 0;
  for (uint32_t c = nch - take; c < nch; c++) {
    const qterm *g = &r->terms[l->term[a + (c < nch - 1 ? c : c - 1)]];
    if (g->len != 6) return 0;
    memcpy(tail + n, g->term + (c < nch - 1 ? 0 : 3), 3);
    n += 3;
  }
  for (size_t i = 0; i < sizeof ENDINGS / sizeof *ENDINGS; i++) {
    size_t el = strlen(ENDINGS[i]);
    if (el <= n && !memcmp(tail + n - el, ENDINGS[i], el)) return (uint32_t)(el / 3);
  }
  return 0;
}

/* Words that ask rather than name: a passage that answers a question rarely
 * repeats them (무엇인가요, 어떻게, 있나요).  They are scored like any word
 * but not counted among the words a match must hold (need_of), unless the
 * query holds nothing else.  QUESTION_PREFIX: stems that start so;
 * QUESTION_WORD: whole stems. */
static const char *const QUESTION_PREFIX[] = {"무엇", "어떤", "어떻", "얼마", "어디", "누구", "누가", "언제",
                                              "어느", "무슨", "왜", "몇", "뭐", "뭔", "있"};
static const char *const QUESTION_WORD[] = {"있나", "있는", "하나", "되나", "하는", "위한", "위해", "대한", "대해", "것",
                                            "것은", "것이", "것인", "수", "데", "때", "가장", "의미", "의미하", "뜻"};

static int is_question_word(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < sizeof QUESTION_PREFIX / sizeof *QUESTION_PREFIX; i++) {
    size_t k = strlen(QUESTION_PREFIX[i]);
    if (n >= k && !memcmp(s, QUESTION_PREFIX[i], k)) return 1;
  }
  for (size_t i = 0; i < sizeof QUESTION_WORD / sizeof *QUESTION_WORD; i++)
    if (n == strlen(QUESTION_WORD[i]) && !memcmp(s, QUESTION_WORD[i], n)) return 1;
  return 0;
}

/* The words of a clause.  The query's text is cut at spaces into words;
 * each word keeps the tokens that lie inside it: its bigrams, a Latin word
 * or number, a unigram where a run breaks inside it (치후360), and the head
 * token of a one-character run after a word (제51조).  Left out:
 *   - bigrams across a space (이클 of "화웨이 클라우드"), but for two words of
 *     two characters each, the left one not ending in a particle: they are
 *     one compound written two ways (오픈 스택 / 오픈스택, 가상 머신), and
 *     the bigram across the space keeps its weight, so that both spellings
 *     rank alike.  Between words of a phrase no bigram is asked for: the
 *     words' positions already say they stand together, and punctuation
 *     or markup between them ("이상, 기왕에", "김능환(재판장)") breaks the
 *     run the bigram would need;
 *   - a unigram at the end of a word whose last bigram already holds its
 *     character (in a document the run may go on, so it need not be there).
 * A word of one character (땅 집) is looked for as itself: every term that
 * starts with it (a prefix term, see the top), at its position. */

typedef struct kept_tok {
  osq_token t;
  int prefix;
  int32_t chunk; /* the word it belongs to; -1 for a compound's bridge */
} kept_tok;

static int compile_tokens(osq_results *r, osq__qnode *node, int exact, int scoring, const kept_tok *kt, size_t nk);

/* The stem field's terms of a scoring clause: each Korean word's stem
 * (stem.c, as the indexer's tokenizer gives them, OSQ_TOKEN_STEM) weighs
 * osq__tune_stem_w, but for query stop words; a letters-and-digits word counts osq__tune_stem_w
 * more, as its copy in the stem field would.  The words come from the
 * clause's bigram tokens (a gram across a space ends one), and two short
 * words are one, as compile_tokens joins them (오픈 스택 = 오픈스택), so both
 * spellings stem alike.  The stem terms are in no leaf: they score, they do
 * not decide what matches.  Their BM25 uses the passage's bigram length
 * (the number of stems is proportional to it), so the stored block bounds
 * hold for them as for any term, times their weight. */
static int add_stem_term(osq_results *r, const uint16_t *syl, size_t n) {
  int flags;
  size_t k = osq__stem(syl, n, &flags);
  if (n == 0 || n > OSQ__STEM_MAX_SYL || (osq__tune_stem_qstop && (flags & OSQ__STEM_QSTOP))) return OSQ_OK;
  uint8_t term[1 + 3 * OSQ__STEM_MAX_SYL];
  term[0] = OSQ_STEM_MARK;
  for (size_t i = 0; i < k; i++) {
    uint32_t c = 0xAC00u + syl[i];
    term[1 + 3 * i] = (uint8_t)(0xE0 | (c >> 12));
    term[2 + 3 * i] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    term[3 + 3 * i] = (uint8_t)(0x80 | (c & 0x3F));
  }
  uint32_t idx;
  int rc = add_term(r, (const char *)term, (uint32_t)(1 + 3 * k), 0, &idx);
  if (!rc) r->terms[idx].qtf += osq__tune_stem_w;
  return rc;
}

/* Are words w and w + 1 of a run (syl[wstart[w] .. wstart[w + 1]), ...)
 * one compound written with a space, as compile_tokens joins them: both of
 * at most two syllables, the left one not ending in a particle syllable;
 * and, for the stems, the left one a bare content word: not 가장 (an adverb)
 * of 가장 좋은, not 어떤 of 어떤 종류. */
static int short_pair(const uint16_t *syl, const size_t *wstart, size_t w, size_t nw) {
  size_t len = wstart[w + 1] - wstart[w];
  if (w + 1 >= nw || len > 2 || wstart[w + 2] - wstart[w + 1] > 2) return 0;
  uint8_t last[3];
  uint32_t lc = 0xAC00u + syl[wstart[w + 1] - 1];
  last[0] = (uint8_t)(0xE0 | (lc >> 12));
  last[1] = (uint8_t)(0x80 | ((lc >> 6) & 0x3F));
  last[2] = (uint8_t)(0x80 | (lc & 0x3F));
  if (is_particle((const char *)last, 0)) return 0;
  int f;
  return osq__tune_stem_join != 1 || (osq__stem(syl + wstart[w], len, &f) == len && !(f & OSQ__STEM_QSTOP));
}

static int add_stem_terms(osq_results *r, const osq_token *toks, size_t ntoks) {
  uint16_t syl[OSQ__STEM_MAX_SYL * 4];
  size_t n = 0, nw = 0;
  size_t wstart[OSQ__STEM_MAX_SYL * 4 + 1]; /* the words of the open run */
  int bad = 0, rc = OSQ_OK;
  for (size_t i = 0; i < ntoks && rc == OSQ_OK; i++) {
    const osq_token *t = &toks[i];
    if (t->kind == OSQ_TOKEN_WORD && osq__tune_stem_words) {
      uint32_t idx;
      if ((rc = add_term(r, t->term, t->len, 0, &idx))) return rc;
      r->terms[idx].qtf += osq__tune_stem_w;
    }
    if (t->kind != OSQ_TOKEN_GRAM && t->kind != OSQ_TOKEN_UNI) continue;
    /* the token's first character: a Hangul syllable, or the word gets no stem */
    const uint8_t *p = (const uint8_t *)t->term;
    uint32_t c = t->len >= 3 && (p[0] & 0xF0) == 0xE0 ? (uint32_t)((p[0] & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F)) : 0;
    if (nw == 0) wstart[nw++] = 0;
    if (c >= 0xAC00 && c <= 0xD7A3 && n < sizeof syl / sizeof *syl) syl[n++] = (uint16_t)(c - 0xAC00);
    else bad = 1;
    int word_ends = t->kind == OSQ_TOKEN_UNI || t->space_before == 2;
    if (word_ends && nw < sizeof wstart / sizeof *wstart - 1) wstart[nw++] = n;
    if (t->kind != OSQ_TOKEN_UNI) continue;
    /* the run ended: its words, two short ones joined (see compile_tokens) */
    nw--; /* words w: syl[wstart[w] .. wstart[w + 1]) */
    uint8_t joinable[OSQ__STEM_MAX_SYL * 4 + 1];
    for (size_t w = 0; w < nw; w++) joinable[w] = !bad && osq__tune_stem_join && short_pair(syl, wstart, w, nw);
    size_t from = 0;
    for (size_t w = 0; w < nw && !bad; w++) {
      /* only a pair: a chain of short words (미국 대통령 부인 이름) is
       * words, not one compound */
      if (joinable[w] && (w == 0 || !joinable[w - 1]) && (w + 1 >= nw || !joinable[w + 1])) continue;
      rc = add_stem_term(r, syl + wstart[from], wstart[w + 1] - wstart[from]);
      if (rc) break;
      from = w + 1;
    }
    n = nw = 0;
    bad = 0;
  }
  return rc;
}

static int compile_leaf(osq_results *r, osq__qnode *node, int exact, int scoring) {
  const char *text = node->text;
  size_t tlen = strlen(text);
  const osq_token *toks;
  size_t ntoks;
  int rc = osq__results_tokenize(r, text, tlen, &toks, &ntoks);
  if (rc) return rc;
  if (scoring && osq__tune_stem_w > 0 && (rc = add_stem_terms(r, toks, ntoks))) return rc;
  /* the words: byte ranges between spaces */
  uint32_t *cs = malloc((tlen / 2 + 2) * sizeof *cs), *ce = malloc((tlen / 2 + 2) * sizeof *ce);
  int32_t *tch = malloc((ntoks + 1) * sizeof *tch);
  kept_tok *kt = malloc((ntoks + 1) * sizeof *kt);
  if (!cs || !ce || !tch || !kt) {
    rc = OSQ_E_NOMEM;
    goto done;
  }
  size_t nch = 0;
  for (size_t p = 0; p < tlen;) {
    while (p < tlen && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) p++;
    if (p >= tlen) break;
    cs[nch] = (uint32_t)p;
    while (p < tlen && !(text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) p++;
    ce[nch++] = (uint32_t)p;
  }
  /* the word of each token (tokens come in the order of their starts) */
  for (size_t i = 0, c = 0; i < ntoks; i++) {
    while (c < nch && ce[c] <= toks[i].start) c++;
    tch[i] = c < nch && cs[c] <= toks[i].start && toks[i].end <= ce[c] ? (int32_t)c : -1;
  }
  /* One-syllable words are words of their own when the clause holds
   * nothing longer (땅 집, 법 죄, 국): each is looked up as a prefix term.
   * Beside longer words (몇 년 동안, 할 수 있는) they are glued to their
   * neighbour through the bigram across the space, as before: a prefix
   * term of a common syllable merges hundreds of thousands of postings
   * (a pasted paragraph took 3 s), and such words name little. */
  int glue1 = 0;
  for (size_t i = 0; i < ntoks && !exact; i++)
    if (tch[i] >= 0 && toks[i].kind != OSQ_TOKEN_UNI) glue1 = 1;
  size_t nk = 0;
  for (size_t i = 0; i < ntoks; i++) {
    const osq_token *t = &toks[i];
    int32_t c = tch[i];
    const kept_tok *last = nk ? &kt[nk - 1] : NULL;
    if (t->kind == OSQ_TOKEN_HEAD) {
      /* the exact term for a one-character run after a word (제51조) */
      int run_goes_on = i + 1 < ntoks && toks[i + 1].pos == t->pos && toks[i + 1].kind == OSQ_TOKEN_GRAM && tch[i + 1] == c;
      if (c < 0 || run_goes_on) continue;
      kt[nk++] = (kept_tok){*t, 0, c};
      if (i + 1 < ntoks && toks[i + 1].pos == t->pos && toks[i + 1].kind == OSQ_TOKEN_UNI) i++;
      continue;
    }
    if (c < 0) {
      /* a bigram across a space; the word on its left may be one character
       * that no other token holds */
      int32_t cl = -1;
      for (size_t k = 0; k < nch; k++)
        if (cs[k] <= t->start && t->start < ce[k]) cl = (int32_t)k;
      int covered = last && last->chunk == cl &&
                    (last->t.pos == t->pos || (last->t.kind == OSQ_TOKEN_GRAM && last->t.pos + 1 == t->pos));
      if (cl >= 0 && !covered && !glue1 && t->kind == OSQ_TOKEN_GRAM) {
        osq_token u = *t;
        u.kind = OSQ_TOKEN_UNI;
        u.len = (uint32_t)osq__utf8_len((const uint8_t *)t->term, t->len);
        if (u.len == 0) u.len = 1;
        kt[nk++] = (kept_tok){u, 1, cl};
      }
      if (!exact && t->kind == OSQ_TOKEN_GRAM && t->space_before == 2 && !is_particle(t->term, 0)) {
        /* two words of two characters each: one compound */
        uint32_t left = 1, right = 1;
        for (size_t j = i; j > 0 && toks[j - 1].kind == OSQ_TOKEN_GRAM && toks[j - 1].space_before != 2 &&
                           toks[j - 1].pos + 1 == toks[j].pos; j--)
          left++;
        for (size_t j = i + 1; j < ntoks && toks[j].kind == OSQ_TOKEN_GRAM && toks[j].space_before != 2 &&
                               toks[j].pos == toks[j - 1].pos + 1; j++)
          right++;
        if ((left == 2 && right == 2) || (glue1 && left <= 2 && right <= 2)) kt[nk++] = (kept_tok){*t, 0, -1};
      }
      continue;
    }
    if (t->kind == OSQ_TOKEN_UNI) {
      int covered = last && last->chunk == c && last->t.kind == OSQ_TOKEN_GRAM && last->t.pos + 1 == t->pos;
      int last_in_word = i + 1 == ntoks || tch[i + 1] != c;
      if (covered && last_in_word) continue;
      int sole = (i == 0 || tch[i - 1] != c) && last_in_word;
      if (sole && glue1) continue; /* held by the bigram before it, or by none */
      kt[nk++] = (kept_tok){*t, sole, c};
      continue;
    }
    /* a number that ends a word of a phrase also stands with a unit
     * after it ("몸무게가 85" in "몸무게가 85㎏": the index holds 85kg) */
    int number = exact && t->kind == OSQ_TOKEN_WORD && (i + 1 == ntoks || tch[i + 1] != c);
    for (uint32_t b = 0; number && b < t->len; b++) number = t->term[b] >= '0' && t->term[b] <= '9';
    kt[nk++] = (kept_tok){*t, number ? PREFIX_NUMBER : 0, c};
  }
  /* long queries: words past MAX_WORDS (or past MAX_LEAF tokens) are dropped */
  size_t n = 0;
  int32_t cur = -2;
  int drop = 0;
  for (size_t i = 0; i < nk; i++) {
    if (kt[i].chunk >= 0 && kt[i].chunk != cur) {
      cur = kt[i].chunk;
      size_t end = i;
      while (end < nk && kt[end].chunk == cur) end++;
      drop = drop || r->nwords_seen >= MAX_WORDS || n + (end - i) > MAX_LEAF;
      if (drop) r->dropped_words++;
      else r->nwords_seen++;
    }
    if (drop) continue;
    if (kt[i].chunk < 0 && (i + 1 == nk || n + 1 >= MAX_LEAF)) continue; /* a bridge to a dropped word */
    kt[n++] = kt[i];
  }
  while (n > 0 && kt[n - 1].chunk < 0) n--;
  rc = compile_tokens(r, node, exact, scoring, kt, n);
done:
  free(cs);
  free(ce);
  free(tch);
  free(kt);
  return rc;
}

static int compile_tokens(osq_results *r, osq__qnode *node, int exact, int scoring, const kept_tok *kt, size_t ntoks) {
  int rc;
  if (r->nleaves == r->leaves_cap) { /* doubling: a query may have thousands of clauses */
    size_t cap = r->leaves_cap ? 2 * r->leaves_cap : 8;
    qleaf *lp = realloc(r->leaves, cap * sizeof *lp);
    if (!lp) return OSQ_E_NOMEM;
    r->leaves = lp;
    r->leaves_cap = cap;
  }
  qleaf *l = &r->leaves[r->nleaves];
  memset(l, 0, sizeof *l);
  l->node = node;
  node->leaf = r->nleaves + 1;
  l->exact = exact;
  l->scoring = scoring;
  if (ntoks == 0) {
    r->nleaves++;
    return OSQ_OK;
  }
  l->term = malloc(ntoks * sizeof *l->term);
  l->off = malloc(ntoks * sizeof *l->off);
  l->flag = calloc(ntoks, 1);
  l->kind = calloc(ntoks, 1);
  l->chunk = malloc(ntoks * sizeof *l->chunk);
  if (!l->term || !l->off || !l->flag || !l->kind || !l->chunk) {
    free(l->term);
    free(l->off);
    free(l->flag);
    free(l->kind);
    free(l->chunk);
    return OSQ_E_NOMEM;
  }
  r->nleaves++;
  for (size_t i = 0; i < ntoks; i++) {
    l->kind[i] = kt[i].t.kind;
    l->chunk[i] = kt[i].chunk;
    /* a new word, not joined to the one before by a compound's bridge */
    if (i > 0 && kt[i].chunk >= 0 && kt[i].chunk != kt[i - 1].chunk && kt[i - 1].chunk >= 0) l->flag[i] |= LEAF_START;
  }
  l->n = (uint32_t)ntoks;
  for (size_t i = 0; i < ntoks; i++) l->off[i] = (int32_t)(kt[i].t.pos - kt[0].t.pos);
  /* The last bigram of each word of three or more characters that ends in a
   * particle syllable, and the one before it. */
  for (uint32_t i = 1; i < l->n; i++) {
    int gram = l->kind[i] == OSQ_TOKEN_GRAM;
    int prev_gram = same_word(l, i - 1) && l->kind[i - 1] == OSQ_TOKEN_GRAM;
    int next_gram = i + 1 < l->n && same_word(l, i) && l->kind[i + 1] == OSQ_TOKEN_GRAM;
    if (gram && prev_gram && !next_gram && (!(osq__tune_pmode & 2) || is_particle(kt[i].t.term, 1))) {
      l->flag[i] |= LEAF_TAIL;
      if (i >= 2 && same_word(l, i - 2) && l->kind[i - 2] == OSQ_TOKEN_GRAM) l->flag[i - 1] |= LEAF_TAIL2;
    }
  }
  for (size_t i = 0; i < ntoks; i++) {
    if ((rc = add_term(r, kt[i].t.term, kt[i].t.len, kt[i].prefix, &l->term[i]))) return rc;
    if (scoring) {
      double w = (l->flag[i] & LEAF_TAIL) ? osq__tune_tail_w : (l->flag[i] & LEAF_TAIL2) ? osq__tune_tail2_w : 1.0;
      if (l->kind[i] == OSQ_TOKEN_WORD) w *= osq__tune_word_w;
      r->terms[l->term[i]].qtf += w;
    }
  }
  if (scoring)
    for (uint32_t i = 0; i + 1 < l->n; i++)
      if (pair_counts(l, i)) {
        r->terms[l->term[i]].pair_occ += 1;
        r->terms[l->term[i + 1]].pair_occ += 1;
      }
  if (exact || !scoring) return OSQ_OK;
  /* the clause's words, for matching (osq__passage_tier) */
  for (uint32_t i = 0; i < l->n;) {
    if (l->chunk[i] < 0) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j + 1 < l->n && l->chunk[j + 1] == l->chunk[i]) j++;
    qword w = {(uint32_t)(l - r->leaves), i, j, j, 0};
    /* the stem: the word without an ending */
    uint32_t b = j, a = j;
    if (l->kind[b] == OSQ_TOKEN_GRAM) {
      while (a > i && l->kind[a - 1] == OSQ_TOKEN_GRAM && l->off[a - 1] + 1 == l->off[a]) a--;
      uint32_t e = ending_chars(r, l, a, b);
      if (e) w.s1 = b - e;
    } else if (j > i && (l->kind[j] == OSQ_TOKEN_UNI || l->kind[j] == OSQ_TOKEN_HEAD) && l->kind[j - 1] == OSQ_TOKEN_WORD) {
      /* nova를: a particle after a Latin word or a number */
      const qterm *u = &r->terms[l->term[j]];
      const uint8_t *p = u->term + (l->kind[j] == OSQ_TOKEN_HEAD);
      for (size_t k = 0; k < sizeof ENDINGS / sizeof *ENDINGS; k++)
        if (strlen(ENDINGS[k]) == 3 && u->len - (l->kind[j] == OSQ_TOKEN_HEAD) == 3 && !memcmp(p, ENDINGS[k], 3))
          w.s1 = j - 1;
    }
    /* the stem's text, to tell question words */
    uint8_t st[64];
    size_t sn = 0;
    for (uint32_t k = w.w0; k <= w.s1; k++) {
      const qterm *qt = &r->terms[l->term[k]];
      const uint8_t *tb = qt->term + (l->kind[k] == OSQ_TOKEN_HEAD);
      size_t tn = qt->len - (l->kind[k] == OSQ_TOKEN_HEAD);
      if (l->kind[k] == OSQ_TOKEN_GRAM && k > w.w0 && l->kind[k - 1] == OSQ_TOKEN_GRAM && l->off[k - 1] + 1 == l->off[k]) {
        size_t first = osq__utf8_len(tb, tn);
        tb += first;
        tn -= first;
      }
      if (sn + tn > sizeof st) break;
      memcpy(st + sn, tb, tn);
      sn += tn;
    }
    w.weak = is_question_word(st, sn);
    /* a word of two syllables whose second is a particle (돈을, 물의): its
     * stem is one syllable, too common to ask for */
    if (osq__tune_weak2 && sn == 6 && w.s1 == w.w1 && l->kind[w.w0] == OSQ_TOKEN_GRAM && w.w0 == w.w1) {
      static const char *const P2[] = {"을", "를", "은", "는", "에", "의", "도", "로", "와", "과"};
      for (size_t k = 0; k < sizeof P2 / sizeof *P2; k++)
        if (!memcmp(st + 3, P2[k], 3)) w.weak = 1;
    }
    qword *pw = realloc(r->words, (r->nwords + 1) * sizeof *pw);
    if (!pw) return OSQ_E_NOMEM;
    r->words = pw;
    r->words[r->nwords++] = w;
    i = j + 1;
  }
  return OSQ_OK;
}

int osq__search_compile(osq_results *r, osq__qnode *n, int top, int negative) {
  if (n->kind == OSQ__Q_LEAF) {
    int exact = n->phrase || !top || n->occur != OSQ__OCC_SHOULD;
    return compile_leaf(r, n, exact, !negative);
  }
  for (size_t i = 0; i < n->nkids; i++) {
    osq__qnode *k = n->kids[i];
    int rc = osq__search_compile(r, k, top && !n->any && n == r->root, negative ^ (k->occur == OSQ__OCC_NOT));
    if (rc) return rc;
  }
  return OSQ_OK;
}

/* How many of n words and clauses a passage must match to match a query
 * of plain words.  All of them, up to osq__tune_share_all; beyond, a share of them:
 * long natural-language questions (msmarco) name things a relevant passage
 * says in other words, and asking for every word would lose it
 * (docs/ranking.md has the measurements). */
static size_t need_of(size_t n) {
  if (n <= osq__tune_share_all) return n;
  size_t k = (size_t)ceil(osq__tune_share * (double)n - 1e-9);
  if (k < osq__tune_share_all) k = osq__tune_share_all;
  return k > n ? n : k;
}

/* Decides how the query matches.  A query whose top level holds plain
 * words (and maybe phrases, groups and exclusions, but no +must clause) is
 * "tiered": a passage matches when it holds `need` of its words (each word
 * whole, or its stem: osq__word_match) and clauses; passages that hold fewer,
 * but at least a piece of a word, are found by a second pass and shown
 * after the matches (pass 2).  Other queries match as the boolean tree
 * says (osq__node_match).  Marks the terms every match must contain, so that
 * evaluation can intersect instead of unite. */
int osq__plan_matching(osq_results *r) {
  const osq__qnode *root = r->root;
  size_t must = 0, should = 0;
  for (size_t i = 0; i < root->nkids; i++) {
    if (root->kids[i]->occur == OSQ__OCC_MUST) must++;
    else if (root->kids[i]->occur == OSQ__OCC_SHOULD) should++;
  }
  r->tiered = osq__tune_tiers && !root->any && must == 0 && r->nwords > 0;
  if (r->tiered) {
    r->units = calloc(root->nkids + 1, sizeof *r->units);
    if (!r->units) return OSQ_E_NOMEM;
    for (size_t i = 0; i < root->nkids; i++) {
      const osq__qnode *k = root->kids[i];
      if (k->occur != OSQ__OCC_SHOULD) continue;
      const qleaf *l = k->kind == OSQ__Q_LEAF ? leaf_of(r, k) : NULL;
      if (l && !l->exact) continue; /* its words are in r->words */
      if (l && l->n == 0) continue; /* nothing to match (a quoted "?") */
      r->units[r->nunits++] = k;
    }
    size_t strong = r->nunits;
    for (size_t i = 0; i < r->nwords; i++) strong += !r->words[i].weak;
    if (strong == r->nunits && r->nunits == 0)
      for (size_t i = 0; i < r->nwords; i++) r->words[i].weak = 0; /* nothing but question words */
    r->nstrong = strong ? strong : r->nwords;
    r->need = need_of(r->nstrong);
    return OSQ_OK;
  }
  if (root->any) return OSQ_OK;
  for (size_t i = 0; i < root->nkids; i++) {
    const osq__qnode *k = root->kids[i];
    if (k->kind != OSQ__Q_LEAF || k->occur == OSQ__OCC_NOT) continue;
    if (k->occur == OSQ__OCC_SHOULD && (must || should != 1)) continue;
    const qleaf *l = leaf_of(r, k);
    if (!l || !l->exact) continue;
    for (uint32_t j = 0; j < l->n; j++) r->terms[l->term[j]].required = 1;
  }
  return OSQ_OK;
}

/* The required terms of a tiered query's first pass: when every word and
 * clause must match, each word's stem and each top-level phrase. */
void osq__mark_required(osq_results *r, int on) {
  for (size_t t = 0; t < r->nterms; t++)
    if (r->tiered) r->terms[t].required = 0;
  /* A query of one word is a ranked disjunction of its bigrams whose
   * windows and bounds (the whole-word bonus on its rarest bigram) find the
   * top k faster than an intersection: 대하여, 원심판결 took 2 to 3 times the
   * instructions intersected. */
  if (!r->tiered || !on || r->need < r->nstrong || r->nstrong < 2 || !osq__tune_req) return;
  for (size_t i = 0; i < r->nwords; i++) {
    const qword *w = &r->words[i];
    if (w->weak) continue;
    const qleaf *l = &r->leaves[w->leaf];
    for (uint32_t j = w->w0; j <= w->s1; j++) r->terms[l->term[j]].required = 1;
  }
  for (size_t i = 0; i < r->nunits; i++) {
    const qleaf *l = r->units[i]->kind == OSQ__Q_LEAF ? leaf_of(r, r->units[i]) : NULL;
    if (l)
      for (uint32_t j = 0; j < l->n; j++) r->terms[l->term[j]].required = 1;
  }
  /* One required term (a word of two syllables) is better found by the
   * windows of the ranked disjunction, which intersections do not use;
   * osq__passage_tier keeps the matches exact either way. */
  size_t nreq = 0;
  for (size_t t = 0; t < r->nterms; t++) nreq += (size_t)r->terms[t].required;
  if (nreq < 2)
    for (size_t t = 0; t < r->nterms; t++) r->terms[t].required = 0;
}

/* ---- per-segment evaluation ------------------------------------------------ */

/* Global document frequencies: the sum over segments. */
int osq__search_stats(osq_results *r) {
  osq_index *ix = r->ix;
  r->N = (double)ix->npassages;
  r->nsegs_is_one = ix->nsegs == 1;
  r->avglen = ix->npassages ? (double)ix->total_tokens / (double)ix->npassages : 1.0;
  if (r->avglen <= 0) r->avglen = 1.0;
  for (size_t t = 0; t < r->nterms; t++) {
    qterm *qt = &r->terms[t];
    qt->df = 0;
    /* The cursor that finds the df is the one the search then takes: a
     * term is looked up in each segment's dictionary once, not twice. */
    if (!qt->pre && !(qt->pre = calloc(ix->nsegs, sizeof *qt->pre))) return OSQ_E_NOMEM;
    for (uint32_t s = 0; s < ix->nsegs; s++) {
      int rc = osq__tcur_open(&qt->pre[s], &ix->segs[s], qt);
      if (rc) return rc;
      qt->df += tcur_df(&qt->pre[s]);
    }
    double df = (double)qt->df;
    qt->idf = log(1.0 + (r->N - df + 0.5) / (df + 0.5));
  }
  return OSQ_OK;
}

/* Puts what osq__whole_bonus can add for a chain of bigrams on the bound of its
 * rarest term: a passage without that term cannot get it, so the other
 * terms' bounds stay as they were, and a word's frequent tail (건에 of
 * 사건에) does not become essential to MaxScore.  Spread over every term of
 * the chain, the bound made one-word queries twice as slow at p99. */
static void chain_bound(osq_results *r, const qleaf *l, uint32_t i0, uint32_t i1) {
  double idfs = 0;
  uint32_t best = l->term[i0];
  for (uint32_t i = i0; i <= i1; i++) {
    const qterm *qt = &r->terms[l->term[i]];
    idfs += qt->idf;
    if (qt->df < r->terms[best].df) best = l->term[i];
  }
  r->terms[best].whole_ub += r->whole_w * idfs;
}

void osq__whole_bounds(osq_results *r) {
  if (r->whole_w == 0) return;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t w0 = 0, w1; next_word(l, w0, &w0, &w1); w0 = w1 + 1) {
      chain_bound(r, l, w0, w1);
      uint32_t s1 = stem_end(l, w0, w1);
      if (s1 < w1 && s1 > w0) chain_bound(r, l, w0, s1);
    }
  }
}

/* Words the query's scoring clauses hold (space-separated). */
size_t osq__query_words(const osq_results *r) {
  size_t n = 0;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || !l->node || !l->node->text) continue;
    int in = 0;
    for (const char *p = l->node->text; *p; p++) {
      int sp = *p == ' ' || *p == '\t';
      if (!sp && !in) n++;
      in = !sp;
    }
  }
  return n;
}
