/*
 * osfloor -- how small could this index's postings, positions and dictionary
 * be, whatever the codec?
 *
 * The speed issue asks for at most 0.5 bytes of postings, positions and
 * dictionary per input byte.  What those sections must hold is fixed by the
 * tokens (which passages each term is in, how often, at which token
 * positions), and the tokens are fixed by the requirement that rankings do
 * not change.  This program reads an index and prints, next to the bytes
 * each section takes, the information-theoretic least any coder of that
 * content could take if it codes each list on its own (as every inverted
 * index does):
 *
 *   - passages of a term: log2 C(N, df) bits for a set of df out of N
 *     passages (N the segment's passages), the entropy of a set drawn
 *     uniformly.  Lists are not uniform (a term clusters in the passages of
 *     a document), so the program also counts what binary interpolative
 *     coding takes (Moffat and Stuiver 2000, the codec that gains most from
 *     clustering): if the lists clustered, it would come out below the
 *     uniform figure;
 *   - tf: the zero-order entropy of the tf values over all postings;
 *   - positions: log2 C(L, tf) bits for the tf positions of a posting in a
 *     passage of L tokens, positions drawn uniformly;
 *   - dictionary: as it is (front-coded blocks, already small).
 *
 * None of these floors leaves room for what makes a list fast to read
 * (frames, skip entries with block bounds): they are what no codec can go
 * below, not what a codec reaches.
 *
 * usage: osfloor [-i INDEX] [--input-bytes N] [--json]
 * With --input-bytes (osbench prints the corpus's text bytes), the figures
 * are also given per input byte; --json prints one object of byte counts
 * for scripts (and tests) instead of the table.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "segment.h"

/* Terms by df, as bench/README.md reports them. */
enum { NCLASS = 7 };
static const char *const class_name[NCLASS] = {
    "1", "2-9", "10-127", "128-999", "1k-10k", "10k-50k", "50k+"};
static int df_class(uint32_t df) {
  return df < 2 ? 0 : df < 10 ? 1 : df < 128 ? 2 : df < 1000 ? 3 : df < 10000 ? 4 : df < 50000 ? 5 : 6;
}

/* tf values counted exactly up to this, the rest together. */
enum { TF_MAX = 256 };

typedef struct floor_stats {
  double postings, positions;            /* counts */
  double set_bits, bic_bits, pos_bits;   /* floors in bits */
  double tf_count[TF_MAX + 1];
  double class_postings[NCLASS], class_set_bits[NCLASS], class_bic_bits[NCLASS],
      class_pos_bits[NCLASS], class_pos_bytes[NCLASS], class_post_bytes[NCLASS];
  uint64_t dict_bytes, post_bytes, pos_bytes;
} floor_stats;

/* Per segment while its terms are walked. */
typedef struct walk {
  const osq__segment *seg;
  const uint32_t *ntokens; /* per passage */
  floor_stats *st;
  uint32_t *pids;          /* one term's pids, for interpolative coding */
  size_t pids_cap;
  uint32_t *pos;           /* one posting's positions */
  size_t pos_cap;
  uint64_t prev_pos_off;   /* positions bytes of a term: the next term's offset minus its own */
  int prev_class;
  int have_prev;
  int rc;
} walk;

/* log2 of the binomial coefficient C(n, k). */
static double log2_choose(double n, double k) {
  if (k <= 0 || k >= n) return 0;
  return (lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)) / M_LN2;
}

/* Bits binary interpolative coding spends on the sorted, distinct values
 * a[0..n) known to lie in [lo, hi]: the middle value in the range its
 * neighbours leave it, then each half, with ceil(log2(range)) bits each.
 * Recursion depth is log2(n). */
static double interpolative_bits(const uint32_t *a, size_t n, uint64_t lo, uint64_t hi) {
  double bits = 0;
  while (n) {
    size_t m = n / 2;
    uint64_t v = a[m];
    uint64_t first = lo + m, last = hi - (n - 1 - m); /* where a[m] can be */
    uint64_t range = last - first + 1;
    if (range > 1) bits += ceil(log2((double)range));
    bits += interpolative_bits(a, m, lo, v - 1);
    a += m + 1;
    n -= m + 1;
    lo = v + 1;
  }
  return bits;
}

static int grow(uint32_t **p, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t n = *cap ? *cap : 1024;
  while (n < need) n *= 2;
  uint32_t *q = realloc(*p, n * sizeof *q);
  if (!q) return -1;
  *p = q;
  *cap = n;
  return 0;
}

/* The positions bytes of the term before, now that the next offset is known
 * (terms are walked in dictionary order, which is the order of their
 * positions). */
static void close_term(walk *w, uint64_t next_pos_off) {
  if (w->have_prev) w->st->class_pos_bytes[w->prev_class] += (double)(next_pos_off - w->prev_pos_off);
}

