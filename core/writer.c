/*
 * writer.c -- builds segments in memory and publishes them.
 *
 * The writer holds one in-memory segment: a hash table of terms, each with a
 * raw posting stream (varint pid gap, tf, position gaps), the passage table,
 * the document records and the compressed passage store.  When its buffers
 * pass osq_writer_options.flush_bytes it writes them as a segment file and
 * starts again, so memory stays bounded whatever the input size; commit
 * writes the last one and publishes every new segment in one new manifest.
 *
 * COMMIT ORDER.  New segment files (temporary name, fsync, rename), then new
 * deletion files (the same), then the manifest (the same), each rename
 * followed by an fsync of the directory; only then are files the new
 * manifest no longer names deleted.  A crash at any point leaves the old
 * manifest or the new one, with every file it names; the files of the other
 * are garbage, deleted when the next writer opens the index.
 *
 * THE RENAME OF MANIFEST IS THE COMMIT POINT.  A failure before it (a write,
 * an fsync, a rename of a segment or deletion file, the manifest's own
 * write, fsync or rename) leaves the old manifest in place: the commit
 * failed, the files it wrote are garbage.  Once the rename succeeded the
 * change is published, whatever fails after it: a failed fsync of the
 * directory is OSQ_E_NOTDURABLE ("committed, durability not confirmed"),
 * never a failure that would make the writer delete what the published
 * manifest names.  Then, since a power loss could still bring the old
 * manifest back, the files only the old one names are kept too, and this
 * writer commits nothing more (refuse_unsynced).  Who deletes what:
 * osq__writer_remove_garbage and osq__writer_discard_new delete only what the manifest on
 * the disk, read again under the LOCK, does not name; a writer that opens
 * the index fsyncs the directory before deleting anything, so that the
 * manifest it read is durable before the files an older one named go.
 * A merge that fails after the commit it follows leaves that commit
 * standing (OSQ_E_AUTOMERGE), and the segments it had written are deleted
 * (published by a later commit they would duplicate documents).
 *
 * STICKY STATUS.  A failure inside osq_writer_add, _delete, _commit or
 * _merge can leave the writer between two consistent states: a passage
 * counted whose postings were not all appended, a document's id recorded
 * (and its old version queued for deletion) while the flush that was to
 * write it failed, half the ids of the index loaded.  Rather than undo each
 * of these, the writer remembers the first such failure in w->failed and
 * every later add, delete, commit and merge returns it (as FTS5's
 * Fts5Index.rc and LMDB's MDB_TXN_ERROR do) until osq_writer_close, which
 * discards whatever was not published: the index on disk stays what the
 * last successful commit made it, and no commit can publish a half-added
 * document.  Not sticky, because they change nothing: a document without
 * an id (OSQ_E_INVAL), deleting an id that is not there (OSQ_E_NOTFOUND);
 * nor the two "committed, but" statuses (OSQ_E_AUTOMERGE: the merge cleaned
 * up after itself; OSQ_E_NOTDURABLE has its own rule, refuse_unsynced).
 *
 * The writer's other files: writer_cut.c (passage cutting, UTF-8
 * cleaning), writer_add.c (documents, context), writer_segment.c (the
 * in-memory segment, its term hash table, the flush), writer_store.c (the
 * passage store and its compressor thread), writer_ids.c (ids, deletions),
 * writer_files.c (LOCK, manifest, garbage), writer_merge.c (merges); their
 * shared struct is writer_int.h's.
 */
#include "writer_int.h"

/* ---- open ------------------------------------------------------------------- */

