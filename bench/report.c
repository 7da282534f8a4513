/*
 * report.c -- the figures of a benchmark as a table on stdout and as JSON.
 * Each figure comes with the osq/peer ratio for every peer engine.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"

/* Width of the label column and the least width of a figure column. */
enum { LABEL_W = 24, COL_W = 12 };

/* Width of the column of an engine (or of a ratio "osq/NAME"). */
static int col_width(const bench_engine_result *e, int ratio) {
  int w = (int)strlen(e->engine->name) + (ratio ? 4 : 0) + 2;
  return w < COL_W ? COL_W : w;
}

/* A figure of an engine, or a negative number when it has none. */
typedef double (*figure_fn)(const bench_report *r, const bench_engine_result *e,
                            size_t group);

static double mb(uint64_t bytes) { return (double)bytes / 1e6; }

static double fig_build_s(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->built ? e->build.seconds : -1;
}
static double fig_mbps(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)g;
  return e->built && e->build.seconds > 0 ? mb(r->input.text_bytes) / e->build.seconds : -1;
}
static double fig_rss(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->built ? mb(e->build.peak_rss) : -1;
}
static double fig_index_mb(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->built ? mb(e->build.index_bytes) : -1;
}
static double fig_index_ratio(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)g;
  return e->built && r->input.text_bytes
             ? (double)e->build.index_bytes / (double)r->input.text_bytes
             : -1;
}
#define LATENCY_FIGURE(fn, field)                                                   \
  static double fn(const bench_report *r, const bench_engine_result *e, size_t g) { \
    (void)r;                                                                        \
    return e->queried && e->groups[g].n ? e->groups[g].field / 1e6 : -1;            \
  }
LATENCY_FIGURE(fig_p50, p50)
LATENCY_FIGURE(fig_p95, p95)
LATENCY_FIGURE(fig_p99, p99)
LATENCY_FIGURE(fig_mean, mean)
static double fig_qps(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r;
  return e->queried && e->groups[g].n ? e->groups[g].qps : -1;
}
static double fig_failed(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->queried ? (double)e->failed_queries : -1;
}
static double fig_hits(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->queried ? e->mean_hits : -1;
}
static double fig_oneshot(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->oneshot.measured ? e->oneshot.median_seconds * 1e3 : -1;
}
static double fig_oneshot90(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->oneshot.measured ? e->oneshot.p90_seconds * 1e3 : -1;
}
static double fig_mrr(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->eval.measured ? e->eval.mrr10 : -1;
}
static double fig_recall(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->eval.measured ? e->eval.recall10 : -1;
}
static double fig_eval_failed(const bench_report *r, const bench_engine_result *e, size_t g) {
  (void)r, (void)g;
  return e->eval.measured ? (double)e->eval.failed : -1;
}

/* Three significant digits or so, without exponents. */
static void format_value(double v, char *buf, size_t len) {
  if (v < 0) snprintf(buf, len, "-");
  else if (v == 0) snprintf(buf, len, "0");
  else if (v >= 1000) snprintf(buf, len, "%.0f", v);
  else if (v >= 100) snprintf(buf, len, "%.1f", v);
  else if (v >= 10) snprintf(buf, len, "%.2f", v);
  else if (v >= 0.1) snprintf(buf, len, "%.3f", v);
  else snprintf(buf, len, "%.4f", v);
}

/* The osq engine's result, if it was run. */
static const bench_engine_result *osq_result(const bench_report *r) {
  for (size_t i = 0; i < r->nengines; i++)
    if (!strcmp(r->engines[i].engine->name, "osq")) return &r->engines[i];
  return NULL;
}

/* How a row shows its figures. */
enum { ROW_RATIO = 0, ROW_COUNT = 1 /* an integer count, no ratio */ };

