/* events_store: writer-thread SQL for ingest. All statements come from the per-connection
 * cache (prepared once). Dedup is a lookup on the (project_id, event_id) index before any
 * write, so a retried event costs no writes and does not undo other items of its envelope. */
#include "sqlite/events_store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/alerts.h"
#include "writer.h"

#define STEP_DONE(s) (sqlite3_step(s) == SQLITE_DONE)

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v) {
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

/* Alert details carry what a notification shows: title, culprit, count, release, level. */
static int issue_alert(db *d, const stored_event *e, int64_t issue_id, int64_t count,
                       const char *kind) {
  json_t *details =
      json_pack("{s:I, s:s, s:s, s:s, s:I, s:s?, s:s?}", "issue_id", (json_int_t)issue_id, "title",
                e->title, "culprit", e->culprit, "level", e->level, "count", (json_int_t)count,
                "release", e->release, "environment", e->environment);
  char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
  json_decref(details);
  if (!text) return WRITER_EIO;
  char summary[600];
  snprintf(summary, sizeof summary, "%s: %.500s",
           strcmp(kind, "regression") == 0 ? "Regression" : "New issue", e->title);
  int rc = alerts_fire(d, e->project_id, kind, NULL, issue_id, e->received, summary, text, NULL);
  free(text);
  return rc;
}

int store_event(db *d, const stored_event *e) {
  sqlite3_stmt *s = db_stmt(d, "SELECT 1 FROM events WHERE project_id=? AND event_id=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_blob(s, 2, e->event_id, 16, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_ROW) return WRITER_DUPLICATE;
  if (rc != SQLITE_DONE) return WRITER_EIO;

  /* Find or create the issue. */
  int64_t issue_id = 0;
  int regression = 0;
  s = db_stmt(d, "SELECT id, status FROM issues WHERE project_id=? AND fingerprint=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_text(s, 2, e->fingerprint, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    issue_id = sqlite3_column_int64(s, 0);
    const char *st = (const char *)sqlite3_column_text(s, 1);
    regression = st && strcmp(st, "resolved") == 0;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return WRITER_EIO;
  int created = 0;
  if (!issue_id) {
    s = db_stmt(d, "INSERT INTO issues(project_id, fingerprint, title, culprit, level, count,"
                   " first_seen, last_seen, first_release, last_release)"
                   " VALUES(?,?,?,?,?,1,?,?,?,?)");
    if (!s) return WRITER_EIO;
    sqlite3_bind_int64(s, 1, e->project_id);
    sqlite3_bind_text(s, 2, e->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->culprit, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, e->level, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 6, e->timestamp);
    sqlite3_bind_double(s, 7, e->timestamp);
    bind_text_or_null(s, 8, e->release);
    bind_text_or_null(s, 9, e->release);
    if (!STEP_DONE(s)) return WRITER_EIO;
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
    if (!s) return WRITER_EIO;
    sqlite3_bind_double(s, 1, e->timestamp);
    sqlite3_bind_text(s, 2, e->level, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, e->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, e->culprit, -1, SQLITE_STATIC);
    bind_text_or_null(s, 5, e->release);
    sqlite3_bind_int64(s, 6, issue_id);
    if (!STEP_DONE(s)) return WRITER_EIO;
  }

  s = db_stmt(d, "INSERT INTO events(project_id, issue_id, event_id, timestamp, received, level,"
                 " release, environment, payload) VALUES(?,?,?,?,?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->project_id);
  sqlite3_bind_int64(s, 2, issue_id);
  sqlite3_bind_blob(s, 3, e->event_id, 16, SQLITE_STATIC);
  sqlite3_bind_double(s, 4, e->timestamp);
  sqlite3_bind_double(s, 5, e->received);
  sqlite3_bind_text(s, 6, e->level, -1, SQLITE_STATIC);
  bind_text_or_null(s, 7, e->release);
  bind_text_or_null(s, 8, e->environment);
  sqlite3_bind_blob(s, 9, e->payload, (int)e->len, SQLITE_STATIC);
  if (!STEP_DONE(s)) return WRITER_EIO;

  s = db_stmt(d, "INSERT INTO issue_hours(issue_id, hour, count) VALUES(?,?,1)"
                 " ON CONFLICT(issue_id, hour) DO UPDATE SET count=count+1");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, issue_id);
  sqlite3_bind_int64(s, 2, (int64_t)floor(e->timestamp / 3600.0));
  if (!STEP_DONE(s)) return WRITER_EIO;

  if (created) return issue_alert(d, e, issue_id, 1, "new_issue");
  if (regression) {
    s = db_stmt(d, "SELECT count FROM issues WHERE id=?");
    int64_t count = 0;
    if (s) {
      sqlite3_bind_int64(s, 1, issue_id);
      if (sqlite3_step(s) == SQLITE_ROW) count = sqlite3_column_int64(s, 0);
      sqlite3_reset(s);
    }
    return issue_alert(d, e, issue_id, count, "regression");
  }
  return WRITER_OK;
}

int store_transaction(db *d, int64_t project_id, const uint8_t event_id[16], const char *name,
                      double timestamp, double received, const char *payload, size_t len) {
  sqlite3_stmt *s = db_stmt(d, "INSERT OR IGNORE INTO transactions(project_id, event_id, name,"
                               " timestamp, received, payload) VALUES(?,?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  bind_text_or_null(s, 3, name);
  sqlite3_bind_double(s, 4, timestamp);
  sqlite3_bind_double(s, 5, received);
  sqlite3_bind_blob(s, 6, payload, (int)len, SQLITE_STATIC);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_session(db *d, int64_t project_id, const char *sid, const char *release,
                  const char *environment, const char *status, int64_t errors, double started,
                  double updated) {
  /* Later updates of a session replace its status, but a final state never goes back to ok. */
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO sessions(project_id, sid, release, environment, status, errors, started,"
         " updated) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(project_id, sid) DO UPDATE SET"
         " status=CASE WHEN excluded.updated >= sessions.updated AND sessions.status IN"
         " ('ok','exited','errored') THEN excluded.status ELSE sessions.status END,"
         " errors=max(sessions.errors, excluded.errors),"
         " updated=max(sessions.updated, excluded.updated)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, sid, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, release, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 4, environment, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 6, errors);
  sqlite3_bind_double(s, 7, started);
  sqlite3_bind_double(s, 8, updated);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_session_aggregate(db *d, int64_t project_id, const char *release, const char *environment,
                            int64_t healthy, int64_t errored, int64_t crashed, int64_t abnormal) {
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO session_aggregates(project_id, release, environment, healthy, errored,"
         " crashed, abnormal) VALUES(?,?,?,?,?,?,?) ON CONFLICT(project_id, release, environment)"
         " DO UPDATE SET healthy=healthy+excluded.healthy, errored=errored+excluded.errored,"
         " crashed=crashed+excluded.crashed, abnormal=abnormal+excluded.abnormal");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, release, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, environment, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, healthy);
  sqlite3_bind_int64(s, 5, errored);
  sqlite3_bind_int64(s, 6, crashed);
  sqlite3_bind_int64(s, 7, abnormal);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_dropped(db *d, int64_t project_id, const char *reason, const char *category,
                  int64_t quantity) {
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO dropped_events(project_id, reason, category, quantity)"
                               " VALUES(?,?,?,?) ON CONFLICT(project_id, reason, category)"
                               " DO UPDATE SET quantity=quantity+excluded.quantity");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, reason, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, category, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, quantity);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_attachment(db *d, int64_t project_id, const uint8_t *event_id, const char *filename,
                     const char *content_type, const char *data, size_t len, double received) {
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO attachments(project_id, event_id, filename,"
                               " content_type, size, data, received) VALUES(?,?,?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  if (event_id) sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, filename, -1, SQLITE_STATIC);
  bind_text_or_null(s, 4, content_type);
  sqlite3_bind_int64(s, 5, (int64_t)len);
  sqlite3_bind_blob(s, 6, data, (int)len, SQLITE_STATIC);
  sqlite3_bind_double(s, 7, received);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_project_create(db *d, const char *name, const char *public_key, double now, int64_t *id) {
  sqlite3_stmt *s =
      db_stmt(d, "INSERT INTO projects(id, name, public_key, created_at) VALUES(?,?,?,?)");
  if (!s) return WRITER_EIO;
  if (*id > 0) sqlite3_bind_int64(s, 1, *id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, public_key, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 4, now);
  int rc = sqlite3_step(s);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return WRITER_EINVAL;
  if (rc != SQLITE_DONE) return WRITER_EIO;
  *id = sqlite3_last_insert_rowid(db_handle(d));
  return WRITER_OK;
}

int store_issue_set_status(db *d, int64_t issue_id, const char *status, double now) {
  sqlite3_stmt *s = db_stmt(d, "UPDATE issues SET status=? WHERE id=? RETURNING project_id");
  if (!s) return WRITER_EIO;
  sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, issue_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return WRITER_ENOTFOUND;
  if (rc != SQLITE_ROW) return WRITER_EIO;
  int64_t project_id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (strcmp(status, "unresolved") == 0) return WRITER_OK;
  /* Resolving silently closes the issue's alerts; only leaks notify on resolution. */
  s = db_stmt(d, "UPDATE alerts SET status='resolved', resolved_at=? WHERE project_id=?"
                 " AND issue_id=? AND status='firing'");
  if (!s) return WRITER_EIO;
  sqlite3_bind_double(s, 1, now);
  sqlite3_bind_int64(s, 2, project_id);
  sqlite3_bind_int64(s, 3, issue_id);
  return STEP_DONE(s) ? WRITER_OK : WRITER_EIO;
}

int store_project_set_rate_limit(db *d, int64_t project_id, int64_t per_minute) {
  sqlite3_stmt *s = db_stmt(d, "UPDATE projects SET rate_limit_per_minute=? WHERE id=?");
  if (!s) return WRITER_EIO;
  if (per_minute >= 0) sqlite3_bind_int64(s, 1, per_minute);
  sqlite3_bind_int64(s, 2, project_id);
  if (!STEP_DONE(s)) return WRITER_EIO;
  return sqlite3_changes(db_handle(d)) ? WRITER_OK : WRITER_ENOTFOUND;
}
