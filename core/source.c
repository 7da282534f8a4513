/*
 * source.c -- reading input documents (.txt, .jsonl, .jsonl.gz) from files
 * and directory trees for osindex and osbench.
 *
 * Design:
 *   - osq_source_open walks every path once and records the input files it
 *     will read, in order, with their on-disk sizes.  One walk gives both the
 *     progress total and the reading order, so the two cannot disagree, and
 *     problems found by the walk (missing path, unreadable directory, symlink
 *     loop) are stored as entries and reported when reading reaches them.
 *   - JSON Lines are read in large chunks into one growable buffer and cut
 *     at newlines with memchr, so a line is parsed where it lies; the buffer
 *     grows only as far as the longest line needs, and always keeps
 *     SRC_PAD bytes after the data, the read-ahead simdjson needs past a
 *     line's end, so no line is copied to be parsed.
 *   - jansson decides how every line is read: the lines it accepts, their
 *     values (the last of duplicate keys), its byte offset and message for
 *     a malformed line.  But jansson is slow (below), so simdjson reads
 *     each line first, through json/json_doc.h (the C interface of
 *     json/json_doc.cc), and answers for the lines it can answer for
 *     exactly as jansson would: objects, valid, with nothing in them that
 *     jansson refuses.  Any other line --
 *     malformed, invalid UTF-8, not an object, a value simdjson takes and
 *     jansson does not -- goes to jansson (parse_with_jansson), which judges
 *     it and repairs invalid UTF-8 as it always did.  A document's strings
 *     are copied out of the parser (simdjson's, reused for the next line,
 *     or jansson's json_t) into one block the item owns until the next
 *     call.
 *   - simdjson parses the precedents corpus at about 3 GB/s, fields
 *     extracted and copied (jansson did 60-70 MB/s, a fifth of the
 *     indexer's CPU time).  Reading, inflating and parsing still run ahead
 *     in a worker thread while the caller indexes the previous documents
 *     (inflating a .jsonl.gz costs more than parsing it now): the producer
 *     (produce()) makes items -- a document, or the end -- each carrying the
 *     warnings met before it and a snapshot of the statistics, and
 *     osq_source_next hands them out in order.  Warnings are therefore
 *     delivered on the caller's thread, inside osq_source_next, exactly as
 *     when reading synchronously (the fallback if no thread can be started,
 *     or if OSQ_SOURCE_READAHEAD=0 is set in the environment).
 */
/* The build defines it; this keeps a direct compile working too (O_CLOEXEC,
 * d_type, posix_fadvise). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "osq/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "json/json_doc.h"

/* Read size: large enough that syscalls and gzread calls are a small cost
 * next to parsing. */
#define SRC_CHUNK ((size_t)1 << 20)
/* Compressed input is read in these pieces. */
#define SRC_GZ_BUFFER ((size_t)256 << 10)
/* A line buffer grown past this for one huge line is freed when its file
 * ends, rather than kept at the worst line's size for the rest of the run. */
#define SRC_KEEP_BUFFER ((size_t)8 << 20)
/* Directories nested deeper than this are skipped: a guard against runaway
 * trees and stack use, far beyond any real corpus. */
#define SRC_MAX_DEPTH 256
/* A file that is broken line after line (say, another format under a .jsonl
 * name) should not flood the log; the rest are counted and summarised when
 * the file ends. */
#define SRC_MAX_LINE_WARNINGS 100
/* Read-ahead limits: enough documents to keep the caller busy while the
 * worker parses, few enough to bound memory (one document larger than the
 * byte limit still passes, alone). */
#define SRC_QUEUE_ITEMS 64
#define SRC_QUEUE_BYTES ((size_t)64 << 20)
/* Each side wakes the other for a batch, not for every document: the
 * consumer wakes a waiting worker once the queue is down to half, the
 * worker wakes a waiting consumer once SRC_WAKE_ITEMS are queued (or the
 * input ends).  On one core each wake-up is a switch of threads both
 * ways; document by document they were 2 % of osindex.  A waiting
 * consumer also looks again every SRC_WAIT_NS, so that documents never
 * wait behind a worker that blocks (see osq_source_next). */
#define SRC_WAKE_ITEMS 8
#define SRC_WAIT_NS 1000000L /* longest a waiting consumer leaves queued documents */
/* One document -- a .txt file, a JSON line -- larger than this is skipped
 * with a warning: memory stays bounded whatever the input (a file that never
 * ends, a 500 MB line), and the rest of the run goes on.  64 MiB is some
 * forty novels; the indexer needs several times a document's size to index
 * it.  OSQ_SOURCE_MAX_DOC_BYTES in the environment sets another limit (the
 * tests use a small one). */
#define SRC_MAX_DOC_BYTES ((size_t)64 << 20)
/* Titles are cut to this many bytes (at a character boundary): a title is
 * shown with every hit, and the writer makes no title passage of 4 KiB or
 * more.  A .txt whose first line is longer keeps the whole line in its
 * text, so nothing of it goes unsearchable. */
#define SRC_MAX_TITLE_BYTES 1024
/* A FIFO named as an input is read as a stream, but one that nothing opens
 * for writing is skipped after this long (OSQ_SOURCE_FIFO_WAIT_MS sets
 * another wait), rather than holding the index's LOCK for ever. */
#define SRC_FIFO_WAIT_MS 30000

enum src_kind {
  SRC_TXT,
  SRC_JSONL,
  SRC_JSONL_GZ,
  /* Entries that only carry a problem found by the walk. */
  SRC_ERRNO,     /* a path that could not be stat'ed or listed: err */
  SRC_LOOP,      /* a directory that is its own ancestor (symlink loop) */
  SRC_DEPTH,     /* a directory nested deeper than SRC_MAX_DEPTH */
  SRC_OUTSIDE,   /* a symbolic link to a directory outside the tree walked */
  SRC_NOT_INPUT  /* a file named explicitly that is not .txt/.jsonl[.gz] */
};

typedef struct src_entry {
  char *path;     /* as given, or joined by the walk: also the .txt id */
  uint64_t size;  /* on-disk size found by the walk */
  int kind;       /* enum src_kind */
  int err;        /* errno for SRC_ERRNO */
} src_entry;

/* (dev, ino) of the directories being walked, to spot symlink loops. */
typedef struct src_dirid {
  dev_t dev;
  ino_t ino;
} src_dirid;

/* Bytes kept readable after every line handed to the JSON parser. */
#define SRC_PAD ((size_t)OSQ_JSON_PADDING)

/* The members of a JSON document that are read.  The first F_NUMERIC may
 * be numbers, printed as strings. */
enum { F_ID, F_TITLE, F_SOURCE, F_URL, F_DATE, F_TEXT, F_COUNT };
#define F_NUMERIC F_TEXT
static const char *const field_names[F_COUNT] = {"id",  "title", "source",
                                                  "url", "date",  "text"};

typedef struct src_warning {
  struct src_warning *next;
  const char *path; /* an entry's path: lives as long as the source */
  uint64_t line;
  char msg[];
} src_warning;

/* What the producer hands to osq_source_next: a document (status OSQ_OK) or
 * the end (OSQ_DONE, OSQ_E_NOMEM), with the warnings that came before it. */
typedef struct src_item {
  struct src_item *next;
  src_warning *warnings;
  int status;
  osq_doc doc;
  char *owned;           /* the document's strings */
  size_t bytes;          /* size of the document, for the queue limit */
  osq_source_stats st;   /* statistics once this item is consumed */
  char num[F_NUMERIC][40]; /* numeric fields printed as strings */
} src_item;

struct osq_source {
  src_entry *entries;
  size_t nentries, entries_cap;
  osq_source_warn_fn warn;
  void *warn_ctx;

  /* ---- Consumer side (the caller's thread). */
  osq_source_stats st;   /* as of the last item handed out */
  src_item *current;     /* the document handed out last */
  int final_status;      /* once nonzero: OSQ_DONE or the error, for good */

