/*
 * osq -- ranks passages of an osq index for a query and prints them with the
 * matches highlighted.
 *
 *   osq [-i INDEX] [-n K] [--json] [--explain] QUERY...
 *   osq [-i INDEX] [-n K] --batch FILE|-        one query a line, [qid<TAB>]query
 *
 * Exit status: 0 on success (also when nothing matched), 1 when some queries
 * of a batch failed, 2 for usage errors, a missing or unreadable index, an
 * invalid query, or results that could not be written (a full disk, a
 * closed pipe).
 *
 * A query word may start with '-' (must not contain): `osq 화웨이 -게이트웨이`.
 * Options are "--name" and the short options (-i, -n, -j, -x, -b, -h and
 * clusters of them); any other argument that starts with '-', such as
 * -게이트웨이, -2014 or -nova, is a word of the query.  Words after "--" are
 * words whatever they look like (-index).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hit_json.h"
#include "osq/osq.h"
#ifdef OSQ_XAPIAN_DL
#include "xapian_dl.h"
#endif

typedef struct opts {
  const char *index;
  uint32_t k;
  int json, explain, color;
  int passages; /* --passages: every passage, not one per document */
  int count;    /* --count: no pruning, so that the counts are exact */
  /* --offset, --source, --date-from, --date-to, --sort: paging, filters
   * and order, which the library applies (osq_search_options) */
  uint32_t offset;
  const char *source, *date_from, *date_to;
  int sort;
  osq_box *box; /* the search box (core/rewrite.c): NULL with --exact */
#ifdef OSQ_XAPIAN_DL
  /* --engine xapian: a database built by osindex --engine xapian */
  osq_xapian_api xapi;
  osq_xapian *xdb;
#endif
} opts;

/* Writes s[0..n) for a person to read: line breaks become spaces, and
 * control characters (C0 but tab, DEL, C1), which documents may carry and a
 * terminal would act on (an escape sequence can retitle the window or clear
 * the screen), become U+FFFD.  Byte offsets of highlights stay valid since
 * the text is written piecewise. */
static void put_clean(FILE *f, const char *s, size_t n) {
  size_t a = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int ctl = (c < 0x20 && c != '\t') || c == 0x7F;
    int c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F;
    if (!ctl && !c1) continue;
    fwrite(s + a, 1, i - a, f);
    fputs(c == '\n' || c == '\r' ? " " : "\xEF\xBF\xBD", f);
    if (c1) i++;
    a = i + 1;
  }
  fwrite(s + a, 1, n - a, f);
}

static void put_flat(const char *text, size_t a, size_t b) { put_clean(stdout, text + a, b - a); }

/* Prints the passage with spans marked: colour on a terminal, ** in a pipe.
 * Line breaks in the passage become spaces so each result stays one block. */
static void print_passage(const osq_hit *h, int color) {
  const char *on = color ? "\033[1;31m" : "**", *off = color ? "\033[0m" : "**";
  size_t s = 0;
  fputs("    ", stdout);
  for (size_t i = 0; i <= h->nspans; i++) {
    size_t a = i < h->nspans ? h->spans[i].start : h->passage_len;
    put_flat(h->passage, s, a);
    if (i == h->nspans) break;
    fputs(on, stdout);
    put_flat(h->passage, a, h->spans[i].end);
    fputs(off, stdout);
    s = h->spans[i].end;
  }
  putchar('\n');
}

static int print_json(const osq_hit *h, size_t rank, const char *qid, int exact) {
  json_t *o = json_hit(h, rank, qid, exact);
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!s) return OSQ_E_NOMEM;
  puts(s);
  free(s);
  return OSQ_OK;
}

/* The front matter fields the result header shows, in this order: what
 * identifies a ruling (case number, date, court) or a statute (its kind,
 * in force since); --json has them all.  A label, when there is one, goes
 * before the value. */
static const struct {
  const char *key, *label;
} header_fields[] = {{"사건번호", ""}, {"선고일자", ""}, {"법원명", ""}, {"법령구분", ""}, {"시행일자", "시행 "}};

