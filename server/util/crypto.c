/* crypto: SHA-256 (FIPS 180-4 section 6.2), HMAC-SHA256 (RFC 2104), standard base64
 * (RFC 4648 section 4), and random bytes from getrandom(2).
 * Pure and thread-safe: no global state; every function works on caller-owned memory.
 * Written from the specifications; the SHA-256 constants are the first 32 bits of the
 * fractional parts of the cube roots (K) and square roots (H0) of the first primes.
 * Invariant: a sha256_ctx holds at most 63 buffered bytes between calls (used < 64).
 * Not for secrets comparison: use auth_equal_ct for constant-time equality. */
#include "util/crypto.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* One application of the compression function to a 64-byte block (FIPS 180-4 6.2.2). */
static void sha256_block(uint32_t st[8], const uint8_t *blk) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = load_be32(blk + 4 * t);
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
  uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
  for (int t = 0; t < 64; t++) {
    uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + big_s1 + ch + sha256_k[t] + w[t];
    uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = big_s0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  st[0] += a;
  st[1] += b;
  st[2] += c;
  st[3] += d;
  st[4] += e;
  st[5] += f;
  st[6] += g;
  st[7] += h;
}

void sha256_init(sha256_ctx *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->state, h0, sizeof h0);
  c->bits = 0;
  c->used = 0;
}

void sha256_update(sha256_ctx *c, const void *data, size_t len) {
  const uint8_t *p = data;
  if (len == 0) return;
  c->bits += (uint64_t)len * 8;
  if (c->used) {
    size_t take = 64 - c->used;
    if (take > len) take = len;
    memcpy(c->buf + c->used, p, take);
    c->used += take;
    p += take;
    len -= take;
    if (c->used < 64) return;
    sha256_block(c->state, c->buf);
    c->used = 0;
  }
  for (; len >= 64; p += 64, len -= 64) sha256_block(c->state, p);
  memcpy(c->buf, p, len);
  c->used = len;
}

void sha256_final(sha256_ctx *c, uint8_t out[32]) {
  uint64_t bits = c->bits;
  /* Padding (FIPS 180-4 5.1.1): a 1 bit, zeros up to 56 mod 64, then the 64-bit length. */
  c->buf[c->used++] = 0x80;
  if (c->used > 56) {
    memset(c->buf + c->used, 0, 64 - c->used);
    sha256_block(c->state, c->buf);
    c->used = 0;
  }
  memset(c->buf + c->used, 0, 56 - c->used);
  store_be32(c->buf + 56, (uint32_t)(bits >> 32));
  store_be32(c->buf + 60, (uint32_t)bits);
  sha256_block(c->state, c->buf);
  for (int i = 0; i < 8; i++) store_be32(out + 4 * i, c->state[i]);
  memset(c, 0, sizeof *c);
}

void sha256(const void *data, size_t len, uint8_t out[32]) {
  sha256_ctx c;
  sha256_init(&c);
  sha256_update(&c, data, len);
  sha256_final(&c, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[32]) {
  uint8_t k0[64] = {0}, pad[64], inner[32];
  sha256_ctx c;
  /* Keys longer than the block size are hashed first (RFC 2104 section 2). */
  if (keylen > sizeof k0)
    sha256(key, keylen, k0);
  else if (keylen)
    memcpy(k0, key, keylen);

  for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x36;
  sha256_init(&c);
  sha256_update(&c, pad, sizeof pad);
  sha256_update(&c, msg, msglen);
  sha256_final(&c, inner);

  for (int i = 0; i < 64; i++) pad[i] = k0[i] ^ 0x5c;
  sha256_init(&c);
  sha256_update(&c, pad, sizeof pad);
  sha256_update(&c, inner, sizeof inner);
  sha256_final(&c, out);
  memset(k0, 0, sizeof k0);
  memset(pad, 0, sizeof pad);
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const uint8_t *in, size_t len, char *out) {
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64_alphabet[v >> 18];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = b64_alphabet[(v >> 6) & 63];
    out[o++] = b64_alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = b64_alphabet[v >> 18];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = b64_alphabet[v >> 18];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = b64_alphabet[(v >> 6) & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

/* Value of one base64 digit, or -1 for anything outside the standard alphabet. */
static int b64_value(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

/* Strict decoder: rejects characters outside the alphabet (including whitespace), '=' anywhere
 * but the end, a lone trailing digit, and non-zero bits left over in the last digit, so each
 * byte string has exactly one accepted encoding (with or without its padding). */
long base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap) {
  size_t npad = 0;
  while (npad < 2 && len > 0 && in[len - 1] == '=') {
    len--;
    npad++;
  }
  if (len % 4 == 1) return -1;
  if (npad && (len + npad) % 4 != 0) return -1;
  size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
  if (need > outcap) return -1;

  size_t o = 0, i = 0;
  for (; i + 4 <= len; i += 4) {
    int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]);
    int c = b64_value((unsigned char)in[i + 2]), d = b64_value((unsigned char)in[i + 3]);
    if ((a | b | c | d) < 0) return -1;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    out[o++] = (uint8_t)(v >> 16);
    out[o++] = (uint8_t)(v >> 8);
    out[o++] = (uint8_t)v;
  }
  size_t rest = len - i;
  if (rest) {
    int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]);
    int c = rest == 3 ? b64_value((unsigned char)in[i + 2]) : 0;
    if ((a | b | c) < 0) return -1;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
    if (rest == 2 && (v & 0xffff) != 0) return -1;
    if (rest == 3 && (v & 0xff) != 0) return -1;
    out[o++] = (uint8_t)(v >> 16);
    if (rest == 3) out[o++] = (uint8_t)(v >> 8);
  }
  return (long)o;
}

int random_bytes(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
