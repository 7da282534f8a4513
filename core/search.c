/*
 * search.c -- opening an index and ranking passages.
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
 */
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

static double BM25_K1 = OSQ__BM25_K1, BM25_B = OSQ__BM25_B, PAIR_W = 0.1, TAIL_W = 0.15;
static int PAIR_MODE = 2;
static double TAIL2_W = 0.3;
static double WHOLE_W = 1.0;
static double WORD_W = 2.0; /* a Latin word or a number, against a Korean word's bigrams */
static size_t SHARE_ALL = 3;  /* need_of */
static double SHARE = 0.6;
static int TIERS = 1;
static int WEAK2 = 1;
static int REQ = 1; /* 0: no matching by words (sweeps) */
static size_t WHOLE_MAX = 1;
static int PMODE = 2;
static double TITLE_W = OSQ__TITLE_W;
/* The stem field (docs/ranking.md): the weight of a query word's stem term,
 * and of a letters-and-digits word's second count (the stem field holds
 * such words too); query stop words (OSQ__STEM_QSTOP) are left out. */
static double STEM_W = 2.0;
static int STEM_WORDS = 1, STEM_QSTOP = 1, STEM_JOIN = 1;
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
  if ((v = getenv("OSQ_K1"))) BM25_K1 = atof(v);
  if ((v = getenv("OSQ_B"))) BM25_B = atof(v);
  if ((v = getenv("OSQ_PAIRW"))) PAIR_W = atof(v);
  if ((v = getenv("OSQ_TAILW"))) TAIL_W = atof(v);
  if ((v = getenv("OSQ_PAIRMODE"))) PAIR_MODE = atoi(v);
  if ((v = getenv("OSQ_TAIL2W"))) TAIL2_W = atof(v);
  if ((v = getenv("OSQ_PMODE"))) PMODE = atoi(v);
  if ((v = getenv("OSQ_TITLEW"))) TITLE_W = atof(v);
  if ((v = getenv("OSQ_WHOLEW"))) WHOLE_W = atof(v);
  if ((v = getenv("OSQ_WHOLEMAX"))) WHOLE_MAX = (size_t)atoi(v);
  if ((v = getenv("OSQ_WORDW"))) WORD_W = atof(v);
  if ((v = getenv("OSQ_SHARE_ALL"))) SHARE_ALL = (size_t)atoi(v);
  if ((v = getenv("OSQ_SHARE"))) SHARE = atof(v);
  if ((v = getenv("OSQ_TIERS"))) TIERS = atoi(v);
  if ((v = getenv("OSQ_WEAK2"))) WEAK2 = atoi(v);
  if ((v = getenv("OSQ_REQ"))) REQ = atoi(v);
  if ((v = getenv("OSQ_STEMW"))) STEM_W = atof(v);
  if ((v = getenv("OSQ_STEMWORDS"))) STEM_WORDS = atoi(v);
  if ((v = getenv("OSQ_QSTOP"))) STEM_QSTOP = atoi(v);
  if ((v = getenv("OSQ_STEMJOIN"))) STEM_JOIN = atoi(v);
#endif
}

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
   * osq_index_close and osq_results_free (index_release).  Nothing else in
   * here changes after open: searches of any number of threads only read
   * it, and keep what they write (cursors, the tokenizer, buffers) in
   * their osq_results. */
  atomic_size_t refs;
};

/* ---- opening ------------------------------------------------------------ */

