/*
 * writer_merge.c -- merge orchestration: which segments merge when
 * (the policy itself is merge.c's), and publishing the result.
 *
 * MERGES (merge.c): a merge re-adds the live documents of some segments,
 * passage by passage as stored, to the in-memory segment, flushes it and
 * publishes a manifest in which the new segments replace the old ones.
 */
#include "writer_int.h"

/* Re-adds the live documents of the segments at w->man.segs[pick[0..n)]
 * into new segments and publishes a manifest where those replace them (at
 * the place of the first).  Nothing may be pending.  Returns OSQ_OK,
 * OSQ_E_NOTDURABLE (published, see osq__writer_adopt_manifest), or the failure that
 * left the index as it was (the segments it wrote are deleted). */
int osq__writer_merge_segments(osq_writer *w, const uint32_t *pick, uint32_t n) {
  if (w->ndocs || w->nnew || w->npending) return osq__fail(OSQ_E_INVAL, "internal: merge with uncommitted changes");
  osq_writer_stats saved = w->stats;
  w->merging = 1;
  int rc = OSQ_OK;
  for (uint32_t i = 0; i < n && !rc; i++) rc = osq__merge_copy(w, w->dir, &w->man.segs[pick[i]]);
  if (!rc) rc = osq__writer_flush(w);
  if (!rc) osq__writer_crash_point("merge-flushed");
  w->merging = 0;
  w->stats = saved;
  osq__manifest m = w->man;
  m.segs = NULL;
  if (!rc && !(m.segs = malloc((w->man.nsegs + w->nnew + 1) * sizeof *m.segs))) rc = OSQ_E_NOMEM;
  if (rc) {
    /* Segments a flush wrote before the failure hold copies of live
     * documents: published by a later commit they would be duplicates. */
    osq__writer_reset_segment(w);
    osq__writer_discard_new(w);
    return rc;
  }
  m.generation++;
  m.nsegs = 0;
  uint32_t first = pick[0];
  for (uint32_t i = 1; i < n; i++)
    if (pick[i] < first) first = pick[i];
  for (uint32_t i = 0; i < w->man.nsegs; i++) {
    if (i == first)
      for (uint32_t k = 0; k < w->nnew; k++) m.segs[m.nsegs++] = w->new_segs[k];
    int picked = 0;
    for (uint32_t k = 0; k < n; k++) picked |= pick[k] == i;
    if (!picked) m.segs[m.nsegs++] = w->man.segs[i];
  }
  rc = osq__writer_adopt_manifest(w, &m);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    free(m.segs);
    osq__writer_discard_new(w);
    return rc;
  }
  w->stats.merges++;
  osq__writer_drop_ids(w); /* documents moved: read the ids again when needed */
  osq__writer_crash_point("merge-published");
  if (!rc) osq__writer_remove_garbage(w, 0);
  return rc;
}

/* The automatic merge policy (merge.c picks the segments). */
int osq__writer_auto_merge(osq_writer *w) {
  if (w->opts.no_auto_merge) return OSQ_OK;
  uint32_t *pick = malloc((w->man.nsegs + 1) * sizeof *pick);
  /* (no memory: the commit stands all the same, OSQ_E_AUTOMERGE below) */
  int rc = pick ? OSQ_OK : OSQ_E_NOMEM;
  /* Every merge leaves fewer segments or fewer deleted documents, so this
   * ends; the bound is a guard against a policy bug. */
  for (int round = 0; round < 100000 && !rc; round++) {
    uint32_t n = osq__merge_pick(&w->man, osq__merge_budget(w->opts.flush_bytes), pick);
    if (n == 0) break;
    uint32_t before = w->man.nsegs;
    uint64_t deleted = 0;
    for (uint32_t i = 0; i < n; i++) deleted += w->man.segs[pick[i]].del_docs;
    rc = osq__writer_merge_segments(w, pick, n);
    if (rc == OSQ_E_CORRUPT) { /* a damaged segment: left for check to report (merge.c) */
      w->stats.merges_refused++;
      rc = OSQ_OK;
      break;
    }
    if (!rc && w->man.nsegs >= before && deleted == 0) break; /* no progress */
  }
  free(pick);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    /* The commit before it stands: say so, so that nobody retries or rolls
     * back documents that are safely in the index. */
    char why[900];
    snprintf(why, sizeof why, "%s", osq_last_error()[0] ? osq_last_error() : osq_strerror(rc));
    rc = osq__fail(OSQ_E_AUTOMERGE, "the automatic merge after the commit failed (%s: %s); the index is as the commit left it",
                   osq_strerror(rc), why);
  }
  return rc;
}