  /* ---- Producer side (the worker, or the caller when synchronous). */
  size_t next_entry;
  osq_source_stats pst;  /* counted as produced */
  uint64_t done_base;    /* on-disk bytes of the files already finished */
  src_warning *pend_head, *pend_tail; /* warnings for the next item */
  const src_entry *cur;  /* the file being read, or NULL */
  int fd;
  int eof;               /* no more data from the file */
  int failed;            /* counted in files_failed already */
  char read_error[256];  /* why reading stopped early, for the warning */
  int first_fill;        /* the next fill is the file's first */
  uint64_t lineno;       /* lines cut so far */
  uint64_t raw_pos;      /* on-disk bytes consumed of the current file */
  unsigned line_warnings;
  uint64_t suppressed;
  /* Line buffer: data in buf[beg, end); no newline in buf[beg, scan).  At
   * least SRC_PAD bytes follow buf[end], for the JSON parser. */
  char *buf;
  size_t cap, beg, end, scan;
  osq_json *json;        /* the JSON parser, made at the first line */
  /* gzip: inflate is driven directly rather than through gzread, which on
   * corrupt data throws away everything it inflated in that call; this way
   * every whole line before the damage is kept. */
  int gz;                /* the current file is gzip */
  z_stream z;
  int z_ready;           /* inflateInit2 done for this file */
  int z_member_end;      /* before a gzip member, or after the last */
  uint64_t z_members;    /* members read to their end */
  int z_in_eof;          /* the compressed file is read to its end */
  unsigned char *zin;    /* SRC_GZ_BUFFER bytes */
  /* A damaged member's data is never read as documents (gz_verify): the
   * inflated bytes before it (gz_limit; UINT64_MAX: no damage) and why. */
  uint64_t gz_limit, z_out;
  char gz_why[192];

  /* ---- Read-ahead queue, guarded by mu. */
  int threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  src_item *head, *tail;
  size_t queued, queued_bytes;
  int consumer_waiting, producer_waiting; /* signal only when someone waits */
  atomic_int stop;       /* close() asks the worker to quit */
  size_t max_doc;        /* SRC_MAX_DOC_BYTES, or the environment's */
  int fifo_wait_ms;      /* SRC_FIFO_WAIT_MS, or the environment's */

  /* ---- Walk state, used only during open. */
  src_dirid *dirs;
  size_t ndirs, dirs_cap;
  char *root;            /* realpath of the directory named on the command line */
};

/* ------------------------------------------------------------------------
 * Warnings (producer side)
 * ---------------------------------------------------------------------- */

static void warn_v(osq_source *s, const char *path, uint64_t line,
                   const char *fmt, va_list ap) {
  char msg[512];
  size_t n;
  src_warning *w;
  if (!s->warn) return;
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (!s->threaded) {
    s->warn(s->warn_ctx, path, line, msg);
    return;
  }
  /* Held for the caller's thread.  Without memory for it the warning is
   * lost; the allocation failures that follow will surface as OSQ_E_NOMEM. */
  n = strlen(msg) + 1;
  w = malloc(sizeof *w + n);
  if (!w) return;
  w->next = NULL;
  w->path = path;
  w->line = line;
  memcpy(w->msg, msg, n);
  if (s->pend_tail)
    s->pend_tail->next = w;
  else
    s->pend_head = w;
  s->pend_tail = w;
}

