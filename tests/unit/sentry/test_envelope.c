/* test_envelope: unit tests for the envelope framing parser: both framing styles SDKs send
 * (explicit "length" and newline-terminated), trailing-newline and blank-line tolerance, every
 * error path (bad JSON, non-object headers, bad lengths, too many items, oversized or too
 * deeply nested headers), and the data-driven samples in fixtures/envelopes/{valid,invalid}. */
#include <dirent.h>

#include "sentry/envelope.h"
#include "testutil.h"

#define EV_ID "9ec79c33ec9942ab8353589fcb2e04dc"
#define HDR                                                                                        \
  "{\"event_id\":\"" EV_ID "\",\"dsn\":\"https://e12d836b15bb49d7bbf99e64295d995b@s.io/42\"}"

static char errbuf[256];

/* Parses a string literal (sizeof - 1 bytes, so embedded NULs count). */
#define PARSE(lit, max, env)                                                                       \
  envelope_parse((lit), sizeof(lit) - 1, (max), (env), errbuf, sizeof(errbuf))

static int payload_is(const envelope_item *it, const char *s, size_t n) {
  return it->len == n && memcmp(it->payload, s, n) == 0;
}

static void check_empty(const envelope *env) {
  CHECK(env->header == NULL);
  CHECK(env->items == NULL);
  CHECK_EQ_INT(env->n_items, 0);
}

/* Expects a parse failure whose message contains want. */
static void expect_fail(const char *buf, size_t len, size_t max_items, const char *want) {
  envelope env;
  errbuf[0] = '\0';
  CHECK_EQ_INT(envelope_parse(buf, len, max_items, &env, errbuf, sizeof(errbuf)), -1);
  check_empty(&env);
  if (!strstr(errbuf, want)) {
    fprintf(stderr, "  error \"%s\" does not contain \"%s\"\n", errbuf, want);
    CHECK(strstr(errbuf, want) != NULL);
  }
}
#define FAIL(lit, want) expect_fail((lit), sizeof(lit) - 1, 100, (want))

