/* api_webhooks: the webhook endpoints under /api/v1 (create, list, delete, test, deliveries).
 * Loop thread validates; writes go through the writer (alerts/outbox.h for test messages),
 * reads through the reader pool. Delivery itself is alerts/delivery.c.
 *
 * Creation with the SSRF guard on (no --allow-private-webhooks) refuses a URL whose host is a
 * private, loopback, link-local or reserved address, or a name that resolves only to such
 * addresses: delivery would refuse every attempt. The name is resolved on libuv's thread pool
 * (uv_getaddrinfo), never on the loop. A name that does not resolve now is accepted with a
 * warning in the answer (DNS may be down for a moment; delivery checks every address again). */
#include "api/api_webhooks.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/delivery.h"
#include "alerts/outbox.h"
#include "alerts/webhook_msg.h"
#include "api/api.h"
#include "core/config.h"
#include "core/status.h"
#include "http/http_client.h"
#include "util/container.h"
#include "util/crypto.h"
#include "util/timefmt.h"

#define HOST_CAP 256 /* a DNS name has at most 253 bytes */

typedef struct api_job {
  writer_job job;
  app *a;
  http_conn *c;
  store_webhook hook;
  int64_t delivery_id;
  double now;
  char msg_id[STORE_MSGID_MAX];
  uv_getaddrinfo_t resolve; /* create: the URL's host, with the SSRF guard on */
  char host[HOST_CAP];      /* create: the URL's host */
  char warning[400];        /* create: said in the answer ("" when nothing to say) */
} api_job;

static api_job *job_new(app *a, http_conn *c) {
  api_job *j = calloc(1, sizeof *j);
  if (!j)
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
  else
    j->a = a, j->c = c, j->now = time_wall();
  return j;
}

static void job_submit(api_job *j, int (*run)(writer_job *, store_tx *),
                       void (*done)(writer_job *)) {
  api_write_submit(j->a, j->c, &j->job, run, done, j);
}

static int create_run(writer_job *wj, store_tx *tx) {
  api_job *j = container_of(wj, api_job, job);
  return tx->ops->webhook_create(tx, &j->hook, OUTBOX_WEBHOOKS_MAX);
}

static void create_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (!status_respond(j->c, wj->status, "webhook",
                      "too many webhooks for this project (at most 32)")) {
    char created[40];
    time_format_rfc3339(j->hook.created_at, created, sizeof created);
    json_t *doc = json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:b}", "id", (json_int_t)j->hook.id,
                            "project_id", (json_int_t)j->hook.project_id, "url", j->hook.url,
                            "kind", j->hook.kind, "events", store_json_events(j->hook.events),
                            "created_at", created, "disabled", 0);
    if (doc && j->hook.secret[0]) json_object_set_new(doc, "secret", json_string(j->hook.secret));
    if (doc && j->warning[0]) json_object_set_new(doc, "warning", json_string(j->warning));
    api_respond_json(j->c, 201, doc);
  }
  free(j);
}

/* The addresses the host resolved to: the webhook is created when one of them is public, and
 * refused (400) when none is. A host that does not resolve is created with a warning. */
static void create_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  api_job *j = container_of(req, api_job, resolve);
  if (status < 0) {
    snprintf(j->warning, sizeof j->warning,
             "url: %.200s does not resolve now (%s); the webhook is kept and its deliveries are "
             "retried until it does",
             j->host, uv_strerror(status));
    job_submit(j, create_run, create_done);
    return;
  }
  int allowed = 0;
  char first[INET6_ADDRSTRLEN] = "";
  for (const struct addrinfo *ai = res; ai && !allowed; ai = ai->ai_next) {
    if (http_client_addr_allowed(ai->ai_addr)) {
      allowed = 1;
    } else if (!first[0]) {
      const void *raw = ai->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
      if (!inet_ntop(ai->ai_family, raw, first, sizeof first)) snprintf(first, sizeof first, "?");
    }
  }
  uv_freeaddrinfo(res);
  if (allowed) {
    job_submit(j, create_run, create_done);
    return;
  }
  char why[600];
  if (!strcmp(first, j->host))
    snprintf(why, sizeof why,
             "url: %s is a private, loopback, link-local or reserved address, which webhooks may "
             "not reach; start sluice with --allow-private-webhooks to allow it",
             j->host);
  else
    snprintf(why, sizeof why,
             "url: %.253s resolves only to private, loopback, link-local or reserved addresses "
             "(%s), which webhooks may not reach; start sluice with --allow-private-webhooks to "
             "allow them",
             j->host, first[0] ? first : "none");
  http_respond_error(j->c, 400, NULL, why);
  free(j);
}

