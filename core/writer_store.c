/*
 * writer_store.c -- the passage store of the in-memory segment: blocks of
 * passage text, LZ4-compressed by a thread of their own (THE COMPRESSOR
 * THREAD below) while the indexing thread goes on.  The store's layout on
 * the disk is segment_write.c's.
 */
#include "writer_int.h"

/* Compresses one store block and appends it to the store: called by the
 * compressor thread, or by the indexing thread when there is none. */
static int compress_store_block(osq_writer *w, const osq__buf *blk) {
  /* An LZ4 block (segment.h says why LZ4), with the compressor's state
   * allocated once for the writer's life. */
  if (blk->n > (size_t)LZ4_MAX_INPUT_SIZE) return osq__fail(OSQ_E_INVAL, "%s: a passage of over 2 GB", w->dir);
  if (!w->lz4 && !(w->lz4 = malloc((size_t)LZ4_sizeofState()))) return OSQ_E_NOMEM;
  int bound = LZ4_compressBound((int)blk->n);
  if (osq__buf_reserve(&w->store, (size_t)bound)) return OSQ_E_NOMEM;
  bound = LZ4_compress_fast_extState(w->lz4, (const char *)blk->p, (char *)w->store.p + w->store.n, (int)blk->n,
                                     bound, OSQ__STORE_ACCEL);
  if (bound <= 0) return OSQ_E_NOMEM; /* cannot happen with the bound's room */
  if (w->store_blocks + 2 > w->store_cap) {
    uint32_t cap = w->store_cap ? w->store_cap * 2 : 1024;
    uint64_t *p = realloc(w->store_offsets, cap * sizeof *p);
    if (!p) return OSQ_E_NOMEM;
    w->store_offsets = p;
    w->store_cap = cap;
  }
  w->store_offsets[w->store_blocks] = w->store.n;
  w->store.n += (size_t)bound;
  w->store_blocks++;
  w->store_offsets[w->store_blocks] = w->store.n;
  return OSQ_OK;
}

/* THE COMPRESSOR THREAD.  Compressing the passage store was a fifth of the
 * indexing work, and it depends on nothing but the passage texts, so a
 * second thread does it while the indexing thread tokenizes: filled blocks
 * wait in a queue of STORE_QUEUE buffers (the two threads swap buffers, no
 * copy), and while the thread runs only it touches w->store, w->lz4 and the
 * block offsets.  osq__writer_store_sync() waits for the queue to drain; everything
 * that reads the store (writing the segment, resetting it, closing) calls
 * it first.  Blocks are numbered as they are handed over (blocks_sent), so
 * a passage knows its block before the block is compressed. */
static void *store_thread(void *arg) {
  osq_writer *w = arg;
  osq__buf blk = {NULL, 0, 0};
  int awake = 0;
  pthread_mutex_lock(&w->zq.mu);
  for (;;) {
    /* Woken for a batch of blocks, then on until the queue is empty, not
     * block by block: on one core each wake-up is a switch of threads both
     * ways (4 % of osindex when it woke for every block). */
    if (!w->zq.count) awake = 0;
    if (!awake && w->zq.count < STORE_WAKE && !(w->zq.count && (w->zq.stop || w->zq.drain))) {
      if (w->zq.stop) break; /* and nothing queued */
      pthread_cond_wait(&w->zq.cv, &w->zq.mu);
      continue;
    }
    awake = 1;
    osq__buf t = w->zq.q[w->zq.head];
    w->zq.q[w->zq.head] = blk; /* the emptied buffer goes back for reuse */
    blk = t;
    w->zq.head = (w->zq.head + 1) % STORE_QUEUE;
    w->zq.count--;
    w->zq.busy = 1;
    int failed = w->zq.failed;
    pthread_mutex_unlock(&w->zq.mu);
    int rc = failed ? OSQ_OK : compress_store_block(w, &blk);
    blk.n = 0;
    pthread_mutex_lock(&w->zq.mu);
    if (rc) w->zq.failed = 1;
    w->zq.bytes = w->store.n;
    w->zq.busy = 0;
    pthread_cond_broadcast(&w->zq.cv);
  }
  pthread_mutex_unlock(&w->zq.mu);
  osq__buf_free(&blk);
  return NULL;
}

