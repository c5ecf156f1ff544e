/* sqlite_outbox: the webhooks table and the durable delivery outbox (deliveries, one row per
 * message and webhook, and delivery_attempts, a log of every attempt; migration 3). Writer
 * functions never commit: they run inside the writer's transaction (a job, or the alert that
 * caused the row), so an outbox row commits together with whatever caused it. Which webhooks
 * get a message, digests and retry decisions are the alerts subsystem's (server/alerts).
 * Status of a row: pending | sending | delivered | failed | digested | cancelled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_int.h"

#define LOG_PER_ROW      20 /* attempts listed per delivery in the API */
#define FAILING_ATTEMPTS 3  /* failed attempts in a row that make a webhook "failing" */

static char *col_dup(sqlite3_stmt *s, int col) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  return strdup(t ? t : "");
}

static void col_copy(sqlite3_stmt *s, int col, char *buf, size_t cap) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  snprintf(buf, cap, "%s", t ? t : "");
}

/* --- webhooks ---------------------------------------------------------------------------- */

int sq_webhook_create(store_tx *tx, store_webhook *w, size_t max_per_project) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(d, "SELECT count(*) FROM webhooks WHERE project_id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, w->project_id);
  int rc = sqlite3_step(s);
  int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW) return STORE_EIO;
  if (n >= (int64_t)max_per_project) return STORE_ECONFLICT;
  s = db_stmt(d, "INSERT INTO webhooks(project_id, url, kind, events, secret, created_at)"
                 " VALUES(?,?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, w->project_id);
  sqlite3_bind_text(s, 2, w->url, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, w->kind, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 4, (int)w->events);
  if (w->secret[0]) sqlite3_bind_text(s, 5, w->secret, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 6, w->created_at);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  w->id = sqlite3_last_insert_rowid(db_handle(d));
  return STORE_OK;
}

int sq_webhook_delete(store_tx *tx, int64_t id) {
  static const char *const sql[] = {
      "DELETE FROM delivery_attempts WHERE webhook_id=?",
      "DELETE FROM deliveries WHERE webhook_id=?",
      "DELETE FROM webhooks WHERE id=?",
  };
  db *d = sq_db(tx);
  for (size_t i = 0; i < 3; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, id);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  }
  return sqlite3_changes(db_handle(d)) > 0 ? STORE_OK : STORE_ENOTFOUND;
}

int sq_webhook_get(store_tx *tx, int64_t id, int64_t *project_id, int *disabled) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT project_id, disabled_at IS NOT NULL FROM webhooks"
                                       " WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    *project_id = sqlite3_column_int64(s, 0);
    *disabled = sqlite3_column_int(s, 1);
  }
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_webhooks_subscribed(store_tx *tx, int64_t project_id, unsigned mask, int64_t *ids,
                           size_t max, size_t *n) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT id FROM webhooks WHERE project_id=?1 AND"
                                       " disabled_at IS NULL AND (events & ?2) != 0"
                                       " ORDER BY id LIMIT ?3");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_int(s, 2, (int)mask);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
  int rc;
  *n = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) ids[(*n)++] = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

/* --- deliveries ---------------------------------------------------------------------------- */

int sq_delivery_insert(store_tx *tx, const store_delivery *dl, int64_t *id) {
  db *d = sq_db(tx);
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO deliveries(webhook_id, project_id, alert_id, event, msg_id, data, status,"
         " created_at, next_attempt_at) VALUES(?,?,?,?,?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, dl->webhook_id);
  sqlite3_bind_int64(s, 2, dl->project_id);
  if (dl->alert_id > 0) sqlite3_bind_int64(s, 3, dl->alert_id);
  sqlite3_bind_text(s, 4, dl->event, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, dl->msg_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, dl->data, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 7, dl->status, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 8, dl->created_at);
  sqlite3_bind_double(s, 9, dl->due);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  if (id) *id = sqlite3_last_insert_rowid(db_handle(d));
  return STORE_OK;
}

int sq_delivery_recent(store_tx *tx, int64_t webhook_id, const char *const *events, size_t n_events,
                       double since, int *found) {
  *found = 0;
  for (size_t i = 0; i < n_events && !*found; i++) {
    sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT 1 FROM deliveries WHERE webhook_id=? AND"
                                         " created_at > ? AND event=? LIMIT 1");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, webhook_id);
    sqlite3_bind_double(s, 2, since);
    sqlite3_bind_text(s, 3, events[i], -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
      *found = 1;
    else if (rc != SQLITE_DONE)
      return STORE_EIO;
  }
  return STORE_OK;
}

