/*
 * search_postings.c -- term cursors over one segment's postings: opening a
 * term, or a prefix term (the union of every dictionary term that starts
 * with a one-character word or a number), and closing it.  The cursor's
 * seeks and position reads, which the scoring loops call, are inline in
 * search_int.h.
 */
#include "search_int.h"

typedef struct prefix_ctx {
  const osq__segment *seg;
  const qterm *qt;
  osq__term_info *infos;
  size_t n, cap;
} prefix_ctx;

static int collect_prefix(void *ctx, const uint8_t *term, size_t len, const osq__term_info *ti) {
  prefix_ctx *pc = ctx;
  if (pc->qt->prefix == PREFIX_NUMBER && !number_with_unit(term, len, pc->qt)) return 0;
  if (pc->n == pc->cap) {
    size_t cap = pc->cap ? pc->cap * 2 : 64;
    osq__term_info *p = realloc(pc->infos, cap * sizeof *p);
    if (!p) return 1;
    pc->infos = p;
    pc->cap = cap;
  }
  pc->infos[pc->n++] = *ti;
  return 0;
}

typedef struct entry {
  uint32_t pid, tf, off; /* positions at pos[off..off+tf) */
} entry;

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
  return x->off < y->off ? -1 : x->off > y->off;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Merges the postings of every term starting with the prefix into one list. */
static int open_prefix(tcur *tc, const osq__segment *seg, const qterm *qt) {
  prefix_ctx pc = {seg, qt, NULL, 0, 0};
  int rc = osq__segment_prefix(seg, qt->term, qt->len, collect_prefix, &pc);
  if (rc || pc.n == 0) {
    free(pc.infos);
    return rc;
  }
  entry *es = NULL;
  uint32_t *pos = NULL;
  size_t ne = 0, ce = 0, np = 0, cp = 0;
  for (size_t t = 0; t < pc.n && !rc; t++) {
    osq__cursor c;
    if ((rc = osq__cursor_open(&c, seg, &pc.infos[t]))) break;
    while (c.pid != UINT32_MAX) {
      /* Room for all of the entry's positions (its tf), however many. */
      size_t tf = osq__cursor_tf(&c);
      if (ne == ce) {
        ce = ce ? ce * 2 : 1024;
        entry *p = realloc(es, ce * sizeof *p);
        if (!p) { rc = OSQ_E_NOMEM; break; }
        es = p;
      }
      if (np + tf > cp) {
        cp = (cp + tf) * 2;
        uint32_t *p = realloc(pos, cp * sizeof *p);
        if (!p) { rc = OSQ_E_NOMEM; break; }
        pos = p;
      }
      long k = osq__cursor_positions(&c, pos + np, (uint32_t)tf);
      if (k < 0) { rc = osq__damaged(seg->path, "corrupt positions"); break; }
      es[ne].pid = c.pid;
      es[ne].tf = (uint32_t)k;
      es[ne].off = (uint32_t)np;
      ne++;
      np += (size_t)k;
      int r2 = osq__cursor_next(&c);
      if (r2 < 0) { rc = r2; break; }
    }
  }
  free(pc.infos);
  if (rc) {
    free(es);
    free(pos);
    return rc;
  }
  qsort(es, ne, sizeof *es, cmp_entry);
  /* Merge entries of the same passage; positions become sorted runs. */
  tc->pids = malloc((ne + 1) * sizeof *tc->pids);
  tc->tfs = malloc((ne + 1) * sizeof *tc->tfs);
  tc->poff = malloc((ne + 2) * sizeof *tc->poff);
  tc->pos = malloc((np + 1) * sizeof *tc->pos);
  if (!tc->pids || !tc->tfs || !tc->poff || !tc->pos) {
    free(es);
    free(pos);
    return OSQ_E_NOMEM;
  }
  size_t n = 0, o = 0;
  tc->max_tf = 0;
  tc->min_len = UINT32_MAX;
  for (size_t i = 0; i < ne;) {
    size_t j = i;
    tc->poff[n] = (uint32_t)o;
    while (j < ne && es[j].pid == es[i].pid) {
      memcpy(tc->pos + o, pos + es[j].off, es[j].tf * sizeof *pos);
      o += es[j].tf;
      j++;
    }
    qsort(tc->pos + tc->poff[n], o - tc->poff[n], sizeof *pos, cmp_u32);
    tc->pids[n] = es[i].pid;
    tc->tfs[n] = (uint32_t)(o - tc->poff[n]);
    if (tc->tfs[n] > tc->max_tf) tc->max_tf = tc->tfs[n];
    uint32_t len = osq__segment_plen(seg, es[i].pid);
    if (len < tc->min_len) tc->min_len = len; /* already quantized */
    n++;
    i = j;
  }
  tc->poff[n] = (uint32_t)o;
  free(es);
  free(pos);
  tc->n = n;
  tc->i = 0;
  tc->kind = 2;
  tc->pid = n ? tc->pids[0] : UINT32_MAX;
  return OSQ_OK;
}

int osq__tcur_open(tcur *tc, const osq__segment *seg, const qterm *qt) {
  memset(tc, 0, sizeof *tc);
  tc->pid = UINT32_MAX;
  tc->pos_pid = UINT32_MAX;
  tc->bm_block = UINT32_MAX;
  if (qt->prefix) return open_prefix(tc, seg, qt);
  osq__term_info ti;
  int rc = osq__segment_lookup(seg, qt->term, qt->len, &ti);
  if (rc == OSQ_E_NOTFOUND) return OSQ_OK;
  if (rc) return rc;
  if ((rc = osq__cursor_open(&tc->c, seg, &ti))) return rc;
  tc->kind = 1;
  tc->pid = tc->c.pid;
  tc->max_tf = ti.max_tf;
  /* the bound must use the length the scores use: quantized */
  tc->min_len = seg->norm_len[osq__norm_encode(seg->norm_len, ti.min_len)];
  return OSQ_OK;
}

void osq__tcur_close(tcur *tc) {
  free(tc->pids);
  free(tc->tfs);
  free(tc->poff);
  free(tc->pos);
  free(tc->pbuf);
  memset(tc, 0, sizeof *tc);
}
