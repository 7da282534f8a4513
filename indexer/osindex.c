/*
 * osindex -- builds and maintains an osq index.
 *
 *   osindex [-i INDEX] [-q] [--replace] PATH... build the index; an index
 *                                               already at INDEX is replaced
 *                                               only with --replace
 *   osindex add [-i INDEX] [-q] PATH...         add documents; an id already
 *                                               in the index is replaced
 *   osindex delete [-i INDEX] [-q] ID...        delete documents (ID - reads
 *                                               ids from stdin, one a line)
 *   osindex merge [-i INDEX] [-q]               rewrite all segments as few,
 *                                               without deleted documents
 *   osindex check [-i INDEX] [--deep]           verify every file
 *   osindex stats [-i INDEX] [--json]           documents, segments, bytes
 *
 * add and the build merge small segments automatically after their commit
 * (--no-merge: not this time).
 *
 * Exit status: 0 on success (warnings about bad input are printed but do not
 * fail a build); 1 when nothing could be indexed, when some ids to delete
 * were not found (the others are deleted), or when check found problems; 2
 * for usage errors and failures of the index itself (missing, locked by
 * another writer, unwritable, corrupt, another format version), and for
 * output (stats, check) that could not be written -- a build, add, delete
 * or merge that exits 2 changed nothing in the index; 3 when the change is
 * committed (queries see it) but an fsync after the manifest's rename
 * failed, so a power loss could undo it ("durability not confirmed"); 4
 * when the change is committed and durable but the automatic merge after it
 * failed (the index is as the commit left it).  3 and 4 win over 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "osq/osq.h"
#include "xapian_index.h"
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

/* The writer's warnings (malformed front matter) name the document. */
static void warn_doc(void *ctx, const char *doc_id, const char *msg) { warn(ctx, doc_id, 0, msg); }

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
  fputs("usage: osindex [-i INDEX] [-q] [--replace] PATH...       build the index from files and directories\n"
        "                                                         (--replace: rebuild an index already at INDEX)\n"
        "       osindex add [-i INDEX] [-q] [--no-merge] PATH...  add documents (an id already there is replaced)\n"
        "       osindex delete [-i INDEX] [-q] ID...              delete documents by id (- : ids from stdin)\n"
        "       osindex merge [-i INDEX] [-q]                     merge all segments, dropping deleted documents\n"
        "       osindex check [-i INDEX] [--deep]                 verify the index; exit 1 if anything is wrong\n"
        "       osindex stats [-i INDEX] [--json]                 documents, passages, segments, terms, bytes\n"
        "PATH: .txt (first line is the title), .jsonl or .jsonl.gz (id, title, text,\n"
        "source, url, date); directories are read recursively.\n"
        "INDEX defaults to $OSQ_INDEX, else ./osq-index.\n",
        f);
}

/* Prints a failure of the index itself and returns 2. */
static int index_failure(const char *what, int rc) {
  fprintf(stderr, "osindex: %s%s%s: %s\n", what ? what : "", what ? ": " : "", osq_strerror(rc), osq_last_error());
  return 2;
}

/* The exit status for a commit's (or merge's) status, with its message
 * printed: 0; 3 when the change is published but an fsync after the
 * rename failed (OSQ_E_NOTDURABLE); 4 when the commit is published and the
 * merge after it failed (OSQ_E_AUTOMERGE); else 2, the index unchanged. */
static int commit_status(const char *what, int rc) {
  if (rc == OSQ_OK) return 0;
  if (rc == OSQ_E_NOTDURABLE) {
    fprintf(stderr,
            "osindex: committed, but durability not confirmed: %s\n"
            "osindex: the change is published and queries see it, but a power loss could undo it; "
            "check the disk (dmesg), then run osindex check\n",
            osq_last_error());
    return 3;
  }
  if (rc == OSQ_E_AUTOMERGE) {
    fprintf(stderr, "osindex: committed, but %s; run osindex merge when the cause is fixed\n", osq_last_error());
    return 4;
  }
  return index_failure(what, rc);
}

