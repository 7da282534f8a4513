/*
 * tokenize.c -- normalization and Korean n-gram tokenization.
 *
 * Text is decoded and normalized one codepoint (or one cluster) at a time so
 * that every normalized character remembers the byte range of the input it
 * came from; highlighting depends on it.  The common characters of Korean
 * text -- ASCII and precomposed Hangul syllables -- are already in NFKC and
 * case-folded form (but for ASCII capitals), so they take a fast path; every
 * other character is normalized through utf8proc together with the combining
 * marks and conjoining jamo that follow it, which is what composes NFD Hangul
 * ("ㅎ"+"ㅏ"+"ㄴ" as U+1112 U+1161 U+11AB) into the syllable U+D55C.
 *
 * See osq.h for the token model (bigrams across spaces, a unigram at the end
 * of each run, whole words for letters and digits).
 */
#include <stdlib.h>
#include <utf8proc.h>

#include "internal.h"
#include "stem.h"

#define MAX_WORD_BYTES 64

struct osq_tokenizer {
  osq__buf terms;   /* term bytes of all tokens */
  osq_token *toks;  /* tokens; .term holds an offset until the end */
  size_t ntoks, cap;
  int stems;        /* give OSQ_TOKEN_STEM tokens */
  /* stems of recent words, direct-mapped by a hash of the word: words
   * repeat, and a lexicon lookup costs a binary search per prefix */
  struct stem_memo { uint16_t syl[8]; uint8_t n, stem; } *memo;
};

void osq__tokenizer_stems(osq_tokenizer *tk, int on) { tk->stems = on; }

#define STEM_MEMO 65536 /* 1.2 MB: on precedents osindex CPU 15.0 s with 8,192, 9.8 s, 9.3 s with 262,144 */

OSQ_EXPORT int osq_tokenizer_create(osq_tokenizer **out) {
  *out = calloc(1, sizeof **out);
  return *out ? OSQ_OK : OSQ_E_NOMEM;
}

OSQ_EXPORT void osq_tokenizer_close(osq_tokenizer *tk) {
  if (!tk) return;
  osq__buf_free(&tk->terms);
  free(tk->toks);
  free(tk->memo);
  free(tk);
}

/* Character classes after normalization. */
enum { C_SEP = 0, C_SPACE = 1, C_CJK = 2, C_WORD = 3, C_BREAK = 4 };

static int is_cjk(int32_t c) {
  return (c >= 0xAC00 && c <= 0xD7A3) ||  /* Hangul syllables */
         (c >= 0x3131 && c <= 0x318E) ||  /* Hangul compatibility jamo */
         (c >= 0x1100 && c <= 0x11FF) ||  /* lone conjoining jamo */
         (c >= 0x3040 && c <= 0x30FF) ||  /* Hiragana, Katakana */
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF);
}

static int classify(int32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return C_WORD;
    if (c == ' ' || c == '\t') return C_SPACE;
    if (c == '\n' || c == '\r') return C_BREAK;
    return C_SEP;
  }
  if (is_cjk(c)) return C_CJK;
  if (c == 0xFFFD) return C_SEP;
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
      return C_WORD;
    case UTF8PROC_CATEGORY_ZS:
      return C_SPACE;
    case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return C_BREAK;
    default:
      return C_SEP;
  }
}

/* Decodes one UTF-8 sequence at p (p < end).  Returns its length, or 0 for
 * an invalid byte (overlong forms, surrogates and values past U+10FFFF are
 * invalid too). */
