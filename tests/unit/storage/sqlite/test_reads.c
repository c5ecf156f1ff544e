/* test_reads: the API's lists on a real database, read through the neutral read operations.
 * Issues sort by last_seen, first_seen or count (newest / largest first, then by id), filter by
 * status, text and level, and page by keyset: following next_cursor ("<value>:<id>", parsed
 * as api_paging does) visits every issue exactly once, in order, even across ties on the sort
 * value, and the last page says null. An issue's events and a project's alerts page by id. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "testdb.h"
#include "testutil.h"

#define T0       1700000000.0
#define N_ISSUES 7

static char dir[] = "/tmp/sluice-test-reads.XXXXXX";

/* The issues as made: times relative to T0; several tie on every sort value. */
static const struct {
  double first, last;
  int count;
  const char *status, *level;
} made[N_ISSUES] = {
    {10, 100, 2, "unresolved", "warning"}, {20, 200, 3, "unresolved", "error"},
    {20, 200, 3, "resolved", "error"},     {5, 200, 2, "unresolved", "warning"},
    {20, 300, 2, "unresolved", "error"},   {30, 50, 3, "resolved", "error"},
    {10, 200, 2, "unresolved", "warning"},
};

static db *d;
static int64_t project, issue_id[N_ISSUES];

static void make_issues(void) {
  sq_tx space;
  store_tx *tx = tdb_tx(d, &space);
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(
      tx->ops->project_create(tx, "demo", "0123456789abcdef0123456789abcdef", T0, &project),
      STORE_OK);
  int n = 0;
  for (int i = 0; i < N_ISSUES; i++) {
    char fp[16], title[64];
    snprintf(fp, sizeof fp, "fp-%d", i);
    snprintf(title, sizeof title, i % 2 ? "KeyError: lookup %d" : "ValueError: handler %d", i);
    for (int k = 0; k < made[i].count; k++) {
      store_event e = {0};
      e.project_id = project;
      e.event_id[0] = (uint8_t)++n;
      e.timestamp = T0 + (k == 0                   ? made[i].first
                          : k == made[i].count - 1 ? made[i].last
                                                   : (made[i].first + made[i].last) / 2);
      e.received = T0 + 1000 + n;
      e.level = made[i].level;
      e.fingerprint = fp;
      e.title = title;
      e.culprit = "app.views";
      e.payload = "{}";
      e.len = 2;
      store_issue_change c;
      CHECK_EQ_INT(tx->ops->event_put(tx, &e, &c), STORE_OK);
      issue_id[i] = c.issue_id;
    }
    int64_t p;
    CHECK_EQ_INT(tx->ops->issue_set_status(tx, issue_id[i], made[i].status, &p), STORE_OK);
  }
  for (int i = 0; i < 5; i++) {
    store_alert a = {project,
                     i % 2 ? "memory_leak" : "new_issue",
                     i % 2 ? "w" : NULL,
                     i % 2 ? 0 : issue_id[i],
                     T0 + i,
                     "summary",
                     "{}",
                     NULL};
    int64_t id;
    CHECK_EQ_INT(tx->ops->alert_insert(tx, &a, &id), STORE_OK);
  }
  CHECK_EQ_INT(db_exec(d, "COMMIT"), SQLITE_OK);
}

/* Parses a next_cursor as api_paging does: "<value>:<id>" with a key, "<id>" without. */
static int cursor(const char *text, int with_key, store_page *p) {
  char *end;
  const char *id_text = text;
  if (with_key) {
    p->key = strtod(text, &end);
    if (end == text || *end != ':') return -1;
    id_text = end + 1;
  }
  errno = 0;
  long long id = strtoll(id_text, &end, 10);
  if (end == id_text || *end || errno || id <= 0) return -1;
  p->id = id;
  p->has_cursor = 1;
  return 0;
}

static double sort_value(int i, const char *sort) {
  return !strcmp(sort, "count")        ? made[i].count
         : !strcmp(sort, "first_seen") ? made[i].first
                                       : made[i].last;
}

static int matches(int i, const char *status, const char *text, const char *level) {
  if (status && strcmp(made[i].status, status)) return 0;
  if (level && strcmp(made[i].level, level)) return 0;
  if (text && !strcmp(text, "KeyError") && i % 2 == 0) return 0;
  if (text && !strcmp(text, "ValueError") && i % 2 == 1) return 0;
  if (text && strcmp(text, "KeyError") && strcmp(text, "ValueError") && strcmp(text, "views"))
    return 0;
  return 1;
}

