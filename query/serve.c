/*
 * serve.c -- osq serve: an HTTP/JSON server over one index, and a search
 * page, on GNU libmicrohttpd.
 *
 *   osq serve [-i INDEX] [--listen HOST:PORT] [--threads N]
 *
 * Requests (GET only; every answer is JSON but the page):
 *   /search?q=&n=&offset=&source=&date_from=&date_to=&sort=
 *       {"results":[...], "summary":{...}, "total":N, "offset":O, "n":K}
 *       results are the lines `osq --json` prints (query/hit_json.c),
 *       summary its summary line, total the passages that match (a lower
 *       bound when summary.at_least).
 *   /health    {"status":"ok","generation":G,"documents":D}
 *   /stats     the index's statistics and the server's counters
 *   /doc/ID    a document: its fields and every passage
 *   /          the search page (query/serve_page.html, linked in)
 * A bad request (an unknown parameter or value, a query that is not UTF-8,
 * n or offset out of range, a query over MAX_QUERY_BYTES) gets 400 and
 * {"error": "..."}; an unknown path 404; another method 405.
 *
 * It is a program of its own, osq-serve, which `osq serve` runs (exec):
 * osq is linked fully static, and libmicrohttpd links GnuTLS, whose
 * dependencies (p11-kit, libunistring) Debian ships no static archives of.
 *
 * THREADS.  libmicrohttpd runs a pool of --threads threads (default: the
 * processors, at least 2), each answering its connections.  Each request
 * takes an index handle of its own from a pool of as many handles as
 * threads (index_pool below), under a mutex, and gives it back when done.
 * libosq's handles may be searched from any number of threads (osq.h,
 * THREADS); the pool is for the refresh below: a handle is reopened after
 * a commit only by the one request holding it, never under another's
 * search.  The mappings of one index file are shared by the handles' pages,
 * so n handles do not cost n times the index in memory.
 *
 * COMMITS.  An osq_index is a snapshot of one MANIFEST.  A writer publishes
 * a commit by renaming a new MANIFEST into place, so before each request
 * the handle taken compares the MANIFEST's inode, size and modification
 * time (one stat) with those it was opened from, and opens the index again
 * when they differ: the next request after `osindex add|delete|merge` sees
 * it, without a restart.  When reopening fails (a damaged commit), the
 * handle keeps its snapshot, whose files stay readable through their
 * mappings, and the failure is logged.
 *
 * LIMITS.  Requests: headers and URL within 32 KiB (libmicrohttpd answers
 * 431 or 414 beyond), no body, q at most MAX_QUERY_BYTES, n at most
 * MAX_N, offset + n at most MAX_RANK; 256 connections; a connection idle
 * for 15 s is closed.  A search cannot be interrupted, so its time is
 * bounded by those limits (and the library's: 64 words a query).
 *
 * SIGTERM (or SIGINT) stops accepting connections, lets the requests in
 * flight finish (up to 10 s), then exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hit_json.h"
#include "osq/osq.h"

#define MAX_QUERY_BYTES 2048
#define MAX_N 1000
#define MAX_RANK 10000
#define MAX_PARAM_BYTES 1024
#define CONNECTION_LIMIT 256
#define IDLE_TIMEOUT_S 15
#define REQUEST_MEMORY (32 * 1024)
#define DRAIN_S 10

/* The search page, linked in by serve_page.S (.incbin). */
extern const char osq_serve_page[];
extern const char osq_serve_page_end[];

/* ---- the pool of index handles ------------------------------------------- */

typedef struct index_slot {
  osq_index *ix;
  osq_box *box; /* the search box over ix (core/rewrite.c), as osq uses it */
  struct stat key; /* the MANIFEST ix was opened from (st_ino, st_size, st_mtim) */
  int busy;
} index_slot;

typedef struct index_pool {
  char dir[4096], manifest[4200];
  pthread_mutex_t lock;
  pthread_cond_t freed;
  index_slot *slot;
  size_t n;
} index_pool;

