/* http: connection state machine over llhttp (strict: no lenient flags, so Content-Length
 * with Transfer-Encoding, duplicate Content-Length and bare LF framing are 400s). Loop thread
 * only. Every buffer is bounded by http_limits; going past a bound answers 413/431 and closes.
 * Running out of memory answers 503 with Retry-After, or closes unanswered; it never stops the
 * listener (see refuse_nomem).
 * A connection is freed only in its close callback, and never while a handler holds it
 * (busy): a client that disconnects mid-request only marks it for closing. */
#include "http/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/container.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/timefmt.h"

#define READ_BUF         65536
#define BODY_PRESIZE_MAX 65536 /* bodies announced up to this size get their buffer at once */

/* Status codes and reason phrases, one list. */
#define HTTP_STATUS_LIST(X)                                                                        \
  X(100, "Continue")                                                                               \
  X(200, "OK")                                                                                     \
  X(201, "Created")                                                                                \
  X(204, "No Content")                                                                             \
  X(304, "Not Modified")                                                                           \
  X(400, "Bad Request")                                                                            \
  X(401, "Unauthorized")                                                                           \
  X(403, "Forbidden")                                                                              \
  X(404, "Not Found")                                                                              \
  X(405, "Method Not Allowed")                                                                     \
  X(408, "Request Timeout")                                                                        \
  X(409, "Conflict")                                                                               \
  X(411, "Length Required")                                                                        \
  X(413, "Content Too Large")                                                                      \
  X(414, "URI Too Long")                                                                           \
  X(415, "Unsupported Media Type")                                                                 \
  X(429, "Too Many Requests")                                                                      \
  X(431, "Request Header Fields Too Large")                                                        \
  X(500, "Internal Server Error")                                                                  \
  X(501, "Not Implemented")                                                                        \
  X(503, "Service Unavailable")

const char *http_status_text(int status) {
  switch (status) {
#define X(code, text)                                                                              \
  case code:                                                                                       \
    return text;
    HTTP_STATUS_LIST(X)
#undef X
  default:
    return "Unknown";
  }
}

typedef enum conn_state {
  CONN_IDLE,    /* waiting for the first byte of a request (keep-alive) */
  CONN_HEAD,    /* request line and headers arriving */
  CONN_BODY,    /* body arriving */
  CONN_BUSY,    /* a handler owns the request */
  CONN_CLOSING, /* uv_close called or about to be */
} conn_state;

typedef struct hdr_span {
  uint32_t name_off, name_len, value_off, value_len;
} hdr_span;

struct http_conn {
  uv_tcp_t tcp;     /* first: the handle's data is unused, container_of recovers us */
  uv_timer_t timer; /* the one timeout of the current state */
  llhttp_t parser;
  http_server *srv;
  http_conn *prev, *next; /* server's list of open connections */
  conn_state state;
  int handles_open; /* tcp + timer, closed before free */
  int peer_gone;    /* read EOF/error while busy: close after the response */
  int want_close;   /* Connection: close, limits, shutdown */
  int in_process;   /* guards process_input re-entry */
  int cors;
  int endpoint; /* http_conn_set_endpoint tag of the current request */
  size_t requests;
  /* request head: url and header bytes in one bounded buffer */
  char *head;
  size_t head_len, head_cap;
  hdr_span *spans;
  size_t n_spans, spans_cap;
  uint32_t url_off, url_len;
  int in_value; /* last header callback was a value */
  /* obs-fold detection: where the input of the current llhttp_execute call starts and ends,
   * and where the last piece of a header value ended */
  const char *exec_start, *exec_end, *value_end;
  int value_at_end; /* the last value piece ended with its read */
  /* body */
  char *body;
  size_t body_len, body_cap;
  /* bytes read past the current request while busy */
  char *pending;
  size_t pending_len;
  /* error raised inside a parser callback */
  int err_status;
  const char *err_detail;
  http_request req;
  http_header *headers; /* req.headers storage */
  char peer[64];
};

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  http_limits lim;
  http_handler handler;
  void *ctx;
  http_conn *conns;
  size_t n_conns;
  int listening, shutting_down;
  uv_tcp_t spare;    /* accepts, to close at once, a connection there was no memory for */
  int spare_busy;    /* spare is open or closing */
  int accept_paused; /* a connection waits in libuv until spare is free (see refuse_nomem) */
  int nomem_logged;  /* the current run of refusals for want of memory was logged */
  void (*on_closed)(http_server *s);
  char read_buf[READ_BUF]; /* shared: input is consumed synchronously in the read callback */
  int read_buf_used;
  http_stats stats;
  uint64_t (*by_endpoint)[500]; /* [endpoint][status - 100], HTTP_ENDPOINTS rows */
  llhttp_settings_t settings;
};