/* The expected order: the matching issues by sort value, then id, both descending. */
static int expected(const char *sort, const char *status, const char *text, const char *level,
                    int64_t *ids) {
  int idx[N_ISSUES], n = 0;
  for (int i = 0; i < N_ISSUES; i++)
    if (matches(i, status, text, level)) idx[n++] = i;
  for (int a = 1; a < n; a++) /* insertion sort: few rows */
    for (int b = a; b > 0; b--) {
      double vb = sort_value(idx[b], sort), va = sort_value(idx[b - 1], sort);
      if (vb > va || (vb == va && issue_id[idx[b]] > issue_id[idx[b - 1]])) {
        int t = idx[b];
        idx[b] = idx[b - 1];
        idx[b - 1] = t;
      }
    }
  for (int i = 0; i < n; i++) ids[i] = issue_id[idx[i]];
  return n;
}

/* Pages through the issues limit at a time; the ids seen, in order, into got. */
static int page_issues(const char *sort, const char *status, const char *text, const char *level,
                       int64_t limit, int64_t *got) {
  sq_rd space;
  store_rd *rd = tdb_rd(d, &space);
  store_issue_query q = {project, status, sort, text, level, {limit, 0, 0, 0}, T0 + 400};
  int n = 0;
  for (int pages = 0; pages <= N_ISSUES + 1; pages++) {
    json_t *doc = NULL;
    CHECK_EQ_INT(rd->ops->read_issues(rd, &q, &doc), STORE_OK);
    if (!doc) return n;
    json_t *list = json_object_get(doc, "issues"), *row;
    size_t i;
    CHECK(json_array_size(list) <= (size_t)limit);
    json_array_foreach(list, i, row) {
      if (n < N_ISSUES) got[n] = json_integer_value(json_object_get(row, "id"));
      n++;
      CHECK_EQ_INT(json_array_size(json_object_get(row, "hourly")), 24);
    }
    json_t *next = json_object_get(doc, "next_cursor");
    if (json_is_null(next)) {
      json_decref(doc);
      return n;
    }
    CHECK(json_array_size(list) == (size_t)limit);
    CHECK(json_is_string(next));
    CHECK_EQ_INT(cursor(json_string_value(next), 1, &q.page), 0);
    json_decref(doc);
  }
  CHECK(!"paging did not end");
  return n;
}

static void check_order(const char *sort, const char *status, const char *text, const char *level,
                        int64_t limit) {
  int64_t want[N_ISSUES], got[N_ISSUES] = {0};
  int nw = expected(sort, status, text, level, want);
  int ng = page_issues(sort, status, text, level, limit, got);
  int same = nw == ng;
  for (int i = 0; same && i < nw; i++) same = want[i] == got[i];
  if (!same) {
    fprintf(stderr, "sort=%s status=%s text=%s level=%s limit=%lld:\n  want", sort,
            status ? status : "-", text ? text : "-", level ? level : "-", (long long)limit);
    for (int i = 0; i < nw; i++) fprintf(stderr, " %lld", (long long)want[i]);
    fprintf(stderr, "\n  got ");
    for (int i = 0; i < ng && i < N_ISSUES; i++) fprintf(stderr, " %lld", (long long)got[i]);
    fprintf(stderr, "%s\n", ng > N_ISSUES ? " ..." : "");
  }
  CHECK(same);
}

TEST(every_sort_pages_through_every_issue_once_in_order) {
  static const char *const sorts[] = {"last_seen", "first_seen", "count"};
  for (size_t s = 0; s < 3; s++)
    for (int64_t limit = 1; limit <= N_ISSUES + 1; limit++)
      check_order(sorts[s], NULL, NULL, NULL, limit);
}

TEST(filters_page_too) {
  static const char *const sorts[] = {"last_seen", "first_seen", "count"};
  for (size_t s = 0; s < 3; s++)
    for (int64_t limit = 1; limit <= 3; limit++) {
      check_order(sorts[s], "unresolved", NULL, NULL, limit);
      check_order(sorts[s], "resolved", NULL, NULL, limit);
      check_order(sorts[s], NULL, "KeyError", NULL, limit);
      check_order(sorts[s], NULL, "ValueError", NULL, limit);
      check_order(sorts[s], NULL, NULL, "warning", limit);
      check_order(sorts[s], "unresolved", "ValueError", "warning", limit);
    }
  /* the text is a substring, found in the culprit too; LIKE's wildcards are literal */
  int64_t got[N_ISSUES];
  CHECK_EQ_INT(page_issues("last_seen", NULL, "views", NULL, 10, got), N_ISSUES);
  CHECK_EQ_INT(page_issues("last_seen", NULL, "Error%handler", NULL, 10, got), 0);
  CHECK_EQ_INT(page_issues("last_seen", NULL, "_", NULL, 10, got), 0);
  CHECK_EQ_INT(page_issues("last_seen", NULL, "lookup 3", NULL, 10, got), 1);
  CHECK_EQ_INT(got[0], issue_id[3]);
  CHECK_EQ_INT(page_issues("last_seen", NULL, NULL, "fatal", 10, got), 0);
}

