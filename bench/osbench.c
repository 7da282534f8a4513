/*
 * osbench -- builds osq's index and its peers' (Lucene with nori and with
 * CJK bigrams, Xapian, Groonga) from the same documents, runs the same query
 * log against each with the same timing loop (in this process, or timed in
 * the peer's own process for Lucene's JVM), and reports the figures side by
 * side with the osq/peer ratio of each (see bench/README.md for what every
 * figure means).
 *
 *   osbench --corpus FILE_OR_DIR --queries FILE [--engines osq,lucene-nori,...]
 *           [--unit doc|passage] [--runs N]
 *           [--eval QRELS --eval-queries FILE [--eval-limit N]]
 *           [--json FILE] [--plot FILE.svg] [--osq-bin PATH]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Exit statuses: 1 when a measurement failed, 2 for bad usage or input. */
enum { EXIT_RUN = 1, EXIT_USAGE = 2 };

static const bench_engine *const all_engines[] = {
    &bench_engine_osq,
    &bench_engine_osq_box,
#ifdef OSBENCH_HAVE_XAPIAN
    &bench_engine_xapian,
    &bench_engine_xapian_osqtok,
#endif
#ifdef OSBENCH_HAVE_GROONGA
    &bench_engine_groonga,
#endif
#ifdef OSBENCH_HAVE_LUCENE
    &bench_engine_lucene_nori,
    &bench_engine_lucene_cjk,
#endif
};
#define N_ALL_ENGINES (sizeof all_engines / sizeof all_engines[0])

/* Engines osbench knows of, built in or not, for a helpful note. */
static const char *const known_engines[] = {"osq",     "osq-box", "lucene-nori", "lucene-cjk",
                                            "xapian",  "xapian-osqtok", "groonga"};
/* --engines when not given: osq and every peer but xapian-osqtok. */
static const char default_engines[] = "osq,lucene-nori,lucene-cjk,xapian,groonga";

typedef struct options {
  char **corpus;
  size_t ncorpus;
  const char *queries;
  const char *engines;
  int runs;
  bench_unit unit;
  const char *eval_qrels, *eval_queries;
  size_t eval_limit;
  size_t query_limit;
  const char *json, *plot;
  const char *osq_bin;
  int oneshot_reps;
  int oneshot_queries;
  const char *workdir;
  int keep;
  int quiet;
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: osbench --corpus FILE_OR_DIR [--corpus ...] --queries FILE [options]\n"
          "       osbench --corpus passages.jsonl --eval QRELS --eval-queries FILE [options]\n"
          "\n"
          "Builds each engine's index from the same documents, then runs the same\n"
          "query log against each (one thread, top 10, one warm-up run, then N runs).\n"
          "\n"
          "  --corpus PATH        .txt, .jsonl, .jsonl.gz file or a directory of them\n"
          "  --queries FILE       query log: kind<TAB>bucket<TAB>query, or one query a line\n"
          "  --engines LIST       comma-separated, from osq,osq-box,lucene-nori,lucene-cjk,xapian,\n"
          "                       xapian-osqtok,groonga (default: all but xapian-osqtok, osq-box)\n"
          "  --unit doc|passage   what the peers index as documents: the corpus's documents\n"
          "                       (default), or osq's passages of them (title passage\n"
          "                       included, each keeping its document's id); osq indexes\n"
          "                       the documents either way\n"
          "  --runs N             timed runs over the query log (default 3)\n"
          "  --query-limit N      use the first N queries of the log only\n"
          "  --eval QRELS         TREC judgments (qid 0 docid rel): MRR@10, recall@10\n"
          "  --eval-queries FILE  qid<TAB>query; also the query log when --queries is absent\n"
          "  --eval-limit N       use the first N evaluation queries only\n"
          "  --json FILE          write the figures as JSON\n"
          "  --plot FILE          write an SVG of the latency distributions\n"
          "  --osq-bin PATH       the osq command line (default: ../query/osq beside osbench)\n"
          "  --oneshot N          runs of each command line for the one-shot time (default 20,\n"
          "                       0: skip)\n"
          "  --oneshot-queries N  queries for the one-shot time (default 4)\n"
          "  --workdir DIR        where indexes are built (default: a new directory in $TMPDIR)\n"
          "  --keep               keep the indexes\n"
          "  --quiet              no progress on stderr\n"
          "  --help\n");
}

