/*
 * manifest.c -- the MANIFEST file, which names the live segments, and the
 * deletion files, which mark documents of a segment as deleted.
 *
 * MANIFEST, little-endian (its layout has been the same in every index
 * format version so far; the version field says which segment format the
 * index holds, and a reader refuses any version but its own):
 *     0  8 bytes  magic "OSQMANIF"
 *     8  u32      format version (OSQ_FORMAT_VERSION)
 *    12  u32      number of segments N
 *    16  u64      generation, incremented by every commit
 *    24  u32      next segment number to allocate
 *    28  u32      entry size E: 40.  Manifests written before deletions
 *                 existed have 0 here and 24-byte entries (the first five
 *                 fields below); they are read as segments without
 *                 deletions.  Any other value is OSQ_E_VERSION.
 *    32  N entries of E bytes:
 *          0 u32  segment number (file seg-%08u.osq)
 *          4 u32  documents in the segment file (deleted ones included)
 *          8 u32  passages in the segment file
 *         12 u32  flags: bit 0 = the segment has a deletion file; other bits
 *                 are zero (a reader that finds one refuses the index with
 *                 OSQ_E_VERSION: a newer osq wrote it)
 *         16 u64  segment file size in bytes
 *         24 u64  deletion generation G: the deletion file is
 *                 seg-%08u.del.G (0 without deletions)
 *         32 u32  deleted documents
 *         36 u32  deleted passages
 *    then u32 CRC32 of every byte before it.
 * ENVELOPE: every version of the manifest, past and future, starts with
 * the magic and the version and ends with that CRC32.  A reader verifies
 * the CRC before it looks at anything else, so that a damaged version or
 * size field is reported as damage (OSQ_E_CORRUPT), and only an intact
 * manifest of another version as OSQ_E_VERSION: "upgrade osq" when it is
 * newer (which a rebuild must never overwrite: osq__manifest.newer),
 * "rebuild" when it is older.
 *
 * DELETION FILE seg-NNNNNNNN.del.G, little-endian (the same layout in
 * versions 1 and 2):
 *     0  8 bytes  magic "OSQDEL\x01\x00"
 *     8  u32      format version (OSQ_FORMAT_VERSION)
 *    12  u32      segment number NNNNNNNN
 *    16  u32      documents D of the segment
 *    20  u32      passages P of the segment
 *    24  u32      deleted documents (bits set in the document bitmap)
 *    28  u32      deleted passages (bits set in the passage bitmap)
 *    32  (D+7)/8 bytes: document bitmap, bit d (byte d/8, least significant
 *        bit first) set when document d is deleted; then (P+7)/8 bytes:
 *        passage bitmap, set for every passage of a deleted document.  Bits
 *        past D and P are zero.
 *    then u32 CRC32 of every byte before it.
 * Both bitmaps are kept because a document may have no passage (an empty
 * text without title): the document bitmap is what says it is gone, the
 * passage bitmap is what a search tests.  A deletion file is never changed:
 * deleting more documents of the segment writes a new file under the new
 * manifest's generation, and the manifest names the one that counts.  When
 * every document of a segment is deleted, the manifest drops the segment.
 *
 * A commit writes new segment and deletion files first (each under a
 * temporary name, fsynced, renamed, directory fsynced), then the manifest
 * under a temporary name, fsyncs it and renames it over MANIFEST, then fsyncs
 * the directory: readers see the old manifest or the new one, never a mix.
 * The rename is the commit point: when only the directory's fsync after it
 * fails, osq__manifest_write returns OSQ_E_NOTDURABLE, the manifest counts
 * as published, and nothing either manifest names is deleted (writer.c).
 * Segment and deletion files that the manifest does not name, and temporary
 * files, are garbage that the writer deletes after its commit and when it
 * opens (it holds the LOCK then, so no other writer is making them; at open
 * it fsyncs the directory first, so that the manifest it read is durable).
 *
 * SNAPSHOTS.  A reader reads the manifest once and maps the segments it
 * names (deletion files are read into memory).  A writer may delete those
 * files as soon as it has published a manifest without them; on Linux an
 * unlinked file stays readable through an existing mapping, so an open reader
 * keeps answering from its snapshot.  A reader that finds a named file
 * already gone (it read the manifest just before a commit) reads the new
 * manifest and tries again (osq_index_open).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"

#define MAGIC "OSQMANIF"
#define DEL_MAGIC "OSQDEL\x01\x00"
#define ENTRY_BYTES 40
#define LEGACY_ENTRY_BYTES 24
#define HEADER_BYTES 32
#define DEL_HEADER_BYTES 32
#define MAX_MANIFEST_BYTES ((size_t)64 << 20)

void osq__segment_name(uint32_t number, char *out, size_t n) {
  snprintf(out, n, "seg-%08u.osq", number);
}

void osq__deletions_name(uint32_t number, uint64_t gen, char *out, size_t n) {
  snprintf(out, n, "seg-%08u.del.%llu", number, (unsigned long long)gen);
}

/* Reads a whole small file into malloc'd memory.  Returns OSQ_OK,
 * OSQ_E_NOTFOUND, OSQ_E_IO, OSQ_E_CORRUPT (larger than max) or OSQ_E_NOMEM. */