typedef struct {
  const char *index;
  int quiet, no_merge, deep, json, replace;
} options;

/* A build (no subcommand) over an existing index must say --replace: a
 * typo'd command line (a path where `add` was meant) would otherwise
 * replace thousands of documents with a few, without a word.  Returns 0
 * when the build may go on, else prints why not and returns 2.  (The
 * writer opened with replace still refuses an index of a newer format.) */
static int refuse_existing(const options *o) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/MANIFEST", o->index);
  if (o->replace || lstat(path, &st) != 0) return 0;
  osq_index_info *info;
  char what[64] = "an index";
  if (osq_index_info_get(o->index, &info) == OSQ_OK) {
    snprintf(what, sizeof what, "an index of %llu document%s", (unsigned long long)info->stats.documents,
             info->stats.documents == 1 ? "" : "s");
    osq_index_info_free(info);
  }
  fprintf(stderr,
          "osindex: %s already holds %s; nothing was changed.\n"
          "osindex: to rebuild it from these files (its documents are replaced): osindex --replace -i %s PATH...\n"
          "osindex: to add the files to it: osindex add -i %s PATH...\n",
          o->index, what, o->index, o->index);
  return 2;
}

/* ---- build and add -------------------------------------------------------- */

static int cmd_index(const options *o, int replace, char **paths, int npaths) {
  ui u = {0, !o->quiet && isatty(2), 0};
  osq_writer_options wo;
  memset(&wo, 0, sizeof wo);
  wo.replace = replace;
  wo.no_auto_merge = o->no_merge;
  wo.warn = warn_doc;
  wo.warn_ctx = &u;
  osq_writer *w;
  int rc = osq_writer_open(o->index, &wo, &w);
  if (rc) return index_failure(NULL, rc);
  osq_source *src;
  rc = osq_source_open((const char *const *)paths, (size_t)npaths, warn, &u, &src);
  if (rc) {
    fprintf(stderr, "osindex: %s\n", osq_strerror(rc));
    osq_writer_close(w);
    return 2;
  }
  double t0 = now(), last = 0;
  osq_doc doc;
  while ((rc = osq_source_next(src, &doc)) == OSQ_OK) {
    int arc = osq_writer_add(w, &doc);
    if (arc == OSQ_E_INVAL) {
      warn(&u, doc.id ? doc.id : "(document)", 0, osq_last_error());
      continue;
    }
    if (arc) {
      clear_bar(&u);
      osq_source_close(src);
      osq_writer_close(w);
      return index_failure(NULL, arc);
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
    fprintf(stderr, "osindex: nothing could be indexed; the index at %s is unchanged\n", o->index);
    osq_source_close(src);
    osq_writer_close(w);
    return 1;
  }
  rc = osq_writer_commit(w);
  if (rc && rc != OSQ_E_NOTDURABLE && rc != OSQ_E_AUTOMERGE) {
    osq_source_close(src);
    osq_writer_close(w);
    return index_failure("commit failed", rc);
  }
  int status = commit_status(NULL, rc); /* the commit is published */
  osq_writer_get_stats(w, &ws);
  double secs = now() - t0;
  double mb = (double)ws.input_bytes / 1e6;
  if (!o->quiet) {
    fprintf(stderr,
            "osindex: %llu documents, %llu passages, %.1f MB input in %.2f s (%.1f MB/s), "
            "index %llu bytes at %s",
            (unsigned long long)ws.documents, (unsigned long long)ws.passages, mb, secs,
            secs > 0 ? mb / secs : 0.0, (unsigned long long)ws.index_bytes, o->index);
    if (ws.replaced) fprintf(stderr, "; %llu replaced a document with the same id", (unsigned long long)ws.replaced);
    if (ws.merges) fprintf(stderr, "; %llu merge%s", (unsigned long long)ws.merges, ws.merges == 1 ? "" : "s");
    if (u.warnings) fprintf(stderr, "; %llu warnings", (unsigned long long)u.warnings);
    if (ws.bad_bytes) fprintf(stderr, "; %llu invalid UTF-8 bytes replaced", (unsigned long long)ws.bad_bytes);
    fputc('\n', stderr);
  }
  /* even with -q: the index needs attention */
  if (ws.merges_refused)
    fprintf(stderr, "osindex: warning: %s\n",
            osq_last_error()[0] ? osq_last_error() : "a damaged segment was not merged; run osindex check");
  osq_source_close(src);
  osq_writer_close(w);
  return status;
}

/* ---- delete ------------------------------------------------------------------ */

/* Deletes one id; returns 0, 1 (not found) or 2 (failure, printed). */
static int delete_one(osq_writer *w, const char *id) {
  int rc = osq_writer_delete(w, id);
  if (rc == OSQ_OK) return 0;
  if (rc == OSQ_E_NOTFOUND || rc == OSQ_E_INVAL) {
    fprintf(stderr, "osindex: no document with id '%s'\n", id);
    return 1;
  }
  return index_failure(NULL, rc);
}

static int cmd_delete(const options *o, char **ids, int nids) {
  osq_index_info *info; /* an index must be there: a writer would make one */
  int rc = osq_index_info_get(o->index, &info);
  if (rc) return index_failure(NULL, rc);
  osq_index_info_free(info);
  osq_writer_options wo;
  memset(&wo, 0, sizeof wo);
  wo.no_auto_merge = o->no_merge;
  osq_writer *w;
  if ((rc = osq_writer_open(o->index, &wo, &w))) return index_failure(NULL, rc);
  int status = 0;
  uint64_t missing = 0;
  for (int i = 0; i < nids && status < 2; i++) {
    if (strcmp(ids[i], "-") != 0) {
      int r = delete_one(w, ids[i]);
      missing += r == 1;
      if (r > status) status = r;
      continue;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    errno = 0;
    while (status < 2 && (n = getline(&line, &cap, stdin)) >= 0) {
      lineno++;
      while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
      if (n == 0) continue;
      int r = delete_one(w, line);
      missing += r == 1;
      if (r > status) status = r;
      errno = 0;
    }
    /* getline gives -1 for the end of the input and for a read error
     * alike: an error (stdin a directory, EIO) must not pass for the end of
     * the list, or part of it would be deleted and the rest silently not.
     * Nothing is committed then. */
    if (status < 2 && ferror(stdin)) {
      int e = errno;
      fprintf(stderr, "osindex: delete: reading ids from standard input (after line %llu): %s; nothing was deleted\n",
              (unsigned long long)lineno, e ? strerror(e) : "read error");
      status = 2;
    } else if (status < 2 && errno == ENOMEM) {
      fprintf(stderr, "osindex: delete: reading ids from standard input: out of memory; nothing was deleted\n");
      status = 2;
    }
    free(line);
  }
  if (status == 2) {
    osq_writer_close(w);
    return 2;
  }
  osq_writer_stats ws;
  osq_writer_get_stats(w, &ws);
  if (ws.deleted > 0 && (rc = osq_writer_commit(w)) && rc != OSQ_E_NOTDURABLE && rc != OSQ_E_AUTOMERGE) {
    osq_writer_close(w);
    return index_failure("commit failed", rc);
  }
  if (!o->quiet)
    fprintf(stderr, "osindex: %llu document%s deleted from %s%s\n", (unsigned long long)ws.deleted,
            ws.deleted == 1 ? "" : "s", o->index, missing ? "; some ids were not found" : "");
  int cs = ws.deleted > 0 ? commit_status(NULL, rc) : 0;
  osq_writer_close(w);
  return cs > status ? cs : status;
}

/* ---- merge ------------------------------------------------------------------- */

static int cmd_merge(const options *o) {
  osq_index_info *before;
  int rc = osq_index_info_get(o->index, &before);
  if (rc) return index_failure(NULL, rc);
  osq_writer *w;
  if ((rc = osq_writer_open(o->index, NULL, &w))) {
    osq_index_info_free(before);
    return index_failure(NULL, rc);
  }
  double t0 = now();
  rc = osq_writer_merge(w);
  osq_writer_close(w);
  if (rc && rc != OSQ_E_NOTDURABLE) {
    osq_index_info_free(before);
    return index_failure("merge failed", rc);
  }
  int status = commit_status(NULL, rc); /* 3: the merge is published, not confirmed */
  osq_index_info *after;
  if ((rc = osq_index_info_get(o->index, &after))) {
    osq_index_info_free(before);
    return index_failure(NULL, rc);
  }
  if (!o->quiet && before->stats.generation == after->stats.generation)
    fprintf(stderr, "osindex: nothing to merge (%llu segment%s, no deleted documents)\n",
            (unsigned long long)after->stats.segments, after->stats.segments == 1 ? "" : "s");
  else if (!o->quiet)
    fprintf(stderr, "osindex: %llu segments (%llu deleted documents) merged into %llu in %.2f s; %llu documents, %llu bytes\n",
            (unsigned long long)before->stats.segments, (unsigned long long)before->stats.deleted_documents,
            (unsigned long long)after->stats.segments, now() - t0, (unsigned long long)after->stats.documents,
            (unsigned long long)after->stats.bytes);
  osq_index_info_free(before);
  osq_index_info_free(after);
  return status;
}

/* ---- check ------------------------------------------------------------------- */

static void print_problem(void *ctx, const char *file, const char *problem) {
  (void)ctx;
  printf("%s: %s\n", file, problem);
}

static int cmd_check(const options *o) {
  struct stat st;
  if (stat(o->index, &st) == 0 && !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "osindex: %s is not an index directory\n", o->index);
    return 2;
  }
  uint64_t stray = 0;
  int rc = osq_index_check(o->index, o->deep, print_problem, NULL, &stray);
  if (rc == OSQ_E_NOINDEX || rc == OSQ_E_IO || rc == OSQ_E_NOMEM) return index_failure(NULL, rc);
  if (rc) {
    const char *msg = osq_last_error()[0] ? osq_last_error() : osq_strerror(rc);
    size_t il = strlen(o->index);
    if (!strncmp(msg, o->index, il) && msg[il] == ':') printf("%s\n", msg); /* it names the index already */
    else printf("%s: %s\n", o->index, msg);
    /* Rebuilding is the advice only now that the check has said what is
     * lost (the summary above); queries on the intact part go on. */
    printf("%s: the index is damaged (above: what is lost); queries that read a damaged part fail "
           "with an error (they never show damaged text); to get the documents back, rebuild the index from its sources "
           "(osindex --replace -i %s PATH...)\n",
           o->index, o->index);
    return 1;
  }
  osq_index_info *info = NULL;
  if (osq_index_info_get(o->index, &info) == OSQ_OK) {
    printf("%s: ok (%s check of %llu segment%s, %llu documents)", o->index, o->deep ? "deep" : "standard",
           (unsigned long long)info->stats.segments, info->stats.segments == 1 ? "" : "s",
           (unsigned long long)info->stats.documents);
    osq_index_info_free(info);
  } else {
    printf("%s: ok", o->index);
  }
  if (stray)
    printf("; %llu file%s no manifest names (left by an interrupted writer; the next writer deletes them)",
           (unsigned long long)stray, stray == 1 ? "" : "s");
  putchar('\n');
  return 0;
}

/* ---- stats ------------------------------------------------------------------- */

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int cmd_stats(const options *o) {
  osq_index_info *info;
  int rc = osq_index_info_get(o->index, &info);
  if (rc) return index_failure(NULL, rc);
  const osq_index_stats *st = &info->stats;
  if (o->json) {
    printf("{\"index\":");
    json_str(o->index);
    printf(",\"generation\":%llu,\"documents\":%llu,\"deleted_documents\":%llu,\"passages\":%llu,"
           "\"deleted_passages\":%llu,\"segments\":%llu,\"terms\":%llu,\"bytes\":%llu,\"parts\":{",
           (unsigned long long)st->generation, (unsigned long long)st->documents,
           (unsigned long long)st->deleted_documents, (unsigned long long)st->passages,
           (unsigned long long)st->deleted_passages, (unsigned long long)st->segments,
           (unsigned long long)st->terms, (unsigned long long)st->bytes);
    for (int p = 0; p < OSQ_PART_COUNT; p++)
      printf("%s\"%s\":%llu", p ? "," : "", osq_part_name(p), (unsigned long long)info->part_bytes[p]);
    printf(",\"manifest\":%llu},\"segment_list\":[", (unsigned long long)info->manifest_bytes);
    for (size_t i = 0; i < info->nsegments; i++) {
      const osq_segment_info *s = &info->segments[i];
      printf("%s{\"number\":%u,\"documents\":%llu,\"deleted_documents\":%llu,\"passages\":%llu,"
             "\"deleted_passages\":%llu,\"terms\":%llu,\"bytes\":%llu}",
             i ? "," : "", s->number, (unsigned long long)s->documents, (unsigned long long)s->deleted_documents,
             (unsigned long long)s->passages, (unsigned long long)s->deleted_passages,
             (unsigned long long)s->terms, (unsigned long long)s->bytes);
    }
    printf("]}\n");
    osq_index_info_free(info);
    return 0;
  }
  uint64_t total = st->bytes + info->manifest_bytes;
  printf("index       %s (generation %llu)\n", o->index, (unsigned long long)st->generation);
  printf("documents   %llu", (unsigned long long)st->documents);
  if (st->deleted_documents)
    printf(" (and %llu deleted, until a merge drops them)", (unsigned long long)st->deleted_documents);
  printf("\npassages    %llu", (unsigned long long)st->passages);
  if (st->deleted_passages) printf(" (and %llu deleted)", (unsigned long long)st->deleted_passages);
  printf("\nsegments    %llu\n", (unsigned long long)st->segments);
  printf("terms       %llu (summed over segments)\n", (unsigned long long)st->terms);
  printf("bytes       %llu\n", (unsigned long long)total);
  for (int p = 0; p < OSQ_PART_COUNT; p++)
    printf("  %-12s %12llu  %5.1f%%\n", osq_part_name(p), (unsigned long long)info->part_bytes[p],
           total ? 100.0 * (double)info->part_bytes[p] / (double)total : 0.0);
  printf("  %-12s %12llu  %5.1f%%\n", "manifest", (unsigned long long)info->manifest_bytes,
         total ? 100.0 * (double)info->manifest_bytes / (double)total : 0.0);
  if (info->nsegments) {
    printf("\n%-18s %10s %8s %10s %10s %12s\n", "segment", "documents", "deleted", "passages", "terms", "bytes");
    for (size_t i = 0; i < info->nsegments; i++) {
      const osq_segment_info *s = &info->segments[i];
      char name[32];
      snprintf(name, sizeof name, "seg-%08u.osq", s->number);
      printf("%-18s %10llu %8llu %10llu %10llu %12llu\n", name, (unsigned long long)s->documents,
             (unsigned long long)s->deleted_documents, (unsigned long long)s->passages,
             (unsigned long long)s->terms, (unsigned long long)s->bytes);
    }
  }
  osq_index_info_free(info);
  return 0;
}

/* ---- main -------------------------------------------------------------------- */

static int run(int argc, char **argv);

int main(int argc, char **argv) {
  /* Past a file-size limit (ulimit -f) a write then fails with EFBIG, which
   * is reported and leaves the index as it was, instead of the signal
   * killing osindex without a word. */
  signal(SIGXFSZ, SIG_IGN);
  int rc = run(argc, argv);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "osindex: writing the output: %s\n", errno ? strerror(errno) : "output error");
    return 2;
  }
  return rc;
}

