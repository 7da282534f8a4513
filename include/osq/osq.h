/*
 * osq.h -- the public interface of libosq, the posting-list core shared by
 * osindex, osq and osbench.
 *
 * Conventions (after LMDB and zlib):
 *   - Every function that can fail returns an int status: OSQ_OK (0) on
 *     success, a negative OSQ_E_* code on failure, and the positive OSQ_DONE
 *     where an iteration has simply ended.  Results come back through
 *     out-parameters.
 *   - Whoever opens, closes; every *_close / *_free accepts NULL.
 *   - Pointers handed out by the library point into library-owned memory; the
 *     comment on each prototype says how long they stay valid.
 *   - Errors carry a message: osq_last_error() returns a thread-local string
 *     that names the file (and offset) involved in the most recent failure.
 *   - THREADS: the library has no global state a caller must set up or
 *     lock.  An osq_index may be searched by any number of threads at once;
 *     an osq_results, an osq_writer and an osq_tokenizer belong to one
 *     thread at a time (use each from one thread, or lock around it).
 *     Each prototype below says what it allows.
 *   - LIFETIME: a handle is released by its own *_close / *_free; what it
 *     hands out (strings, arrays) lives until that call, or until the next
 *     call on the same handle where the prototype says so.  Results may
 *     outlive their index (osq_index_close).
 *   - ABI: structs the library reads or fills only grow at the end.  The
 *     functions that take one are macros over *_sized entry points that
 *     pass the caller's sizeof (zlib's deflateInit_ does the same): a
 *     program built against an older osq.h keeps working with a newer
 *     libosq.so.0, new fields reading as 0.  Arrays of structs (osq_token,
 *     osq_doc_passage, osq_span) do not grow within a SONAME.
 *   - Versions: OSQ_VERSION_* below are the header's, osq_version() the
 *     library's; the SONAME (libosq.so.OSQ_VERSION_MAJOR) changes only
 *     when the ABI breaks.
 */
#ifndef OSQ_OSQ_H
#define OSQ_OSQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(OSQ_BUILDING_LIBRARY) && defined(__GNUC__)
#define OSQ_EXPORT __attribute__((visibility("default")))
#else
#define OSQ_EXPORT
#endif

/* The version of this header (CMakeLists.txt reads it from here). */
#define OSQ_VERSION_MAJOR 0
#define OSQ_VERSION_MINOR 2
#define OSQ_VERSION_PATCH 0
#define OSQ_VERSION_STRING "0.2.0"
#define OSQ_VERSION_NUMBER (OSQ_VERSION_MAJOR * 10000 + OSQ_VERSION_MINOR * 100 + OSQ_VERSION_PATCH)

/* The version of the library linked ("0.2.0"); *number (may be NULL) gets
 * its OSQ_VERSION_NUMBER.  A program can compare it with the header's. */
OSQ_EXPORT const char *osq_version(int *number);

/* One table generates the status enum, osq_strerror() and osq_err_name(). */
#define OSQ_STATUS_MAP(XX)                                                   \
  XX(OK, 0, "success")                                                       \
  XX(DONE, 1, "no more items")                                               \
  XX(E_NOMEM, -1, "out of memory")                                           \
  XX(E_IO, -2, "input/output error")                                         \
  XX(E_CORRUPT, -3, "index file is corrupt")                                 \
  XX(E_VERSION, -4, "index was written by an unsupported format version")    \
  XX(E_NOINDEX, -5, "no index at this path")                                 \
  XX(E_INVAL, -6, "invalid argument")                                        \
  XX(E_UTF8, -7, "invalid UTF-8")                                            \
  XX(E_LOCKED, -8, "index is locked by another writer")                      \
  XX(E_PARSE, -9, "cannot parse input")                                      \
  XX(E_NOTFOUND, -10, "not found")                                           \
  XX(E_UNSUPPORTED, -11, "operation not supported")                          \
  XX(E_NOTDURABLE, -12, "committed, but durability not confirmed")           \
  XX(E_AUTOMERGE, -13, "committed, but the merge after it failed")

/* Two statuses report a commit that happened though something after it
 * failed; neither means "nothing changed":
 *   OSQ_E_NOTDURABLE  the new manifest was renamed into place (readers see
 *                     the change) but an fsync after the rename failed, so a
 *                     power loss could bring back the previous state.  Every
 *                     file either manifest names is kept; the writer refuses
 *                     further commits (close it, check the index, open a new
 *                     one).
 *   OSQ_E_AUTOMERGE   the commit is published and durable; the merge after
 *                     it (automatic, or osq_writer_merge's) failed and left
 *                     the index as the commit left it.
 * Every other failure of a commit or merge leaves the index unchanged. */
