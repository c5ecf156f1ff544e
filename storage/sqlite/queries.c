/* queries: read-only SQL for the API. Pool threads only; every statement comes from the
 * connection's cache. Documents are built here and serialised by the caller on the same
 * thread, so the loop only sends bytes. */
#include "sqlite/queries.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

json_t *q_time(double t) {
  if (t <= 0) return json_null();
  char buf[40];
  time_format_rfc3339(t, buf, sizeof buf);
  return json_string(buf);
}

json_t *q_col_text(sqlite3_stmt *s, int col) {
  const char *v = (const char *)sqlite3_column_text(s, col);
  return v ? json_string(v) : json_null();
}

void q_format_dsn(const char *base, const char *key, int64_t id, char *buf, size_t cap) {
  const char *sep = strstr(base, "://");
  if (!sep) {
    snprintf(buf, cap, "http://%s@%s/%lld", key, base, (long long)id);
    return;
  }
  const char *host = sep + 3;
  const char *slash = strchr(host, '/');
  int hl = slash ? (int)(slash - host) : (int)strlen(host);
  snprintf(buf, cap, "%.*s://%s@%.*s/%lld", (int)(sep - base), base, key, hl, host, (long long)id);
}

static json_t *project_row(sqlite3_stmt *s, const char *base) {
  char dsn[600];
  int64_t id = sqlite3_column_int64(s, 0);
  const char *key = (const char *)sqlite3_column_text(s, 2);
  q_format_dsn(base, key, id, dsn, sizeof dsn);
  json_t *o =
      json_pack("{s:I, s:o, s:s, s:s, s:o}", "id", (json_int_t)id, "name", q_col_text(s, 1),
                "public_key", key, "dsn", dsn, "created_at", q_time(sqlite3_column_double(s, 3)));
  json_object_set_new(o, "rate_limit_per_minute",
                      sqlite3_column_type(s, 4) == SQLITE_NULL
                          ? json_null()
                          : json_integer(sqlite3_column_int64(s, 4)));
  return o;
}

json_t *q_projects(db *d, const char *base) {
  sqlite3_stmt *s = db_stmt(d, "SELECT id, name, public_key, created_at, rate_limit_per_minute"
                               " FROM projects ORDER BY id");
  if (!s) return NULL;
  json_t *list = json_array();
  while (sqlite3_step(s) == SQLITE_ROW) json_array_append_new(list, project_row(s, base));
  sqlite3_reset(s);
  return json_pack("{s:o}", "projects", list);
}

json_t *q_project(db *d, int64_t id, const char *base, int *not_found) {
  sqlite3_stmt *s = db_stmt(d, "SELECT id, name, public_key, created_at, rate_limit_per_minute"
                               " FROM projects WHERE id=?");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, id);
  json_t *o = NULL;
  if (sqlite3_step(s) == SQLITE_ROW)
    o = project_row(s, base);
  else
    *not_found = 1;
  sqlite3_reset(s);
  return o;
}

