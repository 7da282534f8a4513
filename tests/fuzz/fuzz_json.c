/*
 * fuzz_json.c -- libFuzzer harness for the fast path of the parser of input
 * documents (core/json over simdjson), held to jansson, which judges every
 * line and reads those the fast path declines: on any bytes, a line the
 * fast path reads is an object to jansson with the same values of the
 * fields osq reads, and an object jansson reads is declined only for a NUL
 * byte (../json_vs_jansson.h).  A difference aborts, and libFuzzer saves
 * the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json_vs_jansson.h"

static osq_json *parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[512];
  char *line;
  if (!parser && osq__json_new(&parser) != OSQ_OK) abort();
  /* The parser reads OSQ_JSON_PADDING bytes past the end. */
  line = malloc(size + OSQ_JSON_PADDING);
  if (!line) return 0;
  if (size) memcpy(line, data, size);
  memset(line + size, 'x', OSQ_JSON_PADDING);
  if (json_vs_jansson(parser, line, size, NULL, NULL, why, sizeof why)) {
    fprintf(stderr, "fuzz_json: %s\n", why);
    abort();
  }
  free(line);
  return 0;
}
