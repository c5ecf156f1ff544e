/* decode: undoes a request's Content-Encoding into a fresh NUL-terminated buffer. Pure; safe on
 * any thread (the event loop calls it). The output bound is enforced while inflating: the
 * buffer never grows past max_out + 1 bytes, and the first byte beyond max_out stops zlib with
 * DECODE_ERR_TOO_BIG, so a decompression bomb costs at most max_out of memory. Input is fed
 * to zlib in chunks that fit its 32-bit counters. Concatenated gzip members are accepted;
 * anything else after the end of a stream, or a stream that stops early, is corrupt. The legacy
 * raven /store/ form (base64 text of a deflate stream) is base64-decoded into a temporary
 * buffer no larger than the text and then goes through the same bounded inflate. */
#include "http/decode.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "util/errmsg.h"

#define DECODE_FIRST_CAP 16384 /* first output allocation, bytes, unless max_out is smaller */

int decode_encoding_parse(const char *value, size_t len, decode_encoding *enc) {
  static const struct {
    const char *name;
    decode_encoding enc;
  } names[] = {
      {"identity", DECODE_IDENTITY},
      {"gzip", DECODE_GZIP},
      {"x-gzip", DECODE_GZIP},
      {"deflate", DECODE_DEFLATE},
  };
  if (!value) len = 0;
  while (len > 0 && (value[0] == ' ' || value[0] == '\t')) value++, len--;
  while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t')) len--;
  if (len == 0) {
    *enc = DECODE_IDENTITY;
    return DECODE_OK;
  }
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (strlen(names[i].name) == len && strncasecmp(names[i].name, value, len) == 0) {
      *enc = names[i].enc;
      return DECODE_OK;
    }
  }
  return DECODE_ERR_UNSUPPORTED;
}

/* True when in[0..2) is a zlib (RFC 1950) header: method 8, window <= 32K, check bits. */
static bool is_zlib_header(const unsigned char *in, size_t inlen) {
  if (inlen < 2) return false;
  return (in[0] & 0x0f) == 8 && (in[0] >> 4) <= 7 && ((in[0] << 8) | in[1]) % 31 == 0;
}

/* Output state: a buffer that grows geometrically up to limit bytes (+1 for the NUL). */
typedef struct outbuf {
  char *buf;    /* malloc'd, cap + 1 bytes */
  size_t len;   /* bytes produced so far */
  size_t cap;   /* usable bytes (excluding the NUL slot) */
  size_t limit; /* max_out + 1: reaching it means the output is too big */
} outbuf;

/* Makes room for more output. Returns DECODE_OK, DECODE_ERR_TOO_BIG when cap is already at the
 * limit, or DECODE_ERR_NOMEM. */
static int outbuf_grow(outbuf *o) {
  if (o->cap >= o->limit) return DECODE_ERR_TOO_BIG;
  size_t ncap = !o->cap ? DECODE_FIRST_CAP : o->cap > o->limit / 2 ? o->limit : o->cap * 2;
  if (ncap > o->limit) ncap = o->limit;
  char *nb = realloc(o->buf, ncap + 1);
  if (!nb) return DECODE_ERR_NOMEM;
  o->buf = nb;
  o->cap = ncap;
  return DECODE_OK;
}

/* Inflates in[0..inlen) with the given zlib windowBits into o, never letting o->len pass
 * max_out + 1. gzip allows further members after the first; otherwise the stream must end
 * exactly at the end of the input. */
