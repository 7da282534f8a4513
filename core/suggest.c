/*
 * suggest.c -- the index's words, for completion, initial consonants and
 * typo candidates, read from the dictionary the index already has.
 *
 * No word list is stored for these: the stem field (stem.c, writer.c) gives
 * every Korean word of the text one term, \x02 + its stem (오픈스택을 ->
 * \x02오픈스택), so the dictionary's \x02 range IS a sorted list of the
 * index's Korean words, each with the number of passages holding it (its
 * df); letters-and-digits words are terms of their own (openstack).  The
 * cost of these features is therefore nothing on disk and a scan of a
 * small range of the sorted dictionary at query time:
 *   - completion scans the words that start with the typed syllables and
 *     then one syllable of those the last typed letter can still become
 *     (황 "ghkd": 황... and 화 followed by a syllable starting with ㅇ);
 *   - 초성 (ㅎㅇㅇ) and typo candidates scan the words whose first syllable
 *     has the same initial consonant as the query's: a nineteenth of the
 *     Korean words, in the dictionary's order (syllables are sorted by
 *     initial consonant), read as runs of 64 code points (one 2-byte UTF-8
 *     prefix each).
 * A word found in several segments has its dfs summed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "box.h"
#include "hangul.h"
#include "stem.h"

#define KEYS_MAX 256 /* keys of the longest word compared */

void osq__words_free(osq__words *ws) {
  for (size_t i = 0; i < ws->n; i++) free(ws->w[i].text);
  free(ws->w);
  memset(ws, 0, sizeof *ws);
}

static int words_add(osq__words *ws, const uint8_t *t, size_t n, uint64_t df, uint32_t max_tf, int dist) {
  if (ws->n == ws->cap) {
    size_t cap = ws->cap ? 2 * ws->cap : 64;
    osq__word *w = realloc(ws->w, cap * sizeof *w);
    if (!w) return OSQ_E_NOMEM;
    ws->w = w;
    ws->cap = cap;
  }
  char *s = malloc(n + 1);
  if (!s) return OSQ_E_NOMEM;
  memcpy(s, t, n);
  s[n] = 0;
  ws->w[ws->n].text = s;
  ws->w[ws->n].df = df;
  ws->w[ws->n].dist = dist;
  ws->w[ws->n].max_tf = max_tf;
  ws->n++;
  return OSQ_OK;
}

static int cmp_text(const void *a, const void *b) {
  return strcmp(((const osq__word *)a)->text, ((const osq__word *)b)->text);
}
static int cmp_rank(const void *a, const void *b) {
  const osq__word *x = a, *y = b;
  if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
  if (x->df != y->df) return x->df > y->df ? -1 : 1;
  return strcmp(x->text, y->text);
}

/* Completions: the most occurrences first, as far as the dictionary
 * tells them: at least df - 1 + max_tf (one passage holds the word max_tf
 * times, the others once or more). */
static int cmp_occurrences(const void *a, const void *b) {
  const osq__word *x = a, *y = b;
  uint64_t ox = x->df + x->max_tf, oy = y->df + y->max_tf;
  if (ox != oy) return ox > oy ? -1 : 1;
  return cmp_rank(a, b);
}

/* The words of a 초성 pattern: the word some passage
 * repeats most first (max_tf, kept in the dictionary for block bounds),
 * then the most common.  A word a passage repeats is what the passage is
 * about, a name or a topic, which is what people type the start or the
 * initials of; a word found once in many passages is mostly incidental.
 * On the bundled corpus, by passages alone, ㅎㅇㅇ gives 화요일 (Tuesday:
 * 9 passages, never twice in one) before 화웨이 (1 passage, 3 times), and
 * 황 lists 화웨이 27th; by salience 화웨이 comes first and second. */
static int cmp_salience(const void *a, const void *b) {
  const osq__word *x = a, *y = b;
  if (x->max_tf != y->max_tf) return x->max_tf > y->max_tf ? -1 : 1;
  return cmp_rank(a, b);
}

/* Sums the dfs of a word found in several segments, then keeps the best k
 * (nearest, most frequent). */