static void conn_close(http_conn *c);
static void process_input(http_conn *c, const char *data, size_t len);
static void arm_timer(http_conn *c, uint64_t ms);

/* --- parser callbacks ------------------------------------------------------------------- */

static http_conn *parser_conn(llhttp_t *p) {
  return container_of(p, http_conn, parser);
}

static int fail(http_conn *c, int status, const char *detail) {
  c->err_status = status;
  c->err_detail = detail;
  return HPE_USER;
}

/* Appends to the request head. Past max_header_bytes the request fails with status and
 * detail (414 for the request line, 431 for headers); out of memory fails it with 503.
 * Returns 0, or HPE_USER after fail(). */
static int head_append(http_conn *c, const char *at, size_t len, int status, const char *detail) {
  if (c->head_len + len > c->srv->lim.max_header_bytes) return fail(c, status, detail);
  if (c->head_len + len + 1 > c->head_cap) {
    size_t cap = c->head_cap ? c->head_cap : 1024;
    while (cap < c->head_len + len + 1) cap *= 2;
    if (cap > c->srv->lim.max_header_bytes + 1) cap = c->srv->lim.max_header_bytes + 1;
    char *nb = realloc(c->head, cap);
    if (!nb) return fail(c, 503, "out of memory");
    c->head = nb;
    c->head_cap = cap;
  }
  memcpy(c->head + c->head_len, at, len);
  c->head_len += len;
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  http_conn *c = parser_conn(p);
  c->state = CONN_HEAD;
  c->head_len = c->n_spans = c->body_len = 0;
  c->url_off = c->url_len = 0;
  c->in_value = 0;
  c->cors = 0;
  c->endpoint = 0;
  c->err_status = 0;
  c->err_detail = NULL;
  arm_timer(c, c->srv->lim.header_timeout_ms);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  http_conn *c = parser_conn(p);
  if (c->url_len == 0) c->url_off = (uint32_t)c->head_len;
  if (head_append(c, at, len, 414, "request line too long")) return HPE_USER;
  c->url_len += (uint32_t)len;
  return 0;
}

static int on_url_complete(llhttp_t *p) {
  http_conn *c = parser_conn(p);
  if (head_append(c, "", 1, 414, "request line too long")) return HPE_USER; /* NUL */
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  http_conn *c = parser_conn(p);
  if (c->state == CONN_BODY) return 0; /* chunked trailers are ignored (head is frozen) */
  if (c->n_spans == 0 || c->in_value) {
    if (c->n_spans >= c->srv->lim.max_headers) return fail(c, 431, "too many headers");
    if (c->n_spans == c->spans_cap) {
      size_t cap = c->spans_cap ? c->spans_cap * 2 : 16;
      hdr_span *ns = realloc(c->spans, cap * sizeof *ns);
      if (!ns) return fail(c, 503, "out of memory");
      c->spans = ns;
      c->spans_cap = cap;
    }
    hdr_span *h = &c->spans[c->n_spans++];
    h->name_off = (uint32_t)c->head_len;
    h->name_len = h->value_len = 0;
    h->value_off = 0;
    c->in_value = 0;
  }
  if (head_append(c, at, len, 431, "request headers too large")) return HPE_USER;
  c->spans[c->n_spans - 1].name_len += (uint32_t)len;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  http_conn *c = parser_conn(p);
  if (c->state == CONN_BODY) return 0;
  /* llhttp hands an obs-fold continuation line over as one more piece of the value. A piece
   * that does not start where the previous one ended (or at the start of the next read,
   * when that one ended with its read) came after a line break: refuse it (RFC 9112 5.2). */
  if (c->in_value && !(c->value_at_end ? at == c->exec_start : at == c->value_end))
    return fail(c, 400, "obsolete line folding in a header is not allowed");
  c->value_end = at + len;
  c->value_at_end = at + len == c->exec_end;
  hdr_span *h = &c->spans[c->n_spans - 1];
  if (!c->in_value) {
    if (head_append(c, "", 1, 431, "request headers too large")) return HPE_USER; /* end name */
    h->value_off = (uint32_t)c->head_len;
    c->in_value = 1;
  }
  if (head_append(c, at, len, 431, "request headers too large")) return HPE_USER;
  h->value_len += (uint32_t)len;
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  http_conn *c = parser_conn(p);
  if (c->state == CONN_BODY) return 0;
  if (!c->in_value) { /* empty value: no on_header_value call */
    hdr_span *h = &c->spans[c->n_spans - 1];
    if (head_append(c, "", 1, 431, "request headers too large")) return HPE_USER;
    h->value_off = (uint32_t)c->head_len;
    h->value_len = 0;
    c->in_value = 1;
  }
  if (head_append(c, "", 1, 431, "request headers too large")) return HPE_USER;
  return 0;
}

