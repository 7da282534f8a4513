/*
 * search_int.h -- what the search_*.c files share: the open index, the
 * compiled query (terms, clauses, cursors), the results, and the helpers
 * the per-passage loops call (cursor seeks, positions, BM25), kept
 * static inline here so that splitting search.c moved no instruction out
 * of the hot loops.  Private to core/; the public API is include/osq/osq.h.
 *
 * SCORING.  A query is compiled into clauses ("leaves": a run of words or a
 * phrase) and their tokens, the same n-grams the indexer made.  A passage's
 * score is
 *     sum over query terms t present:  qtf(t) * idf(t) * BM25-tf(tf, len)
 *   + sum over adjacent token pairs (a, b) of a clause that occur adjacently
 *     in the passage:  W * (idf(a) + idf(b)) / 2
 * The second part is what ranks the passage holding the whole word 화웨이
 * above one that shares only the common gram 웨이 (게이트웨이), and lets
 * 화웨이가 find 화웨이는 through the pair (화웨, 웨이).  Every term has an
 * upper bound on its contribution (BM25 at the term's highest tf and shortest
 * passage, plus W * idf for each pair it can take part in), which is what
 * MaxScore pruning needs: terms whose bounds together cannot lift a passage
 * into the top k are only looked up for passages the others found, and
 * passages whose bound falls short are dropped before their positions are
 * read.  Pruning never changes the results (tests compare with no_prune).
 *
 * ONE-CHARACTER WORDS.  Each character of a CJK run is the first character of
 * exactly one token (a bigram, or the unigram at the run's end), so the
 * passages containing 국 are the union of the postings of all terms that
 * start with 국: a contiguous range of the sorted dictionary.
 *
 * The files:
 *   search_index.c      opening and closing an index, its statistics and
 *                       lifetime; the ranking parameters
 *   search_compile.c    a query into terms and clauses: Korean word
 *                       heuristics, stems, which words must match
 *   search_postings.c   term cursors over a segment, prefix term lists
 *   search_score.c      which passages match (tiers), BM25's bonuses, explain
 *   search_maxscore.c   block-max MaxScore over one segment: the heap,
 *                       bounds, windows, the intersection of required terms
 *   search_highlight.c  the spans of a passage's text a query matched
 *   search_results.c    osq_search and the osq_results API: paging, filters,
 *                       sorting by date, reading hits
 */
#ifndef OSQ_SEARCH_INT_H
#define OSQ_SEARCH_INT_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "attrs.h"
#include "manifest.h"
#include "merge.h"
#include "query.h"
#include "segment.h"
#include "stem.h"
#include "box.h"

/* Ranking parameters (search_index.c): written once by the first
 * osq_index_open (see THREADS there), read by every search after. */
extern double osq__tune_k1, osq__tune_b, osq__tune_pair_w, osq__tune_tail_w, osq__tune_tail2_w, osq__tune_whole_w, osq__tune_word_w, osq__tune_share, osq__tune_title_w, osq__tune_stem_w;
extern int osq__tune_pair_mode, osq__tune_tiers, osq__tune_weak2, osq__tune_req, osq__tune_pmode, osq__tune_stem_words, osq__tune_stem_qstop, osq__tune_stem_join;
extern size_t osq__tune_share_all, osq__tune_whole_max;

struct osq_index {
  char dir[4096];
  osq__segment *segs;
  uint32_t nsegs;
  /* npassages, total_tokens: deleted passages included (see osq_index_open) */
  uint64_t npassages, ndocs, total_tokens, bytes, terms;
  osq__deletions *dels; /* per segment; seg->deleted points into these */
  uint64_t del_docs, del_passages, generation;
  /* Every document's source, date and id (attrs.c), read on the first
   * search with a filter or date sort, or the first osq_document_get; the
   * lock makes that first read happen once when threads share the index. */
  osq__attrs *attrs;
  pthread_mutex_t attrs_lock;
  /* LIFETIME.  One reference for the osq_index_open, one for each
   * osq_results not yet freed: results read their passages, documents and
   * postings through ix->segs, so the mappings live until the last of
   * osq_index_close and osq_results_free (osq__index_release).  Nothing else in
   * here changes after open: searches of any number of threads only read
   * it, and keep what they write (cursors, the tokenizer, buffers) in
   * their osq_results. */
  atomic_size_t refs;
};

