/*
 * merge.c -- which segments to merge, and reading a segment's live documents
 * back for a merge (writer.c publishes the result).
 *
 * A merge re-indexes: each live document is added again with its record and
 * its passages exactly as the store holds them, so passage boundaries, the
 * text a hit shows and the tokens are those of the original; deleted
 * documents are simply not copied.  Nothing in a segment needs to be decoded
 * but the document records and the store.
 *
 * THE AUTOMATIC POLICY (after every commit, unless no_auto_merge):
 *   1. While more than MAX_SEGMENTS (10) segments are live: merge the
 *      smallest ones -- by live size, the file size scaled by the share of
 *      live documents -- at most MERGE_FACTOR (10) at a time, as many as fit
 *      together in the budget; at least two.  Merging the smallest ones
 *      together is what keeps the work per document logarithmic: a document
 *      is rewritten each time its segment joins one of about ten times its
 *      size, not at every commit.
 *   2. Otherwise, a segment with half or more of its documents deleted is
 *      rewritten alone (the one with the largest deleted share first).
 * The budget is flush_bytes / 4 in segment-file bytes: the writer's
 * in-memory segment takes four to seven times the bytes of the file it
 * becomes (measured on corpus/news), so the merged segment usually fits one
 * flush.  Memory stays bounded by flush_bytes whatever the estimate: a merge
 * adds documents through the writer's ordinary path, which flushes, so a
 * wrong estimate only makes a merge write two segments instead of one.
 * Segments larger than the budget (those a big build wrote) are never merged
 * automatically; `osindex merge` (osq_writer_merge) merges everything.  With a
 * tiny flush_bytes nothing fits and nothing is merged.
 */
#include <stdio.h>
#include <stdlib.h>

#include "merge.h"

#define MAX_SEGMENTS 10
#define MERGE_FACTOR 10

int osq__open_segment_entry(const char *dir, const osq__manifest_seg *e, osq__segment *seg,
                            osq__deletions *d, int empty_bitmaps) {
  char name[64], path[4200];
  osq__segment_name(e->number, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  memset(d, 0, sizeof *d);
  int rc = osq__segment_open(path, seg);
  if (rc) return rc;
  if (seg->ndocs != e->ndocs || seg->npassages != e->npassages || seg->map.n != e->bytes) {
    osq__segment_close(seg);
    return osq__fail(OSQ_E_CORRUPT, "%s: segment does not match the manifest (sizes or counts differ)", path);
  }
  if (e->flags & OSQ__SEGF_DELETIONS)
    rc = osq__deletions_read(dir, e, d);
  else if (empty_bitmaps)
    rc = osq__deletions_init(d, e->ndocs, e->npassages);
  if (rc == OSQ_E_NOTFOUND) rc = OSQ_E_CORRUPT;
  if (rc) osq__segment_close(seg);
  return rc;
}

uint64_t osq__merge_budget(size_t flush_bytes) { return (uint64_t)flush_bytes / 4; }

static uint64_t live_bytes(const osq__manifest_seg *e) {
  if (e->ndocs == 0) return e->bytes;
  return (uint64_t)((double)e->bytes * (double)(e->ndocs - e->del_docs) / (double)e->ndocs);
}

/* (size, number) order: sizes ascending, the older segment first on a tie;
 * a strict total order, since numbers are unique. */
static int before(uint64_t size_a, uint32_t num_a, uint64_t size_b, uint32_t num_b) {
  return size_a != size_b ? size_a < size_b : num_a < num_b;
}

uint32_t osq__merge_pick(const osq__manifest *m, uint64_t budget, uint32_t *pick) {
  if (m->nsegs > MAX_SEGMENTS) {
    /* The smallest segments, in (size, number) order, while they fit the
     * budget: each round takes the least segment after the previous pick.
     * O(nsegs x MERGE_FACTOR) and no allocation, so there is no
     * out-of-memory case to confuse with "nothing to merge". */
    uint32_t n = 0;
    uint64_t sum = 0, last_size = 0;
    uint32_t last_num = 0;
    while (n < m->nsegs && n < MERGE_FACTOR) {
      uint32_t best = UINT32_MAX;
      uint64_t best_size = 0;
      for (uint32_t i = 0; i < m->nsegs; i++) {
        uint64_t sz = live_bytes(&m->segs[i]);
        if (n && !before(last_size, last_num, sz, m->segs[i].number)) continue;
        if (best == UINT32_MAX || before(sz, m->segs[i].number, best_size, m->segs[best].number)) {
          best = i;
          best_size = sz;
        }
      }
      if (best == UINT32_MAX || sum + best_size > budget) break;
      sum += best_size;
      pick[n++] = best;
      last_size = best_size;
      last_num = m->segs[best].number;
    }
    if (n >= 2) return n;
  }
  double worst = 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->nsegs; i++) {
    const osq__manifest_seg *e = &m->segs[i];
    if (!e->del_docs || (uint64_t)e->del_docs * 2 < e->ndocs || live_bytes(e) > budget) continue;
    double share = (double)e->del_docs / (double)e->ndocs;
    if (share > worst) {
      worst = share;
      pick[0] = i;
      n = 1;
    }
  }
  return n;
}

