/* webhooks: the delivery side of the outbox and the webhook API. Loop thread, except on_alert
 * (writer thread, inside the alert's transaction) which only writes rows and wakes the loop.
 *
 * Delivery cycle: a claim job (writer) marks due rows 'sending', at most one per webhook and
 * none for a webhook that is busy or sent less than THROTTLE_S ago; each is POSTed through
 * http_client; the outcome goes back to the writer as a record job. A record that cannot be
 * written yet is kept and resubmitted on the next tick, never dropped. Claims run on the
 * housekeeping tick (1 s) and when the hook or the test endpoint adds rows.
 *
 * Lifetime: the state is freed when the module reference, the kick handle and every writer
 * job it submitted are gone (done() callbacks may run inside writer_stop, after shutdown). */
#include "alerts/webhooks.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/alerts.h"
#include "api/api.h"
#include "util/crypto.h"
#include "core/housekeeping.h"
#include "http/http_client.h"
#include "util/log.h"
#include "core/ops.h"
#include "sqlite/outbox.h"
#include "util/timefmt.h"
#include "alerts/webhook_msg.h"

#define MAX_IN_FLIGHT   16    /* transfers at once, all webhooks together */
#define THROTTLE_S      0.9   /* per webhook: one message about every second (Slack's limit) */
#define TIMEOUT_MS      10000 /* a 2xx must come back within this */
#define HORIZON_FACTOR  17280 /* give up after base * this (one day for the 5 s default) */
#define RETENTION_EVERY 60.0  /* seconds between delivery-retention passes */
#define RETENTION_BATCH 2000

/* Retry delays as multiples of the base (5 s: 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h). */
static const double backoff_steps[] = {1, 6, 24, 120, 360, 1440, 4320, 8640};

typedef struct pace {
  int64_t webhook_id;
  double last_start; /* wall clock of the last POST */
  int busy;          /* a POST is in flight */
} pace;

typedef struct sending sending;
typedef struct record_job record_job;

typedef struct wh {
  app *a;
  http_client *http;
  uv_async_t kick; /* wakes the loop when the hook wrote rows */
  int refs;        /* module + kick handle + writer jobs in flight */
  int stopping;
  int claim_running, claim_again;
  pace *paces;
  size_t n_paces, paces_cap;
  sending *sendings;      /* POSTs in flight */
  record_job *unrecorded; /* attempt records waiting to be (re)submitted */
  int retention_running;
  double next_retention;
  /* counters for /metrics */
  uint64_t n_delivered, n_retry, n_refused, n_gave_up, n_gone, n_claimed;
} wh;

struct sending {
  wh *w;
  outbox_item it;
  double at;
  sending *prev, *next;
};

struct record_job {
  writer_job job;
  wh *w;
  outbox_result r;
  record_job *next; /* unrecorded list */
};

typedef struct claim_job {
  writer_job job;
  wh *w;
  double now;
  int64_t *exclude;
  size_t n_exclude, max, n;
  outbox_item items[MAX_IN_FLIGHT];
} claim_job;

typedef struct retention_job {
  writer_job job;
  wh *w;
  double cutoff;
  int64_t deleted;
} retention_job;

/* The hook outlives nothing: it reads only these, set once at init, and wakes the loop
 * through kick only while kick_open (under kick_mu, so shutdown can close the handle). */
static double hook_digest_window;
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *kick_handle;

static void wh_unref(wh *w) {
  if (--w->refs > 0) return;
  free(w->paces);
  free(w);
}

static wh *state(app *a) {
  return a->ext[WEBHOOKS_EXT];
}

/* --- delivery ----------------------------------------------------------------------------- */

static pace *pace_get(wh *w, int64_t webhook_id) {
  for (size_t i = 0; i < w->n_paces; i++) {
    if (w->paces[i].webhook_id == webhook_id) return &w->paces[i];
  }
  if (w->n_paces == w->paces_cap) {
    size_t cap = w->paces_cap ? w->paces_cap * 2 : 16;
    pace *p = realloc(w->paces, cap * sizeof *p);
    if (!p) return NULL;
    w->paces = p;
    w->paces_cap = cap;
  }
  pace *p = &w->paces[w->n_paces++];
  memset(p, 0, sizeof *p);
  p->webhook_id = webhook_id;
  return p;
}

static void record_submit(wh *w, record_job *rj);

