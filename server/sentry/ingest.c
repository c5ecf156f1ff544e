/* ingest: Sentry endpoints. Loop thread: authenticate, decode, parse every item and normalise
 * events (so bad input is a 400 before anything is queued), then submit one writer job per
 * request. The job owns the decoded body; item payloads borrow from it and are stored as
 * received. The answer goes out from done(), after the commit, so a 200 means durable.
 * A request is all or nothing: an item that cannot be kept for want of memory fails the whole
 * request with 503 and Retry-After before anything is queued; only policy drops it silently
 * (unknown item types, sessions without a release, attachments over the size limit). */
#include "sentry/ingest.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sentry/auth.h"
#include "http/decode.h"
#include "sentry/envelope.h"
#include "sentry/event.h"
#include "alerts/alerts.h"
#include "core/status.h"
#include "util/container.h"
#include "util/hex.h"
#include "util/jdom.h"
#include "util/log.h"
#include "util/timefmt.h"

#define RETRY_NOMEM "Retry-After: 1\r\n" /* out of memory: nothing was stored */

typedef enum item_kind {
  IT_EVENT,
  IT_TRANSACTION,
  IT_SESSION,
  IT_SESSION_AGG,
  IT_DROPPED,
  IT_ATTACHMENT,
} item_kind;

typedef struct ingest_item {
  item_kind kind;
  const char *payload; /* borrowed from the job's body */
  size_t len;
  event_info ev; /* IT_EVENT */
  uint8_t event_id[16];
  int has_event_id;
  double t1, t2; /* transaction: timestamp; session: started, updated */
  int64_t n[4];  /* session: errors; agg: healthy, errored, crashed, abnormal; dropped: qty */
  char *s[4];    /* owned strings, meaning by kind (see the parse_* functions) */
} ingest_item;

typedef struct ingest_job {
  writer_job job;
  alert_sink *sink; /* the writer thread raises new-issue and regression alerts through it */
  app *a;           /* loop thread only: parsing and done() */
  http_conn *c;
  int64_t project_id;
  double received;
  char *body;
  ingest_item *items;
  size_t n_items, cap_items;
  char response_id[33];
  size_t events_new, events_dup;
} ingest_job;

/* --- helpers ------------------------------------------------------------------------------- */

void ingest_respond_rate_limited(http_conn *c, int seconds, const char *category, const char *scope,
                                 const char *detail) {
  char headers[256];
  snprintf(headers, sizeof headers, "Retry-After: %d\r\nX-Sentry-Rate-Limits: %d:%s:%s\r\n",
           seconds, seconds, category, scope);
  http_respond_error(c, 429, headers, detail);
}

void ingest_respond_nomem(app *a, http_conn *c) {
  a->counters.rejected_nomem++;
  http_respond_error(c, 503, RETRY_NOMEM, "out of memory, retry later");
}

static void respond_auth_failure(app *a, http_conn *c) {
  a->counters.rejected_auth++;
  /* One answer for a missing key, a wrong key and another project's key. */
  http_respond_error(c, 401, "X-Sentry-Error: invalid or missing sentry_key for this project\r\n",
                     "invalid or missing sentry_key for this project");
}

/* What the parse_* functions return. */
enum {
  PARSE_OK = 0,
  PARSE_INVALID = -1, /* the client's fault: err says why (400) */
  PARSE_NOMEM = -2,   /* out of memory: nothing is stored, the client may retry (503) */
};

/* Copies src into *dst; a NULL src leaves *dst NULL. */
static int dup_into(char **dst, const char *src) {
  *dst = src ? strdup(src) : NULL;
  return src && !*dst ? PARSE_NOMEM : PARSE_OK;
}

static void item_free(ingest_item *it) {
  if (it->kind == IT_EVENT) event_info_free(&it->ev);
  for (int i = 0; i < 4; i++) free(it->s[i]);
}

static void job_free(ingest_job *j) {
  for (size_t i = 0; i < j->n_items; i++) item_free(&j->items[i]);
  free(j->items);
  free(j->body);
  free(j);
}