/* Opens the segments and deletion files m names.
 *
 * Deleted passages are never returned (search_segment skips them), but they
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
static void index_release(osq_index *ix) {
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
  if (ix) index_release(ix);
}

/* The index's document table (attrs.c), read on first use. */
static int index_attrs(osq_index *ix, const osq__attrs **out) {
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
  double whole_ub;  /* the most whole_bonus can add through it */
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
  double whole_w; /* WHOLE_W for this query, or 0 (query_words) */
  hit_ref *refs;
  size_t n;
  uint64_t matched;
  /* compiled query, kept for highlighting and explain */
  osq__qnode *root;
  qterm *terms;
  size_t nterms;
  qleaf *leaves;
  size_t nleaves, leaves_cap;
  /* matching (passage_tier): the plain words of the top-level clauses and
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

/* Tokenizes with the search's own tokenizer, made on first use. */
static int results_tokenize(osq_results *r, const char *text, size_t len, const osq_token **toks, size_t *ntoks) {
  int rc;
  if (!r->tk && (rc = osq_tokenizer_create(&r->tk))) return rc;
  return osq_tokenize(r->tk, text, len, toks, ntoks, NULL);
}

static int add_term(osq_results *r, const char *t, uint32_t len, int prefix, uint32_t *idx) {
  if (len > OSQ__MAX_TERM) len = OSQ__MAX_TERM;
  for (size_t i = 0; i < r->nterms; i++)
    if (r->terms[i].len == len && r->terms[i].prefix == prefix && !memcmp(r->terms[i].term, t, len)) {
      *idx = (uint32_t)i;
      return OSQ_OK;
    }
  qterm *p = realloc(r->terms, (r->nterms + 1) * sizeof *p);
  if (!p) return OSQ_E_NOMEM;
  r->terms = p;
  qterm *q = &r->terms[r->nterms];
  memset(q, 0, sizeof *q);
  memcpy(q->term, t, len);
  q->len = len;
  q->prefix = prefix;
  *idx = (uint32_t)r->nterms++;
  return OSQ_OK;
}

/* Syllables that end Korean words as particles or verb endings. */
static int is_particle(const char *gram, int second) {
  static const char *const P[] = {"은", "는", "이", "가", "을", "를", "의", "에", "도", "로", "와", "과", "요",
                                  "다", "서", "나", "까", "고", "며", "면", "지", "만", "야", "죠", "데", "께"};
  const char *c = gram + (second ? 3 : 0); /* Hangul syllables are 3 bytes */
  if (((uint8_t)gram[0] & 0xF0) != 0xE0) return 0;
  for (size_t i = 0; i < sizeof P / sizeof *P; i++)
    if (!memcmp(c, P[i], 3)) return 1;
  return 0;
}

/* Does the adjacency of tokens i and i+1 of the leaf earn a bonus? */
static int pair_counts(const qleaf *l, uint32_t i) {
  if (PAIR_MODE && (l->flag[i + 1] & LEAF_START)) return 0;
  if (PAIR_MODE == 2 && ((l->flag[i] | l->flag[i + 1]) & LEAF_TAIL)) return 0;
  return 1;
}

/* Are tokens i and i+1 of the leaf adjacent tokens of one word (or of a
 * compound written with a space)? */
static int same_word(const qleaf *l, uint32_t i) {
  return !(l->flag[i + 1] & LEAF_START) && l->off[i + 1] == l->off[i] + 1;
}

/* The next word of the leaf from token `from` on with two or more tokens:
 * its first and last token into *w0, *w1.  Returns 0 when there is none. */
static int next_word(const qleaf *l, uint32_t from, uint32_t *w0, uint32_t *w1) {
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
static uint32_t stem_end(const qleaf *l, uint32_t w0, uint32_t w1) {
  return (l->flag[w1] & LEAF_TAIL) && w1 > w0 ? w1 - 1 : w1;
}

/* Endings of Korean words (particles and verb endings).  A word that ends in
 * one matches a passage through its stem, the word without the ending, when
 * the stem keeps two characters or more: 화웨이가 -> 화웨이, 식민지에서 ->
 * 식민지, 재직했나요 -> 재직.  Matching only: the score weights the last
 * bigrams of such words down (LEAF_TAIL) as measured in docs/ranking.md.
 * Longer endings first, so that 에서 is taken before 서. */
static const char *const ENDINGS[] = {
    "했습니다", "하였는데", "하였으며", "되었나요", "되었습니까", "되었는데", "였으므로", "하였으므로",
    "습니까", "입니까", "합니까", "했나요", "였나요", "었나요", "인가요", "은가요", "는가요", "있나요",
    "습니다", "입니다", "합니다", "됩니다", "에서는", "으로는", "에게는", "이라는", "하였다", "했는데",
    "하는데", "에서의", "으로서", "으로써", "이었다", "했으며", "되었다", "에서도", "되나요", "하나요", "됩니까", "되는지", "하는지", "이라고", "하므로", "으므로", "이므로",
    "에서", "에게", "으로", "까지", "부터", "보다", "처럼", "마다", "에는", "에도", "와는", "과는",
    "이나", "이란", "이라", "라는", "한테", "께서", "조차", "밖에", "에의", "로서", "로써", "으며",
    "이며", "하다", "했다", "한다", "하는", "하고", "하며", "하면", "해서", "하여", "했던", "되는",
    "되다", "된다", "나요", "가요", "까요", "인가", "는가", "인지", "는지", "은지", "였다", "이다",
    "이고", "니까", "어요", "아요", "해요", "세요", "되어", "하기", "하게", "했고", "에선", "으면", "므로",
    "은", "는", "이", "가", "을", "를", "의", "에", "도", "로", "와", "과", "요", "다", "서", "나",
    "까", "고", "며", "면", "지", "만", "야", "죠", "데", "께", "란"};

/* How many characters of the word's last run of bigrams g[a..b] (term
 * bytes of each) an ending takes, keeping a stem of two characters or
 * more; 0 for none.  Only Hangul syllables (3 bytes) take part. */
static uint32_t ending_chars(const osq_results *r, const qleaf *l, uint32_t a, uint32_t b) {
  uint32_t nch = b - a + 2;
  if (nch < 3) return 0;
  /* the run's last (up to) 4 characters, as bytes */
  uint8_t tail[12];
  uint32_t take = nch - 2 < 4 ? nch - 2 : 4, n = 0;
  for (uint32_t c = nch - take; c < nch; c++) {
    const qterm *g = &r->terms[l->term[a + (c < nch - 1 ? c : c - 1)]];
    if (g->len != 6) return 0;
    memcpy(tail + n, g->term + (c < nch - 1 ? 0 : 3), 3);
    n += 3;
  }
  for (size_t i = 0; i < sizeof ENDINGS / sizeof *ENDINGS; i++) {
    size_t el = strlen(ENDINGS[i]);
    if (el <= n && !memcmp(tail + n - el, ENDINGS[i], el)) return (uint32_t)(el / 3);
  }
  return 0;
}

/* Words that ask rather than name: a passage that answers a question rarely
 * repeats them (무엇인가요, 어떻게, 있나요).  They are scored like any word
 * but not counted among the words a match must hold (need_of), unless the
 * query holds nothing else.  QUESTION_PREFIX: stems that start so;
 * QUESTION_WORD: whole stems. */
static const char *const QUESTION_PREFIX[] = {"무엇", "어떤", "어떻", "얼마", "어디", "누구", "누가", "언제",
                                              "어느", "무슨", "왜", "몇", "뭐", "뭔", "있"};
static const char *const QUESTION_WORD[] = {"있나", "있는", "하나", "되나", "하는", "위한", "위해", "대한", "대해", "것",
                                            "것은", "것이", "것인", "수", "데", "때", "가장", "의미", "의미하", "뜻"};

static int is_question_word(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < sizeof QUESTION_PREFIX / sizeof *QUESTION_PREFIX; i++) {
    size_t k = strlen(QUESTION_PREFIX[i]);
    if (n >= k && !memcmp(s, QUESTION_PREFIX[i], k)) return 1;
  }
  for (size_t i = 0; i < sizeof QUESTION_WORD / sizeof *QUESTION_WORD; i++)
    if (n == strlen(QUESTION_WORD[i]) && !memcmp(s, QUESTION_WORD[i], n)) return 1;
  return 0;
}

#define MAX_WORDS 64   /* words a query searches; the rest are dropped and reported */
#define MAX_LEAF 256   /* tokens a clause keeps */

/* The words of a clause.  The query's text is cut at spaces into words;
 * each word keeps the tokens that lie inside it: its bigrams, a Latin word
 * or number, a unigram where a run breaks inside it (치후360), and the head
 * token of a one-character run after a word (제51조).  Left out:
 *   - bigrams across a space (이클 of "화웨이 클라우드"), but for two words of
 *     two characters each, the left one not ending in a particle: they are
 *     one compound written two ways (오픈 스택 / 오픈스택, 가상 머신), and
 *     the bigram across the space keeps its weight, so that both spellings
 *     rank alike.  Between words of a phrase no bigram is asked for: the
 *     words' positions already say they stand together, and punctuation
 *     or markup between them ("이상, 기왕에", "김능환(재판장)") breaks the
 *     run the bigram would need;
 *   - a unigram at the end of a word whose last bigram already holds its
 *     character (in a document the run may go on, so it need not be there).
 * A word of one character (땅 집) is looked for as itself: every term that
 * starts with it (a prefix term, see the top), at its position. */
#define PREFIX_NUMBER 2

typedef struct kept_tok {
  osq_token t;
  int prefix;
  int32_t chunk; /* the word it belongs to; -1 for a compound's bridge */
} kept_tok;

static int compile_tokens(osq_results *r, osq__qnode *node, int exact, int scoring, const kept_tok *kt, size_t nk);

/* The stem field's terms of a scoring clause: each Korean word's stem
 * (stem.c, as the indexer's tokenizer gives them, OSQ_TOKEN_STEM) weighs
 * STEM_W, but for query stop words; a letters-and-digits word counts STEM_W
 * more, as its copy in the stem field would.  The words come from the
 * clause's bigram tokens (a gram across a space ends one), and two short
 * words are one, as compile_tokens joins them (오픈 스택 = 오픈스택), so both
 * spellings stem alike.  The stem terms are in no leaf: they score, they do
 * not decide what matches.  Their BM25 uses the passage's bigram length
 * (the number of stems is proportional to it), so the stored block bounds
 * hold for them as for any term, times their weight. */
static int add_stem_term(osq_results *r, const uint16_t *syl, size_t n) {
  int flags;
  size_t k = osq__stem(syl, n, &flags);
  if (n == 0 || n > OSQ__STEM_MAX_SYL || (STEM_QSTOP && (flags & OSQ__STEM_QSTOP))) return OSQ_OK;
  uint8_t term[1 + 3 * OSQ__STEM_MAX_SYL];
  term[0] = OSQ_STEM_MARK;
  for (size_t i = 0; i < k; i++) {
    uint32_t c = 0xAC00u + syl[i];
    term[1 + 3 * i] = (uint8_t)(0xE0 | (c >> 12));
    term[2 + 3 * i] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    term[3 + 3 * i] = (uint8_t)(0x80 | (c & 0x3F));
  }
  uint32_t idx;
  int rc = add_term(r, (const char *)term, (uint32_t)(1 + 3 * k), 0, &idx);
  if (!rc) r->terms[idx].qtf += STEM_W;
  return rc;
}

/* Are words w and w + 1 of a run (syl[wstart[w] .. wstart[w + 1]), ...)
 * one compound written with a space, as compile_tokens joins them: both of
 * at most two syllables, the left one not ending in a particle syllable;
 * and, for the stems, the left one a bare content word: not 가장 (an adverb)
 * of 가장 좋은, not 어떤 of 어떤 종류. */
static int short_pair(const uint16_t *syl, const size_t *wstart, size_t w, size_t nw) {
  size_t len = wstart[w + 1] - wstart[w];
  if (w + 1 >= nw || len > 2 || wstart[w + 2] - wstart[w + 1] > 2) return 0;
  uint8_t last[3];
  uint32_t lc = 0xAC00u + syl[wstart[w + 1] - 1];
  last[0] = (uint8_t)(0xE0 | (lc >> 12));
  last[1] = (uint8_t)(0x80 | ((lc >> 6) & 0x3F));
  last[2] = (uint8_t)(0x80 | (lc & 0x3F));
  if (is_particle((const char *)last, 0)) return 0;
  int f;
  return STEM_JOIN != 1 || (osq__stem(syl + wstart[w], len, &f) == len && !(f & OSQ__STEM_QSTOP));
}

static int add_stem_terms(osq_results *r, const osq_token *toks, size_t ntoks) {
  uint16_t syl[OSQ__STEM_MAX_SYL * 4];
  size_t n = 0, nw = 0;
  size_t wstart[OSQ__STEM_MAX_SYL * 4 + 1]; /* the words of the open run */
  int bad = 0, rc = OSQ_OK;
  for (size_t i = 0; i < ntoks && rc == OSQ_OK; i++) {
    const osq_token *t = &toks[i];
    if (t->kind == OSQ_TOKEN_WORD && STEM_WORDS) {
      uint32_t idx;
      if ((rc = add_term(r, t->term, t->len, 0, &idx))) return rc;
      r->terms[idx].qtf += STEM_W;
    }
    if (t->kind != OSQ_TOKEN_GRAM && t->kind != OSQ_TOKEN_UNI) continue;
    /* the token's first character: a Hangul syllable, or the word gets no stem */
    const uint8_t *p = (const uint8_t *)t->term;
    uint32_t c = t->len >= 3 && (p[0] & 0xF0) == 0xE0 ? (uint32_t)((p[0] & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F)) : 0;
    if (nw == 0) wstart[nw++] = 0;
    if (c >= 0xAC00 && c <= 0xD7A3 && n < sizeof syl / sizeof *syl) syl[n++] = (uint16_t)(c - 0xAC00);
    else bad = 1;
    int word_ends = t->kind == OSQ_TOKEN_UNI || t->space_before == 2;
    if (word_ends && nw < sizeof wstart / sizeof *wstart - 1) wstart[nw++] = n;
    if (t->kind != OSQ_TOKEN_UNI) continue;
    /* the run ended: its words, two short ones joined (see compile_tokens) */
    nw--; /* words w: syl[wstart[w] .. wstart[w + 1]) */
    uint8_t joinable[OSQ__STEM_MAX_SYL * 4 + 1];
    for (size_t w = 0; w < nw; w++) joinable[w] = !bad && STEM_JOIN && short_pair(syl, wstart, w, nw);
    size_t from = 0;
    for (size_t w = 0; w < nw && !bad; w++) {
      /* only a pair: a chain of short words (미국 대통령 부인 이름) is
       * words, not one compound */
      if (joinable[w] && (w == 0 || !joinable[w - 1]) && (w + 1 >= nw || !joinable[w + 1])) continue;
      rc = add_stem_term(r, syl + wstart[from], wstart[w + 1] - wstart[from]);
      if (rc) break;
      from = w + 1;
    }
    n = nw = 0;
    bad = 0;
  }
  return rc;
}

static int compile_leaf(osq_results *r, osq__qnode *node, int exact, int scoring) {
  const char *text = node->text;
  size_t tlen = strlen(text);
  const osq_token *toks;
  size_t ntoks;
  int rc = results_tokenize(r, text, tlen, &toks, &ntoks);
  if (rc) return rc;
  if (scoring && STEM_W > 0 && (rc = add_stem_terms(r, toks, ntoks))) return rc;
  /* the words: byte ranges between spaces */
  uint32_t *cs = malloc((tlen / 2 + 2) * sizeof *cs), *ce = malloc((tlen / 2 + 2) * sizeof *ce);
  int32_t *tch = malloc((ntoks + 1) * sizeof *tch);
  kept_tok *kt = malloc((ntoks + 1) * sizeof *kt);
  if (!cs || !ce || !tch || !kt) {
    rc = OSQ_E_NOMEM;
    goto done;
  }
  size_t nch = 0;
  for (size_t p = 0; p < tlen;) {
    while (p < tlen && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) p++;
    if (p >= tlen) break;
    cs[nch] = (uint32_t)p;
    while (p < tlen && !(text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r')) p++;
    ce[nch++] = (uint32_t)p;
  }
  /* the word of each token (tokens come in the order of their starts) */
  for (size_t i = 0, c = 0; i < ntoks; i++) {
    while (c < nch && ce[c] <= toks[i].start) c++;
    tch[i] = c < nch && cs[c] <= toks[i].start && toks[i].end <= ce[c] ? (int32_t)c : -1;
  }
  /* One-syllable words are words of their own when the clause holds
   * nothing longer (땅 집, 법 죄, 국): each is looked up as a prefix term.
   * Beside longer words (몇 년 동안, 할 수 있는) they are glued to their
   * neighbour through the bigram across the space, as before: a prefix
   * term of a common syllable merges hundreds of thousands of postings
   * (a pasted paragraph took 3 s), and such words name little. */
  int glue1 = 0;
  for (size_t i = 0; i < ntoks && !exact; i++)
    if (tch[i] >= 0 && toks[i].kind != OSQ_TOKEN_UNI) glue1 = 1;
  size_t nk = 0;
  for (size_t i = 0; i < ntoks; i++) {
    const osq_token *t = &toks[i];
    int32_t c = tch[i];
    const kept_tok *last = nk ? &kt[nk - 1] : NULL;
    if (t->kind == OSQ_TOKEN_HEAD) {
      /* the exact term for a one-character run after a word (제51조) */
      int run_goes_on = i + 1 < ntoks && toks[i + 1].pos == t->pos && toks[i + 1].kind == OSQ_TOKEN_GRAM && tch[i + 1] == c;
      if (c < 0 || run_goes_on) continue;
      kt[nk++] = (kept_tok){*t, 0, c};
      if (i + 1 < ntoks && toks[i + 1].pos == t->pos && toks[i + 1].kind == OSQ_TOKEN_UNI) i++;
      continue;
    }
    if (c < 0) {
      /* a bigram across a space; the word on its left may be one character
       * that no other token holds */
      int32_t cl = -1;
      for (size_t k = 0; k < nch; k++)
        if (cs[k] <= t->start && t->start < ce[k]) cl = (int32_t)k;
      int covered = last && last->chunk == cl &&
                    (last->t.pos == t->pos || (last->t.kind == OSQ_TOKEN_GRAM && last->t.pos + 1 == t->pos));
      if (cl >= 0 && !covered && !glue1 && t->kind == OSQ_TOKEN_GRAM) {
        osq_token u = *t;
        u.kind = OSQ_TOKEN_UNI;
        u.len = (uint32_t)osq__utf8_len((const uint8_t *)t->term, t->len);
        if (u.len == 0) u.len = 1;
        kt[nk++] = (kept_tok){u, 1, cl};
      }
      if (!exact && t->kind == OSQ_TOKEN_GRAM && t->space_before == 2 && !is_particle(t->term, 0)) {
        /* two words of two characters each: one compound */
        uint32_t left = 1, right = 1;
        for (size_t j = i; j > 0 && toks[j - 1].kind == OSQ_TOKEN_GRAM && toks[j - 1].space_before != 2 &&
                           toks[j - 1].pos + 1 == toks[j].pos; j--)
          left++;
        for (size_t j = i + 1; j < ntoks && toks[j].kind == OSQ_TOKEN_GRAM && toks[j].space_before != 2 &&
                               toks[j].pos == toks[j - 1].pos + 1; j++)
          right++;
        if ((left == 2 && right == 2) || (glue1 && left <= 2 && right <= 2)) kt[nk++] = (kept_tok){*t, 0, -1};
      }
      continue;
    }
    if (t->kind == OSQ_TOKEN_UNI) {
      int covered = last && last->chunk == c && last->t.kind == OSQ_TOKEN_GRAM && last->t.pos + 1 == t->pos;
      int last_in_word = i + 1 == ntoks || tch[i + 1] != c;
      if (covered && last_in_word) continue;
      int sole = (i == 0 || tch[i - 1] != c) && last_in_word;
      if (sole && glue1) continue; /* held by the bigram before it, or by none */
      kt[nk++] = (kept_tok){*t, sole, c};
      continue;
    }
    /* a number that ends a word of a phrase also stands with a unit
     * after it ("몸무게가 85" in "몸무게가 85㎏": the index holds 85kg) */
    int number = exact && t->kind == OSQ_TOKEN_WORD && (i + 1 == ntoks || tch[i + 1] != c);
    for (uint32_t b = 0; number && b < t->len; b++) number = t->term[b] >= '0' && t->term[b] <= '9';
    kt[nk++] = (kept_tok){*t, number ? PREFIX_NUMBER : 0, c};
  }
  /* long queries: words past MAX_WORDS (or past MAX_LEAF tokens) are dropped */
  size_t n = 0;
  int32_t cur = -2;
  int drop = 0;
  for (size_t i = 0; i < nk; i++) {
    if (kt[i].chunk >= 0 && kt[i].chunk != cur) {
      cur = kt[i].chunk;
      size_t end = i;
      while (end < nk && kt[end].chunk == cur) end++;
      drop = drop || r->nwords_seen >= MAX_WORDS || n + (end - i) > MAX_LEAF;
      if (drop) r->dropped_words++;
      else r->nwords_seen++;
    }
    if (drop) continue;
    if (kt[i].chunk < 0 && (i + 1 == nk || n + 1 >= MAX_LEAF)) continue; /* a bridge to a dropped word */
    kt[n++] = kt[i];
  }
  while (n > 0 && kt[n - 1].chunk < 0) n--;
  rc = compile_tokens(r, node, exact, scoring, kt, n);
done:
  free(cs);
  free(ce);
  free(tch);
  free(kt);
  return rc;
}

static int compile_tokens(osq_results *r, osq__qnode *node, int exact, int scoring, const kept_tok *kt, size_t ntoks) {
  int rc;
  if (r->nleaves == r->leaves_cap) { /* doubling: a query may have thousands of clauses */
    size_t cap = r->leaves_cap ? 2 * r->leaves_cap : 8;
    qleaf *lp = realloc(r->leaves, cap * sizeof *lp);
    if (!lp) return OSQ_E_NOMEM;
    r->leaves = lp;
    r->leaves_cap = cap;
  }
  qleaf *l = &r->leaves[r->nleaves];
  memset(l, 0, sizeof *l);
  l->node = node;
  node->leaf = r->nleaves + 1;
  l->exact = exact;
  l->scoring = scoring;
  if (ntoks == 0) {
    r->nleaves++;
    return OSQ_OK;
  }
  l->term = malloc(ntoks * sizeof *l->term);
  l->off = malloc(ntoks * sizeof *l->off);
  l->flag = calloc(ntoks, 1);
  l->kind = calloc(ntoks, 1);
  l->chunk = malloc(ntoks * sizeof *l->chunk);
  if (!l->term || !l->off || !l->flag || !l->kind || !l->chunk) {
    free(l->term);
    free(l->off);
    free(l->flag);
    free(l->kind);
    free(l->chunk);
    return OSQ_E_NOMEM;
  }
  r->nleaves++;
  for (size_t i = 0; i < ntoks; i++) {
    l->kind[i] = kt[i].t.kind;
    l->chunk[i] = kt[i].chunk;
    /* a new word, not joined to the one before by a compound's bridge */
    if (i > 0 && kt[i].chunk >= 0 && kt[i].chunk != kt[i - 1].chunk && kt[i - 1].chunk >= 0) l->flag[i] |= LEAF_START;
  }
  l->n = (uint32_t)ntoks;
  for (size_t i = 0; i < ntoks; i++) l->off[i] = (int32_t)(kt[i].t.pos - kt[0].t.pos);
  /* The last bigram of each word of three or more characters that ends in a
   * particle syllable, and the one before it. */
  for (uint32_t i = 1; i < l->n; i++) {
    int gram = l->kind[i] == OSQ_TOKEN_GRAM;
    int prev_gram = same_word(l, i - 1) && l->kind[i - 1] == OSQ_TOKEN_GRAM;
    int next_gram = i + 1 < l->n && same_word(l, i) && l->kind[i + 1] == OSQ_TOKEN_GRAM;
    if (gram && prev_gram && !next_gram && (!(PMODE & 2) || is_particle(kt[i].t.term, 1))) {
      l->flag[i] |= LEAF_TAIL;
      if (i >= 2 && same_word(l, i - 2) && l->kind[i - 2] == OSQ_TOKEN_GRAM) l->flag[i - 1] |= LEAF_TAIL2;
    }
  }
  for (size_t i = 0; i < ntoks; i++) {
    if ((rc = add_term(r, kt[i].t.term, kt[i].t.len, kt[i].prefix, &l->term[i]))) return rc;
    if (scoring) {
      double w = (l->flag[i] & LEAF_TAIL) ? TAIL_W : (l->flag[i] & LEAF_TAIL2) ? TAIL2_W : 1.0;
      if (l->kind[i] == OSQ_TOKEN_WORD) w *= WORD_W;
      r->terms[l->term[i]].qtf += w;
    }
  }
  if (scoring)
    for (uint32_t i = 0; i + 1 < l->n; i++)
      if (pair_counts(l, i)) {
        r->terms[l->term[i]].pair_occ += 1;
        r->terms[l->term[i + 1]].pair_occ += 1;
      }
  if (exact || !scoring) return OSQ_OK;
  /* the clause's words, for matching (passage_tier) */
  for (uint32_t i = 0; i < l->n;) {
    if (l->chunk[i] < 0) {
      i++;
      continue;
    }
    uint32_t j = i;
    while (j + 1 < l->n && l->chunk[j + 1] == l->chunk[i]) j++;
    qword w = {(uint32_t)(l - r->leaves), i, j, j, 0};
    /* the stem: the word without an ending */
    uint32_t b = j, a = j;
    if (l->kind[b] == OSQ_TOKEN_GRAM) {
      while (a > i && l->kind[a - 1] == OSQ_TOKEN_GRAM && l->off[a - 1] + 1 == l->off[a]) a--;
      uint32_t e = ending_chars(r, l, a, b);
      if (e) w.s1 = b - e;
    } else if (j > i && (l->kind[j] == OSQ_TOKEN_UNI || l->kind[j] == OSQ_TOKEN_HEAD) && l->kind[j - 1] == OSQ_TOKEN_WORD) {
      /* nova를: a particle after a Latin word or a number */
      const qterm *u = &r->terms[l->term[j]];
      const uint8_t *p = u->term + (l->kind[j] == OSQ_TOKEN_HEAD);
      for (size_t k = 0; k < sizeof ENDINGS / sizeof *ENDINGS; k++)
        if (strlen(ENDINGS[k]) == 3 && u->len - (l->kind[j] == OSQ_TOKEN_HEAD) == 3 && !memcmp(p, ENDINGS[k], 3))
          w.s1 = j - 1;
    }
    /* the stem's text, to tell question words */
    uint8_t st[64];
    size_t sn = 0;
    for (uint32_t k = w.w0; k <= w.s1; k++) {
      const qterm *qt = &r->terms[l->term[k]];
      const uint8_t *tb = qt->term + (l->kind[k] == OSQ_TOKEN_HEAD);
      size_t tn = qt->len - (l->kind[k] == OSQ_TOKEN_HEAD);
      if (l->kind[k] == OSQ_TOKEN_GRAM && k > w.w0 && l->kind[k - 1] == OSQ_TOKEN_GRAM && l->off[k - 1] + 1 == l->off[k]) {
        size_t first = osq__utf8_len(tb, tn);
        tb += first;
        tn -= first;
      }
      if (sn + tn > sizeof st) break;
      memcpy(st + sn, tb, tn);
      sn += tn;
    }
    w.weak = is_question_word(st, sn);
    /* a word of two syllables whose second is a particle (돈을, 물의): its
     * stem is one syllable, too common to ask for */
    if (WEAK2 && sn == 6 && w.s1 == w.w1 && l->kind[w.w0] == OSQ_TOKEN_GRAM && w.w0 == w.w1) {
      static const char *const P2[] = {"을", "를", "은", "는", "에", "의", "도", "로", "와", "과"};
      for (size_t k = 0; k < sizeof P2 / sizeof *P2; k++)
        if (!memcmp(st + 3, P2[k], 3)) w.weak = 1;
    }
    qword *pw = realloc(r->words, (r->nwords + 1) * sizeof *pw);
    if (!pw) return OSQ_E_NOMEM;
    r->words = pw;
    r->words[r->nwords++] = w;
    i = j + 1;
  }
  return OSQ_OK;
}

static const qleaf *leaf_of(const osq_results *r, const osq__qnode *n);

static int compile(osq_results *r, osq__qnode *n, int top, int negative) {
  if (n->kind == OSQ__Q_LEAF) {
    int exact = n->phrase || !top || n->occur != OSQ__OCC_SHOULD;
    return compile_leaf(r, n, exact, !negative);
  }
  for (size_t i = 0; i < n->nkids; i++) {
    osq__qnode *k = n->kids[i];
    int rc = compile(r, k, top && !n->any && n == r->root, negative ^ (k->occur == OSQ__OCC_NOT));
    if (rc) return rc;
  }
  return OSQ_OK;
}

/* How many of n words and clauses a passage must match to match a query
 * of plain words.  All of them, up to SHARE_ALL; beyond, a share of them:
 * long natural-language questions (msmarco) name things a relevant passage
 * says in other words, and asking for every word would lose it
 * (docs/ranking.md has the measurements). */
static size_t need_of(size_t n) {
  if (n <= SHARE_ALL) return n;
  size_t k = (size_t)ceil(SHARE * (double)n - 1e-9);
  if (k < SHARE_ALL) k = SHARE_ALL;
  return k > n ? n : k;
}

/* Decides how the query matches.  A query whose top level holds plain
 * words (and maybe phrases, groups and exclusions, but no +must clause) is
 * "tiered": a passage matches when it holds `need` of its words (each word
 * whole, or its stem: word_match) and clauses; passages that hold fewer,
 * but at least a piece of a word, are found by a second pass and shown
 * after the matches (pass 2).  Other queries match as the boolean tree
 * says (node_match).  Marks the terms every match must contain, so that
 * evaluation can intersect instead of unite. */
static int plan_matching(osq_results *r) {
  const osq__qnode *root = r->root;
  size_t must = 0, should = 0;
  for (size_t i = 0; i < root->nkids; i++) {
    if (root->kids[i]->occur == OSQ__OCC_MUST) must++;
    else if (root->kids[i]->occur == OSQ__OCC_SHOULD) should++;
  }
  r->tiered = TIERS && !root->any && must == 0 && r->nwords > 0;
  if (r->tiered) {
    r->units = calloc(root->nkids + 1, sizeof *r->units);
    if (!r->units) return OSQ_E_NOMEM;
    for (size_t i = 0; i < root->nkids; i++) {
      const osq__qnode *k = root->kids[i];
      if (k->occur != OSQ__OCC_SHOULD) continue;
      const qleaf *l = k->kind == OSQ__Q_LEAF ? leaf_of(r, k) : NULL;
      if (l && !l->exact) continue; /* its words are in r->words */
      if (l && l->n == 0) continue; /* nothing to match (a quoted "?") */
      r->units[r->nunits++] = k;
    }
    size_t strong = r->nunits;
    for (size_t i = 0; i < r->nwords; i++) strong += !r->words[i].weak;
    if (strong == r->nunits && r->nunits == 0)
      for (size_t i = 0; i < r->nwords; i++) r->words[i].weak = 0; /* nothing but question words */
    r->nstrong = strong ? strong : r->nwords;
    r->need = need_of(r->nstrong);
    return OSQ_OK;
  }
  if (root->any) return OSQ_OK;
  for (size_t i = 0; i < root->nkids; i++) {
    const osq__qnode *k = root->kids[i];
    if (k->kind != OSQ__Q_LEAF || k->occur == OSQ__OCC_NOT) continue;
    if (k->occur == OSQ__OCC_SHOULD && (must || should != 1)) continue;
    const qleaf *l = leaf_of(r, k);
    if (!l || !l->exact) continue;
    for (uint32_t j = 0; j < l->n; j++) r->terms[l->term[j]].required = 1;
  }
  return OSQ_OK;
}

/* The required terms of a tiered query's first pass: when every word and
 * clause must match, each word's stem and each top-level phrase. */
static void mark_required(osq_results *r, int on) {
  for (size_t t = 0; t < r->nterms; t++)
    if (r->tiered) r->terms[t].required = 0;
  /* A query of one word is a ranked disjunction of its bigrams whose
   * windows and bounds (the whole-word bonus on its rarest bigram) find the
   * top k faster than an intersection: 대하여, 원심판결 took 2 to 3 times the
   * instructions intersected. */
  if (!r->tiered || !on || r->need < r->nstrong || r->nstrong < 2 || !REQ) return;
  for (size_t i = 0; i < r->nwords; i++) {
    const qword *w = &r->words[i];
    if (w->weak) continue;
    const qleaf *l = &r->leaves[w->leaf];
    for (uint32_t j = w->w0; j <= w->s1; j++) r->terms[l->term[j]].required = 1;
  }
  for (size_t i = 0; i < r->nunits; i++) {
    const qleaf *l = r->units[i]->kind == OSQ__Q_LEAF ? leaf_of(r, r->units[i]) : NULL;
    if (l)
      for (uint32_t j = 0; j < l->n; j++) r->terms[l->term[j]].required = 1;
  }
  /* One required term (a word of two syllables) is better found by the
   * windows of the ranked disjunction, which intersections do not use;
   * passage_tier keeps the matches exact either way. */
  size_t nreq = 0;
  for (size_t t = 0; t < r->nterms; t++) nreq += (size_t)r->terms[t].required;
  if (nreq < 2)
    for (size_t t = 0; t < r->nterms; t++) r->terms[t].required = 0;
}

/* ---- per-segment evaluation ------------------------------------------------ */

typedef struct prefix_ctx {
  const osq__segment *seg;
  const qterm *qt;
  osq__term_info *infos;
  size_t n, cap;
} prefix_ctx;

/* Does term stand for number term qt with a unit after it (85 of 85kg,
 * which ㎏ becomes), or for qt itself? */
static int number_with_unit(const uint8_t *term, size_t len, const qterm *qt) {
  if (len == qt->len) return 1;
  return term[qt->len] >= 'a' && term[qt->len] <= 'z';
}

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

static int tcur_open(tcur *tc, const osq__segment *seg, const qterm *qt) {
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

static void tcur_close(tcur *tc) {
  free(tc->pids);
  free(tc->tfs);
  free(tc->poff);
  free(tc->pos);
  free(tc->pbuf);
  memset(tc, 0, sizeof *tc);
}

static uint64_t tcur_df(const tcur *tc) {
  return tc->kind == 1 ? tc->c.ti.df : tc->kind == 2 ? tc->n : 0;
}

static int tcur_seek(tcur *tc, uint32_t target) {
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

static uint32_t tcur_tf(const tcur *tc) {
  return tc->kind == 1 ? osq__cursor_tf(&tc->c) : tc->tfs[tc->i];
}

/* Positions of the current passage, sorted; NULL when corrupt. */
static const uint32_t *tcur_positions(tcur *tc, uint32_t *n) {
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

static int has_pos(const uint32_t *p, uint32_t n, int64_t want) {
  if (want < 0) return 0;
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (p[mid] < want) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && p[lo] == want;
}

typedef struct evalctx {
  osq_results *r;
  const osq__segment *seg;
  tcur *tc;        /* one per query term */
  int corrupt;
} evalctx;

static int present(evalctx *e, uint32_t t, uint32_t pid) {
  tcur *tc = &e->tc[t];
  if (tc->pid < pid && tcur_seek(tc, pid) < 0) e->corrupt = 1;
  return tc->pid == pid;
}

/* Does the passage hold terms i0..i1 of leaf l at their offsets from one
 * another (all present in pid)? */
static int chain_at(evalctx *e, const qleaf *l, uint32_t i0, uint32_t i1) {
  uint32_t n0;
  const uint32_t *p0 = tcur_positions(&e->tc[l->term[i0]], &n0);
  if (!p0) { e->corrupt = 1; return 0; }
  for (uint32_t k = 0; k < n0; k++) {
    uint32_t i;
    for (i = i0 + 1; i <= i1; i++) {
      uint32_t ni;
      const uint32_t *pi = tcur_positions(&e->tc[l->term[i]], &ni);
      if (!pi) { e->corrupt = 1; return 0; }
      if (!has_pos(pi, ni, (int64_t)p0[k] + l->off[i] - l->off[i0])) break;
    }
    if (i > i1) return 1;
  }
  return 0;
}

/* Does the leaf's token sequence occur in passage pid, adjacent and in
 * order? */
static int leaf_phrase(evalctx *e, const qleaf *l, uint32_t pid) {
  if (l->n == 0) return 0;
  for (uint32_t i = 0; i < l->n; i++)
    if (!present(e, l->term[i], pid)) return 0;
  return l->n == 1 || chain_at(e, l, 0, l->n - 1);
}

/* The clause compiled from leaf node n (a lookup, not a search: node_match
 * asks for every clause of every candidate, and a query of 4,000 ORed words
 * took 11 s when this was a scan). */
static const qleaf *leaf_of(const osq_results *r, const osq__qnode *n) {
  if (n->leaf == 0 || n->leaf > r->nleaves || r->leaves[n->leaf - 1].node != n) return NULL;
  return &r->leaves[n->leaf - 1];
}

static int node_match(evalctx *e, const osq__qnode *n, uint32_t pid) {
  if (n->kind == OSQ__Q_LEAF) {
    const qleaf *l = leaf_of(e->r, n);
    if (!l || l->n == 0) return 0;
    if (l->exact) return leaf_phrase(e, l, pid);
    for (uint32_t i = 0; i < l->n; i++)
      if (present(e, l->term[i], pid)) return 1;
    return 0;
  }
  if (n->any) {
    for (size_t i = 0; i < n->nkids; i++)
      if (n->kids[i]->occur != OSQ__OCC_NOT && node_match(e, n->kids[i], pid)) return 1;
    return 0;
  }
  int must = 0, should = 0;
  for (size_t i = 0; i < n->nkids; i++) {
    const osq__qnode *k = n->kids[i];
    if (k->occur == OSQ__OCC_MUST) {
      if (!node_match(e, k, pid)) return 0;
      must = 1;
    } else if (k->occur == OSQ__OCC_NOT) {
      if (node_match(e, k, pid)) return 0;
    } else {
      should = 1;
    }
  }
  if (must) return 1;
  if (!should) return 0;
  for (size_t i = 0; i < n->nkids; i++)
    if (n->kids[i]->occur == OSQ__OCC_SHOULD && node_match(e, n->kids[i], pid)) return 1;
  return 0;
}

/* Does word w stand in passage pid: its stem's tokens at their offsets
 * from one another (the whole word holds its stem)?  A bigram across a
 * space in the passage (이 두 of "습격이 두려워") is only ever part of such a
 * chain, never a match of a longer word on its own. */
static int word_match(evalctx *e, const qword *w, uint32_t pid) {
  const qleaf *l = &e->r->leaves[w->leaf];
  for (uint32_t i = w->w0; i <= w->s1; i++)
    if (!present(e, l->term[i], pid)) return 0;
  return w->w0 == w->s1 || chain_at(e, l, w->w0, w->s1);
}

/* Does passage pid hold a piece of word w: two tokens of its stem side by
 * side (three characters of a Korean word), or the stem when it is one
 * token?  Not of its ending: the 하므로 of 뚜렷하므로 is in every ruling. */
static int word_piece(evalctx *e, const qword *w, uint32_t pid) {
  const qleaf *l = &e->r->leaves[w->leaf];
  if (w->w0 == w->s1) return present(e, l->term[w->w0], pid);
  for (uint32_t i = w->w0; i < w->s1; i++)
    if (present(e, l->term[i], pid) && present(e, l->term[i + 1], pid) && chain_at(e, l, i, i + 1)) return 1;
  return 0;
}

/* For a tiered query (plan_matching): 1 when passage pid matches (at
 * least `need` words and clauses, none of the excluded ones), 2 when it
 * matches fewer but holds at least a piece of a word, 0 otherwise.  The
 * first pass asks only whether it is 1. */
static int passage_tier(evalctx *e, uint32_t pid) {
  osq_results *r = e->r;
  const osq__qnode *root = r->root;
  for (size_t i = 0; i < root->nkids; i++)
    if (root->kids[i]->occur == OSQ__OCC_NOT && node_match(e, root->kids[i], pid)) return 0;
  size_t got = 0, left = r->nstrong;
  for (size_t i = 0; i < r->nwords && got + left >= r->need && got < r->need; i++) {
    if (r->words[i].weak) continue;
    got += (size_t)word_match(e, &r->words[i], pid);
    left--;
  }
  for (size_t i = 0; i < r->nunits && got + left >= r->need && got < r->need; i++, left--)
    got += (size_t)node_match(e, r->units[i], pid);
  if (got >= r->need) return 1;
  if (r->pass == 1) return 0;
  if (got > 0) return 2;
  /* a piece of a question word (무엇) or of 이를 says nothing */
  for (size_t i = 0; i < r->nwords; i++)
    if (!r->words[i].weak && word_piece(e, &r->words[i], pid)) return 2;
  for (size_t i = 0; i < r->nunits; i++)
    if (node_match(e, r->units[i], pid)) return 2;
  return 0;
}

/* Is passage pid a result of the current pass? */
static int passage_ok(evalctx *e, uint32_t pid) {
  if (!e->r->tiered) return node_match(e, e->r->root, pid);
  int t = passage_tier(e, pid);
  return e->r->pass == 1 ? t == 1 : t == 2;
}

/* Counts a matching passage and, when it starts a new one, its document
 * (candidates come in pid order within a segment, and a document's
 * passages are consecutive). */
static void count_match(evalctx *e, uint32_t si, uint32_t pid) {
  osq_results *r = e->r;
  r->matched++;
  /* Once pruning has skipped passages both counts are lower bounds: the
   * documents are then no longer counted, which saves a read of the
   * passage table (a cache miss) for every match of a common word. */
  if (r->pruned && r->docs) return;
  osq__passage_info pi;
  if (osq__segment_passage(e->seg, pid, &pi)) {
    e->corrupt = 1;
    return;
  }
  if (r->docs == 0 || r->last_seg != si || r->last_doc != pi.doc) r->docs++;
  r->last_seg = si;
  r->last_doc = pi.doc;
}

/* What title boost a bound must allow for in this segment. */
static double title_bound(const osq__segment *seg) { return seg->has_titles ? TITLE_W : 1.0; }

/* BM25's length part for a passage of len tokens, and the term score given
 * it: split so that a candidate computes the first once for all its terms
 * (the same expressions in the same order, so the same doubles). */
static inline double bm25_norm(const osq_results *r, uint32_t len) {
  return BM25_K1 * (1.0 - BM25_B + BM25_B * (double)len / r->avglen);
}
static inline double bm25n(const qterm *qt, uint32_t tf, double norm) {
  return qt->qtf * qt->idf * (double)tf * (BM25_K1 + 1.0) / ((double)tf + norm);
}
static double bm25(const osq_results *r, const qterm *qt, uint32_t tf, uint32_t len) {
  return bm25n(qt, tf, bm25_norm(r, len));
}

/* whole_w times the idfs of tokens i0..i1 of leaf l when the passage holds
 * them whole, in order; explained into out if given. */
static double chain_bonus(evalctx *e, const qleaf *l, uint32_t i0, uint32_t i1, uint32_t pid, const char *what,
                          osq__buf *out) {
  osq_results *r = e->r;
  double idfs = 0;
  for (uint32_t i = i0; i <= i1; i++) {
    if (!present(e, l->term[i], pid)) return 0;
    idfs += r->terms[l->term[i]].idf;
  }
  if (!chain_at(e, l, i0, i1)) return 0;
  double v = r->whole_w * idfs;
  if (out) {
    char line[700];
    int n = snprintf(line, sizeof line, "  %s %.*s..%.*s: +%.3f\n", what, (int)r->terms[l->term[i0]].len,
                     r->terms[l->term[i0]].term, (int)r->terms[l->term[i1]].len, r->terms[l->term[i1]].term, v);
    osq__buf_put(out, line, (size_t)n);
  }
  return v;
}

/* The whole-word part of a passage's score, for a query of one word
 * (query_words): a passage that holds the word whole, its bigrams adjacent
 * and in order, gets whole_w times their idfs, and as much again for the
 * word's stem without a particle tail (화웨이 of 화웨이가), so that passages
 * with the exact word come first, then those with its stem in another form
 * (화웨이는), then those that only share grams (게이트웨이).  BM25 over the
 * grams alone let a passage with many of the frequent gram 웨이 beat the
 * one about Huawei (../shared/KOREAN-SEARCH.md); the adjacency pairs, worth
 * a tenth of an idf, did not prevent it (바이두, 중국인, 치후360 on the
 * bundled corpus). */
static double whole_bonus(evalctx *e, uint32_t pid, osq__buf *out) {
  double bonus = 0;
  osq_results *r = e->r;
  if (r->whole_w == 0) return 0;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t w0 = 0, w1; next_word(l, w0, &w0, &w1); w0 = w1 + 1) {
      bonus += chain_bonus(e, l, w0, w1, pid, "whole word", out);
      uint32_t s1 = stem_end(l, w0, w1);
      if (s1 < w1 && s1 > w0) bonus += chain_bonus(e, l, w0, s1, pid, "whole stem", out);
    }
  }
  return bonus;
}

/* The proximity part of a passage's score; explains into out if given. */
static double pair_bonus(evalctx *e, uint32_t pid, osq__buf *out) {
  double bonus = whole_bonus(e, pid, out);
  osq_results *r = e->r;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t i = 0; i + 1 < l->n; i++) {
      if (!pair_counts(l, i)) continue;
      uint32_t a = l->term[i], b = l->term[i + 1];
      if (!present(e, a, pid) || !present(e, b, pid)) continue;
      uint32_t na, nb;
      const uint32_t *pa = tcur_positions(&e->tc[a], &na);
      if (!pa) { e->corrupt = 1; return 0; }
      const uint32_t *pb = tcur_positions(&e->tc[b], &nb);
      if (!pb) { e->corrupt = 1; return 0; }
      int32_t d = l->off[i + 1] - l->off[i];
      int hit = 0;
      /* both sorted: walk them together */
      uint32_t x = 0, y = 0;
      while (x < na && y < nb) {
        int64_t want = (int64_t)pa[x] + d;
        if (pb[y] == want) { hit = 1; break; }
        if (pb[y] < want) y++;
        else x++;
      }
      if (!hit) continue;
      double v = PAIR_W * (r->terms[a].idf + r->terms[b].idf) / 2;
      bonus += v;
      if (out) {
        char line[700];
        int n = snprintf(line, sizeof line, "  adjacent %.*s+%.*s: +%.3f\n", (int)r->terms[a].len,
                         r->terms[a].term, (int)r->terms[b].len, r->terms[b].term, v);
        osq__buf_put(out, line, (size_t)n);
      }
    }
  }
  return bonus;
}

/* Min-heap of the best k hits: worst at the top. */
typedef struct heap {
  hit_ref *h;
  size_t n, k;
} heap;

static int worse(const hit_ref *a, const hit_ref *b) {
  if (a->score != b->score) return a->score < b->score;
  if (a->seg != b->seg) return a->seg > b->seg;
  return a->pid > b->pid;
}

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
  if (max_f >= 0 && BM25_K1 == OSQ__BM25_K1 && BM25_B == OSQ__BM25_B && TITLE_W == OSQ__TITLE_W && r->nsegs_is_one)
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
  if (!passage_ok(e, pid)) return;
  if (r->pass == 1) count_match(e, si, pid);
  else r->matched2++;
  score = 0;
  for (size_t t = 0; t < r->nterms; t++)
    if (r->terms[t].qtf > 0 && present(e, (uint32_t)t, pid))
      score += bm25n(&r->terms[t], tcur_tf(&e->tc[t]), norm) * tw;
  score += pair_bonus(e, pid, NULL);
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
    double tw = osq__segment_title(seg, p) ? TITLE_W : 1.0;
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
      double tw = osq__segment_title(seg, pid) ? TITLE_W : 1.0;
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

static int search_segment(osq_results *r, uint32_t si, heap *hp, int no_prune) {
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
      e.tc[t] = r->terms[t].pre[si]; /* the cursor compute_stats opened: taken */
      memset(&r->terms[t].pre[si], 0, sizeof r->terms[t].pre[si]);
    } else if ((rc = tcur_open(&e.tc[t], seg, &r->terms[t]))) {
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
    double tw = osq__segment_title(seg, pid) ? TITLE_W : 1.0;
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
    for (size_t t = 0; t < r->nterms; t++) tcur_close(&e.tc[t]);
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

static int cmp_hit_desc(const void *a, const void *b) {
  const hit_ref *x = a, *y = b;
  if (worse(x, y)) return 1;
  if (worse(y, x)) return -1;
  return 0;
}

/* Global document frequencies: the sum over segments. */
static int compute_stats(osq_results *r) {
  osq_index *ix = r->ix;
  r->N = (double)ix->npassages;
  r->nsegs_is_one = ix->nsegs == 1;
  r->avglen = ix->npassages ? (double)ix->total_tokens / (double)ix->npassages : 1.0;
  if (r->avglen <= 0) r->avglen = 1.0;
  for (size_t t = 0; t < r->nterms; t++) {
    qterm *qt = &r->terms[t];
    qt->df = 0;
    /* The cursor that finds the df is the one the search then takes: a
     * term is looked up in each segment's dictionary once, not twice. */
    if (!qt->pre && !(qt->pre = calloc(ix->nsegs, sizeof *qt->pre))) return OSQ_E_NOMEM;
    for (uint32_t s = 0; s < ix->nsegs; s++) {
      int rc = tcur_open(&qt->pre[s], &ix->segs[s], qt);
      if (rc) return rc;
      qt->df += tcur_df(&qt->pre[s]);
    }
    double df = (double)qt->df;
    qt->idf = log(1.0 + (r->N - df + 0.5) / (df + 0.5));
  }
  return OSQ_OK;
}

/* Puts what whole_bonus can add for a chain of bigrams on the bound of its
 * rarest term: a passage without that term cannot get it, so the other
 * terms' bounds stay as they were, and a word's frequent tail (건에 of
 * 사건에) does not become essential to MaxScore.  Spread over every term of
 * the chain, the bound made one-word queries twice as slow at p99. */
static void chain_bound(osq_results *r, const qleaf *l, uint32_t i0, uint32_t i1) {
  double idfs = 0;
  uint32_t best = l->term[i0];
  for (uint32_t i = i0; i <= i1; i++) {
    const qterm *qt = &r->terms[l->term[i]];
    idfs += qt->idf;
    if (qt->df < r->terms[best].df) best = l->term[i];
  }
  r->terms[best].whole_ub += r->whole_w * idfs;
}

static void whole_bounds(osq_results *r) {
  if (r->whole_w == 0) return;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n < 2) continue;
    for (uint32_t w0 = 0, w1; next_word(l, w0, &w0, &w1); w0 = w1 + 1) {
      chain_bound(r, l, w0, w1);
      uint32_t s1 = stem_end(l, w0, w1);
      if (s1 < w1 && s1 > w0) chain_bound(r, l, w0, s1);
    }
  }
}

/* Words the query's scoring clauses hold (space-separated). */
static size_t query_words(const osq_results *r) {
  size_t n = 0;
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || !l->node || !l->node->text) continue;
    int in = 0;
    for (const char *p = l->node->text; *p; p++) {
      int sp = *p == ' ' || *p == '\t';
      if (!sp && !in) n++;
      in = !sp;
    }
  }
  return n;
}

