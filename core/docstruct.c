/*
 * docstruct.c -- what a document says about its own structure.
 *
 * Front matter.  A document whose text starts with a line "---" and has a
 * later line "---" (or "...") holds YAML front matter between the two, as
 * Jekyll, Hugo and the legalize-kr Markdown files write it:
 *
 *     ---
 *     사건번호: 2000도1007
 *     선고일자: 2000-10-27
 *     소관부처:
 *     - 문화체육관광부
 *     ---
 *
 * It is parsed with libyaml (Debian's libyaml-dev; YAML's quoting, block
 * scalars and flow lists are not something to parse by hand) into fields:
 * each top-level key with its value as text (a list or a nested mapping
 * becomes its scalars joined by ", ", newlines inside a value become
 * spaces).  The block is then no part of the text: the fields are stored
 * in the document's record and indexed apart (writer_add.c).  Front matter that
 * does not parse, or is not a mapping, is kept as text and the problem,
 * with its line in the document, is reported (osindex warns).  A "---" line
 * with no closing line is a horizontal rule, not front matter.
 *
 * Markdown.  The rest is read as Markdown, line by line, with the few rules
 * the corpora need and nothing that could eat plain text:
 *   - an ATX heading (1 to 6 '#' at the start of the line, then a space
 *     or the line's end) starts a new section (CommonMark allows 3 spaces
 *     before the '#'s; the bundled reStructuredText pages indent "# ..."
 *     comments in code blocks by 3, so a heading here starts the line); its text, without the '#'s, is the
 *     section's heading and stays as the section's first line (a statute's
 *     passage must begin with "제23조 (해고 등의 제한)");
 *   - fence lines (``` or ~~~) and thematic breaks (---, ***, ___) are
 *     dropped; lines inside a fence are kept as they are;
 *   - inline: runs of two or more '*' (bold) are dropped, a backslash before
 *     ASCII punctuation is dropped (`1\.` -> `1.`), [text](url) keeps its
 *     text, and a short list of HTML tags (<img ...>, <br>, <sup>, ...) is
 *     dropped.  Single '*' and '_' stay: they are common in plain text.
 * The index stores this clean text, so snippets and highlights (which
 * tokenize the stored text again) never show markup.  Plain text has none
 * of these, and comes out unchanged but for dropped "---" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#include "docstruct.h"

/* Front matter longer than this is not front matter (a runaway "---"). */
#define FRONT_MATTER_MAX (256u << 10)
#define FIELDS_MAX 256

void osq__docstruct_free(osq__docstruct *ds) {
  if (!ds) return;
  osq__buf_free(&ds->fields);
  osq__buf_free(&ds->text);
  osq__buf_free(&ds->headings);
  free(ds->sections);
  memset(ds, 0, sizeof *ds);
}

/* The end of the line that starts at i (the '\n' or len). */
static size_t line_end(const char *t, size_t len, size_t i) {
  const char *nl = memchr(t + i, '\n', len - i);
  return nl ? (size_t)(nl - t) : len;
}

/* Is t[a, b) the line d (3 characters), trailing spaces, tabs and \r aside? */
static int is_line(const char *t, size_t a, size_t b, const char *d) {
  if (b - a < 3 || memcmp(t + a, d, 3)) return 0;
  for (size_t i = a + 3; i < b; i++)
    if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r') return 0;
  return 1;
}

/* ---- front matter ------------------------------------------------------------ */

/* Appends a scalar to the value being built, joined by ", ". */
static int value_add(osq__buf *v, const unsigned char *s, size_t n) {
  if (v->n && osq__buf_put(v, ", ", 2)) return OSQ_E_NOMEM;
  if (osq__buf_reserve(v, n)) return OSQ_E_NOMEM;
  for (size_t i = 0; i < n; i++) v->p[v->n++] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t' || !s[i]) ? ' ' : s[i];
  return OSQ_OK;
}

static int field_put(osq__docstruct *ds, const osq__buf *key, const osq__buf *val) {
  if (ds->nfields >= FIELDS_MAX) return OSQ_OK;
  if (osq__buf_put(&ds->fields, key->p, key->n) || osq__buf_byte(&ds->fields, 0) ||
      osq__buf_put(&ds->fields, val->p, val->n) || osq__buf_byte(&ds->fields, 0))
    return OSQ_E_NOMEM;
  ds->nfields++;
  return OSQ_OK;
}

