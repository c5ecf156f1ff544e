/* test_webhook_msg: what a webhook receives. Signatures against the Standard Webhooks
 * specification's published vector and against HMAC-SHA256 values computed independently
 * (Python's hmac and `openssl dgst -sha256 -mac HMAC`) when this test was written; secret and
 * URL checks; the shape of the generic payload (type, id, timestamp, data) and of the Slack
 * message (text, blocks) for memory-leak, new-issue, digest and test events, including mrkdwn
 * escaping, UTF-8-safe cuts and Slack's block limits. */
#include <jansson.h>

#include "alerts/webhook_msg.h"
#include "testutil.h"

#define BASE "https://sluice.example"

/* The Standard Webhooks specification's example (also in every one of its libraries' tests). */
#define SPEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID     "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS     1614265330LL
#define SPEC_BODY   "{\"test\": 2432232314}"
#define SPEC_SIG    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* A 64-byte key (bytes 0..63), the longest a secret may hold. */
#define SECRET_64                                                                                  \
  "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="

static json_t *load(const char *text) {
  json_error_t err;
  json_t *j = text ? json_loads(text, 0, &err) : NULL;
  if (text && !j) fprintf(stderr, "  not JSON (%s): %s\n", err.text, text);
  CHECK(j != NULL);
  return j;
}

static const char *sget(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static int starts_with(const char *s, const char *prefix) {
  return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int contains(const char *s, const char *needle) {
  return s && strstr(s, needle) != NULL;
}

/* --- signatures ----------------------------------------------------------------------------- */

TEST(sign_standard_webhooks_vector) {
  char sig[64];
  CHECK_EQ_INT(webhook_msg_sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig,
                                sizeof sig),
               0);
  CHECK_EQ_STR(sig, SPEC_SIG);
  /* The timestamp is part of what is signed. */
  CHECK_EQ_INT(webhook_msg_sign(SPEC_SECRET, SPEC_ID, SPEC_TS + 1, SPEC_BODY, strlen(SPEC_BODY),
                                sig, sizeof sig),
               0);
  CHECK_EQ_STR(sig, "v1,l6C9/1+N/lSU6+gfh+YEGqTK2aQ+k8nMEWDvvCgHh7U=");
}

TEST(sign_independent_vectors) {
  /* HMAC-SHA256 with the 64-byte key over "msg_2.1700000000." + body, computed with Python's
   * hmac and checked with openssl. The body holds a NUL byte: only len counts. */
  static const char body[] = "{\"a\":1}\0tail";
  char sig[64];
  CHECK_EQ_INT(
      webhook_msg_sign(SECRET_64, "msg_2", 1700000000, body, sizeof body - 1, sig, sizeof sig), 0);
  CHECK_EQ_STR(sig, "v1,JSG1ZTakF4OJtRy3CXChafcaOYE+YNyUeT7gU28PA6Q=");
  CHECK_EQ_INT(webhook_msg_sign(SECRET_64, "msg_2", 1700000000, body, 7, sig, sizeof sig), 0);
  CHECK_EQ_STR(sig, "v1,lXajXyntT2FhvaVUjrShmDU1gFlGknXVJwyj9lSNU90=");
  CHECK_EQ_INT(webhook_msg_sign(SECRET_64, "msg_2", 1700000000, "", 0, sig, sizeof sig), 0);
  CHECK_EQ_STR(sig, "v1,0KvQCpiyztJ8qDr4Flii5VxC1C/iQjgjCbMnL6UXGzA=");
  /* The same key without its padding. */
  char unpadded[sizeof SECRET_64];
  snprintf(unpadded, sizeof unpadded, "%s", SECRET_64);
  unpadded[strlen(unpadded) - 2] = '\0';
  CHECK_EQ_INT(webhook_msg_sign(unpadded, "msg_2", 1700000000, "", 0, sig, sizeof sig), 0);
  CHECK_EQ_STR(sig, "v1,0KvQCpiyztJ8qDr4Flii5VxC1C/iQjgjCbMnL6UXGzA=");
  /* A key whose base64 uses '+' and '/', and a negative timestamp. */
  CHECK_EQ_INT(webhook_msg_sign("whsec_+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/", SPEC_ID, -1, "x", 1, sig,
                                sizeof sig),
               0);
  CHECK_EQ_STR(sig, "v1,ALfTVBhLLdPe9s480EDpXwj5MvawH1GAQDE9lJ7yQZg=");
}

TEST(sign_output_bounds) {
  char sig[64];
  /* "v1," + 44 base64 characters + NUL = 48 bytes. */
  CHECK_EQ_INT(
      webhook_msg_sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig, 48), 0);
  CHECK_EQ_STR(sig, SPEC_SIG);
  CHECK_EQ_INT(
      webhook_msg_sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY, strlen(SPEC_BODY), sig, 47), -1);
  /* A message id too long for the signed prefix is refused, not cut. */
  char long_id[300];
  memset(long_id, 'm', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  CHECK_EQ_INT(webhook_msg_sign(SPEC_SECRET, long_id, SPEC_TS, "x", 1, sig, sizeof sig), -1);
}