static void print_header_fields(const osq_hit *h) {
  int shown = 0;
  for (size_t k = 0; k < sizeof header_fields / sizeof *header_fields; k++)
    for (size_t i = 0; i < h->nfields; i++)
      if (!strcmp(h->field_keys[i], header_fields[k].key) && *h->field_values[i]) {
        fputs(shown++ ? " · " : "  ", stdout);
        fputs(header_fields[k].label, stdout);
        put_clean(stdout, h->field_values[i], strlen(h->field_values[i]));
        break;
      }
}

static int print_hit(const opts *o, const osq_hit *h, size_t rank, const char *qid, int exact) {
  if (o->json) return print_json(h, rank, qid, exact);
  const char *title = *h->title ? h->title : "(untitled)";
  if (o->color) printf("\033[1m%2zu.\033[0m \033[33m%.3f\033[0m  \033[1m", rank, h->score);
  else printf("%2zu. %.3f  ", rank, h->score);
  put_clean(stdout, title, strlen(title));
  if (h->section && *h->section && strcmp(h->section, h->title)) { /* title › section heading */
    fputs(" \u203A ", stdout);
    put_clean(stdout, h->section, strlen(h->section));
  }
  fputs(o->color ? "\033[0m  (" : "  (", stdout);
  put_clean(stdout, h->doc_id, strlen(h->doc_id));
  printf(", passage %u)", h->passage_no);
  print_header_fields(h);
  putchar('\n');
  print_passage(h, o->color);
  if (h->explain) printf("%s\n", h->explain);
  return OSQ_OK;
}

#ifdef OSQ_XAPIAN_DL
static int cmp_span(const void *a, const void *b) {
  const osq_span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Highlights for Xapian results: every occurrence of each query word (the
 * words as typed, without operators, quotes and parentheses). */
static size_t xapian_spans(const char *q, const char *passage, osq_span *spans, size_t cap) {
  size_t n = 0;
  const char *p = q;
  while (*p) {
    while (*p && strchr(" \t\"()+-", *p)) p++;
    const char *a = p;
    while (*p && !strchr(" \t\"()", *p)) p++;
    size_t wl = (size_t)(p - a);
    if (wl == 0 || (wl == 3 && (!strncmp(a, "AND", 3) || !strncmp(a, "NOT", 3))) || (wl == 2 && !strncmp(a, "OR", 2)))
      continue;
    char word[256];
    if (wl >= sizeof word) continue;
    memcpy(word, a, wl);
    word[wl] = 0;
    for (const char *m = strstr(passage, word); m && n < cap; m = strstr(m + wl, word)) {
      spans[n].start = (uint32_t)(m - passage);
      spans[n].end = (uint32_t)(m - passage + wl);
      n++;
    }
  }
  qsort(spans, n, sizeof *spans, cmp_span);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k && spans[i].start < spans[k - 1].end) {
      if (spans[i].end > spans[k - 1].end) spans[k - 1].end = spans[i].end;
    } else {
      spans[k++] = spans[i];
    }
  }
  return k;
}

/* The same query on a Xapian database (osq --engine xapian): Xapian's own
 * QueryParser with CJK n-grams, results in osq's output shape. */
static int run_query_xapian(opts *o, const char *q, size_t len, const char *qid) {
  osq_xapian_results *xr;
  json_t *check = json_stringn(q, len); /* jansson's UTF-8 validation */
  if (!check) {
    fprintf(stderr, "osq: %s%squery is not valid UTF-8\n", qid ? qid : "", qid ? ": " : "");
    return OSQ_E_UTF8;
  }
  json_decref(check);
  int rc = o->xapi.query(o->xdb, q, len, 1, o->k, &xr);
  if (rc) {
    const char *msg = o->xapi.errmsg(o->xdb);
    fprintf(stderr, "osq: %s%s%s\n", qid ? qid : "", qid ? ": " : "", *msg ? msg : osq_strerror(rc));
    return rc;
  }
  size_t n = o->xapi.results_count(xr);
  if (!o->json && n == 0) {
    fputs("no passage matches ", stdout);
    put_clean(stdout, q, len);
    putchar('\n');
  }
  for (size_t i = 0; i < n && rc == OSQ_OK; i++) {
    uint32_t docid;
    double score;
    const char *data;
    size_t dlen;
    if ((rc = o->xapi.results_get(xr, i, &docid, &score, &data, &dlen))) break;
    json_error_t je;
    json_t *d = json_loadb(data, dlen, 0, &je);
    if (!d) {
      fprintf(stderr, "osq: Xapian document %u has no osq data (was the database built by osindex --engine xapian?)\n", docid);
      rc = OSQ_E_CORRUPT;
      break;
    }
    osq_hit h;
    memset(&h, 0, sizeof h);
    h.score = score;
    const char *s;
    h.doc_id = (s = json_string_value(json_object_get(d, "doc_id"))) ? s : "";
    h.title = (s = json_string_value(json_object_get(d, "title"))) ? s : "";
    h.source = (s = json_string_value(json_object_get(d, "source"))) ? s : "";
    h.url = (s = json_string_value(json_object_get(d, "url"))) ? s : "";
    h.date = (s = json_string_value(json_object_get(d, "date"))) ? s : "";
    h.passage = (s = json_string_value(json_object_get(d, "passage"))) ? s : "";
    h.passage_len = strlen(h.passage);
    h.passage_no = (uint32_t)json_integer_value(json_object_get(d, "passage_no"));
    osq_span spans[256];
    char *qz = strndup(q, len);
    h.nspans = qz ? xapian_spans(qz, h.passage, spans, 256) : 0;
    free(qz);
    h.spans = spans;
    rc = print_hit(o, &h, i + 1, qid, 1);
    json_decref(d);
  }
  o->xapi.results_free(xr);
  fflush(stdout);
  return rc;
}

