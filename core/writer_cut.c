/*
 * writer_cut.c -- what the writer does to a text before indexing it:
 * cutting it into passages (osq__cut_passages, also cut.c's and the tests')
 * and replacing the bytes that are not UTF-8 (osq__writer_clean_text).
 */
#include "writer_int.h"

/* ---- passage cutting ------------------------------------------------------- */

/* Passage sizes count characters as a reader sees them: a codepoint that
 * joins the one before it -- a conjoining vowel or final consonant jamo of
 * NFD Hangul (U+1160..U+11FF), a combining diacritical mark (U+0300..U+036F)
 * -- is not one more character, and no cut falls before it.  NFD text (as
 * macOS writes it) is then cut into the same passages as its NFC form, and
 * no passage starts with half a syllable.  Rarer combining marks, and the
 * archaic jamo of U+D7B0..U+D7FF, count as characters: looking every
 * non-Hangul character up in the Unicode tables cost osindex 8 %, and the
 * archaic jamo would need a test on every ED byte (half the syllables).
 * At most JOIN_MAX codepoints join one character (NFD Hangul takes two,
 * accented Latin one to three): a run of thousands ("Zalgo" text, stray
 * jamo) would otherwise be one character that no cut may split, and a
 * passage could grow past what a reader accepts.  p is at a lead byte. */
#define JOIN_MAX 8
static inline int joins_previous(const uint8_t *p, size_t avail) {
  switch (p[0]) {
    case 0xCC: return avail >= 2;                   /* U+0300..U+033F */
    case 0xCD: return avail >= 2 && p[1] <= 0xAF;   /* U+0340..U+036F */
    case 0xE1: return avail >= 3 && ((p[1] == 0x85 && p[2] >= 0xA0) || p[1] == 0x86 || p[1] == 0x87);
    default: return 0;
  }
}

static uint32_t count_chars(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  uint32_t c = 0;
  unsigned maybe = 0;
  /* Codepoints, and whether a lead byte could start a joining one: a loop
   * the compiler vectorizes; NFC Korean never needs the second. */
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    c += (b & 0xC0) != 0x80;
    maybe |= (b == 0xCC) | (b == 0xCD) | (b == 0xE1);
  }
  if (!maybe) return c;
  unsigned run = 0;
  for (size_t i = 0; i < n; i++) {
    if ((p[i] & 0xC0) == 0x80) continue;
    if (p[i] >= 0xC0 && run < JOIN_MAX && joins_previous(p + i, n - i)) {
      c--;
      run++;
    } else {
      run = 0;
    }
  }
  return c;
}

/* The bytes of s[0..n) less those of codepoints that join the one before:
 * the same for NFD Hangul as for NFC (an initial jamo takes 3 bytes, as a
 * syllable does), so byte thresholds cut both forms alike. */
static size_t visible_bytes(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  size_t v = 0, i = 0;
  while (i < n) {
    size_t k = 1;
    while (i + k < n && (p[i + k] & 0xC0) == 0x80) k++;
    if ((p[i] & 0xC0) == 0x80 || !joins_previous(p + i, n - i)) v += k;
    i += k;
  }
  return v;
}

/* Byte offset after advancing `chars` characters from start (bounded by n). */
static size_t advance_chars(const char *s, size_t start, size_t n, uint32_t chars) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = start;
  unsigned run = 0;
  while (i < n && chars > 0) {
    i++;
    while (i < n && (p[i] & 0xC0) == 0x80) i++;
    if (i < n && run < JOIN_MAX && joins_previous(p + i, n - i)) { /* still the same character */
      run++;
      continue;
    }
    run = 0;
    chars--;
  }
  return i;
}

static int add_cut(osq__cut **cuts, size_t *cap, size_t *n, size_t a, size_t b) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    osq__cut *p = realloc(*cuts, c * sizeof *p);
    if (!p) return -1;
    *cuts = p;
    *cap = c;
  }
  (*cuts)[*n].start = (uint32_t)a;
  (*cuts)[*n].end = (uint32_t)b;
  (*n)++;
  return 0;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Cuts one paragraph text[a,b) into windows of at most max_chars characters
 * that overlap by overlap_chars, ending at a space when one is near. */
