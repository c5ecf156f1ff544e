/* test_json_prune: json_prune accepts exactly what jansson accepts (hand-written edge cases,
 * every prefix and many one-byte mutations of real events, exhaustive short strings), prunes
 * to the original minus the table keys, and, over every event in SLUICE_FIXTURES/sdk-captures,
 * event_normalize gives the same answer on the pruned copy as on the original. Ends with a
 * timing print (not a check): jansson on the whole event vs prune + jansson on the copy. */
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "json_prune.h"
#include "decode.h"
#include "capture_events.h"
#include "testutil.h"

#ifndef SLUICE_FIXTURES
#error "SLUICE_FIXTURES must name the tests/fixtures directory"
#endif

#define LOAD_FLAGS  (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
#define RECEIVED_AT 1700000000.5

static const json_prune_opts no_keys = {NULL, 0, 100000};
static json_prune_opts event_opts; /* the event table, max depth 64; set in main() */

/* ---- helpers ---------------------------------------------------------------------------- */

/* *at (may be NULL) gets the offset json_prune names on error. */
static bool prune_ok_at(const char *in, size_t len, const json_prune_opts *o, size_t *at) {
  char *out = malloc(len + 1), err[200];
  size_t n;
  int rc = json_prune(in, len, o, out, &n, err, sizeof err);
  if (rc == 0) CHECK(n <= len);
  if (rc == JSON_PRUNE_MALFORMED)
    CHECK(sscanf(err, "malformed JSON at byte %zu: ", at ? at : &n) == 1);
  free(out);
  return rc == 0;
}

static bool prune_ok(const char *in, size_t len, const json_prune_opts *o) {
  return prune_ok_at(in, len, o, NULL);
}

static bool jansson_ok(const char *in, size_t len, size_t flags) {
  json_t *j = json_loadb(in, len, flags | JSON_DECODE_ANY, NULL);
  json_decref(j);
  return j != NULL;
}

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
 * json_prune rejects that byte, as RFC 8259 does; no SDK sends it. */