static void record_done(writer_job *j) {
  record_job *rj = container_of(j, record_job, job);
  wh *w = rj->w;
  if (j->status < 0 && !w->stopping) {
    /* Not written: keep it and try again on the next tick (the row stays 'sending'). */
    rj->next = w->unrecorded;
    w->unrecorded = rj;
  } else {
    if (j->status < 0)
      log_warn("webhook attempt not recorded; it will be retried after restart", "delivery=%lld",
               (long long)rj->r.delivery_id);
    free(rj);
  }
  wh_unref(w);
}

static int record_run(writer_job *j, db *d) {
  record_job *rj = container_of(j, record_job, job);
  return outbox_record(d, &rj->r);
}

static void record_submit(wh *w, record_job *rj) {
  rj->job.run = record_run;
  rj->job.done = record_done;
  w->refs++;
  if (writer_submit(w->a->writer, &rj->job) != 0) {
    w->refs--;
    rj->next = w->unrecorded;
    w->unrecorded = rj;
  }
}

static double jitter(void) {
  uint32_t r = 0;
  random_bytes(&r, sizeof r);
  return 0.8 + 0.4 * ((double)r / 4294967295.0);
}

/* Turns a transfer's result into the attempt record: delivered, retry when, or give up. */
static void decide(wh *w, const sending *s, const http_client_result *res, outbox_result *r) {
  const config *cfg = w->a->cfg;
  double base = (double)cfg->webhook_retry_base_ms / 1000.0;
  r->delivery_id = s->it.delivery_id;
  r->webhook_id = s->it.webhook_id;
  r->at = s->at;
  r->duration_ms = (int)(res->duration * 1000);
  r->status_code = res->status;
  long st = res->status;
  if (st >= 200 && st < 300) {
    r->delivered = 1;
    r->outcome = "delivered";
    w->n_delivered++;
    return;
  }
  if (st == 410) {
    r->gone = 1;
    r->outcome = "gone";
    snprintf(r->error, sizeof r->error, "HTTP 410 Gone: the webhook is now disabled");
    w->n_gone++;
    return;
  }
  if (st >= 300 && st < 400)
    snprintf(r->error, sizeof r->error, "HTTP %ld: redirects are not followed", st);
  else if (st > 0)
    snprintf(r->error, sizeof r->error, "HTTP %ld%s%.200s", st, res->body[0] ? ": " : "",
             res->body);
  else
    snprintf(r->error, sizeof r->error, "%s", res->error);
  int n = s->it.attempts; /* attempts before this one */
  size_t steps = sizeof backoff_steps / sizeof backoff_steps[0];
  double delay = base * backoff_steps[(size_t)n < steps ? (size_t)n : steps - 1] * jitter();
  r->outcome = res->refused ? "refused" : "retry";
  if ((st == 429 || st == 503) && res->retry_after >= 0) {
    delay = res->retry_after < 1 ? 1 : res->retry_after > 86400 ? 86400 : res->retry_after;
    r->outcome = "retry_after";
  }
  double next = s->at + delay;
  if (next > s->it.created_at + base * HORIZON_FACTOR) {
    r->outcome = "gave_up";
    r->next_attempt_at = 0;
    w->n_gave_up++;
    return;
  }
  r->next_attempt_at = next;
  if (res->refused)
    w->n_refused++;
  else
    w->n_retry++;
}

static void sending_free(wh *w, sending *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    w->sendings = s->next;
  if (s->next) s->next->prev = s->prev;
  outbox_item_clear(&s->it);
  free(s);
}

static void on_sent(void *arg, const http_client_result *res) {
  sending *s = arg;
  wh *w = s->w;
  pace *p = pace_get(w, s->it.webhook_id);
  if (p) p->busy = 0;
  record_job *rj = calloc(1, sizeof *rj);
  if (rj) {
    rj->w = w;
    decide(w, s, res, &rj->r);
    log_write(rj->r.delivered ? LOG_DEBUG : LOG_INFO, "webhook attempt",
              "webhook=%lld delivery=%lld outcome=%s status=%ld error=\"%s\"",
              (long long)s->it.webhook_id, (long long)s->it.delivery_id, rj->r.outcome, res->status,
              rj->r.error);
    record_submit(w, rj);
  } else {
    log_error("out of memory recording a webhook attempt", "delivery=%lld",
              (long long)s->it.delivery_id);
  }
  sending_free(w, s);
}

