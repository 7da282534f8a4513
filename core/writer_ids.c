/*
 * writer_ids.c -- document ids, replacement and deletion.
 *
 * IDS, REPLACEMENT, DELETION.  A document id is live at most once.  Before
 * the first add or delete, the writer reads the id of every live document of
 * every live segment into a hash table id -> (segment number, document)
 * (about 64 bytes plus the id's length per document: 64 MB for a million
 * documents); documents added through the writer join it, under the number
 * their in-memory segment will get when flushed.  Adding an id that is in
 * the table, or deleting one, queues the old (segment, document) for
 * deletion; the commit turns the queue into new deletion files (manifest.c)
 * published by the same manifest as the new segments, so a replacement is
 * atomic: readers see the old version or the new one, never both or none.
 */
#include "writer_int.h"

typedef struct idslot {
  uint64_t hash;
  uint32_t off, len; /* the id in w->id_bytes; len 0: an empty slot */
  uint32_t seg, doc; /* where the live document is; seg 0: none (deleted) */
} idslot;

/* The slot holding id, or the empty slot where it would go. */
static idslot *id_slot(osq_writer *w, const char *id, size_t len, uint64_t h) {
  size_t mask = w->ids_cap - 1, i = (size_t)h & mask;
  for (;;) {
    idslot *s = &w->ids[i];
    if (s->len == 0) return s;
    if (s->hash == h && s->len == len && !memcmp(w->id_bytes.p + s->off, id, len)) return s;
    i = (i + 1) & mask;
  }
}

static int ids_grow(osq_writer *w) {
  size_t cap = w->ids_cap ? w->ids_cap * 2 : 1024;
  idslot *t = calloc(cap, sizeof *t);
  if (!t) return OSQ_E_NOMEM;
  for (size_t i = 0; i < w->ids_cap; i++) {
    if (!w->ids[i].len) continue;
    size_t j = (size_t)w->ids[i].hash & (cap - 1);
    while (t[j].len) j = (j + 1) & (cap - 1);
    t[j] = w->ids[i];
  }
  free(w->ids);
  w->ids = t;
  w->ids_cap = cap;
  return OSQ_OK;
}