static int cut_long(const char *text, size_t a, size_t b, uint32_t max_chars,
                    uint32_t overlap, osq__cut **cuts, size_t *cap, size_t *n) {
  while (a < b) {
    size_t e = advance_chars(text, a, b, max_chars);
    if (e < b) {
      /* Prefer to end after a sentence or at a space in the last fifth. */
      size_t lo = advance_chars(text, a, b, max_chars * 4 / 5), best = 0;
      for (size_t i = e; i > lo; i--) {
        if (text[i - 1] == '.' && is_ws(text[i])) { best = i; break; }
        if (!best && is_ws(text[i])) best = i;
      }
      if (best) e = best;
    }
    if (add_cut(cuts, cap, n, a, e)) return -1;
    if (e >= b) break;
    /* Next window starts overlap characters before e, at a space if near. */
    uint32_t wchars = count_chars(text + a, e - a);
    size_t next = advance_chars(text, a, e, wchars > overlap ? wchars - overlap : wchars / 2);
    while (next < e && !is_ws(text[next]) && next > a) {
      size_t k = next;
      while (k < e && !is_ws(text[k])) k++;
      if (visible_bytes(text + next, k - next) < 24) next = k; /* skip to the end of the word */
      break;
    }
    while (next < e && is_ws(text[next])) next++;
    if (next <= a) next = e;
    a = next;
  }
  return 0;
}

long osq__cut_passages(const char *text, size_t len, uint32_t min_chars, uint32_t max_chars,
                       uint32_t overlap, osq__cut **cuts, size_t *cap) {
  size_t n = 0;
  size_t i = 0;
  size_t acc_a = 0, acc_b = 0;
  uint32_t acc_chars = 0;
  int have = 0;
  while (i < len) {
    /* One paragraph: a line, trimmed. */
    size_t a = i;
    const char *nl = memchr(text + i, '\n', len - i);
    i = nl ? (size_t)(nl - text) : len;
    size_t b = i;
    if (i < len) i++;
    while (a < b && is_ws(text[a])) a++;
    while (b > a && is_ws(text[b - 1])) b--;
    if (a == b) continue;
    uint32_t chars = count_chars(text + a, b - a);
    if (have && acc_chars + chars > max_chars) {
      if (add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
      have = 0;
    }
    if (!have) {
      if (chars > max_chars) {
        if (cut_long(text, a, b, max_chars, overlap, cuts, cap, &n)) return -1;
        continue;
      }
      acc_a = a;
      acc_chars = 0;
      have = 1;
    }
    acc_b = b;
    acc_chars += chars;
    if (acc_chars >= min_chars) {
      if (add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
      have = 0;
    }
  }
  if (have && add_cut(cuts, cap, &n, acc_a, acc_b)) return -1;
  return (long)n;
}

/* ---- UTF-8 cleaning --------------------------------------------------------- */

/* Returns the text to index: text itself when it is valid UTF-8 without NUL,
 * else a copy in w->clean with each bad byte replaced by U+FFFD and NUL by a
 * space.  *bad counts replaced bytes. */
const char *osq__writer_clean_text(osq_writer *w, const char *text, size_t len, size_t *bad) {
  const uint8_t *p = (const uint8_t *)text;
  size_t i = 0, k;
  *bad = 0;
  while (i < len) { /* the check, with short cuts for the common characters */
    unsigned c = p[i];
    if (c - 0xE1u < 12u) { /* lead byte E1..EC: never overlong, never a surrogate (Hangul, CJK) */
      if (i + 3 > len || ((p[i + 1] ^ 0x80u) | (p[i + 2] ^ 0x80u)) >= 0x40u) break;
      i += 3;
    } else if (c - 1u < 0x7Fu) { /* ASCII but NUL */
      i++;
    } else {
      if (c == 0 || !(k = osq__utf8_len(p + i, len - i))) break;
      i += k;
    }
  }
  if (i >= len) return text;
  /* Slow path: copy with replacements. */
  w->clean.n = 0;
  if (osq__buf_reserve(&w->clean, len * 3 + 1)) return NULL;
  uint8_t *o = w->clean.p;
  i = 0;
  while (i < len) {
    if (p[i] == 0) {
      *o++ = ' ';
      (*bad)++;
      i++;
      continue;
    }
    k = osq__utf8_len(p + i, len - i);
    if (!k) {
      *o++ = 0xEF; *o++ = 0xBF; *o++ = 0xBD;
      (*bad)++;
      i++;
      continue;
    }
    memcpy(o, p + i, k);
    o += k;
    i += k;
  }
  w->clean.n = (size_t)(o - w->clean.p);
  return (const char *)w->clean.p;
}
