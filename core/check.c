/*
 * check.c -- osq_index_check (`osindex check`) and osq_index_info_get
 * (`osindex stats`).
 *
 * The check reads everything through the segment reader's checked decoders,
 * so it follows the segment format wherever segment_read.c takes it.  In
 * order, for the manifest and then each segment it names:
 *   - the manifest: magic, version, size, checksum, entries (manifest.c);
 *   - the segment file: present, the size and counts the manifest says,
 *     header, section table and footer (osq__segment_open), the checksum of
 *     every section and of the whole file (osq__segment_verify);
 *   - the dictionary: every entry decodes, terms strictly ascending, as many
 *     as the header says;
 *   - the passage table and the document records: every passage belongs to
 *     one document, documents own consecutive passage ranges that tile the
 *     table, ids are not empty, the token total matches the header;
 *   - the store: the text of every passage decompresses;
 *   - the deletion file: checksum and counts (manifest.c), and its passage
 *     bitmap is exactly the passages of its deleted documents;
 *   - across segments: no id is live twice.
 * --deep adds every posting list: as many postings as the term's df,
 * ascending passages, tf within the dictionary's bound, positions that decode
 * to tf ascending values inside the passage.
 *
 * A writer may publish a new manifest while the check runs and delete files
 * the old one named.  Problems are therefore collected, and when the
 * manifest changed during a run that found some, the check runs again on the
 * new manifest (a few times at most) before reporting.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "merge.h"

#define MAX_PER_FILE 20 /* problems reported per file before summarizing */
#define MAX_RUNS 5

typedef struct {
  char *file, *text;
} problem;

typedef struct {
  const char *dir;
  int deep;
  problem *p;
  size_t n, cap;
  char cur_file[256]; /* for the per-file cap */
  uint32_t cur_count;
  int nomem;
  /* what the problems cost, for the summary (check_once) */
  uint64_t live_docs, lost_docs;
  uint32_t damaged_segs;
  int manifest_bad;
  /* live ids across segments: open addressing over malloc'd strings */
  char **ids;
  uint32_t *id_seg;
  size_t ids_cap, ids_n;
} checker;

static void add_problem(checker *c, const char *file, const char *fmt, ...) OSQ__PRINTF(3, 4);
static void add_problem(checker *c, const char *file, const char *fmt, ...) {
  int last = 0;
  if (!strcmp(c->cur_file, file)) {
    if (++c->cur_count > MAX_PER_FILE + 1) return;
    last = c->cur_count == MAX_PER_FILE + 1;
  } else {
    snprintf(c->cur_file, sizeof c->cur_file, "%s", file);
    c->cur_count = 1;
  }
  char text[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (last) snprintf(text, sizeof text, "(more problems in this file are not shown)");
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    problem *q = realloc(c->p, cap * sizeof *q);
    if (!q) {
      c->nomem = 1;
      return;
    }
    c->p = q;
    c->cap = cap;
  }
  c->p[c->n].file = strdup(file);
  c->p[c->n].text = strdup(text);
  if (!c->p[c->n].file || !c->p[c->n].text) {
    free(c->p[c->n].file);
    free(c->p[c->n].text);
    c->nomem = 1;
    return;
  }
  c->n++;
}

/* Non-zero when a call's status is a problem to report; out of memory is
 * not one (the file may be fine): it ends the check with OSQ_E_NOMEM. */
static int bad(checker *c, int rc) {
  if (rc == OSQ_E_NOMEM) {
    c->nomem = 1;
    return 0;
  }
  return rc != OSQ_OK;
}

/* The reader's last error without the "DIR/FILE: " it starts with. */
static const char *reason(const char *dir, const char *file) {
  const char *m = osq_last_error();
  size_t dl = strlen(dir), fl = strlen(file);
  if (!strncmp(m, dir, dl) && m[dl] == '/' && !strncmp(m + dl + 1, file, fl) && m[dl + 1 + fl] == ':') {
    m += dl + 1 + fl + 1;
    while (*m == ' ') m++;
  }
  return m;
}