/* Offset of the first byte that is not valid UTF-8, or n. */
static size_t utf8_bad_offset(const char *s, size_t n) {
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0, k;
  while (i < n && (k = osq__utf8_len(p + i, n - i)) > 0) i += k;
  return i;
}

/* One ranking of the top k (osq_search: paging, filters and sorting around
 * it).  The results take filter: osq_results_free frees it. */
static int search_run(osq_index *ix, const char *query, size_t len, const osq_search_options *opts, uint32_t k,
                      osq__filter *filter, osq_results **out) {
  *out = NULL;
  osq_results *r = calloc(1, sizeof *r);
  if (!r) {
    osq__filter_free(filter);
    return OSQ_E_NOMEM;
  }
  atomic_fetch_add_explicit(&ix->refs, 1, memory_order_relaxed);
  r->ix = ix;
  r->filter = filter;
  r->explain = opts && opts->explain;
  int fallback;
  int rc = osq__query_parse(query, len, &r->root, &fallback);
  if (rc) goto fail;
  if ((rc = compile(r, r->root, 1, 0))) goto fail;
  if ((rc = plan_matching(r))) goto fail;
  mark_required(r, 1);
  r->whole_w = query_words(r) <= WHOLE_MAX ? WHOLE_W : 0;
  if ((rc = compute_stats(r))) goto fail;
  whole_bounds(r);
  for (size_t t = 0; t < r->nterms; t++)
    r->terms[t].pair_ub = PAIR_W * r->terms[t].idf * r->terms[t].pair_occ / 2 + r->terms[t].whole_ub;
  heap hp = {NULL, 0, k};
  hp.h = malloc(k * sizeof *hp.h);
  if (!hp.h) { rc = OSQ_E_NOMEM; goto fail; }
  r->pass = 1;
  for (uint32_t s = 0; s < ix->nsegs && !rc; s++)
    rc = search_segment(r, s, &hp, opts && opts->no_prune);
  if (rc) { free(hp.h); goto fail; }
  qsort(hp.h, hp.n, sizeof *hp.h, cmp_hit_desc);
  r->nexact = hp.n;
  /* One word of one or two tokens: its only piece is the word, so a second
   * pass could only scan its bigrams' postings to find nothing. */
  int pieces = r->tiered;
  if (pieces && r->nstrong == 1 && r->nunits == 0)
    for (size_t i = 0; i < r->nwords; i++)
      if (!r->words[i].weak && r->words[i].s1 - r->words[i].w0 <= 1) pieces = 0;
  if (pieces && hp.n < k) {
    /* Fewer matches than wanted: the passages that share a piece of a
     * word, after them. */
    heap h2 = {hp.h + hp.n, 0, k - hp.n};
    int pruned = r->pruned;
    r->pass = 2;
    mark_required(r, 0);
    for (uint32_t s = 0; s < ix->nsegs && !rc; s++)
      rc = search_segment(r, s, &h2, opts && opts->no_prune);
    r->pruned = pruned;
    if (rc) { free(hp.h); goto fail; }
    qsort(h2.h, h2.n, sizeof *h2.h, cmp_hit_desc);
    hp.n += h2.n;
  }
  r->refs = hp.h;
  r->n = hp.n;
  r->hits = calloc(r->n ? r->n : 1, sizeof *r->hits);
  if (!r->hits) { rc = OSQ_E_NOMEM; goto fail; }
  *out = r;
  return OSQ_OK;
fail:
  osq_results_free(r);
  return rc;
}