static const char *const bad_secrets[] = {
    "",
    "whsec_",
    "whsec",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",        /* no prefix */
    "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  /* prefix is case-sensitive */
    "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",  /* 23 bytes: too short */
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",   /* one digit short: 23 bytes */
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", /* trailing space */
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    "whsec_ MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_MfKQ9r8GKYqrTwjUPD8I!PZIo2LaLaSw",  /* not base64 */
    "whsec_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_",  /* base64url is not accepted */
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=", /* padding where none belongs */
    "whsec_MfKQ9r8GKYqr=wjUPD8ILPZIo2LaLaSw",  /* '=' in the middle */
    /* 65 bytes: too long */
    "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+"
    "P0A=",
};

TEST(secret_check) {
  CHECK_EQ_INT(webhook_msg_secret_check(SPEC_SECRET), 0); /* 24 bytes, the shortest */
  CHECK_EQ_INT(webhook_msg_secret_check(SECRET_64), 0);   /* 64 bytes, the longest */
  CHECK_EQ_INT(webhook_msg_secret_check("whsec_+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/"), 0);
  CHECK_EQ_INT(webhook_msg_secret_check(NULL), -1);
  for (size_t i = 0; i < sizeof bad_secrets / sizeof bad_secrets[0]; i++) {
    int rc = webhook_msg_secret_check(bad_secrets[i]);
    if (rc != -1) fprintf(stderr, "  accepted bad secret \"%s\"\n", bad_secrets[i]);
    CHECK_EQ_INT(rc, -1);
  }
  char huge[400] = "whsec_";
  memset(huge + 6, 'A', sizeof huge - 7);
  huge[sizeof huge - 1] = '\0';
  CHECK_EQ_INT(webhook_msg_secret_check(huge), -1);
}

TEST(sign_refuses_bad_secrets) {
  for (size_t i = 0; i < sizeof bad_secrets / sizeof bad_secrets[0]; i++) {
    char sig[64] = "untouched";
    int rc = webhook_msg_sign(bad_secrets[i], SPEC_ID, SPEC_TS, "x", 1, sig, sizeof sig);
    if (rc != -1) fprintf(stderr, "  signed with bad secret \"%s\"\n", bad_secrets[i]);
    CHECK_EQ_INT(rc, -1);
  }
}

/* --- URLs ------------------------------------------------------------------------------------ */

TEST(url_check_accepts_http_and_https) {
  static const char *const good[] = {
      "https://hooks.slack.com/services/T000/B000/XXXX",
      "http://example.com",
      "http://example.com/",
      "https://example.com:8443/hook?x=1&y=2#frag",
      "http://127.0.0.1:8080/hook", /* the SSRF guard judges addresses at connect time */
      "https://[2001:db8::1]/hook",
      "https://user:pass@example.com/",
      "HTTPS://EXAMPLE.COM/hook",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char why[200] = "";
    int rc = webhook_msg_url_check(good[i], NULL, 0, why, sizeof why);
    if (rc != 0) fprintf(stderr, "  refused %s: %s\n", good[i], why);
    CHECK_EQ_INT(rc, 0);
  }
}