static void words_finish(osq__words *ws, size_t k, int (*order)(const void *, const void *)) {
  if (ws->n > 1 && ws->merge) {
    qsort(ws->w, ws->n, sizeof *ws->w, cmp_text);
    size_t o = 0;
    ws->merge = 0;
    for (size_t i = 0; i < ws->n; i++) {
      if (o && !strcmp(ws->w[o - 1].text, ws->w[i].text)) {
        ws->w[o - 1].df += ws->w[i].df;
        if (ws->w[i].dist < ws->w[o - 1].dist) ws->w[o - 1].dist = ws->w[i].dist;
        if (ws->w[i].max_tf > ws->w[o - 1].max_tf) ws->w[o - 1].max_tf = ws->w[i].max_tf;
        free(ws->w[i].text);
      } else {
        ws->w[o++] = ws->w[i];
      }
    }
    ws->n = o;
  }
  if (ws->n > 1) qsort(ws->w, ws->n, sizeof *ws->w, order);
  while (ws->n > k) free(ws->w[--ws->n].text);
}

/* ---- scanning the dictionary ------------------------------------------- */

/* Decides whether a term (the bytes after the scanned mark) is wanted:
 * returns its distance (0 for a plain yes), or -1. */
typedef int (*keep_fn)(void *ctx, const uint8_t *t, size_t n);

typedef struct scan {
  osq__words *out;
  keep_fn keep;
  void *ctx;
  size_t skip; /* bytes of mark before the word (1 for \x02) */
  int rc;
} scan;

static int scan_one(void *ctx, const uint8_t *term, size_t len, const osq__term_info *ti) {
  scan *s = ctx;
  if (len <= s->skip) return 0;
  int d = s->keep(s->ctx, term + s->skip, len - s->skip);
  if (d < 0) return 0;
  if ((s->rc = words_add(s->out, term + s->skip, len - s->skip, ti->df, ti->max_tf, d))) return 1;
  return 0;
}

static int scan_prefix(const osq_index *ix, const uint8_t *prefix, size_t plen, size_t skip, keep_fn keep, void *ctx,
                       osq__words *out) {
  const osq__segment *segs;
  uint32_t nsegs;
  osq__index_segments(ix, &segs, &nsegs);
  if (nsegs > 1) out->merge = 1;
  scan s = {out, keep, ctx, skip, OSQ_OK};
  for (uint32_t i = 0; i < nsegs; i++) {
    int rc = osq__segment_prefix(&segs[i], prefix, plen, scan_one, &s);
    if (rc) return rc;
    if (s.rc) return s.rc;
  }
  return OSQ_OK;
}

/* Scans the Korean words (stem terms) that start with the UTF-8 bytes
 * head[0..hn) followed by a syllable in [lo, hi]: one scan per run of 64
 * code points sharing their first two UTF-8 bytes. */
static int scan_syllables(const osq_index *ix, const char *head, size_t hn, uint32_t lo, uint32_t hi, keep_fn keep,
                          void *ctx, osq__words *out) {
  uint8_t prefix[OSQ__MAX_TERM + 1];
  if (hn + 3 > OSQ__MAX_TERM) return OSQ_OK;
  prefix[0] = OSQ_STEM_MARK;
  memcpy(prefix + 1, head, hn);
  for (uint32_t run = lo >> 6; run <= hi >> 6; run++) {
    prefix[1 + hn] = (uint8_t)(0xE0 | (run >> 6));
    prefix[2 + hn] = (uint8_t)(0x80 | (run & 0x3F));
    int rc = scan_prefix(ix, prefix, hn + 3, 1, keep, ctx, out);
    if (rc) return rc;
  }
  return OSQ_OK;
}

static int all_syllables(const char *s, size_t n, uint16_t *syl, size_t cap, size_t *m) {
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next(s + i, n - i, &c);
    if (!osq__is_syllable(c) || k == cap) return 0;
    if (syl) syl[k] = (uint16_t)(c - OSQ__SYL_FIRST);
    k++;
  }
  *m = k;
  return k > 0;
}

static int latin_word(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) return 0;
  return n > 0;
}

static uint64_t term_df(const osq_index *ix, const uint8_t *t, size_t n) {
  const osq__segment *segs;
  uint32_t nsegs;
  uint64_t df = 0;
  osq__index_segments(ix, &segs, &nsegs);
  for (uint32_t i = 0; i < nsegs; i++) {
    osq__term_info ti;
    if (osq__segment_lookup(&segs[i], t, n, &ti) == OSQ_OK) df += ti.df;
  }
  return df;
}

uint64_t osq__word_df(const osq_index *ix, const char *w, size_t n) {
  uint16_t syl[OSQ__STEM_MAX_SYL];
  size_t m;
  if (latin_word(w, n)) return n <= OSQ__MAX_TERM ? term_df(ix, (const uint8_t *)w, n) : 0;
  if (!all_syllables(w, n, syl, OSQ__STEM_MAX_SYL, &m)) return 0;
  int flags;
  size_t k = osq__stem(syl, m, &flags);
  uint8_t term[1 + 3 * OSQ__STEM_MAX_SYL];
  term[0] = OSQ_STEM_MARK;
  size_t tn = 1;
  for (size_t i = 0; i < k; i++) tn += osq__utf8_put((char *)term + tn, OSQ__SYL_FIRST + syl[i]);
  return term_df(ix, term, tn);
}

