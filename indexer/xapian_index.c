/*
 * xapian_index.c -- osindex --engine xapian: the same documents, cut into
 * the same passages, indexed by Xapian with its own CJK n-grams (what a
 * Xapian user would do), so that `osq --engine xapian` can be compared with
 * osq on equal terms.  Each passage is a Xapian document whose data is a
 * JSON object with the fields osq prints.
 */
#include "xapian_index.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../query/xapian_dl.h"
#include "osq/source.h"

static void warn(void *ctx, const char *path, uint64_t line, const char *msg) {
  (void)ctx;
  if (line)
    fprintf(stderr, "osindex: warning: %s:%llu: %s\n", path, (unsigned long long)line, msg);
  else
    fprintf(stderr, "osindex: warning: %s: %s\n", path, msg);
}

static int add_passage(osq_xapian_api *api, osq_xapian *db, const osq_doc *d, const char *text, size_t len,
                       uint32_t no) {
  json_t *o = json_object();
  json_object_set_new(o, "doc_id", json_string(d->id));
  json_object_set_new(o, "title", json_string(d->title ? d->title : ""));
  if (d->source) json_object_set_new(o, "source", json_string(d->source));
  if (d->url) json_object_set_new(o, "url", json_string(d->url));
  if (d->date) json_object_set_new(o, "date", json_string(d->date));
  json_object_set_new(o, "passage_no", json_integer(no));
  json_object_set_new(o, "passage", json_stringn(text, len));
  char *data = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!data) return -1; /* invalid UTF-8 in the text: jansson refuses it */
  uint32_t docid;
  int rc = api->add_text(db, text, len, data, strlen(data), 1, &docid);
  free(data);
  return rc;
}

int osindex_xapian(const char *index, const char *const *paths, size_t npaths, int quiet) {
  osq_xapian_api api;
  char err[512];
  if (osq_xapian_load(&api, err, sizeof err)) {
    fprintf(stderr, "osindex: %s\n", err);
    return 2;
  }
  osq_xapian *db;
  char *msg = NULL;
  int rc = api.open(index, OSQ_XAPIAN_CREATE, &db, &msg);
  if (rc) {
    fprintf(stderr, "osindex: cannot create Xapian database %s: %s\n", index, msg ? msg : osq_strerror(rc));
    free(msg);
    return 2;
  }
  osq_source *src;
  if (osq_source_open(paths, npaths, warn, NULL, &src)) {
    api.close(db);
    return 2;
  }
  osq_doc d;
  uint64_t docs = 0, passages = 0, skipped = 0;
  while (osq_source_next(src, &d) == OSQ_OK) {
    osq_passage_cut *cuts = NULL;
    long n = osq_cut_passages(d.text, d.text_len, NULL, &cuts);
    uint32_t no = 0;
    const char *title = d.title ? d.title : "";
    size_t tl = strlen(title);
    if (tl && !(d.text_len >= tl && !memcmp(d.text, title, tl)))
      if (add_passage(&api, db, &d, title, tl, no++) == 0) passages++;
    for (long i = 0; i < n; i++) {
      if (add_passage(&api, db, &d, d.text + cuts[i].start, cuts[i].end - cuts[i].start, no++) == 0)
        passages++;
      else
        skipped++;
    }
    free(cuts);
    docs++;
  }
  osq_source_close(src);
  rc = api.commit(db);
  if (rc) fprintf(stderr, "osindex: Xapian commit failed: %s\n", api.errmsg(db));
  api.close(db);
  if (!quiet)
    fprintf(stderr, "osindex: %llu documents, %llu passages into the Xapian database %s%s\n",
            (unsigned long long)docs, (unsigned long long)passages, index, skipped ? " (some passages skipped)" : "");
  if (rc) return 2;
  return docs ? 0 : 1;
}
