/* outbox: SQL for webhooks, deliveries and delivery_attempts (migration 3). Writer functions
 * never commit: they run inside the writer's transaction (an alert hook, or a writer job), so
 * an outbox row commits together with whatever caused it. Message ids come from SQLite's
 * randomblob so this library needs nothing from the server side. */
#include "sqlite/outbox.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite/queries.h"
#include "writer.h"
#include "util/timefmt.h"

#define CLAIM_SCAN   1000 /* due rows looked at per claim */
#define DIGEST_MAX   200  /* new_issue rows merged into one digest at most */
#define ENQUEUE_MAX  64   /* webhooks notified per alert at most */
#define LOG_PER_ROW  20   /* attempts listed per delivery in the API */
#define WEBHOOKS_MAX 32   /* per project */

static const struct {
  const char *name;
  unsigned bit;
} event_names[] = {
    {"memory_leak", OUTBOX_EV_MEMORY_LEAK},
    {"memory_leak_resolved", OUTBOX_EV_MEMORY_LEAK_RESOLVED},
    {"new_issue", OUTBOX_EV_NEW_ISSUE},
    {"regression", OUTBOX_EV_REGRESSION},
};
#define N_EVENTS (sizeof event_names / sizeof event_names[0])

unsigned outbox_event_bit(const char *name) {
  for (size_t i = 0; name && i < N_EVENTS; i++) {
    if (!strcmp(name, event_names[i].name)) return event_names[i].bit;
  }
  return 0;
}

static char *col_dup(sqlite3_stmt *s, int col) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  return strdup(t ? t : "");
}

static void col_copy(sqlite3_stmt *s, int col, char *buf, size_t cap) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  snprintf(buf, cap, "%s", t ? t : "");
}

/* --- webhooks ---------------------------------------------------------------------------- */

