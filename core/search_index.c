/*
 * search_index.c -- opening and closing an index: the snapshot of segments
 * and deletions a manifest names, the index's statistics, and its lifetime
 * (references held by results).  Also the ranking parameters every search
 * reads, and their override from the environment for sweeps.
 */
#include "search_int.h"

double osq__tune_k1 = OSQ__BM25_K1, osq__tune_b = OSQ__BM25_B, osq__tune_pair_w = 0.1, osq__tune_tail_w = 0.15;
int osq__tune_pair_mode = 2;
double osq__tune_tail2_w = 0.3;
double osq__tune_whole_w = 1.0;
double osq__tune_word_w = 2.0; /* a Latin word or a number, against a Korean word's bigrams */
size_t osq__tune_share_all = 3;  /* need_of */
double osq__tune_share = 0.6;
int osq__tune_tiers = 1;
int osq__tune_weak2 = 1;
int osq__tune_req = 1; /* 0: no matching by words (sweeps) */
size_t osq__tune_whole_max = 1;
int osq__tune_pmode = 2;
double osq__tune_title_w = OSQ__TITLE_W;
/* The stem field (docs/ranking.md): the weight of a query word's stem term,
 * and of a letters-and-digits word's second count (the stem field holds
 * such words too); query stop words (OSQ__STEM_QSTOP) are left out. */
double osq__tune_stem_w = 2.0;
int osq__tune_stem_words = 1, osq__tune_stem_qstop = 1, osq__tune_stem_join = 1;
/* Ranking parameters can be overridden from the environment for sweeps
 * (docs/ranking.md lists them).  The stored block bounds are used only with
 * the default k1, b and title weight; pruning is exact for the defaults
 * (tests compare it with exhaustive evaluation), not for every setting.
 *
 * THREADS.  The variables above are written here only, once per process,
 * by the first osq_index_open (pthread_once), and only read after: every
 * search of every thread then sees the same values, and the once gives the
 * happens-before that makes them safe to read without a lock.  A sweep sets
 * the environment before the process starts (osbench, bench/relevance); a
 * change to the environment after the first open is not seen.  Builds with
 * -DOSQ_TESTING=OFF (CMakeLists.txt) leave this out: the defaults above are
 * then the only values. */
static pthread_once_t tune_once = PTHREAD_ONCE_INIT;
static void tune_from_env(void) {
#ifdef OSQ_TESTING
  const char *v;
  if ((v = getenv("OSQ_K1"))) osq__tune_k1 = atof(v);
  if ((v = getenv("OSQ_B"))) osq__tune_b = atof(v);
  if ((v = getenv("OSQ_PAIRW"))) osq__tune_pair_w = atof(v);
  if ((v = getenv("OSQ_TAILW"))) osq__tune_tail_w = atof(v);
  if ((v = getenv("OSQ_PAIRMODE"))) osq__tune_pair_mode = atoi(v);
  if ((v = getenv("OSQ_TAIL2W"))) osq__tune_tail2_w = atof(v);
  if ((v = getenv("OSQ_PMODE"))) osq__tune_pmode = atoi(v);
  if ((v = getenv("OSQ_TITLEW"))) osq__tune_title_w = atof(v);
  if ((v = getenv("OSQ_WHOLEW"))) osq__tune_whole_w = atof(v);
  if ((v = getenv("OSQ_WHOLEMAX"))) osq__tune_whole_max = (size_t)atoi(v);
  if ((v = getenv("OSQ_WORDW"))) osq__tune_word_w = atof(v);
  if ((v = getenv("OSQ_SHARE_ALL"))) osq__tune_share_all = (size_t)atoi(v);
  if ((v = getenv("OSQ_SHARE"))) osq__tune_share = atof(v);
  if ((v = getenv("OSQ_TIERS"))) osq__tune_tiers = atoi(v);
  if ((v = getenv("OSQ_WEAK2"))) osq__tune_weak2 = atoi(v);
  if ((v = getenv("OSQ_REQ"))) osq__tune_req = atoi(v);
  if ((v = getenv("OSQ_STEMW"))) osq__tune_stem_w = atof(v);
  if ((v = getenv("OSQ_STEMWORDS"))) osq__tune_stem_words = atoi(v);
  if ((v = getenv("OSQ_QSTOP"))) osq__tune_stem_qstop = atoi(v);
  if ((v = getenv("OSQ_STEMJOIN"))) osq__tune_stem_join = atoi(v);
#endif
}


/* ---- opening ------------------------------------------------------------ */

/* Opens the segments and deletion files m names.
 *
 * Deleted passages are never returned (osq__search_segment skips them), but they
 * stay in N, in the average passage length and in every df until a merge
 * drops them, as Lucene's maxDoc and docFreq do: the statistics stay
 * consistent with one another (no df exceeds N, no idf goes negative) at the
 * price of an approximation that only matters after many deletions, and the
 * automatic merge policy rewrites a segment once half of it is deleted. */
