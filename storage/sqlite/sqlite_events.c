/* sqlite_events: the statements behind what the Sentry endpoints ingest (events grouped into
 * issues by fingerprint, transactions, sessions, client reports, attachments) and projects.
 * Writer connection only, inside the writer's transaction; every statement comes from the
 * connection's cache. Dedup is a lookup on the (project_id, event_id) index before any write,
 * so a retried event costs no writes and does not undo other items of its envelope. Which
 * alerts a new or regressed issue raises is decided above this layer (server/sentry). A
 * deleted project's row goes at once and its data in bounded purge batches (deleted_projects
 * remembers it until they are done). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_int.h"
#include "util/log.h"

#define STEP_DONE(s) (sq_step_done(s) == STORE_OK)

int sq_event_put(store_tx *tx, const store_event *e, store_issue_change *out) {
  db *d = sq_db(tx);
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = db_stmt(d, "SELECT 1 FROM events WHERE project_id=? AND event_id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_blob(s, 2, e->event_id, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_ROW) return STORE_DUPLICATE;
  if (rc != SQLITE_DONE) return STORE_EIO;

  /* Find or create the issue. */
  int64_t issue_id = 0;
  int regression = 0;
  s = db_stmt(d, "SELECT id, status FROM issues WHERE project_id=? AND fingerprint=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_text(s, 2, e->fingerprint, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    issue_id = sqlite3_column_int64(s, 0);
    const char *st = (const char *)sqlite3_column_text(s, 1);
    regression = st && strcmp(st, "resolved") == 0;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return STORE_EIO;
  int created = 0;
  if (!issue_id) {
    s = db_stmt(d, "INSERT INTO issues(project_id, fingerprint, title, culprit, level, count,"
                   " first_seen, last_seen, first_release, last_release)"
                   " VALUES(?,?,?,?,?,1,?,?,?,?)");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, e->project_id);
    sqlite3_bind_text(s, 2, e->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->culprit, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, e->level, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 6, e->timestamp);
    sqlite3_bind_double(s, 7, e->timestamp);
    sq_bind_text(s, 8, e->release);
    sq_bind_text(s, 9, e->release);
    if (!STEP_DONE(s)) return STORE_EIO;
    issue_id = sqlite3_last_insert_rowid(db_handle(d));
    created = 1;
  } else {
    /* The issue shows its latest event by event time, not by arrival order (SDKs send
     * concurrently, so arrival order is not the order things happened in). */
    s = db_stmt(d, "UPDATE issues SET count=count+1, last_seen=max(last_seen, ?1),"
                   " first_seen=min(first_seen, ?1),"
                   " level=CASE WHEN ?1 >= last_seen THEN ?2 ELSE level END,"
                   " title=CASE WHEN ?1 >= last_seen THEN ?3 ELSE title END,"
                   " culprit=CASE WHEN ?1 >= last_seen THEN ?4 ELSE culprit END,"
                   " last_release=CASE WHEN ?1 >= last_seen THEN coalesce(?5, last_release)"
                   " ELSE coalesce(last_release, ?5) END,"
                   " first_release=coalesce(first_release, ?5),"
                   " status=CASE WHEN status='resolved' THEN 'unresolved' ELSE status END"
                   " WHERE id=?6");
    if (!s) return STORE_EIO;
    sqlite3_bind_double(s, 1, e->timestamp);
    sqlite3_bind_text(s, 2, e->level, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->culprit, -1, SQLITE_STATIC);
    sq_bind_text(s, 5, e->release);
    sqlite3_bind_int64(s, 6, issue_id);
    if (!STEP_DONE(s)) return STORE_EIO;
  }

  s = db_stmt(d, "INSERT INTO events(project_id, issue_id, event_id, timestamp, received, level,"
                 " release, environment, payload) VALUES(?,?,?,?,?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_int64(s, 2, issue_id);
  sqlite3_bind_blob(s, 3, e->event_id, 16, SQLITE_STATIC);
  sqlite3_bind_double(s, 4, e->timestamp);
  sqlite3_bind_double(s, 5, e->received);
  sqlite3_bind_text(s, 6, e->level, -1, SQLITE_STATIC);
  sq_bind_text(s, 7, e->release);
  sq_bind_text(s, 8, e->environment);
  sqlite3_bind_blob(s, 9, e->payload, (int)e->len, SQLITE_STATIC);
  if (!STEP_DONE(s)) return STORE_EIO;

  s = db_stmt(d, "INSERT INTO issue_hours(issue_id, hour, count) VALUES(?,?,1)"
                 " ON CONFLICT(issue_id, hour) DO UPDATE SET count=count+1");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, issue_id);
  sqlite3_bind_int64(s, 2, (int64_t)floor(e->timestamp / 3600.0));
  if (!STEP_DONE(s)) return STORE_EIO;

  out->issue_id = issue_id;
  out->created = created;
  out->regressed = regression;
  out->count = 1;
  if (!created) {
    s = db_stmt(d, "SELECT count FROM issues WHERE id=?");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, issue_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) out->count = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) return STORE_EIO;
  }
  return STORE_OK;
}