size_t osq__stem_bytes(const char *w, size_t n) {
  uint16_t syl[OSQ__STEM_MAX_SYL];
  size_t m;
  if (!all_syllables(w, n, syl, OSQ__STEM_MAX_SYL, &m)) return 0;
  int flags;
  return 3 * osq__stem(syl, m, &flags);
}

/* ---- completion ---------------------------------------------------------- */

typedef struct keyprefix {
  char keys[KEYS_MAX];
  size_t n;
  const char *typed; /* the prefix as typed: a word starting with it matches */
  size_t typed_n;
} keyprefix;

/* Keeps a word whose keys start with the typed keys. */
static int keep_keyprefix(void *ctx, const uint8_t *t, size_t n) {
  const keyprefix *kp = ctx;
  if (n >= kp->typed_n && !memcmp(t, kp->typed, kp->typed_n)) return 0;
  char keys[KEYS_MAX];
  long kn = osq__hangul_keys((const char *)t, n, keys, sizeof keys);
  return kn >= (long)kp->n && !memcmp(keys, kp->keys, kp->n) ? 0 : -1;
}
static int keep_any(void *ctx, const uint8_t *t, size_t n) {
  (void)ctx;
  (void)t;
  (void)n;
  return 0;
}

int osq__complete(const osq_index *ix, const char *p, size_t n, size_t k, int half_typed, osq__words *out) {
  memset(out, 0, sizeof *out);
  if (n == 0 || n > OSQ__MAX_TERM - 4) return OSQ_OK;
  int rc = OSQ_OK;
  size_t last;
  if (latin_word(p, n) || (!half_typed && all_syllables(p, n, NULL, SIZE_MAX, &last))) {
    /* letters, or syllables taken as typed (word* in a query) */
    uint8_t prefix[OSQ__MAX_TERM + 1];
    size_t skip = latin_word(p, n) ? 0 : 1;
    prefix[0] = OSQ_STEM_MARK;
    memcpy(prefix + skip, p, n);
    rc = scan_prefix(ix, prefix, n + skip, skip, keep_any, NULL, out);
    words_finish(out, k, cmp_occurrences);
    return rc;
  }
  /* Korean: the syllables before the last are typed; the last character
   * (a syllable or a lone letter) may still grow. */
  last = 0;
  uint32_t c = 0;
  for (size_t i = 0; i < n;) {
    last = i;
    size_t l = osq__utf8_next(p + i, n - i, &c);
    if (i + l < n && !osq__is_syllable(c)) return OSQ_OK; /* only the last may be a lone letter */
    i += l;
  }
  int cho = osq__is_syllable(c) ? osq__syl_cho(c) : osq__cjamo_cho(c);
  if (cho < 0) return OSQ_OK;
  keyprefix kp;
  long kn = osq__hangul_keys(p, n, kp.keys, sizeof kp.keys);
  if (kn < 0) return OSQ_OK;
  kp.n = (size_t)kn;
  kp.typed = p;
  kp.typed_n = n;
  char lk[16];
  long lkn = osq__hangul_keys(p + last, n - last, lk, sizeof lk);
  if (lkn < 0) return OSQ_OK;
  /* The syllables the last character can still become, or the ones it
   * can be followed by once its final consonant moves on (황 -> 화 + ㅇ...):
   * those whose keys and the last character's keys are prefixes one of
   * the other.  Each is scanned alone when there are few. */
  uint32_t lo = OSQ__SYL_FIRST + (uint32_t)cho * OSQ__SYL_PER_CHO, cand[OSQ__SYL_PER_CHO];
  size_t ncand = 0;
  for (uint32_t s = lo; s < lo + OSQ__SYL_PER_CHO; s++) {
    char sk[16], u[4];
    long skn = osq__hangul_keys(u, osq__utf8_put(u, s), sk, sizeof sk);
    size_t m = skn < lkn ? (size_t)skn : (size_t)lkn;
    if (skn > 0 && !memcmp(sk, lk, m)) cand[ncand++] = s;
  }
  if (ncand > 16) {
    rc = scan_syllables(ix, p, last, cand[0], cand[ncand - 1], keep_keyprefix, &kp, out);
  } else {
    uint8_t prefix[OSQ__MAX_TERM + 1];
    prefix[0] = OSQ_STEM_MARK;
    memcpy(prefix + 1, p, last);
    for (size_t i = 0; i < ncand && !rc; i++) {
      size_t l = osq__utf8_put((char *)prefix + 1 + last, cand[i]);
      char sk[16];
      long skn = osq__hangul_keys((char *)prefix + 1 + last, l, sk, sizeof sk);
      int next = -1; /* a final that moves on: the next syllable's initial */
      for (int c2 = 0; skn >= 0 && skn < lkn && c2 < 19 && next < 0; c2++) {
        char ck[16], u[4];
        long ckn = osq__hangul_keys(u, osq__utf8_put(u, OSQ__SYL_FIRST + (uint32_t)c2 * OSQ__SYL_PER_CHO), ck, sizeof ck);
        if (ckn > 0 && ck[0] == lk[skn]) next = c2;
      }
      if (next >= 0) { /* 황 -> 화 + a syllable starting with ㅇ: that range only */
        uint32_t nlo = OSQ__SYL_FIRST + (uint32_t)next * OSQ__SYL_PER_CHO;
        rc = scan_syllables(ix, (char *)prefix + 1, last + l, nlo, nlo + OSQ__SYL_PER_CHO - 1, keep_keyprefix, &kp, out);
      } else {
        rc = scan_prefix(ix, prefix, 1 + last + l, 1, keep_keyprefix, &kp, out);
      }
    }
  }
  if (rc) return rc;
  /* Two readings of a half-typed syllable: the syllable as typed (황:
   * 황제, 황우석) and the one it becomes as typing goes on (화 + ㅇ...:
   * 화요일, 화웨이), since the box cannot tell whether the last consonant
   * ends this syllable or starts the next.  The second reading keeps a
   * third of the list (its most frequent words), so that it is seen even
   * when the first has many more occurrences; the list is then ordered by
   * occurrences. */
  words_finish(out, SIZE_MAX, cmp_occurrences);
  size_t total = out->n, keep_b = k / 3, o = 0, nb = 0;
  for (size_t i = 0; i < total; i++) out->w[i].dist = strncmp(out->w[i].text, p, n) != 0; /* 1: grown */
  for (size_t i = 0; i < total && nb < keep_b; i++) /* mark the grown reading's best */
    if (out->w[i].dist == 1) {
      out->w[i].dist = 2;
      nb++;
    }
  size_t others = k > nb ? k - nb : 0;
  for (size_t i = 0; i < total; i++) {
    if (out->w[i].dist == 2 || others > 0) {
      if (out->w[i].dist != 2) others--;
      osq__word t = out->w[o];
      out->w[o++] = out->w[i];
      out->w[i] = t;
    }
  }
  for (size_t i = 0; i < o; i++) out->w[i].dist = 0;
  if (o > 1) qsort(out->w, o, sizeof *out->w, cmp_occurrences); /* (qsort of NULL: UBSan) */
  while (out->n > o) free(out->w[--out->n].text);
  while (out->n > k) free(out->w[--out->n].text);
  return OSQ_OK;
}