#endif

/* A query with nothing to search for: a usage error (on its own, exit 2;
 * in a batch, an error line for its qid). */
static int empty_query(const opts *o, const char *qid) {
  fprintf(stderr, "osq: %s%sempty query: give words to search for\n", qid ? qid : "", qid ? ": " : "");
  if (qid && o->json) {
    json_t *e = json_pack("{s:o,s:s}", "qid", json_textz(qid), "error", "empty query");
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    if (s) puts(s);
    free(s);
    json_decref(e);
  }
  return OSQ_E_INVAL;
}

/* The documents already shown (grouped text output): an open-addressing
 * set of their ids, so that -n 100000 stays linear. */
typedef struct idset {
  char **slot;
  size_t cap, n;
} idset;

static uint64_t id_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Adds id; returns 1 when it was new, 0 when already there, -1 out of memory. */
static int idset_add(idset *st, const char *id) {
  if (2 * (st->n + 1) > st->cap) {
    size_t cap = st->cap ? 2 * st->cap : 64;
    char **slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < st->cap; i++)
      if (st->slot[i]) {
        size_t j = id_hash(st->slot[i]) & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = st->slot[i];
      }
    free(st->slot);
    st->slot = slot;
    st->cap = cap;
  }
  size_t j = id_hash(id) & (st->cap - 1);
  for (; st->slot[j]; j = (j + 1) & (st->cap - 1))
    if (!strcmp(st->slot[j], id)) return 0;
  if (!(st->slot[j] = strdup(id))) return -1;
  st->n++;
  return 1;
}

static void idset_free(idset *st) {
  for (size_t i = 0; i < st->cap; i++) free(st->slot[i]);
  free(st->slot);
}

