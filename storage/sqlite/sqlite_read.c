/* sqlite_read: the statements behind the management API's reads (projects, stats, issues,
 * events, alerts), building their documents. Reader-pool connections only; never writes; every
 * statement comes from the connection's cache. Lists page by keyset (store_page), so a page
 * costs the same at any depth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_int.h"
#include "util/hex.h"

static json_t *project_row(sqlite3_stmt *s, const char *base) {
  char dsn[600];
  int64_t id = sqlite3_column_int64(s, 0);
  const char *key = (const char *)sqlite3_column_text(s, 2);
  store_format_dsn(base, key, id, dsn, sizeof dsn);
  json_t *o = json_pack("{s:I, s:o, s:s, s:s, s:o}", "id", (json_int_t)id, "name",
                        sq_col_text(s, 1), "public_key", key, "dsn", dsn, "created_at",
                        store_json_time(sqlite3_column_double(s, 3)));
  json_object_set_new(o, "rate_limit_per_minute",
                      sqlite3_column_type(s, 4) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(s, 4)));
  return o;
}

int sq_read_projects(store_rd *rd, const char *base, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s = db_stmt(d, "SELECT id, name, public_key, created_at, rate_limit_per_minute"
                               " FROM projects ORDER BY id");
  if (!s) return STORE_EIO;
  json_t *list = json_array();
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) json_array_append_new(list, project_row(s, base));
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) {
    json_decref(list);
    return STORE_EIO;
  }
  *out = json_pack("{s:o}", "projects", list);
  return *out ? STORE_OK : STORE_ENOMEM;
}

int sq_read_project(store_rd *rd, int64_t id, const char *base, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s = db_stmt(d, "SELECT id, name, public_key, created_at, rate_limit_per_minute"
                               " FROM projects WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *out = project_row(s, base);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  if (rc != SQLITE_ROW) return STORE_EIO;
  return *out ? STORE_OK : STORE_ENOMEM;
}

int sq_read_project_stats(store_rd *rd, int64_t id, json_t **out) {
  db *d = sq_rdb(rd);
  json_t *releases = json_array(), *dropped = json_array();
  sqlite3_stmt *s = db_stmt(
      d,
      "SELECT release, environment, sum(healthy), sum(errored), sum(crashed), sum(abnormal)"
      " FROM (SELECT release, environment,"
      "  sum(status IN ('ok','exited') AND errors=0) AS healthy,"
      "  sum(status NOT IN ('crashed','abnormal') AND (errors>0 OR status='errored')) AS errored,"
      "  sum(status='crashed') AS crashed, sum(status='abnormal') AS abnormal"
      "  FROM sessions WHERE project_id=?1 GROUP BY release, environment"
      "  UNION ALL SELECT release, environment, healthy, errored, crashed, abnormal"
      "  FROM session_aggregates WHERE project_id=?1)"
      " GROUP BY release, environment ORDER BY release, environment");
  if (!s) goto fail;
  sqlite3_bind_int64(s, 1, id);
  while (sqlite3_step(s) == SQLITE_ROW) {
    int64_t h = sqlite3_column_int64(s, 2), e = sqlite3_column_int64(s, 3),
            c = sqlite3_column_int64(s, 4), ab = sqlite3_column_int64(s, 5);
    json_array_append_new(releases, json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "release",
                                              sq_col_text(s, 0), "environment", sq_col_text(s, 1),
                                              "total", (json_int_t)(h + e + c + ab), "healthy",
                                              (json_int_t)h, "errored", (json_int_t)e, "crashed",
                                              (json_int_t)c, "abnormal", (json_int_t)ab));
  }
  sqlite3_reset(s);
  s = db_stmt(d, "SELECT reason, category, quantity FROM dropped_events WHERE project_id=?"
                 " ORDER BY reason, category");
  if (!s) goto fail;
  sqlite3_bind_int64(s, 1, id);
  while (sqlite3_step(s) == SQLITE_ROW) {
    json_array_append_new(dropped, json_pack("{s:o, s:o, s:I}", "reason", sq_col_text(s, 0),
                                             "category", sq_col_text(s, 1), "quantity",
                                             (json_int_t)sqlite3_column_int64(s, 2)));
  }
  sqlite3_reset(s);
  int64_t counts[3] = {0, 0, 0};
  static const char *const count_sql[3] = {
      "SELECT count(*) FROM transactions WHERE project_id=?",
      "SELECT count(*) FROM attachments WHERE project_id=?",
      "SELECT coalesce(sum(count), 0) FROM issues WHERE project_id=?",
  };
  for (int i = 0; i < 3; i++) {
    s = db_stmt(d, count_sql[i]);
    if (!s) goto fail;
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) counts[i] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
  }
  *out = json_pack("{s:o, s:o, s:I, s:I, s:I}", "releases", releases, "dropped", dropped,
                   "transactions", (json_int_t)counts[0], "attachments", (json_int_t)counts[1],
                   "events", (json_int_t)counts[2]);
  return *out ? STORE_OK : STORE_ENOMEM;
fail:
  json_decref(releases);
  json_decref(dropped);
  return STORE_EIO;
}

static json_t *issue_row(sqlite3_stmt *s, void *ctx) {
  (void)ctx;
  return json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:I}", "id",
                   (json_int_t)sqlite3_column_int64(s, 0), "title", sq_col_text(s, 1), "culprit",
                   sq_col_text(s, 2), "level", sq_col_text(s, 3), "status", sq_col_text(s, 4),
                   "count", (json_int_t)sqlite3_column_int64(s, 5), "first_seen",
                   store_json_time(sqlite3_column_double(s, 6)), "last_seen",
                   store_json_time(sqlite3_column_double(s, 7)), "first_release", sq_col_text(s, 8),
                   "last_release", sq_col_text(s, 9), "project_id",
                   (json_int_t)sqlite3_column_int64(s, 10));
}

#define ISSUE_COLS                                                                                 \
  "id, title, culprit, level, status, count, first_seen, last_seen, first_release,"                \
  " last_release, project_id"
#define ISSUE_WHERE                                                                                \
  " FROM issues WHERE project_id=?1 AND (?2 IS NULL OR status=?2) AND (?3 IS NULL OR"              \
  " title LIKE ?3 ESCAPE '\\' OR culprit LIKE ?3 ESCAPE '\\') AND (?7 IS NULL OR level=?7)"

static const struct {
  const char *name;
  const char *sql;
} issue_sorts[] = {
    {"last_seen", "SELECT " ISSUE_COLS ISSUE_WHERE
                  " AND (?4 IS NULL OR last_seen < ?4 OR (last_seen = ?4 AND id < ?5))"
                  " ORDER BY last_seen DESC, id DESC LIMIT ?6"},
    {"first_seen", "SELECT " ISSUE_COLS ISSUE_WHERE
                   " AND (?4 IS NULL OR first_seen < ?4 OR (first_seen = ?4 AND id < ?5))"
                   " ORDER BY first_seen DESC, id DESC LIMIT ?6"},
    {"count",
     "SELECT " ISSUE_COLS ISSUE_WHERE " AND (?4 IS NULL OR count < ?4 OR (count = ?4 AND id < ?5))"
     " ORDER BY count DESC, id DESC LIMIT ?6"},
};

static json_t *hourly(db *d, int64_t issue_id, double now) {
  int64_t last = (int64_t)floor(now / 3600.0);
  json_t *bins = json_array();
  int64_t counts[24] = {0};
  sqlite3_stmt *s = db_stmt(d, "SELECT hour, count FROM issue_hours WHERE issue_id=?"
                               " AND hour > ? AND hour <= ?");
  if (s) {
    sqlite3_bind_int64(s, 1, issue_id);
    sqlite3_bind_int64(s, 2, last - 24);
    sqlite3_bind_int64(s, 3, last);
    while (sqlite3_step(s) == SQLITE_ROW) {
      int64_t h = sqlite3_column_int64(s, 0);
      counts[23 - (last - h)] = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
  }
  for (int i = 0; i < 24; i++) json_array_append_new(bins, json_integer(counts[i]));
  return bins;
}

int sq_read_issues(store_rd *rd, const store_issue_query *f, json_t **out) {
  db *d = sq_rdb(rd);
  int which = 0;
  for (int i = 0; i < 3; i++) {
    if (strcmp(f->sort, issue_sorts[i].name) == 0) which = i;
  }
  sqlite3_stmt *s = db_stmt(d, issue_sorts[which].sql);
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, f->project_id);
  if (f->status) sqlite3_bind_text(s, 2, f->status, -1, SQLITE_STATIC);
  char like[600];
  if (f->text && *f->text) {
    size_t n = 0;
    like[n++] = '%';
    for (const char *p = f->text; *p && n < sizeof like - 3; p++) {
      if (*p == '%' || *p == '_' || *p == '\\') like[n++] = '\\';
      like[n++] = *p;
    }
    like[n++] = '%';
    like[n] = '\0';
    sqlite3_bind_text(s, 3, like, -1, SQLITE_STATIC);
  }
  if (f->page.has_cursor) {
    sqlite3_bind_double(s, 4, f->page.key);
    sqlite3_bind_int64(s, 5, f->page.id);
  }
  sqlite3_bind_int64(s, 6, f->page.limit + 1);
  if (f->level) sqlite3_bind_text(s, 7, f->level, -1, SQLITE_STATIC);
  json_t *list = json_array();
  double key;
  int64_t last;
  int more;
  static const int key_cols[3] = {7, 6, 5};
  int rc =
      sq_page_rows(s, f->page.limit, 0, key_cols[which], issue_row, NULL, list, &more, &key, &last);
  if (rc != STORE_OK) {
    json_decref(list);
    return rc;
  }
  size_t i;
  json_t *row;
  json_array_foreach(list, i, row) {
    json_object_set_new(row, "hourly",
                        hourly(d, json_integer_value(json_object_get(row, "id")), f->now));
  }
  *out = store_json_page("issues", list, more, 1, key, last);
  return *out ? STORE_OK : STORE_ENOMEM;
}

static json_t *event_payload(sqlite3_stmt *s, int col) {
  json_error_t jerr;
  json_t *doc =
      json_loadb(sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col), 0, &jerr);
  return doc ? doc : json_object();
}

/* Fills an event document from a row: id, event_id, issue_id, timestamp, received, level,
 * release, environment, payload (columns 0..8), project_id (9). */