int sq_transaction_put(store_tx *tx, int64_t project_id, const uint8_t event_id[16],
                       const char *name, double timestamp, double received, const char *payload,
                       size_t len) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "INSERT OR IGNORE INTO transactions(project_id, event_id, name,"
                               " timestamp, received, payload) VALUES(?,?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  sq_bind_text(s, 3, name);
  sqlite3_bind_double(s, 4, timestamp);
  sqlite3_bind_double(s, 5, received);
  sqlite3_bind_blob(s, 6, payload, (int)len, SQLITE_STATIC);
  return STEP_DONE(s) ? STORE_OK : STORE_EIO;
}

int sq_session_put(store_tx *tx, int64_t project_id, const store_session *ss) {
  db *d = sq_db(tx);
  /* Later updates of a session replace its status, but a final state never goes back to ok. */
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO sessions(project_id, sid, release, environment, status, errors, started,"
         " updated) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(project_id, sid) DO UPDATE SET"
         " status=CASE WHEN excluded.updated >= sessions.updated AND sessions.status IN"
         " ('ok','exited','errored') THEN excluded.status ELSE sessions.status END,"
         " errors=max(sessions.errors, excluded.errors),"
         " updated=max(sessions.updated, excluded.updated)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, ss->sid, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, ss->release, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, ss->environment, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, ss->status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, ss->errors);
  sqlite3_bind_double(s, 7, ss->started);
  sqlite3_bind_double(s, 8, ss->updated);
  return STEP_DONE(s) ? STORE_OK : STORE_EIO;
}

int sq_sessions_add(store_tx *tx, int64_t project_id, const store_session_counts *c) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO session_aggregates(project_id, release, environment, healthy, errored,"
         " crashed, abnormal) VALUES(?,?,?,?,?,?,?) ON CONFLICT(project_id, release, environment)"
         " DO UPDATE SET healthy=healthy+excluded.healthy, errored=errored+excluded.errored,"
         " crashed=crashed+excluded.crashed, abnormal=abnormal+excluded.abnormal");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, c->release, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, c->environment, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, c->healthy);
  sqlite3_bind_int64(s, 5, c->errored);
  sqlite3_bind_int64(s, 6, c->crashed);
  sqlite3_bind_int64(s, 7, c->abnormal);
  return STEP_DONE(s) ? STORE_OK : STORE_EIO;
}

int sq_dropped_add(store_tx *tx, int64_t project_id, const char *reason, const char *category,
                   int64_t quantity) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO dropped_events(project_id, reason, category, quantity)"
                               " VALUES(?,?,?,?) ON CONFLICT(project_id, reason, category)"
                               " DO UPDATE SET quantity=quantity+excluded.quantity");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, category, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, quantity);
  return STEP_DONE(s) ? STORE_OK : STORE_EIO;
}

