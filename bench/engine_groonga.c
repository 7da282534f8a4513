/*
 * engine_groonga.c -- Groonga (libgroonga) with the schema its tutorial gives
 * for full-text search of CJK text:
 *
 *   table_create Docs TABLE_NO_KEY
 *   column_create Docs doc_id COLUMN_SCALAR ShortText
 *   column_create Docs body COLUMN_SCALAR LongText
 *   table_create Terms TABLE_PAT_KEY ShortText \
 *     --default_tokenizer TokenBigram --normalizer NormalizerAuto
 *   column_create Terms docs_body COLUMN_INDEX|WITH_POSITION Docs body
 *
 * The documents are loaded first and the index column is created after
 * ("offline index construction", the faster way Groonga's documentation
 * recommends for a bulk load).  A query is what `select Docs --match_columns
 * body --query Q --sortby -_score --limit 10 --output_columns doc_id` does,
 * through the C API so that no command parsing or JSON output is timed:
 * grn_expr_parse (query syntax, default operator OR, the select command's
 * default flags ALLOW_PRAGMA|ALLOW_COLUMN), grn_table_select, grn_table_sort
 * on _score for the top 10, then doc_id of each.  Groonga's default score is
 * the number of matching tokens (TF), not BM25.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <groonga.h>

#include "bench.h"

/* Name of the database file inside the engine's directory. */
#define GROONGA_DB "db"

static void groonga_fin(void) { grn_fin(); }

/* grn_init() once per process (grn_fin() at exit), and the logger kept
 * quiet: by default libgroonga appends to a log file of the system's. */
static int groonga_init(char *err, size_t errlen) {
  static int done = 0;
  if (done) return OSQ_OK;
  grn_default_logger_set_max_level(GRN_LOG_NONE);
  grn_default_logger_set_path(NULL);
  grn_default_query_logger_set_path(NULL);
  grn_rc rc = grn_init();
  if (rc != GRN_SUCCESS) {
    snprintf(err, errlen, "grn_init failed (%d)", (int)rc);
    return OSQ_E_IO;
  }
  done = 1;
  atexit(groonga_fin);
  return OSQ_OK;
}

/* Runs one Groonga command, as `groonga` would; fails on a Groonga error. */
static int run_command(grn_ctx *ctx, const char *cmd, char *err, size_t errlen) {
  grn_ctx_send(ctx, cmd, (unsigned int)strlen(cmd), 0);
  char *out;
  unsigned int outlen;
  int flags;
  grn_ctx_recv(ctx, &out, &outlen, &flags);
  if (ctx->rc != GRN_SUCCESS) {
    snprintf(err, errlen, "groonga: %s: %s", cmd, ctx->errbuf);
    return OSQ_E_IO;
  }
  return OSQ_OK;
}

typedef struct groonga_build {
  grn_ctx *ctx;
  grn_obj *docs, *doc_id, *body;
  grn_obj idbuf, bodybuf;
  char *buf;
  size_t cap;
} groonga_build;

static int groonga_add(void *arg, const osq_doc *doc, char *err, size_t errlen) {
  groonga_build *b = arg;
  size_t len;
  if (bench_join_title(doc, &b->buf, &b->cap, &len) != OSQ_OK) {
    snprintf(err, errlen, "out of memory");
    return OSQ_E_NOMEM;
  }
  grn_id id = grn_table_add(b->ctx, b->docs, NULL, 0, NULL);
  if (id == GRN_ID_NIL) {
    snprintf(err, errlen, "groonga: adding %s: %s", doc->id, b->ctx->errbuf);
    return OSQ_E_IO;
  }
  GRN_TEXT_SET(b->ctx, &b->idbuf, doc->id, strlen(doc->id));
  GRN_TEXT_SET(b->ctx, &b->bodybuf, b->buf, len);
  if (grn_obj_set_value(b->ctx, b->doc_id, id, &b->idbuf, GRN_OBJ_SET) != GRN_SUCCESS ||
      grn_obj_set_value(b->ctx, b->body, id, &b->bodybuf, GRN_OBJ_SET) != GRN_SUCCESS) {
    snprintf(err, errlen, "groonga: storing %s: %s", doc->id, b->ctx->errbuf);
    return OSQ_E_IO;
  }
  return OSQ_OK;
}

