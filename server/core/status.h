/* status: the one place a STORE_* status becomes an HTTP answer, for every endpoint that reads
 * or writes through storage. Loop thread. */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H
#include "http/http.h"

/* Answers a failed status (< 0) on c: 404 "<what> not found", 409 conflict (NULL: the status's
 * own text), 503 with Retry-After for storage, memory and shutdown. Returns 1 when it answered,
 * 0 for a success status (the caller answers). */
int status_respond(http_conn *c, int status, const char *what, const char *conflict);

/* The HTTP status a STORE_* status maps to (200 for successes). */
int status_http(int status);

#endif