int sq_attachment_put(store_tx *tx, int64_t project_id, const uint8_t *event_id,
                      const char *filename, const char *content_type, const char *data, size_t len,
                      double received) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO attachments(project_id, event_id, filename,"
                               " content_type, size, data, received) VALUES(?,?,?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  if (event_id) sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, filename, -1, SQLITE_STATIC);
  sq_bind_text(s, 4, content_type);
  sqlite3_bind_int64(s, 5, (int64_t)len);
  sqlite3_bind_blob(s, 6, data, (int)len, SQLITE_STATIC);
  sqlite3_bind_double(s, 7, received);
  return STEP_DONE(s) ? STORE_OK : STORE_EIO;
}

/* The id a new project gets: an explicit one must not belong to a deleted project whose data
 * is still being purged (a purged one is forgotten); otherwise one past every id ever used, so
 * that no id of a deleted project comes back. ECONFLICT, or STORE_OK with *id set. */
static int project_new_id(db *d, int64_t *id) {
  sqlite3_stmt *s;
  if (*id > 0) {
    s = db_stmt(d, "SELECT purged_at IS NOT NULL FROM deleted_projects WHERE id=?");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, *id);
    int rc = sqlite3_step(s);
    int purged = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return STORE_OK;
    if (rc != SQLITE_ROW) return STORE_EIO;
    if (!purged) return STORE_ECONFLICT;
    s = db_stmt(d, "DELETE FROM deleted_projects WHERE id=?");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, *id);
    return sq_step_done(s);
  }
  s = db_stmt(d, "SELECT max(coalesce((SELECT max(id) FROM projects), 0),"
                 " coalesce((SELECT max(id) FROM deleted_projects), 0)) + 1");
  if (!s) return STORE_EIO;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_project_create(store_tx *tx, const char *name, const char *public_key, double now,
                      int64_t *id) {
  db *d = sq_db(tx);
  int st = project_new_id(d, id);
  if (st != STORE_OK) return st;
  sqlite3_stmt *s =
      db_stmt(d, "INSERT INTO projects(id, name, public_key, created_at) VALUES(?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, *id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, public_key, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 4, now);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return STORE_ECONFLICT;
  return rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_issue_set_status(store_tx *tx, int64_t issue_id, const char *status, int64_t *project_id) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "UPDATE issues SET status=? WHERE id=?"
                                       " AND project_id IN (SELECT id FROM projects)"
                                       " RETURNING project_id");
  if (!s) return STORE_EIO;
  sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, issue_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *project_id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_project_set_rate_limit(store_tx *tx, int64_t project_id, int64_t per_minute) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "UPDATE projects SET rate_limit_per_minute=? WHERE id=?");
  if (!s) return STORE_EIO;
  if (per_minute >= 0) sqlite3_bind_int64(s, 1, per_minute);
  sqlite3_bind_int64(s, 2, project_id);
  if (!STEP_DONE(s)) return STORE_EIO;
  return sqlite3_changes(db_handle(d)) ? STORE_OK : STORE_ENOTFOUND;
}

int sq_projects_each(store_tx *tx,
                     int (*fn)(void *ctx, int64_t id, const char *key, int64_t rate_limit),
                     void *ctx) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT id, public_key, coalesce(rate_limit_per_minute,"
                                       " -1) FROM projects ORDER BY id");
  if (!s) return STORE_EIO;
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    stop = fn(ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
              sqlite3_column_int64(s, 2));
  sqlite3_reset(s);
  return stop || rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_project_name(store_tx *tx, int64_t project_id, char *buf, size_t cap) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT name FROM projects WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_project_find_name(store_tx *tx, const char *name, int64_t *project_id) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT id FROM projects WHERE name=? COLLATE NOCASE");
  if (!s) return STORE_EIO;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *project_id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_project_rename(store_tx *tx, int64_t project_id, const char *name) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "UPDATE projects SET name=? WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, project_id);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return STORE_ECONFLICT;
  if (rc != SQLITE_DONE) return STORE_EIO;
  return sqlite3_changes(db_handle(d)) ? STORE_OK : STORE_ENOTFOUND;
}

