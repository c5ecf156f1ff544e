/* timefmt: the two clocks; strict RFC 3339 parsing without locale or timezone state (timegm-free
 * arithmetic from the civil-date algorithm), and millisecond formatting. */
#include "util/timefmt.h"

#include <math.h>
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

static int digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

int time_parse_rfc3339(const char *s, size_t len, double *out) {
  int y, mo, d, h, mi, sec;
  if (len < 19 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
      digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
      digits(s + 17, 2, &sec))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  size_t i = 19;
  double frac = 0, scale = 0.1;
  if (i < len && s[i] == '.') {
    i++;
    if (i >= len || s[i] < '0' || s[i] > '9') return -1;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
  }
  int offset = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (len - i < 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om))
      return -1;
    offset = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else if (i != len) {
    return -1; /* naive timestamps are taken as UTC, as Sentry does */
  }
  if (i != len) return -1;
  int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
  *out = (double)(days * 86400 + h * 3600 + mi * 60 + sec - offset) + frac;
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