static void print_row_as(const bench_report *r, const char *label,
                         figure_fn fn, size_t group, int how) {
  char buf[32];
  printf("  %-*s", LABEL_W - 2, label);
  for (size_t i = 0; i < r->nengines; i++) {
    double v = fn(r, &r->engines[i], group);
    if (how == ROW_COUNT && v >= 0) snprintf(buf, sizeof buf, "%.0f", v);
    else format_value(v, buf, sizeof buf);
    printf("%*s", col_width(&r->engines[i], 0), buf);
  }
  const bench_engine_result *o = how == ROW_RATIO ? osq_result(r) : NULL;
  for (size_t i = 0; o && i < r->nengines; i++) {
    if (&r->engines[i] == o) continue;
    double a = fn(r, o, group), b = fn(r, &r->engines[i], group);
    if (a >= 0 && b > 0) snprintf(buf, sizeof buf, "%.2f", a / b);
    else snprintf(buf, sizeof buf, "-");
    printf("%*s", col_width(&r->engines[i], 1), buf);
  }
  printf("\n");
}

static void print_row(const bench_report *r, const char *label, figure_fn fn,
                      size_t group) {
  print_row_as(r, label, fn, group, ROW_RATIO);
}

static void print_header(const bench_report *r, const char *title) {
  printf("%-*s", LABEL_W, title);
  for (size_t i = 0; i < r->nengines; i++)
    printf("%*s", col_width(&r->engines[i], 0), r->engines[i].engine->name);
  const bench_engine_result *o = osq_result(r);
  for (size_t i = 0; o && i < r->nengines; i++) {
    if (&r->engines[i] == o) continue;
    char name[64];
    snprintf(name, sizeof name, "osq/%s", r->engines[i].engine->name);
    printf("%*s", col_width(&r->engines[i], 1), name);
  }
  printf("\n");
}