/* ---- the compiled query -------------------------------------------------- */

typedef struct qterm {
  uint8_t term[OSQ__MAX_TERM + 1];
  uint32_t len;
  int prefix;       /* one character: every term starting with it; PREFIX_NUMBER: a number
                       in a phrase, also with a unit (85 finds 85kg) */
  double qtf;       /* occurrences in scoring clauses */
  int required;     /* every matching passage contains it */
  struct tcur *pre; /* prefix terms: the merged list per segment, made once
                       (for df) and handed to the search */
  double pair_occ;  /* pair memberships (for the bound) */
  double whole_ub;  /* the most osq__whole_bonus can add through it */
  uint64_t df;
  double idf;
  double pair_ub;   /* the most its adjacency pairs can add */
} qterm;

#define LEAF_TAIL 2   /* the last bigram of a word of three or more characters */
#define LEAF_TAIL2 4  /* the one before it, in a word of four or more */
#define LEAF_START 16 /* the first token of a word not joined to the one before */
typedef struct qleaf {
  osq__qnode *node;
  uint32_t n;
  uint32_t *term; /* index into terms */
  int32_t *off;   /* position relative to the first token */
  uint8_t *flag;  /* LEAF_TAIL, LEAF_TAIL2, LEAF_START */
  uint8_t *kind;  /* the token's osq_token_kind */
  int32_t *chunk; /* the word of the clause it belongs to (-1: a compound's bridge) */
  int exact;      /* must match as a phrase */
  int scoring;    /* not under NOT */
} qleaf;

/* A term's postings in one segment: a cursor, or a merged list for prefix
 * terms. */
/* Does the adjacency of tokens i and i+1 of the leaf earn a bonus? */
static inline int pair_counts(const qleaf *l, uint32_t i) {
  if (osq__tune_pair_mode && (l->flag[i + 1] & LEAF_START)) return 0;
  if (osq__tune_pair_mode == 2 && ((l->flag[i] | l->flag[i + 1]) & LEAF_TAIL)) return 0;
  return 1;
}

/* Are tokens i and i+1 of the leaf adjacent tokens of one word (or of a
 * compound written with a space)? */
static inline int same_word(const qleaf *l, uint32_t i) {
  return !(l->flag[i + 1] & LEAF_START) && l->off[i + 1] == l->off[i] + 1;
}

/* The next word of the leaf from token `from` on with two or more tokens:
 * its first and last token into *w0, *w1.  Returns 0 when there is none. */
static inline int next_word(const qleaf *l, uint32_t from, uint32_t *w0, uint32_t *w1) {
  for (uint32_t i = from; i + 1 < l->n; i++) {
    if (!same_word(l, i)) continue;
    uint32_t j = i + 1;
    while (j + 1 < l->n && same_word(l, j)) j++;
    *w0 = i;
    *w1 = j;
    return 1;
  }
  return 0;
}

/* The last token of the word's stem: the word without its particle tail
 * (LEAF_TAIL), or w1 when it has none. */
static inline uint32_t stem_end(const qleaf *l, uint32_t w0, uint32_t w1) {
  return (l->flag[w1] & LEAF_TAIL) && w1 > w0 ? w1 - 1 : w1;
}

/* Does term stand for number term qt with a unit after it (85 of 85kg,
 * which ㎏ becomes), or for qt itself? */
static inline int number_with_unit(const uint8_t *term, size_t len, const qterm *qt) {
  if (len == qt->len) return 1;
  return term[qt->len] >= 'a' && term[qt->len] <= 'z';
}

typedef struct tcur {
  int kind; /* 0 absent, 1 cursor, 2 list */
  osq__cursor c;
  uint32_t *pids, *tfs, *poff, *pos;
  size_t n, i;
  uint32_t pid;
  uint32_t max_tf, min_len; /* bound within the segment */
  uint32_t bm_block;        /* block whose bound is cached, or UINT32_MAX */
  uint32_t bm_last;         /* its last pid */
  double bm_ub;             /* its score bound */
  int sh_valid;             /* shallow bound cache (non-essential terms) */
  uint32_t sh_first, sh_last;
  double sh_ub;
  uint32_t pos_pid;         /* pid whose positions are in pbuf */
  uint32_t *pbuf;
  uint32_t np, pcap;
} tcur;

