/* sqlite_events: the statements behind what the Sentry endpoints ingest (events grouped into
 * issues by fingerprint, transactions, sessions, client reports, attachments) and projects.
 * Writer connection only, inside the writer's transaction; every statement comes from the
 * connection's cache. Dedup is a lookup on the (project_id, event_id) index before any write,
 * so a retried event costs no writes and does not undo other items of its envelope. Which
 * alerts a new or regressed issue raises is decided above this layer (server/sentry). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_int.h"

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

int sq_project_create(store_tx *tx, const char *name, const char *public_key, double now,
                      int64_t *id) {
  db *d = sq_db(tx);
  sqlite3_stmt *s =
      db_stmt(d, "INSERT INTO projects(id, name, public_key, created_at) VALUES(?,?,?,?)");
  if (!s) return STORE_EIO;
  if (*id > 0) sqlite3_bind_int64(s, 1, *id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, public_key, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 4, now);
  int rc = sqlite3_step(s);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return STORE_ECONFLICT;
  if (rc != SQLITE_DONE) return STORE_EIO;
  *id = sqlite3_last_insert_rowid(db_handle(d));
  return STORE_OK;
}

int sq_issue_set_status(store_tx *tx, int64_t issue_id, const char *status, int64_t *project_id) {
  sqlite3_stmt *s =
      db_stmt(sq_db(tx), "UPDATE issues SET status=? WHERE id=? RETURNING project_id");
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
