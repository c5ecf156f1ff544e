/* api_webhooks: the webhook endpoints (ROUTE_ADMIN): POST/GET /api/v1/projects/{id}/webhooks,
 * DELETE /api/v1/webhooks/{id}, POST .../test, GET .../deliveries. Loop thread. */
#ifndef SLUICE_API_WEBHOOKS_H
#define SLUICE_API_WEBHOOKS_H
#include "http/router.h"

void webhooks_create(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_list(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_delete(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_test(app *a, http_conn *c, http_request *req, const route_params *p);
void webhooks_deliveries(app *a, http_conn *c, http_request *req, const route_params *p);

#endif
