/* test_alerts: alert rows on a real database file through server/alerts and the SQLite store.
 * A state alert (memory_leak) is stored firing and resolves; an event alert (new_issue,
 * regression) is stored notified and neither fires nor resolves, whatever happens to its issue;
 * the status filter of the alerts list separates them; and migration 9 turns the issue alerts a
 * previous release left firing (or resolved) into notifications. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts/alerts.h"
#include "sqlite/db.h"
#include "sqlite/schema.h"
#include "testdb.h"
#include "testutil.h"
#include "util/log.h"

#define T0      1700000000.0
#define PROJECT 1

static char dir[] = "/tmp/sluice-test-alerts.XXXXXX";

static int64_t fire(db *d, const char *kind, const char *worker, int64_t issue, double at) {
  sq_tx t;
  int64_t id = 0;
  store_alert a = {PROJECT, kind, worker, issue, at, "summary", "{}", "firing"};
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(alerts_fire(tdb_tx(d, &t), NULL, &a, &id), STORE_OK);
  CHECK_EQ_INT(db_exec(d, "COMMIT"), SQLITE_OK);
  return id;
}

static int64_t count(db *d, const char *status) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM alerts WHERE status='%s'", status);
  return tdb_count(d, sql);
}

/* The ids the alerts list gives for status ("all" = NULL), newest first, as one number. */
static long long listed(db *d, const char *status) {
  sq_rd r;
  json_t *doc = NULL;
  store_page page = {50, 0, 0, 0};
  CHECK_EQ_INT(sqlite_store_ops.read_alerts(tdb_rd(d, &r), PROJECT, status, NULL, &page, &doc),
               STORE_OK);
  long long v = 0;
  json_t *list = json_object_get(doc, "alerts");
  for (size_t i = 0; i < json_array_size(list); i++)
    v = v * 10 + json_integer_value(json_object_get(json_array_get(list, i), "id"));
  json_decref(doc);
  return v;
}

TEST(events_are_notified_states_fire_and_resolve) {
  db *d = tdb_open(dir, "fire.db");
  if (!d) return;
  CHECK_EQ_INT(fire(d, "new_issue", NULL, 11, T0), 1);
  CHECK_EQ_INT(fire(d, "regression", NULL, 12, T0 + 1), 2);
  CHECK_EQ_INT(fire(d, "memory_leak", "web-1", 0, T0 + 2), 3);
  CHECK_EQ_INT(count(d, "notified"), 2);
  CHECK_EQ_INT(count(d, "firing"), 1);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM alerts WHERE status='notified'"
                            " AND kind IN ('new_issue', 'regression') AND resolved_at IS NULL"),
               2);

  /* resolving the issues by hand leaves their notifications alone */
  sq_tx t;
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(alerts_issue_closed(tdb_tx(d, &t), PROJECT, 11, T0 + 3), STORE_OK);
  CHECK_EQ_INT(alerts_issue_closed(tdb_tx(d, &t), PROJECT, 12, T0 + 3), STORE_OK);
  CHECK_EQ_INT(db_exec(d, "COMMIT"), SQLITE_OK);
  CHECK_EQ_INT(count(d, "notified"), 2);
  CHECK_EQ_INT(listed(d, "firing"), 3);
  CHECK_EQ_INT(listed(d, "notified"), 21);
  CHECK_EQ_INT(listed(d, NULL), 321);

  /* the leak stops: only the state resolves */
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(alerts_resolve(tdb_tx(d, &t), NULL, PROJECT, "memory_leak", "web-1", 0, T0 + 4,
                              "stopped", "{}"),
               STORE_OK);
  CHECK_EQ_INT(db_exec(d, "COMMIT"), SQLITE_OK);
  CHECK_EQ_INT(listed(d, "firing"), 0);
  CHECK_EQ_INT(listed(d, "resolved"), 3);
  CHECK_EQ_INT(listed(d, "notified"), 21);
  db_close(d);
}

/* A database left by the previous release (schema 7): issue alerts firing until their issue
 * was resolved by hand. */
TEST(migration_9_turns_issue_alerts_into_notifications) {
  tdb_old(dir, "v7.db", 7,
          "INSERT INTO alerts(id, project_id, kind, status, worker_id, issue_id, fired_at,"
          " resolved_at, summary, details) VALUES"
          " (1, 1, 'new_issue', 'firing', NULL, 5, 100, NULL, 'New issue: A', '{}'),"
          " (2, 1, 'regression', 'firing', NULL, 6, 101, NULL, 'Regression: B', '{}'),"
          " (3, 1, 'new_issue', 'resolved', NULL, 7, 102, 150, 'New issue: C', '{}'),"
          " (4, 1, 'memory_leak', 'firing', 'w1', NULL, 103, NULL, 'leak', '{}'),"
          " (5, 1, 'memory_leak', 'resolved', 'w2', NULL, 104, 160, 'leak', '{}');");
  db *d = tdb_open(dir, "v7.db"); /* migrates */
  if (!d) return;
  CHECK_EQ_INT(tdb_count(d, "PRAGMA user_version"), db_schema_version());
  CHECK_EQ_INT(tdb_count(d, "SELECT group_concat(id, '') FROM alerts WHERE status='notified'"
                            " AND resolved_at IS NULL ORDER BY id"),
               123);
  CHECK_EQ_INT(tdb_count(d, "SELECT id FROM alerts WHERE status='firing'"), 4);
  CHECK_EQ_INT(tdb_count(d, "SELECT resolved_at FROM alerts WHERE status='resolved'"), 160);
  CHECK_EQ_INT(count(d, "resolved"), 1);
  db_close(d);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  RUN(events_are_notified_states_fire_and_resolve);
  RUN(migration_9_turns_issue_alerts_into_notifications);
  tu_remove_dir(dir);
  TEST_EXIT();
}
