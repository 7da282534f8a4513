/*
 * box.h -- what a search box does beyond the query language: completion,
 * initial consonants, the wrong keyboard layout, typos and aliases
 * (suggest.c: the index's words; rewrite.c: the query).
 */
#ifndef OSQ_BOX_H
#define OSQ_BOX_H

#include "internal.h"
#include "segment.h"

/* The segments of ix (search_index.c): valid while ix is open. */
void osq__index_segments(const osq_index *ix, const osq__segment **segs, uint32_t *n);

/* A word of the index with the passages holding it (summed over segments). */
typedef struct osq__word {
  char *text; /* NUL-terminated, without the stem mark */
  uint64_t df;
  uint32_t max_tf; /* the most times one passage holds it */
  int dist;   /* edit distance from what was asked (typo candidates) */
} osq__word;

typedef struct osq__words {
  osq__word *w;
  size_t n, cap;
  int merge; /* read from several segments: a word may be there twice */
} osq__words;
void osq__words_free(osq__words *ws);

/* Passages holding the Korean word w (its stem term, as the indexer made
 * it: 화웨이가 -> \x02화웨이) or, for a word of letters and digits, that
 * word: summed over segments; 0 for anything else. */
uint64_t osq__word_df(const osq_index *ix, const char *w, size_t n);

/* The bytes of the stem (stem.c) of the Korean word w[0..n) of syllables
 * (화웨이가 -> 9: 화웨이); n for a word the stemmer leaves whole, 0 for
 * anything but syllables. */
size_t osq__stem_bytes(const char *w, size_t n);

/* The index words that complete prefix p[0..n) (Korean, with the last
 * syllable possibly half-typed or a lone consonant when half_typed; or
 * letters and digits), most frequent first, at most k. */
int osq__complete(const osq_index *ix, const char *p, size_t n, size_t k, int half_typed, osq__words *out);

/* The Korean words whose syllables match p[0..n), a mix of syllables and
 * lone initial consonants (ㅎㅇㅇ, 오ㅍㅅㅌ), most frequent first, at most
 * k.  *is_pattern is 0 when p is no such pattern (no lone consonant). */
int osq__choseong(const osq_index *ix, const char *p, size_t n, size_t k, osq__words *out, int *is_pattern);

/* Index words within a small edit distance of w[0..n): in 2-beolsik keys
 * (letters, jamo) for a Korean word, in letters for a Latin one; nearest
 * first, then most frequent; at most k. */
int osq__near_words(const osq_index *ix, const char *w, size_t n, size_t k, osq__words *out);

#endif
