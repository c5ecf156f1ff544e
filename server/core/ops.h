/* ops: operational endpoints: /healthz (process is up), /readyz (database writable),
 * /metrics (Prometheus text format). Loop thread. */
#ifndef SLUICE_OPS_H
#define SLUICE_OPS_H
#include "http/router.h"

void ops_healthz(app *a, http_conn *c, http_request *req, const route_params *p);
void ops_readyz(app *a, http_conn *c, http_request *req, const route_params *p);
void ops_metrics(app *a, http_conn *c, http_request *req, const route_params *p);

/* Extra metric lines appended by other modules (webhooks, memory); each writes complete
 * Prometheus lines into buf and returns the bytes written. */
typedef size_t (*ops_metrics_fn)(app *a, char *buf, size_t cap);
void ops_add_metrics(ops_metrics_fn fn);

#endif