TEST(url_check_refuses) {
  static const char *const bad[] = {
      "",
      "example.com/hook", /* no scheme */
      "//example.com/hook",
      "ftp://example.com/",
      "file:///etc/passwd",
      "gopher://example.com/",
      "javascript:alert(1)",
      "mailto:ops@example.com",
      "http://",
      "https:///path", /* curl would take "path" for the host */
      "http:/example.com/hook",
      "http:example.com",
      "http:////example.com/",
      "http://exa mple.com/",
      "http://example.com/\n",
      "http://example.com/\x7f",
      "\thttp://example.com/",
      "not a url",
      "http://[::1/",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char why[200] = "";
    int rc = webhook_msg_url_check(bad[i], NULL, 0, why, sizeof why);
    if (rc != -1) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
    CHECK_EQ_INT(rc, -1);
    CHECK(strncmp(why, "url: ", 5) == 0);
  }
  char why[200] = "";
  CHECK_EQ_INT(webhook_msg_url_check(NULL, NULL, 0, why, sizeof why), -1);
  CHECK(strncmp(why, "url: ", 5) == 0);
  CHECK_EQ_INT(webhook_msg_url_check("ftp://example.com/", NULL, 0, why, sizeof why), -1);
  CHECK(strstr(why, "http") != NULL);
}

TEST(url_check_length_bound) {
  /* 2048 characters is the most a delivery row stores. */
  static char url[2100];
  const char *head = "https://example.com/";
  memcpy(url, head, strlen(head));
  memset(url + strlen(head), 'a', 2048 - strlen(head));
  url[2048] = '\0';
  char why[200];
  CHECK_EQ_INT(webhook_msg_url_check(url, NULL, 0, why, sizeof why), 0);
  url[2048] = 'a';
  url[2049] = '\0';
  CHECK_EQ_INT(webhook_msg_url_check(url, NULL, 0, why, sizeof why), -1);
}

/* --- payloads -------------------------------------------------------------------------------- */

/* An alert row's data as the outbox stores it (see alert_data in storage/sqlite/outbox.c). */
static const char leak_data[] =
    "{\"alert_id\":9,\"project_id\":2,\"project_name\":\"api\",\"kind\":\"memory_leak\","
    "\"summary\":\"RSS grows 12 MB/h\",\"at\":1704164645.5,\"worker_id\":\"web-1/pid 42\","
    "\"details\":{\"service\":\"checkout\",\"host\":\"node-7\",\"release\":\"1.2.3\","
    "\"slope_bytes_per_hour\":12000000,\"rss_bytes\":512000000,"
    "\"memory_limit_bytes\":1073741824,\"confidence\":0.93,"
    "\"projected_limit_at\":\"2099-01-01T00:00:00Z\","
    "\"top_growing\":[{\"site\":\"cache.c:42 grow\",\"growth_bytes\":5000000,"
    "\"size_bytes\":100000000}]}}";

static const char issue_data[] =
    "{\"alert_id\":7,\"project_id\":3,\"project_name\":\"web\",\"kind\":\"new_issue\","
    "\"summary\":\"New issue\",\"at\":1704164645.5,\"issue_id\":42,"
    "\"details\":{\"title\":\"TypeError: x is <undefined> & `y`\",\"culprit\":\"app.js in "
    "handler\",\"level\":\"error\",\"count\":5,\"release\":\"2.0.0\","
    "\"environment\":\"production\"}}";