void bench_report_table(const bench_report *r) {
  printf("osbench  %s  on %s\n", r->date, r->machine);
  printf("corpus   ");
  for (size_t i = 0; i < r->ncorpus; i++) printf("%s%s", i ? ", " : "", r->corpus[i]);
  printf(": %llu documents, %.2f MB of text (+%.2f MB of titles)\n",
         (unsigned long long)r->input.documents, mb(r->input.text_bytes),
         mb(r->input.title_bytes));
  if (r->unit == BENCH_UNIT_PASSAGE)
    printf("unit     passage: the peers index osq's %llu passages of them as their documents "
           "(osq indexes the documents)\n",
           (unsigned long long)r->input.units);
  else
    printf("unit     doc: every engine indexes the documents\n");
  printf("         reading it alone%s: %.2f s, peak RSS %.1f MB\n",
         r->unit == BENCH_UNIT_PASSAGE ? " and cutting passages" : "", r->baseline.seconds,
         mb(r->baseline.peak_rss));
  printf("queries  %s: %zu queries; one warm-up run, then %d timed run%s; top %d, one thread\n",
         r->queries_path, r->nqueries, r->runs, r->runs == 1 ? "" : "s", BENCH_K);
  for (size_t i = 0; i < r->nengines; i++)
    printf("engine   %-14s %s\n", r->engines[i].engine->name, r->engines[i].engine->what);
  printf("\n");

  print_header(r, "indexing");
  print_row(r, "time (s)", fig_build_s, 0);
  print_row(r, "throughput (MB/s)", fig_mbps, 0);
  print_row(r, "peak RSS (MB)", fig_rss, 0);
  print_row(r, "index size (MB)", fig_index_mb, 0);
  print_row(r, "index bytes / input", fig_index_ratio, 0);
  for (size_t g = 0; g < r->ngroups; g++) {
    char title[128];
    snprintf(title, sizeof title, "%s (%zu)", r->groups[g].label, r->groups[g].nqueries);
    printf("\n");
    print_header(r, title);
    print_row(r, "p50 (ms)", fig_p50, g);
    print_row(r, "p95 (ms)", fig_p95, g);
    print_row(r, "p99 (ms)", fig_p99, g);
    print_row(r, "mean (ms)", fig_mean, g);
    print_row(r, "queries / s", fig_qps, g);
    if (g == 0) {
      print_row_as(r, "failed queries", fig_failed, g, ROW_COUNT);
      print_row(r, "results / query", fig_hits, g);
    }
  }
  printf("\n");
  print_header(r, "one-shot command line");
  printf("  %-*s", LABEL_W - 2, "command");
  for (size_t i = 0; i < r->nengines; i++)
    printf("%*s", col_width(&r->engines[i], 0),
           r->engines[i].oneshot.command[0] ? r->engines[i].oneshot.command : "-");
  printf("\n");
  print_row(r, "median wall (ms)", fig_oneshot, 0);
  print_row(r, "p90 wall (ms)", fig_oneshot90, 0);

  int any_eval = 0;
  for (size_t i = 0; i < r->nengines; i++) any_eval |= r->engines[i].eval.measured;
  if (any_eval) {
    size_t nq = 0;
    for (size_t i = 0; i < r->nengines; i++)
      if (r->engines[i].eval.measured) nq = r->engines[i].eval.queries;
    char title[128];
    snprintf(title, sizeof title, "ranking (%zu judged)", nq);
    printf("\n");
    print_header(r, title);
    print_row(r, "MRR@10", fig_mrr, 0);
    print_row(r, "recall@10", fig_recall, 0);
    print_row_as(r, "failed queries", fig_eval_failed, 0, ROW_COUNT);
  }

  printf("\nslowest queries (median of the runs)\n");
  for (size_t i = 0; i < r->nengines; i++) {
    const bench_engine_result *e = &r->engines[i];
    if (!e->queried) continue;
    printf("  %-14s", e->engine->name);
    for (size_t k = 0; k < e->nslow; k++)
      printf("%s\"%s\" %.2f ms", k ? ", " : "", e->slow_text[k], e->slow_ns[k] / 1e6);
    printf("\n");
  }

  int header = 0;
  for (size_t i = 0; i < r->nnotes; i++) {
    if (!header++) printf("\nnotes\n");
    printf("  %s\n", r->notes[i]);
  }
  for (size_t i = 0; i < r->nengines; i++) {
    const bench_engine_result *e = &r->engines[i];
    const char *what[] = {e->note, e->first_failure, e->oneshot.measured ? "" : e->oneshot.note};
    const char *prefix[] = {"", "first rejected query ", "one-shot: "};
    for (size_t k = 0; k < 3; k++) {
      if (!what[k][0]) continue;
      if (!header++) printf("\nnotes\n");
      printf("  %s: %s%s\n", e->engine->name, prefix[k], what[k]);
    }
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------- */

/* Sets key to v, or to null when the figure is missing (negative). */
static void set_figure(json_t *obj, const char *key, double v) {
  json_object_set_new(obj, key, v < 0 ? json_null() : json_real(v));
}

static json_t *summary_json(const bench_summary *s) {
  json_t *o = json_object();
  json_object_set_new(o, "samples", json_integer((json_int_t)s->n));
  if (s->n == 0) return o;
  const char *keys[] = {"p1_ms", "p5_ms", "p25_ms", "p50_ms", "p75_ms", "p95_ms", "p99_ms",
                        "mean_ms", "min_ms", "max_ms"};
  double vals[] = {s->p1, s->p5, s->p25, s->p50, s->p75, s->p95, s->p99, s->mean, s->min, s->max};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    json_object_set_new(o, keys[i], json_real(vals[i] / 1e6));
  json_object_set_new(o, "qps", json_real(s->qps));
  return o;
}

static json_t *engine_json(const bench_report *r, const bench_engine_result *e) {
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(e->engine->name));
  json_object_set_new(o, "what", json_string(e->engine->what));
  if (e->note[0]) json_object_set_new(o, "note", json_string(e->note));
  json_t *ix = json_object();
  json_object_set_new(ix, "ok", json_boolean(e->built));
  if (e->built) {
    json_object_set_new(ix, "documents", json_integer((json_int_t)e->build.read.documents));
    json_object_set_new(ix, "units", json_integer((json_int_t)e->build.read.units));
    json_object_set_new(ix, "seconds", json_real(e->build.seconds));
    json_object_set_new(ix, "wall_seconds", json_real(e->build.wall_seconds));
    set_figure(ix, "throughput_mb_s", fig_mbps(r, e, 0));
    json_object_set_new(ix, "peak_rss_bytes", json_integer((json_int_t)e->build.peak_rss));
    json_object_set_new(ix, "index_bytes", json_integer((json_int_t)e->build.index_bytes));
    json_object_set_new(ix, "index_apparent_bytes",
                        json_integer((json_int_t)e->build.index_apparent_bytes));
    set_figure(ix, "index_bytes_per_input_byte", fig_index_ratio(r, e, 0));
  }
  json_object_set_new(o, "indexing", ix);
  json_t *q = json_object();
  json_object_set_new(q, "ok", json_boolean(e->queried));
  if (e->queried) {
    json_object_set_new(q, "failed_queries", json_integer((json_int_t)e->failed_queries));
    if (e->first_failure[0])
      json_object_set_new(q, "first_failure", json_string(e->first_failure));
    json_object_set_new(q, "results_per_query", json_real(e->mean_hits));
    json_t *groups = json_object();
    for (size_t g = 0; g < r->ngroups; g++)
      json_object_set_new(groups, r->groups[g].name, summary_json(&e->groups[g]));
    json_object_set_new(q, "groups", groups);
    json_t *slow = json_array();
    for (size_t k = 0; k < e->nslow; k++) {
      json_t *sq = json_object();
      json_object_set_new(sq, "query", json_string(e->slow_text[k]));
      json_object_set_new(sq, "median_ms", json_real(e->slow_ns[k] / 1e6));
      json_array_append_new(slow, sq);
    }
    json_object_set_new(q, "slowest", slow);
  }
  json_object_set_new(o, "queries", q);
  json_t *os = json_object();
  json_object_set_new(os, "measured", json_boolean(e->oneshot.measured));
  if (e->oneshot.command[0]) json_object_set_new(os, "command", json_string(e->oneshot.command));
  json_object_set_new(os, "note", json_string(e->oneshot.note));
  if (e->oneshot.measured) {
    json_object_set_new(os, "median_ms", json_real(e->oneshot.median_seconds * 1e3));
    json_object_set_new(os, "p90_ms", json_real(e->oneshot.p90_seconds * 1e3));
    json_object_set_new(os, "runs", json_integer((json_int_t)e->oneshot.runs));
  }
  json_object_set_new(o, "oneshot", os);
  if (e->eval.measured) {
    json_t *ev = json_object();
    json_object_set_new(ev, "queries", json_integer((json_int_t)e->eval.queries));
    json_object_set_new(ev, "failed", json_integer((json_int_t)e->eval.failed));
    json_object_set_new(ev, "mrr_at_10", json_real(e->eval.mrr10));
    json_object_set_new(ev, "recall_at_10", json_real(e->eval.recall10));
    json_object_set_new(o, "eval", ev);
  }
  return o;
}

/* osq/peer for every figure, keyed "osq/peer". */
static json_t *ratios_json(const bench_report *r) {
  static const struct {
    const char *key;
    figure_fn fn;
    int per_group;
  } figures[] = {
      {"indexing_seconds", fig_build_s, 0},     {"throughput_mb_s", fig_mbps, 0},
      {"peak_rss", fig_rss, 0},                 {"index_bytes", fig_index_mb, 0},
      {"index_bytes_per_input_byte", fig_index_ratio, 0},
      {"p50", fig_p50, 1},                      {"p95", fig_p95, 1},
      {"p99", fig_p99, 1},                      {"mean", fig_mean, 1},
      {"qps", fig_qps, 1},                      {"oneshot_median", fig_oneshot, 0},
      {"mrr_at_10", fig_mrr, 0},                {"recall_at_10", fig_recall, 0},
  };
  json_t *all = json_object();
  const bench_engine_result *o = osq_result(r);
  for (size_t i = 0; o && i < r->nengines; i++) {
    const bench_engine_result *p = &r->engines[i];
    if (p == o) continue;
    json_t *rat = json_object();
    for (size_t f = 0; f < sizeof figures / sizeof figures[0]; f++) {
      size_t ng = figures[f].per_group && o->queried && p->queried ? r->ngroups : 1;
      for (size_t g = 0; g < ng; g++) {
        char key[160];
        if (figures[f].per_group && g > 0)
          snprintf(key, sizeof key, "%s[%s]", figures[f].key, r->groups[g].name);
        else
          snprintf(key, sizeof key, "%s", figures[f].key);
        double a = figures[f].fn(r, o, g), b = figures[f].fn(r, p, g);
        set_figure(rat, key, a >= 0 && b > 0 ? a / b : -1);
      }
    }
    char name[80];
    snprintf(name, sizeof name, "osq/%s", p->engine->name);
    json_object_set_new(all, name, rat);
  }
  return all;
}

int bench_report_json(const bench_report *r, const char *path, char *err,
                      size_t errlen) {
  json_t *root = json_object();
  json_object_set_new(root, "tool", json_string("osbench"));
  json_object_set_new(root, "date", json_string(r->date));
  json_object_set_new(root, "machine", json_string(r->machine));
  json_t *corpus = json_object();
  json_t *paths = json_array();
  for (size_t i = 0; i < r->ncorpus; i++) json_array_append_new(paths, json_string(r->corpus[i]));
  json_object_set_new(corpus, "paths", paths);
  json_object_set_new(corpus, "documents", json_integer((json_int_t)r->input.documents));
  json_object_set_new(corpus, "text_bytes", json_integer((json_int_t)r->input.text_bytes));
  json_object_set_new(corpus, "title_bytes", json_integer((json_int_t)r->input.title_bytes));
  json_object_set_new(corpus, "warnings", json_integer((json_int_t)r->input.warnings));
  json_object_set_new(corpus, "unit",
                      json_string(r->unit == BENCH_UNIT_PASSAGE ? "passage" : "doc"));
  json_object_set_new(corpus, "units", json_integer((json_int_t)r->input.units));
  json_object_set_new(corpus, "read_seconds", json_real(r->baseline.seconds));
  json_object_set_new(corpus, "read_peak_rss_bytes", json_integer((json_int_t)r->baseline.peak_rss));
  json_object_set_new(root, "corpus", corpus);
  json_t *q = json_object();
  json_object_set_new(q, "path", json_string(r->queries_path));
  json_object_set_new(q, "count", json_integer((json_int_t)r->nqueries));
  json_object_set_new(q, "runs", json_integer(r->runs));
  json_object_set_new(q, "k", json_integer(BENCH_K));
  json_t *groups = json_array();
  for (size_t g = 0; g < r->ngroups; g++) {
    json_t *gj = json_object();
    json_object_set_new(gj, "name", json_string(r->groups[g].name));
    json_object_set_new(gj, "queries", json_integer((json_int_t)r->groups[g].nqueries));
    json_array_append_new(groups, gj);
  }
  json_object_set_new(q, "groups", groups);
  json_object_set_new(root, "queries", q);
  if (r->eval_qrels) {
    json_t *ev = json_object();
    json_object_set_new(ev, "qrels", json_string(r->eval_qrels));
    json_object_set_new(ev, "queries", json_string(r->eval_queries));
    json_object_set_new(root, "eval", ev);
  }
  json_t *engines = json_array();
  for (size_t i = 0; i < r->nengines; i++)
    json_array_append_new(engines, engine_json(r, &r->engines[i]));
  json_object_set_new(root, "engines", engines);
  json_object_set_new(root, "ratios", ratios_json(r));
  json_t *notes = json_array();
  for (size_t i = 0; i < r->nnotes; i++) json_array_append_new(notes, json_string(r->notes[i]));
  json_object_set_new(root, "notes", notes);

  int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  json_decref(root);
  if (rc != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return OSQ_E_IO;
  }
  return OSQ_OK;
}
