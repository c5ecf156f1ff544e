/* router: static route table and matching. Adding an endpoint is one row here plus its
 * handler in the module that owns it. Counts every answer's status class for /metrics. */
#include "http/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "sentry/ingest.h"
#include "api/session.h"
#include "http/static_files.h"
#include "core/ops.h"
#include "api/api_webhooks.h"
#include "api/api_workers.h"
#include "memory/memory.h"
#include "util/hex.h"

enum { ROUTE_PUBLIC = 0, ROUTE_ADMIN = 1, ROUTE_CORS = 2 };

typedef struct route {
  int method;
  const char *name;    /* "METHOD pattern": the endpoint's name in /metrics */
  const char *pattern; /* points into name */
  route_fn fn;
  int flags;
} route;

/* One row: ROUTE(GET, "/healthz", fn, flags). The name is built at compile time. */
#define ROUTE(m, pat, fn, flags)                                                                   \
  { HTTP_##m, #m " " pat, #m " " pat + sizeof #m, fn, flags }

#define WRAP(name, call)                                                                           \
  static void name(app *a, http_conn *c, http_request *req, const route_params *p) {               \
    (void)p;                                                                                       \
    call;                                                                                          \
  }
WRAP(r_session_create, session_handle_create(a, c, req))
WRAP(r_session_get, session_handle_get(a, c, req))
WRAP(r_session_delete, session_handle_delete(a, c, req))

static const route routes[] = {
    ROUTE(GET, "/healthz", ops_healthz, ROUTE_PUBLIC),
    ROUTE(GET, "/readyz", ops_readyz, ROUTE_PUBLIC),
    ROUTE(GET, "/metrics", ops_metrics, ROUTE_PUBLIC),
    /* Sentry-compatible ingest (key auth inside the handlers) */
    ROUTE(POST, "/api/:project/envelope", ingest_envelope, ROUTE_CORS),
    ROUTE(POST, "/api/:project/store", ingest_store, ROUTE_CORS),
    ROUTE(POST, "/api/:project/memory", ingest_memory, ROUTE_CORS),
    /* dashboard sign-in */
    ROUTE(POST, "/api/v1/session", r_session_create, ROUTE_PUBLIC),
    ROUTE(GET, "/api/v1/session", r_session_get, ROUTE_PUBLIC),
    ROUTE(DELETE, "/api/v1/session", r_session_delete, ROUTE_PUBLIC),
    /* management API */
    ROUTE(POST, "/api/v1/projects", api_project_create, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects", api_project_list, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project", api_project_get, ROUTE_ADMIN),
    ROUTE(PATCH, "/api/v1/projects/:project", api_project_update, ROUTE_ADMIN),
    ROUTE(DELETE, "/api/v1/projects/:project", api_project_delete, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/issues", api_issue_list, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/events/:event", api_event_get, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/stats", api_project_stats, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/workers", api_worker_list, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/workers/:worker/memory", api_worker_memory, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/alerts", api_alert_list, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/issues/:issue", api_issue_get, ROUTE_ADMIN),
    ROUTE(PATCH, "/api/v1/issues/:issue", api_issue_update, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/issues/:issue/events", api_issue_events, ROUTE_ADMIN),
    ROUTE(POST, "/api/v1/projects/:project/webhooks", webhooks_create, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/projects/:project/webhooks", webhooks_list, ROUTE_ADMIN),
    ROUTE(DELETE, "/api/v1/webhooks/:webhook", webhooks_delete, ROUTE_ADMIN),
    ROUTE(POST, "/api/v1/webhooks/:webhook/test", webhooks_test, ROUTE_ADMIN),
    ROUTE(GET, "/api/v1/webhooks/:webhook/deliveries", webhooks_deliveries, ROUTE_ADMIN),
    /* dashboard files */
    ROUTE(GET, "/*", static_files_get, ROUTE_PUBLIC),
    ROUTE(HEAD, "/*", static_files_get, ROUTE_PUBLIC),
};
#define N_ROUTES (sizeof routes / sizeof routes[0])
_Static_assert(N_ROUTES < HTTP_ENDPOINTS, "every route needs its own endpoint tag");

const char *router_endpoint_name(int endpoint) {
  if (endpoint < 0 || (size_t)endpoint > N_ROUTES) return NULL;
  return endpoint == 0 ? "other" : routes[endpoint - 1].name;
}

int router_match(const char *pattern, const char *path, route_params *p) {
  p->n = 0;
  const char *pp = pattern, *sp = path;
  for (;;) {
    if (pp[0] == '*') return 1; /* checked first, so the catch-all also matches "/" */
    if (*pp == '\0') return *sp == '\0' || (sp[0] == '/' && sp[1] == '\0');
    if (*sp == '\0') return pp[0] == '/' && pp[1] == '\0';
    if (pp[0] == ':') {
      const char *pend = strchr(pp, '/');
      if (!pend) pend = pp + strlen(pp);
      const char *send = strchr(sp, '/');
      if (!send) send = sp + strlen(sp);
      if (send == sp || p->n == ROUTE_MAX_PARAMS) return 0;
      p->seg[p->n] = sp;
      p->len[p->n] = (size_t)(send - sp);
      p->n++;
      pp = pend;
      sp = send;
      continue;
    }
    if (*pp != *sp) return 0;
    pp++, sp++;
  }
}

int route_param_i64(const route_params *p, int i, int64_t *out) {
  if (i >= p->n || p->len[i] == 0 || p->len[i] > 18) return -1;
  int64_t v = 0;
  for (size_t k = 0; k < p->len[i]; k++) {
    char ch = p->seg[i][k];
    if (ch < '0' || ch > '9') return -1;
    v = v * 10 + (ch - '0');
  }
  if (v <= 0) return -1;
  *out = v;
  return 0;
}

long route_param_str(const route_params *p, int i, char *buf, size_t cap) {
  if (i >= p->n) return -1;
  return hex_percent_decode(p->seg[i], p->len[i], buf, cap, false); /* '+' is literal in a path */
}

int router_find(int method, const char *path, route_params *p, int *status, int *cors) {
  int path_matched = 0;
  *cors = 0;
  for (size_t i = 0; i < N_ROUTES; i++) {
    const route *r = &routes[i];
    if (!router_match(r->pattern, path, p)) continue;
    if (r->flags & ROUTE_CORS) *cors = 1;
    if (r->method != method) {
      if (r->pattern[1] != '*') path_matched = 1;
      continue;
    }
    *status = 0;
    *cors = (r->flags & ROUTE_CORS) != 0;
    return (int)i + 1;
  }
  *status = path_matched ? 405 : 404;
  return 0;
}

void router_dispatch(http_conn *c, http_request *req, void *ctx) {
  app *a = ctx;
  route_params p;
  int status, cors;
  int endpoint = router_find(req->method, req->path, &p, &status, &cors);
  if (endpoint) {
    const route *r = &routes[endpoint - 1];
    http_conn_set_endpoint(c, endpoint);
    if (cors) http_conn_set_cors(c);
    if ((r->flags & ROUTE_ADMIN) && !app_admin_authorized(a, req)) {
      http_respond_error(c, 401, "WWW-Authenticate: Bearer\r\n",
                         "missing or wrong admin token (Authorization: Bearer <token>)");
      return;
    }
    r->fn(a, c, req, &p);
    return;
  }
  if (req->method == HTTP_OPTIONS && cors) {
    http_conn_set_cors(c);
    http_respond(c, 204, NULL,
                 "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
                 "Access-Control-Allow-Headers: content-type, content-encoding, x-sentry-auth, "
                 "authorization, sentry-trace, baggage\r\n"
                 "Access-Control-Max-Age: 86400\r\n",
                 NULL, 0);
    return;
  }
  if (status == 405) {
    http_respond_error(c, 405, NULL, "method not allowed for this path");
    return;
  }
  http_respond_error(c, 404, NULL, "no such endpoint");
}
