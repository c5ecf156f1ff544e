/* test_crypto: SHA-256 against the FIPS 180-4 / NIST example vectors, HMAC-SHA256 against
 * RFC 4231 test cases 1-4, 6 and 7, base64 against RFC 4648 section 10, plus streaming
 * splits, strict base64 rejection and getrandom (hex is in test_hex.c). */
#include <stdint.h>
#include <string.h>

#include "util/crypto.h"
#include "util/hex.h"
#include "testutil.h"

static void hex_of_sha256(const void *data, size_t len, char out[65]) {
  uint8_t d[32];
  sha256(data, len, d);
  hex_encode(d, 32, out);
}

TEST(sha256_nist_vectors) {
  char h[65];
  hex_of_sha256("abc", 3, h);
  CHECK_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  hex_of_sha256("", 0, h);
  CHECK_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  hex_of_sha256(m448, strlen(m448), h);
  CHECK_EQ_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const char *m896 =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
      "klmnopqrlmnopqrsmnopqrstnopqrstu";
  hex_of_sha256(m896, strlen(m896), h);
  CHECK_EQ_STR(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a) {
  static char a[1000000];
  char h[65];
  memset(a, 'a', sizeof a);
  hex_of_sha256(a, sizeof a, h);
  CHECK_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  /* The same message streamed in uneven pieces that straddle block boundaries. */
  sha256_ctx c;
  uint8_t d[32];
  size_t off = 0, step = 1;
  sha256_init(&c);
  while (off < sizeof a) {
    size_t n = step < sizeof a - off ? step : sizeof a - off;
    sha256_update(&c, a + off, n);
    off += n;
    step = step * 7 % 191 + 1;
  }
  sha256_final(&c, d);
  hex_encode(d, 32, h);
  CHECK_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256_every_split_matches_one_shot) {
  uint8_t msg[200], whole[32], parts[32];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 31 + 7);
  for (size_t len = 0; len <= sizeof msg; len += 13) {
    sha256(msg, len, whole);
    for (size_t cut = 0; cut <= len; cut++) {
      sha256_ctx c;
      sha256_init(&c);
      sha256_update(&c, msg, cut);
      sha256_update(&c, msg + cut, len - cut);
      sha256_final(&c, parts);
      CHECK(memcmp(whole, parts, 32) == 0);
    }
  }
  /* Lengths around the 55/56/64-byte padding edges. */
  uint8_t buf[130];
  memset(buf, 'x', sizeof buf);
  for (size_t len = 50; len <= 130; len++) {
    sha256(buf, len, whole);
    sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < len; i++) sha256_update(&c, buf + i, 1);
    sha256_final(&c, parts);
    CHECK(memcmp(whole, parts, 32) == 0);
  }
}

static void check_hmac(const uint8_t *key, size_t keylen, const char *msg, size_t msglen,
                       const char *want) {
  uint8_t d[32];
  char h[65];
  hmac_sha256(key, keylen, msg, msglen, d);
  hex_encode(d, 32, h);
  CHECK_EQ_STR(h, want);
}