int sq_deliveries_reset_sending(store_tx *tx) {
  return db_exec(sq_db(tx), "UPDATE deliveries SET status='pending' WHERE status='sending'") ==
                 SQLITE_OK
             ? STORE_OK
             : STORE_EIO;
}

int sq_deliveries_due(store_tx *tx, double now, const int64_t *exclude, size_t n_exclude,
                      size_t max, store_due *out, size_t *n) {
  *n = 0;
  if (max == 0) return STORE_OK;
  /* The excluded webhooks as a JSON array for json_each: "[1,2,3]". */
  char *ex = malloc(n_exclude * 21 + 3);
  if (!ex) return STORE_ENOMEM;
  size_t len = 0;
  ex[len++] = '[';
  for (size_t i = 0; i < n_exclude; i++)
    len += (size_t)snprintf(ex + len, 22, "%s%lld", i ? "," : "", (long long)exclude[i]);
  ex[len++] = ']';
  ex[len] = '\0';
  /* The earliest due row of each webhook (SQLite gives the bare columns of the min() row),
   * earliest webhooks first; the partial index makes this one pass over due rows. */
  sqlite3_stmt *s =
      db_stmt(sq_db(tx),
              "SELECT id, webhook_id, event='new_issue' AND attempts=0, min(next_attempt_at) AS due"
              " FROM deliveries WHERE status='pending' AND next_attempt_at <= ?1"
              " AND webhook_id NOT IN (SELECT value FROM json_each(?2))"
              " AND webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL)"
              " GROUP BY webhook_id ORDER BY due, id LIMIT ?3");
  if (!s) {
    free(ex);
    return STORE_EIO;
  }
  sqlite3_bind_double(s, 1, now);
  sqlite3_bind_text(s, 2, ex, (int)len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
  int rc;
  while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    out[*n] = (store_due){sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                          sqlite3_column_int(s, 2)};
    ++*n;
  }
  sqlite3_reset(s);
  free(ex);
  if (*n < max && rc != SQLITE_DONE) {
    *n = 0;
    return STORE_EIO;
  }
  return STORE_OK;
}

int sq_deliveries_pending(store_tx *tx, int64_t webhook_id, const char *event, size_t max,
                          int (*fn)(void *ctx, int64_t id, const char *data), void *ctx) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT id, data FROM deliveries WHERE webhook_id=?1"
                                       " AND status='pending' AND event=?2 AND attempts=0"
                                       " ORDER BY id LIMIT ?3");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  sqlite3_bind_text(s, 2, event, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW)
    stop = fn(ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
  sqlite3_reset(s);
  if (stop) return stop < 0 ? stop : STORE_OK;
  return rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_deliveries_set_status(store_tx *tx, const int64_t *ids, size_t n, const char *status,
                             int64_t digest_id) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "UPDATE deliveries SET status=?1,"
                                       " digest_id=coalesce(?2, digest_id) WHERE id=?3");
  if (!s) return STORE_EIO;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
    if (digest_id > 0)
      sqlite3_bind_int64(s, 2, digest_id);
    else
      sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, ids[i]);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  }
  return STORE_OK;
}

