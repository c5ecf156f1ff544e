/* store: the backend-neutral storage interface. A backend (storage/sqlite today) fills in one
 * struct store_ops and embeds the three handle headers below as the first member of its own
 * structs, in the manner of SQLite's VFS and its I/O methods; nothing above storage/ includes a
 * backend's headers or sees its types, and SQL exists only inside a backend.
 *
 * Threads: a store_tx is the writer's connection and is used by the writer thread only, always
 * inside a transaction the writer opened (writer.h); a store_rd is one read connection used by
 * one reader-pool thread at a time, inside a read snapshot. Every op returns a STORE_* status;
 * an op that fails leaves its out-parameters unspecified and the writer undoes the job.
 *
 * Ownership: strings and blobs handed to an op are borrowed for the call; out-parameters that
 * are pointers (char **, unsigned char **, json_t **) are new and owned by the caller. */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "memchunk.h"

/* One family of status codes for everything storage says; the server maps them to HTTP in one
 * place (server/core/status.c). X(name, value, what) */
#define STORE_STATUS_LIST(X)                                                                       \
  X(STORE_OK, 0, "ok")                                                                             \
  X(STORE_DUPLICATE, 1, "already stored")               /* success: nothing was written */         \
  X(STORE_ENOTFOUND, -2, "not found")                   /* the addressed row does not exist */     \
  X(STORE_EIO, -5, "storage failed")                    /* disk full, I/O, lost connection */      \
  X(STORE_ENOMEM, -12, "out of memory")                 /* an allocation failed */                 \
  X(STORE_ECONFLICT, -17, "conflicts with stored data") /* taken id or key, a limit reached */     \
  X(STORE_ESHUTDOWN, -108, "storage is stopping")

enum store_status {
#define STORE_ENUM(name, value, what) name = value,
  STORE_STATUS_LIST(STORE_ENUM)
#undef STORE_ENUM
};

/* A short text for a status ("unknown status" for others). */
const char *store_status_text(int status);

typedef struct store_ops store_ops;
/* Handles: a backend's structs start with these (so a backend's own pointer converts). */
typedef struct store {
  const store_ops *ops;
} store;
typedef struct store_tx {
  const store_ops *ops;
} store_tx;
typedef struct store_rd {
  const store_ops *ops;
} store_rd;

/* What opening a store takes besides its target. */
typedef struct store_options {
  size_t max_pages; /* tests: cap the database so writes fail as on a full disk; 0 = none */
} store_options;

/* --- rows the ops exchange --------------------------------------------------------------- */

typedef struct store_event {
  int64_t project_id;
  uint8_t event_id[16];
  double timestamp, received;
  const char *level, *release, *environment; /* release/environment may be NULL */
  const char *fingerprint, *title, *culprit;
  const char *payload; /* stored as received */
  size_t len;
} store_event;

/* What storing an event did to its issue. */
typedef struct store_issue_change {
  int64_t issue_id;
  int created;   /* a new issue */
  int regressed; /* the issue was resolved and is unresolved again */
  int64_t count; /* events of the issue, this one included */
} store_issue_change;

typedef struct store_session {
  const char *sid, *release, *environment, *status; /* ok|exited|crashed|abnormal|errored */
  int64_t errors;
  double started, updated;
} store_session;

typedef struct store_session_counts {
  const char *release, *environment;
  int64_t healthy, errored, crashed, abnormal;
} store_session_counts;

typedef struct store_alert {
  int64_t project_id;
  const char *kind;      /* memory_leak | new_issue | regression */
  const char *worker_id; /* NULL for issue alerts */
  int64_t issue_id;      /* 0 for worker alerts */
  double fired_at;
  const char *summary;
  const char *details; /* JSON text */
  const char *status;  /* firing (a state that resolves) | notified (an event); NULL = firing */
} store_alert;

/* Worker states as stored (the leak detector's LEAK_* values). */
enum { STORE_WORKER_OK = 0, STORE_WORKER_LEAKING = 1, STORE_WORKER_INSUFFICIENT = 2 };

typedef struct store_worker {
  int64_t id;
  int state; /* STORE_WORKER_* */
  int64_t pid;
  double started_at, last_seen;
} store_worker;

/* What a memory batch changes on its worker's row. Strings NULL = keep. */
typedef struct store_worker_update {
  const char *host, *service, *release;
  int newest;           /* the batch holds the worker's newest sample: pid, started_at, rss */
  int64_t pid;          /* with newest */
  double started_at;    /* with newest */
  int64_t rss_bytes;    /* with newest */
  int64_t memory_limit; /* > 0 replaces the stored limit */
  double last_ts;       /* last_seen becomes max(last_seen, last_ts) */
  int state;            /* STORE_WORKER_* */
  double slope, confidence;
  double projected_limit_at; /* 0 = none */
} store_worker_update;

