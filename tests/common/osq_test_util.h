/* Helpers the test programs share (unit, durability, corruption, query-log and
 * fuzz harnesses).  Header-only, every function static, no cmocka: the fuzzers
 * and the query-log test do not link it.  Failures are returned, not asserted;
 * each caller decides how to fail.
 *
 * Include after the system headers a test needs; this header includes its own. */
#ifndef OSQ_TEST_UTIL_H
#define OSQ_TEST_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int osqt_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes dir and everything below it, following no symbolic link. */
static inline void osqt_rm_tree(const char *dir) {
  if (dir && *dir) nftw(dir, osqt_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes $TMPDIR/PREFIX-XXXXXX (/tmp without TMPDIR) into buf; returns buf, or
 * NULL with errno set. */
static inline char *osqt_mkdtemp(char *buf, size_t size, const char *prefix) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, size, "%s/%s-XXXXXX", base && *base ? base : "/tmp", prefix);
  return mkdtemp(buf);
}

/* The same, as a malloc'd string (NULL on failure); the caller frees it. */
static inline char *osqt_make_tmpdir(const char *prefix) {
  char buf[4096];
  if (!osqt_mkdtemp(buf, sizeof buf, prefix)) return NULL;
  return strdup(buf);
}

/* Reads a whole file into a malloc'd buffer with a NUL after it; NULL on
 * any failure.  *n gets its length. */
static inline uint8_t *osqt_read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *p = NULL;
  long len;
  if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
      !(p = malloc((size_t)len + 1)) || fread(p, 1, (size_t)len, f) != (size_t)len) {
    free(p);
    fclose(f);
    return NULL;
  }
  fclose(f);
  p[len] = 0;
  *n = (size_t)len;
  return p;
}

/* Replaces path's contents with p[0..n); 0, or -1 with errno set. */
static inline int osqt_write_file(const char *path, const void *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  const char *c = p;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, c + done, n - done);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)w;
  }
  return close(fd);
}

/* Seconds on the monotonic clock. */
static inline double osqt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
