/*
 * osq_xapian.cc -- the C interface of include/osq/xapian.h over libxapian.
 *
 * One of the two C++ files of the project (with core/json/json_doc.cc).
 * Every extern "C" entry point runs its body inside try { } and turns any
 * exception into an OSQ_* status with status_from_exception() (a "Lippincott
 * function": it rethrows the exception being handled and catches it by
 * type), so no exception ever reaches C.
 */
#include "osq/xapian.h"
#include "osq/osq.h"

#include <xapian.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

struct osq_xapian {
  /* db is the handle every reader uses; for a writable database it shares
   * its internals with wdb (Xapian handles are reference-counted). */
  Xapian::Database db;
  Xapian::WritableDatabase wdb;
  bool writable = false;
  Xapian::TermGenerator tg;
  Xapian::QueryParser qp;
  std::unique_ptr<Xapian::Enquire> enquire;
  /* mutable so that const entry points (doccount) can record a failure */
  mutable std::string err;
};

struct osq_xapian_results {
  struct hit {
    Xapian::docid docid;
    double score;
    std::string data;
  };
  std::vector<hit> hits;
  uint64_t matched = 0;
};

namespace {

/* Results wanted when the caller passes k == 0 (as osq_search does). */
constexpr uint32_t default_k = 10;

/* Must be called from inside a catch block.  Classifies the exception being
 * handled, stores its description in msg and returns the status.  Order
 * matters: subclasses before their bases (DatabaseVersionError and
 * DatabaseNotFoundError derive from DatabaseOpeningError, which, like
 * DatabaseLockError and DatabaseCorruptError, derives from DatabaseError). */
int status_from_exception(std::string &msg) noexcept {
  int status = OSQ_E_IO;
  try {
    try {
      throw;
    } catch (const Xapian::DatabaseLockError &e) {
      status = OSQ_E_LOCKED;
      msg = e.get_description();
    } catch (const Xapian::DatabaseCorruptError &e) {
      status = OSQ_E_CORRUPT;
      msg = e.get_description();
    } catch (const Xapian::DatabaseVersionError &e) {
      status = OSQ_E_VERSION;
      msg = e.get_description();
    } catch (const Xapian::DatabaseNotFoundError &e) {
      status = OSQ_E_NOINDEX;
      msg = e.get_description();
    } catch (const Xapian::DatabaseOpeningError &e) {
      /* Not "not found" and not "wrong version": the database is there but
       * could not be opened (permissions, a file missing from inside it). */
      status = OSQ_E_IO;
      msg = e.get_description();
    } catch (const Xapian::QueryParserError &e) {
      status = OSQ_E_PARSE;
      msg = e.get_description();
    } catch (const Xapian::InvalidArgumentError &e) {
      status = OSQ_E_INVAL;
      msg = e.get_description();
    } catch (const Xapian::Error &e) {
      status = OSQ_E_IO;
      msg = e.get_description();
    } catch (const std::bad_alloc &) {
      status = OSQ_E_NOMEM;
      msg = "out of memory";
    } catch (const std::length_error &e) {
      status = OSQ_E_NOMEM;
      msg = e.what();
    } catch (const std::exception &e) {
      status = OSQ_E_IO;
      msg = e.what();
    } catch (...) {
      status = OSQ_E_IO;
      msg = "unknown C++ exception";
    }
    if (msg.empty())
      msg = "Xapian failed without a message";
  } catch (...) {
    /* Building the message itself failed (out of memory): keep the status,
     * leave msg as it is.  std::string::clear() does not throw. */
    msg.clear();
  }
  return status;
}

/* Sets the handle's message for a failure that is not an exception. */
int fail(const osq_xapian *x, int status, const char *msg) noexcept {
  try {
    x->err = msg;
  } catch (...) {
    x->err.clear();
  }
  return status;
}

char *dup_message(const std::string &s) noexcept {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p)
    std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

/* Fills a results object from the current query of x->enquire. */
int run_enquire(osq_xapian *x, const Xapian::Query &query, uint32_t k,
                osq_xapian_results **out) {
  if (k == 0)
    k = default_k;
  x->enquire->set_query(query);
  Xapian::MSet mset;
  try {
    mset = x->enquire->get_mset(0, k);
  } catch (const Xapian::DatabaseModifiedError &) {
    /* A writer committed several times while we read: take the newest
     * revision and try once more (the documented Xapian idiom). */
    x->db.reopen();
    mset = x->enquire->get_mset(0, k);
  }
  std::unique_ptr<osq_xapian_results> r(new osq_xapian_results);
  r->matched = mset.get_matches_estimated();
  r->hits.reserve(mset.size());
  for (Xapian::MSetIterator it = mset.begin(); it != mset.end(); ++it) {
    osq_xapian_results::hit h;
    h.docid = *it;
    h.score = it.get_weight();
    h.data = it.get_document().get_data();
    r->hits.push_back(std::move(h));
  }
  *out = r.release();
  return OSQ_OK;
}

bool terms_valid(const osq_xapian_term *terms, size_t nterms) {
  if (nterms > 0 && !terms)
    return false;
  for (size_t i = 0; i < nterms; i++)
    if (!terms[i].term && terms[i].len > 0)
      return false;
  return true;
}

} // namespace

