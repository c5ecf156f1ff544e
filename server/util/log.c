/* log: logfmt writer. Any thread; a line is formatted into a stack buffer and written with one
 * fputs under a mutex so lines from the writer thread and the loop never interleave. Lines
 * longer than the buffer are truncated, never split. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Process-wide on purpose: every thread and layer logs (storage too, which has no app), the
 * level is set once at start before any thread runs, and the mutex keeps lines whole. */
static log_level min_level = LOG_INFO;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level) {
  min_level = level;
}

int log_enabled(log_level level) {
  return level >= min_level;
}

int log_level_parse(const char *s, log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (log_level)i;
      return 0;
    }
  }
  if (strcmp(s, "warning") == 0) {
    *out = LOG_WARN;
    return 0;
  }
  return -1;
}

void log_write(log_level level, const char *msg, const char *fmt, ...) {
  if (level < min_level) return;
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000, level_names[level]);
  /* The message is ours, but escape quotes and newlines anyway so a line stays one line. */
  for (const char *p = msg; *p && n < (int)sizeof line - 8; p++) {
    if (*p == '"' || *p == '\\') line[n++] = '\\';
    line[n++] = (*p == '\n') ? ' ' : *p;
  }
  line[n++] = '"';
  if (fmt && *fmt && n < (int)sizeof line - 2) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m > 0) n += m < (int)(sizeof line - (size_t)n - 2) ? m : (int)(sizeof line - (size_t)n - 2);
  }
  line[n++] = '\n';
  line[n] = '\0';
  pthread_mutex_lock(&log_mu);
  fputs(line, stderr);
  fflush(stderr);
  pthread_mutex_unlock(&log_mu);
}