TEST(hmac_rfc4231) {
  uint8_t key[131];
  char data[50];

  memset(key, 0x0b, 20); /* test case 1 */
  check_hmac(key, 20, "Hi There", 8,
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

  const char *q = "what do ya want for nothing?"; /* test case 2 */
  check_hmac((const uint8_t *)"Jefe", 4, q, strlen(q),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  memset(key, 0xaa, 20); /* test case 3 */
  memset(data, 0xdd, 50);
  check_hmac(key, 20, data, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

  for (int i = 0; i < 25; i++) key[i] = (uint8_t)(i + 1); /* test case 4 */
  memset(data, 0xcd, 50);
  check_hmac(key, 25, data, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

  memset(key, 0xaa, 131); /* test case 6: key longer than the block */
  const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
  check_hmac(key, 131, m6, strlen(m6),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

  const char *m7 = "This is a test using a larger than block-size key and a larger than "
                   "block-size data. The key needs to be hashed before being used by the HMAC "
                   "algorithm."; /* test case 7 */
  check_hmac(key, 131, m7, strlen(m7),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(base64_rfc4648) {
  static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    char out[16];
    uint8_t dec[16];
    size_t n = base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
    CHECK_EQ_INT(n, strlen(enc[i]));
    CHECK_EQ_STR(out, enc[i]);

    long m = base64_decode(enc[i], strlen(enc[i]), dec, sizeof dec);
    CHECK_EQ_INT(m, strlen(plain[i]));
    CHECK(m >= 0 && memcmp(dec, plain[i], (size_t)m) == 0);

    /* Padding is optional on input. */
    size_t unpadded = strlen(enc[i]);
    while (unpadded && enc[i][unpadded - 1] == '=') unpadded--;
    m = base64_decode(enc[i], unpadded, dec, sizeof dec);
    CHECK_EQ_INT(m, strlen(plain[i]));
    CHECK(m >= 0 && memcmp(dec, plain[i], (size_t)m) == 0);
  }
}

TEST(base64_binary_roundtrip) {
  uint8_t in[256], dec[256];
  char enc[4 * ((256 + 2) / 3) + 1];
  for (int i = 0; i < 256; i++) in[i] = (uint8_t)(255 - i);
  for (size_t len = 0; len <= sizeof in; len += 17) {
    size_t n = base64_encode(in, len, enc);
    CHECK_EQ_INT(n, 4 * ((len + 2) / 3));
    long m = base64_decode(enc, n, dec, sizeof dec);
    CHECK_EQ_INT(m, len);
    CHECK(m >= 0 && memcmp(in, dec, len) == 0);
  }
}

TEST(base64_rejects_bad_input) {
  uint8_t out[16];
  CHECK_EQ_INT(base64_decode("Zm9v!", 5, out, sizeof out), -1);    /* bad character */
  CHECK_EQ_INT(base64_decode("Zm 9v", 5, out, sizeof out), -1);    /* whitespace */
  CHECK_EQ_INT(base64_decode("Z", 1, out, sizeof out), -1);        /* lone digit */
  CHECK_EQ_INT(base64_decode("Zm9vZ", 5, out, sizeof out), -1);    /* 4n+1 digits */
  CHECK_EQ_INT(base64_decode("Zg=", 3, out, sizeof out), -1);      /* short padding */
  CHECK_EQ_INT(base64_decode("Zg===", 5, out, sizeof out), -1);    /* too much padding */
  CHECK_EQ_INT(base64_decode("Z===", 4, out, sizeof out), -1);     /* too much padding */
  CHECK_EQ_INT(base64_decode("Zg==Zg==", 8, out, sizeof out), -1); /* padding mid-way */
  CHECK_EQ_INT(base64_decode("Zh==", 4, out, sizeof out), -1);     /* non-zero spare bits */
  CHECK_EQ_INT(base64_decode("Zm9=", 4, out, sizeof out), -1);     /* non-zero spare bits */
  CHECK_EQ_INT(base64_decode("Zm9vYmFy", 8, out, 5), -1);          /* output too small */
  CHECK_EQ_INT(base64_decode("Zm9vYmFy", 8, out, 6), 6);           /* exactly fits */
  CHECK_EQ_INT(base64_decode("", 0, out, 0), 0);
}

TEST(random_bytes_fills) {
  uint8_t a[64], b[64], zero[64] = {0};
  CHECK_EQ_INT(random_bytes(a, sizeof a), 0);
  CHECK_EQ_INT(random_bytes(b, sizeof b), 0);
  CHECK(memcmp(a, b, sizeof a) != 0);
  CHECK(memcmp(a, zero, sizeof a) != 0);
  CHECK_EQ_INT(random_bytes(a, 0), 0);
}

int main(void) {
  RUN(sha256_nist_vectors);
  RUN(sha256_million_a);
  RUN(sha256_every_split_matches_one_shot);
  RUN(hmac_rfc4231);
  RUN(base64_rfc4648);
  RUN(base64_binary_roundtrip);
  RUN(base64_rejects_bad_input);
  RUN(random_bytes_fills);
  TEST_EXIT();
}
