/*
 * json_vs_jansson.h -- holds the fast path of the parser of input documents
 * (core/json, over simdjson) to jansson, which judges every line
 * (json_loadb with JSON_ALLOW_NUL) and reads those the fast path declines.
 * When the fast path reads a line, jansson must read it too, as an object
 * with the same values for the names asked (the last of duplicate keys).
 * When it declines an object jansson reads, the line must hold a NUL byte
 * (jansson skips one after a number or a word, simdjson refuses it): any
 * other object sent to jansson is a document slowed down for nothing.
 * Shared by test_source.c and fuzz/fuzz_json.c.
 */
#ifndef OSQ_TESTS_JSON_VS_JANSSON_H
#define OSQ_TESTS_JSON_VS_JANSSON_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json/json_doc.h"
#include "osq/osq.h"

/* The fields osq reads, and two more: a short key and the empty key. */
static const char *const jvj_names[] = {"id",  "title", "text", "source",
                                        "url", "date",  "a",    ""};
#define JVJ_NAMES (sizeof jvj_names / sizeof jvj_names[0])

/* jansson's verdict on a line. */
enum { JVJ_OBJECT, JVJ_ARRAY, JVJ_BAD_UTF8, JVJ_MALFORMED, JVJ_VERDICTS };

static int jvj_type(const json_t *v) {
  if (!v) return OSQ_JSON_ABSENT;
  if (json_is_null(v)) return OSQ_JSON_NULL;
  if (json_is_string(v)) return OSQ_JSON_STRING;
  if (json_is_integer(v)) return OSQ_JSON_INTEGER;
  if (json_is_real(v)) return OSQ_JSON_REAL;
  return OSQ_JSON_OTHER;
}

static int jvj_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int jvj_fail(char *why, size_t whylen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return 1;
}

/* Returns 0 if the fast path and jansson agree on data[0..len) (followed
 * by OSQ_JSON_PADDING readable bytes), else 1 with the difference in why.
 * *verdict (if not NULL) receives jansson's verdict (JVJ_*), *fast (if not
 * NULL) whether the fast path read the line. */
static int json_vs_jansson(osq_json *j, const char *data, size_t len,
                           int *verdict, int *fast, char *why, size_t whylen) {
  osq_json_value v[JVJ_NAMES];
  json_error_t err;
  json_t *jj;
  size_t i;
  int want, got, rc = 0;

  got = osq__json_parse(j, data, len, jvj_names, JVJ_NAMES, v);
  if (got < 0) return jvj_fail(why, whylen, "osq__json_parse failed");
  jj = json_loadb(data, len, JSON_ALLOW_NUL, &err);
  if (!jj && json_error_code(&err) == json_error_out_of_memory)
    return jvj_fail(why, whylen, "jansson ran out of memory");
  want = !jj ? (json_error_code(&err) == json_error_invalid_utf8
                    ? JVJ_BAD_UTF8
                    : JVJ_MALFORMED)
             : json_is_object(jj) ? JVJ_OBJECT
                                  : JVJ_ARRAY;
  if (verdict) *verdict = want;
  if (fast) *fast = got;
  if (got && want != JVJ_OBJECT) {
    rc = jvj_fail(why, whylen, "read by the fast path, jansson's %d (%d: %s)",
                  want, jj ? 0 : err.position, jj ? "" : err.text);
  } else if (!got && want == JVJ_OBJECT && !memchr(data, '\0', len)) {
    rc = jvj_fail(why, whylen, "an object without NUL declined (fast path)");
  } else if (got) {
    for (i = 0; i < JVJ_NAMES && !rc; i++) {
      const json_t *x = json_object_get(jj, jvj_names[i]);
      int t = jvj_type(x);
      if (t != v[i].type) {
        rc = jvj_fail(why, whylen, "\"%s\": type %d, jansson's %d",
                      jvj_names[i], v[i].type, t);
      } else if (t == OSQ_JSON_STRING &&
                 (v[i].len != json_string_length(x) ||
                  memcmp(v[i].str, json_string_value(x), v[i].len) != 0 ||
                  v[i].str[v[i].len] != '\0')) {
        rc = jvj_fail(why, whylen, "\"%s\": another string", jvj_names[i]);
      } else if (t == OSQ_JSON_INTEGER &&
                 v[i].integer != json_integer_value(x)) {
        rc = jvj_fail(why, whylen, "\"%s\": %lld, jansson's %lld",
                      jvj_names[i], v[i].integer,
                      (long long)json_integer_value(x));
      } else if (t == OSQ_JSON_REAL) {
        /* Printed as osq prints them: the same digits, or not. */
        char a[40], b[40];
        snprintf(a, sizeof a, "%.17g", v[i].real);
        snprintf(b, sizeof b, "%.17g", json_real_value(x));
        if (strcmp(a, b) != 0)
          rc = jvj_fail(why, whylen, "\"%s\": %s, jansson's %s", jvj_names[i],
                        a, b);
      }
    }
  }
  json_decref(jj);
  return rc;
}

#endif /* OSQ_TESTS_JSON_VS_JANSSON_H */