static ingest_item *add_item(ingest_job *j, item_kind kind) {
  if (j->n_items == j->cap_items) {
    size_t cap = j->cap_items ? j->cap_items * 2 : 4;
    ingest_item *ni = realloc(j->items, cap * sizeof *ni);
    if (!ni) return NULL;
    j->items = ni;
    j->cap_items = cap;
  }
  ingest_item *it = &j->items[j->n_items++];
  memset(it, 0, sizeof *it);
  it->kind = kind;
  return it;
}

/* --- authentication, limits, decoding ------------------------------------------------------ */

static int key_from_request(const http_request *req, char key[AUTH_KEY_MAX + 1]) {
  size_t len;
  const char *v = http_header_get(req, "x-sentry-auth", &len);
  if (v && auth_parse_header(v, len, key) == 0) return 0;
  v = http_header_get(req, "authorization", &len);
  if (v && auth_parse_header(v, len, key) == 0) return 0;
  if (req->query_len && auth_parse_query(req->query, req->query_len, key) == 0) return 0;
  return -1;
}

/* Checks the project's events-per-minute limit. Returns seconds to wait, or 0 when allowed. */
static int rate_limited(app *a, project_key *k, double now) {
  int64_t limit = k->rate_limit_per_minute >= 0 ? k->rate_limit_per_minute
                                                : (int64_t)a->cfg->rate_limit_per_minute;
  if (limit <= 0) return 0;
  int64_t minute = (int64_t)(now / 60.0);
  if (minute != k->window_minute) {
    k->window_minute = minute;
    k->window_count = 0;
  }
  if (k->window_count >= limit) {
    int wait = (int)ceil((double)(minute + 1) * 60.0 - now);
    return wait < 1 ? 1 : wait;
  }
  k->window_count++;
  return 0;
}

/* Returns 1 when the key was found and checked, 0 when there was no key (envelope dsn may
 * still authenticate), -1 when it answered. */
static int check_key(app *a, http_conn *c, int64_t project_id, const char *key, double now) {
  project_key *k = app_key_find(a, key);
  if (!k || k->project_id != project_id) {
    respond_auth_failure(a, c);
    return -1;
  }
  int wait = rate_limited(a, k, now);
  if (wait) {
    a->counters.rejected_rate_limited++;
    ingest_respond_rate_limited(c, wait, "error;default;transaction", "key",
                                "rate limit for this project key reached");
    return -1;
  }
  return 1;
}

int ingest_prepare(app *a, http_conn *c, http_request *req, const route_params *p, int allow_dsn,
                   int64_t *project_id, char **body, size_t *len) {
  *body = NULL;
  if (route_param_i64(p, 0, project_id)) {
    respond_auth_failure(a, c);
    return -1;
  }
  char key[AUTH_KEY_MAX + 1];
  int have_key = key_from_request(req, key) == 0;
  if (!have_key && !allow_dsn) {
    respond_auth_failure(a, c);
    return -1;
  }
  if (have_key && check_key(a, c, *project_id, key, req->received_at) < 0) return -1;
  if (writer_queue_full(a->writer)) {
    a->counters.rejected_queue_full++;
    ingest_respond_rate_limited(c, 1, "", "organization", "server busy, retry later");
    return -1;
  }
  size_t elen = 0;
  const char *enc = http_header_get(req, "content-encoding", &elen);
  decode_encoding de;
  if (decode_encoding_parse(enc, elen, &de) != DECODE_OK) {
    a->counters.rejected_invalid++;
    http_respond_error(c, 415, NULL,
                       "unsupported Content-Encoding (use gzip, deflate or identity)");
    return -1;
  }
  char err[256] = "";
  int rc;
  if (de == DECODE_IDENTITY && req->body_len <= a->cfg->max_decoded_bytes) {
    *body = http_conn_take_body(c, len); /* the job keeps it: no copy */
    rc = *body ? DECODE_OK : DECODE_ERR_NOMEM;
  } else {
    rc = decode_body(de, req->body, req->body_len, a->cfg->max_decoded_bytes, body, len, err,
                     sizeof err);
  }
  if (rc == DECODE_ERR_TOO_BIG) {
    a->counters.rejected_too_large++;
    http_respond_error(c, 413, NULL, "request body too large after decompression");
    return -1;
  }
  if (rc == DECODE_ERR_NOMEM) {
    ingest_respond_nomem(a, c);
    return -1;
  }
  if (rc != DECODE_OK) {
    a->counters.rejected_invalid++;
    http_respond_error(c, 400, NULL, err[0] ? err : "cannot decode request body");
    return -1;
  }
  if (!have_key) return 0; /* the caller may authenticate from the envelope's dsn */
  return 1;
}

