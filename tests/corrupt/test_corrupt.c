/*
 * test_corrupt.c -- damages every file of a small index, one byte or one
 * truncation at a time, and checks that the damage is always noticed.
 *
 * The index: two segments (news sentences and longer OpenStack documents,
 * so that common terms have posting lists of several blocks with skip
 * tables, and documents several passages), a deletion file and the
 * MANIFEST.  The cases, with a fixed seed:
 *   - segment files: every byte of the header, the section table and the
 *     footer; the first and last bytes of every section; random bytes in
 *     each section and in the whole file; truncations at random lengths and
 *     at the boundaries;
 *   - the MANIFEST and the deletion files: every byte and every length.
 * A flipped byte is XORed with a random non-zero value.
 *
 * Each case runs in a forked child with an alarm (a hang is a failure, and
 * so is a crash or a sanitizer report): osq_index_open, a fixed set of
 * queries (ranked, one syllable, phrase, boolean, exclusion, common terms
 * with block-max pruning, explain, no pruning) with osq_results_get and
 * osq_results_get_doc on every hit, then the deep osq_index_check.  A case
 * passes when
 *   - every call that fails returns OSQ_E_CORRUPT or OSQ_E_VERSION with an
 *     osq_last_error() naming the damaged file, and
 *   - the damage is noticed: some call failed so, or the check (which
 *     verifies the CRC of every section and of every whole file) reported a
 *     problem in the damaged file.
 * So a case where open, every query and the check all succeed -- a wrong
 * answer without a warning -- fails.  No byte is exempt: every byte of
 * every file is under a CRC, except the reserved zero word of a segment's
 * footer, which osq__segment_verify requires to be zero.
 *
 * Usage: test_corrupt CORPUS_DIR
 * Environment: OSQ_CORRUPT_SEED=N another seed; OSQ_CORRUPT_RANDOM=N random
 * cases per section (default 40); OSQ_CORRUPT_CASE=N runs case N alone, in
 * this process (for a debugger); OSQ_CORRUPT_TIMEOUT=S seconds per case
 * (default 60); OSQ_CORRUPT_KEEP=1 keeps the work directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "osq/osq.h"
#include "osq/source.h"
#include "segment.h"

#define SEG_HEADER OSQ__SEG_HEADER_BYTES
#define SEG_TABLE (SEG_HEADER + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES)
#define SEG_FOOTER OSQ__SEG_FOOTER_BYTES
#define BATCH 200 /* cases per child process */

/* ---- helpers ------------------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "test_corrupt: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static uint64_t rng_state;
static uint64_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) die("%s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len + 1);
  if (!p || fread(p, 1, (size_t)len, f) != (size_t)len) die("%s: read failed", path);
  fclose(f);
  *n = (size_t)len;
  return p;
}

static void write_file(const char *path, const uint8_t *p, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("%s: %s", path, strerror(errno));
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w <= 0) die("%s: write: %s", path, strerror(errno));
    done += (size_t)w;
  }
  close(fd);
}

/* ---- the index ------------------------------------------------------------------- */

/* Adds up to max documents of path through w; returns their ids in ids. */
static size_t add_docs(osq_writer *w, const char *path, size_t skip, size_t max, char ***ids) {
  osq_source *s;
  const char *paths[1] = {path};
  if (osq_source_open(paths, 1, NULL, NULL, &s)) die("osq_source_open %s", path);
  osq_doc d;
  size_t n = 0, seen = 0;
  *ids = calloc(max, sizeof **ids);
  while (n < max && osq_source_next(s, &d) == OSQ_OK) {
    if (seen++ < skip) continue;
    int rc = osq_writer_add(w, &d);
    if (rc) die("osq_writer_add: %s (%s)", osq_err_name(rc), osq_last_error());
    (*ids)[n++] = strdup(d.id);
  }
  osq_source_close(s);
  if (n == 0) die("no documents in %s", path);
  return n;
}

static void free_ids(char **ids, size_t n) {
  for (size_t i = 0; i < n; i++) free(ids[i]);
  free(ids);
}