extern "C" {

OSQ_XAPIAN_EXPORT int osq_xapian_open(const char *path, int mode,
                                      osq_xapian **out, char **errmsg) {
  if (out)
    *out = nullptr;
  if (errmsg)
    *errmsg = nullptr;
  std::string msg;
  int status = OSQ_OK;
  if (!path || !*path || !out) {
    status = OSQ_E_INVAL;
    msg = "osq_xapian_open: path and out are required";
  } else if (mode != OSQ_XAPIAN_READ && mode != OSQ_XAPIAN_CREATE &&
             mode != OSQ_XAPIAN_OPEN) {
    status = OSQ_E_INVAL;
    msg = "osq_xapian_open: unknown mode";
  } else {
    try {
      std::unique_ptr<osq_xapian> x(new osq_xapian);
      if (mode == OSQ_XAPIAN_READ) {
        x->db = Xapian::Database(path);
      } else {
        /* Glass is Xapian 1.4's default backend; name it so that a newer
         * library creates the same format. */
        int action = mode == OSQ_XAPIAN_CREATE ? Xapian::DB_CREATE_OR_OVERWRITE
                                               : Xapian::DB_CREATE_OR_OPEN;
        x->wdb = Xapian::WritableDatabase(path, action | Xapian::DB_BACKEND_GLASS);
        x->db = x->wdb;
        x->writable = true;
      }
      x->enquire.reset(new Xapian::Enquire(x->db));
      x->enquire->set_weighting_scheme(Xapian::BM25Weight());
      x->qp.set_database(x->db);
      x->qp.set_default_op(Xapian::Query::OP_OR);
      *out = x.release();
      return OSQ_OK;
    } catch (...) {
      status = status_from_exception(msg);
    }
  }
  if (errmsg)
    *errmsg = dup_message(msg.empty() ? std::string("osq_xapian_open failed")
                                      : msg);
  return status;
}

OSQ_XAPIAN_EXPORT void osq_xapian_close(osq_xapian *x) {
  if (!x)
    return;
  try {
    if (x->writable) {
      x->wdb.commit();
      x->wdb.close();
    }
  } catch (...) {
    /* Nothing to report to: callers who need to know call
     * osq_xapian_commit() first. */
  }
  delete x; /* Xapian destructors do not throw */
}

OSQ_XAPIAN_EXPORT const char *osq_xapian_errmsg(const osq_xapian *x) {
  return x ? x->err.c_str() : "";
}

OSQ_XAPIAN_EXPORT int osq_xapian_add_text(osq_xapian *x, const char *text,
                                          size_t text_len, const char *data,
                                          size_t data_len, int cjk_ngram,
                                          uint32_t *docid) {
  if (docid)
    *docid = 0;
  if (!x)
    return OSQ_E_INVAL;
  if ((!text && text_len) || (!data && data_len))
    return fail(x, OSQ_E_INVAL, "osq_xapian_add_text: NULL buffer");
  if (!x->writable)
    return fail(x, OSQ_E_INVAL, "osq_xapian_add_text: database is read-only");
  try {
    Xapian::Document doc;
    x->tg.set_flags(cjk_ngram ? Xapian::TermGenerator::FLAG_CJK_NGRAM : 0);
    x->tg.set_document(doc); /* also resets the term position to 0 */
    if (text_len)
      x->tg.index_text(std::string(text, text_len));
    if (data_len)
      doc.set_data(std::string(data, data_len));
    Xapian::docid id = x->wdb.add_document(doc);
    if (docid)
      *docid = id;
    return OSQ_OK;
  } catch (...) {
    return status_from_exception(x->err);
  }
}

OSQ_XAPIAN_EXPORT int osq_xapian_add_terms(osq_xapian *x,
                                           const osq_xapian_term *terms,
                                           size_t nterms, const char *data,
                                           size_t data_len, uint32_t *docid) {
  if (docid)
    *docid = 0;
  if (!x)
    return OSQ_E_INVAL;
  if (!terms_valid(terms, nterms) || (!data && data_len))
    return fail(x, OSQ_E_INVAL, "osq_xapian_add_terms: NULL buffer");
  if (!x->writable)
    return fail(x, OSQ_E_INVAL, "osq_xapian_add_terms: database is read-only");
  try {
    Xapian::Document doc;
    for (size_t i = 0; i < nterms; i++) {
      std::string term(terms[i].term ? terms[i].term : "", terms[i].len);
      if (terms[i].pos > 0)
        doc.add_posting(term, terms[i].pos);
      else
        doc.add_term(term);
    }
    if (data_len)
      doc.set_data(std::string(data, data_len));
    Xapian::docid id = x->wdb.add_document(doc);
    if (docid)
      *docid = id;
    return OSQ_OK;
  } catch (...) {
    return status_from_exception(x->err);
  }
}

OSQ_XAPIAN_EXPORT int osq_xapian_commit(osq_xapian *x) {
  if (!x)
    return OSQ_E_INVAL;
  if (!x->writable)
    return OSQ_OK;
  try {
    x->wdb.commit();
    return OSQ_OK;
  } catch (...) {
    return status_from_exception(x->err);
  }
}

OSQ_XAPIAN_EXPORT uint64_t osq_xapian_doccount(const osq_xapian *x) {
  if (!x)
    return 0;
  try {
    return x->db.get_doccount();
  } catch (...) {
    status_from_exception(x->err);
    return 0;
  }
}

OSQ_XAPIAN_EXPORT int osq_xapian_query(osq_xapian *x, const char *query,
                                       size_t query_len, int cjk_ngram,
                                       uint32_t k, osq_xapian_results **out) {
  if (out)
    *out = nullptr;
  if (!x)
    return OSQ_E_INVAL;
  if (!out || (!query && query_len))
    return fail(x, OSQ_E_INVAL, "osq_xapian_query: NULL argument");
  try {
    unsigned flags = Xapian::QueryParser::FLAG_DEFAULT;
    if (cjk_ngram)
      flags |= Xapian::QueryParser::FLAG_CJK_NGRAM;
    std::string qs(query ? query : "", query_len);
    /* A QueryParserError propagates: callers decide whether to retry
     * without operators. */
    Xapian::Query q = x->qp.parse_query(qs, flags);
    return run_enquire(x, q, k, out);
  } catch (...) {
    return status_from_exception(x->err);
  }
}

OSQ_XAPIAN_EXPORT int osq_xapian_query_terms(osq_xapian *x,
                                             const osq_xapian_term *terms,
                                             size_t nterms, int op, uint32_t k,
                                             osq_xapian_results **out) {
  if (out)
    *out = nullptr;
  if (!x)
    return OSQ_E_INVAL;
  if (!out || !terms_valid(terms, nterms))
    return fail(x, OSQ_E_INVAL, "osq_xapian_query_terms: NULL argument");
  Xapian::Query::op xop;
  switch (op) {
  case OSQ_XAPIAN_Q_TERMS_OR:
    xop = Xapian::Query::OP_OR;
    break;
  case OSQ_XAPIAN_Q_TERMS_AND:
    xop = Xapian::Query::OP_AND;
    break;
  case OSQ_XAPIAN_Q_TERMS_PHRASE:
    xop = Xapian::Query::OP_PHRASE;
    break;
  default:
    return fail(x, OSQ_E_INVAL, "osq_xapian_query_terms: unknown operator");
  }
  try {
    std::vector<Xapian::Query> subs;
    subs.reserve(nterms);
    uint32_t minpos = 0, maxpos = 0;
    bool all_positioned = nterms > 0;
    for (size_t i = 0; i < nterms; i++) {
      const osq_xapian_term &t = terms[i];
      subs.emplace_back(std::string(t.term ? t.term : "", t.len), 1, t.pos);
      if (t.pos == 0) {
        all_positioned = false;
      } else {
        if (minpos == 0 || t.pos < minpos)
          minpos = t.pos;
        if (t.pos > maxpos)
          maxpos = t.pos;
      }
    }
    /* A phrase's window: the span of the query positions when every term
     * has one (osq tokens can leave gaps), else one position per term. */
    Xapian::termcount window = 0;
    if (xop == Xapian::Query::OP_PHRASE) {
      window = static_cast<Xapian::termcount>(nterms);
      if (all_positioned && maxpos - minpos + 1 > window)
        window = maxpos - minpos + 1;
    }
    Xapian::Query q;
    if (!subs.empty())
      q = Xapian::Query(xop, subs.begin(), subs.end(), window);
    return run_enquire(x, q, k, out);
  } catch (...) {
    return status_from_exception(x->err);
  }
}

OSQ_XAPIAN_EXPORT size_t osq_xapian_results_count(const osq_xapian_results *r) {
  return r ? r->hits.size() : 0;
}

OSQ_XAPIAN_EXPORT uint64_t
osq_xapian_results_matched(const osq_xapian_results *r) {
  return r ? r->matched : 0;
}

OSQ_XAPIAN_EXPORT int osq_xapian_results_get(const osq_xapian_results *r,
                                             size_t i, uint32_t *docid,
                                             double *score, const char **data,
                                             size_t *data_len) {
  if (!r || i >= r->hits.size())
    return OSQ_E_INVAL;
  const osq_xapian_results::hit &h = r->hits[i];
  if (docid)
    *docid = h.docid;
  if (score)
    *score = h.score;
  if (data)
    *data = h.data.c_str();
  if (data_len)
    *data_len = h.data.size();
  return OSQ_OK;
}

OSQ_XAPIAN_EXPORT void osq_xapian_results_free(osq_xapian_results *r) {
  delete r;
}

} // extern "C"