static int same_manifest(const struct stat *a, const struct stat *b) {
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Opens s's handle from the MANIFEST in place now.  The stat comes first: a
 * commit between it and the open leaves a key older than the snapshot, and
 * the next request opens again, which is harmless. */
static int slot_open(index_pool *p, index_slot *s) {
  struct stat st;
  if (stat(p->manifest, &st)) memset(&st, 0, sizeof st);
  osq_index *ix;
  osq_box *box;
  int rc = osq_index_open(p->dir, &ix);
  if (rc) return rc;
  if ((rc = osq_box_open(ix, NULL, &box))) {
    osq_index_close(ix);
    return rc;
  }
  osq_box_close(s->box);
  osq_index_close(s->ix);
  s->ix = ix;
  s->box = box;
  s->key = st;
  return OSQ_OK;
}

static int pool_open(index_pool *p, const char *dir, size_t n) {
  memset(p, 0, sizeof *p);
  snprintf(p->dir, sizeof p->dir, "%s", dir);
  snprintf(p->manifest, sizeof p->manifest, "%s/MANIFEST", dir);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->freed, NULL);
  if (!(p->slot = calloc(n, sizeof *p->slot))) return OSQ_E_NOMEM;
  p->n = n;
  for (size_t i = 0; i < n; i++) {
    int rc = slot_open(p, &p->slot[i]);
    if (rc) return rc;
  }
  return OSQ_OK;
}

static void pool_close(index_pool *p) {
  for (size_t i = 0; i < p->n; i++) {
    osq_box_close(p->slot[i].box);
    osq_index_close(p->slot[i].ix);
  }
  free(p->slot);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->freed);
}

/* Takes a free handle (waiting when every one is taken, which with one
 * handle a thread only happens briefly) and brings it up to the MANIFEST
 * in place. */
static index_slot *pool_take(index_pool *p) {
  pthread_mutex_lock(&p->lock);
  index_slot *s = NULL;
  for (;;) {
    for (size_t i = 0; i < p->n && !s; i++)
      if (!p->slot[i].busy) s = &p->slot[i];
    if (s) break;
    pthread_cond_wait(&p->freed, &p->lock);
  }
  s->busy = 1;
  pthread_mutex_unlock(&p->lock);
  struct stat st;
  if (stat(p->manifest, &st) == 0 && !same_manifest(&st, &s->key)) {
    int rc = slot_open(p, s);
    if (rc) {
      fprintf(stderr, "osq serve: %s changed, but opening it again failed (still serving the previous commit): %s\n",
              p->dir, *osq_last_error() ? osq_last_error() : osq_strerror(rc));
      s->key = st; /* not again for every request: the next commit tries again */
    }
  }
  return s;
}

static void pool_give(index_pool *p, index_slot *s) {
  pthread_mutex_lock(&p->lock);
  s->busy = 0;
  pthread_cond_signal(&p->freed);
  pthread_mutex_unlock(&p->lock);
}

/* ---- the server ---------------------------------------------------------- */

typedef struct server {
  index_pool pool;
  atomic_long in_flight;
  atomic_ulong requests, bad_requests, failures;
  time_t started;
} server;

/* Marks a request: *con_cls points here once it was counted in flight. */
static char counted;

/* Set on SIGTERM: answers then close their connection. */
static atomic_int stopping;

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                                 const char *type, int must_free) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!r) {
    if (must_free) free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  if (stopping) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *o) {
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!s) return MHD_NO;
  size_t n = strlen(s);
  s[n] = '\n'; /* one line, as osq --json prints: the NUL became the newline */
  return send_body(c, status, s, n + 1, "application/json; charset=utf-8", 1);
}

