/*
 * bench.h -- the pieces of osbench: engines behind one interface, the
 * measuring harness, the inputs (query logs, judgments) and the reports.
 *
 * Every engine is measured by the same code: its index is built in a forked
 * child (bench_build_in_child) so that wait4() hands back that child's peak
 * memory, and its queries are timed by one loop (osbench.c) around the
 * engine's search function, which returns the top-k document ids.
 * Functions return an OSQ_* status (osq.h); messages go to a caller buffer.
 */
#ifndef OSQ_BENCH_H
#define OSQ_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "osq/osq.h"
#include "osq/source.h"

/* Results wanted per query, as a search box shows them. */
#define BENCH_K 10
/* Longest document id kept per hit (longer ids are cut; ids are compared
 * only by the evaluation, whose ids are short). */
#define BENCH_ID_MAX 256
/* Slowest queries named per engine in the report. */
#define BENCH_SLOWEST 5
/* Size of the message buffers handed to engines. */
#define BENCH_ERR_MAX 512

/* ------------------------------------------------------------------------
 * Inputs
 * ---------------------------------------------------------------------- */

typedef struct bench_query {
  char *text;      /* as a user would type it (NUL-terminated) */
  size_t len;
  int kind;        /* index into bench_querylog.kinds */
  int bucket;      /* index into bench_querylog.buckets, -1 if none */
  int phrase;      /* the whole query is one quoted phrase */
  char *qid;       /* evaluation queries: the judgments' query id */
} bench_query;

typedef struct bench_querylog {
  char *path;
  bench_query *q;
  size_t n;
  char **kinds;    /* distinct kinds in order of first appearance */
  size_t nkinds;
  char **buckets;  /* distinct buckets, same */
  size_t nbuckets;
} bench_querylog;

/* Reads a query log: lines "kind<TAB>bucket<TAB>query" (a .tsv such as
 * precedents-ko.tsv), "qid<TAB>query" when as_eval is set (queries.tsv of
 * an evaluation set), or one query a line (kind "all").  Blank lines are
 * skipped.  limit > 0 keeps the first limit queries.  Returns OSQ_OK,
 * OSQ_E_IO (with err set), OSQ_E_PARSE (no query in the file) or
 * OSQ_E_NOMEM. */
int bench_querylog_load(const char *path, int as_eval, size_t limit,
                        bench_querylog *out, char *err, size_t errlen);
void bench_querylog_free(bench_querylog *ql);

/* Relevance judgments: for each query id, the relevant document ids. */
typedef struct bench_qrels bench_qrels;
/* Reads TREC qrels ("qid 0 docid rel", blanks or tabs); rel > 0 counts as
 * relevant.  Returns OSQ_OK, OSQ_E_IO, OSQ_E_PARSE or OSQ_E_NOMEM. */
int bench_qrels_load(const char *path, bench_qrels **out, char *err,
                     size_t errlen);
/* Relevant documents of qid (NULL, 0 when none). */
void bench_qrels_get(const bench_qrels *qr, const char *qid,
                     char ***docs, size_t *ndocs);
size_t bench_qrels_queries(const bench_qrels *qr);
void bench_qrels_free(bench_qrels *qr);

/* ------------------------------------------------------------------------
 * Engines
 * ---------------------------------------------------------------------- */

/* The top-k documents of one query. */
typedef struct bench_ids {
  size_t n;
  char id[BENCH_K][BENCH_ID_MAX];
  /* Set by an engine that times its queries itself (the Lucene peers: the
   * JVM measures parse, search and reading the ids, so that the pipe to it
   * is not timed): ns is then the query's latency.  The caller clears
   * timed before each search. */
  int timed;
  uint64_t ns;
} bench_ids;

/* Drops a UTF-8 sequence cut short at the end of s (after a truncating
 * snprintf), so that the text stays valid for JSON. */
void bench_utf8_trim(char *s);

/* Copies id (cut to BENCH_ID_MAX - 1 bytes) as the next hit of ids. */
void bench_ids_push(bench_ids *ids, const char *id, size_t len);

