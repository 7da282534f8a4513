/* xapian_index.h -- osindex --engine xapian (see xapian_index.c). */
#ifndef OSINDEX_XAPIAN_INDEX_H
#define OSINDEX_XAPIAN_INDEX_H
#include <stddef.h>
/* Builds (replaces) a Xapian database at index; returns an exit status. */
int osindex_xapian(const char *index, const char *const *paths, size_t npaths, int quiet);
#endif