static void clear_problems(checker *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->p[i].file);
    free(c->p[i].text);
  }
  c->n = 0;
  c->cur_file[0] = 0;
  c->cur_count = 0;
}

static void clear_ids(checker *c) {
  for (size_t i = 0; i < c->ids_cap; i++) free(c->ids[i]);
  free(c->ids);
  free(c->id_seg);
  c->ids = NULL;
  c->id_seg = NULL;
  c->ids_cap = c->ids_n = 0;
}

/* Records a live id; returns the segment number that already had it, or 0. */
static uint32_t see_id(checker *c, const char *id, uint32_t seg) {
  if ((c->ids_n + 1) * 2 > c->ids_cap) {
    size_t cap = c->ids_cap ? c->ids_cap * 2 : 1024;
    char **t = calloc(cap, sizeof *t);
    uint32_t *s = calloc(cap, sizeof *s);
    if (!t || !s) {
      free(t);
      free(s);
      c->nomem = 1;
      return 0;
    }
    for (size_t i = 0; i < c->ids_cap; i++) {
      if (!c->ids[i]) continue;
      size_t j = (size_t)osq__hash(c->ids[i], strlen(c->ids[i])) & (cap - 1);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = c->ids[i];
      s[j] = c->id_seg[i];
    }
    free(c->ids);
    free(c->id_seg);
    c->ids = t;
    c->id_seg = s;
    c->ids_cap = cap;
  }
  size_t len = strlen(id), j = (size_t)osq__hash(id, len) & (c->ids_cap - 1);
  while (c->ids[j]) {
    if (!strcmp(c->ids[j], id)) return c->id_seg[j];
    j = (j + 1) & (c->ids_cap - 1);
  }
  if (!(c->ids[j] = strdup(id))) {
    c->nomem = 1;
    return 0;
  }
  c->id_seg[j] = seg;
  c->ids_n++;
  return 0;
}

/* ---- dictionary and postings ---------------------------------------------- */

typedef struct {
  checker *c;
  const char *file;
  const osq__segment *seg;
  uint8_t prev[OSQ__MAX_TERM + 1];
  size_t prev_len;
  uint64_t nterms;
  int stop;
  uint32_t *pos;
  size_t pos_cap;
} dict_walk;

static void term_text(const uint8_t *t, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 5 < cap; i++) {
    if (t[i] >= 0x20 && t[i] != 0x7f) out[o++] = (char)t[i];
    else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", t[i]);
  }
  out[o] = 0;
}

static void check_postings(dict_walk *dw, const uint8_t *term, size_t len, const osq__term_info *ti) {
  checker *c = dw->c;
  const osq__segment *seg = dw->seg;
  char tt[300];
  osq__cursor cur;
  int rc = osq__cursor_open(&cur, seg, ti);
  uint64_t n = 0;
  uint32_t last = 0;
  while (rc == OSQ_OK) {
    uint32_t pid = cur.pid, tf = osq__cursor_tf(&cur);
    if (n > 0 && pid <= last) {
      term_text(term, len, tt, sizeof tt);
      add_problem(c, dw->file, "postings of term '%s' are not in ascending passage order (%u after %u)", tt, pid, last);
      return;
    }
    if (tf == 0 || tf > ti->max_tf) {
      term_text(term, len, tt, sizeof tt);
      add_problem(c, dw->file, "term '%s': passage %u has tf %u, above the dictionary's bound %u", tt, pid, tf,
                  ti->max_tf);
      return;
    }
    if (tf > dw->pos_cap) {
      uint32_t *p = realloc(dw->pos, tf * sizeof *p);
      if (!p) {
        c->nomem = 1;
        return;
      }
      dw->pos = p;
      dw->pos_cap = tf;
    }
    long np = osq__cursor_positions(&cur, dw->pos, tf);
    osq__passage_info pi;
    if (np != (long)tf) {
      term_text(term, len, tt, sizeof tt);
      add_problem(c, dw->file, "term '%s': positions of passage %u do not decode (%ld of tf %u)", tt, pid, np, tf);
      return;
    }
    if (osq__segment_passage(seg, pid, &pi) == OSQ_OK) {
      for (uint32_t k = 0; k < tf; k++) {
        if ((k > 0 && dw->pos[k] <= dw->pos[k - 1]) || dw->pos[k] >= pi.positions) {
          term_text(term, len, tt, sizeof tt);
          add_problem(c, dw->file, "term '%s': position %u in passage %u is out of order or past its %u tokens", tt,
                      dw->pos[k], pid, pi.positions);
          return;
        }
      }
    }
    last = pid;
    n++;
    rc = osq__cursor_next(&cur);
  }
  term_text(term, len, tt, sizeof tt);
  if (rc != OSQ_DONE && bad(c, rc))
    add_problem(c, dw->file, "term '%s': posting list: %s", tt, reason(c->dir, dw->file));
  else if (n != ti->df)
    add_problem(c, dw->file, "term '%s': %llu postings, the dictionary says df %u", tt, (unsigned long long)n, ti->df);
}

