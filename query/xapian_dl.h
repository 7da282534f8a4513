/*
 * xapian_dl.h -- libosq_xapian loaded at run time with dlopen(), so that osq
 * and osindex load libxapian (and the C++ runtime) only for --engine xapian:
 * a one-shot query on the native engine pays for neither.
 */
#ifndef OSQ_XAPIAN_DL_H
#define OSQ_XAPIAN_DL_H

#include "osq/xapian.h"

typedef struct osq_xapian_api {
  void *handle;
  int (*open)(const char *, int, osq_xapian **, char **);
  void (*close)(osq_xapian *);
  const char *(*errmsg)(const osq_xapian *);
  int (*add_text)(osq_xapian *, const char *, size_t, const char *, size_t, int, uint32_t *);
  int (*commit)(osq_xapian *);
  int (*query)(osq_xapian *, const char *, size_t, int, uint32_t, osq_xapian_results **);
  size_t (*results_count)(const osq_xapian_results *);
  int (*results_get)(const osq_xapian_results *, size_t, uint32_t *, double *, const char **, size_t *);
  void (*results_free)(osq_xapian_results *);
} osq_xapian_api;

/* Loads the library; on failure returns -1 with a message in err. */
int osq_xapian_load(osq_xapian_api *api, char *err, size_t errlen);

#endif
