/* fuzz_http: the real HTTP request path. One http_server (small limits, so every bound is
 * reachable) listens on a loopback port of a private libuv loop; each input is written by a
 * client on the same loop over a fresh TCP connection, which then half-closes and reads until
 * the server closes. The handler answers synchronously or, for paths containing "async", from
 * a timer a loop turn later (the pipelining/pending path). Every connection and timer must be
 * gone before the next input, so ASan's leak check covers the connection state machine. */
#undef NDEBUG /* the invariants below are the point, in every build type */
#include <assert.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "http/http.h"
#include "util/hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static http_server *srv;
static int port;
static int outstanding; /* client handle + async answers not yet closed */

typedef struct later {
  uv_timer_t timer;
  http_conn *c;
  int status;
} later;

static void later_closed(uv_handle_t *h) {
  free(h->data);
  outstanding--;
}

static void later_fire(uv_timer_t *t) {
  later *l = t->data;
  http_respond(l->c, l->status, "text/plain", "X-Async: 1\r\n", "later", 5);
  uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void handler(http_conn *c, http_request *req, void *ctx) {
  (void)ctx;
  assert(req->path && req->path[req->path_len] == '\0');
  assert(req->query && req->query[req->query_len] == '\0');
  assert(req->body && req->body[req->body_len] == '\0');
  for (size_t i = 0; i < req->n_headers; i++) {
    const http_header *h = &req->headers[i];
    for (size_t k = 0; k < h->name_len; k++) assert(!(h->name[k] >= 'A' && h->name[k] <= 'Z'));
  }
  char buf[512];
  size_t len = 0;
  (void)http_header_get(req, "content-encoding", &len);
  (void)http_query_get(req, "sentry_key", buf, sizeof buf);
  (void)hex_percent_decode(req->path, req->path_len, buf, sizeof buf, false);
  (void)http_conn_peer(c);
  if (req->n_headers & 1) http_conn_set_cors(c);
  if (strstr(req->path, "async")) {
    later *l = calloc(1, sizeof *l);
    if (l) {
      l->c = c;
      l->status = req->body_len ? 202 : 204;
      uv_timer_init(&loop, &l->timer);
      l->timer.data = l;
      outstanding++;
      uv_timer_start(&l->timer, later_fire, 0, 0);
      return;
    }
  }
  switch (req->body_len % 4) {
  case 0:
    http_respond_static(c, 200, "text/plain", NULL, "ok", 2);
    break;
  case 1:
    http_respond(c, 201, "application/json", "X-A: b\r\n", req->body, req->body_len);
    break;
  case 2: {
    char *copy = malloc(req->body_len + 1);
    if (copy) memcpy(copy, req->body, req->body_len);
    http_respond_take(c, 200, NULL, NULL, copy, copy ? req->body_len : 0);
    break;
  }
  default:
    http_respond_error(c, 400, NULL, req->path);
  }
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0)
    abort();
  close(fd);
  return ntohs(a.sin_port);
}

static int init(void) {
  if (srv) return 0;
  signal(SIGPIPE, SIG_IGN);
  uv_loop_init(&loop);
  /* Small bounds so that inputs reach them; timeouts long enough never to fire (EOF ends
   * every connection). */
  http_limits lim = {.max_header_bytes = 2048,
                     .max_headers = 12,
                     .max_body_bytes = 16384,
                     .max_connections = 4,
                     .header_timeout_ms = 60000,
                     .body_timeout_ms = 60000,
                     .keepalive_timeout_ms = 60000,
                     .max_requests_per_conn = 3};
  srv = http_server_new(&loop, &lim, handler, NULL);
  for (int tries = 0; tries < 20; tries++) {
    port = free_port();
    if (http_server_listen(srv, "127.0.0.1", port) == 0) return 0;
  }
  abort();
}

/* --- the client ------------------------------------------------------------------------------ */

typedef struct client {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  uv_shutdown_t shutdown;
  uv_buf_t out;
  char in[4096];
  size_t received;
} client;

static void client_closed(uv_handle_t *h) {
  (void)h;
  outstanding--;
}

static void client_close(client *cl) {
  if (!uv_is_closing((uv_handle_t *)&cl->tcp)) uv_close((uv_handle_t *)&cl->tcp, client_closed);
}

static void client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  client *cl = h->data;
  (void)suggested;
  *buf = uv_buf_init(cl->in, sizeof cl->in);
}

static void client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  client *cl = s->data;
  (void)buf;
  if (n < 0) {
    client_close(cl);
    return;
  }
  cl->received += (size_t)n;
}

static void client_shut(uv_shutdown_t *r, int status) {
  (void)r;
  (void)status;
}

static void client_wrote(uv_write_t *w, int status) {
  client *cl = w->data;
  if (status < 0) {
    client_close(cl);
    return;
  }
  if (uv_shutdown(&cl->shutdown, (uv_stream_t *)&cl->tcp, client_shut) != 0) client_close(cl);
}

static void client_connected(uv_connect_t *r, int status) {
  client *cl = r->data;
  if (status < 0) {
    client_close(cl);
    return;
  }
  uv_read_start((uv_stream_t *)&cl->tcp, client_alloc, client_read);
  if (uv_write(&cl->write, (uv_stream_t *)&cl->tcp, &cl->out, 1, client_wrote) != 0)
    client_close(cl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  client cl;
  memset(&cl, 0, sizeof cl);
  cl.tcp.data = cl.connect.data = cl.write.data = cl.shutdown.data = &cl;
  cl.out = uv_buf_init((char *)data, (unsigned)size);
  http_stats st;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(&loop, &cl.tcp);
  outstanding++;
  uv_tcp_connect(&cl.connect, &cl.tcp, (struct sockaddr *)&addr, client_connected);
  for (int turns = 0;; turns++) {
    uv_run(&loop, UV_RUN_ONCE);
    http_server_get_stats(srv, &st);
    if (outstanding == 0 && st.connections_open == 0) break;
    if (turns > 100000) abort(); /* a connection that never ends is a bug */
  }
  return 0;
}