int outbox_webhook_create(db *d, outbox_webhook *w) {
  sqlite3_stmt *s = db_stmt(d, "SELECT count(*) FROM webhooks WHERE project_id=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, w->project_id);
  if (sqlite3_step(s) != SQLITE_ROW) return WRITER_EIO;
  int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (n >= WEBHOOKS_MAX) return WRITER_EINVAL;
  s = db_stmt(d, "INSERT INTO webhooks(project_id, url, kind, events, secret, created_at)"
                 " VALUES(?,?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, w->project_id);
  sqlite3_bind_text(s, 2, w->url, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 3, w->kind, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 4, (int)w->events);
  if (w->secret[0]) sqlite3_bind_text(s, 5, w->secret, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 6, w->created_at);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  w->id = sqlite3_last_insert_rowid(db_handle(d));
  return WRITER_OK;
}

int outbox_webhook_delete(db *d, int64_t id) {
  static const char *const sql[] = {
      "DELETE FROM delivery_attempts WHERE webhook_id=?",
      "DELETE FROM deliveries WHERE webhook_id=?",
      "DELETE FROM webhooks WHERE id=?",
  };
  for (size_t i = 0; i < 3; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    if (!s) return WRITER_EIO;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  }
  return sqlite3_changes(db_handle(d)) > 0 ? WRITER_OK : WRITER_ENOTFOUND;
}

/* Inserts one delivery row; copies its message id into msg_id when not NULL. */
static int insert_delivery(db *d, int64_t webhook_id, int64_t project_id, int64_t alert_id,
                           const char *event, const char *data, const char *status, double now,
                           double due, int64_t *id, char *msg_id) {
  sqlite3_stmt *s = db_stmt(
      d, "INSERT INTO deliveries(webhook_id, project_id, alert_id, event, msg_id, data, status,"
         " created_at, next_attempt_at) VALUES(?,?,?,?, 'msg_' || lower(hex(randomblob(16))),"
         " ?,?,?,?) RETURNING id, msg_id");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  sqlite3_bind_int64(s, 2, project_id);
  if (alert_id > 0) sqlite3_bind_int64(s, 3, alert_id);
  sqlite3_bind_text(s, 4, event, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 5, data, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 6, status, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 7, now);
  sqlite3_bind_double(s, 8, due);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_reset(s);
    return WRITER_EIO;
  }
  if (id) *id = sqlite3_column_int64(s, 0);
  if (msg_id) col_copy(s, 1, msg_id, OUTBOX_MSGID_MAX);
  int rc = sqlite3_step(s) == SQLITE_DONE ? WRITER_OK : WRITER_EIO;
  sqlite3_reset(s);
  return rc;
}

int outbox_enqueue_test(db *d, int64_t webhook_id, double now, int64_t *delivery_id,
                        char msg_id[OUTBOX_MSGID_MAX]) {
  sqlite3_stmt *s = db_stmt(d, "SELECT project_id, disabled_at IS NOT NULL FROM webhooks"
                               " WHERE id=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? WRITER_ENOTFOUND : WRITER_EIO;
  }
  int64_t project_id = sqlite3_column_int64(s, 0);
  int disabled = sqlite3_column_int(s, 1);
  sqlite3_reset(s);
  if (disabled) return WRITER_EINVAL;
  json_t *data = json_pack("{s:I, s:I, s:s, s:f}", "project_id", (json_int_t)project_id,
                           "webhook_id", (json_int_t)webhook_id, "message",
                           "This is a test message from sluice.", "at", now);
  char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
  json_decref(data);
  if (!text) return WRITER_EIO;
  rc = insert_delivery(d, webhook_id, project_id, 0, "test", text, "pending", now, now, delivery_id,
                       msg_id);
  free(text);
  return rc;
}

/* The alert as stored in a delivery row: what the payload builders need, nothing else. */
static char *alert_data(db *d, const alert_record *a) {
  json_error_t jerr;
  json_t *details = a->details ? json_loads(a->details, 0, &jerr) : NULL;
  if (!json_is_object(details)) {
    json_decref(details);
    details = json_object();
  }
  char name[256] = "";
  sqlite3_stmt *s = db_stmt(d, "SELECT name FROM projects WHERE id=?");
  if (s) {
    sqlite3_bind_int64(s, 1, a->project_id);
    if (sqlite3_step(s) == SQLITE_ROW) col_copy(s, 0, name, sizeof name);
    sqlite3_reset(s);
  }
  json_t *doc =
      json_pack("{s:I, s:I, s:s, s:s, s:s, s:f, s:o}", "alert_id", (json_int_t)a->id, "project_id",
                (json_int_t)a->project_id, "project_name", name, "kind", a->kind, "summary",
                a->summary ? a->summary : "", "at", a->at, "details", details);
  if (!doc) return NULL;
  if (a->worker_id) json_object_set_new(doc, "worker_id", json_string(a->worker_id));
  if (a->issue_id > 0) json_object_set_new(doc, "issue_id", json_integer(a->issue_id));
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return text;
}

int outbox_enqueue_alert(db *d, const alert_record *a, double digest_window) {
  unsigned bit = outbox_event_bit(a->kind);
  if (!bit) return 0;
  sqlite3_stmt *s = db_stmt(d, "SELECT id FROM webhooks WHERE project_id=? AND disabled_at IS NULL"
                               " AND (events & ?) != 0 ORDER BY id LIMIT 64");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, a->project_id);
  sqlite3_bind_int(s, 2, (int)bit);
  int64_t ids[ENQUEUE_MAX];
  int n = 0, rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < ENQUEUE_MAX)
    ids[n++] = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return WRITER_EIO;
  if (n == 0) return 0;
  char *data = alert_data(d, a);
  if (!data) return WRITER_EIO;
  double now = time_wall();
  int written = 0;
  for (int i = 0; i < n; i++) {
    double due = now;
    if (bit == OUTBOX_EV_NEW_ISSUE && digest_window > 0) {
      s = db_stmt(d, "SELECT 1 FROM deliveries WHERE webhook_id=? AND created_at > ?"
                     " AND event IN ('new_issue', 'new_issue_digest') LIMIT 1");
      if (!s) goto fail;
      sqlite3_bind_int64(s, 1, ids[i]);
      sqlite3_bind_double(s, 2, now - digest_window);
      rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc == SQLITE_ROW)
        due = now + digest_window;
      else if (rc != SQLITE_DONE)
        goto fail;
    }
    if (insert_delivery(d, ids[i], a->project_id, a->id, a->kind, data, "pending", now, due, NULL,
                        NULL) != WRITER_OK)
      goto fail;
    written++;
  }
  free(data);
  return written;
fail:
  free(data);
  return WRITER_EIO;
}

int outbox_reset_sending(db *d) {
  return db_exec(d, "UPDATE deliveries SET status='pending' WHERE status='sending'") == SQLITE_OK
             ? WRITER_OK
             : WRITER_EIO;
}

/* --- claiming ---------------------------------------------------------------------------- */

typedef struct candidate {
  int64_t id, webhook_id;
  int digestible; /* a never-tried new_issue row */
} candidate;