static int queue_deletion(osq_writer *w, uint32_t seg, uint32_t doc) {
  if (w->npending == w->pending_cap) {
    size_t cap = w->pending_cap ? w->pending_cap * 2 : 256;
    uint64_t *p = realloc(w->pending, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->pending = p;
    w->pending_cap = cap;
  }
  w->pending[w->npending++] = ((uint64_t)seg << 32) | doc;
  return OSQ_OK;
}

/* Records that id now lives at (seg, doc); an older live document with the
 * same id is queued for deletion (*replaced set). */
static int id_put(osq_writer *w, const char *id, size_t len, uint32_t seg, uint32_t doc, int *replaced) {
  *replaced = 0;
  if ((w->ids_used + 1) * 2 > w->ids_cap && ids_grow(w)) return OSQ_E_NOMEM;
  uint64_t h = osq__hash(id, len);
  idslot *s = id_slot(w, id, len, h);
  if (s->len == 0) {
    if (len > UINT32_MAX || w->id_bytes.n > UINT32_MAX - len) return osq__fail(OSQ_E_NOMEM, "too many document ids");
    s->off = (uint32_t)w->id_bytes.n;
    if (osq__buf_put(&w->id_bytes, id, len)) {
      s->off = 0;
      return OSQ_E_NOMEM;
    }
    s->hash = h;
    s->len = (uint32_t)len;
    w->ids_used++;
  } else if (s->seg) {
    int rc = queue_deletion(w, s->seg, s->doc);
    if (rc) return rc;
    *replaced = 1;
  }
  s->seg = seg;
  s->doc = doc;
  return OSQ_OK;
}

static int open_segment(const osq_writer *w, const osq__manifest_seg *e, osq__segment *seg, osq__deletions *d) {
  return osq__open_segment_entry(w->dir, e, seg, d, 1);
}

/* Reads the ids of the live documents of the live segments, once. */
int osq__writer_load_ids(osq_writer *w) {
  if (w->ids_loaded || w->merging) return OSQ_OK;
  if (!w->opts.replace || w->replace_done) {
    for (uint32_t i = 0; i < w->man.nsegs; i++) {
      const osq__manifest_seg *e = &w->man.segs[i];
      osq__segment seg;
      osq__deletions d;
      int rc = open_segment(w, e, &seg, &d);
      if (rc) return rc;
      for (uint32_t doc = 0; doc < e->ndocs && !rc; doc++) {
        if (osq__bit(d.docs, doc)) continue;
        osq__doc_info di;
        char *storage = NULL;
        int replaced;
        if ((rc = osq__segment_doc(&seg, doc, &di, &storage))) break;
        /* An index written before ids were unique may hold an id twice: the
         * later segment's document wins, and the commit deletes the other. */
        rc = id_put(w, di.id, strlen(di.id), e->number, doc, &replaced);
        free(storage);
      }
      osq__segment_close(&seg);
      osq__deletions_free(&d);
      if (rc) return rc;
    }
  }
  w->ids_loaded = 1;
  return OSQ_OK;
}

/* Called by osq_writer_add once document doc of the in-memory segment is
 * complete.  The in-memory segment becomes segment number next_segment when
 * flushed (osq__writer_flush allocates numbers in order). */
int osq__writer_note_id(osq_writer *w, const char *id, uint32_t doc) {
  if (w->merging) return OSQ_OK;
  int replaced;
  int rc = id_put(w, id, strlen(id), w->man.next_segment, doc, &replaced);
  if (!rc && replaced) w->stats.replaced++;
  return rc;
}

int osq__writer_delete(osq_writer *w, const char *id) {
  int rc = osq__writer_load_ids(w);
  if (rc) return rc;
  size_t len = strlen(id);
  idslot *s = w->ids_cap ? id_slot(w, id, len, osq__hash(id, len)) : NULL;
  if (!s || !s->len || !s->seg) return osq__fail(OSQ_E_NOTFOUND, "%s: no document with id '%s'", w->dir, id);
  if ((rc = queue_deletion(w, s->seg, s->doc))) return rc;
  s->seg = 0;
  w->stats.deleted++;
  return OSQ_OK;
}

/* Forgets the id table (after a merge renumbered documents). */
void osq__writer_drop_ids(osq_writer *w) {
  free(w->ids);
  w->ids = NULL;
  w->ids_cap = w->ids_used = 0;
  osq__buf_free(&w->id_bytes);
  w->ids_loaded = 0;
}

static int cmp_u64_asc(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Turns the queued deletions into deletion files for m (generation
 * m->generation); segments left without a live document leave m. */
int osq__writer_apply_deletions(osq_writer *w, osq__manifest *m) {
  if (w->npending == 0) return OSQ_OK;
  qsort(w->pending, w->npending, sizeof *w->pending, cmp_u64_asc);
  int rc = OSQ_OK;
  for (size_t i = 0; i < w->npending && !rc;) {
    uint32_t number = (uint32_t)(w->pending[i] >> 32);
    size_t j = i;
    while (j < w->npending && (uint32_t)(w->pending[j] >> 32) == number) j++;
    osq__manifest_seg *e = NULL;
    for (uint32_t k = 0; k < m->nsegs; k++)
      if (m->segs[k].number == number) e = &m->segs[k];
    if (!e) { /* a segment this commit replaces (a rebuild) */
      i = j;
      continue;
    }
    osq__segment seg;
    osq__deletions d;
    if ((rc = open_segment(w, e, &seg, &d))) break;
    for (size_t k = i; k < j && !rc; k++) {
      uint32_t doc = (uint32_t)w->pending[k];
      if (doc >= d.ndocs) {
        rc = osq__fail(OSQ_E_CORRUPT, "%s: internal: deleting document %u of %u", seg.path, doc, d.ndocs);
        break;
      }
      if (osq__bit(d.docs, doc)) continue;
      osq__doc_info di;
      char *storage = NULL;
      if ((rc = osq__segment_doc(&seg, doc, &di, &storage))) break;
      free(storage);
      if (di.first_passage > d.npassages || di.npassages > d.npassages - di.first_passage) {
        rc = osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: document %u has passages out of range", seg.path, doc);
        break;
      }
      osq__set_bit(d.docs, doc);
      d.del_docs++;
      for (uint32_t p = di.first_passage; p < di.first_passage + di.npassages; p++)
        if (!osq__bit(d.passages, p)) {
          osq__set_bit(d.passages, p);
          d.del_passages++;
        }
    }
    osq__segment_close(&seg);
    if (!rc && d.del_docs == d.ndocs) {
      e->number = 0; /* nothing live: drop the segment (below) */
    } else if (!rc) {
      uint64_t bytes;
      rc = osq__deletions_write(w->dir, number, m->generation, &d, &bytes);
      e->flags |= OSQ__SEGF_DELETIONS;
      e->del_gen = m->generation;
      e->del_docs = d.del_docs;
      e->del_passages = d.del_passages;
    }
    osq__deletions_free(&d);
    i = j;
  }
  if (rc) return rc;
  uint32_t n = 0;
  for (uint32_t k = 0; k < m->nsegs; k++)
    if (m->segs[k].number) m->segs[n++] = m->segs[k];
  m->nsegs = n;
  return OSQ_OK;
}