/* A word of a clause of plain words: tokens w0..w1 of its leaf, of which
 * w0..s1 are its stem (s1 = w1 when it has no ending). */
typedef struct qword {
  uint32_t leaf, w0, w1, s1;
  int weak; /* a question word (무엇, 어떻게, 있나요): not counted by need */
} qword;

typedef struct hit_ref {
  double score;
  uint32_t seg, pid;
  int exact; /* matches the query, or only shares parts of its words */
} hit_ref;

struct osq_results {
  osq_index *ix;    /* holds a reference (osq_index, LIFETIME) */
  osq_tokenizer *tk; /* this search's own: the index's is shared by threads */
  osq__filter *filter; /* the passages the query's filters let through, or NULL */
  double whole_w; /* osq__tune_whole_w for this query, or 0 (osq__query_words) */
  hit_ref *refs;
  size_t n;
  uint64_t matched;
  /* compiled query, kept for highlighting and explain */
  osq__qnode *root;
  qterm *terms;
  size_t nterms;
  qleaf *leaves;
  size_t nleaves, leaves_cap;
  /* matching (osq__passage_tier): the plain words of the top-level clauses and
   * the other clauses the top level may match (phrases, groups) */
  qword *words;
  size_t nwords;
  const osq__qnode **units;
  size_t nunits;   /* other clauses */
  size_t need;     /* words and clauses a passage must match to match the query */
  size_t nstrong;  /* words (but question words) and clauses */
  int tiered;      /* passages matching fewer are shown after the matches */
  int pass;        /* 1: matching passages, 2: passages sharing parts of words */
  size_t nwords_seen, dropped_words;
  /* counts of matching passages and their documents (pass 1) */
  uint64_t docs, matched2; /* matched2: passages of pass 2 */
  uint32_t last_seg, last_doc;
  int pruned;      /* pruning skipped candidates: the counts are lower bounds */
  size_t nexact;   /* refs[0..nexact) match */
  double avglen, N;
  int nsegs_is_one; /* stored block bounds fit the average length */
  int explain;
  /* materialized hits */
  struct {
    int ready;
    char *passage;
    size_t len;
    char *docstore;
    osq__doc_info di;
    uint32_t heading; /* the passage's, checked against di.nheadings */
    osq_span *spans;
    size_t nspans;
    char *explain;
  } *hits;
};


#define MAX_WORDS 64   /* words a query searches; the rest are dropped and reported */
#define MAX_LEAF 256   /* tokens a clause keeps */
#define PREFIX_NUMBER 2 /* qterm.prefix of a number: a unit may follow it (85 of 85kg) */

typedef struct evalctx {
  osq_results *r;
  const osq__segment *seg;
  tcur *tc;        /* one per query term */
  int corrupt;
} evalctx;

/* Min-heap of the best k hits: worst at the top. */
typedef struct heap {
  hit_ref *h;
  size_t n, k;
} heap;

static inline int worse(const hit_ref *a, const hit_ref *b) {
  if (a->score != b->score) return a->score < b->score;
  if (a->seg != b->seg) return a->seg > b->seg;
  return a->pid > b->pid;
}


static inline uint64_t tcur_df(const tcur *tc) {
  return tc->kind == 1 ? tc->c.ti.df : tc->kind == 2 ? tc->n : 0;
}

static inline int tcur_seek(tcur *tc, uint32_t target) {
  if (tc->pid >= target) return OSQ_OK;
  if (tc->kind == 1) {
    int rc = osq__cursor_seek(&tc->c, target);
    tc->pid = tc->c.pid;
    return rc < 0 ? rc : OSQ_OK;
  }
  if (tc->kind == 2) {
    size_t lo = tc->i, step = 1, hi = tc->i;
    while (hi < tc->n && tc->pids[hi] < target) {
      lo = hi + 1;
      hi += step;
      step *= 2;
    }
    if (hi > tc->n) hi = tc->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (tc->pids[mid] < target) lo = mid + 1;
      else hi = mid;
    }
    tc->i = lo;
    tc->pid = lo < tc->n ? tc->pids[lo] : UINT32_MAX;
  }
  return OSQ_OK;
}

static inline uint32_t tcur_tf(const tcur *tc) {
  return tc->kind == 1 ? osq__cursor_tf(&tc->c) : tc->tfs[tc->i];
}