static void build_index(const char *dir, const char *corpus) {
  char news[4096], docs[4096];
  snprintf(news, sizeof news, "%s/news/news-ko.jsonl", corpus);
  snprintf(docs, sizeof docs, "%s/openstack/openstack-docs-ko.jsonl", corpus);
  osq_writer_options o;
  memset(&o, 0, sizeof o);
  o.no_auto_merge = 1;
  osq_writer *w;
  int rc = osq_writer_open(dir, &o, &w);
  if (rc) die("osq_writer_open: %s (%s)", osq_err_name(rc), osq_last_error());
  char **ids, **ids2;
  size_t n = add_docs(w, news, 0, 600, &ids);
  size_t n2 = add_docs(w, docs, 0, 12, &ids2);
  if ((rc = osq_writer_commit(w))) die("commit: %s (%s)", osq_err_name(rc), osq_last_error());
  char **ids3;
  size_t n3 = add_docs(w, news, 600, 200, &ids3);
  /* deletions in the first segment: a deletion file */
  for (size_t i = 0; i < n; i += 37)
    if ((rc = osq_writer_delete(w, ids[i]))) die("delete: %s (%s)", osq_err_name(rc), osq_last_error());
  if ((rc = osq_writer_delete(w, ids2[1]))) die("delete: %s (%s)", osq_err_name(rc), osq_last_error());
  if ((rc = osq_writer_commit(w))) die("commit: %s (%s)", osq_err_name(rc), osq_last_error());
  osq_writer_close(w);
  free_ids(ids, n);
  free_ids(ids2, n2);
  free_ids(ids3, n3);
}

/* ---- the queries ------------------------------------------------------------------- */

typedef struct query {
  const char *q;
  uint32_t k;
  int explain, no_prune;
} query;

static const query QUERIES[] = {
    {"수퍼컴퓨터 연구소", 10, 0, 0},
    {"국", 10, 0, 0},              /* one syllable: a dictionary prefix range */
    {"\"국립 연구소\"", 10, 0, 0}, /* phrase */
    {"정부 AND 연구", 10, 0, 0},
    {"(미국 OR 일본) NOT 중국", 10, 0, 0},
    {"+세계 -전쟁", 10, 0, 0},
    {"있다 했다 것이다", 10, 0, 0}, /* common grams: several blocks, pruning */
    {"이 는 다", 20, 0, 0},
    {"에서 했다", 10, 0, 0},
    {"오픈스택 인스턴스 네트워크", 10, 1, 0},
    {"볼륨 OR 스냅샷 OR 서버", 30, 0, 1},
    {"OpenStack nova 2016", 10, 0, 0},
    {"\"있다\" 말했다", 5, 0, 0},
};
#define NQUERIES (sizeof QUERIES / sizeof *QUERIES)

/* What a case found. */
typedef struct outcome {
  int detected;     /* some call failed naming the file, or the check reported it */
  int bad;          /* a failure that breaks the rules */
  int wrong;        /* a query answered, without an error, other than the undamaged index */
  int queries_noticed; /* open or some query reported the damage */
  char why[600];
  const char *stage; /* where the damage was first noticed */
} outcome;

/* Damage is damage: OSQ_E_CORRUPT, never a version (the checksums that
 * cover every version field are verified before it is read). */
static int acceptable(int rc) { return rc == OSQ_E_CORRUPT; }

static void note_error(outcome *o, const char *stage, int rc, const char *file) {
  const char *msg = osq_last_error();
  if (!acceptable(rc) || !strstr(msg, file)) {
    if (!o->bad) {
      o->bad = 1;
      snprintf(o->why, sizeof o->why, "%s returned %s, \"%s\" (must be OSQ_E_CORRUPT naming %s)", stage,
               osq_err_name(rc), msg, file);
    }
    return;
  }
  o->queries_noticed = 1;
  if (!o->detected) {
    o->detected = 1;
    o->stage = stage;
  }
}

static uint64_t mix(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return (h ^ n) * 1099511628211ull;
}
static uint64_t mixs(uint64_t h, const char *s) { return mix(h, s ? s : "", s ? strlen(s) : 0); }

/* The undamaged index's answer to each query: a digest of everything osq
 * shows of every hit (ids, titles, fields, passage text, score, spans). */
static uint64_t pristine[64];
static int have_pristine;

typedef struct check_ctx {
  const char *file;
  int named, reports;
} check_ctx;

static void on_problem(void *ctx, const char *file, const char *problem) {
  check_ctx *c = ctx;
  c->reports++;
  if (!strcmp(file, c->file) || strstr(problem, c->file)) c->named = 1;
}

