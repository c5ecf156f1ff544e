/* test_timefmt: RFC 3339 parsing (Z and numeric offsets, fractions, 't'/'z' and ' ' forms,
 * naive timestamps as UTC, dates before 1970 and far ahead, the length argument) against
 * values computed with Python's datetime, rejection of malformed text, millisecond formatting
 * with its rounding carry and negative times, and format -> parse round trips over every day
 * of 1999..2100. The last block expects the strict parser (impossible dates refused, minutes
 * without seconds accepted); see the comment there. */
#include <math.h>

#include "util/timefmt.h"
#include "testutil.h"

/* Parses s (its full length) and expects want, to within a microsecond. */
static void expect_time(const char *s, double want) {
  double got = -12345;
  int rc = time_parse_rfc3339(s, strlen(s), &got);
  if (rc != 0 || fabs(got - want) > 1e-6)
    fprintf(stderr, "  \"%s\": rc %d, %.6f, expected %.6f\n", s, rc, got, want);
  CHECK_EQ_INT(rc, 0);
  CHECK(fabs(got - want) <= 1e-6);
}

static void expect_bad(const char *s) {
  double got = -12345;
  int rc = time_parse_rfc3339(s, strlen(s), &got);
  if (rc != -1) fprintf(stderr, "  \"%s\" accepted as %.6f\n", s, got);
  CHECK_EQ_INT(rc, -1);
}

TEST(parse_utc) {
  expect_time("2024-01-02T03:04:05Z", 1704164645);
  expect_time("1970-01-01T00:00:00Z", 0);
  expect_time("2026-11-23T23:33:05Z", 1795476785);
  expect_time("2000-02-29T12:00:00Z", 951825600);
  expect_time("2024-02-29T00:00:00Z", 1709164800);
  expect_time("2024-03-01T00:00:00Z", 1709251200);
  expect_time("2100-03-01T00:00:00Z", 4107542400); /* 2100 is not a leap year */
  expect_time("2101-01-01T00:00:00Z", 4133980800);
  expect_time("9999-12-31T23:59:59Z", 253402300799);
  /* before the Unix epoch is a broken clock, not an event: refused */
  expect_bad("1969-12-31T23:59:59Z");
  expect_bad("1900-01-01T00:00:00Z");
  expect_bad("0000-01-01T00:00:00Z");
}

TEST(parse_separators_and_case) {
  expect_time("2024-01-02t03:04:05Z", 1704164645);
  expect_time("2024-01-02 03:04:05Z", 1704164645);
  expect_time("2024-01-02T03:04:05z", 1704164645);
  expect_time("2024-01-02t03:04:05z", 1704164645);
  /* naive timestamps are taken as UTC, as Sentry does */
  expect_time("2024-01-02T03:04:05", 1704164645);
  expect_time("2024-01-02 03:04:05.5", 1704164645.5);
}

TEST(parse_offsets) {
  expect_time("2024-01-02T03:04:05+00:00", 1704164645);
  expect_time("2024-01-02T03:04:05-00:00", 1704164645);
  expect_time("2024-01-02T03:04:05+01:00", 1704161045);
  expect_time("2024-01-02T03:04:05-05:30", 1704184445);
  expect_time("2024-01-02T03:04:05+14:00", 1704114245);
  expect_time("2024-01-02T03:04:05-12:00", 1704207845);
  expect_time("2024-01-02T03:04:05.25+02:00", 1704157445.25);
  /* an offset that moves the instant across a day, a month and a year boundary */
  expect_time("2024-01-01T00:30:00+01:00", 1704065400);
  expect_time("2023-12-31T23:30:00-01:00", 1704069000);
}

TEST(parse_fractions) {
  expect_time("2024-01-02T03:04:05.5Z", 1704164645.5);
  expect_time("2024-01-02T03:04:05.000Z", 1704164645);
  expect_time("2024-01-02T03:04:05.123Z", 1704164645.123);
  expect_time("2024-01-02T03:04:05.999999Z", 1704164645.999999);
  expect_time("2026-11-23T23:33:05.364456Z", 1795476785.364456);
  expect_time("2024-01-02T03:04:05.123456789Z", 1704164645.123457);
  expect_time("2024-01-02T03:04:05.1234567890123456789Z", 1704164645.123457);
  expect_bad("1969-12-31T23:59:59.75Z");
}