/* --- parsing items ------------------------------------------------------------------------- */

/* Parses buf into arena as one JSON object (*doc), skipping the members whose keys are in
 * skip[n_skip] (may be NULL). On PARSE_INVALID err says why ("<what>: ..."). */
static int load_object(app *a, jdom_doc *arena, const char *buf, size_t len, const jdom_key *skip,
                       size_t n_skip, const char *what, const jdom_val **doc, char *err,
                       size_t errlen) {
  jdom_opts opts = {a->cfg->max_json_depth, JDOM_ALLOW_NUL, skip, n_skip};
  char jerr[160];
  int rc = jdom_parse(arena, buf, len, &opts, doc, jerr, sizeof jerr);
  if (rc == JDOM_NOMEM) return PARSE_NOMEM;
  if (rc != JDOM_OK) {
    snprintf(err, errlen, "%s: %s", what, jerr);
    return PARSE_INVALID;
  }
  if (!jdom_is_object(*doc)) {
    snprintf(err, errlen, "%s: must be a JSON object", what);
    return PARSE_INVALID;
  }
  return PARSE_OK;
}

/* Parses an event payload, skipping the members grouping never reads (most of an SDK event:
 * frame locals, source lines, contexts), and normalises it into a new item. The stored payload
 * stays the bytes as received. header_id (may be NULL) is the envelope's event_id, used when
 * the event has none. */
static int parse_event(ingest_job *j, jdom_doc *arena, const char *payload, size_t len,
                       const char *header_id, const char *what, char *err, size_t errlen) {
  const jdom_val *doc;
  int rc = load_object(j->a, arena, payload, len, event_skip_keys, event_skip_keys_n, what, &doc,
                       err, errlen);
  if (rc) return rc;
  ingest_item *it = add_item(j, IT_EVENT);
  if (!it) return PARSE_NOMEM;
  char nerr[200];
  rc = event_normalize(doc, header_id, j->received, &it->ev, nerr, sizeof nerr);
  if (rc) {
    j->n_items--;
    snprintf(err, errlen, "%s: %s", what, nerr);
    return rc == EVENT_ENOMEM ? PARSE_NOMEM : PARSE_INVALID;
  }
  it->payload = payload;
  it->len = len;
  hex_event_id(it->ev.event_id, 32, NULL, it->event_id);
  it->has_event_id = 1;
  if (!j->response_id[0]) memcpy(j->response_id, it->ev.event_id, 33);
  return PARSE_OK;
}

static double json_time(const jdom_val *v, double dflt) {
  if (jdom_is_number(v)) return jdom_number(v);
  double t;
  if (jdom_is_string(v) && time_parse_rfc3339(v->u.s, v->n, &t) == 0) return t;
  return dflt;
}

/* An integer member's value, 0 when it is absent or not an integer. */
static int64_t int_or_0(const jdom_val *v) {
  return jdom_is(v, JDOM_INT) ? v->u.i : 0;
}

static int parse_transaction(ingest_job *j, jdom_doc *arena, const char *payload, size_t len,
                             const char *what, char *err, size_t errlen) {
  const jdom_val *doc;
  int rc = load_object(j->a, arena, payload, len, NULL, 0, what, &doc, err, errlen);
  if (rc) return rc;
  char id[33];
  uint8_t raw[16];
  const jdom_val *eid = jdom_get(doc, "event_id");
  if (!jdom_is_string(eid) || hex_event_id(eid->u.s, eid->n, id, raw)) {
    snprintf(err, errlen, "%s: event_id must be 32 hex digits or a UUID", what);
    return PARSE_INVALID;
  }
  ingest_item *it = add_item(j, IT_TRANSACTION);
  if (!it) return PARSE_NOMEM;
  memcpy(it->event_id, raw, 16);
  it->has_event_id = 1;
  it->payload = payload;
  it->len = len;
  if (dup_into(&it->s[0], jdom_str(jdom_get(doc, "transaction")))) return PARSE_NOMEM;
  it->t1 = json_time(jdom_get(doc, "timestamp"), j->received);
  if (!j->response_id[0]) memcpy(j->response_id, id, 33);
  return PARSE_OK;
}