/* A life of a worker: from first_ts, process pid started at started_at. */
typedef struct store_life {
  double first_ts;
  int64_t pid;
  double started_at;
} store_life;

/* A batch's contribution to one hour rollup. */
typedef struct store_rollup {
  int64_t t; /* hour start, Unix seconds */
  int64_t n, rss_min, rss_max;
  double rss_sum;
} store_rollup;

/* Called once per sample, in timestamp order; non-zero stops the scan. */
typedef int (*store_sample_fn)(void *ctx, const memchunk_sample *s);

#define STORE_URL_MAX    2048
#define STORE_SECRET_MAX 128
#define STORE_MSGID_MAX  48

typedef struct store_webhook {
  int64_t id; /* set by webhook_create */
  int64_t project_id;
  char url[STORE_URL_MAX + 1];
  char kind[8];                      /* slack | generic */
  unsigned events;                   /* bit mask of event names (the alerts subsystem's) */
  char secret[STORE_SECRET_MAX + 1]; /* "whsec_..." for generic, "" for slack */
  double created_at;
} store_webhook;

/* A new delivery row: one message to one webhook. */
typedef struct store_delivery {
  int64_t webhook_id, project_id, alert_id; /* alert_id 0: none (tests, digests) */
  const char *event;                        /* alert kind, "test", "new_issue_digest" */
  const char *msg_id;                       /* webhook-id, the same on every attempt */
  const char *data;                         /* JSON text */
  const char *status;                       /* pending | sending */
  double created_at, due;
} store_delivery;

/* A due delivery found by deliveries_due: the earliest of its webhook. */
typedef struct store_due {
  int64_t id, webhook_id;
  int digestible; /* a never-tried new_issue row */
} store_due;

/* One claimed delivery, ready to send (strings owned; release with store_item_clear). */
typedef struct store_item {
  int64_t delivery_id, webhook_id, project_id;
  char event[32];
  char msg_id[STORE_MSGID_MAX];
  char kind[8];
  char *url, *secret, *data;
  int attempts; /* before this one */
  double created_at;
} store_item;
void store_item_clear(store_item *it);

/* How an attempt ended, as the delivery side decided it. */
typedef struct store_attempt {
  int64_t delivery_id, webhook_id;
  double at; /* attempt start */
  int duration_ms;
  long status_code;       /* 0 when no response */
  const char *outcome;    /* delivered, retry, retry_after, refused, gave_up, gone */
  char error[256];        /* "" when none */
  int delivered;          /* 2xx came back */
  int gone;               /* 410: disable the webhook, cancel its pending rows */
  double next_attempt_at; /* > 0: retry then; 0 and not delivered: give up */
} store_attempt;

/* Data kept for a limited time, deleted by the housekeeping timer's retention table. */
typedef enum store_retention_kind {
  STORE_RET_EVENTS,       /* events, by received time */
  STORE_RET_TRANSACTIONS, /* by received time */
  STORE_RET_ATTACHMENTS,  /* by received time */
  STORE_RET_SESSIONS,     /* by last update */
  STORE_RET_ISSUE_HOURS,  /* hourly issue counts, by hour */
  STORE_RET_SAMPLES,      /* raw memory samples, by a chunk's newest sample */
  STORE_RET_ROLLUPS,      /* hourly memory rollups, by hour */
  STORE_RET_DELIVERIES,   /* finished webhook deliveries and attempts, by creation */
  STORE_RET_KINDS
} store_retention_kind;

/* Keyset paging: a page of at most limit rows after the cursor (has_cursor 0: the first page).
 * Lists sorted by id use id only; lists sorted by a value use (key, id). */
typedef struct store_page {
  int64_t limit;
  int has_cursor;
  double key;
  int64_t id;
} store_page;

typedef struct store_issue_query {
  int64_t project_id;
  const char *status; /* NULL = all */
  const char *sort;   /* last_seen | first_seen | count */
  const char *text;   /* substring of title or culprit; NULL = none */
  const char *level;  /* NULL = any */
  store_page page;
  double now; /* for the 24-hour histogram */
} store_issue_query;

typedef struct store_memory_query {
  int64_t project_id;
  const char *worker; /* worker name */
  double from, to;    /* Unix seconds; 0 = around the worker's last sample */
  int64_t max_points;
  /* out: the allocation reports of the worker's current life (JSON arrays), NULL if none */
  char *alloc_baseline, *alloc_latest;
} store_memory_query;