/* Merges the never-tried new_issue rows of a webhook into a new digest row (status
 * 'sending'); *id becomes the digest's id. Leaves *id alone when there is only one row. */
static int make_digest(db *d, int64_t webhook_id, double now, int64_t *id) {
  sqlite3_stmt *s = db_stmt(d, "SELECT id, project_id, data FROM deliveries WHERE webhook_id=?"
                               " AND status='pending' AND event='new_issue' AND attempts=0"
                               " ORDER BY id LIMIT 200");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, webhook_id);
  int64_t ids[DIGEST_MAX];
  size_t n = 0;
  int64_t project_id = 0;
  json_t *issues = json_array();
  char project_name[256] = "";
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < DIGEST_MAX) {
    ids[n++] = sqlite3_column_int64(s, 0);
    project_id = sqlite3_column_int64(s, 1);
    json_error_t jerr;
    json_t *item = json_loads((const char *)sqlite3_column_text(s, 2), 0, &jerr);
    if (!item) continue;
    const char *pn = json_string_value(json_object_get(item, "project_name"));
    if (pn) snprintf(project_name, sizeof project_name, "%s", pn);
    json_array_append_new(issues, item);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    json_decref(issues);
    return WRITER_EIO;
  }
  if (n < 2) {
    json_decref(issues);
    return WRITER_OK;
  }
  json_t *doc =
      json_pack("{s:I, s:s, s:I, s:f, s:o}", "project_id", (json_int_t)project_id, "project_name",
                project_name, "count", (json_int_t)n, "at", now, "issues", issues);
  char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!text) return WRITER_EIO;
  int64_t digest_id = 0;
  rc = insert_delivery(d, webhook_id, project_id, 0, "new_issue_digest", text, "sending", now, now,
                       &digest_id, NULL);
  free(text);
  if (rc != WRITER_OK) return rc;
  s = db_stmt(d, "UPDATE deliveries SET status='digested', digest_id=?1 WHERE id=?2");
  if (!s) return WRITER_EIO;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(s, 1, digest_id);
    sqlite3_bind_int64(s, 2, ids[i]);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
    sqlite3_reset(s);
  }
  *id = digest_id;
  return WRITER_OK;
}

static int load_item(db *d, int64_t id, outbox_item *it) {
  sqlite3_stmt *s =
      db_stmt(d, "SELECT d.id, d.webhook_id, d.project_id, d.event, d.msg_id, d.data, d.attempts,"
                 " d.created_at, w.url, w.kind, coalesce(w.secret, '')"
                 " FROM deliveries d JOIN webhooks w ON w.id=d.webhook_id WHERE d.id=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, id);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_reset(s);
    return WRITER_EIO;
  }
  memset(it, 0, sizeof *it);
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
  sqlite3_reset(s);
  if (!it->data || !it->url || !it->secret) {
    outbox_item_clear(it);
    return WRITER_EIO;
  }
  return WRITER_OK;
}

void outbox_item_clear(outbox_item *it) {
  free(it->url);
  free(it->secret);
  free(it->data);
  it->url = it->secret = it->data = NULL;
}