int sq_project_delete(store_tx *tx, int64_t project_id, double now) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "DELETE FROM projects WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  if (!sqlite3_changes(db_handle(d))) return STORE_ENOTFOUND;
  /* Remembered until its data is purged; the outbox sends only for enabled webhooks, so
   * nothing more goes out for the project. ?1 the project, ?2 now. */
  static const char *const then[] = {
      "INSERT OR REPLACE INTO deleted_projects(id, deleted_at) VALUES(?1, ?2)",
      "UPDATE webhooks SET disabled_at=?2, disabled_reason='project deleted'"
      " WHERE project_id=?1 AND disabled_at IS NULL",
  };
  for (size_t i = 0; i < sizeof then / sizeof then[0]; i++) {
    if (!(s = db_stmt(d, then[i]))) return STORE_EIO;
    sqlite3_bind_int64(s, 1, project_id);
    sqlite3_bind_double(s, 2, now);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  }
  return STORE_OK;
}

/* One bounded batch (?2 rows) of one deleted project's (?1) data per statement, children before
 * the rows they are found through (an issue's hours, a worker's samples, a webhook's
 * deliveries): a statement that deletes fewer than its limit has left nothing, so the next may
 * delete the parents. Every statement goes through an index on the project or the parent. */
static const char *const purge_sql[] = {
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM issue_hours WHERE (issue_id, hour) IN (SELECT h.issue_id, h.hour FROM issues i"
    " JOIN issue_hours h ON h.issue_id=i.id WHERE i.project_id=?1 LIMIT ?2)",
    "DELETE FROM issues WHERE id IN (SELECT id FROM issues WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM transactions WHERE id IN"
    " (SELECT id FROM transactions WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM sessions WHERE (project_id, sid) IN"
    " (SELECT project_id, sid FROM sessions WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM session_aggregates WHERE (project_id, release, environment) IN"
    " (SELECT project_id, release, environment FROM session_aggregates WHERE project_id=?1"
    " LIMIT ?2)",
    "DELETE FROM dropped_events WHERE (project_id, reason, category) IN"
    " (SELECT project_id, reason, category FROM dropped_events WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM sample_chunks WHERE (worker, t1) IN (SELECT c.worker, c.t1 FROM workers w"
    " JOIN sample_chunks c ON c.worker=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM rollup_hour WHERE id IN (SELECT r.id FROM workers w"
    " JOIN rollup_hour r ON r.worker=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM worker_lives WHERE (worker, first_ts) IN (SELECT l.worker, l.first_ts"
    " FROM workers w JOIN worker_lives l ON l.worker=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM worker_detectors WHERE worker IN (SELECT t.worker FROM workers w"
    " JOIN worker_detectors t ON t.worker=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM worker_allocations WHERE worker IN (SELECT t.worker FROM workers w"
    " JOIN worker_allocations t ON t.worker=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM workers WHERE id IN (SELECT id FROM workers WHERE project_id=?1 LIMIT ?2)",
    "DELETE FROM delivery_attempts WHERE id IN (SELECT a.id FROM webhooks w"
    " JOIN delivery_attempts a ON a.webhook_id=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM deliveries WHERE id IN (SELECT t.id FROM webhooks w"
    " JOIN deliveries t ON t.webhook_id=w.id WHERE w.project_id=?1 LIMIT ?2)",
    "DELETE FROM webhooks WHERE id IN (SELECT id FROM webhooks WHERE project_id=?1 LIMIT ?2)",
};

/* Deletes up to budget rows of one project's data; *n counts them (== budget: more may be
 * left). */
static int purge_project(db *d, int64_t project_id, int64_t budget, int64_t *n) {
  *n = 0;
  for (size_t i = 0; i < sizeof purge_sql / sizeof purge_sql[0] && *n < budget; i++) {
    sqlite3_stmt *s = db_stmt(d, purge_sql[i]);
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, project_id);
    sqlite3_bind_int64(s, 2, budget - *n);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
    *n += sqlite3_changes(db_handle(d));
  }
  return STORE_OK;
}

