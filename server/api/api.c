/* api: management endpoints. Loop thread validates and answers; reads run on the reader pool
 * (query + serialisation), writes go through the writer. Every error is {"detail"} with the
 * right status. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "sqlite/events_store.h"
#include "sqlite/queries.h"

/* --- reads ------------------------------------------------------------------------------- */

static int read_run(reader_req *rr, db *d) {
  api_read *r = container_of(rr, api_read, rr);
  int rc = r->query(d, r);
  if (r->result) {
    r->out = json_dumps(r->result, JSON_COMPACT);
    r->out_len = r->out ? strlen(r->out) : 0;
    json_decref(r->result);
    r->result = NULL;
  }
  return rc;
}

static void read_done(reader_req *rr, int rc) {
  api_read *r = container_of(rr, api_read, rr);
  if (r->out && r->status == 200 && rc == 0) {
    http_respond_take(r->c, 200, "application/json", "Cache-Control: no-store\r\n", r->out,
                      r->out_len);
    r->out = NULL;
  } else if (r->status != 200) {
    http_respond_error(r->c, r->status, NULL, r->detail);
  } else {
    http_respond_error(r->c, 503, "Retry-After: 1\r\n", "database read failed");
  }
  free(r->out);
  free(r);
}

api_read *api_read_new(app *a, http_conn *c, int (*query)(db *d, api_read *r)) {
  api_read *r = calloc(1, sizeof *r);
  if (!r) {
    http_respond_error(c, 503, NULL, "out of memory");
    return NULL;
  }
  r->a = a;
  r->c = c;
  r->query = query;
  r->status = 200;
  r->rr.run = read_run;
  r->rr.done = read_done;
  return r;
}

void api_read_submit(api_read *r) {
  if (reader_submit(r->a->reader, &r->rr) != 0) {
    http_respond_error(r->c, 503, "Retry-After: 1\r\n", "server busy");
    free(r);
  }
}

static int not_found(api_read *r, const char *what) {
  r->status = 404;
  snprintf(r->detail, sizeof r->detail, "%s not found", what);
  return 0;
}

int api_paging(http_conn *c, http_request *req, int dflt, int max, int64_t *limit, char *cursor,
               size_t cursor_cap) {
  char buf[32];
  *limit = dflt;
  if (http_query_get(req, "limit", buf, sizeof buf) >= 0) {
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || v < 1 || v > max) {
      char msg[80];
      snprintf(msg, sizeof msg, "limit must be an integer from 1 to %d", max);
      http_respond_error(c, 400, NULL, msg);
      return -1;
    }
    *limit = v;
  }
  if (http_query_get(req, "cursor", cursor, cursor_cap) < 0) cursor[0] = '\0';
  return 0;
}

json_t *api_body_object(app *a, http_conn *c, http_request *req) {
  (void)a;
  json_error_t jerr;
  json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc || !json_is_object(doc)) {
    json_decref(doc);
    char msg[256];
    snprintf(msg, sizeof msg, "body must be a JSON object%s%s", doc ? "" : ": ",
             doc ? "" : jerr.text);
    http_respond_error(c, 400, NULL, msg);
    return NULL;
  }
  return doc;
}

void api_format_dsn(app *a, const char *public_key, int64_t project_id, char *buf, size_t cap) {
  q_format_dsn(a->cfg->public_url, public_key, project_id, buf, cap);
}

int api_param_id(http_conn *c, const route_params *p, const char *what, int64_t *id) {
  if (route_param_i64(p, 0, id) == 0) return 0;
  char msg[64];
  snprintf(msg, sizeof msg, "%s not found", what);
  http_respond_error(c, 404, NULL, msg);
  return -1;
}

int api_param_project(app *a, http_conn *c, const route_params *p, int64_t *id) {
  if (route_param_i64(p, 0, id) == 0 && app_key_for_project(a, *id)) return 0;
  http_respond_error(c, 404, NULL, "project not found");
  return -1;
}

/* --- projects ---------------------------------------------------------------------------- */

static int q_list_projects(db *d, api_read *r) {
  r->result = q_projects(d, r->a->cfg->public_url);
  return r->result ? 0 : -1;
}

void api_project_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req, (void)p;
  api_read *r = api_read_new(a, c, q_list_projects);
  if (r) api_read_submit(r);
}