/* Waits until every block handed over is in the store. */
int osq__writer_store_sync(osq_writer *w) {
  if (!w->zq.started) return OSQ_OK;
  if (w->zq.pid != getpid()) /* a forked child: the thread is the parent's */
    return osq__fail(OSQ_E_INVAL, "%s: a writer cannot be used across fork()", w->dir);
  pthread_mutex_lock(&w->zq.mu);
  w->zq.drain = 1;
  pthread_cond_broadcast(&w->zq.cv);
  while (w->zq.count || w->zq.busy) pthread_cond_wait(&w->zq.cv, &w->zq.mu);
  w->zq.drain = 0;
  int failed = w->zq.failed; /* kept until the segment is reset */
  pthread_mutex_unlock(&w->zq.mu);
  return failed ? osq__fail(OSQ_E_NOMEM, "%s: out of memory compressing the passage store", w->dir) : OSQ_OK;
}

/* The store's compressed size so far (for the flush decision). */
size_t osq__writer_store_bytes(osq_writer *w) {
  if (!w->zq.started || w->zq.pid != getpid()) return w->store.n;
  pthread_mutex_lock(&w->zq.mu);
  size_t n = w->zq.bytes;
  pthread_mutex_unlock(&w->zq.mu);
  return n;
}

void osq__writer_store_stop(osq_writer *w) {
  if (!w->zq.started) return;
  if (w->zq.pid != getpid()) { /* a forked child: no thread to stop here */
    w->zq.started = 0;
    return;
  }
  pthread_mutex_lock(&w->zq.mu);
  w->zq.stop = 1;
  pthread_cond_broadcast(&w->zq.cv);
  pthread_mutex_unlock(&w->zq.mu);
  pthread_join(w->zq.th, NULL);
  pthread_mutex_destroy(&w->zq.mu);
  pthread_cond_destroy(&w->zq.cv);
  for (size_t i = 0; i < STORE_QUEUE; i++) osq__buf_free(&w->zq.q[i]);
  w->zq.started = 0;
}

/* Hands the block being filled to the compressor (or compresses it here
 * when no thread could be started). */
int osq__writer_store_block(osq_writer *w) {
  if (w->block.n == 0) return OSQ_OK;
  if (!w->zq.started && !w->zq.nothread) {
    if (pthread_mutex_init(&w->zq.mu, NULL) == 0) {
      if (pthread_cond_init(&w->zq.cv, NULL) == 0) {
        w->zq.stop = w->zq.busy = w->zq.drain = 0;
        w->zq.head = w->zq.count = 0;
        w->zq.bytes = w->store.n;
        w->zq.pid = getpid();
        if (pthread_create(&w->zq.th, NULL, store_thread, w) == 0) w->zq.started = 1;
        else pthread_cond_destroy(&w->zq.cv);
      }
      if (!w->zq.started) pthread_mutex_destroy(&w->zq.mu);
    }
    if (!w->zq.started) w->zq.nothread = 1; /* no thread: compress inline from now on */
  }
  if (!w->zq.started) {
    int rc = compress_store_block(w, &w->block);
    if (rc) return rc;
  } else {
    if (w->zq.pid != getpid())
      return osq__fail(OSQ_E_INVAL, "%s: a writer cannot be used across fork()", w->dir);
    pthread_mutex_lock(&w->zq.mu);
    while (w->zq.count == STORE_QUEUE) pthread_cond_wait(&w->zq.cv, &w->zq.mu);
    size_t tail = (w->zq.head + w->zq.count) % STORE_QUEUE;
    osq__buf t = w->zq.q[tail];
    w->zq.q[tail] = w->block;
    w->block = t;
    w->zq.count++;
    if (w->zq.count >= STORE_WAKE) pthread_cond_broadcast(&w->zq.cv);
    pthread_mutex_unlock(&w->zq.mu);
  }
  w->blocks_sent++;
  w->block.n = 0;
  return OSQ_OK;
}