/* A problem with the file as a whole: always reported. */
static void warn_file(osq_source *s, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn_file(osq_source *s, const char *path, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  warn_v(s, path, 0, fmt, ap);
  va_end(ap);
}

/* A problem with one line of the current file: capped per file. */
static void warn_line(osq_source *s, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn_line(osq_source *s, uint64_t line, const char *fmt, ...) {
  va_list ap;
  if (s->line_warnings >= SRC_MAX_LINE_WARNINGS) {
    s->suppressed++;
    return;
  }
  s->line_warnings++;
  va_start(ap, fmt);
  warn_v(s, s->cur->path, line, fmt, ap);
  va_end(ap);
}

/* A problem with the current file at a line, that the cap must not hide. */
static void warn_at(osq_source *s, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn_at(osq_source *s, uint64_t line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  warn_v(s, s->cur->path, line, fmt, ap);
  va_end(ap);
}

static void free_warnings(src_warning *w) {
  while (w) {
    src_warning *next = w->next;
    free(w);
    w = next;
  }
}

static void file_failed(osq_source *s) {
  if (!s->failed) {
    s->failed = 1;
    s->pst.files_failed++;
  }
}

/* ------------------------------------------------------------------------
 * UTF-8
 * ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p[0..n), or 0 if the bytes there are
 * not one.  The rules are those of Unicode table 3-7 (no overlongs, no
 * surrogates, nothing above U+10FFFF), the ones jansson applies, so a line
 * repaired here parses. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c < 0xF0) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3
                                                                         : 0;
  }
  if (c < 0xF5) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
                   (p[3] & 0xC0) == 0x80
               ? 4
               : 0;
  }
  return 0;
}

/* Offset of the first invalid byte in p[0..n), or n if all is valid. */
static size_t utf8_first_bad(const char *p, size_t n) {
  const unsigned char *u = (const unsigned char *)p;
  size_t i = 0;
  while (i < n) {
    size_t k;
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    k = utf8_seq(u + i, n - i);
    if (!k) return i;
    i += k;
  }
  return n;
}

/* Copies p[0..n) into a new NUL-terminated buffer *out, replacing each
 * invalid byte by U+FFFD (one per byte, as the tokenizer does).  Returns
 * OSQ_OK or OSQ_E_NOMEM; *out_len and *bad receive the new length and the
 * number of bytes replaced.  Rare, so no buffer is kept for it. */
static int utf8_repair(const char *p, size_t n, char **out, size_t *out_len,
                       size_t *bad) {
  const unsigned char *u = (const unsigned char *)p;
  size_t i = 0, o = 0, nbad = 0;
  char *d;
  /* Worst case every byte becomes three; +1 for the NUL. */
  if (n > (SIZE_MAX - 1) / 3) return OSQ_E_NOMEM;
  d = malloc(3 * n + 1);
  if (!d) return OSQ_E_NOMEM;
  while (i < n) {
    size_t k = u[i] < 0x80 ? 1 : utf8_seq(u + i, n - i);
    if (k) {
      memcpy(d + o, p + i, k);
      o += k;
      i += k;
    } else {
      memcpy(d + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
      nbad++;
    }
  }
  d[o] = '\0';
  *out = d;
  *out_len = o;
  *bad = nbad;
  return OSQ_OK;
}

/* The length of p[0..n) cut to at most max bytes at a codepoint boundary
 * (p is valid UTF-8). */
static size_t utf8_cut(const char *p, size_t n, size_t max) {
  if (n <= max) return n;
  while (max > 0 && ((unsigned char)p[max] & 0xC0) == 0x80) max--;
  return max;
}

/* ------------------------------------------------------------------------
 * Walking the paths (at open)
 * ---------------------------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t k = strlen(suffix);
  return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* The input kind for a file name, or -1 if it is not an input file. */
static int kind_of(const char *name) {
  size_t n = strlen(name);
  if (ends_with(name, n, ".txt")) return SRC_TXT;
  if (ends_with(name, n, ".jsonl")) return SRC_JSONL;
  if (ends_with(name, n, ".jsonl.gz")) return SRC_JSONL_GZ;
  return -1;
}

/* Appends an entry; takes ownership of path (freed on failure too). */
static int add_entry(osq_source *s, char *path, uint64_t size, int kind,
                     int err) {
  src_entry *e;
  if (!path) return OSQ_E_NOMEM;
  if (s->nentries == s->entries_cap) {
    size_t cap = s->entries_cap ? 2 * s->entries_cap : 64;
    e = realloc(s->entries, cap * sizeof *e);
    if (!e) {
      free(path);
      return OSQ_E_NOMEM;
    }
    s->entries = e;
    s->entries_cap = cap;
  }
  e = &s->entries[s->nentries++];
  e->path = path;
  e->size = size;
  e->kind = kind;
  e->err = err;
  s->pst.total_bytes += size;
  return OSQ_OK;
}

static char *join_path(const char *dir, const char *name) {
  size_t dn = strlen(dir), nn = strlen(name);
  int slash = dn > 0 && dir[dn - 1] != '/';
  char *p = malloc(dn + slash + nn + 1);
  if (!p) return NULL;
  memcpy(p, dir, dn);
  if (slash) p[dn] = '/';
  memcpy(p + dn + slash, name, nn + 1);
  return p;
}

typedef struct dir_name {
  char *name;
  unsigned char type; /* d_type: DT_UNKNOWN when the file system is mute */
} dir_name;

static int cmp_names(const void *a, const void *b) {
  return strcmp(((const dir_name *)a)->name, ((const dir_name *)b)->name);
}

static int walk_dir(osq_source *s, const char *path, const struct stat *st,
                    int depth);

/* Adds what lies at path: a file (if named explicitly or of an input kind)
 * or a directory tree. */
static int walk_path(osq_source *s, const char *path, int explicit_path,
                     unsigned char d_type, int depth) {
  struct stat st;
  int kind = -1;
  if (!explicit_path) {
    /* Most directory entries are plain files; deciding those by name saves
     * a stat for every file that would be skipped anyway. */
    kind = kind_of(path);
    if (kind < 0 && d_type == DT_REG) return OSQ_OK;
  }
  if (stat(path, &st) != 0) {
    /* A dangling link with an unrelated name in a directory is not worth a
     * warning; anything else the user will want to hear about: an entry
     * that cannot be looked at (a directory without search permission, a
     * path too long) may be a directory of documents. */
    if (!explicit_path && kind < 0 && errno == ENOENT) return OSQ_OK;
    return add_entry(s, strdup(path), 0, SRC_ERRNO, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    if (explicit_path) {
      /* Links inside the tree are followed, but only to directories in it:
       * a link to ".." or "/" would read what the user did not name. */
      free(s->root);
      s->root = realpath(path, NULL);
      int rc = walk_dir(s, path, &st, depth);
      free(s->root);
      s->root = NULL;
      return rc;
    }
    struct stat lst;
    if (s->root && (d_type == DT_LNK || (d_type == DT_UNKNOWN && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)))) {
      char *target = realpath(path, NULL);
      size_t rl = strlen(s->root);
      int inside = target && !strncmp(target, s->root, rl) &&
                   (target[rl] == '/' || target[rl] == '\0' || (rl == 1 && s->root[0] == '/'));
      free(target);
      if (!inside) return add_entry(s, strdup(path), 0, SRC_OUTSIDE, 0);
    }
    return walk_dir(s, path, &st, depth);
  }
  if (explicit_path) {
    kind = kind_of(path);
    if (kind < 0) return add_entry(s, strdup(path), 0, SRC_NOT_INPUT, 0);
  }
  if (kind < 0) return OSQ_OK;
  /* In a directory only regular files count (no FIFOs or devices); a path
   * named on purpose is read whatever it is. */
  if (!explicit_path && !S_ISREG(st.st_mode)) return OSQ_OK;
  return add_entry(s, strdup(path),
                   S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, kind, 0);
}

static int walk_dir(osq_source *s, const char *path, const struct stat *st,
                    int depth) {
  DIR *d;
  struct dirent *de;
  dir_name *names = NULL;
  size_t n = 0, cap = 0, i;
  int rc = OSQ_OK;

  if (depth > SRC_MAX_DEPTH) return add_entry(s, strdup(path), 0, SRC_DEPTH, 0);
  for (i = 0; i < s->ndirs; i++)
    if (s->dirs[i].dev == st->st_dev && s->dirs[i].ino == st->st_ino)
      return add_entry(s, strdup(path), 0, SRC_LOOP, 0);

  d = opendir(path);
  if (!d) return add_entry(s, strdup(path), 0, SRC_ERRNO, errno);
  errno = 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' &&
        (de->d_name[1] == '\0' ||
         (de->d_name[1] == '.' && de->d_name[2] == '\0')))
      continue;
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 32;
      dir_name *nn = realloc(names, ncap * sizeof *nn);
      if (!nn) {
        rc = OSQ_E_NOMEM;
        break;
      }
      names = nn;
      cap = ncap;
    }
    names[n].name = strdup(de->d_name);
    names[n].type = de->d_type;
    if (!names[n].name) {
      rc = OSQ_E_NOMEM;
      break;
    }
    n++;
    errno = 0;
  }
  if (rc == OSQ_OK && errno != 0) {
    /* The listing broke off: read what was listed, and say so. */
    rc = add_entry(s, strdup(path), 0, SRC_ERRNO, errno);
  }
  closedir(d);
  if (rc != OSQ_OK) goto out;

  if (s->ndirs == s->dirs_cap) {
    size_t ncap = s->dirs_cap ? 2 * s->dirs_cap : 16;
    src_dirid *nd = realloc(s->dirs, ncap * sizeof *nd);
    if (!nd) {
      rc = OSQ_E_NOMEM;
      goto out;
    }
    s->dirs = nd;
    s->dirs_cap = ncap;
  }
  s->dirs[s->ndirs].dev = st->st_dev;
  s->dirs[s->ndirs].ino = st->st_ino;
  s->ndirs++;

  if (n > 1) qsort(names, n, sizeof *names, cmp_names);
  for (i = 0; i < n && rc == OSQ_OK; i++) {
    char *child = join_path(path, names[i].name);
    if (!child) {
      rc = OSQ_E_NOMEM;
      break;
    }
    rc = walk_path(s, child, 0, names[i].type, depth + 1);
    free(child);
  }
  s->ndirs--;

out:
  for (i = 0; i < n; i++) free(names[i].name);
  free(names);
  return rc;
}

/* ------------------------------------------------------------------------
 * Reading lines (producer side)
 * ---------------------------------------------------------------------- */

/* Makes room for at least SRC_CHUNK more bytes after buf[end], and SRC_PAD
 * after those, first by dropping consumed bytes, then by growing. */
static int make_room(osq_source *s) {
  if (s->beg > 0) {
    memmove(s->buf, s->buf + s->beg, s->end - s->beg);
    s->end -= s->beg;
    s->scan -= s->beg;
    s->beg = 0;
  }
  if (s->cap - s->end < SRC_CHUNK + SRC_PAD) {
    size_t ncap = s->cap ? s->cap : SRC_CHUNK + SRC_PAD;
    char *nb;
    while (ncap - s->end < SRC_CHUNK + SRC_PAD) {
      if (ncap > SIZE_MAX / 2) return OSQ_E_NOMEM;
      ncap *= 2;
    }
    nb = realloc(s->buf, ncap);
    if (!nb) return OSQ_E_NOMEM;
    s->buf = nb;
    s->cap = ncap;
  }
  return OSQ_OK;
}

/* Reading stops early: the warning waits until the lines before the damage
 * have been cut, so that it names the line where reading stopped. */
static void read_failed(osq_source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void read_failed(osq_source *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->read_error, sizeof s->read_error, fmt, ap);
  va_end(ap);
  file_failed(s);
  s->eof = 1;
}

/* Inflates into dst[0..want) from the current gzip file; *got receives the
 * bytes produced (kept even when an error follows).  Concatenated gzip
 * members are read as one stream, as gzip -d does; bytes after the last
 * member that do not start another are ignored with a warning, as gzip -d
 * does ("trailing garbage ignored"): they may be a damaged member.
 * Returns OSQ_OK or OSQ_E_NOMEM. */
static int gz_read(osq_source *s, char *dst, size_t want, size_t *got) {
  z_stream *z = &s->z;
  if (s->gz_limit != UINT64_MAX) {
    /* up to the damaged member, not into it (gz_verify) */
    if (s->z_out >= s->gz_limit) {
      read_failed(s, "%s", s->gz_why);
      *got = 0;
      return OSQ_OK;
    }
    if (want > s->gz_limit - s->z_out) want = (size_t)(s->gz_limit - s->z_out);
  }
  z->next_out = (unsigned char *)dst;
  z->avail_out = (uInt)want;
  while (z->avail_out > 0) {
    int zrc;
    if (z->avail_in == 0 && !s->z_in_eof) {
      ssize_t n;
      do
        n = read(s->fd, s->zin, SRC_GZ_BUFFER);
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        read_failed(s, "read error: %s", strerror(errno));
        break;
      }
      if (n == 0) s->z_in_eof = 1;
      z->next_in = s->zin;
      z->avail_in = (uInt)n;
      s->raw_pos += (uint64_t)n;
      continue;
    }
    if (s->z_member_end) {
      /* An empty file, the clean end, or bytes after the last member that
       * are not another (padding): all end here.  A file that does not
       * start as gzip goes on to inflate, which names the problem. */
      if (z->avail_in == 0 || (s->z_members > 0 && z->next_in[0] != 0x1f)) {
        if (z->avail_in > 0) {
          /* how much: the rest of this read and of the file */
          uint64_t more = z->avail_in;
          struct stat st;
          if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > s->raw_pos)
            more += (uint64_t)st.st_size - s->raw_pos;
          warn_file(s, s->cur->path, "%" PRIu64 " bytes after the end of the gzip data ignored (at byte %" PRIu64 ")",
                    more, s->raw_pos - z->avail_in);
        }
        s->eof = 1;
        break;
      }
      if (s->z_members > 0 && inflateReset(z) != Z_OK) return OSQ_E_NOMEM;
      s->z_member_end = 0;
    }
    if (z->avail_in == 0) { /* and the file has ended: mid-member */
      read_failed(s, "truncated gzip data: unexpected end of file");
      break;
    }
    zrc = inflate(z, Z_NO_FLUSH);
    if (zrc == Z_STREAM_END) {
      s->z_member_end = 1;
      s->z_members++;
    } else if (zrc == Z_MEM_ERROR) {
      return OSQ_E_NOMEM;
    } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
      read_failed(s, "corrupt gzip data: %s", z->msg ? z->msg : "invalid data");
      break;
    }
  }
  *got = want - z->avail_out;
  s->z_out += *got;
  return OSQ_OK;
}