/* Opens, queries and checks the index in dir; file is the damaged file's
 * name.  A query that answers without an error must answer as the
 * undamaged index did (pristine[]), else the case is a silent wrong
 * result.  With record set, fills pristine[] instead. */
static void run_case(const char *dir, const char *file, outcome *o, int record) {
  memset(o, 0, sizeof *o);
  osq_index *ix = NULL;
  int rc = osq_index_open(dir, &ix);
  if (rc) {
    note_error(o, "osq_index_open", rc, file);
  } else {
    for (size_t q = 0; q < NQUERIES; q++) {
      osq_search_options so;
      memset(&so, 0, sizeof so);
      so.k = QUERIES[q].k;
      so.explain = QUERIES[q].explain;
      so.no_prune = QUERIES[q].no_prune;
      osq_results *r = NULL;
      rc = osq_search(ix, QUERIES[q].q, strlen(QUERIES[q].q), &so, &r);
      if (rc) {
        note_error(o, "osq_search", rc, file);
        continue;
      }
      size_t n = osq_results_count(r);
      uint64_t h = mix(1469598103934665603ull, &n, sizeof n);
      uint64_t matched = osq_results_matched(r);
      h = mix(h, &matched, sizeof matched);
      int failed = 0;
      for (size_t i = 0; i < n; i++) {
        osq_hit hit;
        rc = osq_results_get_doc(r, i, &hit);
        if (rc) {
          note_error(o, "osq_results_get_doc", rc, file);
          failed = 1;
          continue;
        }
        h = mixs(mixs(mixs(mixs(mixs(h, hit.doc_id), hit.title), hit.source), hit.url), hit.date);
        rc = osq_results_get(r, i, &hit);
        if (rc) {
          note_error(o, "osq_results_get", rc, file);
          failed = 1;
          continue;
        }
        h = mixs(mixs(mixs(mixs(mixs(h, hit.doc_id), hit.title), hit.source), hit.url), hit.date);
        h = mix(h, hit.passage, hit.passage_len);
        h = mix(h, &hit.score, sizeof hit.score);
        h = mix(h, &hit.passage_no, sizeof hit.passage_no);
        h = mix(h, hit.spans, hit.nspans * sizeof *hit.spans);
        h = mixs(mixs(h, hit.explain), hit.section);
        for (size_t k = 0; k < hit.nfields; k++) h = mixs(mixs(h, hit.field_keys[k]), hit.field_values[k]);
      }
      osq_results_free(r);
      if (record) {
        pristine[q] = h;
      } else if (!failed && have_pristine && h != pristine[q] && !o->wrong) {
        o->wrong = 1;
        o->bad = 1;
        snprintf(o->why, sizeof o->why, "SILENT WRONG RESULT: query %s answered without an error, not as the undamaged index",
                 QUERIES[q].q);
      }
    }
    osq_index_close(ix);
  }
  check_ctx cc = {file, 0, 0};
  uint64_t stray = 0;
  rc = osq_index_check(dir, 1, on_problem, &cc, &stray);
  if (rc && !acceptable(rc)) {
    if (!o->bad) {
      o->bad = 1;
      snprintf(o->why, sizeof o->why, "osq_index_check returned %s (%s)", osq_err_name(rc), osq_last_error());
    }
  } else if (rc && cc.named) {
    if (!o->detected) {
      o->detected = 1;
      o->stage = "osq_index_check";
    }
  } else if (rc && !o->bad && !o->detected) {
    o->bad = 1;
    snprintf(o->why, sizeof o->why, "osq_index_check found %d problems, none in %s", cc.reports, file);
  }
  if (!o->detected && !o->bad) {
    o->bad = 1;
    snprintf(o->why, sizeof o->why, "open, every query and the deep check succeeded: the damage went unnoticed");
  }
}

/* ---- the cases ------------------------------------------------------------------- */

typedef struct ifile {
  char name[256];
  char path[4600];
  uint8_t *data;
  size_t n;
  int segment;
} ifile;

/* Kinds of damage. */
enum { K_BYTE, K_TRUNC, K_BIT, K_ZERO, K_APPEND, K_KINDS };
static const char *const KIND_NAME[K_KINDS] = {"byte changed", "truncated", "bit flipped", "bytes zeroed",
                                               "bytes appended"};