typedef enum {
#define OSQ__STATUS_ENUM(name, value, text) OSQ_##name = value,
  OSQ_STATUS_MAP(OSQ__STATUS_ENUM)
#undef OSQ__STATUS_ENUM
} osq_status;

/* A sentence for a status ("index file is corrupt"); never NULL. */
OSQ_EXPORT const char *osq_strerror(int status);
/* The status's name ("OSQ_E_CORRUPT"); never NULL. */
OSQ_EXPORT const char *osq_err_name(int status);
/* Details of the most recent failure in this thread: which file, which
 * offset, what was wrong.  Valid until the next failing call in this thread.
 * Returns "" when nothing failed. */
OSQ_EXPORT const char *osq_last_error(void);

/* The index format version this library reads and writes. */
#define OSQ_FORMAT_VERSION 6

/* ------------------------------------------------------------------------
 * Tokenizer
 *
 * Text is normalized first (NFKC, case folding, conjoining Hangul jamo
 * composed), then cut into tokens:
 *   - a run of Hangul syllables, CJK ideographs or kana becomes overlapping
 *     character bigrams; the run continues across plain spaces, so that
 *     "오픈 스택" and "오픈스택" give the same grams at the same positions;
 *     the last character of a run is also emitted alone (a "unigram"), and a
 *     run of one character is just that unigram.  Every character of a run is
 *     thus the first character of exactly one token, which is what lets a
 *     one-syllable query be answered by a dictionary prefix range.
 *   - Latin letters, digits and other letters/numbers become whole words.
 *   - A run that follows a word (제12조, 1의) also gives a "head" token for
 *     its first character.
 *   - Everything else separates tokens.
 * Positions count characters of a run and words, so adjacency of tokens in a
 * document and in a query are comparable.
 * ---------------------------------------------------------------------- */

typedef enum {
  OSQ_TOKEN_GRAM = 1, /* a CJK bigram */
  OSQ_TOKEN_UNI = 2,  /* a single CJK character (end of a run) */
  OSQ_TOKEN_WORD = 3, /* a word of letters or digits */
  OSQ_TOKEN_HEAD = 4, /* the first character of a CJK run that follows a
                         word, as OSQ_HEAD_MARK + the character; it shares
                         its position with the run's first token */
  OSQ_TOKEN_STEM = 5  /* the dictionary stem of a Korean word (Hangul
                         syllables between spaces), as OSQ_STEM_MARK + the
                         stem, at the word's first position: 화웨이가 ->
                         \x02화웨이.  Only the indexer's tokenizer makes
                         them (not osq_tokenize's callers): they are a field
                         of their own beside the bigrams (docs/ranking.md) */
} osq_token_kind;

#define OSQ_HEAD_MARK 0x01
#define OSQ_STEM_MARK 0x02

typedef struct osq_token {
  const char *term;  /* normalized UTF-8 bytes, not NUL-terminated */
  uint32_t len;      /* bytes in term */
  uint32_t pos;      /* token position (see above) */
  uint32_t start;    /* byte offset of the token's first char in the input */
  uint32_t end;      /* byte offset just past the token's last char */
  uint8_t kind;      /* osq_token_kind */
  uint8_t space_before; /* a space separated this token from the previous;
                           2: a bigram whose two characters a space separates */
} osq_token;

/* A tokenizer holds the buffers its tokens point into: one thread at a time
 * (make one per thread; they are cheap). */
typedef struct osq_tokenizer osq_tokenizer;

OSQ_EXPORT int osq_tokenizer_create(osq_tokenizer **out);
OSQ_EXPORT void osq_tokenizer_close(osq_tokenizer *tk);

/* Tokenizes text[0..len).  Invalid UTF-8 never fails: each bad byte is
 * replaced by U+FFFD (a separator) and counted in *bad_bytes (may be NULL).
 * On OSQ_OK, *tokens points at *ntokens tokens whose term bytes live in the
 * tokenizer: valid until the next call on tk or osq_tokenizer_close(tk).
 * Returns OSQ_OK or OSQ_E_NOMEM. */