/* ---- initial consonants ------------------------------------------------ */

typedef struct pattern {
  int32_t el[OSQ__STEM_MAX_SYL]; /* a syllable (>= 0xAC00), or -1 - choseong */
  size_t n;
} pattern;

static int keep_pattern(void *ctx, const uint8_t *t, size_t n) {
  const pattern *pt = ctx;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next((const char *)t + i, n - i, &c);
    if (k == pt->n || !osq__is_syllable(c)) return -1;
    int32_t e = pt->el[k++];
    if (e >= 0 ? (uint32_t)e != c : osq__syl_cho(c) != -1 - e) return -1;
  }
  return k == pt->n ? 0 : -1;
}

int osq__choseong(const osq_index *ix, const char *p, size_t n, size_t k, osq__words *out, int *is_pattern) {
  memset(out, 0, sizeof *out);
  *is_pattern = 0;
  pattern pt;
  pt.n = 0;
  int lone = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next(p + i, n - i, &c);
    if (pt.n == OSQ__STEM_MAX_SYL) return OSQ_OK;
    if (osq__is_syllable(c)) {
      pt.el[pt.n++] = (int32_t)c;
    } else {
      int cho = osq__cjamo_cho(c);
      if (cho < 0) return OSQ_OK;
      pt.el[pt.n++] = -1 - cho;
      lone = 1;
    }
  }
  if (!lone) return OSQ_OK;
  *is_pattern = 1;
  int rc;
  if (pt.el[0] >= 0) {
    uint8_t prefix[4] = {OSQ_STEM_MARK};
    size_t l = osq__utf8_put((char *)prefix + 1, (uint32_t)pt.el[0]);
    rc = scan_prefix(ix, prefix, 1 + l, 1, keep_pattern, &pt, out);
  } else {
    uint32_t lo = OSQ__SYL_FIRST + (uint32_t)(-1 - pt.el[0]) * OSQ__SYL_PER_CHO;
    rc = scan_syllables(ix, "", 0, lo, lo + OSQ__SYL_PER_CHO - 1, keep_pattern, &pt, out);
  }
  /* The most salient first (cmp_salience). */
  words_finish(out, k, cmp_salience);
  return rc;
}