typedef struct tcase {
  uint32_t file;
  uint8_t kind; /* K_BYTE: XOR byte off with x; K_BIT: the same, x one bit; K_TRUNC: cut to
                   off bytes; K_ZERO: zero [off, off + len); K_APPEND: len bytes appended */
  uint8_t x;
  uint32_t len;
  uint64_t off;
} tcase;

typedef struct caselist {
  tcase *c;
  size_t n, cap;
} caselist;

static void add_kind(caselist *l, uint32_t file, int kind, uint64_t off, uint32_t len) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 1024;
    l->c = realloc(l->c, l->cap * sizeof *l->c);
    if (!l->c) die("out of memory");
  }
  tcase *c = &l->c[l->n++];
  c->file = file;
  c->kind = (uint8_t)kind;
  c->off = off;
  c->len = len;
  c->x = kind == K_BIT ? (uint8_t)(1u << (rnd() % 8)) : (uint8_t)(1 + rnd() % 255);
}

static void add_case(caselist *l, uint32_t file, int trunc, uint64_t off) {
  add_kind(l, file, trunc ? K_TRUNC : K_BYTE, off, 0);
}

/* Bit flips, zeroed runs and pages, appended bytes (what a disk, a bad
 * copy or a crashed tool do), n of each kind for a file of size fn. */
static void add_other_kinds(caselist *l, uint32_t f, size_t fn, unsigned n) {
  for (unsigned k = 0; k < n; k++) add_kind(l, f, K_BIT, rnd() % fn, 0);
  for (unsigned k = 0; k < n; k++) {
    uint64_t off = rnd() % fn;
    if (k % 2 == 0) { /* a zeroed 4 KiB page, as a lost block reads */
      off &= ~(uint64_t)4095;
      add_kind(l, f, K_ZERO, off, (uint32_t)(fn - off < 4096 ? fn - off : 4096));
    } else { /* a zeroed run of 1 to 512 bytes */
      uint32_t len = (uint32_t)(1 + rnd() % 512);
      add_kind(l, f, K_ZERO, off, (uint32_t)(fn - off < len ? fn - off : len));
    }
  }
  static const uint32_t app[] = {1, 8, 16, 100, 4096};
  for (unsigned k = 0; k < n / 4 + 1; k++) add_kind(l, f, K_APPEND, fn, app[k % 5]);
}

/* Cases aimed at the posting lists the queries read: every byte of the skip
 * table of some common terms, the bit widths that start each block, bytes
 * inside the blocks and the positions. */
static void add_term_cases(caselist *l, uint32_t f, const ifile *fi) {
  static const char *const terms[] = {"했다", "에서", "있다", "말했", "국립", "연구"};
  osq__segment seg;
  if (osq__segment_open(fi->path, &seg) != OSQ_OK) die("%s: %s", fi->path, osq_last_error());
  uint64_t post_sec = (uint64_t)(seg.sec[OSQ__SEC_POSTINGS].p - seg.map.p);
  uint64_t pos_sec = (uint64_t)(seg.sec[OSQ__SEC_POSITIONS].p - seg.map.p);
  for (size_t t = 0; t < sizeof terms / sizeof *terms; t++) {
    osq__term_info ti;
    if (osq__segment_lookup(&seg, (const uint8_t *)terms[t], strlen(terms[t]), &ti) != OSQ_OK) continue;
    uint64_t post = post_sec + ti.post_off;
    uint32_t nblocks = (ti.df + OSQ__BLOCK - 1) / OSQ__BLOCK;
    uint64_t skip = nblocks > 1 ? (uint64_t)nblocks * OSQ__SKIP_BYTES : 0;
    for (uint64_t i = 0; i < skip; i++) add_case(l, f, 0, post + i);
    for (uint32_t b = 0; b < nblocks; b++) {
      uint64_t at = post + skip + (b ? osq__get_u32(fi->data + post + (uint64_t)b * OSQ__SKIP_BYTES + 4) : 0);
      add_case(l, f, 0, at);
      add_case(l, f, 0, at + 1);
    }
    for (int k = 0; k < 4; k++) add_case(l, f, 0, post + skip + rnd() % (ti.post_len - skip));
    uint64_t pos_left = seg.sec[OSQ__SEC_POSITIONS].n - ti.pos_off;
    for (int k = 0; k < 8 && pos_left; k++) add_case(l, f, 0, pos_sec + ti.pos_off + rnd() % (pos_left < 256 ? pos_left : 256));
  }
  osq__segment_close(&seg);
}

