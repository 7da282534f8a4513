/*
 * json_doc.cc -- the C interface of json_doc.h over simdjson's DOM parser.
 *
 * simdjson parses every line (its error-code API: nothing here throws on
 * purpose; each extern "C" entry point still catches everything, so no
 * exception reaches C).  The input documents were parsed by jansson before,
 * and lines must be judged as they were, so:
 *   - On success the tree is checked for the little simdjson accepts and
 *     jansson did not: integers in (INT64_MAX, UINT64_MAX], "\u0000" in a
 *     key, nesting deeper than jansson's 2048, a scalar as the whole text.
 *   - Whenever simdjson or that walk refuses a line, jansson_judge, a
 *     transcription of jansson 2.14's lexer and parser (src/load.c) that
 *     builds no values, reads the line again and finds the first error the
 *     way jansson did: invalid UTF-8 or a syntax error, and for the latter
 *     jansson's byte offset and message ("'}' expected near ','").  Only
 *     lines that fail pay for it.
 *   - jansson lost a NUL byte that follows a number or a word (true, false,
 *     null): such a line, which simdjson refuses, is read again without
 *     those bytes if jansson accepted it.
 * DOM rather than On Demand: both extract our fields at about 3.2 GB/s from
 * the precedents corpus, and DOM validates the whole line (On Demand skips
 * over members it is not asked for without checking them).
 */
#include "json_doc.h"
#include "osq/osq.h"

#include <simdjson.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <locale.h>
#include <new>
#include <string>
#include <string_view>
#include <vector>

static_assert(OSQ_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "OSQ_JSON_PADDING must cover simdjson's read-ahead");

namespace {

namespace dom = simdjson::dom;

/* jansson's JSON_PARSER_MAX_DEPTH: values nested deeper fail. */
constexpr size_t jansson_max_depth = 2048;
/* simdjson's limit on nested arrays and objects is set above jansson's, so
 * that it refuses nothing jansson accepted; the walk refuses the rest. */
constexpr size_t simdjson_max_depth = 2 * jansson_max_depth;
/* The parser's first capacity; it doubles as longer lines come. */
constexpr size_t min_capacity = (size_t)64 << 10;

/* Length of the valid UTF-8 sequence at p[0..n), or 0: the rules of
 * jansson's utf8_check_first and utf8_check_full (no overlongs, no
 * surrogates, nothing above U+10FFFF; a sequence cut by the end is
 * invalid). */
size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c < 0xF0) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
  }
  if (c < 0xF5) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
                   (p[3] & 0xC0) == 0x80
               ? 4
               : 0;
  }
  return 0;
}

bool is_digit(int c) { return c >= '0' && c <= '9'; }
bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_xdigit(int c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* snprintf into a buffer of jansson's JSON_ERROR_TEXT_LENGTH, which cuts
 * long messages as jansson did (a function of its own: GCC would warn about
 * the possible cut at every call). */
[[gnu::format(printf, 2, 3)]] void put_text(char (&dst)[160], const char *fmt,
                                            ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(dst, sizeof dst, fmt, ap);
  va_end(ap);
}

/* Reads four hex digits (already checked by the lexer). */
unsigned hex4(const unsigned char *p) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i];
    v = v * 16 + (unsigned)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

/* jansson's json_loadb(JSON_ALLOW_NUL) as a judge: which error it met first,
 * where, and what it said.  Names and structure follow src/load.c so the
 * two can be compared line by line.  jansson keeps the first error it sets
 * and fails after any, so this stops at the first.  The text of the current
 * token (jansson's saved_text) is always the input from tok_ to pos_. */
class jansson_judge {
 public:
  jansson_judge(const char *p, size_t n)
      : p_(reinterpret_cast<const unsigned char *>(p)), n_(n) {}

  /* Bytes jansson skipped (see get()), in order. */
  const std::vector<size_t> &dropped() const { return dropped_; }

  void run(osq_json_result *res) {
    parse_json();
    if (!failed_) {
      res->verdict = root_object_ ? OSQ_JSON_OBJECT : OSQ_JSON_NOT_OBJECT;
    } else if (bad_utf8_) {
      res->verdict = OSQ_JSON_BAD_UTF8;
    } else {
      res->verdict = OSQ_JSON_MALFORMED;
      res->error_pos = err_pos_ - dropped_.size();
      std::memcpy(res->error_text, err_text_, sizeof err_text_);
    }
  }

