/*
 * search_maxscore.c -- ranking one segment's passages into the top k:
 * block-max MaxScore with essential and non-essential terms, block and
 * shallow bounds from the skip entries, windows of 4,096 passages scored
 * term at a time, and the intersection of required terms.  Pruning never
 * changes the results (tests compare with no_prune).
 */
#include "search_int.h"

static void heap_push(heap *hp, hit_ref x) {
  if (hp->n < hp->k) {
    size_t i = hp->n++;
    hp->h[i] = x;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!worse(&hp->h[i], &hp->h[p])) break;
      hit_ref t = hp->h[i];
      hp->h[i] = hp->h[p];
      hp->h[p] = t;
      i = p;
    }
    return;
  }
  if (!worse(&hp->h[0], &x)) return;
  hp->h[0] = x;
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, rr = l + 1, m = i;
    if (l < hp->n && worse(&hp->h[l], &hp->h[m])) m = l;
    if (rr < hp->n && worse(&hp->h[rr], &hp->h[m])) m = rr;
    if (m == i) break;
    hit_ref t = hp->h[i];
    hp->h[i] = hp->h[m];
    hp->h[m] = t;
    i = m;
  }
}

static double threshold(const heap *hp) { return hp->n < hp->k ? -1.0 : hp->h[0].score; }

typedef struct sterm {
  uint32_t t;
  double ub;
} sterm;

static int cmp_sterm(const void *a, const void *b) {
  double x = ((const sterm *)a)->ub, y = ((const sterm *)b)->ub;
  return x < y ? -1 : x > y;
}

/* A block's score bound from its skip entry: the stored BM25 factor when
 * it was computed for the parameters and average length in use (the index
 * is this one segment), else BM25 at the block's max tf and min length. */
static double skip_ub(const osq_results *r, const osq__segment *seg, const qterm *qt, uint32_t max_tf,
                      uint32_t min_len, float max_f) {
  double pair = qt->pair_ub;
  if (max_f >= 0 && osq__tune_k1 == OSQ__BM25_K1 && osq__tune_b == OSQ__BM25_B && osq__tune_title_w == OSQ__TITLE_W && r->nsegs_is_one)
    return qt->qtf * qt->idf * (double)max_f * (1 + 1e-6) + pair + 1e-9;
  uint32_t qlen = seg->norm_len[osq__norm_encode(seg->norm_len, min_len)];
  return bm25(r, qt, max_tf, qlen) * title_bound(seg) + pair + 1e-9;
}

/* The score bound of the block holding the cursor's current posting, and
 * the block's last pid: the bound holds for every pid up to it. */
static __attribute__((noinline)) double block_ub_slow(const osq_results *r, const osq__segment *seg, tcur *tc,
                                                      const qterm *qt, uint32_t *last) {
  if (tc->kind != 1 || tc->c.nblocks <= 1) {
    if (tc->bm_block == UINT32_MAX) {
      tc->bm_block = 0;
      tc->bm_ub = bm25(r, qt, tc->max_tf, tc->min_len) * title_bound(seg) + qt->pair_ub + 1e-9;
      tc->bm_last = UINT32_MAX - 1;
    }
    *last = tc->bm_last;
    return tc->bm_ub;
  }
  if (tc->bm_block != tc->c.block) {
    uint32_t max_tf, min_len, lastp;
    float max_f;
    osq__cursor_block_bound(&tc->c, &max_tf, &min_len, &lastp, &max_f);
    tc->bm_block = tc->c.block;
    tc->bm_last = lastp;
    tc->bm_ub = skip_ub(r, seg, qt, max_tf, min_len, max_f);
  }
  *last = tc->bm_last;
  return tc->bm_ub;
}

/* The cached bound when the cursor is still in the block it was computed
 * for (lists without skip tables cache theirs as block 0). */
static inline double block_ub(const osq_results *r, const osq__segment *seg, tcur *tc, const qterm *qt,
                              uint32_t *last) {
  if (tc->bm_block == tc->c.block) {
    *last = tc->bm_last;
    return tc->bm_ub;
  }
  return block_ub_slow(r, seg, tc, qt, last);
}

/* The bound of a term for pid without moving its cursor (for terms that
 * are not essential); *last says how far the bound holds. */
