/* status.c -- status names, messages and the thread-local last error. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

OSQ_EXPORT const char *osq_strerror(int status) {
  switch (status) {
#define XX(name, value, text) \
  case value:                 \
    return text;
    OSQ_STATUS_MAP(XX)
#undef XX
  }
  return "unknown status";
}

OSQ_EXPORT const char *osq_err_name(int status) {
  switch (status) {
#define XX(name, value, text) \
  case value:                 \
    return "OSQ_" #name;
    OSQ_STATUS_MAP(XX)
#undef XX
  }
  return "OSQ_UNKNOWN";
}

static _Thread_local char last_error[1024];
/* The last error is a page checksum failure (osq__segment_need_slow) that
 * nothing has overwritten since: osq__damaged keeps it. */
static _Thread_local int damage_pending;

OSQ_EXPORT const char *osq_last_error(void) { return last_error; }

void osq__clear_error(void) {
  last_error[0] = 0;
  damage_pending = 0;
}

int osq__fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  damage_pending = 0;
  return status;
}

void osq__damage_pending(void) { damage_pending = 1; }

int osq__damaged(const char *path, const char *what) {
  if (damage_pending && strstr(last_error, path)) {
    damage_pending = 0;
    return OSQ_E_CORRUPT;
  }
  return osq__fail(OSQ_E_CORRUPT, "the index is damaged at %s (%s); run osindex check", path, what);
}
