/* memory: the memory endpoint's loop side. The memstore is only dereferenced on the writer
 * thread (inside jobs, which carry a pointer to it, and the shutdown flush). */
#include "memory/memory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memory/memory_payload.h"
#include "memory/memstore.h"
#include "core/status.h"
#include "sentry/ingest.h"
#include "util/container.h"
#include "util/log.h"

typedef struct mem_job {
  writer_job job;
  memstore *store;  /* writer thread */
  alert_sink *sink; /* thread-safe */
  app *a;           /* loop thread only (done) */
  http_conn *c;
  int64_t project_id;
  memory_payload payload;
  memstore_result res;
} mem_job;

typedef struct mem_state mem_state;
struct mem_state {
  memstore *store;     /* writer thread only */
  int64_t by_state[3]; /* workers per LEAK_* state, for /metrics (loop thread) */
};

static int mem_run(writer_job *wj, store_tx *tx) {
  mem_job *j = container_of(wj, mem_job, job);
  return memstore_ingest(j->store, tx, j->sink, j->project_id, &j->payload, &j->res);
}

static void mem_undone(writer_job *wj) {
  mem_job *j = container_of(wj, mem_job, job);
  memstore_forget(j->store, j->res.worker_id);
}

static void mem_done(writer_job *wj) {
  mem_job *j = container_of(wj, mem_job, job);
  app *a = j->a;
  if (wj->status >= 0) {
    a->storage_failing = 0;
    a->counters.samples_accepted += j->res.accepted;
    mem_state *st = a->memory;
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
    status_respond(j->c, wj->status, "worker", NULL);
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
    ingest_respond_nomem(a, c);
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
      ingest_respond_nomem(a, c);
    } else {
      a->counters.rejected_invalid++;
      http_respond_error(c, 400, NULL, err);
    }
    return;
  }
  j->store = a->memory->store;
  j->sink = a->alerts;
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

/* --- lifecycle ------------------------------------------------------------------------------- */

static size_t memory_metrics(app *a, char *buf, size_t cap) {
  mem_state *st = a->memory;
  if (!st) return 0;
  int n =
      snprintf(buf, cap,
               "# HELP sluice_workers Workers by leak state.\n# TYPE sluice_workers gauge\n"
               "sluice_workers{state=\"ok\"} %lld\nsluice_workers{state=\"leaking\"} %lld\n"
               "sluice_workers{state=\"insufficient_data\"} %lld\n",
               (long long)st->by_state[0], (long long)st->by_state[1], (long long)st->by_state[2]);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int count_states(store_tx *tx, void *arg) {
  return memstore_count_states(tx, arg);
}

int memory_init(app *a) {
  mem_state *st = calloc(1, sizeof *st);
  if (!st) return -1;
  if (writer_call_sync(a->writer, count_states, st->by_state) != STORE_OK ||
      !(st->store = memstore_new())) {
    free(st);
    return -1;
  }
  a->memory = st;
  app_add_metrics(a, memory_metrics);
  return 0;
}

memstore *memory_writer_state(app *a) {
  return a->memory ? a->memory->store : NULL;
}

int memory_final_flush(store_tx *tx, void *memstore_ptr) {
  if (memstore_ptr && memstore_flush(memstore_ptr, tx) != STORE_OK) {
    log_warn("could not save leak detector states; they will be rebuilt from samples", NULL);
    return STORE_EIO;
  }
  return STORE_OK;
}

void memory_free(app *a) {
  mem_state *st = a->memory;
  if (!st) return;
  memstore_free(st->store);
  free(st);
  a->memory = NULL;
}