/* OSQ_SORT_DATE: a result and its document's date. */
typedef struct dated_ref {
  hit_ref h;
  int32_t date;
} dated_ref;

static int cmp_dated(const void *a, const void *b) {
  const dated_ref *x = a, *y = b;
  if (x->date != y->date) return x->date > y->date ? -1 : 1; /* newest first; 0 (no date) last */
  return cmp_hit_desc(&x->h, &y->h);
}

/* Orders the matches by date, then the passages that only share pieces of
 * the words (which stay after them, as in a ranking by score). */
static int sort_by_date(osq_results *r, const osq__attrs *a) {
  dated_ref *d = malloc((r->n ? r->n : 1) * sizeof *d);
  if (!d) return OSQ_E_NOMEM;
  for (size_t i = 0; i < r->n; i++) {
    osq__passage_info pi;
    int rc = osq__segment_passage(&r->ix->segs[r->refs[i].seg], r->refs[i].pid, &pi);
    if (rc) {
      free(d);
      return rc;
    }
    d[i].h = r->refs[i];
    d[i].date = osq__attrs_doc_date(a, r->refs[i].seg, pi.doc);
  }
  qsort(d, r->nexact, sizeof *d, cmp_dated);
  qsort(d + r->nexact, r->n - r->nexact, sizeof *d, cmp_dated);
  for (size_t i = 0; i < r->n; i++) r->refs[i] = d[i].h;
  free(d);
  return OSQ_OK;
}

