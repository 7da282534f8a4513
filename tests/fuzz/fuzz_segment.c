/*
 * fuzz_segment.c -- libFuzzer harness for the segment reader.
 *
 * The input is a segment file.  Its header and section-table checksums are
 * recomputed (so that the fuzzer explores what lies behind them: counts,
 * section offsets and lengths), and it is written as seg-00000001.osq with a
 * MANIFEST that names it, into a temporary directory.  Then osq_index_open,
 * a few queries of every kind with every hit materialized, and the deep
 * osq_index_check.  Every call must succeed or fail with OSQ_E_CORRUPT (or
 * OSQ_E_VERSION) and a message naming the file; anything else -- another
 * status, a crash, a sanitizer report, a hang, an allocation beyond
 * libFuzzer's limit -- is a finding.  Seeds: tests/fuzz/seeds/segment/, small
 * real segments (tests/fuzz/run.sh adds fresh ones written by this build).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osq/osq.h"
#include "segment.h"
#include "../common/osq_test_util.h"

static char dir[4096], seg_path[4200], man_path[4200];

static void cleanup(void) {
  if (dir[0]) osqt_rm_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (!osqt_mkdtemp(dir, sizeof dir, "osq-fuzz-segment")) abort();
  atexit(cleanup);
  snprintf(seg_path, sizeof seg_path, "%s/seg-00000001.osq", dir);
  snprintf(man_path, sizeof man_path, "%s/MANIFEST", dir);
  return 0;
}

static void put_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) abort();
}

/* Fails unless rc is a success or a corruption error naming the file. */
static void expect(const char *call, int rc) {
  if (rc >= 0) return;
  const char *msg = osq_last_error();
  if ((rc == OSQ_E_CORRUPT || rc == OSQ_E_VERSION) && (strstr(msg, "seg-00000001.osq") || strstr(msg, "MANIFEST")))
    return;
  fprintf(stderr, "fuzz_segment: %s returned %s: \"%s\"\n", call, osq_err_name(rc), msg);
  abort();
}

static void on_problem(void *ctx, const char *file, const char *problem) {
  if (strcmp(file, "seg-00000001.osq") && strcmp(file, "MANIFEST")) {
    fprintf(stderr, "fuzz_segment: the check blames %s: %s\n", file, problem);
    abort();
  }
  ++*(int *)ctx;
}

static const char *const QUERIES[] = {"화웨이 클라우드", "국", "\"오픈 스택\"", "볼륨 AND 스냅샷 -삭제",
                                      "(nova OR 문서) NOT 게이트웨이", "문서 테스트 입니다"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *seg = malloc(size ? size : 1);
  if (!seg) return 0;
  memcpy(seg, data, size);
  size_t table = OSQ__SEG_HEADER_BYTES + OSQ__SEG_NSECTIONS * OSQ__SEG_SECTION_BYTES;
  uint32_t ndocs = 0, npassages = 0;
  if (size >= table) {
    /* the page checksums (format 6) too, where the PAGES entry of the
     * section table makes sense: the fuzzer gets past them to the
     * structure they protect */
    const uint8_t *e = seg + OSQ__SEG_HEADER_BYTES + OSQ__SEC_PAGES * OSQ__SEG_SECTION_BYTES;
    uint64_t off = osq__get_u64(e), len = osq__get_u64(e + 8);
    if (off >= table && off <= size && len >= 8 && len <= size - off) {
      uint32_t ps = osq__get_u32(seg + off);
      if (ps >= 512 && ps <= (1u << 20) && !(ps & (ps - 1)) && len == 8 + 4 * ((off + ps - 1) / ps))
        for (uint64_t i = 0; i < (off + ps - 1) / ps; i++) {
          uint64_t a = i * ps < table ? table : i * ps, b = (i + 1) * ps < off ? (i + 1) * ps : off;
          osq__put_u32(seg + off + 8 + 4 * i, osq__crc32(0, seg + a, (size_t)(b - a)));
        }
    }
    osq__put_u32(seg + 40, osq__crc32(0, seg + OSQ__SEG_HEADER_BYTES, table - OSQ__SEG_HEADER_BYTES));
    osq__put_u32(seg + 44, osq__crc32(0, seg, 40));
    npassages = osq__get_u32(seg + 16);
    ndocs = osq__get_u32(seg + 20);
  }
  put_file(seg_path, seg, size);
  free(seg);
  /* the MANIFEST (manifest.c): one segment, no deletions */
  uint8_t m[32 + 40 + 4];
  memset(m, 0, sizeof m);
  memcpy(m, "OSQMANIF", 8);
  osq__put_u32(m + 8, OSQ_FORMAT_VERSION);
  osq__put_u32(m + 12, 1);
  osq__put_u64(m + 16, 1);
  osq__put_u32(m + 24, 2);
  osq__put_u32(m + 28, 40);
  osq__put_u32(m + 32, 1);
  osq__put_u32(m + 36, ndocs);
  osq__put_u32(m + 40, npassages);
  osq__put_u64(m + 48, size);
  osq__put_u32(m + 72, osq__crc32(0, m, 72));
  put_file(man_path, m, sizeof m);

  osq_index *ix = NULL;
  int rc = osq_index_open(dir, &ix);
  expect("osq_index_open", rc);
  if (rc == OSQ_OK) {
    for (size_t q = 0; q < sizeof QUERIES / sizeof *QUERIES; q++) {
      osq_search_options so;
      memset(&so, 0, sizeof so);
      so.k = 5;
      so.explain = q == 0;
      so.no_prune = q == 5;
      osq_results *r = NULL;
      rc = osq_search(ix, QUERIES[q], strlen(QUERIES[q]), &so, &r);
      expect("osq_search", rc);
      if (rc) continue;
      for (size_t i = 0; i < osq_results_count(r); i++) {
        osq_hit hit;
        expect("osq_results_get_doc", osq_results_get_doc(r, i, &hit));
        expect("osq_results_get", osq_results_get(r, i, &hit));
      }
      osq_results_free(r);
    }
    osq_index_close(ix);
  }
  int problems = 0;
  rc = osq_index_check(dir, 1, on_problem, &problems, NULL);
  /* its message names the directory; on_problem checks the files */
  if ((rc != OSQ_OK && rc != OSQ_E_CORRUPT && rc != OSQ_E_VERSION) || (rc == OSQ_OK) != (problems == 0)) {
    fprintf(stderr, "fuzz_segment: osq_index_check returned %s with %d problems\n", osq_err_name(rc), problems);
    abort();
  }
  return 0;
}
