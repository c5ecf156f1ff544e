/* ops: health and metrics. /metrics is rendered on the loop from in-memory counters only
 * (no database reads), so scraping never touches the disk. */
#include "core/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "util/container.h"

void ops_healthz(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)a, (void)req, (void)p;
  static const char ok[] = "{\"status\":\"ok\"}";
  http_respond_static(c, 200, "application/json", "Cache-Control: no-store\r\n", ok, sizeof ok - 1);
}

/* /readyz commits a one-row write through the writer, so it answers for the database as it is
 * now (a read-only or full disk fails it), not for whichever request last failed. */
typedef struct ready_job {
  writer_job job;
  app *a;
  http_conn *c;
  double now;
} ready_job;

static int ready_run(writer_job *wj, store_tx *tx) {
  ready_job *r = container_of(wj, ready_job, job);
  char buf[32];
  snprintf(buf, sizeof buf, "%.3f", r->now);
  return tx->ops->meta_set(tx, "last_ready_check", buf);
}

static void ready_done(writer_job *wj) {
  ready_job *r = container_of(wj, ready_job, job);
  /* Ready when a write commits now and ingest is not failing (a nearly full disk can take a
   * one-row write while rejecting events). */
  if (wj->status >= 0 && !r->a->storage_failing) {
    static const char ok[] = "{\"status\":\"ready\"}";
    http_respond_static(r->c, 200, "application/json", "Cache-Control: no-store\r\n", ok,
                        sizeof ok - 1);
  } else {
    http_respond_error(r->c, 503, "Retry-After: 5\r\n", "database is not writable");
  }
  free(r);
}

void ops_readyz(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)p;
  ready_job *r = calloc(1, sizeof *r);
  if (!r) {
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    return;
  }
  r->a = a;
  r->c = c;
  r->now = req->received_at;
  r->job.run = ready_run;
  r->job.done = ready_done;
  if (writer_submit(a->writer, &r->job) != 0) {
    free(r);
    http_respond_error(c, 503, "Retry-After: 1\r\n", "database writer is saturated");
  }
}

