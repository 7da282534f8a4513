/* status.c -- status names, messages and the thread-local last error. */
#include <stdio.h>

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

OSQ_EXPORT const char *osq_last_error(void) { return last_error; }

void osq__clear_error(void) { last_error[0] = 0; }

int osq__fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}
