/* memory: loop-side handlers for memory samples and workers. The memstore pointer is only
 * dereferenced on the writer thread (inside jobs and the shutdown flush). */
#include "memory/memory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "sentry/ingest.h"
#include "core/housekeeping.h"
#include "util/log.h"
#include "memory/memory_payload.h"
#include "sqlite/memqueries.h"
#include "sqlite/memstore.h"
#include "core/ops.h"

#define MEM_EXT 3 /* slot in app->ext */

typedef struct mem_job {
  writer_job job;
  app *a;
  http_conn *c;
  int64_t project_id;
  memory_payload payload;
  memstore_result res;
} mem_job;

typedef struct mem_state {
  memstore *store;
  int64_t by_state[3]; /* workers per LEAK_* state, for /metrics (loop thread) */
  int retention_running;
  double next_retention;
} mem_state;

static int mem_run(writer_job *wj, db *d) {
  mem_job *j = container_of(wj, mem_job, job);
  mem_state *st = j->a->ext[MEM_EXT];
  return memstore_ingest(st->store, d, j->project_id, &j->payload, &j->res);
}

static void mem_undone(writer_job *wj) {
  mem_job *j = container_of(wj, mem_job, job);
  mem_state *st = j->a->ext[MEM_EXT];
  memstore_forget(st->store, j->res.worker_id);
}

static void mem_done(writer_job *wj) {
  mem_job *j = container_of(wj, mem_job, job);
  app *a = j->a;
  if (wj->status >= 0) {
    a->storage_failing = 0;
    a->counters.samples_accepted += j->res.accepted;
    mem_state *st = a->ext[MEM_EXT];
    if (j->res.prev_state != j->res.state) {
      if (j->res.prev_state >= 0) st->by_state[j->res.prev_state]--;
      st->by_state[j->res.state]++;
    }
    if (j->res.fired || j->res.resolved)
      log_info("memory leak state changed", "project=%lld worker=\"%s\" fired=%d resolved=%d",
               (long long)j->project_id, j->payload.worker.id, j->res.fired, j->res.resolved);
    char body[64];
    int n = snprintf(body, sizeof body, "{\"accepted\":%zu}", j->payload.n_samples);
    http_respond(j->c, 200, "application/json", NULL, body, (size_t)n);
  } else {
    a->counters.rejected_storage++;
    a->storage_failing = 1;
    http_respond_error(j->c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  }
  memory_payload_free(&j->payload);
  free(j);
}

void ingest_memory(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t project_id;
  char *body;
  size_t len;
  if (ingest_prepare(a, c, req, p, 0, &project_id, &body, &len) < 0) return;
  mem_job *j = calloc(1, sizeof *j);
  if (!j) {
    free(body);
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    return;
  }
  memory_limits lim = memory_limits_default;
  if (lim.max_body_bytes > a->cfg->max_decoded_bytes)
    lim.max_body_bytes = a->cfg->max_decoded_bytes;
  if (lim.max_depth > a->cfg->max_json_depth) lim.max_depth = a->cfg->max_json_depth;
  lim.max_age_s = (double)a->cfg->max_sample_age_days * 86400.0;
  char err[256];
  int rc = memory_payload_parse(body, len, req->received_at, &lim, &j->payload, err, sizeof err);
  free(body);
  if (rc != MEMORY_PAYLOAD_OK) {
    free(j);
    if (rc == MEMORY_PAYLOAD_TOO_BIG) {
      a->counters.rejected_too_large++;
      http_respond_error(c, 413, NULL, err);
    } else if (rc == MEMORY_PAYLOAD_NOMEM) {
      http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    } else {
      a->counters.rejected_invalid++;
      http_respond_error(c, 400, NULL, err);
    }
    return;
  }
  j->a = a;
  j->c = c;
  j->project_id = project_id;
  j->job.run = mem_run;
  j->job.undone = mem_undone;
  j->job.done = mem_done;
  if (writer_submit(a->writer, &j->job) != 0) {
    a->counters.rejected_queue_full++;
    memory_payload_free(&j->payload);
    free(j);
    ingest_respond_rate_limited(c, 1, "", "organization", "server busy, retry later");
  }
}

/* --- workers API ---------------------------------------------------------------------------- */

static int q_list_workers(db *d, api_read *r) {
  r->result = q_workers(d, r->id[0], r->num[0]);
  return r->result ? 0 : -1;
}

void api_worker_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_list_workers);
  if (!r) return;
  r->id[0] = id;
  r->num[0] = req->received_at;
  api_read_submit(r);
}

