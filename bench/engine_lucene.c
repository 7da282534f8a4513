/*
 * engine_lucene.c -- Apache Lucene (Debian's liblucene8-java) as a peer:
 * "lucene-nori" with KoreanAnalyzer (nori, mecab-ko-dic: particles and
 * endings dropped) and "lucene-cjk" with CJKAnalyzer (bigrams), which is
 * what an Elasticsearch or OpenSearch user indexing Korean gets.
 *
 * Lucene runs in a JVM: bench/lucene/OsbenchLucene.java, which this file
 * starts with posix_spawn and talks to over a Unix socket pair on its stdin
 * and stdout (a socket rather than pipes so that a write to a JVM that died
 * fails with EPIPE, through MSG_NOSIGNAL, instead of killing osbench with
 * SIGPIPE).  The JVM's stderr is osbench's, so its messages are seen.
 *
 * The protocol is described at the top of OsbenchLucene.java: documents and
 * queries go in length-prefixed (big-endian 32-bit byte counts), so a text
 * may hold any byte; each answer comes back with the latency the JVM
 * measured around parse, search and reading the hits' ids, which osbench
 * uses in place of its own clock (bench_ids.timed), so that the pipe and
 * the context switches to and from the JVM are not counted against Lucene.
 *
 * Building runs in osbench's forked build child (bench_build_in_child): the
 * child reads the corpus, sends it and reaps the JVM, so the peak RSS that
 * wait4() reports is the larger of the reading child and the JVM.  The time
 * covers the JVM's start, indexing, forceMerge(1) and commit.  The JVM gets
 * a fixed heap limit (OSBENCH_LUCENE_HEAP), stated in the engine's line of
 * the report; every other JVM setting is the default.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#ifndef OSBENCH_JAVA
#error "OSBENCH_JAVA (the java launcher) must be defined by the build"
#endif
#ifndef OSBENCH_LUCENE_CLASSPATH
#error "OSBENCH_LUCENE_CLASSPATH must be defined by the build"
#endif
#ifndef OSBENCH_LUCENE_VERSION
#define OSBENCH_LUCENE_VERSION "8"
#endif
/* The JVM's heap limit, as -Xmx takes it. */
#ifndef OSBENCH_LUCENE_HEAP
#define OSBENCH_LUCENE_HEAP "1g"
#endif

extern char **environ;

/* Longest id read back from the JVM: ids are cut to BENCH_ID_MAX anyway,
 * a longer length means the stream is out of step. */
enum { ID_READ_MAX = 1 << 20 };

/* ------------------------------------------------------------------------
 * The JVM process
 * ---------------------------------------------------------------------- */

typedef struct jvm {
  pid_t pid;
  int fd;     /* our end of the socket pair */
  FILE *in;   /* buffered reads from fd (a dup of it) */
} jvm;

/* Starts OsbenchLucene MODE DIR ANALYZER with its stdin and stdout on a
 * socket whose other end is j->fd. */
static int jvm_start(jvm *j, const char *mode, const char *dir, const char *analyzer,
                     char *err, size_t errlen) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  if (access(OSBENCH_JAVA, X_OK) != 0) {
    snprintf(err, errlen, "%s: %s (install a JDK, e.g. openjdk-17-jdk-headless)", OSBENCH_JAVA,
             strerror(errno));
    return OSQ_E_IO;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(err, errlen, "socketpair: %s", strerror(errno));
    return OSQ_E_IO;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  /* dup2 clears close-on-exec on the copies; both originals close at exec */
  posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, sv[1], STDOUT_FILENO);
  char heap[32];
  snprintf(heap, sizeof heap, "-Xmx%s", OSBENCH_LUCENE_HEAP);
  char *argv[] = {(char *)OSBENCH_JAVA, heap, "-cp", (char *)OSBENCH_LUCENE_CLASSPATH,
                  "OsbenchLucene", (char *)mode, (char *)dir, (char *)analyzer, NULL};
  int src = posix_spawn(&j->pid, OSBENCH_JAVA, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (src != 0) {
    close(sv[0]);
    snprintf(err, errlen, "cannot run %s: %s", OSBENCH_JAVA, strerror(src));
    return OSQ_E_IO;
  }
  j->fd = sv[0];
  int rfd = fcntl(j->fd, F_DUPFD_CLOEXEC, 0); /* not inherited by the next JVM */
  if (rfd < 0 || !(j->in = fdopen(rfd, "r"))) {
    snprintf(err, errlen, "fdopen: %s", strerror(errno));
    if (rfd >= 0) close(rfd);
    close(j->fd);
    kill(j->pid, SIGKILL);
    waitpid(j->pid, NULL, 0);
    j->fd = -1;
    return OSQ_E_IO;
  }
  return OSQ_OK;
}

/* Closes our end (the JVM sees EOF and exits) and reaps the JVM; returns
 * its exit status, or -1 when it was killed (sig set). */
