/* api_workers: the workers endpoints: the list of a project's workers and one worker's memory
 * chart (points, lives, trend, alert markers, top growing allocation sites). Loop thread
 * validates; the reads run on the reader pool. */
#include "api/api_workers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "memory/memstore.h"
#include "util/container.h"

typedef struct worker_read {
  api_read base;
  store_memory_query q;
  char name[256];
} worker_read;

static int q_list_workers(api_read *r, store_rd *rd) {
  worker_read *w = container_of(r, worker_read, base);
  return rd->ops->read_workers(rd, w->q.project_id, &r->result);
}

void api_worker_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  worker_read *w = api_read_new(c, sizeof *w, "project", q_list_workers);
  if (!w) return;
  w->q.project_id = id;
  api_read_submit(a, &w->base);
}

/* The chart, with the top growing allocation sites since the start of the current life. */
static int q_memory(api_read *r, store_rd *rd) {
  worker_read *w = container_of(r, worker_read, base);
  int rc = rd->ops->read_worker_memory(rd, &w->q, &r->result);
  if (rc == STORE_OK) {
    json_t *growing = memstore_top_growing(w->q.alloc_baseline, w->q.alloc_latest, 10);
    if (!growing || json_object_set_new(r->result, "top_growing", growing)) rc = STORE_ENOMEM;
  }
  return rc;
}

static void memory_read_cleanup(api_read *r) {
  worker_read *w = container_of(r, worker_read, base);
  free(w->q.alloc_baseline);
  free(w->q.alloc_latest);
}

/* Parses an optional Unix-seconds query parameter; 0 when absent. -1 when malformed. */
static int query_time(http_request *req, const char *name, double *out) {
  char buf[40];
  *out = 0;
  if (http_query_get(req, name, buf, sizeof buf) < 0 || !buf[0]) return 0;
  char *end;
  double v = strtod(buf, &end);
  if (*end || !isfinite(v) || v < 0) return -1;
  *out = v;
  return 0;
}

void api_worker_memory(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  worker_read *w = api_read_new(c, sizeof *w, "worker", q_memory);
  if (!w) return;
  w->base.cleanup = memory_read_cleanup;
  w->q.project_id = id;
  w->q.worker = w->name;
  w->q.max_points = 1000;
  const char *bad = NULL;
  if (route_param_str(p, 1, w->name, sizeof w->name) <= 0)
    bad = "worker id: bad encoding";
  else if (query_time(req, "from", &w->q.from))
    bad = "from: must be Unix seconds";
  else if (query_time(req, "to", &w->q.to))
    bad = "to: must be Unix seconds";
  char mp[16];
  if (!bad && http_query_get(req, "max_points", mp, sizeof mp) >= 0) {
    char *end;
    long v = strtol(mp, &end, 10);
    if (*end || v < 2 || v > 10000)
      bad = "max_points: must be an integer from 2 to 10000";
    else
      w->q.max_points = v;
  }
  if (!bad && w->q.from && w->q.to && w->q.from >= w->q.to) bad = "from: must be before to";
  if (bad) {
    api_read_free(&w->base);
    http_respond_error(c, 400, NULL, bad);
    return;
  }
  api_read_submit(a, &w->base);
}