static int q_get_project(db *d, api_read *r) {
  int nf = 0;
  r->result = q_project(d, r->id[0], r->a->cfg->public_url, &nf);
  if (nf) return not_found(r, "project");
  return r->result ? 0 : -1;
}

void api_project_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_get_project);
  if (!r) return;
  r->id[0] = id;
  api_read_submit(r);
}

static int q_stats(db *d, api_read *r) {
  r->result = q_project_stats(d, r->id[0]);
  return r->result ? 0 : -1;
}

void api_project_stats(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_stats);
  if (!r) return;
  r->id[0] = id;
  api_read_submit(r);
}

/* A management write: run() on the writer, then after() on the loop answers. */
typedef struct api_write {
  writer_job job;
  app *a;
  http_conn *c;
  int64_t id;
  int64_t num;
  char name[256];
  char key[APP_KEY_MAX + 1];
  char status[16];
} api_write;

static api_write *write_new(app *a, http_conn *c) {
  api_write *w = calloc(1, sizeof *w);
  if (!w)
    http_respond_error(c, 503, NULL, "out of memory");
  else
    w->a = a, w->c = c;
  return w;
}

void api_write_submit(app *a, http_conn *c, writer_job *job, int (*run)(writer_job *, db *),
                      void (*done)(writer_job *), void *owner) {
  job->run = run;
  job->done = done;
  if (writer_submit(a->writer, job) != 0) {
    http_respond_error(c, 503, "Retry-After: 1\r\n", "server busy, retry later");
    free(owner);
  }
}

static void write_submit(api_write *w, int (*run)(writer_job *, db *), void (*done)(writer_job *)) {
  api_write_submit(w->a, w->c, &w->job, run, done, w);
}

int api_respond_write_error(http_conn *c, int status, const char *what, const char *conflict) {
  if (status >= 0) return 0;
  char msg[64];
  if (status == WRITER_ENOTFOUND) {
    snprintf(msg, sizeof msg, "%s not found", what);
    http_respond_error(c, 404, NULL, msg);
  } else if (status == WRITER_EINVAL) {
    http_respond_error(c, 409, NULL, conflict);
  } else {
    http_respond_error(c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  }
  return 1;
}

static int write_failed(api_write *w, const char *what) {
  if (!api_respond_write_error(w->c, w->job.status, what, "id or public_key already in use"))
    return 0;
  free(w);
  return 1;
}

static int run_project_create(writer_job *j, db *d) {
  api_write *w = container_of(j, api_write, job);
  return store_project_create(d, w->name, w->key, app_now(), &w->id);
}

static void done_project_create(writer_job *j) {
  api_write *w = container_of(j, api_write, job);
  if (write_failed(w, "project")) return;
  app_key_add(w->a, w->id, w->key, -1);
  char dsn[600];
  api_format_dsn(w->a, w->key, w->id, dsn, sizeof dsn);
  json_t *doc = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)w->id, "name", w->name,
                          "public_key", w->key, "dsn", dsn);
  char *out = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (out)
    http_respond_take(w->c, 201, "application/json", NULL, out, strlen(out));
  else
    http_respond_error(w->c, 503, NULL, "out of memory");
  free(w);
}

void api_project_create(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)p;
  json_t *doc = api_body_object(a, c, req);
  if (!doc) return;
  const char *name = json_string_value(json_object_get(doc, "name"));
  size_t nl = name ? strlen(name) : 0;
  if (!name || nl == 0 || nl > 100) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, "name: must be a string of 1 to 100 characters");
    return;
  }
  api_write *w = write_new(a, c);
  if (!w) {
    json_decref(doc);
    return;
  }
  snprintf(w->name, sizeof w->name, "%s", name);
  /* Optional: keep the id and key of an existing Sentry DSN, so only its host changes. */
  json_t *jid = json_object_get(doc, "id"), *jkey = json_object_get(doc, "public_key");
  const char *key = json_string_value(jkey);
  const char *bad = NULL;
  if (jid && (!json_is_integer(jid) || json_integer_value(jid) <= 0))
    bad = "id: must be a positive integer";
  else if (jkey && (!key || strlen(key) < 8 || strlen(key) > APP_KEY_MAX ||
                    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
                        strlen(key)))
    bad = "public_key: must be 8 to 64 letters and digits";
  else if (key && app_key_find(a, key))
    bad = "public_key: already in use";
  if (bad) {
    json_decref(doc);
    free(w);
    http_respond_error(c, strstr(bad, "in use") ? 409 : 400, NULL, bad);
    return;
  }
  w->id = jid ? json_integer_value(jid) : 0;
  if (key) {
    snprintf(w->key, sizeof w->key, "%s", key);
  } else {
    uint8_t raw[16];
    if (random_bytes(raw, sizeof raw)) {
      json_decref(doc);
      free(w);
      http_respond_error(c, 503, NULL, "no randomness available");
      return;
    }
    hex_encode(raw, sizeof raw, w->key);
  }
  json_decref(doc);
  write_submit(w, run_project_create, done_project_create);
}