TEST(parse_uses_len_not_nul) {
  const char *s = "2024-01-02T03:04:05Zjunk";
  double t = 0;
  CHECK_EQ_INT(time_parse_rfc3339(s, 20, &t), 0);
  CHECK(t == 1704164645);
  CHECK_EQ_INT(time_parse_rfc3339(s, strlen(s), &t), -1);
  /* cut after the seconds: a naive timestamp */
  CHECK_EQ_INT(time_parse_rfc3339(s, 19, &t), 0);
  CHECK(t == 1704164645);
  /* a buffer that is not NUL-terminated at all */
  char raw[25];
  memcpy(raw, "2024-01-02T03:04:05+01:00", 25);
  CHECK_EQ_INT(time_parse_rfc3339(raw, sizeof raw, &t), 0);
  CHECK(t == 1704161045);
  CHECK_EQ_INT(time_parse_rfc3339(raw, sizeof raw - 1, &t), -1); /* "+01:0" */
  CHECK_EQ_INT(time_parse_rfc3339(raw, 0, &t), -1);
  CHECK_EQ_INT(time_parse_rfc3339(raw, 18, &t), -1);
}

/* Forms event.c took before there was one parser, kept so SDKs that send them still work: a
 * bare date (midnight UTC), a comma before the fraction, and +HHMM offsets. */
TEST(parse_lenient_forms_events_took) {
  expect_time("2024-01-02", 1704153600);
  expect_time("2024-01-02T03:04:05,5Z", 1704164645.5);
  expect_time("2024-01-02T03:04:05+0100", 1704161045);
}