TEST(node_style_no_length_no_trailing_newline) {
  envelope env;
  CHECK_EQ_INT(PARSE(HDR "\n{\"type\":\"event\"}\n{\"event_id\":\"" EV_ID "\"}", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK_EQ_STR(jdom_str(jdom_get(env.header, "event_id")), EV_ID);
  CHECK_EQ_STR(env.items[0].type, "event");
  CHECK(payload_is(&env.items[0], "{\"event_id\":\"" EV_ID "\"}", 47));
  CHECK_EQ_STR(errbuf, "");
  envelope_free(&env);
  check_empty(&env);
}

TEST(python_style_length_and_trailing_newline) {
  static const char body[] = HDR "\n"
                                 "{\"type\":\"event\",\"length\":2}\n{}\n"
                                 "{\"type\":\"attachment\",\"length\":11}\norder dump\n\n";
  envelope env;
  CHECK_EQ_INT(PARSE(body, 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 2);
  CHECK_EQ_STR(env.items[0].type, "event");
  CHECK(payload_is(&env.items[0], "{}", 2));
  CHECK_EQ_STR(env.items[1].type, "attachment");
  CHECK(payload_is(&env.items[1], "order dump\n", 11));
  /* payloads are borrowed from the body, not copied */
  CHECK(env.items[1].payload > body && env.items[1].payload < body + sizeof(body));
  CHECK_EQ_INT(jdom_get(env.items[1].header, "length")->u.i, 11);
  envelope_free(&env);
}

TEST(length_payload_may_contain_newlines_and_nuls) {
  static const char body[] = "{}\n{\"type\":\"attachment\",\"length\":5}\n\n\0\n\0\n";
  envelope env;
  CHECK_EQ_INT(PARSE(body, 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK(payload_is(&env.items[0], "\n\0\n\0\n", 5));
  envelope_free(&env);
}

TEST(length_payload_at_eof_without_newline) {
  envelope env;
  CHECK_EQ_INT(PARSE("{}\n{\"type\":\"event\",\"length\":2}\n{}", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK(payload_is(&env.items[0], "{}", 2));
  envelope_free(&env);
}

TEST(header_only_variants) {
  envelope env;
  CHECK_EQ_INT(PARSE(HDR, 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 0);
  CHECK(jdom_is_object(env.header));
  envelope_free(&env);
  CHECK_EQ_INT(PARSE(HDR "\n", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 0);
  envelope_free(&env);
  CHECK_EQ_INT(PARSE(HDR "\n\n\r\n", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 0);
  envelope_free(&env);
  CHECK_EQ_INT(PARSE("\n  {}", 100, &env), 0); /* leading blank lines are skipped too */
  CHECK_EQ_INT(env.n_items, 0);
  envelope_free(&env);
}

TEST(relay_empty_attachments) {
  envelope env;
  CHECK_EQ_INT(
      PARSE(HDR
            "\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"attachment\",\"length\":0}\n",
            100, &env),
      0);
  CHECK_EQ_INT(env.n_items, 2);
  CHECK_EQ_INT(env.items[0].len, 0);
  CHECK_EQ_INT(env.items[1].len, 0);
  envelope_free(&env);
  CHECK_EQ_INT(
      PARSE(HDR
            "\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"attachment\",\"length\":0}",
            100, &env),
      0);
  CHECK_EQ_INT(env.n_items, 2);
  envelope_free(&env);
}

TEST(implicit_length_variants) {
  envelope env;
  CHECK_EQ_INT(PARSE(HDR "\n{\"type\":\"attachment\"}\nhelloworld\n", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK(payload_is(&env.items[0], "helloworld", 10));
  envelope_free(&env);
  CHECK_EQ_INT(PARSE(HDR "\n{\"type\":\"attachment\"}\nhelloworld", 100, &env), 0);
  CHECK(payload_is(&env.items[0], "helloworld", 10));
  envelope_free(&env);
  /* an item header at the very end has an empty payload */
  CHECK_EQ_INT(PARSE(HDR "\n{\"type\":\"attachment\"}", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK_EQ_INT(env.items[0].len, 0);
  envelope_free(&env);
  /* an empty line right after the header is an empty payload, not a skipped line */
  CHECK_EQ_INT(PARSE("{}\n{\"type\":\"a\"}\n\n{\"type\":\"b\"}\nx", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 2);
  CHECK_EQ_INT(env.items[0].len, 0);
  CHECK(payload_is(&env.items[1], "x", 1));
  envelope_free(&env);
  /* "length": null means no length */
  CHECK_EQ_INT(PARSE("{}\n{\"type\":\"a\",\"length\":null}\nabc\n", 100, &env), 0);
  CHECK(payload_is(&env.items[0], "abc", 3));
  envelope_free(&env);
}

TEST(mixed_framing_and_blank_lines) {
  envelope env;
  CHECK_EQ_INT(
      PARSE("{}\n\n{\"type\":\"session\"}\n{\"sid\":\"x\"}\n\n\n"
            "{\"type\":\"transaction\",\"length\":2}\n{}\n{\"type\":\"client_report\"}\n{}",
            100, &env),
      0);
  CHECK_EQ_INT(env.n_items, 3);
  CHECK_EQ_STR(env.items[0].type, "session");
  CHECK(payload_is(&env.items[0], "{\"sid\":\"x\"}", 11));
  CHECK_EQ_STR(env.items[1].type, "transaction");
  CHECK_EQ_STR(env.items[2].type, "client_report");
  envelope_free(&env);
}

TEST(crlf_belongs_to_the_line) {
  envelope env;
  CHECK_EQ_INT(PARSE("{}\r\n{\"type\":\"event\"}\r\n{}\r\n", 100, &env), 0);
  CHECK_EQ_INT(env.n_items, 1);
  CHECK(payload_is(&env.items[0], "{}\r", 3));
  envelope_free(&env);
}

TEST(missing_type_is_an_error) {
  envelope env;
  CHECK_EQ_INT(PARSE("{}\n{\"length\":2}\n{}", 100, &env), -1);
  CHECK_EQ_INT(env.n_items, 0);
}

TEST(max_items_bound) {
  static const char three[] = "{}\n{\"type\":\"a\"}\n1\n{\"type\":\"b\"}\n2\n{\"type\":\"c\"}\n3\n";
  envelope env;
  CHECK_EQ_INT(PARSE(three, 3, &env), 0);
  CHECK_EQ_INT(env.n_items, 3);
  CHECK_EQ_STR(env.items[2].type, "c");
  envelope_free(&env);
  expect_fail(three, sizeof(three) - 1, 2, "more than 2 items");
  expect_fail(three, sizeof(three) - 1, 0, "more than 0 items");
  CHECK_EQ_INT(PARSE("{}\n\n", 0, &env), 0); /* no items is fine with max 0 */
  envelope_free(&env);
}

TEST(many_items_grow_the_array) {
  size_t n = 1000, cap = 4 + n * 16, len = 0;
  char *buf = malloc(cap);
  len += (size_t)snprintf(buf + len, cap - len, "{}\n");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, cap - len, "{\"type\":\"s\"}\n%zu\n", i % 10);
  envelope env;
  CHECK_EQ_INT(envelope_parse(buf, len, n, &env, errbuf, sizeof(errbuf)), 0);
  CHECK_EQ_INT(env.n_items, n);
  CHECK(payload_is(&env.items[n - 1], "9", 1));
  envelope_free(&env);
  expect_fail(buf, len, n - 1, "more than 999 items");
  free(buf);
}

TEST(error_empty_body) {
  FAIL("", "empty body");
  FAIL(" \n\t\r\n", "empty body");
  envelope env;
  CHECK_EQ_INT(envelope_parse(NULL, 0, 10, &env, errbuf, sizeof(errbuf)), -1);
  check_empty(&env);
}

TEST(error_envelope_header_not_json_object) {
  FAIL("not json\n{\"type\":\"event\"}\n{}", "envelope header is not valid JSON");
  FAIL("[]\n{\"type\":\"event\"}\n{}", "envelope header is not a JSON object");
  FAIL("\"str\"\n", "envelope header is not a JSON object");
  FAIL("42", "envelope header is not a JSON object");
  FAIL("{} trailing\n", "envelope header is not valid JSON");
  FAIL("{\"a\":1\n}\n", "envelope header is not valid JSON"); /* headers are one line */
  FAIL("{\"a\":\"\xff\"}\n", "envelope header is not valid JSON");
}

TEST(error_item_header_not_json_object) {
  FAIL("{}\n[\"event\"]\n{}", "item 1 header is not a JSON object");
  FAIL("{}\n{\"type\":\"event\"\n{}", "item 1 header is not valid JSON");
  FAIL("{}\n{\"type\":\"a\"}\nx\n{\"type\":\"b\"}\ny\nnope\n", "item 3 header is not valid JSON");
  FAIL("{}\n{\"type\":\"a\",\"length\":1}\nx\n7\n", "item 2 header is not a JSON object");
  FAIL("{}\n{\"type\":\"event\",\"x\":\"\xff\"}\n{}", "item 1 header is not valid JSON");
}

TEST(error_type_not_string) {
  FAIL("{}\n{\"type\":42}\n{}", "item 1: \"type\" is not a string");
  FAIL("{}\n{\"type\":null}\n{}", "item 1: \"type\" is not a string");
}

TEST(error_bad_length) {
  FAIL("{}\n{\"type\":\"event\",\"length\":-1}\n{}",
       "item 1: \"length\" is not a non-negative integer");
  FAIL("{}\n{\"type\":\"event\",\"length\":\"2\"}\n{}", "\"length\" is not a non-negative integer");
  FAIL("{}\n{\"type\":\"event\",\"length\":2.0}\n{}", "\"length\" is not a non-negative integer");
  FAIL("{}\n{\"type\":\"event\",\"length\":true}\n{}", "\"length\" is not a non-negative integer");
}

TEST(error_length_past_end) {
  FAIL("{}\n{\"type\":\"a\"}\nx\n{\"type\":\"event\",\"length\":900}\n{}\n",
       "item 2: length 900 runs past the end of the body");
  FAIL("{}\n{\"type\":\"event\",\"length\":3}\n{}",
       "item 1: length 3 runs past the end of the body");
  FAIL("{}\n{\"type\":\"event\",\"length\":1}", "item 1: length 1 runs past the end of the body");
  FAIL("{}\n{\"type\":\"event\",\"length\":9223372036854775807}\n{}",
       "length 9223372036854775807 runs past the end of the body");
}

TEST(error_length_not_followed_by_newline) {
  FAIL("{}\n{\"type\":\"event\",\"length\":2}\n{}x{\"type\":\"event\"}\n{}",
       "item 1: payload of length 2 is not followed by a newline");
  FAIL("{}\n{\"type\":\"event\",\"length\":1}\n{}\n",
       "payload of length 1 is not followed by a newline");
}

TEST(header_length_bound) {
  /* a header of exactly ENVELOPE_HEADER_MAX bytes passes; one byte more fails */
  size_t cap = ENVELOPE_HEADER_MAX + 64;
  char *buf = malloc(cap);
  for (int extra = 0; extra <= 1; extra++) {
    size_t hl = ENVELOPE_HEADER_MAX + (size_t)extra;
    memcpy(buf, "{\"p\":\"", 6);
    memset(buf + 6, 'x', hl - 8);
    memcpy(buf + hl - 2, "\"}", 2);
    memcpy(buf + hl, "\n{\"type\":\"e\"}\n{}", 16);
    envelope env;
    int rc = envelope_parse(buf, hl + 16, 10, &env, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(rc, extra ? -1 : 0);
    if (rc == 0) {
      CHECK_EQ_INT(env.n_items, 1);
      envelope_free(&env);
    } else {
      CHECK(strstr(errbuf, "envelope header is longer than 16384 bytes") != NULL);
    }
    /* same without any newline at all */
    rc = envelope_parse(buf, hl, 10, &env, errbuf, sizeof(errbuf));
    CHECK_EQ_INT(rc, extra ? -1 : 0);
    if (rc == 0) envelope_free(&env);
  }
  /* the bound applies to item headers too */
  size_t hl = ENVELOPE_HEADER_MAX + 1;
  memcpy(buf, "{}\n{\"p\":\"", 9);
  memset(buf + 9, 'x', hl - 8);
  memcpy(buf + 3 + hl - 2, "\"}\n", 3);
  expect_fail(buf, 3 + hl + 1, 10, "item 1 header is longer than 16384 bytes");
  free(buf);
}

/* Builds {"a":[[...1...]]} with the given total nesting depth (the object counts as 1). */
static size_t nested(char *buf, size_t cap, int depth, const char *tail) {
  size_t n = (size_t)snprintf(buf, cap, "{\"a\":\"[[[{{\",\"b\":");
  for (int i = 1; i < depth; i++) buf[n++] = '[';
  buf[n++] = '1';
  for (int i = 1; i < depth; i++) buf[n++] = ']';
  n += (size_t)snprintf(buf + n, cap - n, "}%s", tail);
  return n;
}

TEST(header_depth_bound) {
  char buf[512];
  envelope env;
  size_t n = nested(buf, sizeof(buf), ENVELOPE_DEPTH_MAX, "\n");
  CHECK_EQ_INT(envelope_parse(buf, n, 10, &env, errbuf, sizeof(errbuf)), 0);
  envelope_free(&env);
  n = nested(buf, sizeof(buf), ENVELOPE_DEPTH_MAX + 1, "\n");
  expect_fail(buf, n, 10, "envelope header nests deeper than 32 levels");
  char item[600];
  n = nested(buf, sizeof(buf), ENVELOPE_DEPTH_MAX + 1, "\nx");
  int m = snprintf(item, sizeof(item), "{}\n%.*s", (int)n, buf);
  expect_fail(item, (size_t)m, 10, "item 1 header nests deeper than 32 levels");
}

TEST(error_buffer_handling) {
  envelope env;
  /* NULL or zero-length error buffers are allowed */
  CHECK_EQ_INT(envelope_parse("[]", 2, 10, &env, NULL, 0), -1);
  check_empty(&env);
  char small[8];
  CHECK_EQ_INT(envelope_parse("[]", 2, 10, &env, small, sizeof(small)), -1);
  CHECK_EQ_INT(strlen(small), sizeof(small) - 1);
  CHECK_EQ_INT(envelope_parse("{}", 2, 10, &env, small, 0), 0);
  envelope_free(&env);
  envelope_free(&env); /* freeing twice is harmless */
  envelope_free(NULL);
}

/* Reads every sample in fixtures/envelopes: valid ones must parse to the listed item types,
 * invalid ones must fail with a message. */
static int run_samples(const char *sub, int want_ok) {
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/envelopes/%s", SLUICE_FIXTURES, sub);
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  if (!d) return 0;
  int seen = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t nl = strlen(de->d_name);
    if (nl < 10 || strcmp(de->d_name + nl - 9, ".envelope") != 0) continue;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    size_t len;
    char *body = tu_read_file(path, &len);
    CHECK(body != NULL);
    if (!body) continue;
    seen++;
    envelope env;
    errbuf[0] = '\0';
    int rc = envelope_parse(body, len, 100, &env, errbuf, sizeof(errbuf));
    if (!want_ok) {
      if (rc != -1 || errbuf[0] == '\0') fprintf(stderr, "  %s: accepted\n", path);
      CHECK_EQ_INT(rc, -1);
      CHECK(errbuf[0] != '\0');
      check_empty(&env);
    } else if (rc != 0) {
      fprintf(stderr, "  %s: %s\n", path, errbuf);
      CHECK_EQ_INT(rc, 0);
    } else {
      char got[512] = "", tpath[1024];
      size_t gl = 0;
      for (size_t i = 0; i < env.n_items && gl < sizeof(got); i++)
        gl += (size_t)snprintf(got + gl, sizeof(got) - gl, "%s%s", i ? " " : "",
                               env.items[i].type[0] ? env.items[i].type : "-");
      snprintf(tpath, sizeof(tpath), "%.*s.types", (int)(strlen(path) - 9), path);
      char *want = tu_read_file(tpath, NULL);
      CHECK(want != NULL);
      if (want) {
        size_t wl = strlen(want);
        while (wl > 0 && (want[wl - 1] == '\n' || want[wl - 1] == ' ')) want[--wl] = '\0';
        if (strcmp(got, want) != 0) fprintf(stderr, "  %s\n", path);
        CHECK_EQ_STR(got, want);
      }
      free(want);
      envelope_free(&env);
    }
    free(body);
  }
  closedir(d);
  return seen;
}

TEST(fixture_samples) {
  CHECK(run_samples("valid", 1) >= 10);
  CHECK(run_samples("invalid", 0) >= 10);
}

int main(void) {
  RUN(node_style_no_length_no_trailing_newline);
  RUN(python_style_length_and_trailing_newline);
  RUN(length_payload_may_contain_newlines_and_nuls);
  RUN(length_payload_at_eof_without_newline);
  RUN(header_only_variants);
  RUN(relay_empty_attachments);
  RUN(implicit_length_variants);
  RUN(mixed_framing_and_blank_lines);
  RUN(crlf_belongs_to_the_line);
  RUN(missing_type_is_an_error);
  RUN(max_items_bound);
  RUN(many_items_grow_the_array);
  RUN(error_empty_body);
  RUN(error_envelope_header_not_json_object);
  RUN(error_item_header_not_json_object);
  RUN(error_type_not_string);
  RUN(error_bad_length);
  RUN(error_length_past_end);
  RUN(error_length_not_followed_by_newline);
  RUN(header_length_bound);
  RUN(header_depth_bound);
  RUN(error_buffer_handling);
  RUN(fixture_samples);
  TEST_EXIT();
}