static enum MHD_Result send_error(server *sv, struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result send_error(server *sv, struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (status == MHD_HTTP_BAD_REQUEST) sv->bad_requests++;
  else if (status >= 500) sv->failures++;
  /* json_text: a message that quotes a bad value stays valid JSON */
  return send_json(c, status, json_pack("{s:o,s:i}", "error", json_textz(msg), "status", (int)status));
}

/* The parameters of /search, as the request gave them. */
typedef struct search_args {
  const char *q, *n, *offset, *source, *date_from, *date_to, *sort;
  size_t qlen;
  char bad[200]; /* why the request is refused, when not "" */
} search_args;

static int valid_utf8(const char *s, size_t n) {
  json_t *j = json_stringn(s, n); /* jansson checks UTF-8 */
  json_decref(j);
  return j != NULL;
}

static enum MHD_Result take_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                const char *value, size_t value_size) {
  search_args *a = cls;
  if (*a->bad) return MHD_NO;
  static const char *const names[] = {"q", "n", "offset", "source", "date_from", "date_to", "sort"};
  const char **slot[] = {&a->q, &a->n, &a->offset, &a->source, &a->date_from, &a->date_to, &a->sort};
  size_t i = 0;
  while (i < 7 && strcmp(key, names[i])) i++;
  if (i == 7) {
    snprintf(a->bad, sizeof a->bad, "unknown parameter '%.40s' (q, n, offset, source, date_from, date_to, sort)",
             valid_utf8(key, key_size) ? key : "?");
    return MHD_NO;
  }
  if (*slot[i]) {
    snprintf(a->bad, sizeof a->bad, "parameter '%s' given twice", names[i]);
    return MHD_NO;
  }
  value = value ? value : "";
  /* an escaped NUL (%00) would cut the value short unseen */
  if (memchr(value, 0, value_size) || !valid_utf8(value, value_size)) {
    snprintf(a->bad, sizeof a->bad, "parameter '%s' is not valid UTF-8 text", names[i]);
    return MHD_NO;
  }
  if (i == 0) {
    if (value_size > MAX_QUERY_BYTES) {
      snprintf(a->bad, sizeof a->bad, "the query is %zu bytes long; at most %d are searched", value_size,
               MAX_QUERY_BYTES);
      return MHD_NO;
    }
    a->qlen = value_size;
  } else if (value_size > MAX_PARAM_BYTES) {
    snprintf(a->bad, sizeof a->bad, "parameter '%s' is longer than %d bytes", names[i], MAX_PARAM_BYTES);
    return MHD_NO;
  }
  *slot[i] = value;
  return MHD_YES;
}

/* A whole number from lo to hi, or -1. */
static long number_in(const char *s, long lo, long hi) {
  if (!s || !*s || strlen(s) > 9) return -1;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return -1;
  long v = atol(s);
  return v < lo || v > hi ? -1 : v;
}

static enum MHD_Result do_search(server *sv, struct MHD_Connection *c) {
  search_args a;
  memset(&a, 0, sizeof a);
  MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, take_arg, &a);
  if (*a.bad) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "%s", a.bad);
  if (!a.q || strspn(a.q, " \t\r\n\f\v") == a.qlen)
    return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "empty query: give words to search for in q");
  osq_search_options so;
  memset(&so, 0, sizeof so);
  long n = a.n ? number_in(a.n, 1, MAX_N) : 10, off = a.offset ? number_in(a.offset, 0, MAX_RANK) : 0;
  if (n < 0) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "n wants a number from 1 to %d", MAX_N);
  if (off < 0 || off + n > MAX_RANK)
    return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "offset wants a number from 0 to %ld (offset + n at most %d)",
                      MAX_RANK - n, MAX_RANK);
  so.k = (uint32_t)n;
  so.offset = (uint32_t)off;
  if (!a.sort || !*a.sort || !strcmp(a.sort, "relevance")) so.sort = OSQ_SORT_RELEVANCE;
  else if (!strcmp(a.sort, "date")) so.sort = OSQ_SORT_DATE;
  else return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "sort wants relevance or date, not '%.60s'", a.sort);
  int32_t key;
  if (a.date_from && *a.date_from && osq_date_parse(a.date_from, &key))
    return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "date_from wants a date (YYYY-MM-DD, YYYY-MM or YYYY), not '%.60s'",
                      a.date_from);
  if (a.date_to && *a.date_to && osq_date_parse(a.date_to, &key))
    return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "date_to wants a date (YYYY-MM-DD, YYYY-MM or YYYY), not '%.60s'",
                      a.date_to);
  so.source = a.source;
  so.date_from = a.date_from;
  so.date_to = a.date_to;

  index_slot *s = pool_take(&sv->pool);
  osq_results *r = NULL;
  /* as osq searches: 초성, keyboard layout, word*, aliases, corrections,
   * each reported in the answer */
  osq_box_report rep = {NULL, NULL, NULL};
  int rc = osq_box_search(s->box, a.q, a.qlen, &so, &r, &rep);
  json_t *out = NULL;
  if (rc == OSQ_OK) {
    osq_results_summary sum;
    osq_results_get_summary(r, &sum);
    json_t *list = json_array();
    size_t count = osq_results_count(r), i = 0;
    for (; i < count && list && rc == OSQ_OK; i++) {
      osq_hit h;
      if ((rc = osq_results_get(r, i, &h))) break;
      json_t *o = json_hit(&h, so.offset + i + 1, NULL, osq_results_is_exact(r, i));
      if (!o || json_array_append_new(list, o)) rc = OSQ_E_NOMEM;
    }
    if (rc == OSQ_OK && sum.terms == 0) rc = OSQ_E_INVAL; /* nothing to search for: "?!" */
    if (rc == OSQ_OK)
      out = json_pack("{s:o,s:o,s:I,s:I,s:I}", "results", list, "summary", json_summary(&sum, count), "total",
                      (json_int_t)sum.passages, "offset", (json_int_t)so.offset, "n", (json_int_t)so.k);
    if (out && rep.searched) json_object_set_new(out, "rewritten", json_textz(rep.searched));
    if (out && rep.note) json_object_set_new(out, "rewrite_note", json_textz(rep.note));
    if (out && rep.did_you_mean) json_object_set_new(out, "did_you_mean", json_textz(rep.did_you_mean));
    if (rc != OSQ_OK)
      json_decref(list);
  }
  char msg[600];
  snprintf(msg, sizeof msg, "%s", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
  osq_results_free(r);
  osq_box_report_free(&rep);
  pool_give(&sv->pool, s);
  if (rc == OSQ_E_UTF8) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "%s", msg);
  if (rc == OSQ_E_INVAL) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "empty query: q holds nothing to search for");
  if (rc || !out) {
    fprintf(stderr, "osq serve: search failed: %s\n", msg);
    return send_error(sv, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "search failed: %s", msg);
  }
  return send_json(c, MHD_HTTP_OK, out);
}