static int slurp(const char *path, size_t max, uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return osq__fail(errno == ENOENT ? OSQ_E_NOTFOUND : OSQ_E_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return osq__fail(OSQ_E_IO, "%s: %s", path, strerror(e));
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return osq__fail(OSQ_E_CORRUPT, "%s: file is too large (%lld bytes)", path, (long long)st.st_size);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) {
    close(fd);
    return OSQ_E_NOMEM;
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return osq__fail(OSQ_E_IO, "%s: read: %s", path, strerror(e));
    }
    if (r == 0) break; /* shrank under us: the checks below catch it */
    got += (size_t)r;
  }
  close(fd);
  *out = buf;
  *len = got;
  return OSQ_OK;
}

int osq__manifest_read(const char *dir, osq__manifest *m) {
  memset(m, 0, sizeof *m);
  char path[4200];
  snprintf(path, sizeof path, "%s/MANIFEST", dir);
  uint8_t *buf;
  size_t n;
  int rc = slurp(path, MAX_MANIFEST_BYTES, &buf, &n);
  if (rc == OSQ_E_NOTFOUND) {
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
      return osq__fail(OSQ_E_NOINDEX, "%s: no index here (not a directory)", dir);
    return osq__fail(OSQ_E_NOINDEX, "%s: no index here (no MANIFEST)", dir);
  }
  if (rc == OSQ_E_CORRUPT) return osq__fail(OSQ_E_CORRUPT, "%s: manifest is too large", path);
  if (rc) return rc;
  if (n < HEADER_BYTES + 4 || memcmp(buf, MAGIC, 8) != 0) {
    free(buf);
    return osq__fail(OSQ_E_CORRUPT, "%s: not an osq manifest (bad magic or truncated)", path);
  }
  /* The checksum first (ENVELOPE above): a damaged version or size field
   * is damage, not a format this osq does not know. */
  if (osq__get_u32(buf + n - 4) != osq__crc32(0, buf, n - 4)) {
    free(buf);
    return osq__fail(OSQ_E_CORRUPT, "%s: the index is damaged: manifest checksum mismatch; run osindex check", path);
  }
  uint32_t version = osq__get_u32(buf + 8);
  m->version = version;
  if (version > OSQ_FORMAT_VERSION) {
    free(buf);
    m->newer = 1;
    return osq__fail(OSQ_E_VERSION, "%s: index format version %u is newer than this osq's (%u): upgrade osq to use it",
                     path, version, OSQ_FORMAT_VERSION);
  }
  if (version != OSQ_FORMAT_VERSION) {
    free(buf);
    return osq__fail(OSQ_E_VERSION,
                     "%s: index format version %u, this osq reads version %u; rebuild the index with osindex --replace",
                     path, version, OSQ_FORMAT_VERSION);
  }
  uint32_t nsegs = osq__get_u32(buf + 12);
  uint32_t esize = osq__get_u32(buf + 28);
  if (esize == 0) esize = LEGACY_ENTRY_BYTES;
  if (esize != ENTRY_BYTES && esize != LEGACY_ENTRY_BYTES) {
    free(buf);
    m->newer = 1;
    return osq__fail(OSQ_E_VERSION, "%s: manifest entries of %u bytes: written by a newer osq; upgrade osq to use it",
                     path, esize);
  }
  if ((uint64_t)nsegs * esize + HEADER_BYTES + 4 != n) {
    free(buf);
    return osq__fail(OSQ_E_CORRUPT, "%s: manifest size (%zu bytes) does not match its segment count (%u)", path, n, nsegs);
  }
  m->generation = osq__get_u64(buf + 16);
  m->next_segment = osq__get_u32(buf + 24);
  m->nsegs = nsegs;
  m->segs = calloc(nsegs ? nsegs : 1, sizeof *m->segs);
  if (!m->segs) {
    free(buf);
    return OSQ_E_NOMEM;
  }
  rc = OSQ_OK;
  for (uint32_t i = 0; i < nsegs && !rc; i++) {
    const uint8_t *e = buf + HEADER_BYTES + (size_t)i * esize;
    osq__manifest_seg *s = &m->segs[i];
    s->number = osq__get_u32(e);
    s->ndocs = osq__get_u32(e + 4);
    s->npassages = osq__get_u32(e + 8);
    s->flags = osq__get_u32(e + 12);
    s->bytes = osq__get_u64(e + 16);
    if (esize == ENTRY_BYTES) {
      s->del_gen = osq__get_u64(e + 24);
      s->del_docs = osq__get_u32(e + 32);
      s->del_passages = osq__get_u32(e + 36);
    }
    if (s->flags & ~OSQ__SEGF_DELETIONS) {
      m->newer = 1;
      rc = osq__fail(OSQ_E_VERSION, "%s: segment %u has flags 0x%x this osq does not know: written by a newer osq; "
                     "upgrade osq to use it", path, s->number, s->flags);
    }
    else if (!(s->flags & OSQ__SEGF_DELETIONS) && (s->del_gen || s->del_docs || s->del_passages))
      rc = osq__fail(OSQ_E_CORRUPT, "%s: segment %u has deletion counts but no deletion file", path, s->number);
    else if (s->del_docs > s->ndocs || s->del_passages > s->npassages ||
             ((s->flags & OSQ__SEGF_DELETIONS) && s->del_docs == 0))
      rc = osq__fail(OSQ_E_CORRUPT, "%s: segment %u: impossible deletion counts", path, s->number);
    else if (s->number == 0 || s->number >= m->next_segment)
      rc = osq__fail(OSQ_E_CORRUPT, "%s: segment number %u is not below the next number to allocate (%u)", path,
                     s->number, m->next_segment);
    for (uint32_t j = 0; j < i && !rc; j++)
      if (m->segs[j].number == s->number)
        rc = osq__fail(OSQ_E_CORRUPT, "%s: segment %u is listed twice", path, s->number);
  }
  free(buf);
  if (rc) {
    int newer = m->newer;
    osq__manifest_free(m);
    m->newer = newer;
  }
  return rc;
}