static int parse_count(const char *name, const char *s, long min, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s || v < min || v > INT_MAX) {
    fprintf(stderr, "osbench: %s wants a number >= %ld, not \"%s\"\n", name, min, s);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  enum {
    O_CORPUS = 256, O_QUERIES, O_ENGINES, O_RUNS, O_EVAL, O_EVALQ, O_EVALLIM,
    O_QLIM, O_JSON, O_PLOT, O_OSQBIN, O_ONESHOT, O_ONESHOTQ, O_WORKDIR, O_KEEP,
    O_QUIET, O_HELP, O_UNIT
  };
  static const struct option longopts[] = {
      {"corpus", required_argument, NULL, O_CORPUS},
      {"queries", required_argument, NULL, O_QUERIES},
      {"engines", required_argument, NULL, O_ENGINES},
      {"runs", required_argument, NULL, O_RUNS},
      {"eval", required_argument, NULL, O_EVAL},
      {"eval-queries", required_argument, NULL, O_EVALQ},
      {"eval-limit", required_argument, NULL, O_EVALLIM},
      {"query-limit", required_argument, NULL, O_QLIM},
      {"json", required_argument, NULL, O_JSON},
      {"plot", required_argument, NULL, O_PLOT},
      {"osq-bin", required_argument, NULL, O_OSQBIN},
      {"oneshot", required_argument, NULL, O_ONESHOT},
      {"oneshot-queries", required_argument, NULL, O_ONESHOTQ},
      {"workdir", required_argument, NULL, O_WORKDIR},
      {"keep", no_argument, NULL, O_KEEP},
      {"quiet", no_argument, NULL, O_QUIET},
      {"help", no_argument, NULL, O_HELP},
      {"unit", required_argument, NULL, O_UNIT},
      {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof *o);
  o->runs = 3;
  o->oneshot_reps = 20;
  o->oneshot_queries = 4;
  int c;
  long v;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case O_CORPUS: {
      char **p = realloc(o->corpus, (o->ncorpus + 1) * sizeof *p);
      if (!p) return -1;
      o->corpus = p;
      p[o->ncorpus++] = optarg;
      break;
    }
    case O_QUERIES: o->queries = optarg; break;
    case O_ENGINES: o->engines = optarg; break;
    case O_RUNS:
      if (parse_count("--runs", optarg, 1, &v)) return -1;
      o->runs = (int)v;
      break;
    case O_EVAL: o->eval_qrels = optarg; break;
    case O_EVALQ: o->eval_queries = optarg; break;
    case O_EVALLIM:
      if (parse_count("--eval-limit", optarg, 1, &v)) return -1;
      o->eval_limit = (size_t)v;
      break;
    case O_QLIM:
      if (parse_count("--query-limit", optarg, 1, &v)) return -1;
      o->query_limit = (size_t)v;
      break;
    case O_JSON: o->json = optarg; break;
    case O_PLOT: o->plot = optarg; break;
    case O_OSQBIN: o->osq_bin = optarg; break;
    case O_ONESHOT:
      if (parse_count("--oneshot", optarg, 0, &v)) return -1;
      o->oneshot_reps = (int)v;
      break;
    case O_ONESHOTQ:
      if (parse_count("--oneshot-queries", optarg, 1, &v)) return -1;
      o->oneshot_queries = (int)v;
      break;
    case O_WORKDIR: o->workdir = optarg; break;
    case O_KEEP: o->keep = 1; break;
    case O_QUIET: o->quiet = 1; break;
    case O_HELP: usage(stdout); exit(0);
    case O_UNIT:
      if (!strcmp(optarg, "doc")) o->unit = BENCH_UNIT_DOC;
      else if (!strcmp(optarg, "passage")) o->unit = BENCH_UNIT_PASSAGE;
      else {
        fprintf(stderr, "osbench: --unit wants doc or passage, not \"%s\"\n", optarg);
        return -1;
      }
      break;
    default: usage(stderr); return -1;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "osbench: unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  if (o->ncorpus == 0) {
    fprintf(stderr, "osbench: --corpus is required\n");
    usage(stderr);
    return -1;
  }
  if (!o->queries && !o->eval_queries) {
    fprintf(stderr, "osbench: --queries (or --eval with --eval-queries) is required\n");
    usage(stderr);
    return -1;
  }
  if (!o->eval_qrels != !o->eval_queries) {
    fprintf(stderr, "osbench: --eval and --eval-queries go together\n");
    return -1;
  }
  for (size_t i = 0; i < o->ncorpus; i++) {
    struct stat st;
    if (stat(o->corpus[i], &st) != 0) {
      fprintf(stderr, "osbench: corpus %s: %s\n", o->corpus[i], strerror(errno));
      return -1;
    }
  }
  const char *files[] = {o->queries, o->eval_qrels, o->eval_queries};
  for (size_t i = 0; i < 3; i++) {
    if (files[i] && access(files[i], R_OK) != 0) {
      fprintf(stderr, "osbench: %s: %s\n", files[i], strerror(errno));
      return -1;
    }
  }
  return 0;
}