/* 1 when the path has a "." or ".." segment, also percent-encoded (%2e, with %2f or a
 * backslash as separator): nothing behind such a path may be served, whatever the handler. */
static int has_dot_segment(const char *path, size_t len) {
  size_t dots = 0, other = 0;
  for (size_t i = 0; i <= len; i++) {
    int ch = i < len ? (unsigned char)path[i] : '/';
    if (ch == '%' && i + 2 < len && path[i + 1] == '2' && (path[i + 2] | 32) == 'e') {
      ch = '.', i += 2;
    } else if (ch == '%' && i + 2 < len &&
               ((path[i + 1] == '2' && (path[i + 2] | 32) == 'f') ||
                (path[i + 1] == '5' && (path[i + 2] | 32) == 'c'))) {
      ch = '/', i += 2;
    }
    if (ch == '/' || ch == '\\') {
      if (dots > 0 && dots <= 2 && other == 0) return 1;
      dots = other = 0;
    } else if (ch == '.') {
      dots++;
    } else {
      other++;
    }
  }
  return 0;
}

static void on_continue_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

/* Answers "Expect: 100-continue" (curl sends it for bodies over 1 KiB and would otherwise wait
 * a second) once the head was accepted. */
static void send_continue_if_expected(http_conn *c) {
  size_t len;
  const char *v = http_header_get(&c->req, "expect", &len);
  if (!v || len != 12 || strncasecmp(v, "100-continue", 12) != 0) return;
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  uv_write_t *w = malloc(sizeof *w);
  if (!w) return;
  uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
  if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_continue_written) != 0) free(w);
}

static int on_headers_complete(llhttp_t *p) {
  http_conn *c = parser_conn(p);
  if (c->url_len == 0) return fail(c, 400, "empty request target");
  /* Resolve spans into the request's header array (head no longer grows). */
  http_header *hs = realloc(c->headers, (c->n_spans ? c->n_spans : 1) * sizeof *hs);
  if (!hs) return fail(c, 503, "out of memory");
  c->headers = hs;
  for (size_t i = 0; i < c->n_spans; i++) {
    hdr_span *s = &c->spans[i];
    char *name = c->head + s->name_off;
    for (uint32_t k = 0; k < s->name_len; k++) name[k] = (char)tolower((unsigned char)name[k]);
    const char *v = c->head + s->value_off;
    size_t vl = s->value_len;
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
    while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
    hs[i] = (http_header){name, s->name_len, v, vl};
  }
  http_request *r = &c->req;
  memset(r, 0, sizeof *r);
  r->method = llhttp_get_method(p);
  char *url = c->head + c->url_off;
  char *q = strchr(url, '?');
  r->path = url;
  if (q) {
    *q = '\0';
    r->query = q + 1;
    r->query_len = strlen(q + 1);
  } else {
    r->query = "";
  }
  r->path_len = strlen(url);
  if (has_dot_segment(r->path, r->path_len)) return fail(c, 404, "no such path");
  r->headers = hs;
  r->n_headers = c->n_spans;
  r->received_at = time_wall();
  if (!llhttp_should_keep_alive(p)) c->want_close = 1;
  /* Refuse an announced body that is too large before reading it. */
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->lim.max_body_bytes)
    return fail(c, 413, "request body too large");
  /* Size a small announced body's buffer once (a large one grows as it arrives). */
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length <= BODY_PRESIZE_MAX &&
      p->content_length + 1 > c->body_cap) {
    char *nb = realloc(c->body, p->content_length + 1);
    if (!nb) return fail(c, 503, "out of memory");
    c->body = nb;
    c->body_cap = p->content_length + 1;
  }
  c->state = CONN_BODY;
  arm_timer(c, c->srv->lim.body_timeout_ms);
  send_continue_if_expected(c);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  http_conn *c = parser_conn(p);
  size_t max = c->srv->lim.max_body_bytes;
  if (c->body_len + len > max) return fail(c, 413, "request body too large");
  if (c->body_len + len + 1 > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while (cap < c->body_len + len + 1) cap *= 2;
    if (cap > max + 1) cap = max + 1;
    char *nb = realloc(c->body, cap);
    if (!nb) return fail(c, 503, "out of memory");
    c->body = nb;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, at, len);
  c->body_len += len;
  arm_timer(c, c->srv->lim.body_timeout_ms);
  return 0;
}

