/* ops: operational endpoints: /healthz (process is up), /readyz (database writable),
 * /metrics (Prometheus text format). Loop thread. */
#ifndef SLUICE_OPS_H
#define SLUICE_OPS_H
#include "http/router.h"

void ops_healthz(app *a, http_conn *c, http_request *req, const route_params *p);
void ops_readyz(app *a, http_conn *c, http_request *req, const route_params *p);
void ops_metrics(app *a, http_conn *c, http_request *req, const route_params *p);

#endif