int sq_delivery_load(store_tx *tx, int64_t id, store_item *it) {
  sqlite3_stmt *s = db_stmt(
      sq_db(tx), "SELECT d.id, d.webhook_id, d.project_id, d.event, d.msg_id, d.data, d.attempts,"
                 " d.created_at, w.url, w.kind, coalesce(w.secret, '')"
                 " FROM deliveries d JOIN webhooks w ON w.id=d.webhook_id WHERE d.id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, id);
  memset(it, 0, sizeof *it);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    it->delivery_id = sqlite3_column_int64(s, 0);
    it->webhook_id = sqlite3_column_int64(s, 1);
    it->project_id = sqlite3_column_int64(s, 2);
    col_copy(s, 3, it->event, sizeof it->event);
    col_copy(s, 4, it->msg_id, sizeof it->msg_id);
    it->data = col_dup(s, 5);
    it->attempts = sqlite3_column_int(s, 6);
    it->created_at = sqlite3_column_double(s, 7);
    it->url = col_dup(s, 8);
    col_copy(s, 9, it->kind, sizeof it->kind);
    it->secret = col_dup(s, 10);
  }
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  if (rc != SQLITE_ROW) return STORE_EIO;
  if (!it->data || !it->url || !it->secret) {
    store_item_clear(it);
    return STORE_ENOMEM;
  }
  return STORE_OK;
}
/* --- attempts ---------------------------------------------------------------------------- */

int sq_delivery_record(store_tx *tx, const store_attempt *r) {
  db *d = sq_db(tx);
  const char *status = r->delivered                         ? "delivered"
                       : r->gone || r->next_attempt_at <= 0 ? "failed"
                                                            : "pending";
  sqlite3_stmt *s = db_stmt(d, "UPDATE deliveries SET status=?2, attempts=attempts+1,"
                               " last_status_code=?3, last_error=?4, next_attempt_at=?5,"
                               " delivered_at=?6 WHERE id=?1 AND status='sending'");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, r->delivery_id);
  sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
  if (r->status_code > 0) sqlite3_bind_int64(s, 3, r->status_code);
  if (r->error[0]) sqlite3_bind_text(s, 4, r->error, -1, SQLITE_STATIC);
  if (!r->delivered && r->next_attempt_at > 0) sqlite3_bind_double(s, 5, r->next_attempt_at);
  if (r->delivered) sqlite3_bind_double(s, 6, r->at + r->duration_ms / 1000.0);
  if (sqlite3_step(s) != SQLITE_DONE) return STORE_EIO;
  if (sqlite3_changes(db_handle(d)) == 0) return STORE_OK; /* recorded already, or deleted */
  s = db_stmt(d, "INSERT INTO delivery_attempts(delivery_id, webhook_id, attempt, at,"
                 " duration_ms, status_code, outcome, error, next_attempt_at)"
                 " SELECT id, webhook_id, attempts, ?2, ?3, ?4, ?5, ?6, ?7 FROM deliveries"
                 " WHERE id=?1");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, r->delivery_id);
  sqlite3_bind_double(s, 2, r->at);
  sqlite3_bind_int(s, 3, r->duration_ms);
  if (r->status_code > 0) sqlite3_bind_int64(s, 4, r->status_code);
  sqlite3_bind_text(s, 5, r->outcome, -1, SQLITE_STATIC);
  if (r->error[0]) sqlite3_bind_text(s, 6, r->error, -1, SQLITE_STATIC);
  if (!r->delivered && r->next_attempt_at > 0) sqlite3_bind_double(s, 7, r->next_attempt_at);
  if (sqlite3_step(s) != SQLITE_DONE) return STORE_EIO;
  if (!r->gone) return STORE_OK;
  s = db_stmt(d, "UPDATE webhooks SET disabled_at=?2, disabled_reason=?3 WHERE id=?1"
                 " AND disabled_at IS NULL");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, r->webhook_id);
  sqlite3_bind_double(s, 2, r->at);
  sqlite3_bind_text(s, 3, "the receiver answered 410 Gone", -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE) return STORE_EIO;
  s = db_stmt(d, "UPDATE deliveries SET status='cancelled', next_attempt_at=NULL"
                 " WHERE webhook_id=? AND status='pending'");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, r->webhook_id);
  return sqlite3_step(s) == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_deliveries_retention(db *d, double cutoff, int64_t max_rows, int64_t *deleted) {
  static const char *const sql[] = {
      "DELETE FROM delivery_attempts WHERE id IN"
      " (SELECT id FROM delivery_attempts WHERE at < ?1 LIMIT ?2)",
      "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE created_at < ?1"
      " AND status NOT IN ('pending', 'sending') LIMIT ?2)",
  };
  *deleted = 0;
  for (size_t i = 0; i < 2; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    if (!s) return STORE_EIO;
    sqlite3_bind_double(s, 1, cutoff);
    sqlite3_bind_int64(s, 2, max_rows);
    if (sqlite3_step(s) != SQLITE_DONE) return STORE_EIO;
    *deleted += sqlite3_changes(db_handle(d));
  }
  return STORE_OK;
}

