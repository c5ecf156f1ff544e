/* test_memchunk: the sample-chunk codec: round trips (whole, millisecond and arbitrary
 * timestamps, optional fields in every combination, extreme values), the encoder's refusals,
 * memchunk_fit, and a decoder that refuses every truncation, extension and corruption of a
 * valid blob it cannot prove sound (run under ASan: no read outside the blob). */
#include <math.h>
#include <stdint.h>

#include "memchunk.h"
#include "testutil.h"

#define T0 1700000000.0

static int same(const memchunk_sample *a, const memchunk_sample *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i].ts != b[i].ts || a[i].rss != b[i].rss || a[i].heap != b[i].heap ||
        a[i].pss != b[i].pss || a[i].uss != b[i].uss || a[i].requests != b[i].requests)
      return 0;
  }
  return 1;
}

static size_t round_trip(const memchunk_sample *s, size_t n) {
  unsigned char blob[MEMCHUNK_MAX_BYTES];
  memchunk_sample out[MEMCHUNK_MAX_SAMPLES];
  size_t len = 0, got = 0;
  CHECK(memchunk_encode(s, n, blob, sizeof blob, &len) == 0);
  CHECK(len > 0 && len <= MEMCHUNK_MAX_BYTES);
  CHECK(memchunk_decode(blob, len, out, MEMCHUNK_MAX_SAMPLES, &got) == 0);
  CHECK_EQ_INT(got, n);
  CHECK(got == n && same(s, out, n));
  return len;
}

/* 20 samples 10 s apart, as a sampler sends them; optional fields vary per sample. */
static void batch(memchunk_sample *s, size_t n, double t0, double step) {
  for (size_t i = 0; i < n; i++) {
    s[i] = (memchunk_sample){t0 + step * (double)i, 100000000 + 4096 * (int64_t)i, -1, -1, -1, -1};
    if (i & 1) s[i].heap = 50000000 + (int64_t)i;
    if (i & 2) s[i].pss = 0;
    if (i & 4) s[i].uss = MEMCHUNK_VALUE_MAX;
    if (i & 8) s[i].requests = 1200 + (int64_t)i;
  }
}

TEST(round_trip_whole_seconds_is_compact) {
  memchunk_sample s[20];
  batch(s, 20, T0, 10.0);
  for (size_t i = 0; i < 20; i++) s[i].heap = s[i].pss = s[i].uss = s[i].requests = -1;
  size_t len = round_trip(s, 20);
  /* version + count + first raw ts (1 + 8) + rss, then 1 flag + 2 delta + 4 rss per sample */
  CHECK(len <= 2 + 9 + 4 + 19 * 7);
}

TEST(round_trip_optional_fields_and_extremes) {
  memchunk_sample s[20];
  batch(s, 20, T0, 10.0);
  round_trip(s, 20);
  s[0].rss = 0;
  s[1].rss = MEMCHUNK_VALUE_MAX;
  s[2].heap = MEMCHUNK_VALUE_MAX;
  s[3].requests = 0;
  round_trip(s, 20);
  memchunk_sample one = {T0, 1, -1, -1, -1, -1};
  round_trip(&one, 1);
}

TEST(round_trip_fractional_timestamps_exactly) {
  memchunk_sample s[40];
  batch(s, 40, T0 + 0.123, 0.5); /* millisecond timestamps */
  round_trip(s, 40);
  for (size_t i = 0; i < 40; i++) /* time.time(): no short decimal form */
    s[i].ts = T0 + (double)i * 9.87654321 + 1e-7 * (double)(i * i);
  round_trip(s, 40);
  s[0].ts = 0.001; /* tiny and negative-exponent values are still exact */
  s[1].ts = 0.002;
  s[2].ts = 1.5;
  round_trip(s, 3);
}

TEST(worst_case_fits_the_bound) {
  memchunk_sample s[MEMCHUNK_MAX_SAMPLES];
  for (size_t i = 0; i < MEMCHUNK_MAX_SAMPLES; i++) /* raw timestamps, 8-byte varints */
    s[i] = (memchunk_sample){T0 + (double)i * 1.0000013, MEMCHUNK_VALUE_MAX, MEMCHUNK_VALUE_MAX,
                             MEMCHUNK_VALUE_MAX,         MEMCHUNK_VALUE_MAX, MEMCHUNK_VALUE_MAX};
  CHECK_EQ_INT(round_trip(s, MEMCHUNK_MAX_SAMPLES), MEMCHUNK_MAX_BYTES);
  unsigned char blob[MEMCHUNK_MAX_BYTES];
  size_t len = 7;
  CHECK(memchunk_encode(s, MEMCHUNK_MAX_SAMPLES, blob, sizeof blob - 1, &len) == -1);
  CHECK_EQ_INT(len, 0);
}

