/*
 * xapian.h -- a C interface over libxapian, for comparing osq with Xapian
 * (osbench) and for `osq --engine xapian`.
 *
 * The implementation is one C++ file (core/xapian/osq_xapian.cc) built as
 * its own shared library, libosq_xapian, so that programs which do not use
 * Xapian never load libxapian.  Every entry point catches Xapian::Error and
 * std::bad_alloc; no exception crosses into C.  Statuses are the OSQ_* codes
 * of osq.h; the message of the last failure is kept on the handle
 * (osq_xapian_errmsg) or, for failed opens, in *errmsg.
 *
 * Status mapping:
 *   Xapian::DatabaseLockError               -> OSQ_E_LOCKED
 *   Xapian::DatabaseCorruptError            -> OSQ_E_CORRUPT
 *   Xapian::DatabaseVersionError            -> OSQ_E_VERSION
 *   Xapian::DatabaseNotFoundError (missing,
 *     or a directory that is no database)   -> OSQ_E_NOINDEX
 *   other Xapian::DatabaseOpeningError      -> OSQ_E_IO
 *   Xapian::QueryParserError                -> OSQ_E_PARSE
 *   Xapian::InvalidArgumentError            -> OSQ_E_INVAL
 *   std::bad_alloc                          -> OSQ_E_NOMEM
 *   any other Xapian::Error                 -> OSQ_E_IO
 *     (e.g. DatabaseCreateError, DatabaseModifiedError)
 * Messages are Xapian's Error::get_description(), which starts with the
 * exception's type: "DatabaseLockError: Unable to get write lock on ...".
 * Arguments the wrapper itself rejects (NULL pointers, unknown modes or
 * operators, writing through a read-only handle) give OSQ_E_INVAL.
 */
#ifndef OSQ_XAPIAN_H
#define OSQ_XAPIAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(OSQ_BUILDING_XAPIAN) && defined(__GNUC__)
#define OSQ_XAPIAN_EXPORT __attribute__((visibility("default")))
#else
#define OSQ_XAPIAN_EXPORT
#endif

typedef struct osq_xapian osq_xapian;

enum {
  OSQ_XAPIAN_READ = 0,   /* open an existing database read-only */
  OSQ_XAPIAN_CREATE = 1, /* create or overwrite, writable */
  OSQ_XAPIAN_OPEN = 2    /* open existing or create, writable */
};

/* Opens a database.  On failure returns a negative status, *out is NULL and
 * *errmsg (if errmsg is not NULL) receives a malloc'd message the caller
 * frees. */
OSQ_XAPIAN_EXPORT int osq_xapian_open(const char *path, int mode,
                                      osq_xapian **out, char **errmsg);
/* Commits pending changes (if writable) and releases everything; NULL ok.
 * A failure of that last commit cannot be reported: callers who need to know
 * call osq_xapian_commit() first. */
OSQ_XAPIAN_EXPORT void osq_xapian_close(osq_xapian *x);
/* Message of the last failure on x ("" if none; a later success does not
 * clear it); valid until the next call on x. */
OSQ_XAPIAN_EXPORT const char *osq_xapian_errmsg(const osq_xapian *x);

/* Adds a document whose text Xapian's TermGenerator indexes itself.
 * cjk_ngram: non-zero sets TermGenerator::FLAG_CJK_NGRAM (what a Xapian user
 * indexing Korean would do).  data is stored as the document data (the
 * result payload, e.g. a JSON object); *docid receives Xapian's docid (0 on
 * failure).  With FLAG_CJK_NGRAM Xapian 1.4 indexes a Hangul run as its
 * single characters (with positions) and bigrams (without positions).
 * OSQ_E_INVAL on a read-only handle. */
OSQ_XAPIAN_EXPORT int osq_xapian_add_text(osq_xapian *x, const char *text,
                                          size_t text_len, const char *data,
                                          size_t data_len, int cjk_ngram,
                                          uint32_t *docid);

