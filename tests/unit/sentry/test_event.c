/* test_event: event_normalize field extraction, type errors, timestamps, the envelope's
 * event_id as a fallback, and the grouping rules (stack frames, exception values, messages,
 * custom fingerprints), then a data-driven pass over the real SDK captures in
 * SLUICE_FIXTURES/sdk-captures: every event item must normalise, the same with and without the
 * skipped members (event_skip_keys), and repeats of the same failure must share a fingerprint
 * while different failures must not. JSON in the hand-written cases uses ' for " and ` for '
 * to stay readable. */
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sentry/event.h"
#include "http/decode.h"
#include "capture_events.h"
#include "testutil.h"

#ifndef SLUICE_FIXTURES
#error "SLUICE_FIXTURES must name the tests/fixtures directory"
#endif

#define RECEIVED_AT 1700000000.5

/* ---- helpers ---------------------------------------------------------------------------- */

/* Parses j (with ' for " and ` for ') into arena; NULL (and a message) when it is not JSON. */
static const jdom_val *parse(jdom_doc *arena, const char *j) {
  size_t n = strlen(j);
  char *s = malloc(n + 1), err[200];
  for (size_t i = 0; i <= n; i++) s[i] = j[i] == '\'' ? '"' : j[i] == '`' ? '\'' : j[i];
  const jdom_val *v;
  jdom_opts opts = {64, JDOM_ALLOW_NUL, NULL, 0};
  if (jdom_parse(arena, s, n, &opts, &v, err, sizeof err) != JDOM_OK)
    fprintf(stderr, "bad test JSON: %s: %s\n", err, s);
  free(s);
  return v;
}

static int norm_with(const char *j, const char *fallback_id, event_info *info, char *err,
                     size_t errlen) {
  jdom_doc arena;
  jdom_init(&arena);
  const jdom_val *v = parse(&arena, j);
  int rc = v ? event_normalize(v, fallback_id, RECEIVED_AT, info, err, errlen) : -2;
  jdom_free(&arena);
  return rc;
}

static int norm(const char *j, event_info *info, char *err, size_t errlen) {
  return norm_with(j, NULL, info, err, errlen);
}

/* Fingerprint of j, or "" (and a failed check) when it does not normalise. */
static void fp(const char *j, char out[65]) {
  event_info info;
  char err[128];
  out[0] = '\0';
  if (norm(j, &info, err, sizeof err) != 0) {
    fprintf(stderr, "unexpected error %s for %s\n", err, j);
    tu_failed_checks++;
    return;
  }
  memcpy(out, info.fingerprint, 65);
  event_info_free(&info);
}

#define SAME_GROUP(a, b)                                                                           \
  do {                                                                                             \
    char fa_[65], fb_[65];                                                                         \
    fp(a, fa_);                                                                                    \
    fp(b, fb_);                                                                                    \
    CHECK_EQ_STR(fa_, fb_);                                                                        \
  } while (0)
#define OTHER_GROUP(a, b)                                                                          \
  do {                                                                                             \
    char fa_[65], fb_[65];                                                                         \
    fp(a, fa_);                                                                                    \
    fp(b, fb_);                                                                                    \
    CHECK(strcmp(fa_, fb_) != 0);                                                                  \
  } while (0)

/* An exception event with the given type, value and frames JSON (already in ' quoting). */
static const char *exc_event(char *buf, size_t cap, const char *type, const char *value,
                             const char *frames) {
  snprintf(buf, cap,
           "{'exception':{'values':[{'type':'%s','value':'%s','stacktrace':{'frames':%s}}]}}", type,
           value, frames);
  return buf;
}

/* Frames as node sends them: system frames first, in-app ones last (the top of the stack). */
#define NODE_SYS                                                                                   \
  "{'filename':'node:internal/modules/cjs/loader','module':'loader','function':'Module._load',"    \
  "'lineno':1091,'colno':12,'in_app':false}"
#define FRAME(mod, fn, line)                                                                       \
  "{'module':'" mod "','function':'" fn "','lineno':" #line ",'in_app':true}"

static void check_err(const char *j, const char *field) {
  event_info info;
  char err[128] = "";
  int rc = norm(j, &info, err, sizeof err);
  CHECK_EQ_INT(rc, -1);
  if (!strstr(err, field)) {
    fprintf(stderr, "error \"%s\" does not name \"%s\" (input %s)\n", err, field, j);
    tu_failed_checks++;
  }
  CHECK(info.title == NULL && info.message == NULL && info.culprit == NULL);
}

/* ---- fields ----------------------------------------------------------------------------- */

TEST(fields_extracted) {
  event_info info;
  char err[128];
  int rc = norm("{'event_id':'4A294AE7-2BB8-4DA8-9BE4-2D70DAD2858A','level':'warning',"
                "'release':'shop@1.4.2','environment':'production','timestamp':'2026-11-23T23:33:"
                "05Z','message':'hello','unknown':{'x':[1,2]}}",
                &info, err, sizeof err);
  CHECK_EQ_INT(rc, 0);
  CHECK_EQ_STR(info.event_id, "4a294ae72bb84da89be42d70dad2858a");
  CHECK_EQ_STR(info.level, "warning");
  CHECK_EQ_STR(info.release, "shop@1.4.2");
  CHECK_EQ_STR(info.environment, "production");
  CHECK_EQ_STR(info.title, "hello");
  CHECK_EQ_STR(info.message, "hello");
  CHECK_EQ_STR(info.culprit, "");
  CHECK(info.timestamp == 1795476785.0);
  CHECK_EQ_INT(strlen(info.fingerprint), 64);
  event_info_free(&info);
}