static int groonga_build_index(const char *dir, const bench_corpus *corpus,
                               bench_read_stats *st, char *err,
                               size_t errlen) {
  int rc = groonga_init(err, errlen);
  if (rc != OSQ_OK) return rc;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, GROONGA_DB);
  grn_ctx ctx;
  grn_ctx_init(&ctx, 0);
  groonga_build b;
  memset(&b, 0, sizeof b);
  b.ctx = &ctx;
  GRN_TEXT_INIT(&b.idbuf, 0);
  GRN_LONG_TEXT_INIT(&b.bodybuf, 0);
  grn_obj *db = grn_db_create(&ctx, path, NULL);
  if (!db) {
    snprintf(err, errlen, "groonga: cannot create %s: %s", path, ctx.errbuf);
    rc = OSQ_E_IO;
  }
  if (rc == OSQ_OK) rc = run_command(&ctx, "table_create Docs TABLE_NO_KEY", err, errlen);
  if (rc == OSQ_OK)
    rc = run_command(&ctx, "column_create Docs doc_id COLUMN_SCALAR ShortText", err, errlen);
  if (rc == OSQ_OK)
    rc = run_command(&ctx, "column_create Docs body COLUMN_SCALAR LongText", err, errlen);
  if (rc == OSQ_OK) {
    b.docs = grn_ctx_get(&ctx, "Docs", -1);
    b.doc_id = grn_ctx_get(&ctx, "Docs.doc_id", -1);
    b.body = grn_ctx_get(&ctx, "Docs.body", -1);
    if (!b.docs || !b.doc_id || !b.body) {
      snprintf(err, errlen, "groonga: the schema just made is not there");
      rc = OSQ_E_IO;
    }
  }
  if (rc == OSQ_OK) rc = bench_read_corpus(corpus, groonga_add, &b, st, err, errlen);
  if (rc == OSQ_OK)
    rc = run_command(&ctx,
                     "table_create Terms TABLE_PAT_KEY ShortText "
                     "--default_tokenizer TokenBigram --normalizer NormalizerAuto",
                     err, errlen);
  if (rc == OSQ_OK)
    rc = run_command(&ctx, "column_create Terms docs_body COLUMN_INDEX|WITH_POSITION Docs body",
                     err, errlen);
  /* Everything is on disk (memory-mapped files) once the database closes. */
  GRN_OBJ_FIN(&ctx, &b.idbuf);
  GRN_OBJ_FIN(&ctx, &b.bodybuf);
  if (db) grn_obj_close(&ctx, db);
  grn_ctx_fin(&ctx);
  free(b.buf);
  return rc;
}

typedef struct groonga_reader {
  grn_ctx ctx;
  grn_obj *db, *docs, *body, *doc_id;
  grn_obj value;
} groonga_reader;

static int groonga_open(const char *dir, void **handle, char *err, size_t errlen) {
  int rc = groonga_init(err, errlen);
  if (rc != OSQ_OK) return rc;
  groonga_reader *r = calloc(1, sizeof *r);
  if (!r) return OSQ_E_NOMEM;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, GROONGA_DB);
  grn_ctx_init(&r->ctx, 0);
  r->db = grn_db_open(&r->ctx, path);
  if (!r->db) {
    snprintf(err, errlen, "groonga: cannot open %s: %s", path, r->ctx.errbuf);
    grn_ctx_fin(&r->ctx);
    free(r);
    return OSQ_E_NOINDEX;
  }
  r->docs = grn_ctx_get(&r->ctx, "Docs", -1);
  r->body = grn_ctx_get(&r->ctx, "Docs.body", -1);
  r->doc_id = grn_ctx_get(&r->ctx, "Docs.doc_id", -1);
  if (!r->docs || !r->body || !r->doc_id) {
    snprintf(err, errlen, "groonga: %s lacks the Docs table of osbench", path);
    grn_obj_close(&r->ctx, r->db);
    grn_ctx_fin(&r->ctx);
    free(r);
    return OSQ_E_CORRUPT;
  }
  GRN_TEXT_INIT(&r->value, 0);
  *handle = r;
  return OSQ_OK;
}

