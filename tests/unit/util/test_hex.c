/* test_hex: hex_value over every byte, hex_encode, strict hex_decode (odd length, bad digits,
 * capacity), hex_event_id (plain and dashed, any case, every wrong length and dash position,
 * either output optional, nothing written on failure), and hex_percent_decode in path and form
 * modes (escapes, '+', a decoded NUL, truncated escapes, the output bound). */
#include <stdint.h>
#include <string.h>

#include "util/hex.h"
#include "testutil.h"

TEST(value_of_every_byte) {
  int digits = 0;
  for (int ch = 0; ch < 256; ch++) {
    int v = hex_value(ch);
    if (v >= 0) digits++;
    if (ch >= '0' && ch <= '9') CHECK_EQ_INT(v, ch - '0');
    if (ch >= 'a' && ch <= 'f') CHECK_EQ_INT(v, ch - 'a' + 10);
    if (ch >= 'A' && ch <= 'F') CHECK_EQ_INT(v, ch - 'A' + 10);
  }
  CHECK_EQ_INT(digits, 22);
  CHECK_EQ_INT(hex_value(-1), -1);
}

TEST(encode) {
  const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  char out[13];
  hex_encode(in, sizeof in, out);
  CHECK_EQ_STR(out, "00017f80abff");
  hex_encode(in, 0, out);
  CHECK_EQ_STR(out, "");
}