static inline size_t utf8_decode(const uint8_t *p, const uint8_t *end, int32_t *cp) {
  uint8_t c = p[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t avail = (size_t)(end - p);
  if (c >= 0xC2 && c <= 0xDF) {
    if (avail < 2 || (p[1] & 0xC0) != 0x80) return 0;
    *cp = ((c & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    int32_t v = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
        (p[3] & 0xC0) != 0x80)
      return 0;
    int32_t v = ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) |
                ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    *cp = v;
    return 4;
  }
  return 0;
}

static int utf8_encode(int32_t c, uint8_t *o) {
  if (c < 0x80) { o[0] = (uint8_t)c; return 1; }
  if (c < 0x800) {
    o[0] = (uint8_t)(0xC0 | (c >> 6));
    o[1] = (uint8_t)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = (uint8_t)(0xE0 | (c >> 12));
    o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (uint8_t)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | (c >> 18));
  o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
  o[3] = (uint8_t)(0x80 | (c & 0x3F));
  return 4;
}

/* Does c continue the cluster started before it (a combining mark, or a
 * conjoining vowel or final consonant jamo)? */
static int continues_cluster(int32_t c) {
  if (c >= 0x1160 && c <= 0x11FF) return 1;
  if (c < 0x300 || (c >= 0xAC00 && c <= 0xD7A3)) return 0; /* syllables: the common case */
  return utf8proc_get_property(c)->combining_class != 0;
}

/* ---- the tokenizer state machine -------------------------------------- */

typedef struct {
  osq_tokenizer *tk;
  uint32_t pos;           /* next free position */
  /* the open CJK run */
  int in_run;
  uint8_t prev[4];
  int prev_len;
  uint32_t prev_start, prev_end, prev_pos;
  int space_pending;      /* a space since the last character */
  int run_space_before;
  /* the open word */
  uint8_t word[MAX_WORD_BYTES];
  int word_len;
  uint32_t word_start, word_end;
  int word_space_before;
  int any_token;
  int last_kind;          /* kind of the last token pushed */
  /* the open Korean word (tk->stems): its syllables, where each starts */
  uint16_t eo[OSQ__STEM_MAX_SYL];
  uint32_t eo_start[OSQ__STEM_MAX_SYL + 1];
  uint32_t eo_pos;
  int eo_n;               /* syllables; -1: none open; > MAX: too long */
} tstate;

/* Appends a token whose term bytes the caller then appends to tk->terms;
 * NULL when out of memory. */
static inline osq_token *push_meta(tstate *s, size_t len, uint32_t pos, uint32_t start, uint32_t end,
                                   int kind, int space_before) {
  osq_tokenizer *tk = s->tk;
  if (tk->ntoks == tk->cap) {
    size_t cap = tk->cap ? tk->cap * 2 : 256;
    osq_token *t = realloc(tk->toks, cap * sizeof *t);
    if (!t) return NULL;
    tk->toks = t;
    tk->cap = cap;
  }
  osq_token *t = &tk->toks[tk->ntoks++];
  t->term = (const char *)(uintptr_t)tk->terms.n;
  t->len = (uint32_t)len;
  t->pos = pos;
  t->start = start;
  t->end = end;
  t->kind = (uint8_t)kind;
  t->space_before = (uint8_t)space_before;
  s->any_token = 1;
  s->last_kind = kind;
  return t;
}

static inline int push(tstate *s, const uint8_t *term, size_t len, uint32_t pos,
                uint32_t start, uint32_t end, int kind, int space_before) {
  osq_tokenizer *tk = s->tk;
  if (!push_meta(s, len, pos, start, end, kind, space_before)) return OSQ_E_NOMEM;
  if (len <= 8 && tk->terms.cap - tk->terms.n >= 8) {
    /* short terms (every bigram): a copy the compiler inlines, not a
     * library call per token */
    uint8_t *o = tk->terms.p + tk->terms.n;
    for (size_t i = 0; i < len; i++) o[i] = term[i];
    tk->terms.n += len;
    return OSQ_OK;
  }
  return osq__buf_put(&tk->terms, term, len);
}

static int end_eojeol(tstate *s);

static int end_run(tstate *s) {
  if (!s->in_run) return OSQ_OK;
  int rc0 = end_eojeol(s);
  if (rc0) return rc0;
  s->in_run = 0;
  int rc = push(s, s->prev, (size_t)s->prev_len, s->prev_pos, s->prev_start,
                s->prev_end, OSQ_TOKEN_UNI, s->run_space_before);
  s->pos = s->prev_pos + 1;
  return rc;
}

static int end_word(tstate *s) {
  if (!s->word_len) return OSQ_OK;
  int rc = push(s, s->word, (size_t)s->word_len, s->pos, s->word_start,
                s->word_end, OSQ_TOKEN_WORD, s->word_space_before);
  s->pos++;
  s->word_len = 0;
  return rc;
}

/* The stem of the open Korean word, as a token at the word's first
 * position: the stem field (stem.c).  Emitted when the word ends, before the
 * token that ends it, so that the passage's last token is never a stem and
 * its length (the last position + 1) counts the bigram field only. */
static int end_eojeol(tstate *s) {
  int n = s->eo_n;
  s->eo_n = -1;
  if (n <= 0 || n > OSQ__STEM_MAX_SYL) return OSQ_OK;
  osq_tokenizer *tk = s->tk;
  size_t k = 0;
  int flags;
  if (n <= 8) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) h = (h ^ s->eo[i]) * 16777619u;
    struct stem_memo *m = tk->memo ? &tk->memo[h & (STEM_MEMO - 1)] : NULL;
    if (!tk->memo && (tk->memo = calloc(STEM_MEMO, sizeof *tk->memo))) m = &tk->memo[h & (STEM_MEMO - 1)];
    if (m && m->n == n && !memcmp(m->syl, s->eo, (size_t)n * 2)) {
      k = m->stem;
    } else {
      k = osq__stem(s->eo, (size_t)n, &flags);
      if (m) {
        memcpy(m->syl, s->eo, (size_t)n * 2);
        m->n = (uint8_t)n;
        m->stem = (uint8_t)k;
      }
    }
  } else {
    k = osq__stem(s->eo, (size_t)n, &flags);
  }
  uint8_t term[1 + 3 * OSQ__STEM_MAX_SYL];
  term[0] = OSQ_STEM_MARK;
  for (size_t i = 0; i < k; i++) utf8_encode(0xAC00 + s->eo[i], term + 1 + 3 * i);
  return push(s, term, 1 + 3 * k, s->eo_pos, s->eo_start[0], s->eo_start[k], OSQ_TOKEN_STEM, 0);
}

