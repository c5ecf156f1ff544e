/* test_projects: projects in the SQLite store. Migration 8 renames later duplicate names (any
 * case) to the first free "name (n)" before it makes names unique; rename and create refuse a
 * taken name in any case; a deleted project's data goes in bounded purge batches, every table
 * of it, leaving other projects alone; it counts as purged only after the grace time, and its
 * id is not given out again (an explicit one only once purged). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite/db.h"
#include "testdb.h"
#include "testutil.h"
#include "util/log.h"

static char dir[] = "/tmp/sluice-test-projects.XXXXXX";

/* A database left by the previous release (schema 7), with names taken twice in any case, one
 * of them already by the first candidate for a rename. */
TEST(migration_8_renames_duplicate_names) {
  tdb_old(dir, "v7.db", 7,
          "INSERT INTO projects(id, name, public_key, created_at) VALUES"
          " (1, 'shop', 'k1', 0), (2, 'Shop', 'k2', 0), (3, 'shop (2)', 'k3', 0),"
          " (4, 'SHOP', 'k4', 0), (5, 'other', 'k5', 0);");
  db *d = tdb_open(dir, "v7.db"); /* migrates */
  if (!d) return;
  CHECK_EQ_INT(tdb_count(d, "PRAGMA user_version"), db_schema_version());
  sq_tx space;
  store_tx *tx = tdb_tx(d, &space);
  static const char *const want[] = {"shop", "Shop (3)", "shop (2)", "SHOP (4)", "other"};
  for (int id = 1; id <= 5; id++) {
    char name[64] = "";
    CHECK_EQ_INT(tx->ops->project_name(tx, id, name, sizeof name), STORE_OK);
    CHECK_EQ_STR(name, want[id - 1]);
  }
  /* From now on a taken name is refused, in any case. */
  CHECK_EQ_INT(tx->ops->project_rename(tx, 5, "SHOP (3)"), STORE_ECONFLICT);
  int64_t id = 0;
  CHECK_EQ_INT(tx->ops->project_create(tx, "Other", "k6", 0, &id), STORE_ECONFLICT);
  CHECK_EQ_INT(tx->ops->project_find_name(tx, "OTHER", &id), STORE_OK);
  CHECK_EQ_INT(id, 5);
  CHECK_EQ_INT(tx->ops->project_find_name(tx, "none", &id), STORE_ENOTFOUND);
  CHECK_EQ_INT(tx->ops->project_rename(tx, 5, "Other"), STORE_OK);
  CHECK_EQ_INT(tx->ops->project_rename(tx, 9, "nine"), STORE_ENOTFOUND);
  db_close(d);
}

