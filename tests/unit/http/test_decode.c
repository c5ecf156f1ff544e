/* test_decode: unit tests for Content-Encoding handling: header value parsing, identity, gzip
 * (single and concatenated members), zlib-wrapped and raw deflate, every corruption path
 * (truncation, trailing data, bad CRC, preset dictionary, not compressed at all), the output
 * bound at and around max_out, and a decompression bomb that must be cut off while inflating
 * (checked through the process's peak RSS). Compressed inputs are made here with zlib. The
 * legacy raven /store/ form base64(zlib(JSON)): every base64 variant and error, the same bounds,
 * and the bodies captured from raven-go, raven-node and sentry-raven in fixtures/legacy/. */
#include <dirent.h>
#include <stdint.h>
#include <sys/resource.h>
#include <zlib.h>

#include "http/decode.h"
#include "testutil.h"

static char errbuf[256];

/* A test-only "encoding" that makes expect_ok/expect_err call decode_legacy_store. */
#define LEGACY ((decode_encoding)100)

/* decode_body, or decode_legacy_store for LEGACY. */
static int decode_any(decode_encoding enc, const void *in, size_t inlen, size_t max_out, char **out,
                      size_t *outlen) {
  if (enc == LEGACY)
    return decode_legacy_store(in, inlen, max_out, out, outlen, errbuf, sizeof(errbuf));
  return decode_body(enc, in, inlen, max_out, out, outlen, errbuf, sizeof(errbuf));
}

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
  int rc = decode_any(enc, in, inlen, max_out, &out, &outlen);
  if (rc != DECODE_OK) fprintf(stderr, "  decode: %d %s\n", rc, errbuf);
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
  int rc = decode_any(enc, in, inlen, max_out, &out, &outlen);
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

/* --- legacy raven /store/ bodies ---------------------------------------------------------- */

/* Base64 of in[0..n) as a malloc'd NUL-terminated string: standard alphabet with padding, or
 * URL-safe without it; a newline every wrap digits when wrap > 0 (MIME style). */
static char *b64(const void *in, size_t n, int urlsafe, size_t wrap) {
  const char *abc = urlsafe ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *u = in;
  size_t cap = (n + 2) / 3 * 4 * 2 + 2, len = 0, digits = 0;
  char *out = malloc(cap);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)u[i] << 16 | (i + 1 < n ? (uint32_t)u[i + 1] << 8 : 0) |
                 (i + 2 < n ? u[i + 2] : 0);
    size_t emit = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
    for (size_t k = 0; k < 4; k++) {
      if (k >= emit && urlsafe) break;
      out[len++] = k < emit ? abc[(v >> (18 - 6 * k)) & 63] : '=';
      if (wrap && ++digits % wrap == 0) out[len++] = '\n';
    }
  }
  out[len] = '\0';
  return out;
}

TEST(legacy_zlib_raw_gzip_and_plain) {
  int bits[] = {15, -15, 31};
  for (size_t i = 0; i < 3; i++) {
    size_t n;
    unsigned char *z = compress_with(text, TEXT_LEN, bits[i], &n, NULL);
    char *t = b64(z, n, 0, 0);
    expect_ok(LEGACY, t, strlen(t), 1 << 20, text, TEXT_LEN);
    free(t);
    t = b64(z, n, 1, 0); /* URL-safe, no padding */
    expect_ok(LEGACY, t, strlen(t), 1 << 20, text, TEXT_LEN);
    free(t);
    t = b64(z, n, 0, 76); /* MIME lines, as Ruby's Base64.encode64 makes */
    CHECK(strchr(t, '\n') != NULL);
    expect_ok(LEGACY, t, strlen(t), 1 << 20, text, TEXT_LEN);
    free(t);
    free(z);
  }
  char *t = b64(text, TEXT_LEN, 0, 0); /* base64 of plain JSON */
  expect_ok(LEGACY, t, strlen(t), 1 << 20, text, TEXT_LEN);
  free(t);
  t = b64(" \n{}", 4, 0, 0);
  expect_ok(LEGACY, t, strlen(t), 10, " \n{}", 4);
  free(t);
  /* surrounding blanks are ignored */
  size_t n;
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  char *enc = b64(z, n, 0, 0), padded[512];
  snprintf(padded, sizeof padded, "\r\n  %s \n", enc);
  expect_ok(LEGACY, padded, strlen(padded), 1 << 20, text, TEXT_LEN);
  free(enc);
  free(z);
}