TEST(encoder_refuses_what_breaks_the_rules) {
  unsigned char blob[MEMCHUNK_MAX_BYTES];
  size_t len;
  memchunk_sample s[MEMCHUNK_MAX_SAMPLES + 1];
  batch(s, MEMCHUNK_MAX_SAMPLES + 1, T0, 1.0);
  CHECK(memchunk_encode(s, 0, blob, sizeof blob, &len) == -1);
  CHECK(memchunk_encode(s, MEMCHUNK_MAX_SAMPLES + 1, blob, sizeof blob, &len) == -1);
  CHECK(memchunk_encode(s, MEMCHUNK_MAX_SAMPLES, blob, sizeof blob, &len) == 0);
  memchunk_sample t[3];
  batch(t, 3, T0, 10.0);
  t[2].ts = t[1].ts; /* repeated timestamp */
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[2].ts = t[0].ts - 1; /* out of order */
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[1].ts = NAN;
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[0].ts = -INFINITY;
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, MEMCHUNK_MAX_SPAN / 2 + 0.001); /* spans a little too much */
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, MEMCHUNK_MAX_SPAN / 2);
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == 0);
  batch(t, 3, T0, 10.0);
  t[1].rss = -1;
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[1].rss = MEMCHUNK_VALUE_MAX + 1;
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[2].requests = MEMCHUNK_VALUE_MAX + 1;
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == -1);
  batch(t, 3, T0, 10.0);
  t[2].requests = -7; /* any negative is "absent" */
  CHECK(memchunk_encode(t, 3, blob, sizeof blob, &len) == 0);
  CHECK(memchunk_encode(t, 3, blob, 5, &len) == -1); /* no room */
}

TEST(fit_respects_count_and_span) {
  memchunk_sample s[300];
  batch(s, 300, T0, 1.0);
  CHECK_EQ_INT(memchunk_fit(s, 300), MEMCHUNK_MAX_SAMPLES);
  CHECK_EQ_INT(memchunk_fit(s, 5), 5);
  CHECK_EQ_INT(memchunk_fit(s, 1), 1);
  batch(s, 300, T0, 10.0);
  CHECK_EQ_INT(memchunk_fit(s, 300), 61); /* 0..600 s */
  batch(s, 3, T0, 1000.0);
  CHECK_EQ_INT(memchunk_fit(s, 3), 1);
}

static int decodes(const unsigned char *blob, size_t len) {
  memchunk_sample out[MEMCHUNK_MAX_SAMPLES];
  size_t n = 99;
  int rc = memchunk_decode(blob, len, out, MEMCHUNK_MAX_SAMPLES, &n);
  if (rc != 0) return n == 0 ? 0 : -1;
  /* Whatever decodes must obey the chunk's rules. */
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(out[i].ts) || out[i].rss < 0 || out[i].rss > MEMCHUNK_VALUE_MAX) return -1;
    if (i && (!(out[i].ts > out[i - 1].ts) || out[i].ts - out[0].ts > MEMCHUNK_MAX_SPAN)) return -1;
  }
  return 1;
}