TEST(generic_shape_for_an_issue) {
  char *out = webhook_msg_generic("new_issue", "msg_abc", issue_data, BASE);
  json_t *j = load(out);
  CHECK(json_is_object(j));
  CHECK_EQ_INT(json_object_size(j), 4);
  CHECK_EQ_STR(sget(j, "type"), "new_issue");
  CHECK_EQ_STR(sget(j, "id"), "msg_abc");
  CHECK_EQ_STR(sget(j, "timestamp"), "2024-01-02T03:04:05.500Z");
  json_t *d = json_object_get(j, "data");
  CHECK(json_is_object(d));
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "issue_id")), 42);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "project_id")), 3);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "alert_id")), 7);
  CHECK_EQ_STR(sget(d, "project_name"), "web");
  CHECK_EQ_STR(sget(d, "summary"), "New issue");
  /* details are flattened into data, unescaped (this is JSON, not mrkdwn) */
  CHECK_EQ_STR(sget(d, "title"), "TypeError: x is <undefined> & `y`");
  CHECK_EQ_STR(sget(d, "culprit"), "app.js in handler");
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "count")), 5);
  CHECK_EQ_STR(sget(d, "url"), BASE "/#/issues/42");
  CHECK(json_object_get(d, "details") == NULL);
  json_decref(j);
  free(out);
}

TEST(generic_shape_for_a_memory_leak) {
  char *out = webhook_msg_generic("memory_leak", "msg_leak", leak_data, BASE);
  json_t *j = load(out);
  CHECK_EQ_STR(sget(j, "type"), "memory_leak");
  CHECK_EQ_STR(sget(j, "id"), "msg_leak");
  CHECK_EQ_STR(sget(j, "timestamp"), "2024-01-02T03:04:05.500Z");
  json_t *d = json_object_get(j, "data");
  CHECK_EQ_STR(sget(d, "worker_id"), "web-1/pid 42");
  CHECK_EQ_STR(sget(d, "service"), "checkout");
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "slope_bytes_per_hour")), 12000000);
  CHECK(json_is_array(json_object_get(d, "top_growing")));
  CHECK(json_object_get(d, "issue_id") == NULL);
  /* The worker id is one path segment of the link, percent-encoded. */
  CHECK_EQ_STR(sget(d, "url"), BASE "/#/p/2/workers/web-1%2Fpid%2042");
  json_decref(j);
  free(out);
}

TEST(generic_digest_and_test_events) {
  const char *digest = "{\"project_id\":3,\"project_name\":\"web\",\"at\":0,\"issues\":["
                       "{\"issue_id\":1,\"details\":{\"title\":\"A\"}},"
                       "{\"issue_id\":2,\"details\":{\"title\":\"B\",\"level\":\"fatal\"}}]}";
  char *out = webhook_msg_generic("new_issue_digest", "msg_d", digest, BASE);
  json_t *j = load(out);
  CHECK_EQ_STR(sget(j, "type"), "new_issue_digest");
  CHECK_EQ_STR(sget(j, "timestamp"), "1970-01-01T00:00:00.000Z");
  json_t *d = json_object_get(j, "data");
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "count")), 2);
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "project_id")), 3);
  CHECK_EQ_STR(sget(d, "project_name"), "web");
  CHECK_EQ_STR(sget(d, "url"), BASE "/#/p/3/issues");
  json_t *issues = json_object_get(d, "issues");
  CHECK_EQ_INT(json_array_size(issues), 2);
  CHECK_EQ_STR(sget(json_array_get(issues, 1), "title"), "B");
  CHECK_EQ_STR(sget(json_array_get(issues, 1), "level"), "fatal");
  CHECK_EQ_STR(sget(json_array_get(issues, 1), "url"), BASE "/#/issues/2");
  json_decref(j);
  free(out);

  const char *test = "{\"project_id\":1,\"webhook_id\":5,\"message\":\"This is a test message "
                     "from sluice.\",\"at\":1704164645.5}";
  out = webhook_msg_generic("test", "msg_t", test, BASE);
  j = load(out);
  CHECK_EQ_STR(sget(j, "type"), "test");
  d = json_object_get(j, "data");
  CHECK_EQ_INT(json_integer_value(json_object_get(d, "webhook_id")), 5);
  CHECK_EQ_STR(sget(d, "message"), "This is a test message from sluice.");
  CHECK(json_object_get(d, "at") == NULL); /* it is the envelope's timestamp */
  json_decref(j);
  free(out);
}