int osq__index_attrs(osq_index *ix, const osq__attrs **a, const osq__segment **segs) {
  *segs = ix->segs;
  return index_attrs(ix, a);
}

/* Paging, filters and sorting around search_run: the filter is made once,
 * from the index's document table; a ranking by date ranks every match
 * (pruning is by score), so when more match than the page reaches, the
 * search runs again for all of them -- at most OSQ_MAX_RANK, the best by
 * score, when even more match. */
OSQ_EXPORT int osq_search(osq_index *ix, const char *query, size_t len,
                          const osq_search_options *opts, osq_results **out) {
  *out = NULL;
  osq__clear_error();
  size_t bad = utf8_bad_offset(query, len);
  if (bad < len) return osq__fail(OSQ_E_UTF8, "query is not valid UTF-8 (bad byte 0x%02x at offset %zu)", (unsigned)(uint8_t)query[bad], bad);
  osq_search_options o;
  if (opts) o = *opts;
  else memset(&o, 0, sizeof o);
  uint32_t k = o.k ? o.k : 10;
  if (o.sort != OSQ_SORT_RELEVANCE && o.sort != OSQ_SORT_DATE)
    return osq__fail(OSQ_E_INVAL, "unknown sort order %d", o.sort);
  if ((uint64_t)o.offset + k > OSQ_MAX_RANK)
    return osq__fail(OSQ_E_INVAL, "offset %u and %u results reach past the %u a search ranks", o.offset, k,
                     OSQ_MAX_RANK);
  int by_date = o.sort == OSQ_SORT_DATE;
  int rc = osq__filter_check(&o); /* before reading every document */
  if (rc) return rc;
  const osq__attrs *a = NULL;
  osq__filter *f = NULL;
  if (osq__filter_wanted(&o) || by_date) {
    if ((rc = index_attrs(ix, &a))) return rc;
    if ((rc = osq__filter_make(a, ix->segs, &o, &f))) return rc;
  }
  if (by_date) o.no_prune = 1;
  uint32_t want = o.offset + k;
  osq_results *r;
  for (int again = 0;; again = 1) {
    if ((rc = search_run(ix, query, len, &o, want, f, &r))) return rc;
    if (!by_date || r->matched <= want || again || want == OSQ_MAX_RANK) break;
    want = r->matched > OSQ_MAX_RANK ? OSQ_MAX_RANK : (uint32_t)r->matched;
    f = r->filter; /* kept for the second run */
    r->filter = NULL;
    osq_results_free(r);
  }
  if (by_date && (rc = sort_by_date(r, a))) {
    osq_results_free(r);
    return rc;
  }
  size_t drop = o.offset < r->n ? o.offset : r->n;
  if (drop) {
    /* no hit is materialized yet: r->hits is all zeros */
    memmove(r->refs, r->refs + drop, (r->n - drop) * sizeof *r->refs);
    r->n -= drop;
    r->nexact = r->nexact > drop ? r->nexact - drop : 0;
  }
  if (r->n > k) r->n = k;
  if (r->nexact > r->n) r->nexact = r->n;
  *out = r;
  return OSQ_OK;
}

