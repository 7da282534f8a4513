/* merge.h -- what writer.c and merge.c share: the merge policy, copying a
 * segment's live documents, and opening a segment named by a manifest. */
#ifndef OSQ_MERGE_H
#define OSQ_MERGE_H

#include "manifest.h"
#include "segment.h"

/* Opens segment e of the index in dir and its deletions; checks that the
 * file matches e.  A segment without deletions gets empty bitmaps when
 * empty_bitmaps is set (for those who mark deletions in them), else a
 * zeroed *d with no bitmaps: a reader only looks at bitmaps the manifest
 * flags, and allocating and zeroing them cost a one-shot query about ten
 * page faults.  On failure nothing is left open.  Returns OSQ_OK,
 * OSQ_E_CORRUPT (also for a missing file), OSQ_E_VERSION, OSQ_E_IO or
 * OSQ_E_NOMEM. */
int osq__open_segment_entry(const char *dir, const osq__manifest_seg *e, osq__segment *seg,
                            osq__deletions *d, int empty_bitmaps);

/* The most segment-file bytes one automatic merge may write, for a writer
 * whose in-memory segment is flushed at flush_bytes. */
uint64_t osq__merge_budget(size_t flush_bytes);
/* Chooses segments of m to merge (indices into m->segs, into pick, which has
 * room for m->nsegs); returns how many, 0 for none. */
uint32_t osq__merge_pick(const osq__manifest *m, uint64_t budget, uint32_t *pick);
/* Adds the live documents of segment e to w through osq__writer_add_stored. */
int osq__merge_copy(osq_writer *w, const char *dir, const osq__manifest_seg *e);

/* writer_add.c: adds one document with its passages exactly as given. */
int osq__writer_add_stored(osq_writer *w, const osq__doc_info *di, char *const *texts, const size_t *lens,
                           const uint32_t *headings);

#endif