/* What the engines index as their documents (--unit). */
typedef enum bench_unit {
  BENCH_UNIT_DOC = 0,    /* the corpus's documents, title with text */
  BENCH_UNIT_PASSAGE = 1 /* osq's passages of them: the title passage (when
                            osq_writer_add makes one) and osq_cut_passages
                            with default options, each a document of its
                            own that keeps its document's id */
} bench_unit;

/* The input of every engine's build. */
typedef struct bench_corpus {
  char *const *paths;
  size_t npaths;
  bench_unit unit;
} bench_corpus;

/* What the documents of the corpus amounted to while an index was built. */
typedef struct bench_read_stats {
  uint64_t documents;
  uint64_t units;        /* what was handed to the engine: documents, or
                            passages with --unit passage */
  uint64_t text_bytes;   /* sum of osq_doc.text_len: the input MB */
  uint64_t title_bytes;  /* sum of title lengths (indexed too) */
  uint64_t warnings;     /* problems the source reported */
} bench_read_stats;

/* Called for each document of the corpus. */
typedef int (*bench_doc_fn)(void *ctx, const osq_doc *doc, char *err,
                            size_t errlen);

/* Reads every document of the corpus through the osq_source API, calling fn
 * for each (fn NULL: read only, still cutting passages in the passage unit).
 * With BENCH_UNIT_PASSAGE fn gets each of osq's passages of a document as a
 * document of its own: the document's id, source, url and date, no title,
 * the passage as its text.  Stops at the first failing fn.  Source warnings
 * go to stderr (the first few) and are counted.  Returns OSQ_OK or the first
 * failure. */
int bench_read_corpus(const bench_corpus *corpus, bench_doc_fn fn, void *ctx,
                      bench_read_stats *st, char *err, size_t errlen);

/* Joins title and text as "title\n\ntext" into *buf (grown as needed), for
 * the peers that index one text per document while osq indexes the title as
 * a passage of its own.  Returns OSQ_OK or OSQ_E_NOMEM. */
int bench_join_title(const osq_doc *doc, char **buf, size_t *cap,
                     size_t *len);

typedef struct bench_engine {
  const char *name;    /* as given to --engines */
  const char *what;    /* one line: how it indexes and queries */
  /* Builds the index in dir (created by the caller, empty) from the corpus,
   * in corpus->unit.  Runs in a child process. */
  int (*build)(const char *dir, const bench_corpus *corpus,
               bench_read_stats *st, char *err, size_t errlen);
  int (*open)(const char *dir, void **handle, char *err, size_t errlen);
  /* Runs q for the top BENCH_K and fills ids.  OSQ_E_PARSE: the engine
   * rejected the query (counted as a failed query). */
  int (*search)(void *handle, const bench_query *q, bench_ids *ids, char *err,
                size_t errlen);
  void (*close)(void *handle);
  /* Where the engine's files are, relative to its directory ("" = the
   * directory itself), for the one-shot command line. */
  const char *db_name;
} bench_engine;

extern const bench_engine bench_engine_osq;
extern const bench_engine bench_engine_osq_box;
#ifdef OSBENCH_HAVE_XAPIAN
extern const bench_engine bench_engine_xapian;
extern const bench_engine bench_engine_xapian_osqtok;
#endif
#ifdef OSBENCH_HAVE_GROONGA
extern const bench_engine bench_engine_groonga;
#endif
#ifdef OSBENCH_HAVE_LUCENE
extern const bench_engine bench_engine_lucene_nori;
extern const bench_engine bench_engine_lucene_cjk;
#endif

/* ------------------------------------------------------------------------
 * Harness
 * ---------------------------------------------------------------------- */

/* --quiet: engines print nothing on stderr but errors. */
extern int bench_quiet;

/* Monotonic clock, nanoseconds. */
uint64_t bench_now_ns(void);

typedef struct bench_build_result {
  int status;             /* OSQ_OK or why the build failed */
  char err[BENCH_ERR_MAX];
  bench_read_stats read;
  double seconds;         /* reading + indexing + commit, in the child */
  double wall_seconds;    /* fork to reap, in the parent */
  uint64_t peak_rss;      /* bytes: ru_maxrss of the child, which on Linux
                             is the largest of it and the children it
                             reaped (the Lucene peers' JVM) */
  uint64_t index_bytes;   /* disk space of the index dir: allocated blocks
                             (Groonga's files are sparse: their apparent
                             size says little) */
  uint64_t index_apparent_bytes; /* sum of the files' sizes */
} bench_build_result;

