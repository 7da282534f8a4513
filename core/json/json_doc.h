/*
 * json_doc.h -- the fast path of the JSON parser for input documents
 * (json_doc.cc, over simdjson).  Internal to libosq: source.c is its only
 * user.
 *
 * jansson (json_loadb with JSON_ALLOW_NUL) is the judge of every line: what
 * it accepts, the values it gives, its errors.  osq__json_parse answers only
 * for the lines it can answer for exactly as jansson would, a JSON object
 * simdjson accepts and nothing in it that jansson refuses; for any other
 * line it says so, and the caller parses the line with jansson.
 */
#ifndef OSQ_JSON_DOC_H
#define OSQ_JSON_DOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes that must be readable after the end of every input passed to
 * osq__json_parse (their content does not matter): simdjson reads ahead in
 * blocks.  json_doc.cc checks that it is at least SIMDJSON_PADDING. */
#define OSQ_JSON_PADDING 64

typedef struct osq_json osq_json;

/* The type of a member's value. */
enum osq_json_type {
  OSQ_JSON_ABSENT,  /* no member of that name */
  OSQ_JSON_NULL,
  OSQ_JSON_STRING,  /* str, len */
  OSQ_JSON_INTEGER, /* integer: no '.', 'e' or 'E' in the number */
  OSQ_JSON_REAL,    /* real */
  OSQ_JSON_OTHER    /* true, false, an array or an object */
};

typedef struct osq_json_value {
  int type;          /* enum osq_json_type */
  const char *str;   /* unescaped, NUL-terminated (and may hold NULs) */
  size_t len;
  long long integer;
  double real;
} osq_json_value;

/* A parser, reused line after line (its buffers grow to the longest line).
 * Returns OSQ_OK or OSQ_E_NOMEM. */
int osq__json_new(osq_json **out);
void osq__json_free(osq_json *j);
/* Releases the buffers of a parser grown for a line longer than max_len. */
void osq__json_shrink(osq_json *j, size_t max_len);

/* Parses data[0..len) (readable up to len + OSQ_JSON_PADDING) as one JSON
 * text.  Returns 1 if it is an object that jansson accepts as well: then
 * values[i] receives the value of the last member named names[i]
 * (OSQ_JSON_ABSENT if none), as jansson would give it, and its strings
 * stay valid until the next call with j, or osq__json_free.  Returns 0 for
 * anything else (malformed, invalid UTF-8, an array, a value jansson
 * refuses, a NUL byte jansson would skip): jansson must read the line.
 * Returns OSQ_E_NOMEM if memory runs out. */
int osq__json_parse(osq_json *j, const char *data, size_t len,
                    const char *const *names, size_t nnames,
                    osq_json_value *values);

#ifdef __cplusplus
}
#endif
#endif /* OSQ_JSON_DOC_H */
