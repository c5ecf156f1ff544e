/* router: the one table of routes (method, pattern, handler, flags) and dispatch. Patterns are
 * '/'-separated: ":name" matches one segment, "*" the rest of the path; a trailing '/' is
 * optional. Routes flagged ROUTE_ADMIN need the admin token or a dashboard session (401);
 * ROUTE_CORS routes get CORS headers and an answered OPTIONS preflight. Loop thread only. */
#ifndef SLUICE_ROUTER_H
#define SLUICE_ROUTER_H
#include <stdint.h>

#include "core/app.h"
#include "http/http.h"

#define ROUTE_MAX_PARAMS 4

typedef struct route_params {
  int n;
  const char *seg[ROUTE_MAX_PARAMS]; /* raw (percent-encoded) segment, not NUL-terminated */
  size_t len[ROUTE_MAX_PARAMS];
} route_params;

typedef void (*route_fn)(app *a, http_conn *c, http_request *req, const route_params *p);

/* The http_handler for http_server_new (ctx is the app). */
void router_dispatch(http_conn *c, http_request *req, void *ctx);

/* Matches path against one pattern and fills p with its ":name" segments (raw, pointing into
 * path). Returns 1 on a match, else 0; a ":name" never matches an empty segment, and a
 * pattern with more than ROUTE_MAX_PARAMS of them matches nothing. */
int router_match(const char *pattern, const char *path, route_params *p);

/* Finds the first route in the table for method and path. Returns its endpoint tag (see
 * router_endpoint_name) with p filled and *status 0, or 0 when no route takes them: then
 * *status is 405 when the path has a route for another method (catch-all routes aside), else
 * 404. *cors is 1 when the route found is a ROUTE_CORS one or, when none is, when a ROUTE_CORS
 * route has the path for another method (so that OPTIONS gets its preflight answer). */
int router_find(int method, const char *path, route_params *p, int *status, int *cors);

/* The endpoint behind an http_conn_set_endpoint tag, as "METHOD pattern" ("other" for 0: no
 * route matched, or the request failed before routing); NULL past the last route. */
const char *router_endpoint_name(int endpoint);

/* Parses param i as a positive decimal int64. Returns 0 or -1. */
int route_param_i64(const route_params *p, int i, int64_t *out);
/* Percent-decodes param i into buf. Returns length or -1. */
long route_param_str(const route_params *p, int i, char *buf, size_t cap);

#endif
