/* test_events: storing events into issues through the neutral operations on a real database.
 * A new fingerprint creates an issue, the same fingerprint counts into it, a repeated event_id
 * is DUPLICATE and writes nothing, a resolved issue hit again regresses and reads unresolved,
 * and alerts_for_issue raises new_issue and regression alerts for those. The issue shows its
 * latest event by event time, not by arrival order. Projects refuse a taken id or key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "util/log.h"
#include "testdb.h"
#include "testutil.h"

#define T0 1700000000.0

static char dir[] = "/tmp/sluice-test-events.XXXXXX";

typedef tdb_fixture fixture;

static int setup(fixture *f, const char *name) {
  return tdb_fixture_open(f, dir, name, T0);
}

static void teardown(fixture *f) {
  tdb_fixture_done(f);
}

/* An event numbered n (its event_id) of fingerprint fp at T0 + t. */
static store_event event(fixture *f, int n, const char *fp, double t, const char *title,
                         const char *level) {
  store_event e = {0};
  e.project_id = f->project;
  e.event_id[0] = (uint8_t)n;
  e.event_id[15] = 0xee;
  e.timestamp = T0 + t;
  e.received = T0 + 1000 + n;
  e.level = level;
  e.release = "1.0";
  e.environment = "production";
  e.fingerprint = fp;
  e.title = title;
  e.culprit = "app.views.index";
  e.payload = "{}";
  e.len = 2;
  return e;
}

static int64_t count(fixture *f, const char *sql, int64_t arg) {
  sqlite3_stmt *s;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db_handle(f->d), sql, -1, &s, NULL) != SQLITE_OK) return -1;
  sqlite3_bind_int64(s, 1, arg);
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

static int text_is(fixture *f, const char *sql, int64_t arg, const char *want) {
  sqlite3_stmt *s;
  int same = 0;
  if (sqlite3_prepare_v2(db_handle(f->d), sql, -1, &s, NULL) != SQLITE_OK) return 0;
  sqlite3_bind_int64(s, 1, arg);
  if (sqlite3_step(s) == SQLITE_ROW) {
    const char *got = (const char *)sqlite3_column_text(s, 0);
    same = got && strcmp(got, want) == 0;
    if (!same) fprintf(stderr, "  %s: \"%s\", want \"%s\"\n", sql, got ? got : "(null)", want);
  }
  sqlite3_finalize(s);
  return same;
}

TEST(issues_are_created_counted_and_regressed) {
  fixture f;
  if (setup(&f, "issues.db")) return;
  store_issue_change c;
  store_event e1 = event(&f, 1, "fp-a", 0, "ValueError: bad", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e1, &c), STORE_OK);
  CHECK_EQ_INT(c.created, 1);
  CHECK_EQ_INT(c.regressed, 0);
  CHECK_EQ_INT(c.count, 1);
  int64_t issue = c.issue_id;
  CHECK(issue > 0);
  CHECK_EQ_INT(alerts_for_issue(f.tx, NULL, &e1, &c), STORE_OK);
  CHECK_EQ_INT(
      count(&f, "SELECT count(*) FROM alerts WHERE kind='new_issue' AND issue_id=?1", issue), 1);

  /* the same event again: nothing written */
  int64_t events = tdb_count(f.d, "SELECT count(*) FROM events");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e1, &c), STORE_DUPLICATE);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM events"), events);
  CHECK_EQ_INT(count(&f, "SELECT count FROM issues WHERE id=?1", issue), 1);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT sum(count) FROM issue_hours"), 1);

  /* the same fingerprint counts into the issue and raises nothing */
  store_event e2 = event(&f, 2, "fp-a", 10, "ValueError: bad", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e2, &c), STORE_OK);
  CHECK_EQ_INT(c.created, 0);
  CHECK_EQ_INT(c.regressed, 0);
  CHECK_EQ_INT(c.count, 2);
  CHECK_EQ_INT(c.issue_id, issue);
  CHECK_EQ_INT(alerts_for_issue(f.tx, NULL, &e2, &c), STORE_OK);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM alerts"), 1);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM issues"), 1);

  /* another fingerprint is another issue */
  store_event other = event(&f, 3, "fp-b", 5, "KeyError: x", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &other, &c), STORE_OK);
  CHECK_EQ_INT(c.created, 1);
  CHECK(c.issue_id != issue);

  /* resolved, then hit again: a regression, unresolved again */
  int64_t project = 0;
  CHECK_EQ_INT(f.tx->ops->issue_set_status(f.tx, issue, "resolved", &project), STORE_OK);
  CHECK_EQ_INT(project, f.project);
  CHECK(text_is(&f, "SELECT status FROM issues WHERE id=?1", issue, "resolved"));
  store_event e4 = event(&f, 4, "fp-a", 20, "ValueError: bad", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e4, &c), STORE_OK);
  CHECK_EQ_INT(c.created, 0);
  CHECK_EQ_INT(c.regressed, 1);
  CHECK_EQ_INT(c.count, 3);
  CHECK(text_is(&f, "SELECT status FROM issues WHERE id=?1", issue, "unresolved"));
  CHECK_EQ_INT(alerts_for_issue(f.tx, NULL, &e4, &c), STORE_OK);
  CHECK_EQ_INT(count(&f,
                     "SELECT count(*) FROM alerts WHERE kind='regression' AND issue_id=?1"
                     " AND status='notified'",
                     issue),
               1);
  CHECK(text_is(&f, "SELECT summary FROM alerts WHERE kind='regression' AND issue_id=?1", issue,
                "Regression: ValueError: bad"));
  CHECK_EQ_INT(count(&f,
                     "SELECT json_extract(details, '$.count') FROM alerts"
                     " WHERE kind='regression' AND issue_id=?1",
                     issue),
               3);

  /* the next event of the unresolved issue is no regression */
  store_event e5 = event(&f, 5, "fp-a", 30, "ValueError: bad", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e5, &c), STORE_OK);
  CHECK_EQ_INT(c.regressed, 0);
  /* an ignored issue stays ignored and does not regress */
  CHECK_EQ_INT(f.tx->ops->issue_set_status(f.tx, issue, "ignored", &project), STORE_OK);
  store_event e6 = event(&f, 6, "fp-a", 40, "ValueError: bad", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &e6, &c), STORE_OK);
  CHECK_EQ_INT(c.regressed, 0);
  CHECK(text_is(&f, "SELECT status FROM issues WHERE id=?1", issue, "ignored"));
  teardown(&f);
}

