/* test_decode: unit tests for Content-Encoding handling: header value parsing, identity, gzip
 * (single and concatenated members), zlib-wrapped and raw deflate, every corruption path
 * (truncation, trailing data, bad CRC, preset dictionary, not compressed at all), the output
 * bound at and around max_out, and a decompression bomb that must be cut off while inflating
 * (checked through the process's peak RSS). Compressed inputs are made here with zlib. */
#include <sys/resource.h>
#include <zlib.h>

#include "http/decode.h"
#include "testutil.h"

static char errbuf[256];

/* Compresses in[0..n) with the given windowBits (31 gzip, 15 zlib, -15 raw) into a malloc'd
 * buffer; *outlen gets its size. An optional dictionary is set for zlib streams. */
static unsigned char *compress_with(const void *in, size_t n, int bits, size_t *outlen,
                                    const char *dict) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  if (dict) deflateSetDictionary(&zs, (const Bytef *)dict, (uInt)strlen(dict));
  size_t cap = deflateBound(&zs, (uLong)n) + 64;
  unsigned char *out = malloc(cap);
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)n;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  int rc = deflate(&zs, Z_FINISH);
  *outlen = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

/* Decodes and expects success with exactly want[0..wantlen). */
static void expect_ok(decode_encoding enc, const void *in, size_t inlen, size_t max_out,
                      const void *want, size_t wantlen) {
  char *out = (char *)1;
  size_t outlen = 99;
  errbuf[0] = '\0';
  int rc = decode_body(enc, in, inlen, max_out, &out, &outlen, errbuf, sizeof(errbuf));
  if (rc != DECODE_OK) fprintf(stderr, "  decode_body: %d %s\n", rc, errbuf);
  CHECK_EQ_INT(rc, DECODE_OK);
  CHECK(out != NULL);
  if (rc == DECODE_OK && out) {
    CHECK_EQ_INT(outlen, wantlen);
    CHECK(outlen == wantlen && memcmp(out, want, wantlen) == 0);
    CHECK_EQ_INT(out[outlen], '\0');
    CHECK((const void *)out != in);
  }
  free(out);
}

/* Decodes and expects the error code rc with a message containing want. */
static void expect_err(decode_encoding enc, const void *in, size_t inlen, size_t max_out,
                       int want_rc, const char *want) {
  char *out = (char *)1;
  size_t outlen = 99;
  errbuf[0] = '\0';
  int rc = decode_body(enc, in, inlen, max_out, &out, &outlen, errbuf, sizeof(errbuf));
  CHECK_EQ_INT(rc, want_rc);
  CHECK(out == NULL);
  CHECK_EQ_INT(outlen, 0);
  if (!strstr(errbuf, want)) {
    fprintf(stderr, "  error \"%s\" does not contain \"%s\"\n", errbuf, want);
    CHECK(strstr(errbuf, want) != NULL);
  }
  if (rc == DECODE_OK) free(out);
}

static const char text[] =
    "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"message\":\"hello\"}";
#define TEXT_LEN (sizeof(text) - 1)

