/* app: the context every handler receives on the loop thread: configuration, the loop, the
 * HTTP server, the store with its writer and readers, the in-memory project key table,
 * counters, and each subsystem's state (typed; owned by the subsystem, set by its init). Owned
 * by main.c; handlers borrow it. Loop thread only: writer jobs and reads never see it; they
 * get what they need in the job or request (and the config, which is immutable after start). */
#ifndef SLUICE_APP_H
#define SLUICE_APP_H
#include <stdint.h>
#include <uv.h>

#include "core/config.h"
#include "http/http.h"
#include "reader.h"
#include "store.h"
#include "writer.h"

#define APP_KEY_MAX 64

typedef struct project_key {
  int64_t project_id;
  char public_key[APP_KEY_MAX + 1];
  int64_t rate_limit_per_minute; /* -1: the server default */
  /* rate-limit window (loop thread) */
  int64_t window_minute;
  int64_t window_count;
} project_key;

typedef struct app_counters {
  uint64_t events_accepted, events_duplicate, transactions, sessions, client_reports, attachments,
      items_skipped, samples_accepted;
  uint64_t rejected_invalid, rejected_auth, rejected_too_large, rejected_queue_full,
      rejected_rate_limited, rejected_storage, rejected_nomem;
} app_counters;

struct housekeeping;  /* core/housekeeping.c */
struct session_table; /* api/session.c */
struct mem_state;     /* memory/memory.c */
struct delivery;      /* alerts/delivery.c */
struct alert_sink;    /* alerts/alerts.h: shared with the writer thread, thread-safe */
struct static_cache;  /* http/static_files.c */
struct app;

/* A module's lines for /metrics: complete Prometheus lines into buf; returns bytes written. */
typedef size_t (*app_metrics_fn)(struct app *a, char *buf, size_t cap);
#define APP_METRICS_MAX 8

typedef struct app {
  const config *cfg;
  uv_loop_t *loop;
  http_server *http;
  store *store;
  writer *writer;
  reader *reader;
  project_key *keys; /* all projects' keys, small and scanned linearly */
  size_t n_keys, keys_cap;
  uint8_t admin_token_sha256[32];
  app_counters counters;
  int storage_failing; /* last commit failed: /readyz answers 503 */
  double started_at;
  /* subsystem state */
  struct housekeeping *hk;
  struct session_table *sessions;
  struct mem_state *memory;
  struct delivery *delivery;
  struct alert_sink *alerts;
  struct static_cache *static_cache;
  app_metrics_fn metrics[APP_METRICS_MAX]; /* registered at init (ops_metrics appends them) */
  int n_metrics;
} app;

/* Key table (loop thread). app_key_add copies; returns 0 or -1 (out of memory). */
int app_key_add(app *a, int64_t project_id, const char *public_key, int64_t rate_limit);
/* Returns the entry for a public key (constant-time per entry), or NULL. */
project_key *app_key_find(app *a, const char *public_key);
project_key *app_key_for_project(app *a, int64_t project_id);
/* Removes the project's key(s): ingest with them fails from now on. Pointers into the table
 * (app_key_find, app_key_for_project) are invalid afterwards. */
void app_key_remove(app *a, int64_t project_id);

/* True when req carries the admin token (Authorization: Bearer ...) or a valid dashboard
 * session; constant-time. */
int app_admin_authorized(app *a, const http_request *req);

/* Registers a module's /metrics lines (at init; at most APP_METRICS_MAX). */
void app_add_metrics(app *a, app_metrics_fn fn);

#endif