TEST(the_issue_follows_the_latest_event_by_event_time) {
  fixture f;
  if (setup(&f, "latest.db")) return;
  store_issue_change c;
  store_event newer = event(&f, 1, "fp", 100, "newer title", "error");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &newer, &c), STORE_OK);
  int64_t issue = c.issue_id;
  /* an older event arrives after the newer one */
  store_event older = event(&f, 2, "fp", 50, "older title", "warning");
  older.release = "0.9";
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &older, &c), STORE_OK);
  CHECK(text_is(&f, "SELECT title FROM issues WHERE id=?1", issue, "newer title"));
  CHECK(text_is(&f, "SELECT level FROM issues WHERE id=?1", issue, "error"));
  CHECK(text_is(&f, "SELECT last_release FROM issues WHERE id=?1", issue, "1.0"));
  CHECK_EQ_INT(count(&f, "SELECT first_seen FROM issues WHERE id=?1", issue), (int64_t)T0 + 50);
  CHECK_EQ_INT(count(&f, "SELECT last_seen FROM issues WHERE id=?1", issue), (int64_t)T0 + 100);
  /* a newer one takes over */
  store_event newest = event(&f, 3, "fp", 200, "newest title", "fatal");
  CHECK_EQ_INT(f.tx->ops->event_put(f.tx, &newest, &c), STORE_OK);
  CHECK(text_is(&f, "SELECT title FROM issues WHERE id=?1", issue, "newest title"));
  CHECK(text_is(&f, "SELECT level FROM issues WHERE id=?1", issue, "fatal"));
  CHECK_EQ_INT(count(&f, "SELECT last_seen FROM issues WHERE id=?1", issue), (int64_t)T0 + 200);
  CHECK_EQ_INT(count(&f, "SELECT count FROM issues WHERE id=?1", issue), 3);
  teardown(&f);
}

TEST(missing_issues_and_taken_projects_are_refused) {
  fixture f;
  if (setup(&f, "refused.db")) return;
  int64_t project = -1;
  CHECK_EQ_INT(f.tx->ops->issue_set_status(f.tx, 424242, "resolved", &project), STORE_ENOTFOUND);
  int64_t id = f.project;
  CHECK_EQ_INT(
      f.tx->ops->project_create(f.tx, "again", "ffffffffffffffffffffffffffffffff", T0, &id),
      STORE_ECONFLICT);
  id = 0;
  CHECK_EQ_INT(
      f.tx->ops->project_create(f.tx, "same key", "0123456789abcdef0123456789abcdef", T0, &id),
      STORE_ECONFLICT);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM projects"), 1);
  /* the refused statements leave the connection usable */
  id = 0;
  CHECK_EQ_INT(
      f.tx->ops->project_create(f.tx, "second", "ffffffffffffffffffffffffffffffff", T0, &id),
      STORE_OK);
  CHECK(id > f.project);
  id = 77;
  CHECK_EQ_INT(
      f.tx->ops->project_create(f.tx, "wanted", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", T0, &id),
      STORE_OK);
  CHECK_EQ_INT(id, 77);
  CHECK_EQ_INT(tdb_count(f.d, "SELECT count(*) FROM projects"), 3);
  teardown(&f);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  RUN(issues_are_created_counted_and_regressed);
  RUN(the_issue_follows_the_latest_event_by_event_time);
  RUN(missing_issues_and_taken_projects_are_refused);
  tu_remove_dir(dir);
  TEST_EXIT();
}
