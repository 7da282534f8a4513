/* manifest.h -- the list of live segments (format in manifest.c). */
#ifndef OSQ_MANIFEST_H
#define OSQ_MANIFEST_H

#include "internal.h"

typedef struct osq__manifest_seg {
  uint32_t number, ndocs, npassages, flags;
  uint64_t bytes;
} osq__manifest_seg;

typedef struct osq__manifest {
  uint64_t generation;
  uint32_t next_segment;
  uint32_t nsegs;
  osq__manifest_seg *segs;
} osq__manifest;

/* Returns OSQ_OK, OSQ_E_NOINDEX (no MANIFEST), OSQ_E_VERSION, OSQ_E_CORRUPT,
 * OSQ_E_IO or OSQ_E_NOMEM. */
int osq__manifest_read(const char *dir, osq__manifest *m);
/* Publishes m atomically (write MANIFEST.tmp, fsync, rename, fsync dir). */
int osq__manifest_write(const char *dir, const osq__manifest *m);
void osq__manifest_free(osq__manifest *m);
void osq__segment_name(uint32_t number, char *out, size_t n);

#endif