TEST(defaults_when_absent) {
  event_info a, b;
  char err[128];
  CHECK_EQ_INT(norm("{}", &a, err, sizeof err), 0);
  CHECK_EQ_INT(norm("{'event_id':null,'release':'','environment':null}", &b, err, sizeof err), 0);
  CHECK_EQ_INT(strlen(a.event_id), 32);
  CHECK(strspn(a.event_id, "0123456789abcdef") == 32);
  CHECK(strcmp(a.event_id, b.event_id) != 0);
  CHECK(a.timestamp == RECEIVED_AT);
  CHECK_EQ_STR(a.level, "error");
  CHECK(a.release == NULL && a.environment == NULL && b.release == NULL);
  CHECK_EQ_STR(a.title, "<unlabeled event>");
  CHECK_EQ_STR(a.culprit, "");
  CHECK_EQ_STR(a.message, "");
  CHECK_EQ_STR(a.fingerprint, b.fingerprint);
  event_info_free(&a);
  event_info_free(&b);
  event_info_free(&a); /* freeing twice is harmless: the struct is zeroed */
}

/* The envelope header's event_id stands in only when the event has no "event_id" member. */
TEST(fallback_event_id) {
  const char *hid = "0123456789abcdef0123456789abcdef";
  event_info info;
  char err[128];
  CHECK_EQ_INT(norm_with("{'message':'m'}", hid, &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.event_id, hid);
  event_info_free(&info);
  CHECK_EQ_INT(
      norm_with("{'event_id':'4A294AE7-2BB8-4DA8-9BE4-2D70DAD2858A'}", hid, &info, err, sizeof err),
      0);
  CHECK_EQ_STR(info.event_id, "4a294ae72bb84da89be42d70dad2858a");
  event_info_free(&info);
  CHECK_EQ_INT(norm_with("{'event_id':null}", hid, &info, err, sizeof err), 0);
  CHECK(strcmp(info.event_id, hid) != 0 && strlen(info.event_id) == 32);
  event_info_free(&info);
  CHECK_EQ_INT(norm_with("{'event_id':7}", hid, &info, err, sizeof err), -1);
  CHECK_EQ_INT(norm_with("{}", "not-hex", &info, err, sizeof err), -1);
  CHECK(strncmp(err, "event_id:", 9) == 0);
}

/* No key event.c reads may be skipped (every jdom_get / get in server/sentry/event.c). */
TEST(skip_table_spares_what_event_c_reads) {
  static const char *const read[] = {
      "event_id",    "timestamp", "level",       "release",
      "environment", "message",   "logentry",    "sentry.interfaces.Message",
      "formatted",   "params",    "fingerprint", "exception",
      "values",      "type",      "value",       "module",
      "mechanism",   "synthetic", "stacktrace",  "frames",
      "filename",    "abs_path",  "function",    "in_app",
      "threads",     "crashed",   "current",     "culprit",
      "transaction"};
  for (size_t i = 0; i < event_skip_keys_n; i++) {
    const jdom_key *k = &event_skip_keys[i];
    CHECK_EQ_INT(k->len, strlen(k->name));
    if (k->action != JDOM_KEY_SKIP) continue;
    for (size_t r = 0; r < sizeof read / sizeof read[0]; r++) {
      if (strcmp(k->name, read[r]) == 0) {
        fprintf(stderr, "event key table skips \"%s\", which event.c reads\n", k->name);
        tu_failed_checks++;
      }
    }
  }
}

TEST(levels) {
  static const char *const cases[][2] = {
      {"'warning'", "warning"},  {"'WARN'", "warning"},    {"'critical'", "fatal"},
      {"'fatal'", "fatal"},      {"'debug'", "debug"},     {"'info'", "info"},
      {"'log'", "info"},         {"'Custom1'", "custom1"}, {"'a level that is too long'", "error"},
      {"'bad level!'", "error"}, {"''", "error"},          {"null", "error"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char j[128];
    event_info info;
    char err[128];
    snprintf(j, sizeof j, "{'level':%s}", cases[i][0]);
    CHECK_EQ_INT(norm(j, &info, err, sizeof err), 0);
    CHECK_EQ_STR(info.level, cases[i][1]);
    event_info_free(&info);
  }
}

TEST(timestamps) {
  static const struct {
    const char *json;
    double want;
  } ok[] = {
      {"'2026-11-23T23:33:05.364456Z'", 1795476785.364456},
      {"'2026-11-23T23:33:05Z'", 1795476785.0},
      {"'2026-11-23t23:33:05z'", 1795476785.0},
      {"'2026-11-23 23:33:05'", 1795476785.0}, /* no zone: UTC, as old python SDKs send */
      {"'2024-02-29T12:00:00+02:00'", 1709200800.0},
      {"'2000-01-01T00:00:00-01:30'", 946690200.0},
      {"'2000-01-01T00:00:00.5-0130'", 946690200.5},
      {"'2024-02-29'", 1709164800.0},
      /* seconds are optional (util/timefmt.c is the one parser for events, transactions and
       * sessions: it once refused what events accepted) */
      {"'2024-01-02T03:04Z'", 1704164640.0},
      {"'2024-01-02 03:04'", 1704164640.0},
      {"'2016-12-31T23:59:60Z'", 1483228800.0}, /* a leap second is the next minute's :00 */
      {"'1970-01-01T00:00:00Z'", 0.0},
      {"1795476784.418", 1795476784.418},
      {"1795476784", 1795476784.0},
      {"'1795476784.25'", 1795476784.25},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char j[128], err[128];
    event_info info;
    snprintf(j, sizeof j, "{'timestamp':%s}", ok[i].json);
    int rc = norm(j, &info, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0 && fabs(info.timestamp - ok[i].want) > 1e-6) {
      fprintf(stderr, "timestamp %s: got %.6f want %.6f\n", ok[i].json, info.timestamp, ok[i].want);
      tu_failed_checks++;
    }
    event_info_free(&info);
  }
  static const char *const bad[] = {
      "{}",
      "[]",
      "true",
      "'yesterday'",
      "''",
      "'2026-13-01T00:00:00Z'",
      "'2023-02-29T00:00:00Z'",
      "'2026-11-23T24:00:00Z'",
      "'2026-11-23T23:33:05.Z'",
      "'2026-11-23T23:33:05Zjunk'",
      "'2026-11-23T23:33:05+2'",
      "'2024-02-30T00:00:00Z'", /* impossible dates are a 400, never a guess */
      "'2024-04-31T00:00:00Z'",
      "'2024-01-02T03:04:61Z'",
      "'2024-01-02T03:60Z'",
      "'2024-01-02T03:04:05+24:00'",
      "'2024-01-02T03:04:05Z '",
      "'1969-12-31T23:59:59Z'",
      "-5",
      "1e300",
      "' 12'",
      "'nan'",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char j[128];
    snprintf(j, sizeof j, "{'timestamp':%s}", bad[i]);
    check_err(j, "timestamp");
  }
}

TEST(wrong_types_name_the_field) {
  check_err("{'exception':5}", "exception");
  check_err("{'exception':'boom'}", "exception");
  check_err("{'exception':{'values':5}}", "exception");
  check_err("{'exception':{'values':[5]}}", "exception");
  check_err("{'exception':[{'type':5}]}", "exception");
  check_err("{'exception':[{'type':'E','value':{}}]}", "exception");
  check_err("{'exception':[{'type':'E','mechanism':'x'}]}", "exception");
  check_err("{'exception':[{'type':'E','stacktrace':'x'}]}", "exception");
  check_err("{'exception':[{'type':'E','stacktrace':{'frames':{}}}]}", "exception");
  check_err("{'exception':[{'type':'E','stacktrace':{'frames':[5]}}]}", "exception");
  check_err("{'exception':[{'type':'E','stacktrace':{'frames':[{'function':7}]}}]}", "exception");
  check_err("{'stacktrace':{'frames':[{'module':[]}]}}", "stacktrace");
  check_err("{'level':[]}", "level");
  check_err("{'level':3}", "level");
  check_err("{'event_id':'xyz'}", "event_id");
  check_err("{'event_id':5}", "event_id");
  check_err("{'event_id':'4a294ae72bb84da89be42d70dad2858g'}", "event_id");
  check_err("{'event_id':'4a294ae7-2bb84da8-9be4-2d70dad2858a0'}", "event_id");
  check_err("{'timestamp':{}}", "timestamp");
  check_err("{'fingerprint':'abc'}", "fingerprint");
  check_err("{'fingerprint':[{}]}", "fingerprint");
  check_err("{'fingerprint':['a',['b']]}", "fingerprint");
  check_err("{'logentry':'x'}", "logentry");
  check_err("{'logentry':{'message':5}}", "logentry");
  check_err("{'logentry':{'message':'m','params':'p'}}", "logentry");
  check_err("{'message':5}", "message");
  check_err("{'message':{'formatted':[]}}", "message");
  check_err("{'release':{}}", "release");
  check_err("{'environment':[]}", "environment");
  check_err("[]", "event");
  check_err("'string'", "event");
}

TEST(permissive_where_sdks_are) {
  event_info info;
  char err[128];
  /* nulls everywhere, unknown fields, a bare exception array, a legacy single exception,
   * numeric release, frames missing everything, in_app as a non-boolean. */
  CHECK_EQ_INT(norm("{'exception':[{'type':'E','module':null,'mechanism':null,'stacktrace':"
                    "{'frames':[null,{},{'function':'f','in_app':'yes'}]}},null],"
                    "'release':2,'level':null,'fingerprint':null,'threads':5,'x':{}}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.release, "2");
  CHECK_EQ_STR(info.title, "E");
  CHECK_EQ_STR(info.culprit, "f");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'exception':{'type':'ValueError','value':'bad'}}", &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.title, "ValueError: bad");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'exception':{'values':null},'message':'m'}", &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "m");
  event_info_free(&info);
  SAME_GROUP("{'exception':{'values':[{'type':'E','value':'v'}]}}",
             "{'exception':[{'type':'E','value':'v'}]}");
  SAME_GROUP("{'exception':{'type':'E','value':'v'}}", "{'exception':[{'type':'E','value':'v'}]}");
}

/* ---- grouping by stack ------------------------------------------------------------------ */

TEST(same_place_different_lines_same_group) {
  char a[2048], b[2048];
  SAME_GROUP(exc_event(a, sizeof a, "OrderError", "card declined for order 17",
                       "[" NODE_SYS
                       "," FRAME("orders", "Object.?", 8) "," FRAME("orders", "charge", 7) "]"),
             exc_event(b, sizeof b, "OrderError", "card declined for order 18",
                       "[" NODE_SYS
                       "," FRAME("orders", "Object.?", 80) "," FRAME("orders", "charge", 70) "]"));
  /* Column numbers, context lines and the value never matter when there is a stack. */
  SAME_GROUP(exc_event(a, sizeof a, "E", "one",
                       "[{'module':'m','function':'f','lineno':1,'colno':2,'context_line':'a'}]"),
             exc_event(b, sizeof b, "E", "two",
                       "[{'module':'m','function':'f','lineno':9,'colno':7,'context_line':'b'}]"));
}

TEST(different_place_different_group) {
  char a[2048], b[2048];
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[" FRAME("orders", "charge", 7) "]"),
              exc_event(b, sizeof b, "E", "v", "[" FRAME("orders", "refund", 7) "]"));
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[" FRAME("orders", "charge", 7) "]"),
              exc_event(b, sizeof b, "E", "v", "[" FRAME("billing", "charge", 7) "]"));
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[" FRAME("orders", "charge", 7) "]"),
              exc_event(b, sizeof b, "F", "v", "[" FRAME("orders", "charge", 7) "]"));
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[" FRAME("m", "a", 1) "," FRAME("m", "b", 1) "]"),
              exc_event(b, sizeof b, "E", "v", "[" FRAME("m", "b", 1) "," FRAME("m", "a", 1) "]"));
  /* The component separator is unambiguous. */
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[{'module':'ab','function':'c'}]"),
              exc_event(b, sizeof b, "E", "v", "[{'module':'a','function':'bc'}]"));
  OTHER_GROUP(exc_event(a, sizeof a, "Ef", "v", "[{'module':'m','function':'x'}]"),
              exc_event(b, sizeof b, "E", "v", "[{'module':'fm','function':'x'}]"));
}

