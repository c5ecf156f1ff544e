/* sqlite_store: the SQLite backend's lifecycle, transactions, settings, retention and its
 * table of operations. One database file in WAL mode: the writer's connection (through walbuf,
 * with a checkpointer thread beside it), read-only connections for the reader pool. The
 * statements of each subsystem are in the sqlite_*.c files beside this one. */
#include "sqlite/sqlite_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_int.h"
#include "util/log.h"

json_t *sq_col_text(sqlite3_stmt *s, int col) {
  return store_json_text((const char *)sqlite3_column_text(s, col));
}

int sq_step_done(sqlite3_stmt *s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_page_rows(sqlite3_stmt *s, int64_t limit, int id_col, int key_col,
                 json_t *(*row)(sqlite3_stmt *s, void *ctx), void *ctx, json_t *list, int *more,
                 double *key, int64_t *last) {
  int64_t n = 0;
  int rc, st = STORE_OK;
  *more = 0;
  *key = 0;
  *last = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == limit) {
      *more = 1;
      break;
    }
    json_t *r = row(s, ctx);
    if (!r || json_array_append_new(list, r)) {
      st = STORE_ENOMEM;
      break;
    }
    *last = sqlite3_column_int64(s, id_col);
    if (key_col >= 0) *key = sqlite3_column_double(s, key_col);
    n++;
  }
  sqlite3_reset(s);
  if (st == STORE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) st = STORE_EIO;
  return st;
}

/* --- lifecycle ----------------------------------------------------------------------------- */

static int sq_open(const char *target, const store_options *o, store **out) {
  sq_store *s = calloc(1, sizeof *s);
  if (!s) return STORE_ENOMEM;
  s->base.ops = &sqlite_store_ops;
  snprintf(s->path, sizeof s->path, "%s", target);
  s->max_pages = o ? o->max_pages : 0;
  /* Creates the file and applies the migrations once, before any other connection opens. */
  db *d = db_open(s->path, false, s->max_pages);
  if (!d) {
    free(s);
    return STORE_EIO;
  }
  db_close(d);
  *out = &s->base;
  return STORE_OK;
}

static void sq_close(store *s) {
  free(s);
}

static int sq_schema_version(const store *s) {
  (void)s;
  return db_schema_version();
}

static int sq_writer_open(store *st, store_tx **out) {
  sq_store *s = (sq_store *)st;
  sq_tx *tx = calloc(1, sizeof *tx);
  if (!tx) return STORE_ENOMEM;
  tx->base.ops = &sqlite_store_ops;
  tx->d = db_open(s->path, false, s->max_pages);
  if (!tx->d) {
    free(tx);
    return STORE_EIO;
  }
  tx->ckpt = checkpointer_start(s->path);
  if (tx->ckpt) checkpointer_attach(tx->ckpt, db_handle(tx->d));
  *out = &tx->base;
  return STORE_OK;
}

static void sq_writer_close(store_tx *t) {
  sq_tx *tx = (sq_tx *)t;
  checkpointer_stop(tx->ckpt);
  db_exec(tx->d, "PRAGMA wal_checkpoint(TRUNCATE)");
  db_close(tx->d);
  free(tx);
}

/* Transaction control through the statement cache: parsed once, not once per job. */
static int sql_ok(db *d, const char *sql) {
  sqlite3_stmt *s = db_stmt(d, sql);
  return s && sq_step_done(s) == STORE_OK;
}

static int sq_tx_begin(store_tx *tx) {
  return sql_ok(sq_db(tx), "BEGIN IMMEDIATE") ? STORE_OK : STORE_EIO;
}
static int sq_tx_commit(store_tx *tx) {
  return sql_ok(sq_db(tx), "COMMIT") ? STORE_OK : STORE_EIO;
}
static void sq_tx_rollback(store_tx *tx) {
  sql_ok(sq_db(tx), "ROLLBACK");
}
static int sq_tx_savepoint(store_tx *tx) {
  return sql_ok(sq_db(tx), "SAVEPOINT job") ? STORE_OK : STORE_EIO;
}
static void sq_tx_release(store_tx *tx) {
  sql_ok(sq_db(tx), "RELEASE job");
}
static void sq_tx_rollback_to(store_tx *tx) {
  sql_ok(sq_db(tx), "ROLLBACK TO job");
}
/* SQLite rolls the whole transaction back by itself on SQLITE_FULL and some I/O errors: the
 * connection is then in autocommit mode, and a SAVEPOINT would open (and RELEASE commit) a new
 * transaction. */
