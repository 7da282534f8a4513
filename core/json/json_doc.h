/*
 * json_doc.h -- the C interface of the JSON parser for input documents
 * (json_doc.cc, over simdjson).  Internal to libosq: source.c is its only
 * user.
 *
 * A line is judged as jansson's json_loadb(JSON_ALLOW_NUL) judged it before
 * (jansson parsed the input until simdjson replaced it): the same lines are
 * accepted, the first error in reading order decides between invalid UTF-8
 * and malformed JSON, and a malformed line gets jansson's byte offset and
 * message.  Duplicate keys: the last value counts, as in jansson.
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

/* What a line is. */
enum osq_json_verdict {
  OSQ_JSON_OBJECT,     /* values are filled in */
  OSQ_JSON_NOT_OBJECT, /* valid JSON, an array */
  OSQ_JSON_BAD_UTF8,   /* the first problem is a byte that is not UTF-8 */
  OSQ_JSON_MALFORMED   /* error_pos and error_text say what and where */
};

typedef struct osq_json_result {
  int verdict;          /* enum osq_json_verdict */
  size_t error_pos;     /* OSQ_JSON_MALFORMED: bytes read before the error */
  char error_text[160]; /* OSQ_JSON_MALFORMED: jansson's message */
} osq_json_result;

/* A parser, reused line after line (its buffers grow to the longest line).
 * Returns OSQ_OK or OSQ_E_NOMEM. */
int osq__json_new(osq_json **out);
void osq__json_free(osq_json *j);
/* Releases the buffers of a parser grown for a line longer than max_len. */
void osq__json_shrink(osq_json *j, size_t max_len);

/* Parses data[0..len) (readable up to len + OSQ_JSON_PADDING) as one JSON
 * text.  For an object, values[i] receives the value of the last member
 * named names[i] (OSQ_JSON_ABSENT if none); its strings stay valid until
 * the next call with j, or osq__json_free.  Returns OSQ_OK with *res filled
 * in, or OSQ_E_NOMEM. */
int osq__json_parse(osq_json *j, const char *data, size_t len,
                    const char *const *names, size_t nnames,
                    osq_json_value *values, osq_json_result *res);

#ifdef __cplusplus
}
#endif
#endif /* OSQ_JSON_DOC_H */