TEST(decode_strict) {
  uint8_t out[8];
  memset(out, 0xee, sizeof out);
  CHECK_EQ_INT(hex_decode("00017F80abFF", 12, out, sizeof out), 6);
  static const uint8_t want[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  CHECK(memcmp(out, want, 6) == 0);
  CHECK_EQ_INT(out[6], 0xee); /* nothing past the result */
  CHECK_EQ_INT(hex_decode("", 0, out, 0), 0);
  CHECK_EQ_INT(hex_decode("abc", 3, out, sizeof out), -1);        /* odd */
  CHECK_EQ_INT(hex_decode("0g", 2, out, sizeof out), -1);         /* not hex */
  CHECK_EQ_INT(hex_decode(" 0", 2, out, sizeof out), -1);         /* no spaces */
  CHECK_EQ_INT(hex_decode("0x12", 4, out, sizeof out), -1);       /* no prefix */
  CHECK_EQ_INT(hex_decode("-1", 2, out, sizeof out), -1);         /* no sign (strtol took it) */
  CHECK_EQ_INT(hex_decode("0011223344556677", 16, out, 8), 8);    /* exactly full */
  CHECK_EQ_INT(hex_decode("001122334455667788", 18, out, 8), -1); /* one too many */
  CHECK_EQ_INT(hex_decode("00\0"
                          "1",
                          4, out, sizeof out),
               -1); /* NUL inside */
}

TEST(event_id_forms) {
  static const char *const ok[] = {
      "9ec79c33ec9942ab8353589fcb2e04dc",
      "9EC79C33EC9942AB8353589FCB2E04DC",
      "9ec79c33-ec99-42ab-8353-589fcb2e04dc",
      "9EC79C33-eC99-42Ab-8353-589FCB2E04dc",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char hex[33];
    uint8_t raw[16];
    CHECK_EQ_INT(hex_event_id(ok[i], strlen(ok[i]), hex, raw), 0);
    CHECK_EQ_STR(hex, "9ec79c33ec9942ab8353589fcb2e04dc");
    CHECK_EQ_INT(raw[0], 0x9e);
    CHECK_EQ_INT(raw[15], 0xdc);
    CHECK_EQ_INT(hex_event_id(ok[i], strlen(ok[i]), NULL, raw), 0);
    CHECK_EQ_INT(hex_event_id(ok[i], strlen(ok[i]), hex, NULL), 0);
  }
  static const char *const bad[] = {
      "",
      "9ec79c33ec9942ab8353589fcb2e04d",       /* 31 */
      "9ec79c33ec9942ab8353589fcb2e04dc0",     /* 33 */
      "9ec79c33ec9942ab8353589fcb2e04dg",      /* not hex */
      "9ec79c33-ec99-42ab-8353-589fcb2e04d",   /* 35 */
      "9ec79c33-ec99-42ab-8353-589fcb2e04dc0", /* 37 */
      "9ec79c3-3ec99-42ab-8353-589fcb2e04dc",  /* dash moved */
      "9ec79c33ec99-42ab-8353-589fcb2e04dc-",  /* dash at the end */
      "9ec79c33+ec99-42ab-8353-589fcb2e04dc",  /* not a dash */
      "{9ec79c33-ec99-42ab-8353-589fcb2e04}",  /* braces */
      "--9ec79c33ec9942ab8353589fcb2e04dc",    /* dashes anywhere */
      "9ec79c33-ec99-42ab-8353-589fcb2e04d-",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char hex[33] = "untouched";
    uint8_t raw[16] = {0x5a};
    if (hex_event_id(bad[i], strlen(bad[i]), hex, raw) != -1) {
      fprintf(stderr, "accepted event id \"%s\"\n", bad[i]);
      tu_failed_checks++;
    }
    CHECK_EQ_STR(hex, "untouched");
    CHECK_EQ_INT(raw[0], 0x5a);
  }
  CHECK_EQ_INT(hex_event_id(NULL, 32, NULL, NULL), -1);
  /* A JSON string may hold a NUL: the length, not strlen, decides. */
  CHECK_EQ_INT(hex_event_id("9ec79c33ec9942ab8353589fcb2e04dc\0ab", 35, NULL, NULL), -1);
}

TEST(percent_decode) {
  char out[64];
  CHECK_EQ_INT(hex_percent_decode("a%20b%2Fc%2fd", 13, out, sizeof out, false), 7);
  CHECK_EQ_STR(out, "a b/c/d");
  CHECK_EQ_INT(hex_percent_decode("a+b", 3, out, sizeof out, false), 3);
  CHECK_EQ_STR(out, "a+b"); /* a path keeps '+' */
  CHECK_EQ_INT(hex_percent_decode("a+b%2B", 6, out, sizeof out, true), 4);
  CHECK_EQ_STR(out, "a b+"); /* a query turns '+' into a space, %2B stays '+' */
  CHECK_EQ_INT(hex_percent_decode("", 0, out, sizeof out, true), 0);
  CHECK_EQ_STR(out, "");
  CHECK_EQ_INT(hex_percent_decode("%e2%82%AC", 9, out, sizeof out, false), 3);
  CHECK_EQ_STR(out, "\xe2\x82\xac");
  static const char *const bad[] = {"%", "%4", "a%", "%zz", "%4g", "%00", "a%00b", "%%41"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ_INT(hex_percent_decode(bad[i], strlen(bad[i]), out, sizeof out, true), -1);
  /* The bound counts the NUL: "abc" needs 4 bytes. */
  CHECK_EQ_INT(hex_percent_decode("abc", 3, out, 4, false), 3);
  CHECK_EQ_INT(hex_percent_decode("abc", 3, out, 3, false), -1);
  CHECK_EQ_INT(hex_percent_decode("%41%42", 6, out, 3, false), 2);
  CHECK_EQ_INT(hex_percent_decode("%41%42", 6, out, 2, false), -1);
  CHECK_EQ_INT(hex_percent_decode("", 0, out, 0, false), -1);
  /* Only len bytes are read: a '%' just past them does not count. */
  CHECK_EQ_INT(hex_percent_decode("ab%41", 2, out, sizeof out, false), 2);
  CHECK_EQ_STR(out, "ab");
}

int main(void) {
  RUN(value_of_every_byte);
  RUN(encode);
  RUN(decode_strict);
  RUN(event_id_forms);
  RUN(percent_decode);
  TEST_EXIT();
}