/* --- reads ------------------------------------------------------------------------------- */

/* How the webhook's latest finished attempts went, into row: last_attempt_at, last_outcome,
 * last_error (the latest attempt's, null when it delivered) and failing: the latest attempt
 * failed and either FAILING_ATTEMPTS attempts in a row failed or its delivery was given up. */
static int webhook_health(db *d, int64_t webhook_id, json_t *row) {
  sqlite3_stmt *s = db_stmt(d, "SELECT outcome, error, at, next_attempt_at IS NULL"
                               " FROM delivery_attempts WHERE webhook_id=?1"
                               " ORDER BY id DESC LIMIT ?2");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  sqlite3_bind_int(s, 2, FAILING_ATTEMPTS);
  int rc, n = 0, failed = 0, ended = 0;
  json_t *at = json_null(), *outcome = json_null(), *error = json_null();
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *o = (const char *)sqlite3_column_text(s, 0);
    int ok = o && !strcmp(o, "delivered");
    if (n++ == 0) {
      json_decref(at);
      json_decref(outcome);
      at = store_json_time(sqlite3_column_double(s, 2));
      outcome = sq_col_text(s, 0);
      if (!ok) {
        json_decref(error);
        error = sq_col_text(s, 1);
        ended = sqlite3_column_int(s, 3);
      }
    }
    if (ok) break;
    failed++;
  }
  sqlite3_reset(s);
  int failing = failed > 0 && failed == n && (failed >= FAILING_ATTEMPTS || ended);
  int bad = json_object_set_new(row, "last_attempt_at", at); /* each steals its value */
  bad |= json_object_set_new(row, "last_outcome", outcome);
  bad |= json_object_set_new(row, "last_error", error);
  bad |= json_object_set_new(row, "failing", json_boolean(failing));
  if (bad) return STORE_ENOMEM;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

int sq_read_webhooks(store_rd *rd, int64_t project_id, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s = db_stmt(
      d, "SELECT w.id, w.url, w.kind, w.events, w.created_at, w.disabled_at, w.disabled_reason,"
         " (SELECT count(*) FROM deliveries WHERE webhook_id=w.id"
         "  AND status IN ('pending', 'sending'))"
         " FROM webhooks w WHERE w.project_id=? ORDER BY w.id");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  json_t *list = json_array();
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    json_t *row =
        json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:I}", "id",
                  (json_int_t)sqlite3_column_int64(s, 0), "project_id", (json_int_t)project_id,
                  "url", sq_col_text(s, 1), "kind", sq_col_text(s, 2), "events",
                  store_json_events((unsigned)sqlite3_column_int(s, 3)), "created_at",
                  store_json_time(sqlite3_column_double(s, 4)), "disabled_at",
                  store_json_time(sqlite3_column_double(s, 5)), "disabled",
                  sqlite3_column_type(s, 5) != SQLITE_NULL, "disabled_reason", sq_col_text(s, 6),
                  "pending", (json_int_t)sqlite3_column_int64(s, 7));
    int hrc = row ? webhook_health(d, sqlite3_column_int64(s, 0), row) : STORE_ENOMEM;
    if (hrc != STORE_OK)
      json_decref(row);
    else if (json_array_append_new(list, row))
      hrc = STORE_ENOMEM;
    if (hrc != STORE_OK) {
      sqlite3_reset(s);
      json_decref(list);
      return hrc;
    }
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    json_decref(list);
    return STORE_EIO;
  }
  *out = json_pack("{s:o}", "webhooks", list);
  return *out ? STORE_OK : STORE_ENOMEM;
}