static const char *str_or(const jdom_val *v, const char *dflt) {
  const char *s = jdom_str(v);
  return s ? s : dflt;
}

static int parse_session(ingest_job *j, jdom_doc *arena, const char *payload, size_t len,
                         const char *what, char *err, size_t errlen) {
  const jdom_val *doc;
  int rc = load_object(j->a, arena, payload, len, NULL, 0, what, &doc, err, errlen);
  if (rc) return rc;
  const jdom_val *attrs = jdom_get(doc, "attrs");
  const char *sid = jdom_str(jdom_get(doc, "sid"));
  const char *release = jdom_str(jdom_get(attrs, "release"));
  const jdom_val *errors = jdom_get(doc, "errors");
  if (!sid || (errors && !jdom_is(errors, JDOM_INT))) {
    snprintf(err, errlen, "%s: %s", what,
             !sid ? "sid must be a string" : "errors must be an integer");
    return PARSE_INVALID;
  }
  if (!release) { /* Sentry drops sessions without a release, and so do we */
    j->a->counters.items_skipped++;
    return PARSE_OK;
  }
  ingest_item *it = add_item(j, IT_SESSION);
  if (!it || dup_into(&it->s[0], sid) || dup_into(&it->s[1], release) ||
      dup_into(&it->s[2], str_or(jdom_get(attrs, "environment"), "production")) ||
      dup_into(&it->s[3], str_or(jdom_get(doc, "status"), "ok")))
    return PARSE_NOMEM;
  it->n[0] = errors ? errors->u.i : 0;
  it->t2 = json_time(jdom_get(doc, "timestamp"), j->received);
  it->t1 = json_time(jdom_get(doc, "started"), it->t2);
  return PARSE_OK;
}

static int parse_sessions(ingest_job *j, jdom_doc *arena, const char *payload, size_t len,
                          const char *what, char *err, size_t errlen) {
  const jdom_val *doc;
  int rc = load_object(j->a, arena, payload, len, NULL, 0, what, &doc, err, errlen);
  if (rc) return rc;
  const jdom_val *attrs = jdom_get(doc, "attrs");
  const jdom_val *aggs = jdom_get(doc, "aggregates");
  const char *release = jdom_str(jdom_get(attrs, "release"));
  if (aggs && !jdom_is_array(aggs)) {
    snprintf(err, errlen, "%s: aggregates must be an array", what);
    return PARSE_INVALID;
  }
  if (!release) return PARSE_OK; /* as for a single session */
  size_t i;
  const jdom_val *agg;
  jdom_array_foreach(aggs, i, agg) {
    ingest_item *it = add_item(j, IT_SESSION_AGG);
    if (!it || dup_into(&it->s[0], release) ||
        dup_into(&it->s[1], str_or(jdom_get(attrs, "environment"), "production")))
      return PARSE_NOMEM;
    it->n[0] = int_or_0(jdom_get(agg, "exited"));
    it->n[1] = int_or_0(jdom_get(agg, "errored"));
    it->n[2] = int_or_0(jdom_get(agg, "crashed"));
    it->n[3] = int_or_0(jdom_get(agg, "abnormal"));
  }
  return PARSE_OK;
}

