/*
 * writer_files.c -- the files of the index directory as the writer keeps
 * them: the LOCK, the adoption of a new MANIFEST, and the removal of what
 * no manifest names (see COMMIT ORDER in writer.c for why in that order).
 *
 * One writer at a time: the writer holds an exclusive flock() on the LOCK
 * file of the index directory.  The kernel drops it when the process dies,
 * so a killed writer never blocks the next one; a LOCK file left behind is
 * just a file.  The holder writes "pid N (program)" into it, which is what a
 * second writer's OSQ_E_LOCKED message quotes.
 */
#include "writer_int.h"

/* Makes dir and its missing parents.  Each directory made is fsynced in
 * its parent: without that, a power loss after the first commit could lose
 * the new index directory's entry, and with it every file of the index.
 * Returns 0 or -1 (errno). */
static int mkdirs(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  size_t len = strlen(tmp);
  while (len > 1 && tmp[len - 1] == '/') tmp[--len] = 0;
  for (char *p = tmp + 1;; p++) {
    if (*p != '/' && *p) continue;
    char c = *p;
    *p = 0;
    if (mkdir(tmp, 0755) == 0) {
      char *slash = strrchr(tmp, '/');
      char parent[4096];
      if (!slash) snprintf(parent, sizeof parent, ".");
      else if (slash == tmp) snprintf(parent, sizeof parent, "/");
      else snprintf(parent, sizeof parent, "%.*s", (int)(slash - tmp), tmp);
      if (osq__fsync_dir(parent) != OSQ_OK) {
        errno = EIO;
        return -1;
      }
    } else if (errno != EEXIST) {
      return -1;
    }
    if (!c) break;
    *p = c;
  }
  return 0;
}

/* Makes the index directory (and its parents) and takes its LOCK, writing
 * this process into it (see the top).  Returns OSQ_OK, OSQ_E_LOCKED when
 * another writer holds it, or OSQ_E_IO. */
int osq__writer_lock(osq_writer *w) {
  int rc;
  if (mkdirs(w->dir) != 0) {
    rc = osq__fail(OSQ_E_IO, "%s: cannot create index directory: %s", w->dir, strerror(errno));
    return rc;
  }
  char lock[4200];
  snprintf(lock, sizeof lock, "%s/LOCK", w->dir);
  w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (w->lock_fd < 0) {
    rc = osq__fail(OSQ_E_IO, "%s: %s", lock, strerror(errno));
    return rc;
  }
  if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[64] = "";
    /* The holder writes its pid just after it takes the lock: an empty
     * LOCK is read again for a moment (20 x 5 ms), so that the message
     * names it. */
    for (int tries = 0; tries < 20; tries++) {
      ssize_t n = pread(w->lock_fd, holder, sizeof holder - 1, 0);
      holder[n > 0 ? n : 0] = 0;
      holder[strcspn(holder, "\n")] = 0;
      if (holder[0]) break;
      nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    rc = osq__fail(OSQ_E_LOCKED, "%s: another writer, %s, holds %s; try again when it is done", w->dir,
                   holder[0] ? holder : "a process that has not written its pid yet", lock);
    return rc;
  }
  char me[128];
  int mn = snprintf(me, sizeof me, "pid %ld (%.60s)\n", (long)getpid(), program_invocation_short_name);
  /* Written over the last holder's line, then cut to length: the file is
   * never empty in between (a waiting writer quotes what it holds). */
  if (pwrite(w->lock_fd, me, (size_t)mn, 0) != mn || ftruncate(w->lock_fd, mn) != 0) {
    /* The holder's name is a courtesy; the flock is what excludes. */
  }
  return OSQ_OK;
}

/* Test hook: OSQ_TEST_CRASH_AT=NAME kills the process with SIGKILL at the
 * named step of a commit or merge, so that tests/durability/crash_test.sh
 * crashes once inside every window between two durable steps.  Unset, it
 * costs one getenv per step of a commit.  Only in builds with OSQ_TESTING
 * (CMakeLists.txt). */
void osq__writer_crash_point(const char *name) {
#ifdef OSQ_TESTING
  const char *at = getenv("OSQ_TEST_CRASH_AT");
  if (at && !strcmp(at, name)) raise(SIGKILL);
#else
  (void)name;
#endif
}

/* Non-zero when m names the file of this kind (1 segment, 2 deletion
 * file, osq__index_file_kind) and number (and generation). */
static int manifest_names(const osq__manifest *m, int kind, uint32_t num, uint64_t gen) {
  for (uint32_t i = 0; i < m->nsegs; i++) {
    const osq__manifest_seg *s = &m->segs[i];
    if (s->number != num) continue;
    if (kind == 1 || ((s->flags & OSQ__SEGF_DELETIONS) && s->del_gen == gen)) return 1;
  }
  return 0;
}