static int on_term(void *ctx, const uint8_t *term, size_t len, const osq__term_info *ti) {
  (void)term;
  (void)len;
  walk *w = ctx;
  floor_stats *st = w->st;
  int cls = df_class(ti->df);
  close_term(w, ti->pos_off);
  w->prev_pos_off = ti->pos_off;
  w->prev_class = cls;
  w->have_prev = 1;

  osq__cursor c;
  int rc = osq__cursor_open(&c, w->seg, ti);
  if (rc != OSQ_OK) goto fail;
  size_t n = 0;
  while (c.pid != UINT32_MAX) {
    uint32_t tf = osq__cursor_tf(&c);
    if (grow(&w->pids, &w->pids_cap, n + 1) || grow(&w->pos, &w->pos_cap, tf)) {
      rc = OSQ_E_NOMEM;
      goto fail;
    }
    w->pids[n++] = c.pid;
    long np = osq__cursor_positions(&c, w->pos, (uint32_t)w->pos_cap);
    if (np < 0) {
      rc = OSQ_E_CORRUPT;
      goto fail;
    }
    uint32_t L = w->ntokens[c.pid];
    double bits = log2_choose(L < tf ? tf : L, tf);
    st->pos_bits += bits;
    st->class_pos_bits[cls] += bits;
    st->positions += (double)np;
    st->tf_count[tf < TF_MAX ? tf : TF_MAX]++;
    rc = osq__cursor_next(&c);
    if (rc < 0) goto fail;
  }
  if (c.corrupt) {
    rc = OSQ_E_CORRUPT;
    goto fail;
  }
  double set = log2_choose(w->seg->npassages, n);
  double bic = interpolative_bits(w->pids, n, 0, w->seg->npassages - 1);
  st->postings += (double)n;
  st->set_bits += set;
  st->bic_bits += bic;
  st->class_postings[cls] += (double)n;
  st->class_set_bits[cls] += set;
  st->class_bic_bits[cls] += bic;
  st->class_post_bytes[cls] += (double)ti->post_len;
  return 0;
fail:
  w->rc = rc;
  return 1;
}

static int walk_segment(const char *path, floor_stats *st, char *err, size_t errlen) {
  osq__segment seg;
  int rc = osq__segment_open(path, &seg);
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "%s: %s", path, osq_strerror(rc));
    return rc;
  }
  walk w = {.seg = &seg, .st = st, .rc = OSQ_OK};
  uint32_t *ntokens = malloc((size_t)seg.npassages * sizeof *ntokens + 1);
  if (!ntokens) {
    rc = OSQ_E_NOMEM;
    snprintf(err, errlen, "%s: %s", path, osq_strerror(rc));
    goto done;
  }
  for (uint32_t pid = 0; pid < seg.npassages; pid++) {
    osq__passage_info pi;
    rc = osq__segment_passage(&seg, pid, &pi);
    if (rc != OSQ_OK) {
      snprintf(err, errlen, "%s: passage %u: %s", path, pid, osq_strerror(rc));
      goto done;
    }
    ntokens[pid] = pi.ntokens;
  }
  w.ntokens = ntokens;
  rc = osq__segment_prefix(&seg, (const uint8_t *)"", 0, on_term, &w);
  if (rc == OSQ_OK) rc = w.rc;
  if (rc != OSQ_OK) {
    snprintf(err, errlen, "%s: %s", path, osq_strerror(rc));
    goto done;
  }
  close_term(&w, seg.sec[OSQ__SEC_POSITIONS].n);
  st->dict_bytes += seg.sec[OSQ__SEC_DICT].n + seg.sec[OSQ__SEC_DICT_INDEX].n;
  st->post_bytes += seg.sec[OSQ__SEC_POSTINGS].n;
  st->pos_bytes += seg.sec[OSQ__SEC_POSITIONS].n;
done:
  free(ntokens);
  free(w.pids);
  free(w.pos);
  osq__segment_close(&seg);
  return rc;
}

static double tf_entropy_bits(const floor_stats *st) {
  double total = 0, bits = 0;
  for (int i = 0; i <= TF_MAX; i++) total += st->tf_count[i];
  for (int i = 0; i <= TF_MAX; i++)
    if (st->tf_count[i] > 0) bits -= st->tf_count[i] * log2(st->tf_count[i] / total);
  return bits;
}

static void line(const char *what, double actual_bytes, double floor_bits, double input) {
  printf("  %-28s %9.2f %9.2f", what, actual_bytes / 1e6, floor_bits / 8e6);
  if (input > 0) printf(" %9.3f %9.3f", actual_bytes / input, floor_bits / 8 / input);
  printf("\n");
}

static void usage(FILE *f) {
  fprintf(f, "usage: osfloor [-i INDEX] [--input-bytes N] [--json]\n"
             "Prints the bytes of the index's postings, positions and dictionary beside the\n"
             "least any per-list coder could take for the same content (see bench/README.md).\n"
             "INDEX defaults to $OSQ_INDEX, else ./osq-index.\n");
}