/* Forks; the child runs engine->build into dir (engine NULL: reads the
 * corpus only, the baseline) and reports through a pipe; the parent reaps it
 * with wait4() and measures the directory.  Returns OSQ_OK when the child
 * could be run; r->status says whether the build worked. */
int bench_build_in_child(const bench_engine *engine, const char *dir,
                         const bench_corpus *corpus, bench_build_result *r);

/* Sum of st_size (*bytes) and of st_blocks * 512 (*disk) of every file
 * under path.  Returns OSQ_OK or OSQ_E_IO. */
int bench_dir_size(const char *path, uint64_t *bytes, uint64_t *disk);
/* Removes path and everything under it. */
int bench_rmtree(const char *path);

/* Runs argv (argv[0] a path) with stdout and stderr on /dev/null and extra
 * environment assignments env (NULL-terminated, may be NULL); *seconds is
 * the wall time from posix_spawn to reap.  Returns OSQ_OK when it exited 0,
 * OSQ_E_IO otherwise (with err set). */
int bench_run_command(char *const *argv, char *const *env, double *seconds,
                      char *err, size_t errlen);

/* Latency summary of a set of samples (nanoseconds). */
typedef struct bench_summary {
  size_t n;
  double mean, min, max;
  double p1, p5, p25, p50, p75, p95, p99;
  double qps;   /* queries a second, one thread: n / sum of latencies */
} bench_summary;

/* Sorts samples in place and summarizes them (n == 0: all zero). */
void bench_summarize(double *samples, size_t n, bench_summary *s);
/* Linear-interpolated percentile of sorted samples, p in [0, 100]. */
double bench_percentile(const double *sorted, size_t n, double p);
double bench_median(double *samples, size_t n);

/* ------------------------------------------------------------------------
 * Reports
 * ---------------------------------------------------------------------- */

/* A group of queries: "all", a kind or a bucket. */
typedef struct bench_group {
  char name[64];
  char label[80];    /* e.g. "kind one", "bucket rare", "all" */
  size_t nqueries;
} bench_group;

typedef struct bench_oneshot {
  int measured;
  char command[64];  /* "osq", "quest" */
  char note[256];    /* why not measured, or what was run */
  double median_seconds;
  double p90_seconds;
  size_t runs;
} bench_oneshot;

typedef struct bench_eval {
  int measured;
  size_t queries;    /* queries with at least one judgment */
  size_t failed;
  double mrr10, recall10;
} bench_eval;

typedef struct bench_engine_result {
  const bench_engine *engine;
  int built;          /* the build worked */
  bench_build_result build;
  int queried;        /* query runs happened */
  char note[BENCH_ERR_MAX];
  size_t failed_queries;  /* distinct queries the engine rejected */
  char first_failure[BENCH_ERR_MAX];
  bench_summary *groups;  /* one per report group */
  double **samples;       /* per group: sorted latencies (ns) */
  double mean_hits;       /* results returned per query (all groups) */
  size_t nslow;           /* the slowest queries, by median over the runs */
  double slow_ns[BENCH_SLOWEST];
  char slow_text[BENCH_SLOWEST][128];
  bench_oneshot oneshot;
  bench_eval eval;
} bench_engine_result;

typedef struct bench_report {
  const char *date;
  const char *machine;
  char **corpus;
  size_t ncorpus;
  const char *queries_path;
  size_t nqueries;
  int runs;
  bench_unit unit;
  bench_read_stats input;
  bench_build_result baseline;  /* reading the corpus alone */
  bench_group *groups;
  size_t ngroups;
  bench_engine_result *engines;
  size_t nengines;
  char notes[8][BENCH_ERR_MAX];  /* engines skipped and why */
  size_t nnotes;
  const char *eval_qrels, *eval_queries;
} bench_report;

void bench_report_table(const bench_report *r);
int bench_report_json(const bench_report *r, const char *path, char *err,
                      size_t errlen);
int bench_report_svg(const bench_report *r, const char *path, char *err,
                     size_t errlen);

#endif /* OSQ_BENCH_H */