TEST(the_last_full_page_says_no_more) {
  sq_rd space;
  store_rd *rd = tdb_rd(d, &space);
  store_issue_query q = {project, NULL, "last_seen", NULL, NULL, {N_ISSUES, 0, 0, 0}, T0};
  json_t *doc = NULL;
  CHECK_EQ_INT(rd->ops->read_issues(rd, &q, &doc), STORE_OK);
  CHECK_EQ_INT(json_array_size(json_object_get(doc, "issues")), N_ISSUES);
  CHECK(json_is_null(json_object_get(doc, "next_cursor")));
  json_decref(doc);
}

TEST(an_issues_events_page_by_id) {
  sq_rd space;
  store_rd *rd = tdb_rd(d, &space);
  int64_t issue = issue_id[1]; /* three events */
  store_page p = {2, 0, 0, 0};
  json_t *doc = NULL;
  CHECK_EQ_INT(rd->ops->read_issue_events(rd, issue, &p, &doc), STORE_OK);
  json_t *list = json_object_get(doc, "events");
  CHECK_EQ_INT(json_array_size(list), 2);
  /* newest stored first: event_ids 5, 4 (the third issue's events were numbered 3..5) */
  CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "event_id")),
               "05000000000000000000000000000000");
  CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 1), "event_id")),
               "04000000000000000000000000000000");
  const char *next = json_string_value(json_object_get(doc, "next_cursor"));
  CHECK(next != NULL);
  CHECK_EQ_INT(next ? cursor(next, 0, &p) : -1, 0);
  json_decref(doc);
  doc = NULL;
  CHECK_EQ_INT(rd->ops->read_issue_events(rd, issue, &p, &doc), STORE_OK);
  list = json_object_get(doc, "events");
  CHECK_EQ_INT(json_array_size(list), 1);
  CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "event_id")),
               "03000000000000000000000000000000");
  CHECK(json_is_null(json_object_get(doc, "next_cursor")));
  json_decref(doc);
  store_page first = {10, 0, 0, 0};
  CHECK_EQ_INT(rd->ops->read_issue_events(rd, 999999, &first, &doc), STORE_ENOTFOUND);
}

/* Pages through the alerts limit at a time; returns how many, ids into got. */
static int page_alerts(const char *status, const char *kind, int64_t limit, int64_t *got) {
  sq_rd space;
  store_rd *rd = tdb_rd(d, &space);
  store_page p = {limit, 0, 0, 0};
  int n = 0;
  for (int pages = 0; pages < 10; pages++) {
    json_t *doc = NULL;
    CHECK_EQ_INT(rd->ops->read_alerts(rd, project, status, kind, &p, &doc), STORE_OK);
    if (!doc) return n;
    json_t *list = json_object_get(doc, "alerts"), *row;
    size_t i;
    CHECK(json_array_size(list) <= (size_t)limit);
    json_array_foreach(list, i, row) {
      if (n < 10) got[n] = json_integer_value(json_object_get(row, "id"));
      n++;
    }
    json_t *next = json_object_get(doc, "next_cursor");
    int more = json_is_string(next) && cursor(json_string_value(next), 0, &p) == 0;
    CHECK(more || json_is_null(next));
    json_decref(doc);
    if (!more) return n;
  }
  CHECK(!"paging did not end");
  return n;
}

TEST(alerts_page_by_id) {
  int64_t got[10] = {0};
  for (int64_t limit = 1; limit <= 6; limit++) {
    CHECK_EQ_INT(page_alerts(NULL, NULL, limit, got), 5);
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(got[i], 5 - i);
  }
  CHECK_EQ_INT(page_alerts(NULL, "new_issue", 2, got), 3);
  CHECK_EQ_INT(got[0], 5);
  CHECK_EQ_INT(got[1], 3);
  CHECK_EQ_INT(got[2], 1);
  CHECK_EQ_INT(page_alerts("firing", "memory_leak", 1, got), 2);
  CHECK_EQ_INT(page_alerts("resolved", NULL, 1, got), 0);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  d = tdb_open(dir, "reads.db");
  if (d) {
    make_issues();
    RUN(every_sort_pages_through_every_issue_once_in_order);
    RUN(filters_page_too);
    RUN(the_last_full_page_says_no_more);
    RUN(an_issues_events_page_by_id);
    RUN(alerts_page_by_id);
    db_close(d);
  }
  tu_remove_dir(dir);
  TEST_EXIT();
}