/* Inflates the whole gzip file once, output thrown away, before its
 * documents are read, so that no data of a member whose CRC-32 does not
 * match (or that does not inflate) is indexed: inflate hands out a
 * member's data long before its trailer is checked, and a damaged byte in
 * a literal decodes as garbage text without an error (one garbage document
 * per damaged byte, before this).  Buffering a member instead would take
 * memory without bound (a whole .jsonl.gz is often one member); the second
 * inflate costs about a third of a second per 100 MB of text on one core,
 * in the read-ahead thread.  Sets s->gz_limit to the inflated offset where
 * the first damaged member starts.  A member cut short by the end of the
 * file is not damage of what it holds (a copy that stopped): its whole
 * lines are read, with a warning, as before.  Reads with pread, leaving the
 * file offset to gz_read.  Returns OSQ_OK or OSQ_E_NOMEM. */
static int gz_verify(osq_source *s) {
  s->gz_limit = UINT64_MAX;
  s->gz_why[0] = 0;
  s->z_out = 0;
  struct stat st;
  if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) return OSQ_OK; /* a stream is read once */
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return OSQ_E_NOMEM;
  size_t outn = (size_t)64 << 10;
  unsigned char *in = malloc(SRC_GZ_BUFFER), *out = malloc(outn);
  int rc = in && out ? OSQ_OK : OSQ_E_NOMEM;
  uint64_t off = 0, total = 0, member_start = 0, members = 0;
  int member_end = 1, in_eof = 0;
  while (rc == OSQ_OK) {
    if (z.avail_in == 0 && !in_eof) {
      ssize_t n;
      do
        n = pread(s->fd, in, SRC_GZ_BUFFER, (off_t)off);
      while (n < 0 && errno == EINTR);
      if (n < 0) break; /* gz_read meets it too, and says so */
      if (n == 0) in_eof = 1;
      off += (uint64_t)n;
      z.next_in = in;
      z.avail_in = (uInt)n;
      continue;
    }
    if (member_end) {
      /* the end, or bytes after the last member (gz_read warns) */
      if (z.avail_in == 0 || (members > 0 && z.next_in[0] != 0x1f)) break;
      if (members > 0 && inflateReset(&z) != Z_OK) {
        rc = OSQ_E_NOMEM;
        break;
      }
      member_end = 0;
      member_start = total;
    }
    if (z.avail_in == 0) break; /* cut short: gz_read reads its whole lines */
    z.next_out = out;
    z.avail_out = (uInt)outn;
    int zrc = inflate(&z, Z_NO_FLUSH);
    total += outn - z.avail_out;
    if (zrc == Z_STREAM_END) {
      member_end = 1;
      members++;
    } else if (zrc == Z_MEM_ERROR) {
      rc = OSQ_E_NOMEM;
    } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
      s->gz_limit = member_start;
      snprintf(s->gz_why, sizeof s->gz_why,
               "corrupt gzip data: %s; nothing of the damaged gzip member (from inflated byte %" PRIu64
               ") is indexed",
               z.msg ? z.msg : "invalid data", member_start);
      break;
    }
  }
  inflateEnd(&z);
  free(in);
  free(out);
  return rc;
}

/* NUL bytes in the first 512 bytes, or more than one in a thousand: a
 * binary file (compressed data has one in 256), not text with a stray
 * NUL, which is warned about where it is. */
static int looks_binary(const char *p, size_t n) {
  const char *z = memchr(p, '\0', n);
  if (!z) return 0;
  if (z - p < 512) return 1;
  size_t nuls = 0;
  for (; z; z = memchr(z + 1, '\0', n - (size_t)(z + 1 - p))) nuls++;
  return nuls * 1000 > n;
}

/* Non-zero when most of the first lines of p[0..n) (blank ones aside, at
 * most 64) start as JSON objects do, with '{': JSON Lines, whatever stray
 * NUL bytes they hold.  Binary data has a '{' at a line's start about once
 * in 256 lines. */
static int lines_look_json(const char *p, size_t n) {
  const char *e = p + n;
  unsigned lines = 0, objects = 0;
  while (p < e && lines < 64) {
    const char *q = p, *nl = memchr(p, '\n', (size_t)(e - p));
    const char *end = nl ? nl : e;
    if (end - q >= 3 && memcmp(q, "\xEF\xBB\xBF", 3) == 0) q += 3;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q < end) {
      lines++;
      objects += *q == '{';
    }
    if (!nl) break;
    p = nl + 1;
  }
  return lines > 0 && objects * 2 > lines;
}

/* Reads the next chunk of the current file into the line buffer.  A read
 * problem ends the file (s->eof, s->read_error).  Returns OSQ_OK or
 * OSQ_E_NOMEM. */
static int fill(osq_source *s) {
  size_t want, n = 0;
  int rc;
  if (s->beg == s->end) s->beg = s->end = s->scan = 0;
  if (s->cap - s->end < SRC_CHUNK + SRC_PAD) {
    rc = make_room(s);
    if (rc != OSQ_OK) return rc;
  }
  want = s->cap - s->end - SRC_PAD; /* the padding is never filled */
  if (want > (size_t)1 << 30) want = (size_t)1 << 30; /* inflate takes uInt */
  if (s->gz) {
    rc = gz_read(s, s->buf + s->end, want, &n);
    if (rc != OSQ_OK) return rc;
  } else {
    ssize_t got;
    do
      got = read(s->fd, s->buf + s->end, want);
    while (got < 0 && errno == EINTR);
    if (got < 0)
      read_failed(s, "read error: %s", strerror(errno));
    else if (got == 0)
      s->eof = 1;
    else
      n = (size_t)got;
    s->raw_pos += n;
  }
  if (s->first_fill && n > 0) {
    s->first_fill = 0;
    /* A NUL byte never occurs in JSON text: with NULs at its start or
     * throughout, this is some binary file with an input name, and every
     * "line" of it would be a warning -- unless its lines are lines of
     * JSON objects all the same: then a stray NUL, even in the first line,
     * spoils only its line (a malformed-line warning with its number), and
     * the valid lines are read. */
    if (looks_binary(s->buf + s->end, n) && !lines_look_json(s->buf + s->end, n)) {
      const char *z = memchr(s->buf + s->end, '\0', n);
      warn_file(s, s->cur->path, "binary file skipped (a NUL byte at offset %zu, and no lines of JSON objects)",
                (size_t)(z - (s->buf + s->end)));
      file_failed(s);
      s->eof = 1;
      s->read_error[0] = '\0';
      return OSQ_OK;
    }
  }
  s->end += n;
  s->pst.bytes_read += n;
  return OSQ_OK;
}