/* Builds the message and starts the POST; a failure to start counts as a failed attempt. */
static void send_item(wh *w, outbox_item *it) {
  sending *s = calloc(1, sizeof *s);
  if (!s) {
    outbox_item_clear(it);
    return;
  }
  s->w = w;
  s->it = *it;
  s->at = app_now();
  s->next = w->sendings;
  if (w->sendings) w->sendings->prev = s;
  w->sendings = s;
  pace *p = pace_get(w, it->webhook_id);
  if (p) {
    p->busy = 1;
    p->last_start = s->at;
  }
  const char *base = w->a->cfg->public_url;
  int generic = strcmp(s->it.kind, "slack") != 0;
  char *body = generic ? webhook_msg_generic(s->it.event, s->it.msg_id, s->it.data, base)
                       : webhook_msg_slack(s->it.event, s->it.data, base);
  char h_id[96], h_ts[64], h_sig[128];
  const char *headers[4] = {"Content-Type: application/json", h_id, h_ts, h_sig};
  size_t n_headers = 1;
  http_client_result fail = {.retry_after = -1};
  if (!body) {
    snprintf(fail.error, sizeof fail.error, "cannot build the message");
  } else if (generic) {
    long long ts = (long long)s->at;
    char sig[100];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", s->it.msg_id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", ts);
    if (webhook_msg_sign(s->it.secret, s->it.msg_id, ts, body, strlen(body), sig, sizeof sig) ==
        0) {
      snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
      n_headers = 4;
    } else {
      snprintf(fail.error, sizeof fail.error, "the webhook's secret is not usable");
    }
  }
  if (!fail.error[0]) {
    int rc = http_client_post(w->http, s->it.url, headers, n_headers, body, strlen(body),
                              TIMEOUT_MS, on_sent, s);
    if (rc == 0) {
      free(body);
      return;
    }
    snprintf(fail.error, sizeof fail.error, "cannot start the request: %s", uv_strerror(rc));
  }
  free(body);
  on_sent(s, &fail);
}

static int claim_run(writer_job *j, db *d) {
  claim_job *c = container_of(j, claim_job, job);
  return outbox_claim(d, c->now, c->exclude, c->n_exclude, c->max, c->items, &c->n);
}

static void request_claim(wh *w);

static void claim_done(writer_job *j) {
  claim_job *c = container_of(j, claim_job, job);
  wh *w = c->w;
  w->claim_running = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (j->status == WRITER_OK && !w->stopping) {
      w->n_claimed++;
      send_item(w, &c->items[i]);
    } else {
      outbox_item_clear(&c->items[i]); /* left 'sending': the next start retries it */
    }
  }
  free(c->exclude);
  free(c);
  if (w->claim_again && !w->stopping) {
    w->claim_again = 0;
    request_claim(w);
  }
  wh_unref(w);
}

/* Submits a claim for due rows unless one is running (then it runs again after). */
static void request_claim(wh *w) {
  if (w->stopping) return;
  if (w->claim_running) {
    w->claim_again = 1;
    return;
  }
  size_t active = http_client_active(w->http);
  if (active >= MAX_IN_FLIGHT) return;
  claim_job *c = calloc(1, sizeof *c);
  if (!c) return;
  c->w = w;
  c->now = app_now();
  c->max = MAX_IN_FLIGHT - active;
  c->exclude = calloc(w->n_paces + 1, sizeof *c->exclude);
  if (!c->exclude) {
    free(c);
    return;
  }
  size_t keep = 0;
  for (size_t i = 0; i < w->n_paces; i++) {
    pace *p = &w->paces[i];
    int throttled = c->now - p->last_start < THROTTLE_S;
    if (p->busy || throttled) c->exclude[c->n_exclude++] = p->webhook_id;
    if (p->busy || throttled) w->paces[keep++] = *p; /* forget idle webhooks */
  }
  w->n_paces = keep;
  c->job.run = claim_run;
  c->job.done = claim_done;
  w->refs++;
  if (writer_submit(w->a->writer, &c->job) != 0) {
    w->refs--;
    free(c->exclude);
    free(c);
    return;
  }
  w->claim_running = 1;
}

static void on_kick(uv_async_t *h) {
  request_claim(container_of(h, wh, kick));
}

