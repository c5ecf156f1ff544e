/* sqlite_int: what the SQLite backend's files share and nothing outside storage/sqlite sees:
 * the backend's handles (each starts with the neutral header it extends) and the operations
 * each file implements for the table in sqlite_store.c. Prefix sq_. */
#ifndef SLUICE_SQLITE_INT_H
#define SLUICE_SQLITE_INT_H
#include <sqlite3.h>

#include "sqlite/checkpointer.h"
#include "sqlite/db.h"
#include "store.h"

typedef struct sq_store {
  store base;
  char path[1024];
  size_t max_pages; /* store_options.max_pages */
} sq_store;

typedef struct sq_tx {
  store_tx base;
  db *d;
  checkpointer *ckpt; /* NULL: SQLite checkpoints inline, at commits */
} sq_tx;

typedef struct sq_rd {
  store_rd base;
  db *d;
} sq_rd;

static inline db *sq_db(store_tx *tx) {
  return ((sq_tx *)tx)->d;
}
static inline db *sq_rdb(store_rd *rd) {
  return ((sq_rd *)rd)->d;
}

/* Binds v, or NULL when v is NULL. */
static inline void sq_bind_text(sqlite3_stmt *s, int i, const char *v) {
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}
/* A column as a JSON string, or null. */
json_t *sq_col_text(sqlite3_stmt *s, int col);
/* Steps s to its end (a statement without rows); STORE_OK or STORE_EIO. Resets s. */
int sq_step_done(sqlite3_stmt *s);

/* Keyset paging, one way for every list: s selects at most limit + 1 rows in page order with
 * the row id in column id_col and, for lists sorted by a value, that value in key_col (-1:
 * none). Appends row(s, ctx) for the first limit rows to list, then *more says whether another
 * row followed and *key / *last hold the last row's value and id. Resets s. STORE_OK, or
 * STORE_EIO / STORE_ENOMEM (list then holds a part). */
int sq_page_rows(sqlite3_stmt *s, int64_t limit, int id_col, int key_col,
                 json_t *(*row)(sqlite3_stmt *s, void *ctx), void *ctx, json_t *list, int *more,
                 double *key, int64_t *last);

/* sqlite_events.c */
int sq_event_put(store_tx *tx, const store_event *e, store_issue_change *out);
int sq_transaction_put(store_tx *tx, int64_t project_id, const uint8_t event_id[16],
                       const char *name, double timestamp, double received, const char *payload,
                       size_t len);
int sq_session_put(store_tx *tx, int64_t project_id, const store_session *s);
int sq_sessions_add(store_tx *tx, int64_t project_id, const store_session_counts *c);
int sq_dropped_add(store_tx *tx, int64_t project_id, const char *reason, const char *category,
                   int64_t quantity);
int sq_attachment_put(store_tx *tx, int64_t project_id, const uint8_t *event_id,
                      const char *filename, const char *content_type, const char *data, size_t len,
                      double received);
int sq_issue_set_status(store_tx *tx, int64_t issue_id, const char *status, int64_t *project_id);
int sq_projects_each(store_tx *tx,
                     int (*fn)(void *ctx, int64_t id, const char *key, int64_t rate_limit),
                     void *ctx);
int sq_project_create(store_tx *tx, const char *name, const char *public_key, double now,
                      int64_t *id);
int sq_project_set_rate_limit(store_tx *tx, int64_t project_id, int64_t per_minute);
int sq_project_name(store_tx *tx, int64_t project_id, char *buf, size_t cap);
int sq_project_find_name(store_tx *tx, const char *name, int64_t *project_id);
int sq_project_rename(store_tx *tx, int64_t project_id, const char *name);
int sq_project_delete(store_tx *tx, int64_t project_id, double now);
int sq_projects_purge(store_tx *tx, double now, double grace, int64_t max_rows, int64_t *deleted);
/* Migration 8's step: later projects with a name already taken (ignoring ASCII case) become
 * "name (2)", "name (3)", ...; then names get their unique index. Returns 0 or -1. */
int sq_projects_unique_names(db *d);

/* sqlite_alerts.c */
int sq_alert_insert(store_tx *tx, const store_alert *a, int64_t *id);
int sq_alerts_resolve(store_tx *tx, int64_t project_id, const char *kind, const char *worker_id,
                      int64_t issue_id, double at, int64_t *first_id, int *n);