/* Cuts the next line (without its '\n').  Returns 1 with *line and *len
 * set, 0 at the end of the file, or OSQ_E_NOMEM.  The line stays in place
 * until the next call, with at least SRC_PAD readable bytes after it. */
static int next_line(osq_source *s, char **line, size_t *len) {
  for (;;) {
    char *nl = NULL;
    int rc;
    if (s->scan < s->end) nl = memchr(s->buf + s->scan, '\n', s->end - s->scan);
    if (nl) {
      *line = s->buf + s->beg;
      *len = (size_t)(nl - *line);
      s->beg = s->scan = (size_t)(nl - s->buf) + 1;
      s->lineno++;
      if (*len > s->max_doc) { /* whole in the buffer, but past the limit all the same */
        s->pst.lines_failed++;
        warn_line(s, s->lineno, "line longer than %zu bytes, the limit for one document; skipped", s->max_doc);
        continue;
      }
      return 1;
    }
    s->scan = s->end;
    if (s->end - s->beg > s->max_doc) {
      /* A line past the limit: drop what was read of it and everything up
       * to its newline, keeping the buffer at its size. */
      uint64_t at = s->lineno + 1;
      s->beg = s->end = s->scan = 0;
      for (;;) {
        if (s->eof) break;
        rc = fill(s);
        if (rc != OSQ_OK) return rc;
        nl = memchr(s->buf, '\n', s->end);
        if (nl) {
          s->beg = s->scan = (size_t)(nl - s->buf) + 1;
          break;
        }
        s->beg = s->end = s->scan = 0;
      }
      s->lineno++;
      s->pst.lines_failed++;
      warn_line(s, at, "line longer than %zu bytes, the limit for one document; skipped", s->max_doc);
      continue;
    }
    if (s->eof) {
      if (s->read_error[0]) {
        /* Not capped: after a flood of garbage lines this is the warning
         * that explains them. */
        warn_at(s, s->lineno + 1, "%s; stopped after line %" PRIu64,
                s->read_error, s->lineno);
        s->read_error[0] = '\0';
      }
      /* After a read error the unfinished line is incomplete: drop it. */
      if (s->beg == s->end || s->failed) return 0;
      /* The last line has no newline. */
      *line = s->buf + s->beg;
      *len = s->end - s->beg;
      s->beg = s->scan = s->end;
      s->lineno++;
      return 1;
    }
    rc = fill(s);
    if (rc != OSQ_OK) return rc;
  }
}

/* ------------------------------------------------------------------------
 * Files (producer side)
 * ---------------------------------------------------------------------- */

/* Starts reading entry e.  Returns OSQ_OK (an open failure is a warning and
 * leaves s->eof set) or OSQ_E_NOMEM. */
static int open_file(osq_source *s, const src_entry *e) {
  s->cur = e;
  s->eof = 0;
  s->failed = 0;
  s->first_fill = 1;
  s->lineno = 0;
  s->raw_pos = 0;
  s->line_warnings = 0;
  s->suppressed = 0;
  s->beg = s->end = s->scan = 0;
  s->read_error[0] = '\0';
  s->gz = 0;
  s->z_member_end = 1;
  s->z_members = 0;
  s->z_in_eof = 0;
  s->pst.files++;
  /* O_NONBLOCK: opening a FIFO would wait until something opens it for
   * writing -- for ever, with the index's LOCK held, if nothing does. */
  s->fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (s->fd < 0) {
    warn_file(s, e->path, "%s", strerror(errno));
    file_failed(s);
    s->eof = 1;
    return OSQ_OK;
  }
  struct stat st;
  const char *refuse = NULL;
  if (fstat(s->fd, &st) != 0) {
    refuse = strerror(errno);
  } else if (S_ISFIFO(st.st_mode)) {
    /* A stream (a producer writing documents as they come) is an input;
     * a FIFO nobody writes to is waited on for s->fifo_wait_ms, not for
     * ever.  The poll ends when a writer has written or has come and gone. */
    struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
    int n;
    do
      n = poll(&pfd, 1, s->fifo_wait_ms);
    while (n < 0 && errno == EINTR);
    if (n == 0) refuse = "a FIFO nothing was written to in time; skipped";
  } else if (!S_ISREG(st.st_mode)) {
    /* a device (z.txt -> /dev/zero) or socket may never end or never answer */
    refuse = "not a regular file or FIFO (a device or socket); skipped";
  }
  if (refuse) {
    warn_file(s, e->path, "%s", refuse);
    file_failed(s);
    s->eof = 1;
    return OSQ_OK;
  }
  fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
#ifdef POSIX_FADV_SEQUENTIAL
  posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  if (e->kind == SRC_JSONL_GZ) {
    s->gz = 1;
    if (!s->zin && !(s->zin = malloc(SRC_GZ_BUFFER))) return OSQ_E_NOMEM;
    memset(&s->z, 0, sizeof s->z);
    /* 15 + 16: the largest window, gzip wrapper only. */
    if (inflateInit2(&s->z, 15 + 16) != Z_OK) return OSQ_E_NOMEM;
    s->z_ready = 1;
    int rc = gz_verify(s);
    if (rc != OSQ_OK) return rc;
  }
  return OSQ_OK;
}

/* Ends reading the current file. */
static void close_file(osq_source *s) {
  if (!s->cur) return;
  if (s->z_ready) inflateEnd(&s->z);
  s->z_ready = 0;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->suppressed)
    warn_file(s, s->cur->path,
              "%" PRIu64 " more problems in this file not shown",
              s->suppressed);
  s->done_base += s->cur->size;
  s->cur = NULL;
  s->beg = s->end = s->scan = 0;
  /* Documents never point into buf, so it can go now; so can the JSON
   * parser's buffers, which grow with the longest line too. */
  if (s->cap > SRC_KEEP_BUFFER) {
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
  }
  osq__json_shrink(s->json, SRC_KEEP_BUFFER);
}

/* ------------------------------------------------------------------------
 * Documents (producer side)
 * ---------------------------------------------------------------------- */

/* Prints a JSON number for a field that should be a string: an integer as
 * such, a real with "%.17g", as jansson's values were printed. */
static const char *number_string(src_item *it, int slot,
                                 const osq_json_value *v) {
  if (v->type == OSQ_JSON_INTEGER)
    snprintf(it->num[slot], sizeof it->num[slot], "%lld", v->integer);
  else
    snprintf(it->num[slot], sizeof it->num[slot], "%.17g", v->real);
  return it->num[slot];
}

static int is_number(const osq_json_value *v) {
  return v->type == OSQ_JSON_INTEGER || v->type == OSQ_JSON_REAL;
}

/* An optional string field: NULL when absent or null; a number is printed;
 * any other type is ignored with a warning. */
static const char *opt_field(osq_source *s, src_item *it,
                             const osq_json_value *v, int slot) {
  if (v->type == OSQ_JSON_ABSENT || v->type == OSQ_JSON_NULL) return NULL;
  if (v->type == OSQ_JSON_STRING) return v->str;
  if (is_number(v)) return number_string(it, slot, v);
  warn_line(s, s->lineno, "\"%s\" is not a string; ignored", field_names[slot]);
  return NULL;
}

/* Copies the strings of the document in *it (they live in the parser until
 * its next line, or in jansson's json_t) into one block that the item owns.
 * Returns OSQ_OK or OSQ_E_NOMEM. */
static int own_strings(src_item *it) {
  const char **f[F_COUNT];
  size_t len[F_COUNT], total = 0, i;
  char *b;
  f[F_ID] = &it->doc.id;
  f[F_TITLE] = &it->doc.title;
  f[F_SOURCE] = &it->doc.source;
  f[F_URL] = &it->doc.url;
  f[F_DATE] = &it->doc.date;
  f[F_TEXT] = &it->doc.text;
  for (i = 0; i < F_COUNT; i++) {
    const char *p = *f[i];
    /* Numbers printed into it->num stay there. */
    int own = p && !(i < F_NUMERIC && p == it->num[i]);
    len[i] = !own ? 0 : i == F_TEXT ? it->doc.text_len + 1 : strlen(p) + 1;
    total += len[i];
  }
  b = malloc(total ? total : 1);
  if (!b) return OSQ_E_NOMEM;
  it->owned = b;
  for (i = 0; i < F_COUNT; i++) {
    if (!len[i]) continue;
    memcpy(b, *f[i], len[i]);
    *f[i] = b;
    b += len[i];
  }
  return OSQ_OK;
}