TEST(parse_rejects_malformed) {
  static const char *const bad[] = {
      "",
      "2024",
      "2024-01-02T",
      "2024-01-02T03",
      "2024-01-02T03:04:0",
      "2024/01/02T03:04:05Z",
      "2024-01-02X03:04:05Z",
      "2024-01-02_03:04:05Z",
      "2024-1-02T03:04:05Z",
      "24-01-02T03:04:05Z",
      "2024-01-2T03:04:05Z",
      "2024-01-02T3:04:05Z",
      "2024-01-02T03.04.05Z",
      "abcd-ef-ghTij:kl:mnZ",
      "+2024-01-02T03:04:05Z",
      " 2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05Z ",
      "2024-01-02T03:04:05 Z",
      "2024-01-02T03:04:05ZZ",
      "2024-01-02T03:04:05Zjunk",
      "2024-01-02T03:04:05.Z",
      "2024-01-02T03:04:05.",
      "2024-01-02T03:04:05..5Z",
      "2024-01-02T03:04:05.5.5Z",
      "2024-01-02T03:04:05.-5Z",
      "2024-01-02T03:04:05+01",
      "2024-01-02T03:04:05+01:0",
      "2024-01-02T03:04:05+1:00",
      "2024-01-02T03:04:05+01:00Z",
      "2024-01-02T03:04:05+01:00:00",
      "2024-01-02T03:04:05+ab:cd",
      "2024-01-02T03:04:05-",
      "2024-01-02T03:04:05UTC",
      "2024-01-02T03:04:05GMT+1",
      "2024-00-10T00:00:00Z", /* month 0 */
      "2024-01-00T00:00:00Z", /* day 0 */
      "2024-01-32T00:00:00Z",
      "2024-01-02T03:04:61Z",
      "2024-01-02T99:04:05Z",
      "2024-01-02T03:99:05Z",
      "2024-99-02T03:04:05Z",
      "-001-01-02T03:04:05Z",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad(bad[i]);
}

/* --- formatting --------------------------------------------------------------------------- */

static void expect_format(double t, const char *want) {
  char buf[40];
  time_format_rfc3339(t, buf, sizeof buf);
  if (strcmp(buf, want) != 0) fprintf(stderr, "  format(%.6f)\n", t);
  CHECK_EQ_STR(buf, want);
}

TEST(format_values) {
  expect_format(0, "1970-01-01T00:00:00.000Z");
  expect_format(1704164645, "2024-01-02T03:04:05.000Z");
  expect_format(1704164645.5, "2024-01-02T03:04:05.500Z");
  expect_format(1704164645.1234, "2024-01-02T03:04:05.123Z");
  expect_format(1704164645.0006, "2024-01-02T03:04:05.001Z"); /* rounded to the nearest ms */
  expect_format(1704164645.9994, "2024-01-02T03:04:05.999Z");
  expect_format(1704164645.9996, "2024-01-02T03:04:06.000Z"); /* ... carrying into the second */
  expect_format(1704067199.9999, "2024-01-01T00:00:00.000Z"); /* ... and into the year */
  expect_format(951825600, "2000-02-29T12:00:00.000Z");
  expect_format(1709251199.999, "2024-02-29T23:59:59.999Z");
  expect_format(253402300799, "9999-12-31T23:59:59.000Z");
  expect_format(-1, "1969-12-31T23:59:59.000Z");
  expect_format(-0.5, "1969-12-31T23:59:59.500Z");
  expect_format(-0.0001, "1970-01-01T00:00:00.000Z");
  expect_format(-2208988800, "1900-01-01T00:00:00.000Z");
  /* not a time: the epoch rather than garbage */
  expect_format(NAN, "1970-01-01T00:00:00.000Z");
  expect_format(INFINITY, "1970-01-01T00:00:00.000Z");
  expect_format(-INFINITY, "1970-01-01T00:00:00.000Z");
}

TEST(format_respects_cap) {
  char buf[40];
  memset(buf, 'X', sizeof buf);
  time_format_rfc3339(1704164645.5, buf, 11);
  CHECK_EQ_STR(buf, "2024-01-02");
  for (size_t k = 11; k < sizeof buf; k++) CHECK(buf[k] == 'X');
  memset(buf, 'X', sizeof buf);
  time_format_rfc3339(1704164645.5, buf, 25); /* exactly enough */
  CHECK_EQ_STR(buf, "2024-01-02T03:04:05.500Z");
  for (size_t k = 25; k < sizeof buf; k++) CHECK(buf[k] == 'X');
}

/* --- round trips -------------------------------------------------------------------------- */

TEST(round_trip_every_day) {
  /* Noon-ish with a millisecond part on every day of 1999..2100, plus each day's first and
   * last millisecond: formatting then parsing gives the time back. */
  int failures = 0;
  for (double day = 915148800; day < 4133980800; day += 86400) {
    const double ts[] = {day, day + 43261.123, day + 86399.999};
    for (size_t i = 0; i < 3; i++) {
      char buf[40];
      time_format_rfc3339(ts[i], buf, sizeof buf);
      double back = 0;
      int rc = time_parse_rfc3339(buf, strlen(buf), &back);
      if ((rc != 0 || fabs(back - ts[i]) > 1e-6) && failures++ < 5)
        fprintf(stderr, "  %.3f -> %s -> rc %d %.6f\n", ts[i], buf, rc, back);
    }
  }
  CHECK_EQ_INT(failures, 0);
}

TEST(round_trip_parse_format) {
  /* Text in the canonical form comes back unchanged. */
  static const char *const texts[] = {
      "1970-01-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z", "2000-01-01T00:00:00.001Z",
      "1999-07-20T20:17:40.000Z", "2038-01-19T03:14:08.000Z", "2100-12-31T12:34:56.789Z",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    double t = 0;
    CHECK_EQ_INT(time_parse_rfc3339(texts[i], strlen(texts[i]), &t), 0);
    char buf[40];
    time_format_rfc3339(t, buf, sizeof buf);
    CHECK_EQ_STR(buf, texts[i]);
  }
}

TEST(clocks) {
  double w = time_wall(), m1 = time_mono(), m2 = time_mono();
  CHECK(w > 1704067200); /* after 2024-01-01 */
  CHECK(w < 4102444800); /* before 2100 */
  CHECK(m2 >= m1 && m1 >= 0);
}

/* --- strictness --------------------------------------------------------------------------------
 * Dates that do not exist are refused (day past the month's end, February 29 outside leap
 * years, month 13, hour 24, minute 60), and "YYYY-MM-DDTHH:MMZ" without seconds is accepted:
 * events, transactions and sessions read their times through this one parser. */

TEST(strict_rejects_impossible_dates) {
  expect_bad("2024-02-30T00:00:00Z");
  expect_bad("2023-02-29T00:00:00Z");
  expect_bad("2024-04-31T00:00:00Z");
  expect_bad("2100-02-29T00:00:00Z"); /* a century that is not a leap year */
  expect_bad("2024-13-01T00:00:00Z");
  expect_bad("2024-01-02T24:00:00Z");
  expect_bad("2024-01-02T03:60:00Z");
}

TEST(strict_accepts_real_dates) {
  expect_time("2024-02-29T00:00:00Z", 1709164800);
  expect_time("2000-02-29T00:00:00Z", 951782400);
  expect_time("2024-01-31T00:00:00Z", 1706659200);
  expect_time("2024-12-31T23:59:59Z", 1735689599);
}

TEST(strict_accepts_minutes_without_seconds) {
  expect_time("2024-01-02T03:04Z", 1704164640);
}

int main(void) {
  RUN(parse_utc);
  RUN(parse_separators_and_case);
  RUN(parse_offsets);
  RUN(parse_fractions);
  RUN(parse_uses_len_not_nul);
  RUN(parse_lenient_forms_events_took);
  RUN(parse_rejects_malformed);
  RUN(format_values);
  RUN(format_respects_cap);
  RUN(round_trip_every_day);
  RUN(round_trip_parse_format);
  RUN(clocks);
  /* need the strict parser (see above) */
  RUN(strict_rejects_impossible_dates);
  RUN(strict_accepts_real_dates);
  RUN(strict_accepts_minutes_without_seconds);
  TEST_EXIT();
}
