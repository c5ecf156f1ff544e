/* crypto: SHA-256, HMAC-SHA256, base64, and random bytes from the kernel. Hex lives in
 * util/hex.h. Written from FIPS 180-4 / RFC 2104 / RFC 4648; pure and thread-safe (random uses
 * getrandom). */
#ifndef SLUICE_CRYPTO_H
#define SLUICE_CRYPTO_H
#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
  uint32_t state[8];
  uint64_t bits;
  uint8_t buf[64];
  size_t used;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
void sha256(const void *data, size_t len, uint8_t out[32]);
void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen, uint8_t out[32]);

/* Standard base64 with padding; out must hold 4*((len+2)/3)+1 bytes. Returns chars written. */
size_t base64_encode(const uint8_t *in, size_t len, char *out);
/* Decodes standard base64 (padding optional). Returns bytes written or -1 on bad input or when
 * the result would pass outcap. */
long base64_decode(const char *in, size_t len, uint8_t *out, size_t outcap);
/* Fills buf with len random bytes from getrandom(2). Returns 0 or -1. */
int random_bytes(void *buf, size_t len);

#endif