static json_t *event_doc(sqlite3_stmt *s) {
  json_t *doc = event_payload(s, 8);
  char id[33] = "";
  if (sqlite3_column_bytes(s, 1) == 16) hex_encode(sqlite3_column_blob(s, 1), 16, id);
  json_object_set_new(doc, "event_id", json_string(id));
  json_object_set_new(doc, "issue_id", json_integer(sqlite3_column_int64(s, 2)));
  json_object_set_new(doc, "project_id", json_integer(sqlite3_column_int64(s, 9)));
  json_object_set_new(doc, "timestamp", store_json_time(sqlite3_column_double(s, 3)));
  json_object_set_new(doc, "received", store_json_time(sqlite3_column_double(s, 4)));
  json_object_set_new(doc, "level", sq_col_text(s, 5));
  return doc;
}

#define EVENT_COLS                                                                                 \
  "id, event_id, issue_id, timestamp, received, level, release, environment, payload, project_id"

static void neighbours(db *d, json_t *doc, int64_t issue_id, int64_t row_id) {
  static const char *const sql[2] = {
      "SELECT event_id FROM events WHERE issue_id=? AND id<? ORDER BY id DESC LIMIT 1",
      "SELECT event_id FROM events WHERE issue_id=? AND id>? ORDER BY id ASC LIMIT 1",
  };
  static const char *const names[2] = {"previous_event_id", "next_event_id"};
  for (int i = 0; i < 2; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    json_t *v = json_null();
    if (s) {
      sqlite3_bind_int64(s, 1, issue_id);
      sqlite3_bind_int64(s, 2, row_id);
      if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) == 16) {
        char id[33];
        hex_encode(sqlite3_column_blob(s, 0), 16, id);
        json_decref(v);
        v = json_string(id);
      }
      sqlite3_reset(s);
    }
    json_object_set_new(doc, names[i], v);
  }
}