char *http_conn_take_body(http_conn *c, size_t *len) {
  char *b = c->body;
  *len = c->body_len;
  c->body = NULL;
  c->body_cap = 0;
  c->req.body = NULL;
  c->req.body_len = 0;
  return b;
}

static int on_message_complete(llhttp_t *p) {
  http_conn *c = parser_conn(p);
  if (!c->body) {
    c->body = malloc(1);
    if (!c->body) return fail(c, 503, "out of memory");
    c->body_cap = 1;
  }
  c->body[c->body_len] = '\0';
  c->req.body = c->body;
  c->req.body_len = c->body_len;
  c->state = CONN_BUSY;
  c->requests++;
  if (c->requests >= c->srv->lim.max_requests_per_conn) c->want_close = 1;
  uv_timer_stop(&c->timer);
  return HPE_PAUSED;
}

/* --- connection lifecycle ---------------------------------------------------------------- */

/* Calls on_closed once a shutdown has nothing left open: listener, connections, spare. */
static void maybe_closed(http_server *s) {
  if (!s->shutting_down || s->listening || s->n_conns || s->spare_busy || !s->on_closed) return;
  void (*cb)(http_server *) = s->on_closed;
  s->on_closed = NULL;
  cb(s);
}

static void on_handle_closed(uv_handle_t *h) {
  http_conn *c = h->data;
  if (--c->handles_open > 0) return;
  http_server *s = c->srv;
  free(c->head);
  free(c->spans);
  free(c->body);
  free(c->pending);
  free(c->headers);
  free(c);
  maybe_closed(s);
}

static void conn_close(http_conn *c) {
  if (c->state == CONN_CLOSING) return;
  if (c->state == CONN_BUSY) { /* the handler still holds it: close after the response */
    c->peer_gone = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    return;
  }
  c->state = CONN_CLOSING;
  http_server *s = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  s->stats.connections_open = s->n_conns;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t) {
  http_conn *c = t->data;
  if (c->state == CONN_HEAD || c->state == CONN_BODY) {
    c->srv->stats.timeouts++;
    c->want_close = 1;
    c->state = CONN_BUSY; /* so the response path runs */
    http_respond_error(c, 408, NULL,
                       c->req.path ? "request body timed out" : "request head timed out");
    return;
  }
  conn_close(c); /* idle keep-alive */
}

