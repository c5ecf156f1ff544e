/* test_memory_payload: the memory-sample parser against every example in sdk-protocol/valid/
 * (must parse) and sdk-protocol/invalid/ (must fail naming the field listed in EXPECTED.tsv),
 * then targeted cases: defaults, nulls, limits, depth, sizes, error buffer handling.
 * Example timestamps are relative to EXAMPLE_NOW (see sdk-protocol/README.md), so the parser
 * is given that clock instead of shifting the files. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>

#include "memory/memory_payload.h"
#include "testutil.h"

#define EXAMPLE_NOW 1700000000.0
#define PROTO_DIR   SLUICE_SOURCE_DIR "/sdk-protocol"

static int parse_str(const char *json, memory_payload *out, char *err, size_t errlen) {
  return memory_payload_parse(json, strlen(json), EXAMPLE_NOW, NULL, out, err, errlen);
}

/* Parses json, which must fail with an err containing "<path>:". */
static void expect_error(const char *json, const char *path) {
  memory_payload p;
  char err[256], want[128];
  int rc = parse_str(json, &p, err, sizeof err);
  snprintf(want, sizeof want, "%s:", path);
  CHECK_EQ_INT(rc, MEMORY_PAYLOAD_INVALID);
  if (!strstr(err, want)) fprintf(stderr, "  expected \"%s\" in \"%s\"\n", want, err);
  CHECK(strstr(err, want) != NULL);
  CHECK(p.samples == NULL && p.worker.id == NULL && p.n_samples == 0);
}

static int is_json_file(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

TEST(valid_examples_parse) {
  DIR *d = opendir(PROTO_DIR "/valid");
  CHECK(d != NULL);
  if (!d) return;
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_json_file(e->d_name)) continue;
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/valid/%s", PROTO_DIR, e->d_name);
    size_t len = 0;
    char *body = tu_read_file(path, &len);
    CHECK(body != NULL);
    if (!body) continue;
    memory_payload p;
    int rc = memory_payload_parse(body, len, EXAMPLE_NOW, NULL, &p, err, sizeof err);
    if (rc != 0) fprintf(stderr, "  valid/%s: %s\n", e->d_name, err);
    CHECK_EQ_INT(rc, 0);
    CHECK(rc != 0 || (p.worker.id && p.n_samples > 0));
    memory_payload_free(&p);
    free(body);
    files++;
  }
  closedir(d);
  CHECK(files >= 6); /* an empty or missing folder must not pass */
}

TEST(invalid_examples_fail_naming_the_field) {
  size_t tsv_len = 0;
  char *tsv = tu_read_file(PROTO_DIR "/invalid/EXPECTED.tsv", &tsv_len);
  CHECK(tsv != NULL);
  if (!tsv) return;
  int listed = 0;
  for (char *line = strtok(tsv, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#' || line[0] == '\0') continue;
    char *tab = strchr(line, '\t');
    CHECK(tab != NULL);
    if (!tab) continue;
    *tab = '\0';
    char path[512], err[256], want[160];
    snprintf(path, sizeof path, "%s/invalid/%s", PROTO_DIR, line);
    snprintf(want, sizeof want, "%s:", tab + 1);
    size_t len = 0;
    char *body = tu_read_file(path, &len);
    if (!body) fprintf(stderr, "  invalid/%s: listed in EXPECTED.tsv but unreadable\n", line);
    CHECK(body != NULL);
    if (!body) continue;
    memory_payload p;
    int rc = memory_payload_parse(body, len, EXAMPLE_NOW, NULL, &p, err, sizeof err);
    if (rc != MEMORY_PAYLOAD_INVALID || !strstr(err, want))
      fprintf(stderr, "  invalid/%s: rc %d, err \"%s\", wanted \"%s\"\n", line, rc, err, want);
    CHECK_EQ_INT(rc, MEMORY_PAYLOAD_INVALID);
    CHECK(strstr(err, want) != NULL);
    CHECK(p.samples == NULL && p.worker.id == NULL);
    free(body);
    listed++;
  }
  free(tsv);
  CHECK(listed >= 12);

  /* Every file in the folder is listed (an unlisted one would go untested). */
  DIR *d = opendir(PROTO_DIR "/invalid");
  CHECK(d != NULL);
  if (!d) return;
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) files += is_json_file(e->d_name);
  closedir(d);
  CHECK_EQ_INT(files, listed);
}