/* Sets doc's "attachments": what was stored with this event (id, filename, content_type, size),
 * oldest first; the data itself is not read. An empty array when there is none or the query
 * fails: attachments are an extra, never a reason to fail the event. */
static void attachments(db *d, json_t *doc, int64_t project_id, const uint8_t event_id[16]) {
  json_t *list = json_array();
  sqlite3_stmt *s = db_stmt(d, "SELECT id, filename, content_type, size FROM attachments"
                               " WHERE project_id=? AND event_id=? ORDER BY id LIMIT 100");
  if (s && list) {
    sqlite3_bind_int64(s, 1, project_id);
    sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
      json_array_append_new(list, json_pack("{s:I, s:o, s:o, s:I}", "id",
                                            (json_int_t)sqlite3_column_int64(s, 0), "filename",
                                            sq_col_text(s, 1), "content_type", sq_col_text(s, 2),
                                            "size", (json_int_t)sqlite3_column_int64(s, 3)));
    }
    sqlite3_reset(s);
  }
  json_object_set_new(doc, "attachments", list ? list : json_array());
}

/* An event row's own id, issue, project and event id, copied before its statement is reset. */
typedef struct event_key {
  int64_t row, issue, project;
  uint8_t event_id[16];
} event_key;

static void event_key_read(sqlite3_stmt *s, event_key *k) {
  k->row = sqlite3_column_int64(s, 0);
  k->issue = sqlite3_column_int64(s, 2);
  k->project = sqlite3_column_int64(s, 9);
  memset(k->event_id, 0, sizeof k->event_id);
  if (sqlite3_column_bytes(s, 1) == 16) memcpy(k->event_id, sqlite3_column_blob(s, 1), 16);
}

