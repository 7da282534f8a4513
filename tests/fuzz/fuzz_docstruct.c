/*
 * fuzz_docstruct.c -- libFuzzer harness for a document's structure
 * (core/docstruct.c: YAML front matter through libyaml, Markdown) and for
 * osq_cut_document on arbitrary bytes.
 *
 * Invariants: sections cover the clean text in order without gaps; a
 * section's heading number names a heading; fields come in key/value pairs;
 * a malformed front matter leaves no field; every passage osq_cut_document
 * gives lies within its block and has a heading string.  A broken invariant
 * aborts, and libFuzzer saves the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docstruct.h"

#define REQUIRE(cond, ...)                                          \
  do {                                                              \
    if (!(cond)) {                                                  \
      fprintf(stderr, "fuzz_docstruct: %s: ", #cond);               \
      fprintf(stderr, __VA_ARGS__);                                 \
      fprintf(stderr, "\n");                                        \
      abort();                                                      \
    }                                                               \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* the writer hands docstruct text without NUL (clean_text replaces it) */
  char *t = malloc(size + 1);
  if (!t) return 0;
  for (size_t i = 0; i < size; i++) t[i] = data[i] ? (char)data[i] : ' ';
  t[size] = 0;
  osq__docstruct ds;
  memset(&ds, 0, sizeof ds);
  if (osq__docstruct_parse(&ds, t, size) == OSQ_OK) {
    REQUIRE(ds.nsections >= 1, "no section");
    uint32_t at = 0;
    for (uint32_t s = 0; s < ds.nsections; s++) {
      REQUIRE(ds.sections[s].start == at && ds.sections[s].end >= at, "section %u at %u, expected %u", s,
              ds.sections[s].start, at);
      REQUIRE(ds.sections[s].heading_no <= ds.nheadings, "section %u names heading %u of %u", s,
              ds.sections[s].heading_no, ds.nheadings);
      at = ds.sections[s].end;
    }
    REQUIRE(at == ds.text.n, "sections end at %u of %zu", at, ds.text.n);
    size_t nul = 0;
    for (size_t i = 0; i < ds.fields.n; i++) nul += ds.fields.p[i] == 0;
    REQUIRE(nul == 2 * (size_t)ds.nfields, "%zu strings for %u fields", nul, ds.nfields);
    REQUIRE(!ds.problem[0] || ds.nfields == 0, "fields kept from malformed front matter");
  }
  osq__docstruct_free(&ds);
  osq_doc d = {.id = "x", .title = size > 4 ? "제목" : "", .text = t, .text_len = size};
  osq_doc_passage *ps = NULL;
  long n = osq_cut_document(&d, NULL, &ps);
  for (long i = 0; i < n; i++) {
    REQUIRE(ps[i].text && strlen(ps[i].text) == ps[i].len, "passage %ld length", i);
    REQUIRE(ps[i].section != NULL, "passage %ld section", i);
  }
  if (n >= 0) free(ps);
  free(t);
  return 0;
}