TEST(full_example_fields) {
  size_t len = 0;
  char *body = tu_read_file(PROTO_DIR "/valid/full.json", &len);
  CHECK(body != NULL);
  if (!body) return;
  memory_payload p;
  char err[256];
  CHECK_EQ_INT(memory_payload_parse(body, len, EXAMPLE_NOW, NULL, &p, err, sizeof err), 0);
  free(body);
  CHECK_EQ_STR(p.worker.id, "web-1/gunicorn-3");
  CHECK_EQ_INT(p.worker.pid, 4312);
  CHECK(p.worker.started_at == EXAMPLE_NOW - 3600.5);
  CHECK_EQ_STR(p.worker.host, "web-1");
  CHECK_EQ_STR(p.worker.service, "shop");
  CHECK_EQ_STR(p.worker.release, "1.4.2");
  CHECK_EQ_INT(p.worker.memory_limit_bytes, 536870912);
  CHECK_EQ_INT(p.n_samples, 2);
  if (p.n_samples == 2) {
    memory_sample *s = &p.samples[1];
    CHECK(s->timestamp == EXAMPLE_NOW);
    CHECK_EQ_INT(s->rss_bytes, 123600000);
    CHECK_EQ_INT(s->heap_bytes, 50100000);
    CHECK_EQ_INT(s->pss_bytes, 100100000);
    CHECK_EQ_INT(s->uss_bytes, 90100000);
    CHECK_EQ_INT(s->requests_total, 1213);
    CHECK_EQ_INT(s->n_top_allocations, 2);
    if (s->n_top_allocations == 2) {
      CHECK_EQ_STR(s->top_allocations[0].site, "app/views.py:42");
      CHECK_EQ_INT(s->top_allocations[0].size_bytes, 1114112);
      CHECK_EQ_INT(s->top_allocations[0].count, 2230);
      CHECK(s->top_allocations[1].has_size_diff);
      CHECK_EQ_INT(s->top_allocations[1].size_diff_bytes, -512);
    }
  }
  memory_payload_free(&p);
  CHECK(p.samples == NULL && p.worker.id == NULL);
  memory_payload_free(&p); /* twice is harmless */
}

TEST(absent_and_null_fields_get_defaults) {
  memory_payload p;
  char err[256];
  CHECK_EQ_INT(parse_str("{\"worker\":{\"id\":\"w\",\"host\":null,\"service\":\"\"},"
                         "\"samples\":[{\"timestamp\":1700000000,\"rss_bytes\":5,"
                         "\"heap_bytes\":null,\"top_allocations\":[{\"site\":\"a:1\","
                         "\"size_bytes\":3}]}],\"extra\":{\"x\":[1]}}",
                         &p, err, sizeof err),
               0);
  CHECK_EQ_INT(p.worker.pid, 0);
  CHECK(p.worker.started_at == 0);
  CHECK(p.worker.host == NULL && p.worker.service == NULL && p.worker.release == NULL);
  CHECK_EQ_INT(p.worker.memory_limit_bytes, 0);
  CHECK_EQ_INT(p.samples[0].rss_bytes, 5);
  CHECK_EQ_INT(p.samples[0].heap_bytes, -1);
  CHECK_EQ_INT(p.samples[0].pss_bytes, -1);
  CHECK_EQ_INT(p.samples[0].uss_bytes, -1);
  CHECK_EQ_INT(p.samples[0].requests_total, -1);
  CHECK_EQ_INT(p.samples[0].top_allocations[0].count, -1);
  CHECK(!p.samples[0].top_allocations[0].has_size_diff);
  memory_payload_free(&p);
}