int sq_read_issue(store_rd *rd, int64_t id, json_t **out) {
  db *d = sq_rdb(rd);
  /* An issue of a deleted project is gone at once, though housekeeping purges its rows later. */
  sqlite3_stmt *s = db_stmt(d, "SELECT " ISSUE_COLS " FROM issues WHERE id=?"
                               " AND project_id IN (SELECT id FROM projects)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, id);
  json_t *issue = NULL;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) issue = issue_row(s, NULL);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  if (rc != SQLITE_ROW) return STORE_EIO;
  if (!issue) return STORE_ENOMEM;
  s = db_stmt(d, "SELECT " EVENT_COLS " FROM events WHERE issue_id=? ORDER BY id DESC LIMIT 1");
  json_t *latest = json_null();
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
      json_decref(latest);
      latest = event_doc(s);
      event_key k;
      event_key_read(s, &k);
      sqlite3_reset(s);
      neighbours(d, latest, id, k.row);
      attachments(d, latest, k.project, k.event_id);
    }
    sqlite3_reset(s);
  }
  json_object_set_new(issue, "latest_event", latest);
  *out = issue;
  return STORE_OK;
}

static json_t *event_summary(sqlite3_stmt *s, void *ctx) {
  (void)ctx;
  char id[33] = "";
  if (sqlite3_column_bytes(s, 1) == 16) hex_encode(sqlite3_column_blob(s, 1), 16, id);
  return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "event_id", id, "timestamp",
                   store_json_time(sqlite3_column_double(s, 2)), "received",
                   store_json_time(sqlite3_column_double(s, 3)), "level", sq_col_text(s, 4),
                   "release", sq_col_text(s, 5), "environment", sq_col_text(s, 6));
}