static int on_term(void *ctx, const uint8_t *term, size_t len, const osq__term_info *ti) {
  dict_walk *dw = ctx;
  if (dw->nterms > 0) {
    size_t m = len < dw->prev_len ? len : dw->prev_len;
    int cmp = memcmp(dw->prev, term, m);
    if (cmp > 0 || (cmp == 0 && dw->prev_len >= len)) {
      char a[300], b[300];
      term_text(dw->prev, dw->prev_len, a, sizeof a);
      term_text(term, len, b, sizeof b);
      add_problem(dw->c, dw->file, "dictionary is out of order: '%s' before '%s'", a, b);
      dw->stop = 1;
      return 1;
    }
  }
  memcpy(dw->prev, term, len);
  dw->prev_len = len;
  dw->nterms++;
  if (ti->df == 0 || ti->df > dw->seg->npassages || ti->max_tf == 0) {
    char a[300];
    term_text(term, len, a, sizeof a);
    add_problem(dw->c, dw->file, "term '%s' has df %u, max tf %u in a segment of %u passages", a, ti->df, ti->max_tf,
                dw->seg->npassages);
  }
  if (dw->c->deep) check_postings(dw, term, len, ti);
  return dw->c->nomem;
}

/* ---- one segment -------------------------------------------------------------- */