OSQ_EXPORT int osq_tokenize(osq_tokenizer *tk, const char *text, size_t len,
                            const osq_token **tokens, size_t *ntokens,
                            size_t *bad_bytes);

/* ------------------------------------------------------------------------
 * Writing an index
 * ---------------------------------------------------------------------- */

typedef struct osq_doc {
  const char *id;     /* the input document's id (NUL-terminated, required) */
  const char *title;  /* may be NULL */
  const char *source; /* may be NULL */
  const char *url;    /* may be NULL */
  const char *date;   /* may be NULL */
  const char *text;   /* body, UTF-8 (bad bytes are replaced) */
  size_t text_len;
} osq_doc;

typedef struct osq_writer_options {
  /* Flush an in-memory segment when its buffers reach this many bytes
   * (0: the default, 256 MiB).  Bounds the writer's memory. */
  size_t flush_bytes;
  /* Passage cutting: a passage is a paragraph; paragraphs shorter than
   * min_chars are joined with the next one, longer than max_chars are cut
   * into windows overlapping by overlap_chars (0: defaults 80/600/100). */
  uint32_t passage_min_chars;
  uint32_t passage_max_chars;
  uint32_t passage_overlap_chars;
  /* Non-zero: the first commit replaces the whole index with what was added
   * (a rebuild; later commits through the same writer add to it), also an
   * index this osq cannot read (damaged, or of an older format) -- but never
   * one of a newer format (osq_writer_open fails with OSQ_E_VERSION); zero:
   * what was added joins the live segments. */
  int replace;
  /* Non-zero: no automatic merge after a commit (see osq_writer_commit). */
  int no_auto_merge;
  /* Called, when not NULL, for a problem with a document that does not stop
   * it from being indexed (malformed YAML front matter, kept as text):
   * doc_id names the document, message says what and where (its line in
   * the document's text).  Called from osq_writer_add, on its thread. */
  void (*warn)(void *ctx, const char *doc_id, const char *message);
  void *warn_ctx;
} osq_writer_options;

/* A writer belongs to one thread at a time (calls on one writer from two
 * threads at once need the caller's lock).  One writer per index at a time,
 * across processes too (the LOCK file: OSQ_E_LOCKED); readers need no lock
 * and never see what a writer has not committed. */
typedef struct osq_writer osq_writer;

/* Opens (creating if needed) the index directory dir for writing.
 * opts may be NULL.  Returns OSQ_OK, OSQ_E_IO, OSQ_E_CORRUPT, OSQ_E_VERSION,
 * OSQ_E_LOCKED or OSQ_E_NOMEM.  The writer compresses passage text on a
 * thread of its own: a writer belongs to the process that opened it (in a
 * forked child, adding and committing fail with OSQ_E_INVAL, and closing
 * leaves the parent's files alone). */
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT int osq_writer_open(const char *dir, const osq_writer_options *opts,
                               osq_writer **out);
#else
#define osq_writer_open(dir, opts, out) osq_writer_open_sized((dir), (opts), sizeof(osq_writer_options), (out))
#endif
OSQ_EXPORT int osq_writer_open_sized(const char *dir, const osq_writer_options *opts, size_t opts_size,
                                     osq_writer **out);
/* Adds one document.  Copies what it needs; doc may be reused at once.
 * A document whose id is already in the index (or was added earlier through
 * w) replaces it: the commit deletes the old version.
 * Returns OSQ_OK, OSQ_E_INVAL (no id), OSQ_E_NOMEM, OSQ_E_CORRUPT or OSQ_E_IO
 * (reading the ids of the index, or a flush).
 *
 * STICKY STATUS: after any failure of osq_writer_add, osq_writer_delete,
 * osq_writer_commit or osq_writer_merge (but OSQ_E_INVAL for a missing id,
 * OSQ_E_NOTFOUND, and the two "committed, but" statuses), every later call
 * of these four returns that same status until osq_writer_close, which
 * discards what was not committed: the index stays as the last successful
 * commit left it, and no commit publishes a document added half-way. */
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT int osq_writer_add(osq_writer *w, const osq_doc *doc);
#else
#define osq_writer_add(w, doc) osq_writer_add_sized((w), (doc), sizeof(osq_doc))
#endif
OSQ_EXPORT int osq_writer_add_sized(osq_writer *w, const osq_doc *doc, size_t doc_size);
/* Deletes the document with this id (from the index or from what was added
 * through w); takes effect at the commit.  Returns OSQ_OK, OSQ_E_NOTFOUND (no
 * live document has this id), OSQ_E_IO, OSQ_E_CORRUPT or OSQ_E_NOMEM. */