int main(int argc, char **argv) {
  const char *dir = getenv("OSQ_INDEX");
  if (!dir || !*dir) dir = "osq-index";
  double input = 0;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-i") && i + 1 < argc) {
      dir = argv[++i];
    } else if (!strcmp(argv[i], "--input-bytes") && i + 1 < argc) {
      char *end;
      errno = 0;
      input = strtod(argv[++i], &end);
      if (errno || *end || !(input > 0)) {
        fprintf(stderr, "osfloor: --input-bytes wants a positive number of bytes, not '%s'\n", argv[i]);
        return 2;
      }
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }

  osq__manifest m;
  int rc = osq__manifest_read(dir, &m);
  if (rc != OSQ_OK) {
    fprintf(stderr, "osfloor: %s: %s\n", dir, osq_strerror(rc));
    return 1;
  }
  floor_stats *st = calloc(1, sizeof *st);
  if (!st) {
    fprintf(stderr, "osfloor: %s\n", osq_strerror(OSQ_E_NOMEM));
    osq__manifest_free(&m);
    return 1;
  }
  for (uint32_t i = 0; i < m.nsegs; i++) {
    char name[64], path[4096], err[4352];
    osq__segment_name(m.segs[i].number, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (walk_segment(path, st, err, sizeof err) != OSQ_OK) {
      fprintf(stderr, "osfloor: %s\n", err);
      free(st);
      osq__manifest_free(&m);
      return 1;
    }
  }

  double tf_bits = tf_entropy_bits(st);
  if (json) {
    /* floors in bytes, rounded up */
    printf("{\"segments\":%u,\"postings\":%.0f,\"positions\":%.0f,"
           "\"postings_bytes\":%llu,\"positions_bytes\":%llu,\"dictionary_bytes\":%llu,"
           "\"floor_sets_bytes\":%.0f,\"floor_tf_bytes\":%.0f,\"floor_positions_bytes\":%.0f,"
           "\"interpolative_bytes\":%.0f,\"floor_total_bytes\":%.0f",
           m.nsegs, st->postings, st->positions, (unsigned long long)st->post_bytes,
           (unsigned long long)st->pos_bytes, (unsigned long long)st->dict_bytes,
           ceil(st->set_bits / 8), ceil(tf_bits / 8), ceil(st->pos_bits / 8), ceil(st->bic_bits / 8),
           ceil((st->set_bits + tf_bits + st->pos_bits) / 8) + (double)st->dict_bytes);
    if (input > 0) printf(",\"input_bytes\":%.0f", input);
    printf("}\n");
    free(st);
    osq__manifest_free(&m);
    return 0;
  }
  printf("index %s: %u segment%s, %.0f postings, %.0f positions\n", dir, m.nsegs,
         m.nsegs == 1 ? "" : "s", st->postings, st->positions);
  printf("  %-28s %9s %9s%s\n", "section (MB)", "actual", "floor",
         input > 0 ? "    actual     floor  (bytes per input byte)" : "");
  line("postings: passage sets", (double)st->post_bytes, st->set_bits, input);
  printf("  %-28s %9s %9.2f  (interpolative coding: %.2f MB)\n", "postings: tf", "", tf_bits / 8e6,
         st->bic_bits / 8e6);
  line("positions", (double)st->pos_bytes, st->pos_bits, input);
  line("dictionary (as it is)", (double)st->dict_bytes, 8.0 * (double)st->dict_bytes, input);
  line("total", (double)(st->post_bytes + st->pos_bytes + st->dict_bytes),
       st->set_bits + tf_bits + st->pos_bits + 8.0 * (double)st->dict_bytes, input);
  printf("  bits per posting: %.2f actual, %.2f floor (sets) + %.2f (tf); bits per position: %.2f actual, %.2f floor\n",
         8.0 * (double)st->post_bytes / st->postings, st->set_bits / st->postings,
         tf_bits / st->postings, 8.0 * (double)st->pos_bytes / st->positions,
         st->pos_bits / st->positions);
  printf("by df          postings   postings MB (sets floor, interpolative)   positions MB (floor)\n");
  for (int k = 0; k < NCLASS; k++) {
    if (!st->class_postings[k]) continue;
    printf("  %-9s %11.0f   %6.2f (%6.2f, %6.2f)                   %6.2f (%6.2f)\n", class_name[k],
           st->class_postings[k], st->class_post_bytes[k] / 1e6, st->class_set_bits[k] / 8e6,
           st->class_bic_bits[k] / 8e6, st->class_pos_bytes[k] / 1e6,
           st->class_pos_bits[k] / 8e6);
  }
  free(st);
  osq__manifest_free(&m);
  return 0;
}
