/* failalloc: allocation failures on demand, for the unit tests that tests/CMakeLists.txt links
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup (WRAP_<test>). Only
 * calls made from sluice's own objects go through the wrappers: libc, libuv, SQLite and zlib
 * allocate as usual. Include it from exactly one file per test executable. Production code
 * has no injection hook of any kind. */
#ifndef SLUICE_FAILALLOC_H
#define SLUICE_FAILALLOC_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static pthread_t fa_thread;      /* only its allocations are counted and failed */
static atomic_long fa_skip = -1; /* allocations to let through first; -1: injection off */
static atomic_long fa_failures;  /* then this many fail */
static atomic_long fa_failed;    /* how many did */

/* From now on, on this thread: let `skip` allocations through, then fail the next `count`. */
static inline void fa_arm(long skip, long count) {
  fa_thread = pthread_self();
  atomic_store(&fa_failures, count);
  atomic_store(&fa_failed, 0);
  atomic_store(&fa_skip, skip);
}

static inline void fa_disarm(void) {
  atomic_store(&fa_skip, -1);
}

/* How many allocations failed since fa_arm. */
static inline long fa_count(void) {
  return atomic_load(&fa_failed);
}

static int fa_should_fail(void) {
  if (atomic_load(&fa_skip) < 0 || !pthread_equal(pthread_self(), fa_thread)) return 0;
  if (atomic_load(&fa_skip) > 0) {
    atomic_fetch_sub(&fa_skip, 1);
    return 0;
  }
  if (atomic_load(&fa_failures) <= 0) return 0;
  atomic_fetch_sub(&fa_failures, 1);
  atomic_fetch_add(&fa_failed, 1);
  return 1;
}

void *__wrap_malloc(size_t n) {
  return fa_should_fail() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
  return fa_should_fail() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
  return fa_should_fail() ? NULL : __real_realloc(p, n);
}
char *__wrap_strdup(const char *s) {
  return fa_should_fail() ? NULL : __real_strdup(s);
}

#endif