OSQ_EXPORT int osq_writer_delete(osq_writer *w, const char *id);
/* Writes what was added as segments and publishes them, with the deletions,
 * atomically in a new manifest.  Then, unless opts.no_auto_merge, merges
 * segments while there are more than 10 live ones: the smallest (at most 10
 * at a time) whose sizes together fit in the writer's memory budget
 * (flush_bytes), and any segment with half or more of its documents deleted.
 * Each merge publishes its own manifest.  Returns OSQ_OK;
 * OSQ_E_NOTDURABLE (published, durability not confirmed: see the statuses
 * above; no merge is tried); OSQ_E_AUTOMERGE (committed, the automatic merge
 * failed); or OSQ_E_IO, OSQ_E_CORRUPT, OSQ_E_NOMEM with the index unchanged
 * (and w failed for good: see STICKY STATUS above; close it, open another
 * writer and add the documents again). */
OSQ_EXPORT int osq_writer_commit(osq_writer *w);
/* Commits, then rewrites every live segment into as few new segments as
 * flush_bytes allows, without the deleted documents.  Readers keep their
 * snapshot; the old files are deleted once the new manifest is published
 * and durable.  Returns what osq_writer_commit returns, OSQ_E_AUTOMERGE when
 * that commit published something and the merge then failed, and
 * OSQ_E_NOTDURABLE when the merge's manifest is published but not confirmed. */
OSQ_EXPORT int osq_writer_merge(osq_writer *w);
/* Statistics of what was added through w so far. */
typedef struct osq_writer_stats {
  uint64_t documents, passages, input_bytes, bad_bytes, index_bytes;
  uint64_t replaced; /* added documents that replaced one with the same id */
  uint64_t deleted;  /* documents deleted by osq_writer_delete */
  uint64_t merges;   /* merges run (automatic or osq_writer_merge) */
  /* automatic merges not run because a segment failed its checksums (the
   * commit stands; osq_index_check reports the damage) */
  uint64_t merges_refused;
  /* documents whose YAML front matter did not parse (kept as text) */
  uint64_t bad_front_matter;
} osq_writer_stats;
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT void osq_writer_get_stats(const osq_writer *w, osq_writer_stats *st);
#else
#define osq_writer_get_stats(w, st) osq_writer_get_stats_sized((w), (st), sizeof(osq_writer_stats))
#endif
OSQ_EXPORT void osq_writer_get_stats_sized(const osq_writer *w, osq_writer_stats *st, size_t st_size);
/* Cuts a document text into passages the way the writer does (the title,
 * which the writer adds as a passage of its own, is not included).  opts
 * may be NULL (defaults).  *cuts receives a malloc'd array the caller
 * frees.  Returns the number of passages or OSQ_E_NOMEM. */
typedef struct osq_passage_cut {
  uint32_t start, end; /* byte range in text */
} osq_passage_cut;
OSQ_EXPORT long osq_cut_passages(const char *text, size_t len, const osq_writer_options *opts,
                                 osq_passage_cut **cuts);
/* A document cut into passages exactly as the writer indexes it: YAML
 * front matter removed, Markdown markup removed, a passage per section at
 * least, the title passage first when there is one (osq_cut_passages, on
 * the raw text, knows none of this). */
typedef struct osq_doc_passage {
  const char *text;    /* the passage text as the index stores it, NUL-terminated */
  size_t len;
  const char *section; /* the heading of its Markdown section, "" when none */
  int title;           /* the title passage (the document's title alone) */
  int title_context;   /* the title is indexed with it as context (a document with sections) */
} osq_doc_passage;
/* Cuts doc (id not needed) with opts (NULL: defaults).  *out receives one
 * malloc'd block, the array and its strings: free(*out) releases it all.
 * Returns the number of passages or OSQ_E_NOMEM. */
OSQ_EXPORT long osq_cut_document(const osq_doc *doc, const osq_writer_options *opts, osq_doc_passage **out);

/* Releases w; what was not committed is discarded (also after a failure:
 * this is the only call a failed writer still answers).  Strings and
 * options passed to the writer need not outlive the calls they were
 * passed to. */
OSQ_EXPORT void osq_writer_close(osq_writer *w);