static const bench_engine *find_engine(const char *name, size_t len) {
  for (size_t i = 0; i < N_ALL_ENGINES; i++)
    if (strlen(all_engines[i]->name) == len && !memcmp(all_engines[i]->name, name, len))
      return all_engines[i];
  return NULL;
}

static int is_known_engine(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof known_engines / sizeof known_engines[0]; i++)
    if (strlen(known_engines[i]) == len && !memcmp(known_engines[i], name, len)) return 1;
  return 0;
}

static void add_note(bench_report *rep, const char *fmt, const char *arg) {
  if (rep->nnotes < sizeof rep->notes / sizeof rep->notes[0])
    snprintf(rep->notes[rep->nnotes++], BENCH_ERR_MAX, fmt, arg);
}

/* Picks the engines of --engines (default_engines); engines not built into
 * this osbench are skipped with a note. */
static int select_engines(const char *list, bench_report *rep) {
  if (!list) list = default_engines;
  rep->engines = calloc(N_ALL_ENGINES, sizeof *rep->engines);
  if (!rep->engines) return -1;
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
    const bench_engine *e = find_engine(p, len);
    if (e) {
      int dup = 0;
      for (size_t i = 0; i < rep->nengines; i++) dup |= rep->engines[i].engine == e;
      if (!dup) rep->engines[rep->nengines++].engine = e;
    } else if (is_known_engine(p, len)) {
      if (!strncmp(name, "groonga", 7))
        add_note(rep, "%s skipped: osbench was built without libgroonga "
                      "(install libgroonga-dev and rebuild)", name);
      else if (!strncmp(name, "lucene", 6))
        add_note(rep, "%s skipped: osbench was built without Lucene (install "
                      "liblucene8-java and a JDK, e.g. openjdk-17-jdk-headless, and "
                      "rebuild)", name);
      else
        add_note(rep, "%s skipped: osbench was built without libosq_xapian "
                      "(install libxapian-dev and rebuild)", name);
    } else if (len > 0) {
      fprintf(stderr, "osbench: unknown engine \"%s\" (known: osq, lucene-nori, lucene-cjk, "
                      "xapian, xapian-osqtok, groonga)\n", name);
      return -1;
    }
    p += len + (comma ? 1 : 0);
  }
  if (rep->nengines == 0) {
    fprintf(stderr, "osbench: no engine to run\n");
    return -1;
  }
  return 0;
}

/* Formats a message into buf, cut to fit (messages may be cut; paths
 * may not, see engine_dir). */
__attribute__((format(printf, 3, 4))) static void set_msg(char *buf, size_t len,
                                                          const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n >= len) bench_utf8_trim(buf);
}

/* The directory of engine e's index under workdir; -1 if it does not fit. */
static int engine_dir(char *buf, size_t len, const char *workdir,
                      const bench_engine *e) {
  size_t a = strlen(workdir), b = strlen(e->name);
  if (a + 1 + b + 1 > len) return -1;
  memcpy(buf, workdir, a);
  buf[a] = '/';
  memcpy(buf + a + 1, e->name, b + 1);
  return 0;
}

/* ------------------------------------------------------------------------
 * Query groups: all, each kind, each bucket.
 * ---------------------------------------------------------------------- */

static int in_group(const bench_querylog *ql, size_t g, const bench_query *q) {
  if (g == 0) return 1;
  g--;
  if (ql->nkinds > 1) {
    if (g < ql->nkinds) return (size_t)q->kind == g;
    g -= ql->nkinds;
  }
  return q->bucket >= 0 && (size_t)q->bucket == g;
}

static int make_groups(const bench_querylog *ql, bench_report *rep) {
  size_t n = 1 + (ql->nkinds > 1 ? ql->nkinds : 0) + ql->nbuckets;
  rep->groups = calloc(n, sizeof *rep->groups);
  if (!rep->groups) return -1;
  rep->ngroups = n;
  snprintf(rep->groups[0].name, sizeof rep->groups[0].name, "all");
  snprintf(rep->groups[0].label, sizeof rep->groups[0].label, "all queries");
  size_t g = 1;
  if (ql->nkinds > 1)
    for (size_t i = 0; i < ql->nkinds; i++, g++) {
      snprintf(rep->groups[g].name, sizeof rep->groups[g].name, "kind:%s", ql->kinds[i]);
      snprintf(rep->groups[g].label, sizeof rep->groups[g].label, "kind %s", ql->kinds[i]);
    }
  for (size_t i = 0; i < ql->nbuckets; i++, g++) {
    snprintf(rep->groups[g].name, sizeof rep->groups[g].name, "bucket:%s", ql->buckets[i]);
    snprintf(rep->groups[g].label, sizeof rep->groups[g].label, "bucket %s", ql->buckets[i]);
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < ql->n; j++) rep->groups[i].nqueries += in_group(ql, i, &ql->q[j]);
  return 0;
}