TEST(payloads_refuse_data_that_is_not_an_object) {
  static const char *const bad[] = {"", "not json", "[1,2]", "\"s\"", "{\"a\":", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *g = webhook_msg_generic("new_issue", "msg", bad[i], BASE);
    char *s = webhook_msg_slack("new_issue", bad[i], BASE);
    CHECK(g == NULL);
    CHECK(s == NULL);
    free(g);
    free(s);
  }
}

/* --- Slack ----------------------------------------------------------------------------------- */

/* Appends every text a Slack message's blocks show (header, section, fields, context). */
static void blocks_text(json_t *blocks, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < json_array_size(blocks); i++) {
    json_t *b = json_array_get(blocks, i);
    const char *texts[16];
    size_t nt = 0;
    texts[nt++] = sget(json_object_get(b, "text"), "text");
    json_t *f = json_object_get(b, "fields");
    for (size_t k = 0; k < json_array_size(f) && nt < 14; k++)
      texts[nt++] = sget(json_array_get(f, k), "text");
    json_t *e = json_object_get(b, "elements");
    for (size_t k = 0; k < json_array_size(e) && nt < 16; k++)
      texts[nt++] = sget(json_array_get(e, k), "text");
    for (size_t k = 0; k < nt; k++) {
      if (!texts[k]) continue;
      int w = snprintf(buf + n, cap - n, "%s\n", texts[k]);
      if (w < 0 || (size_t)w >= cap - n) return;
      n += (size_t)w;
    }
  }
}

/* Parses a Slack message and checks the parts every one has: a text fallback and blocks
 * within Slack's limits, the first a plain-text header. */
static json_t *slack_load(const char *out) {
  json_t *j = load(out);
  CHECK(json_is_object(j));
  CHECK(json_is_string(json_object_get(j, "text")));
  json_t *blocks = json_object_get(j, "blocks");
  CHECK(json_is_array(blocks));
  CHECK(json_array_size(blocks) >= 1 && json_array_size(blocks) <= 50);
  json_t *h = json_array_get(blocks, 0);
  CHECK_EQ_STR(sget(h, "type"), "header");
  CHECK_EQ_STR(sget(json_object_get(h, "text"), "type"), "plain_text");
  for (size_t i = 0; i < json_array_size(blocks); i++) {
    json_t *b = json_array_get(blocks, i);
    const char *type = sget(b, "type"), *t = sget(json_object_get(b, "text"), "text");
    CHECK(type != NULL);
    if (!type) continue;
    if (!strcmp(type, "header")) {
      CHECK(t && strlen(t) <= 150);
    } else if (!strcmp(type, "section") && t) {
      CHECK_EQ_STR(sget(json_object_get(b, "text"), "type"), "mrkdwn");
      CHECK(strlen(t) <= 3000);
    }
  }
  return j;
}

