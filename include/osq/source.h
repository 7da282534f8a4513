/*
 * source.h -- reading input documents from files and directories, shared by
 * osindex and osbench so that every engine indexes the same documents.
 *
 * Formats, chosen by file name (case-insensitively):
 *   *.txt              one document; the first line is the title, the rest
 *                      the text, the id is the path as given (or as joined
 *                      from a directory walk, "dir/sub/a.txt").
 *   *.jsonl, *.jsonl.gz  one JSON object a line with "id" (a string, or a
 *                      number taken as its decimal string), "text", and
 *                      optional "title", "source", "url", "date"; other keys
 *                      are ignored.  A line without an id or a text is
 *                      skipped with a warning; blank lines are skipped
 *                      silently.  Concatenated gzip members are read as one;
 *                      bytes after the last are ignored with a warning.
 *                      A file whose first lines are mostly JSON objects is
 *                      read line by line even with NUL bytes in them (the
 *                      lines with NULs are warned about); other files with
 *                      NULs at their start are binary and skipped.
 * Directories are walked recursively in byte order of names, following
 * symbolic links but not loops, and links to directories only when they
 * stay inside the tree named (a link to ".." is skipped with a warning), at
 * most 256 levels deep; other files in them
 * are skipped silently, while a path named explicitly that is not an input
 * file is skipped with a warning.  Regular files and FIFOs are read: a
 * device or socket named explicitly (z.txt -> /dev/zero) is skipped with a
 * warning, and a FIFO nothing opens for writing within 30 s
 * (OSQ_SOURCE_FIFO_WAIT_MS) is skipped with a warning, not waited on for
 * ever.
 * Limits: a document -- a .txt file, a JSON line -- of more than 64 MiB is
 * skipped with a warning naming the file (and line), and memory stays
 * bounded whatever one line's size (OSQ_SOURCE_MAX_DOC_BYTES in the
 * environment sets another limit).  A title longer than 1024 bytes is cut
 * (at a character boundary) with a warning; a .txt whose first line is
 * longer keeps the whole line in its text, so that every word is found.
 * A problem with one line or one file (malformed JSON, unreadable file,
 * binary content, a truncated .gz) is reported through the warning callback
 * with the file and line, and reading carries on with the next line or file;
 * a damaged file keeps the documents read before the damage.  Invalid UTF-8
 * does not lose a document: it is warned about and each bad byte replaced by
 * U+FFFD, so every field read from a file is valid UTF-8 (a .txt id, being a
 * path, is whatever bytes the file system holds).
 *
 * Reading and JSON parsing run ahead in a worker thread, so that parsing
 * overlaps the caller's indexing; results and warnings are still delivered
 * in input order, on the caller's thread, from osq_source_next.  Setting
 * OSQ_SOURCE_READAHEAD=0 in the environment reads synchronously instead.
 */
#ifndef OSQ_SOURCE_H
#define OSQ_SOURCE_H

#include "osq.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct osq_source osq_source;

/* Called for every problem found; path and line (1-based; 0 = the whole
 * file) locate it, and message (without the path) says what it was.  Called
 * only from within osq_source_next, on its caller's thread.  Line warnings
 * are capped at 100 a file; a summary counts the rest. */
typedef void (*osq_source_warn_fn)(void *ctx, const char *path, uint64_t line,
                                   const char *message);

/* Prepares to read the given paths in order: walks them all at once (names
 * and sizes only), so total_bytes is known.  warn may be NULL (silent).
 * Returns OSQ_OK, OSQ_E_NOMEM, or OSQ_E_INVAL (out or a path is NULL);
 * missing paths and other walk problems are reported when reached. */
OSQ_EXPORT int osq_source_open(const char *const *paths, size_t npaths,
                               osq_source_warn_fn warn, void *warn_ctx,
                               osq_source **out);
/* Reads the next document into *doc.  Its strings stay valid until the next
 * call or osq_source_close.  Returns OSQ_OK, OSQ_DONE at the end, or
 * OSQ_E_NOMEM; either end is final (later calls return it again).  Per-file
 * and per-line problems are warnings, not statuses. */
OSQ_EXPORT int osq_source_next(osq_source *s, osq_doc *doc);

/* As of the last document handed out. */
typedef struct osq_source_stats {
  uint64_t files;        /* input files reached, failed ones included */
  uint64_t files_failed; /* missing, unreadable, binary or damaged files, and
                            trees cut by the depth limit (a damaged file may
                            still have given documents) */
  uint64_t lines_failed; /* JSON lines skipped: malformed, not an object, no
                            id or no text (repaired UTF-8 is not a failure) */
  uint64_t documents;    /* documents handed out */
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