/* --- the table of operations ------------------------------------------------------------- */

struct store_ops {
  const char *name; /* "sqlite" */

  /* Lifecycle. open creates or migrates the database at target (a backend-specific string:
   * a file path for SQLite) and refuses a schema newer than it knows. */
  int (*open)(const char *target, const store_options *o, store **out);
  void (*close)(store *s);
  int (*schema_version)(const store *s);

  /* The writer's connection and its transactions. A job runs between savepoint and release
   * (or rollback_to + release); tx_lost says the backend rolled the whole transaction back by
   * itself (then nothing of the batch is stored). close writes what the backend buffers. */
  int (*writer_open)(store *s, store_tx **out);
  void (*writer_close)(store_tx *tx);
  int (*tx_begin)(store_tx *tx);
  int (*tx_commit)(store_tx *tx);
  void (*tx_rollback)(store_tx *tx);
  int (*tx_savepoint)(store_tx *tx);
  void (*tx_release)(store_tx *tx);
  void (*tx_rollback_to)(store_tx *tx);
  int (*tx_lost)(store_tx *tx);
  const char *(*tx_error)(store_tx *tx); /* the last error, for logs */
  /* Background maintenance counters (checkpoints), zero where there is none. */
  void (*maintenance_stats)(store_tx *tx, uint64_t *runs, uint64_t *inline_runs, uint64_t *failures,
                            uint64_t *pages, double *seconds);

  /* Read connections: a pool thread opens one, and wraps each request in a snapshot. */
  int (*reader_open)(store *s, store_rd **out);
  void (*reader_close)(store_rd *rd);
  int (*read_begin)(store_rd *rd);
  void (*read_end)(store_rd *rd);

  /* --- writer side: settings and projects --- */
  int (*meta_get)(store_tx *tx, const char *key, char *buf, size_t cap); /* ENOTFOUND */
  int (*meta_set)(store_tx *tx, const char *key, const char *value);
  /* Calls fn for every project (rate_limit -1: the server default); stops at fn's non-zero. */
  int (*projects_each)(store_tx *tx,
                       int (*fn)(void *ctx, int64_t id, const char *key, int64_t rate_limit),
                       void *ctx);
  /* *id is the wanted id (0 = next free) and receives the new one. ECONFLICT: id or key taken. */
  int (*project_create)(store_tx *tx, const char *name, const char *public_key, double now,
                        int64_t *id);
  int (*project_set_rate_limit)(store_tx *tx, int64_t project_id,
                                int64_t per_minute); /* <0: null */
  int (*project_name)(store_tx *tx, int64_t project_id, char *buf, size_t cap);
  /* The project called name, ignoring the case of ASCII letters (names are unique that way);
   * ENOTFOUND when there is none. */
  int (*project_find_name)(store_tx *tx, const char *name, int64_t *project_id);
  /* ENOTFOUND: no such project; ECONFLICT: another project has the name. */
  int (*project_rename)(store_tx *tx, int64_t project_id, const char *name);
  /* Deletes a project at once: its row (lists and reads stop showing it) and its webhooks'
   * sending (they are disabled). Its data is deleted in bounded batches by projects_purge. Its
   * id is never given out again by project_create on its own, and an explicit one is refused
   * (ECONFLICT) until the data is gone. ENOTFOUND when there is no such project. */
  int (*project_delete)(store_tx *tx, int64_t project_id, double now);
  /* Deletes at most max_rows rows of data of deleted projects (every table that holds a
   * project's data); *deleted counts them. A deleted project counts as purged once a pass finds
   * none of its data left at least grace seconds after its deletion: writes queued before the
   * deletion may still add some for a moment. */
  int (*projects_purge)(store_tx *tx, double now, double grace, int64_t max_rows, int64_t *deleted);

  /* --- writer side: what the Sentry endpoints ingest --- */
  /* Stores the event and counts it into its issue (found by fingerprint, or created; a resolved
   * issue becomes unresolved). DUPLICATE when the project has this event_id (nothing written). */
  int (*event_put)(store_tx *tx, const store_event *e, store_issue_change *out);
  int (*transaction_put)(store_tx *tx, int64_t project_id, const uint8_t event_id[16],
                         const char *name, double timestamp, double received, const char *payload,
                         size_t len); /* a repeated event_id is ignored */
  int (*session_put)(store_tx *tx, int64_t project_id, const store_session *s);
  int (*sessions_add)(store_tx *tx, int64_t project_id, const store_session_counts *c);
  int (*dropped_add)(store_tx *tx, int64_t project_id, const char *reason, const char *category,
                     int64_t quantity);
  int (*attachment_put)(store_tx *tx, int64_t project_id, const uint8_t *event_id /* or NULL */,
                        const char *filename, const char *content_type, const char *data,
                        size_t len, double received);
  /* ENOTFOUND when there is no such issue; *project_id receives its project. */
  int (*issue_set_status)(store_tx *tx, int64_t issue_id, const char *status, int64_t *project_id);