static void arm_timer(http_conn *c, uint64_t ms) {
  uv_timer_start(&c->timer, on_timeout, ms, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  http_conn *c = h->data;
  http_server *s = c->srv;
  (void)suggested;
  if (s->read_buf_used) { /* cannot happen on one loop thread, but never share a live buffer */
    buf->base = NULL;
    buf->len = 0;
    return;
  }
  s->read_buf_used = 1;
  buf->base = s->read_buf;
  buf->len = sizeof s->read_buf;
}

static void respond_parse_error(http_conn *c, llhttp_errno_t err) {
  int status = 400;
  const char *detail = llhttp_get_error_reason(&c->parser);
  /* llhttp reports our refusal as HPE_USER from span callbacks but as HPE_CB_* from
   * on_headers_complete and the other notifications: err_status says it was ours. */
  int ours = c->err_status != 0;
  if (ours) {
    status = c->err_status;
    detail = c->err_detail;
  }
  c->srv->stats.bad_requests++;
  c->want_close = 1;
  c->state = CONN_BUSY;
  char msg[256];
  snprintf(msg, sizeof msg, "malformed HTTP request: %s", detail ? detail : "parse error");
  /* 503 is our own "out of memory": the client may send the request again. */
  http_respond_error(c, status, status == 503 ? "Retry-After: 1\r\n" : NULL, ours ? detail : msg);
}

/* Feeds bytes to the parser, one request at a time. A request answered synchronously lets
 * the loop go on with the following (pipelined) bytes; one whose handler went asynchronous
 * leaves them in c->pending, and reading stops until its response is queued. */
static void process_input(http_conn *c, const char *data, size_t len) {
  c->in_process = 1;
  while (len > 0 && (c->state == CONN_IDLE || c->state == CONN_HEAD || c->state == CONN_BODY)) {
    if (c->state == CONN_IDLE) on_message_begin(&c->parser);
    c->exec_start = data;
    c->exec_end = data + len;
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    if (err == HPE_OK) break;
    if (err != HPE_PAUSED) {
      respond_parse_error(c, err);
      break;
    }
    const char *pos = llhttp_get_error_pos(&c->parser);
    size_t used = pos ? (size_t)(pos - data) : len;
    if (used > len) used = len;
    data += used;
    len -= used;
    c->srv->handler(c, &c->req, c->srv->ctx);
    if (c->state == CONN_BUSY) { /* asynchronous: keep the rest for later */
      if (len > 0) {
        char *keep = malloc(len);
        if (keep) {
          memcpy(keep, data, len);
          c->pending = keep;
          c->pending_len = len;
          uv_read_stop((uv_stream_t *)&c->tcp);
        } else {
          c->want_close = 1;
        }
      }
      break;
    }
    if (c->state != CONN_IDLE) break; /* closing */
    llhttp_resume(&c->parser);
    c->req.path = NULL;
    arm_timer(c, c->srv->lim.keepalive_timeout_ms);
  }
  c->in_process = 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  http_conn *c = stream->data;
  c->srv->read_buf_used = 0;
  if (nread < 0) {
    if (c->state == CONN_BODY || c->state == CONN_HEAD) {
      /* A body that ends with the connection (no length) would complete here; we require
       * framing, so a half request is dropped. */
    }
    conn_close(c);
    return;
  }
  if (nread == 0) return;
  if (c->state == CONN_BUSY) { /* should not happen: reading is stopped while busy */
    return;
  }
  process_input(c, buf->base, (size_t)nread);
}

static void on_connection(uv_stream_t *listener, int status);

static void on_spare_closed(uv_handle_t *h) {
  http_server *s = h->data;
  s->spare_busy = 0;
  if (s->accept_paused && !s->shutting_down) {
    s->accept_paused = 0;
    on_connection((uv_stream_t *)&s->listener, 0); /* the one that waited */
  }
  maybe_closed(s);
}

/* No memory for a connection: accept it into the spare handle and close it at once. Not
 * accepting is no option, because libuv stops watching the listener while an accepted socket
 * waits for uv_accept. While the spare is still closing from the previous refusal (a burst
 * in one loop iteration), the socket does wait in libuv, and on_spare_closed comes back for
 * it in the same iteration; uv_accept then starts the listener again. */
static void refuse_nomem(http_server *s) {
  s->stats.connections_refused++;
  if (!s->nomem_logged)
    log_warn("out of memory for a new connection; closing such connections until memory is back",
             NULL);
  s->nomem_logged = 1;
  if (s->spare_busy) {
    s->accept_paused = 1;
    return;
  }
  s->spare_busy = 1;
  uv_tcp_init(s->loop, &s->spare);
  s->spare.data = s;
  (void)uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&s->spare);
  uv_close((uv_handle_t *)&s->spare, on_spare_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  http_server *s = listener->data;
  if (status < 0) {
    log_warn("accept failed", "err=\"%s\"", uv_strerror(status));
    return;
  }
  http_conn *c = calloc(1, sizeof *c);
  if (!c) {
    refuse_nomem(s);
    return;
  }
  s->nomem_logged = 0;
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c;
  c->handles_open = 2;
  uv_timer_init(s->loop, &c->timer);
  c->timer.data = c;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 || s->n_conns >= s->lim.max_connections) {
    if (s->n_conns >= s->lim.max_connections) s->stats.connections_refused++;
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof c->peer);
    else
      uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof c->peer);
  }
  llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  s->stats.connections_total++;
  s->stats.connections_open = s->n_conns;
  c->state = CONN_IDLE;
  arm_timer(c, s->lim.keepalive_timeout_ms);
  uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

/* --- responses ----------------------------------------------------------------------------- */

typedef struct write_req {
  uv_write_t req;
  http_conn *c;
  char *head;       /* owned */
  char *body_owned; /* owned when the body was taken or copied */
  int close_after;
} write_req;

