/* api: the management REST API under /api/v1 (projects, issues, events, stats, alerts; the
 * workers endpoints live in api_memory.c). Handlers validate on the loop, run reads on the
 * reader pool and writes through the writer; JSON is serialised off the loop. */
#ifndef SLUICE_API_H
#define SLUICE_API_H
#include <jansson.h>

#include "http/router.h"

void api_project_create(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_update(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_stats(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_update(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_events(app *a, http_conn *c, http_request *req, const route_params *p);
void api_event_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_alert_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_worker_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_worker_memory(app *a, http_conn *c, http_request *req, const route_params *p);

/* --- shared by API modules ------------------------------------------------------------------ */

/* A read on the reader pool: query() runs there and sets result (a JSON document it owns) or
 * status + detail; the loop then answers. Params are free-form per endpoint. */
typedef struct api_read api_read;
struct api_read {
  reader_req rr;
  app *a;
  http_conn *c;
  int (*query)(db *d, api_read *r); /* pool thread; return 0 or set status */
  int64_t id[3];
  double num[4];
  char str[5][256];
  int status; /* HTTP status; 200 by default */
  char detail[200];
  json_t *result; /* owned; serialised on the pool thread into out */
  char *out;
  size_t out_len;
};

api_read *api_read_new(app *a, http_conn *c, int (*query)(db *d, api_read *r));
/* Submits r; answers 503 itself when the pool refuses. Takes ownership of r. */
void api_read_submit(api_read *r);

/* Submits a management write job embedded in owner (a malloc'd struct). When the writer
 * refuses it, answers 503 on c and frees owner; done() is then never called. */
void api_write_submit(app *a, http_conn *c, writer_job *job, int (*run)(writer_job *, db *),
                      void (*done)(writer_job *), void *owner);

/* Answers a management write that ended with a negative writer status: 404 "<what> not
 * found" for WRITER_ENOTFOUND, 409 conflict for WRITER_EINVAL, 503 otherwise. Returns 1 when
 * it answered (status < 0), 0 when the write succeeded and the caller answers. */
int api_respond_write_error(http_conn *c, int status, const char *what, const char *conflict);

/* Parses path parameter 0 as an id; when it is not a positive integer answers 404
 * "<what> not found" and returns -1. */
int api_param_id(http_conn *c, const route_params *p, const char *what, int64_t *id);
/* The same for a project id, which must also name an existing project. */
int api_param_project(app *a, http_conn *c, const route_params *p, int64_t *id);

/* Parses ?limit= (default dflt, 1..max) and ?cursor=; 0 or -1 after answering 400. */
int api_paging(http_conn *c, http_request *req, int dflt, int max, int64_t *limit, char *cursor,
               size_t cursor_cap);
/* Parses the body as a JSON object; answers 400 and returns NULL when it is not one. */
json_t *api_body_object(app *a, http_conn *c, http_request *req);
/* Formats the DSN of a project with the server's public address. */
void api_format_dsn(app *a, const char *public_key, int64_t project_id, char *buf, size_t cap);

#endif