  /* --- writer side: alerts --- */
  int (*alert_insert)(store_tx *tx, const store_alert *a, int64_t *id);
  /* Resolves the firing alerts of kind (NULL: any kind) of a worker (worker_id) or an issue
   * (issue_id > 0) at time at; *n receives how many and *first_id the first one's id. */
  int (*alerts_resolve)(store_tx *tx, int64_t project_id, const char *kind, const char *worker_id,
                        int64_t issue_id, double at, int64_t *first_id, int *n);

  /* --- writer side: memory --- */
  int (*worker_get)(store_tx *tx, int64_t project_id, const char *name,
                    store_worker *out); /* ENOTFOUND */
  int (*worker_create)(store_tx *tx, int64_t project_id, const char *name, double first_ts,
                       int64_t *id);
  int (*worker_update)(store_tx *tx, int64_t wid, const store_worker_update *u);
  int (*worker_limit)(store_tx *tx, int64_t wid, double *limit); /* 0 if unknown; ENOTFOUND */
  /* Counts workers per STORE_WORKER_* state into counts[3]. */
  int (*worker_states)(store_tx *tx, int64_t counts[3]);
  /* Opens a life at first_ts (a repeat of the same first_ts is ignored); when close_previous,
   * first ends the latest life at prev_last_seen. */
  int (*life_open)(store_tx *tx, int64_t wid, int close_previous, double prev_last_seen,
                   const store_life *life, double last_ts);
  /* The lives samples newer than ts can belong to (the latest that began at or before ts and
   * every later one), ascending; *out is malloc'd (NULL when none). */
  int (*lives_since)(store_tx *tx, int64_t wid, double ts, store_life **out, size_t *n);
  /* Stores s[0..*n) (ts strictly increasing) except samples whose timestamp is stored already
   * (retries): those are removed from s in place and *n becomes the number of new ones. newest
   * bounds the stored timestamps as the caller knows them (INFINITY: unknown). */
  int (*samples_put)(store_tx *tx, int64_t wid, memchunk_sample *s, size_t *n, double newest);
  int (*samples_newest)(store_tx *tx, int64_t wid, double *ts); /* -INFINITY when none */
  int (*samples_scan)(store_tx *tx, int64_t wid, double from, double to, store_sample_fn fn,
                      void *ctx);
  /* Adds r to the worker's hour rollup. *hint in: the backend's handle on that hour's row from
   * an earlier call (0: unknown); out: the handle of the row written, for the next batch. */
  int (*rollup_add)(store_tx *tx, int64_t wid, const store_rollup *r, int64_t *hint);
  /* Allocation reports (JSON arrays of {site, size_bytes, count}): latest always replaces; the
   * baseline is replaced when new_life or there is none yet. */
  int (*allocations_put)(store_tx *tx, int64_t wid, const char *baseline, const char *latest,
                         int new_life);
  int (*allocations_get)(store_tx *tx, int64_t wid, char **baseline, char **latest);
  /* The leak detector's saved state: an opaque blob fed up to fed_ts. ENOTFOUND when none. */
  int (*detector_get)(store_tx *tx, int64_t wid, unsigned char **blob, size_t *len, double *fed_ts);
  int (*detector_put)(store_tx *tx, int64_t wid, double fed_ts, const unsigned char *blob,
                      size_t len);