/* GET /suggest?q=PREFIX[&n=K]: the index's words that complete PREFIX, most
 * frequent first, a half-typed last syllable included (osq_suggest; osq
 * --suggest): {"prefix": ..., "suggestions": [{"word": ..., "passages": N}]}. */
static enum MHD_Result do_suggest(server *sv, struct MHD_Connection *c) {
  search_args a;
  memset(&a, 0, sizeof a);
  MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, take_arg, &a);
  if (*a.bad) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "%s", a.bad);
  if (a.offset || a.source || a.date_from || a.date_to || a.sort)
    return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "/suggest takes q and n only");
  if (!a.q || !a.qlen) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "empty prefix: give the start of a word in q");
  long n = a.n ? number_in(a.n, 1, 100) : 10;
  if (n < 0) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "n wants a number from 1 to 100");
  index_slot *s = pool_take(&sv->pool);
  osq_suggestion *sg = NULL;
  size_t ns = 0;
  int rc = osq_suggest(s->ix, a.q, a.qlen, (size_t)n, &sg, &ns);
  json_t *out = NULL;
  if (rc == OSQ_OK) {
    json_t *list = json_array();
    for (size_t i = 0; i < ns && list; i++)
      if (json_array_append_new(list, json_pack("{s:o,s:I}", "word", json_textz(sg[i].word), "passages",
                                                (json_int_t)sg[i].passages)))
        rc = OSQ_E_NOMEM;
    out = list ? json_pack("{s:o,s:o}", "prefix", json_stringn(a.q, a.qlen), "suggestions", list) : NULL;
  }
  char msg[600];
  snprintf(msg, sizeof msg, "%s", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
  osq_suggestions_free(sg, ns);
  pool_give(&sv->pool, s);
  if (rc || !out) {
    json_decref(out);
    return send_error(sv, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "suggest failed: %s", msg);
  }
  return send_json(c, MHD_HTTP_OK, out);
}