static int open_snapshot(osq_index *ix, const char *dir, const osq__manifest *m) {
  ix->segs = calloc(m->nsegs ? m->nsegs : 1, sizeof *ix->segs);
  ix->dels = calloc(m->nsegs ? m->nsegs : 1, sizeof *ix->dels);
  if (!ix->segs || !ix->dels) return OSQ_E_NOMEM;
  ix->generation = m->generation;
  for (uint32_t i = 0; i < m->nsegs; i++) {
    int rc = osq__open_segment_entry(dir, &m->segs[i], &ix->segs[i], &ix->dels[i], 0);
    if (rc) return rc;
    ix->nsegs++;
    osq__segment *s = &ix->segs[i];
    if (m->segs[i].flags & OSQ__SEGF_DELETIONS) s->deleted = ix->dels[i].passages;
    ix->npassages += s->npassages;
    ix->ndocs += s->ndocs;
    ix->total_tokens += s->total_tokens;
    ix->bytes += s->map.n;
    if (m->segs[i].flags & OSQ__SEGF_DELETIONS)
      ix->bytes += osq__deletions_file_bytes(m->segs[i].ndocs, m->segs[i].npassages);
    ix->terms += s->nterms;
    ix->del_docs += ix->dels[i].del_docs;
    ix->del_passages += ix->dels[i].del_passages;
  }
  return OSQ_OK;
}

OSQ_EXPORT int osq_index_open(const char *dir, osq_index **out) {
  *out = NULL;
  osq__clear_error();
  pthread_once(&tune_once, tune_from_env);
  /* A writer deletes the files of a superseded manifest right after it
   * publishes the next one.  When a file this manifest names is gone or
   * damaged and the manifest has moved on meanwhile, the newer snapshot is
   * what to open (manifest.c, SNAPSHOTS). */
  for (int attempt = 0;; attempt++) {
    osq__manifest m;
    int rc = osq__manifest_read(dir, &m);
    if (rc) return rc;
    osq_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
      osq__manifest_free(&m);
      return OSQ_E_NOMEM;
    }
    snprintf(ix->dir, sizeof ix->dir, "%s", dir);
    pthread_mutex_init(&ix->attrs_lock, NULL);
    atomic_init(&ix->refs, 1);
    rc = open_snapshot(ix, dir, &m);
    uint64_t gen = m.generation;
    osq__manifest_free(&m);
    if (!rc) {
      *out = ix;
      return OSQ_OK;
    }
    osq_index_close(ix);
    if (rc == OSQ_E_NOMEM || attempt >= 100) return rc;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", osq_last_error());
    if (!osq__manifest_moved(dir, gen)) return osq__fail(rc, "%s", msg);
  }
}

/* Drops one reference to ix (see struct osq_index, LIFETIME); the last
 * one unmaps the segments. */
void osq__index_release(osq_index *ix) {
  if (atomic_fetch_sub_explicit(&ix->refs, 1, memory_order_acq_rel) != 1) return;
  for (uint32_t i = 0; i < ix->nsegs; i++) osq__segment_close(&ix->segs[i]);
  if (ix->dels)
    for (uint32_t i = 0; i < ix->nsegs; i++) osq__deletions_free(&ix->dels[i]);
  free(ix->dels);
  free(ix->segs);
  osq__attrs_free(ix->attrs);
  pthread_mutex_destroy(&ix->attrs_lock);
  free(ix);
}

OSQ_EXPORT void osq_index_close(osq_index *ix) {
  if (ix) osq__index_release(ix);
}

/* The index's document table (attrs.c), read on first use. */
int osq__index_load_attrs(osq_index *ix, const osq__attrs **out) {
  pthread_mutex_lock(&ix->attrs_lock);
  int rc = ix->attrs ? OSQ_OK : osq__attrs_build(ix->segs, ix->dels, ix->nsegs, &ix->attrs);
  pthread_mutex_unlock(&ix->attrs_lock);
  *out = ix->attrs;
  return rc;
}

OSQ_EXPORT void osq_index_get_stats(const osq_index *ix, osq_index_stats *st) {
  memset(st, 0, sizeof *st);
  st->segments = ix->nsegs;
  st->documents = ix->ndocs - ix->del_docs;
  st->passages = ix->npassages - ix->del_passages;
  st->terms = ix->terms;
  st->bytes = ix->bytes;
  st->deleted_documents = ix->del_docs;
  st->deleted_passages = ix->del_passages;
  st->generation = ix->generation;
  st->query_lexicon = osq__lexicon_id();
  for (uint32_t i = 0; i < ix->nsegs; i++)
    if (ix->segs[i].lexicon_id != st->query_lexicon && !st->stem_mismatch++) st->index_lexicon = ix->segs[i].lexicon_id;
}

/* The segments of ix, for the search box's dictionary scans (suggest.c). */
void osq__index_segments(const osq_index *ix, const osq__segment **segs, uint32_t *n) {
  *segs = ix->segs;
  *n = ix->nsegs;
}


int osq__index_attrs(osq_index *ix, const osq__attrs **a, const osq__segment **segs) {
  *segs = ix->segs;
  return osq__index_load_attrs(ix, a);
}