/* Writer thread, inside the alert's transaction. */
static int on_alert(db *d, const alert_record *r, void *arg) {
  (void)arg;
  int n = outbox_enqueue_alert(d, r, hook_digest_window);
  if (n < 0) return n;
  if (n > 0) {
    pthread_mutex_lock(&kick_mu);
    if (kick_handle) uv_async_send(kick_handle);
    pthread_mutex_unlock(&kick_mu);
  }
  return WRITER_OK;
}

static int retention_run(writer_job *j, db *d) {
  retention_job *r = container_of(j, retention_job, job);
  return outbox_retention(d, r->cutoff, RETENTION_BATCH, &r->deleted);
}

static void retention_done(writer_job *j) {
  retention_job *r = container_of(j, retention_job, job);
  wh *w = r->w;
  w->retention_running = 0;
  w->next_retention = app_now() + (r->deleted >= RETENTION_BATCH ? 1.0 : RETENTION_EVERY);
  free(r);
  wh_unref(w);
}

static void on_tick(app *a, double now) {
  wh *w = state(a);
  if (!w || w->stopping) return;
  record_job *list = w->unrecorded;
  w->unrecorded = NULL;
  while (list) {
    record_job *next = list->next;
    record_submit(w, list);
    list = next;
  }
  request_claim(w);
  if (!w->retention_running && now >= w->next_retention) {
    retention_job *r = calloc(1, sizeof *r);
    if (!r) return;
    r->w = w;
    r->cutoff = now - (double)a->cfg->delivery_retention_days * 86400.0;
    r->job.run = retention_run;
    r->job.done = retention_done;
    w->refs++;
    if (writer_submit(a->writer, &r->job) == 0) {
      w->retention_running = 1;
    } else {
      w->refs--;
      free(r);
    }
  }
}

static size_t metrics(app *a, char *buf, size_t cap) {
  wh *w = state(a);
  if (!w) return 0;
  size_t n_unrec = 0;
  for (record_job *r = w->unrecorded; r; r = r->next) n_unrec++;
  int n = snprintf(buf, cap,
                   "# HELP sluice_webhook_attempts_total Webhook delivery attempts, by outcome.\n"
                   "# TYPE sluice_webhook_attempts_total counter\n"
                   "sluice_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"retry\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"refused\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"gave_up\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"gone\"} %llu\n"
                   "# HELP sluice_webhook_in_flight Webhook requests in progress.\n"
                   "# TYPE sluice_webhook_in_flight gauge\nsluice_webhook_in_flight %zu\n"
                   "# HELP sluice_webhook_unrecorded Attempt results waiting for the database.\n"
                   "# TYPE sluice_webhook_unrecorded gauge\nsluice_webhook_unrecorded %zu\n",
                   (unsigned long long)w->n_delivered, (unsigned long long)w->n_retry,
                   (unsigned long long)w->n_refused, (unsigned long long)w->n_gave_up,
                   (unsigned long long)w->n_gone, http_client_active(w->http), n_unrec);
  if (n < 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap > 0 ? cap - 1 : 0;
}

static int reset_sending(db *d, void *arg) {
  (void)arg;
  return outbox_reset_sending(d) == WRITER_OK ? 0 : -1;
}

int webhooks_init(app *a) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (writer_call_sync(a->writer, reset_sending, NULL) != 0) {
    log_error("cannot reset in-flight webhook deliveries", NULL);
    return -1;
  }
  wh *w = calloc(1, sizeof *w);
  if (!w) return -1;
  w->a = a;
  w->http = http_client_new(a->loop, a->cfg->allow_private_webhooks);
  if (!w->http || uv_async_init(a->loop, &w->kick, on_kick) != 0) {
    if (w->http) http_client_close(w->http);
    free(w);
    return -1;
  }
  uv_unref((uv_handle_t *)&w->kick);
  w->refs = 2; /* the module and the kick handle */
  w->next_retention = app_now() + 5.0;
  a->ext[WEBHOOKS_EXT] = w;
  hook_digest_window = (double)a->cfg->webhook_digest_window_ms / 1000.0;
  pthread_mutex_lock(&kick_mu);
  kick_handle = &w->kick;
  pthread_mutex_unlock(&kick_mu);
  alerts_set_hook(on_alert, NULL);
  housekeeping_add(on_tick);
  ops_add_metrics(metrics);
  if (!a->cfg->allow_private_webhooks)
    log_debug("webhook SSRF guard on", NULL);
  else
    log_info("webhooks may reach private addresses (--allow-private-webhooks)", NULL);
  return 0;
}

