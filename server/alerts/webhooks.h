/* webhooks: alert notifications to Slack and to signed generic endpoints, from the durable
 * outbox (storage/sqlite/outbox.h). Owns the alert hook (rows are written in the alert's own
 * transaction), the delivery loop (claim due rows through the writer, POST them through
 * http_client, record every attempt through the writer), the per-webhook throttle, backoff, and the
 * /api/v1 webhook endpoints. Loop thread, except the alert hook (writer thread). Never touches
 * SQLite from the loop. State lives in app->ext[WEBHOOKS_EXT]. */
#ifndef SLUICE_WEBHOOKS_H
#define SLUICE_WEBHOOKS_H
#include <stddef.h>

#include "http/router.h"

#define WEBHOOKS_EXT 2 /* slot in app->ext */

/* After the writer started: resets rows a previous process left in flight, installs the
 * alert hook, the housekeeping tick and the metrics. Returns 0 or -1. */
int webhooks_init(app *a);
/* After the loop stopped, before writer_stop: aborts transfers (their rows stay in the
 * outbox and are retried by the next start) and releases the module. */
void webhooks_shutdown(app *a);

/* Routes (ROUTE_ADMIN). */
void webhooks_create(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_list(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_delete(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_test(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_deliveries(app *a, http_conn *c, http_request *req, const route_params *p);

#endif