/* Turns the values v[] of a JSON object's fields (field_names) into a
 * document in *it, its strings copied.  Returns 1 for a document, 0 for a
 * line skipped with a warning, or OSQ_E_NOMEM.  len: the line's size. */
static int make_doc(osq_source *s, src_item *it, const osq_json_value *v,
                    size_t len) {
  const char *id;
  int rc;

  if (v[F_ID].type == OSQ_JSON_STRING) {
    id = v[F_ID].str;
    if (strlen(id) != v[F_ID].len) {
      warn_line(s, s->lineno, "\"id\" contains U+0000; line skipped");
      goto skip;
    }
  } else if (is_number(&v[F_ID])) {
    id = number_string(it, F_ID, &v[F_ID]);
  } else if (v[F_ID].type == OSQ_JSON_ABSENT || v[F_ID].type == OSQ_JSON_NULL) {
    id = "";
  } else {
    warn_line(s, s->lineno, "\"id\" is not a string or number; line skipped");
    goto skip;
  }
  if (!*id) {
    warn_line(s, s->lineno, "no \"id\"; line skipped");
    goto skip;
  }

  if (v[F_TEXT].type == OSQ_JSON_ABSENT || v[F_TEXT].type == OSQ_JSON_NULL) {
    warn_line(s, s->lineno, "no \"text\" in document \"%s\"; line skipped", id);
    goto skip;
  }
  if (v[F_TEXT].type != OSQ_JSON_STRING) {
    warn_line(s, s->lineno,
              "\"text\" of document \"%s\" is not a string; line skipped", id);
    goto skip;
  }

  it->doc.id = id;
  it->doc.text = v[F_TEXT].str;
  it->doc.text_len = v[F_TEXT].len;
  it->doc.title = opt_field(s, it, &v[F_TITLE], F_TITLE);
  it->doc.source = opt_field(s, it, &v[F_SOURCE], F_SOURCE);
  it->doc.url = opt_field(s, it, &v[F_URL], F_URL);
  it->doc.date = opt_field(s, it, &v[F_DATE], F_DATE);
  rc = own_strings(it);
  if (rc != OSQ_OK) return rc;
  if (it->doc.title) {
    size_t tl = strlen(it->doc.title), k = utf8_cut(it->doc.title, tl, SRC_MAX_TITLE_BYTES);
    if (k < tl) {
      ((char *)it->doc.title)[k] = '\0'; /* it->owned's copy */
      warn_line(s, s->lineno, "the title of document \"%s\" is %zu bytes; cut to %zu", it->doc.id, tl, k);
    }
  }
  it->bytes = len;
  return 1;

skip:
  s->pst.lines_failed++;
  return 0;
}

/* The values of obj's fields (field_names), as osq__json_parse gives them;
 * the strings are obj's. */
/* ints_as_reals: obj was read with JSON_DECODE_INT_AS_REAL, so an integer
 * that fits is turned back into one (an id of 7 stays "7"). */
static void jansson_values(json_t *obj, osq_json_value *v, int ints_as_reals) {
  size_t i;
  for (i = 0; i < F_COUNT; i++) {
    json_t *x = json_object_get(obj, field_names[i]);
    memset(&v[i], 0, sizeof v[i]);
    if (!x) {
      v[i].type = OSQ_JSON_ABSENT;
    } else if (json_is_null(x)) {
      v[i].type = OSQ_JSON_NULL;
    } else if (json_is_string(x)) {
      v[i].type = OSQ_JSON_STRING;
      v[i].str = json_string_value(x);
      v[i].len = json_string_length(x);
    } else if (json_is_integer(x)) {
      v[i].type = OSQ_JSON_INTEGER;
      v[i].integer = json_integer_value(x);
    } else if (json_is_real(x)) {
      double r = json_real_value(x);
      if (ints_as_reals && r == (double)(long long)r && r > -9.2e18 && r < 9.2e18) {
        v[i].type = OSQ_JSON_INTEGER;
        v[i].integer = (long long)r;
      } else {
        v[i].type = OSQ_JSON_REAL;
        v[i].real = r;
      }
    } else {
      v[i].type = OSQ_JSON_OTHER;
    }
  }
}

/* The slow path of parse_line: jansson reads line[skip, len), as it read
 * every line before simdjson came.  Returns as parse_line. */
static int parse_with_jansson(osq_source *s, const char *line, size_t len,
                              size_t skip, src_item *it) {
  osq_json_value v[F_COUNT];
  json_error_t err;
  json_t *j;
  int rc;
  const char *text = line + skip; /* what jansson reads: the line, or its repaired copy */
  size_t tlen = len - skip;
  char *fixed = NULL;

  /* JSON_ALLOW_NUL: a \u0000 in a text should not cost the document; the
   * text's length is passed on with it. */
  j = json_loadb(text, tlen, JSON_ALLOW_NUL, &err);
  if (!j && json_error_code(&err) == json_error_invalid_utf8) {
    /* jansson refuses bad UTF-8 outright; losing a whole document to one
     * stray byte is worse than indexing it with U+FFFD in its place. */
    size_t at = utf8_first_bad(text, tlen), nbad;
    rc = utf8_repair(text, tlen, &fixed, &tlen, &nbad);
    if (rc != OSQ_OK) return rc;
    text = fixed;
    warn_line(s, s->lineno,
              "invalid UTF-8 at byte offset %zu; %zu bad bytes replaced "
              "by U+FFFD",
              at + skip, nbad);
    j = json_loadb(text, tlen, JSON_ALLOW_NUL, &err);
  }
  int ints_as_reals = 0;
  if (!j && json_error_code(&err) == json_error_numeric_overflow) {
    /* An integer past 64 bits (a uint64 hash) is valid JSON, mostly in a
     * field osq does not read: read the line with integers as reals rather
     * than lose the document.  A real past the double range (1e400) is
     * still refused: jansson has no way to read it. */
    j = json_loadb(text, tlen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    ints_as_reals = 1;
  }
  free(fixed);
  if (!j) {
    if (json_error_code(&err) == json_error_out_of_memory) return OSQ_E_NOMEM;
    warn_line(s, s->lineno, "malformed JSON at byte offset %d: %s",
              err.position + (int)skip, err.text);
    s->pst.lines_failed++;
    return 0;
  }
  if (!json_is_object(j)) {
    warn_line(s, s->lineno, "not a JSON object; line skipped");
    json_decref(j);
    s->pst.lines_failed++;
    return 0;
  }
  jansson_values(j, v, ints_as_reals);
  if (ints_as_reals && (v[F_ID].type == OSQ_JSON_REAL ||
                        (v[F_ID].type == OSQ_JSON_INTEGER &&
                         (v[F_ID].integer > (1LL << 53) || v[F_ID].integer < -(1LL << 53))))) {
    /* Read as a real, a numeric id above 2^53 is rounded: two documents
     * could share it, and the second would replace the first. */
    warn_line(s, s->lineno,
              "numeric \"id\" cannot be read exactly in a line with an integer past 64 bits; "
              "line skipped (give ids as strings)");
    json_decref(j);
    s->pst.lines_failed++;
    return 0;
  }
  rc = make_doc(s, it, v, len);
  json_decref(j);
  return rc;
}

/* Turns one JSON line into a document in *it.  Returns 1 for a document, 0
 * for a line skipped (blank, or with a warning), or OSQ_E_NOMEM.  The line
 * is followed by SRC_PAD readable bytes. */
static int parse_line(osq_source *s, char *line, size_t len, src_item *it) {
  osq_json_value v[F_COUNT];
  size_t i, skip = 0;
  int rc;

  if (len && line[len - 1] == '\r') len--;
  if (s->lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
    skip = 3; /* a byte-order mark, which jansson rejects */
  for (i = skip; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') break;
  if (i == len) return 0; /* blank lines are allowed */

  /* The fast path: simdjson, for an object jansson would read the same. */
  if (!s->json && (rc = osq__json_new(&s->json)) != OSQ_OK) return rc;
  rc = osq__json_parse(s->json, line + skip, len - skip, field_names, F_COUNT,
                       v);
  if (rc < 0) return rc;
  if (rc == 1) return make_doc(s, it, v, len);
  return parse_with_jansson(s, line, len, skip, it);
}

/* Control bytes other than the usual whitespace (and ESC, for coloured
 * logs): text has few, binary formats many. */
static int is_binary(const char *p, size_t n) {
  size_t i, ctrl = 0;
  if (looks_binary(p, n)) return 1;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    ctrl += (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' &&
             c != '\v' && c != 0x1B) ||
            c == 0x7F;
  }
  return ctrl > n / 10;
}

/* Reads the whole current .txt file into *out (NUL-terminated, owned by the
 * caller).  Returns OSQ_OK (*out NULL after a read error, warned) or
 * OSQ_E_NOMEM. */
static int slurp(osq_source *s, char **out, size_t *out_len) {
  struct stat st;
  size_t cap = (size_t)64 << 10, len = 0;
  char *b;
  *out = NULL;
  if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size > s->max_doc) {
    warn_file(s, s->cur->path, "%llu bytes, larger than %zu, the limit for one document; skipped",
              (unsigned long long)st.st_size, s->max_doc);
    file_failed(s);
    return OSQ_OK;
  }
  if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (uint64_t)st.st_size < SIZE_MAX - 2)
    cap = (size_t)st.st_size + 1; /* +1: the read that finds the end */
  b = malloc(cap + 1);
  if (!b) return OSQ_E_NOMEM;
  for (;;) {
    ssize_t n;
    if (len == cap) {
      char *nb;
      if (cap > SIZE_MAX / 2 - 1) {
        free(b);
        return OSQ_E_NOMEM;
      }
      nb = realloc(b, 2 * cap + 1);
      if (!nb) {
        free(b);
        return OSQ_E_NOMEM;
      }
      b = nb;
      cap *= 2;
    }
    n = read(s->fd, b + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      warn_file(s, s->cur->path, "%s", strerror(errno));
      file_failed(s);
      free(b);
      return OSQ_OK;
    }
    if (n == 0) break;
    len += (size_t)n;
    s->raw_pos += (uint64_t)n;
    s->pst.bytes_read += (uint64_t)n;
    if (len > s->max_doc) { /* it grew while it was read */
      warn_file(s, s->cur->path, "more than %zu bytes, the limit for one document; skipped", s->max_doc);
      file_failed(s);
      free(b);
      return OSQ_OK;
    }
  }
  b[len] = '\0';
  *out = b;
  *out_len = len;
  return OSQ_OK;
}

