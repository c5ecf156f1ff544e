/* api: management endpoints. The loop validates and answers; reads run on the reader pool
 * (query + serialisation) with only their own typed parameters; writes go through the writer.
 * Every error is {"detail"} with the status core/status.c maps. */
#include "api/api.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "core/status.h"
#include "util/container.h"
#include "util/crypto.h"
#include "util/hex.h"
#include "util/timefmt.h"

/* --- reads ------------------------------------------------------------------------------- */

static int read_run(reader_req *rr, store_rd *rd) {
  api_read *r = container_of(rr, api_read, rr);
  int rc = r->query(r, rd);
  if (r->result) {
    if (rc == STORE_OK) {
      r->out = json_dumps(r->result, JSON_COMPACT);
      r->out_len = r->out ? strlen(r->out) : 0;
      if (!r->out) rc = STORE_ENOMEM;
    }
    json_decref(r->result);
    r->result = NULL;
  }
  return rc;
}

void api_read_free(api_read *r) {
  if (!r) return;
  if (r->cleanup) r->cleanup(r);
  json_decref(r->result);
  free(r->out);
  free(r);
}

static void read_done(reader_req *rr, int rc) {
  api_read *r = container_of(rr, api_read, rr);
  if (rc == STORE_OK && r->out) {
    http_respond_take(r->c, 200, "application/json", "Cache-Control: no-store\r\n", r->out,
                      r->out_len);
    r->out = NULL;
  } else {
    status_respond(r->c, rc == STORE_OK ? STORE_EIO : rc, r->what, NULL);
  }
  api_read_free(r);
}

void *api_read_new(http_conn *c, size_t size, const char *what,
                   int (*query)(api_read *r, store_rd *rd)) {
  api_read *r = calloc(1, size);
  if (!r) {
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    return NULL;
  }
  r->c = c;
  r->what = what;
  r->query = query;
  r->rr.run = read_run;
  r->rr.done = read_done;
  return r;
}

void api_read_submit(app *a, api_read *r) {
  if (reader_submit(a->reader, &r->rr) != 0) {
    http_respond_error(r->c, 503, "Retry-After: 1\r\n", "server busy");
    api_read_free(r);
  }
}

int api_cursor_parse(const char *c, int with_key, store_page *page) {
  const char *id_text = c;
  char *end;
  if (with_key) {
    /* strtod would skip leading blanks and a '+'; %.17g writes neither */
    const char *digit = *c == '-' ? c + 1 : c;
    if (*digit < '0' || *digit > '9') return -1;
    page->key = strtod(c, &end);
    if (end == c || *end != ':' || !isfinite(page->key)) return -1;
    id_text = end + 1;
  }
  if (*id_text < '1' || *id_text > '9') return -1;
  errno = 0;
  long long id = strtoll(id_text, &end, 10);
  if (*end || errno || id <= 0) return -1;
  page->id = id;
  page->has_cursor = 1;
  return 0;
}

/* Whether the query string has parameter name (even one too long for http_query_get). */
static int query_has(const http_request *req, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i + n < req->query_len; i++) {
    if ((i == 0 || req->query[i - 1] == '&') && !memcmp(req->query + i, name, n) &&
        req->query[i + n] == '=')
      return 1;
  }
  return 0;
}

int api_paging(http_conn *c, http_request *req, int dflt, int max, int with_key, store_page *page) {
  char buf[80];
  memset(page, 0, sizeof *page);
  page->limit = dflt;
  if (http_query_get(req, "limit", buf, sizeof buf) >= 0) {
    char *end;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || v < 1 || v > max) {
      char msg[80];
      snprintf(msg, sizeof msg, "limit must be an integer from 1 to %d", max);
      http_respond_error(c, 400, NULL, msg);
      return -1;
    }
    page->limit = v;
  }
  long n = http_query_get(req, "cursor", buf, sizeof buf);
  int present = n >= 0 || query_has(req, "cursor");
  if (present && n != 0 && (n < 0 || api_cursor_parse(buf, with_key, page))) {
    http_respond_error(c, 400, NULL, "cursor: not one this server gave out (use next_cursor)");
    return -1;
  }
  return 0;
}

void api_read_paged(app *a, http_conn *c, http_request *req, const route_params *p,
                    const char *what, int (*query)(api_read *r, store_rd *rd), int dflt, int max) {
  int64_t id;
  if (api_param_id(c, p, what, &id)) return;
  api_paged *q = api_read_new(c, sizeof *q, what, query);
  if (!q) return;
  q->id = id;
  if (api_paging(c, req, dflt, max, 0, &q->page)) {
    api_read_free(&q->base);
    return;
  }
  api_read_submit(a, &q->base);
}