/* Parses the YAML y[0..n) into ds's fields.  Returns OSQ_OK (ds->problem
 * set if it is not a mapping of keys to values) or OSQ_E_NOMEM.  first_line
 * is the document line of y's first line, for the problem. */
static int parse_yaml(osq__docstruct *ds, const char *y, size_t n, unsigned first_line) {
  yaml_parser_t ps;
  yaml_event_t ev;
  osq__buf key = {0}, val = {0};
  int rc = OSQ_OK, done = 0, depth = 0; /* depth: 0 outside the top mapping, 1 in it, 2+ in a value */
  int want_key = 1, started = 0;
  if (!yaml_parser_initialize(&ps)) return OSQ_E_NOMEM;
  yaml_parser_set_input_string(&ps, (const unsigned char *)y, n);
  while (!done && !rc) {
    if (!yaml_parser_parse(&ps, &ev)) {
      if (ps.error == YAML_MEMORY_ERROR) {
        rc = OSQ_E_NOMEM;
        break;
      }
      snprintf(ds->problem, sizeof ds->problem, "front matter line %u, column %u: %s%s%s; kept as text",
               first_line + (unsigned)ps.problem_mark.line, (unsigned)ps.problem_mark.column + 1,
               ps.problem ? ps.problem : "malformed YAML", ps.context ? " " : "", ps.context ? ps.context : "");
      break;
    }
    switch (ev.type) {
      case YAML_STREAM_END_EVENT: done = 1; break;
      case YAML_MAPPING_START_EVENT:
      case YAML_SEQUENCE_START_EVENT:
        if (depth == 0) {
          if (started || ev.type != YAML_MAPPING_START_EVENT) goto not_mapping;
          started = 1;
          depth = 1;
        } else if (depth == 1 && want_key) {
          snprintf(ds->problem, sizeof ds->problem, "front matter line %u: a key that is not a plain value; kept as text",
                   first_line + (unsigned)ev.start_mark.line);
          done = 1;
        } else {
          depth++;
        }
        break;
      case YAML_MAPPING_END_EVENT:
      case YAML_SEQUENCE_END_EVENT:
        if (depth > 1 && --depth == 1) { /* a list or mapping value is complete */
          if ((rc = field_put(ds, &key, &val))) break;
          want_key = 1;
        } else if (depth == 1) {
          depth = 0; /* the end of the top mapping: later documents are ignored */
          done = 1;
        }
        break;
      case YAML_SCALAR_EVENT:
      case YAML_ALIAS_EVENT: {
        const unsigned char *s = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.value : (const unsigned char *)"";
        size_t sn = ev.type == YAML_SCALAR_EVENT ? ev.data.scalar.length : 0;
        if (depth == 0) goto not_mapping;
        if (depth == 1 && want_key) {
          key.n = val.n = 0;
          if (value_add(&key, s, sn)) rc = OSQ_E_NOMEM;
          want_key = 0;
        } else {
          if (value_add(&val, s, sn)) rc = OSQ_E_NOMEM;
          else if (depth == 1) {
            rc = field_put(ds, &key, &val);
            want_key = 1;
          }
        }
        break;
      }
      default: break;
    }
    yaml_event_delete(&ev);
    continue;
  not_mapping:
    yaml_event_delete(&ev);
    if (!started || depth == 0)
      snprintf(ds->problem, sizeof ds->problem, "front matter line %u: not a mapping of keys to values; kept as text",
               first_line);
    break;
  }
  yaml_parser_delete(&ps);
  osq__buf_free(&key);
  osq__buf_free(&val);
  if (ds->problem[0]) { /* all or nothing: the block is text again */
    ds->fields.n = 0;
    ds->nfields = 0;
  }
  return rc;
}

/* If text starts with front matter, parses it and returns the offset of the
 * body after it in *body (0 when there is none or it is malformed). */
static int front_matter(osq__docstruct *ds, const char *t, size_t len, size_t *body) {
  *body = 0;
  size_t i = 0;
  if (len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3)) i = 3; /* a byte order mark */
  size_t e = line_end(t, len, i);
  if (!is_line(t, i, e, "---") || e == len) return OSQ_OK;
  size_t y0 = e + 1, a = y0;
  unsigned line = 2;
  while (a < len && a - y0 <= FRONT_MATTER_MAX) {
    size_t b = line_end(t, len, a);
    if (is_line(t, a, b, "---") || is_line(t, a, b, "...")) {
      int rc = parse_yaml(ds, t + y0, a - y0, 2);
      if (rc) return rc;
      if (!ds->problem[0]) *body = b < len ? b + 1 : len;
      return OSQ_OK;
    }
    a = b + 1;
    line++;
  }
  (void)line;
  return OSQ_OK; /* no closing line: a horizontal rule and text */
}