static int groonga_search(void *handle, const bench_query *q, bench_ids *ids,
                          char *err, size_t errlen) {
  groonga_reader *r = handle;
  grn_ctx *ctx = &r->ctx;
  grn_obj *expr, *var, *res = NULL, *sorted = NULL, *score = NULL;
  int rc = OSQ_OK;
  ids->n = 0;
  GRN_EXPR_CREATE_FOR_QUERY(ctx, r->docs, expr, var);
  if (!expr || !var) {
    snprintf(err, errlen, "groonga: cannot create an expression: %s", ctx->errbuf);
    if (expr) grn_obj_unlink(ctx, expr);
    return OSQ_E_NOMEM;
  }
  grn_rc grc = grn_expr_parse(ctx, expr, q->text, (unsigned int)q->len, r->body,
                              GRN_OP_MATCH, GRN_OP_OR,
                              GRN_EXPR_SYNTAX_QUERY | GRN_EXPR_ALLOW_PRAGMA |
                                  GRN_EXPR_ALLOW_COLUMN);
  if (grc != GRN_SUCCESS) {
    snprintf(err, errlen, "groonga: %s", ctx->errbuf);
    rc = OSQ_E_PARSE;
    ctx->rc = GRN_SUCCESS; /* the context stays usable */
    goto done;
  }
  res = grn_table_select(ctx, r->docs, expr, NULL, GRN_OP_OR);
  if (!res || ctx->rc != GRN_SUCCESS) {
    snprintf(err, errlen, "groonga: select: %s", ctx->errbuf);
    rc = ctx->rc == GRN_SYNTAX_ERROR ? OSQ_E_PARSE : OSQ_E_IO;
    ctx->rc = GRN_SUCCESS;
    goto done;
  }
  if (grn_table_size(ctx, res) == 0) goto done;
  score = grn_obj_column(ctx, res, GRN_COLUMN_NAME_SCORE, GRN_COLUMN_NAME_SCORE_LEN);
  sorted = grn_table_create(ctx, NULL, 0, NULL, GRN_OBJ_TABLE_NO_KEY, NULL, res);
  if (!score || !sorted) {
    snprintf(err, errlen, "groonga: cannot sort: %s", ctx->errbuf);
    rc = OSQ_E_NOMEM;
    goto done;
  }
  grn_table_sort_key key;
  memset(&key, 0, sizeof key);
  key.key = score;
  key.flags = GRN_TABLE_SORT_DESC;
  grn_table_sort(ctx, res, 0, BENCH_K, sorted, &key, 1);
  /* Each sorted record's value is a record id of res, whose key is the
   * record id in Docs. */
  grn_table_cursor *tc = grn_table_cursor_open(ctx, sorted, NULL, 0, NULL, 0, 0, -1, 0);
  if (!tc) {
    snprintf(err, errlen, "groonga: cannot read the results: %s", ctx->errbuf);
    rc = OSQ_E_IO;
    goto done;
  }
  while (grn_table_cursor_next(ctx, tc) != GRN_ID_NIL && ids->n < BENCH_K) {
    void *value;
    if (grn_table_cursor_get_value(ctx, tc, &value) != sizeof(grn_id)) continue;
    grn_id rid = *(grn_id *)value, docid;
    if (grn_table_get_key(ctx, res, rid, &docid, sizeof docid) != sizeof docid) continue;
    GRN_BULK_REWIND(&r->value);
    grn_obj_get_value(ctx, r->doc_id, docid, &r->value);
    bench_ids_push(ids, GRN_TEXT_VALUE(&r->value), GRN_TEXT_LEN(&r->value));
  }
  grn_table_cursor_close(ctx, tc);
done:
  if (sorted) grn_obj_unlink(ctx, sorted);
  if (score) grn_obj_unlink(ctx, score);
  if (res) grn_obj_unlink(ctx, res);
  grn_obj_unlink(ctx, expr);
  return rc;
}

static void groonga_close(void *handle) {
  groonga_reader *r = handle;
  if (!r) return;
  GRN_OBJ_FIN(&r->ctx, &r->value);
  grn_obj_close(&r->ctx, r->db);
  grn_ctx_fin(&r->ctx);
  free(r);
}

const bench_engine bench_engine_groonga = {
    .name = "groonga",
    .what = "Groonga TokenBigram + NormalizerAuto, query syntax, OR, sort by _score (TF), k=10",
    .build = groonga_build_index,
    .open = groonga_open,
    .search = groonga_search,
    .close = groonga_close,
    .db_name = GROONGA_DB,
};
