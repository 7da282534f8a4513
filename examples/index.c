/*
 * index.c -- the smallest indexing program: each file named on the command
 * line becomes one document (its path the id, its first line the title).
 *
 *   cc index.c $(pkg-config --cflags --libs osq) -o osq-index
 *   ./osq-index INDEX FILE...
 *
 * A file whose path is already in the index replaces it.  Everything is
 * published by the one commit at the end, or nothing is: after a failure
 * the writer refuses every later call (osq.h, STICKY STATUS), so the
 * program stops at the first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osq/osq.h>

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n + 65536 > cap) {
      char *p = realloc(buf, cap = (n + 65536) * 2);
      if (!p) break;
      buf = p;
    }
    got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
  } while (got > 0);
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: osq-index INDEX FILE...\n");
    return 2;
  }
  osq_writer *w;
  int rc = osq_writer_open(argv[1], NULL, &w);
  if (rc) {
    fprintf(stderr, "osq-index: %s: %s\n", osq_strerror(rc), osq_last_error());
    return 1;
  }
  for (int i = 2; i < argc && !rc; i++) {
    size_t len;
    char *text = read_file(argv[i], &len);
    if (!text) {
      perror(argv[i]);
      osq_writer_close(w); /* nothing was committed: the index is as it was */
      return 1;
    }
    char title[256];
    snprintf(title, sizeof title, "%.*s", (int)strcspn(text, "\n"), text);
    osq_doc doc = {.id = argv[i], .title = title, .text = text, .text_len = len};
    rc = osq_writer_add(w, &doc);
    free(text);
  }
  if (!rc) rc = osq_writer_commit(w);
  if (rc) fprintf(stderr, "osq-index: %s: %s\n", osq_strerror(rc), osq_last_error());
  osq_writer_close(w);
  /* OSQ_E_AUTOMERGE: committed all the same (the merge after it failed) */
  return rc && rc != OSQ_E_AUTOMERGE ? 1 : 0;
}