int osq__manifest_write(const char *dir, const osq__manifest *m) {
  osq__buf b = {0};
  int rc = osq__buf_reserve(&b, HEADER_BYTES + 4 + (size_t)m->nsegs * ENTRY_BYTES);
  rc = rc ? rc : osq__buf_put(&b, MAGIC, 8);
  rc = rc ? rc : osq__buf_u32(&b, OSQ_FORMAT_VERSION);
  rc = rc ? rc : osq__buf_u32(&b, m->nsegs);
  rc = rc ? rc : osq__buf_u64(&b, m->generation);
  rc = rc ? rc : osq__buf_u32(&b, m->next_segment);
  rc = rc ? rc : osq__buf_u32(&b, ENTRY_BYTES);
  for (uint32_t i = 0; i < m->nsegs && !rc; i++) {
    const osq__manifest_seg *s = &m->segs[i];
    rc = osq__buf_u32(&b, s->number);
    rc = rc ? rc : osq__buf_u32(&b, s->ndocs);
    rc = rc ? rc : osq__buf_u32(&b, s->npassages);
    rc = rc ? rc : osq__buf_u32(&b, s->flags);
    rc = rc ? rc : osq__buf_u64(&b, s->bytes);
    rc = rc ? rc : osq__buf_u64(&b, s->del_gen);
    rc = rc ? rc : osq__buf_u32(&b, s->del_docs);
    rc = rc ? rc : osq__buf_u32(&b, s->del_passages);
  }
  rc = rc ? rc : osq__buf_u32(&b, osq__crc32(0, b.p, b.n));
  /* OSQ_E_NOTDURABLE passes through: the manifest is published. */
  if (!rc) rc = osq__write_file_atomic(dir, "MANIFEST", b.p, b.n);
  osq__buf_free(&b);
  return rc;
}

