/*
 * manifest.c -- the MANIFEST file, which names the live segments.
 *
 * FORMAT (version 1), little-endian:
 *     0  8 bytes  magic "OSQMANIF"
 *     8  u32      format version (OSQ_FORMAT_VERSION)
 *    12  u32      number of segments N
 *    16  u64      generation, incremented by every commit
 *    24  u32      next segment number to allocate
 *    28  u32      zero
 *    32  N entries of 24 bytes: u32 segment number (file seg-%08u.osq),
 *        u32 documents, u32 passages, u32 flags (0; reserved for a
 *        deletions file), u64 segment file size in bytes
 *    then u32 CRC32 of every byte before it.
 *
 * A commit writes new segment files first, then the manifest under a
 * temporary name, fsyncs it and renames it over MANIFEST, then fsyncs the
 * directory: readers see the old manifest or the new one, never a mix.
 * Segments not named by the manifest are garbage a writer may delete.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "manifest.h"

#define MAGIC "OSQMANIF"

void osq__segment_name(uint32_t number, char *out, size_t n) {
  snprintf(out, n, "seg-%08u.osq", number);
}

int osq__manifest_read(const char *dir, osq__manifest *m) {
  memset(m, 0, sizeof *m);
  char path[4096];
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return osq__fail(OSQ_E_NOINDEX, "%s: no index here (no MANIFEST)", dir);
    return osq__fail(OSQ_E_IO, "%s: %s", path, strerror(errno));
  }
  uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  int big = !feof(f);
  fclose(f);
  if (big) return osq__fail(OSQ_E_CORRUPT, "%s: manifest is too large", path);
  if (n < 36 || memcmp(buf, MAGIC, 8) != 0)
    return osq__fail(OSQ_E_CORRUPT, "%s: not an osq manifest (bad magic or truncated)", path);
  uint32_t version = osq__get_u32(buf + 8);
  if (version != OSQ_FORMAT_VERSION)
    return osq__fail(OSQ_E_VERSION,
                     "%s: index format version %u, this osq reads version %u; rebuild the index with this osindex",
                     path, version, OSQ_FORMAT_VERSION);
  uint32_t nsegs = osq__get_u32(buf + 12);
  if ((uint64_t)nsegs * 24 + 36 != n)
    return osq__fail(OSQ_E_CORRUPT, "%s: manifest size does not match its segment count", path);
  if (osq__get_u32(buf + n - 4) != osq__crc32(0, buf, n - 4))
    return osq__fail(OSQ_E_CORRUPT, "%s: manifest checksum mismatch", path);
  m->generation = osq__get_u64(buf + 16);
  m->next_segment = osq__get_u32(buf + 24);
  m->nsegs = nsegs;
  m->segs = calloc(nsegs ? nsegs : 1, sizeof *m->segs);
  if (!m->segs) return OSQ_E_NOMEM;
  for (uint32_t i = 0; i < nsegs; i++) {
    const uint8_t *e = buf + 32 + (size_t)i * 24;
    m->segs[i].number = osq__get_u32(e);
    m->segs[i].ndocs = osq__get_u32(e + 4);
    m->segs[i].npassages = osq__get_u32(e + 8);
    m->segs[i].flags = osq__get_u32(e + 12);
    m->segs[i].bytes = osq__get_u64(e + 16);
  }
  return OSQ_OK;
}

int osq__manifest_write(const char *dir, const osq__manifest *m) {
  osq__buf b = {0};
  int rc = osq__buf_put(&b, MAGIC, 8);
  rc = rc ? rc : osq__buf_u32(&b, OSQ_FORMAT_VERSION);
  rc = rc ? rc : osq__buf_u32(&b, m->nsegs);
  rc = rc ? rc : osq__buf_u64(&b, m->generation);
  rc = rc ? rc : osq__buf_u32(&b, m->next_segment);
  rc = rc ? rc : osq__buf_u32(&b, 0);
  for (uint32_t i = 0; i < m->nsegs && !rc; i++) {
    rc = osq__buf_u32(&b, m->segs[i].number);
    rc = rc ? rc : osq__buf_u32(&b, m->segs[i].ndocs);
    rc = rc ? rc : osq__buf_u32(&b, m->segs[i].npassages);
    rc = rc ? rc : osq__buf_u32(&b, m->segs[i].flags);
    rc = rc ? rc : osq__buf_u64(&b, m->segs[i].bytes);
  }
  rc = rc ? rc : osq__buf_u32(&b, osq__crc32(0, b.p, b.n));
  if (!rc) rc = osq__write_file_atomic(dir, "MANIFEST", b.p, b.n);
  osq__buf_free(&b);
  return rc;
}

void osq__manifest_free(osq__manifest *m) {
  free(m->segs);
  m->segs = NULL;
  m->nsegs = 0;
}
