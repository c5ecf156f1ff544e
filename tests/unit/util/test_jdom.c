/* test_jdom: the arena JSON tree. jdom accepts exactly what jansson accepts (hand-written edge
 * cases, every prefix and many one-byte mutations of real events, exhaustive short strings,
 * depth around jansson's limit) and builds the same values: every accepted text is compared
 * node for node with jansson's tree, reals bit for bit (also against strtod on many generated
 * numbers). Then: escapes, repeated keys in small and large objects, skipped keys, error
 * texts, the depth limit, and the arena's bound. Ends with a timing print (not a check). */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture_events.h"
#include "util/jdom.h"
#include "jdom_jansson.h"
#include "testutil.h"

#ifndef SLUICE_FIXTURES
#error "SLUICE_FIXTURES must name the tests/fixtures directory"
#endif

/* A table like the event one: two skipped keys and one kept whole. */
static const jdom_key table[] = {
    JDOM_SKIP_KEY("vars"),
    JDOM_SKIP_KEY("extra"),
    JDOM_WHOLE_KEY("params"),
};
static const jdom_opts strict = {100000, JDOM_ALLOW_NUL, NULL, 0}; /* as JSON_REJECT_DUPLICATES */
static const jdom_opts lenient = {100000, JDOM_ALLOW_DUPLICATES, NULL, 0}; /* as flags 0 */
static const jdom_opts with_table = {64, JDOM_ALLOW_NUL, table, 3};

/* ---- helpers ---------------------------------------------------------------------------- */

static void show(const char *in, size_t len) {
  fprintf(stderr, "  input (%zu bytes): ", len);
  for (size_t i = 0; i < len && i < 120; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c >= 0x20 && c < 0x7f)
      fputc(c, stderr);
    else
      fprintf(stderr, "\\x%02x", c);
  }
  fputc('\n', stderr);
}

static long n_agree, n_quirk;

/* jansson 2.14 skips one NUL byte that directly follows a number or literal (it "ungets" the
 * byte, and its stream treats a NUL in its buffer as "nothing buffered"), so it accepts "[1\0]".
 * jdom rejects that byte, as RFC 8259 does; no SDK sends it. */