static __attribute__((noinline)) double shallow_ub_slow(const osq_results *r, const osq__segment *seg, tcur *tc,
                                                        const qterm *qt, uint32_t pid, uint32_t *last) {
  if (tc->kind != 1 || tc->c.nblocks <= 1) return block_ub(r, seg, tc, qt, last);
  uint32_t max_tf, min_len, lastp;
  float max_f;
  int rc = osq__cursor_shallow(&tc->c, pid, &max_tf, &min_len, &lastp, &max_f);
  if (rc == OSQ_DONE) {
    *last = UINT32_MAX - 1;
    return 0;
  }
  if (rc) { /* a corrupt skip entry: no bound, so the term is read (and fails) */
    *last = pid;
    return HUGE_VAL;
  }
  tc->sh_valid = 1;
  tc->sh_first = pid - 1; /* valid for (sh_first, sh_last] */
  tc->sh_last = lastp;
  tc->sh_ub = skip_ub(r, seg, qt, max_tf, min_len, max_f);
  *last = lastp;
  return tc->sh_ub;
}

static inline double shallow_ub(const osq_results *r, const osq__segment *seg, tcur *tc, const qterm *qt,
                                uint32_t pid, uint32_t *last) {
  if (tc->sh_valid && pid > tc->sh_first && pid <= tc->sh_last) {
    *last = tc->sh_last;
    return tc->sh_ub;
  }
  return shallow_ub_slow(r, seg, tc, qt, pid, last);
}

/* The rest of a candidate's evaluation, shared by the pid-at-a-time loop
 * and the windows.  score and bound hold its essential terms' part; the
 * non-essential terms st[0..ess) are probed, highest bound first, while
 * rest[i + 1] (the summed bounds of st[0..i]) can still lift it over theta;
 * then the query's match test, and the exact score summed in one fixed
 * order, so that pruned and exhaustive evaluation agree to the last bit. */
static inline void finish_candidate(evalctx *e, const sterm *st, size_t ess, const double *rest, uint32_t pid,
                                    double score, double bound, double norm, double tw, double theta,
                                    heap *hp, uint32_t si, int no_prune) {
  osq_results *r = e->r;
  for (size_t i = ess; i-- > 0;) {
    if (score + bound + rest[i + 1] <= theta) {
      r->pruned = 1;
      return;
    }
    tcur *tc = &e->tc[st[i].t];
    if (tcur_seek(tc, pid) < 0) e->corrupt = 1;
    if (tc->pid != pid) continue;
    const qterm *qt = &r->terms[st[i].t];
    score += bm25n(qt, tcur_tf(tc), norm) * tw;
    bound += qt->pair_ub;
  }
  if (osq__segment_deleted(e->seg, pid)) return;
  if (r->filter && !osq__filter_pass(r->filter, si, pid)) return; /* filtered out (attrs.c) */
  if (score + bound + 1e-9 <= theta) {
    r->pruned = 1;
    return;
  }
  if (!osq__passage_ok(e, pid)) return;
  if (r->pass == 1) osq__count_match(e, si, pid);
  else r->matched2++;
  score = 0;
  for (size_t t = 0; t < r->nterms; t++)
    if (r->terms[t].qtf > 0 && present(e, (uint32_t)t, pid))
      score += bm25n(&r->terms[t], tcur_tf(&e->tc[t]), norm) * tw;
  score += osq__pair_bonus(e, pid, NULL);
  if (score > theta || no_prune) heap_push(hp, (hit_ref){score, si, pid, r->pass == 1});
}

/* WINDOWS.  A ranked disjunction is scored a window of pids at a time, as
 * Lucene's MaxScoreBulkScorer does.  The window [base, end) lies inside
 * every essential cursor's current block, so their postings in it are read
 * straight from the decoded blocks:
 *   1. the essential terms are ordered by their blocks' bounds; the first k
 *      of them, whose bounds together with the non-essential terms' cannot
 *      reach theta, are deferred: a pid holding only those cannot win;
 *   2. the other essential terms' postings are summed into one slot per
 *      pid, marking it a candidate;
 *   3. candidates that the deferred terms could not lift over theta are
 *      dropped, and the deferred terms' postings are added to the rest (in
 *      a run over their decoded block, cheaper than a seek per candidate);
 *   4. the candidates go, in pid order, through the pid-at-a-time loop's
 *      tests: non-essential terms probed while they can still lift the pid
 *      over theta, the query's match test, then the exact score summed in
 *      the loop's fixed order, so results are the same to the last bit.
 * Per posting this costs a multiply-add and a bit, where walking pid by
 * pid costs a minimum over the cursors, a bound and a seek of each cursor
 * per pid.  The split stays fixed within a window: theta only rises, so
 * it stays sound.  Partial sums may be added in another order than the
 * exact score, which the 1e-9 in every bound covers. */