static int run_query(osq_index *ix, opts *o, const char *q, size_t len, const char *qid) {
#ifdef OSQ_XAPIAN_DL
  if (o->xdb) return run_query_xapian(o, q, len, qid);
#endif
  osq_search_options so;
  memset(&so, 0, sizeof so);
  /* grouped text output wants k documents: more passages are fetched, and
   * --offset skips documents (here, below); otherwise it skips passages
   * (the library) */
  int group = !o->json && !o->passages;
  uint64_t docs_wanted = (uint64_t)o->offset + o->k;
  so.k = group ? (uint32_t)(docs_wanted > 25000 ? OSQ_MAX_RANK : docs_wanted * 4) : o->k;
  so.offset = group ? 0 : o->offset;
  so.source = o->source;
  so.date_from = o->date_from;
  so.date_to = o->date_to;
  so.sort = o->sort;
  so.explain = o->explain;
  so.no_prune = o->count;
  if (strspn(q, " \t\r\n\f\v") == len) return empty_query(o, qid);
  osq_results *r;
  osq_box_report rep = {NULL, NULL, NULL};
  int rc = o->box ? osq_box_search(o->box, q, len, &so, &r, &rep) : osq_search(ix, q, len, &so, &r);
  /* what the search box did, on stderr like every message (--json: in the
   * summary line too) */
  if (rep.note) fprintf(stderr, "osq: %s%s%s\n", qid ? qid : "", qid ? ": " : "", rep.note);
  if (rep.did_you_mean) fprintf(stderr, "osq: %s%sdid you mean: %s\n", qid ? qid : "", qid ? ": " : "", rep.did_you_mean);
  if (rc) {
    osq_box_report_free(&rep);
    fprintf(stderr, "osq: %s%s%s\n", qid ? qid : "", qid ? ": " : "", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
    if (qid && o->json) {
      json_t *e = json_pack("{s:o,s:s}", "qid", json_textz(qid), "error", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
      char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
      if (s) puts(s);
      free(s);
      json_decref(e);
    }
    return rc;
  }
  osq_results_summary sum;
  osq_results_get_summary(r, &sum);
  if (sum.terms == 0) {
    /* nothing to search for: "", "  ", "?!" */
    osq_results_free(r);
    osq_box_report_free(&rep);
    return empty_query(o, qid);
  }
  if (sum.dropped_words)
    fprintf(stderr, "osq: %s%sthe query is long: searched its first %u words, left out %u\n", qid ? qid : "",
            qid ? ": " : "", sum.words, sum.dropped_words);
  size_t n = osq_results_count(r);
  if (sum.passages == 0) {
    /* said on stderr: the standard output stays results only */
    fprintf(stderr, "%s%sno passage contains ", qid ? qid : "", qid ? ": " : "");
    size_t show = len;
    if (show > 120) { /* a pasted page: its start, cut at a character */
      show = 120;
      while (show > 0 && ((unsigned char)q[show] & 0xC0) == 0x80) show--;
    }
    put_clean(stderr, q, show);
    fputs(show < len ? "..." : "", stderr);
    fputs(o->source || o->date_from || o->date_to ? " in the documents the filters let through\n" : "\n", stderr);
  } else if (!o->json) {
    const char *al = sum.at_least ? "at least " : "";
    printf("%s%llu passage%s in %s%llu document%s match%s\n", al, (unsigned long long)sum.passages,
           sum.passages == 1 ? "" : "s", al, (unsigned long long)sum.documents, sum.documents == 1 ? "" : "s",
           sum.passages == 1 && !*al ? "es" : "");
  }
  /* Text output shows each document once, at its best passage (results
   * come best first), with how many more of its passages match; --json
   * and --passages show every passage. */
  int separated = 0;
  idset seen = {NULL, 0, 0};
  size_t rank = 0, skip = group ? o->offset : 0;
  for (size_t i = 0; i < n && rank < o->k; i++) {
    osq_hit h;
    if ((rc = osq_results_get(r, i, &h))) {
      fprintf(stderr, "osq: %s\n", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
      break;
    }
    int exact = osq_results_is_exact(r, i);
    if (group) {
      int added = idset_add(&seen, h.doc_id);
      if (added < 0) {
        rc = OSQ_E_NOMEM;
        break;
      }
      if (!added) continue;
      if (skip) { /* a document of the pages before */
        skip--;
        continue;
      }
    }
    if (!exact && !separated++ && !o->json)
      puts(sum.passages ? "--- fewer passages match than asked for; these hold only parts of the words: ---"
                        : "--- these hold only parts of the words: ---");
    if ((rc = print_hit(o, &h, o->offset + ++rank, qid, exact))) break;
    if (group) {
      uint64_t more = 0;
      if ((rc = osq_results_doc_passages(r, i, &more))) {
        fprintf(stderr, "osq: %s\n", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
        break;
      }
      if (more > 1) printf("    (%llu more passage%s of this document %s)\n", (unsigned long long)(more - 1),
                           more == 2 ? "" : "s", exact ? (more == 2 ? "matches" : "match") : "share parts of the words");
    }
  }
  idset_free(&seen);
  if (o->json && rc == OSQ_OK) {
    /* the last line of each query's results: what matched (no "doc_id",
     * so that readers of the result lines pass over it) */
    json_t *m = json_object();
    if (qid) json_object_set_new(m, "qid", json_textz(qid));
    json_t *su = json_summary(&sum, rank);
    json_object_set_new(m, "summary", su);
    if (rep.searched) json_object_set_new(m, "rewritten", json_textz(rep.searched));
    if (rep.note) json_object_set_new(m, "rewrite_note", json_textz(rep.note));
    if (rep.did_you_mean) json_object_set_new(m, "did_you_mean", json_textz(rep.did_you_mean));
    char *js = json_dumps(m, JSON_COMPACT);
    if (js) puts(js);
    free(js);
    json_decref(m);
  }
  osq_results_free(r);
  osq_box_report_free(&rep);
  fflush(stdout);
  return rc;
}

/* osq --suggest PREFIX: the index words that complete it (osq_suggest). */
static int run_suggest(osq_index *ix, const opts *o, const char *prefix) {
  osq_suggestion *s;
  size_t n;
  int rc = osq_suggest(ix, prefix, strlen(prefix), o->k, &s, &n);
  if (rc) {
    fprintf(stderr, "osq: %s\n", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
    return 2;
  }
  if (o->json) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(a, json_pack("{s:o,s:I}", "word", json_textz(s[i].word), "passages", (json_int_t)s[i].passages));
    json_t *m = json_pack("{s:o,s:o}", "prefix", json_textz(prefix), "suggestions", a);
    char *js = m ? json_dumps(m, JSON_COMPACT) : NULL;
    if (js) puts(js);
    free(js);
    json_decref(m);
  } else {
    if (n == 0) fprintf(stderr, "osq: no word of the index starts with %s\n", prefix);
    for (size_t i = 0; i < n; i++) printf("%s\t%llu\n", s[i].word, (unsigned long long)s[i].passages);
  }
  osq_suggestions_free(s, n);
  return 0;
}

static int run_batch(osq_index *ix, opts *o, const char *file) {
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
  if (!f) {
    fprintf(stderr, "osq: %s: %s\n", file, strerror(errno));
    return 2;
  }
  o->json = 1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  unsigned long lineno = 0;
  int failed = 0, damaged = 0;
  while ((n = getline(&line, &cap, f)) != -1) {
    lineno++;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n == 0) continue;
    char qidbuf[32];
    const char *qid = qidbuf, *q = line;
    char *tab = memchr(line, '\t', (size_t)n);
    if (tab) {
      *tab = 0;
      qid = line;
      q = tab + 1;
    } else {
      snprintf(qidbuf, sizeof qidbuf, "%lu", lineno);
    }
    int rc = run_query(ix, o, q, strlen(q), qid);
    failed += rc != 0;
    damaged += rc == OSQ_E_CORRUPT;
    if (ferror(stdout)) break; /* main reports it */
  }
  int read_error = ferror(f) ? errno : 0;
  free(line);
  if (f != stdin) fclose(f);
  if (read_error) {
    fprintf(stderr, "osq: %s: %s\n", file, strerror(read_error));
    return 2;
  }
  if (failed) fprintf(stderr, "osq: %d queries of %s failed\n", failed, file);
  return damaged ? 3 : failed ? 1 : 0;
}

/* Runs name, the program built beside this one, with argv (argv[0]
 * replaced): osq-xapian for --engine xapian, osq-serve for osq serve.
 * osq itself is linked statically, so that a one-shot query maps no shared
 * library at all (about 0.3 ms of dynamic loading saved, bench/README.md),
 * and a static program can load neither Xapian (C++, dlopen) nor
 * libmicrohttpd (GnuTLS, which Debian ships no static archive of). */
static int exec_sibling(const char *name, const char *what, char **argv) {
  char path[4096];
  size_t nl = strlen(name) + 1;
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - nl);
  char *slash = n > 0 ? memchr(path, '/', (size_t)n) : NULL;
  if (slash) {
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, name);
    argv[0] = path;
    execv(path, argv);
  } else {
    snprintf(path, sizeof path, "%s", name);
    argv[0] = path;
    execvp(name, argv); /* no /proc: the search path */
  }
  fprintf(stderr, "osq: %s runs %s, which could not be started: %s\n", what, path, strerror(errno));
  return 2;
}

static void usage(FILE *f) {
  fputs("usage: osq [-i INDEX] [-n K] [--json] [--explain] [--passages] [--count] [--color=auto|always|never]\n"
        "           [--offset N] [--source S] [--date-from D] [--date-to D] [--sort relevance|date] QUERY...\n"
        "       osq [-i INDEX] [-n K] [--explain] [--count] --batch FILE|-\n"
        "       --passages: every passage (text output shows each document once)\n"
        "       --count: count every match (slower; counts are otherwise lower bounds once pruning starts)\n"
        "       --engine xapian: query a Xapian database built by osindex --engine xapian\n"
        "       --offset N: skip the first N results (documents; passages with --json or --passages)\n"
        "       --source S: only documents whose source (JSON \"source\", else the id: a .txt's path) starts with S\n"
        "       --date-from D, --date-to D: only documents dated D or later / D or earlier (YYYY-MM-DD, YYYY-MM,\n"
        "         YYYY; the date is the \"date\" field, else front matter date, 선고일자, 공포일자 or 시행일자)\n"
        "       --sort relevance|date: by score (the default) or newest first (undated documents last)\n"
        "       osq [-i INDEX] [-n K] [--json] --suggest PREFIX   words of the index that complete PREFIX\n"
        "       --no-correct: never replace a word that matches nothing by a near one (typos)\n"
        "       --exact: search the query as typed (no 초성, keyboard layout, word*, aliases or corrections)\n"
        "       --synonyms FILE: groups of aliases, one a line, comma-separated, besides the built-in ones\n"
        "Query syntax: words (ranked), \"a phrase\", +must -mustnot, a AND b, a OR b, NOT a, (...).\n"
        "A -word that reads as options (-index) goes after --: osq -- 클라우드 -index\n"
        "       osq serve [-i INDEX] [--listen HOST:PORT] [--threads N]: an HTTP server and search page\n"
        "         (osq serve --help; a query for the word serve is osq -- serve)\n"
        "INDEX defaults to $OSQ_INDEX, else ./osq-index.\n",
        f);
}

static const struct option longopts[] = {{"index", required_argument, NULL, 'i'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"explain", no_argument, NULL, 'x'},
                                         {"passages", no_argument, NULL, 'P'},
                                         {"count", no_argument, NULL, 'C'},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"color", optional_argument, NULL, 'c'},
                                         {"engine", required_argument, NULL, 'e'},
                                         {"offset", required_argument, NULL, 'O'},
                                         {"source", required_argument, NULL, 'S'},
                                         {"date-from", required_argument, NULL, 'F'},
                                         {"date-to", required_argument, NULL, 'T'},
                                         {"sort", required_argument, NULL, 's'},
                                         {"suggest", required_argument, NULL, 'G'},
                                         {"no-correct", no_argument, NULL, 'N'},
                                         {"exact", no_argument, NULL, 'E'},
                                         {"synonyms", required_argument, NULL, 'Y'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};

/* What a short-option argument is: 0 a query word, 1 options, 2 options
 * whose last takes the next argument.  Options are the flags j x h, then at
 * most one of i n b with its value attached or next (-n's value digits).
 * Anything else is a word to exclude: -게이트웨이, -2014, -nova, -aws. */
static int short_options(const char *a) {
  if (a[0] != '-' || !((a[1] >= 'a' && a[1] <= 'z') || (a[1] >= 'A' && a[1] <= 'Z'))) return 0;
  for (const char *c = a + 1; *c; c++) {
    if (*c == 'j' || *c == 'x' || *c == 'h') continue;
    if (*c == 'i' || *c == 'b') return c[1] ? 1 : 2;
    if (*c == 'n') {
      if (!c[1]) return 2;
      for (const char *d = c + 1; *d; d++)
        if (*d < '0' || *d > '9') return 0;
      return 1;
    }
    return 0;
  }
  return 1;
}

/* Is a an option ("--name", or short options)?  Other arguments that start
 * with '-' are query words. */
static int is_option(const char *a) {
  if (a[0] != '-' || a[1] == 0) return 0;
  if (a[1] == '-') return 1;
  return short_options(a) != 0;
}

/* Does "--name" (no '=') take the next argument?  As getopt_long decides:
 * the name or an unambiguous prefix of it. */
static int long_takes_next(const char *a) {
  const char *name = a + 2;
  size_t n = strlen(name);
  const struct option *hit = NULL;
  for (const struct option *o = longopts; o->name; o++) {
    if (strncmp(o->name, name, n)) continue;
    if (strlen(o->name) == n) return o->has_arg == required_argument; /* exact */
    if (hit) return 0; /* ambiguous: getopt reports it */
    hit = o;
  }
  return hit && hit->has_arg == required_argument;
}

/* Splits argv into what getopt parses (options and their arguments, into
 * gargv) and the words of the query (into words, in order). */
static void split_args(int argc, char **argv, char **gargv, int *gn, char **words, int *wn) {
  *gn = *wn = 0;
  gargv[(*gn)++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      while (++i < argc) words[(*wn)++] = argv[i];
      break;
    }
    if (!is_option(a)) {
      words[(*wn)++] = argv[i];
      continue;
    }
    gargv[(*gn)++] = argv[i];
    if (a[1] == '-') {
      if (!strchr(a, '=') && long_takes_next(a) && i + 1 < argc) gargv[(*gn)++] = argv[++i];
      continue;
    }
    if (short_options(a) == 2 && i + 1 < argc) gargv[(*gn)++] = argv[++i];
  }
  gargv[*gn] = NULL;
}