/* ------------------------------------------------------------------------
 * Timing the query log
 * ---------------------------------------------------------------------- */

typedef struct engine_run {
  void *handle;
  double *lat;          /* runs x queries, nanoseconds */
  unsigned char *failed;
  uint64_t hits;
} engine_run;

__attribute__((format(printf, 2, 3))) static void progress(const options *o,
                                                            const char *fmt, ...) {
  if (o->quiet) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "osbench: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* One pass of engine e over the log; lat NULL for the warm-up, which also
 * records which queries the engine rejects. */
static int run_log(bench_engine_result *er, engine_run *run,
                   const bench_querylog *ql, double *lat) {
  bench_ids ids;
  char err[BENCH_ERR_MAX];
  for (size_t i = 0; i < ql->n; i++) {
    err[0] = '\0';
    ids.timed = 0;
    uint64_t t0 = bench_now_ns();
    int rc = er->engine->search(run->handle, &ql->q[i], &ids, err, sizeof err);
    uint64_t t1 = bench_now_ns();
    /* An engine in another process times itself (bench_ids.timed). */
    if (lat) lat[i] = (double)(ids.timed ? ids.ns : t1 - t0);
    if (rc == OSQ_OK) {
      if (!lat) run->hits += ids.n;
      continue;
    }
    if (rc != OSQ_E_PARSE) {
      set_msg(er->note, sizeof er->note, "query \"%s\" failed: %s", ql->q[i].text, err);
      return rc;
    }
    if (!run->failed[i]) {
      run->failed[i] = 1;
      if (er->failed_queries++ == 0)
        set_msg(er->first_failure, sizeof er->first_failure, "\"%s\": %s", ql->q[i].text, err);
    }
  }
  return OSQ_OK;
}

/* Keeps the BENCH_SLOWEST queries with the highest median over the runs,
 * slowest first: where an engine's tail comes from. */
static void slowest_queries(bench_engine_result *er, const engine_run *run,
                            const bench_querylog *ql, int nruns) {
  double t[64];
  if (nruns > 64) nruns = 64;
  er->nslow = 0;
  for (size_t i = 0; i < ql->n; i++) {
    if (run->failed[i]) continue;
    for (int r = 0; r < nruns; r++) t[r] = run->lat[(size_t)r * ql->n + i];
    double m = bench_median(t, (size_t)nruns);
    size_t at = er->nslow;
    while (at > 0 && er->slow_ns[at - 1] < m) at--;
    if (at >= BENCH_SLOWEST) continue;
    size_t last = er->nslow < BENCH_SLOWEST ? er->nslow : BENCH_SLOWEST - 1;
    for (size_t j = last; j > at; j--) {
      er->slow_ns[j] = er->slow_ns[j - 1];
      memcpy(er->slow_text[j], er->slow_text[j - 1], sizeof er->slow_text[j]);
    }
    er->slow_ns[at] = m;
    set_msg(er->slow_text[at], sizeof er->slow_text[at], "%s", ql->q[i].text);
    if (er->nslow < BENCH_SLOWEST) er->nslow++;
  }
}

static int time_queries(const options *o, bench_report *rep,
                        const bench_querylog *ql, const char *workdir) {
  engine_run *runs = calloc(rep->nengines, sizeof *runs);
  if (!runs) return OSQ_E_NOMEM;
  int rc = OSQ_OK;
  for (size_t e = 0; e < rep->nengines; e++) {
    bench_engine_result *er = &rep->engines[e];
    if (!er->built) continue;
    char dir[PATH_MAX], err[BENCH_ERR_MAX] = "";
    engine_dir(dir, sizeof dir, workdir, er->engine);
    runs[e].lat = malloc((size_t)o->runs * ql->n * sizeof *runs[e].lat);
    runs[e].failed = calloc(ql->n, 1);
    if (!runs[e].lat || !runs[e].failed) {
      rc = OSQ_E_NOMEM;
      break;
    }
    int orc = er->engine->open(dir, &runs[e].handle, err, sizeof err);
    if (orc != OSQ_OK) {
      set_msg(er->note, sizeof er->note, "cannot open the index: %s", err);
      runs[e].handle = NULL;
      continue;
    }
    progress(o, "%s: warm-up over %zu queries", er->engine->name, ql->n);
    if (run_log(er, &runs[e], ql, NULL) != OSQ_OK) {
      er->engine->close(runs[e].handle);
      runs[e].handle = NULL;
    }
  }
  /* Runs interleave the engines, so that a drift of the machine during the
   * benchmark is shared among them. */
  for (int r = 0; rc == OSQ_OK && r < o->runs; r++) {
    for (size_t e = 0; e < rep->nengines; e++) {
      bench_engine_result *er = &rep->engines[e];
      if (!runs[e].handle) continue;
      progress(o, "%s: run %d of %d", er->engine->name, r + 1, o->runs);
      if (run_log(er, &runs[e], ql, runs[e].lat + (size_t)r * ql->n) != OSQ_OK) {
        er->engine->close(runs[e].handle);
        runs[e].handle = NULL;
      }
    }
  }
  /* Summaries per group, over every run of the queries the engine took. */
  for (size_t e = 0; rc == OSQ_OK && e < rep->nengines; e++) {
    bench_engine_result *er = &rep->engines[e];
    if (!runs[e].handle) continue;
    er->engine->close(runs[e].handle);
    runs[e].handle = NULL;
    er->queried = 1;
    er->mean_hits = ql->n ? (double)runs[e].hits / (double)ql->n : 0;
    slowest_queries(er, &runs[e], ql, o->runs);
    er->groups = calloc(rep->ngroups, sizeof *er->groups);
    er->samples = calloc(rep->ngroups, sizeof *er->samples);
    if (!er->groups || !er->samples) {
      rc = OSQ_E_NOMEM;
      break;
    }
    for (size_t g = 0; g < rep->ngroups; g++) {
      double *s = malloc(((size_t)o->runs * ql->n + 1) * sizeof *s);
      if (!s) {
        rc = OSQ_E_NOMEM;
        break;
      }
      size_t n = 0;
      for (size_t i = 0; i < ql->n; i++) {
        if (runs[e].failed[i] || !in_group(ql, g, &ql->q[i])) continue;
        for (int r = 0; r < o->runs; r++) s[n++] = runs[e].lat[(size_t)r * ql->n + i];
      }
      bench_summarize(s, n, &er->groups[g]);
      er->samples[g] = s;
    }
  }
  for (size_t e = 0; e < rep->nengines; e++) {
    if (runs[e].handle) rep->engines[e].engine->close(runs[e].handle);
    free(runs[e].lat);
    free(runs[e].failed);
  }
  free(runs);
  return rc;
}

/* ------------------------------------------------------------------------
 * Ranking quality
 * ---------------------------------------------------------------------- */

static int evaluate(const options *o, bench_report *rep, const bench_querylog *eq,
                    const bench_qrels *qrels, const char *workdir) {
  for (size_t e = 0; e < rep->nengines; e++) {
    bench_engine_result *er = &rep->engines[e];
    if (!er->built) continue;
    char dir[PATH_MAX], err[BENCH_ERR_MAX] = "";
    engine_dir(dir, sizeof dir, workdir, er->engine);
    void *h = NULL;
    if (er->engine->open(dir, &h, err, sizeof err) != OSQ_OK) {
      set_msg(er->note, sizeof er->note, "cannot open the index: %s", err);
      continue;
    }
    progress(o, "%s: evaluating %zu queries", er->engine->name, eq->n);
    double rr = 0, recall = 0;
    size_t judged = 0, failed = 0;
    bench_ids ids;
    for (size_t i = 0; i < eq->n; i++) {
      char **rel;
      size_t nrel;
      bench_qrels_get(qrels, eq->q[i].qid, &rel, &nrel);
      if (nrel == 0) continue;
      judged++;
      int rc = er->engine->search(h, &eq->q[i], &ids, err, sizeof err);
      /* A query the engine's parser rejected counts as failed; it is scored
       * with what the engine answered instead (Lucene's escaped retry, as
       * an application would retry it), and 0 when it answered nothing
       * (Xapian, Groonga). */
      if (rc == OSQ_E_PARSE) failed++;
      else if (rc != OSQ_OK) {
        set_msg(er->note, sizeof er->note, "evaluation query \"%s\" failed: %s",
                 eq->q[i].text, err);
        judged = 0;
        break;
      }
      /* Ranks count distinct documents: an engine that returns several
       * passages of one document gets no second credit for it. */
      size_t found = 0, rank = 0;
      int first = 0;
      for (size_t h_i = 0; h_i < ids.n; h_i++) {
        int seen = 0;
        for (size_t j = 0; j < h_i; j++) seen |= !strcmp(ids.id[j], ids.id[h_i]);
        if (seen) continue;
        rank++;
        for (size_t j = 0; j < nrel; j++) {
          if (strcmp(rel[j], ids.id[h_i]) != 0) continue;
          if (!first) {
            rr += 1.0 / (double)rank;
            first = 1;
          }
          found++;
          break;
        }
      }
      recall += (double)found / (double)nrel;
    }
    er->engine->close(h);
    if (judged) {
      er->eval.measured = 1;
      er->eval.queries = judged;
      er->eval.failed = failed;
      er->eval.mrr10 = rr / (double)judged;
      er->eval.recall10 = recall / (double)judged;
    }
  }
  return OSQ_OK;
}

/* ------------------------------------------------------------------------
 * One-shot command lines
 * ---------------------------------------------------------------------- */

/* The directory of this executable, for finding ../query/osq. */
static int self_dir(char *buf, size_t len) {
  ssize_t n = readlink("/proc/self/exe", buf, len - 1);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash) return -1;
  *slash = '\0';
  return 0;
}