 private:
  enum { STREAM_EOF = -1, STREAM_ERROR = -2 };
  enum {
    TOKEN_INVALID = -1,
    TOKEN_EOF = 0,
    TOKEN_STRING = 256,
    TOKEN_INTEGER,
    TOKEN_REAL,
    TOKEN_TRUE,
    TOKEN_FALSE,
    TOKEN_NULL
  };

  const unsigned char *p_;
  size_t n_;
  size_t pos_ = 0;      /* stream position: bytes read, less those put back */
  size_t checked_ = 0;  /* UTF-8 sequences are checked up to here */
  size_t tok_ = 0;      /* start of the current token */
  int state_ = 0;       /* 0, STREAM_EOF or STREAM_ERROR: sticky */
  int token_ = TOKEN_INVALID;
  bool key_nul_ = false; /* the string token decodes to a NUL somewhere */
  size_t depth_ = 0;
  bool root_object_ = false;
  bool failed_ = false, bad_utf8_ = false;
  size_t err_pos_ = 0;
  char err_text_[160] = "";
  std::vector<size_t> dropped_;

  /* ---- stream */

  /* jansson's stream_get: a multi-byte character is checked whole when its
   * first byte is read.  A NUL byte put back (after a number or a word) is
   * lost: stream_get takes the NUL in its buffer for the buffer's end and
   * reads on.  Such a byte never lies inside a token, and jansson's
   * position does not count it. */
  int get() {
    if (state_) return state_;
    if (pos_ < checked_ && p_[pos_] == '\0') {
      dropped_.push_back(pos_);
      pos_++;
    }
    if (pos_ >= n_) return state_ = STREAM_EOF;
    if (pos_ >= checked_) {
      size_t k = utf8_len(p_ + pos_, n_ - pos_);
      if (!k) {
        state_ = STREAM_ERROR;
        if (!failed_) failed_ = bad_utf8_ = true;
        return STREAM_ERROR;
      }
      checked_ = pos_ + k;
    }
    return p_[pos_++];
  }
  void unget(int c) {
    if (c >= 0) pos_--;
  }
  /* The token's text is p_[tok_, pos_): saving is reading. */
  int get_save() { return get(); }
  void unget_unsave(int c) { unget(c); }
  void save_cached() { pos_ = checked_ > pos_ ? checked_ : pos_; }

  /* jansson's error_set: the message with the token as context. */
  [[gnu::format(printf, 2, 3)]] void error(const char *fmt, ...) {
    char msg[160];
    va_list ap;
    if (failed_) return;
    failed_ = true;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t saved = pos_ - tok_;
    if (saved > 0 && p_[tok_] != '\0') {
      if (saved <= 20) {
        char near[21];
        std::memcpy(near, p_ + tok_, saved);
        near[saved] = '\0'; /* printed with %s: a NUL ends it, as in jansson */
        put_text(err_text_, "%s near '%s'", msg, near);
      } else {
        put_text(err_text_, "%s", msg);
      }
    } else if (state_ == STREAM_ERROR) {
      put_text(err_text_, "%s", msg);
    } else {
      put_text(err_text_, "%s near end of file", msg);
    }
    err_pos_ = pos_; /* less the dropped bytes, in run() */
  }

  /* ---- lexer */

  void scan_string() {
    token_ = TOKEN_INVALID;
    key_nul_ = false;
    int c = get_save();
    while (c != '"') {
      if (c == STREAM_ERROR) return;
      if (c == STREAM_EOF) {
        error("premature end of input");
        return;
      }
      if (c <= 0x1F) {
        unget_unsave(c);
        if (c == '\n')
          error("unexpected newline");
        else
          error("control character 0x%x", c);
        return;
      }
      if (c == '\\') {
        c = get_save();
        if (c == 'u') {
          c = get_save();
          for (int i = 0; i < 4; i++) {
            if (!is_xdigit(c)) {
              error("invalid escape");
              return;
            }
            c = get_save();
          }
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
                   c == 'n' || c == 'r' || c == 't') {
          c = get_save();
        } else {
          error("invalid escape");
          return;
        }
      } else {
        c = get_save();
      }
    }
    /* The escapes are well formed; what remains is their Unicode. */
    const unsigned char *q = p_ + tok_ + 1, *end = p_ + pos_ - 1;
    while (q < end) {
      if (*q != '\\') {
        q++;
        continue;
      }
      q++;
      if (*q != 'u') {
        q++;
        continue;
      }
      unsigned v = hex4(q + 1);
      q += 5;
      if (v >= 0xD800 && v <= 0xDBFF) {
        if (q[0] == '\\' && q[1] == 'u') {
          unsigned v2 = hex4(q + 2);
          q += 6;
          if (v2 < 0xDC00 || v2 > 0xDFFF) {
            error("invalid Unicode '\\u%04X\\u%04X'", v, v2);
            return;
          }
        } else {
          error("invalid Unicode '\\u%04X'", v);
          return;
        }
      } else if (v >= 0xDC00 && v <= 0xDFFF) {
        error("invalid Unicode '\\u%04X'", v);
        return;
      } else if (v == 0) {
        key_nul_ = true;
      }
    }
    token_ = TOKEN_STRING;
  }

