/* api: the management REST API under /api/v1: projects, issues, events, stats, alerts (the
 * workers endpoints are api_workers.c, the webhook endpoints api_webhooks.c), and the one
 * pattern every endpoint follows: validate on the loop, run a read on the reader pool (query
 * and serialisation) or a write through the writer, answer on the loop. Errors are {"detail"}
 * with the status core/status.c maps. */
#ifndef SLUICE_API_H
#define SLUICE_API_H
#include <jansson.h>

#include "http/router.h"

void api_project_create(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_update(app *a, http_conn *c, http_request *req, const route_params *p);
/* Deletes the project with all its data (the row and key at once, the data in batches). */
void api_project_delete(app *a, http_conn *c, http_request *req, const route_params *p);
void api_project_stats(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_list(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_update(app *a, http_conn *c, http_request *req, const route_params *p);
void api_issue_events(app *a, http_conn *c, http_request *req, const route_params *p);
void api_event_get(app *a, http_conn *c, http_request *req, const route_params *p);
void api_alert_list(app *a, http_conn *c, http_request *req, const route_params *p);

/* --- shared by API modules ------------------------------------------------------------------ */

/* A read on the reader pool. An endpoint embeds this first in a struct of its own typed
 * parameters; query() runs on a pool thread with only that struct and a read handle, and sets
 * result (a document, serialised there too) or returns a STORE_* status. */
typedef struct api_read api_read;
struct api_read {
  reader_req rr;
  http_conn *c;
  const char *what;                        /* "<what> not found" for STORE_ENOTFOUND */
  int (*query)(api_read *r, store_rd *rd); /* pool thread */
  void (*cleanup)(api_read *r);            /* optional: frees what the struct owns */
  json_t *result;                          /* owned; serialised on the pool thread into out */
  char *out;
  size_t out_len;
};

/* A zeroed read of size bytes (a struct that starts with api_read); answers 503 itself and
 * returns NULL when out of memory. */
void *api_read_new(http_conn *c, size_t size, const char *what,
                   int (*query)(api_read *r, store_rd *rd));
/* Submits r; answers 503 itself when the pool refuses. Takes ownership of r. */
void api_read_submit(app *a, api_read *r);
/* Frees a read that was never submitted (after its endpoint answered an error). */
void api_read_free(api_read *r);

/* A read of one addressed thing's list (an issue's events, a webhook's deliveries): the id from
 * path parameter 0 and the page from ?limit=&cursor= (ids only). */
typedef struct api_paged {
  api_read base;
  int64_t id;
  store_page page;
} api_paged;
/* Parses both (404 "<what> not found", 400 for bad paging) and runs query on the pool with an
 * api_paged; dflt and max bound the page size. */
void api_read_paged(app *a, http_conn *c, http_request *req, const route_params *p,
                    const char *what, int (*query)(api_read *r, store_rd *rd), int dflt, int max);

/* Submits a management write job embedded in owner (a malloc'd struct). When the writer
 * refuses it, answers 503 on c and frees owner; done() is then never called. */
void api_write_submit(app *a, http_conn *c, writer_job *job, int (*run)(writer_job *, store_tx *),
                      void (*done)(writer_job *), void *owner);

/* Parses path parameter 0 as an id; when it is not a positive integer answers 404
 * "<what> not found" and returns -1. */
int api_param_id(http_conn *c, const route_params *p, const char *what, int64_t *id);
/* The same for a project id, which must also name an existing project. */
int api_param_project(app *a, http_conn *c, const route_params *p, int64_t *id);

/* Parses ?limit= (default dflt, 1..max) and ?cursor= into page: a cursor is "<id>", or
 * "<value>:<id>" for lists sorted by a value (with_key), as the lists' next_cursor gives them
 * out. Returns 0, or -1 after answering 400 naming the parameter. */
int api_paging(http_conn *c, http_request *req, int dflt, int max, int with_key, store_page *page);
/* Parses a cursor as api_paging does: "<id>" (id > 0, decimal digits only), or with_key
 * "<value>:<id>" with a finite value; the only forms the lists give out (store_json_page).
 * Sets page->key (with_key), page->id and page->has_cursor; returns 0, or -1 for anything else
 * (page then unspecified). */
int api_cursor_parse(const char *text, int with_key, store_page *page);
/* Parses the body as a JSON object; answers 400 and returns NULL when it is not one. */
json_t *api_body_object(http_conn *c, http_request *req);
/* Answers doc (stolen) as JSON with status, or 503 when it cannot be serialised. */
void api_respond_json(http_conn *c, int status, json_t *doc);

#endif
