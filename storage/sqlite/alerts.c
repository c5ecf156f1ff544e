/* alerts: insert/resolve rows and call the hook. Writer thread only. */
#include "sqlite/alerts.h"

#include <stdio.h>

#include "writer.h"

static alert_hook hook_fn;
static void *hook_arg;

void alerts_set_hook(alert_hook hook, void *arg) {
  hook_fn = hook;
  hook_arg = arg;
}

int alerts_fire(db *d, int64_t project_id, const char *kind, const char *worker_id,
                int64_t issue_id, double fired_at, const char *summary, const char *details,
                int64_t *id) {
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO alerts(project_id, kind, status, worker_id, issue_id,"
                               " fired_at, summary, details) VALUES(?,?,'firing',?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
  if (worker_id) sqlite3_bind_text(s, 3, worker_id, -1, SQLITE_STATIC);
  if (issue_id > 0) sqlite3_bind_int64(s, 4, issue_id);
  sqlite3_bind_double(s, 5, fired_at);
  sqlite3_bind_text(s, 6, summary, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 7, details ? details : "{}", -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  int64_t aid = sqlite3_last_insert_rowid(db_handle(d));
  if (id) *id = aid;
  if (hook_fn) {
    alert_record r = {aid, project_id, kind, worker_id, issue_id, fired_at, summary, details};
    return hook_fn(d, &r, hook_arg);
  }
  return 0;
}

int alerts_resolve(db *d, int64_t project_id, const char *kind, const char *worker_id,
                   int64_t issue_id, double at, const char *summary, const char *details) {
  sqlite3_stmt *s = db_stmt(d, "UPDATE alerts SET status='resolved', resolved_at=?"
                               " WHERE project_id=? AND kind=? AND status='firing'"
                               " AND (worker_id IS ? AND (issue_id IS ? OR ? IS NULL))"
                               " RETURNING id");
  if (!s) return WRITER_EIO;
  sqlite3_bind_double(s, 1, at);
  sqlite3_bind_int64(s, 2, project_id);
  sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
  if (worker_id) sqlite3_bind_text(s, 4, worker_id, -1, SQLITE_STATIC);
  if (issue_id > 0) {
    sqlite3_bind_int64(s, 5, issue_id);
    sqlite3_bind_int64(s, 6, issue_id);
  }
  int64_t ids[16];
  int n = 0, rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n < 16) ids[n++] = sqlite3_column_int64(s, 0);
  }
  if (rc != SQLITE_DONE) return WRITER_EIO;
  sqlite3_reset(s);
  if (hook_fn && n > 0) {
    char rkind[64];
    snprintf(rkind, sizeof rkind, "%s_resolved", kind);
    alert_record r = {ids[0], project_id, rkind, worker_id, issue_id, at, summary, details};
    return hook_fn(d, &r, hook_arg);
  }
  return 0;
}