typedef struct out_buf {
  char *p;
  size_t len, cap;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_buf *o, const char *fmt, ...) {
  if (o->len >= o->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

void ops_metrics(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req, (void)p;
  out_buf o = {malloc(65536), 0, 65536};
  if (!o.p) {
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    return;
  }
  const app_counters *k = &a->counters;
  http_stats hs;
  http_server_get_stats(a->http, &hs);
  put(&o, "# HELP sluice_http_responses_total HTTP responses by status class.\n"
          "# TYPE sluice_http_responses_total counter\n");
  for (int i = 1; i <= 5; i++)
    put(&o, "sluice_http_responses_total{class=\"%dxx\"} %llu\n", i,
        (unsigned long long)hs.responses_by_class[i]);
  put(&o, "# HELP sluice_http_requests_total Requests answered, by endpoint and status code.\n"
          "# TYPE sluice_http_requests_total counter\n");
  const char *endpoint;
  for (int e = 0; (endpoint = router_endpoint_name(e)) != NULL; e++) {
    for (int status = 100; status < 600; status++) {
      uint64_t n = http_server_responses(a->http, e, status);
      if (n)
        put(&o, "sluice_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n", endpoint,
            status, (unsigned long long)n);
    }
  }
  put(&o, "# HELP sluice_items_accepted_total Items stored, by type.\n"
          "# TYPE sluice_items_accepted_total counter\n");
  struct {
    const char *name;
    uint64_t v;
  } acc[] = {{"event", k->events_accepted},          {"event_duplicate", k->events_duplicate},
             {"transaction", k->transactions},       {"session", k->sessions},
             {"client_report", k->client_reports},   {"attachment", k->attachments},
             {"memory_sample", k->samples_accepted}, {"skipped", k->items_skipped}};
  for (size_t i = 0; i < sizeof acc / sizeof acc[0]; i++)
    put(&o, "sluice_items_accepted_total{type=\"%s\"} %llu\n", acc[i].name,
        (unsigned long long)acc[i].v);
  put(&o, "# HELP sluice_requests_rejected_total Ingest requests refused, by reason.\n"
          "# TYPE sluice_requests_rejected_total counter\n");
  struct {
    const char *name;
    uint64_t v;
  } rej[] = {{"invalid", k->rejected_invalid},           {"auth", k->rejected_auth},
             {"too_large", k->rejected_too_large},       {"queue_full", k->rejected_queue_full},
             {"rate_limited", k->rejected_rate_limited}, {"storage", k->rejected_storage},
             {"out_of_memory", k->rejected_nomem}};
  for (size_t i = 0; i < sizeof rej / sizeof rej[0]; i++)
    put(&o, "sluice_requests_rejected_total{reason=\"%s\"} %llu\n", rej[i].name,
        (unsigned long long)rej[i].v);
  writer_stats ws;
  writer_get_stats(a->writer, &ws);
  put(&o,
      "# HELP sluice_writer_queue_depth Jobs waiting for the database writer.\n"
      "# TYPE sluice_writer_queue_depth gauge\nsluice_writer_queue_depth %zu\n"
      "# HELP sluice_writer_queue_capacity Writer queue bound.\n"
      "# TYPE sluice_writer_queue_capacity gauge\nsluice_writer_queue_capacity %zu\n",
      ws.queue_depth, ws.queue_cap);
  static const char *const size_le[] = {"1", "4", "16", "64", "256", "1024", "4096", "+Inf"};
  static const char *const time_le[] = {"0.001", "0.002", "0.005", "0.01",
                                        "0.025", "0.05",  "0.1",   "+Inf"};
  put(&o, "# HELP sluice_writer_batch_size Jobs per committed transaction.\n"
          "# TYPE sluice_writer_batch_size histogram\n");
  uint64_t cum = 0;
  for (int i = 0; i < 8; i++) {
    cum += ws.batch_size_buckets[i];
    put(&o, "sluice_writer_batch_size_bucket{le=\"%s\"} %llu\n", size_le[i],
        (unsigned long long)cum);
  }
  put(&o, "sluice_writer_batch_size_sum %llu\nsluice_writer_batch_size_count %llu\n",
      (unsigned long long)ws.jobs, (unsigned long long)ws.batches);
  put(&o, "# HELP sluice_writer_commit_seconds Time per transaction, jobs included.\n"
          "# TYPE sluice_writer_commit_seconds histogram\n");
  cum = 0;
  for (int i = 0; i < 8; i++) {
    cum += ws.commit_us_buckets[i];
    put(&o, "sluice_writer_commit_seconds_bucket{le=\"%s\"} %llu\n", time_le[i],
        (unsigned long long)cum);
  }
  put(&o, "sluice_writer_commit_seconds_sum %.6f\nsluice_writer_commit_seconds_count %llu\n",
      ws.commit_seconds_sum, (unsigned long long)ws.batches);
  put(&o,
      "# HELP sluice_writer_failed_commits_total Transactions that did not commit.\n"
      "# TYPE sluice_writer_failed_commits_total counter\n"
      "sluice_writer_failed_commits_total %llu\n",
      (unsigned long long)ws.failed_commits);
  put(&o,
      "# HELP sluice_checkpoints_total WAL checkpoints, by who ran them.\n"
      "# TYPE sluice_checkpoints_total counter\n"
      "sluice_checkpoints_total{by=\"checkpointer\"} %llu\n"
      "sluice_checkpoints_total{by=\"writer\"} %llu\n"
      "# HELP sluice_checkpoint_failures_total WAL checkpoints that failed (logged).\n"
      "# TYPE sluice_checkpoint_failures_total counter\nsluice_checkpoint_failures_total %llu\n"
      "# HELP sluice_checkpoint_pages_total Pages the checkpointer copied into the database.\n"
      "# TYPE sluice_checkpoint_pages_total counter\nsluice_checkpoint_pages_total %llu\n"
      "# HELP sluice_checkpoint_seconds_total Time the checkpointer spent checkpointing.\n"
      "# TYPE sluice_checkpoint_seconds_total counter\nsluice_checkpoint_seconds_total %.6f\n",
      (unsigned long long)ws.maint_runs, (unsigned long long)ws.maint_inline_runs,
      (unsigned long long)ws.maint_failures, (unsigned long long)ws.maint_pages,
      ws.maint_seconds_sum);
  put(&o,
      "# HELP sluice_connections_open Open client connections.\n"
      "# TYPE sluice_connections_open gauge\nsluice_connections_open %zu\n"
      "# HELP sluice_connections_total Accepted connections.\n"
      "# TYPE sluice_connections_total counter\nsluice_connections_total %llu\n"
      "# HELP sluice_connections_refused_total Connections closed at the connection limit.\n"
      "# TYPE sluice_connections_refused_total counter\nsluice_connections_refused_total %llu\n"
      "# HELP sluice_http_timeouts_total Requests cut off by a timeout.\n"
      "# TYPE sluice_http_timeouts_total counter\nsluice_http_timeouts_total %llu\n",
      hs.connections_open, (unsigned long long)hs.connections_total,
      (unsigned long long)hs.connections_refused, (unsigned long long)hs.timeouts);
  for (int i = 0; i < a->n_metrics; i++) o.len += a->metrics[i](a, o.p + o.len, o.cap - o.len);
  http_respond_take(c, 200, "text/plain; version=0.0.4", "Cache-Control: no-store\r\n", o.p, o.len);
}