static int run_project_update(writer_job *j, db *d) {
  api_write *w = container_of(j, api_write, job);
  return store_project_set_rate_limit(d, w->id, w->num);
}

static void done_project_update(writer_job *j) {
  api_write *w = container_of(j, api_write, job);
  if (write_failed(w, "project")) return;
  project_key *k = app_key_for_project(w->a, w->id);
  if (k) k->rate_limit_per_minute = w->num;
  char body[128];
  int n = snprintf(body, sizeof body, "{\"id\":%lld,\"rate_limit_per_minute\":", (long long)w->id);
  n += w->num >= 0 ? snprintf(body + n, sizeof body - (size_t)n, "%lld}", (long long)w->num)
                   : snprintf(body + n, sizeof body - (size_t)n, "null}");
  http_respond(w->c, 200, "application/json", NULL, body, (size_t)n);
  free(w);
}

void api_project_update(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  json_t *doc = api_body_object(a, c, req);
  if (!doc) return;
  json_t *rl = json_object_get(doc, "rate_limit_per_minute");
  if (!rl || !(json_is_null(rl) || (json_is_integer(rl) && json_integer_value(rl) >= 0))) {
    json_decref(doc);
    http_respond_error(c, 400, NULL,
                       "rate_limit_per_minute: must be a non-negative integer or null");
    return;
  }
  api_write *w = write_new(a, c);
  if (w) {
    w->id = id;
    w->num = json_is_null(rl) ? -1 : json_integer_value(rl);
    write_submit(w, run_project_update, done_project_update);
  }
  json_decref(doc);
}

/* --- issues and events ---------------------------------------------------------------------- */

static int q_list_issues(db *d, api_read *r) {
  issue_filter f = {.project_id = r->id[0],
                    .status = r->str[0][0] ? r->str[0] : NULL,
                    .sort = r->str[1],
                    .query = r->str[2][0] ? r->str[2] : NULL,
                    .cursor = r->str[3],
                    .level = r->str[4][0] ? r->str[4] : NULL,
                    .limit = r->id[1],
                    .now = r->num[0]};
  int bad = 0;
  r->result = q_issues(d, &f, &bad);
  if (bad) {
    r->status = 400;
    snprintf(r->detail, sizeof r->detail, "cursor: not one this server gave out");
    return 0;
  }
  return r->result ? 0 : -1;
}

void api_issue_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_list_issues);
  if (!r) return;
  r->id[0] = id;
  r->num[0] = req->received_at;
  char status[32] = "unresolved", sort[32] = "last_seen";
  http_query_get(req, "status", status, sizeof status);
  if (strcmp(status, "unresolved") && strcmp(status, "resolved") && strcmp(status, "ignored") &&
      strcmp(status, "all")) {
    http_respond_error(c, 400, NULL, "status: must be unresolved, resolved, ignored or all");
    free(r);
    return;
  }
  if (strcmp(status, "all")) snprintf(r->str[0], sizeof r->str[0], "%s", status);
  http_query_get(req, "sort", sort, sizeof sort);
  if (strcmp(sort, "last_seen") && strcmp(sort, "first_seen") && strcmp(sort, "count")) {
    http_respond_error(c, 400, NULL, "sort: must be last_seen, first_seen or count");
    free(r);
    return;
  }
  snprintf(r->str[1], sizeof r->str[1], "%s", sort);
  if (http_query_get(req, "query", r->str[2], sizeof r->str[2]) < 0) r->str[2][0] = '\0';
  if (http_query_get(req, "level", r->str[4], sizeof r->str[4]) < 0) r->str[4][0] = '\0';
  if (api_paging(c, req, 25, 100, &r->id[1], r->str[3], sizeof r->str[3])) {
    free(r);
    return;
  }
  api_read_submit(r);
}

static int q_get_issue(db *d, api_read *r) {
  int nf = 0;
  r->result = q_issue(d, r->id[0], &nf);
  if (nf) return not_found(r, "issue");
  return r->result ? 0 : -1;
}