#define WINDOW 4096
typedef struct window {
  double score[WINDOW], bound[WINDOW];
  uint64_t bits[WINDOW / 64]; /* pids of the window with a posting; zero between windows */
  /* the required terms' intersection over [rbase, rend), when rvalid */
  uint64_t rbits[WINDOW / 64], tbits[WINDOW / 64];
  uint32_t rbase, rend;
  int rvalid;
  double norm[256];           /* BM25's length part by norm byte */
  /* the window's essential terms by block bound, ascending; pre[j]: the
   * non-essential terms' bounds plus those of the first j of them */
  uint32_t *term;
  double *ub, *pre;
} window;

/* The decoded entries of a cursor or list from its current one on:
 * pids[*x..*n), with tfs[i] + *add the tf. */
static inline const uint32_t *tcur_entries(const tcur *tc, const uint32_t **tfs, size_t *x, size_t *n,
                                           uint32_t *add) {
  if (tc->kind == 1) {
    *tfs = tc->c.tfs, *x = tc->c.i, *n = tc->c.n, *add = 1; /* tf - 1 as stored */
    return tc->c.pids;
  }
  *tfs = tc->tfs, *x = tc->i, *n = tc->n, *add = 0;
  return tc->pids;
}

/* Adds term t's postings in [base, end) -- all in its cursor's decoded
 * block -- to the window: to every pid (marking it) or, with only_marked,
 * to the pids already marked. */
static void window_add(evalctx *e, window *w, uint32_t t, uint32_t base, uint32_t end, int only_marked) {
  const osq_results *r = e->r;
  const osq__segment *seg = e->seg;
  const uint8_t *norms = seg->sec[OSQ__SEC_NORMS].p;
  const tcur *tc = &e->tc[t];
  const qterm *qt = &r->terms[t];
  const uint32_t *tfs;
  size_t x, n;
  uint32_t add;
  const uint32_t *pids = tcur_entries(tc, &tfs, &x, &n, &add);
  double pair = qt->pair_ub;
  for (; x < n && pids[x] < end; x++) {
    uint32_t p = pids[x], off = p - base;
    uint64_t bit = (uint64_t)1 << (off & 63);
    if (!(w->bits[off >> 6] & bit)) {
      if (only_marked) continue;
      w->bits[off >> 6] |= bit;
      w->score[off] = 0;
      w->bound[off] = 0;
    }
    double tw = osq__segment_title(seg, p) ? osq__tune_title_w : 1.0;
    w->score[off] += bm25n(qt, tfs[x] + add, w->norm[norms[p]]) * tw;
    w->bound[off] += pair;
  }
}