static json_t *col_int_or_null(sqlite3_stmt *s, int col) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? json_null()
                                                    : json_integer(sqlite3_column_int64(s, col));
}

static json_t *attempt_log(db *d, int64_t delivery_id) {
  sqlite3_stmt *s = db_stmt(d, "SELECT attempt, at, duration_ms, status_code, outcome, error,"
                               " next_attempt_at FROM delivery_attempts WHERE delivery_id=?"
                               " ORDER BY id DESC LIMIT 20");
  json_t *log = json_array();
  if (!s) return log;
  sqlite3_bind_int64(s, 1, delivery_id);
  for (int i = 0; i < LOG_PER_ROW && sqlite3_step(s) == SQLITE_ROW; i++) {
    json_array_append_new(log,
                          json_pack("{s:I, s:o, s:I, s:o, s:o, s:o, s:o}", "attempt",
                                    (json_int_t)sqlite3_column_int64(s, 0), "at",
                                    store_json_time(sqlite3_column_double(s, 1)), "duration_ms",
                                    (json_int_t)sqlite3_column_int64(s, 2), "response_code",
                                    col_int_or_null(s, 3), "outcome", sq_col_text(s, 4), "error",
                                    sq_col_text(s, 5), "next_attempt_at",
                                    store_json_time(sqlite3_column_double(s, 6))));
  }
  sqlite3_reset(s);
  return log;
}

static json_t *delivery_row(sqlite3_stmt *s, void *ctx) {
  int64_t id = sqlite3_column_int64(s, 0);
  return json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)id,
      "event", sq_col_text(s, 1), "message_id", sq_col_text(s, 2), "status", sq_col_text(s, 3),
      "created_at", store_json_time(sqlite3_column_double(s, 4)), "attempts",
      (json_int_t)sqlite3_column_int64(s, 5), "next_attempt_at",
      store_json_time(sqlite3_column_double(s, 6)), "delivered_at",
      store_json_time(sqlite3_column_double(s, 7)), "response_code", col_int_or_null(s, 8), "error",
      sq_col_text(s, 9), "digest_id", col_int_or_null(s, 10), "alert_id", col_int_or_null(s, 11),
      "log", attempt_log(ctx, id));
}

int sq_read_deliveries(store_rd *rd, int64_t webhook_id, const store_page *p, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s = db_stmt(d, "SELECT 1 FROM webhooks WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? STORE_ENOTFOUND : STORE_EIO;
  int64_t before = p->has_cursor ? p->id : 0, limit = p->limit;
  s = db_stmt(d, "SELECT id, event, msg_id, status, created_at, attempts, next_attempt_at,"
                 " delivered_at, last_status_code, last_error, digest_id, alert_id"
                 " FROM deliveries WHERE webhook_id=?1 AND (?2 = 0 OR id < ?2)"
                 " ORDER BY id DESC LIMIT ?3");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  sqlite3_bind_int64(s, 2, before);
  sqlite3_bind_int64(s, 3, limit + 1);
  json_t *list = json_array();
  double key;
  int64_t last;
  int more;
  rc = sq_page_rows(s, limit, 0, -1, delivery_row, d, list, &more, &key, &last);
  if (rc != STORE_OK) {
    json_decref(list);
    return rc;
  }
  *out = store_json_page("deliveries", list, more, 0, 0, last);
  return *out ? STORE_OK : STORE_ENOMEM;
}