  /* Returns false for an invalid number (token_ stays TOKEN_INVALID). */
  bool scan_number(int c) {
    token_ = TOKEN_INVALID;
    if (c == '-') c = get_save();
    if (c == '0') {
      c = get_save();
      if (is_digit(c)) {
        unget_unsave(c);
        return false;
      }
    } else if (is_digit(c)) {
      do
        c = get_save();
      while (is_digit(c));
    } else {
      unget_unsave(c);
      return false;
    }

    if (c != '.' && c != 'E' && c != 'e') {
      unget_unsave(c);
      std::string text(reinterpret_cast<const char *>(p_ + tok_), pos_ - tok_);
      errno = 0;
      long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) {
        error(v < 0 ? "too big negative integer" : "too big integer");
        return false;
      }
      token_ = TOKEN_INTEGER;
      return true;
    }

    if (c == '.') {
      c = get();
      if (!is_digit(c)) {
        unget(c);
        return false;
      }
      do
        c = get_save();
      while (is_digit(c));
    }
    if (c == 'E' || c == 'e') {
      c = get_save();
      if (c == '+' || c == '-') c = get_save();
      if (!is_digit(c)) {
        unget_unsave(c);
        return false;
      }
      do
        c = get_save();
      while (is_digit(c));
    }
    unget_unsave(c);
    std::string text(reinterpret_cast<const char *>(p_ + tok_), pos_ - tok_);
    if (real_overflows(text.c_str())) {
      error("real number overflow");
      return false;
    }
    token_ = TOKEN_REAL;
    return true;
  }

  /* jansson's jsonp_strtod: strtod with '.' as the decimal point. */
  static bool real_overflows(const char *s) {
    static locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    errno = 0;
    double v = c_locale ? strtod_l(s, nullptr, c_locale) : std::strtod(s, nullptr);
    return (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
  }

  void scan() {
    int c;
    do
      c = get();
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    tok_ = pos_;
    if (c == STREAM_EOF) {
      token_ = TOKEN_EOF;
      return;
    }
    if (c == STREAM_ERROR) {
      token_ = TOKEN_INVALID;
      return;
    }
    tok_ = pos_ - 1;
    if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
      token_ = c;
    } else if (c == '"') {
      scan_string();
    } else if (is_digit(c) || c == '-') {
      scan_number(c);
    } else if (is_alpha(c)) {
      do
        c = get_save();
      while (is_alpha(c));
      unget_unsave(c);
      std::string_view word(reinterpret_cast<const char *>(p_ + tok_), pos_ - tok_);
      if (word == "true")
        token_ = TOKEN_TRUE;
      else if (word == "false")
        token_ = TOKEN_FALSE;
      else if (word == "null")
        token_ = TOKEN_NULL;
      else
        token_ = TOKEN_INVALID;
    } else {
      save_cached();
      token_ = TOKEN_INVALID;
    }
  }

  /* ---- parser: each returns false once an error is set */

  bool parse_object() {
    scan();
    if (failed_) return false;
    if (token_ == '}') return true;
    for (;;) {
      if (token_ != TOKEN_STRING) {
        error("string or '}' expected");
        return false;
      }
      if (key_nul_) {
        error("NUL byte in object key not supported");
        return false;
      }
      scan();
      if (failed_) return false;
      if (token_ != ':') {
        error("':' expected");
        return false;
      }
      scan();
      if (failed_ || !parse_value()) return false;
      scan();
      if (failed_) return false;
      if (token_ != ',') break;
      scan();
      if (failed_) return false;
    }
    if (token_ != '}') {
      error("'}' expected");
      return false;
    }
    return true;
  }

  bool parse_array() {
    scan();
    if (failed_) return false;
    if (token_ == ']') return true;
    while (token_ != TOKEN_EOF) {
      if (!parse_value()) return false;
      scan();
      if (failed_) return false;
      if (token_ != ',') break;
      scan();
      if (failed_) return false;
    }
    if (token_ != ']') {
      error("']' expected");
      return false;
    }
    return true;
  }

  bool parse_value() {
    if (++depth_ > jansson_max_depth) {
      error("maximum parsing depth reached");
      return false;
    }
    switch (token_) {
    case TOKEN_STRING:
    case TOKEN_INTEGER:
    case TOKEN_REAL:
    case TOKEN_TRUE:
    case TOKEN_FALSE:
    case TOKEN_NULL:
      break;
    case '{':
      if (!parse_object()) return false;
      break;
    case '[':
      if (!parse_array()) return false;
      break;
    case TOKEN_INVALID:
      error("invalid token");
      return false;
    default:
      error("unexpected token");
      return false;
    }
    depth_--;
    return true;
  }

  void parse_json() {
    scan();
    if (failed_) return;
    if (token_ != '[' && token_ != '{') {
      error("'[' or '{' expected");
      return;
    }
    root_object_ = token_ == '{';
    if (!parse_value()) return;
    scan();
    if (failed_) return;
    if (token_ != TOKEN_EOF) error("end of file expected");
  }
};