static int find_on_path(const char *name, char *out, size_t len) {
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t n = colon ? (size_t)(colon - path) : strlen(path);
    snprintf(out, len, "%.*s/%s", (int)n, path, name);
    if (n > 0 && access(out, X_OK) == 0) return 0;
    path += n + (colon ? 1 : 0);
  }
  return -1;
}

/* The queries of the one-shot measure: the first of each kind, then the
 * next ones of the log, up to want. */
static size_t pick_oneshot(const bench_querylog *ql, size_t want, size_t *pick) {
  size_t n = 0;
  for (size_t k = 0; k < ql->nkinds && n < want; k++)
    for (size_t i = 0; i < ql->n; i++)
      if ((size_t)ql->q[i].kind == k) {
        pick[n++] = i;
        break;
      }
  for (size_t i = 0; i < ql->n && n < want; i++) {
    int dup = 0;
    for (size_t j = 0; j < n; j++) dup |= pick[j] == i;
    if (!dup) pick[n++] = i;
  }
  return n;
}

/* Runs argv_for(query) reps times for each picked query; the median and the
 * 90th percentile over every run. */
static void time_command(const options *o, bench_oneshot *os, const char *bin,
                         const char *flag_db, const char *db, const char *flag_k,
                         char *const *env, const bench_querylog *ql) {
  size_t pick[16];
  size_t want = (size_t)o->oneshot_queries < 16 ? (size_t)o->oneshot_queries : 16;
  size_t n = pick_oneshot(ql, want, pick);
  double *t = malloc(n * (size_t)o->oneshot_reps * sizeof *t);
  if (!t) return;
  size_t nt = 0;
  char err[BENCH_ERR_MAX];
  for (int r = 0; r < o->oneshot_reps; r++) {
    for (size_t i = 0; i < n; i++) {
      char *argv[] = {(char *)bin, (char *)flag_db, (char *)db, (char *)flag_k, "10",
                      ql->q[pick[i]].text, NULL};
      double s;
      if (bench_run_command(argv, env, &s, err, sizeof err) != OSQ_OK) {
        set_msg(os->note, sizeof os->note, "%s (query \"%s\")", err, ql->q[pick[i]].text);
        free(t);
        return;
      }
      t[nt++] = s;
    }
  }
  os->measured = 1;
  os->runs = nt;
  os->median_seconds = bench_median(t, nt);
  os->p90_seconds = bench_percentile(t, nt, 90);
  snprintf(os->note, sizeof os->note, "%s %s DB %s 10 QUERY; %zu queries x %d", bin, flag_db,
           flag_k, n, o->oneshot_reps);
  free(t);
}