/* Rows of project p in every table that holds a project's data. */
static int64_t rows_of(db *d, int64_t p) {
  static const char *const tables[] = {
      "events WHERE project_id=?1",
      "issues WHERE project_id=?1",
      "issue_hours WHERE issue_id IN (SELECT id FROM issues WHERE project_id=?1)",
      "transactions WHERE project_id=?1",
      "attachments WHERE project_id=?1",
      "sessions WHERE project_id=?1",
      "session_aggregates WHERE project_id=?1",
      "dropped_events WHERE project_id=?1",
      "alerts WHERE project_id=?1",
      "workers WHERE project_id=?1",
      "sample_chunks WHERE worker IN (SELECT id FROM workers WHERE project_id=?1)",
      "rollup_hour WHERE worker IN (SELECT id FROM workers WHERE project_id=?1)",
      "worker_lives WHERE worker IN (SELECT id FROM workers WHERE project_id=?1)",
      "worker_detectors WHERE worker IN (SELECT id FROM workers WHERE project_id=?1)",
      "worker_allocations WHERE worker IN (SELECT id FROM workers WHERE project_id=?1)",
      "webhooks WHERE project_id=?1",
      "deliveries WHERE webhook_id IN (SELECT id FROM webhooks WHERE project_id=?1)",
      "delivery_attempts WHERE webhook_id IN (SELECT id FROM webhooks WHERE project_id=?1)",
  };
  int64_t n = 0;
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[300];
    sqlite3_stmt *s = NULL;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
    CHECK_EQ_INT(sqlite3_prepare_v2(db_handle(d), sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_int64(s, 1, p);
    CHECK_EQ_INT(sqlite3_step(s), SQLITE_ROW);
    n += sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  return n;
}

/* Two rows of project :p in every table (worker, issue and webhook ids :a and :b). */
static const char fill_sql[] =
    "INSERT INTO issues(id, project_id, fingerprint, title, culprit, level, first_seen,"
    " last_seen) VALUES(:a, :p, 'f1', 't', 'c', 'error', 0, 0),"
    " (:b, :p, 'f2', 't', 'c', 'error', 0, 0);"
    "INSERT INTO events(project_id, issue_id, event_id, timestamp, received, level, payload)"
    " VALUES(:p, :a, randomblob(16), 0, 0, 'error', '{}'),"
    " (:p, :b, randomblob(16), 0, 0, 'error', '{}');"
    "INSERT INTO issue_hours VALUES(:a, 1, 1), (:b, 1, 1);"
    "INSERT INTO transactions(project_id, event_id, timestamp, received, payload) VALUES"
    " (:p, randomblob(16), 0, 0, '{}'), (:p, randomblob(16), 0, 0, '{}');"
    "INSERT INTO attachments(project_id, filename, size, data, received) VALUES"
    " (:p, 'a', 1, 'x', 0), (:p, 'b', 1, 'y', 0);"
    "INSERT INTO sessions VALUES(:p, 's1', 'r', 'e', 'ok', 0, 0, 0),"
    " (:p, 's2', 'r', 'e', 'ok', 0, 0, 0);"
    "INSERT INTO session_aggregates(project_id, release, environment) VALUES(:p, 'r', 'e'),"
    " (:p, 'r2', 'e');"
    "INSERT INTO dropped_events VALUES(:p, 'x', 'error', 1), (:p, 'y', 'error', 1);"
    "INSERT INTO alerts(project_id, kind, status, fired_at, summary, details) VALUES"
    " (:p, 'new_issue', 'firing', 0, 's', '{}'), (:p, 'regression', 'firing', 0, 's', '{}');"
    "INSERT INTO workers(id, project_id, name, first_seen, last_seen) VALUES"
    " (:a, :p, 'w1', 0, 0), (:b, :p, 'w2', 0, 0);"
    "INSERT INTO sample_chunks VALUES(:a, 1, 0, 1, x'00'), (:b, 2, 0, 1, x'00');"
    "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum) VALUES"
    " (:a, 0, 1, 1, 1, 1), (:b, 3600, 1, 1, 1, 1);"
    "INSERT INTO worker_lives VALUES(:a, 0, 1, 7, 0), (:b, 5, 6, 8, 0);"
    "INSERT INTO worker_detectors VALUES(:a, 0, x'00'), (:b, 0, x'00');"
    "INSERT INTO worker_allocations VALUES(:a, NULL, NULL), (:b, NULL, NULL);"
    "INSERT INTO webhooks(id, project_id, url, kind, events, created_at) VALUES"
    " (:a, :p, 'https://x', 'generic', 15, 0), (:b, :p, 'https://y', 'slack', 15, 0);"
    "INSERT INTO deliveries(id, webhook_id, project_id, event, msg_id, data, status,"
    " created_at, next_attempt_at) VALUES(:a, :a, :p, 'test', 'm', '{}', 'pending', 0, 0),"
    " (:b, :b, :p, 'test', 'm', '{}', 'pending', 0, 0);"
    "INSERT INTO delivery_attempts(delivery_id, webhook_id, attempt, at, duration_ms, outcome)"
    " VALUES(:a, :a, 1, 0, 1, 'retry'), (:b, :b, 2, 0, 1, 'retry');";

static void fill(db *d, int64_t p) {
  const char *sql = fill_sql;
  while (*sql) {
    sqlite3_stmt *s = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(db_handle(d), sql, -1, &s, &sql), SQLITE_OK);
    if (!s) break;
    sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":p"), p);
    sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":a"), 10 * p);
    sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":b"), 10 * p + 1);
    CHECK_EQ_INT(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
  }
}

