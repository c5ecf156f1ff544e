/* sqlite_alerts: the alerts table. Writer connection only, inside the caller's transaction, so
 * an alert commits together with the data that raised it and with the deliveries the alerts
 * subsystem adds for it. Status: firing -> resolved for state alerts, notified for event alerts
 * (which alerts are which is the alerts subsystem's decision, server/alerts). */
#include "sqlite/sqlite_int.h"

int sq_alert_insert(store_tx *tx, const store_alert *a, int64_t *id) {
  db *d = sq_db(tx);
  sqlite3_stmt *s =
      db_stmt(d, "INSERT INTO alerts(project_id, kind, status, worker_id, issue_id,"
                 " fired_at, summary, details) VALUES(?1,?2,coalesce(?8,'firing'),?3,?4,?5,?6,?7)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, a->project_id);
  sqlite3_bind_text(s, 2, a->kind, -1, SQLITE_STATIC);
  sq_bind_text(s, 3, a->worker_id);
  if (a->issue_id > 0) sqlite3_bind_int64(s, 4, a->issue_id);
  sqlite3_bind_double(s, 5, a->fired_at);
  sqlite3_bind_text(s, 6, a->summary, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 7, a->details ? a->details : "{}", -1, SQLITE_STATIC);
  sq_bind_text(s, 8, a->status);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  *id = sqlite3_last_insert_rowid(db_handle(d));
  return STORE_OK;
}

int sq_alerts_resolve(store_tx *tx, int64_t project_id, const char *kind, const char *worker_id,
                      int64_t issue_id, double at, int64_t *first_id, int *n) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "UPDATE alerts SET status='resolved', resolved_at=?1"
                                       " WHERE project_id=?2 AND (?3 IS NULL OR kind=?3)"
                                       " AND status='firing' AND worker_id IS ?4"
                                       " AND (issue_id IS ?5 OR ?5 IS NULL) RETURNING id");
  if (!s) return STORE_EIO;
  sqlite3_bind_double(s, 1, at);
  sqlite3_bind_int64(s, 2, project_id);
  sq_bind_text(s, 3, kind);
  sq_bind_text(s, 4, worker_id);
  if (issue_id > 0) sqlite3_bind_int64(s, 5, issue_id);
  int rc;
  *n = 0;
  *first_id = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (!*n) *first_id = sqlite3_column_int64(s, 0);
    ++*n;
  }
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}
