/* http_client: outgoing HTTP(S) POSTs through libcurl's multi-socket API, driven by the libuv
 * loop (uv_poll_t per socket, one uv_timer_t for curl's timeouts). Loop thread only: no
 * blocking calls and no thread per request. Redirects are never followed.
 *
 * SSRF guard: every address curl is about to connect to (after DNS, so rebinding does not get
 * around it) passes http_client_addr_allowed() unless allow_private is set; a refused address
 * ends the transfer with result.refused set. Handles are unreferenced: they never keep the
 * loop alive on their own. */
#ifndef SLUICE_HTTP_CLIENT_H
#define SLUICE_HTTP_CLIENT_H
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

typedef struct http_client http_client;

typedef struct http_client_result {
  long status;        /* HTTP status; 0 when no response came */
  int refused;        /* the SSRF guard refused the address */
  double retry_after; /* seconds from a Retry-After header; -1 when absent */
  double duration;    /* seconds */
  char error[256];    /* why there is no response ("" when there is one) */
  char body[256];     /* start of the response body (NUL-terminated), for the log */
} http_client_result;

/* Called once per accepted transfer on the loop thread; r is borrowed for the call. */
typedef void (*http_client_cb)(void *arg, const http_client_result *r);

/* NULL when out of memory or curl cannot start. */
http_client *http_client_new(uv_loop_t *loop, int allow_private);

/* Starts a POST of body (copied) with extra headers ("Name: value", copied). Gives up after
 * timeout_ms. Returns 0 (cb will be called) or a negative error (cb will not be called). */
int http_client_post(http_client *c, const char *url, const char *const *headers, size_t n_headers,
                     const char *body, size_t len, long timeout_ms, http_client_cb cb, void *arg);

/* Transfers in progress. */
size_t http_client_active(const http_client *c);

/* Aborts every transfer without calling its callback, closes the handles; memory is freed in
 * the close callbacks (run the loop once more). c is invalid afterwards. */
void http_client_close(http_client *c);

/* 1 when sa is a public unicast address; 0 for loopback, private, link-local, CGNAT,
 * multicast, documentation, reserved and unspecified IPv4 and IPv6 ranges (IPv4-mapped,
 * NAT64 and 6to4 addresses are judged by the IPv4 address they carry). */
int http_client_addr_allowed(const struct sockaddr *sa);

#endif