TEST(integral_reals_and_bounds) {
  memory_payload p;
  char err[256];
  CHECK_EQ_INT(parse_str("{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":1.7e9,"
                         "\"rss_bytes\":1.5e8}]}",
                         &p, err, sizeof err),
               0);
  CHECK_EQ_INT(p.samples[0].rss_bytes, 150000000);
  memory_payload_free(&p);
  expect_error("{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":9007199254740993}]}",
               "samples[0].rss_bytes");
  expect_error("{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":-0.5}]}",
               "samples[0].rss_bytes");
  expect_error("{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":0,\"rss_bytes\":1}]}",
               "samples[0].timestamp");
  expect_error("{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":true,\"rss_bytes\":1}]}",
               "samples[0].timestamp");
  expect_error("{\"worker\":{\"id\":\"w\",\"pid\":0},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":1}]}",
               "worker.pid");
  expect_error("{\"worker\":{\"id\":\"w\",\"pid\":4294967296},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":1}]}",
               "worker.pid");
  /* 1e400 does not fit a double: jansson refuses it, so the document is reported. */
  expect_error(
      "{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":1.7e9,\"rss_bytes\":1e400}]}",
      "body");
}

TEST(time_window_edges) {
  memory_payload p;
  char err[256], json[256];
  double ok[] = {EXAMPLE_NOW + 300, EXAMPLE_NOW - 7 * 86400};
  double bad[] = {EXAMPLE_NOW + 300.5, EXAMPLE_NOW - 7 * 86400 - 0.5};
  for (int i = 0; i < 2; i++) {
    snprintf(json, sizeof json,
             "{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":%.1f,\"rss_bytes\":1}]}",
             ok[i]);
    CHECK_EQ_INT(parse_str(json, &p, err, sizeof err), 0);
    memory_payload_free(&p);
    snprintf(json, sizeof json,
             "{\"worker\":{\"id\":\"w\"},\"samples\":[{\"timestamp\":%.1f,\"rss_bytes\":1}]}",
             bad[i]);
    expect_error(json, "samples[0].timestamp");
  }
  /* started_at may be older than the backfill window: long-lived workers. */
  CHECK_EQ_INT(parse_str("{\"worker\":{\"id\":\"w\",\"started_at\":1600000000},"
                         "\"samples\":[{\"timestamp\":1700000000,\"rss_bytes\":1}]}",
                         &p, err, sizeof err),
               0);
  memory_payload_free(&p);
}

TEST(strings_are_checked) {
  expect_error("{\"worker\":{\"id\":\"a\\u0007b\"},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":1}]}",
               "worker.id");
  expect_error("{\"worker\":{\"id\":\"a\\u0085b\"},\"samples\":[{\"timestamp\":1.7e9,"
               "\"rss_bytes\":1}]}",
               "worker.id");
  /* NUL inside a string and invalid UTF-8 are refused by jansson itself. */
  expect_error("{\"worker\":{\"id\":\"a\\u0000b\"},\"samples\":[]}", "body");
  expect_error("{\"worker\":{\"id\":\"a\xff\"},\"samples\":[]}", "body");
  expect_error("{\"worker\":{\"id\":\"w\",\"release\":7},\"samples\":[]}", "worker.release");
  expect_error("{\"worker\":{\"id\":\"w\"},\"samples\":[]} trailing", "body");
  expect_error("", "body");
}