static int parse_client_report(ingest_job *j, jdom_doc *arena, const char *payload, size_t len,
                               const char *what, char *err, size_t errlen) {
  const jdom_val *doc;
  int rc = load_object(j->a, arena, payload, len, NULL, 0, what, &doc, err, errlen);
  if (rc) return rc;
  const jdom_val *list = jdom_get(doc, "discarded_events");
  if (list && !jdom_is_array(list)) {
    snprintf(err, errlen, "%s: discarded_events must be an array", what);
    return PARSE_INVALID;
  }
  size_t i;
  const jdom_val *e;
  jdom_array_foreach(list, i, e) {
    const char *reason = jdom_str(jdom_get(e, "reason"));
    const char *category = jdom_str(jdom_get(e, "category"));
    const jdom_val *q = jdom_get(e, "quantity");
    if (!reason || !category || !jdom_is(q, JDOM_INT) || q->u.i < 0) {
      snprintf(err, errlen, "%s: discarded_events[%zu] needs reason, category and quantity", what,
               i);
      return PARSE_INVALID;
    }
    ingest_item *it = add_item(j, IT_DROPPED);
    if (!it || dup_into(&it->s[0], reason) || dup_into(&it->s[1], category)) return PARSE_NOMEM;
    it->n[0] = q->u.i;
  }
  return PARSE_OK;
}

/* env_event_id (may be NULL) is the envelope's, already normalised. */
static int parse_attachment(ingest_job *j, const envelope_item *ei, const char *env_event_id) {
  if (ei->len > j->a->cfg->max_attachment_bytes) {
    j->a->counters.items_skipped++;
    return PARSE_OK;
  }
  ingest_item *it = add_item(j, IT_ATTACHMENT);
  if (!it) return PARSE_NOMEM;
  it->payload = ei->payload;
  it->len = ei->len;
  if (dup_into(&it->s[0], str_or(jdom_get(ei->header, "filename"), "attachment")) ||
      dup_into(&it->s[1], jdom_str(jdom_get(ei->header, "content_type"))))
    return PARSE_NOMEM;
  if (env_event_id && hex_event_id(env_event_id, strlen(env_event_id), NULL, it->event_id) == 0)
    it->has_event_id = 1;
  return PARSE_OK;
}

/* --- the writer side ----------------------------------------------------------------------- */

static int job_run(writer_job *wj, store_tx *tx) {
  ingest_job *j = container_of(wj, ingest_job, job);
  const store_ops *op = tx->ops;
  j->events_new = j->events_dup = 0;
  for (size_t i = 0; i < j->n_items; i++) {
    ingest_item *it = &j->items[i];
    int rc = STORE_OK;
    switch (it->kind) {
    case IT_EVENT: {
      store_event e = {.project_id = j->project_id,
                       .timestamp = it->ev.timestamp,
                       .received = j->received,
                       .level = it->ev.level,
                       .release = it->ev.release,
                       .environment = it->ev.environment,
                       .fingerprint = it->ev.fingerprint,
                       .title = it->ev.title,
                       .culprit = it->ev.culprit,
                       .payload = it->payload,
                       .len = it->len};
      memcpy(e.event_id, it->event_id, 16);
      store_issue_change change;
      rc = op->event_put(tx, &e, &change);
      if (rc == STORE_DUPLICATE) {
        j->events_dup++;
        rc = STORE_OK;
      } else if (rc == STORE_OK) {
        j->events_new++;
        rc = alerts_for_issue(tx, j->sink, &e, &change);
      }
      break;
    }
    case IT_TRANSACTION:
      rc = op->transaction_put(tx, j->project_id, it->event_id, it->s[0], it->t1, j->received,
                               it->payload, it->len);
      break;
    case IT_SESSION: {
      store_session ss = {it->s[0], it->s[1], it->s[2], it->s[3], it->n[0], it->t1, it->t2};
      rc = op->session_put(tx, j->project_id, &ss);
      break;
    }
    case IT_SESSION_AGG: {
      store_session_counts sc = {it->s[0], it->s[1], it->n[0], it->n[1], it->n[2], it->n[3]};
      rc = op->sessions_add(tx, j->project_id, &sc);
      break;
    }
    case IT_DROPPED:
      rc = op->dropped_add(tx, j->project_id, it->s[0], it->s[1], it->n[0]);
      break;
    case IT_ATTACHMENT:
      rc = op->attachment_put(tx, j->project_id, it->has_event_id ? it->event_id : NULL, it->s[0],
                              it->s[1], it->payload, it->len, j->received);
      break;
    }
    if (rc != STORE_OK) return rc;
  }
  return STORE_OK;
}