static void time_oneshots(const options *o, bench_report *rep,
                          const bench_querylog *ql, const char *workdir) {
  char here[PATH_MAX], osq_bin[PATH_MAX], quest[PATH_MAX], db[PATH_MAX];
  for (size_t e = 0; e < rep->nengines; e++) {
    bench_engine_result *er = &rep->engines[e];
    bench_oneshot *os = &er->oneshot;
    if (!er->built) continue;
    engine_dir(db, sizeof db, workdir, er->engine);
    if (o->oneshot_reps == 0) {
      snprintf(os->note, sizeof os->note, "not measured (--oneshot 0)");
    } else if (!strcmp(er->engine->name, "osq")) {
      snprintf(os->command, sizeof os->command, "osq");
      if (o->osq_bin) set_msg(osq_bin, sizeof osq_bin, "%s", o->osq_bin);
      else if (self_dir(here, sizeof here) == 0)
        set_msg(osq_bin, sizeof osq_bin, "%s/../query/osq", here);
      else osq_bin[0] = '\0';
      if (!osq_bin[0] || access(osq_bin, X_OK) != 0) {
        set_msg(os->note, sizeof os->note,
                "the osq command line was not found (%s); give --osq-bin", osq_bin);
        continue;
      }
      progress(o, "osq: one-shot runs of %s", osq_bin);
      time_command(o, os, osq_bin, "-i", db, "-n", NULL, ql);
    } else if (!strcmp(er->engine->name, "xapian")) {
      snprintf(os->command, sizeof os->command, "quest");
      if (find_on_path("quest", quest, sizeof quest) != 0) {
        snprintf(os->note, sizeof os->note, "quest is not on PATH (Debian xapian-tools)");
        continue;
      }
      static char cjk[] = "XAPIAN_CJK_NGRAM=1";
      char *env[] = {cjk, NULL};
      progress(o, "xapian: one-shot runs of %s", quest);
      time_command(o, os, quest, "-d", db, "-m", env, ql);
    } else {
      snprintf(os->note, sizeof os->note, "no command line measured for %s", er->engine->name);
    }
  }
}

