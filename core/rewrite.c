/*
 * rewrite.c -- the search box: what a Korean user types, searched as meant.
 *
 * osq_box_search rewrites the words of a query before osq_search sees it,
 * then, when the query matches almost nothing, tries words near its words.
 * Only bare words are touched: phrases, +word, -word and operators are
 * searched as typed.  In order, for each bare word:
 *
 *   word*      its completions (suggest.c), the most frequent first, as an
 *              OR group: 오픈* -> (오픈스택 OR 오픈소스 OR ...).
 *   ㅎㅇㅇ      a word with lone initial consonants (초성; 오ㅍㅅㅌ mixes
 *              syllables in) becomes the index's words they spell, the most
 *              frequent first, as an OR group.  A query of them that matches
 *              literally (ㅋㅋㅋ in chat logs) keeps its literal results: the
 *              words are then only offered (did_you_mean).
 *   ghkdnpdl   letters that are no word of the index but type a Korean word
 *              of it on the 2-beolsik keyboard (libhangul, hangul.c) become
 *              that word: 화웨이.  The reverse, Hangul that is no word of the
 *              index but whose keys are a word of letters (ㅐㅔ둔ㅅㅁ차), becomes
 *              that word (openstack).
 *   aliases    a word of a synonyms group is searched with the group's
 *              other words (huawei -> (huawei OR 화웨이)) when the query is
 *              that one word or the word is in fewer than FEW passages:
 *              queries of several words that match keep their ranking.
 *
 * Then, unless no_correct: if the query matches fewer than FEW passages,
 * each bare word of it gets its nearest index word (suggest.c: one or two
 * edits in jamo or letters) if that word is in at least CORRECT_RATIO
 * times as many passages as the word typed; the corrected query is searched,
 * and kept when it matches CORRECT_RATIO times as many passages; otherwise
 * it is offered (did_you_mean).
 *
 * A synonyms file holds one group of words a line, separated by commas:
 *
 *     # comment lines and blank lines are skipped
 *     화웨이, Huawei
 *     오픈스택, OpenStack
 *
 * Words are single words (no space inside), UTF-8, matched as the user
 * types them with letters in any case.  A word in several groups expands to
 * all of them.  The built-in list (default_synonyms) holds names of the
 * bundled corpus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box.h"
#include "hangul.h"

#define FEW 3             /* a query (or word) matching fewer passages "matches almost nothing" */
#define CORRECT_RATIO 3   /* a correction must match this many times more */
#define CHOSEONG_WORDS 64 /* words a 초성 pattern is matched against (the best is searched) */
#define CHOSEONG_ALSO 4   /* other words it could be, named in the note */
#define PREFIX_WORDS 10   /* words a word* becomes */
#define WORD_MAX 256      /* longest word rewritten (bytes) */

static const char default_synonyms[] =
    "화웨이, huawei\n"
    "오픈스택, openstack\n"
    "바이두, baidu\n"
    "클라우드, cloud\n"
    "시트릭스, citrix\n"
    "클라우드스택, cloudstack\n"
    "텐센트, tencent\n"
    "알리바바, alibaba\n"
    "레드햇, redhat\n"
    "랙스페이스, rackspace\n"
    "마이크로소프트, microsoft\n"
    "구글, google\n"
    "아마존, amazon\n"
    "리눅스, linux\n"
    "우분투, ubuntu\n"
    "쿠버네티스, kubernetes\n"
    "노바, nova\n"
    "뉴트론, neutron\n"
    "키스톤, keystone\n"
    "호라이즌, horizon\n"
    "스위프트, swift\n"
    "글랜스, glance\n"
    "신더, cinder\n";

typedef struct alias {
  char *word; /* lowercased */
  size_t group;
} alias;

struct osq_box {
  osq_index *ix;
  osq_box_options opts;
  alias *al;
  size_t nal, cap;
  char **gwords; /* words of every group, as written, by group: gstart[g] .. gstart[g+1] */
  size_t *gstart;
  size_t ngroups, nwords;
};