/* Feeds one CJK character, encoded in enc[0..n), that came from input bytes
 * [start,end). */
static inline int feed_cjk(tstate *s, const uint8_t *enc, int n, uint32_t start, uint32_t end) {
  int rc = OSQ_OK;
  if (s->word_len && (rc = end_word(s))) return rc;
  if (s->tk->stems) {
    /* Korean words for the stem field: runs of Hangul syllables that no
     * space or other character interrupts */
    int32_t c = n == 3 ? ((enc[0] & 0x0F) << 12) | ((enc[1] & 0x3F) << 6) | (enc[2] & 0x3F) : 0;
    int syl = c >= 0xAC00 && c <= 0xD7A3;
    if (s->eo_n >= 0 && (!syl || s->space_pending || !s->in_run) && (rc = end_eojeol(s))) return rc;
    if (syl) {
      if (s->eo_n < 0) {
        s->eo_n = 0;
        s->eo_pos = s->in_run ? s->prev_pos + 1 : s->pos;
      }
      if (s->eo_n < OSQ__STEM_MAX_SYL) {
        s->eo[s->eo_n] = (uint16_t)(c - 0xAC00);
        s->eo_start[s->eo_n] = start;
      }
      if (s->eo_n <= OSQ__STEM_MAX_SYL) s->eo_n++;
      if (s->eo_n <= OSQ__STEM_MAX_SYL) s->eo_start[s->eo_n] = end;
    }
  }
  if (s->in_run) {
    uint8_t gram[8];
    if (s->prev_len == 3 && n == 3) {
      /* Two Hangul syllables, the bulk of the work: the six bytes are put
       * together in a register and stored as one word.  Assembled in
       * memory byte by byte, they were read back as a word before the
       * byte stores had landed (a store-forwarding stall: a tenth of the
       * tokenizer). */
      osq_tokenizer *tk = s->tk;
      if (tk->terms.cap - tk->terms.n < 8 && osq__buf_reserve(&tk->terms, 8)) return OSQ_E_NOMEM;
      if (!push_meta(s, 6, s->prev_pos, s->prev_start, end, OSQ_TOKEN_GRAM,
                     s->space_pending ? 2 : s->run_space_before))
        return OSQ_E_NOMEM;
      uint64_t g = (uint64_t)s->prev[0] | (uint64_t)s->prev[1] << 8 | (uint64_t)s->prev[2] << 16 |
                   (uint64_t)enc[0] << 24 | (uint64_t)enc[1] << 32 | (uint64_t)enc[2] << 40;
      memcpy(tk->terms.p + tk->terms.n, &g, 8); /* little-endian; two bytes of slack */
      tk->terms.n += 6;
      s->run_space_before = s->space_pending;
      s->prev_pos++;
    } else {
      memcpy(gram, s->prev, (size_t)s->prev_len);
      memcpy(gram + s->prev_len, enc, (size_t)n);
      /* space_before 2 marks a gram that bridges a space */
      rc = push(s, gram, (size_t)(s->prev_len + n), s->prev_pos, s->prev_start,
                end, OSQ_TOKEN_GRAM, s->space_pending ? 2 : s->run_space_before);
      s->run_space_before = s->space_pending;
      s->prev_pos++;
    }
  } else {
    s->in_run = 1;
    s->prev_pos = s->pos;
    s->run_space_before = s->space_pending && s->any_token;
    /* A run right after a word or number (제12조, 피고인 1의) also
     * gives its first character as a "head" token, so that a query
     * ending in such a one-character run finds it with one exact
     * term instead of a prefix range of the dictionary. */
    if (s->last_kind == OSQ_TOKEN_WORD) {
      uint8_t head[5];
      head[0] = OSQ_HEAD_MARK;
      memcpy(head + 1, enc, (size_t)n);
      rc = push(s, head, (size_t)n + 1, s->pos, start, end, OSQ_TOKEN_HEAD, s->run_space_before);
      if (rc) return rc;
    }
  }
  if (n == 3) memcpy(s->prev, enc, 3);
  else memcpy(s->prev, enc, (size_t)n);
  s->prev_len = n;
  s->prev_start = start;
  s->prev_end = end;
  s->space_pending = 0;
  return rc;
}

