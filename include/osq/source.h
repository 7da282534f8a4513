/*
 * source.h -- reading input documents from files and directories, shared by
 * osindex and osbench so that every engine indexes the same documents.
 *
 * Formats, chosen by file name:
 *   *.txt              one document; the first line is the title, the id is
 *                      the path as given.
 *   *.jsonl, *.jsonl.gz  one JSON object a line with "id", "title", "text"
 *                      and optional "source", "url", "date".
 * Directories are walked recursively in name order; other files are skipped.
 * A problem with one line or one file (malformed JSON, unreadable file,
 * binary content) is reported through the warning callback with the file and
 * line, and reading carries on with the next line or file.
 */
#ifndef OSQ_SOURCE_H
#define OSQ_SOURCE_H

#include "osq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct osq_source osq_source;

/* Called for every problem found; path and line (0 = whole file) locate it. */
typedef void (*osq_source_warn_fn)(void *ctx, const char *path, uint64_t line,
                                   const char *message);

/* Prepares to read the given paths in order.  warn may be NULL (silent).
 * Returns OSQ_OK or OSQ_E_NOMEM; missing paths are reported when reached. */
OSQ_EXPORT int osq_source_open(const char *const *paths, size_t npaths,
                               osq_source_warn_fn warn, void *warn_ctx,
                               osq_source **out);
/* Reads the next document into *doc.  Its strings stay valid until the next
 * call or osq_source_close.  Returns OSQ_OK, OSQ_DONE at the end, or
 * OSQ_E_NOMEM.  Per-file and per-line problems are warnings, not statuses. */
OSQ_EXPORT int osq_source_next(osq_source *s, osq_doc *doc);

typedef struct osq_source_stats {
  uint64_t files, files_failed, lines_failed, documents;
  uint64_t bytes_read;   /* bytes of input files consumed (uncompressed) */
  uint64_t total_bytes;  /* sum of on-disk sizes of all input files,
                            known after open (for a progress bar) */
  uint64_t done_bytes;   /* on-disk bytes of input files consumed so far */
} osq_source_stats;
OSQ_EXPORT void osq_source_get_stats(const osq_source *s, osq_source_stats *st);
OSQ_EXPORT void osq_source_close(osq_source *s);

#ifdef __cplusplus
}
#endif
#endif /* OSQ_SOURCE_H */