static void make_cases(caselist *l, const ifile *files, uint32_t nfiles, unsigned per_section) {
  for (uint32_t f = 0; f < nfiles; f++) {
    const ifile *fi = &files[f];
    size_t n = fi->n;
    if (!fi->segment) {
      /* MANIFEST and deletion files are small: every byte, every length */
      for (size_t i = 0; i < n; i++) add_case(l, f, 0, i);
      for (size_t i = 0; i < n; i++) add_case(l, f, 1, i);
      for (size_t i = 0; i < n; i++) add_kind(l, f, K_BIT, i, 0);
      add_other_kinds(l, f, n, 8);
      continue;
    }
    for (size_t i = 0; i < SEG_TABLE && i < n; i++) add_case(l, f, 0, i);
    for (size_t i = n - SEG_FOOTER; i < n; i++) add_case(l, f, 0, i);
    for (int s = 0; s < OSQ__SEG_NSECTIONS; s++) {
      const uint8_t *e = fi->data + SEG_HEADER + s * OSQ__SEG_SECTION_BYTES;
      uint64_t off, len;
      memcpy(&off, e, 8);
      memcpy(&len, e + 8, 8);
      if (len == 0) continue;
      for (uint64_t i = 0; i < 8 && i < len; i++) {
        add_case(l, f, 0, off + i);
        if (len > 8) add_case(l, f, 0, off + len - 1 - i);
      }
      for (unsigned k = 0; k < per_section; k++) add_case(l, f, 0, off + rnd() % len);
    }
    for (unsigned k = 0; k < 2 * per_section; k++) add_case(l, f, 0, rnd() % n);
    add_term_cases(l, f, fi);
    const uint64_t fixed[] = {0, 1, 8, SEG_HEADER, SEG_TABLE, n / 2, n - SEG_FOOTER, n - 8, n - 1};
    for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++) add_case(l, f, 1, fixed[k]);
    for (unsigned k = 0; k < per_section; k++) add_case(l, f, 1, rnd() % n);
    add_other_kinds(l, f, n, 4 * per_section);
  }
}

static void describe(const tcase *c, const ifile *files, char *out, size_t cap) {
  if (c->kind == K_TRUNC)
    snprintf(out, cap, "%s truncated to %llu of %zu bytes", files[c->file].name, (unsigned long long)c->off,
             files[c->file].n);
  else if (c->kind == K_ZERO)
    snprintf(out, cap, "%s bytes %llu..%llu zeroed", files[c->file].name, (unsigned long long)c->off,
             (unsigned long long)(c->off + c->len - 1));
  else if (c->kind == K_APPEND)
    snprintf(out, cap, "%s: %u bytes appended", files[c->file].name, c->len);
  else
    snprintf(out, cap, "%s byte %llu ^= 0x%02x (0x%02x -> 0x%02x)", files[c->file].name,
             (unsigned long long)c->off, c->x, files[c->file].data[c->off],
             files[c->file].data[c->off] ^ c->x);
}

static void apply(const tcase *c, const ifile *files) {
  const ifile *fi = &files[c->file];
  if (c->kind == K_TRUNC) {
    write_file(fi->path, fi->data, (size_t)c->off);
  } else if (c->kind == K_ZERO || c->kind == K_APPEND) {
    uint8_t *d = malloc(fi->n + c->len);
    if (!d) die("out of memory");
    memcpy(d, fi->data, fi->n);
    if (c->kind == K_ZERO) {
      memset(d + c->off, 0, c->len);
      write_file(fi->path, d, fi->n);
    } else {
      for (uint32_t i = 0; i < c->len; i++) d[fi->n + i] = (uint8_t)(c->x * (i + 1) + (i >> 3));
      write_file(fi->path, d, fi->n + c->len);
    }
    free(d);
  } else {
    fi->data[c->off] ^= c->x;
    write_file(fi->path, fi->data, fi->n);
    fi->data[c->off] ^= c->x;
  }
}