/* ------------------------------------------------------------------------
 * Where and when
 * ---------------------------------------------------------------------- */

static void describe_machine(char *buf, size_t len) {
  char model[256] = "unknown CPU";
  unsigned long long mem_kb = 0;
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) != 0) continue;
      char *colon = strchr(line, ':');
      if (!colon) continue;
      colon++;
      while (*colon == ' ') colon++;
      colon[strcspn(colon, "\n")] = '\0';
      snprintf(model, sizeof model, "%s", colon);
      break;
    }
    fclose(f);
  }
  f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "MemTotal: %llu kB", &mem_kb) == 1) break;
    fclose(f);
  }
  struct utsname u;
  const char *kernel = uname(&u) == 0 ? u.release : "?";
  snprintf(buf, len, "%ld x %s, %.1f GiB RAM, Linux %s", sysconf(_SC_NPROCESSORS_ONLN),
           model, (double)mem_kb / (1024.0 * 1024.0), kernel);
}

/* ------------------------------------------------------------------------ */

static void report_build(const options *o, const char *name,
                         const bench_build_result *b) {
  if (o->quiet) return;
  if (b->status == OSQ_OK)
    fprintf(stderr, "osbench: %s: %llu %s in %.2f s, peak RSS %.1f MB\n", name,
            (unsigned long long)b->read.units,
            b->read.units == b->read.documents ? "documents" : "passages", b->seconds,
            (double)b->peak_rss / 1e6);
  else
    fprintf(stderr, "osbench: %s: build failed: %s\n", name, b->err);
}

