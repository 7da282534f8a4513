/*
 * plot.c -- the latency distributions as an SVG written by hand: one panel
 * per query group (all, each kind, each bucket), one row per engine, on a
 * shared logarithmic time axis.  Each row shows the shape of the
 * distribution (a histogram of log latency, mirrored like a violin), a box
 * from p25 to p75 with the median, whiskers from p1 to p99 and the mean.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

enum {
  WIDTH = 980,
  LEFT = 150,      /* engine names */
  RIGHT = 190,     /* figures beside each row */
  TOP = 96,
  ROW_H = 30,
  PANEL_HEAD = 26,
  PANEL_GAP = 30,  /* room for the axis labels under each panel */
  BINS = 90
};

/* Each engine keeps its colour from plot to plot. */
static const char *engine_color(const bench_report *r, size_t i) {
  static const struct {
    const char *name, *color;
  } colors[] = {{"osq", "#1f77b4"},
                {"xapian", "#e6550d"},
                {"xapian-osqtok", "#9467bd"},
                {"groonga", "#2ca02c"},
                {"lucene-nori", "#d62728"},
                {"lucene-cjk", "#e377c2"}};
  for (size_t k = 0; k < sizeof colors / sizeof colors[0]; k++)
    if (!strcmp(r->engines[i].engine->name, colors[k].name)) return colors[k].color;
  return "#8c564b";
}

/* Writes s with the five XML specials escaped. */
static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
  }
}

/* "250 µs", "1.2 ms", "3 s" for a latency in nanoseconds. */
static void format_time(double ns, char *buf, size_t len) {
  if (ns < 1e3) snprintf(buf, len, "%.0f ns", ns);
  else if (ns < 1e6) snprintf(buf, len, ns < 1e4 ? "%.2f µs" : ns < 1e5 ? "%.1f µs" : "%.0f µs", ns / 1e3);
  else if (ns < 1e9) snprintf(buf, len, ns < 1e7 ? "%.2f ms" : ns < 1e8 ? "%.1f ms" : "%.0f ms", ns / 1e6);
  else snprintf(buf, len, "%.2f s", ns / 1e9);
}

/* "10 µs", "1 ms" for a decade of the axis. */
static void format_tick(double ns, char *buf, size_t len) {
  static const char *const units[] = {"ns", "µs", "ms", "s"};
  int u = 0;
  while (u < 3 && ns >= 1000 - 1e-6) {
    ns /= 1000;
    u++;
  }
  snprintf(buf, len, "%g %s", ns, units[u]);
}

typedef struct axis {
  double lo, hi; /* log10 of nanoseconds at the left and right edges */
  double x0, x1; /* pixels */
} axis;

static double axis_x(const axis *a, double ns) {
  if (ns < 1) ns = 1;
  double v = log10(ns);
  if (v < a->lo) v = a->lo;
  if (v > a->hi) v = a->hi;
  return a->x0 + (v - a->lo) / (a->hi - a->lo) * (a->x1 - a->x0);
}

static void draw_grid(FILE *f, const axis *a, double y0, double y1, int labels) {
  for (int d = (int)floor(a->lo); d <= (int)ceil(a->hi); d++) {
    static const int steps[] = {1, 2, 5};
    for (size_t s = 0; s < 3; s++) {
      double ns = steps[s] * pow(10, d);
      double lv = log10(ns);
      if (lv < a->lo - 1e-9 || lv > a->hi + 1e-9) continue;
      double x = axis_x(a, ns);
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                 "stroke-width=\"1\"/>\n",
              x, y0, x, y1, s == 0 ? "#c8c8c8" : "#ececec");
      if (labels && s == 0) {
        char buf[32];
        format_tick(ns, buf, sizeof buf);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>\n",
                x, y1 + 14, buf);
      }
    }
  }
}

/* The violin: a histogram of log10 latency over the axis, lightly smoothed,
 * scaled so that its widest bin fills half the row. */