static void restore(const tcase *c, const ifile *files) {
  write_file(files[c->file].path, files[c->file].data, files[c->file].n);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(((const ifile *)a)->name, ((const ifile *)b)->name);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_corrupt CORPUS_DIR\n");
    return 2;
  }
  const char *env;
  uint64_t seed = (env = getenv("OSQ_CORRUPT_SEED")) ? strtoull(env, NULL, 10) : 20240601;
  unsigned per_section = (env = getenv("OSQ_CORRUPT_RANDOM")) ? (unsigned)atoi(env) : 10;
  unsigned timeout = (env = getenv("OSQ_CORRUPT_TIMEOUT")) ? (unsigned)atoi(env) : 60;
  long only = (env = getenv("OSQ_CORRUPT_CASE")) ? atol(env) : -1;
  rng_state = seed * 2654435761u + 1;

  char work[4096];
  const char *base = getenv("TMPDIR");
  snprintf(work, sizeof work, "%s/osq-corrupt-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(work)) die("mkdtemp: %s", strerror(errno));
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/ix", work);
  double t0 = now_s();
  build_index(dir, argv[1]);

  /* The undamaged index must answer and pass the check. */
  outcome o;
  run_case(dir, "MANIFEST", &o, 1);
  have_pristine = 1;
  if (o.detected || strcmp(o.why, "open, every query and the deep check succeeded: the damage went unnoticed"))
    die("the undamaged index fails: %s %s", o.stage ? o.stage : "", o.why);
  {
    /* the queries must reach posting lists of several blocks */
    osq_index *ix;
    osq_results *r;
    osq_search_options so = {.k = 10, .no_prune = 1}; /* no pruning: count every match */
    if (osq_index_open(dir, &ix) || osq_search(ix, "했다", strlen("했다"), &so, &r)) die("search");
    if (osq_results_matched(r) <= 128) die("'했다' matches %llu passages: no skip tables to damage",
                                           (unsigned long long)osq_results_matched(r));
    osq_results_free(r);
    osq_index_close(ix);
  }

  ifile files[64];
  uint32_t nfiles = 0;
  DIR *dd = opendir(dir);
  if (!dd) die("%s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(dd))) {
    if (de->d_name[0] == '.' || !strcmp(de->d_name, "LOCK")) continue;
    if (nfiles == 64) die("too many files");
    ifile *fi = &files[nfiles++];
    snprintf(fi->name, sizeof fi->name, "%s", de->d_name);
    snprintf(fi->path, sizeof fi->path, "%s/%s", dir, de->d_name);
    size_t len = strlen(fi->name);
    fi->segment = len > 4 && !strcmp(fi->name + len - 4, ".osq");
  }
  closedir(dd);
  qsort(files, nfiles, sizeof *files, cmp_name);
  int nseg = 0, ndel = 0, nman = 0;
  for (uint32_t f = 0; f < nfiles; f++) {
    files[f].data = read_file(files[f].path, &files[f].n);
    nseg += files[f].segment;
    ndel += strstr(files[f].name, ".del.") != NULL;
    nman += !strcmp(files[f].name, "MANIFEST");
  }
  if (nseg < 2 || ndel < 1 || nman != 1) die("expected two segments, a deletion file and a MANIFEST");

  caselist cl = {NULL, 0, 0};
  make_cases(&cl, files, nfiles, per_section);
  char desc[512];

  if (only >= 0) {
    if ((size_t)only >= cl.n) die("case %ld: there are %zu", only, cl.n);
    describe(&cl.c[only], files, desc, sizeof desc);
    printf("case %ld: %s\n", only, desc);
    apply(&cl.c[only], files);
    run_case(dir, files[cl.c[only].file].name, &o, 0);
    restore(&cl.c[only], files);
    printf("%s: %s\n", o.bad ? "FAIL" : "ok", o.bad ? o.why : o.stage);
    return o.bad ? 1 : 0;
  }

  /* Children run the cases in batches (a fork per case is slow under the
   * sanitizers); each reports every case it finishes, so when one dies the
   * case it was running is the next one, and a new child goes on after it. */
  size_t failed = 0, wrong = 0, by_open = 0, by_query = 0, by_check = 0;
  size_t kind_cases[K_KINDS] = {0}, kind_wrong[K_KINDS] = {0}, kind_failed[K_KINDS] = {0};
  for (size_t i = 0; i < cl.n; i++) kind_cases[cl.c[i].kind]++;
  double t1 = now_s();
  size_t next = 0;
  while (next < cl.n) {
    size_t batch_end = next + BATCH < cl.n ? next + BATCH : cl.n;
    int fds[2];
    if (pipe(fds)) die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
      close(fds[0]);
      FILE *out = fdopen(fds[1], "w");
      for (size_t i = next; i < batch_end; i++) {
        const tcase *c = &cl.c[i];
        apply(c, files);
        alarm(timeout);
        run_case(dir, files[c->file].name, &o, 0);
        alarm(0);
        restore(c, files);
        for (char *q = o.why; *q; q++)
          if (*q == '\n') *q = ' ';
        fprintf(out, "%zu %c %s\n", i, o.wrong ? 'W' : o.bad ? 'F' : 'P', o.bad ? o.why : o.stage);
        fflush(out);
      }
      fclose(out);
      exit(0); /* exit, not _exit: LeakSanitizer checks the batch */
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    size_t done = next; /* cases finished by this child */
    while (getline(&line, &cap, in) > 0) {
      char *end;
      size_t i = strtoul(line, &end, 10);
      line[strcspn(line, "\n")] = 0;
      const char *text = end + 3;
      done = i + 1;
      if (end[1] == 'F' || end[1] == 'W') {
        failed++;
        kind_failed[cl.c[i].kind]++;
        if (end[1] == 'W') {
          wrong++;
          kind_wrong[cl.c[i].kind]++;
        }
        describe(&cl.c[i], files, desc, sizeof desc);
        printf("FAIL case %zu: %s: %s\n", i, desc, text);
      } else if (!strcmp(text, "osq_index_open")) {
        by_open++;
      } else if (!strcmp(text, "osq_index_check")) {
        by_check++;
      } else {
        by_query++;
      }
    }
    free(line);
    fclose(in);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (done < batch_end) {
      /* the child died in case done: the file may still be damaged */
      restore(&cl.c[done], files);
      failed++;
      kind_failed[cl.c[done].kind]++;
      describe(&cl.c[done], files, desc, sizeof desc);
      if (WIFSIGNALED(st))
        printf("FAIL case %zu: %s: %s (signal %d)\n", done, desc,
               WTERMSIG(st) == SIGALRM ? "hang: no answer within the time limit" : "crash", WTERMSIG(st));
      else
        printf("FAIL case %zu: %s: the child exited with status %d (a sanitizer report?)\n", done, desc,
               WEXITSTATUS(st));
      next = done + 1;
    } else {
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        failed++;
        printf("FAIL cases %zu..%zu: the child ended with status 0x%x after all of them (a leak report?)\n", next,
               batch_end - 1, (unsigned)st);
      }
      next = batch_end;
    }
  }
  double t2 = now_s();
  size_t seg_bytes = 0;
  for (uint32_t f = 0; f < nfiles; f++)
    if (files[f].segment) seg_bytes += files[f].n;
  printf("%zu cases over %u files (%d segments, %zu bytes; %u other files), seed %llu: %zu failed\n", cl.n, nfiles,
         nseg, seg_bytes, nfiles - (unsigned)nseg, (unsigned long long)seed, failed);
  printf("noticed by osq_index_open %zu, by a query %zu, only by the deep check %zu (the queries read no damaged "
         "byte: their answers were the undamaged index's)\n",
         by_open, by_query, by_check);
  for (int k = 0; k < K_KINDS; k++)
    printf("  %-15s %5zu cases, %zu failed, %zu silent wrong results\n", KIND_NAME[k], kind_cases[k], kind_failed[k],
           kind_wrong[k]);
  printf("silent wrong results (a query answered without an error, not as the undamaged index): %zu of %zu cases\n",
         wrong, cl.n);
  printf("index built in %.1f s, cases run in %.1f s (%.1f ms each)\n", t1 - t0, t2 - t1,
         1000 * (t2 - t1) / (double)(cl.n ? cl.n : 1));
  if (failed) printf("repeat one: OSQ_CORRUPT_CASE=N %s %s\n", argv[0], argv[1]);
  if (!getenv("OSQ_CORRUPT_KEEP")) nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  else printf("work directory kept: %s\n", work);
  for (uint32_t f = 0; f < nfiles; f++) free(files[f].data);
  free(cl.c);
  return failed ? 1 : 0;
}