/* ------------------------------------------------------------------------
 * Reading and searching
 * ---------------------------------------------------------------------- */

typedef struct osq_index osq_index;

/* Opens the index in dir for reading: maps the live segments named by the
 * manifest and reads their deletion bitmaps; reads no posting list.  The
 * index is a snapshot: commits, deletions and merges that a writer publishes
 * later are not seen (open again to see them), and the files they delete
 * stay readable through the mapping.  Returns OSQ_OK, OSQ_E_NOINDEX (no
 * manifest), OSQ_E_VERSION, OSQ_E_CORRUPT, OSQ_E_IO or OSQ_E_NOMEM.
 *
 * THREADS: an osq_index is never changed after open.  Any number of threads
 * may call osq_search, osq_index_get_stats and osq_index_open/close on it at
 * once, without a lock; each search keeps its state in its own osq_results.
 * (In builds with OSQ_TESTING, the default, the ranking parameters are read
 * from the environment once, by the first osq_index_open of the process.) */
OSQ_EXPORT int osq_index_open(const char *dir, osq_index **out);
/* Releases the caller's handle.  LIFETIME: results not yet freed keep what
 * they read (the segment mappings) alive; the memory goes with the last of
 * osq_index_close and osq_results_free, in any order.  Calling anything on
 * ix after osq_index_close, or closing it twice, is an error the library
 * cannot catch.  Do not close ix while another thread is inside
 * osq_search(ix, ...). */
OSQ_EXPORT void osq_index_close(osq_index *ix);

/* documents and passages count live ones (deleted ones excluded); terms is
 * summed over segments (a term in two segments counts twice); bytes is the
 * size of the segment and deletion files. */
typedef struct osq_index_stats {
  uint64_t segments, documents, passages, terms, bytes;
  uint64_t deleted_documents, deleted_passages; /* not yet merged away */
  uint64_t generation; /* of the manifest this snapshot was opened from */
  /* Segments whose stem terms another lexicon made than the one this
   * library stems queries with (a lexicon id in each segment header): words
   * may then not find their other forms until the index is rebuilt.  The
   * two ids, of the first such segment and of this library. */
  uint64_t stem_mismatch, index_lexicon, query_lexicon;
} osq_index_stats;
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT void osq_index_get_stats(const osq_index *ix, osq_index_stats *st);
#else
#define osq_index_get_stats(ix, st) osq_index_get_stats_sized((ix), (st), sizeof(osq_index_stats))
#endif
OSQ_EXPORT void osq_index_get_stats_sized(const osq_index *ix, osq_index_stats *st, size_t st_size);

/* How results are ordered (osq_search_options.sort). */
typedef enum {
  OSQ_SORT_RELEVANCE = 0, /* by score, best first */
  OSQ_SORT_DATE = 1       /* by the document's date, newest first; documents
                             without a date last; equal dates by score */
} osq_sort;

/* A zeroed struct asks for the first 10 results by relevance, no filter. */
typedef struct osq_search_options {
  uint32_t k;       /* results wanted (0: 10) */
  int explain;      /* fill osq_hit.explain */
  int no_prune;     /* evaluate every candidate (for tests of pruning) */
  /* Paging: skip this many results of the ranking first (result 0 is then
   * the ranking's offset-th).  offset + k is at most OSQ_MAX_RANK. */
  uint32_t offset;
  /* Filters; NULL or "" for none.  A passage is searched only when its
   * document passes every filter given, so the counts of the summary are
   * counts of what passes.
   *   source:    the document's source starts with these bytes.  A
   *              document's source is its "source" field (JSON Lines), or,
   *              when it has none (a .txt file), its id (the path).
   *   date_from, date_to: the document's date (osq_date_parse) lies in the
   *              range, both ends included; "2020" or "2020-03" stand for
   *              the whole year or month.  A document without a date never
   *              passes a date filter.
   * A filter that is not understood fails the search with OSQ_E_INVAL. */
  const char *source;
  const char *date_from, *date_to;
  int sort;         /* osq_sort (0: relevance) */
} osq_search_options;

/* The most results a search ranks: offset + k. */
#define OSQ_MAX_RANK 1000000u