static void after_response(http_conn *c, int close_after);

static void on_written(uv_write_t *w, int status) {
  write_req *wr = container_of(w, write_req, req);
  http_conn *c = wr->c;
  free(wr->head);
  free(wr->body_owned);
  int close_after = wr->close_after || status < 0;
  free(wr);
  if (close_after) conn_close(c);
}

/* Called when an asynchronous handler's response was queued: starts on the next request. */
static void after_response(http_conn *c, int close_after) {
  if (close_after) return; /* on_written closes */
  llhttp_resume(&c->parser);
  c->req.path = NULL;
  arm_timer(c, c->srv->lim.keepalive_timeout_ms);
  if (c->pending) {
    char *data = c->pending;
    size_t len = c->pending_len;
    c->pending = NULL;
    c->pending_len = 0;
    process_input(c, data, len);
    free(data);
  }
  if (c->state == CONN_IDLE || c->state == CONN_HEAD || c->state == CONN_BODY)
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

/* Queues the response. The body is either copied behind the head into the one buffer (copy),
 * or written from where it is and then freed when owned is set. With no memory for the head
 * the connection closes without an answer, which a client must take as "not done". */
static void respond(http_conn *c, int status, const char *ctype, const char *extra,
                    const void *body, size_t len, char *owned, bool copy) {
  if (c->state != CONN_BUSY) { /* a handler answering twice is a bug */
    log_error("response on a connection without a request", "status=%d", status);
    free(owned);
    return;
  }
  http_server *s = c->srv;
  s->stats.responses_by_class[status / 100 < 6 ? status / 100 : 5]++;
  if (status >= 100 && status < 600) s->by_endpoint[c->endpoint][status - 100]++;
  int close_after = c->want_close || c->peer_gone || s->shutting_down;
  if (c->peer_gone) {
    free(owned);
    c->state = CONN_IDLE;
    conn_close(c);
    return;
  }
  static const char cors_headers[] =
      "Access-Control-Allow-Origin: *\r\n"
      "Access-Control-Expose-Headers: x-sentry-error, x-sentry-rate-limits, retry-after\r\n";
  size_t head_cap = 512 + (extra ? strlen(extra) : 0);
  char *head = malloc(head_cap + (copy ? len : 0));
  write_req *wr = calloc(1, sizeof *wr);
  if (!head || !wr) {
    free(head);
    free(wr);
    free(owned);
    c->state = CONN_IDLE;
    conn_close(c);
    return;
  }
  int n = snprintf(head, head_cap, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s%s%s\r\n",
                   status, http_status_text(status), len, ctype ? "Content-Type: " : "",
                   ctype ? ctype : "", ctype ? "\r\n" : "", c->cors ? cors_headers : "",
                   extra ? extra : "", close_after ? "Connection: close\r\n" : "");
  if (n < 0 || (size_t)n >= head_cap) n = (int)head_cap - 1; /* cannot happen: cap counts all */
  wr->c = c;
  wr->head = head;
  wr->body_owned = owned;
  wr->close_after = close_after;
  /* HEAD: the same head (Content-Length of the body a GET would get), no body. */
  int with_body = len > 0 && c->req.method != HTTP_HEAD;
  uv_buf_t bufs[2] = {uv_buf_init(head, (unsigned)n), uv_buf_init((char *)body, (unsigned)len)};
  unsigned nbufs = with_body ? 2 : 1;
  if (copy && with_body) {
    memcpy(head + n, body, len);
    bufs[0].len += len;
    nbufs = 1;
  }
  int rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written);
  c->state = CONN_IDLE; /* no longer busy; on_written may close */
  if (rc != 0) {
    free(head);
    free(owned);
    free(wr);
    conn_close(c);
    return;
  }
  if (close_after) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
    return;
  }
  if (c->in_process) return; /* answered synchronously: process_input continues */
  after_response(c, 0);
}

void http_respond(http_conn *c, int status, const char *ctype, const char *extra, const void *body,
                  size_t len) {
  respond(c, status, ctype, extra, body, len, NULL, true);
}

void http_respond_take(http_conn *c, int status, const char *ctype, const char *extra, char *body,
                       size_t len) {
  respond(c, status, ctype, extra, body, len, body, false);
}

void http_respond_static(http_conn *c, int status, const char *ctype, const char *extra,
                         const void *body, size_t len) {
  respond(c, status, ctype, extra, body, len, NULL, false);
}