/* Creates j's webhook, after checking its host when the SSRF guard is on. */
static void create_checked(api_job *j) {
  if (j->a->cfg->allow_private_webhooks) {
    job_submit(j, create_run, create_done);
    return;
  }
  struct addrinfo hints = {0};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(j->a->loop, &j->resolve, create_resolved, j->host, NULL, &hints);
  if (rc != 0) {
    http_respond_error(j->c, 503, "Retry-After: 1\r\n", "cannot resolve the webhook's host now");
    free(j);
  }
}

void webhooks_create(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t pid;
  if (api_param_project(a, c, p, &pid)) return;
  json_t *doc = api_body_object(c, req);
  if (!doc) return;
  char why[160] = "", host[HOST_CAP];
  const char *url = json_string_value(json_object_get(doc, "url"));
  const char *kind = json_string_value(json_object_get(doc, "kind"));
  json_t *events = json_object_get(doc, "events");
  json_t *jsecret = json_object_get(doc, "secret");
  unsigned mask = 0;
  if (webhook_msg_url_check(url, host, sizeof host, why, sizeof why) != 0) {
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
      unsigned bit = store_event_bit(json_string_value(e));
      if (!bit) {
        snprintf(why, sizeof why,
                 "events: each must be memory_leak, memory_leak_resolved, new_issue or regression");
        break;
      }
      mask |= bit;
    }
  } else if (!why[0]) {
    mask = STORE_WEBHOOK_EVENTS_ALL;
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
  snprintf(j->host, sizeof j->host, "%s", host);
  snprintf(j->hook.url, sizeof j->hook.url, "%s", url);
  snprintf(j->hook.kind, sizeof j->hook.kind, "%s", kind);
  j->hook.events = mask;
  j->hook.created_at = j->now;
  if (!strcmp(kind, "generic")) {
    if (json_is_string(jsecret)) {
      snprintf(j->hook.secret, sizeof j->hook.secret, "%s", json_string_value(jsecret));
    } else {
      uint8_t raw[32];
      char b64[48];
      if (random_bytes(raw, sizeof raw)) {
        json_decref(doc);
        free(j);
        http_respond_error(c, 503, "Retry-After: 1\r\n", "no randomness available");
        return;
      }
      base64_encode(raw, sizeof raw, b64);
      snprintf(j->hook.secret, sizeof j->hook.secret, "whsec_%s", b64);
    }
  }
  json_decref(doc);
  create_checked(j);
}

typedef struct webhook_read {
  api_read base;
  int64_t project_id;
} webhook_read;

static int q_list(api_read *r, store_rd *rd) {
  webhook_read *q = container_of(r, webhook_read, base);
  return rd->ops->read_webhooks(rd, q->project_id, &r->result);
}

void webhooks_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t pid;
  if (api_param_project(a, c, p, &pid)) return;
  webhook_read *q = api_read_new(c, sizeof *q, "project", q_list);
  if (!q) return;
  q->project_id = pid;
  api_read_submit(a, &q->base);
}

static int delete_run(writer_job *wj, store_tx *tx) {
  api_job *j = container_of(wj, api_job, job);
  return tx->ops->webhook_delete(tx, j->hook.id);
}

static void delete_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (!status_respond(j->c, wj->status, "webhook", NULL))
    http_respond(j->c, 204, NULL, NULL, NULL, 0);
  free(j);
}

/* A write addressed to the webhook in path parameter 0. */
static void webhook_write(app *a, http_conn *c, const route_params *p,
                          int (*run)(writer_job *, store_tx *), void (*done)(writer_job *)) {
  int64_t id;
  if (api_param_id(c, p, "webhook", &id)) return;
  api_job *j = job_new(a, c);
  if (!j) return;
  j->hook.id = id;
  job_submit(j, run, done);
}

void webhooks_delete(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  webhook_write(a, c, p, delete_run, delete_done);
}

static int test_run(writer_job *wj, store_tx *tx) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_enqueue_test(tx, j->hook.id, j->now, &j->delivery_id, j->msg_id);
}

static void test_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (!status_respond(j->c, wj->status, "webhook", "webhook is disabled")) {
    api_respond_json(j->c, 202,
                     json_pack("{s:I, s:s, s:s}", "delivery_id", (json_int_t)j->delivery_id,
                               "message_id", j->msg_id, "status", "pending"));
    delivery_kick(j->a);
  }
  free(j);
}

void webhooks_test(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  webhook_write(a, c, p, test_run, test_done);
}

static int q_deliveries(api_read *r, store_rd *rd) {
  api_paged *q = container_of(r, api_paged, base);
  return rd->ops->read_deliveries(rd, q->id, &q->page, &r->result);
}

void webhooks_deliveries(app *a, http_conn *c, http_request *req, const route_params *p) {
  api_read_paged(a, c, req, p, "webhook", q_deliveries, 50, 500);
}