static int run(int argc, char **argv) {
  options o;
  memset(&o, 0, sizeof o);
  o.index = getenv("OSQ_INDEX");
  if (!o.index || !*o.index) o.index = "osq-index";
  static const char *const cmds[] = {"add", "delete", "merge", "check", "stats", NULL};
  const char *cmd = NULL;
  int argi = 1;
  for (int i = 0; cmds[i] && argc > 1; i++)
    if (!strcmp(argv[1], cmds[i])) {
      cmd = cmds[i];
      argi = 2;
    }
  enum { OPT_NO_MERGE = 256, OPT_DEEP, OPT_JSON, OPT_ENGINE, OPT_REPLACE };
  const char *engine = "osq";
  static const struct option longopts[] = {{"index", required_argument, NULL, 'i'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"no-merge", no_argument, NULL, OPT_NO_MERGE},
                                           {"deep", no_argument, NULL, OPT_DEEP},
                                           {"json", no_argument, NULL, OPT_JSON},
                                           {"engine", required_argument, NULL, OPT_ENGINE},
                                           {"replace", no_argument, NULL, OPT_REPLACE},
                                           {NULL, 0, NULL, 0}};
  optind = argi;
  int c;
  while ((c = getopt_long(argc, argv, "i:qh", longopts, NULL)) != -1) {
    switch (c) {
      case 'i': o.index = optarg; break;
      case 'q': o.quiet = 1; break;
      case 'h': usage(stdout); return 0;
      case OPT_NO_MERGE: o.no_merge = 1; break;
      case OPT_DEEP: o.deep = 1; break;
      case OPT_JSON: o.json = 1; break;
      case OPT_ENGINE: engine = optarg; break;
      case OPT_REPLACE: o.replace = 1; break;
      default: usage(stderr); return 2;
    }
  }
  int nargs = argc - optind;
  char **args = argv + optind;
  const char *misplaced = NULL;
  if (o.deep && (!cmd || strcmp(cmd, "check"))) misplaced = "--deep";
  if (o.json && (!cmd || strcmp(cmd, "stats"))) misplaced = "--json";
  if (o.no_merge && cmd && strcmp(cmd, "add") && strcmp(cmd, "delete")) misplaced = "--no-merge";
  if (o.replace && cmd) misplaced = "--replace";
  if (misplaced) {
    fprintf(stderr, "osindex: %s does not apply to %s\n", misplaced, cmd ? cmd : "a build");
    usage(stderr);
    return 2;
  }
  if (strcmp(engine, "osq") != 0) {
    /* --engine xapian: the same passages in a Xapian database, for
     * comparisons (osq --engine xapian queries it). */
    if (strcmp(engine, "xapian") != 0 || cmd) {
      fprintf(stderr, "osindex: --engine %s: only 'osindex --engine xapian [-i DB] PATH...' is supported\n", engine);
      return 2;
    }
    if (nargs == 0) {
      fputs("osindex: no input given\n", stderr);
      return 2;
    }
    return osindex_xapian(o.index, (const char *const *)args, (size_t)nargs, o.quiet);
  }
  if (!cmd || !strcmp(cmd, "add")) {
    if (nargs == 0) {
      fputs("osindex: no input given\n", stderr);
      usage(stderr);
      return 2;
    }
    if (!cmd && refuse_existing(&o)) return 2;
    return cmd_index(&o, !cmd, args, nargs);
  }
  if (!strcmp(cmd, "delete")) {
    if (nargs == 0) {
      fputs("osindex: delete: no document id given\n", stderr);
      usage(stderr);
      return 2;
    }
    return cmd_delete(&o, args, nargs);
  }
  if (nargs > 0) {
    fprintf(stderr, "osindex: %s takes no arguments (got '%s')\n", cmd, args[0]);
    usage(stderr);
    return 2;
  }
  if (!strcmp(cmd, "merge")) return cmd_merge(&o);
  if (!strcmp(cmd, "check")) return cmd_check(&o);
  return cmd_stats(&o);
}