static enum MHD_Result do_doc(server *sv, struct MHD_Connection *c, const char *id) {
  if (!*id) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "/doc/ID wants a document id");
  if (!valid_utf8(id, strlen(id))) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "the document id is not valid UTF-8");
  index_slot *s = pool_take(&sv->pool);
  osq_document *d = NULL;
  int rc = osq_document_get(s->ix, id, &d);
  json_t *o = NULL;
  if (rc == OSQ_OK) {
    o = json_object();
    json_t *ps = json_array();
    if (o && ps) {
      json_object_set_new(o, "doc_id", json_textz(d->doc_id));
      json_object_set_new(o, "title", json_textz(d->title));
      if (*d->source) json_object_set_new(o, "source", json_textz(d->source));
      if (*d->url) json_object_set_new(o, "url", json_textz(d->url));
      if (*d->date) json_object_set_new(o, "date", json_textz(d->date));
      if (d->date_key) {
        char day[16];
        int32_t k = d->date_key;
        snprintf(day, sizeof day, k % 100 ? "%04d-%02d-%02d" : k % 10000 ? "%04d-%02d" : "%04d", (int)(k / 10000),
                 (int)(k / 100 % 100), (int)(k % 100));
        json_object_set_new(o, "date_key", json_string(day));
      }
      if (d->nfields) {
        json_t *f = json_object();
        for (size_t i = 0; i < d->nfields; i++) json_object_set_new(f, d->field_keys[i], json_textz(d->field_values[i]));
        json_object_set_new(o, "fields", f);
      }
      for (size_t i = 0; i < d->npassages; i++) {
        json_t *p = json_pack("{s:I,s:o}", "passage_no", (json_int_t)i, "passage",
                              json_text(d->passages[i], d->passage_lens[i]));
        if (p && *d->sections[i]) json_object_set_new(p, "section", json_textz(d->sections[i]));
        json_array_append_new(ps, p);
      }
      json_object_set_new(o, "passages", ps);
    } else {
      json_decref(ps);
    }
  }
  char msg[600];
  snprintf(msg, sizeof msg, "%s", *osq_last_error() ? osq_last_error() : osq_strerror(rc));
  osq_document_free(d);
  pool_give(&sv->pool, s);
  if (rc == OSQ_E_NOTFOUND) {
    json_decref(o);
    return send_json(c, MHD_HTTP_NOT_FOUND, json_pack("{s:o,s:i}", "error", json_textz("no document has this id"), "status", 404));
  }
  if (rc || !o) {
    json_decref(o);
    return send_error(sv, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "reading the document failed: %s", msg);
  }
  return send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result do_stats(server *sv, struct MHD_Connection *c, int health) {
  index_slot *s = pool_take(&sv->pool);
  osq_index_stats st;
  osq_index_get_stats(s->ix, &st);
  pool_give(&sv->pool, s);
  if (health)
    return send_json(c, MHD_HTTP_OK, json_pack("{s:s,s:I,s:I}", "status", "ok", "generation", (json_int_t)st.generation,
                                               "documents", (json_int_t)st.documents));
  json_t *ix = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "segments", (json_int_t)st.segments, "documents",
                         (json_int_t)st.documents, "passages", (json_int_t)st.passages, "terms", (json_int_t)st.terms,
                         "bytes", (json_int_t)st.bytes, "deleted_documents", (json_int_t)st.deleted_documents,
                         "deleted_passages", (json_int_t)st.deleted_passages, "generation", (json_int_t)st.generation);
  json_t *srv = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)sv->requests, "bad_requests",
                          (json_int_t)sv->bad_requests, "failures", (json_int_t)sv->failures, "in_flight",
                          (json_int_t)sv->in_flight, "handles", (json_int_t)sv->pool.n, "uptime_s",
                          (json_int_t)(time(NULL) - sv->started));
  return send_json(c, MHD_HTTP_OK, json_pack("{s:o,s:o}", "index", ix, "server", srv));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
  server *sv = cls;
  if (!*con_cls) {
    *con_cls = &counted;
    sv->in_flight++;
    sv->requests++;
  }
  if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
    /* answered at once: a body is never read */
    return send_error(sv, c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served");
  }
  if (*upload_data_size) return send_error(sv, c, MHD_HTTP_BAD_REQUEST, "a GET request has no body");
  if (!strcmp(url, "/search")) return do_search(sv, c);
  if (!strcmp(url, "/suggest")) return do_suggest(sv, c);
  if (!strcmp(url, "/health")) return do_stats(sv, c, 1);
  if (!strcmp(url, "/stats")) return do_stats(sv, c, 0);
  if (!strncmp(url, "/doc/", 5)) return do_doc(sv, c, url + 5);
  if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
    struct MHD_Response *r = MHD_create_response_from_buffer((size_t)(osq_serve_page_end - osq_serve_page),
                                                             (void *)osq_serve_page, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* nothing from another host, no framing */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY,
                            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
                            "frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
  }
  return send_json(c, MHD_HTTP_NOT_FOUND,
                   json_pack("{s:s,s:i}", "error", "not found: the paths are /, /search, /doc/ID, /health, /stats",
                             "status", 404));
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  server *sv = cls;
  if (*con_cls == &counted) sv->in_flight--;
  *con_cls = NULL;
}