static int score_window(evalctx *e, const sterm *st, size_t ess, size_t ns, const double *shcum, window *w,
                        uint32_t base, uint32_t end, heap *hp, uint32_t si) {
  osq_results *r = e->r;
  const osq__segment *seg = e->seg;
  const uint8_t *norms = seg->sec[OSQ__SEC_NORMS].p;
  /* Within the window the essential terms split again, on their block
   * bounds: ordered by bound, the first k, whose bounds with the
   * non-essential terms' cannot reach theta (deferred), make no pid a
   * candidate by themselves; the others' postings mark the candidates. */
  double theta = threshold(hp);
  uint32_t m = 0, k = 0;
  w->pre[0] = shcum[ess];
  for (size_t i = ess; i < ns; i++) {
    tcur *tc = &e->tc[st[i].t];
    if (tc->pid == UINT32_MAX) continue;
    uint32_t last;
    double ub = block_ub(r, seg, tc, &r->terms[st[i].t], &last);
    uint32_t j = m++;
    while (j > 0 && w->ub[j - 1] > ub) { /* insertion sort: a handful of terms */
      w->ub[j] = w->ub[j - 1];
      w->term[j] = w->term[j - 1];
      j--;
    }
    w->ub[j] = ub;
    w->term[j] = st[i].t;
  }
  for (uint32_t j = 0; j < m; j++) w->pre[j + 1] = w->pre[j] + w->ub[j];
  while (k < m && w->pre[k + 1] <= theta) k++;
  if (k) r->pruned = 1;
  /* the window's essential terms: summed for every pid they hold */
  for (uint32_t j = k; j < m; j++) window_add(e, w, w->term[j], base, end, 0);
  uint32_t nwords = (end - base - 1) / 64 + 1;
  /* pids that the deferred and non-essential terms cannot lift over theta
   * drop out, in a pass without branches; the deferred terms' postings are
   * then added to those left (they lie in the same decoded blocks: cheaper
   * in a run than a seek per pid) */
  if (theta >= 0) {
    for (uint32_t wi = 0; wi < nwords; wi++) {
      uint64_t b = w->bits[wi], keep = 0;
      while (b) {
        uint32_t off = wi * 64 + (uint32_t)__builtin_ctzll(b);
        b &= b - 1;
        keep |= (uint64_t)(w->score[off] + w->bound[off] + w->pre[k] > theta) << (off & 63);
      }
      if (keep != w->bits[wi]) r->pruned = 1;
      w->bits[wi] = keep;
    }
  }
  for (uint32_t j = k; j-- > 0;) window_add(e, w, w->term[j], base, end, 1);
  for (uint32_t wi = 0; wi < nwords; wi++) {
    uint64_t b = w->bits[wi];
    w->bits[wi] = 0;
    while (b) {
      uint32_t off = wi * 64 + (uint32_t)__builtin_ctzll(b);
      b &= b - 1;
      uint32_t pid = base + off;
      theta = threshold(hp);
      double norm = w->norm[norms[pid]];
      double tw = osq__segment_title(seg, pid) ? osq__tune_title_w : 1.0;
      finish_candidate(e, st, ess, shcum, pid, w->score[off], w->bound[off], norm, tw, theta, hp, si, 0);
      if (e->corrupt) {
        memset(w->bits, 0, sizeof w->bits);
        return osq__damaged(seg->path, "corrupt postings");
      }
    }
  }
  for (size_t i = ess; i < ns; i++) {
    tcur *tc = &e->tc[st[i].t];
    if (tc->pid < end && tcur_seek(tc, end) < 0) return osq__damaged(seg->path, "corrupt postings");
  }
  return OSQ_OK;
}

/* Sets the bits of tc's postings in [base, end) (all in its cursor's
 * decoded block or list, the cursor at or past base) in bits. */
static void window_bits(const tcur *tc, uint32_t base, uint32_t end, uint64_t *bits) {
  if (tc->pid == UINT32_MAX) return;
  const uint32_t *tfs;
  size_t x, n;
  uint32_t add;
  const uint32_t *pids = tcur_entries(tc, &tfs, &x, &n, &add);
  /* a word at a time in a register: or-ing into memory per posting would
   * chain every posting to the store before it */
  uint32_t cw = 0;
  uint64_t acc = 0;
  for (; x < n && pids[x] < end; x++) {
    uint32_t off = pids[x] - base;
    if (off >> 6 != cw) {
      bits[cw] |= acc;
      cw = off >> 6;
      acc = 0;
    }
    acc |= (uint64_t)1 << (off & 63);
  }
  bits[cw] |= acc;
}

/* The first pid >= target that every required term holds, or UINT32_MAX
 * (also when a cursor is corrupt: e->corrupt says so), for required terms
 * that are all dense: they are intersected a window at a time, as bitmaps
 * of their decoded blocks ANDed together, where leapfrogging costs a seek
 * of every cursor per shared pid.  The window ends where the first of
 * their decoded blocks ends. */
