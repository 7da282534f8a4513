/* cut.c -- passage cutting as a public function, for tools that index the
 * same passages into another engine (osindex --engine xapian, osbench). */
#include <stdlib.h>

#include "internal.h"

OSQ_EXPORT long osq_cut_passages(const char *text, size_t len, const osq_writer_options *opts,
                                 osq_passage_cut **out) {
  uint32_t min = opts && opts->passage_min_chars ? opts->passage_min_chars : 80;
  uint32_t max = opts && opts->passage_max_chars ? opts->passage_max_chars : 600;
  if (max > OSQ__PASSAGE_MAX_CHARS) max = OSQ__PASSAGE_MAX_CHARS; /* as the writer clamps it */
  if (min > max) min = max;
  uint32_t overlap = opts && opts->passage_overlap_chars ? opts->passage_overlap_chars : 100;
  if (overlap >= max) overlap = max / 4;
  osq__cut *cuts = NULL;
  size_t cap = 0;
  long n = osq__cut_passages(text, len, min, max, overlap, &cuts, &cap);
  if (n < 0) {
    free(cuts);
    return OSQ_E_NOMEM;
  }
  /* osq_passage_cut and osq__cut have the same layout */
  *out = (osq_passage_cut *)cuts;
  return n;
}