/* Whether jansson accepted this value (at nesting depth, the top being 1)
 * as well: simdjson takes integers up to UINT64_MAX, "\u0000" in keys and
 * deeper nesting. */
bool jansson_accepts(dom::element e, size_t depth) {
  if (depth > jansson_max_depth) return false;
  switch (e.type()) {
  case dom::element_type::UINT64:
    return false;
  case dom::element_type::ARRAY: {
    dom::array a;
    if (e.get_array().get(a)) return false;
    for (dom::element child : a)
      if (!jansson_accepts(child, depth + 1)) return false;
    return true;
  }
  case dom::element_type::OBJECT: {
    dom::object o;
    if (e.get_object().get(o)) return false;
    for (dom::key_value_pair kv : o)
      if (std::memchr(kv.key.data(), '\0', kv.key.size()) ||
          !jansson_accepts(kv.value, depth + 1))
        return false;
    return true;
  }
  default:
    return true;
  }
}

void set_value(dom::element e, osq_json_value *v) {
  *v = osq_json_value{};
  switch (e.type()) {
  case dom::element_type::NULL_VALUE:
    v->type = OSQ_JSON_NULL;
    break;
  case dom::element_type::STRING: {
    std::string_view s;
    if (e.get_string().get(s)) break;
    v->type = OSQ_JSON_STRING;
    v->str = s.data(); /* the DOM's strings end with a NUL */
    v->len = s.size();
    break;
  }
  case dom::element_type::INT64: {
    int64_t i = 0;
    if (e.get_int64().get(i)) break;
    v->type = OSQ_JSON_INTEGER;
    v->integer = i;
    break;
  }
  case dom::element_type::UINT64: { /* only if the judge disagrees */
    uint64_t u = 0;
    if (e.get_uint64().get(u)) break;
    v->type = OSQ_JSON_REAL;
    v->real = (double)u;
    break;
  }
  case dom::element_type::DOUBLE: {
    double d = 0;
    if (e.get_double().get(d)) break;
    v->type = OSQ_JSON_REAL;
    v->real = d;
    break;
  }
  default:
    v->type = OSQ_JSON_OTHER;
    break;
  }
}

void set_malformed(osq_json_result *res, size_t pos, const char *text) {
  res->verdict = OSQ_JSON_MALFORMED;
  res->error_pos = pos;
  put_text(res->error_text, "%s", text);
}

void clear_values(osq_json_value *values, size_t nnames) {
  for (size_t i = 0; i < nnames; i++) values[i] = osq_json_value{};
}

/* simdjson's reading of data[0..len): fills in values and res->verdict
 * (OSQ_JSON_OBJECT or OSQ_JSON_NOT_OBJECT) if it parses, and sets *err.
 * Returns true if jansson would have read it the same. */
