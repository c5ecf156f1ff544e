/* outbox: what goes into the durable delivery outbox and what comes out of it, on the writer
 * thread inside the writer's transaction. An alert becomes one row per enabled webhook of its
 * project that subscribed to its kind (a new_issue row waits for the digest window when the
 * webhook had one just before); a claim takes the due rows, at most one per webhook, and merges
 * a webhook's never-tried new_issue rows into one new_issue_digest row.
 *
 * Invariants: a delivery row exists (committed with its alert) before anything is sent; a row
 * is 'sending' only while a process holds it (start-up turns 'sending' back into 'pending', so
 * a transfer cut short by a crash is simply retried); 'delivered' is written only after a 2xx
 * and such a row is never picked again. */
#ifndef SLUICE_OUTBOX_H
#define SLUICE_OUTBOX_H
#include <stddef.h>
#include <stdint.h>

#include "alerts/alerts.h"
#include "store.h"

#define OUTBOX_WEBHOOKS_MAX 32 /* per project */

/* Queues r for every subscribed webhook; *written receives how many rows. */
int outbox_enqueue_alert(store_tx *tx, const alert_record *r, double digest_window, int *written);
/* Queues a "test" message. ENOTFOUND (no webhook) or ECONFLICT (disabled). */
int outbox_enqueue_test(store_tx *tx, int64_t webhook_id, double now, int64_t *delivery_id,
                        char msg_id[STORE_MSGID_MAX]);
/* Claims at most max due rows, at most one per webhook, skipping the webhooks in exclude (busy
 * or throttled); each becomes 'sending'. Fills out[0..*n); on failure out holds nothing. */
int outbox_claim(store_tx *tx, double now, const int64_t *exclude, size_t n_exclude, size_t max,
                 store_item *out, size_t *n);

#endif