int outbox_claim(db *d, double now, const int64_t *exclude, size_t n_exclude, size_t max,
                 outbox_item *out, size_t *n) {
  *n = 0;
  if (max == 0) return WRITER_OK;
  candidate *c = calloc(max, sizeof *c);
  /* The excluded webhooks as a JSON array for json_each: "[1,2,3]". */
  char *ex = malloc(n_exclude * 21 + 3);
  size_t nc = 0;
  int rc = WRITER_EIO;
  if (!c || !ex) goto out;
  size_t len = 0;
  ex[len++] = '[';
  for (size_t i = 0; i < n_exclude; i++)
    len += (size_t)snprintf(ex + len, 22, "%s%lld", i ? "," : "", (long long)exclude[i]);
  ex[len++] = ']';
  ex[len] = '\0';
  /* The earliest due row of each webhook (SQLite gives the bare columns of the min() row),
   * earliest webhooks first; the partial index makes this one pass over due rows. */
  sqlite3_stmt *s = db_stmt(
      d, "SELECT id, webhook_id, event='new_issue' AND attempts=0, min(next_attempt_at) AS due"
         " FROM deliveries WHERE status='pending' AND next_attempt_at <= ?1"
         " AND webhook_id NOT IN (SELECT value FROM json_each(?2))"
         " AND webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL)"
         " GROUP BY webhook_id ORDER BY due, id LIMIT ?3");
  if (!s) goto out;
  sqlite3_bind_double(s, 1, now);
  sqlite3_bind_text(s, 2, ex, (int)len, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
  int step;
  while (nc < max && (step = sqlite3_step(s)) == SQLITE_ROW) {
    c[nc].id = sqlite3_column_int64(s, 0);
    c[nc].webhook_id = sqlite3_column_int64(s, 1);
    c[nc].digestible = sqlite3_column_int(s, 2);
    nc++;
  }
  sqlite3_reset(s);
  for (size_t i = 0; i < nc; i++) {
    int64_t id = c[i].id;
    if (c[i].digestible && make_digest(d, c[i].webhook_id, now, &id) != WRITER_OK) goto out;
    if (id == c[i].id) {
      s = db_stmt(d, "UPDATE deliveries SET status='sending' WHERE id=?");
      if (!s) goto out;
      sqlite3_bind_int64(s, 1, id);
      if (sqlite3_step(s) != SQLITE_DONE) goto out;
    }
    if (load_item(d, id, &out[*n]) != WRITER_OK) goto out;
    (*n)++;
  }
  rc = WRITER_OK;
out:
  if (rc != WRITER_OK) {
    for (size_t i = 0; i < *n; i++) outbox_item_clear(&out[i]);
    *n = 0;
  }
  free(ex);
  free(c);
  return rc;
}

/* --- attempts ---------------------------------------------------------------------------- */

int outbox_record(db *d, const outbox_result *r) {
  const char *status = r->delivered                         ? "delivered"
                       : r->gone || r->next_attempt_at <= 0 ? "failed"
                                                            : "pending";
  sqlite3_stmt *s = db_stmt(d, "UPDATE deliveries SET status=?2, attempts=attempts+1,"
                               " last_status_code=?3, last_error=?4, next_attempt_at=?5,"
                               " delivered_at=?6 WHERE id=?1 AND status='sending'");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, r->delivery_id);
  sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
  if (r->status_code > 0) sqlite3_bind_int64(s, 3, r->status_code);
  if (r->error[0]) sqlite3_bind_text(s, 4, r->error, -1, SQLITE_STATIC);
  if (!r->delivered && r->next_attempt_at > 0) sqlite3_bind_double(s, 5, r->next_attempt_at);
  if (r->delivered) sqlite3_bind_double(s, 6, r->at + r->duration_ms / 1000.0);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  if (sqlite3_changes(db_handle(d)) == 0) return WRITER_OK; /* recorded already, or deleted */
  s = db_stmt(d, "INSERT INTO delivery_attempts(delivery_id, webhook_id, attempt, at,"
                 " duration_ms, status_code, outcome, error, next_attempt_at)"
                 " SELECT id, webhook_id, attempts, ?2, ?3, ?4, ?5, ?6, ?7 FROM deliveries"
                 " WHERE id=?1");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, r->delivery_id);
  sqlite3_bind_double(s, 2, r->at);
  sqlite3_bind_int(s, 3, r->duration_ms);
  if (r->status_code > 0) sqlite3_bind_int64(s, 4, r->status_code);
  sqlite3_bind_text(s, 5, r->outcome, -1, SQLITE_STATIC);
  if (r->error[0]) sqlite3_bind_text(s, 6, r->error, -1, SQLITE_STATIC);
  if (!r->delivered && r->next_attempt_at > 0) sqlite3_bind_double(s, 7, r->next_attempt_at);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  if (!r->gone) return WRITER_OK;
  s = db_stmt(d, "UPDATE webhooks SET disabled_at=?2, disabled_reason=?3 WHERE id=?1"
                 " AND disabled_at IS NULL");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, r->webhook_id);
  sqlite3_bind_double(s, 2, r->at);
  sqlite3_bind_text(s, 3, "the receiver answered 410 Gone", -1, SQLITE_STATIC);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  s = db_stmt(d, "UPDATE deliveries SET status='cancelled', next_attempt_at=NULL"
                 " WHERE webhook_id=? AND status='pending'");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, r->webhook_id);
  return sqlite3_step(s) == SQLITE_DONE ? WRITER_OK : WRITER_EIO;
}

int outbox_retention(db *d, double cutoff, int batch, int64_t *deleted) {
  static const char *const sql[] = {
      "DELETE FROM delivery_attempts WHERE id IN"
      " (SELECT id FROM delivery_attempts WHERE at < ?1 LIMIT ?2)",
      "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE created_at < ?1"
      " AND status NOT IN ('pending', 'sending') LIMIT ?2)",
  };
  *deleted = 0;
  for (size_t i = 0; i < 2; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    if (!s) return WRITER_EIO;
    sqlite3_bind_double(s, 1, cutoff);
    sqlite3_bind_int(s, 2, batch);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
    *deleted += sqlite3_changes(db_handle(d));
  }
  return WRITER_OK;
}

