/* outbox: the webhooks table and the durable delivery outbox (one row per message and webhook,
 * plus a log of every attempt). Writer-thread functions run inside the caller's transaction;
 * the outbox_q_* reads run on a reader-pool connection. Never called on the loop thread.
 *
 * Invariants: a delivery row exists (committed with its alert) before anything is sent; a row
 * is 'sending' only while a process holds it (start-up turns 'sending' back into 'pending', so
 * a transfer cut short by a crash is simply retried); 'delivered' is written only after a 2xx
 * and such a row is never picked again. Status: pending | sending | delivered | failed |
 * digested (merged into a digest row) | cancelled (webhook disabled). */
#ifndef SLUICE_OUTBOX_H
#define SLUICE_OUTBOX_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "sqlite/alerts.h"
#include "sqlite/db.h"

#define OUTBOX_URL_MAX    2048
#define OUTBOX_SECRET_MAX 128
#define OUTBOX_MSGID_MAX  48

/* Event names a webhook may subscribe to, and the bit each has in a webhook's mask. */
enum {
  OUTBOX_EV_MEMORY_LEAK = 1,
  OUTBOX_EV_MEMORY_LEAK_RESOLVED = 2,
  OUTBOX_EV_NEW_ISSUE = 4,
  OUTBOX_EV_REGRESSION = 8,
};
/* Bit for an event name, 0 when unknown. */
unsigned outbox_event_bit(const char *name);

typedef struct outbox_webhook {
  int64_t id; /* set by outbox_webhook_create */
  int64_t project_id;
  char url[OUTBOX_URL_MAX + 1];
  char kind[8];                       /* slack | generic */
  unsigned events;                    /* OUTBOX_EV_* mask */
  char secret[OUTBOX_SECRET_MAX + 1]; /* "whsec_..." for generic, "" for slack */
  double created_at;
} outbox_webhook;

/* One claimed delivery, ready to send (strings owned; release with outbox_item_clear). */
typedef struct outbox_item {
  int64_t delivery_id, webhook_id, project_id;
  char event[32];                /* memory_leak, ..., new_issue_digest, test */
  char msg_id[OUTBOX_MSGID_MAX]; /* webhook-id: the same on every attempt */
  char kind[8];
  char *url, *secret, *data; /* data: JSON text written at enqueue time */
  int attempts;              /* before this one */
  double created_at;
} outbox_item;

/* How an attempt ended, as the delivery side decided it. */
typedef struct outbox_result {
  int64_t delivery_id, webhook_id;
  double at; /* attempt start */
  int duration_ms;
  long status_code;       /* 0 when no response */
  const char *outcome;    /* static text for the log: delivered, retry, refused, gave_up, gone */
  char error[256];        /* "" when none */
  int delivered;          /* 2xx came back */
  int gone;               /* 410: disable the webhook */
  double next_attempt_at; /* > 0: retry then; 0 and not delivered: give up */
} outbox_result;

/* --- writer thread ---------------------------------------------------------------------- */

int outbox_webhook_create(db *d, outbox_webhook *w);
/* Deletes a webhook with its deliveries and their log. WRITER_ENOTFOUND when absent. */
int outbox_webhook_delete(db *d, int64_t id);
/* Queues a "test" message. WRITER_ENOTFOUND (no webhook) or WRITER_EINVAL (disabled). */
int outbox_enqueue_test(db *d, int64_t webhook_id, double now, int64_t *delivery_id,
                        char msg_id[OUTBOX_MSGID_MAX]);
/* Alert hook body: one row per enabled webhook of the project subscribed to a->kind. A
 * new_issue row is due now unless the webhook had one within digest_window seconds; then it
 * waits the window so that the picker merges the burst into one digest. Returns the number
 * of rows written (>= 0) or WRITER_EIO. */
int outbox_enqueue_alert(db *d, const alert_record *a, double digest_window);
/* Start-up: rows left 'sending' by a previous process become 'pending' again. */
int outbox_reset_sending(db *d);
/* Claims at most max due rows, at most one per webhook, skipping the webhooks in exclude
 * (busy or throttled); each becomes 'sending'. A never-tried new_issue row takes every other
 * never-tried new_issue row of its webhook along into a new 'new_issue_digest' row. Fills
 * out[0..*n). Returns 0 or WRITER_EIO (then out holds nothing). */
int outbox_claim(db *d, double now, const int64_t *exclude, size_t n_exclude, size_t max,
                 outbox_item *out, size_t *n);
void outbox_item_clear(outbox_item *it);
/* Logs an attempt and moves the row on (delivered / pending again / failed); a 'gone' result
 * disables the webhook and cancels its other pending rows. Idempotent. */
int outbox_record(db *d, const outbox_result *r);
/* Deletes up to batch finished deliveries (and attempts) older than cutoff; *deleted counts. */
int outbox_retention(db *d, double cutoff, int batch, int64_t *deleted);

/* --- reader pool ------------------------------------------------------------------------ */

/* {"webhooks": [...]} of a project (secrets are not listed). NULL on a database error. */
json_t *outbox_q_webhooks(db *d, int64_t project_id);
/* {"deliveries": [{..., "log": [attempts]}], "next_cursor"}, newest first. */
json_t *outbox_q_deliveries(db *d, int64_t webhook_id, const char *cursor, int64_t limit,
                            int *not_found);

#endif