json_t *q_project_stats(db *d, int64_t id) {
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
                                              q_col_text(s, 0), "environment", q_col_text(s, 1),
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
    json_array_append_new(dropped, json_pack("{s:o, s:o, s:I}", "reason", q_col_text(s, 0),
                                             "category", q_col_text(s, 1), "quantity",
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
  return json_pack("{s:o, s:o, s:I, s:I, s:I}", "releases", releases, "dropped", dropped,
                   "transactions", (json_int_t)counts[0], "attachments", (json_int_t)counts[1],
                   "events", (json_int_t)counts[2]);
fail:
  json_decref(releases);
  json_decref(dropped);
  return NULL;
}

static json_t *issue_row(sqlite3_stmt *s) {
  return json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o, s:I}", "id",
      (json_int_t)sqlite3_column_int64(s, 0), "title", q_col_text(s, 1), "culprit",
      q_col_text(s, 2), "level", q_col_text(s, 3), "status", q_col_text(s, 4), "count",
      (json_int_t)sqlite3_column_int64(s, 5), "first_seen", q_time(sqlite3_column_double(s, 6)),
      "last_seen", q_time(sqlite3_column_double(s, 7)), "first_release", q_col_text(s, 8),
      "last_release", q_col_text(s, 9), "project_id", (json_int_t)sqlite3_column_int64(s, 10));
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

/* Parses "<number>:<id>". */
static int parse_cursor(const char *c, double *v, int64_t *id) {
  char *end;
  *v = strtod(c, &end);
  if (end == c || *end != ':' || !isfinite(*v)) return -1;
  char *end2;
  long long i = strtoll(end + 1, &end2, 10);
  if (end2 == end + 1 || *end2 || i <= 0) return -1;
  *id = i;
  return 0;
}

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

json_t *q_issues(db *d, const issue_filter *f, int *bad_cursor) {
  int which = 0;
  for (int i = 0; i < 3; i++) {
    if (strcmp(f->sort, issue_sorts[i].name) == 0) which = i;
  }
  sqlite3_stmt *s = db_stmt(d, issue_sorts[which].sql);
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, f->project_id);
  if (f->status) sqlite3_bind_text(s, 2, f->status, -1, SQLITE_STATIC);
  char like[600];
  if (f->query && *f->query) {
    size_t n = 0;
    like[n++] = '%';
    for (const char *p = f->query; *p && n < sizeof like - 3; p++) {
      if (*p == '%' || *p == '_' || *p == '\\') like[n++] = '\\';
      like[n++] = *p;
    }
    like[n++] = '%';
    like[n] = '\0';
    sqlite3_bind_text(s, 3, like, -1, SQLITE_STATIC);
  }
  if (f->cursor && *f->cursor) {
    double v;
    int64_t id;
    if (parse_cursor(f->cursor, &v, &id)) {
      *bad_cursor = 1;
      return NULL;
    }
    sqlite3_bind_double(s, 4, v);
    sqlite3_bind_int64(s, 5, id);
  }
  sqlite3_bind_int64(s, 6, f->limit + 1);
  if (f->level) sqlite3_bind_text(s, 7, f->level, -1, SQLITE_STATIC);
  json_t *list = json_array();
  char next[80] = "";
  int64_t n = 0;
  int more = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (n == f->limit) {
      more = 1;
      break;
    }
    json_t *row = issue_row(s);
    json_array_append_new(list, row);
    double key = which == 0   ? sqlite3_column_double(s, 7)
                 : which == 1 ? sqlite3_column_double(s, 6)
                              : (double)sqlite3_column_int64(s, 5);
    snprintf(next, sizeof next, "%.17g:%lld", key, (long long)sqlite3_column_int64(s, 0));
    n++;
  }
  sqlite3_reset(s);
  size_t i;
  json_t *row;
  json_array_foreach(list, i, row) {
    json_object_set_new(row, "hourly",
                        hourly(d, json_integer_value(json_object_get(row, "id")), f->now));
  }
  return json_pack("{s:o, s:o}", "issues", list, "next_cursor",
                   more ? json_string(next) : json_null());
}

static json_t *event_payload(sqlite3_stmt *s, int col) {
  json_error_t jerr;
  json_t *doc =
      json_loadb(sqlite3_column_blob(s, col), (size_t)sqlite3_column_bytes(s, col), 0, &jerr);
  return doc ? doc : json_object();
}

static void hex16(const void *blob, char out[33]) {
  static const char hx[] = "0123456789abcdef";
  const unsigned char *b = blob;
  for (int i = 0; i < 16; i++) {
    out[2 * i] = hx[b[i] >> 4];
    out[2 * i + 1] = hx[b[i] & 15];
  }
  out[32] = '\0';
}

/* Fills an event document from a row: id, event_id, issue_id, timestamp, received, level,
 * release, environment, payload (columns 0..8), project_id (9). */
static json_t *event_doc(sqlite3_stmt *s) {
  json_t *doc = event_payload(s, 8);
  char id[33] = "";
  if (sqlite3_column_bytes(s, 1) == 16) hex16(sqlite3_column_blob(s, 1), id);
  json_object_set_new(doc, "event_id", json_string(id));
  json_object_set_new(doc, "issue_id", json_integer(sqlite3_column_int64(s, 2)));
  json_object_set_new(doc, "project_id", json_integer(sqlite3_column_int64(s, 9)));
  json_object_set_new(doc, "timestamp", q_time(sqlite3_column_double(s, 3)));
  json_object_set_new(doc, "received", q_time(sqlite3_column_double(s, 4)));
  json_object_set_new(doc, "level", q_col_text(s, 5));
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
        hex16(sqlite3_column_blob(s, 0), id);
        json_decref(v);
        v = json_string(id);
      }
      sqlite3_reset(s);
    }
    json_object_set_new(doc, names[i], v);
  }
}

json_t *q_issue(db *d, int64_t id, int *not_found) {
  sqlite3_stmt *s = db_stmt(d, "SELECT " ISSUE_COLS " FROM issues WHERE id=?");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, id);
  json_t *issue = NULL;
  if (sqlite3_step(s) == SQLITE_ROW) issue = issue_row(s);
  sqlite3_reset(s);
  if (!issue) {
    *not_found = 1;
    return NULL;
  }
  s = db_stmt(d, "SELECT " EVENT_COLS " FROM events WHERE issue_id=? ORDER BY id DESC LIMIT 1");
  json_t *latest = json_null();
  if (s) {
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
      json_decref(latest);
      latest = event_doc(s);
      int64_t row = sqlite3_column_int64(s, 0);
      sqlite3_reset(s);
      neighbours(d, latest, id, row);
    }
    sqlite3_reset(s);
  }
  json_object_set_new(issue, "latest_event", latest);
  return issue;
}