static bool jansson_nul_quirk(const char *in, size_t at) {
  unsigned char prev = at ? (unsigned char)in[at - 1] : 0;
  return in[at] == '\0' && ((prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z'));
}

/* jdom with opts agrees with jansson with flags, and builds the same tree. */
static void agree_with(const char *in, size_t len, const jdom_opts *o, size_t flags,
                       const char *label) {
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  char err[200];
  int rc = jdom_parse(&doc, in, len, o, &root, err, sizeof err);
  json_t *j = json_loadb(in, len, flags | JSON_DECODE_ANY, NULL);
  n_agree++;
  if (j && rc != JDOM_OK && jansson_nul_quirk(in, doc.err_at)) {
    n_quirk++;
  } else if ((j != NULL) != (rc == JDOM_OK)) {
    fprintf(stderr, "disagree (%s): jansson %s, jdom %s (%s)\n", label, j ? "accepts" : "rejects",
            rc == JDOM_OK ? "accepts" : "rejects", err);
    show(in, len);
    tu_failed_checks++;
  } else if (j && !jdom_same_as_jansson(root, j, o)) {
    fprintf(stderr, "different tree (%s)\n", label);
    show(in, len);
    tu_failed_checks++;
  }
  if (rc != JDOM_OK) {
    CHECK(root == NULL && doc.err_why && doc.err_at <= len && err[0]);
    if (rc == JDOM_MALFORMED) {
      size_t at = 0;
      CHECK(sscanf(err, "malformed JSON at byte %zu: ", &at) == 1 && at == doc.err_at);
    }
  }
  json_decref(j);
  jdom_free(&doc);
}

static void agree(const char *in, size_t len) {
  agree_with(in, len, &strict, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, "strict");
  agree_with(in, len, &lenient, 0, "lenient");
}
static void agree_s(const char *in) {
  agree(in, strlen(in));
}

/* Parses in with opts; returns the rc and leaves the error text in err. */
static int parse_s(const char *in, const jdom_opts *o, char *err, size_t errlen) {
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  int rc = jdom_parse(&doc, in, strlen(in), o, &root, err, errlen);
  jdom_free(&doc);
  return rc;
}

/* ---- validation and values agree with jansson ------------------------------------------- */

TEST(edge_cases_agree_with_jansson) {
  static const char *const cases[] = {
      "",
      " ",
      "{}",
      "[]",
      "{",
      "}",
      "[",
      "]",
      "{]",
      "[}",
      "{} ",
      " {}\n\t\r",
      "{}x",
      "{}{}",
      "[] []",
      "null",
      "true",
      "false",
      "nul",
      "nulll",
      "True",
      "tru",
      "truex",
      "[true false]",
      "\"a\"",
      "\"a",
      "a\"",
      "''",
      "[1,]",
      "[,1]",
      "[1,,2]",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\" 1}",
      "{\"a\":}",
      "{a:1}",
      "{\"a\":1 \"b\":2}",
      "{1:2}",
      "{null:1}",
      "[1 2]",
      "{\"a\"::1}",
      "[\"a\":1]",
      /* numbers */
      "0",
      "-0",
      "01",
      "-01",
      "00",
      "-",
      "--1",
      "+1",
      ".5",
      "1.",
      "1.e5",
      "1e",
      "1e+",
      "1e-",
      "1E5",
      "1e05",
      "1.5e-3",
      "-1.5E+3",
      "0.0",
      "0e0",
      "1x",
      "0x10",
      "1_0",
      "NaN",
      "-NaN",
      "Infinity",
      "-Infinity",
      "[NaN]",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775808",
      "-9223372036854775809",
      "99999999999999999999",
      "00000",
      "1e308",
      "1.7976931348623157e308",
      "1.7976931348623159e308",
      "1.8e308",
      "-1.8e308",
      "1e309",
      "17976931348623157e292",
      "17976931348623159e292",
      "0.17976931348623157e309",
      "0.1797693134862316e309",
      "0e999999",
      "0.000e99999999999",
      "1e-400",
      "1e-99999999",
      "1e99999999999999999999",
      "-0.0e-0",
      "123456789012345678901234567890.5",
      "0.00000000000000000000000000001e330",
      "1.0000000000000000000000000000000000000e308",
      /* strings and escapes */
      "\"\\\"\"",
      "\"\\\\\"",
      "\"\\/\"",
      "\"\\b\\f\\n\\r\\t\"",
      "\"\\a\"",
      "\"\\x41\"",
      "\"\\'\"",
      "\"\\0\"",
      "\"\\u0041\"",
      "\"\\u00e9\"",
      "\"\\u00E9\"",
      "\"\\u004\"",
      "\"\\u004g\"",
      "\"\\u\"",
      "\"\\\"",
      "\"\\",
      "\"\\u0000\"",
      "\"\\ud83d\\ude00\"",
      "\"\\uD83D\\uDE00\"",
      "\"\\ud83d\"",
      "\"\\ud83dx\"",
      "\"\\ud83d\\u0041\"",
      "\"\\ude00\"",
      "\"\\ude00\\ud83d\"",
      "\"\\ud83d\\ud83d\\ude00\"",
      "\"\\ud83d\\\"",
      "\"\\ud83d\\u\"",
      "\"\\ud83d\\ude0\"",
      "\"\\udbff\\udfff\"",
      "\"\\ud800\\udc00\"",
      "\"\\uffff\"",
      "\"\\ufffe\"",
      "{\"\\u0000\":1}",
      "{\"a\\u0000b\":1}",
      "{\"\\u0061\":1}",
      "\"tab\there\"",
      "\"nl\nhere\"",
      "\"\x01\"",
      "\"\x1f\"",
      "\"\x7f\"",
      /* UTF-8 */
      "\"\xc3\xa9\"",
      "\"\xc3\"",
      "\"\xc3\x28\"",
      "\"\xc0\x80\"",
      "\"\xc1\xbf\"",
      "\"\xc2\x80\"",
      "\"\xe0\x80\x80\"",
      "\"\xe0\x9f\xbf\"",
      "\"\xe0\xa0\x80\"",
      "\"\xed\x9f\xbf\"",
      "\"\xed\xa0\x80\"",
      "\"\xed\xbf\xbf\"",
      "\"\xee\x80\x80\"",
      "\"\xef\xbf\xbf\"",
      "\"\xf0\x8f\xbf\xbf\"",
      "\"\xf0\x90\x80\x80\"",
      "\"\xf4\x8f\xbf\xbf\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf5\x80\x80\x80\"",
      "\"\xf8\x88\x80\x80\x80\"",
      "\"\xff\"",
      "\"\x80\"",
      "\"\xbf\"",
      "\"\xe2\x82\"",
      "\"\xe2\x82\xac\"",
      "\"\xf0\x9f\x98\x80\"",
      "\xef\xbb\xbf{}",
      "{\"\xc3\xa9\":1}",
      "{\"\xc3\":1}",
      "[1]\xc3\xa9",
      "\xc3\xa9",
      /* nesting and mixed */
      "[[[[[[[[[[]]]]]]]]]]",
      "[[[[[[[[[[]]]]]]]]]",
      "[[[[[[[[[]]]]]]]]]]",
      "{\"a\":{\"b\":[{}]}}",
      "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
      "[{\"a\":1},{\"a\":2}]",
      "[\"a\",true,null,1.5,{}]",
      "{\"a\":1}\n",
      "\n{\"a\":1}",
      "{\"a\" : 1 , \"b\" :[ 1 , 2 ] }",
      "{\"a\":1}\x0c",
      "[\x0b]",
      "[1]\x00",
      "\x00[1]",
      "[\"a\x00b\"]",
      "{\"a\":1}/*c*/",
      /* repeated keys */
      "{\"a\":1,\"a\":2}",
      "{\"a\":1,\"b\":{\"a\":2},\"a\":3}",
      "{\"a\":1,\"\\u0061\":2}",
      "[{\"a\":1},{\"a\":1}]",
      "{\"vars\":1,\"vars\":2}",
      "{\"extra\":{\"a\":1,\"a\":2}}",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) agree_s(cases[i]);
  /* NUL bytes inside the buffer (strlen would stop). */
  agree("[1]\0", 4);
  agree("[1\0]", 4);   /* jansson accepts: see jansson_nul_quirk */
  agree("[1\0\0]", 5); /* ... but only one NUL */
  agree("[\"a\"\0]", 6);
  agree("\"a\0b\"", 5);
  agree("{\"a\0\":1}", 8);
}

TEST(depth_agrees_with_jansson) {
  static char buf[2 * 2100 + 8];
  for (size_t d = 2040; d <= 2052; d++) {
    /* d empty arrays, then d arrays around a number */
    memset(buf, '[', d);
    memset(buf + d, ']', d);
    agree(buf, 2 * d);
    memset(buf, '[', d);
    buf[d] = '1';
    memset(buf + d + 1, ']', d);
    agree(buf, 2 * d + 1);
  }
  /* max_depth: the top level is 1 */
  jdom_opts o = {3, 0, NULL, 0};
  char err[100];
  CHECK_EQ_INT(parse_s("[[[1]]]", &o, err, sizeof err), JDOM_OK);
  CHECK_EQ_INT(parse_s("[[[[1]]]]", &o, err, sizeof err), JDOM_TOO_DEEP);
  CHECK_EQ_STR(err, "JSON nested deeper than 3 levels");
  CHECK_EQ_INT(parse_s("{\"a\":{\"b\":{\"c\":{}}}}", &o, err, sizeof err), JDOM_TOO_DEEP);
  /* ... also inside a skipped member */
  jdom_opts ot = {3, 0, table, 3};
  CHECK_EQ_INT(parse_s("{\"vars\":[[[1]]]}", &ot, err, sizeof err), JDOM_TOO_DEEP);
  CHECK_EQ_INT(parse_s("{\"vars\":[[1]]}", &ot, err, sizeof err), JDOM_OK);
}

TEST(exhaustive_short_strings_agree) {
  char buf[16];
  /* every 1- and 2-byte body of a string in an array */
  for (int a = 0; a < 256; a++) {
    memcpy(buf, "[\" \"]", 5);
    buf[2] = (char)a;
    agree(buf, 5);
    for (int b = 0; b < 256; b++) {
      memcpy(buf, "[\"", 2);
      buf[2] = (char)a;
      buf[3] = (char)b;
      memcpy(buf + 4, "\"]", 2);
      agree(buf, 6);
    }
  }
  /* 3- and 4-byte sequences around every boundary */
  static const unsigned char lead[] = {0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
                                       0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff};
  static const unsigned char cont[] = {0x00, 0x22, 0x41, 0x7f, 0x80, 0x8f, 0x90,
                                       0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xff};
  for (size_t i = 0; i < sizeof lead; i++)
    for (size_t j = 0; j < sizeof cont; j++)
      for (size_t k = 0; k < sizeof cont; k++) {
        for (size_t m = 0; m <= sizeof cont; m++) {
          size_t len = 0;
          buf[len++] = '"';
          buf[len++] = (char)lead[i];
          buf[len++] = (char)cont[j];
          buf[len++] = (char)cont[k];
          if (m < sizeof cont) buf[len++] = (char)cont[m];
          buf[len++] = '"';
          agree(buf, len);
        }
      }
  /* \u escapes: singles around the surrogate ranges, and pairs */
  static const unsigned int cps[] = {0x0000, 0x0001, 0x001f, 0x0020, 0x007f, 0x0080,
                                     0x07ff, 0x0800, 0xd7ff, 0xd800, 0xdbff, 0xdc00,
                                     0xdfff, 0xe000, 0xfffe, 0xffff};
  for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
    snprintf(buf, sizeof buf, "\"\\u%04x\"", cps[i]);
    agree_s(buf);
    for (size_t k = 0; k < sizeof cps / sizeof cps[0]; k++) {
      snprintf(buf, sizeof buf, "\"\\u%04X\\u%04x\"", cps[i], cps[k]);
      agree_s(buf);
    }
  }
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Reals of every shape (short and long significands, leading and trailing zeros, exponents
 * around the exact range and the limits) read exactly as strtod reads them. */
TEST(reals_match_strtod_bit_for_bit) {
  long checked = 0;
  for (int i = 0; i < 200000; i++) {
    char num[96];
    size_t n = 0;
    if (rng() % 4 == 0) num[n++] = '-';
    int idig = (int)(rng() % 21);
    if (idig == 0 || rng() % 5 == 0) {
      num[n++] = '0';
    } else {
      num[n++] = (char)('1' + rng() % 9);
      for (int k = 1; k < idig; k++) num[n++] = (char)('0' + rng() % 10);
    }
    bool frac = rng() % 4 != 0, ex = rng() % 3 == 0 || !frac;
    if (frac) {
      num[n++] = '.';
      int fd = 1 + (int)(rng() % 22);
      int zeros = rng() % 3 == 0 ? (int)(rng() % 8) : 0;
      for (int k = 0; k < fd; k++) num[n++] = (char)(k < zeros ? '0' : '0' + rng() % 10);
    }
    if (ex) {
      num[n++] = rng() % 2 ? 'e' : 'E';
      if (rng() % 2) num[n++] = rng() % 2 ? '-' : '+';
      n += (size_t)snprintf(num + n, sizeof num - n, "%d", (int)(rng() % (rng() % 4 ? 30 : 330)));
    }
    num[n] = '\0';
    jdom_doc doc;
    jdom_init(&doc);
    const jdom_val *root;
    int rc = jdom_parse(&doc, num, n, NULL, &root, NULL, 0);
    double want = strtod(num, NULL);
    if (isinf(want)) {
      CHECK_EQ_INT(rc, JDOM_MALFORMED);
    } else if (rc != JDOM_OK || root->type != JDOM_REAL ||
               memcmp(&want, &root->u.d, sizeof want) != 0) {
      fprintf(stderr, "%s: jdom %.17g (rc %d), strtod %.17g\n", num, rc ? 0 : root->u.d, rc, want);
      tu_failed_checks++;
    }
    checked++;
    jdom_free(&doc);
  }
  printf("%ld generated reals read as strtod reads them\n", checked);
}

TEST(integers_and_their_limits) {
  static const struct {
    const char *text;
    int64_t want;
  } ok[] = {
      {"0", 0},
      {"-0", 0},
      {"7", 7},
      {"-42", -42},
      {"9007199254740993", 9007199254740993LL},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
      {"1234567890123456789", 1234567890123456789LL},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    jdom_doc doc;
    jdom_init(&doc);
    const jdom_val *root;
    CHECK_EQ_INT(jdom_parse(&doc, ok[i].text, strlen(ok[i].text), NULL, &root, NULL, 0), 0);
    CHECK(root && root->type == JDOM_INT && root->u.i == ok[i].want);
    CHECK(jdom_number(root) == (double)ok[i].want);
    jdom_free(&doc);
  }
  char err[120];
  CHECK_EQ_INT(parse_s("[9223372036854775808]", NULL, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 1: too big integer");
  CHECK_EQ_INT(parse_s("-9223372036854775809", NULL, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 0: too big negative integer");
  CHECK_EQ_INT(parse_s("[1.8e308]", NULL, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 1: real number overflow");
  /* an integral spelling with a fraction or exponent is a real, as in jansson */
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  const char *reals = "[1.0,1e2,-0.0,99999999999999999999.0]";
  CHECK_EQ_INT(jdom_parse(&doc, reals, strlen(reals), NULL, &root, NULL, 0), 0);
  CHECK(jdom_at(root, 0)->type == JDOM_REAL && jdom_at(root, 0)->u.d == 1.0);
  CHECK(jdom_at(root, 1)->type == JDOM_REAL && jdom_at(root, 1)->u.d == 100.0);
  CHECK(jdom_at(root, 2)->type == JDOM_REAL && signbit(jdom_at(root, 2)->u.d));
  CHECK(jdom_at(root, 3)->type == JDOM_REAL && jdom_at(root, 3)->u.d == 1e20);
  jdom_free(&doc);
}

/* ---- strings ---------------------------------------------------------------------------- */

TEST(escapes_decode) {
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  const char *in = "[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\",\"\\ud83d\\ude00\","
                   "\"a\\u0000b\",\"plain\",\"\"]";
  CHECK_EQ_INT(jdom_parse(&doc, in, strlen(in), &strict, &root, NULL, 0), 0);
  CHECK_EQ_INT(jdom_size(root), 6);
  CHECK_EQ_STR(jdom_str(jdom_at(root, 0)), "a\"b\\c/d\b\f\n\r\t");
  CHECK_EQ_STR(jdom_str(jdom_at(root, 1)), "\xc3\xa9\xe2\x82\xac");
  CHECK_EQ_STR(jdom_str(jdom_at(root, 2)), "\xf0\x9f\x98\x80");
  CHECK(jdom_at(root, 3)->n == 3 && memcmp(jdom_str(jdom_at(root, 3)), "a\0b", 4) == 0);
  CHECK_EQ_STR(jdom_str(jdom_at(root, 4)), "plain");
  CHECK(jdom_at(root, 5)->n == 0 && jdom_str(jdom_at(root, 5))[0] == '\0');
  CHECK(jdom_str(root) == NULL && jdom_at(root, 6) == NULL && jdom_at(NULL, 0) == NULL);
  jdom_free(&doc);
  jdom_free(&doc); /* harmless */

  char err[120];
  /* \u0000 only with JDOM_ALLOW_NUL, and never in a key */
  CHECK_EQ_INT(parse_s("[\"a\\u0000\"]", &lenient, err, sizeof err), JDOM_MALFORMED);
  CHECK(strstr(err, "u0000") != NULL);
  CHECK_EQ_INT(parse_s("{\"a\\u0000\":1}", &strict, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 1: NUL byte in object key not supported");
  CHECK_EQ_INT(parse_s("[\"\\ud83d\"]", &strict, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 2: invalid Unicode escape (lone surrogate)");
  CHECK_EQ_INT(parse_s("[\"\\ude00\\ud83d\"]", &strict, err, sizeof err), JDOM_MALFORMED);
}

/* ---- objects ---------------------------------------------------------------------------- */

/* An object of n members "k0".."k{n-1}" with values 0..n-1, the key `dup` (when not NULL)
 * repeated at the end with value -1. */
static char *big_object(size_t n, const char *dup) {
  size_t cap = n * 24 + 64, len = 0;
  char *s = malloc(cap);
  s[len++] = '{';
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(s + len, cap - len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
  if (dup) len += (size_t)snprintf(s + len, cap - len, ",\"%s\":-1", dup);
  snprintf(s + len, cap - len, "}");
  return s;
}

TEST(repeated_keys_small_and_large) {
  char err[120];
  CHECK_EQ_INT(parse_s("{\"a\":1,\"b\":2,\"a\":3}", &strict, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 13: duplicate object key");
  /* an error before the repeat's value is reached is not reported instead */
  CHECK_EQ_INT(parse_s("{\"a\":1,\"a\":[1,]}", &strict, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 7: duplicate object key");
  for (size_t n = 10; n <= 400; n = n * 2 + 3) {
    for (size_t d = 0; d < n; d += n / 5 + 1) {
      char key[32];
      snprintf(key, sizeof key, "k%zu", d);
      char *s = big_object(n, key);
      agree_s(s);
      /* the error names the repeat, whatever the object's size */
      CHECK_EQ_INT(parse_s(s, &strict, err, sizeof err), JDOM_MALFORMED);
      size_t at = 0;
      CHECK(sscanf(err, "malformed JSON at byte %zu", &at) == 1 &&
            at == strlen(s) - 6 - strlen(key));
      /* lenient: the last value wins, as in jansson */
      jdom_doc doc;
      jdom_init(&doc);
      const jdom_val *root;
      CHECK_EQ_INT(jdom_parse(&doc, s, strlen(s), &lenient, &root, NULL, 0), 0);
      CHECK_EQ_INT(jdom_size(root), n + 1);
      CHECK(jdom_get(root, key) && jdom_get(root, key)->u.i == -1);
      jdom_free(&doc);
      free(s);
    }
    /* every key of a large object is found, absent ones are not */
    char *s = big_object(n, NULL);
    jdom_doc doc;
    jdom_init(&doc);
    const jdom_val *root;
    CHECK_EQ_INT(jdom_parse(&doc, s, strlen(s), &strict, &root, NULL, 0), 0);
    for (size_t i = 0; i < n; i++) {
      char key[32];
      snprintf(key, sizeof key, "k%zu", i);
      const jdom_val *v = jdom_get(root, key);
      CHECK(v && v->type == JDOM_INT && v->u.i == (int64_t)i);
      CHECK_EQ_STR(root->u.members[i].key, key); /* document order */
    }
    CHECK(!jdom_get(root, "k") && !jdom_get(root, "") && !jdom_get(root, "k99999"));
    CHECK(!jdom_getn(root, "k1", 1));
    jdom_free(&doc);
    free(s);
  }
  /* two repeats in a large object: the earlier second occurrence is named */
  char *s = big_object(40, "k30");
  size_t len = strlen(s);
  char *t = malloc(len + 16);
  snprintf(t, len + 16, "%.*s,\"k3\":0}", (int)(len - 1), s);
  CHECK_EQ_INT(parse_s(t, &strict, err, sizeof err), JDOM_MALFORMED);
  size_t at = 0;
  CHECK(sscanf(err, "malformed JSON at byte %zu", &at) == 1 && at == len - 9);
  free(t);
  free(s);
  /* the same key in different objects is fine */
  CHECK_EQ_INT(
      parse_s("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}", &strict, err, sizeof err),
      0);
}

TEST(skipped_keys) {
  static const char *const cases[] = {
      "{\"a\":1,\"vars\":2}",
      "{\"vars\":{\"x\":[1,2,{\"y\":null}]},\"a\":\"b\"}",
      "{\"vars\":2,\"extra\":{\"a\":1},\"b\":3}",
      "[{\"vars\":1},{\"a\":{\"vars\":\"x\",\"b\":true}}]",
      "{\"\\u0076ars\":1,\"a\":\"\\u00e9\\n\"}",
      "{\"Vars\":1,\"vars_\":2,\"var\":3}",
      "[\"vars\",{\"a\":\"vars\"}]",
      ("{\"logentry\":{\"message\":\"%(vars)s\",\"params\":{\"vars\":\"bob\",\"extra\":[]}},"
       "\"vars\":{}}"),
      "{\"params\":[{\"vars\":1}],\"a\":{\"vars\":2}}",
      "\"top\"",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    agree_with(cases[i], strlen(cases[i]), &with_table, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
               "table");
  char err[120];
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  const char *in = "{\"vars\":[1,2,3],\"a\":1,\"extra\":\"x\"}";
  CHECK_EQ_INT(jdom_parse(&doc, in, strlen(in), &with_table, &root, NULL, 0), 0);
  CHECK_EQ_INT(jdom_size(root), 1);
  CHECK_EQ_STR(root->u.members[0].key, "a");
  jdom_free(&doc);
  /* a skipped key twice is still a repeat; one escaped too */
  CHECK_EQ_INT(parse_s("{\"vars\":1,\"a\":2,\"vars\":3}", &with_table, err, sizeof err),
               JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 16: duplicate object key");
  CHECK_EQ_INT(parse_s("{\"vars\":1,\"\\u0076ars\":3}", &with_table, err, sizeof err),
               JDOM_MALFORMED);
  CHECK_EQ_INT(
      parse_s("{\"logentry\":{\"params\":[],\"params\":[]}}", &with_table, err, sizeof err),
      JDOM_MALFORMED);
  /* inside a skipped value nothing is built, so a repeat there is not looked for ... */
  CHECK_EQ_INT(parse_s("{\"extra\":{\"a\":1,\"a\":2},\"b\":1}", &with_table, err, sizeof err), 0);
  /* ... but everything else is checked */
  CHECK_EQ_INT(parse_s("{\"extra\":{\"a\":[1,]}}", &with_table, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 17: invalid token");
  CHECK_EQ_INT(parse_s("{\"extra\":{\"\\u0000\":1}}", &with_table, err, sizeof err),
               JDOM_MALFORMED);
  CHECK_EQ_INT(parse_s("{\"extra\":99999999999999999999}", &with_table, err, sizeof err),
               JDOM_MALFORMED);
  CHECK_EQ_INT(parse_s("{\"extra\":1e999}", &with_table, err, sizeof err), JDOM_MALFORMED);
  CHECK_EQ_INT(parse_s("{\"extra\":1.7976931348623159e308}", &with_table, err, sizeof err),
               JDOM_MALFORMED);
  CHECK_EQ_INT(parse_s("{\"extra\":1.7976931348623157e308}", &with_table, err, sizeof err), 0);
  /* bad tables */
  jdom_opts bad = {8, 0, NULL, 1};
  CHECK_EQ_INT(parse_s("{}", &bad, err, sizeof err), JDOM_INVALID);
  jdom_opts many = {8, 0, table, JDOM_KEYS_MAX + 1};
  CHECK_EQ_INT(parse_s("{}", &many, err, sizeof err), JDOM_INVALID);
}

TEST(error_messages) {
  char err[200];
  parse_s("{\"a\":[1,]}", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 8: invalid token");
  parse_s("{\"a\":\"\xc3\x28\"}", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 6: invalid UTF-8");
  parse_s("", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 0: premature end of input");
  parse_s("{} x", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 3: end of file expected");
  parse_s("{\"vars\":01}", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 9: leading zero in a number");
  parse_s("{\"a\" 1}", &with_table, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 5: ':' expected");
  /* the doc keeps where and why; a small or absent buffer is fine */
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root = (const jdom_val *)&doc;
  char small[8];
  CHECK_EQ_INT(jdom_parse(&doc, "[1,,2]", 6, NULL, &root, small, sizeof small), JDOM_MALFORMED);
  CHECK(root == NULL && doc.err_at == 3 && strcmp(doc.err_why, "invalid token") == 0);
  CHECK(memchr(small, '\0', sizeof small) != NULL);
  CHECK_EQ_INT(jdom_parse(&doc, "[1,,2]", 6, NULL, &root, NULL, 0), JDOM_MALFORMED);
  CHECK_EQ_INT(jdom_parse(&doc, NULL, 0, NULL, &root, NULL, 0), JDOM_MALFORMED);
  jdom_free(&doc);
}

/* ---- the arena -------------------------------------------------------------------------- */

/* Worst cases for the tree's size: arrays of one-digit numbers, objects of one-letter keys. */
TEST(arena_is_bounded_by_the_input) {
  size_t n = 200000;
  char *s = malloc(6 * n + 100000);
  size_t len = 0;
  s[len++] = '[';
  for (size_t i = 0; i < n; i++) {
    if (i) s[len++] = ',';
    s[len++] = '1';
  }
  s[len++] = ']';
  jdom_doc doc;
  jdom_init(&doc);
  const jdom_val *root;
  CHECK_EQ_INT(jdom_parse(&doc, s, len, NULL, &root, NULL, 0), 0);
  CHECK_EQ_INT(jdom_size(root), n);
  size_t bytes = jdom_arena_bytes(&doc);
  printf("[1,1,...] of %zu bytes: arena %zu bytes (%.1f per input byte)\n", len, bytes,
         (double)bytes / (double)len);
  CHECK(bytes <= 16 * len + 4096);
  jdom_free(&doc);
  CHECK_EQ_INT(jdom_arena_bytes(&doc), 0);

  /* {"a0":0,...}: members are 32 bytes, an index 4 more */
  len = 0;
  s[len++] = '{';
  for (size_t i = 0; i < n / 4; i++)
    len += (size_t)sprintf(s + len, "%s\"%zx\":0", i ? "," : "", i);
  s[len++] = '}';
  CHECK_EQ_INT(jdom_parse(&doc, s, len, NULL, &root, NULL, 0), 0);
  bytes = jdom_arena_bytes(&doc);
  printf("{\"0\":0,...} of %zu bytes: arena %zu bytes (%.1f per input byte)\n", len, bytes,
         (double)bytes / (double)len);
  CHECK(bytes <= 16 * len + 4096);
  jdom_free(&doc);

  /* random shapes (arrays of every length, short strings, nested objects) that leave arena
   * blocks partly used: still within the bound */
  double worst = 0;
  for (int round = 0; round < 40; round++) {
    len = 0;
    size_t target = 1000 + rng() % 60000;
    s[len++] = '[';
    while (len < target) {
      if (len > 1) s[len++] = ',';
      size_t k = rng() % 4 == 0 ? rng() % 3000 : rng() % 40;
      int kind = (int)(rng() % 3);
      s[len++] = kind == 2 ? '{' : '[';
      for (size_t i = 0; i < k && len < target + 20000; i++) {
        if (i) s[len++] = ',';
        if (kind == 2) len += (size_t)sprintf(s + len, "\"%zx\":", i);
        if (kind == 1)
          len += (size_t)sprintf(s + len, "\"%.*s\"", (int)(rng() % 3), "ab");
        else
          s[len++] = '1';
      }
      s[len++] = kind == 2 ? '}' : ']';
    }
    s[len++] = ']';
    CHECK_EQ_INT(jdom_parse(&doc, s, len, NULL, &root, NULL, 0), 0);
    bytes = jdom_arena_bytes(&doc);
    CHECK(bytes <= 14 * len + 2048);
    if ((double)bytes / (double)len > worst) worst = (double)bytes / (double)len;
    jdom_free(&doc);
  }
  printf("random shapes: arena at most %.1f bytes per input byte\n", worst);

  /* many documents into one arena: each tree stays valid until jdom_free */
  const jdom_val *roots[50];
  for (int i = 0; i < 50; i++) {
    char one[64];
    int k = snprintf(one, sizeof one, "{\"type\":\"t%d\",\"length\":%d}", i, i);
    CHECK_EQ_INT(jdom_parse(&doc, one, (size_t)k, NULL, &roots[i], NULL, 0), 0);
  }
  for (int i = 0; i < 50; i++) CHECK_EQ_INT(jdom_get(roots[i], "length")->u.i, i);
  CHECK(jdom_arena_bytes(&doc) < 50 * 1024);
  jdom_free(&doc);
  free(s);
}

/* ---- the real SDK captures -------------------------------------------------------------- */

typedef struct payload {
  char name[64];
  char *p;
  size_t len;
} payload;

#define MAX_EVENTS 64
static payload events[MAX_EVENTS];
static int n_events;

static void record(const char *name, const char *p, size_t len) {
  if (n_events == MAX_EVENTS) return;
  payload *e = &events[n_events++];
  snprintf(e->name, sizeof e->name, "%s", name);
  e->p = malloc(len + 1);
  memcpy(e->p, p, len);
  e->p[len] = '\0';
  e->len = len;
}

TEST(sdk_captures_build_the_same_tree) {
  tu_capture_events(record);
  CHECK(n_events >= 14);
  for (int i = 0; i < n_events; i++) {
    agree(events[i].p, events[i].len);
    agree_with(events[i].p, events[i].len, &with_table, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
               "table");
  }
}

/* Every prefix, and each byte replaced by a few troublemakers, of two real events. */
TEST(mutations_of_real_events_agree) {
  static const char subst[] = {'"',    '\\',   ',', '}', ']', '{', '[', ':', '\0', '\x1f',
                               '\x80', '\xc3', 'e', '.', '-', '0', ' ', 'u', 'n'};
  for (int i = 0; i < n_events && i < 2; i++) {
    const payload *e = &events[i == 0 ? 0 : n_events - 1];
    char *buf = malloc(e->len);
    for (size_t k = 0; k <= e->len; k++) agree(e->p, k);
    for (size_t k = 0; k < e->len; k += 3) {
      for (size_t s = 0; s < sizeof subst; s++) {
        memcpy(buf, e->p, e->len);
        buf[k] = subst[s];
        agree(buf, e->len);
      }
    }
    free(buf);
  }
  printf("validation agreed with jansson on %ld inputs; %ld were jansson's NUL-after-token "
         "quirk\n",
         n_agree, n_quirk);
}

/* ---- timing (printed, not checked) ------------------------------------------------------ */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void time_one(const char *prefix) {
  const payload *e = NULL;
  for (int i = 0; i < n_events; i++)
    if (strncmp(events[i].name, prefix, strlen(prefix)) == 0) e = &events[i];
  if (!e) return;
  int iters = 20000;
  double t0 = now();
  for (int i = 0; i < iters; i++)
    json_decref(json_loadb(e->p, e->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL));
  double t1 = now();
  for (int i = 0; i < iters; i++) {
    jdom_doc doc;
    jdom_init(&doc);
    const jdom_val *root;
    jdom_parse(&doc, e->p, e->len, &strict, &root, NULL, 0);
    jdom_free(&doc);
  }
  double t2 = now();
  for (int i = 0; i < iters; i++) {
    jdom_doc doc;
    jdom_init(&doc);
    const jdom_val *root;
    jdom_parse(&doc, e->p, e->len, &with_table, &root, NULL, 0);
    jdom_free(&doc);
  }
  double t3 = now();
  double full = (t1 - t0) / iters * 1e6, tree = (t2 - t1) / iters * 1e6,
         skip = (t3 - t2) / iters * 1e6;
  printf("%s (%zu bytes): json_loadb %.1f us; jdom %.1f us; jdom skipping vars/extra %.1f us\n",
         e->name, e->len, full, tree, skip);
}

TEST(timing) {
  time_one("sentry-node-11.12.0/02");
  time_one("sentry-python-1.9.10/01");
}

int main(void) {
  RUN(edge_cases_agree_with_jansson);
  RUN(depth_agrees_with_jansson);
  RUN(exhaustive_short_strings_agree);
  RUN(reals_match_strtod_bit_for_bit);
  RUN(integers_and_their_limits);
  RUN(escapes_decode);
  RUN(repeated_keys_small_and_large);
  RUN(skipped_keys);
  RUN(error_messages);
  RUN(arena_is_bounded_by_the_input);
  RUN(sdk_captures_build_the_same_tree);
  RUN(mutations_of_real_events_agree);
  RUN(timing);
  for (int i = 0; i < n_events; i++) free(events[i].p);
  TEST_EXIT();
}