OSQ_EXPORT int osq_writer_open(const char *dir, const osq_writer_options *opts, osq_writer **out) {
  *out = NULL;
  osq__clear_error();
  if (!dir || !*dir || strlen(dir) > 4000) return osq__fail(OSQ_E_INVAL, "bad index path");
  osq_writer *w = calloc(1, sizeof *w);
  if (!w) return OSQ_E_NOMEM;
  w->lock_fd = -1;
  w->owner = getpid();
  snprintf(w->dir, sizeof w->dir, "%s", dir);
  if (opts) w->opts = *opts;
  if (!w->opts.flush_bytes) w->opts.flush_bytes = (size_t)256 << 20;
  if (!w->opts.passage_min_chars) w->opts.passage_min_chars = 80;
  if (!w->opts.passage_max_chars) w->opts.passage_max_chars = 600;
  /* A passage stays far below what a reader accepts (64 MB, segment_read.c):
   * at most 4 bytes a codepoint and 1 + JOIN_MAX codepoints a character. */
  if (w->opts.passage_max_chars > OSQ__PASSAGE_MAX_CHARS) w->opts.passage_max_chars = OSQ__PASSAGE_MAX_CHARS;
  if (w->opts.passage_min_chars > w->opts.passage_max_chars) w->opts.passage_min_chars = w->opts.passage_max_chars;
  if (!w->opts.passage_overlap_chars) w->opts.passage_overlap_chars = 100;
  if (w->opts.passage_overlap_chars >= w->opts.passage_max_chars)
    w->opts.passage_overlap_chars = w->opts.passage_max_chars / 4;
  int rc;
  if ((rc = osq__writer_lock(w))) goto fail;
  rc = osq__manifest_read(dir, &w->man);
  int garbage_now = rc == OSQ_OK;
  if (rc == OSQ_E_NOINDEX ||
      (w->opts.replace && (rc == OSQ_E_CORRUPT || (rc == OSQ_E_VERSION && !w->man.newer)))) {
    /* Nothing to add to, or a rebuild of an index this osq cannot read:
     * start empty, with numbers past every file there.  The old files go
     * only after the rebuild's commit.  Never over an index of a newer
     * format: its osq reads it, this one only knows it cannot. */
    memset(&w->man, 0, sizeof w->man);
    w->man.next_segment = osq__writer_next_number(w);
    rc = OSQ_OK;
  }
  if (rc) goto fail;
  if (garbage_now) osq__writer_remove_garbage(w, 1);
  if ((rc = osq_tokenizer_create(&w->tk))) goto fail;
  osq__writer_context_init();
  osq__tokenizer_stems(w->tk, 1);
  osq__clear_error();
  *out = w;
  return OSQ_OK;
fail:
  osq_writer_close(w);
  return rc;
}

/* Publishes what was flushed (w->new_segs) and the queued deletions in a new
 * manifest; keep_old: the live segments stay (else a rebuild drops them).
 * Returns OSQ_OK, OSQ_E_NOTDURABLE (published, see osq__writer_adopt_manifest) or the
 * failure that left the old manifest in place. */
static int publish(osq_writer *w, int keep_old) {
  osq__manifest m = w->man;
  uint32_t keep = keep_old ? w->man.nsegs : 0;
  m.generation++;
  m.nsegs = keep + w->nnew;
  m.segs = malloc((m.nsegs ? m.nsegs : 1) * sizeof *m.segs);
  if (!m.segs) return OSQ_E_NOMEM;
  if (keep) memcpy(m.segs, w->man.segs, keep * sizeof *m.segs);
  if (w->nnew) memcpy(m.segs + keep, w->new_segs, w->nnew * sizeof *m.segs);
  osq__writer_crash_point("flushed");
  int rc = osq__writer_apply_deletions(w, &m);
  if (!rc) osq__writer_crash_point("deletions-written");
  if (!rc) rc = osq__writer_adopt_manifest(w, &m);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    free(m.segs);
    return rc;
  }
  w->npending = 0;
  osq__writer_crash_point("published");
  /* Files the new manifest does not name go now (readers that mapped them
   * keep their mapping) -- unless the manifest may not be durable: then a
   * power loss could bring back the old one, which names them. */
  if (!rc) osq__writer_remove_garbage(w, 0);
  return rc;
}

/* An fsync failed after a manifest was published: the kernel may have
 * dropped dirty pages it could not write, so this writer can promise
 * nothing more about the index.  Its later commits and merges fail; a new
 * writer (which fsyncs the directory before deleting anything) carries on. */
static int refuse_unsynced(osq_writer *w) {
  return osq__fail(OSQ_E_IO, "%s: an fsync of this writer's earlier commit failed; close the writer and check the index "
                   "(osindex check) before writing again", w->dir);
}

static int writer_commit(osq_writer *w) {
  if (w->unsynced) return refuse_unsynced(w);
  int rc = osq__writer_flush(w);
  if (rc) return rc;
  if (w->nnew == 0 && w->npending == 0 && w->man.generation > 0) return OSQ_OK;
  /* replace: the first commit of a rebuild replaces the index; later ones
   * through the same writer add to what it published. */
  rc = publish(w, !w->opts.replace || w->replace_done);
  if (rc && rc != OSQ_E_NOTDURABLE) return rc;
  w->replace_done = 1;
  /* Not durable: no merge either; more writing would only hide the fault. */
  if (rc) return rc;
  return osq__writer_auto_merge(w);
}