TEST(slack_memory_leak) {
  char *out = webhook_msg_slack("memory_leak", leak_data, BASE);
  json_t *j = slack_load(out);
  static char all[16384];
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  const char *head =
      sget(json_object_get(json_array_get(json_object_get(j, "blocks"), 0), "text"), "text");
  CHECK_EQ_STR(head, ":rotating_light: Memory leak: web-1/pid 42");
  CHECK(strstr(all, "RSS grows 12 MB/h\n") != NULL); /* the summary */
  CHECK(strstr(all, "*Service*\ncheckout\n") != NULL);
  CHECK(strstr(all, "*Host*\nnode-7\n") != NULL);
  CHECK(strstr(all, "*Slope*\n+12.0 MB/h\n") != NULL);
  CHECK(strstr(all, "*RSS*\n512.0 MB\n") != NULL);
  CHECK(strstr(all, "*Memory limit*\n1.07 GB\n") != NULL);
  CHECK(strstr(all, "*Confidence*\n93 %\n") != NULL);
  CHECK(strstr(all, "*Release*\n1.2.3\n") != NULL);
  CHECK(strstr(all, "(2099-01-01T00:00:00Z)") != NULL);
  CHECK(strstr(all, "*Top growing allocation sites*\n• `cache.c:42 grow` +5.0 MB (now 100.0 MB)") !=
        NULL);
  CHECK(strstr(all, "<" BASE "/#/p/2/workers/web-1%2Fpid%2042|Open worker in sluice>") != NULL);
  CHECK(starts_with(sget(j, "text"), "Memory leak: web-1/pid 42 (checkout on node-7), "
                                     "growing +12.0 MB/h, limit in "));
  CHECK(contains(sget(j, "text"), " days (2099-01-01T00:00:00Z)"));
  json_decref(j);
  free(out);

  /* Resolved: another header, nothing projected, no growing sites. */
  out = webhook_msg_slack("memory_leak_resolved", leak_data, BASE);
  j = slack_load(out);
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  CHECK(strstr(all, ":white_check_mark: Memory leak resolved: web-1/pid 42\n") == all);
  CHECK(strstr(all, "Top growing") == NULL);
  CHECK(strstr(all, "Projected") == NULL);
  CHECK(strstr(all, "Confidence") == NULL);
  CHECK_EQ_STR(sget(j, "text"), "Memory leak resolved: web-1/pid 42 (checkout on node-7)");
  json_decref(j);
  free(out);
}

TEST(slack_memory_leak_with_little_data) {
  char *out = webhook_msg_slack("memory_leak", "{\"project_id\":1,\"details\":{}}", BASE);
  json_t *j = slack_load(out);
  static char all[8192];
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  CHECK(strstr(all, "Memory leak: unknown worker") != NULL);
  CHECK(strstr(all, "no memory limit known") != NULL);
  CHECK_EQ_STR(sget(j, "text"), "Memory leak: unknown worker");
  json_decref(j);
  free(out);
}

TEST(slack_new_issue_and_regression) {
  char *out = webhook_msg_slack("new_issue", issue_data, BASE);
  json_t *j = slack_load(out);
  static char all[16384];
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  /* The header is plain text: no escaping there. */
  CHECK(strstr(all, ":new: New issue: TypeError: x is <undefined> & `y`\n") == all);
  /* mrkdwn: &, <, > escaped, backticks turned into quotes so they cannot end the code span */
  CHECK(strstr(all, "*<" BASE "/#/issues/42|TypeError: x is &lt;undefined&gt; &amp; 'y'>*\n"
                    "`app.js in handler`") != NULL);
  CHECK(strstr(all, "*Project*\nweb\n") != NULL);
  CHECK(strstr(all, "*Level*\nerror\n") != NULL);
  CHECK(strstr(all, "*Events*\n5\n") != NULL);
  CHECK(strstr(all, "*Release*\n2.0.0\n") != NULL);
  CHECK(strstr(all, "*Environment*\nproduction\n") != NULL);
  CHECK_EQ_STR(sget(j, "text"),
               "New issue: TypeError: x is &lt;undefined&gt; &amp; 'y' (app.js in handler)");
  json_decref(j);
  free(out);

  out = webhook_msg_slack("regression", issue_data, BASE);
  j = slack_load(out);
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  CHECK(strstr(all, ":repeat: Regression: TypeError") == all);
  CHECK(starts_with(sget(j, "text"), "Regression: TypeError"));
  json_decref(j);
  free(out);
}