static void draw_shape(FILE *f, const axis *a, const double *s, size_t n,
                       double yc, double half, const char *color) {
  if (n == 0) return;
  double h[BINS] = {0}, sm[BINS];
  for (size_t i = 0; i < n; i++) {
    double v = log10(s[i] < 1 ? 1 : s[i]);
    int b = (int)((v - a->lo) / (a->hi - a->lo) * BINS);
    if (b < 0) b = 0;
    if (b >= BINS) b = BINS - 1;
    h[b] += 1;
  }
  double max = 0;
  for (int b = 0; b < BINS; b++) {
    double l = b > 0 ? h[b - 1] : 0, r = b < BINS - 1 ? h[b + 1] : 0;
    sm[b] = 0.25 * l + 0.5 * h[b] + 0.25 * r;
    if (sm[b] > max) max = sm[b];
  }
  if (max <= 0) return;
  double bw = (a->x1 - a->x0) / BINS;
  fprintf(f, "<path fill=\"%s\" fill-opacity=\"0.28\" stroke=\"%s\" stroke-opacity=\"0.5\" "
             "stroke-width=\"0.8\" d=\"",
          color, color);
  int first = 1;
  for (int b = 0; b < BINS; b++) {
    if (sm[b] <= 0 && (b == 0 || sm[b - 1] <= 0) && (b == BINS - 1 || sm[b + 1] <= 0)) continue;
    double x = a->x0 + (b + 0.5) * bw;
    fprintf(f, "%s%.1f,%.1f ", first ? "M" : "L", x, yc - sm[b] / max * half);
    first = 0;
  }
  for (int b = BINS - 1; b >= 0; b--) {
    if (sm[b] <= 0 && (b == 0 || sm[b - 1] <= 0) && (b == BINS - 1 || sm[b + 1] <= 0)) continue;
    double x = a->x0 + (b + 0.5) * bw;
    fprintf(f, "L%.1f,%.1f ", x, yc + sm[b] / max * half);
  }
  fprintf(f, "Z\"/>\n");
}

static void draw_row(FILE *f, const axis *a, const bench_summary *s,
                     const double *samples, double y, const char *color) {
  double yc = y + ROW_H / 2.0, half = ROW_H / 2.0 - 2;
  draw_shape(f, a, samples, s->n, yc, half, color);
  double x1 = axis_x(a, s->p1), x99 = axis_x(a, s->p99);
  double x25 = axis_x(a, s->p25), x75 = axis_x(a, s->p75), x50 = axis_x(a, s->p50);
  double bh = 5;
  fprintf(f, "<g stroke=\"%s\" stroke-width=\"1.4\">", color);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, yc, x25, yc);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x75, yc, x99, yc);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x1, yc - 3, x1, yc + 3);
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x99, yc - 3, x99, yc + 3);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
             "fill-opacity=\"0.85\"/>",
          x25, yc - bh, x75 - x25 < 1 ? 1 : x75 - x25, 2 * bh);
  fprintf(f, "</g>\n");
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\" "
             "stroke-width=\"2.2\"/>\n",
          x50, yc - bh - 1, x50, yc + bh + 1);
  double xm = axis_x(a, s->mean);
  fprintf(f, "<path d=\"M%.1f,%.1f l3.5,3.5 l-3.5,3.5 l-3.5,-3.5 Z\" fill=\"%s\" "
             "stroke=\"#111\" stroke-width=\"0.8\"/>\n",
          xm, yc - 3.5, color);
  char p50[32], p99[32];
  format_time(s->p50, p50, sizeof p50);
  format_time(s->p99, p99, sizeof p99);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"fig\">p50 %s · p99 %s</text>\n",
          a->x1 + 12, yc + 4, p50, p99);
}