static void lower_ascii(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

static int cmp_alias(const void *a, const void *b) { return strcmp(((const alias *)a)->word, ((const alias *)b)->word); }

static int box_add_word(osq_box *b, const char *w, size_t n) {
  if (b->nal == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 64;
    alias *al = realloc(b->al, cap * sizeof *al);
    char **gw = realloc(b->gwords, cap * sizeof *gw);
    if (al) b->al = al;
    if (gw) b->gwords = gw;
    if (!al || !gw) return OSQ_E_NOMEM;
    b->cap = cap;
  }
  char *s = strndup(w, n), *l = strndup(w, n);
  if (!s || !l) {
    free(s);
    free(l);
    return OSQ_E_NOMEM;
  }
  lower_ascii(l);
  b->al[b->nal].word = l;
  b->al[b->nal].group = b->ngroups;
  b->gwords[b->nwords++] = s;
  b->nal++;
  return OSQ_OK;
}

/* Reads the groups of text (a synonyms file's contents) named name. */
static int box_parse(osq_box *b, const char *text, size_t len, const char *name) {
  size_t line = 0;
  for (size_t at = 0; at < len;) {
    const char *nl = memchr(text + at, '\n', len - at);
    size_t end = nl ? (size_t)(nl - text) : len, a = at;
    at = end + 1;
    line++;
    while (a < end && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r')) a++;
    if (a == end || text[a] == '#') continue;
    for (size_t i = a; i < end;) {
      size_t l = osq__utf8_len((const uint8_t *)text + i, end - i);
      if (!l) return osq__fail(OSQ_E_INVAL, "%s:%zu: not UTF-8 (byte %zu of the line)", name, line, i - a + 1);
      i += l;
    }
    size_t first = b->nwords, words = 0;
    if (first == 0 && !b->gstart) {
      b->gstart = calloc(1, sizeof *b->gstart);
      if (!b->gstart) return OSQ_E_NOMEM;
    }
    for (size_t i = a; i <= end;) {
      size_t j = i;
      while (j < end && text[j] != ',') j++;
      size_t s = i, e = j;
      while (s < e && (text[s] == ' ' || text[s] == '\t')) s++;
      while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) e--;
      if (e > s) {
        for (size_t k = s; k < e; k++)
          if (text[k] == ' ' || text[k] == '\t' || text[k] == '(' || text[k] == ')' || text[k] == '"')
            return osq__fail(OSQ_E_INVAL, "%s:%zu: an alias is one word (no space, quote or parenthesis): '%.*s'",
                             name, line, (int)(e - s), text + s);
        if (e - s >= WORD_MAX) return osq__fail(OSQ_E_INVAL, "%s:%zu: a word longer than %d bytes", name, line, WORD_MAX);
        int rc = box_add_word(b, text + s, e - s);
        if (rc) return rc;
        words++;
      }
      i = j + 1;
    }
    if (words < 2) return osq__fail(OSQ_E_INVAL, "%s:%zu: a group needs two words or more, separated by commas", name, line);
    size_t *gs = realloc(b->gstart, (b->ngroups + 2) * sizeof *gs);
    if (!gs) return OSQ_E_NOMEM;
    b->gstart = gs;
    b->gstart[b->ngroups] = first;
    b->gstart[++b->ngroups] = b->nwords;
  }
  return OSQ_OK;
}

OSQ_EXPORT void osq_box_close(osq_box *b) {
  if (!b) return;
  for (size_t i = 0; i < b->nal; i++) free(b->al[i].word);
  for (size_t i = 0; i < b->nwords; i++) free(b->gwords[i]);
  free(b->al);
  free(b->gwords);
  free(b->gstart);
  free(b);
}

OSQ_EXPORT int osq_box_open(osq_index *ix, const osq_box_options *opts, osq_box **out) {
  *out = NULL;
  osq_box *b = calloc(1, sizeof *b);
  if (!b) return OSQ_E_NOMEM;
  b->ix = ix;
  if (opts) b->opts = *opts;
  int rc = OSQ_OK;
  if (!b->opts.no_default_synonyms)
    rc = box_parse(b, default_synonyms, sizeof default_synonyms - 1, "(built-in synonyms)");
  if (!rc && b->opts.synonyms) {
    FILE *f = fopen(b->opts.synonyms, "rb");
    char *text = NULL;
    size_t n = 0;
    if (!f) {
      rc = osq__fail(OSQ_E_IO, "%s: %s", b->opts.synonyms, strerror(errno));
    } else {
      FILE *m = open_memstream(&text, &n);
      char buf[65536];
      size_t got;
      while (m && (got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, m);
      int bad = ferror(f) || !m;
      if (m) fclose(m);
      fclose(f);
      if (bad) rc = osq__fail(OSQ_E_IO, "%s: cannot read it", b->opts.synonyms);
      else rc = box_parse(b, text, n, b->opts.synonyms);
      free(text);
    }
  }
  b->opts.synonyms = NULL; /* not kept: the caller's string */
  if (rc) {
    osq_box_close(b);
    return rc;
  }
  if (b->nal > 1) qsort(b->al, b->nal, sizeof *b->al, cmp_alias);
  *out = b;
  return OSQ_OK;
}

OSQ_EXPORT void osq_box_report_free(osq_box_report *rep) {
  if (!rep) return;
  free(rep->searched);
  free(rep->note);
  free(rep->did_you_mean);
  memset(rep, 0, sizeof *rep);
}

/* ---- completion, public ------------------------------------------------ */

OSQ_EXPORT int osq_suggest(osq_index *ix, const char *prefix, size_t len, size_t k, osq_suggestion **out, size_t *n) {
  *out = NULL;
  *n = 0;
  char p[WORD_MAX];
  if (len >= sizeof p) return OSQ_OK;
  if (len) memcpy(p, prefix, len);
  p[len] = 0;
  lower_ascii(p);
  osq__words ws;
  int rc = osq__complete(ix, p, len, k, 1, &ws);
  if (rc) {
    osq__words_free(&ws);
    return rc;
  }
  if (ws.n) {
    *out = calloc(ws.n, sizeof **out);
    if (!*out) {
      osq__words_free(&ws);
      return OSQ_E_NOMEM;
    }
    for (size_t i = 0; i < ws.n; i++) {
      (*out)[i].word = ws.w[i].text; /* handed over */
      (*out)[i].passages = ws.w[i].df;
    }
    *n = ws.n;
  }
  free(ws.w);
  return OSQ_OK;
}

OSQ_EXPORT void osq_suggestions_free(osq_suggestion *s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i].word);
  free(s);
}