TEST(custom_limits) {
  memory_limits lim = memory_limits_default;
  lim.max_samples = 2;
  lim.max_worker_id = 3;
  memory_payload p;
  char err[256];
  const char *three = "{\"worker\":{\"id\":\"abc\"},\"samples\":[{\"timestamp\":1.7e9,"
                      "\"rss_bytes\":1},{\"timestamp\":1.7e9,\"rss_bytes\":2},"
                      "{\"timestamp\":1.7e9,\"rss_bytes\":3}]}";
  CHECK_EQ_INT(memory_payload_parse(three, strlen(three), EXAMPLE_NOW, &lim, &p, err, sizeof err),
               MEMORY_PAYLOAD_INVALID);
  CHECK(strncmp(err, "samples: ", 9) == 0);
  lim.max_samples = 3;
  CHECK_EQ_INT(memory_payload_parse(three, strlen(three), EXAMPLE_NOW, &lim, &p, err, sizeof err),
               0);
  CHECK_EQ_INT(p.n_samples, 3);
  memory_payload_free(&p);
  lim.max_body_bytes = 10;
  CHECK_EQ_INT(memory_payload_parse(three, strlen(three), EXAMPLE_NOW, &lim, &p, err, sizeof err),
               MEMORY_PAYLOAD_TOO_BIG);
  CHECK(strncmp(err, "body: ", 6) == 0);
}

TEST(depth_is_bounded) {
  /* 40 nested arrays in an ignored field: past the depth limit before jansson recurses. */
  char json[512];
  int n = snprintf(json, sizeof json, "{\"worker\":{\"id\":\"w\"},\"x\":");
  for (int i = 0; i < 40; i++) json[n++] = '[';
  for (int i = 0; i < 40; i++) json[n++] = ']';
  snprintf(json + n, sizeof json - (size_t)n,
           ",\"samples\":[{\"timestamp\":1.7e9,\"rss_bytes\":1}]}");
  expect_error(json, "body");
  /* Brackets inside strings do not count. */
  memory_payload p;
  char err[256];
  CHECK_EQ_INT(parse_str("{\"worker\":{\"id\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[\"},"
                         "\"samples\":[{\"timestamp\":1.7e9,\"rss_bytes\":1}]}",
                         &p, err, sizeof err),
               0);
  memory_payload_free(&p);
}

TEST(error_buffer_handling) {
  memory_payload p;
  char small[8];
  memset(small, 'x', sizeof small);
  CHECK_EQ_INT(parse_str("[]", &p, small, sizeof small), MEMORY_PAYLOAD_INVALID);
  CHECK(memchr(small, '\0', sizeof small) != NULL);
  CHECK(strncmp(small, "body: ", 6) == 0);
  CHECK_EQ_INT(parse_str("[]", &p, NULL, 0), MEMORY_PAYLOAD_INVALID);
  char err[256];
  CHECK_EQ_INT(memory_payload_parse(NULL, 0, EXAMPLE_NOW, NULL, &p, err, sizeof err),
               MEMORY_PAYLOAD_INVALID);
}

TEST(failure_after_allocation_frees_everything) {
  /* The last sample is bad after earlier ones (with allocations) were built; under ASan a
   * leak here fails the run. */
  expect_error("{\"worker\":{\"id\":\"w\",\"host\":\"h\"},\"samples\":["
               "{\"timestamp\":1.7e9,\"rss_bytes\":1,\"top_allocations\":[{\"site\":\"a:1\","
               "\"size_bytes\":1}]},{\"timestamp\":1.7e9,\"rss_bytes\":1,\"top_allocations\":"
               "[{\"site\":\"a:1\",\"size_bytes\":1},{\"site\":\"\",\"size_bytes\":1}]}]}",
               "samples[1].top_allocations[1].site");
}

int main(void) {
  RUN(valid_examples_parse);
  RUN(invalid_examples_fail_naming_the_field);
  RUN(full_example_fields);
  RUN(absent_and_null_fields_get_defaults);
  RUN(integral_reals_and_bounds);
  RUN(time_window_edges);
  RUN(strings_are_checked);
  RUN(custom_limits);
  RUN(depth_is_bounded);
  RUN(error_buffer_handling);
  RUN(failure_after_allocation_frees_everything);
  TEST_EXIT();
}
