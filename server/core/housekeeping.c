/* housekeeping: a 1 s uv_timer on the loop. Retention deletes at most RETENTION_BATCH rows per
 * table per pass as a writer job, so ingest never waits behind a long delete; a pass runs only
 * when the previous one finished. Then PRAGMA incremental_vacuum returns freed pages to the
 * file system so the database stops growing. */
#include "core/housekeeping.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define RETENTION_BATCH 2000
#define RETENTION_EVERY 10.0 /* seconds between passes while there is nothing to delete */
#define MAX_TICKS       8

static housekeeping_tick ticks[MAX_TICKS];
static int n_ticks;

typedef struct hk {
  uv_timer_t timer;
  app *a;
  int retention_running;
  double next_retention;
} hk;

typedef struct retention_job {
  writer_job job;
  hk *h;
  double now;
  int64_t deleted;
  int over_cap; /* evicted for --max-db-mb: check again on the next tick */
} retention_job;

#define HK_EXT 1 /* slot in app->ext */

/* Each statement deletes one bounded batch of rows older than ?1. */
/* Each statement deletes one bounded batch of rows older than ?1. Rows with ids are appended
 * in arrival order, so only the oldest 2000 by id are looked at (no index on the time column,
 * no scan when nothing is old); the others use an index on their time column. */
static const char *const retention_sql[] = {
    "DELETE FROM events WHERE id IN (SELECT id FROM"
    " (SELECT id, received FROM events ORDER BY id LIMIT 2000) WHERE received < ?1)",
    "DELETE FROM transactions WHERE id IN (SELECT id FROM"
    " (SELECT id, received FROM transactions ORDER BY id LIMIT 2000) WHERE received < ?1)",
    "DELETE FROM attachments WHERE id IN (SELECT id FROM"
    " (SELECT id, received FROM attachments ORDER BY id LIMIT 2000) WHERE received < ?1)",
    /* sessions and issue_hours are WITHOUT ROWID tables: batches go by primary key */
    "DELETE FROM sessions WHERE (project_id, sid) IN"
    " (SELECT project_id, sid FROM sessions WHERE updated < ?1 LIMIT 2000)",
    "DELETE FROM issue_hours WHERE (issue_id, hour) IN"
    " (SELECT issue_id, hour FROM issue_hours WHERE hour < ?1 / 3600 LIMIT 2000)",
};

static int retention_run(writer_job *j, db *d) {
  retention_job *r = container_of(j, retention_job, job);
  double cutoff = r->now - (double)r->h->a->cfg->event_retention_days * 86400.0;
  r->deleted = 0;
  for (size_t i = 0; i < sizeof retention_sql / sizeof retention_sql[0]; i++) {
    sqlite3_stmt *s = db_stmt(d, retention_sql[i]);
    if (!s) return WRITER_EIO;
    sqlite3_bind_double(s, 1, cutoff);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
    r->deleted += sqlite3_changes(db_handle(d));
  }
  /* Size cap: while the pages in use pass --max-db-mb, evict the oldest events a few at a
   * time (freed pages count at once), at most RETENTION_BATCH per pass. */
  size_t cap_mb = r->h->a->cfg->max_db_mb;
  int64_t evicted = 0;
  while (cap_mb > 0 && evicted < RETENTION_BATCH &&
         db_used_bytes(d) > (int64_t)cap_mb * 1024 * 1024) {
    sqlite3_stmt *s = db_stmt(d, "DELETE FROM events WHERE id IN"
                                 " (SELECT id FROM events ORDER BY id LIMIT 10)");
    if (!s || sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
    int n = sqlite3_changes(db_handle(d));
    if (n == 0) break; /* no events left to evict: other data fills the cap */
    evicted += n;
  }
  if (evicted) {
    r->deleted += evicted;
    r->over_cap = 1;
    log_warn("database over --max-db-mb; evicted oldest events", "events=%lld", (long long)evicted);
  }
  if (r->deleted > 0)
    sqlite3_exec(db_handle(d), "PRAGMA incremental_vacuum(4000)", NULL, NULL, NULL);
  return WRITER_OK;
}

static void retention_done(writer_job *j) {
  retention_job *r = container_of(j, retention_job, job);
  hk *h = r->h;
  h->retention_running = 0;
  /* Keep going at the tick rate while there is a backlog. */
  h->next_retention =
      r->now + (r->deleted >= RETENTION_BATCH || r->over_cap ? 1.0 : RETENTION_EVERY);
  if (r->deleted) log_debug("retention pass", "deleted=%lld", (long long)r->deleted);
  free(r);
}

static void on_tick(uv_timer_t *t) {
  hk *h = container_of(t, hk, timer);
  double now = app_now();
  if (!h->retention_running && now >= h->next_retention) {
    retention_job *r = calloc(1, sizeof *r);
    if (r) {
      r->h = h;
      r->now = now;
      r->job.run = retention_run;
      r->job.done = retention_done;
      if (writer_submit(h->a->writer, &r->job) == 0)
        h->retention_running = 1;
      else
        free(r);
    }
  }
  for (int i = 0; i < n_ticks; i++) ticks[i](h->a, now);
}

void housekeeping_add(housekeeping_tick tick) {
  if (n_ticks < MAX_TICKS) ticks[n_ticks++] = tick;
}

int housekeeping_init(app *a, db *d) {
  (void)d;
  hk *h = calloc(1, sizeof *h);
  if (!h) return -1;
  h->a = a;
  a->ext[HK_EXT] = h;
  return 0;
}

void housekeeping_start(app *a) {
  hk *h = a->ext[HK_EXT];
  uv_timer_init(a->loop, &h->timer);
  h->next_retention = app_now() + 1.0;
  uv_timer_start(&h->timer, on_tick, 1000, 1000);
}

void housekeeping_stop(app *a) {
  hk *h = a->ext[HK_EXT];
  if (h) uv_timer_stop(&h->timer);
}

static void on_closed(uv_handle_t *handle) {
  free(container_of((uv_timer_t *)handle, hk, timer));
}

void housekeeping_free(app *a) {
  hk *h = a->ext[HK_EXT];
  a->ext[HK_EXT] = NULL;
  if (h) uv_close((uv_handle_t *)&h->timer, on_closed);
}