TEST(legacy_bad_base64) {
  expect_err(LEGACY, "eJ!x", 4, 100, DECODE_ERR_CORRUPT, "invalid base64 character 0x21 at byte 2");
  expect_err(LEGACY, "[1,2]", 5, 100, DECODE_ERR_CORRUPT,
             "invalid base64 character 0x5b at byte 0");
  expect_err(LEGACY, "eJx=a", 5, 100, DECODE_ERR_CORRUPT, "data after '=' padding at byte 4");
  expect_err(LEGACY, "eJ===", 5, 100, DECODE_ERR_CORRUPT, "too much '=' padding");
  expect_err(LEGACY, "eJxab", 5, 100, DECODE_ERR_CORRUPT, "truncated (5 digits)");
  expect_err(LEGACY, "eJx==", 5, 100, DECODE_ERR_CORRUPT, "wrong '=' padding");
  expect_err(LEGACY, "", 0, 100, DECODE_ERR_CORRUPT, "empty body");
  expect_err(LEGACY, NULL, 0, 100, DECODE_ERR_CORRUPT, "empty body");
  expect_err(LEGACY, " \n=", 3, 100, DECODE_ERR_CORRUPT, "");
}

TEST(legacy_bad_stream) {
  /* valid base64 of something that is neither a deflate stream nor JSON */
  char *t = b64("hello, world", 12, 0, 0);
  expect_err(LEGACY, t, strlen(t), 100, DECODE_ERR_CORRUPT, "bad compressed data");
  free(t);
  size_t n;
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  t = b64(z, n - 3, 0, 0); /* truncated zlib stream */
  expect_err(LEGACY, t, strlen(t), 1 << 20, DECODE_ERR_CORRUPT, "");
  free(t);
  z[n - 1] ^= 0xff; /* Adler-32 */
  t = b64(z, n, 0, 0);
  expect_err(LEGACY, t, strlen(t), 1 << 20, DECODE_ERR_CORRUPT, "incorrect data check");
  free(t);
  free(z);
}

TEST(legacy_output_bound) {
  size_t n;
  unsigned char *z = compress_with(text, TEXT_LEN, 15, &n, NULL);
  char *t = b64(z, n, 0, 0);
  expect_ok(LEGACY, t, strlen(t), TEXT_LEN, text, TEXT_LEN);
  expect_err(LEGACY, t, strlen(t), TEXT_LEN - 1, DECODE_ERR_TOO_BIG, "larger than");
  free(t);
  free(z);
  t = b64(text, TEXT_LEN, 0, 0);
  expect_err(LEGACY, t, strlen(t), TEXT_LEN - 1, DECODE_ERR_TOO_BIG, "larger than");
  free(t);
}

TEST(legacy_bomb_is_cut_off_while_inflating) {
  size_t n;
  unsigned char *z = zero_bomb((size_t)128 << 20, 15, &n);
  char *t = b64(z, n, 0, 0);
  free(z);
  long before = peak_rss_kb();
  expect_err(LEGACY, t, strlen(t), 1 << 20, DECODE_ERR_TOO_BIG, "larger than 1048576 bytes");
  long grew = peak_rss_kb() - before;
  if (grew > 64 * 1024) fprintf(stderr, "  peak RSS grew by %ld KiB\n", grew);
  CHECK(grew <= 64 * 1024);
  free(t);
}

/* Reads a whole file into a malloc'd buffer; NULL on error. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Every octet-stream body captured from a legacy client decodes to a JSON event. */
TEST(legacy_captured_bodies) {
  static const char *const clients[] = {"raven-go-0.2.0", "raven-node-2.6.4", "sentry-raven-3.1.2"};
  size_t legacy = 0;
  for (size_t c = 0; c < sizeof(clients) / sizeof(clients[0]); c++) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/legacy/%s", SLUICE_FIXTURES, clients[c]);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) continue;
    size_t seen = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      size_t nl = strlen(de->d_name);
      if (nl < 6 || strcmp(de->d_name + nl - 5, ".head")) continue;
      char path[1024];
      size_t hlen, blen;
      snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
      char *head = slurp(path, &hlen);
      snprintf(path, sizeof path, "%s/%.*s.body", dir, (int)(nl - 5), de->d_name);
      char *body = slurp(path, &blen);
      CHECK(head && body);
      if (head && body && strstr(head, "application/octet-stream")) {
        CHECK(strstr(head, "sentry_secret=") != NULL);
        char *out = NULL;
        size_t outlen = 0;
        int rc = decode_legacy_store(body, blen, 1 << 20, &out, &outlen, errbuf, sizeof errbuf);
        if (rc) fprintf(stderr, "  %s: %s\n", path, errbuf);
        CHECK_EQ_INT(rc, DECODE_OK);
        CHECK(out && out[0] == '{' && out[outlen - 1] == '}' && strstr(out, "\"event_id\""));
        free(out);
        seen++;
      }
      free(head);
      free(body);
    }
    closedir(d);
    CHECK(seen > 0); /* every client sent at least one legacy body */
    legacy += seen;
  }
  CHECK_EQ_INT(legacy, 5); /* raven-go's short message is plain JSON */
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
  RUN(legacy_zlib_raw_gzip_and_plain);
  RUN(legacy_bad_base64);
  RUN(legacy_bad_stream);
  RUN(legacy_output_bound);
  RUN(legacy_bomb_is_cut_off_while_inflating);
  RUN(legacy_captured_bodies);
  TEST_EXIT();
}
