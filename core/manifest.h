/* manifest.h -- the list of live segments and their deletion files (format
 * in manifest.c). */
#ifndef OSQ_MANIFEST_H
#define OSQ_MANIFEST_H

#include "internal.h"

#define OSQ__SEGF_DELETIONS 1u /* the segment has a deletion file */

typedef struct osq__manifest_seg {
  uint32_t number, ndocs, npassages, flags;
  uint64_t bytes;
  uint64_t del_gen;       /* generation in the deletion file's name */
  uint32_t del_docs;      /* documents marked deleted */
  uint32_t del_passages;  /* passages marked deleted */
} osq__manifest_seg;

typedef struct osq__manifest {
  uint64_t generation;
  uint32_t next_segment;
  uint32_t nsegs;
  osq__manifest_seg *segs;
  uint32_t version;  /* the format version read (also set on OSQ_E_VERSION) */
  int newer;         /* OSQ_E_VERSION: the index is of a newer osq's format */
} osq__manifest;

/* Returns OSQ_OK, OSQ_E_NOINDEX (no MANIFEST), OSQ_E_VERSION, OSQ_E_CORRUPT,
 * OSQ_E_IO or OSQ_E_NOMEM. */
int osq__manifest_read(const char *dir, osq__manifest *m);
/* Publishes m atomically (write MANIFEST.tmp, fsync, rename, fsync dir).
 * Returns OSQ_OK; OSQ_E_IO or OSQ_E_NOMEM when the old manifest is still
 * the one in place; OSQ_E_NOTDURABLE when m is published (readers see it)
 * but the directory's fsync failed, so a power loss may bring back the old
 * one: the caller must keep every file either manifest names. */
int osq__manifest_write(const char *dir, const osq__manifest *m);
void osq__manifest_free(osq__manifest *m);
/* Whether dir's MANIFEST is now another generation than gen: a reader whose
 * snapshot of generation gen failed (a file gone or damaged) retries when a
 * writer has published since (SNAPSHOTS), and reports the failure when not.
 * An unreadable MANIFEST counts as not moved. */
int osq__manifest_moved(const char *dir, uint64_t gen);
void osq__segment_name(uint32_t number, char *out, size_t n);

/* ---- deletion files ------------------------------------------------------ */

/* The deleted documents and passages of one segment, as bitmaps (bit i of
 * byte i / 8, least significant bit first). */
typedef struct osq__deletions {
  uint32_t ndocs, npassages;       /* the segment's counts */
  uint32_t del_docs, del_passages; /* bits set */
  uint8_t *docs;                   /* (ndocs + 7) / 8 bytes */
  uint8_t *passages;               /* (npassages + 7) / 8 bytes */
} osq__deletions;

static inline int osq__bit(const uint8_t *bits, uint32_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void osq__set_bit(uint8_t *bits, uint32_t i) {
  bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
}

void osq__deletions_name(uint32_t number, uint64_t gen, char *out, size_t n);
/* Empty bitmaps for a segment of ndocs documents and npassages passages. */
int osq__deletions_init(osq__deletions *d, uint32_t ndocs, uint32_t npassages);
/* Reads the deletion file that manifest entry e names (e->flags must have
 * OSQ__SEGF_DELETIONS); checks magic, version, size, checksum, and that its
 * counts agree with e.  Returns OSQ_OK, OSQ_E_NOTFOUND (no such file; the
 * message names it), OSQ_E_CORRUPT, OSQ_E_VERSION, OSQ_E_IO or OSQ_E_NOMEM. */
int osq__deletions_read(const char *dir, const osq__manifest_seg *e, osq__deletions *d);
/* Writes d as the deletion file of segment number, generation gen (temporary
 * name, fsync, rename, fsync of the directory).  *bytes gets the file size. */
int osq__deletions_write(const char *dir, uint32_t number, uint64_t gen,
                         const osq__deletions *d, uint64_t *bytes);
void osq__deletions_free(osq__deletions *d);
/* Size in bytes of the deletion file for counts ndocs / npassages. */
uint64_t osq__deletions_file_bytes(uint32_t ndocs, uint32_t npassages);

/* ---- snapshots ----------------------------------------------------------- */

/* What a file name in an index directory is: 1 a segment (*number set),
 * 2 a deletion file (*number, *gen set), 3 a temporary file of a writer,
 * 0 anything else. */
int osq__index_file_kind(const char *name, uint32_t *number, uint64_t *gen);

#endif