/* libmicrohttpd's own messages (a malformed request line, a connection
 * limit reached) go to stderr prefixed. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  fputs("osq serve: libmicrohttpd: ", stderr);
  vfprintf(stderr, fmt, ap);
}

/* HOST:PORT, [V6]:PORT or PORT (host 127.0.0.1) into an address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len) {
  char host[256];
  const char *port;
  memset(ss, 0, sizeof *ss);
  if (s[0] == '[') {
    const char *e = strchr(s, ']');
    if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof host) return -1;
    memcpy(host, s + 1, (size_t)(e - s - 1));
    host[e - s - 1] = 0;
    port = e + 2;
  } else if (strchr(s, ':')) {
    const char *e = strrchr(s, ':');
    if ((size_t)(e - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(e - s));
    host[e - s] = 0;
    port = e + 1;
  } else {
    strcpy(host, "127.0.0.1");
    port = s;
  }
  long p = number_in(port, 0, 65535);
  if (p < 0) return -1;
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p);
    *len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)p);
    *len = sizeof *a6;
  } else {
    return -1;
  }
  return 0;
}

static void usage(FILE *f) {
  fputs("usage: osq serve [-i INDEX] [--listen HOST:PORT] [--threads N]\n"
        "  Serves INDEX over HTTP: GET /search?q=&n=&offset=&source=&date_from=&date_to=&sort=, /doc/ID,\n"
        "  /health, /stats, and a search page at /.  --listen defaults to 127.0.0.1:8080 (port 0: any free\n"
        "  port); another address only when given.  --threads defaults to the processors (at least 2).\n"
        "  INDEX defaults to $OSQ_INDEX, else ./osq-index.  SIGTERM finishes the requests in flight, then exits.\n",
        f);
}

int main(int argc, char **argv) {
  const char *index = getenv("OSQ_INDEX"), *listen = "127.0.0.1:8080";
  if (!index || !*index) index = "osq-index";
  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 2) threads = 2;
  if (threads > 64) threads = 64;
  static const struct option longopts[] = {{"index", required_argument, NULL, 'i'},
                                           {"listen", required_argument, NULL, 'l'},
                                           {"threads", required_argument, NULL, 't'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "i:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'i': index = optarg; break;
      case 'l': listen = optarg; break;
      case 't':
        if ((threads = number_in(optarg, 1, 256)) < 0) {
          fprintf(stderr, "osq serve: --threads wants a number from 1 to 256, not '%s'\n", optarg);
          return 2;
        }
        break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "osq serve: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }
  struct sockaddr_storage addr;
  socklen_t alen;
  if (parse_listen(listen, &addr, &alen)) {
    fprintf(stderr, "osq serve: --listen wants HOST:PORT with a numeric address (127.0.0.1:8080, [::1]:8080), not '%s'\n",
            listen);
    return 2;
  }
  static server sv;
  sv.started = time(NULL);
  int rc = pool_open(&sv.pool, index, (size_t)threads);
  if (rc) {
    if (rc == OSQ_E_NOINDEX)
      fprintf(stderr, "osq serve: no index at %s; build one with: osindex -i %s corpus/\n", index, index);
    else
      fprintf(stderr, "osq serve: cannot open index %s: %s\n", index, *osq_last_error() ? osq_last_error() : osq_strerror(rc));
    pool_close(&sv.pool);
    return 2;
  }
  /* SIGTERM and SIGINT are taken by sigwait below: blocked before the
   * server's threads start, so that they inherit the mask; SIGPIPE (a
   * client gone) is ignored. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* MHD_USE_AUTO: epoll on Linux (no FD_SETSIZE limit, as select has) */
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, 0, NULL, NULL, handle, &sv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)REQUEST_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, completed, &sv, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "osq serve: cannot listen on %s: %s\n", listen, strerror(errno));
    pool_close(&sv.pool);
    return 2;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  char shown[300];
  snprintf(shown, sizeof shown, "%.*s", (int)(strrchr(listen, ':') ? strrchr(listen, ':') - listen : 9),
           strchr(listen, ':') ? listen : "127.0.0.1");
  fprintf(stderr, "osq serve: %s on http://%s:%u/ (%ld threads)\n", index, shown, info ? info->port : 0, threads);
  fflush(stderr);
  int sig = 0;
  sigwait(&stop, &sig);
  /* No new connections; the requests in flight finish (their answers are
   * sent), then the server stops. */
  stopping = 1;
  MHD_socket ls = MHD_quiesce_daemon(d);
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    if (sv.in_flight <= 0) break;
    nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (now.tv_sec - t0.tv_sec < DRAIN_S);
  MHD_stop_daemon(d);
  if (ls != MHD_INVALID_SOCKET) close(ls);
  fprintf(stderr, "osq serve: stopped (%s), %lu requests served\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
          (unsigned long)sv.requests);
  pool_close(&sv.pool);
  return 0;
}