static uint32_t required_next(evalctx *e, const uint32_t *req, size_t nreq, window *w, uint32_t target) {
  for (;;) {
    if (w->rvalid && target < w->rend) {
      uint32_t off = target > w->rbase ? target - w->rbase : 0;
      uint32_t wi = off >> 6, nw = (w->rend - w->rbase - 1) / 64 + 1;
      uint64_t b = w->rbits[wi] & (~(uint64_t)0 << (off & 63));
      while (!b && ++wi < nw) b = w->rbits[wi];
      if (b) return w->rbase + wi * 64 + (uint32_t)__builtin_ctzll(b);
      target = w->rend;
    }
    w->rvalid = 0;
    /* the next window starts where the furthest cursor stands */
    uint32_t base = target;
    for (int moved = 1; moved;) { /* until every cursor stands at or past base */
      moved = 0;
      for (size_t i = 0; i < nreq; i++) {
        tcur *tc = &e->tc[req[i]];
        if (tcur_seek(tc, base) < 0) e->corrupt = 1;
        if (tc->pid == UINT32_MAX || e->corrupt) return UINT32_MAX;
        if (tc->pid > base) base = tc->pid, moved = i > 0;
      }
    }
    uint32_t end = base < UINT32_MAX - WINDOW ? base + WINDOW : UINT32_MAX;
    for (size_t i = 0; i < nreq; i++) {
      const tcur *tc = &e->tc[req[i]];
      if (tc->kind == 1 && tc->c.pids[tc->c.n - 1] < end) end = tc->c.pids[tc->c.n - 1] + 1;
    }
    if (end <= base) end = base + 1; /* cannot happen: every cursor stands at or past base */
    uint32_t nw = (end - base - 1) / 64 + 1;
    memset(w->rbits, 0, nw * sizeof *w->rbits);
    window_bits(&e->tc[req[0]], base, end, w->rbits);
    for (size_t i = 1; i < nreq; i++) {
      memset(w->tbits, 0, nw * sizeof *w->tbits);
      window_bits(&e->tc[req[i]], base, end, w->tbits);
      for (uint32_t k = 0; k < nw; k++) w->rbits[k] &= w->tbits[k];
    }
    w->rbase = base;
    w->rend = end;
    w->rvalid = 1;
    target = base;
  }
}