int osq__manifest_moved(const char *dir, uint64_t gen) {
  osq__manifest now;
  int moved = osq__manifest_read(dir, &now) == OSQ_OK && now.generation != gen;
  osq__manifest_free(&now);
  return moved;
}

void osq__manifest_free(osq__manifest *m) {
  free(m->segs);
  m->segs = NULL;
  m->nsegs = 0;
}

/* ---- deletion files ------------------------------------------------------ */

uint64_t osq__deletions_file_bytes(uint32_t ndocs, uint32_t npassages) {
  return DEL_HEADER_BYTES + ((uint64_t)ndocs + 7) / 8 + ((uint64_t)npassages + 7) / 8 + 4;
}

int osq__deletions_init(osq__deletions *d, uint32_t ndocs, uint32_t npassages) {
  memset(d, 0, sizeof *d);
  size_t db = ((size_t)ndocs + 7) / 8, pb = ((size_t)npassages + 7) / 8;
  uint8_t *mem = calloc(db + pb + 1, 1);
  if (!mem) return OSQ_E_NOMEM;
  d->ndocs = ndocs;
  d->npassages = npassages;
  d->docs = mem;
  d->passages = mem + db;
  return OSQ_OK;
}

void osq__deletions_free(osq__deletions *d) {
  if (!d) return;
  free(d->docs); /* one allocation holds both bitmaps */
  memset(d, 0, sizeof *d);
}

static uint32_t popcount(const uint8_t *p, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n; i++) c += (uint32_t)__builtin_popcount(p[i]);
  return c;
}

/* Non-zero when a bitmap of `bits` bits has a bit set past its end. */
static int tail_set(const uint8_t *p, uint32_t bits) {
  return (bits & 7) && (p[bits >> 3] >> (bits & 7)) != 0;
}

int osq__deletions_read(const char *dir, const osq__manifest_seg *e, osq__deletions *d) {
  memset(d, 0, sizeof *d);
  char name[64], path[4200];
  osq__deletions_name(e->number, e->del_gen, name, sizeof name);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  uint64_t want = osq__deletions_file_bytes(e->ndocs, e->npassages);
  uint8_t *buf;
  size_t n;
  int rc = slurp(path, want, &buf, &n);
  if (rc == OSQ_E_NOTFOUND) return osq__fail(OSQ_E_NOTFOUND, "%s: deletion file is missing", path);
  if (rc == OSQ_E_CORRUPT)
    return osq__fail(OSQ_E_CORRUPT, "%s: corrupt deletion file: larger than its segment needs (%llu bytes)", path,
                     (unsigned long long)want);
  if (rc) return rc;
  const char *what = NULL;
  /* the checksum before the version: a damaged version field is damage */
  if (n < DEL_HEADER_BYTES || memcmp(buf, DEL_MAGIC, 8) != 0) what = "bad magic number or truncated";
  else if (osq__get_u32(buf + n - 4) != osq__crc32(0, buf, n - 4)) what = n != want ? "truncated" : "checksum mismatch";
  else if (osq__get_u32(buf + 8) != OSQ_FORMAT_VERSION) {
    rc = osq__fail(OSQ_E_VERSION, "%s: deletion file format version %u, this osq reads version %u", path,
                   osq__get_u32(buf + 8), OSQ_FORMAT_VERSION);
  } else if (n != want) what = "truncated";
  else if (osq__get_u32(buf + 12) != e->number) what = "names another segment";
  else if (osq__get_u32(buf + 16) != e->ndocs || osq__get_u32(buf + 20) != e->npassages)
    what = "document or passage count differs from the segment's";
  else if (osq__get_u32(buf + 24) != e->del_docs || osq__get_u32(buf + 28) != e->del_passages)
    what = "deleted counts differ from the manifest's";
  if (!rc && !what) {
    if ((rc = osq__deletions_init(d, e->ndocs, e->npassages))) {
      free(buf);
      return rc;
    }
    size_t db = ((size_t)e->ndocs + 7) / 8, pb = ((size_t)e->npassages + 7) / 8;
    memcpy(d->docs, buf + DEL_HEADER_BYTES, db);
    memcpy(d->passages, buf + DEL_HEADER_BYTES + db, pb);
    d->del_docs = osq__get_u32(buf + 24);
    d->del_passages = osq__get_u32(buf + 28);
    if (popcount(d->docs, db) != d->del_docs || popcount(d->passages, pb) != d->del_passages)
      what = "bitmaps do not match their counts";
    else if (tail_set(d->docs, d->ndocs) || tail_set(d->passages, d->npassages))
      what = "bits set past the end of a bitmap";
    if (what) osq__deletions_free(d);
  }
  free(buf);
  if (what) return osq__fail(OSQ_E_CORRUPT, "%s: corrupt deletion file: %s", path, what);
  return rc;
}