/* sqlite_memory.c */
int sq_worker_get(store_tx *tx, int64_t project_id, const char *name, store_worker *out);
int sq_worker_create(store_tx *tx, int64_t project_id, const char *name, double first_ts,
                     int64_t *id);
int sq_worker_update(store_tx *tx, int64_t wid, const store_worker_update *u);
int sq_worker_limit(store_tx *tx, int64_t wid, double *limit);
int sq_worker_states(store_tx *tx, int64_t counts[3]);
int sq_life_open(store_tx *tx, int64_t wid, int close_previous, double prev_last_seen,
                 const store_life *life, double last_ts);
int sq_lives_since(store_tx *tx, int64_t wid, double ts, store_life **out, size_t *n);
int sq_samples_put(store_tx *tx, int64_t wid, memchunk_sample *s, size_t *n, double newest);
int sq_samples_newest(store_tx *tx, int64_t wid, double *ts);
int sq_samples_scan(store_tx *tx, int64_t wid, double from, double to, store_sample_fn fn,
                    void *ctx);
int sq_rollup_add(store_tx *tx, int64_t wid, const store_rollup *r, int64_t *hint);
int sq_allocations_put(store_tx *tx, int64_t wid, const char *baseline, const char *latest,
                       int new_life);
int sq_allocations_get(store_tx *tx, int64_t wid, char **baseline, char **latest);
int sq_detector_get(store_tx *tx, int64_t wid, unsigned char **blob, size_t *len, double *fed_ts);
int sq_detector_put(store_tx *tx, int64_t wid, double fed_ts, const unsigned char *blob,
                    size_t len);
int sq_memory_retention(db *d, store_retention_kind kind, double cutoff, int64_t max_rows,
                        int64_t *deleted);

/* sqlite_outbox.c */
int sq_webhook_create(store_tx *tx, store_webhook *w, size_t max_per_project);
int sq_webhook_delete(store_tx *tx, int64_t id);
int sq_webhook_get(store_tx *tx, int64_t id, int64_t *project_id, int *disabled);
int sq_webhooks_subscribed(store_tx *tx, int64_t project_id, unsigned mask, int64_t *ids,
                           size_t max, size_t *n);
int sq_delivery_insert(store_tx *tx, const store_delivery *d, int64_t *id);
int sq_delivery_recent(store_tx *tx, int64_t webhook_id, const char *const *events, size_t n_events,
                       double since, int *found);
int sq_deliveries_reset_sending(store_tx *tx);
int sq_deliveries_due(store_tx *tx, double now, const int64_t *exclude, size_t n_exclude,
                      size_t max, store_due *out, size_t *n);
int sq_deliveries_pending(store_tx *tx, int64_t webhook_id, const char *event, size_t max,
                          int (*fn)(void *ctx, int64_t id, const char *data), void *ctx);
int sq_deliveries_set_status(store_tx *tx, const int64_t *ids, size_t n, const char *status,
                             int64_t digest_id);
int sq_delivery_load(store_tx *tx, int64_t id, store_item *it);
int sq_delivery_record(store_tx *tx, const store_attempt *a);
int sq_deliveries_retention(db *d, double cutoff, int64_t max_rows, int64_t *deleted);
int sq_read_webhooks(store_rd *rd, int64_t project_id, json_t **out);
int sq_read_deliveries(store_rd *rd, int64_t webhook_id, const store_page *p, json_t **out);

/* sqlite_read.c */
int sq_read_projects(store_rd *rd, const char *public_url, json_t **out);
int sq_read_project(store_rd *rd, int64_t id, const char *public_url, json_t **out);
int sq_read_project_stats(store_rd *rd, int64_t id, json_t **out);
int sq_read_issues(store_rd *rd, const store_issue_query *q, json_t **out);
int sq_read_issue(store_rd *rd, int64_t id, json_t **out);
int sq_read_issue_events(store_rd *rd, int64_t issue_id, const store_page *p, json_t **out);
int sq_read_event(store_rd *rd, int64_t project_id, const uint8_t event_id[16], json_t **out);
int sq_read_alerts(store_rd *rd, int64_t project_id, const char *status, const char *kind,
                   const store_page *p, json_t **out);

/* sqlite_read_memory.c */
int sq_read_workers(store_rd *rd, int64_t project_id, json_t **out);
int sq_read_worker_memory(store_rd *rd, store_memory_query *q, json_t **out);

#endif