/* A document's date, for filters and OSQ_SORT_DATE, is the first of these
 * that reads as a date: its "date" field (JSON Lines), then the front matter
 * fields date, 선고일자 (a ruling's), 공포일자 and 시행일자 (a statute's).
 * Dates read as year, month, day in that order, separated by '-', '.', '/'
 * or spaces ("2000-10-27", "2000. 10. 27.", "2000/10/27"), or as 8 digits
 * (20001027); a time after the date is ignored; the month and the day may be
 * left out ("2000-10", "2000").  osq_date_parse reads s that way: *key
 * receives year * 10000 + month * 100 + day, with 0 for a part left out.
 * Returns OSQ_OK, or OSQ_E_INVAL when s is not such a date. */
OSQ_EXPORT int osq_date_parse(const char *s, int32_t *key);

typedef struct osq_span {
  uint32_t start, end; /* byte range in osq_hit.passage */
} osq_span;

typedef struct osq_hit {
  double score;
  const char *doc_id, *title, *source, *url, *date; /* "" when absent */
  const char *passage;  /* the passage text, NUL-terminated */
  size_t passage_len;
  const osq_span *spans; /* matched ranges, sorted, non-overlapping */
  size_t nspans;
  const char *explain;  /* a breakdown of the score, or NULL */
  uint32_t passage_no;  /* passage ordinal within its document */
  /* The heading of the Markdown section the passage lies in ("" when none),
   * without markup. */
  const char *section;
  /* The document's YAML front matter fields, in their order: keys[i] and
   * values[i] (lists joined by ", "); nfields 0 when it had none. */
  const char *const *field_keys;
  const char *const *field_values;
  size_t nfields;
} osq_hit;

/* An osq_results belongs to one thread at a time: the osq_results_*
 * functions fill caches and buffers in it (the passages they decompress).
 * Different results, of one index or several, may be used by different
 * threads at once.  It stays valid after osq_index_close of its index (see
 * there) until osq_results_free. */
typedef struct osq_results osq_results;

/* Runs a query (syntax in README.md and core/query_parse.c).  Malformed syntax never
 * fails: it falls back to plain words.  Returns OSQ_OK, OSQ_E_UTF8 (the
 * query is not valid UTF-8), OSQ_E_CORRUPT, OSQ_E_IO or OSQ_E_NOMEM. */
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT int osq_search(osq_index *ix, const char *query, size_t len,
                          const osq_search_options *opts, osq_results **out);
#else
#define osq_search(ix, query, len, opts, out) \
  osq_search_sized((ix), (query), (len), (opts), sizeof(osq_search_options), (out))
#endif
OSQ_EXPORT int osq_search_sized(osq_index *ix, const char *query, size_t len, const osq_search_options *opts,
                                size_t opts_size, osq_results **out);
OSQ_EXPORT size_t osq_results_count(const osq_results *r);
/* Total passages that matched (before the top-k cut), when known. */
OSQ_EXPORT uint64_t osq_results_matched(const osq_results *r);
/* What a query matched, beyond the top k.  A passage matches a query of
 * plain words when it holds every word (whole, or its stem when the word
 * ends in a particle or ending: 화웨이가 -> 화웨이), or, for a query of more
 * than three words and clauses, half of them; passages that hold less, but
 * a piece of a word, are returned after the matches only when fewer than k
 * passages match (osq_results_is_exact tells them apart).  Other queries
 * (+must, OR at the top) match as their operators say. */
typedef struct osq_results_summary {
  uint64_t passages;      /* passages that match */
  uint64_t documents;     /* documents they belong to */
  int at_least;           /* pruning skipped passages: both counts are lower bounds */
  size_t exact_hits;      /* results 0 .. exact_hits-1 match; the rest only share pieces */
  uint32_t words;         /* words the query searched */
  uint32_t dropped_words; /* words of a long query left out (past the 64th) */
  uint32_t terms;         /* index terms looked up: 0 when the query holds nothing to search */
} osq_results_summary;
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT void osq_results_get_summary(const osq_results *r, osq_results_summary *s);
#else
#define osq_results_get_summary(r, s) osq_results_get_summary_sized((r), (s), sizeof(osq_results_summary))
#endif
OSQ_EXPORT void osq_results_get_summary_sized(const osq_results *r, osq_results_summary *s, size_t s_size);
/* Does result i match the query (see osq_results_summary)? */
OSQ_EXPORT int osq_results_is_exact(const osq_results *r, size_t i);
/* How many passages of result i's document match the query as result i
 * does (a match, or a passage sharing pieces of its words), result i's
 * included.  Returns OSQ_OK, OSQ_E_INVAL, OSQ_E_CORRUPT or OSQ_E_NOMEM. */