/* ---- rewriting --------------------------------------------------------- */

enum { WHY_PREFIX = 1, WHY_CHOSEONG = 2, WHY_LAYOUT = 4, WHY_ALIAS = 8, WHY_TYPO = 16 };

typedef struct rw {
  osq__buf out;
  osq__buf also; /* other words a 초성 pattern could be, for the note */
  int why;
  int choseong_only; /* every rewrite was a 초성 pattern */
  int rc;
  uint64_t matched; /* correct_word: passages the query matched */
} rw;

static void put(rw *r, const char *s, size_t n) {
  if (!r->rc) r->rc = osq__buf_put(&r->out, s, n);
}
static void puts_(rw *r, const char *s) { put(r, s, strlen(s)); }

/* Puts "(w1 OR w2 ...)" of ws (or the one word alone). */
static void put_group(rw *r, const osq__words *ws, const char *keep) {
  size_t n = ws->n + (keep != NULL);
  if (n > 1) puts_(r, "(");
  size_t k = 0;
  if (keep) {
    puts_(r, keep);
    k++;
  }
  for (size_t i = 0; i < ws->n; i++) {
    if (keep && !strcmp(ws->w[i].text, keep)) continue;
    if (k++) puts_(r, " OR ");
    puts_(r, ws->w[i].text);
  }
  if (n > 1) puts_(r, ")");
}

static int has_cjamo(const char *w, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next(w + i, n - i, &c);
    if (osq__is_cjamo(c)) return 1;
  }
  return 0;
}
static int all_letters(const char *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z'))) return 0;
  return n > 0;
}
static int all_syllables(const char *w, size_t n) {
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next(w + i, n - i, &c);
    if (!osq__is_syllable(c)) return 0;
  }
  return n > 0;
}

