/* decode: undoes Content-Encoding (identity, gzip, deflate zlib-wrapped or raw) with a hard
 * bound on the output, so a decompression bomb is cut off while inflating; and the legacy raven
 * /store/ body form base64(zlib(JSON)). Pure; any thread. */
#ifndef SLUICE_DECODE_H
#define SLUICE_DECODE_H
#include <stddef.h>

typedef enum decode_encoding {
  DECODE_IDENTITY = 0,
  DECODE_GZIP,
  DECODE_DEFLATE, /* zlib-wrapped or raw, detected from the first bytes */
} decode_encoding;

enum {
  DECODE_OK = 0,
  DECODE_ERR_UNSUPPORTED = -1, /* unknown Content-Encoding: 415 */
  DECODE_ERR_CORRUPT = -2,     /* bad compressed data: 400 */
  DECODE_ERR_TOO_BIG = -3,     /* output would pass max_out: 413 */
  DECODE_ERR_NOMEM = -4,
};

/* Maps a Content-Encoding header value ("identity", "gzip", "x-gzip", "deflate";
 * case-insensitive, surrounding spaces ignored; NULL or empty means identity) to *enc. Returns
 * DECODE_OK or DECODE_ERR_UNSUPPORTED (also for lists such as "gzip, br"); *enc is untouched
 * on error. */
int decode_encoding_parse(const char *value, size_t len, decode_encoding *enc);

/* Decodes in[0..inlen) into a malloc'd buffer *out of *outlen bytes, NUL-terminated (the NUL
 * is not counted). For identity it still copies (callers may free both uniformly). Output
 * longer than max_out bytes is DECODE_ERR_TOO_BIG, detected while inflating (memory stays
 * within max_out + 2). Concatenated gzip members are joined; an empty compressed body, a
 * truncated stream, a bad checksum or trailing bytes after the stream are DECODE_ERR_CORRUPT.
 * Returns DECODE_OK or a DECODE_ERR_*; on error *out is NULL, *outlen 0, and err[errlen] (may
 * be NULL) says what was wrong. */
int decode_body(decode_encoding enc, const char *in, size_t inlen, size_t max_out, char **out,
                size_t *outlen, char *err, size_t errlen);

/* Decodes a legacy raven /store/ body (raven-node, raven-go, the sentry-raven gem send
 * base64(zlib(JSON)) without Content-Encoding): in[0..inlen) is base64 text (standard or
 * URL-safe alphabet, '=' padding optional, whitespace ignored) whose bytes are a zlib-wrapped,
 * raw or gzip deflate stream, or plain JSON starting with '{' (after whitespace). Same output,
 * bound and return convention as decode_body: the inflated output is cut off past max_out
 * (DECODE_ERR_TOO_BIG), bad base64 or a bad stream is DECODE_ERR_CORRUPT with err saying which
 * ("invalid base64 character 0x21 at byte 3", "bad compressed data: ..."). The base64-decoded
 * bytes are a temporary buffer of at most inlen * 3 / 4 + 3 bytes. */
int decode_legacy_store(const char *in, size_t inlen, size_t max_out, char **out, size_t *outlen,
                        char *err, size_t errlen);

#endif