static int q_memory(db *d, api_read *r) {
  int nf = 0;
  r->result = q_worker_memory(d, r->id[0], r->str[0], r->num[0], r->num[1], r->id[1], &nf);
  if (nf) {
    r->status = 404;
    snprintf(r->detail, sizeof r->detail, "worker not found");
    return 0;
  }
  return r->result ? 0 : -1;
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
  api_read *r = api_read_new(a, c, q_memory);
  if (!r) return;
  r->id[0] = id;
  const char *bad = NULL;
  if (route_param_str(p, 1, r->str[0], sizeof r->str[0]) <= 0)
    bad = "worker id: bad encoding";
  else if (query_time(req, "from", &r->num[0]))
    bad = "from: must be Unix seconds";
  else if (query_time(req, "to", &r->num[1]))
    bad = "to: must be Unix seconds";
  char mp[16];
  r->id[1] = 1000;
  if (!bad && http_query_get(req, "max_points", mp, sizeof mp) >= 0) {
    char *end;
    long v = strtol(mp, &end, 10);
    if (*end || v < 2 || v > 10000)
      bad = "max_points: must be an integer from 2 to 10000";
    else
      r->id[1] = v;
  }
  if (!bad && r->num[0] && r->num[1] && r->num[0] >= r->num[1]) bad = "from: must be before to";
  if (bad) {
    free(r);
    http_respond_error(c, 400, NULL, bad);
    return;
  }
  api_read_submit(r);
}

/* --- lifecycle and retention ------------------------------------------------------------------ */

typedef struct retention_job {
  writer_job job;
  app *a;
  double now;
  int64_t deleted;
} retention_job;

static int retention_run(writer_job *wj, db *d) {
  retention_job *r = container_of(wj, retention_job, job);
  const config *cfg = r->a->cfg;
  r->deleted = memstore_retention(d, r->now, (double)cfg->sample_retention_days,
                                  (double)cfg->rollup_retention_days);
  return r->deleted < 0 ? WRITER_EIO : WRITER_OK;
}

static void retention_done(writer_job *wj) {
  retention_job *r = container_of(wj, retention_job, job);
  mem_state *st = r->a->ext[MEM_EXT];
  if (st) {
    st->retention_running = 0;
    st->next_retention = r->now + (r->deleted >= 5000 ? 1.0 : 30.0);
  }
  free(r);
}

static void memory_tick(app *a, double now) {
  mem_state *st = a->ext[MEM_EXT];
  if (!st || st->retention_running || now < st->next_retention) return;
  retention_job *r = calloc(1, sizeof *r);
  if (!r) return;
  r->a = a;
  r->now = now;
  r->job.run = retention_run;
  r->job.done = retention_done;
  if (writer_submit(a->writer, &r->job) == 0)
    st->retention_running = 1;
  else
    free(r);
}

static size_t memory_metrics(app *a, char *buf, size_t cap) {
  mem_state *st = a->ext[MEM_EXT];
  if (!st) return 0;
  int n =
      snprintf(buf, cap,
               "# HELP sluice_workers Workers by leak state.\n# TYPE sluice_workers gauge\n"
               "sluice_workers{state=\"ok\"} %lld\nsluice_workers{state=\"leaking\"} %lld\n"
               "sluice_workers{state=\"insufficient_data\"} %lld\n",
               (long long)st->by_state[0], (long long)st->by_state[1], (long long)st->by_state[2]);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int memory_init(app *a, db *d) {
  mem_state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  if (memstore_count_states(d, st->by_state) != 0) {
    free(st);
    return -1;
  }
  ops_add_metrics(memory_metrics);
  st->store = memstore_new();
  if (!st->store) {
    free(st);
    return -1;
  }
  a->ext[MEM_EXT] = st;
  housekeeping_add(memory_tick);
  return 0;
}

int memory_final_flush(db *d, void *app_ptr) {
  app *a = app_ptr;
  mem_state *st = a->ext[MEM_EXT];
  if (st && memstore_flush(st->store, d) != 0) {
    log_warn("could not save leak detector states; they will be rebuilt from samples", NULL);
    return -1;
  }
  return 0;
}

void memory_free(app *a) {
  mem_state *st = a->ext[MEM_EXT];
  if (!st) return;
  memstore_free(st->store);
  free(st);
  a->ext[MEM_EXT] = NULL;
}