TEST(a_deleted_project_is_purged_in_bounded_batches) {
  db *d = tdb_open(dir, "purge.db");
  if (!d) return;
  sq_tx space;
  store_tx *tx = tdb_tx(d, &space);
  int64_t keep = 0, gone = 0;
  CHECK_EQ_INT(tx->ops->project_create(tx, "keep", "kkeep", 0, &keep), STORE_OK);
  CHECK_EQ_INT(tx->ops->project_create(tx, "gone", "kgone", 0, &gone), STORE_OK);
  CHECK_EQ_INT(keep, 1);
  CHECK_EQ_INT(gone, 2);
  fill(d, keep);
  fill(d, gone);
  int64_t all = rows_of(d, gone);
  CHECK_EQ_INT(all, rows_of(d, keep));
  CHECK(all >= 36);

  double t = 1000.0, grace = 60.0;
  CHECK_EQ_INT(tx->ops->project_delete(tx, gone, t), STORE_OK);
  CHECK_EQ_INT(tx->ops->project_delete(tx, gone, t), STORE_ENOTFOUND);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM projects WHERE id=2"), 0);
  /* Its webhooks stop sending at once. */
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM webhooks WHERE project_id=2"
                            " AND disabled_at IS NULL"),
               0);
  /* Its id is not given out again, nor taken explicitly while its data is there. */
  int64_t id = gone;
  CHECK_EQ_INT(tx->ops->project_create(tx, "again", "kagain1", t, &id), STORE_ECONFLICT);

  /* Batches of at most 5 rows until nothing is left; the other project is untouched. */
  int passes = 0;
  int64_t n, total = 0;
  do {
    CHECK_EQ_INT(tx->ops->projects_purge(tx, t, grace, 5, &n), STORE_OK);
    CHECK(n <= 5);
    total += n;
    CHECK_EQ_INT(rows_of(d, gone), all - total);
  } while (n > 0 && ++passes < 100);
  CHECK_EQ_INT(total, all);
  CHECK_EQ_INT(rows_of(d, gone), 0);
  CHECK_EQ_INT(rows_of(d, keep), all);
  /* Within the grace time it is not purged yet: a write queued before the delete may come. */
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM deleted_projects WHERE purged_at IS NULL"), 1);
  CHECK_EQ_INT(db_exec(d, "INSERT INTO events(project_id, issue_id, event_id, timestamp,"
                          " received, level, payload) VALUES(2, 99, x'01', 0, 0, 'error', '{}')"),
               SQLITE_OK);
  CHECK_EQ_INT(tx->ops->projects_purge(tx, t + 2 * grace, grace, 5, &n), STORE_OK);
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM deleted_projects WHERE purged_at IS NULL"), 1);
  CHECK_EQ_INT(tx->ops->projects_purge(tx, t + 2 * grace, grace, 5, &n), STORE_OK);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM deleted_projects WHERE purged_at IS NULL"), 0);

  /* A new project gets a new id; the purged one may be taken explicitly again. */
  id = 0;
  CHECK_EQ_INT(tx->ops->project_create(tx, "next", "knext", t, &id), STORE_OK);
  CHECK_EQ_INT(id, 3);
  id = gone;
  CHECK_EQ_INT(tx->ops->project_create(tx, "again", "kagain2", t, &id), STORE_OK);
  CHECK_EQ_INT(id, gone);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM deleted_projects"), 0);
  db_close(d);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  RUN(migration_8_renames_duplicate_names);
  RUN(a_deleted_project_is_purged_in_bounded_batches);
  tu_remove_dir(dir);
  TEST_EXIT();
}
