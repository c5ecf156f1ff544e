/* delivery: sends what the outbox holds. Loop thread; every database step is a writer job
 * (claims and attempt records, alerts/outbox.h), and the alert sink wakes it (uv_async) when a
 * transaction on the writer thread added rows.
 *
 * Delivery cycle: a claim job (writer) marks due rows 'sending', at most one per webhook and
 * none for a webhook that is busy or sent less than THROTTLE_S ago; each is POSTed through
 * http_client; the outcome goes back to the writer as a record job. A record that cannot be
 * written yet is kept and resubmitted on the next tick, never dropped. Claims run on the
 * housekeeping tick (1 s) and when the alert sink or the test endpoint says rows were added.
 *
 * Lifetime: the state is freed when the module reference, the kick handle and every writer
 * job it submitted are gone (done() callbacks may run inside writer_stop, after shutdown). */
#include "alerts/delivery.h"

#include <curl/curl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/outbox.h"
#include "alerts/webhook_msg.h"
#include "http/http_client.h"
#include "util/container.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/timefmt.h"

#define MAX_IN_FLIGHT  16    /* transfers at once, all webhooks together */
#define THROTTLE_S     0.9   /* per webhook: one message about every second (Slack's limit) */
#define TIMEOUT_MS     10000 /* a 2xx must come back within this */
#define HORIZON_FACTOR 17280 /* give up after base * this (one day for the 5 s default) */

/* Retry delays as multiples of the base (5 s: 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h). */
static const double backoff_steps[] = {1, 6, 24, 120, 360, 1440, 4320, 8640};
#define N_STEPS (sizeof backoff_steps / sizeof backoff_steps[0])

typedef struct pace {
  int64_t webhook_id;
  double last_start; /* wall clock of the last POST */
  int busy;          /* a POST is in flight */
} pace;

typedef struct sending sending;
typedef struct record_job record_job;

struct delivery {
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
  /* counters for /metrics */
  uint64_t n_delivered, n_retry, n_refused, n_gave_up, n_gone, n_claimed;
};
typedef struct delivery wh;

struct sending {
  wh *w;
  store_item it;
  double at;
  sending *prev, *next;
};

struct record_job {
  writer_job job;
  wh *w;
  store_attempt r;
  record_job *next; /* unrecorded list */
};

typedef struct claim_job {
  writer_job job;
  wh *w;
  double now;
  int64_t *exclude;
  size_t n_exclude, max, n;
  store_item items[MAX_IN_FLIGHT];
} claim_job;

static void wh_unref(wh *w) {
  if (--w->refs > 0) return;
  free(w->paces);
  free(w);
}

static wh *state(app *a) {
  return a->delivery;
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

static int record_run(writer_job *j, store_tx *tx) {
  record_job *rj = container_of(j, record_job, job);
  return tx->ops->delivery_record(tx, &rj->r);
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

double delivery_retry_delay(double base, int attempts, double jitter_factor) {
  size_t i = attempts < 0 ? 0 : (size_t)attempts < N_STEPS ? (size_t)attempts : N_STEPS - 1;
  return base * backoff_steps[i] * jitter_factor;
}

/* Turns a transfer's result into the attempt record: delivered, retry when, or give up. */
static void decide(wh *w, const sending *s, const http_client_result *res, store_attempt *r) {
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
  double delay = delivery_retry_delay(base, s->it.attempts, jitter());
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
  store_item_clear(&s->it);
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
static void send_item(wh *w, store_item *it) {
  sending *s = calloc(1, sizeof *s);
  if (!s) {
    store_item_clear(it);
    return;
  }
  s->w = w;
  s->it = *it;
  s->at = time_wall();
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

static int claim_run(writer_job *j, store_tx *tx) {
  claim_job *c = container_of(j, claim_job, job);
  return outbox_claim(tx, c->now, c->exclude, c->n_exclude, c->max, c->items, &c->n);
}

static void request_claim(wh *w);

static void claim_done(writer_job *j) {
  claim_job *c = container_of(j, claim_job, job);
  wh *w = c->w;
  w->claim_running = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (j->status == STORE_OK && !w->stopping) {
      w->n_claimed++;
      send_item(w, &c->items[i]);
    } else {
      store_item_clear(&c->items[i]); /* left 'sending': the next start retries it */
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
  c->now = time_wall();
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

void delivery_tick(app *a, double now) {
  (void)now;
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
}

void delivery_kick(app *a) {
  wh *w = state(a);
  if (w) request_claim(w);
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

static int reset_sending(store_tx *tx, void *arg) {
  (void)arg;
  return tx->ops->deliveries_reset_sending(tx);
}

int delivery_init(app *a) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (writer_call_sync(a->writer, reset_sending, NULL) != STORE_OK) {
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
  a->delivery = w;
  alert_sink_set_kick(a->alerts, &w->kick);
  app_add_metrics(a, metrics);
  if (!a->cfg->allow_private_webhooks)
    log_debug("webhook SSRF guard on", NULL);
  else
    log_info("webhooks may reach private addresses (--allow-private-webhooks)", NULL);
  return 0;
}

static void on_kick_closed(uv_handle_t *h) {
  wh_unref(container_of((uv_async_t *)h, wh, kick));
}

void delivery_shutdown(app *a) {
  wh *w = state(a);
  if (!w) return;
  w->stopping = 1;
  alert_sink_set_kick(a->alerts, NULL);
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
  a->delivery = NULL;
  wh_unref(w);
}