void api_respond_json(http_conn *c, int status, json_t *doc) {
  char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (out)
    http_respond_take(c, status, "application/json", NULL, out, strlen(out));
  else
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
}

json_t *api_body_object(http_conn *c, http_request *req) {
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

typedef struct project_read {
  api_read base;
  int64_t id;
  char public_url[512]; /* for the DSNs: the config's, copied so the pool never reads the app */
} project_read;

static int q_projects(api_read *r, store_rd *rd) {
  project_read *q = container_of(r, project_read, base);
  return rd->ops->read_projects(rd, q->public_url, &r->result);
}

static int q_project(api_read *r, store_rd *rd) {
  project_read *q = container_of(r, project_read, base);
  return rd->ops->read_project(rd, q->id, q->public_url, &r->result);
}

static int q_stats(api_read *r, store_rd *rd) {
  project_read *q = container_of(r, project_read, base);
  return rd->ops->read_project_stats(rd, q->id, &r->result);
}

static void project_read_submit(app *a, http_conn *c, int64_t id,
                                int (*query)(api_read *r, store_rd *rd)) {
  project_read *q = api_read_new(c, sizeof *q, "project", query);
  if (!q) return;
  q->id = id;
  snprintf(q->public_url, sizeof q->public_url, "%s", a->cfg->public_url);
  api_read_submit(a, &q->base);
}

void api_project_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req, (void)p;
  project_read_submit(a, c, 0, q_projects);
}

void api_project_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  project_read_submit(a, c, id, q_project);
}

void api_project_stats(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  project_read_submit(a, c, id, q_stats);
}

void api_write_submit(app *a, http_conn *c, writer_job *job, int (*run)(writer_job *, store_tx *),
                      void (*done)(writer_job *), void *owner) {
  job->run = run;
  job->done = done;
  if (writer_submit(a->writer, job) != 0) {
    http_respond_error(c, 503, "Retry-After: 1\r\n", "server busy, retry later");
    free(owner);
  }
}

typedef struct project_write {
  writer_job job;
  app *a; /* loop thread only (done) */
  http_conn *c;
  int64_t id;
  int64_t rate_limit;           /* -1: null */
  int set_name, set_rate_limit; /* PATCH: which fields the body had */
  int name_taken;               /* run: another project has the name (ECONFLICT) */
  double now;
  char name[256];
  char key[APP_KEY_MAX + 1];
} project_write;

#define PROJECT_NAME_MAX     100  /* bytes, after trimming */
#define PROJECT_DELETE_BATCH 5000 /* rows of its data the delete job itself deletes */

/* A project name from a body member: a string, trimmed of ASCII white space, 1 to
 * PROJECT_NAME_MAX bytes without control characters, copied into out. Returns 0, or -1 after
 * answering 400. */
static int project_name_arg(http_conn *c, json_t *v, char out[PROJECT_NAME_MAX + 1]) {
  const char *name = json_string_value(v);
  size_t n = name ? json_string_length(v) : 0;
  while (n && strchr(" \t\r\n\f\v", name[0])) name++, n--;
  while (n && strchr(" \t\r\n\f\v", name[n - 1])) n--;
  int ok = name && n > 0 && n <= PROJECT_NAME_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) ok = 0;
  }
  if (!ok) {
    http_respond_error(
        c, 400, NULL, "name: must be a string of 1 to 100 characters (without control characters)");
    return -1;
  }
  memcpy(out, name, n);
  out[n] = '\0';
  return 0;
}

/* The 409 for a name another project has. */
static void respond_name_taken(http_conn *c, const char *name) {
  char msg[400];
  snprintf(msg, sizeof msg, "name: a project called \"%s\" already exists (names ignore case)",
           name);
  http_respond_error(c, 409, NULL, msg);
}

/* ECONFLICT with w->name_taken set when another project than except (0: none) has the name. */
static int check_name_free(project_write *w, store_tx *tx, int64_t except) {
  int64_t other = 0;
  int rc = tx->ops->project_find_name(tx, w->name, &other);
  if (rc == STORE_ENOTFOUND || (rc == STORE_OK && other == except)) return STORE_OK;
  if (rc == STORE_OK) w->name_taken = 1, rc = STORE_ECONFLICT;
  return rc;
}

static int run_project_create(writer_job *j, store_tx *tx) {
  project_write *w = container_of(j, project_write, job);
  int rc = check_name_free(w, tx, 0);
  if (rc == STORE_OK) rc = tx->ops->project_create(tx, w->name, w->key, w->now, &w->id);
  return rc;
}