TEST(slack_header_cut_on_utf8_boundary) {
  /* A 300-character title of two-byte characters: the header must be cut short, and cut
   * between characters (a split one would make the block invalid JSON text and drop it). */
  static char data[2048];
  int n = snprintf(data, sizeof data, "{\"issue_id\":1,\"details\":{\"title\":\"");
  for (int i = 0; i < 300; i++) n += snprintf(data + n, sizeof data - (size_t)n, "é");
  snprintf(data + n, sizeof data - (size_t)n, "\"}}");
  char *out = webhook_msg_slack("new_issue", data, BASE);
  json_t *j = slack_load(out);
  json_t *h = json_object_get(json_array_get(json_object_get(j, "blocks"), 0), "text");
  const char *t = sget(h, "text");
  CHECK(starts_with(t, ":new: New issue: éé"));
  CHECK(t && strlen(t) <= 150);
  CHECK(t && strlen(t) >= 3 && strcmp(t + strlen(t) - 3, "…") == 0);
  json_decref(j);
  free(out);
}

TEST(slack_digest_stays_within_limits) {
  /* 400 issues with long titles: the message keeps to Slack's 50 blocks and 3000 characters a
   * section, and says how many it left out. */
  size_t cap = 400 * 700 + 256;
  char *data = malloc(cap);
  int n = snprintf(data, cap, "{\"project_id\":3,\"project_name\":\"web\",\"issues\":[");
  for (int i = 0; i < 400; i++) {
    n += snprintf(data + n, cap - (size_t)n,
                  "%s{\"issue_id\":%d,\"details\":{\"title\":\"Error number %d %0400d\","
                  "\"culprit\":\"mod.fn\",\"level\":\"error\"}}",
                  i ? "," : "", i + 1, i + 1, 0);
  }
  snprintf(data + n, cap - (size_t)n, "]}");
  char *out = webhook_msg_slack("new_issue_digest", data, BASE);
  json_t *j = slack_load(out);
  json_t *blocks = json_object_get(j, "blocks");
  CHECK(json_array_size(blocks) <= 50);
  CHECK(contains(sget(json_object_get(json_array_get(blocks, 0), "text"), "text"),
                 "400 new issues in web"));
  json_t *last = json_array_get(blocks, json_array_size(blocks) - 1);
  CHECK_EQ_STR(sget(last, "type"), "context");
  const char *more = sget(json_array_get(json_object_get(last, "elements"), 0), "text");
  CHECK(more && strstr(more, "…and ") == more && strstr(more, " more. ") != NULL);
  CHECK(more && strstr(more, "<" BASE "/#/p/3/issues|All issues in sluice>") != NULL);
  CHECK(starts_with(sget(j, "text"), "400 new issues in web: Error number 1 "));
  CHECK(sget(j, "text") && strlen(sget(j, "text")) < 2048);
  json_decref(j);
  free(out);
  free(data);
}

TEST(slack_test_message) {
  char *out = webhook_msg_slack("test", "{\"project_id\":1,\"webhook_id\":5,\"at\":0}", BASE);
  json_t *j = slack_load(out);
  static char all[4096];
  blocks_text(json_object_get(j, "blocks"), all, sizeof all);
  CHECK(strstr(all, "sluice test message\n") == all);
  CHECK(strstr(all, "webhook #5. <" BASE "/|Open sluice>") != NULL);
  CHECK_EQ_STR(sget(j, "text"), "sluice test message");
  json_decref(j);
  free(out);
}

int main(void) {
  RUN(sign_standard_webhooks_vector);
  RUN(sign_independent_vectors);
  RUN(sign_output_bounds);
  RUN(secret_check);
  RUN(sign_refuses_bad_secrets);
  RUN(url_check_accepts_http_and_https);
  RUN(url_check_refuses);
  RUN(url_check_length_bound);
  RUN(generic_shape_for_an_issue);
  RUN(generic_shape_for_a_memory_leak);
  RUN(generic_digest_and_test_events);
  RUN(payloads_refuse_data_that_is_not_an_object);
  RUN(slack_memory_leak);
  RUN(slack_memory_leak_with_little_data);
  RUN(slack_new_issue_and_regression);
  RUN(slack_header_cut_on_utf8_boundary);
  RUN(slack_digest_stays_within_limits);
  RUN(slack_test_message);
  TEST_EXIT();
}