OSQ_EXPORT size_t osq_results_count(const osq_results *r) { return r->n; }
OSQ_EXPORT uint64_t osq_results_matched(const osq_results *r) { return r->matched + r->matched2; }

OSQ_EXPORT void osq_results_get_summary(const osq_results *r, osq_results_summary *s) {
  memset(s, 0, sizeof *s);
  s->passages = r->matched;
  s->documents = r->docs;
  s->at_least = r->pruned;
  s->exact_hits = r->nexact;
  s->words = (uint32_t)r->nwords_seen;
  s->dropped_words = (uint32_t)r->dropped_words;
  s->terms = (uint32_t)r->nterms;
}

OSQ_EXPORT int osq_results_is_exact(const osq_results *r, size_t i) { return i < r->nexact; }

/* ---- materializing hits: text, highlights, explanation ------------------------ */

static int cmp_span(const void *a, const void *b) {
  const osq_span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->end < y->end ? -1 : x->end > y->end);
}

static int tok_matches(const qterm *qt, const osq_token *tk) {
  if (qt->prefix == PREFIX_NUMBER)
    return tk->kind == OSQ_TOKEN_WORD && tk->len >= qt->len && !memcmp(tk->term, qt->term, qt->len) &&
           number_with_unit((const uint8_t *)tk->term, tk->len, qt);
  if (qt->prefix) return tk->kind != OSQ_TOKEN_WORD && tk->len >= qt->len && !memcmp(tk->term, qt->term, qt->len);
  return tk->len == qt->len && !memcmp(tk->term, qt->term, qt->len);
}

