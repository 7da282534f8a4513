/* util.c -- buffers, files, checksums. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "internal.h"

int osq__buf_reserve(osq__buf *b, size_t extra) {
  if (b->cap - b->n >= extra) return OSQ_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap - b->n < extra) {
    if (cap > SIZE_MAX / 2) return OSQ_E_NOMEM;
    cap *= 2;
  }
  uint8_t *p = realloc(b->p, cap);
  if (!p) return OSQ_E_NOMEM;
  b->p = p;
  b->cap = cap;
  return OSQ_OK;
}

int osq__buf_put(osq__buf *b, const void *src, size_t n) {
  if (osq__buf_reserve(b, n)) return OSQ_E_NOMEM;
  if (n) memcpy(b->p + b->n, src, n);
  b->n += n;
  return OSQ_OK;
}

void osq__buf_free(osq__buf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

int osq__buf_varint(osq__buf *b, uint64_t v) {
  if (osq__buf_reserve(b, 10)) return OSQ_E_NOMEM;
  uint8_t *p = b->p + b->n;
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  b->n = (size_t)(p - b->p);
  return OSQ_OK;
}

int osq__buf_u32(osq__buf *b, uint32_t v) {
  if (osq__buf_reserve(b, 4)) return OSQ_E_NOMEM;
  osq__put_u32(b->p + b->n, v);
  b->n += 4;
  return OSQ_OK;
}

int osq__buf_u64(osq__buf *b, uint64_t v) {
  if (osq__buf_reserve(b, 8)) return OSQ_E_NOMEM;
  osq__put_u64(b->p + b->n, v);
  b->n += 8;
  return OSQ_OK;
}

int osq__buf_str(osq__buf *b, const char *s, size_t n) {
  if (osq__buf_varint(b, n)) return OSQ_E_NOMEM;
  return osq__buf_put(b, s, n);
}

uint32_t osq__crc32(uint32_t crc, const void *p, size_t n) {
  /* Large buffers (segment sections) go to libdeflate: the same CRC-32 as
   * zlib's crc32(), with carry-less multiplication where the CPU has it, 10
   * times as fast (1.1 % of osindex).  Small ones (the manifest and the
   * segment headers a query reads) stay with zlib: libdeflate's first call
   * detects the CPU with CPUID, which traps in a virtual machine (3.6 us an
   * instruction here, 1.8 % of a one-shot `osq`). */
  if (n == 0) return crc; /* zlib's crc32(crc, NULL, 0) would give 0 */
  if (n < 65536) return (uint32_t)crc32(crc, p, (uInt)n);
  return (uint32_t)libdeflate_crc32(crc, p, n);
}

uint32_t osq__crc32_bulk(uint32_t crc, const void *p, size_t n) {
  if (n == 0) return crc;
  return (uint32_t)libdeflate_crc32(crc, p, n);
}

int osq__fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return osq__fail(OSQ_E_IO, "%s: %s", dir, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  if (rc != 0 && errno != EINVAL)
    return osq__fail(OSQ_E_IO, "%s: fsync: %s", dir, strerror(errno));
  return OSQ_OK;
}

int osq__write_all(int fd, const void *data, size_t n) {
  const uint8_t *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int osq__write_file_atomic(const char *dir, const char *name, const void *data,
                           size_t n) {
  char tmp[4096], dst[4096];
  snprintf(tmp, sizeof tmp, "%s/%s.tmp.%ld", dir, name, (long)getpid());
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return osq__fail(OSQ_E_IO, "%s: %s", tmp, strerror(errno));
  if (osq__write_all(fd, data, n) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);
    return osq__fail(OSQ_E_IO, "%s: write: %s", tmp, strerror(e));
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    return osq__fail(OSQ_E_IO, "%s: close: %s", tmp, strerror(e));
  }
  if (rename(tmp, dst) != 0) {
    int e = errno;
    unlink(tmp);
    return osq__fail(OSQ_E_IO, "%s: rename: %s", dst, strerror(e));
  }
  /* The file is in place: whatever happens now, readers see it.  A failed
   * fsync of the directory says only that a power loss might undo the
   * rename, so it gets a status of its own; the caller must not treat the
   * file as not written (for MANIFEST that would mean deleting what the
   * published manifest names). */
  int rc = osq__fsync_dir(dir);
  if (rc) {
    char why[512];
    snprintf(why, sizeof why, "%s", osq_last_error());
    return osq__fail(OSQ_E_NOTDURABLE, "%s is in place, but %s", dst, why);
  }
  return OSQ_OK;
}

int osq__map_file(const char *path, osq__map *m) {
  m->p = NULL;
  m->n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return osq__fail(errno == ENOENT ? OSQ_E_NOTFOUND : OSQ_E_IO, "%s: %s",
                     path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return osq__fail(OSQ_E_IO, "%s: %s", path, strerror(e));
  }
  if (st.st_size == 0) {
    close(fd);
    return osq__fail(OSQ_E_CORRUPT, "%s: file is empty", path);
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  /* ENOMEM is the address space (ulimit -v), not the file: out of memory,
   * never to be taken for damage. */
  if (p == MAP_FAILED)
    return osq__fail(e == ENOMEM ? OSQ_E_NOMEM : OSQ_E_IO, "%s: mmap: %s", path, strerror(e));
  m->p = p;
  m->n = (size_t)st.st_size;
  return OSQ_OK;
}

void osq__unmap(osq__map *m) {
  if (m->p) munmap((void *)m->p, m->n);
  m->p = NULL;
  m->n = 0;
}