TEST(encoding_parse_known_values) {
  decode_encoding e = (decode_encoding)99;
  CHECK_EQ_INT(decode_encoding_parse("gzip", 4, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_GZIP);
  CHECK_EQ_INT(decode_encoding_parse("GZip", 4, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_GZIP);
  CHECK_EQ_INT(decode_encoding_parse(" \tx-gzip ", 9, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_GZIP);
  CHECK_EQ_INT(decode_encoding_parse("Deflate\t", 8, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_DEFLATE);
  CHECK_EQ_INT(decode_encoding_parse("IDENTITY", 8, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_IDENTITY);
  e = DECODE_GZIP;
  CHECK_EQ_INT(decode_encoding_parse("", 0, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_IDENTITY);
  e = DECODE_GZIP;
  CHECK_EQ_INT(decode_encoding_parse(NULL, 0, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_IDENTITY);
  e = DECODE_GZIP;
  CHECK_EQ_INT(decode_encoding_parse("   ", 3, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_IDENTITY);
  /* only len bytes are looked at */
  CHECK_EQ_INT(decode_encoding_parse("gzipped", 4, &e), DECODE_OK);
  CHECK_EQ_INT(e, DECODE_GZIP);
}

TEST(encoding_parse_unsupported) {
  decode_encoding e = DECODE_IDENTITY;
  CHECK_EQ_INT(decode_encoding_parse("br", 2, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(decode_encoding_parse("zstd", 4, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(decode_encoding_parse("gzip, deflate", 13, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(decode_encoding_parse("gzipx", 5, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(decode_encoding_parse("gzi", 3, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(decode_encoding_parse("g zip", 5, &e), DECODE_ERR_UNSUPPORTED);
  CHECK_EQ_INT(e, DECODE_IDENTITY); /* untouched on error */
}

TEST(identity_copies) {
  expect_ok(DECODE_IDENTITY, text, TEXT_LEN, TEXT_LEN, text, TEXT_LEN);
  expect_ok(DECODE_IDENTITY, "a\0b", 3, 3, "a\0b", 3);
  expect_ok(DECODE_IDENTITY, "", 0, 0, "", 0);
  expect_ok(DECODE_IDENTITY, NULL, 0, 10, "", 0);
  expect_err(DECODE_IDENTITY, text, TEXT_LEN, TEXT_LEN - 1, DECODE_ERR_TOO_BIG, "larger than");
}

TEST(gzip_round_trip) {
  size_t n;
  unsigned char *gz = compress_with(text, TEXT_LEN, 31, &n, NULL);
  CHECK(gz && gz[0] == 0x1f && gz[1] == 0x8b);
  expect_ok(DECODE_GZIP, gz, n, 1 << 20, text, TEXT_LEN);
  free(gz);
  /* an empty gzip member is a valid empty body */
  gz = compress_with("", 0, 31, &n, NULL);
  expect_ok(DECODE_GZIP, gz, n, 0, "", 0);
  free(gz);
}

TEST(deflate_zlib_and_raw) {
  size_t n;
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  CHECK(z && ((z[0] << 8) | z[1]) % 31 == 0);
  expect_ok(DECODE_DEFLATE, z, n, 1 << 20, text, TEXT_LEN);
  free(z);
  unsigned char *raw = compress_with(text, TEXT_LEN, -15, &n, NULL);
  expect_ok(DECODE_DEFLATE, raw, n, 1 << 20, text, TEXT_LEN);
  free(raw);
  /* raw streams from other window sizes decode too */
  raw = compress_with(text, TEXT_LEN, -9, &n, NULL);
  expect_ok(DECODE_DEFLATE, raw, n, 1 << 20, text, TEXT_LEN);
  free(raw);
  /* zlib-wrapped with a small window */
  z = compress_with(text, TEXT_LEN, 9, &n, NULL);
  expect_ok(DECODE_DEFLATE, z, n, 1 << 20, text, TEXT_LEN);
  free(z);
  /* a stored (uncompressed) raw block */
  static const unsigned char stored[] = {0x01, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'};
  expect_ok(DECODE_DEFLATE, stored, sizeof(stored), 3, "abc", 3);
}

TEST(large_output_grows_buffer) {
  size_t big = 3 * 1024 * 1024 + 17, n;
  char *src = malloc(big);
  for (size_t i = 0; i < big; i++) src[i] = (char)('a' + (i * 7 + i / 1000) % 26);
  unsigned char *gz = compress_with(src, big, 31, &n, NULL);
  expect_ok(DECODE_GZIP, gz, n, big, src, big);
  expect_err(DECODE_GZIP, gz, n, big - 1, DECODE_ERR_TOO_BIG, "larger than");
  free(gz);
  unsigned char *raw = compress_with(src, big, -15, &n, NULL);
  expect_ok(DECODE_DEFLATE, raw, n, big + 100, src, big);
  free(raw);
  free(src);
}

TEST(output_bound_is_exact) {
  size_t n;
  unsigned char *gz = compress_with(text, TEXT_LEN, 31, &n, NULL);
  expect_ok(DECODE_GZIP, gz, n, TEXT_LEN, text, TEXT_LEN);
  expect_err(DECODE_GZIP, gz, n, TEXT_LEN - 1, DECODE_ERR_TOO_BIG, "larger than 64 bytes");
  expect_err(DECODE_GZIP, gz, n, 0, DECODE_ERR_TOO_BIG, "larger than 0 bytes");
  free(gz);
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  expect_ok(DECODE_DEFLATE, z, n, TEXT_LEN, text, TEXT_LEN);
  expect_err(DECODE_DEFLATE, z, n, TEXT_LEN - 1, DECODE_ERR_TOO_BIG, "larger than");
  free(z);
}

TEST(gzip_concatenated_members) {
  size_t n1, n2;
  unsigned char *a = compress_with("hello ", 6, 31, &n1, NULL);
  unsigned char *b = compress_with("world", 5, 31, &n2, NULL);
  unsigned char *ab = malloc(n1 + n2 + n1);
  memcpy(ab, a, n1);
  memcpy(ab + n1, b, n2);
  expect_ok(DECODE_GZIP, ab, n1 + n2, 100, "hello world", 11);
  memcpy(ab + n1 + n2, a, n1);
  expect_ok(DECODE_GZIP, ab, n1 + n2 + n1, 100, "hello worldhello ", 17);
  expect_err(DECODE_GZIP, ab, n1 + n2 + n1, 16, DECODE_ERR_TOO_BIG, "larger than");
  /* a second member cut short is still corrupt */
  expect_err(DECODE_GZIP, ab, n1 + n2 - 3, 100, DECODE_ERR_CORRUPT, "truncated");
  /* only gzip allows a second stream: two zlib streams back to back are trailing data */
  free(a);
  free(b);
  a = compress_with("x", 1, 15, &n1, NULL);
  memcpy(ab, a, n1);
  memcpy(ab + n1, a, n1);
  expect_err(DECODE_DEFLATE, ab, n1 * 2, 100, DECODE_ERR_CORRUPT, "trailing data");
  free(a);
  free(ab);
}

TEST(corrupt_trailing_garbage) {
  size_t n;
  unsigned char *gz = compress_with(text, TEXT_LEN, 31, &n, NULL);
  unsigned char *buf = malloc(n + 8);
  memcpy(buf, gz, n);
  memcpy(buf + n, "garbage!", 8);
  expect_err(DECODE_GZIP, buf, n + 8, 1 << 20, DECODE_ERR_CORRUPT, "8 bytes of trailing data");
  memset(buf + n, 0, 8);
  expect_err(DECODE_GZIP, buf, n + 8, 1 << 20, DECODE_ERR_CORRUPT, "trailing data");
  buf[n] = 0x1f; /* a lone magic byte is not a member */
  expect_err(DECODE_GZIP, buf, n + 1, 1 << 20, DECODE_ERR_CORRUPT, "1 bytes of trailing data");
  free(gz);
  unsigned char *raw = compress_with(text, TEXT_LEN, -15, &n, NULL);
  memcpy(buf, raw, n);
  buf[n] = 'x';
  expect_err(DECODE_DEFLATE, buf, n + 1, 1 << 20, DECODE_ERR_CORRUPT, "trailing data");
  free(raw);
  free(buf);
}

TEST(corrupt_truncated) {
  size_t n;
  unsigned char *gz = compress_with(text, TEXT_LEN, 31, &n, NULL);
  expect_err(DECODE_GZIP, gz, n - 4, 1 << 20, DECODE_ERR_CORRUPT, "truncated"); /* no ISIZE */
  expect_err(DECODE_GZIP, gz, n - 8, 1 << 20, DECODE_ERR_CORRUPT, "truncated"); /* no trailer */
  expect_err(DECODE_GZIP, gz, n / 2, 1 << 20, DECODE_ERR_CORRUPT, "truncated");
  expect_err(DECODE_GZIP, gz, 10, 1 << 20, DECODE_ERR_CORRUPT, "truncated"); /* header only */
  expect_err(DECODE_GZIP, gz, 1, 1 << 20, DECODE_ERR_CORRUPT, "truncated");
  free(gz);
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  expect_err(DECODE_DEFLATE, z, n - 1, 1 << 20, DECODE_ERR_CORRUPT, "truncated");
  free(z);
  unsigned char *raw = compress_with(text, TEXT_LEN, -15, &n, NULL);
  expect_err(DECODE_DEFLATE, raw, n - 1, 1 << 20, DECODE_ERR_CORRUPT, "truncated");
  free(raw);
}

TEST(corrupt_empty_input) {
  expect_err(DECODE_GZIP, "", 0, 100, DECODE_ERR_CORRUPT, "empty body with Content-Encoding gzip");
  expect_err(DECODE_DEFLATE, NULL, 0, 100, DECODE_ERR_CORRUPT,
             "empty body with Content-Encoding deflate");
}

TEST(corrupt_bad_data) {
  /* plain JSON sent with Content-Encoding: gzip */
  expect_err(DECODE_GZIP, text, TEXT_LEN, 1 << 20, DECODE_ERR_CORRUPT, "bad compressed data");
  /* and with deflate: '{' is not a zlib header, and 0x7b starts an invalid raw block type */
  expect_err(DECODE_DEFLATE, text, TEXT_LEN, 1 << 20, DECODE_ERR_CORRUPT, "bad compressed data");
  size_t n;
  unsigned char *gz = compress_with(text, TEXT_LEN, 31, &n, NULL);
  gz[n - 6] ^= 0xff; /* CRC32 of the trailer */
  expect_err(DECODE_GZIP, gz, n, 1 << 20, DECODE_ERR_CORRUPT, "incorrect data check");
  gz[n - 6] ^= 0xff;
  gz[n - 2] ^= 0x01; /* ISIZE */
  expect_err(DECODE_GZIP, gz, n, 1 << 20, DECODE_ERR_CORRUPT, "incorrect length check");
  gz[n - 2] ^= 0x01;
  gz[2] = 7; /* compression method other than deflate */
  expect_err(DECODE_GZIP, gz, n, 1 << 20, DECODE_ERR_CORRUPT, "unknown compression method");
  free(gz);
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  z[n - 1] ^= 0xff; /* Adler-32 */
  expect_err(DECODE_DEFLATE, z, n, 1 << 20, DECODE_ERR_CORRUPT, "incorrect data check");
  free(z);
}

TEST(corrupt_preset_dictionary) {
  size_t n;
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, "event_id message hello");
  CHECK(z && (z[1] & 0x20)); /* FDICT set */
  expect_err(DECODE_DEFLATE, z, n, 1 << 20, DECODE_ERR_CORRUPT, "preset dictionary");
  free(z);
}

TEST(unsupported_enum_value) {
  expect_err((decode_encoding)42, text, TEXT_LEN, 1 << 20, DECODE_ERR_UNSUPPORTED, "unsupported");
}

TEST(error_buffer_may_be_null) {
  char *out = (char *)1;
  size_t outlen = 5;
  CHECK_EQ_INT(decode_body(DECODE_GZIP, text, TEXT_LEN, 100, &out, &outlen, NULL, 0),
               DECODE_ERR_CORRUPT);
  CHECK(out == NULL);
  char tiny[4];
  CHECK_EQ_INT(decode_body(DECODE_IDENTITY, text, TEXT_LEN, 1, &out, &outlen, tiny, sizeof(tiny)),
               DECODE_ERR_TOO_BIG);
  CHECK_EQ_INT(strlen(tiny), 3);
  CHECK_EQ_INT(decode_body(DECODE_IDENTITY, text, TEXT_LEN, 100, &out, &outlen, NULL, 0),
               DECODE_OK);
  free(out);
}

static long peak_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Deflates `total` zero bytes in one stream without holding them in memory. */
static unsigned char *zero_bomb(size_t total, int bits, size_t *outlen) {
  static char zeros[1 << 20];
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 9, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY);
  size_t cap = total / 500 + 4096, done = 0;
  unsigned char *out = malloc(cap);
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  while (done < total) {
    size_t chunk = total - done < sizeof(zeros) ? total - done : sizeof(zeros);
    zs.next_in = (Bytef *)zeros;
    zs.avail_in = (uInt)chunk;
    done += chunk;
    deflate(&zs, done == total ? Z_FINISH : Z_NO_FLUSH);
  }
  *outlen = zs.total_out;
  deflateEnd(&zs);
  return out;
}

TEST(bomb_is_cut_off_while_inflating) {
  /* 256 MiB of zeros compress to about 256 KiB. If decode_body inflated all of it before
   * checking, the peak RSS would grow by 256 MiB; the bound must stop it near max_out. */
  size_t total = (size_t)256 << 20, n;
  unsigned char *gz = zero_bomb(total, 31, &n);
  CHECK(n < total / 500);
  long before = peak_rss_kb();
  expect_err(DECODE_GZIP, gz, n, 1 << 20, DECODE_ERR_TOO_BIG, "larger than 1048576 bytes");
  long grew = peak_rss_kb() - before;
  if (grew > 64 * 1024) fprintf(stderr, "  peak RSS grew by %ld KiB\n", grew);
  CHECK(grew <= 64 * 1024);
  free(gz);
  unsigned char *raw = zero_bomb((size_t)64 << 20, -15, &n);
  expect_err(DECODE_DEFLATE, raw, n, 4096, DECODE_ERR_TOO_BIG, "larger than 4096 bytes");
  free(raw);
}

TEST(bomb_of_many_members) {
  /* each member is small, but together they pass the bound */
  size_t n;
  unsigned char *one = zero_bomb((size_t)1 << 20, 31, &n);
  size_t members = 64;
  unsigned char *many = malloc(n * members);
  for (size_t i = 0; i < members; i++) memcpy(many + i * n, one, n);
  expect_err(DECODE_GZIP, many, n * members, (size_t)8 << 20, DECODE_ERR_TOO_BIG, "larger than");
  char *out;
  size_t outlen;
  CHECK_EQ_INT(
      decode_body(DECODE_GZIP, (const char *)many, n * 8, (size_t)8 << 20, &out, &outlen, NULL, 0),
      DECODE_OK);
  CHECK_EQ_INT(outlen, (size_t)8 << 20);
  free(out);
  free(many);
  free(one);
}

int main(void) {
  RUN(encoding_parse_known_values);
  RUN(encoding_parse_unsupported);
  RUN(identity_copies);
  RUN(gzip_round_trip);
  RUN(deflate_zlib_and_raw);
  RUN(large_output_grows_buffer);
  RUN(output_bound_is_exact);
  RUN(gzip_concatenated_members);
  RUN(corrupt_trailing_garbage);
  RUN(corrupt_truncated);
  RUN(corrupt_empty_input);
  RUN(corrupt_bad_data);
  RUN(corrupt_preset_dictionary);
  RUN(unsupported_enum_value);
  RUN(error_buffer_may_be_null);
  RUN(bomb_is_cut_off_while_inflating);
  RUN(bomb_of_many_members);
  TEST_EXIT();
}