/* Feeds one normalized character that came from input bytes [start,end). */
static int feed(tstate *s, int32_t c, uint32_t start, uint32_t end) {
  int cls = classify(c);
  int rc = OSQ_OK;
  switch (cls) {
    case C_CJK: {
      uint8_t enc[4];
      int n = utf8_encode(c, enc);
      return feed_cjk(s, enc, n, start, end);
    }
    case C_WORD: {
      if (s->in_run && (rc = end_run(s))) return rc;
      if (!s->word_len) {
        s->word_start = start;
        s->word_space_before = s->space_pending && s->any_token;
      }
      s->space_pending = 0;
      uint8_t enc[4];
      int n = utf8_encode(c, enc);
      if (s->word_len + n <= MAX_WORD_BYTES) {
        memcpy(s->word + s->word_len, enc, (size_t)n);
        s->word_len += n;
        s->word_end = end;
      }
      return OSQ_OK;
    }
    case C_SPACE:
      if (s->word_len && (rc = end_word(s))) return rc;
      s->space_pending = 1;
      return OSQ_OK;
    default: /* separators and line breaks end runs and words */
      if (s->in_run && (rc = end_run(s))) return rc;
      if (s->word_len && (rc = end_word(s))) return rc;
      s->space_pending = 1;
      return OSQ_OK;
  }
}

/* Normalizes the cluster of codepoints cps[0..n) (NFKC + case folding) and
 * feeds the result, every output character attributed to [start,end).
 * Default-ignorable characters (zero-width space, soft hyphen, word joiner,
 * byte-order mark, ...) are dropped, not made separators: text copied from
 * the web carries them inside words ("오픈\u200b스택"), where a reader
 * sees one word and a phrase query must find it. */