/* ---- Markdown ---------------------------------------------------------------- */

static int is_ascii_punct(unsigned char c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* The length of an HTML tag of the list at s[0..n) (s[0] == '<'), or 0. */
static size_t html_tag(const char *s, size_t n) {
  static const char *const names[] = {"img", "br", "sup", "sub", "span", "div", "p", "a", "b", "i", "u",
                                      "strong", "em", "font", "center", "hr", "table", "tr", "td", "th"};
  size_t i = 1;
  if (i < n && s[i] == '/') i++;
  size_t k = i;
  while (k < n && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'))) k++;
  if (k == i || k >= n || (s[k] != '>' && s[k] != ' ' && s[k] != '/')) return 0;
  int known = 0;
  for (size_t m = 0; m < sizeof names / sizeof *names && !known; m++)
    known = strlen(names[m]) == k - i && !strncasecmp(s + i, names[m], k - i);
  if (!known) return 0;
  const char *gt = memchr(s + k, '>', n - k < 2048 ? n - k : 2048);
  return gt ? (size_t)(gt - s) + 1 : 0;
}

int osq__markdown_inline(osq__buf *out, const char *s, size_t n) {
  size_t i = 0, run = 0; /* s[run, i) is yet to be copied */
  if (osq__buf_reserve(out, n + 1)) return OSQ_E_NOMEM; /* + 1: out->p is never NULL after */
  while (i < n) {
    char c = s[i];
    size_t skip = 0, keep_a = 0, keep_b = 0; /* drop s[i, i+skip), but keep s[keep_a, keep_b) */
    if (c == '*' && i + 1 < n && s[i + 1] == '*') {
      skip = 2;
      while (i + skip < n && s[i + skip] == '*') skip++;
    } else if (c == '\\' && i + 1 < n && is_ascii_punct((unsigned char)s[i + 1])) {
      skip = 1;
    } else if (c == '<') {
      skip = html_tag(s + i, n - i);
    } else if (c == '[') {
      const char *close = memchr(s + i, ']', n - i);
      size_t cb = close ? (size_t)(close - s) : n;
      if (cb + 1 < n && s[cb + 1] == '(') {
        const char *rp = memchr(s + cb + 2, ')', n - cb - 2);
        if (rp && !memchr(s + i + 1, '[', cb - i - 1)) {
          keep_a = i + 1;
          keep_b = cb;
          skip = (size_t)(rp - s) + 1 - i;
        }
      }
    }
    if (!skip) {
      i++;
      continue;
    }
    osq__buf_put(out, s + run, i - run); /* reserved above: cannot fail */
    if (keep_b > keep_a && osq__markdown_inline(out, s + keep_a, keep_b - keep_a)) return OSQ_E_NOMEM;
    if (c == '\\') { /* the escaped character itself is text */
      osq__buf_put(out, s + i + 1, 1);
      skip = 2;
    }
    i += skip;
    run = i;
  }
  osq__buf_put(out, s + run, n - run);
  return OSQ_OK;
}

/* A heading line t[a, b)?  Returns the number of '#' (1..6) and sets the
 * heading text's range, or 0. */
static int atx_heading(const char *t, size_t a, size_t b, size_t *ha, size_t *hb) {
  size_t i = a, h = i;
  while (i < b && t[i] == '#') i++;
  int level = (int)(i - h);
  if (level < 1 || level > 6 || (i < b && t[i] != ' ' && t[i] != '\t')) return 0;
  while (i < b && (t[i] == ' ' || t[i] == '\t')) i++;
  size_t e = b;
  while (e > i && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\r')) e--;
  size_t k = e; /* a closing run of '#' after a space goes too */
  while (k > i && t[k - 1] == '#') k--;
  if (k < e && (k == i || t[k - 1] == ' ' || t[k - 1] == '\t')) {
    e = k;
    while (e > i && (t[e - 1] == ' ' || t[e - 1] == '\t')) e--;
  }
  *ha = i;
  *hb = e;
  return level;
}

/* A fence line: up to 3 spaces, then 3 or more '`' or '~'.  An opening
 * backtick fence's info string has no backtick (CommonMark: "```x```" on
 * one line is code in a paragraph, not a fence); a closing fence
 * (closing set) is the fence characters alone. */
static int is_fence(const char *t, size_t a, size_t b, int closing) {
  size_t i = a;
  while (i < b && i - a < 3 && t[i] == ' ') i++;
  char f = i < b ? t[i] : 0;
  if (f != '`' && f != '~') return 0;
  size_t k = i;
  while (k < b && t[k] == f) k++;
  if (k - i < 3) return 0;
  for (; k < b; k++) {
    if (closing && t[k] != ' ' && t[k] != '\t' && t[k] != '\r') return 0;
    if (f == '`' && t[k] == '`') return 0;
  }
  return 1;
}

/* A thematic break: three or more of one of - * _, spaces allowed. */
static int is_break(const char *t, size_t a, size_t b) {
  char m = 0;
  int n = 0;
  for (size_t i = a; i < b; i++) {
    char c = t[i];
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if ((c != '-' && c != '*' && c != '_') || (m && c != m)) return 0;
    m = c;
    n++;
  }
  return n >= 3;
}

static int section_open(osq__docstruct *ds, uint32_t heading_no) {
  if (ds->nsections == ds->sections_cap) {
    uint32_t cap = ds->sections_cap ? ds->sections_cap * 2 : 16;
    osq__section *p = realloc(ds->sections, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    ds->sections = p;
    ds->sections_cap = cap;
  }
  if (ds->nsections) ds->sections[ds->nsections - 1].end = (uint32_t)ds->text.n;
  ds->sections[ds->nsections].start = (uint32_t)ds->text.n;
  ds->sections[ds->nsections].end = (uint32_t)ds->text.n;
  ds->sections[ds->nsections].heading_no = heading_no;
  ds->nsections++;
  return OSQ_OK;
}

int osq__docstruct_parse(osq__docstruct *ds, const char *t, size_t len) {
  ds->fields.n = ds->text.n = ds->headings.n = 0;
  ds->nfields = ds->nsections = ds->nheadings = 0;
  ds->problem[0] = 0;
  size_t i;
  int rc = front_matter(ds, t, len, &i);
  if (rc) return rc;
  if (osq__buf_reserve(&ds->text, len - i + 1) || section_open(ds, 0)) return OSQ_E_NOMEM;
  int fence = 0;
  while (i < len) {
    size_t a = i, b = line_end(t, len, i);
    i = b < len ? b + 1 : len;
    size_t ha, hb;
    int level;
    if (fence) {
      if (is_fence(t, a, b, 1)) fence = 0;
      else if (osq__buf_put(&ds->text, t + a, b - a) || osq__buf_byte(&ds->text, '\n')) return OSQ_E_NOMEM;
    } else if (is_fence(t, a, b, 0)) {
      fence = 1;
    } else if ((level = atx_heading(t, a, b, &ha, &hb)) > 0) {
      if (ds->nheadings == UINT32_MAX - 1) return OSQ_E_NOMEM;
      if (section_open(ds, ds->nheadings + 1)) return OSQ_E_NOMEM;
      size_t h0 = ds->headings.n;
      if (osq__markdown_inline(&ds->headings, t + ha, hb - ha)) return OSQ_E_NOMEM;
      if (osq__buf_put(&ds->text, ds->headings.p + h0, ds->headings.n - h0) || osq__buf_byte(&ds->text, '\n') ||
          osq__buf_byte(&ds->headings, 0))
        return OSQ_E_NOMEM;
      ds->nheadings++;
    } else if (b > a && is_break(t, a, b)) {
      /* a thematic break is markup only */
    } else {
      if (osq__markdown_inline(&ds->text, t + a, b - a) || osq__buf_byte(&ds->text, '\n')) return OSQ_E_NOMEM;
    }
  }
  ds->sections[ds->nsections - 1].end = (uint32_t)ds->text.n;
  return OSQ_OK;
}

const char *osq__docstruct_heading(const osq__docstruct *ds, uint32_t no) {
  if (no == 0 || no > ds->nheadings) return "";
  const char *h = (const char *)ds->headings.p;
  for (uint32_t k = 1; k < no; k++) h += strlen(h) + 1;
  return h;
}
