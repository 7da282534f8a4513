/*
 * docstruct.h -- a document's structure: YAML front matter as fields, and
 * Markdown as sections with headings and text without markup (docstruct.c).
 */
#ifndef OSQ_DOCSTRUCT_H
#define OSQ_DOCSTRUCT_H

#include "internal.h"

/* One section of the cleaned body: text[start, end) of osq__docstruct.text,
 * under heading heading_no (1-based into the heading list; 0: the text
 * before the first heading, which has none). */
typedef struct osq__section {
  uint32_t start, end;
  uint32_t heading_no;
} osq__section;

typedef struct osq__docstruct {
  /* Front matter fields, in their order: nfields pairs of NUL-terminated
   * key and value in `fields` (key\0value\0key\0value\0...). */
  osq__buf fields;
  uint32_t nfields;
  /* Malformed front matter: the problem (with its line in the document),
   * the block kept as text.  "" when there was none or it parsed. */
  char problem[256];
  /* The body after the front matter, markup removed; sections cover it. */
  osq__buf text;
  osq__section *sections;
  uint32_t nsections, sections_cap;
  /* Headings, NUL-terminated one after the other; nheadings of them. */
  osq__buf headings;
  uint32_t nheadings;
} osq__docstruct;

/* Parses text[0..len) (valid UTF-8, no NUL) into ds, reusing its buffers
 * (zero it before the first use).  Never fails on content: malformed front
 * matter sets ds->problem and is kept as text.  Returns OSQ_OK or
 * OSQ_E_NOMEM. */
int osq__docstruct_parse(osq__docstruct *ds, const char *text, size_t len);
void osq__docstruct_free(osq__docstruct *ds);

/* Heading i (1-based) of ds, or "" for 0. */
const char *osq__docstruct_heading(const osq__docstruct *ds, uint32_t no);

/* Removes Markdown inline markup from s[0..n) into out (appended): `**`,
 * backslash escapes of ASCII punctuation, and a few HTML tags (<img>,
 * <br>, ...).  Used for headings and body lines alike. */
int osq__markdown_inline(osq__buf *out, const char *s, size_t n);

/* Calls fn for each passage of a document, in order, the way the writer
 * indexes it: first the title as a passage of its own (title_passage set;
 * unless the body starts with the title), then each section of ds (parsed
 * from the document's text) cut by osq__cut_passages, a passage never
 * spanning two sections.  no counts passages from 0; heading is the
 * section's (1-based, 0: none).  Stops at the first non-zero return of fn
 * and returns it; -1 when cutting runs out of memory. */
typedef int (*osq__passage_fn)(void *ctx, const char *text, size_t len, uint32_t no, uint32_t heading,
                               int title_passage);
int osq__doc_passages(const osq__docstruct *ds, const char *title, uint32_t min_chars, uint32_t max_chars,
                      uint32_t overlap_chars, osq__cut **cuts, size_t *cap, osq__passage_fn fn, void *ctx);

#endif
