/* housekeeping: a 1 s uv_timer on the loop. A retention pass is one writer job that deletes at
 * most a batch of rows per kind of data (the table below) and of deleted projects' data, then
 * evicts the oldest events while the store is over --max-db-mb, then gives freed space back; a
 * pass runs only when the previous one finished, every RETENTION_EVERY seconds, or on the next
 * tick while a backlog is left. */
#include "core/housekeeping.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/delivery.h"
#include "util/container.h"
#include "util/log.h"
#include "util/timefmt.h"

#define RETENTION_EVERY 10.0 /* seconds between passes while there is nothing to delete */
#define EVICT_BATCH     2000 /* events evicted per pass at most for the size cap */
#define PURGE_BATCH     5000 /* rows of deleted projects' data deleted per pass at most */
/* A deleted project is done once a pass finds nothing of it this long after the deletion:
 * writes queued before the deletion (the writer queue drains in well under this) may still
 * add some. */
#define PURGE_GRACE 300.0

/* Every kind of data kept for a limited time: how long (a config field, in days) and how many
 * rows one pass may delete. */
static const struct {
  store_retention_kind kind;
  size_t days; /* offsetof(config, ...) */
  int64_t batch;
} retention[] = {
    {STORE_RET_EVENTS, offsetof(config, event_retention_days), 2000},
    {STORE_RET_TRANSACTIONS, offsetof(config, event_retention_days), 2000},
    {STORE_RET_ATTACHMENTS, offsetof(config, event_retention_days), 2000},
    {STORE_RET_SESSIONS, offsetof(config, event_retention_days), 2000},
    {STORE_RET_ISSUE_HOURS, offsetof(config, event_retention_days), 2000},
    {STORE_RET_SAMPLES, offsetof(config, sample_retention_days), 5000},
    {STORE_RET_ROLLUPS, offsetof(config, rollup_retention_days), 5000},
    {STORE_RET_DELIVERIES, offsetof(config, delivery_retention_days), 2000},
};
#define N_RETENTION (sizeof retention / sizeof retention[0])
_Static_assert(N_RETENTION == STORE_RET_KINDS, "every kind of data has a retention row");

/* Other modules' ticks, called every second. */
static void (*const ticks[])(app *a, double now) = {delivery_tick};

struct housekeeping {
  uv_timer_t timer;
  app *a;
  int running;
  double next_pass;
};

typedef struct retention_job {
  writer_job job;
  struct housekeeping *h; /* loop thread only (done) */
  double cutoffs[STORE_RET_KINDS];
  int64_t cap_bytes; /* 0: no size cap */
  double now;
  int64_t deleted, evicted;
  int backlog; /* some kind had a full batch, or the cap still binds */
} retention_job;

void housekeeping_cutoffs(const config *cfg, double now, double cutoffs[STORE_RET_KINDS]) {
  for (size_t i = 0; i < N_RETENTION; i++) {
    size_t days = *(const size_t *)((const char *)cfg + retention[i].days);
    cutoffs[retention[i].kind] = now - (double)days * 86400.0;
  }
}

static int retention_run(writer_job *j, store_tx *tx) {
  retention_job *r = container_of(j, retention_job, job);
  const store_ops *op = tx->ops;
  r->deleted = r->evicted = 0;
  r->backlog = 0;
  for (size_t i = 0; i < N_RETENTION; i++) {
    int64_t n = 0;
    int rc =
        op->retention(tx, retention[i].kind, r->cutoffs[retention[i].kind], retention[i].batch, &n);
    if (rc != STORE_OK) return rc;
    r->deleted += n;
    if (n >= retention[i].batch) r->backlog = 1;
  }
  /* Data of deleted projects (their rows went at once, api/api.c). */
  int64_t purged = 0;
  int rc = op->projects_purge(tx, r->now, PURGE_GRACE, PURGE_BATCH, &purged);
  if (rc != STORE_OK) return rc;
  r->deleted += purged;
  if (purged >= PURGE_BATCH) r->backlog = 1;
  /* Size cap: while the store passes --max-db-mb, evict the oldest events a few at a time
   * (freed space counts at once), at most EVICT_BATCH per pass. */
  int64_t used = 0;
  while (r->cap_bytes > 0 && r->evicted < EVICT_BATCH) {
    rc = op->used_bytes(tx, &used);
    if (rc != STORE_OK) return rc;
    if (used <= r->cap_bytes) break;
    int64_t n = 0;
    if ((rc = op->evict_events(tx, 10, &n)) != STORE_OK) return rc;
    if (n == 0) break; /* no events left to evict: other data fills the cap */
    r->evicted += n;
    r->backlog = 1;
  }
  if (r->deleted + r->evicted > 0) op->compact(tx);
  return STORE_OK;
}

static void retention_done(writer_job *j) {
  retention_job *r = container_of(j, retention_job, job);
  struct housekeeping *h = r->h;
  h->running = 0;
  h->next_pass = time_wall() + (r->backlog ? 1.0 : RETENTION_EVERY);
  if (r->evicted)
    log_warn("database over --max-db-mb; evicted oldest events", "events=%lld",
             (long long)r->evicted);
  if (r->deleted) log_debug("retention pass", "deleted=%lld", (long long)r->deleted);
  free(r);
}

static void on_tick(uv_timer_t *t) {
  struct housekeeping *h = container_of(t, struct housekeeping, timer);
  app *a = h->a;
  double now = time_wall();
  if (!h->running && now >= h->next_pass) {
    retention_job *r = calloc(1, sizeof *r);
    if (r) {
      r->h = h;
      r->now = now;
      housekeeping_cutoffs(a->cfg, now, r->cutoffs);
      r->cap_bytes = (int64_t)a->cfg->max_db_mb * 1024 * 1024;
      r->job.run = retention_run;
      r->job.done = retention_done;
      if (writer_submit(a->writer, &r->job) == 0)
        h->running = 1;
      else
        free(r);
    }
  }
  for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++) ticks[i](a, now);
}

int housekeeping_init(app *a) {
  struct housekeeping *h = calloc(1, sizeof *h);
  if (!h) return -1;
  h->a = a;
  a->hk = h;
  return 0;
}

void housekeeping_start(app *a) {
  struct housekeeping *h = a->hk;
  uv_timer_init(a->loop, &h->timer);
  h->next_pass = time_wall() + 1.0;
  uv_timer_start(&h->timer, on_tick, 1000, 1000);
}

void housekeeping_stop(app *a) {
  if (a->hk) uv_timer_stop(&a->hk->timer);
}

static void on_closed(uv_handle_t *handle) {
  free(container_of((uv_timer_t *)handle, struct housekeeping, timer));
}

void housekeeping_free(app *a) {
  struct housekeeping *h = a->hk;
  a->hk = NULL;
  if (h) uv_close((uv_handle_t *)&h->timer, on_closed);
}
