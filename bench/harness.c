/*
 * harness.c -- what measures every engine the same way: the clock, the
 * forked build whose peak memory wait4() reports, the size of an index
 * directory, running a command line, and latency summaries.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int bench_quiet;

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Writes all of buf to fd, riding over short writes and EINTR. */
static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1; /* the child died before reporting */
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* The child's side: build, report through fd, exit without returning into
 * the parent's code (no atexit handlers, no stdio buffers flushed twice). */
static void child_build(const bench_engine *engine, const char *dir,
                        const bench_corpus *corpus, int fd) {
  bench_build_result r;
  memset(&r, 0, sizeof r);
  uint64_t t0 = bench_now_ns();
  if (engine)
    r.status = engine->build(dir, corpus, &r.read, r.err, sizeof r.err);
  else
    r.status = bench_read_corpus(corpus, NULL, NULL, &r.read, r.err, sizeof r.err);
  r.seconds = (double)(bench_now_ns() - t0) / 1e9;
  if (r.status != OSQ_OK && !r.err[0])
    snprintf(r.err, sizeof r.err, "%s", osq_strerror(r.status));
  fflush(stderr);
  int ok = write_all(fd, &r, sizeof r) == 0;
  _exit(ok && r.status == OSQ_OK ? 0 : 1);
}