static void job_done(writer_job *wj) {
  ingest_job *j = container_of(wj, ingest_job, job);
  app *a = j->a;
  if (wj->status >= 0) {
    if (a->storage_failing) log_info("storage writable again", NULL);
    a->storage_failing = 0;
    a->counters.events_accepted += j->events_new;
    a->counters.events_duplicate += j->events_dup;
    for (size_t i = 0; i < j->n_items; i++) {
      switch (j->items[i].kind) {
      case IT_TRANSACTION:
        a->counters.transactions++;
        break;
      case IT_SESSION:
      case IT_SESSION_AGG:
        a->counters.sessions++;
        break;
      case IT_DROPPED:
        a->counters.client_reports++;
        break;
      case IT_ATTACHMENT:
        a->counters.attachments++;
        break;
      default:
        break;
      }
    }
    char body[80];
    int n = j->response_id[0] ? snprintf(body, sizeof body, "{\"id\":\"%s\"}", j->response_id)
                              : snprintf(body, sizeof body, "{}");
    http_respond(j->c, 200, "application/json", NULL, body, (size_t)n);
  } else {
    a->counters.rejected_storage++;
    if (!a->storage_failing)
      log_error("storage failing; ingest answers 503 until a write succeeds", "status=%d",
                wj->status);
    a->storage_failing = 1;
    status_respond(j->c, wj->status, "project", NULL);
  }
  job_free(j);
}

static void submit(ingest_job *j) {
  j->job.run = job_run;
  j->job.done = job_done;
  int rc = writer_submit(j->a->writer, &j->job);
  if (rc == 0) return;
  j->a->counters.rejected_queue_full++;
  ingest_respond_rate_limited(j->c, 1, "", "organization", "server busy, retry later");
  job_free(j);
}

static ingest_job *job_new(app *a, http_conn *c, int64_t project_id, http_request *req,
                           char *body) {
  ingest_job *j = calloc(1, sizeof *j);
  if (!j) {
    free(body);
    ingest_respond_nomem(a, c);
    return NULL;
  }
  j->sink = a->alerts;
  j->a = a;
  j->c = c;
  j->project_id = project_id;
  j->received = req->received_at;
  j->body = body;
  return j;
}

/* Answers a request that will not be stored and frees the job: rc PARSE_NOMEM is a 503 the
 * client may retry, anything else a 400 saying why (err, which may be empty). */
static void reject(ingest_job *j, int rc, const char *err) {
  if (rc == PARSE_NOMEM) {
    ingest_respond_nomem(j->a, j->c);
  } else {
    j->a->counters.rejected_invalid++;
    http_respond_error(j->c, 400, NULL, err[0] ? err : "invalid request");
  }
  job_free(j);
}

/* --- handlers ------------------------------------------------------------------------------ */

/* Legacy raven clients (raven-node, raven-go, the sentry-raven gem) send /store/ bodies as
 * base64(zlib(JSON)) with no Content-Encoding, as Sentry still accepts: a body whose first
 * non-blank byte is not '{' is decoded in place of *body (freed and replaced), its output bound
 * by --max-decoded-bytes while inflating. Returns 0, or -1 when it answered (and freed *body). */
static int legacy_store_body(app *a, http_conn *c, char **body, size_t *len) {
  size_t i = 0;
  while (i < *len &&
         ((*body)[i] == ' ' || (*body)[i] == '\t' || (*body)[i] == '\r' || (*body)[i] == '\n'))
    i++;
  if (i == *len || (*body)[i] == '{') return 0; /* JSON (or nothing): the parser says what */
  char *out;
  size_t outlen;
  char err[200] = "";
  int rc =
      decode_legacy_store(*body, *len, a->cfg->max_decoded_bytes, &out, &outlen, err, sizeof err);
  free(*body);
  *body = NULL;
  if (rc == DECODE_OK) {
    *body = out;
    *len = outlen;
    return 0;
  }
  if (rc == DECODE_ERR_TOO_BIG) {
    a->counters.rejected_too_large++;
    http_respond_error(c, 413, NULL, "request body too large after decompression");
  } else if (rc == DECODE_ERR_NOMEM) {
    ingest_respond_nomem(a, c);
  } else {
    char detail[300];
    snprintf(detail, sizeof detail, "body is neither JSON nor base64(zlib(JSON)): %s", err);
    a->counters.rejected_invalid++;
    http_respond_error(c, 400, NULL, detail);
  }
  return -1;
}

