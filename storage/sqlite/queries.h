/* queries: read-side SQL for the management API, producing jansson documents. Runs on a
 * reader-pool thread with a read-only connection; never writes. Times are RFC 3339 strings;
 * lists use keyset cursors ("<sort value>:<id>") so a page costs the same at any depth. */
#ifndef SLUICE_QUERIES_H
#define SLUICE_QUERIES_H
#include <jansson.h>
#include <stdint.h>

#include "sqlite/db.h"

typedef struct issue_filter {
  int64_t project_id;
  const char *status; /* NULL = all */
  const char *sort;   /* last_seen | first_seen | count */
  const char *query;  /* substring of title or culprit; NULL = none */
  const char *level;  /* NULL = any */
  const char *cursor; /* "" = first page */
  int64_t limit;
  double now; /* for the 24-hour histogram */
} issue_filter;

/* Each returns a new document or NULL on a database error; *not_found is set when the
 * addressed row does not exist (then NULL is returned). */
json_t *q_projects(db *d, const char *dsn_base);
json_t *q_project(db *d, int64_t id, const char *dsn_base, int *not_found);
json_t *q_project_stats(db *d, int64_t id);
json_t *q_issues(db *d, const issue_filter *f, int *bad_cursor);
json_t *q_issue(db *d, int64_t id, int *not_found);
json_t *q_issue_events(db *d, int64_t issue_id, const char *cursor, int64_t limit, int *not_found);
json_t *q_event(db *d, int64_t project_id, const uint8_t event_id[16], int *not_found);
json_t *q_alerts(db *d, int64_t project_id, const char *status, const char *kind,
                 const char *cursor, int64_t limit);

/* Shared helpers for other read modules. */
json_t *q_time(double t);                     /* RFC 3339 string, or null for 0 */
json_t *q_col_text(sqlite3_stmt *s, int col); /* string or null */
/* dsn_base is the public URL, e.g. "http://127.0.0.1:9000". */
void q_format_dsn(const char *dsn_base, const char *key, int64_t id, char *buf, size_t cap);

#endif