TEST(in_app_frames_only) {
  char a[2048], b[2048];
  /* System frames do not matter when some frame is in-app. */
  SAME_GROUP(
      exc_event(a, sizeof a, "E", "v", "[" NODE_SYS "," FRAME("app", "inner", 3) "]"),
      exc_event(b, sizeof b, "E", "v",
                "[{'module':'other','function':'x','in_app':false}," FRAME("app", "inner", 4) "]"));
  SAME_GROUP(exc_event(a, sizeof a, "E", "v", "[" FRAME("app", "inner", 3) "]"),
             exc_event(b, sizeof b, "E", "v", "[" NODE_SYS "," FRAME("app", "inner", 4) "]"));
  /* With no in-app frame at all, every frame counts. */
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[{'module':'lib','function':'a','in_app':false}]"),
              exc_event(b, sizeof b, "E", "v", "[{'module':'lib','function':'b','in_app':false}]"));
  SAME_GROUP(exc_event(a, sizeof a, "E", "v", "[{'module':'lib','function':'a','lineno':1}]"),
             exc_event(b, sizeof b, "E", "v", "[{'module':'lib','function':'a','lineno':2}]"));
}

TEST(filenames_without_module) {
  char a[2048], b[2048];
  SAME_GROUP(
      exc_event(a, sizeof a, "E", "v", "[{'filename':'/srv/app.js?v=123','function':'f'}]"),
      exc_event(b, sizeof b, "E", "v", "[{'filename':'/srv/app.js?v=456#x','function':'f'}]"));
  SAME_GROUP(exc_event(a, sizeof a, "E", "v", "[{'filename':'/srv/app.js:10:5','function':'f'}]"),
             exc_event(b, sizeof b, "E", "v", "[{'filename':'/srv/app.js:11','function':'f'}]"));
  SAME_GROUP(
      exc_event(a, sizeof a, "E", "v", "[{'filename':'static/app.3f2a9c1d.js','function':'f'}]"),
      exc_event(b, sizeof b, "E", "v", "[{'filename':'static/app.8e7b6a5f0c.js','function':'f'}]"));
  SAME_GROUP(exc_event(a, sizeof a, "E", "v",
                       "[{'filename':'https://a.example/static/app.js','function':'f'}]"),
             exc_event(b, sizeof b, "E", "v",
                       "[{'filename':'http://cdn.b.example/static/app.js','function':'f'}]"));
  SAME_GROUP(exc_event(a, sizeof a, "E", "v", "[{'abs_path':'/srv/x.py','function':'f'}]"),
             exc_event(b, sizeof b, "E", "v", "[{'filename':'/srv/x.py','function':'f'}]"));
  OTHER_GROUP(exc_event(a, sizeof a, "E", "v", "[{'filename':'/srv/app.js','function':'f'}]"),
              exc_event(b, sizeof b, "E", "v", "[{'filename':'/srv/lib.js','function':'f'}]"));
}

