/*
 * osindex -- builds an osq index from text and JSON Lines files.
 *
 *   osindex [-i INDEX] [-q] PATH...        build (replace) the index
 *   osindex add [-i INDEX] [-q] PATH...    add to the index
 *
 * Exit status: 0 when documents were indexed (warnings about bad input are
 * printed but do not fail the run), 1 when nothing could be indexed, 2 for
 * usage errors and failures of the index itself (locked, unwritable).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osq/osq.h"
#include "osq/source.h"

typedef struct {
  uint64_t warnings;
  int progress;        /* a terminal is attached: draw a bar */
  int bar_drawn;
} ui;

static void clear_bar(ui *u) {
  if (u->bar_drawn) {
    fputs("\r\033[K", stderr);
    u->bar_drawn = 0;
  }
}

static void warn(void *ctx, const char *path, uint64_t line, const char *msg) {
  ui *u = ctx;
  clear_bar(u);
  u->warnings++;
  if (line)
    fprintf(stderr, "osindex: warning: %s:%llu: %s\n", path, (unsigned long long)line, msg);
  else
    fprintf(stderr, "osindex: warning: %s: %s\n", path, msg);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_bar(ui *u, const osq_source_stats *st, double t0) {
  double frac = st->total_bytes ? (double)st->done_bytes / (double)st->total_bytes : 0;
  if (frac > 1) frac = 1;
  int width = 30, fill = (int)(frac * width);
  char bar[64];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = 0;
  double el = now() - t0;
  fprintf(stderr, "\r[%s] %3.0f%%  %llu docs  %.1f MB  %.1f s", bar, frac * 100,
          (unsigned long long)st->documents, (double)st->bytes_read / 1e6, el);
  u->bar_drawn = 1;
}

static void usage(FILE *f) {
  fputs("usage: osindex [-i INDEX] [-q] PATH...       build the index from files and directories\n"
        "       osindex add [-i INDEX] [-q] PATH...   add documents to an existing index\n"
        "PATH: .txt (first line is the title), .jsonl or .jsonl.gz (id, title, text,\n"
        "source, url, date); directories are read recursively.\n"
        "INDEX defaults to $OSQ_INDEX, else ./osq-index.\n",
        f);
}

int main(int argc, char **argv) {
  const char *index = getenv("OSQ_INDEX");
  if (!index || !*index) index = "osq-index";
  int quiet = 0, replace = 1;
  int argi = 1;
  if (argc > 1 && strcmp(argv[1], "add") == 0) {
    replace = 0;
    argi = 2;
  }
  static const struct option longopts[] = {{"index", required_argument, NULL, 'i'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  optind = argi;
  int c;
  while ((c = getopt_long(argc, argv, "i:qh", longopts, NULL)) != -1) {
    switch (c) {
      case 'i': index = optarg; break;
      case 'q': quiet = 1; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind >= argc) {
    fputs("osindex: no input given\n", stderr);
    usage(stderr);
    return 2;
  }
  ui u = {0, !quiet && isatty(2), 0};
  osq_writer_options wo;
  memset(&wo, 0, sizeof wo);
  wo.replace = replace;
  osq_writer *w;
  int rc = osq_writer_open(index, &wo, &w);
  if (rc) {
    fprintf(stderr, "osindex: %s: %s\n", osq_strerror(rc), osq_last_error());
    return 2;
  }
  osq_source *src;
  rc = osq_source_open((const char *const *)argv + optind, (size_t)(argc - optind), warn, &u, &src);
  if (rc) {
    fprintf(stderr, "osindex: %s\n", osq_strerror(rc));
    osq_writer_close(w);
    return 2;
  }
  double t0 = now(), last = 0;
  osq_doc doc;
  uint64_t failed_docs = 0;
  while ((rc = osq_source_next(src, &doc)) == OSQ_OK) {
    int arc = osq_writer_add(w, &doc);
    if (arc == OSQ_E_INVAL) {
      warn(&u, doc.id ? doc.id : "(document)", 0, osq_last_error());
      failed_docs++;
      continue;
    }
    if (arc) {
      clear_bar(&u);
      fprintf(stderr, "osindex: %s: %s\n", osq_strerror(arc), osq_last_error());
      osq_source_close(src);
      osq_writer_close(w);
      return 2;
    }
    if (u.progress) {
      double t = now();
      if (t - last > 0.1) {
        osq_source_stats st;
        osq_source_get_stats(src, &st);
        draw_bar(&u, &st, t0);
        last = t;
      }
    }
  }
  clear_bar(&u);
  if (rc < 0) {
    fprintf(stderr, "osindex: reading input: %s\n", osq_strerror(rc));
    osq_source_close(src);
    osq_writer_close(w);
    return 2;
  }
  osq_writer_stats ws;
  osq_writer_get_stats(w, &ws);
  if (ws.documents == 0) {
    fprintf(stderr, "osindex: nothing could be indexed; the index at %s is unchanged\n", index);
    osq_source_close(src);
    osq_writer_close(w);
    return 1;
  }
  rc = osq_writer_commit(w);
  if (rc) {
    fprintf(stderr, "osindex: commit failed: %s: %s\n", osq_strerror(rc), osq_last_error());
    osq_source_close(src);
    osq_writer_close(w);
    return 2;
  }
  osq_writer_get_stats(w, &ws);
  double secs = now() - t0;
  double mb = (double)ws.input_bytes / 1e6;
  osq_source_stats st;
  osq_source_get_stats(src, &st);
  if (!quiet) {
    fprintf(stderr,
            "osindex: %llu documents, %llu passages, %.1f MB input in %.2f s (%.1f MB/s), "
            "index %llu bytes at %s",
            (unsigned long long)ws.documents, (unsigned long long)ws.passages, mb, secs,
            secs > 0 ? mb / secs : 0.0, (unsigned long long)ws.index_bytes, index);
    if (u.warnings) fprintf(stderr, "; %llu warnings", (unsigned long long)u.warnings);
    if (ws.bad_bytes) fprintf(stderr, "; %llu invalid UTF-8 bytes replaced", (unsigned long long)ws.bad_bytes);
    fputc('\n', stderr);
  }
  osq_source_close(src);
  osq_writer_close(w);
  return 0;
}