static void done_project_create(writer_job *j) {
  project_write *w = container_of(j, project_write, job);
  if (w->name_taken && j->status == STORE_ECONFLICT) {
    respond_name_taken(w->c, w->name);
  } else if (!status_respond(w->c, j->status, "project",
                             "id or public_key already in use (the id of a deleted project is "
                             "free again once its data is deleted)")) {
    if (app_key_add(w->a, w->id, w->key, -1)) {
      /* Stored but not in the key table: a restart loads it; say so rather than pretend. */
      http_respond_error(w->c, 503, "Retry-After: 1\r\n",
                         "project stored, but its key is not active until a restart");
    } else {
      char dsn[600];
      store_format_dsn(w->a->cfg->public_url, w->key, w->id, dsn, sizeof dsn);
      api_respond_json(w->c, 201,
                       json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)w->id, "name", w->name,
                                 "public_key", w->key, "dsn", dsn));
    }
  }
  free(w);
}

static project_write *project_write_new(app *a, http_conn *c) {
  project_write *w = calloc(1, sizeof *w);
  if (!w)
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
  else
    w->a = a, w->c = c, w->now = time_wall();
  return w;
}

void api_project_create(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)p;
  json_t *doc = api_body_object(c, req);
  if (!doc) return;
  char name[PROJECT_NAME_MAX + 1];
  if (project_name_arg(c, json_object_get(doc, "name"), name)) {
    json_decref(doc);
    return;
  }
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
    http_respond_error(c, strstr(bad, "in use") ? 409 : 400, NULL, bad);
    return;
  }
  project_write *w = project_write_new(a, c);
  if (!w) {
    json_decref(doc);
    return;
  }
  snprintf(w->name, sizeof w->name, "%s", name);
  w->id = jid ? json_integer_value(jid) : 0;
  if (key) snprintf(w->key, sizeof w->key, "%s", key);
  json_decref(doc); /* name and key are copied */
  if (!w->key[0]) {
    uint8_t raw[16];
    if (random_bytes(raw, sizeof raw)) {
      free(w);
      http_respond_error(c, 503, "Retry-After: 1\r\n", "no randomness available");
      return;
    }
    hex_encode(raw, sizeof raw, w->key);
  }
  api_write_submit(a, c, &w->job, run_project_create, done_project_create, w);
}

static int run_project_update(writer_job *j, store_tx *tx) {
  project_write *w = container_of(j, project_write, job);
  int rc = STORE_OK;
  if (w->set_name && (rc = check_name_free(w, tx, w->id)) == STORE_OK)
    rc = tx->ops->project_rename(tx, w->id, w->name);
  if (rc == STORE_OK && w->set_rate_limit)
    rc = tx->ops->project_set_rate_limit(tx, w->id, w->rate_limit);
  /* The answer shows the project's name either way. */
  if (rc == STORE_OK) rc = tx->ops->project_name(tx, w->id, w->name, sizeof w->name);
  return rc;
}

static void done_project_update(writer_job *j) {
  project_write *w = container_of(j, project_write, job);
  if (w->name_taken && j->status == STORE_ECONFLICT) {
    respond_name_taken(w->c, w->name);
  } else if (!status_respond(w->c, j->status, "project", NULL)) {
    project_key *k = app_key_for_project(w->a, w->id);
    if (k && w->set_rate_limit) k->rate_limit_per_minute = w->rate_limit;
    int64_t rl = k ? k->rate_limit_per_minute : w->rate_limit;
    api_respond_json(w->c, 200,
                     json_pack("{s:I, s:s, s:o}", "id", (json_int_t)w->id, "name", w->name,
                               "rate_limit_per_minute", rl >= 0 ? json_integer(rl) : json_null()));
  }
  free(w);
}