int bench_build_in_child(const bench_engine *engine, const char *dir,
                         const bench_corpus *corpus, bench_build_result *r) {
  memset(r, 0, sizeof *r);
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    snprintf(r->err, sizeof r->err, "pipe: %s", strerror(errno));
    r->status = OSQ_E_IO;
    return OSQ_E_IO;
  }
  /* Whatever the parent buffered must not be written twice. */
  fflush(stdout);
  fflush(stderr);
  uint64_t t0 = bench_now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(r->err, sizeof r->err, "fork: %s", strerror(errno));
    close(pipefd[0]);
    close(pipefd[1]);
    r->status = OSQ_E_IO;
    return OSQ_E_IO;
  }
  if (pid == 0) {
    close(pipefd[0]);
    child_build(engine, dir, corpus, pipefd[1]);
  }
  close(pipefd[1]);
  bench_build_result got;
  int have = read_all(pipefd[0], &got, sizeof got) == 0;
  close(pipefd[0]);
  int wstatus = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &wstatus, 0, &ru) < 0) {
    if (errno != EINTR) {
      snprintf(r->err, sizeof r->err, "wait4: %s", strerror(errno));
      r->status = OSQ_E_IO;
      return OSQ_E_IO;
    }
  }
  double wall = (double)(bench_now_ns() - t0) / 1e9;
  if (have) {
    *r = got;
  } else {
    r->status = OSQ_E_IO;
    if (WIFSIGNALED(wstatus))
      snprintf(r->err, sizeof r->err, "the build process was killed by signal %d (%s)",
               WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
    else
      snprintf(r->err, sizeof r->err, "the build process exited with status %d without a report",
               WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
  }
  r->wall_seconds = wall;
  /* Linux: kilobytes; wait4 gives RUSAGE_BOTH of the child, so this is the
   * larger of the child's peak and that of any process it reaped (a Lucene
   * build's JVM), not their sum. */
  r->peak_rss = (uint64_t)ru.ru_maxrss * 1024u;
  if (engine && r->status == OSQ_OK &&
      bench_dir_size(dir, &r->index_apparent_bytes, &r->index_bytes) != OSQ_OK) {
    r->status = OSQ_E_IO;
    snprintf(r->err, sizeof r->err, "cannot measure %s: %s", dir, strerror(errno));
  }
  return OSQ_OK;
}

/* nftw() takes no context pointer: the sums live here for the walk. */
static uint64_t walk_bytes, walk_disk;

static int add_size(const char *path, const struct stat *sb, int type,
                    struct FTW *ftw) {
  (void)path;
  (void)ftw;
  if (type == FTW_F) {
    walk_bytes += (uint64_t)sb->st_size;
    walk_disk += (uint64_t)sb->st_blocks * 512u;
  }
  return 0;
}

int bench_dir_size(const char *path, uint64_t *bytes, uint64_t *disk) {
  walk_bytes = walk_disk = 0;
  if (nftw(path, add_size, 16, FTW_PHYS) != 0) return OSQ_E_IO;
  *bytes = walk_bytes;
  *disk = walk_disk;
  return OSQ_OK;
}

static int remove_one(const char *path, const struct stat *sb, int type,
                      struct FTW *ftw) {
  (void)sb;
  (void)type;
  (void)ftw;
  return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int bench_rmtree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? OSQ_OK : OSQ_E_IO;
  return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? OSQ_OK
                                                               : OSQ_E_IO;
}

int bench_run_command(char *const *argv, char *const *env, double *seconds,
                      char *err, size_t errlen) {
  fflush(stdout);
  fflush(stderr);
  /* The environment: ours, with env's NAME=value entries in place of ours. */
  size_t nown = 0, nenv = 0;
  while (environ[nown]) nown++;
  while (env && env[nenv]) nenv++;
  char **envp = malloc((nown + nenv + 1) * sizeof *envp);
  if (!envp) {
    snprintf(err, errlen, "out of memory");
    return OSQ_E_NOMEM;
  }
  size_t ne = 0;
  for (size_t i = 0; i < nown; i++) {
    int replaced = 0;
    for (size_t j = 0; j < nenv && !replaced; j++) {
      const char *eq = strchr(env[j], '=');
      size_t k = eq ? (size_t)(eq - env[j]) + 1 : strlen(env[j]);
      replaced = strncmp(environ[i], env[j], k) == 0;
    }
    if (!replaced) envp[ne++] = environ[i];
  }
  for (size_t j = 0; j < nenv; j++) envp[ne++] = env[j];
  envp[ne] = NULL;
  /* posix_spawn (a vfork underneath), not fork: the command's time should
   * not include copying this large process's page tables, which a person
   * typing the command in a shell does not pay either. */
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  uint64_t t0 = bench_now_ns();
  pid_t pid;
  int src = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  free(envp);
  if (src != 0) {
    snprintf(err, errlen, "%s could not be run: %s", argv[0], strerror(src));
    return OSQ_E_IO;
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) {
      snprintf(err, errlen, "waitpid: %s", strerror(errno));
      return OSQ_E_IO;
    }
  }
  *seconds = (double)(bench_now_ns() - t0) / 1e9;
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return OSQ_OK;
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127)
    snprintf(err, errlen, "%s could not be run", argv[0]);
  else if (WIFEXITED(wstatus))
    snprintf(err, errlen, "%s exited with status %d", argv[0], WEXITSTATUS(wstatus));
  else
    snprintf(err, errlen, "%s was killed by signal %d", argv[0],
             WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : -1);
  return OSQ_E_IO;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_percentile(const double *sorted, size_t n, double p) {
  if (n == 0) return 0;
  if (n == 1) return sorted[0];
  double rank = p / 100.0 * (double)(n - 1);
  size_t lo = (size_t)floor(rank);
  if (lo >= n - 1) return sorted[n - 1];
  double frac = rank - (double)lo;
  return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * frac;
}

double bench_median(double *samples, size_t n) {
  qsort(samples, n, sizeof *samples, cmp_double);
  return bench_percentile(samples, n, 50);
}

void bench_summarize(double *samples, size_t n, bench_summary *s) {
  memset(s, 0, sizeof *s);
  s->n = n;
  if (n == 0) return;
  qsort(samples, n, sizeof *samples, cmp_double);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += samples[i];
  s->mean = sum / (double)n;
  s->min = samples[0];
  s->max = samples[n - 1];
  s->p1 = bench_percentile(samples, n, 1);
  s->p5 = bench_percentile(samples, n, 5);
  s->p25 = bench_percentile(samples, n, 25);
  s->p50 = bench_percentile(samples, n, 50);
  s->p75 = bench_percentile(samples, n, 75);
  s->p95 = bench_percentile(samples, n, 95);
  s->p99 = bench_percentile(samples, n, 99);
  s->qps = sum > 0 ? (double)n / (sum / 1e9) : 0;
}
