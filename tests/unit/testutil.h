/* testutil: a tiny assertion harness for the C unit tests. Each test file defines TEST(name)
 * functions and lists them in main() with RUN(name); the process exits non-zero on any failure
 * and prints "N passed, N failed" as its last line. */
#ifndef SLUICE_TESTUTIL_H
#define SLUICE_TESTUTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_failed_checks;
static int tu_passed, tu_failed;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      tu_failed_checks++;                                                                          \
    }                                                                                              \
  } while (0)
#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long tu_a = (long long)(a), tu_b = (long long)(b);                                        \
    if (tu_a != tu_b) {                                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, tu_a,  \
              tu_b);                                                                               \
      tu_failed_checks++;                                                                          \
    }                                                                                              \
  } while (0)
#define CHECK_EQ_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *tu_a = (a), *tu_b = (b);                                                           \
    if (!tu_a || !tu_b || strcmp(tu_a, tu_b) != 0) {                                               \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,    \
              tu_a ? tu_a : "(null)", tu_b ? tu_b : "(null)");                                     \
      tu_failed_checks++;                                                                          \
    }                                                                                              \
  } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                                                                  \
  do {                                                                                             \
    int tu_before = tu_failed_checks;                                                              \
    name();                                                                                        \
    if (tu_failed_checks == tu_before) {                                                           \
      tu_passed++;                                                                                 \
    } else {                                                                                       \
      tu_failed++;                                                                                 \
      fprintf(stderr, "FAIL %s\n", #name);                                                         \
    }                                                                                              \
  } while (0)
#define TEST_EXIT()                                                                                \
  do {                                                                                             \
    printf("%d passed, %d failed\n", tu_passed, tu_failed);                                        \
    return tu_failed ? 1 : 0;                                                                      \
  } while (0)

/* Removes a scratch directory made by mkdtemp, and everything in it. */
static inline void tu_remove_dir(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
static inline char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len) *len = n;
  }
  return buf;
}
#endif