TEST(chained_exceptions) {
  const char *base =
      "{'exception':{'values':["
      "{'type':'KeyError','value':'k','stacktrace':{'frames':[" FRAME(
          "db", "get",
          1) "]}},"
             "{'type':'LookupFailed','value':'no user 7','stacktrace':{'frames':[" FRAME(
                 "api", "load", 9) "]}}]}}";
  const char *lines =
      "{'exception':{'values':["
      "{'type':'KeyError','value':'j','stacktrace':{'frames':[" FRAME(
          "db", "get",
          2) "]}},"
             "{'type':'LookupFailed','value':'no user 8','stacktrace':{'frames':[" FRAME(
                 "api", "load", 3) "]}}]}}";
  const char *cause =
      "{'exception':{'values':["
      "{'type':'IndexError','value':'k','stacktrace':{'frames':[" FRAME(
          "db", "get",
          1) "]}},"
             "{'type':'LookupFailed','value':'no user 7','stacktrace':{'frames':[" FRAME(
                 "api", "load", 9) "]}}]}}";
  const char *outer_only =
      "{'exception':{'values':["
      "{'type':'LookupFailed','value':'no user 7','stacktrace':{'frames':[" FRAME("api", "load",
                                                                                  9) "]}}]}}";
  SAME_GROUP(base, lines);
  OTHER_GROUP(base, cause);
  OTHER_GROUP(base, outer_only);
  event_info info;
  char err[128];
  CHECK_EQ_INT(norm(base, &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "LookupFailed: no user 7");
  CHECK_EQ_STR(info.culprit, "api in load");
  CHECK_EQ_STR(info.message, "no user 7");
  event_info_free(&info);
}

/* ---- grouping by exception value, message, fingerprint ---------------------------------- */

TEST(exception_value_normalised_without_stack) {
  SAME_GROUP("{'exception':[{'type':'Timeout','value':'after 30s on 0xdeadbeef for "
             "123e4567-e89b-12d3-a456-426614174000 (id 5f3a9c2e81d4, 10.0.0.1, 1.5ms)'}]}",
             "{'exception':[{'type':'Timeout','value':'after 45s on 0x7ffe01 for "
             "00000000-0000-4000-8000-00000000abcd (id 0123456789ab, 192.168.1.20, 12.25ms)'}]}");
  SAME_GROUP("{'exception':[{'type':'KeyError','value':'`42`'}]}",
             "{'exception':[{'type':'KeyError','value':'`1337`'}]}");
  SAME_GROUP("{'exception':[{'type':'E','value':'order=17 failed'}]}",
             "{'exception':[{'type':'E','value':'order=180 failed'}]}");
  OTHER_GROUP("{'exception':[{'type':'E','value':'disk full'}]}",
              "{'exception':[{'type':'E','value':'disk gone'}]}");
  OTHER_GROUP("{'exception':[{'type':'E','value':'disk full'}]}",
              "{'exception':[{'type':'F','value':'disk full'}]}");
  /* Digits inside words are part of the word. */
  OTHER_GROUP("{'exception':[{'type':'E','value':'bad utf8'}]}",
              "{'exception':[{'type':'E','value':'bad utf16'}]}");
  /* A type-only exception still groups; the title falls back to what exists. */
  event_info info;
  char err[128];
  CHECK_EQ_INT(norm("{'exception':[{'value':'just a value'}]}", &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "just a value");
  event_info_free(&info);
}

TEST(message_grouping) {
  /* A log template with different params is one group; its title is the formatted text. */
  SAME_GROUP("{'logentry':{'message':'Order %s failed after %d retries','params':['A-17',3]}}",
             "{'logentry':{'message':'Order %s failed after %d retries','params':['B-2',5]}}");
  OTHER_GROUP("{'logentry':{'message':'Order %s failed after %d retries','params':['A-17',3]}}",
              "{'logentry':{'message':'Order %s shipped after %d retries','params':['A-17',3]}}");
  /* A template that came with params is taken verbatim: its numbers are not variables. */
  OTHER_GROUP("{'logentry':{'message':'HTTP 500 from %s','params':['db']}}",
              "{'logentry':{'message':'HTTP 404 from %s','params':['db']}}");
  /* Plain messages are normalised. */
  SAME_GROUP("{'message':'Order 17 failed'}", "{'message':'Order 18 failed'}");
  SAME_GROUP("{'message':'Order 17 failed'}", "{'message':{'formatted':'Order 19 failed'}}");
  SAME_GROUP("{'message':'Order 17 failed'}", "{'message':{'message':'Order 20 failed'}}");
  SAME_GROUP("{'message':'Order 17 failed'}",
             "{'logentry':{'message':'Order 21 failed','params':[]}}");
  SAME_GROUP("{'message':'Something odd'}", "{'message':'Something odd','level':'info','x':1}");
  OTHER_GROUP("{'message':'Something odd'}", "{'message':'Something even'}");

  event_info info;
  char err[128];
  CHECK_EQ_INT(norm("{'logentry':{'message':'Order %s failed after %d retries (%.1f%%, "
                    "%(k)s, %s)','params':['A-17',3,2.5]}}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.title, "Order A-17 failed after 3 retries (2.5%, %(k)s, %s)");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'logentry':{'message':'user %(name)s has %(n)d items','params':"
                    "{'name':'bob','n':4}}}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.title, "user bob has 4 items");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'logentry':{'message':'Order %s','formatted':'Order X-1','params':['X-1']}}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.title, "Order X-1");
  CHECK_EQ_STR(info.message, "Order X-1");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'message':'\\n  first line  \\nsecond line'}", &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "first line");
  CHECK_EQ_STR(info.message, "\n  first line  \nsecond line");
  event_info_free(&info);
}

TEST(exception_beats_message) {
  /* logging.exception(): the exception groups and titles; the message is kept for search. */
  char j[2048];
  snprintf(j, sizeof j,
           "{'exception':[{'type':'KeyError','value':'`k`','stacktrace':{'frames':[%s]}}],"
           "'logentry':{'message':'lookup failed','params':[]}}",
           FRAME("__main__", "<module>", 19));
  event_info info;
  char err[128];
  CHECK_EQ_INT(norm(j, &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "KeyError: 'k'");
  CHECK_EQ_STR(info.message, "lookup failed");
  CHECK_EQ_STR(info.culprit, "__main__ in <module>");
  event_info_free(&info);
  OTHER_GROUP(j, "{'logentry':{'message':'lookup failed','params':[]}}");
}

TEST(message_events_ignore_attached_stacks) {
  /* python attach_stacktrace puts the capture site in threads; node puts a synthetic
   * exception. Both group like the bare message, from any call site. */
  const char *bare = "{'message':'cache miss ratio high'}";
  SAME_GROUP(bare, "{'message':'cache miss ratio high','threads':{'values':[{'stacktrace':"
                   "{'frames':[" FRAME("__main__", "<module>", 24) "]},'current':true}]}}");
  SAME_GROUP(bare, "{'message':'cache miss ratio high','threads':{'values':[{'stacktrace':"
                   "{'frames':[" FRAME("jobs", "tick", 3) "]},'current':true}]}}");
  SAME_GROUP(bare, "{'message':'cache miss ratio high','exception':{'values':[{'value':'cache "
                   "miss ratio high','stacktrace':{'frames':[" FRAME(
                       "orders", "Object.?",
                       11) "]},"
                           "'mechanism':{'type':'generic','handled':true,'synthetic':true}}]}}");
  SAME_GROUP(
      bare, "{'message':'cache miss ratio high','stacktrace':{'frames':[" FRAME("a", "b", 1) "]}}");
  event_info info;
  char err[128];
  CHECK_EQ_INT(norm("{'message':'m','stacktrace':{'frames':[" FRAME("a", "b", 1) "]}}", &info, err,
                    sizeof err),
               0);
  CHECK_EQ_STR(info.culprit, "a in b");
  event_info_free(&info);
  /* Without any message, a stack is all there is. */
  OTHER_GROUP(
      "{'threads':{'values':[{'crashed':true,'stacktrace':{'frames':[" FRAME("a", "b", 1) "]}}]}}",
      "{'threads':{'values':[{'crashed':true,'stacktrace':{'frames':[" FRAME("a", "c", 1) "]}}]}}");
  OTHER_GROUP("{'stacktrace':{'frames':[" FRAME("a", "b", 1) "]}}",
              "{'stacktrace':{'frames':[" FRAME("a", "c", 1) "]}}");
  /* A synthetic exception without a message groups by its stack, not its type. */
  SAME_GROUP("{'exception':[{'type':'Error','value':'Object captured as exception with keys: a',"
             "'mechanism':{'synthetic':true},'stacktrace':{'frames':[" FRAME("m", "f", 1) "]}}]}",
             "{'exception':[{'type':'Other','value':'Object captured as exception with keys: b',"
             "'mechanism':{'synthetic':true},'stacktrace':{'frames':[" FRAME("m", "f", 2) "]}}]}");
}

TEST(custom_fingerprints) {
  char b[2048];
  /* A literal fingerprint is its own group, whatever the event. */
  SAME_GROUP("{'fingerprint':['db-down'],'message':'x'}",
             "{'fingerprint':['db-down'],'exception':[{'type':'E','value':'v'}]}");
  OTHER_GROUP("{'fingerprint':['db-down']}", "{'fingerprint':['db-up']}");
  OTHER_GROUP("{'fingerprint':['a','b']}", "{'fingerprint':['ab']}");
  OTHER_GROUP("{'fingerprint':['a','b']}", "{'fingerprint':['b','a']}");
  /* ...and never collides with a default group made of the same text. */
  OTHER_GROUP("{'fingerprint':['db-down']}", "{'message':'db-down'}");
  SAME_GROUP("{'fingerprint':[500,true,'x']}", "{'fingerprint':['500','true','x']}");
  SAME_GROUP("{'fingerprint':[1.5]}", "{'fingerprint':['1.5']}");

  /* {{ default }} alone is the default; with other values it splits the default group. */
  char da[2048], db[2048];
  snprintf(da, sizeof da,
           "{'fingerprint':['{{ default }}'],'exception':[{'type':'E','value':'v','stacktrace':"
           "{'frames':[%s]}}]}",
           FRAME("m", "f", 1));
  SAME_GROUP(da, exc_event(b, sizeof b, "E", "v", "[" FRAME("m", "f", 1) "]"));
  SAME_GROUP("{'fingerprint':[],'message':'q'}", "{'message':'q'}");
  snprintf(da, sizeof da,
           "{'fingerprint':['payment-gateway','{{ default }}'],'exception':[{'type':'E','value':"
           "'v1','stacktrace':{'frames':[%s]}}]}",
           FRAME("m", "f", 1));
  snprintf(db, sizeof db,
           "{'fingerprint':['payment-gateway','{{default}}'],'exception':[{'type':'E','value':"
           "'v2','stacktrace':{'frames':[%s]}}]}",
           FRAME("m", "f", 9));
  SAME_GROUP(da, db);
  OTHER_GROUP(da, exc_event(b, sizeof b, "E", "v", "[" FRAME("m", "f", 1) "]"));
  snprintf(db, sizeof db,
           "{'fingerprint':['payment-gateway','{{ default }}'],'exception':[{'type':'E','value':"
           "'v','stacktrace':{'frames':[%s]}}]}",
           FRAME("m", "g", 1));
  OTHER_GROUP(da, db);
  snprintf(db, sizeof db,
           "{'fingerprint':['payment-gateway'],'exception':[{'type':'E','value':"
           "'v','stacktrace':{'frames':[%s]}}]}",
           FRAME("m", "g", 1));
  OTHER_GROUP(da, db);
  /* Other variables are literal text. */
  OTHER_GROUP("{'fingerprint':['{{ transaction }}'],'transaction':'a'}",
              "{'fingerprint':['{{ default }}'],'transaction':'a'}");
}

/* Components with embedded NUL bytes cannot be confused with component boundaries. */
TEST(separator_escaping) {
  jdom_doc arena;
  jdom_init(&arena);
  const jdom_val *a = parse(&arena, "{'fingerprint':['a\\u0000lit\\u0000b']}");
  const jdom_val *b = parse(&arena, "{'fingerprint':['a','b']}");
  const jdom_val *c = parse(&arena, "{'fingerprint':['a\\u0001']}");
  const jdom_val *d = parse(&arena, "{'fingerprint':['a\\u0000']}");
  event_info ia, ib, ic, id;
  CHECK(a && b && c && d);
  CHECK_EQ_INT(event_normalize(a, NULL, RECEIVED_AT, &ia, NULL, 0), 0);
  CHECK_EQ_INT(event_normalize(b, NULL, RECEIVED_AT, &ib, NULL, 0), 0);
  CHECK_EQ_INT(event_normalize(c, NULL, RECEIVED_AT, &ic, NULL, 0), 0);
  CHECK_EQ_INT(event_normalize(d, NULL, RECEIVED_AT, &id, NULL, 0), 0);
  CHECK(strcmp(ia.fingerprint, ib.fingerprint) != 0);
  CHECK(strcmp(ic.fingerprint, id.fingerprint) != 0);
  event_info_free(&ia);
  event_info_free(&ib);
  event_info_free(&ic);
  event_info_free(&id);
  jdom_free(&arena);
}

TEST(titles_and_culprits) {
  event_info info;
  char err[128], j[4096];
  CHECK_EQ_INT(norm("{'exception':[{'type':'OnlyType'}]}", &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.title, "OnlyType");
  CHECK_EQ_STR(info.message, "OnlyType");
  event_info_free(&info);

  CHECK_EQ_INT(
      norm(exc_event(j, sizeof j, "E", "v",
                     "[{'filename':'/srv/app.js?x=1','function':'handler','in_app':true},"
                     "{'filename':'node_modules/lib.js','function':'inner','in_app':false}]"),
           &info, err, sizeof err),
      0);
  CHECK_EQ_STR(info.culprit, "/srv/app.js in handler");
  event_info_free(&info);

  CHECK_EQ_INT(norm(exc_event(j, sizeof j, "E", "v",
                              "[{'module':'a','function':'x'},{'module':'b','function':'y'}]"),
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.culprit, "b in y");
  event_info_free(&info);

  CHECK_EQ_INT(norm("{'message':'m','culprit':'views.checkout','transaction':'/cart'}", &info, err,
                    sizeof err),
               0);
  CHECK_EQ_STR(info.culprit, "views.checkout");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'message':'m','transaction':'/cart'}", &info, err, sizeof err), 0);
  CHECK_EQ_STR(info.culprit, "/cart");
  event_info_free(&info);

  /* A placeholder function name ("Object.?", node's module top level) is not shown: the file
   * name (without its query) is, else the module, else the transaction. */
  CHECK_EQ_INT(norm("{'message':'m','exception':[{'value':'m','mechanism':{'synthetic':true},"
                    "'stacktrace':{'frames':[{'filename':'/srv/app.js?v=2','module':'app',"
                    "'function':'Object.?','in_app':true}]}}]}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.title, "m");
  CHECK_EQ_STR(info.culprit, "/srv/app.js");
  event_info_free(&info);
  CHECK_EQ_INT(
      norm(exc_event(j, sizeof j, "E", "v", "[{'module':'jobs','function':'Object.<anonymous>'}]"),
           &info, err, sizeof err),
      0);
  CHECK_EQ_STR(info.culprit, "jobs");
  event_info_free(&info);
  CHECK_EQ_INT(norm("{'message':'m','transaction':'/cart','stacktrace':{'frames':"
                    "[{'function':'?'}]}}",
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.culprit, "/cart");
  event_info_free(&info);
  CHECK_EQ_INT(norm(exc_event(j, sizeof j, "E", "v", "[{'module':'m','function':'Object.run'}]"),
                    &info, err, sizeof err),
               0);
  CHECK_EQ_STR(info.culprit, "m in Object.run");
  event_info_free(&info);

  /* Long values: the title is one bounded line, the search message keeps more. */
  char big[20000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *ev = malloc(sizeof big + 100);
  snprintf(ev, sizeof big + 100, "{'exception':[{'type':'Error','value':'big %s'}]}", big);
  CHECK_EQ_INT(norm(ev, &info, err, sizeof err), 0);
  CHECK(strlen(info.title) <= 1024);
  CHECK(strncmp(info.title, "Error: big xxx", 14) == 0);
  CHECK(strcmp(info.title + strlen(info.title) - 3, "...") == 0);
  CHECK(strlen(info.message) >= 1024 && strlen(info.message) <= 65536);
  event_info_free(&info);
  free(ev);

  /* Truncation never splits a UTF-8 sequence. */
  char utf[2000];
  size_t ul = (size_t)snprintf(utf, sizeof utf, "{'message':'");
  for (int i = 0; i < 300; i++) ul += (size_t)snprintf(utf + ul, sizeof utf - ul, "\xc3\xa9");
  snprintf(utf + ul, sizeof utf - ul, "'}");
  CHECK_EQ_INT(norm(utf, &info, err, sizeof err), 0);
  size_t tl = strlen(info.title);
  CHECK(tl > 3 && (tl - 3) % 2 == 0);
  event_info_free(&info);
}

/* ---- the real SDK captures -------------------------------------------------------------- */

typedef struct capture {
  char name[64]; /* "sentry-node-11.12.0/05" */
  char fp[65];   /* fingerprint */
  char event_id[33];
  double timestamp;
  char title[128];
  char culprit[128];
} capture;

#define MAX_CAPTURES 64
static capture caps[MAX_CAPTURES];
static int ncaps;

static bool same(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Parses a capture as ingest does (skipping event_skip_keys) and also whole: both must
 * normalise alike, so the skipped members cannot matter. */
static void record(const char *name, const char *payload, size_t len) {
  jdom_doc arena;
  jdom_init(&arena);
  jdom_opts skip = {64, JDOM_ALLOW_NUL, event_skip_keys, event_skip_keys_n};
  jdom_opts whole = {64, JDOM_ALLOW_NUL, NULL, 0};
  const jdom_val *ev, *full;
  char err[128];
  if (jdom_parse(&arena, payload, len, &skip, &ev, err, sizeof err) != JDOM_OK ||
      jdom_parse(&arena, payload, len, &whole, &full, err, sizeof err) != JDOM_OK) {
    fprintf(stderr, "%s: event payload is not JSON: %s\n", name, err);
    tu_failed_checks++;
    jdom_free(&arena);
    return;
  }
  event_info info, finfo;
  if (event_normalize(ev, NULL, RECEIVED_AT, &info, err, sizeof err) != 0) {
    fprintf(stderr, "%s: event_normalize failed: %s\n", name, err);
    tu_failed_checks++;
  } else if (ncaps < MAX_CAPTURES) {
    capture *c = &caps[ncaps++];
    snprintf(c->name, sizeof c->name, "%s", name);
    memcpy(c->fp, info.fingerprint, 65);
    memcpy(c->event_id, info.event_id, 33);
    c->timestamp = info.timestamp;
    snprintf(c->title, sizeof c->title, "%s", info.title);
    snprintf(c->culprit, sizeof c->culprit, "%s", info.culprit);
    const char *want_id = jdom_str(jdom_get(ev, "event_id"));
    CHECK(want_id && strcmp(want_id, info.event_id) == 0);
    CHECK_EQ_INT(event_normalize(full, NULL, RECEIVED_AT, &finfo, err, sizeof err), 0);
    bool eq = strcmp(info.event_id, finfo.event_id) == 0 && info.timestamp == finfo.timestamp &&
              strcmp(info.level, finfo.level) == 0 &&
              strcmp(info.fingerprint, finfo.fingerprint) == 0 && same(info.title, finfo.title) &&
              same(info.culprit, finfo.culprit) && same(info.release, finfo.release) &&
              same(info.environment, finfo.environment) && same(info.message, finfo.message);
    if (!eq) {
      fprintf(stderr, "%s: event_normalize differs with the skipped members\n", name);
      tu_failed_checks++;
    }
    event_info_free(&finfo);
    event_info_free(&info);
  }
  jdom_free(&arena);
}

static void load_all_captures(void) {
  tu_capture_events(record);
}

/* Finds a capture by "sdk/NN", e.g. "node/05" for "sentry-node-11.12.0/05". */
static const capture *find(const char *key) {
  const char *slash = strchr(key, '/');
  char prefix[32];
  snprintf(prefix, sizeof prefix, "sentry-%.*s-", (int)(slash - key), key);
  for (int i = 0; i < ncaps; i++) {
    const char *cs = strchr(caps[i].name, '/');
    if (strncmp(caps[i].name, prefix, strlen(prefix)) == 0 && strcmp(cs + 1, slash + 1) == 0)
      return &caps[i];
  }
  fprintf(stderr, "capture %s not found\n", key);
  tu_failed_checks++;
  return NULL;
}

TEST(sdk_captures) {
  load_all_captures();
  printf("normalised %d captured events\n", ncaps);
  CHECK(ncaps > 0);
  CHECK_EQ_INT(ncaps, 14); /* node 02 03 05-08, python 01 02 04-09 (03 is a transaction) */

  /* The only repeats: the same failure from the same place with a different order number. */
  static const char *const same[][2] = {{"node/05", "node/07"}, {"python/04", "python/05"}};
  for (int i = 0; i < ncaps; i++) {
    for (int k = i + 1; k < ncaps; k++) {
      bool want_same = false;
      for (size_t s = 0; s < sizeof same / sizeof same[0]; s++) {
        const capture *a = find(same[s][0]), *b = find(same[s][1]);
        if ((a == &caps[i] && b == &caps[k]) || (a == &caps[k] && b == &caps[i])) want_same = true;
      }
      bool is_same = strcmp(caps[i].fp, caps[k].fp) == 0;
      if (is_same != want_same) {
        fprintf(stderr, "%s and %s: expected %s groups\n", caps[i].name, caps[k].name,
                want_same ? "the same" : "different");
        tu_failed_checks++;
      }
    }
  }

  const capture *c;
  if ((c = find("node/05"))) {
    CHECK_EQ_STR(c->title, "OrderError: card declined for order 18");
    CHECK_EQ_STR(c->culprit, "orders in charge");
    CHECK(fabs(c->timestamp - 1795476785.149) < 1e-6);
  }
  if ((c = find("node/02"))) {
    CHECK_EQ_STR(c->title, "TypeError: Cannot read properties of null (reading 'foo')");
    CHECK_EQ_STR(c->culprit, "app in inner");
  }
  /* captureMessage: the message is the title; its synthetic stack's top frame is module top
   * level ("Object.?"), so the culprit is that file, not "app in Object.?". */
  if ((c = find("node/03"))) {
    CHECK_EQ_STR(c->title, "Node message");
    CHECK_EQ_STR(c->culprit, "/srv/shop/app.js");
  }
  if ((c = find("node/08"))) {
    CHECK_EQ_STR(c->title, "cache miss ratio high");
    CHECK_EQ_STR(c->culprit, "/srv/shop/orders.js");
  }
  if ((c = find("node/06"))) CHECK(strncmp(c->title, "Error: big xxx", 14) == 0);
  if ((c = find("python/01"))) {
    CHECK_EQ_STR(c->title, "KeyError: 'missing'");
    CHECK_EQ_STR(c->culprit, "__main__ in inner");
    CHECK(fabs(c->timestamp - 1795476785.364456) < 1e-6);
  }
  if ((c = find("python/04"))) CHECK_EQ_STR(c->culprit, "__main__ in pay");
  if ((c = find("python/06")))
    CHECK_EQ_STR(c->title, "PaymentError: gateway timeout for order 103");
  if ((c = find("python/07"))) {
    CHECK_EQ_STR(c->title, "Order A-17 failed after 3 retries");
    CHECK_EQ_STR(c->culprit, "");
  }
  if ((c = find("python/08"))) CHECK_EQ_STR(c->title, "KeyError: 'k'");
  if ((c = find("python/09"))) CHECK_EQ_STR(c->title, "attachment test");
}

/* Not a pass/fail check: prints the normalisation rate on a realistic event. */
TEST(throughput) {
  char j[4096];
  exc_event(j, sizeof j, "OrderError", "card declined for order 18",
            "[" NODE_SYS "," NODE_SYS "," NODE_SYS "," NODE_SYS
            "," FRAME("orders", "Object.?", 8) "," FRAME("orders", "charge", 7) "]");
  jdom_doc arena;
  jdom_init(&arena);
  const jdom_val *ev = parse(&arena, j);
  struct timespec t0, t1;
  int n = 20000;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    event_info info;
    if (event_normalize(ev, NULL, RECEIVED_AT, &info, NULL, 0) != 0) tu_failed_checks++;
    event_info_free(&info);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("event_normalize: %.0f events/s (one core, this build)\n", n / s);
  jdom_free(&arena);
}

int main(void) {
  RUN(fields_extracted);
  RUN(defaults_when_absent);
  RUN(fallback_event_id);
  RUN(skip_table_spares_what_event_c_reads);
  RUN(levels);
  RUN(timestamps);
  RUN(wrong_types_name_the_field);
  RUN(permissive_where_sdks_are);
  RUN(same_place_different_lines_same_group);
  RUN(different_place_different_group);
  RUN(in_app_frames_only);
  RUN(filenames_without_module);
  RUN(chained_exceptions);
  RUN(exception_value_normalised_without_stack);
  RUN(message_grouping);
  RUN(exception_beats_message);
  RUN(message_events_ignore_attached_stacks);
  RUN(custom_fingerprints);
  RUN(separator_escaping);
  RUN(titles_and_culprits);
  RUN(sdk_captures);
  RUN(throughput);
  TEST_EXIT();
}