static int feed_cluster(tstate *s, const int32_t *cps, size_t n, uint32_t start,
                        uint32_t end) {
  int32_t buf[64];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int boundclass = 0;
    utf8proc_ssize_t k = utf8proc_decompose_char(
        cps[i], buf + len, (utf8proc_ssize_t)(64 - len),
        UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE, &boundclass);
    if (k < 0 || (size_t)k > 64 - len) break; /* absurd cluster: truncate */
    len += (size_t)k;
  }
  /* Canonical ordering of combining marks (insertion sort; clusters are
   * short), then canonical composition. */
  for (size_t i = 1; i < len; i++) {
    int32_t c = buf[i];
    int cc = utf8proc_get_property(c)->combining_class;
    if (!cc) continue;
    size_t j = i;
    while (j > 0 && utf8proc_get_property(buf[j - 1])->combining_class > cc) {
      buf[j] = buf[j - 1];
      j--;
    }
    buf[j] = c;
  }
  utf8proc_ssize_t m =
      utf8proc_normalize_utf32(buf, (utf8proc_ssize_t)len, UTF8PROC_COMPOSE);
  if (m < 0) m = 0;
  /* A repeated folding can make new compatibility characters; NFKC_Casefold
   * proper iterates, but one pass handles every case in Korean text. */
  for (utf8proc_ssize_t i = 0; i < m; i++) {
    int rc = feed(s, buf[i], start, end);
    if (rc) return rc;
  }
  return OSQ_OK;
}

OSQ_EXPORT int osq_tokenize(osq_tokenizer *tk, const char *text, size_t len,
                            const osq_token **tokens, size_t *ntokens,
                            size_t *bad_bytes) {
  tstate s;
  memset(&s, 0, sizeof s);
  s.tk = tk;
  s.eo_n = -1;
  tk->ntoks = 0;
  tk->terms.n = 0;
  size_t bad = 0;
  int rc = OSQ_OK;
  if (len > UINT32_MAX) len = UINT32_MAX; /* offsets are 32-bit */
  const uint8_t *p = (const uint8_t *)text, *end = p + len, *base = p;
  /* the character at p when the previous step decoded it already */
  int32_t ahead = -1;
  size_t ahead_n = 0;
  while (p < end && rc == OSQ_OK) {
    uint8_t c = *p;
    /* ASCII takes the fast path unless a combining mark follows (NFD Latin:
     * "e" U+0301 must become "é"); marks start at U+0300, lead byte 0xCC. */
    if (c < 0x80 && !(p + 1 < end && p[1] >= 0xCC && p[1] <= 0xCF)) {
      int32_t ch = c;
      if (c >= 'A' && c <= 'Z') ch = c + 32;
      rc = feed(&s, ch, (uint32_t)(p - base), (uint32_t)(p - base + 1));
      p++;
      continue;
    }
    int32_t cp;
    size_t n;
    if (ahead >= 0) {
      cp = ahead;
      n = ahead_n;
      ahead = -1;
    } else {
      n = utf8_decode(p, end, &cp);
    }
    if (n == 0) {
      bad++;
      rc = feed(&s, 0xFFFD, (uint32_t)(p - base), (uint32_t)(p - base + 1));
      p++;
      continue;
    }
    const uint8_t *q = p + n;
    int32_t next;
    size_t nn = q < end ? utf8_decode(q, end, &next) : 0;
    int clustered = nn && next >= 0x300 && continues_cluster(next);
    if (cp >= 0xAC00 && cp <= 0xD7A3 && !clustered) {
      /* a precomposed syllable is its own normal form: its input bytes
       * are the term bytes */
      rc = feed_cjk(&s, p, 3, (uint32_t)(p - base), (uint32_t)(q - base));
      p = q;
      if (nn && next >= 0x80) { /* a non-ASCII next is decoded: keep it */
        ahead = next;
        ahead_n = nn;
      }
      continue;
    }
    /* Slow path: gather the cluster and normalize it as a whole. */
    int32_t cps[32];
    size_t ncp = 0;
    cps[ncp++] = cp;
    while (clustered && ncp < 32) {
      cps[ncp++] = next;
      q += nn;
      nn = q < end ? utf8_decode(q, end, &next) : 0;
      clustered = nn && continues_cluster(next);
    }
    rc = feed_cluster(&s, cps, ncp, (uint32_t)(p - base), (uint32_t)(q - base));
    p = q;
  }
  if (rc == OSQ_OK) rc = end_run(&s);
  if (rc == OSQ_OK) rc = end_word(&s);
  if (rc) return rc;
  for (size_t i = 0; i < tk->ntoks; i++)
    tk->toks[i].term = (const char *)tk->terms.p + (uintptr_t)tk->toks[i].term;
  *tokens = tk->toks;
  *ntokens = tk->ntoks;
  if (bad_bytes) *bad_bytes = bad;
  return OSQ_OK;
}
