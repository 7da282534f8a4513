/*
 * hangul.h -- Hangul letters as a search box needs them (hangul.c): the keys
 * of the standard 2-beolsik keyboard that type a word, initial consonants
 * (초성), and converting between what was typed in the wrong layout.
 */
#ifndef OSQ_HANGUL_H
#define OSQ_HANGUL_H

#include <stddef.h>
#include <stdint.h>

#define OSQ__SYL_FIRST 0xAC00u
#define OSQ__SYL_LAST 0xD7A3u
#define OSQ__SYL_PER_CHO 588u /* 21 medials x 28 finals */

static inline int osq__is_syllable(uint32_t c) { return c >= OSQ__SYL_FIRST && c <= OSQ__SYL_LAST; }
/* Hangul Compatibility Jamo (ㄱ U+3131 .. ㆎ U+318E): what a phone keyboard
 * or a half-typed word gives for a lone letter. */
static inline int osq__is_cjamo(uint32_t c) { return c >= 0x3131 && c <= 0x318E; }

/* Decodes one UTF-8 character at s[0..n) (valid input assumed; a bad byte
 * reads as itself); returns its length. */
size_t osq__utf8_next(const char *s, size_t n, uint32_t *c);
/* Encodes c; returns its length (1-4). */
size_t osq__utf8_put(char *out, uint32_t c);

/* The initial consonant of a syllable as its index 0..18, or -1. */
static inline int osq__syl_cho(uint32_t c) {
  return osq__is_syllable(c) ? (int)((c - OSQ__SYL_FIRST) / OSQ__SYL_PER_CHO) : -1;
}
/* The choseong index 0..18 a compatibility consonant stands for (ㄱ -> 0),
 * or -1 for a vowel or a consonant that cannot start a syllable (ㄳ). */
int osq__cjamo_cho(uint32_t c);

/* The 2-beolsik keys that type the Hangul of s[0..n) (syllables and
 * compatibility jamo), written to out (NUL-terminated, at most cap - 1
 * keys; compound letters as their two keys: ㅘ = hk, ㄳ = rt; shifted
 * letters in capitals: ㄲ = R).  Returns the number of keys, or -1 when s
 * holds anything else or out is too small.  The table comes from
 * libhangul's own 2-beolsik keyboard. */
long osq__hangul_keys(const char *s, size_t n, char *out, size_t cap);

/* Types the ASCII letters of s[0..n) on the 2-beolsik keyboard (libhangul's
 * input context "2") and writes the Hangul to out (UTF-8, NUL-terminated).
 * Returns its length in bytes, or -1 when s holds anything but letters,
 * out is too small or the keys leave a lone letter (jamo) in the result:
 * then s was not meant as Hangul. */
long osq__keys_to_hangul(const char *s, size_t n, char *out, size_t cap);

#endif