/* The aliases of w (lowercased) into ws, w's own group words excluded. */
static int aliases_of(const osq_box *b, const char *lw, osq__words *ws) {
  memset(ws, 0, sizeof *ws);
  alias key = {(char *)lw, 0};
  alias *hit = bsearch(&key, b->al, b->nal, sizeof *b->al, cmp_alias);
  if (!hit) return OSQ_OK;
  while (hit > b->al && !strcmp(hit[-1].word, lw)) hit--;
  for (; hit < b->al + b->nal && !strcmp(hit->word, lw); hit++)
    for (size_t i = b->gstart[hit->group]; i < b->gstart[hit->group + 1]; i++) {
      char low[WORD_MAX];
      snprintf(low, sizeof low, "%s", b->gwords[i]);
      lower_ascii(low);
      if (!strcmp(low, lw)) continue;
      int dup = 0;
      for (size_t j = 0; j < ws->n; j++) dup |= !strcmp(ws->w[j].text, low);
      if (dup) continue;
      if (ws->n == ws->cap) {
        size_t cap = ws->cap ? 2 * ws->cap : 8;
        osq__word *nw = realloc(ws->w, cap * sizeof *nw);
        if (!nw) return OSQ_E_NOMEM;
        ws->w = nw;
        ws->cap = cap;
      }
      ws->w[ws->n].text = strdup(low);
      if (!ws->w[ws->n].text) return OSQ_E_NOMEM;
      ws->w[ws->n].df = 0;
      ws->w[ws->n].dist = 0;
      ws->w[ws->n].max_tf = 0;
      ws->n++;
    }
  return OSQ_OK;
}

/* Rewrites one bare word w[0..n) into r; single: the query is this word. */
static void rewrite_word(const osq_box *b, rw *r, const char *w, size_t n, int single) {
  char word[WORD_MAX], conv[4 * WORD_MAX];
  osq__words ws = {0};
  if (n >= WORD_MAX) {
    put(r, w, n);
    return;
  }
  memcpy(word, w, n);
  word[n] = 0;
  if (n > 1 && word[n - 1] == '*') { /* word*: its completions */
    word[--n] = 0;
    lower_ascii(word);
    if ((r->rc = r->rc ? r->rc : osq__complete(b->ix, word, n, PREFIX_WORDS, 0, &ws)) == OSQ_OK && ws.n) {
      put_group(r, &ws, NULL);
      r->why |= WHY_PREFIX;
      r->choseong_only = 0;
    } else {
      puts_(r, word);
    }
    osq__words_free(&ws);
    return;
  }
  if (has_cjamo(word, n)) {
    int pattern;
    if ((r->rc = r->rc ? r->rc : osq__choseong(b->ix, word, n, CHOSEONG_WORDS, &ws, &pattern)) == OSQ_OK && ws.n) {
      puts_(r, ws.w[0].text);
      for (size_t i = 1; i < ws.n && i < CHOSEONG_ALSO + 1 && !r->rc; i++) {
        if (r->also.n) r->rc = osq__buf_put(&r->also, ", ", 2);
        if (!r->rc) r->rc = osq__buf_put(&r->also, ws.w[i].text, strlen(ws.w[i].text));
      }
      r->why |= WHY_CHOSEONG;
      osq__words_free(&ws);
      return;
    }
    osq__words_free(&ws);
  }
  const char *use = word;
  size_t un = n;
  if (all_letters(word, n)) { /* Korean typed in English mode? */
    char low[WORD_MAX];
    memcpy(low, word, n + 1);
    lower_ascii(low);
    long hn;
    if (osq__word_df(b->ix, low, n) == 0 && (hn = osq__keys_to_hangul(low, n, conv, sizeof conv)) > 0 &&
        osq__word_df(b->ix, conv, (size_t)hn) > 0) {
      use = conv;
      un = (size_t)hn;
      r->why |= WHY_LAYOUT;
      r->choseong_only = 0;
    }
  } else if (has_cjamo(word, n)) { /* letters typed in Korean mode? (syllables alone: correct_word) */
    long kn = osq__hangul_keys(word, n, conv, sizeof conv);
    if (kn >= 3) {
      lower_ascii(conv);
      if (osq__word_df(b->ix, conv, (size_t)kn) > 0) {
        use = conv;
        un = (size_t)kn;
        r->why |= WHY_LAYOUT;
        r->choseong_only = 0;
      }
    }
  }
  char low[4 * WORD_MAX];
  memcpy(low, use, un);
  low[un] = 0;
  lower_ascii(low);
  if (b->nal && (r->rc = r->rc ? r->rc : aliases_of(b, low, &ws)) == OSQ_OK && ws.n &&
      ((single && all_letters(low, un)) || osq__word_df(b->ix, low, un) < FEW)) {
    /* only aliases the index holds: a word it lacks adds nothing to find
     * and takes the query off the partial-match fallback */
    size_t o = 0;
    for (size_t i = 0; i < ws.n; i++) {
      if (osq__word_df(b->ix, ws.w[i].text, strlen(ws.w[i].text)) > 0) ws.w[o++] = ws.w[i];
      else free(ws.w[i].text);
    }
    ws.n = o;
  } else {
    osq__words_free(&ws);
  }
  if (ws.n) {
    char keep[4 * WORD_MAX];
    memcpy(keep, use, un);
    keep[un] = 0;
    put_group(r, &ws, keep);
    r->why |= WHY_ALIAS;
    r->choseong_only = 0;
  } else {
    put(r, use, un);
  }
  osq__words_free(&ws);
}