int osq__merge_copy(osq_writer *w, const char *dir, const osq__manifest_seg *e) {
  osq__segment seg;
  osq__deletions d;
  int rc = osq__open_segment_entry(dir, e, &seg, &d, 1);
  if (rc) return rc;
  /* A damaged segment is not copied: its text would be indexed again into
   * a segment with valid checksums, and the damage would pass every later
   * check (a review found `merge` turning a failed check into a passed
   * one, with garbled words in the results). */
  if (osq__segment_verify(&seg) != OSQ_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", osq_last_error());
    osq__segment_close(&seg);
    osq__deletions_free(&d);
    return osq__fail(OSQ_E_CORRUPT,
                     "%s; not merged, since a copy would carry the damage into a segment with valid checksums "
                     "(osindex check lists it; rebuild the index)",
                     why);
  }
  char **texts = NULL;
  size_t *lens = NULL, cap = 0;
  uint32_t *heads = NULL;
  osq__store_cache sc = {0};
  for (uint32_t doc = 0; doc < seg.ndocs && !rc; doc++) {
    if (osq__bit(d.docs, doc)) continue;
    osq__doc_info di;
    char *storage = NULL;
    if ((rc = osq__segment_doc(&seg, doc, &di, &storage))) break;
    if (di.first_passage > seg.npassages || di.npassages > seg.npassages - di.first_passage) {
      rc = osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: document %u has passages out of range", seg.path, doc);
      free(storage);
      break;
    }
    if (di.npassages > cap) {
      size_t nc = di.npassages;
      char **t = realloc(texts, nc * sizeof *t);
      if (t) texts = t;
      size_t *l = t ? realloc(lens, nc * sizeof *l) : NULL;
      if (l) lens = l;
      uint32_t *hd = l ? realloc(heads, nc * sizeof *hd) : NULL;
      if (hd) heads = hd;
      if (!t || !l || !hd) {
        rc = OSQ_E_NOMEM;
        free(storage);
        break;
      }
      cap = nc;
    }
    uint32_t got = 0;
    for (; got < di.npassages && !rc; got++) {
      osq__passage_info pi;
      rc = osq__segment_passage(&seg, di.first_passage + got, &pi);
      heads[got] = rc ? 0 : pi.heading;
      if (!rc) rc = osq__segment_passage_text_cached(&seg, &sc, di.first_passage + got, &texts[got], &lens[got]);
    }
    if (rc) got--; /* the failed one allocated nothing */
    if (!rc) rc = osq__writer_add_stored(w, &di, texts, lens, heads);
    for (uint32_t i = 0; i < got; i++) free(texts[i]);
    free(storage);
  }
  free(texts);
  free(lens);
  free(heads);
  osq__store_cache_free(&sc);
  osq__segment_close(&seg);
  osq__deletions_free(&d);
  return rc;
}
