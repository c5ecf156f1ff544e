/* test_grouping: grouping must not drift. Every event of the SDK captures and every line of
 * fixtures/grouping/events.jsonl (hand-made events for each grouping rule, the display texts,
 * number formatting and the field errors) is parsed and normalised as ingest does it, and the
 * result (event id, timestamp, level, fingerprint, title, culprit, release, environment,
 * message, or the error) must equal the line recorded for it in fixtures/grouping/
 * expected.tsv. A deliberate grouping change regenerates that file (SLUICE_GROUPING_WRITE=path
 * writes what this build computes) and says so in its commit. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_events.h"
#include "sentry/event.h"
#include "testutil.h"

#ifndef SLUICE_FIXTURES
#error "SLUICE_FIXTURES must name the tests/fixtures directory"
#endif

#define RECEIVED_AT  1700000000.5
#define MAX_EXPECTED 512

static char *expected[MAX_EXPECTED]; /* "name\tresult" lines of expected.tsv */
static bool seen[MAX_EXPECTED];
static size_t n_expected;
static FILE *out; /* SLUICE_GROUPING_WRITE */
static int n_checked;

/* Parses and normalises one event as ingest does. Returns 0, -1 (err set) when it does not
 * normalise, -2 when it is not JSON ingest accepts. *has_id tells whether it carries a string
 * event_id (otherwise the id is random and not compared). */
static int normalize(const char *p, size_t len, event_info *info, char *err, size_t errlen,
                     bool *has_id) {
  jdom_doc arena;
  jdom_init(&arena);
  jdom_opts opts = {64, JDOM_ALLOW_NUL, event_skip_keys, event_skip_keys_n};
  const jdom_val *doc;
  int rc = -2;
  if (jdom_parse(&arena, p, len, &opts, &doc, NULL, 0) == JDOM_OK && jdom_is_object(doc)) {
    *has_id = jdom_is_string(jdom_get(doc, "event_id"));
    rc = event_normalize(doc, NULL, RECEIVED_AT, info, err, errlen);
  }
  jdom_free(&arena);
  return rc;
}

/* Appends s to b (cap bytes) with tabs, newlines, backslashes and controls escaped. */
static void put_escaped(char *b, size_t cap, const char *s) {
  size_t n = strlen(b);
  if (!s) s = "-";
  for (; *s && n + 5 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\\')
      n += (size_t)snprintf(b + n, cap - n, "\\\\");
    else if (c == '\t')
      n += (size_t)snprintf(b + n, cap - n, "\\t");
    else if (c == '\n')
      n += (size_t)snprintf(b + n, cap - n, "\\n");
    else if (c == '\r')
      n += (size_t)snprintf(b + n, cap - n, "\\r");
    else if (c < 0x20 || c == 0x7f)
      n += (size_t)snprintf(b + n, cap - n, "\\x%02x", c);
    else
      b[n++] = (char)c;
  }
  b[n] = '\0';
}

static void check_one(const char *name, const char *p, size_t len) {
  static char line[65536];
  event_info info;
  char err[200];
  bool has_id = false;
  int rc = normalize(p, len, &info, err, sizeof err, &has_id);
  snprintf(line, sizeof line, "%s\t", name);
  if (rc == -2) {
    snprintf(line + strlen(line), sizeof line - strlen(line), "BADJSON");
  } else if (rc != 0) {
    snprintf(line + strlen(line), sizeof line - strlen(line), "ERROR\t");
    put_escaped(line, sizeof line, err);
  } else {
    snprintf(line + strlen(line), sizeof line - strlen(line), "%s\t%.17g\t%s\t%s\t",
             has_id ? info.event_id : "*", info.timestamp, info.level, info.fingerprint);
    const char *fields[] = {info.title, info.culprit, info.release, info.environment, info.message};
    for (size_t i = 0; i < 5; i++) {
      put_escaped(line, sizeof line, fields[i]);
      if (i < 4) snprintf(line + strlen(line), sizeof line - strlen(line), "\t");
    }
    event_info_free(&info);
  }
  if (out) fprintf(out, "%s\n", line);
  n_checked++;
  size_t nl = strlen(name);
  for (size_t i = 0; i < n_expected; i++) {
    if (strncmp(expected[i], name, nl) != 0 || expected[i][nl] != '\t') continue;
    seen[i] = true;
    if (strcmp(expected[i], line) != 0) {
      fprintf(stderr, "%s differs\n  want: %.300s\n  got:  %.300s\n", name, expected[i] + nl + 1,
              line + nl + 1);
      tu_failed_checks++;
    }
    return;
  }
  fprintf(stderr, "%s: not in expected.tsv\n", name);
  tu_failed_checks++;
}

TEST(captures_and_hand_made_events_group_as_recorded) {
  size_t len;
  char *tsv = tu_read_file(SLUICE_FIXTURES "/grouping/expected.tsv", &len);
  CHECK(tsv != NULL);
  if (!tsv) return;
  for (char *l = strtok(tsv, "\n"); l && n_expected < MAX_EXPECTED; l = strtok(NULL, "\n"))
    expected[n_expected++] = l;
  const char *path = getenv("SLUICE_GROUPING_WRITE");
  if (path && *path) out = fopen(path, "w");

  tu_capture_events(check_one);
  char *all = tu_read_file(SLUICE_FIXTURES "/grouping/events.jsonl", &len);
  CHECK(all != NULL);
  int lineno = 0;
  for (char *p = all; all && p < all + len;) {
    char *nl = memchr(p, '\n', (size_t)(all + len - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(all + len - p);
    char name[64];
    snprintf(name, sizeof name, "events.jsonl:%d", ++lineno);
    check_one(name, p, l);
    p += l + 1;
  }
  for (size_t i = 0; i < n_expected; i++) {
    if (!seen[i]) fprintf(stderr, "not checked: %.60s\n", expected[i]);
    CHECK(seen[i]);
  }
  CHECK(lineno >= 100 && n_checked >= 114);
  printf("%d events group as recorded\n", n_checked);
  if (out) fclose(out);
  free(all);
  free(tsv);
}

int main(void) {
  RUN(captures_and_hand_made_events_group_as_recorded);
  TEST_EXIT();
}