bool simdjson_read(dom::parser &parser, const char *data, size_t len,
                   const char *const *names, size_t nnames,
                   osq_json_value *values, osq_json_result *res,
                   simdjson::error_code *err) {
  dom::element root;
  bool agrees = true;
  *err = simdjson::SUCCESS;
  clear_values(values, nnames);
  if (len > parser.max_capacity()) {
    *err = simdjson::CAPACITY;
  } else if (len > parser.capacity() || parser.capacity() == 0) {
    /* Grown by doubling; the depth limit is set here, as allocate() is
     * where simdjson takes it. */
    size_t cap = parser.capacity() * 2;
    if (cap < min_capacity) cap = min_capacity;
    if (cap < len) cap = len;
    if (cap > parser.max_capacity()) cap = parser.max_capacity();
    *err = parser.allocate(cap, simdjson_max_depth);
  }
  if (!*err) *err = parser.parse(data, len, false).get(root);
  if (*err) return false;

  switch (root.type()) {
  case dom::element_type::OBJECT: {
    dom::object obj;
    if ((*err = root.get_object().get(obj))) return false;
    for (dom::key_value_pair kv : obj) {
      dom::element v = kv.value;
      dom::element_type t = v.type();
      if (std::memchr(kv.key.data(), '\0', kv.key.size()) ||
          t == dom::element_type::UINT64 ||
          ((t == dom::element_type::ARRAY || t == dom::element_type::OBJECT) &&
           !jansson_accepts(v, 2)))
        agrees = false;
      /* Every member is seen, in order: the last of a name wins. */
      for (size_t i = 0; i < nnames; i++)
        if (kv.key == names[i]) {
          set_value(v, &values[i]);
          break;
        }
    }
    res->verdict = OSQ_JSON_OBJECT;
    return agrees;
  }
  case dom::element_type::ARRAY:
    res->verdict = OSQ_JSON_NOT_OBJECT;
    return jansson_accepts(root, 1);
  default:
    return false; /* a scalar: jansson wanted '[' or '{' */
  }
}

} // namespace

struct osq_json {
  dom::parser parser;
};

extern "C" int osq__json_new(osq_json **out) {
  try {
    *out = new osq_json;
    return OSQ_OK;
  } catch (...) {
    *out = nullptr;
    return OSQ_E_NOMEM;
  }
}

extern "C" void osq__json_free(osq_json *j) { delete j; }

extern "C" void osq__json_shrink(osq_json *j, size_t max_len) {
  try {
    if (j && j->parser.capacity() > max_len) j->parser = dom::parser();
  } catch (...) {
    /* dom::parser's constructor and move do not throw. */
  }
}

extern "C" int osq__json_parse(osq_json *j, const char *data, size_t len,
                               const char *const *names, size_t nnames,
                               osq_json_value *values,
                               osq_json_result *res) {
  try {
    simdjson::error_code err;
    *res = osq_json_result{};
    res->verdict = OSQ_JSON_MALFORMED;
    bool agrees =
        simdjson_read(j->parser, data, len, names, nnames, values, res, &err);
    if (err == simdjson::MEMALLOC) return OSQ_E_NOMEM;
    if (agrees) return OSQ_OK;

    /* simdjson refused the line, or jansson would have: jansson's verdict,
     * first error and message. */
    int simdjson_verdict = err ? -1 : res->verdict;
    jansson_judge judge(data, len);
    judge.run(res);
    if (res->verdict != OSQ_JSON_OBJECT && res->verdict != OSQ_JSON_NOT_OBJECT) {
      clear_values(values, nnames);
      return OSQ_OK;
    }
    /* jansson accepts it.  Either the walk was stricter than it needed to
     * be, or jansson skipped NUL bytes after numbers or words, which
     * simdjson refuses: read it again without them. */
    if (res->verdict == simdjson_verdict) return OSQ_OK;
    if (!judge.dropped().empty()) {
      int verdict = res->verdict;
      std::string clean;
      clean.reserve(len + OSQ_JSON_PADDING);
      size_t from = 0;
      for (size_t at : judge.dropped()) {
        clean.append(data + from, at - from);
        from = at + 1;
      }
      clean.append(data + from, len - from);
      size_t clean_len = clean.size();
      clean.append(OSQ_JSON_PADDING, ' ');
      simdjson_read(j->parser, clean.data(), clean_len, names, nnames, values,
                    res, &err);
      if (err == simdjson::MEMALLOC) return OSQ_E_NOMEM;
      if (!err && res->verdict == verdict) return OSQ_OK;
    }
    /* What is left: a line over simdjson's 4 GiB limit. */
    clear_values(values, nnames);
    set_malformed(res, 0, "");
    put_text(res->error_text, "simdjson: %s",
             simdjson::error_message(err ? err : simdjson::TAPE_ERROR));
    return OSQ_OK;
  } catch (const std::bad_alloc &) {
    return OSQ_E_NOMEM;
  } catch (...) {
    clear_values(values, nnames);
    set_malformed(res, 0, "unexpected failure of the JSON parser");
    return OSQ_OK;
  }
}
