/*
 * hangul.c -- Hangul letters as a search box needs them.
 *
 * A Korean word is compared here through the keys that type it on the
 * standard 2-beolsik keyboard (두벌식), one key a basic letter: 화웨이 is
 * "ghkdnpdl" (ㅎ g, ㅗ h, ㅏ k, ㅇ d, ㅜ n, ㅔ p, ㅇ d, ㅣ l).  That one form
 * serves every feature of the search box (rewrite.c, suggest.c):
 *   - a word typed with the keyboard in English mode IS its key string;
 *   - a half-typed word is a prefix of the key string (황 "ghkd" is how
 *     화웨이 "ghkdnpdl" looks before ㅔ is typed), which syllables are not;
 *   - an edit distance over key strings is a distance in letters (jamo):
 *     화훼이 "ghkgnpdl" is one key from 화웨이.
 *
 * The keyboard is libhangul's (Debian libhangul-dev, input context "2"),
 * not a table of our own: the key of each letter is found once by typing
 * every key and pair of keys into libhangul and reading back what it
 * composed (keys_init); a final consonant, which cannot be typed alone,
 * by the keys that typed after 가 make one syllable with it (갃: r k r t).
 */
#include <hangul-1.0/hangul.h> /* libhangul (core/hangul.h is ours) */
#include <pthread.h>
#include <string.h>

#include "hangul.h"