/* Reads the current .txt file as one document into *it.  Returns 1 for a
 * document, 0 if the file was skipped (with a warning), or OSQ_E_NOMEM. */
static int read_txt(osq_source *s, src_item *it) {
  char *b, *p, *nl, *title_end;
  size_t len, bad_at, bom = 0;
  int rc;

  if (s->eof) return 0; /* could not be opened */
  rc = slurp(s, &b, &len);
  if (rc != OSQ_OK || !b) return rc;
  p = b;
  if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
    bom = 3;
    p += 3;
    len -= 3;
  }
  if (len == 0) {
    warn_file(s, s->cur->path, "empty file skipped");
    free(b);
    return 0;
  }
  if (is_binary(p, len)) {
    warn_file(s, s->cur->path, "binary file skipped");
    file_failed(s);
    free(b);
    return 0;
  }
  bad_at = utf8_first_bad(p, len);
  if (bad_at < len) {
    size_t flen, nbad, line = 1, i, line_start = 0;
    char *fixed;
    for (i = 0; i < bad_at; i++)
      if (p[i] == '\n') {
        line++;
        line_start = i + 1;
      }
    rc = utf8_repair(p, len, &fixed, &flen, &nbad);
    free(b);
    if (rc != OSQ_OK) return rc;
    warn_line(s, line,
              "invalid UTF-8 at byte offset %zu; %zu bad bytes replaced by "
              "U+FFFD",
              bad_at - line_start + (line == 1 ? bom : 0), nbad);
    b = p = fixed;
    len = flen;
  }

  nl = memchr(p, '\n', len);
  title_end = nl ? nl : p + len;
  if (title_end > p && title_end[-1] == '\r') title_end--;
  it->doc.id = s->cur->path;
  size_t tl = (size_t)(title_end - p), k = utf8_cut(p, tl, SRC_MAX_TITLE_BYTES);
  if (k < tl) {
    /* A first line too long for a title: the title is its start, and the
     * text is the whole file, first line included (the writer makes no
     * title passage when the text starts with the title), so every word of
     * the line is found.  The title goes after the text's NUL. */
    size_t off = (size_t)(p - b);
    char *nb = realloc(b, off + len + 1 + k + 1);
    if (!nb) {
      free(b);
      return OSQ_E_NOMEM;
    }
    b = nb;
    p = b + off;
    memcpy(p + len + 1, p, k);
    p[len + 1 + k] = '\0';
    it->doc.title = p + len + 1;
    it->doc.text = p;
    it->doc.text_len = len;
    warn_line(s, 1, "the first line (the title) is %zu bytes; the title is cut to %zu, the line is indexed as text",
              tl, k);
    it->owned = b;
    it->bytes = len;
    return 1;
  }
  it->doc.title = p;
  if (nl) {
    it->doc.text = nl + 1;
    it->doc.text_len = len - (size_t)(nl + 1 - p);
  } else {
    it->doc.text = p + len; /* the terminating NUL: an empty body */
    it->doc.text_len = 0;
  }
  *title_end = '\0';
  it->owned = b;
  it->bytes = len;
  return 1;
}

/* Produces the next document into *it, or the end.  Returns OSQ_OK,
 * OSQ_DONE or OSQ_E_NOMEM. */
static int produce(osq_source *s, src_item *it) {
  for (;;) {
    int rc;
    if (atomic_load_explicit(&s->stop, memory_order_relaxed)) return OSQ_DONE;
    if (!s->cur) {
      const src_entry *e;
      if (s->next_entry == s->nentries) return OSQ_DONE;
      e = &s->entries[s->next_entry++];
      switch (e->kind) {
      case SRC_ERRNO:
        s->pst.files++;
        s->pst.files_failed++;
        warn_file(s, e->path, "%s", strerror(e->err));
        continue;
      case SRC_LOOP:
        warn_file(s, e->path, "directory loop (symbolic link) skipped");
        continue;
      case SRC_OUTSIDE:
        warn_file(s, e->path, "symbolic link to a directory outside the tree being read; skipped");
        continue;
      case SRC_DEPTH:
        s->pst.files_failed++;
        warn_file(s, e->path,
                  "directories nested more than %d levels deep skipped",
                  SRC_MAX_DEPTH);
        continue;
      case SRC_NOT_INPUT:
        warn_file(s, e->path, "not a .txt, .jsonl or .jsonl.gz file; skipped");
        continue;
      default:
        break;
      }
      rc = open_file(s, e);
      if (rc != OSQ_OK) {
        close_file(s);
        return rc;
      }
    }
    if (s->cur->kind == SRC_TXT) {
      rc = read_txt(s, it);
      close_file(s);
      if (rc < 0) return rc;
      if (rc == 1) return OSQ_OK;
      continue;
    }
    for (;;) {
      char *line = NULL;
      size_t len = 0;
      /* A file of nothing but bad lines must not hold up close(). */
      if (atomic_load_explicit(&s->stop, memory_order_relaxed))
        return OSQ_DONE;
      rc = next_line(s, &line, &len);
      if (rc < 0) return rc;
      if (rc == 0) break;
      rc = parse_line(s, line, len, it);
      if (rc < 0) return rc;
      if (rc == 1) return OSQ_OK;
    }
    close_file(s);
  }
}

static void free_item(src_item *it) {
  if (!it) return;
  free_warnings(it->warnings);
  free(it->owned);
  free(it);
}

/* Runs the producer once and packs the result with its warnings and the
 * statistics as they will be when the item is consumed.  Returns NULL only
 * for lack of memory. */