static int writer_merge(osq_writer *w) {
  uint64_t gen = w->man.generation;
  int rc = writer_commit(w);
  if (rc) return rc;
  /* Every segment, unless that would just rewrite one clean segment. */
  if (w->man.nsegs == 0 || (w->man.nsegs == 1 && !(w->man.segs[0].flags & OSQ__SEGF_DELETIONS)))
    return OSQ_OK;
  uint32_t *pick = malloc(w->man.nsegs * sizeof *pick);
  rc = pick ? OSQ_OK : OSQ_E_NOMEM;
  uint32_t n = w->man.nsegs;
  for (uint32_t i = 0; i < n && pick; i++) pick[i] = i;
  if (!rc) rc = osq__writer_merge_segments(w, pick, n);
  free(pick);
  if (rc && rc != OSQ_E_NOTDURABLE && w->man.generation != gen) {
    /* the commit above published changes: they stand */
    char why[900];
    snprintf(why, sizeof why, "%s", osq_last_error()[0] ? osq_last_error() : osq_strerror(rc));
    rc = osq__fail(OSQ_E_AUTOMERGE, "the merge after the commit failed (%s: %s); the index is as the commit left it",
                   osq_strerror(rc), why);
  }
  return rc;
}

/* ---- the sticky status (see STICKY STATUS at the top) --------------------------- */

static int refuse_failed(osq_writer *w) {
  return osq__fail(w->failed, "%s: an earlier call of this writer failed (%s); close it: what it added since its "
                   "last commit is discarded, the index is as that commit left it", w->dir, osq_strerror(w->failed));
}

/* Passes rc on, remembering it when it may have left the writer half-way. */
static int stick(osq_writer *w, int rc) {
  if (rc && rc != OSQ_E_NOTFOUND && rc != OSQ_E_AUTOMERGE && rc != OSQ_E_NOTDURABLE && !w->failed) w->failed = rc;
  return rc;
}

OSQ_EXPORT int osq_writer_add(osq_writer *w, const osq_doc *doc) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  if (!doc->id || !*doc->id) return osq__fail(OSQ_E_INVAL, "document without an id");
  return stick(w, osq__writer_add(w, doc));
}

OSQ_EXPORT int osq_writer_delete(osq_writer *w, const char *id) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  if (!id || !*id) return osq__fail(OSQ_E_INVAL, "empty document id");
  return stick(w, osq__writer_delete(w, id));
}

OSQ_EXPORT int osq_writer_commit(osq_writer *w) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  return stick(w, writer_commit(w));
}

OSQ_EXPORT int osq_writer_merge(osq_writer *w) {
  osq__clear_error();
  if (w->failed) return refuse_failed(w);
  return stick(w, writer_merge(w));
}

OSQ_EXPORT void osq_writer_get_stats(const osq_writer *w, osq_writer_stats *st) { *st = w->stats; }

OSQ_EXPORT void osq_writer_close(osq_writer *w) {
  if (!w) return;
  osq__writer_reset_segment(w);
  osq__writer_store_stop(w);
  /* Segments flushed but never committed are garbage now (unless this is
   * a forked copy of the writer: they are its parent's). */
  if (w->nnew && w->owner == getpid() && w->lock_fd >= 0) osq__writer_discard_new(w);
  free(w->new_segs);
  osq__manifest_free(&w->man);
  osq_tokenizer_close(w->tk);
  free(w->terms);
  free(w->table);
  free(w->chunks);
  free(w->passages);
  osq__buf_free(&w->docs);
  free(w->doc_offsets);
  osq__buf_free(&w->store);
  osq__buf_free(&w->block);
  free(w->lz4);
  free(w->store_offsets);
  free(w->tok_slot);
  free(w->pos);
  free(w->slot_term);
  free(w->slot_tf);
  free(w->slot_at);
  free(w->hashes);
  free(w->cuts);
  osq__buf_free(&w->clean);
  osq__docstruct_free(&w->ds);
  free(w->sptr);
  osq__buf_free(&w->ctx_terms);
  free(w->ctx);
  free(w->all);
  osq__buf_free(&w->scratch);
  osq__buf_free(&w->arena);
  osq__writer_drop_ids(w);
  free(w->pending);
  if (w->lock_fd >= 0) close(w->lock_fd);
  free(w);
}