static int inflate_all(const unsigned char *in, size_t inlen, int window_bits, bool gzip,
                       size_t max_out, outbuf *o, char *err, size_t errlen) {
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  int zrc = inflateInit2(&zs, window_bits);
  if (zrc != Z_OK) {
    errmsg_set(err, errlen, "inflateInit2 failed (%d)", zrc);
    return zrc == Z_MEM_ERROR ? DECODE_ERR_NOMEM : DECODE_ERR_CORRUPT;
  }
  int rc = DECODE_OK;
  size_t fed = 0; /* input bytes handed to zlib so far */
  for (;;) {
    if (zs.avail_in == 0 && fed < inlen) {
      size_t chunk = inlen - fed < UINT_MAX ? inlen - fed : UINT_MAX;
      zs.next_in = (Bytef *)(in + fed);
      zs.avail_in = (uInt)chunk;
      fed += chunk;
    }
    if (o->len == o->cap && (rc = outbuf_grow(o)) != DECODE_OK) break;
    size_t room = o->cap - o->len;
    zs.next_out = (Bytef *)(o->buf + o->len);
    zs.avail_out = (uInt)(room < UINT_MAX ? room : UINT_MAX);
    uInt before = zs.avail_out;
    zrc = inflate(&zs, Z_NO_FLUSH);
    o->len += before - zs.avail_out;
    if (o->len > max_out) {
      rc = DECODE_ERR_TOO_BIG;
      break;
    }
    if (zrc == Z_OK) continue;
    if (zrc == Z_STREAM_END) {
      size_t left = zs.avail_in + (inlen - fed);
      const unsigned char *next = in + (inlen - left);
      if (left == 0) break;
      if (gzip && left >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      errmsg_set(err, errlen, "%zu bytes of trailing data after the compressed stream", left);
      rc = DECODE_ERR_CORRUPT;
      break;
    }
    if (zrc == Z_BUF_ERROR) /* no progress although all input was given */
      errmsg_set(err, errlen, "compressed stream is truncated");
    else
      errmsg_set(err, errlen, "bad compressed data: %s",
                 zrc == Z_NEED_DICT ? "needs a preset dictionary"
                 : zs.msg           ? zs.msg
                                    : "zlib error");
    rc = zrc == Z_MEM_ERROR ? DECODE_ERR_NOMEM : DECODE_ERR_CORRUPT;
    break;
  }
  inflateEnd(&zs);
  if (rc == DECODE_ERR_TOO_BIG)
    errmsg_set(err, errlen, "decoded body is larger than %zu bytes", max_out);
  else if (rc == DECODE_ERR_NOMEM)
    errmsg_set(err, errlen, "out of memory while decoding");
  return rc;
}

int decode_body(decode_encoding enc, const char *in, size_t inlen, size_t max_out, char **out,
                size_t *outlen, char *err, size_t errlen) {
  outbuf o = {.limit = max_out < SIZE_MAX - 1 ? max_out + 1 : SIZE_MAX - 1};
  int rc;
  *out = NULL;
  *outlen = 0;
  errmsg_set(err, errlen, "%s", "");
  if (!in) inlen = 0;

  switch (enc) {
  case DECODE_IDENTITY:
    if (inlen > max_out) {
      errmsg_set(err, errlen, "body is larger than %zu bytes", max_out);
      return DECODE_ERR_TOO_BIG;
    }
    o.buf = malloc(inlen + 1);
    if (!o.buf) {
      errmsg_set(err, errlen, "out of memory while decoding");
      return DECODE_ERR_NOMEM;
    }
    if (inlen) memcpy(o.buf, in, inlen);
    o.len = inlen;
    rc = DECODE_OK;
    break;
  case DECODE_GZIP:
  case DECODE_DEFLATE: {
    const unsigned char *u = (const unsigned char *)in;
    if (inlen == 0) {
      errmsg_set(err, errlen, "empty body with Content-Encoding %s",
                 enc == DECODE_GZIP ? "gzip" : "deflate");
      return DECODE_ERR_CORRUPT;
    }
    bool gzip = enc == DECODE_GZIP;
    int bits = gzip ? 16 + MAX_WBITS : is_zlib_header(u, inlen) ? MAX_WBITS : -MAX_WBITS;
    rc = inflate_all(u, inlen, bits, gzip, max_out, &o, err, errlen);
    break;
  }
  default:
    errmsg_set(err, errlen, "unsupported encoding %d", (int)enc);
    return DECODE_ERR_UNSUPPORTED;
  }

  if (rc != DECODE_OK) {
    free(o.buf);
    return rc;
  }
  assert(o.buf); /* identity allocates; inflate_all grows the buffer before its first call */
  o.buf[o.len] = '\0';
  *out = o.buf;
  *outlen = o.len;
  return DECODE_OK;
}

/* Value of a base64 digit (standard "+/" or URL-safe "-_" alphabet), or -1. */
static int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decodes base64 text in[0..inlen) into out, which has room for inlen / 4 * 3 + 3 bytes.
 * Whitespace is skipped anywhere; '=' may only end the text (at most two, and only blanks after
 * them); missing padding is accepted; a lone final digit (6 bits) is not. Returns
 * DECODE_OK with *outlen set, or DECODE_ERR_CORRUPT with err saying where. */
static int base64_decode(const char *in, size_t inlen, unsigned char *out, size_t *outlen,
                         char *err, size_t errlen) {
  uint32_t acc = 0; /* pending bits, most significant first */
  int nbits = 0;    /* how many bits of acc are pending */
  size_t digits = 0, n = 0, pad = 0;
  for (size_t i = 0; i < inlen; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      if (++pad > 2) {
        errmsg_set(err, errlen, "invalid base64: too much '=' padding at byte %zu", i);
        return DECODE_ERR_CORRUPT;
      }
      continue;
    }
    int v = base64_value(c);
    if (v < 0 || pad) {
      if (v < 0)
        errmsg_set(err, errlen, "invalid base64 character 0x%02x at byte %zu", c, i);
      else
        errmsg_set(err, errlen, "invalid base64: data after '=' padding at byte %zu", i);
      return DECODE_ERR_CORRUPT;
    }
    acc = (acc << 6) | (uint32_t)v;
    nbits += 6;
    digits++;
    if (nbits >= 8) {
      nbits -= 8;
      out[n++] = (unsigned char)(acc >> nbits);
      acc &= (1u << nbits) - 1;
    }
  }
  if (digits % 4 == 1) {
    errmsg_set(err, errlen, "invalid base64: truncated (%zu digits)", digits);
    return DECODE_ERR_CORRUPT;
  }
  if (pad && (digits + pad) % 4 != 0) {
    errmsg_set(err, errlen, "invalid base64: wrong '=' padding");
    return DECODE_ERR_CORRUPT;
  }
  *outlen = n;
  return DECODE_OK;
}

