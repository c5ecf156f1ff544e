/* delivery: alert notifications to Slack and to signed generic endpoints, from the durable
 * outbox (alerts/outbox.h). Owns the delivery loop (claim due rows through the writer, POST
 * them through http_client, record every attempt through the writer), the per-webhook
 * throttle and the retry schedule. Loop thread; its state is app->delivery. Never touches
 * storage from the loop. */
#ifndef SLUICE_DELIVERY_H
#define SLUICE_DELIVERY_H
#include "core/app.h"

/* After the writer started and app->alerts exists: resets rows a previous process left in
 * flight, and makes the alert sink wake this loop. Returns 0 or -1. */
int delivery_init(app *a);
/* The housekeeping tick: resubmits attempt records not written yet, claims due rows. */
void delivery_tick(app *a, double now);
/* Claims due rows now (after a write added some). */
void delivery_kick(app *a);
/* After the loop stopped, before writer_stop: aborts transfers (their rows stay in the outbox
 * and are retried by the next start) and releases the module. */
void delivery_shutdown(app *a);

/* The retry schedule: the delay after `attempts` failed attempts (0 = the first retry), base
 * scaled by the step and by jitter_factor (0.8..1.2 in use; 1 for none). */
double delivery_retry_delay(double base, int attempts, double jitter_factor);

#endif