static int sq_tx_lost(store_tx *tx) {
  return sqlite3_get_autocommit(db_handle(sq_db(tx)));
}
static const char *sq_tx_error(store_tx *tx) {
  return sqlite3_errmsg(db_handle(sq_db(tx)));
}

static void sq_maintenance_stats(store_tx *t, uint64_t *runs, uint64_t *inline_runs,
                                 uint64_t *failures, uint64_t *pages, double *seconds) {
  sq_tx *tx = (sq_tx *)t;
  checkpointer_stats st = {0};
  if (tx->ckpt) checkpointer_get_stats(tx->ckpt, &st);
  *runs = st.runs;
  *inline_runs = st.inline_runs;
  *failures = st.failures;
  *pages = st.pages;
  *seconds = st.seconds_sum;
}

static int sq_reader_open(store *st, store_rd **out) {
  sq_store *s = (sq_store *)st;
  sq_rd *rd = calloc(1, sizeof *rd);
  if (!rd) return STORE_ENOMEM;
  rd->base.ops = &sqlite_store_ops;
  rd->d = db_open(s->path, true, 0);
  if (!rd->d) {
    free(rd);
    return STORE_EIO;
  }
  *out = &rd->base;
  return STORE_OK;
}

static void sq_reader_close(store_rd *rd) {
  db_close(sq_rdb(rd));
  free(rd);
}

/* A read transaction per request gives the query one consistent snapshot. */
static int sq_read_begin(store_rd *rd) {
  return db_exec(sq_rdb(rd), "BEGIN") == SQLITE_OK ? STORE_OK : STORE_EIO;
}
static void sq_read_end(store_rd *rd) {
  db_exec(sq_rdb(rd), "COMMIT");
}

/* --- settings -------------------------------------------------------------------------------- */

static int sq_meta_get(store_tx *tx, const char *key, char *buf, size_t cap) {
  return db_meta_get(sq_db(tx), key, buf, cap) == 0 ? STORE_OK : STORE_ENOTFOUND;
}

static int sq_meta_set(store_tx *tx, const char *key, const char *value) {
  return db_meta_set(sq_db(tx), key, value) == 0 ? STORE_OK : STORE_EIO;
}

/* --- retention and size ---------------------------------------------------------------------- */

/* Each statement deletes one bounded batch (?2 rows) older than ?1. Rows with ids are appended
 * in arrival order, so only the oldest ?2 by id are looked at (no index on the time column, no
 * scan when nothing is old); sessions and issue_hours are WITHOUT ROWID tables with an index on
 * their time column and go by primary key. */
static const char *const retention_sql[] = {
    [STORE_RET_EVENTS] = "DELETE FROM events WHERE id IN (SELECT id FROM"
                         " (SELECT id, received FROM events ORDER BY id LIMIT ?2)"
                         " WHERE received < ?1)",
    [STORE_RET_TRANSACTIONS] = "DELETE FROM transactions WHERE id IN (SELECT id FROM"
                               " (SELECT id, received FROM transactions ORDER BY id LIMIT ?2)"
                               " WHERE received < ?1)",
    [STORE_RET_ATTACHMENTS] = "DELETE FROM attachments WHERE id IN (SELECT id FROM"
                              " (SELECT id, received FROM attachments ORDER BY id LIMIT ?2)"
                              " WHERE received < ?1)",
    [STORE_RET_SESSIONS] = "DELETE FROM sessions WHERE (project_id, sid) IN"
                           " (SELECT project_id, sid FROM sessions WHERE updated < ?1 LIMIT ?2)",
    [STORE_RET_ISSUE_HOURS] = "DELETE FROM issue_hours WHERE (issue_id, hour) IN"
                              " (SELECT issue_id, hour FROM issue_hours WHERE hour < ?1 / 3600"
                              " LIMIT ?2)",
};

static int sq_retention(store_tx *tx, store_retention_kind kind, double cutoff, int64_t max_rows,
                        int64_t *deleted) {
  db *d = sq_db(tx);
  *deleted = 0;
  if (kind == STORE_RET_SAMPLES || kind == STORE_RET_ROLLUPS)
    return sq_memory_retention(d, kind, cutoff, max_rows, deleted);
  if (kind == STORE_RET_DELIVERIES) return sq_deliveries_retention(d, cutoff, max_rows, deleted);
  if ((size_t)kind >= sizeof retention_sql / sizeof retention_sql[0] || !retention_sql[kind])
    return STORE_ENOTFOUND;
  sqlite3_stmt *s = db_stmt(d, retention_sql[kind]);
  if (!s) return STORE_EIO;
  sqlite3_bind_double(s, 1, cutoff);
  sqlite3_bind_int64(s, 2, max_rows);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  *deleted = sqlite3_changes(db_handle(d));
  return STORE_OK;
}