TEST(decoder_refuses_short_long_and_corrupt_blobs) {
  memchunk_sample s[20];
  batch(s, 20, T0, 10.0);
  unsigned char blob[MEMCHUNK_MAX_BYTES + 1];
  size_t len;
  CHECK(memchunk_encode(s, 20, blob, MEMCHUNK_MAX_BYTES, &len) == 0);
  CHECK_EQ_INT(decodes(blob, len), 1);
  for (size_t k = 0; k < len; k++) CHECK_EQ_INT(decodes(blob, k), 0); /* every truncation */
  blob[len] = 0;
  CHECK_EQ_INT(decodes(blob, len + 1), 0); /* a trailing byte */
  CHECK_EQ_INT(decodes(NULL, 0), 0);
  memchunk_sample out[4];
  size_t n;
  CHECK(memchunk_decode(blob, len, out, 4, &n) == -1); /* more samples than room */

  unsigned char b[64];
  static const unsigned char raw_t0[8] = {0, 0, 0, 0x40, 0xfc, 0x54, 0xd9, 0x41}; /* 1.7e9 */
#define BLOB(...)                                                                                  \
  do {                                                                                             \
    const unsigned char x[] = {__VA_ARGS__};                                                       \
    memcpy(b, x, sizeof x);                                                                        \
    len = sizeof x;                                                                                \
  } while (0)
  BLOB(1, 1, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 5);
  CHECK_EQ_INT(decodes(b, len), 1); /* the minimal valid chunk */
  b[0] = 2;
  CHECK_EQ_INT(decodes(b, len), 0); /* another version */
  b[0] = 1, b[1] = 0;
  CHECK_EQ_INT(decodes(b, len), 0); /* no samples */
  b[1] = 1, b[2] = 0x30;
  CHECK_EQ_INT(decodes(b, len), 0); /* a reserved flag */
  b[2] = 0x10, b[11] = 0x80;
  CHECK_EQ_INT(decodes(b, len), 0); /* a varint running off the end */
  BLOB(1, 1, 0x00, 0x05, 5);
  CHECK_EQ_INT(decodes(b, len), 0); /* the first timestamp must be raw */
  BLOB(1, 1, 0x10, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 5);
  CHECK_EQ_INT(decodes(b, len), 0); /* infinity */
  BLOB(1, 1, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
  CHECK_EQ_INT(decodes(b, len), 0); /* rss 2^60: above 2^53 */
  BLOB(1, 1, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
  CHECK_EQ_INT(decodes(b, len), 0); /* a 10-byte varint */
  BLOB(1, 2, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 5, 0x00, 0x00, 5);
  CHECK_EQ_INT(decodes(b, len), 0); /* a zero delta: not increasing */
  BLOB(1, 2, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 5, 0x00, 0xc1, 0xcf, 0x24, 5);
  CHECK_EQ_INT(decodes(b, len), 0); /* a delta of 600.001 s: spans too much */
  BLOB(1, 2, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 5, 0x00, 0xc0, 0xcf, 0x24, 5);
  CHECK_EQ_INT(decodes(b, len), 1); /* 600 s is the limit */
  BLOB(1, 2, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5], raw_t0[6],
       raw_t0[7], 5, 0x10, raw_t0[0], raw_t0[1], raw_t0[2], raw_t0[3], raw_t0[4], raw_t0[5],
       raw_t0[6], raw_t0[7], 5);
  CHECK_EQ_INT(decodes(b, len), 0); /* a repeated raw timestamp */
#undef BLOB
}

TEST(decoder_survives_random_corruption) {
  memchunk_sample s[MEMCHUNK_MAX_SAMPLES];
  batch(s, MEMCHUNK_MAX_SAMPLES, T0, 0.25);
  unsigned char good[MEMCHUNK_MAX_BYTES], b[MEMCHUNK_MAX_BYTES];
  size_t len;
  CHECK(memchunk_encode(s, MEMCHUNK_MAX_SAMPLES, good, sizeof good, &len) == 0);
  uint64_t r = 88172645463325252ULL;
  int bad = 0;
  for (int round = 0; round < 20000; round++) {
    memcpy(b, good, len);
    for (int k = 0; k < 1 + round % 4; k++) {
      r ^= r << 13, r ^= r >> 7, r ^= r << 17;
      b[r % len] ^= (unsigned char)(1u << (r >> 32) % 8);
    }
    size_t cut = round % 5 == 0 ? (size_t)(r >> 40) % len : len;
    if (decodes(b, cut) < 0) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

int main(void) {
  RUN(round_trip_whole_seconds_is_compact);
  RUN(round_trip_optional_fields_and_extremes);
  RUN(round_trip_fractional_timestamps_exactly);
  RUN(worst_case_fits_the_bound);
  RUN(encoder_refuses_what_breaks_the_rules);
  RUN(fit_respects_count_and_span);
  RUN(decoder_refuses_short_long_and_corrupt_blobs);
  RUN(decoder_survives_random_corruption);
  TEST_EXIT();
}