static void check_segment(checker *c, const osq__manifest_seg *e, const osq__segment *seg,
                          const osq__deletions *d) {
  char name[64];
  osq__segment_name(e->number, name, sizeof name);
  /* checksums */
  if (osq__segment_verify(seg) != OSQ_OK) add_problem(c, name, "%s", reason(c->dir, name));
  /* dictionary (and, deep, postings) */
  dict_walk dw;
  memset(&dw, 0, sizeof dw);
  dw.c = c;
  dw.file = name;
  dw.seg = seg;
  int rc = osq__segment_prefix(seg, (const uint8_t *)"", 0, on_term, &dw);
  if (bad(c, rc)) add_problem(c, name, "dictionary: %s", reason(c->dir, name));
  else if (!dw.stop && !c->nomem && dw.nterms != seg->nterms)
    add_problem(c, name, "dictionary holds %llu terms, the header says %u", (unsigned long long)dw.nterms, seg->nterms);
  free(dw.pos);
  /* documents, passages, store, deletions */
  uint32_t next_pid = 0;
  uint64_t tokens = 0;
  osq__store_cache sc = {0};
  uint8_t *want_del = calloc(((size_t)seg->npassages + 7) / 8 + 1, 1);
  if (!want_del) {
    c->nomem = 1;
    return;
  }
  for (uint32_t doc = 0; doc < seg->ndocs && !c->nomem; doc++) {
    osq__doc_info di;
    char *storage = NULL;
    if ((rc = osq__segment_doc(seg, doc, &di, &storage)) != OSQ_OK) {
      if (bad(c, rc)) add_problem(c, name, "document %u: %s", doc, reason(c->dir, name));
      continue;
    }
    int deleted = osq__bit(d->docs, doc);
    if (!di.id[0]) add_problem(c, name, "document %u has an empty id", doc);
    if (di.first_passage != next_pid)
      add_problem(c, name, "document %u ('%s') starts at passage %u, expected %u", doc, di.id, di.first_passage,
                  next_pid);
    if (di.first_passage > seg->npassages || di.npassages > seg->npassages - di.first_passage) {
      add_problem(c, name, "document %u ('%s') has passages %u..%u, past the %u of the segment", doc, di.id,
                  di.first_passage, di.first_passage + di.npassages, seg->npassages);
      free(storage);
      continue;
    }
    for (uint32_t p = di.first_passage; p < di.first_passage + di.npassages; p++) {
      osq__passage_info pi;
      if (deleted) osq__set_bit(want_del, p);
      if (osq__segment_passage(seg, p, &pi) != OSQ_OK) {
        add_problem(c, name, "passage %u: %s", p, reason(c->dir, name));
        continue;
      }
      tokens += pi.ntokens;
      if (pi.doc != doc)
        add_problem(c, name, "passage %u belongs to document %u but lies in the range of document %u ('%s')", p,
                    pi.doc, doc, di.id);
      char *text = NULL;
      size_t tl;
      if (bad(c, osq__segment_passage_text_cached(seg, &sc, p, &text, &tl)))
        add_problem(c, name, "text of passage %u (document '%s'): %s", p, di.id, reason(c->dir, name));
      free(text);
    }
    if (di.first_passage + di.npassages > next_pid) next_pid = di.first_passage + di.npassages;
    if (!deleted) {
      uint32_t other = see_id(c, di.id, e->number);
      if (other)
        add_problem(c, name, "document id '%s' is live here and in seg-%08u.osq (a replaced version was not deleted)",
                    di.id, other);
    }
    free(storage);
  }
  if (next_pid != seg->npassages)
    add_problem(c, name, "documents cover %u passages, the segment has %u", next_pid, seg->npassages);
  if (tokens != seg->total_tokens)
    add_problem(c, name, "passages hold %llu tokens, the header says %llu", (unsigned long long)tokens,
                (unsigned long long)seg->total_tokens);
  if (e->flags & OSQ__SEGF_DELETIONS) {
    char dname[64];
    osq__deletions_name(e->number, e->del_gen, dname, sizeof dname);
    if (memcmp(want_del, d->passages, ((size_t)seg->npassages + 7) / 8) != 0)
      add_problem(c, dname, "passage bitmap does not match the passages of the deleted documents");
  }
  free(want_del);
  osq__store_cache_free(&sc);
}

/* ---- the whole index ---------------------------------------------------------- */

/* Checks every segment file in the directory on its own (the manifest is
 * unreadable, so nothing says which are live). */
static void check_orphans(checker *c) {
  DIR *dd = opendir(c->dir);
  if (!dd) return;
  struct dirent *de;
  while ((de = readdir(dd))) {
    uint32_t num;
    uint64_t gen;
    if (osq__index_file_kind(de->d_name, &num, &gen) != 1) continue;
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", c->dir, de->d_name);
    osq__segment seg;
    if (osq__segment_open(path, &seg) != OSQ_OK) {
      add_problem(c, de->d_name, "%s", reason(c->dir, de->d_name));
      continue;
    }
    if (osq__segment_verify(&seg) != OSQ_OK) add_problem(c, de->d_name, "%s", reason(c->dir, de->d_name));
    osq__segment_close(&seg);
  }
  closedir(dd);
}

