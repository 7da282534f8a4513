/*
 * json_doc.cc -- the fast path of json_doc.h over simdjson's DOM parser.
 *
 * jansson decides every input line (source.c): it parsed them all before
 * simdjson came, and its verdicts, values and error messages are kept.
 * simdjson reads a line first (its error-code API: nothing here throws on
 * purpose; each extern "C" entry point still catches everything, so no
 * exception reaches C), and its reading is used only when it is certainly
 * jansson's too: an object, accepted, with none of the little simdjson
 * takes and jansson refused -- integers in (INT64_MAX, UINT64_MAX],
 * "\u0000" in a key, nesting deeper than jansson's 2048.  Every other line
 * (simdjson refuses it, or it is an array or a scalar, or the walk flags
 * it) goes to jansson, which finds the error and its offset, repairs
 * invalid UTF-8, and reads lines it accepts and simdjson does not (a NUL
 * byte after a number, which jansson skipped).  On the precedents corpus
 * no line takes the slow path.
 * DOM rather than On Demand: both extract our fields at about 3.2 GB/s from
 * the precedents corpus, and DOM validates the whole line (On Demand skips
 * over members it is not asked for without checking them).
 */
#include "json_doc.h"
#include "osq/osq.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>

static_assert(OSQ_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "OSQ_JSON_PADDING must cover simdjson's read-ahead");

namespace {

namespace dom = simdjson::dom;

/* jansson's JSON_PARSER_MAX_DEPTH: values nested deeper fail. */
constexpr size_t jansson_max_depth = 2048;
/* simdjson's limit on nested arrays and objects is set above jansson's, so
 * that it refuses nothing jansson accepts (such lines would only go the
 * slow way); the walk sends what is nested deeper to jansson. */
constexpr size_t simdjson_max_depth = 2 * jansson_max_depth;
/* The parser's first capacity; it doubles as longer lines come. */
constexpr size_t min_capacity = (size_t)64 << 10;

/* Whether jansson accepts this value (at nesting depth, the top being 1)
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

/* The value of a member, as jansson would give it (the walk has refused
 * UINT64 already). */
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

/* simdjson's reading of data[0..len).  Returns 1 with values filled in if
 * it is an object jansson accepts too, 0 if jansson must read it, or
 * OSQ_E_NOMEM. */
int simdjson_read(dom::parser &parser, const char *data, size_t len,
                  const char *const *names, size_t nnames,
                  osq_json_value *values) {
  simdjson::error_code err = simdjson::SUCCESS;
  dom::element root;
  dom::object obj;
  if (len > parser.max_capacity()) return 0; /* over 4 GiB: jansson's */
  if (len > parser.capacity() || parser.capacity() == 0) {
    /* Grown by doubling; the depth limit is set here, as allocate() is
     * where simdjson takes it. */
    size_t cap = parser.capacity() * 2;
    if (cap < min_capacity) cap = min_capacity;
    if (cap < len) cap = len;
    if (cap > parser.max_capacity()) cap = parser.max_capacity();
    err = parser.allocate(cap, simdjson_max_depth);
  }
  if (!err) err = parser.parse(data, len, false).get(root);
  if (err == simdjson::MEMALLOC) return OSQ_E_NOMEM;
  if (err || root.get_object().get(obj)) return 0;

  for (size_t i = 0; i < nnames; i++) values[i] = osq_json_value{};
  for (dom::key_value_pair kv : obj) {
    dom::element v = kv.value;
    dom::element_type t = v.type();
    if (std::memchr(kv.key.data(), '\0', kv.key.size()) ||
        t == dom::element_type::UINT64 ||
        ((t == dom::element_type::ARRAY || t == dom::element_type::OBJECT) &&
         !jansson_accepts(v, 2)))
      return 0;
    /* Every member is seen, in order: the last of a name wins. */
    for (size_t i = 0; i < nnames; i++)
      if (kv.key == names[i]) {
        set_value(v, &values[i]);
        break;
      }
  }
  return 1;
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
                               osq_json_value *values) {
  try {
    return simdjson_read(j->parser, data, len, names, nnames, values);
  } catch (const std::bad_alloc &) {
    return OSQ_E_NOMEM;
  } catch (...) {
    return 0; /* jansson reads it */
  }
}