void http_respond_error(http_conn *c, int status, const char *extra, const char *detail) {
  char buf[1024];
  size_t n = 0;
  n += (size_t)snprintf(buf, sizeof buf, "{\"detail\":\"");
  for (const char *p = detail ? detail : http_status_text(status); *p && n < sizeof buf - 16; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\')
      buf[n++] = '\\', buf[n++] = (char)ch;
    else if (ch < 0x20)
      n += (size_t)snprintf(buf + n, sizeof buf - n, "\\u%04x", ch);
    else
      buf[n++] = (char)ch;
  }
  n += (size_t)snprintf(buf + n, sizeof buf - n, "\"}");
  http_respond(c, status, "application/json", extra, buf, n);
}

/* --- helpers ------------------------------------------------------------------------------- */

const char *http_header_get(const http_request *req, const char *name, size_t *len) {
  size_t nl = strlen(name);
  for (size_t i = 0; i < req->n_headers; i++) {
    if (req->headers[i].name_len == nl && memcmp(req->headers[i].name, name, nl) == 0) {
      if (len) *len = req->headers[i].value_len;
      return req->headers[i].value;
    }
  }
  return NULL;
}

long http_query_get(const http_request *req, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  const char *q = req->query, *end = req->query + req->query_len;
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    if (!amp) amp = end;
    const char *eq = memchr(q, '=', (size_t)(amp - q));
    const char *kend = eq ? eq : amp;
    if ((size_t)(kend - q) == nl && memcmp(q, name, nl) == 0) {
      const char *v = eq ? eq + 1 : amp;
      return hex_percent_decode(v, (size_t)(amp - v), buf, cap, true);
    }
    q = amp + 1;
  }
  return -1;
}

void http_conn_set_cors(http_conn *c) {
  c->cors = 1;
}

void http_conn_set_endpoint(http_conn *c, int endpoint) {
  c->endpoint = endpoint > 0 && endpoint < HTTP_ENDPOINTS ? endpoint : 0;
}

const char *http_conn_peer(http_conn *c) {
  return c->peer;
}

/* --- server -------------------------------------------------------------------------------- */

http_server *http_server_new(uv_loop_t *loop, const http_limits *lim, http_handler h, void *ctx) {
  http_server *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->by_endpoint = calloc(HTTP_ENDPOINTS, sizeof *s->by_endpoint); /* untouched pages stay free */
  if (!s->by_endpoint) {
    free(s);
    return NULL;
  }
  s->loop = loop;
  s->lim = *lim;
  s->handler = h;
  s->ctx = ctx;
  llhttp_settings_init(&s->settings);
  s->settings.on_message_begin = NULL; /* driven from process_input to keep state in one place */
  s->settings.on_url = on_url;
  s->settings.on_url_complete = on_url_complete;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_header_value_complete = on_header_value_complete;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;
  return s;
}

int http_server_listen(http_server *s, const char *host, int port) {
  struct sockaddr_storage addr;
  int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
  if (rc != 0) return rc;
  uv_tcp_init(s->loop, &s->listener);
  s->listener.data = s;
  rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
  if (rc != 0) {
    uv_close((uv_handle_t *)&s->listener, NULL);
    return rc;
  }
  s->listening = 1;
  return 0;
}

static void on_listener_closed(uv_handle_t *h) {
  http_server *s = h->data;
  s->listening = 0;
  maybe_closed(s);
}

void http_server_shutdown(http_server *s, void (*on_closed)(http_server *s)) {
  s->shutting_down = 1;
  s->on_closed = on_closed;
  for (http_conn *c = s->conns, *next; c; c = next) {
    next = c->next;
    if (c->state == CONN_IDLE)
      conn_close(c);
    else if (c->state != CONN_BUSY)
      c->want_close = 1;
  }
  if (s->listening)
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  else
    maybe_closed(s);
}

void http_server_free(http_server *s) {
  if (s) free(s->by_endpoint);
  free(s);
}

void http_server_get_stats(http_server *s, http_stats *out) {
  *out = s->stats;
}

uint64_t http_server_responses(http_server *s, int endpoint, int status) {
  if (endpoint < 0 || endpoint >= HTTP_ENDPOINTS || status < 100 || status >= 600) return 0;
  return s->by_endpoint[endpoint][status - 100];
}

void *http_server_ctx(http_server *s) {
  return s->ctx;
}