json_t *q_issue_events(db *d, int64_t issue_id, const char *cursor, int64_t limit, int *not_found) {
  sqlite3_stmt *s = db_stmt(d, "SELECT 1 FROM issues WHERE id=?");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, issue_id);
  int exists = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_reset(s);
  if (!exists) {
    *not_found = 1;
    return NULL;
  }
  int64_t before = 0;
  if (cursor && *cursor) before = strtoll(cursor, NULL, 10);
  s = db_stmt(d,
              "SELECT id, event_id, timestamp, received, level, release, environment"
              " FROM events WHERE issue_id=?1 AND (?2 = 0 OR id < ?2) ORDER BY id DESC LIMIT ?3");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, issue_id);
  sqlite3_bind_int64(s, 2, before);
  sqlite3_bind_int64(s, 3, limit + 1);
  json_t *list = json_array();
  int64_t n = 0, last = 0;
  int more = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (n == limit) {
      more = 1;
      break;
    }
    char id[33] = "";
    if (sqlite3_column_bytes(s, 1) == 16) hex16(sqlite3_column_blob(s, 1), id);
    json_array_append_new(list,
                          json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "event_id", id, "timestamp",
                                    q_time(sqlite3_column_double(s, 2)), "received",
                                    q_time(sqlite3_column_double(s, 3)), "level", q_col_text(s, 4),
                                    "release", q_col_text(s, 5), "environment", q_col_text(s, 6)));
    last = sqlite3_column_int64(s, 0);
    n++;
  }
  sqlite3_reset(s);
  char next[32];
  snprintf(next, sizeof next, "%lld", (long long)last);
  return json_pack("{s:o, s:o}", "events", list, "next_cursor",
                   more ? json_string(next) : json_null());
}

json_t *q_event(db *d, int64_t project_id, const uint8_t event_id[16], int *not_found) {
  sqlite3_stmt *s =
      db_stmt(d, "SELECT " EVENT_COLS " FROM events WHERE project_id=? AND event_id=?");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_blob(s, 2, event_id, 16, SQLITE_STATIC);
  json_t *doc = NULL;
  if (sqlite3_step(s) == SQLITE_ROW) {
    doc = event_doc(s);
    int64_t row = sqlite3_column_int64(s, 0), issue = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    neighbours(d, doc, issue, row);
  } else {
    *not_found = 1;
  }
  sqlite3_reset(s);
  return doc;
}

json_t *q_alerts(db *d, int64_t project_id, const char *status, const char *kind,
                 const char *cursor, int64_t limit) {
  int64_t before = cursor && *cursor ? strtoll(cursor, NULL, 10) : 0;
  sqlite3_stmt *s = db_stmt(d, "SELECT id, kind, status, worker_id, issue_id, fired_at,"
                               " resolved_at, summary, details FROM alerts WHERE project_id=?1"
                               " AND (?2 IS NULL OR status=?2) AND (?3 IS NULL OR kind=?3)"
                               " AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
  if (!s) return NULL;
  sqlite3_bind_int64(s, 1, project_id);
  if (status) sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
  if (kind) sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 4, before);
  sqlite3_bind_int64(s, 5, limit + 1);
  json_t *list = json_array();
  int64_t n = 0, last = 0;
  int more = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (n == limit) {
      more = 1;
      break;
    }
    json_error_t jerr;
    json_t *details = json_loads((const char *)sqlite3_column_text(s, 8), 0, &jerr);
    json_t *row = json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0), "kind",
        q_col_text(s, 1), "status", q_col_text(s, 2), "fired_at",
        q_time(sqlite3_column_double(s, 5)), "resolved_at", q_time(sqlite3_column_double(s, 6)),
        "summary", q_col_text(s, 7), "details", details ? details : json_object());
    if (sqlite3_column_type(s, 3) != SQLITE_NULL)
      json_object_set_new(row, "worker_id", q_col_text(s, 3));
    if (sqlite3_column_type(s, 4) != SQLITE_NULL)
      json_object_set_new(row, "issue_id", json_integer(sqlite3_column_int64(s, 4)));
    json_array_append_new(list, row);
    last = sqlite3_column_int64(s, 0);
    n++;
  }
  sqlite3_reset(s);
  char next[32];
  snprintf(next, sizeof next, "%lld", (long long)last);
  return json_pack("{s:o, s:o}", "alerts", list, "next_cursor",
                   more ? json_string(next) : json_null());
}
