/* timefmt: the two clocks; the one RFC 3339 parser, without locale or timezone state (timegm-free
 * arithmetic from the civil-date algorithm), and millisecond formatting. Pure apart from the
 * clocks; any thread. Every accepted time is in [0, TIME_MAX_UNIX), so callers may store it as
 * an integer of milliseconds without a range check of their own. */
#include "util/timefmt.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double seconds_of(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double time_wall(void) {
  return seconds_of(CLOCK_REALTIME);
}

double time_mono(void) {
  return seconds_of(CLOCK_MONOTONIC);
}

/* Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly k decimal digits at *p, moving *p past them. */
static bool digits(const char **p, const char *end, int k, int *out) {
  int v = 0;
  for (int i = 0; i < k; i++, (*p)++) {
    if (*p >= end || **p < '0' || **p > '9') return false;
    v = v * 10 + (**p - '0');
  }
  *out = v;
  return true;
}

/* Moves *p past ch when it is next. */
static bool skip(const char **p, const char *end, char ch) {
  if (*p >= end || **p != ch) return false;
  (*p)++;
  return true;
}

static bool leap_year(int y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int time_parse_rfc3339(const char *s, size_t len, double *out) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!s) return -1;
  const char *p = s, *end = s + len;
  int y, mo, d, h = 0, mi = 0, se = 0;
  long ns = 0, offset = 0;
  if (!digits(&p, end, 4, &y) || !skip(&p, end, '-') || !digits(&p, end, 2, &mo) ||
      !skip(&p, end, '-') || !digits(&p, end, 2, &d))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap_year(y)))
    return -1;
  if (p < end) { /* otherwise a bare date: midnight UTC */
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (!digits(&p, end, 2, &h) || !skip(&p, end, ':') || !digits(&p, end, 2, &mi)) return -1;
    if (skip(&p, end, ':')) {
      if (!digits(&p, end, 2, &se)) return -1;
      if (skip(&p, end, '.') || skip(&p, end, ',')) {
        if (p == end || *p < '0' || *p > '9') return -1;
        for (long scale = 100000000; p < end && *p >= '0' && *p <= '9'; p++, scale /= 10)
          ns += (*p - '0') * scale; /* digits past nanoseconds add 0 */
      }
    }
    if (h > 23 || mi > 59 || se > 60) return -1;
    if (skip(&p, end, 'Z') || skip(&p, end, 'z')) {
      /* UTC */
    } else if (p < end && (*p == '+' || *p == '-')) {
      long sign = *p++ == '-' ? -1 : 1;
      int oh, om;
      if (!digits(&p, end, 2, &oh)) return -1;
      skip(&p, end, ':');
      if (!digits(&p, end, 2, &om) || oh > 23 || om > 59) return -1;
      offset = sign * (oh * 3600L + om * 60L);
    } /* no zone: UTC */
  }
  if (p != end) return -1;
  int64_t secs =
      days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se - offset;
  if (secs < 0 || secs >= TIME_MAX_UNIX) return -1;
  *out = (double)secs + (double)ns / 1e9;
  return 0;
}

void time_format_rfc3339(double t, char *buf, size_t cap) {
  if (!isfinite(t)) t = 0;
  time_t secs = (time_t)floor(t);
  int ms = (int)((t - (double)secs) * 1000.0 + 0.5);
  if (ms >= 1000) secs++, ms -= 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}