int sq_read_issue_events(store_rd *rd, int64_t issue_id, const store_page *p, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s =
      db_stmt(d, "SELECT 1 FROM issues WHERE id=? AND project_id IN (SELECT id FROM projects)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, issue_id);
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? STORE_ENOTFOUND : STORE_EIO;
  int64_t before = p->has_cursor ? p->id : 0, limit = p->limit;
  s = db_stmt(d,
              "SELECT id, event_id, timestamp, received, level, release, environment"
              " FROM events WHERE issue_id=?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, issue_id);
  sqlite3_bind_int64(s, 2, before);
  sqlite3_bind_int64(s, 3, limit + 1);
  json_t *list = json_array();
  double key;
  int more;
  rc = sq_page_rows(s, limit, 0, -1, event_summary, NULL, list, &more, &key, &before);
  if (rc != STORE_OK) {
    json_decref(list);
    return rc;
  }
  *out = store_json_page("events", list, more, 0, 0, before);
  return *out ? STORE_OK : STORE_ENOMEM;
}

int sq_read_event(store_rd *rd, int64_t project_id, const uint8_t event_id[16], json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s =
      db_stmt(d, "SELECT " EVENT_COLS " FROM events WHERE project_id=? AND event_id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  json_t *doc = NULL;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    doc = event_doc(s);
    event_key k;
    event_key_read(s, &k);
    sqlite3_reset(s);
    if (doc) {
      neighbours(d, doc, k.issue, k.row);
      attachments(d, doc, k.project, k.event_id);
    }
  }
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  if (rc != SQLITE_ROW) return STORE_EIO;
  *out = doc;
  return doc ? STORE_OK : STORE_ENOMEM;
}

static json_t *alert_row(sqlite3_stmt *s, void *ctx) {
  (void)ctx;
  json_error_t jerr;
  json_t *details = json_loads((const char *)sqlite3_column_text(s, 8), 0, &jerr);
  json_t *row =
      json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                "kind", sq_col_text(s, 1), "status", sq_col_text(s, 2), "fired_at",
                store_json_time(sqlite3_column_double(s, 5)), "resolved_at",
                store_json_time(sqlite3_column_double(s, 6)), "summary", sq_col_text(s, 7),
                "details", details ? details : json_object());
  if (row && sqlite3_column_type(s, 3) != SQLITE_NULL)
    json_object_set_new(row, "worker_id", sq_col_text(s, 3));
  if (row && sqlite3_column_type(s, 4) != SQLITE_NULL)
    json_object_set_new(row, "issue_id", json_integer(sqlite3_column_int64(s, 4)));
  return row;
}

int sq_read_alerts(store_rd *rd, int64_t project_id, const char *status, const char *kind,
                   const store_page *p, json_t **out) {
  sqlite3_stmt *s =
      db_stmt(sq_rdb(rd), "SELECT id, kind, status, worker_id, issue_id, fired_at,"
                          " resolved_at, summary, details FROM alerts WHERE project_id=?1"
                          " AND (?2 IS NULL OR status=?2) AND (?3 IS NULL OR kind=?3)"
                          " AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sq_bind_text(s, 2, status);
  sq_bind_text(s, 3, kind);
  sqlite3_bind_int64(s, 4, p->has_cursor ? p->id : 0);
  sqlite3_bind_int64(s, 5, p->limit + 1);
  json_t *list = json_array();
  double key;
  int64_t last;
  int more;
  int rc = sq_page_rows(s, p->limit, 0, -1, alert_row, NULL, list, &more, &key, &last);
  if (rc != STORE_OK) {
    json_decref(list);
    return rc;
  }
  *out = store_json_page("alerts", list, more, 0, 0, last);
  return *out ? STORE_OK : STORE_ENOMEM;
}