void api_project_update(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  json_t *doc = api_body_object(c, req);
  if (!doc) return;
  project_write *w = project_write_new(a, c);
  if (!w) {
    json_decref(doc);
    return;
  }
  w->id = id;
  const char *field;
  json_t *v;
  char msg[200];
  const char *bad = NULL;
  json_object_foreach(doc, field, v) {
    if (!strcmp(field, "name")) {
      if (project_name_arg(c, v, w->name)) goto answered;
      w->set_name = 1;
    } else if (!strcmp(field, "rate_limit_per_minute")) {
      if (!(json_is_null(v) || (json_is_integer(v) && json_integer_value(v) >= 0))) {
        bad = "rate_limit_per_minute: must be a non-negative integer or null";
        break;
      }
      w->rate_limit = json_is_null(v) ? -1 : json_integer_value(v);
      w->set_rate_limit = 1;
    } else {
      snprintf(msg, sizeof msg,
               "%.64s: unknown field (a project has name and "
               "rate_limit_per_minute)",
               field);
      bad = msg;
      break;
    }
  }
  if (!bad && !w->set_name && !w->set_rate_limit)
    bad = "body must have name or rate_limit_per_minute";
  if (bad) {
    http_respond_error(c, 400, NULL, bad);
    goto answered;
  }
  json_decref(doc);
  api_write_submit(a, c, &w->job, run_project_update, done_project_update, w);
  return;
answered:
  json_decref(doc);
  free(w);
}

static int run_project_delete(writer_job *j, store_tx *tx) {
  project_write *w = container_of(j, project_write, job);
  int rc = tx->ops->project_delete(tx, w->id, w->now);
  /* A first batch of its data goes at once (all of a small project's); housekeeping deletes the
   * rest a batch per pass and alone decides when it is done (grace INFINITY here). */
  int64_t n = 0;
  if (rc == STORE_OK) rc = tx->ops->projects_purge(tx, w->now, INFINITY, PROJECT_DELETE_BATCH, &n);
  return rc;
}

static void done_project_delete(writer_job *j) {
  project_write *w = container_of(j, project_write, job);
  if (!status_respond(w->c, j->status, "project", NULL)) {
    app_key_remove(w->a, w->id);
    http_respond(w->c, 204, NULL, NULL, NULL, 0);
  }
  free(w);
}

void api_project_delete(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  project_write *w = project_write_new(a, c);
  if (!w) return;
  w->id = id;
  api_write_submit(a, c, &w->job, run_project_delete, done_project_delete, w);
}

/* --- issues and events ---------------------------------------------------------------------- */

typedef struct issue_read {
  api_read base;
  int64_t id; /* issue, or project for events */
  store_issue_query q;
  uint8_t event_id[16];
  char status[16], sort[16], level[16], text[256];
} issue_read;

static int q_issues(api_read *r, store_rd *rd) {
  issue_read *q = container_of(r, issue_read, base);
  return rd->ops->read_issues(rd, &q->q, &r->result);
}

/* A query parameter that must be one of the choices (NULL-terminated; the first is the
 * default). Copies it into buf; answers 400 and returns -1 otherwise. */
static int query_choice(http_conn *c, http_request *req, const char *name,
                        const char *const *choices, char *buf, size_t cap) {
  long n = http_query_get(req, name, buf, cap);
  if (n < 0) snprintf(buf, cap, "%s", choices[0]);
  for (size_t i = 0; choices[i]; i++) {
    if (!strcmp(buf, choices[i])) return 0;
  }
  char msg[200];
  int k = snprintf(msg, sizeof msg, "%s: must be", name);
  int listed = 0; /* an empty choice (parameter absent) is not listed */
  for (size_t i = 0; choices[i] && k > 0 && (size_t)k < sizeof msg; i++) {
    if (!choices[i][0]) continue;
    k += snprintf(msg + k, sizeof msg - (size_t)k, "%s %s",
                  listed++ ? (choices[i + 1] ? "," : " or") : "", choices[i]);
  }
  http_respond_error(c, 400, NULL, msg);
  return -1;
}

void api_issue_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  static const char *const statuses[] = {"unresolved", "resolved", "ignored", "all", NULL};
  static const char *const sorts[] = {"last_seen", "first_seen", "count", NULL};
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  issue_read *q = api_read_new(c, sizeof *q, "project", q_issues);
  if (!q) return;
  if (query_choice(c, req, "status", statuses, q->status, sizeof q->status) ||
      query_choice(c, req, "sort", sorts, q->sort, sizeof q->sort) ||
      api_paging(c, req, 25, 100, 1, &q->q.page)) {
    api_read_free(&q->base);
    return;
  }
  if (http_query_get(req, "query", q->text, sizeof q->text) < 0) q->text[0] = '\0';
  if (http_query_get(req, "level", q->level, sizeof q->level) < 0) q->level[0] = '\0';
  q->q.project_id = id;
  q->q.status = strcmp(q->status, "all") ? q->status : NULL;
  q->q.sort = q->sort;
  q->q.text = q->text[0] ? q->text : NULL;
  q->q.level = q->level[0] ? q->level : NULL;
  q->q.now = req->received_at;
  api_read_submit(a, &q->base);
}

