/* writer_int.h -- what the writer's files (writer*.c) share: the writer
 * struct, the in-memory segment's term records, and the functions one of
 * them calls in another.  Private to libosq's writer. */
#ifndef OSQ_WRITER_INT_H
#define OSQ_WRITER_INT_H

/* The headers the writer's files use, once for all of them. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lz4.h>

#include "docstruct.h"
#include "manifest.h"
#include "merge.h"
#include "segment.h"

#include <pthread.h>

/* Store blocks that may wait for the compressor thread (OSQ__STORE_BLOCK bytes each). */
#define STORE_QUEUE 16
#define STORE_WAKE 8 /* blocks queued before the compressor is woken */

/* How many tokens ahead osq__writer_add_passage prefetches hash-table slots. */
#define PREFETCH_AHEAD 16

typedef struct wterm {
  osq__wterm w; /* first member: segment_write sees osq__wterm */
  uint64_t hash;
  uint32_t last_pid;
  uint32_t seen; /* the passage that last used the term + 1 */
  uint32_t slot; /* its index among that passage's terms */
} wterm;
_Static_assert(sizeof(wterm) == 64, "a term's fields fill one cache line");

/* A hash table slot.  Terms of up to 8 bytes -- Hangul bigrams are 6 --
 * are compared inside the slot, without touching the term itself. */
typedef struct tslot {
  uint64_t key; /* the term's bytes (len <= 8), else its hash */
  uint32_t id1; /* term id + 1; 0 = empty */
  uint32_t len;
} tslot;

struct osq_writer {
  char dir[4096];
  int lock_fd;
  osq_writer_options opts;
  osq__manifest man;
  osq__manifest_seg *new_segs;
  uint32_t nnew;
  osq_tokenizer *tk;
  /* the in-memory segment */
  wterm *terms;   /* by term id */
  size_t nterms, terms_cap;
  tslot *table;
  size_t table_cap;
  osq__buf arena;  /* term bytes, in chunks that never move */
  uint8_t *arena_chunk;
  size_t arena_left;
  uint8_t **chunks;
  size_t nchunks;
  osq__wpassage *passages;
  uint32_t npassages, passages_cap;
  osq__buf docs;
  uint32_t *doc_offsets;
  uint32_t ndocs, docs_cap;
  osq__buf store, block; /* compressed blocks; the block being filled */
  pid_t owner;            /* the process that opened the writer */
  void *lz4;              /* the store compressor's state, made once */
  uint32_t blocks_sent;   /* store blocks handed to the compressor */
  struct {                /* the compressor thread (see osq__writer_store_block) */
    pthread_t th;
    int started, nothread, stop, busy, failed; /* failed: until osq__writer_reset_segment */
    int drain;              /* osq__writer_store_sync waits: compress even a short queue */
    pid_t pid;              /* the process that started the thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    osq__buf q[STORE_QUEUE]; /* filled blocks waiting, q[head..head+count) */
    size_t head, count;
    size_t bytes;           /* w->store.n as of the last block done */
  } zq;
  uint64_t *store_offsets;
  uint32_t store_blocks, store_cap;
  uint64_t total_tokens;
  size_t mem_bytes;
  /* scratch */
  uint32_t *tok_slot, *pos;             /* per token */
  uint32_t *slot_term, *slot_tf, *slot_at; /* per distinct term of a passage */
  uint64_t *hashes;                          /* per token */
  size_t tok_cap;
  osq__cut *cuts;
  size_t cuts_cap;
  osq__buf clean;
  /* document structure (docstruct.c) and the context of the passages being
   * added (see CONTEXT below) */
  osq__docstruct ds;
  const char **sptr;       /* keys, values, headings of ds as arrays */
  size_t sptr_cap;
  osq__buf ctx_terms;      /* the context tokens' term bytes */
  struct ctx_tok { uint32_t off, len, pos; } *ctx;
  size_t nctx, ctx_cap;
  uint32_t ctx_len;        /* context positions counted in the BM25 length */
  uint64_t ctx_key;        /* what the context was built for; 0: nothing */
  osq_token *all;          /* a passage's tokens followed by its context's */
  size_t all_cap;
  osq__buf scratch;
  osq_writer_stats stats;
  /* ---- ids and deletions (see the comment at the top) ---- */
  int ids_loaded;
  struct idslot *ids; /* open addressing, power-of-two size */
  size_t ids_cap, ids_used;
  osq__buf id_bytes;  /* the ids' bytes */
  uint64_t *pending;  /* documents to delete: segment number << 32 | doc */
  size_t npending, pending_cap;
  int merging;        /* documents come from a merge: no id bookkeeping */
  int replace_done;   /* the replacing commit happened */
  int unsynced;       /* a manifest was published but its fsync failed (refuse_unsynced) */
  int failed;         /* the sticky status: see STICKY STATUS (writer.c) */
};

/* The path of file name in the index directory. */
static inline void path_of(const osq_writer *w, const char *name, char *out, size_t n) {
  snprintf(out, n, "%s/%s", w->dir, name);
}

/* ---- one file's functions that another calls ---- */

/* writer_cut.c */
const char *osq__writer_clean_text(osq_writer *w, const char *text, size_t len, size_t *bad);

/* writer_store.c */
int osq__writer_store_block(osq_writer *w);
int osq__writer_store_sync(osq_writer *w);
size_t osq__writer_store_bytes(osq_writer *w);
void osq__writer_store_stop(osq_writer *w);

/* writer_segment.c */
void osq__writer_reset_segment(osq_writer *w);
int osq__writer_add_passage(osq_writer *w, const char *text, size_t len, int title, uint32_t heading);
int osq__writer_flush(osq_writer *w);
int osq__writer_reserve_doc(osq_writer *w);
int osq__writer_doc_record(osq_writer *w, const char *const f[5], uint32_t first, const char *const *keys,
                           const char *const *values, uint32_t nf, const char *const *headings, uint32_t nh);
int osq__writer_flush_if_full(osq_writer *w);

/* writer_ids.c */
int osq__writer_load_ids(osq_writer *w);
int osq__writer_note_id(osq_writer *w, const char *id, uint32_t doc);
int osq__writer_delete(osq_writer *w, const char *id);
void osq__writer_drop_ids(osq_writer *w);
int osq__writer_apply_deletions(osq_writer *w, osq__manifest *m);

/* writer_add.c */
void osq__writer_context_init(void);
int osq__writer_add(osq_writer *w, const osq_doc *doc);

/* writer_files.c */
int osq__writer_lock(osq_writer *w);
void osq__writer_crash_point(const char *name);
void osq__writer_remove_garbage(osq_writer *w, int confirm);
void osq__writer_discard_new(osq_writer *w);
uint32_t osq__writer_next_number(osq_writer *w);
int osq__writer_adopt_manifest(osq_writer *w, osq__manifest *m);

/* writer_merge.c */
int osq__writer_merge_segments(osq_writer *w, const uint32_t *pick, uint32_t n);
int osq__writer_auto_merge(osq_writer *w);

#endif