size_t osq__utf8_next(const char *s, size_t n, uint32_t *c) {
  const unsigned char *p = (const unsigned char *)s;
  if (p[0] < 0x80 || n < 2) {
    *c = p[0];
    return 1;
  }
  if (p[0] < 0xE0) {
    *c = ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (p[0] < 0xF0 || n < 4) {
    if (n < 3) {
      *c = p[0];
      return 1;
    }
    *c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    return 3;
  }
  *c = ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
       (p[3] & 0x3F);
  return 4;
}

size_t osq__utf8_put(char *out, uint32_t c) {
  unsigned char *o = (unsigned char *)out;
  if (c < 0x80) {
    o[0] = (unsigned char)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (unsigned char)(0xC0 | (c >> 6));
    o[1] = (unsigned char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (c >> 12));
    o[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (c & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (c >> 18));
  o[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (c & 0x3F));
  return 4;
}

/* ---- the key table --------------------------------------------------- */

#define NCJAMO (0x318E - 0x3131 + 1)
static char key_of[NCJAMO][3]; /* compatibility jamo -> its 1 or 2 keys */
static char jong_keys[28][3];  /* final consonant index -> its 1 or 2 keys */
static signed char cho_of[NCJAMO]; /* compatibility consonant -> choseong index */
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

/* The one compatibility jamo ic shows for what was typed into it, or 0. */
static uint32_t lone_jamo(HangulInputContext *ic) {
  const ucschar *commit = hangul_ic_get_commit_string(ic), *pre = hangul_ic_get_preedit_string(ic);
  if (commit[0] || !pre[0] || pre[1]) return 0;
  uint32_t c = (uint32_t)pre[0];
  return osq__is_cjamo(c) ? c : 0;
}

static void keys_init(void) {
  HangulInputContext *ic = hangul_ic_new("2");
  if (!ic) return; /* no keyboard: every conversion then reports -1 */
  static const char keys[] = "abcdefghijklmnopqrstuvwxyzQWERTOP";
  for (const char *a = keys; *a; a++) {
    hangul_ic_reset(ic);
    hangul_ic_process(ic, *a);
    uint32_t c = lone_jamo(ic);
    if (c && !key_of[c - 0x3131][0]) key_of[c - 0x3131][0] = *a;
  }
  for (const char *a = keys; *a; a++)
    for (const char *b = keys; *b; b++) { /* compound vowels: ㅘ = ㅗ ㅏ */
      hangul_ic_reset(ic);
      hangul_ic_process(ic, *a);
      hangul_ic_process(ic, *b);
      uint32_t c = lone_jamo(ic);
      if (c && !key_of[c - 0x3131][0]) {
        key_of[c - 0x3131][0] = *a;
        key_of[c - 0x3131][1] = *b;
      }
    }
  /* Finals, compound ones too (ㄳ = ㄱ ㅅ): the keys that, typed after
   * 가, leave one syllable 가 + the final in the preedit. */
  for (const char *a = keys; *a; a++)
    for (const char *b = NULL; !b || *b; b = b ? b + 1 : keys) {
      hangul_ic_reset(ic);
      hangul_ic_process(ic, 'r');
      hangul_ic_process(ic, 'k');
      hangul_ic_process(ic, *a);
      if (b) hangul_ic_process(ic, *b);
      const ucschar *commit = hangul_ic_get_commit_string(ic), *pre = hangul_ic_get_preedit_string(ic);
      if (commit[0] || !pre[0] || pre[1] || pre[0] <= 0xAC00 || pre[0] >= 0xAC00 + 28) continue;
      char *jk = jong_keys[pre[0] - 0xAC00];
      if (jk[0]) continue;
      jk[0] = *a;
      jk[1] = b ? *b : 0;
    }
  hangul_ic_delete(ic);
  /* Initial consonants: the conjoining choseong U+1100..U+1112 in order,
   * as libhangul maps them to compatibility jamo. */
  memset(cho_of, -1, sizeof cho_of);
  for (int i = 0; i < 19; i++) {
    uint32_t c = (uint32_t)hangul_jamo_to_cjamo((ucschar)(0x1100 + i));
    if (osq__is_cjamo(c)) cho_of[c - 0x3131] = (signed char)i;
  }
}

int osq__cjamo_cho(uint32_t c) {
  pthread_once(&keys_once, keys_init);
  return osq__is_cjamo(c) ? cho_of[c - 0x3131] : -1;
}

/* Appends the keys of conjoining jamo j (a choseong, jungseong or
 * jongseong); returns 0, or -1 when it has none or out is full. */
static int put_jamo_keys(uint32_t j, char *out, size_t cap, size_t *n) {
  uint32_t c = (uint32_t)hangul_jamo_to_cjamo((ucschar)j);
  const char *k = j >= 0x11A8 && j <= 0x11C2 ? jong_keys[j - 0x11A7] : osq__is_cjamo(c) ? key_of[c - 0x3131] : "";
  if (!k[0]) return -1;
  size_t kl = k[1] ? 2 : 1;
  if (*n + kl >= cap) return -1;
  memcpy(out + *n, k, kl);
  *n += kl;
  return 0;
}

long osq__hangul_keys(const char *s, size_t n, char *out, size_t cap) {
  pthread_once(&keys_once, keys_init);
  size_t o = 0;
  if (cap == 0) return -1;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    i += osq__utf8_next(s + i, n - i, &c);
    if (osq__is_syllable(c)) {
      uint32_t x = c - OSQ__SYL_FIRST, l = x / OSQ__SYL_PER_CHO, v = (x / 28) % 21, t = x % 28;
      if (put_jamo_keys(0x1100 + l, out, cap, &o) || put_jamo_keys(0x1161 + v, out, cap, &o)) return -1;
      if (t && put_jamo_keys(0x11A7 + t, out, cap, &o)) return -1;
    } else if (osq__is_cjamo(c)) {
      const char *k = key_of[c - 0x3131];
      size_t kl = k[0] ? (k[1] ? 2 : 1) : 0;
      if (!kl || o + kl >= cap) return -1;
      memcpy(out + o, k, kl);
      o += kl;
    } else {
      return -1;
    }
  }
  out[o] = 0;
  return (long)o;
}

/* Appends the UCS-4 string u as UTF-8; returns 0 or -1 (no room, or a lone
 * jamo when lone_ok is 0). */
static int put_ucs(const ucschar *u, char *out, size_t cap, size_t *n) {
  for (; *u; u++) {
    uint32_t c = (uint32_t)*u;
    if (!osq__is_syllable(c)) return -1;
    if (*n + 4 >= cap) return -1;
    *n += osq__utf8_put(out + *n, c);
  }
  return 0;
}

long osq__keys_to_hangul(const char *s, size_t n, char *out, size_t cap) {
  if (cap == 0 || n == 0) return -1;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) return -1;
  HangulInputContext *ic = hangul_ic_new("2");
  if (!ic) return -1;
  size_t o = 0;
  int bad = 0;
  for (size_t i = 0; i < n && !bad; i++) {
    if (!hangul_ic_process(ic, s[i])) bad = 1; /* a key the keyboard does not take */
    else bad = put_ucs(hangul_ic_get_commit_string(ic), out, cap, &o) != 0;
  }
  if (!bad) bad = put_ucs(hangul_ic_flush(ic), out, cap, &o) != 0;
  hangul_ic_delete(ic);
  if (bad) return -1;
  out[o] = 0;
  return (long)o;
}