int decode_legacy_store(const char *in, size_t inlen, size_t max_out, char **out, size_t *outlen,
                        char *err, size_t errlen) {
  *out = NULL;
  *outlen = 0;
  errmsg_set(err, errlen, "%s", "");
  if (!in) inlen = 0;
  unsigned char *raw = malloc(inlen / 4 * 3 + 3);
  if (!raw) {
    errmsg_set(err, errlen, "out of memory while decoding");
    return DECODE_ERR_NOMEM;
  }
  size_t n = 0;
  int rc = base64_decode(in, inlen, raw, &n, err, errlen);
  if (rc == DECODE_OK && n == 0) {
    errmsg_set(err, errlen, "empty body");
    rc = DECODE_ERR_CORRUPT;
  }
  if (rc == DECODE_OK) {
    size_t skip = 0; /* plain base64(JSON): leading whitespace, then '{' */
    while (skip < n &&
           (raw[skip] == ' ' || raw[skip] == '\t' || raw[skip] == '\r' || raw[skip] == '\n'))
      skip++;
    decode_encoding enc = skip < n && raw[skip] == '{'                 ? DECODE_IDENTITY
                          : n >= 2 && raw[0] == 0x1f && raw[1] == 0x8b ? DECODE_GZIP
                                                                       : DECODE_DEFLATE;
    rc = decode_body(enc, (const char *)raw, n, max_out, out, outlen, err, errlen);
  }
  free(raw);
  return rc;
}