int osq__deletions_write(const char *dir, uint32_t number, uint64_t gen, const osq__deletions *d,
                         uint64_t *bytes) {
  size_t db = ((size_t)d->ndocs + 7) / 8, pb = ((size_t)d->npassages + 7) / 8;
  osq__buf b = {0};
  int rc = osq__buf_reserve(&b, DEL_HEADER_BYTES + db + pb + 4);
  rc = rc ? rc : osq__buf_put(&b, DEL_MAGIC, 8);
  rc = rc ? rc : osq__buf_u32(&b, OSQ_FORMAT_VERSION);
  rc = rc ? rc : osq__buf_u32(&b, number);
  rc = rc ? rc : osq__buf_u32(&b, d->ndocs);
  rc = rc ? rc : osq__buf_u32(&b, d->npassages);
  rc = rc ? rc : osq__buf_u32(&b, d->del_docs);
  rc = rc ? rc : osq__buf_u32(&b, d->del_passages);
  rc = rc ? rc : osq__buf_put(&b, d->docs, db);
  rc = rc ? rc : osq__buf_put(&b, d->passages, pb);
  rc = rc ? rc : osq__buf_u32(&b, osq__crc32(0, b.p, b.n));
  char name[64];
  osq__deletions_name(number, gen, name, sizeof name);
  if (!rc) rc = osq__write_file_atomic(dir, name, b.p, b.n);
  /* A deletion file counts only once a manifest names it: one whose
   * directory entry may not be durable is a failed write, and the commit
   * does not go on to publish a manifest that names it. */
  if (rc == OSQ_E_NOTDURABLE) rc = OSQ_E_IO;
  if (!rc && bytes) *bytes = b.n;
  osq__buf_free(&b);
  return rc;
}

/* ---- file names ------------------------------------------------------------ */

int osq__index_file_kind(const char *name, uint32_t *number, uint64_t *gen) {
  size_t len = strlen(name);
  /* temporaries: seg-*.tmp (segments), NAME.tmp.PID (osq__write_file_atomic) */
  if ((!strncmp(name, "seg-", 4) || !strncmp(name, "MANIFEST", 8)) && strstr(name, ".tmp")) return 3;
  if (len < 13 || strncmp(name, "seg-", 4) != 0) return 0;
  uint32_t num = 0;
  for (int i = 4; i < 12; i++) {
    if (name[i] < '0' || name[i] > '9') return 0;
    num = num * 10 + (uint32_t)(name[i] - '0');
  }
  *number = num;
  if (!strcmp(name + 12, ".osq")) return 1;
  if (!strncmp(name + 12, ".del.", 5) && name[17]) {
    uint64_t g = 0;
    for (const char *p = name + 17; *p; p++) {
      if (*p < '0' || *p > '9' || g > UINT64_MAX / 10 - 9) return 0;
      g = g * 10 + (uint64_t)(*p - '0');
    }
    *gen = g;
    return 2;
  }
  return 0;
}