static bool jansson_nul_quirk(const char *in, size_t at) {
  unsigned char prev = at ? (unsigned char)in[at - 1] : 0;
  return in[at] == '\0' && ((prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z'));
}

/* Validation alone (no keys, no duplicate checks) agrees with jansson. */
static void agree(const char *in, size_t len) {
  size_t at = 0;
  bool j = jansson_ok(in, len, JSON_ALLOW_NUL), p = prune_ok_at(in, len, &no_keys, &at);
  n_agree++;
  if (j && !p && jansson_nul_quirk(in, at)) {
    n_quirk++;
  } else if (j != p) {
    fprintf(stderr, "disagree: jansson %s, json_prune %s\n", j ? "accepts" : "rejects",
            p ? "accepts" : "rejects");
    show(in, len);
    tu_failed_checks++;
  }
}
static void agree_s(const char *in) {
  agree(in, strlen(in));
}

/* Pruned output, compared as text. */
static void prunes_to(const char *in, const char *want) {
  size_t len = strlen(in), n;
  char *out = malloc(len + 1), err[200];
  int rc = json_prune(in, len, &event_opts, out, &n, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  if (rc == 0) {
    out[n] = '\0';
    CHECK_EQ_STR(out, want);
  } else {
    fprintf(stderr, "  %s: %s\n", in, err);
  }
  free(out);
}

/* ---- validation ------------------------------------------------------------------------- */

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
  /* max_depth: top level is 1, like json_depth */
  json_prune_opts o = {NULL, 0, 3};
  char out[32], err[100];
  size_t n;
  CHECK_EQ_INT(json_prune("[[[1]]]", 7, &o, out, &n, err, sizeof err), 0);
  CHECK_EQ_INT(json_prune("[[[[1]]]]", 9, &o, out, &n, err, sizeof err), JSON_PRUNE_TOO_DEEP);
  CHECK_EQ_STR(err, "JSON nested deeper than 3 levels");
  CHECK_EQ_INT(json_prune("{\"a\":{\"b\":{\"c\":{}}}}", 21, &o, out, &n, err, sizeof err),
               JSON_PRUNE_TOO_DEEP);
  /* ... also inside a dropped member */
  CHECK_EQ_INT(json_prune("{\"vars\":[[[1]]]}", 16,
                          &(json_prune_opts){json_prune_event_keys, json_prune_event_keys_n, 3},
                          out, &n, err, sizeof err),
               JSON_PRUNE_TOO_DEEP);
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

/* Duplicates: table keys are checked by json_prune; kept keys by jansson on the copy; inside a
 * dropped value nobody looks (documented in json_prune.h). */
TEST(duplicate_keys) {
  char out[64], err[200];
  size_t n;
  const char *dup_dropped = "{\"vars\":1,\"a\":2,\"vars\":3}";
  CHECK_EQ_INT(json_prune(dup_dropped, strlen(dup_dropped), &event_opts, out, &n, err, sizeof err),
               JSON_PRUNE_MALFORMED);
  CHECK(strstr(err, "duplicate object key") != NULL);
  const char *dup_escaped = "{\"vars\":1,\"\\u0076ars\":3}";
  CHECK_EQ_INT(json_prune(dup_escaped, strlen(dup_escaped), &event_opts, out, &n, err, sizeof err),
               JSON_PRUNE_MALFORMED);
  const char *dup_params = "{\"logentry\":{\"params\":[],\"params\":[]}}";
  CHECK_EQ_INT(json_prune(dup_params, strlen(dup_params), &event_opts, out, &n, err, sizeof err),
               JSON_PRUNE_MALFORMED);
  /* a kept duplicate survives into the copy, where JSON_REJECT_DUPLICATES sees it */
  const char *dup_kept = "{\"a\":1,\"extra\":{},\"a\":2}";
  CHECK_EQ_INT(json_prune(dup_kept, strlen(dup_kept), &event_opts, out, &n, err, sizeof err), 0);
  CHECK(!json_loadb(out, n, LOAD_FLAGS, NULL));
  /* the same table key in two different objects is fine */
  const char *two = "{\"a\":{\"vars\":1},\"b\":{\"vars\":2},\"vars\":3}";
  CHECK_EQ_INT(json_prune(two, strlen(two), &event_opts, out, &n, err, sizeof err), 0);
  /* not looked for inside a dropped value: accepted, unlike jansson on the whole text */
  const char *inside = "{\"extra\":{\"a\":1,\"a\":2},\"b\":1}";
  CHECK_EQ_INT(json_prune(inside, strlen(inside), &event_opts, out, &n, err, sizeof err), 0);
  CHECK(!json_loadb(inside, strlen(inside), LOAD_FLAGS, NULL));
}

TEST(error_messages) {
  char out[64], err[200];
  size_t n;
  CHECK_EQ_INT(json_prune("{\"a\":[1,]}", 10, &event_opts, out, &n, err, sizeof err),
               JSON_PRUNE_MALFORMED);
  CHECK_EQ_STR(err, "malformed JSON at byte 8: invalid token");
  json_prune("{\"a\":\"\xc3\x28\"}", 10, &event_opts, out, &n, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 6: invalid UTF-8");
  json_prune("", 0, &event_opts, out, &n, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 0: premature end of input");
  json_prune("{} x", 4, &event_opts, out, &n, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 3: end of file expected");
  json_prune("{\"vars\":01}", 11, &event_opts, out, &n, err, sizeof err);
  CHECK_EQ_STR(err, "malformed JSON at byte 9: leading zero in a number");
}

/* ---- pruning ---------------------------------------------------------------------------- */

TEST(prunes_members_and_commas) {
  prunes_to("{\"a\":1,\"vars\":2}", "{\"a\":1}");
  prunes_to("{\"vars\":2,\"a\":1}", "{\"a\":1}");
  prunes_to("{\"vars\":2}", "{}");
  prunes_to("{\"vars\":2,\"user\":{\"id\":1}}", "{}");
  prunes_to("{\"a\":1,\"vars\":2,\"b\":3}", "{\"a\":1,\"b\":3}");
  prunes_to("{\"vars\":[1,{\"x\":2}],\"a\":1,\"tags\":{},\"b\":2,\"sdk\":null}",
            "{\"a\":1,\"b\":2}");
  prunes_to(" { \"a\" : [ 1 , 2 ] ,\n\"extra\" : { \"a\" : 1 } } ", "{\"a\":[1,2]}");
  prunes_to("[{\"vars\":1},{\"a\":{\"context_line\":\"x\",\"b\":true}}]",
            "[{},{\"a\":{\"b\":true}}]");
  prunes_to("{\"\\u0076ars\":1,\"a\":\"\\u00e9\\n\"}", "{\"a\":\"\\u00e9\\n\"}");
  prunes_to("{\"Vars\":1,\"vars_\":2,\"var\":3}", "{\"Vars\":1,\"vars_\":2,\"var\":3}");
  /* a value that is a table key's name is not a key */
  prunes_to("[\"vars\",{\"a\":\"vars\"}]", "[\"vars\",{\"a\":\"vars\"}]");
  /* params is copied whole, at any depth */
  prunes_to("{\"logentry\":{\"message\":\"%(user)s\",\"params\":{\"user\":\"bob\",\"vars\":[]}},"
            "\"user\":{}}",
            "{\"logentry\":{\"message\":\"%(user)s\",\"params\":{\"user\":\"bob\",\"vars\":[]}}}");
  prunes_to("{\"params\":[{\"tags\":1}],\"a\":{\"tags\":2}}",
            "{\"params\":[{\"tags\":1}],\"a\":{}}");
  prunes_to("\"top\"", "\"top\"");
  prunes_to("-1.5e3", "-1.5e3");
}

/* No key event.c reads may be dropped (every json_object_get / get in server/event.c). */
TEST(table_spares_what_event_c_reads) {
  static const char *const read[] = {
      "event_id",    "timestamp", "level",       "release",
      "environment", "message",   "logentry",    "sentry.interfaces.Message",
      "formatted",   "params",    "fingerprint", "exception",
      "values",      "type",      "value",       "module",
      "mechanism",   "synthetic", "stacktrace",  "frames",
      "filename",    "abs_path",  "function",    "in_app",
      "threads",     "crashed",   "current",     "culprit",
      "transaction"};
  for (size_t i = 0; i < json_prune_event_keys_n; i++) {
    const json_prune_key *k = &json_prune_event_keys[i];
    CHECK_EQ_INT(k->len, strlen(k->name));
    if (k->action != JSON_PRUNE_DROP) continue;
    for (size_t r = 0; r < sizeof read / sizeof read[0]; r++) {
      if (strcmp(k->name, read[r]) == 0) {
        fprintf(stderr, "event key table drops \"%s\", which event.c reads\n", k->name);
        tu_failed_checks++;
      }
    }
  }
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

static void load_all(void) {
  tu_capture_events(record);
}

/* The original tree with the table's DROP members removed, KEEP members left whole. */
static void strip(json_t *j) {
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) strip(v);
  } else if (json_is_object(j)) {
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(j, tmp, k, v) {
      const json_prune_key *hit = NULL;
      for (size_t i = 0; i < json_prune_event_keys_n; i++)
        if (strcmp(json_prune_event_keys[i].name, k) == 0) hit = &json_prune_event_keys[i];
      if (hit && hit->action == JSON_PRUNE_DROP)
        json_object_del(j, k);
      else if (!hit)
        strip(v);
    }
  }
}

static bool same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

TEST(sdk_captures_normalise_the_same) {
  load_all();
  CHECK_EQ_INT(n_events, 14);
  for (int i = 0; i < n_events; i++) {
    payload *e = &events[i];
    char *out = malloc(e->len), err[200];
    size_t n;
    int rc = json_prune(e->p, e->len, &event_opts, out, &n, err, sizeof err);
    if (rc != 0) {
      fprintf(stderr, "%s: %s\n", e->name, err);
      tu_failed_checks++;
      free(out);
      continue;
    }
    CHECK(prune_ok(e->p, e->len, &no_keys));
    json_t *orig = json_loadb(e->p, e->len, LOAD_FLAGS, NULL);
    json_t *pruned = json_loadb(out, n, LOAD_FLAGS, NULL);
    CHECK(orig && pruned);
    if (orig && pruned) {
      event_info a, b;
      char ea[200], eb[200];
      int ra = event_normalize(orig, RECEIVED_AT, &a, ea, sizeof ea);
      int rb = event_normalize(pruned, RECEIVED_AT, &b, eb, sizeof eb);
      CHECK_EQ_INT(ra, 0);
      CHECK_EQ_INT(rb, 0);
      if (ra == 0 && rb == 0) {
        bool eq = strcmp(a.event_id, b.event_id) == 0 && a.timestamp == b.timestamp &&
                  strcmp(a.level, b.level) == 0 && strcmp(a.fingerprint, b.fingerprint) == 0 &&
                  same(a.title, b.title) && same(a.culprit, b.culprit) &&
                  same(a.release, b.release) && same(a.environment, b.environment) &&
                  same(a.message, b.message);
        if (!eq) {
          fprintf(stderr, "%s: event_normalize differs after pruning (title %s / %s)\n", e->name,
                  a.title, b.title);
          tu_failed_checks++;
        }
      }
      if (ra == 0) event_info_free(&a);
      if (rb == 0) event_info_free(&b);
      json_t *want = json_deep_copy(orig);
      strip(want);
      if (!json_equal(want, pruned)) {
        fprintf(stderr, "%s: pruned copy is not the original minus the table keys\n", e->name);
        tu_failed_checks++;
      }
      json_decref(want);
    }
    printf("%-30s %6zu -> %5zu bytes\n", e->name, e->len, n);
    json_decref(orig);
    json_decref(pruned);
    free(out);
  }
}

/* Every prefix, and each byte replaced by a few troublemakers, of two real events: validation
 * agrees with jansson, and with the event table prune + jansson on the copy accepts exactly
 * what jansson accepts on the whole text (no duplicate keys can arise from these edits). */
TEST(mutations_of_real_events_agree) {
  static const char subst[] = {'"',    '\\',   ',', '}', ']', '{', '[', ':', '\0', '\x1f',
                               '\x80', '\xc3', 'e', '.', '-', '0', ' ', 'u', 'n'};
  long pipeline = 0;
  for (int i = 0; i < n_events && i < 2; i++) {
    const payload *e = &events[i == 0 ? 0 : n_events - 1];
    char *buf = malloc(e->len);
    for (size_t k = 0; k <= e->len; k++) agree(e->p, k);
    for (size_t k = 0; k < e->len; k += 3) {
      for (size_t s = 0; s < sizeof subst; s++) {
        memcpy(buf, e->p, e->len);
        buf[k] = subst[s];
        agree(buf, e->len);
        bool whole = jansson_ok(buf, e->len, LOAD_FLAGS);
        char *out = malloc(e->len);
        size_t n;
        char err[200];
        size_t at = 0;
        bool pruned = json_prune(buf, e->len, &event_opts, out, &n, err, sizeof err) == 0;
        bool piped = pruned && jansson_ok(out, n, LOAD_FLAGS);
        free(out);
        pipeline++;
        if (!pruned && sscanf(err, "malformed JSON at byte %zu", &at) == 1 && whole &&
            jansson_nul_quirk(buf, at))
          continue;
        if (whole != piped) {
          fprintf(stderr, "%s: byte %zu -> 0x%02x: jansson %d, prune+jansson %d\n", e->name, k,
                  (unsigned char)subst[s], whole, piped);
          tu_failed_checks++;
        }
      }
    }
    free(buf);
  }
  printf("validation agreed with jansson on %ld inputs (%ld through the event table); %ld were "
         "jansson's NUL-after-token quirk\n",
         n_agree, pipeline, n_quirk);
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
  char *out = malloc(e->len);
  size_t n = 0;
  double t0 = now();
  for (int i = 0; i < iters; i++) json_decref(json_loadb(e->p, e->len, LOAD_FLAGS, NULL));
  double t1 = now();
  for (int i = 0; i < iters; i++) json_prune(e->p, e->len, &event_opts, out, &n, NULL, 0);
  double t2 = now();
  for (int i = 0; i < iters; i++) {
    char *copy = malloc(e->len);
    json_prune(e->p, e->len, &event_opts, copy, &n, NULL, 0);
    json_decref(json_loadb(copy, n, LOAD_FLAGS, NULL));
    free(copy);
  }
  double t3 = now();
  double full = (t1 - t0) / iters * 1e6, prune = (t2 - t1) / iters * 1e6,
         both = (t3 - t2) / iters * 1e6;
  printf("%s (%zu -> %zu bytes): json_loadb %.1f us; json_prune %.1f us; prune + json_loadb "
         "%.1f us (%.1fx faster)\n",
         e->name, e->len, n, full, prune, both, full / both);
  free(out);
}

TEST(timing) {
  time_one("sentry-node-11.12.0/02");
  time_one("sentry-python-1.9.10/01");
}

int main(void) {
  event_opts = (json_prune_opts){json_prune_event_keys, json_prune_event_keys_n, 64};
  RUN(edge_cases_agree_with_jansson);
  RUN(depth_agrees_with_jansson);
  RUN(exhaustive_short_strings_agree);
  RUN(duplicate_keys);
  RUN(error_messages);
  RUN(prunes_members_and_commas);
  RUN(table_spares_what_event_c_reads);
  RUN(sdk_captures_normalise_the_same);
  RUN(mutations_of_real_events_agree);
  RUN(timing);
  for (int i = 0; i < n_events; i++) free(events[i].p);
  TEST_EXIT();
}
