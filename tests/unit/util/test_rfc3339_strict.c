/* test_rfc3339_strict: the strictness table of time_parse_rfc3339, the one timestamp parser
 * (events, transactions, sessions): what SDKs send is accepted with its exact value (seconds
 * optional, fraction to nanoseconds, 'Z'/'z'/offsets with and without ':', 'T'/'t'/' ', no
 * zone or a bare date as UTC, a leap second), and every impossible or malformed form is
 * refused without touching the output (calendar errors, out-of-range fields and offsets,
 * truncation, trailing bytes, embedded NULs, years outside 1970..9999 after the offset). */
#include <math.h>
#include <string.h>

#include "util/timefmt.h"
#include "testutil.h"

TEST(accepted_with_value) {
  static const struct {
    const char *s;
    double want;
  } ok[] = {
      {"2026-11-23T23:33:05.364456Z", 1795476785.364456}, /* sentry-python */
      {"2026-11-23T23:33:05Z", 1795476785.0},
      {"2026-11-23t23:33:05z", 1795476785.0},
      {"2026-11-23 23:33:05", 1795476785.0}, /* no zone: UTC */
      {"2026-11-23T23:33:05", 1795476785.0},
      {"2026-11-23T23:33:05,5Z", 1795476785.5},
      {"2024-01-02T03:04Z", 1704164640.0}, /* no seconds */
      {"2024-01-02T03:04", 1704164640.0},
      {"2024-01-02T03:04+00:00", 1704164640.0},
      {"2024-01-02T03:04:05.250+01:30", 1704159245.25},
      {"2024-01-02T03:04:05-0130", 1704170045.0},
      {"2024-01-02T03:04:05-00:00", 1704164645.0},
      {"2024-02-29T00:00:00Z", 1709164800.0}, /* leap year */
      {"2000-02-29T12:00:00Z", 951825600.0},  /* divisible by 400 */
      {"2024-02-29", 1709164800.0},           /* bare date: midnight UTC */
      {"1970-01-01T00:00:00Z", 0.0},
      {"1970-01-01T01:00:00+01:00", 0.0},
      {"9999-12-31T23:59:59Z", 253402300799.0},
      {"9999-12-31T23:59:59.999999999Z", 253402300799.999999999},
      {"2016-12-31T23:59:60Z", 1483228800.0}, /* leap second: the next minute's :00 */
      {"2024-01-02T03:04:05.123456789123Z", 1704164645.123456789},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    double t = -1;
    int rc = time_parse_rfc3339(ok[i].s, strlen(ok[i].s), &t);
    if (rc != 0 || fabs(t - ok[i].want) > 1e-6) {
      fprintf(stderr, "\"%s\": rc %d, got %.9f want %.9f\n", ok[i].s, rc, t, ok[i].want);
      tu_failed_checks++;
    }
  }
}

TEST(refused) {
  static const char *const bad[] = {
      "",
      "2024",
      "2024-01",
      "2024-1-02T03:04:05Z",
      "24-01-02T03:04:05Z",
      "2024/01/02T03:04:05Z",
      "2024-02-30T00:00:00Z", /* February 30 */
      "2023-02-29T00:00:00Z", /* not a leap year */
      "1900-02-29T00:00:00Z", /* divisible by 100, not by 400 */
      "2024-04-31T00:00:00Z",
      "2024-00-10T00:00:00Z", /* month 0 */
      "2024-13-10T00:00:00Z", /* month 13 */
      "2024-01-00T00:00:00Z", /* day 0 */
      "2024-01-32T00:00:00Z", /* day 32 */
      "2024-01-02T24:00:00Z", /* hour 24 */
      "2024-01-02T03:60:00Z", /* minute 60 */
      "2024-01-02T03:04:61Z", /* second 61 */
      "2024-01-02T03:04:99Z",
      "2024-01-02T3:04:05Z",
      "2024-01-02T03:4:05Z",
      "2024-01-02T03:04:5Z",
      "2024-01-02T03Z",
      "2024-01-02T03:04:",
      "2024-01-02T03:04:05.Z", /* a fraction needs a digit */
      "2024-01-02T03:04:05.",
      "2024-01-02T03:04.5Z", /* a fraction needs seconds */
      "2024-01-02T03:04:05+2",
      "2024-01-02T03:04:05+02",
      "2024-01-02T03:04:05+02:",
      "2024-01-02T03:04:05+02:3",
      "2024-01-02T03:04:05+0230x",
      "2024-01-02T03:04:05+24:00", /* offset hour 24 */
      "2024-01-02T03:04:05+02:60", /* offset minute 60 */
      "2024-01-02T03:04:05Zjunk",
      "2024-01-02T03:04:05Z ",
      " 2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05ZZ",
      "2024-01-02x03:04:05Z",
      "2024-01-02T",
      "2024-01-02Z", /* a zone needs a time */
      "2024-01-02 ",
      "1969-12-31T23:59:59Z", /* before 1970 */
      "1970-01-01T00:30:00+01:00",
      "0000-01-01T00:00:00Z",
      "9999-12-31T23:59:59-00:01", /* year 10000 in UTC */
      "+2024-01-02T03:04:05Z",
      "yesterday",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double t = 42;
    if (time_parse_rfc3339(bad[i], strlen(bad[i]), &t) != -1 || t != 42) {
      fprintf(stderr, "accepted \"%s\" as %.6f\n", bad[i], t);
      tu_failed_checks++;
    }
  }
}

TEST(length_not_nul_decides) {
  double t = 42;
  /* A JSON string may hold a NUL; the parser reads exactly len bytes. */
  CHECK_EQ_INT(time_parse_rfc3339("2024-01-02T03:04:05Z\0junk", 25, &t), -1);
  CHECK_EQ_INT(time_parse_rfc3339("2024-01-02T03:04:05Zjunk", 20, &t), 0);
  CHECK(t == 1704164645.0);
  CHECK_EQ_INT(time_parse_rfc3339("2024-01-02T03:04:05Z", 19, &t), 0); /* zone cut off: UTC */
  CHECK_EQ_INT(time_parse_rfc3339("2024-01-02T03:04:05Z", 18, &t), -1);
  CHECK_EQ_INT(time_parse_rfc3339(NULL, 0, &t), -1);
}

TEST(formats_back) {
  double t;
  char buf[32];
  CHECK_EQ_INT(time_parse_rfc3339("2026-11-23T23:33:05.364456Z", 27, &t), 0);
  time_format_rfc3339(t, buf, sizeof buf);
  CHECK_EQ_STR(buf, "2026-11-23T23:33:05.364Z");
  CHECK_EQ_INT(time_parse_rfc3339(buf, strlen(buf), &t), 0);
  CHECK(fabs(t - 1795476785.364) < 1e-6);
}

int main(void) {
  RUN(accepted_with_value);
  RUN(refused);
  RUN(length_not_nul_decides);
  RUN(formats_back);
  TEST_EXIT();
}
