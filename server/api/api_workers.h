/* api_workers: GET /api/v1/projects/{id}/workers and .../workers/{worker}/memory
 * (ROUTE_ADMIN). Loop thread. */
#ifndef SLUICE_API_WORKERS_H
#define SLUICE_API_WORKERS_H
#include "http/router.h"

void api_worker_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_worker_memory(app *a, http_conn *c, http_request *req, const route_params *p);

#endif