/* --- reads ------------------------------------------------------------------------------- */

static json_t *events_array(unsigned mask) {
  json_t *a = json_array();
  for (size_t i = 0; i < N_EVENTS; i++) {
    if (mask & event_names[i].bit) json_array_append_new(a, json_string(event_names[i].name));
  }
  return a;
}

json_t *outbox_q_webhooks(db *d, int64_t project_id) {
  sqlite3_stmt *s = db_stmt(
      d, "SELECT w.id, w.url, w.kind, w.events, w.created_at, w.disabled_at, w.disabled_reason,"
         " (SELECT count(*) FROM deliveries WHERE webhook_id=w.id"
         "  AND status IN ('pending', 'sending'))"
         " FROM webhooks w WHERE w.project_id=? ORDER BY w.id");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, project_id);
  json_t *list = json_array();
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    json_t *row = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:I}", "id",
        (json_int_t)sqlite3_column_int64(s, 0), "project_id", (json_int_t)project_id, "url",
        q_col_text(s, 1), "kind", q_col_text(s, 2), "events",
        events_array((unsigned)sqlite3_column_int(s, 3)), "created_at",
        q_time(sqlite3_column_double(s, 4)), "disabled_at", q_time(sqlite3_column_double(s, 5)),
        "disabled", sqlite3_column_type(s, 5) != SQLITE_NULL, "disabled_reason", q_col_text(s, 6),
        "pending", (json_int_t)sqlite3_column_int64(s, 7));
    json_array_append_new(list, row);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    json_decref(list);
    return NULL;
  }
  return json_pack("{s:o}", "webhooks", list);
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
    json_array_append_new(log, json_pack("{s:I, s:o, s:I, s:o, s:o, s:o, s:o}", "attempt",
                                         (json_int_t)sqlite3_column_int64(s, 0), "at",
                                         q_time(sqlite3_column_double(s, 1)), "duration_ms",
                                         (json_int_t)sqlite3_column_int64(s, 2), "response_code",
                                         col_int_or_null(s, 3), "outcome", q_col_text(s, 4),
                                         "error", q_col_text(s, 5), "next_attempt_at",
                                         q_time(sqlite3_column_double(s, 6))));
  }
  sqlite3_reset(s);
  return log;
}

json_t *outbox_q_deliveries(db *d, int64_t webhook_id, const char *cursor, int64_t limit,
                            int *not_found) {
  sqlite3_stmt *s = db_stmt(d, "SELECT 1 FROM webhooks WHERE id=?");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, webhook_id);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE) *not_found = 1;
    return NULL;
  }
  int64_t before = cursor && *cursor ? strtoll(cursor, NULL, 10) : 0;
  s = db_stmt(d, "SELECT id, event, msg_id, status, created_at, attempts, next_attempt_at,"
                 " delivered_at, last_status_code, last_error, digest_id, alert_id"
                 " FROM deliveries WHERE webhook_id=?1 AND (?2 = 0 OR id < ?2)"
                 " ORDER BY id DESC LIMIT ?3");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, webhook_id);
  sqlite3_bind_int64(s, 2, before);
  sqlite3_bind_int64(s, 3, limit + 1);
  json_t *list = json_array();
  int64_t n = 0, last = 0;
  int more = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == limit) {
      more = 1;
      break;
    }
    last = sqlite3_column_int64(s, 0);
    json_t *row = json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)last,
        "event", q_col_text(s, 1), "message_id", q_col_text(s, 2), "status", q_col_text(s, 3),
        "created_at", q_time(sqlite3_column_double(s, 4)), "attempts",
        (json_int_t)sqlite3_column_int64(s, 5), "next_attempt_at",
        q_time(sqlite3_column_double(s, 6)), "delivered_at", q_time(sqlite3_column_double(s, 7)),
        "response_code", col_int_or_null(s, 8), "error", q_col_text(s, 9), "digest_id",
        col_int_or_null(s, 10), "alert_id", col_int_or_null(s, 11), "log", attempt_log(d, last));
    json_array_append_new(list, row);
    n++;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    json_decref(list);
    return NULL;
  }
  char next[32];
  snprintf(next, sizeof next, "%lld", (long long)last);
  return json_pack("{s:o, s:o}", "deliveries", list, "next_cursor",
                   more ? json_string(next) : json_null());
}