static int q_issue(api_read *r, store_rd *rd) {
  issue_read *q = container_of(r, issue_read, base);
  return rd->ops->read_issue(rd, q->id, &r->result);
}

void api_issue_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_id(c, p, "issue", &id)) return;
  issue_read *q = api_read_new(c, sizeof *q, "issue", q_issue);
  if (!q) return;
  q->id = id;
  api_read_submit(a, &q->base);
}

typedef struct issue_write {
  writer_job job;
  http_conn *c;
  int64_t id;
  double now;
  char status[16];
} issue_write;

static int run_issue_update(writer_job *j, store_tx *tx) {
  issue_write *w = container_of(j, issue_write, job);
  int64_t project_id = 0;
  int rc = tx->ops->issue_set_status(tx, w->id, w->status, &project_id);
  if (rc == STORE_OK && strcmp(w->status, "unresolved"))
    rc = alerts_issue_closed(tx, project_id, w->id, w->now);
  return rc;
}

static void done_issue_update(writer_job *j) {
  issue_write *w = container_of(j, issue_write, job);
  if (!status_respond(w->c, j->status, "issue", NULL))
    api_respond_json(w->c, 200,
                     json_pack("{s:I, s:s}", "id", (json_int_t)w->id, "status", w->status));
  free(w);
}

void api_issue_update(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (api_param_id(c, p, "issue", &id)) return;
  json_t *doc = api_body_object(c, req);
  if (!doc) return;
  const char *status = json_string_value(json_object_get(doc, "status"));
  if (!status ||
      (strcmp(status, "unresolved") && strcmp(status, "resolved") && strcmp(status, "ignored"))) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, "status: must be unresolved, resolved or ignored");
    return;
  }
  issue_write *w = calloc(1, sizeof *w);
  if (!w) {
    json_decref(doc);
    http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
    return;
  }
  w->c = c;
  w->id = id;
  w->now = time_wall();
  snprintf(w->status, sizeof w->status, "%s", status);
  json_decref(doc);
  api_write_submit(a, c, &w->job, run_issue_update, done_issue_update, w);
}

static int q_issue_events(api_read *r, store_rd *rd) {
  api_paged *q = container_of(r, api_paged, base);
  return rd->ops->read_issue_events(rd, q->id, &q->page, &r->result);
}

void api_issue_events(app *a, http_conn *c, http_request *req, const route_params *p) {
  api_read_paged(a, c, req, p, "issue", q_issue_events, 50, 500);
}

static int q_event(api_read *r, store_rd *rd) {
  issue_read *q = container_of(r, issue_read, base);
  return rd->ops->read_event(rd, q->id, q->event_id, &r->result);
}

void api_event_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  char text[64];
  uint8_t raw[16];
  long n = route_param_str(p, 1, text, sizeof text);
  if (n < 0 || hex_event_id(text, (size_t)n, NULL, raw) != 0) {
    http_respond_error(c, 404, NULL, "event not found (event ids are 32 hex digits or a UUID)");
    return;
  }
  issue_read *q = api_read_new(c, sizeof *q, "event", q_event);
  if (!q) return;
  q->id = id;
  memcpy(q->event_id, raw, 16);
  api_read_submit(a, &q->base);
}

/* --- alerts ---------------------------------------------------------------------------------- */

typedef struct alert_read {
  api_read base;
  int64_t project_id;
  store_page page;
  char status[16], kind[32];
} alert_read;

static int q_alerts(api_read *r, store_rd *rd) {
  alert_read *q = container_of(r, alert_read, base);
  return rd->ops->read_alerts(rd, q->project_id, strcmp(q->status, "all") ? q->status : NULL,
                              q->kind[0] ? q->kind : NULL, &q->page, &r->result);
}

void api_alert_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  /* firing/resolved: state alerts (memory_leak); notified: notifications (new_issue...) */
  static const char *const statuses[] = {"all", "firing", "resolved", "notified", NULL};
  static const char *const kinds[] = {"", "memory_leak", "new_issue", "regression", NULL};
  int64_t id;
  if (api_param_project(a, c, p, &id)) return;
  alert_read *q = api_read_new(c, sizeof *q, "project", q_alerts);
  if (!q) return;
  q->project_id = id;
  if (query_choice(c, req, "status", statuses, q->status, sizeof q->status) ||
      query_choice(c, req, "kind", kinds, q->kind, sizeof q->kind) ||
      api_paging(c, req, 50, 500, 0, &q->page)) {
    api_read_free(&q->base);
    return;
  }
  api_read_submit(a, &q->base);
}