static src_item *produce_item(osq_source *s) {
  src_item *it = calloc(1, sizeof *it);
  if (!it) return NULL;
  it->status = produce(s, it);
  if (it->status == OSQ_OK) s->pst.documents++;
  it->warnings = s->pend_head;
  s->pend_head = s->pend_tail = NULL;
  it->st = s->pst;
  it->st.done_bytes = s->done_base;
  if (s->cur)
    it->st.done_bytes += s->raw_pos < s->cur->size ? s->raw_pos : s->cur->size;
  return it;
}

/* ------------------------------------------------------------------------
 * Read-ahead worker
 * ---------------------------------------------------------------------- */

static void *worker_main(void *arg) {
  osq_source *s = arg;
  for (;;) {
    src_item *it = produce_item(s);
    int status = it ? it->status : OSQ_E_NOMEM;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) && s->queued > 0 &&
           (s->queued >= SRC_QUEUE_ITEMS ||
            s->queued_bytes >= SRC_QUEUE_BYTES)) {
      s->producer_waiting = 1;
      pthread_cond_wait(&s->not_full, &s->mu);
      s->producer_waiting = 0;
    }
    if (atomic_load(&s->stop)) {
      pthread_mutex_unlock(&s->mu);
      free_item(it);
      break;
    }
    if (!it) {
      /* No item to say so: the consumer sees an empty, finished queue. */
      s->final_status = OSQ_E_NOMEM;
    } else {
      if (s->tail)
        s->tail->next = it;
      else
        s->head = it;
      s->tail = it;
      s->queued++;
      s->queued_bytes += it->bytes;
    }
    if (s->consumer_waiting && (s->queued >= SRC_WAKE_ITEMS || s->queued_bytes >= SRC_QUEUE_BYTES / 2 ||
                                status != OSQ_OK || !it))
      pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->mu);
    if (status != OSQ_OK) break;
  }
  return NULL;
}

/* Starts the worker; on failure the source stays synchronous. */
static void start_worker(osq_source *s) {
  const char *env = getenv("OSQ_SOURCE_READAHEAD");
  sigset_t all, old;
  if (env && strcmp(env, "0") == 0) return;
  if (pthread_mutex_init(&s->mu, NULL) != 0) return;
  /* not_empty is waited on with a timeout (osq_source_next): on the
   * monotonic clock, which no one sets */
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca) != 0) {
    pthread_mutex_destroy(&s->mu);
    return;
  }
  int cond_rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (!cond_rc) cond_rc = pthread_cond_init(&s->not_empty, &ca);
  pthread_condattr_destroy(&ca);
  if (cond_rc != 0) {
    pthread_mutex_destroy(&s->mu);
    return;
  }
  if (pthread_cond_init(&s->not_full, NULL) != 0) {
    pthread_cond_destroy(&s->not_empty);
    pthread_mutex_destroy(&s->mu);
    return;
  }
  /* The worker must not take the application's signals (a SIGINT handler
   * in osindex expects to run on the main thread). */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  s->threaded = 1;
  if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
    s->threaded = 0;
    pthread_cond_destroy(&s->not_full);
    pthread_cond_destroy(&s->not_empty);
    pthread_mutex_destroy(&s->mu);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ------------------------------------------------------------------------
 * Public interface (consumer side)
 * ---------------------------------------------------------------------- */

OSQ_EXPORT int osq_source_open(const char *const *paths, size_t npaths,
                               osq_source_warn_fn warn, void *warn_ctx,
                               osq_source **out) {
  osq_source *s;
  size_t i;
  int rc = OSQ_OK;
  if (!out) return OSQ_E_INVAL;
  *out = NULL;
  if (npaths && !paths) return OSQ_E_INVAL;
  s = calloc(1, sizeof *s);
  if (!s) return OSQ_E_NOMEM;
  s->warn = warn;
  s->warn_ctx = warn_ctx;
  s->fd = -1;
  s->max_doc = SRC_MAX_DOC_BYTES;
  const char *lim = getenv("OSQ_SOURCE_MAX_DOC_BYTES");
  if (lim && *lim) {
    char *end;
    unsigned long long v = strtoull(lim, &end, 10);
    if (!*end && v >= 1024 && v <= SIZE_MAX / 4) s->max_doc = (size_t)v;
  }
  s->fifo_wait_ms = SRC_FIFO_WAIT_MS;
  lim = getenv("OSQ_SOURCE_FIFO_WAIT_MS");
  if (lim && *lim) {
    char *end;
    long v = strtol(lim, &end, 10);
    if (!*end && v >= 0 && v <= 86400000) s->fifo_wait_ms = (int)v;
  }
  atomic_init(&s->stop, 0);
  for (i = 0; i < npaths && rc == OSQ_OK; i++)
    rc = paths[i] ? walk_path(s, paths[i], 1, DT_UNKNOWN, 0) : OSQ_E_INVAL;
  free(s->dirs);
  s->dirs = NULL;
  s->ndirs = s->dirs_cap = 0;
  if (rc != OSQ_OK) {
    osq_source_close(s);
    return rc;
  }
  s->st = s->pst; /* total_bytes is known from here on */
  start_worker(s);
  *out = s;
  return OSQ_OK;
}

OSQ_EXPORT int osq_source_next(osq_source *s, osq_doc *doc) {
  src_item *it;
  src_warning *w;
  if (!s || !doc) return OSQ_E_INVAL;
  free_item(s->current);
  s->current = NULL;
  if (!s->threaded && s->final_status) return s->final_status;

  if (s->threaded) {
    int final;
    pthread_mutex_lock(&s->mu);
    while (!s->head && !s->final_status) {
      /* The worker wakes a waiting consumer for a batch of documents, so a
       * worker that queues a few and then blocks (a slow pipe or FIFO, a
       * long document to parse) would hold them back: the wait is at most
       * SRC_WAIT_NS, then the consumer takes what is there. */
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += SRC_WAIT_NS;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      s->consumer_waiting = 1;
      pthread_cond_timedwait(&s->not_empty, &s->mu, &ts);
      s->consumer_waiting = 0;
    }
    it = s->head;
    final = s->final_status;
    if (it) {
      s->head = it->next;
      if (!s->head) s->tail = NULL;
      s->queued--;
      s->queued_bytes -= it->bytes;
      if (s->producer_waiting && s->queued <= SRC_QUEUE_ITEMS / 2 && s->queued_bytes <= SRC_QUEUE_BYTES / 2)
        pthread_cond_signal(&s->not_full);
    }
    pthread_mutex_unlock(&s->mu);
    if (!it) return final; /* the worker has ended */
  } else {
    it = produce_item(s);
    if (!it) return OSQ_E_NOMEM;
  }

  for (w = it->warnings; w; w = w->next)
    s->warn(s->warn_ctx, w->path, w->line, w->msg);
  s->st = it->st;
  if (it->status != OSQ_OK) {
    int status = it->status;
    free_item(it);
    if (s->threaded) {
      pthread_mutex_lock(&s->mu);
      s->final_status = status;
      pthread_mutex_unlock(&s->mu);
    } else {
      s->final_status = status;
    }
    return status;
  }
  *doc = it->doc;
  s->current = it;
  return OSQ_OK;
}

OSQ_EXPORT void osq_source_get_stats(const osq_source *s, osq_source_stats *st) {
  if (!st) return;
  if (!s) {
    memset(st, 0, sizeof *st);
    return;
  }
  *st = s->st;
}

OSQ_EXPORT void osq_source_close(osq_source *s) {
  size_t i;
  if (!s) return;
  if (s->threaded) {
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->not_full);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    while (s->head) {
      src_item *it = s->head;
      s->head = it->next;
      free_item(it);
    }
    pthread_cond_destroy(&s->not_full);
    pthread_cond_destroy(&s->not_empty);
    pthread_mutex_destroy(&s->mu);
  }
  free_item(s->current);
  s->suppressed = 0; /* no summary warning from inside close */
  close_file(s);
  free_warnings(s->pend_head);
  for (i = 0; i < s->nentries; i++) free(s->entries[i].path);
  free(s->entries);
  free(s->dirs);
  free(s->buf);
  free(s->zin);
  osq__json_free(s->json);
  free(s);
}
