/* xapian_dl.c -- see xapian_dl.h. */
#include "xapian_dl.h"

#include <dlfcn.h>
#include <stdio.h>

#ifndef OSQ_XAPIAN_LIB
#define OSQ_XAPIAN_LIB "libosq_xapian.so"
#endif

int osq_xapian_load(osq_xapian_api *api, char *err, size_t errlen) {
  /* The build tree's library first (its path is compiled in), then the
   * dynamic linker's search path. */
  const char *names[] = {OSQ_XAPIAN_LIB, "libosq_xapian.so"};
  void *h = NULL;
  for (size_t i = 0; i < 2 && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(err, errlen, "cannot load the Xapian engine (%s): %s", OSQ_XAPIAN_LIB, dlerror());
    return -1;
  }
  api->handle = h;
#define LOAD(field, sym)                                                  \
  do {                                                                    \
    *(void **)(&api->field) = dlsym(h, #sym);                             \
    if (!api->field) {                                                    \
      snprintf(err, errlen, "the Xapian engine lacks %s", #sym);          \
      dlclose(h);                                                         \
      return -1;                                                          \
    }                                                                     \
  } while (0)
  LOAD(open, osq_xapian_open);
  LOAD(close, osq_xapian_close);
  LOAD(errmsg, osq_xapian_errmsg);
  LOAD(add_text, osq_xapian_add_text);
  LOAD(commit, osq_xapian_commit);
  LOAD(query, osq_xapian_query);
  LOAD(results_count, osq_xapian_results_count);
  LOAD(results_get, osq_xapian_results_get);
  LOAD(results_free, osq_xapian_results_free);
#undef LOAD
  return 0;
}