typedef void (*word_fn)(const osq_box *b, rw *r, const char *w, size_t n, int single);

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Copies q into r, calling fn on each bare word (as query_parse.c's lexer
 * reads words: quotes, parentheses, signs and operators are kept). */
static void walk(const osq_box *b, rw *r, const char *q, size_t len, word_fn fn) {
  size_t words = 0;
  for (size_t i = 0; i < len;) { /* is the query one word? */
    while (i < len && (is_space(q[i]) || q[i] == '(' || q[i] == ')')) i++;
    if (i >= len) break;
    words++;
    if (q[i] == '"') {
      const char *e = memchr(q + i + 1, '"', len - i - 1);
      i = e ? (size_t)(e - q) + 1 : len;
      continue;
    }
    while (i < len && !is_space(q[i]) && q[i] != '(' && q[i] != ')' && q[i] != '"') i++;
  }
  for (size_t i = 0; i < len && !r->rc;) {
    char c = q[i];
    if (is_space(c) || c == '(' || c == ')') {
      put(r, q + i, 1);
      i++;
      continue;
    }
    size_t a = i;
    if (c == '"') {
      const char *e = memchr(q + i + 1, '"', len - i - 1);
      i = e ? (size_t)(e - q) + 1 : len;
      put(r, q + a, i - a);
      continue;
    }
    while (i < len && !is_space(q[i]) && q[i] != '(' && q[i] != ')' && q[i] != '"') i++;
    size_t n = i - a;
    int op = (n == 3 && (!memcmp(q + a, "AND", 3) || !memcmp(q + a, "NOT", 3))) || (n == 2 && !memcmp(q + a, "OR", 2));
    if (op || q[a] == '+' || q[a] == '-') put(r, q + a, n);
    else fn(b, r, q + a, n, words == 1);
  }
}

static int has_digit(const char *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (w[i] >= '0' && w[i] <= '9') return 1;
  return 0;
}

/* Is a count of matches clearly more than another: CORRECT_RATIO times as
 * many, or any at all against none. */
static int clearly_more(uint64_t a, uint64_t b) { return b ? a >= CORRECT_RATIO * b : a > 0; }

/* Replaces a bare word by its nearest index word when that is clearly
 * more common (typo correction). */
/* The nearest index word to w[0..n) that is clearly more common than its
 * df (typo correction), written to r; 0 when there is none. */
