/* query.h -- the parsed query (query_parse.c), evaluated by the search_*.c files. */
#ifndef OSQ_QUERY_H
#define OSQ_QUERY_H

#include "internal.h"

enum { OSQ__Q_LEAF = 1, OSQ__Q_BOOL = 2 };
enum { OSQ__OCC_SHOULD = 0, OSQ__OCC_MUST = 1, OSQ__OCC_NOT = 2 };

typedef struct osq__qnode {
  int kind;
  int occur;      /* how this node counts in its parent */
  int phrase;     /* leaf: quoted, so the words must stand together */
  char *text;     /* leaf: the words as typed (NUL-terminated) */
  struct osq__qnode **kids; /* bool: clauses */
  size_t nkids;
  int any;        /* bool: an explicit OR group (one SHOULD must match) */
  size_t leaf;    /* leaf: 1 + its index in the evaluator's clauses (search_compile.c), 0 before */
} osq__qnode;

/* Parses q.  Never fails on syntax: malformed input (unbalanced quotes or
 * parentheses, an operator without an operand) falls back to one leaf of
 * plain words, and *fallback is set.  Full-width and typographic forms of
 * the syntax characters count as the ASCII ones (query_parse.c).  Returns
 * OSQ_OK or OSQ_E_NOMEM. */
int osq__query_parse(const char *q, size_t len, osq__qnode **out, int *fallback);
void osq__query_free(osq__qnode *n);
/* Writes a readable form of the tree (for tests and --explain). */
void osq__query_dump(const osq__qnode *n, osq__buf *out);

#endif