static int run(int argc, char **argv, char **gargv, char **words);

int main(int argc, char **argv) {
  /* osq serve ...: the server (query/serve.c); a query for the word serve
   * is osq -- serve */
  if (argc > 1 && !strcmp(argv[1], "serve")) return exec_sibling("osq-serve", "osq serve", argv + 1);
  char **gargv = malloc(((size_t)argc + 1) * sizeof *gargv), **words = malloc(((size_t)argc + 1) * sizeof *words);
  int status;
  if (!gargv || !words) {
    fprintf(stderr, "osq: out of memory\n");
    status = 2;
  } else {
    status = run(argc, argv, gargv, words);
  }
  free(gargv);
  free(words);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "osq: writing the results: %s\n", errno ? strerror(errno) : "output error");
    return 2;
  }
  return status;
}

/* main, with room for the split arguments (split_args). */
static int run(int argc, char **argv, char **gargv, char **words) {
  opts o;
  memset(&o, 0, sizeof o);
  o.index = getenv("OSQ_INDEX");
  o.k = 10;
  o.color = -1;
  if (!o.index || !*o.index) o.index = "osq-index";
  const char *batch = NULL, *engine = "osq", *suggest = NULL;
  osq_box_options bo;
  memset(&bo, 0, sizeof bo);
  int gn, wn;
  split_args(argc, argv, gargv, &gn, words, &wn);
  int c;
  while ((c = getopt_long(gn, gargv, "i:n:jxb:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'i': o.index = optarg; break;
      case 'n': {
        char *end;
        long k = strtol(optarg, &end, 10);
        if (*end || k < 1 || k > 100000) {
          fprintf(stderr, "osq: -n wants a number from 1 to 100000, not '%s'\n", optarg);
          return 2;
        }
        o.k = (uint32_t)k;
        break;
      }
      case 'j': o.json = 1; break;
      case 'P': o.passages = 1; break;
      case 'C': o.count = 1; break;
      case 'x': o.explain = 1; break;
      case 'b': batch = optarg; break;
      case 'c':
        if (!optarg || !strcmp(optarg, "always")) o.color = 1;
        else if (!strcmp(optarg, "never")) o.color = 0;
        else if (!strcmp(optarg, "auto")) o.color = -1;
        else {
          fprintf(stderr, "osq: --color wants auto, always or never, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'e': engine = optarg; break;
      case 'O': {
        char *end;
        long v = strtol(optarg, &end, 10);
        if (*end || !*optarg || v < 0 || v > (long)OSQ_MAX_RANK - 100000) {
          fprintf(stderr, "osq: --offset wants a number from 0 to %u, not '%s'\n", OSQ_MAX_RANK - 100000, optarg);
          return 2;
        }
        o.offset = (uint32_t)v;
        break;
      }
      case 'S': o.source = *optarg ? optarg : NULL; break;
      case 'F':
      case 'T': {
        int32_t key;
        if (*optarg && osq_date_parse(optarg, &key)) {
          fprintf(stderr, "osq: %s wants a date (YYYY-MM-DD, YYYY-MM or YYYY), not '%s'\n",
                  c == 'F' ? "--date-from" : "--date-to", optarg);
          return 2;
        }
        *(c == 'F' ? &o.date_from : &o.date_to) = *optarg ? optarg : NULL;
        break;
      }
      case 's':
        if (!strcmp(optarg, "relevance")) o.sort = OSQ_SORT_RELEVANCE;
        else if (!strcmp(optarg, "date")) o.sort = OSQ_SORT_DATE;
        else {
          fprintf(stderr, "osq: --sort wants relevance or date, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'G': suggest = optarg; break;
      case 'N': bo.no_correct = 1; break;
      case 'E': bo.no_correct = bo.no_rewrite = 1; break;
      case 'Y': bo.synonyms = optarg; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (strcmp(engine, "osq") != 0 && strcmp(engine, "xapian") != 0) {
    fprintf(stderr, "osq: unknown engine '%s' (osq or xapian)\n", engine);
    return 2;
  }
  if (o.color < 0) o.color = isatty(1) && !getenv("NO_COLOR");
  /* getopt only saw options: anything it left is a value without its option */
  for (int i = optind; i < gn; i++) words[wn++] = gargv[i];
  if (!batch && !suggest && wn == 0) {
    usage(stderr);
    return 2;
  }
  osq_index *ix = NULL;
  int rc;
  if (!strcmp(engine, "xapian")) {
#ifdef OSQ_XAPIAN_DL
    char err[512];
    if (osq_xapian_load(&o.xapi, err, sizeof err)) {
      fprintf(stderr, "osq: %s\n", err);
      return 2;
    }
    char *msg = NULL;
    rc = o.xapi.open(o.index, OSQ_XAPIAN_READ, &o.xdb, &msg);
    if (rc) {
      if (rc == OSQ_E_NOINDEX)
        fprintf(stderr, "osq: no Xapian database at %s; build one with: osindex --engine xapian -i %s corpus/\n",
                o.index, o.index);
      else
        fprintf(stderr, "osq: cannot open Xapian database %s: %s\n", o.index, msg ? msg : osq_strerror(rc));
      free(msg);
      return 2;
    }
    goto run;
#else
    return exec_sibling("osq-xapian", "--engine xapian", argv);
#endif
  }
  rc = osq_index_open(o.index, &ix);
  if (rc == OSQ_E_NOINDEX) {
    fprintf(stderr, "osq: no index at %s; build one with: osindex -i %s corpus/\n", o.index, o.index);
    return 2;
  }
  if (rc) {
    fprintf(stderr, "osq: cannot open index %s: %s\n", o.index, *osq_last_error() ? osq_last_error() : osq_strerror(rc));
    return rc == OSQ_E_CORRUPT ? 3 : 2; /* damage has a status of its own */
  }
  {
    /* a query stems as the index did, or says it does not */
    osq_index_stats st;
    osq_index_get_stats(ix, &st);
    if (st.stem_mismatch)
      fprintf(stderr,
              "osq: warning: %llu segment(s) of %s were stemmed with lexicon %016llx, this osq stems with "
              "%016llx: words may not find their other forms; rebuild the index (osindex --replace -i %s ...)\n",
              (unsigned long long)st.stem_mismatch, o.index, (unsigned long long)st.index_lexicon,
              (unsigned long long)st.query_lexicon, o.index);
  }
  if (suggest) {
    int st = run_suggest(ix, &o, suggest);
    osq_index_close(ix);
    return st;
  }
  if (!bo.no_rewrite || !bo.no_correct) {
    rc = osq_box_open(ix, &bo, &o.box);
    if (rc) {
      fprintf(stderr, "osq: %s\n", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
      osq_index_close(ix);
      return 2;
    }
  }
#ifdef OSQ_XAPIAN_DL
run:;
#endif
  int status = 0;
  if (batch) {
    status = run_batch(ix, &o, batch);
  } else {
    /* The words of the command line make one query. */
    size_t len = 0;
    for (int i = 0; i < wn; i++) len += strlen(words[i]) + 1;
    char *q = malloc(len + 1);
    if (!q) return 2;
    q[0] = 0;
    size_t at = 0;
    for (int i = 0; i < wn; i++) {
      size_t n = strlen(words[i]);
      memcpy(q + at, words[i], n);
      at += n;
      if (i + 1 < wn) q[at++] = ' ';
    }
    q[at] = 0;
    rc = run_query(ix, &o, q, at, NULL);
    free(q);
    status = rc == OSQ_E_CORRUPT ? 3 : rc ? 2 : 0;
  }
  osq_box_close(o.box);
  osq_index_close(ix);
#ifdef OSQ_XAPIAN_DL
  if (o.xdb) o.xapi.close(o.xdb);
#endif
  return status;
}