int sq_projects_purge(store_tx *tx, double now, double grace, int64_t max_rows, int64_t *deleted) {
  db *d = sq_db(tx);
  *deleted = 0;
  /* Deleted projects are few: their ids are read first, so the deletes below do not run while
   * this statement steps. */
  int64_t ids[16];
  double at[16];
  size_t n = 0;
  sqlite3_stmt *s = db_stmt(d, "SELECT id, deleted_at FROM deleted_projects"
                               " WHERE purged_at IS NULL ORDER BY id LIMIT 16");
  if (!s) return STORE_EIO;
  int rc = SQLITE_DONE;
  while (n < 16 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    ids[n] = sqlite3_column_int64(s, 0);
    at[n++] = sqlite3_column_double(s, 1);
  }
  sqlite3_reset(s);
  if (n < 16 && rc != SQLITE_DONE) return STORE_EIO;
  for (size_t i = 0; i < n && *deleted < max_rows; i++) {
    int64_t k = 0;
    if (purge_project(d, ids[i], max_rows - *deleted, &k) != STORE_OK) return STORE_EIO;
    *deleted += k;
    if (k > 0 || at[i] > now - grace) continue;
    s = db_stmt(d, "UPDATE deleted_projects SET purged_at=? WHERE id=?");
    if (!s) return STORE_EIO;
    sqlite3_bind_double(s, 1, now);
    sqlite3_bind_int64(s, 2, ids[i]);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  }
  return STORE_OK;
}

/* Whether a project other than except is called name, ignoring ASCII case. */
static int migrate_name_taken(sqlite3 *h, const char *name, int64_t except, int *taken) {
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(h, "SELECT 1 FROM projects WHERE name=?1 COLLATE NOCASE AND id!=?2", -1,
                         &s, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, except);
  int rc = sqlite3_step(s);
  *taken = rc == SQLITE_ROW;
  sqlite3_finalize(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int sq_projects_unique_names(db *d) {
  sqlite3 *h = db_handle(d);
  sqlite3_stmt *dup = NULL, *upd = NULL;
  int ret = -1;
  /* The first project (by id) whose name an earlier one has; renamed, then the next. */
  if (sqlite3_prepare_v2(h,
                         "SELECT p.id, p.name FROM projects p WHERE EXISTS (SELECT 1 FROM"
                         " projects q WHERE q.name=p.name COLLATE NOCASE AND q.id<p.id)"
                         " ORDER BY p.id LIMIT 1",
                         -1, &dup, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(h, "UPDATE projects SET name=? WHERE id=?", -1, &upd, NULL) != SQLITE_OK)
    goto out;
  int rc;
  while ((rc = sqlite3_step(dup)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(dup, 0);
    char old[512], name[600];
    snprintf(old, sizeof old, "%s", (const char *)sqlite3_column_text(dup, 1));
    sqlite3_reset(dup);
    int taken = 1;
    for (int k = 2; taken; k++) {
      snprintf(name, sizeof name, "%s (%d)", old, k);
      if (migrate_name_taken(h, name, id, &taken)) goto out;
    }
    sqlite3_bind_text(upd, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 2, id);
    rc = sqlite3_step(upd);
    sqlite3_reset(upd);
    if (rc != SQLITE_DONE) goto out;
    log_warn("project renamed: its name was taken", "project=%lld from=\"%s\" to=\"%s\"",
             (long long)id, old, name);
  }
  if (rc != SQLITE_DONE) goto out;
  if (sqlite3_exec(h, "CREATE UNIQUE INDEX projects_name ON projects(name COLLATE NOCASE)", NULL,
                   NULL, NULL) != SQLITE_OK)
    goto out;
  ret = 0;
out:
  sqlite3_finalize(dup);
  sqlite3_finalize(upd);
  return ret;
}
