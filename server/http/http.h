/* http: HTTP/1.1 server connections on the libuv loop, parsed by llhttp in strict mode.
 * Owns sockets, request framing, limits and timeouts; hands each complete request to one
 * callback and writes exactly one response per request. Loop thread only.
 *
 * One request is in flight per connection: while a handler works (possibly asynchronously,
 * waiting for the database writer), further pipelined bytes stay buffered and reading stops.
 * The request and its connection stay valid until the handler responds, even if the client
 * goes away meanwhile (the response is then dropped). */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_conn http_conn;

typedef struct http_header {
  const char *name; /* lowercased */
  size_t name_len;
  const char *value; /* surrounding spaces trimmed */
  size_t value_len;
} http_header;

typedef struct http_request {
  int method;       /* llhttp_method_t */
  const char *path; /* raw (percent-encoded) path, NUL-terminated */
  size_t path_len;
  const char *query; /* raw query without '?', NUL-terminated, "" when none */
  size_t query_len;
  http_header *headers;
  size_t n_headers;
  char *body; /* NUL-terminated; body_len bytes */
  size_t body_len;
  double received_at; /* wall clock, Unix seconds, when the head was complete */
} http_request;

typedef struct http_limits {
  size_t max_header_bytes, max_headers, max_body_bytes, max_connections;
  uint64_t header_timeout_ms, body_timeout_ms, keepalive_timeout_ms;
  size_t max_requests_per_conn;
} http_limits;

/* Responses are also counted by endpoint (a tag the handler sets, 0 when none did) and status
 * code; see http_server_responses. */
#define HTTP_ENDPOINTS 64

typedef struct http_stats {
  uint64_t connections_total, connections_refused, bad_requests, timeouts;
  uint64_t responses_by_class[6]; /* index status / 100 */
  size_t connections_open;
} http_stats;

/* Called once per complete request. The handler must eventually call one http_respond*
 * function for c (now or later from another callback). */
typedef void (*http_handler)(http_conn *c, http_request *req, void *ctx);

http_server *http_server_new(uv_loop_t *loop, const http_limits *lim, http_handler h, void *ctx);
/* Binds and listens. Returns 0 or a libuv error code. */
int http_server_listen(http_server *s, const char *host, int port);
/* Stops accepting; idle connections close now, busy ones after their response. on_closed runs
 * when every connection is gone. */
void http_server_shutdown(http_server *s, void (*on_closed)(http_server *s));
void http_server_free(http_server *s);
void http_server_get_stats(http_server *s, http_stats *out);
/* Responses so far with this endpoint tag and status code (100..599); 0 outside those ranges. */
uint64_t http_server_responses(http_server *s, int endpoint, int status);
void *http_server_ctx(http_server *s);

/* Header lookup (name lowercase). Returns the value or NULL; *len gets its length. */
const char *http_header_get(const http_request *req, const char *name, size_t *len);
/* Copies the percent-decoded value of query parameter name into buf (cap bytes, NUL added).
 * Returns the decoded length, or -1 when absent or too long. */
long http_query_get(const http_request *req, const char *name, char *buf, size_t cap);

/* Takes the current request's body (malloc'd, NUL-terminated, *len bytes) away from c: the
 * caller frees it; req->body becomes NULL and c allocates anew for its next request. Saves a
 * copy for a handler that keeps the body (ingest jobs store it as received). */
char *http_conn_take_body(http_conn *c, size_t *len);

/* Adds CORS headers to this request's response (for the browser SDK endpoints). */
void http_conn_set_cors(http_conn *c);
/* Tags the request being handled with an endpoint (1..HTTP_ENDPOINTS-1) for the per-endpoint
 * response counts; out-of-range tags count as 0. Reset for every request. */
void http_conn_set_endpoint(http_conn *c, int endpoint);
/* Client address as text, for logs. */
const char *http_conn_peer(http_conn *c);

/* Responses. extra_headers is NULL or complete lines each ending in "\r\n".
 * http_respond copies body; http_respond_take takes ownership of a malloc'd body (freed with
 * free after writing) and http_respond_static borrows a body that outlives the write. */
void http_respond(http_conn *c, int status, const char *content_type, const char *extra_headers,
                  const void *body, size_t len);
void http_respond_take(http_conn *c, int status, const char *content_type,
                       const char *extra_headers, char *body, size_t len);
void http_respond_static(http_conn *c, int status, const char *content_type,
                         const char *extra_headers, const void *body, size_t len);
/* {"detail": detail} with the given status. */
void http_respond_error(http_conn *c, int status, const char *extra_headers, const char *detail);

const char *http_status_text(int status);

#endif