static int add_span(osq__buf *b, uint32_t s, uint32_t e) {
  osq_span sp = {s, e};
  if (e <= s) return OSQ_OK;
  return osq__buf_put(b, &sp, sizeof sp);
}

/* The byte range to mark for a token: a prefix term marks its first char. */
static void token_range(const qterm *qt, const osq_token *toks, size_t ntoks, size_t i, uint32_t *s, uint32_t *e) {
  *s = toks[i].start;
  *e = toks[i].end;
  if (qt->prefix && toks[i].kind == OSQ_TOKEN_GRAM) {
    for (size_t j = i + 1; j < ntoks; j++)
      if (toks[j].pos == toks[i].pos + 1 && toks[j].kind != OSQ_TOKEN_WORD) {
        *e = toks[j].start;
        break;
      }
  }
}

/* Spans end at the last non-space byte (a gram may bridge a space). */
static uint32_t trim_end(const char *text, uint32_t s, uint32_t e) {
  while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t')) e--;
  return e;
}

/* The index of a token at position pos that matches qt, or SIZE_MAX
 * (tokens come in position order). */
static size_t token_at(const osq_token *toks, size_t ntoks, uint32_t pos, const qterm *qt) {
  size_t lo = 0, hi = ntoks;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (toks[mid].pos < pos) lo = mid + 1;
    else hi = mid;
  }
  for (; lo < ntoks && toks[lo].pos == pos; lo++)
    if (tok_matches(qt, &toks[lo])) return lo;
  return SIZE_MAX;
}

/* Marks each occurrence of tokens i0..i1 of leaf l standing at their
 * offsets from one another; returns how many.  one_span: the occurrence as
 * one span, punctuation between its words included (a phrase: "이상, 기왕에"),
 * else each token's range. */
static size_t mark_chain(const osq_results *r, const qleaf *l, uint32_t i0, uint32_t i1, const char *text,
                         const osq_token *toks, size_t ntoks, int one_span, osq__buf *b) {
  const qterm *first = &r->terms[l->term[i0]];
  size_t found = 0;
  for (size_t x = 0; x < ntoks; x++) {
    if (!tok_matches(first, &toks[x])) continue;
    uint32_t i;
    for (i = i0 + 1; i <= i1; i++)
      if (token_at(toks, ntoks, toks[x].pos + (uint32_t)(l->off[i] - l->off[i0]), &r->terms[l->term[i]]) == SIZE_MAX)
        break;
    if (i <= i1) continue;
    found++;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (i = i0; i <= i1; i++) {
      const qterm *qt = &r->terms[l->term[i]];
      size_t y = i > i0 ? token_at(toks, ntoks, toks[x].pos + (uint32_t)(l->off[i] - l->off[i0]), qt) : x;
      uint32_t s, e;
      token_range(qt, toks, ntoks, y, &s, &e);
      e = trim_end(text, s, e);
      if (!one_span) add_span(b, s, e);
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    }
    if (one_span) add_span(b, lo, hi);
  }
  return found;
}

