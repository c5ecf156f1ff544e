/* ingest: the Sentry-compatible endpoints (/api/{id}/envelope/ and /api/{id}/store/) and the
 * memory endpoint's front half. On the loop: authenticate, decode, parse and normalise, then
 * hand one job per request to the writer; answer only after the job committed. */
#ifndef SLUICE_INGEST_H
#define SLUICE_INGEST_H
#include "http/router.h"

void ingest_envelope(app *a, http_conn *c, http_request *req, const route_params *p);
void ingest_store(app *a, http_conn *c, http_request *req, const route_params *p);

/* Shared by every ingest endpoint: checks the project key (header or query; with allow_dsn a
 * request without one may still authenticate through its envelope's dsn), the project's rate
 * limit and the writer queue, and decodes the body. On failure it has already answered and
 * returns -1; otherwise *body (malloc'd, owned by the caller) holds the decoded bytes and the
 * return is 1 when the key was checked, 0 when the caller must check the envelope's dsn. */
int ingest_prepare(app *a, http_conn *c, http_request *req, const route_params *p, int allow_dsn,
                   int64_t *project_id, char **body, size_t *len);

/* Answers 503 with Retry-After for a request that could not be taken for lack of memory
 * (nothing of it is stored) and counts it (sluice_requests_rejected_total{reason=
 * "out_of_memory"}). */
void ingest_respond_nomem(app *a, http_conn *c);

/* Answers 429 with Retry-After and X-Sentry-Rate-Limits (category may be "" for all). */
void ingest_respond_rate_limited(http_conn *c, int seconds, const char *category, const char *scope,
                                 const char *detail);

#endif