static void on_kick_closed(uv_handle_t *h) {
  wh_unref(container_of((uv_async_t *)h, wh, kick));
}

void webhooks_shutdown(app *a) {
  wh *w = state(a);
  if (!w) return;
  w->stopping = 1;
  pthread_mutex_lock(&kick_mu);
  kick_handle = NULL;
  pthread_mutex_unlock(&kick_mu);
  uv_close((uv_handle_t *)&w->kick, on_kick_closed);
  size_t aborted = http_client_active(w->http);
  http_client_close(w->http); /* no callbacks: those rows stay 'sending' until the next start */
  w->http = NULL;
  while (w->sendings) sending_free(w, w->sendings);
  /* Last chance for results that are not written yet: writer_stop drains these. */
  record_job *list = w->unrecorded;
  w->unrecorded = NULL;
  while (list) {
    record_job *next = list->next;
    list->next = NULL;
    list->job.run = record_run;
    list->job.done = record_done;
    w->refs++;
    if (writer_submit(a->writer, &list->job) != 0) {
      w->refs--;
      free(list);
    }
    list = next;
  }
  if (aborted)
    log_info("webhook requests aborted; they are retried at the next start", "n=%zu", aborted);
  a->ext[WEBHOOKS_EXT] = NULL;
  wh_unref(w);
}

/* --- API ------------------------------------------------------------------------------------ */

typedef struct api_job {
  writer_job job;
  app *a;
  http_conn *c;
  outbox_webhook hook;
  int64_t delivery_id;
  char msg_id[OUTBOX_MSGID_MAX];
} api_job;

static api_job *job_new(app *a, http_conn *c) {
  api_job *j = calloc(1, sizeof *j);
  if (!j)
    http_respond_error(c, 503, NULL, "out of memory");
  else
    j->a = a, j->c = c;
  return j;
}

static void job_submit(api_job *j, int (*run)(writer_job *, db *), void (*done)(writer_job *)) {
  api_write_submit(j->a, j->c, &j->job, run, done, j);
}

static void respond_json(http_conn *c, int status, json_t *doc) {
  char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (out)
    http_respond_take(c, status, "application/json", NULL, out, strlen(out));
  else
    http_respond_error(c, 503, NULL, "out of memory");
}

static int create_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_webhook_create(d, &j->hook);
}

static json_t *event_names(unsigned mask) {
  static const char *const names[] = {"memory_leak", "memory_leak_resolved", "new_issue",
                                      "regression"};
  json_t *arr = json_array();
  for (size_t i = 0; i < 4; i++) {
    if (mask & outbox_event_bit(names[i])) json_array_append_new(arr, json_string(names[i]));
  }
  return arr;
}

static void create_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (wj->status == WRITER_EINVAL) {
    http_respond_error(j->c, 409, NULL, "too many webhooks for this project (at most 32)");
  } else if (wj->status < 0) {
    http_respond_error(j->c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  } else {
    char created[40];
    time_format_rfc3339(j->hook.created_at, created, sizeof created);
    json_t *doc =
        json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:b}", "id", (json_int_t)j->hook.id, "project_id",
                  (json_int_t)j->hook.project_id, "url", j->hook.url, "kind", j->hook.kind,
                  "events", event_names(j->hook.events), "created_at", created, "disabled", 0);
    if (doc && j->hook.secret[0]) json_object_set_new(doc, "secret", json_string(j->hook.secret));
    respond_json(j->c, 201, doc);
  }
  free(j);
}