static int sq_used_bytes(store_tx *tx, int64_t *bytes) {
  *bytes = db_used_bytes(sq_db(tx));
  return *bytes < 0 ? STORE_EIO : STORE_OK;
}

static int sq_evict_events(store_tx *tx, int64_t n, int64_t *deleted) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "DELETE FROM events WHERE id IN"
                               " (SELECT id FROM events ORDER BY id LIMIT ?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, n);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  *deleted = sqlite3_changes(db_handle(d));
  return STORE_OK;
}

/* Freed pages go back to the file system, a few thousand at a time. */
static void sq_compact(store_tx *tx) {
  sqlite3_exec(db_handle(sq_db(tx)), "PRAGMA incremental_vacuum(4000)", NULL, NULL, NULL);
}

const store_ops sqlite_store_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .writer_open = sq_writer_open,
    .writer_close = sq_writer_close,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .tx_savepoint = sq_tx_savepoint,
    .tx_release = sq_tx_release,
    .tx_rollback_to = sq_tx_rollback_to,
    .tx_lost = sq_tx_lost,
    .tx_error = sq_tx_error,
    .maintenance_stats = sq_maintenance_stats,
    .reader_open = sq_reader_open,
    .reader_close = sq_reader_close,
    .read_begin = sq_read_begin,
    .read_end = sq_read_end,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .projects_each = sq_projects_each,
    .project_create = sq_project_create,
    .project_set_rate_limit = sq_project_set_rate_limit,
    .project_name = sq_project_name,
    .project_find_name = sq_project_find_name,
    .project_rename = sq_project_rename,
    .project_delete = sq_project_delete,
    .projects_purge = sq_projects_purge,
    .event_put = sq_event_put,
    .transaction_put = sq_transaction_put,
    .session_put = sq_session_put,
    .sessions_add = sq_sessions_add,
    .dropped_add = sq_dropped_add,
    .attachment_put = sq_attachment_put,
    .issue_set_status = sq_issue_set_status,
    .alert_insert = sq_alert_insert,
    .alerts_resolve = sq_alerts_resolve,
    .worker_get = sq_worker_get,
    .worker_create = sq_worker_create,
    .worker_update = sq_worker_update,
    .worker_limit = sq_worker_limit,
    .worker_states = sq_worker_states,
    .life_open = sq_life_open,
    .lives_since = sq_lives_since,
    .samples_put = sq_samples_put,
    .samples_newest = sq_samples_newest,
    .samples_scan = sq_samples_scan,
    .rollup_add = sq_rollup_add,
    .allocations_put = sq_allocations_put,
    .allocations_get = sq_allocations_get,
    .detector_get = sq_detector_get,
    .detector_put = sq_detector_put,
    .webhook_create = sq_webhook_create,
    .webhook_delete = sq_webhook_delete,
    .webhook_get = sq_webhook_get,
    .webhooks_subscribed = sq_webhooks_subscribed,
    .delivery_insert = sq_delivery_insert,
    .delivery_recent = sq_delivery_recent,
    .deliveries_reset_sending = sq_deliveries_reset_sending,
    .deliveries_due = sq_deliveries_due,
    .deliveries_pending = sq_deliveries_pending,
    .deliveries_set_status = sq_deliveries_set_status,
    .delivery_load = sq_delivery_load,
    .delivery_record = sq_delivery_record,
    .retention = sq_retention,
    .used_bytes = sq_used_bytes,
    .evict_events = sq_evict_events,
    .compact = sq_compact,
    .read_projects = sq_read_projects,
    .read_project = sq_read_project,
    .read_project_stats = sq_read_project_stats,
    .read_issues = sq_read_issues,
    .read_issue = sq_read_issue,
    .read_issue_events = sq_read_issue_events,
    .read_event = sq_read_event,
    .read_alerts = sq_read_alerts,
    .read_workers = sq_read_workers,
    .read_worker_memory = sq_read_worker_memory,
    .read_webhooks = sq_read_webhooks,
    .read_deliveries = sq_read_deliveries,
};