void api_issue_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_id(c, p, "issue", &id)) return;
  api_read *r = api_read_new(a, c, q_get_issue);
  if (!r) return;
  r->id[0] = id;
  api_read_submit(r);
}

static int run_issue_update(writer_job *j, db *d) {
  api_write *w = container_of(j, api_write, job);
  return store_issue_set_status(d, w->id, w->status, app_now());
}

static void done_issue_update(writer_job *j) {
  api_write *w = container_of(j, api_write, job);
  if (write_failed(w, "issue")) return;
  char body[96];
  int n =
      snprintf(body, sizeof body, "{\"id\":%lld,\"status\":\"%s\"}", (long long)w->id, w->status);
  http_respond(w->c, 200, "application/json", NULL, body, (size_t)n);
  free(w);
}

void api_issue_update(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_id(c, p, "issue", &id)) return;
  json_t *doc = api_body_object(a, c, req);
  if (!doc) return;
  const char *status = json_string_value(json_object_get(doc, "status"));
  if (!status ||
      (strcmp(status, "unresolved") && strcmp(status, "resolved") && strcmp(status, "ignored"))) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, "status: must be unresolved, resolved or ignored");
    return;
  }
  api_write *w = write_new(a, c);
  if (w) {
    w->id = id;
    snprintf(w->status, sizeof w->status, "%s", status);
    write_submit(w, run_issue_update, done_issue_update);
  }
  json_decref(doc);
}

static int q_events_of_issue(db *d, api_read *r) {
  int nf = 0;
  r->result = q_issue_events(d, r->id[0], r->str[0], r->id[1], &nf);
  if (nf) return not_found(r, "issue");
  return r->result ? 0 : -1;
}

void api_issue_events(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_id(c, p, "issue", &id)) return;
  api_read *r = api_read_new(a, c, q_events_of_issue);
  if (!r) return;
  r->id[0] = id;
  if (api_paging(c, req, 50, 500, &r->id[1], r->str[0], sizeof r->str[0])) {
    free(r);
    return;
  }
  api_read_submit(r);
}

static int q_get_event(db *d, api_read *r) {
  int nf = 0;
  r->result = q_event(d, r->id[0], (const uint8_t *)r->str[0], &nf);
  if (nf) return not_found(r, "event");
  return r->result ? 0 : -1;
}

void api_event_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  char hex[64];
  long n = route_param_str(p, 1, hex, sizeof hex);
  uint8_t raw[16];
  size_t k = 0;
  for (long i = 0; i < n && k < 32; i++) {
    if (hex[i] == '-') continue;
    hex[k++] = hex[i];
  }
  hex[k] = '\0';
  int ok = k == 32;
  for (int i = 0; ok && i < 16; i++) {
    char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
    char *end;
    long v = strtol(b, &end, 16);
    if (*end) ok = 0;
    raw[i] = (uint8_t)v;
  }
  if (!ok) {
    http_respond_error(c, 404, NULL, "event not found (event ids are 32 hex digits)");
    return;
  }
  api_read *r = api_read_new(a, c, q_get_event);
  if (!r) return;
  r->id[0] = id;
  memcpy(r->str[0], raw, 16);
  api_read_submit(r);
}

/* --- alerts ---------------------------------------------------------------------------------- */

static int q_list_alerts(db *d, api_read *r) {
  r->result = q_alerts(d, r->id[0], r->str[0][0] ? r->str[0] : NULL,
                       r->str[1][0] ? r->str[1] : NULL, r->str[2], r->id[1]);
  return r->result ? 0 : -1;
}

void api_alert_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_list_alerts);
  if (!r) return;
  r->id[0] = id;
  char status[32] = "all";
  http_query_get(req, "status", status, sizeof status);
  if (strcmp(status, "firing") && strcmp(status, "resolved") && strcmp(status, "all")) {
    http_respond_error(c, 400, NULL, "status: must be firing, resolved or all");
    free(r);
    return;
  }
  if (strcmp(status, "all")) snprintf(r->str[0], sizeof r->str[0], "%s", status);
  if (http_query_get(req, "kind", r->str[1], sizeof r->str[1]) < 0) r->str[1][0] = '\0';
  if (api_paging(c, req, 50, 500, &r->id[1], r->str[2], sizeof r->str[2])) {
    free(r);
    return;
  }
  api_read_submit(r);
}