void webhooks_create(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t pid;
  if (api_param_project(a, c, p, &pid)) return;
  json_t *doc = api_body_object(a, c, req);
  if (!doc) return;
  char why[160] = "";
  const char *url = json_string_value(json_object_get(doc, "url"));
  const char *kind = json_string_value(json_object_get(doc, "kind"));
  json_t *events = json_object_get(doc, "events");
  json_t *jsecret = json_object_get(doc, "secret");
  unsigned mask = 0;
  if (webhook_msg_url_check(url, why, sizeof why) != 0) {
    /* why is set */
  } else if (!kind || (strcmp(kind, "slack") && strcmp(kind, "generic"))) {
    snprintf(why, sizeof why, "kind: must be \"slack\" or \"generic\"");
  } else if (events && (!json_is_array(events) || json_array_size(events) == 0)) {
    snprintf(why, sizeof why, "events: must be a non-empty array");
  } else if (jsecret && !json_is_null(jsecret) && strcmp(kind, "generic")) {
    snprintf(why, sizeof why, "secret: only generic webhooks are signed");
  } else if (jsecret && !json_is_null(jsecret) &&
             webhook_msg_secret_check(json_string_value(jsecret))) {
    snprintf(why, sizeof why, "secret: must be \"whsec_\" followed by base64 of 24 to 64 bytes");
  }
  if (!why[0] && events) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
      unsigned bit = outbox_event_bit(json_string_value(e));
      if (!bit) {
        snprintf(why, sizeof why,
                 "events: each must be memory_leak, memory_leak_resolved, new_issue or regression");
        break;
      }
      mask |= bit;
    }
  } else if (!why[0]) {
    mask = OUTBOX_EV_MEMORY_LEAK | OUTBOX_EV_MEMORY_LEAK_RESOLVED | OUTBOX_EV_NEW_ISSUE |
           OUTBOX_EV_REGRESSION;
  }
  if (why[0]) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, why);
    return;
  }
  api_job *j = job_new(a, c);
  if (!j) {
    json_decref(doc);
    return;
  }
  j->hook.project_id = pid;
  snprintf(j->hook.url, sizeof j->hook.url, "%s", url);
  snprintf(j->hook.kind, sizeof j->hook.kind, "%s", kind);
  j->hook.events = mask;
  j->hook.created_at = app_now();
  if (!strcmp(kind, "generic")) {
    if (json_is_string(jsecret)) {
      snprintf(j->hook.secret, sizeof j->hook.secret, "%s", json_string_value(jsecret));
    } else {
      uint8_t raw[32];
      char b64[48];
      if (random_bytes(raw, sizeof raw)) {
        json_decref(doc);
        free(j);
        http_respond_error(c, 503, NULL, "no randomness available");
        return;
      }
      base64_encode(raw, sizeof raw, b64);
      snprintf(j->hook.secret, sizeof j->hook.secret, "whsec_%s", b64);
    }
  }
  json_decref(doc);
  job_submit(j, create_run, create_done);
}

static int q_list(db *d, api_read *r) {
  r->result = outbox_q_webhooks(d, r->id[0]);
  return r->result ? 0 : -1;
}

void webhooks_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t pid;
  if (api_param_project(a, c, p, &pid)) return;
  api_read *r = api_read_new(a, c, q_list);
  if (!r) return;
  r->id[0] = pid;
  api_read_submit(r);
}

static int delete_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_webhook_delete(d, j->hook.id);
}

static void delete_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (!api_respond_write_error(j->c, wj->status, "webhook", "conflict"))
    http_respond(j->c, 204, NULL, NULL, NULL, 0);
  free(j);
}

void webhooks_delete(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_id(c, p, "webhook", &id)) return;
  api_job *j = job_new(a, c);
  if (!j) return;
  j->hook.id = id;
  job_submit(j, delete_run, delete_done);
}

static int test_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_enqueue_test(d, j->hook.id, app_now(), &j->delivery_id, j->msg_id);
}

static void test_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (!api_respond_write_error(j->c, wj->status, "webhook", "webhook is disabled")) {
    respond_json(j->c, 202,
                 json_pack("{s:I, s:s, s:s}", "delivery_id", (json_int_t)j->delivery_id,
                           "message_id", j->msg_id, "status", "pending"));
    wh *w = state(j->a);
    if (w) request_claim(w);
  }
  free(j);
}

void webhooks_test(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_id(c, p, "webhook", &id)) return;
  api_job *j = job_new(a, c);
  if (!j) return;
  j->hook.id = id;
  job_submit(j, test_run, test_done);
}

static int q_deliveries(db *d, api_read *r) {
  int nf = 0;
  r->result = outbox_q_deliveries(d, r->id[0], r->str[0], r->id[1], &nf);
  if (nf) {
    r->status = 404;
    snprintf(r->detail, sizeof r->detail, "webhook not found");
    return 0;
  }
  return r->result ? 0 : -1;
}

void webhooks_deliveries(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_id(c, p, "webhook", &id)) return;
  api_read *r = api_read_new(a, c, q_deliveries);
  if (!r) return;
  r->id[0] = id;
  if (api_paging(c, req, 50, 500, &r->id[1], r->str[0], sizeof r->str[0])) {
    free(r);
    return;
  }
  api_read_submit(r);
}