/* Adds a document from a list of pre-made terms with positions (osq's own
 * tokens), so a comparison can separate the tokenizer from the engine.
 * A term with pos > 0 is added with Document::add_posting(term, pos), one
 * with pos 0 with add_term(term) (it then never matches a phrase).  An empty
 * term is Xapian's InvalidArgumentError (OSQ_E_INVAL); so is a term longer
 * than glass allows (245 bytes).  OSQ_E_INVAL on a read-only handle. */
typedef struct osq_xapian_term {
  const char *term;
  size_t len;
  uint32_t pos; /* 0 = no position */
} osq_xapian_term;
OSQ_XAPIAN_EXPORT int osq_xapian_add_terms(osq_xapian *x,
                                           const osq_xapian_term *terms,
                                           size_t nterms, const char *data,
                                           size_t data_len, uint32_t *docid);

/* Commits pending changes; OSQ_OK and nothing to do on a read-only handle. */
OSQ_XAPIAN_EXPORT int osq_xapian_commit(osq_xapian *x);
/* Documents in the database (0 if x is NULL or on failure). */
OSQ_XAPIAN_EXPORT uint64_t osq_xapian_doccount(const osq_xapian *x);

/* Query flavours. */
enum {
  OSQ_XAPIAN_Q_PARSE = 0, /* QueryParser, default op OR, FLAG_CJK_NGRAM if
                             cjk_ngram, plus phrase/boolean/lovehate */
  OSQ_XAPIAN_Q_TERMS_OR = 1, /* OR of the given terms (BM25) */
  OSQ_XAPIAN_Q_TERMS_AND = 2, /* AND of the given terms */
  OSQ_XAPIAN_Q_TERMS_PHRASE = 3 /* phrase of the given terms */
};

typedef struct osq_xapian_results osq_xapian_results;

/* Runs a parsed query string for the top k (k == 0: 10), ranked by BM25.
 * A query Xapian's QueryParser rejects gives OSQ_E_PARSE and its message
 * ("QueryParserError: Syntax: <expression> AND <expression>"); there is no
 * silent fallback, callers decide.  In Xapian 1.4.22 the parser rejects a
 * dangling boolean operator ("화웨이 AND", "AND", "a NOT", "NOT a",
 * "a OR OR b") but forgives an unbalanced quote or parenthesis. */
OSQ_XAPIAN_EXPORT int osq_xapian_query(osq_xapian *x, const char *query,
                                       size_t query_len, int cjk_ngram,
                                       uint32_t k, osq_xapian_results **out);
/* Runs a query built from terms (osq tokens) with operator op, top k
 * (k == 0: 10).  Each term's pos is its query position.  A phrase's window is
 * the span of the positions when every term has one (pos > 0), else nterms;
 * so a phrase matches terms in order within that many positions.  No terms:
 * OSQ_OK with no results. */
OSQ_XAPIAN_EXPORT int osq_xapian_query_terms(osq_xapian *x,
                                             const osq_xapian_term *terms,
                                             size_t nterms, int op, uint32_t k,
                                             osq_xapian_results **out);
OSQ_XAPIAN_EXPORT size_t osq_xapian_results_count(const osq_xapian_results *r);
/* Estimated total matches. */
OSQ_XAPIAN_EXPORT uint64_t osq_xapian_results_matched(const osq_xapian_results *r);
/* Result i (0-based; OSQ_E_INVAL if out of range): Xapian docid, BM25
 * weight and the document data (NUL-terminated too).  Any out-pointer may be
 * NULL.  *data stays valid until osq_xapian_results_free(r). */
OSQ_XAPIAN_EXPORT int osq_xapian_results_get(const osq_xapian_results *r,
                                             size_t i, uint32_t *docid,
                                             double *score, const char **data,
                                             size_t *data_len);
OSQ_XAPIAN_EXPORT void osq_xapian_results_free(osq_xapian_results *r);

#ifdef __cplusplus
}
#endif
#endif /* OSQ_XAPIAN_H */