int main(int argc, char **argv) {
  options o;
  if (parse_options(argc, argv, &o) != 0) return EXIT_USAGE;
  bench_quiet = o.quiet;

  bench_report rep;
  memset(&rep, 0, sizeof rep);
  if (select_engines(o.engines, &rep) != 0) return EXIT_USAGE;

  char err[BENCH_ERR_MAX] = "";
  bench_querylog ql, eq;
  memset(&ql, 0, sizeof ql);
  memset(&eq, 0, sizeof eq);
  bench_qrels *qrels = NULL;
  if (o.queries && bench_querylog_load(o.queries, 0, o.query_limit, &ql, err, sizeof err) != OSQ_OK) {
    fprintf(stderr, "osbench: %s\n", err);
    return EXIT_USAGE;
  }
  if (o.eval_qrels) {
    if (bench_qrels_load(o.eval_qrels, &qrels, err, sizeof err) != OSQ_OK ||
        bench_querylog_load(o.eval_queries, 1, o.eval_limit, &eq, err, sizeof err) != OSQ_OK) {
      fprintf(stderr, "osbench: %s\n", err);
      return EXIT_USAGE;
    }
  }
  const bench_querylog *timed = o.queries ? &ql : &eq;

  char date[64], machine[512];
  time_t now = time(NULL);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
  describe_machine(machine, sizeof machine);
  rep.date = date;
  rep.machine = machine;
  rep.corpus = o.corpus;
  rep.ncorpus = o.ncorpus;
  rep.queries_path = timed->path;
  rep.nqueries = timed->n;
  rep.runs = o.runs;
  rep.unit = o.unit;
  rep.eval_qrels = o.eval_qrels;
  rep.eval_queries = o.eval_queries;
  if (make_groups(timed, &rep) != 0) {
    fprintf(stderr, "osbench: out of memory\n");
    return EXIT_RUN;
  }

  char workdir[PATH_MAX];
  int made_workdir = 0;
  if (o.workdir) {
    set_msg(workdir, sizeof workdir, "%s", o.workdir);
    if (mkdir(workdir, 0755) != 0 && errno != EEXIST) {
      fprintf(stderr, "osbench: cannot create %s: %s\n", workdir, strerror(errno));
      return EXIT_USAGE;
    }
  } else {
    const char *tmp = getenv("TMPDIR");
    snprintf(workdir, sizeof workdir, "%s/osbench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(workdir)) {
      fprintf(stderr, "osbench: cannot create a directory in %s: %s\n",
              tmp && *tmp ? tmp : "/tmp", strerror(errno));
      return EXIT_RUN;
    }
    made_workdir = 1;
  }

  /* The baseline: what reading the corpus alone costs in this harness. */
  bench_corpus corpus = {o.corpus, o.ncorpus, o.unit};
  progress(&o, "reading the corpus (baseline)");
  bench_build_in_child(NULL, NULL, &corpus, &rep.baseline);
  if (rep.baseline.status == OSQ_OK) report_build(&o, "read only", &rep.baseline);
  if (rep.baseline.status != OSQ_OK) {
    fprintf(stderr, "osbench: %s\n", rep.baseline.err);
    if (made_workdir) bench_rmtree(workdir);
    return EXIT_USAGE;
  }
  rep.input = rep.baseline.read;

  int failures = 0;
  for (size_t e = 0; e < rep.nengines; e++) {
    bench_engine_result *er = &rep.engines[e];
    char dir[PATH_MAX];
    if (engine_dir(dir, sizeof dir, workdir, er->engine) != 0) {
      fprintf(stderr, "osbench: --workdir %s is too long\n", workdir);
      return EXIT_USAGE;
    }
    bench_rmtree(dir);
    if (mkdir(dir, 0755) != 0) {
      set_msg(er->note, sizeof er->note, "cannot create %s: %s", dir, strerror(errno));
      failures++;
      continue;
    }
    progress(&o, "%s: building the index in %s", er->engine->name, dir);
    bench_build_in_child(er->engine, dir, &corpus, &er->build);
    report_build(&o, er->engine->name, &er->build);
    er->built = er->build.status == OSQ_OK;
    if (!er->built) {
      set_msg(er->note, sizeof er->note, "build failed: %s", er->build.err);
      failures++;
    }
  }

  int rc = time_queries(&o, &rep, timed, workdir);
  if (rc == OSQ_OK && qrels) rc = evaluate(&o, &rep, &eq, qrels, workdir);
  if (rc == OSQ_OK) time_oneshots(&o, &rep, timed, workdir);
  if (rc != OSQ_OK) {
    fprintf(stderr, "osbench: %s\n", osq_strerror(rc));
    failures++;
  }
  for (size_t e = 0; e < rep.nengines; e++)
    if (rep.engines[e].built && !rep.engines[e].queried) failures++;

  bench_report_table(&rep);
  if (o.json && bench_report_json(&rep, o.json, err, sizeof err) != OSQ_OK) {
    fprintf(stderr, "osbench: %s\n", err);
    failures++;
  }
  if (o.plot && bench_report_svg(&rep, o.plot, err, sizeof err) != OSQ_OK) {
    fprintf(stderr, "osbench: %s\n", err);
    failures++;
  }

  if (o.keep) {
    if (!o.quiet) fprintf(stderr, "osbench: indexes kept in %s\n", workdir);
  } else {
    for (size_t e = 0; e < rep.nengines; e++) {
      char dir[PATH_MAX];
      if (engine_dir(dir, sizeof dir, workdir, rep.engines[e].engine) == 0) bench_rmtree(dir);
    }
    if (made_workdir) rmdir(workdir);
  }

  for (size_t e = 0; e < rep.nengines; e++) {
    bench_engine_result *er = &rep.engines[e];
    if (er->samples)
      for (size_t g = 0; g < rep.ngroups; g++) free(er->samples[g]);
    free(er->samples);
    free(er->groups);
  }
  free(rep.engines);
  free(rep.groups);
  bench_querylog_free(&ql);
  bench_querylog_free(&eq);
  bench_qrels_free(qrels);
  free(o.corpus);
  return failures ? EXIT_RUN : 0;
}