static int jvm_stop(jvm *j, int *sig) {
  *sig = 0;
  if (j->in) fclose(j->in);
  if (j->fd >= 0) close(j->fd);
  j->in = NULL;
  j->fd = -1;
  int ws = 0;
  while (waitpid(j->pid, &ws, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFSIGNALED(ws)) {
    *sig = WTERMSIG(ws);
    return -1;
  }
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

static int send_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static int read_exact(FILE *f, void *buf, size_t n) {
  return n == 0 || fread(buf, 1, n, f) == n ? 0 : -1;
}

static int read_u32(FILE *f, uint32_t *v) {
  unsigned char b[4];
  if (read_exact(f, b, 4)) return -1;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  return 0;
}

/* A growable byte buffer. */
typedef struct bytes {
  unsigned char *p;
  size_t n, cap;
} bytes;

static int bytes_reserve(bytes *b, size_t need) {
  if (need <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 4096;
  while (ncap < need) ncap *= 2;
  unsigned char *p = realloc(b->p, ncap);
  if (!p) return -1;
  b->p = p;
  b->cap = ncap;
  return 0;
}

/* Appends a length-prefixed string. */
static int bytes_put(bytes *b, const void *s, size_t len) {
  if (bytes_reserve(b, b->n + 4 + len)) return -1;
  put_u32(b->p + b->n, (uint32_t)len);
  memcpy(b->p + b->n + 4, s, len);
  b->n += 4 + len;
  return 0;
}

/* Reads a length-prefixed string of at most max bytes into b (NUL-ended). */
static int read_string(FILE *f, bytes *b, size_t max) {
  uint32_t len;
  if (read_u32(f, &len) || len > max || bytes_reserve(b, (size_t)len + 1)) return -1;
  if (read_exact(f, b->p, len)) return -1;
  b->p[len] = '\0';
  b->n = len;
  return 0;
}

/* Why the JVM stopped answering, after a broken stream. */
static void jvm_gone(jvm *j, const char *doing, char *err, size_t errlen) {
  int sig, st = jvm_stop(j, &sig);
  if (sig)
    snprintf(err, errlen, "the Lucene JVM was killed by signal %d (%s) while %s", sig,
             strsignal(sig), doing);
  else
    snprintf(err, errlen, "the Lucene JVM stopped (exit status %d) while %s; its messages are above",
             st, doing);
}

/* ------------------------------------------------------------------------
 * Building
 * ---------------------------------------------------------------------- */

typedef struct lucene_build {
  jvm j;
  char *buf;
  size_t cap;
  bytes frame;
} lucene_build;

static int lucene_add(void *ctx, const osq_doc *doc, char *err, size_t errlen) {
  lucene_build *b = ctx;
  size_t len;
  if (bench_join_title(doc, &b->buf, &b->cap, &len) != OSQ_OK || len > INT32_MAX) {
    snprintf(err, errlen, "%s: out of memory, or a text over 2 GB", doc->id);
    return OSQ_E_NOMEM;
  }
  b->frame.n = 0;
  if (bytes_put(&b->frame, doc->id, strlen(doc->id)) || bytes_put(&b->frame, b->buf, len)) {
    snprintf(err, errlen, "out of memory");
    return OSQ_E_NOMEM;
  }
  if (send_all(b->j.fd, b->frame.p, b->frame.n) != 0) {
    jvm_gone(&b->j, "indexing", err, errlen);
    return OSQ_E_IO;
  }
  return OSQ_OK;
}

static int lucene_build_index(const char *dir, const char *analyzer,
                              const bench_corpus *corpus, bench_read_stats *st,
                              char *err, size_t errlen) {
  lucene_build b;
  memset(&b, 0, sizeof b);
  int rc = jvm_start(&b.j, "index", dir, analyzer, err, errlen);
  if (rc != OSQ_OK) return rc;
  rc = bench_read_corpus(corpus, lucene_add, &b, st, err, errlen);
  free(b.buf);
  free(b.frame.p);
  if (b.j.fd < 0) return rc; /* the JVM was reaped by jvm_gone */
  if (rc != OSQ_OK) {
    int sig;
    kill(b.j.pid, SIGKILL);
    jvm_stop(&b.j, &sig);
    return rc;
  }
  unsigned char end[4];
  put_u32(end, UINT32_MAX); /* int32 -1 */
  char line[512] = "";
  if (send_all(b.j.fd, end, 4) != 0 || shutdown(b.j.fd, SHUT_WR) != 0 ||
      !fgets(line, sizeof line, b.j.in)) {
    jvm_gone(&b.j, "merging and committing", err, errlen);
    return OSQ_E_IO;
  }
  line[strcspn(line, "\n")] = '\0';
  int sig, status = jvm_stop(&b.j, &sig);
  unsigned long long docs, add_ms, merge_ms;
  long long rss_kb;
  if (sscanf(line, "ok %llu %llu %llu %lld", &docs, &add_ms, &merge_ms, &rss_kb) != 4) {
    snprintf(err, errlen, "Lucene: %s", line[0] ? line : "no answer from the JVM");
    return OSQ_E_IO;
  }
  if (status != 0) {
    snprintf(err, errlen, "the Lucene JVM exited with status %d after indexing", status);
    return OSQ_E_IO;
  }
  if (docs != st->units) {
    snprintf(err, errlen, "Lucene indexed %llu documents, %llu were sent", docs,
             (unsigned long long)st->units);
    return OSQ_E_IO;
  }
  /* For the log: where the build's time went, by the JVM's own clock. */
  if (!bench_quiet)
    fprintf(stderr, "osbench: Lucene (%s): %llu documents added in %.2f s, forceMerge(1) and commit "
                  "%.2f s, JVM peak RSS %.1f MB\n",
          analyzer, docs, (double)add_ms / 1e3, (double)merge_ms / 1e3, (double)rss_kb / 1e3);
  return OSQ_OK;
}

static int build_nori(const char *dir, const bench_corpus *corpus, bench_read_stats *st,
                      char *err, size_t errlen) {
  return lucene_build_index(dir, "nori", corpus, st, err, errlen);
}

static int build_cjk(const char *dir, const bench_corpus *corpus, bench_read_stats *st,
                     char *err, size_t errlen) {
  return lucene_build_index(dir, "cjk", corpus, st, err, errlen);
}

/* ------------------------------------------------------------------------
 * Searching
 * ---------------------------------------------------------------------- */

typedef struct lucene_reader {
  jvm j;
  bytes frame, str;
} lucene_reader;

static int open_reader(const char *dir, const char *analyzer, void **handle, char *err,
                       size_t errlen) {
  lucene_reader *r = calloc(1, sizeof *r);
  if (!r) return OSQ_E_NOMEM;
  int rc = jvm_start(&r->j, "search", dir, analyzer, err, errlen);
  if (rc != OSQ_OK) {
    free(r);
    return rc;
  }
  *handle = r;
  return OSQ_OK;
}

static int open_nori(const char *dir, void **handle, char *err, size_t errlen) {
  return open_reader(dir, "nori", handle, err, errlen);
}

static int open_cjk(const char *dir, void **handle, char *err, size_t errlen) {
  return open_reader(dir, "cjk", handle, err, errlen);
}

static int lucene_search(void *handle, const bench_query *q, bench_ids *ids, char *err,
                         size_t errlen) {
  lucene_reader *r = handle;
  ids->n = 0;
  if (r->j.fd < 0) {
    snprintf(err, errlen, "the Lucene JVM is gone");
    return OSQ_E_IO;
  }
  r->frame.n = 0;
  if (bytes_put(&r->frame, q->text, q->len)) return OSQ_E_NOMEM;
  if (send_all(r->j.fd, r->frame.p, r->frame.n) != 0) {
    jvm_gone(&r->j, "searching", err, errlen);
    return OSQ_E_IO;
  }
  unsigned char head[13]; /* int8 status, int64 ns, int32 hits */
  if (read_exact(r->j.in, head, sizeof head)) goto broken;
  uint64_t ns = 0;
  for (int i = 1; i < 9; i++) ns = ns << 8 | head[i];
  uint32_t nhits = (uint32_t)head[9] << 24 | (uint32_t)head[10] << 16 |
                   (uint32_t)head[11] << 8 | head[12];
  if (nhits > BENCH_K) goto broken;
  for (uint32_t i = 0; i < nhits; i++) {
    if (read_string(r->j.in, &r->str, ID_READ_MAX)) goto broken;
    bench_ids_push(ids, (const char *)r->str.p, r->str.n);
  }
  if (read_string(r->j.in, &r->str, ID_READ_MAX)) goto broken;
  ids->timed = 1;
  ids->ns = ns;
  switch (head[0]) {
  case 0: return OSQ_OK;
  case 1: /* rejected by QueryParser, answered escaped: a failed query */
    snprintf(err, errlen, "QueryParser: %s", (const char *)r->str.p);
    bench_utf8_trim(err);
    return OSQ_E_PARSE;
  default:
    snprintf(err, errlen, "Lucene: %s", (const char *)r->str.p);
    bench_utf8_trim(err);
    return OSQ_E_IO;
  }
broken:
  ids->n = 0;
  jvm_gone(&r->j, "searching", err, errlen);
  return OSQ_E_IO;
}

static void lucene_close(void *handle) {
  lucene_reader *r = handle;
  if (!r) return;
  if (r->j.fd >= 0) {
    int sig;
    jvm_stop(&r->j, &sig);
  }
  free(r->frame.p);
  free(r->str.p);
  free(r);
}

#define LUCENE_WHAT(analyzer)                                                           \
  "Lucene " OSBENCH_LUCENE_VERSION " " analyzer "(), BM25, one IndexWriter thread, "    \
  "forceMerge(1); classic QueryParser, OR; JVM -Xmx" OSBENCH_LUCENE_HEAP ", k=10"

const bench_engine bench_engine_lucene_nori = {
    .name = "lucene-nori",
    .what = LUCENE_WHAT("KoreanAnalyzer"),
    .build = build_nori,
    .open = open_nori,
    .search = lucene_search,
    .close = lucene_close,
    .db_name = "",
};

const bench_engine bench_engine_lucene_cjk = {
    .name = "lucene-cjk",
    .what = LUCENE_WHAT("CJKAnalyzer"),
    .build = build_cjk,
    .open = open_cjk,
    .search = lucene_search,
    .close = lucene_close,
    .db_name = "",
};
