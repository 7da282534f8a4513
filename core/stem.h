/*
 * stem.h -- the dictionary stemmer of Korean words (stem.c).
 */
#ifndef OSQ_STEM_H
#define OSQ_STEM_H

#include <stddef.h>
#include <stdint.h>

/* The longest word (in syllables) the stemmer looks at; a longer run of
 * syllables without a space gets no stem. */
#define OSQ__STEM_MAX_SYL 64

/* Flags osq__stem sets. */
#define OSQ__STEM_QSTOP 1 /* the stem is a question word, copula, auxiliary,
                             bound noun, adverb or determiner: a query leaves
                             it out of the stem field */

/* The stem of a word of n Hangul syllables, given as syllable indexes
 * (codepoint - 0xAC00): the number of leading syllables that are the stem
 * (1..n; n for a word the stemmer cannot split or n == 0 / n too long).
 * *flags gets OSQ__STEM_* bits.  Thread-safe; the lexicon is embedded in
 * the library and needs no loading. */
size_t osq__stem(const uint16_t *syl, size_t n, int *flags);

/* The id of the lexicon compiled in (an FNV-1a hash of its contents); 0 if
 * the embedded lexicon is unusable (then osq__stem returns n: no stems). */
uint64_t osq__lexicon_id(void);

#endif