static int put_near(const osq_box *b, rw *r, const char *w, size_t n, uint64_t df) {
  osq__words ws = {0};
  int done = 0;
  if ((r->rc = osq__near_words(b->ix, w, n, 1, &ws)) == OSQ_OK && ws.n && clearly_more(ws.w[0].df, df)) {
    puts_(r, ws.w[0].text);
    r->why |= WHY_TYPO;
    done = 1;
  }
  osq__words_free(&ws);
  return done;
}

/* The bytes of w[0..n) that make one word for correction: a run of Hangul
 * syllables or of ASCII letters (화훼이? -> 화훼이, openstak의 -> openstak);
 * what follows is kept as typed. */
static size_t word_core(const char *w, size_t n) {
  size_t i = 0;
  if (n && ((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z'))) {
    while (i < n && ((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z'))) i++;
    return i;
  }
  while (i < n) {
    uint32_t c;
    size_t l = osq__utf8_next(w + i, n - i, &c);
    if (!osq__is_syllable(c)) break;
    i += l;
  }
  return i;
}

/* Replaces a bare word by its nearest index word when that is clearly
 * more common (typo correction). */
static void correct_word(const osq_box *b, rw *r, const char *w, size_t n, int single) {
  (void)single;
  char low[WORD_MAX];
  /* a word with digits is a code, a version or an id (echo1, v2): one
   * digit off is another thing, not a typo */
  size_t core = word_core(w, n);
  if (n >= WORD_MAX || has_digit(w, n) || core == 0) {
    put(r, w, n);
    return;
  }
  memcpy(low, w, core);
  low[core] = 0;
  lower_ascii(low);
  uint64_t df = osq__word_df(b->ix, low, core);
  if (df == 0 && all_syllables(low, core)) {
    /* letters typed in Korean mode, in whole syllables (노ㅜㅁ is caught
     * before the search; 뭉뎃 only here, as no Korean word of the index) */
    char conv[4 * WORD_MAX];
    long kn = osq__hangul_keys(low, core, conv, sizeof conv);
    if (kn >= 3) {
      lower_ascii(conv);
      if (osq__word_df(b->ix, conv, (size_t)kn) > 0) {
        put(r, conv, (size_t)kn);
        put(r, w + core, n - core);
        r->why |= WHY_LAYOUT;
        return;
      }
    }
  }
  /* Only a word the index lacks, or a rare one when the query matched
   * nothing, is looked for among near words: the scan takes 10-20 ms on
   * the precedents corpus, and the words of real queries (the precedents
   * log's spans of rulings) are in the index even when the query matches
   * one passage. */
  if (df > 0 && (df >= FEW || r->matched > 0)) {
    put(r, w, n);
    return;
  }
  if (!put_near(b, r, low, core, df)) {
    /* 화훼이가: the word without its particle or ending (its stem), which
     * is what the index's words are */
    size_t stem = osq__stem_bytes(low, core);
    if (r->rc || stem == 0 || stem >= core || !put_near(b, r, low, stem, df)) {
      put(r, w, n);
      return;
    }
    put(r, w + stem, core - stem);
  }
  put(r, w + core, n - core);
}

static char *dupz(const osq__buf *o) {
  char *s = malloc(o->n + 1);
  if (s) {
    if (o->n) memcpy(s, o->p, o->n);
    s[o->n] = 0;
  }
  return s;
}

static char *note_of(const char *searched, const char *q, size_t len, int why, const osq__buf *also) {
  static const struct {
    int bit;
    const char *name;
  } whys[] = {{WHY_CHOSEONG, "initial consonants"}, {WHY_LAYOUT, "keyboard layout"}, {WHY_PREFIX, "completions"},
              {WHY_ALIAS, "aliases"}, {WHY_TYPO, "spelling"}};
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  if (!f) return NULL;
  fprintf(f, "searched %s for %.*s (", searched, (int)len, q);
  int k = 0;
  for (size_t i = 0; i < sizeof whys / sizeof *whys; i++)
    if (why & whys[i].bit) fprintf(f, "%s%s", k++ ? ", " : "", whys[i].name);
  if (also && also->n) fprintf(f, "; or: %.*s", (int)also->n, (const char *)also->p);
  fputc(')', f);
  fclose(f);
  return s;
}

/* The search itself, with r the rewritten query (its buffers stay the
 * caller's). */
static int box_search(osq_box *b, rw *r, const char *q, size_t len, const osq_search_options *opts,
                      osq_results **out, osq_box_report *rep) {
  int rc;
  osq_results_summary sum;
  if (r->why) {
    char *s = dupz(&r->out);
    if (!s) return OSQ_E_NOMEM;
    if (r->why == WHY_CHOSEONG) { /* literal matches first (ㅋㅋㅋ) */
      if ((rc = osq_search(b->ix, q, len, opts, out))) {
        free(s);
        return rc;
      }
      osq_results_get_summary(*out, &sum);
      if (sum.passages > 0) {
        rep->did_you_mean = s;
        return OSQ_OK;
      }
      osq_results_free(*out);
      *out = NULL;
    }
    rep->searched = s;
    rep->note = note_of(s, q, len, r->why, &r->also);
  }
  const char *sq = rep->searched ? rep->searched : q;
  size_t sl = rep->searched ? strlen(rep->searched) : len;
  if ((rc = osq_search(b->ix, sq, sl, opts, out))) return rc;
  osq_results_get_summary(*out, &sum);
  if (b->opts.no_correct || sum.passages >= FEW) return OSQ_OK;
  /* Typos: a failed correction leaves the results as they are. */
  rw c = {{0}, {0}, 0, 0, OSQ_OK, sum.passages};
  walk(b, &c, sq, sl, correct_word);
  char *cq = !c.rc && c.why ? dupz(&c.out) : NULL;
  int cwhy = c.why;
  osq__buf_free(&c.out);
  osq__buf_free(&c.also);
  osq_results *cr;
  osq_results_summary csum;
  if (!cq) return OSQ_OK;
  if (osq_search(b->ix, cq, strlen(cq), opts, &cr) != OSQ_OK) {
    free(cq);
    return OSQ_OK;
  }
  osq_results_get_summary(cr, &csum);
  if (clearly_more(csum.passages, sum.passages)) {
    osq_results_free(*out);
    *out = cr;
    free(rep->searched);
    free(rep->note);
    rep->searched = cq;
    rep->note = note_of(cq, q, len, r->why | cwhy, &r->also);
    if (rep->note && sum.passages == 0) {
      /* say first that what was typed is in no passage (issue 14's
       * "no passage contains"), then what was searched instead */
      char *n2 = NULL;
      size_t skip = strlen("searched ") + strlen(cq) + strlen(" for ") + len; /* note_of's form */
      const char *why = strlen(rep->note) > skip ? rep->note + skip : "";
      if (asprintf(&n2, "no passage matches %.*s; searched %s instead%s", (int)sl, sq, cq, why) >= 0) {
        free(rep->note);
        rep->note = n2;
      }
    }
  } else {
    osq_results_free(cr);
    if (csum.passages > sum.passages) rep->did_you_mean = cq; /* offered only when it finds more */
    else free(cq);
  }
  return OSQ_OK;
}

OSQ_EXPORT int osq_box_search(osq_box *b, const char *q, size_t len, const osq_search_options *opts,
                              osq_results **out, osq_box_report *rep) {
  memset(rep, 0, sizeof *rep);
  *out = NULL;
  if ((b->opts.no_rewrite && b->opts.no_correct) || len > 65536) return osq_search(b->ix, q, len, opts, out);
  for (size_t i = 0; i < len;) { /* invalid UTF-8: osq_search says so */
    size_t l = osq__utf8_len((const uint8_t *)q + i, len - i);
    if (!l) return osq_search(b->ix, q, len, opts, out);
    i += l;
  }
  rw r = {{0}, {0}, 0, 1, OSQ_OK, 0};
  if (!b->opts.no_rewrite) walk(b, &r, q, len, rewrite_word);
  int rc = r.rc ? r.rc : box_search(b, &r, q, len, opts, out, rep);
  osq__buf_free(&r.out);
  osq__buf_free(&r.also);
  if (rc) osq_box_report_free(rep);
  return rc;
}