OSQ_EXPORT int osq_results_doc_passages(osq_results *r, size_t i, uint64_t *n);
/* Fills *hit with result i (0-based).  Strings stay valid until
 * osq_results_free(r).  Returns OSQ_OK, OSQ_E_INVAL (i out of range),
 * OSQ_E_CORRUPT or OSQ_E_NOMEM (decompressing the passage). */
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT int osq_results_get(osq_results *r, size_t i, osq_hit *hit);
#else
#define osq_results_get(r, i, hit) osq_results_get_sized((r), (i), (hit), sizeof(osq_hit))
#endif
OSQ_EXPORT int osq_results_get_sized(osq_results *r, size_t i, osq_hit *hit, size_t hit_size);
/* Like osq_results_get, but fills only the score, passage_no and the
 * document fields (passage NULL, no spans, no explanation): it reads no
 * passage text, for callers that want ids only. */
#ifdef OSQ_BUILDING_LIBRARY
OSQ_EXPORT int osq_results_get_doc(osq_results *r, size_t i, osq_hit *hit);
#else
#define osq_results_get_doc(r, i, hit) osq_results_get_doc_sized((r), (i), (hit), sizeof(osq_hit))
#endif
OSQ_EXPORT int osq_results_get_doc_sized(osq_results *r, size_t i, osq_hit *hit, size_t hit_size);
OSQ_EXPORT void osq_results_free(osq_results *r);

/* A document of the index, looked up by its id: its fields and every
 * passage as the index stores it. */
typedef struct osq_document {
  const char *doc_id, *title, *source, *url, *date; /* "" when absent */
  int32_t date_key;   /* the date filters and sorting use (osq_date_parse), 0: none */
  const char *const *field_keys; /* front matter fields, as in osq_hit */
  const char *const *field_values;
  size_t nfields;
  size_t npassages;
  const char *const *passages;   /* passage i's text, NUL-terminated */
  const size_t *passage_lens;
  const char *const *sections;   /* passage i's section heading, "" when none */
} osq_document;
/* Finds the live document with this id.  The first call on an index reads
 * every document record once (see osq_search_options' filters) and keeps
 * what it read with the index.  Returns OSQ_OK, OSQ_E_NOTFOUND,
 * OSQ_E_CORRUPT or OSQ_E_NOMEM.  *out lives until osq_document_free. */
OSQ_EXPORT int osq_document_get(osq_index *ix, const char *id, osq_document **out);
OSQ_EXPORT void osq_document_free(osq_document *d);

/* ------------------------------------------------------------------------
 * Maintenance: checking and describing an index (no lock needed)
 * ---------------------------------------------------------------------- */

/* The functions of this part open the files they need and close them before
 * returning: any thread, any time, also while a writer commits. */

/* Called once per problem found: file is the file's name in the index
 * directory ("MANIFEST", "seg-00000003.osq", ...), problem a sentence. */
typedef void (*osq_check_fn)(void *ctx, const char *file, const char *problem);

/* Verifies the index in dir: the manifest, then every segment and deletion
 * file it names -- checksums of every section and whole file, header and
 * section table, every dictionary entry and their order, the passage and
 * document tables, every store block decompressed, deletion bitmaps against the
 * documents.  deep: also walks every posting list and its positions with the
 * checked decoders.  Stray files a crashed writer left are not problems (the
 * next writer deletes them); *stray (may be NULL) counts them.  Returns
 * OSQ_OK when nothing is wrong, OSQ_E_CORRUPT when report was called (it may
 * be NULL), OSQ_E_VERSION, OSQ_E_NOINDEX, OSQ_E_IO or OSQ_E_NOMEM. */
OSQ_EXPORT int osq_index_check(const char *dir, int deep, osq_check_fn report, void *ctx,
                               uint64_t *stray);

/* The parts of a segment file, for osq_index_info. */
typedef enum {
  OSQ_PART_DICTIONARY = 0, /* term dictionary and its block index */
  OSQ_PART_POSTINGS,       /* posting lists and skip tables */
  OSQ_PART_POSITIONS,
  OSQ_PART_PASSAGES,       /* the passage table */
  OSQ_PART_DOCUMENTS,      /* document records (id, title, ...) */
  OSQ_PART_STORE,          /* compressed passage text */
  OSQ_PART_OTHER,          /* headers, section tables, footers, other sections */
  OSQ_PART_DELETIONS,      /* deletion files */
  OSQ_PART_COUNT
} osq_part;
/* "dictionary", "postings", ...; static strings. */
OSQ_EXPORT const char *osq_part_name(int part);