  /* --- writer side: webhooks and their outbox --- */
  int (*webhook_create)(store_tx *tx, store_webhook *w, size_t max_per_project); /* ECONFLICT */
  int (*webhook_delete)(store_tx *tx, int64_t id); /* with its deliveries; ENOTFOUND */
  int (*webhook_get)(store_tx *tx, int64_t id, int64_t *project_id, int *disabled);
  /* Enabled webhooks of the project whose events mask has any bit of mask, by id. */
  int (*webhooks_subscribed)(store_tx *tx, int64_t project_id, unsigned mask, int64_t *ids,
                             size_t max, size_t *n);
  int (*delivery_insert)(store_tx *tx, const store_delivery *d, int64_t *id);
  /* *found: the webhook has a delivery of one of events[0..n_events) created after since. */
  int (*delivery_recent)(store_tx *tx, int64_t webhook_id, const char *const *events,
                         size_t n_events, double since, int *found);
  /* Rows left 'sending' by a previous process become 'pending' again. */
  int (*deliveries_reset_sending)(store_tx *tx);
  /* At most max due rows (next attempt <= now), the earliest of each enabled webhook not in
   * exclude, earliest first. */
  int (*deliveries_due)(store_tx *tx, double now, const int64_t *exclude, size_t n_exclude,
                        size_t max, store_due *out, size_t *n);
  /* Calls fn for at most max never-tried pending rows of event on a webhook, oldest first. */
  int (*deliveries_pending)(store_tx *tx, int64_t webhook_id, const char *event, size_t max,
                            int (*fn)(void *ctx, int64_t id, const char *data), void *ctx);
  /* Sets status on rows ids[0..n); digest_id > 0 records the digest they went into. */
  int (*deliveries_set_status)(store_tx *tx, const int64_t *ids, size_t n, const char *status,
                               int64_t digest_id);
  int (*delivery_load)(store_tx *tx, int64_t id, store_item *it);
  /* Logs an attempt and moves the row on (delivered / pending again / failed); gone disables
   * the webhook and cancels its pending rows. A row no longer 'sending' is left alone. */
  int (*delivery_record)(store_tx *tx, const store_attempt *a);

  /* --- writer side: retention and size --- */
  /* Deletes at most max_rows rows of kind older than cutoff (Unix seconds); *deleted counts. */
  int (*retention)(store_tx *tx, store_retention_kind kind, double cutoff, int64_t max_rows,
                   int64_t *deleted);
  int (*used_bytes)(store_tx *tx, int64_t *bytes);
  int (*evict_events)(store_tx *tx, int64_t n, int64_t *deleted); /* the n oldest events */
  void (*compact)(store_tx *tx); /* give freed space back after deletes (may do nothing) */

  /* --- reader side: documents in the REST API's shape (README "Management API") --- */
  int (*read_projects)(store_rd *rd, const char *public_url, json_t **out);
  int (*read_project)(store_rd *rd, int64_t id, const char *public_url, json_t **out);
  int (*read_project_stats)(store_rd *rd, int64_t id, json_t **out);
  int (*read_issues)(store_rd *rd, const store_issue_query *q, json_t **out);
  int (*read_issue)(store_rd *rd, int64_t id, json_t **out);
  int (*read_issue_events)(store_rd *rd, int64_t issue_id, const store_page *p, json_t **out);
  int (*read_event)(store_rd *rd, int64_t project_id, const uint8_t event_id[16], json_t **out);
  int (*read_alerts)(store_rd *rd, int64_t project_id, const char *status, const char *kind,
                     const store_page *p, json_t **out);
  int (*read_workers)(store_rd *rd, int64_t project_id, json_t **out);
  int (*read_worker_memory)(store_rd *rd, store_memory_query *q, json_t **out);
  int (*read_webhooks)(store_rd *rd, int64_t project_id, json_t **out);
  int (*read_deliveries)(store_rd *rd, int64_t webhook_id, const store_page *p, json_t **out);
};

/* --- the neutral layer (storage/store.c) ------------------------------------------------ */

/* The events a webhook subscribes to, and the bit each has in store_webhook.events. */
#define STORE_WEBHOOK_EVENTS(X)                                                                    \
  X("memory_leak", 1)                                                                              \
  X("memory_leak_resolved", 2)                                                                     \
  X("new_issue", 4)                                                                                \
  X("regression", 8)
#define STORE_WEBHOOK_EVENTS_ALL 15u
/* The bit of an event name, 0 when it is not one; and the names of a mask as a JSON array. */
unsigned store_event_bit(const char *name);
json_t *store_json_events(unsigned mask);

/* Opens the store that target names with the backend that serves it. Returns a STORE_*. */
int store_open(const char *target, const store_options *o, store **out);
void store_close(store *s);

/* Document helpers every backend uses, so documents look the same whatever serves them. */
json_t *store_json_time(double t);      /* RFC 3339 string, or null for t <= 0 */
json_t *store_json_text(const char *s); /* string, or null for NULL */
/* {"<name>": list, "next_cursor": "<key>:<id>" or "<id>" when more, else null}; steals list. */
json_t *store_json_page(const char *name, json_t *list, int more, int with_key, double key,
                        int64_t id);
/* Formats a DSN from the public URL ("http://host:port"), key and project id. */
void store_format_dsn(const char *public_url, const char *key, int64_t id, char *buf, size_t cap);

#endif