/* ---- words near a typo -------------------------------------------------- */

/* The optimal string alignment distance of a and b (insertions, deletions,
 * substitutions, swaps of neighbours), or max + 1 once it exceeds max. */
static int edit_distance(const char *a, size_t an, const char *b, size_t bn, int max) {
  if ((an > bn ? an - bn : bn - an) > (size_t)max) return max + 1;
  int prev2[KEYS_MAX + 1], prev[KEYS_MAX + 1], cur[KEYS_MAX + 1];
  if (bn > KEYS_MAX) return max + 1;
  for (size_t j = 0; j <= bn; j++) prev[j] = (int)j;
  for (size_t i = 1; i <= an; i++) {
    cur[0] = (int)i;
    int best = cur[0];
    for (size_t j = 1; j <= bn; j++) {
      int d = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < d) d = prev[j] + 1;
      if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < d) d = prev2[j - 2] + 1;
      cur[j] = d;
      if (d < best) best = d;
    }
    if (best > max) return max + 1;
    memcpy(prev2, prev, (bn + 1) * sizeof *prev);
    memcpy(prev, cur, (bn + 1) * sizeof *prev);
  }
  return prev[bn];
}

typedef struct nearby {
  char keys[KEYS_MAX];
  size_t n;
  int max;
  int korean;
  size_t syllables; /* of a Korean word */
} nearby;

static int keep_near(void *ctx, const uint8_t *t, size_t n) {
  const nearby *nb = ctx;
  char keys[KEYS_MAX];
  const char *k = (const char *)t;
  size_t kn = n;
  if (nb->korean) {
    /* stems are syllables of 3 bytes: one syllable more or less at most,
     * checked before the keys are made (most of the range fails here) */
    size_t syl = n / 3;
    if (syl + 1 < nb->syllables || syl > nb->syllables + 1) return -1;
    long l = osq__hangul_keys((const char *)t, n, keys, sizeof keys);
    if (l < 0) return -1;
    k = keys;
    kn = (size_t)l;
  } else if (!latin_word((const char *)t, n)) {
    return -1;
  }
  int d = edit_distance(nb->keys, nb->n, k, kn, nb->max);
  return d >= 1 && d <= nb->max ? d : -1;
}

int osq__near_words(const osq_index *ix, const char *w, size_t n, size_t k, osq__words *out) {
  memset(out, 0, sizeof *out);
  nearby nb;
  int rc = OSQ_OK;
  if (latin_word(w, n)) {
    /* Letters: words with the same first letter, one edit in up to five
     * letters, two beyond. */
    if (n < 4 || n >= KEYS_MAX) return OSQ_OK;
    memcpy(nb.keys, w, n);
    nb.n = n;
    nb.max = n <= 5 ? 1 : 2;
    nb.korean = 0;
    nb.syllables = 0;
    rc = scan_prefix(ix, (const uint8_t *)w, 1, 0, keep_near, &nb, out);
  } else {
    uint16_t syl[OSQ__STEM_MAX_SYL];
    size_t m;
    if (!all_syllables(w, n, syl, OSQ__STEM_MAX_SYL, &m) || m < 2) return OSQ_OK;
    long kn = osq__hangul_keys(w, n, nb.keys, sizeof nb.keys);
    if (kn < 0) return OSQ_OK;
    /* Jamo: one edit in a word of up to six keys (two syllables), two
     * beyond; words whose first syllable starts with the same consonant. */
    nb.n = (size_t)kn;
    nb.max = kn <= 6 ? 1 : 2;
    nb.korean = 1;
    nb.syllables = m;
    uint32_t lo = OSQ__SYL_FIRST + (uint32_t)(syl[0] / OSQ__SYL_PER_CHO) * OSQ__SYL_PER_CHO;
    rc = scan_syllables(ix, "", 0, lo, lo + OSQ__SYL_PER_CHO - 1, keep_near, &nb, out);
  }
  words_finish(out, k, cmp_rank);
  return rc;
}