int osq__search_segment(osq_results *r, uint32_t si, heap *hp, int no_prune) {
  const osq__segment *seg = &r->ix->segs[si];
  evalctx e = {r, seg, NULL, 0};
  int rc = OSQ_OK;
  e.tc = calloc(r->nterms ? r->nterms : 1, sizeof *e.tc);
  sterm *st = calloc(r->nterms ? r->nterms : 1, sizeof *st);
  double *cum = calloc(r->nterms + 1, sizeof *cum);
  /* shcum[i + 1]: the summed block bounds, at the current pid, of the
   * non-essential terms st[0..i] (tighter than cum[i + 1]) */
  double *shcum = calloc(r->nterms + 1, sizeof *shcum);
  uint32_t *req = calloc(r->nterms + 1, sizeof *req);
  window *win = malloc(sizeof *win);
  if (win) {
    win->term = malloc((r->nterms + 1) * sizeof *win->term);
    win->ub = malloc((r->nterms + 1) * sizeof *win->ub);
    win->pre = malloc((r->nterms + 2) * sizeof *win->pre);
  }
  if (!e.tc || !st || !cum || !shcum || !req || !win || !win->term || !win->ub || !win->pre) {
    rc = OSQ_E_NOMEM;
    goto done;
  }
  for (size_t t = 0; t < r->nterms; t++)
    if (r->terms[t].pre && r->terms[t].pre[si].kind) {
      e.tc[t] = r->terms[t].pre[si]; /* the cursor osq__search_stats opened: taken */
      memset(&r->terms[t].pre[si], 0, sizeof r->terms[t].pre[si]);
    } else if ((rc = osq__tcur_open(&e.tc[t], seg, &r->terms[t]))) {
      goto done;
    }
  /* Scoring terms present here, by increasing bound. */
  size_t ns = 0;
  for (size_t t = 0; t < r->nterms; t++) {
    const qterm *qt = &r->terms[t];
    if (qt->qtf == 0 || e.tc[t].kind == 0 || e.tc[t].pid == UINT32_MAX) continue;
    st[ns].t = (uint32_t)t;
    st[ns].ub = bm25(r, qt, e.tc[t].max_tf, e.tc[t].min_len) * title_bound(seg) + qt->pair_ub + 1e-9;
    ns++;
  }
  qsort(st, ns, sizeof *st, cmp_sterm);
  for (size_t i = 0; i < ns; i++) cum[i + 1] = cum[i] + st[i].ub;
  /* Terms every match must contain: intersect them (leapfrog). */
  size_t nreq = 0;
  for (size_t t = 0; t < r->nterms; t++) {
    if (!r->terms[t].required) continue;
    if (e.tc[t].kind == 0 || e.tc[t].pid == UINT32_MAX) goto done; /* nothing matches here */
    req[nreq++] = (uint32_t)t;
  }
  /* Ranked disjunctions (no required term) are scored a window at a time;
   * the exhaustive reference and intersections walk pid by pid. */
  int bulk = !no_prune && nreq == 0;
  /* Required terms that are all dense (each in at least a sixteenth of the
   * passages) are intersected as bitmaps; a sparse one makes the leapfrog's
   * long skips worth more.  The exhaustive reference always leapfrogs. */
  int dense_req = !no_prune && nreq > 0;
  for (size_t i = 0; i < nreq && dense_req; i++)
    if (tcur_df(&e.tc[req[i]]) * 16 < seg->npassages) dense_req = 0;
  win->rvalid = 0;
  if (bulk) {
    memset(win->bits, 0, sizeof win->bits);
    for (int b = 0; b < 256; b++) win->norm[b] = bm25_norm(r, seg->norm_len[b]);
  }
  size_t ess = 0; /* st[ess..ns) are essential */
  /* the non-essential terms' summed shallow bound, for pids below oc_limit */
  size_t oc_ess = SIZE_MAX;
  double oc_others = 0;
  uint32_t oc_limit = 0;
  for (;;) {
    double theta = no_prune ? -1.0 : threshold(hp);
    while (ess < ns && cum[ess + 1] <= theta) ess++;
    if (ess) r->pruned = 1;
    if (ess >= ns) break;
    uint32_t pid = UINT32_MAX;
    for (size_t i = ess; i < ns; i++)
      if (e.tc[st[i].t].pid < pid) pid = e.tc[st[i].t].pid;
    if (pid == UINT32_MAX) break;
    if (dense_req) {
      pid = required_next(&e, req, nreq, win, pid);
      if (pid == UINT32_MAX || e.corrupt) break;
      for (size_t i = ess; i < ns; i++)
        if (e.tc[st[i].t].pid < pid && tcur_seek(&e.tc[st[i].t], pid) < 0) e.corrupt = 1;
    } else if (nreq) {
      /* leapfrog the required terms to the first pid they share */
      uint32_t target = pid;
      for (;;) {
        uint32_t mx = target;
        for (size_t i = 0; i < nreq; i++) {
          tcur *tc = &e.tc[req[i]];
          if (tcur_seek(tc, target) < 0) e.corrupt = 1;
          if (tc->pid > mx) mx = tc->pid;
        }
        if (mx == target || mx == UINT32_MAX) {
          target = mx;
          break;
        }
        target = mx;
      }
      if (target == UINT32_MAX || e.corrupt) break;
      pid = target;
      for (size_t i = ess; i < ns; i++)
        if (e.tc[st[i].t].pid < pid && tcur_seek(&e.tc[st[i].t], pid) < 0) e.corrupt = 1;
    }
    if (theta >= 0 || bulk) {
      /* Block-max: the blocks the cursors stand in bound every pid up to
       * the first block end; if even that cannot beat theta, skip there
       * without scoring.  Non-essential terms give shallow bounds, read
       * from their skip tables without decoding. */
      double others, bub = 0;
      uint32_t limit; /* how far the non-essential bounds hold */
      if (oc_ess == ess && pid < oc_limit) {
        /* pids only grow: while no term has joined the non-essential ones
         * (ess unchanged) and pid is below every bound's last pid + 1,
         * each term's bound is still the one of the block holding pid */
        others = oc_others;
        limit = oc_limit;
      } else {
        others = 0;
        limit = UINT32_MAX;
        for (size_t i = 0; i < ess; i++) {
          uint32_t last;
          others += shallow_ub(r, seg, &e.tc[st[i].t], &r->terms[st[i].t], pid, &last);
          shcum[i + 1] = others;
          if (last + 1 < limit) limit = last + 1;
        }
        oc_ess = ess;
        oc_others = others;
        oc_limit = limit;
      }
      uint32_t next = limit;
      bub = others;
      if (bulk) {
        /* The window [pid, next): every essential cursor's current block
         * bounds it (a cursor past pid scores 0 before its pid). */
        if (next - pid > WINDOW) next = pid + WINDOW;
        for (size_t i = ess; i < ns; i++) {
          tcur *tc = &e.tc[st[i].t];
          if (tc->pid == UINT32_MAX) continue;
          uint32_t last;
          bub += block_ub(r, seg, tc, &r->terms[st[i].t], &last);
          if (last + 1 < next) next = last + 1;
        }
        if (next <= pid) next = pid + 1; /* a corrupt skip entry: the cursors will say so */
      } else {
        for (size_t i = ess; i < ns; i++) {
          tcur *tc = &e.tc[st[i].t];
          if (tc->pid == pid) {
            uint32_t last;
            bub += block_ub(r, seg, tc, &r->terms[st[i].t], &last);
            if (last + 1 < next) next = last + 1;
          } else if (tc->pid < next) {
            next = tc->pid;
          }
        }
      }
      if (bub <= theta && ns - ess == 1) {
        /* One essential term: walk its skip table past every further
         * block that cannot lift it over theta, decoding none of them. */
        tcur *tc = &e.tc[st[ess].t];
        const qterm *qt = &r->terms[st[ess].t];
        if (tc->kind == 1 && tc->c.nblocks > 1) {
          for (uint32_t bl = tc->c.block + 1; bl < tc->c.nblocks; bl++) {
            const uint8_t *en = tc->c.post + (size_t)bl * OSQ__SKIP_BYTES;
            uint32_t last = osq__get_u32(en);
            if (last >= limit || last < next) break; /* last < next: a corrupt entry */
            float max_f;
            memcpy(&max_f, en + 20, 4);
            double ub = skip_ub(r, seg, qt, osq__get_u32(en + 12), osq__get_u32(en + 16), max_f);
            if (ub + others > theta) break;
            next = last + 1;
          }
        }
      }
      if (bub <= theta) {
        r->pruned = 1;
        for (size_t i = ess; i < ns; i++) {
          tcur *tc = &e.tc[st[i].t];
          if (tc->pid < next && tcur_seek(tc, next) < 0) {
            rc = osq__damaged(seg->path, "corrupt postings");
            goto done;
          }
        }
        continue;
      }
      if (bulk) {
        if ((rc = score_window(&e, st, ess, ns, shcum, win, pid, next, hp, si))) goto done;
        continue;
      }
    }
    uint32_t len = osq__segment_plen(seg, pid);
    double tw = osq__segment_title(seg, pid) ? osq__tune_title_w : 1.0;
    double norm = bm25_norm(r, len);
    double score = 0, bound = 0;
    for (size_t i = ess; i < ns; i++) {
      tcur *tc = &e.tc[st[i].t];
      if (tc->pid != pid) continue;
      const qterm *qt = &r->terms[st[i].t];
      score += bm25n(qt, tcur_tf(tc), norm) * tw;
      bound += qt->pair_ub;
    }
    finish_candidate(&e, st, ess, theta >= 0 ? shcum : cum, pid, score, bound, norm, tw, theta, hp, si, no_prune);
    if (e.corrupt) {
      rc = osq__damaged(seg->path, "corrupt postings");
      goto done;
    }
    /* advance the essential cursors past pid */
    for (size_t i = ess; i < ns; i++) {
      tcur *tc = &e.tc[st[i].t];
      if (tc->pid == pid && tcur_seek(tc, pid + 1) < 0) {
        rc = osq__damaged(seg->path, "corrupt postings");
        goto done;
      }
    }
  }
  /* a cursor that failed may have ended the loop (the leapfrog, a skip) */
  if (e.corrupt) rc = osq__damaged(seg->path, "corrupt postings");
done:
  if (e.tc)
    for (size_t t = 0; t < r->nterms; t++) osq__tcur_close(&e.tc[t]);
  free(e.tc);
  free(st);
  free(cum);
  free(shcum);
  free(req);
  if (win) {
    free(win->term);
    free(win->ub);
    free(win->pre);
  }
  free(win);
  return rc;
}