static uint64_t count_stray(const char *dir, const osq__manifest *m) {
  DIR *dd = opendir(dir);
  if (!dd) return 0;
  uint64_t n = 0;
  struct dirent *de;
  while ((de = readdir(dd))) {
    uint32_t num = 0;
    uint64_t gen = 0;
    int kind = osq__index_file_kind(de->d_name, &num, &gen), named = 0;
    if (!kind) continue;
    for (uint32_t i = 0; i < m->nsegs && !named; i++)
      named = m->segs[i].number == num &&
              (kind == 1 || (kind == 2 && (m->segs[i].flags & OSQ__SEGF_DELETIONS) && m->segs[i].del_gen == gen));
    n += !named;
  }
  closedir(dd);
  return n;
}

/* One pass over the manifest's snapshot.  Returns the manifest status (OSQ_OK
 * when it was read) and *gen its generation. */
static int check_once(checker *c, uint64_t *gen, uint64_t *stray) {
  osq__manifest m;
  int rc = osq__manifest_read(c->dir, &m);
  if (rc == OSQ_E_NOINDEX || rc == OSQ_E_NOMEM) return rc;
  if (rc) {
    add_problem(c, "MANIFEST", "%s", reason(c->dir, "MANIFEST"));
    c->manifest_bad = 1;
    check_orphans(c);
    return rc;
  }
  *gen = m.generation;
  osq__segment *segs = calloc(m.nsegs ? m.nsegs : 1, sizeof *segs);
  osq__deletions *dels = calloc(m.nsegs ? m.nsegs : 1, sizeof *dels);
  char *ok = calloc(m.nsegs ? m.nsegs : 1, 1);
  if (!segs || !dels || !ok) {
    free(segs);
    free(dels);
    free(ok);
    osq__manifest_free(&m);
    return OSQ_E_NOMEM;
  }
  /* Map everything first: what is mapped stays readable even if a writer
   * deletes it now. */
  for (uint32_t i = 0; i < m.nsegs; i++) {
    const osq__manifest_seg *e = &m.segs[i];
    char name[64], path[4400];
    osq__segment_name(e->number, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if ((rc = osq__segment_open(path, &segs[i])) != OSQ_OK) {
      if (bad(c, rc)) add_problem(c, name, "%s", reason(c->dir, name));
      continue;
    }
    if (segs[i].map.n != e->bytes || segs[i].ndocs != e->ndocs || segs[i].npassages != e->npassages) {
      add_problem(c, name, "the manifest says %llu bytes, %u documents, %u passages; the file has %zu, %u, %u",
                  (unsigned long long)e->bytes, e->ndocs, e->npassages, segs[i].map.n, segs[i].ndocs,
                  segs[i].npassages);
      osq__segment_close(&segs[i]);
      continue;
    }
    if (e->flags & OSQ__SEGF_DELETIONS) {
      char dname[64];
      osq__deletions_name(e->number, e->del_gen, dname, sizeof dname);
      if ((rc = osq__deletions_read(c->dir, e, &dels[i])) != OSQ_OK) {
        if (bad(c, rc)) add_problem(c, dname, "%s", reason(c->dir, dname));
        osq__segment_close(&segs[i]);
        continue;
      }
    } else if (osq__deletions_init(&dels[i], e->ndocs, e->npassages) != OSQ_OK) {
      c->nomem = 1;
      osq__segment_close(&segs[i]);
      break;
    }
    ok[i] = 1;
  }
  for (uint32_t i = 0; i < m.nsegs && !c->nomem; i++)
    if (ok[i]) check_segment(c, &m.segs[i], &segs[i], &dels[i]);
  for (uint32_t i = 0; i < m.nsegs; i++)
    if (ok[i]) {
      osq__segment_close(&segs[i]);
      osq__deletions_free(&dels[i]);
    }
  /* What is lost: the live documents of the segments with a problem in
   * their file or their deletion file. */
  c->live_docs = c->lost_docs = 0;
  c->damaged_segs = 0;
  for (uint32_t i = 0; i < m.nsegs; i++) {
    const osq__manifest_seg *e = &m.segs[i];
    char name[64], dname[64];
    osq__segment_name(e->number, name, sizeof name);
    osq__deletions_name(e->number, e->del_gen, dname, sizeof dname);
    int hit = 0;
    for (size_t k = 0; k < c->n && !hit; k++)
      hit = !strcmp(c->p[k].file, name) || ((e->flags & OSQ__SEGF_DELETIONS) && !strcmp(c->p[k].file, dname));
    c->live_docs += e->ndocs - e->del_docs;
    if (hit) {
      c->lost_docs += e->ndocs - e->del_docs;
      c->damaged_segs++;
    }
  }
  if (stray) *stray = count_stray(c->dir, &m);
  free(segs);
  free(dels);
  free(ok);
  osq__manifest_free(&m);
  return OSQ_OK;
}

OSQ_EXPORT int osq_index_check(const char *dir, int deep, osq_check_fn report, void *ctx, uint64_t *stray) {
  osq__clear_error();
  if (stray) *stray = 0;
  checker c;
  memset(&c, 0, sizeof c);
  c.dir = dir;
  c.deep = deep;
  int rc = OSQ_OK;
  for (int run = 0; run < MAX_RUNS; run++) {
    clear_problems(&c);
    clear_ids(&c);
    c.nomem = 0;
    c.manifest_bad = 0;
    c.damaged_segs = 0;
    uint64_t gen = 0;
    rc = check_once(&c, &gen, stray);
    if (rc == OSQ_E_NOINDEX || rc == OSQ_E_NOMEM || c.nomem || c.n == 0) break;
    /* Problems: made by a writer that published a new manifest meanwhile? */
    if (!osq__manifest_moved(dir, gen)) break;
  }
  if (c.nomem || rc == OSQ_E_NOMEM) {
    rc = osq__fail(OSQ_E_NOMEM, "%s: out of memory while checking (%zu problem%s found before that): the check did "
                   "not finish, which says nothing about damage; run it again with more memory", dir, c.n,
                   c.n == 1 ? "" : "s");
  } else if (rc != OSQ_E_NOINDEX && c.n > 0) {
    for (size_t i = 0; i < c.n; i++)
      if (report) report(ctx, c.p[i].file, c.p[i].text);
    rc = rc == OSQ_E_VERSION ? OSQ_E_VERSION : OSQ_E_CORRUPT;
    if (c.manifest_bad)
      osq__fail(rc, "%s: %zu problem%s found; the MANIFEST cannot be read, so which documents are affected is not "
                "known (the segment files may be intact)", dir, c.n, c.n == 1 ? "" : "s");
    else if (c.damaged_segs)
      osq__fail(rc, "%s: %zu problem%s found; %u damaged segment%s hold%s %llu of the index's %llu documents, the "
                "others are in intact files", dir, c.n, c.n == 1 ? "" : "s", c.damaged_segs,
                c.damaged_segs == 1 ? "" : "s", c.damaged_segs == 1 ? "s" : "", (unsigned long long)c.lost_docs,
                (unsigned long long)c.live_docs);
    else
      osq__fail(rc, "%s: %zu problem%s found", dir, c.n, c.n == 1 ? "" : "s");
  } else if (rc != OSQ_E_NOINDEX) {
    rc = OSQ_OK;
  }
  clear_problems(&c);
  clear_ids(&c);
  free(c.p);
  return rc;
}

/* ---- osq_index_info_get --------------------------------------------------------- */

static const char *const part_names[OSQ_PART_COUNT] = {"dictionary", "postings", "positions", "passages",
                                                       "documents",  "store",    "other",     "deletions"};

OSQ_EXPORT const char *osq_part_name(int part) {
  return part >= 0 && part < OSQ_PART_COUNT ? part_names[part] : "?";
}

static int part_of_section(int s) {
  switch (s) {
    case OSQ__SEC_DICT_INDEX:
    case OSQ__SEC_DICT: return OSQ_PART_DICTIONARY;
    case OSQ__SEC_POSTINGS: return OSQ_PART_POSTINGS;
    case OSQ__SEC_POSITIONS: return OSQ_PART_POSITIONS;
    case OSQ__SEC_PASSAGES: return OSQ_PART_PASSAGES;
    case OSQ__SEC_DOCS: return OSQ_PART_DOCUMENTS;
    case OSQ__SEC_STORE: return OSQ_PART_STORE;
    default: return OSQ_PART_OTHER;
  }
}

OSQ_EXPORT void osq_index_info_free(osq_index_info *info) {
  if (!info) return;
  free(info->segments);
  free(info);
}

/* One snapshot's description; OSQ_E_CORRUPT when a named file is missing. */
static int info_once(const char *dir, const osq__manifest *m, osq_index_info *info) {
  char mpath[4400];
  snprintf(mpath, sizeof mpath, "%s/MANIFEST", dir);
  info->manifest_bytes = 32 + 4 + (uint64_t)m->nsegs * 40;
  info->stats.generation = m->generation;
  for (uint32_t i = 0; i < m->nsegs; i++) {
    const osq__manifest_seg *e = &m->segs[i];
    osq__segment seg;
    osq__deletions d;
    int rc = osq__open_segment_entry(dir, e, &seg, &d, 0);
    if (rc) return rc;
    osq_segment_info *si = &info->segments[info->nsegments++];
    si->number = e->number;
    si->documents = e->ndocs - e->del_docs;
    si->deleted_documents = e->del_docs;
    si->passages = e->npassages - e->del_passages;
    si->deleted_passages = e->del_passages;
    si->terms = seg.nterms;
    si->bytes = seg.map.n;
    uint64_t in_sections = 0;
    for (int s = 0; s < OSQ__SEG_NSECTIONS; s++) {
      info->part_bytes[part_of_section(s)] += seg.sec[s].n;
      in_sections += seg.sec[s].n;
    }
    info->part_bytes[OSQ_PART_OTHER] += seg.map.n - in_sections;
    if (e->flags & OSQ__SEGF_DELETIONS) {
      uint64_t db = osq__deletions_file_bytes(e->ndocs, e->npassages);
      si->bytes += db;
      info->part_bytes[OSQ_PART_DELETIONS] += db;
    }
    info->stats.segments++;
    info->stats.documents += si->documents;
    info->stats.deleted_documents += si->deleted_documents;
    info->stats.passages += si->passages;
    info->stats.deleted_passages += si->deleted_passages;
    info->stats.terms += si->terms;
    info->stats.bytes += si->bytes;
    osq__segment_close(&seg);
    osq__deletions_free(&d);
  }
  return OSQ_OK;
}

OSQ_EXPORT int osq_index_info_get(const char *dir, osq_index_info **out) {
  *out = NULL;
  osq__clear_error();
  for (int attempt = 0;; attempt++) {
    osq__manifest m;
    int rc = osq__manifest_read(dir, &m);
    if (rc) return rc;
    osq_index_info *info = calloc(1, sizeof *info);
    if (info) info->segments = calloc(m.nsegs ? m.nsegs : 1, sizeof *info->segments);
    if (!info || !info->segments) {
      osq_index_info_free(info);
      osq__manifest_free(&m);
      return OSQ_E_NOMEM;
    }
    rc = info_once(dir, &m, info);
    uint64_t gen = m.generation;
    osq__manifest_free(&m);
    if (!rc) {
      *out = info;
      return OSQ_OK;
    }
    osq_index_info_free(info);
    if (rc == OSQ_E_NOMEM || attempt >= 100) return rc;
    if (!osq__manifest_moved(dir, gen)) return rc;
  }
}