/* Positions of the current passage, sorted; NULL when corrupt. */
static inline const uint32_t *tcur_positions(tcur *tc, uint32_t *n) {
  if (tc->kind == 2) {
    *n = tc->tfs[tc->i];
    return tc->pos + tc->poff[tc->i];
  }
  if (tc->pos_pid != tc->pid) {
    uint32_t tf = tcur_tf(tc);
    if (tf > tc->pcap) {
      uint32_t *p = realloc(tc->pbuf, tf * sizeof *p);
      if (!p) return NULL;
      tc->pbuf = p;
      tc->pcap = tf;
    }
    long k = osq__cursor_positions(&tc->c, tc->pbuf, tf);
    if (k < 0) return NULL;
    tc->np = (uint32_t)k;
    tc->pos_pid = tc->pid;
  }
  *n = tc->np;
  return tc->pbuf;
}

static inline int has_pos(const uint32_t *p, uint32_t n, int64_t want) {
  if (want < 0) return 0;
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (p[mid] < want) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && p[lo] == want;
}

static inline int present(evalctx *e, uint32_t t, uint32_t pid) {
  tcur *tc = &e->tc[t];
  if (tc->pid < pid && tcur_seek(tc, pid) < 0) e->corrupt = 1;
  return tc->pid == pid;
}

/* The clause compiled from leaf node n (a lookup, not a search: osq__node_match
 * asks for every clause of every candidate, and a query of 4,000 ORed words
 * took 11 s when this was a scan). */
static inline const qleaf *leaf_of(const osq_results *r, const osq__qnode *n) {
  if (n->leaf == 0 || n->leaf > r->nleaves || r->leaves[n->leaf - 1].node != n) return NULL;
  return &r->leaves[n->leaf - 1];
}

/* What title boost a bound must allow for in this segment. */
static inline double title_bound(const osq__segment *seg) { return seg->has_titles ? osq__tune_title_w : 1.0; }

/* BM25's length part for a passage of len tokens, and the term score given
 * it: split so that a candidate computes the first once for all its terms
 * (the same expressions in the same order, so the same doubles). */
static inline double bm25_norm(const osq_results *r, uint32_t len) {
  return osq__tune_k1 * (1.0 - osq__tune_b + osq__tune_b * (double)len / r->avglen);
}
static inline double bm25n(const qterm *qt, uint32_t tf, double norm) {
  return qt->qtf * qt->idf * (double)tf * (osq__tune_k1 + 1.0) / ((double)tf + norm);
}
static inline double bm25(const osq_results *r, const qterm *qt, uint32_t tf, uint32_t len) {
  return bm25n(qt, tf, bm25_norm(r, len));
}

/* search_compile.c */
void osq__mark_required(osq_results *r, int on);
int osq__plan_matching(osq_results *r);
size_t osq__query_words(const osq_results *r);
int osq__results_tokenize(osq_results *r, const char *text, size_t len, const osq_token **toks, size_t *ntoks);
int osq__search_compile(osq_results *r, osq__qnode *n, int top, int negative);
int osq__search_stats(osq_results *r);
void osq__whole_bounds(osq_results *r);

/* search_highlight.c */
int osq__highlight(osq_results *r, const char *text, size_t len, osq_span **spans, size_t *nspans);

/* search_index.c */
int osq__index_load_attrs(osq_index *ix, const osq__attrs **out);
void osq__index_release(osq_index *ix);

/* search_maxscore.c */
int osq__search_segment(osq_results *r, uint32_t si, heap *hp, int no_prune);

/* search_postings.c */
void osq__tcur_close(tcur *tc);
int osq__tcur_open(tcur *tc, const osq__segment *seg, const qterm *qt);

/* search_score.c */
void osq__count_match(evalctx *e, uint32_t si, uint32_t pid);
int osq__explain_hit(osq_results *r, const hit_ref *h, char **out);
int osq__node_match(evalctx *e, const osq__qnode *n, uint32_t pid);
double osq__pair_bonus(evalctx *e, uint32_t pid, osq__buf *out);
int osq__passage_ok(evalctx *e, uint32_t pid);
int osq__passage_tier(evalctx *e, uint32_t pid);
double osq__whole_bonus(evalctx *e, uint32_t pid, osq__buf *out);
int osq__word_match(evalctx *e, const qword *w, uint32_t pid);

#endif /* OSQ_SEARCH_INT_H */