void ingest_store(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t project_id;
  char *body;
  size_t len;
  if (ingest_prepare(a, c, req, p, 0, &project_id, &body, &len) < 0) return;
  if (legacy_store_body(a, c, &body, &len) < 0) return;
  ingest_job *j = job_new(a, c, project_id, req, body);
  if (!j) return;
  char err[300] = "";
  jdom_doc arena; /* the event's tree, until it is normalised */
  jdom_init(&arena);
  int rc = parse_event(j, &arena, body, len, NULL, "event", err, sizeof err);
  jdom_free(&arena);
  if (rc) {
    reject(j, rc, err);
    return;
  }
  submit(j);
}

void ingest_envelope(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t project_id;
  char *body;
  size_t len;
  int authed = ingest_prepare(a, c, req, p, 1, &project_id, &body, &len);
  if (authed < 0) return;
  ingest_job *j = job_new(a, c, project_id, req, body);
  if (!j) return;
  envelope env;
  char err[300] = "";
  int rc = envelope_parse(body, len, a->cfg->max_envelope_items, &env, err, sizeof err);
  if (rc) {
    reject(j, rc == ENVELOPE_ENOMEM ? PARSE_NOMEM : PARSE_INVALID, err);
    return;
  }
  if (!authed) {
    char key[AUTH_KEY_MAX + 1];
    long long dsn_project = 0;
    const char *dsn = jdom_str(jdom_get(env.header, "dsn"));
    if (!dsn || auth_parse_dsn(dsn, key, &dsn_project) || dsn_project != project_id ||
        check_key(a, c, project_id, key, req->received_at) < 0) {
      if (!dsn || dsn_project != project_id) respond_auth_failure(a, c);
      envelope_free(&env);
      job_free(j);
      return;
    }
  }
  const jdom_val *header_id = jdom_get(env.header, "event_id");
  char hid[33] = "";
  if (jdom_is_string(header_id) && hex_event_id(header_id->u.s, header_id->n, hid, NULL) == 0)
    memcpy(j->response_id, hid, 33);
  jdom_doc *arena = &env.arena; /* the payloads' trees go with the headers' */
  for (size_t i = 0; i < env.n_items && rc == 0; i++) {
    const envelope_item *ei = &env.items[i];
    char what[64];
    snprintf(what, sizeof what, "item %zu (%.20s)", i, ei->type);
    if (!strcmp(ei->type, "event")) {
      rc = parse_event(j, arena, ei->payload, ei->len, hid[0] ? hid : NULL, what, err, sizeof err);
    } else if (!strcmp(ei->type, "transaction")) {
      rc = parse_transaction(j, arena, ei->payload, ei->len, what, err, sizeof err);
    } else if (!strcmp(ei->type, "session")) {
      rc = parse_session(j, arena, ei->payload, ei->len, what, err, sizeof err);
    } else if (!strcmp(ei->type, "sessions")) {
      rc = parse_sessions(j, arena, ei->payload, ei->len, what, err, sizeof err);
    } else if (!strcmp(ei->type, "client_report")) {
      rc = parse_client_report(j, arena, ei->payload, ei->len, what, err, sizeof err);
    } else if (!strcmp(ei->type, "attachment")) {
      rc = parse_attachment(j, ei, hid[0] ? hid : NULL);
    } else {
      a->counters.items_skipped++; /* unknown types are skipped, as Sentry's relay does */
    }
  }
  envelope_free(&env);
  if (rc) {
    reject(j, rc, err);
    return;
  }
  if (j->n_items == 0) {
    char body200[80];
    int n = j->response_id[0] ? snprintf(body200, sizeof body200, "{\"id\":\"%s\"}", j->response_id)
                              : snprintf(body200, sizeof body200, "{}");
    http_respond(c, 200, "application/json", NULL, body200, (size_t)n);
    job_free(j);
    return;
  }
  submit(j);
}