/* Marks what matched: each whole occurrence of an exact clause (a phrase,
 * or +word / -word: only where every token stands at its offset, so that
 * "제18조 제2항" does not mark the 제2항 of another article), and for plain
 * words each occurrence of the word, else of its stem, else of its pieces
 * (two tokens side by side): every word the passage holds is marked, a
 * Latin word beside Korean ones too ("nova 인스턴스" marks "(Nova)"), and a
 * lone bigram of a longer word never. */
static int highlight(osq_results *r, const char *text, size_t len, osq_span **spans, size_t *nspans) {
  const osq_token *toks;
  size_t ntoks;
  int rc = results_tokenize(r, text, len, &toks, &ntoks);
  if (rc) return rc;
  osq__buf b = {0};
  for (size_t li = 0; li < r->nleaves; li++) {
    const qleaf *l = &r->leaves[li];
    if (!l->scoring || l->n == 0 || !l->exact) continue;
    mark_chain(r, l, 0, l->n - 1, text, toks, ntoks, 1, &b);
  }
  for (size_t wi = 0; wi < r->nwords; wi++) {
    const qword *w = &r->words[wi];
    const qleaf *l = &r->leaves[w->leaf];
    size_t found = mark_chain(r, l, w->w0, w->w1, text, toks, ntoks, 0, &b);
    if (w->s1 < w->w1) found += mark_chain(r, l, w->w0, w->s1, text, toks, ntoks, 0, &b);
    if (found) continue;
    for (uint32_t i = w->w0; i < w->s1; i++) mark_chain(r, l, i, i + 1, text, toks, ntoks, 0, &b);
    if (w->w0 == w->s1) mark_chain(r, l, w->w0, w->w0, text, toks, ntoks, 0, &b);
  }
  size_t n = b.n / sizeof(osq_span);
  osq_span *sp = (osq_span *)b.p;
  if (n) qsort(sp, n, sizeof *sp, cmp_span);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && sp[i].start <= sp[m - 1].end) {
      if (sp[i].end > sp[m - 1].end) sp[m - 1].end = sp[i].end;
    } else {
      sp[m++] = sp[i];
    }
  }
  *spans = sp;
  *nspans = m;
  return OSQ_OK;
}

static int explain_hit(osq_results *r, const hit_ref *h, char **out) {
  const osq__segment *seg = &r->ix->segs[h->seg];
  evalctx e = {r, seg, NULL, 0};
  osq__buf b = {0};
  int rc = OSQ_OK;
  e.tc = calloc(r->nterms ? r->nterms : 1, sizeof *e.tc);
  if (!e.tc) return OSQ_E_NOMEM;
  for (size_t t = 0; t < r->nterms && !rc; t++) rc = tcur_open(&e.tc[t], seg, &r->terms[t]);
  if (!rc) {
    uint32_t len = osq__segment_plen(seg, h->pid);
    char line[800];
    int n = snprintf(line, sizeof line, "score %.4f = BM25 over n-grams + adjacency and whole words (passage length %u, average %.1f)\n",
                     h->score, len, r->avglen);
    osq__buf_put(&b, line, (size_t)n);
    double total = 0;
    for (size_t t = 0; t < r->nterms; t++) {
      const qterm *qt = &r->terms[t];
      if (qt->qtf == 0 || !present(&e, (uint32_t)t, h->pid)) continue;
      uint32_t tf = tcur_tf(&e.tc[t]);
      double v = bm25(r, qt, tf, len) * (osq__segment_title(seg, h->pid) ? TITLE_W : 1.0);
      total += v;
      int stem = qt->len > 1 && qt->term[0] == OSQ_STEM_MARK;
      n = snprintf(line, sizeof line, "  %s %.*s%s: tf %u, df %llu, idf %.3f -> %.3f\n", stem ? "stem" : "term",
                   (int)qt->len - stem, qt->term + stem, qt->prefix ? "*" : "", tf, (unsigned long long)qt->df, qt->idf, v);
      osq__buf_put(&b, line, (size_t)n);
    }
    double bonus = pair_bonus(&e, h->pid, &b);
    n = snprintf(line, sizeof line, "  = %.3f (BM25) + %.3f (adjacency and whole words)", total, bonus);
    osq__buf_put(&b, line, (size_t)n);
    osq__buf_byte(&b, 0);
    if (e.corrupt) rc = osq__damaged(seg->path, "corrupt postings");
  }
  for (size_t t = 0; t < r->nterms; t++) tcur_close(&e.tc[t]);
  free(e.tc);
  if (rc) {
    osq__buf_free(&b);
    return rc;
  }
  *out = (char *)b.p;
  return OSQ_OK;
}

/* Reads result i's document record (once) and fills the hit's score and
 * document fields. */
static int fill_doc(osq_results *r, size_t i, osq_hit *hit) {
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  if (!r->hits[i].docstore) {
    osq__passage_info pi = {0};
    int rc = osq__segment_passage(seg, h->pid, &pi);
    if (rc) return rc;
    if ((rc = osq__segment_doc(seg, pi.doc, &r->hits[i].di, &r->hits[i].docstore))) return rc;
    if (pi.heading > r->hits[i].di.nheadings)
      return osq__fail(OSQ_E_CORRUPT, "%s: corrupt segment: passage %u names heading %u of %u", seg->path, h->pid,
                       pi.heading, r->hits[i].di.nheadings);
    r->hits[i].heading = pi.heading;
  }
  memset(hit, 0, sizeof *hit);
  hit->score = h->score;
  hit->doc_id = r->hits[i].di.id;
  hit->title = r->hits[i].di.title;
  hit->source = r->hits[i].di.source;
  hit->url = r->hits[i].di.url;
  hit->date = r->hits[i].di.date;
  hit->passage_no = h->pid - r->hits[i].di.first_passage;
  hit->section = r->hits[i].heading ? r->hits[i].di.headings[r->hits[i].heading - 1] : "";
  hit->field_keys = r->hits[i].di.keys;
  hit->field_values = r->hits[i].di.values;
  hit->nfields = r->hits[i].di.nfields;
  return OSQ_OK;
}

OSQ_EXPORT int osq_results_get_doc(osq_results *r, size_t i, osq_hit *hit) {
  if (i >= r->n) return OSQ_E_INVAL;
  return fill_doc(r, i, hit);
}

OSQ_EXPORT int osq_results_get(osq_results *r, size_t i, osq_hit *hit) {
  if (i >= r->n) return OSQ_E_INVAL;
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  int rc = fill_doc(r, i, hit);
  if (rc) return rc;
  if (!r->hits[i].ready) {
    if ((rc = osq__segment_passage_text(seg, h->pid, &r->hits[i].passage, &r->hits[i].len))) return rc;
    if ((rc = highlight(r, r->hits[i].passage, r->hits[i].len, &r->hits[i].spans, &r->hits[i].nspans))) return rc;
    if (r->explain && (rc = explain_hit(r, h, &r->hits[i].explain))) return rc;
    r->hits[i].ready = 1;
  }
  hit->passage = r->hits[i].passage;
  hit->passage_len = r->hits[i].len;
  hit->spans = r->hits[i].spans;
  hit->nspans = r->hits[i].nspans;
  hit->explain = r->hits[i].explain;
  return OSQ_OK;
}

OSQ_EXPORT int osq_results_doc_passages(osq_results *r, size_t i, uint64_t *n) {
  *n = 0;
  if (i >= r->n) return OSQ_E_INVAL;
  osq_hit hit;
  int rc = fill_doc(r, i, &hit);
  if (rc) return rc;
  const hit_ref *h = &r->refs[i];
  const osq__segment *seg = &r->ix->segs[h->seg];
  const osq__doc_info *di = &r->hits[i].di;
  evalctx e = {r, seg, NULL, 0};
  e.tc = calloc(r->nterms ? r->nterms : 1, sizeof *e.tc);
  if (!e.tc) return OSQ_E_NOMEM;
  for (size_t t = 0; t < r->nterms && !rc; t++) rc = tcur_open(&e.tc[t], seg, &r->terms[t]);
  int pass = r->pass;
  r->pass = h->exact ? 1 : 2;
  uint64_t count = 0;
  for (uint32_t pid = di->first_passage; !rc && pid - di->first_passage < di->npassages && pid < seg->npassages; pid++) {
    if (osq__segment_deleted(seg, pid)) continue;
    int ok = passage_ok(&e, pid);
    if (e.corrupt) rc = osq__damaged(seg->path, "corrupt postings");
    else count += (uint64_t)ok;
  }
  r->pass = pass;
  for (size_t t = 0; t < r->nterms; t++) tcur_close(&e.tc[t]);
  free(e.tc);
  if (!rc) *n = count;
  return rc;
}

OSQ_EXPORT void osq_results_free(osq_results *r) {
  if (!r) return;
  if (r->hits)
    for (size_t i = 0; i < r->n; i++) {
      free(r->hits[i].passage);
      free(r->hits[i].docstore);
      free(r->hits[i].spans);
      free(r->hits[i].explain);
    }
  free(r->hits);
  free(r->refs);
  for (size_t i = 0; i < r->nleaves; i++) {
    free(r->leaves[i].term);
    free(r->leaves[i].off);
    free(r->leaves[i].flag);
    free(r->leaves[i].kind);
    free(r->leaves[i].chunk);
  }
  free(r->words);
  free(r->units);
  free(r->leaves);
  for (size_t t = 0; t < r->nterms; t++)
    if (r->terms[t].pre) {
      for (uint32_t s = 0; s < r->ix->nsegs; s++) tcur_close(&r->terms[t].pre[s]);
      free(r->terms[t].pre);
    }
  free(r->terms);
  osq__query_free(r->root);
  osq__filter_free(r->filter);
  osq_tokenizer_close(r->tk);
  if (r->ix) index_release(r->ix);
  free(r);
}