int bench_report_svg(const bench_report *r, const char *path, char *err,
                     size_t errlen) {
  /* The axis spans every sample of every engine, whole decades wide. */
  double min = 0, max = 0;
  size_t rows = 0;
  for (size_t i = 0; i < r->nengines; i++) {
    const bench_engine_result *e = &r->engines[i];
    if (!e->queried) continue;
    rows++;
    for (size_t g = 0; g < r->ngroups; g++) {
      const bench_summary *s = &e->groups[g];
      if (!s->n) continue;
      if (min == 0 || s->min < min) min = s->min;
      if (s->max > max) max = s->max;
    }
  }
  if (rows == 0 || max <= 0) {
    snprintf(err, errlen, "no latency to plot (no engine ran the queries)");
    return OSQ_E_INVAL;
  }
  axis a;
  a.lo = floor(log10(min < 1 ? 1 : min));
  a.hi = ceil(log10(max));
  if (a.hi - a.lo < 1) a.hi = a.lo + 1;
  a.x0 = LEFT;
  a.x1 = WIDTH - RIGHT;

  double height = TOP;
  for (size_t g = 0; g < r->ngroups; g++) height += PANEL_HEAD + rows * ROW_H + PANEL_GAP;
  height += 30;

  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return OSQ_E_IO;
  }
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
             "viewBox=\"0 0 %d %.0f\" font-family=\"DejaVu Sans, Noto Sans CJK KR, "
             "Helvetica, Arial, sans-serif\">\n",
          WIDTH, height, WIDTH, height);
  fprintf(f, "<style>.title{font-size:17px;font-weight:bold}.sub{font-size:11.5px;fill:#555}"
             ".panel{font-size:13px;font-weight:bold}.eng{font-size:12px}"
             ".tick{font-size:10.5px;fill:#555}.fig{font-size:11px;fill:#333}</style>\n");
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"20\" y=\"28\" class=\"title\">Query latency per engine and query "
             "group (top %d, one thread, log scale)</text>\n",
          BENCH_K);
  fprintf(f, "<text x=\"20\" y=\"47\" class=\"sub\">");
  for (size_t i = 0; i < r->ncorpus; i++) {
    if (i) fputs(", ", f);
    xml_text(f, r->corpus[i]);
  }
  fprintf(f, " (%llu docs, %.1f MB text) · ", (unsigned long long)r->input.documents,
          (double)r->input.text_bytes / 1e6);
  xml_text(f, r->queries_path ? r->queries_path : "");
  fprintf(f, " (%zu queries × %d runs)</text>\n", r->nqueries, r->runs);
  fprintf(f, "<text x=\"20\" y=\"63\" class=\"sub\">");
  xml_text(f, r->date);
  fputs(" · ", f);
  xml_text(f, r->machine);
  fprintf(f, "</text>\n");

  /* Legend. */
  double lx = 20;
  for (size_t i = 0; i < r->nengines; i++) {
    if (!r->engines[i].queried) continue;
    fprintf(f, "<rect x=\"%.1f\" y=\"72\" width=\"12\" height=\"12\" fill=\"%s\"/>", lx,
            engine_color(r, i));
    fprintf(f, "<text x=\"%.1f\" y=\"82\" class=\"eng\">", lx + 17);
    xml_text(f, r->engines[i].engine->name);
    fprintf(f, "</text>\n");
    lx += 30 + 8.0 * (double)strlen(r->engines[i].engine->name);
  }

  double y = TOP;
  for (size_t g = 0; g < r->ngroups; g++) {
    double py0 = y + PANEL_HEAD, py1 = py0 + rows * ROW_H;
    fprintf(f, "<text x=\"20\" y=\"%.1f\" class=\"panel\">", y + 17);
    xml_text(f, r->groups[g].label);
    fprintf(f, " (%zu queries)</text>\n", r->groups[g].nqueries);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" "
               "stroke=\"#ddd\"/>\n",
            a.x0, py0, a.x1 - a.x0, py1 - py0);
    draw_grid(f, &a, py0, py1, 1);
    size_t row = 0;
    for (size_t i = 0; i < r->nengines; i++) {
      const bench_engine_result *e = &r->engines[i];
      if (!e->queried) continue;
      double ry = py0 + row * ROW_H;
      fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"eng\" fill=\"%s\">",
              LEFT - 10, ry + ROW_H / 2.0 + 4, engine_color(r, i));
      xml_text(f, e->engine->name);
      fprintf(f, "</text>\n");
      if (e->groups[g].n) draw_row(f, &a, &e->groups[g], e->samples[g], ry, engine_color(r, i));
      row++;
    }
    y = py1 + PANEL_GAP;
  }
  fprintf(f, "<text x=\"20\" y=\"%.1f\" class=\"sub\">Shape: distribution of all timed runs; "
             "box: p25–p75; black bar: median; whiskers: p1–p99; ◆ mean. "
             "Time per query includes fetching the top-%d ids.</text>\n",
          height - 14, BENCH_K);
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return OSQ_E_IO;
  }
  return OSQ_OK;
}