typedef struct osq_segment_info {
  uint32_t number; /* file seg-%08u.osq */
  uint64_t documents, deleted_documents, passages, deleted_passages, terms;
  uint64_t bytes;  /* segment file plus deletion file */
} osq_segment_info;

typedef struct osq_index_info {
  osq_index_stats stats;
  uint64_t part_bytes[OSQ_PART_COUNT];
  uint64_t manifest_bytes;
  size_t nsegments;
  osq_segment_info *segments; /* in manifest order */
} osq_index_info;

/* Describes the index in dir from one manifest snapshot.  Returns OSQ_OK,
 * OSQ_E_NOINDEX, OSQ_E_VERSION, OSQ_E_CORRUPT, OSQ_E_IO or OSQ_E_NOMEM. */
OSQ_EXPORT int osq_index_info_get(const char *dir, osq_index_info **out);
OSQ_EXPORT void osq_index_info_free(osq_index_info *info);

/* ------------------------------------------------------------------------
 * The search box (core/rewrite.c, core/suggest.c, core/hangul.c): what a
 * Korean user types that the query language alone does not find.
 * ---------------------------------------------------------------------- */

/* Completion: the index's words that start with prefix, most frequent first
 * (at most k).  A Korean prefix's last syllable may be half-typed (황 offers
 * 화웨이: ㅎㅘㅇ is typed before the ㅔ) or a lone consonant (오픈ㅅ); a prefix
 * of letters and digits completes to words of letters and digits.  *out is
 * malloc'd (free with osq_suggestions_free); *n may be 0.  Returns OSQ_OK,
 * OSQ_E_CORRUPT or OSQ_E_NOMEM. */
typedef struct osq_suggestion {
  char *word;
  uint64_t passages; /* passages that hold the word */
} osq_suggestion;
OSQ_EXPORT int osq_suggest(osq_index *ix, const char *prefix, size_t len, size_t k, osq_suggestion **out,
                           size_t *n);
OSQ_EXPORT void osq_suggestions_free(osq_suggestion *s, size_t n);

typedef struct osq_box_options {
  int no_correct;       /* do not replace a word that matches (almost) nothing by a near one */
  int no_rewrite;       /* search the query exactly as typed: no 초성, layout, prefix or aliases */
  const char *synonyms; /* a synonyms file (format in rewrite.c) read besides the defaults, or NULL */
  int no_default_synonyms; /* leave out the built-in list */
} osq_box_options;
typedef struct osq_box osq_box;
/* A search box on ix (which must outlive it): holds the synonyms.  opts may
 * be NULL.  Returns OSQ_OK, OSQ_E_IO (the synonyms file cannot be read),
 * OSQ_E_INVAL (a line of it is malformed: osq_last_error() names the file
 * and line) or OSQ_E_NOMEM.  Thread-safe once open (read only). */
OSQ_EXPORT int osq_box_open(osq_index *ix, const osq_box_options *opts, osq_box **out);
OSQ_EXPORT void osq_box_close(osq_box *b);

/* What the box did to a query, for the user to see; strings are NULL when
 * there is nothing to say, and freed by osq_box_report_free. */
typedef struct osq_box_report {
  char *searched;     /* the query searched, when it is not the one typed */
  char *note;         /* says why, e.g. "searched 화웨이 for ghkdnpdl" */
  char *did_you_mean; /* a query that might be meant, not searched */
} osq_box_report;
OSQ_EXPORT void osq_box_report_free(osq_box_report *rep);
/* Searches q as a search box does: a word of initial consonants (ㅎㅇㅇ)
 * becomes the index's words that they start, a word typed in the other
 * keyboard layout (ghkdnpdl) the word meant, word* its completions, a word
 * with aliases its aliases too; then, if the query matches (almost)
 * nothing, words near its words that match several times more replace them.
 * Otherwise as osq_search, whose statuses it returns. */
OSQ_EXPORT int osq_box_search(osq_box *b, const char *q, size_t len, const osq_search_options *opts,
                              osq_results **out, osq_box_report *rep);

#ifdef __cplusplus
}
#endif
#endif /* OSQ_OSQ_H */