/* Deletes segment files, deletion files and temporaries that no manifest
 * names: leftovers of a writer that crashed before publishing, and files
 * an earlier manifest named.  Readers that mapped them keep their mappings
 * (manifest.c, SNAPSHOTS).  Only a writer holding the LOCK calls this.
 *
 * Nothing the current MANIFEST names is ever deleted, whatever this
 * writer believes: the manifest is read again from the disk here (under
 * the LOCK nobody else can change it), and a file goes only when neither
 * that manifest nor w->man names it and it is not one of this writer's
 * flushed segments.  When the manifest cannot be read, nothing goes.
 * confirm: fsync the directory first and delete nothing if that fails.  A
 * writer that opens the index does not know that its manifest is durable
 * (the last writer may have died, or had its fsync fail, between the
 * rename and the directory's fsync); until it is, a power loss could bring
 * back an older manifest, which names the files that would be deleted.
 * After a writer's own commit the directory has just been fsynced, and
 * after one whose fsync failed (w->unsynced) nothing is deleted at all. */
void osq__writer_remove_garbage(osq_writer *w, int confirm) {
  if (w->unsynced) return;
  osq__manifest disk;
  memset(&disk, 0, sizeof disk);
  int have_disk = 0, confirmed = !confirm;
  DIR *d = opendir(w->dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *n = e->d_name;
    uint32_t num = 0;
    uint64_t gen = 0;
    int kind = osq__index_file_kind(n, &num, &gen);
    if (kind == 0) continue;
    if (kind != 3) {
      if (manifest_names(&w->man, kind, num, gen)) continue;
      int mine = 0;
      for (uint32_t i = 0; i < w->nnew && !mine; i++) mine = kind == 1 && w->new_segs[i].number == num;
      if (mine) continue;
      if (!have_disk) {
        /* errors leave the message for the caller's status alone */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", osq_last_error());
        int rc = osq__manifest_read(w->dir, &disk);
        osq__fail(0, "%s", saved);
        if (rc) break;
        have_disk = 1;
      }
      if (manifest_names(&disk, kind, num, gen)) continue;
    }
    if (!confirmed) {
      char saved[1024];
      snprintf(saved, sizeof saved, "%s", osq_last_error());
      int rc = osq__fsync_dir(w->dir);
      osq__fail(0, "%s", saved);
      if (rc) break;
      confirmed = 1;
    }
    char path[4400];
    path_of(w, n, path, sizeof path);
    unlink(path);
    osq__writer_crash_point("cleanup");
  }
  closedir(d);
  osq__manifest_free(&disk);
}

/* Deletes the segments this writer flushed but did not publish (the
 * commit or merge that was to name them failed, or the writer is closed),
 * unless the manifest on the disk names them: after a rename whose result
 * was an error, only the disk knows. */
void osq__writer_discard_new(osq_writer *w) {
  osq__manifest disk;
  memset(&disk, 0, sizeof disk);
  char saved[1024];
  snprintf(saved, sizeof saved, "%s", osq_last_error());
  int rc = osq__manifest_read(w->dir, &disk);
  osq__fail(0, "%s", saved);
  if (rc == OSQ_OK || rc == OSQ_E_NOINDEX) {
    for (uint32_t i = 0; i < w->nnew; i++) {
      if (manifest_names(&disk, 1, w->new_segs[i].number, 0)) continue;
      char name[64], path[4200];
      osq__segment_name(w->new_segs[i].number, name, sizeof name);
      snprintf(path, sizeof path, "%s/%s", w->dir, name);
      unlink(path);
    }
  }
  osq__manifest_free(&disk);
  w->nnew = 0;
}

/* The highest segment number of any file in the directory, plus one. */
uint32_t osq__writer_next_number(osq_writer *w) {
  uint32_t next = 1;
  DIR *d = opendir(w->dir);
  if (!d) return next;
  struct dirent *e;
  while ((e = readdir(d))) {
    uint32_t num = 0;
    uint64_t gen = 0;
    int kind = osq__index_file_kind(e->d_name, &num, &gen);
    if ((kind == 1 || kind == 2) && num >= next && num < UINT32_MAX) next = num + 1;
  }
  closedir(d);
  return next;
}

/* Writes m as the new MANIFEST and makes it the writer's own.  On
 * OSQ_E_NOTDURABLE m is published all the same (the rename happened) and
 * becomes the writer's too, which is then w->unsynced; on any other failure
 * nothing changes and m stays the caller's. */
int osq__writer_adopt_manifest(osq_writer *w, osq__manifest *m) {
  int rc = osq__manifest_write(w->dir, m);
  if (rc && rc != OSQ_E_NOTDURABLE) return rc;
  osq__manifest_free(&w->man);
  w->man = *m;
  w->nnew = 0;
  if (rc) w->unsynced = 1;
  return rc;
}
