/* http_client: libcurl multi-socket on libuv, after curl's docs/examples/multi-uv.c. curl tells
 * us which sockets to watch (socket callback -> one uv_poll_t each, owned by a sock_ctx) and
 * when to call it back (timer callback -> one uv_timer_t); we hand readiness back through
 * curl_multi_socket_action and collect finished transfers from curl_multi_info_read.
 * Loop thread only. Every handle is freed in its close callback; sock_ctx are also listed so
 * that close can reach the ones curl never announced the removal of. */
#include "http/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/container.h"

#define BODY_KEEP 255 /* response body bytes kept for the log */

typedef struct sock_ctx sock_ctx;
struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  http_client *c;
  sock_ctx *prev, *next; /* the client's list of live contexts */
};

typedef struct transfer transfer;
struct transfer {
  CURL *easy;
  struct curl_slist *headers;
  char *body; /* request body, alive until the transfer ends */
  http_client_cb cb;
  void *arg;
  http_client_result res;
  size_t body_len; /* response bytes kept in res.body */
  char errbuf[CURL_ERROR_SIZE];
  char refused_addr[INET6_ADDRSTRLEN];
  double t0;
  int allow_private;
  transfer *prev, *next; /* the client's list of transfers */
};

struct http_client {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer; /* curl's timeout; its close callback frees the client */
  int allow_private;
  int closing; /* in curl_multi_cleanup: curl_multi_assign is off limits */
  size_t active;
  transfer *transfers;
  sock_ctx *socks;
};

/* --- SSRF guard -------------------------------------------------------------------------- */

static int v4_allowed(uint32_t a) {
  static const struct {
    uint32_t net, mask;
  } blocked[] = {
      {0x00000000, 0xff000000}, /* 0.0.0.0/8 "this network" */
      {0x0a000000, 0xff000000}, /* 10/8 private */
      {0x64400000, 0xffc00000}, /* 100.64/10 shared (CGNAT) */
      {0x7f000000, 0xff000000}, /* 127/8 loopback */
      {0xa9fe0000, 0xffff0000}, /* 169.254/16 link-local (cloud metadata) */
      {0xac100000, 0xfff00000}, /* 172.16/12 private */
      {0xc0000000, 0xffffff00}, /* 192.0.0/24 IETF protocol assignments */
      {0xc0000200, 0xffffff00}, /* 192.0.2/24 documentation */
      {0xc0586300, 0xffffff00}, /* 192.88.99/24 6to4 relay anycast */
      {0xc0a80000, 0xffff0000}, /* 192.168/16 private */
      {0xc6120000, 0xfffe0000}, /* 198.18/15 benchmarking */
      {0xc6336400, 0xffffff00}, /* 198.51.100/24 documentation */
      {0xcb007100, 0xffffff00}, /* 203.0.113/24 documentation */
      {0xe0000000, 0xf0000000}, /* 224/4 multicast */
      {0xf0000000, 0xf0000000}, /* 240/4 reserved, broadcast */
  };
  for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++) {
    if ((a & blocked[i].mask) == blocked[i].net) return 0;
  }
  return 1;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int v6_allowed(const uint8_t *b) {
  static const uint8_t zero[12] = {0};
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) return v4_allowed(be32(b + 12));
  if (!memcmp(b, zero, 12)) return 0;                               /* ::, ::1, IPv4-compatible */
  if (b[0] == 0x20 && b[1] == 0x02) return v4_allowed(be32(b + 2)); /* 6to4 */
  if ((b[0] & 0xe0) != 0x20)
    return 0; /* outside global unicast 2000::/3: fc00::/7, fe80::/10,
                 ff00::/8, 100::/64 and the rest of the reserved space */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) return 0; /* 2001::/23 (Teredo, ORCHID..) */
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return 0; /* 2001:db8::/32 */
  /* 3fff::/20, documentation since RFC 9637 (2024) */
  if (b[0] == 0x3f && b[1] == 0xff && b[2] < 0x10) return 0;
  return 1;
}

int http_client_addr_allowed(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return v4_allowed(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    return v6_allowed(in6->sin6_addr.s6_addr);
  }
  return 0;
}

/* curl calls this instead of socket(2) for every address it tries. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr) {
  transfer *t = clientp;
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  if (!t->allow_private && !http_client_addr_allowed(&addr->addr)) {
    const void *raw = addr->family == AF_INET6
                          ? (const void *)&((struct sockaddr_in6 *)(void *)&addr->addr)->sin6_addr
                          : (const void *)&((struct sockaddr_in *)(void *)&addr->addr)->sin_addr;
    if (!inet_ntop(addr->family, raw, t->refused_addr, sizeof t->refused_addr))
      snprintf(t->refused_addr, sizeof t->refused_addr, "?");
    t->res.refused = 1;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

/* --- transfer callbacks -------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  transfer *t = arg;
  size_t len = size * n;
  if (t->body_len < BODY_KEEP) {
    size_t k = len < BODY_KEEP - t->body_len ? len : BODY_KEEP - t->body_len;
    memcpy(t->res.body + t->body_len, p, k);
    t->body_len += k;
    t->res.body[t->body_len] = '\0';
  }
  return len; /* the rest is read and dropped; the timeout bounds the total */
}

/* Retry-After: delay-seconds or an HTTP-date. */
static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  transfer *t = arg;
  size_t len = size * n;
  static const char name[] = "retry-after:";
  if (len > sizeof name - 1 && len < 200 && !strncasecmp(p, name, sizeof name - 1)) {
    char v[200];
    size_t k = 0;
    for (size_t i = sizeof name - 1; i < len; i++) {
      if (p[i] != '\r' && p[i] != '\n') v[k++] = p[i];
    }
    v[k] = '\0';
    char *s = v;
    while (*s == ' ' || *s == '\t') s++;
    char *end;
    double secs = strtod(s, &end);
    if (end != s && secs >= 0 && (*end == '\0' || *end == ' '))
      t->res.retry_after = secs;
    else {
      time_t when = curl_getdate(s, NULL);
      if (when > 0) {
        double d = (double)when - (double)time(NULL);
        t->res.retry_after = d > 0 ? d : 0;
      }
    }
  }
  return len;
}

static void unlink_transfer(http_client *c, transfer *t) {
  if (t->prev)
    t->prev->next = t->next;
  else
    c->transfers = t->next;
  if (t->next) t->next->prev = t->prev;
  curl_multi_remove_handle(c->multi, t->easy);
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  free(t->body);
  c->active--;
}

static void check_done(http_client *c) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(c->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    transfer *t = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    CURLcode rc = m->data.result;
    if (rc == CURLE_OK) {
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->res.status);
    } else if (t->res.refused) {
      snprintf(t->res.error, sizeof t->res.error,
               "refused: %s is not a public address (SSRF guard; see --allow-private-webhooks)",
               t->refused_addr);
    } else {
      snprintf(t->res.error, sizeof t->res.error, "%s",
               t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    }
    t->res.duration = (double)(uv_now(c->loop) - (uint64_t)t->t0) / 1000.0;
    unlink_transfer(c, t);
    t->cb(t->arg, &t->res);
    free(t);
  }
}

/* --- sockets and the timer ---------------------------------------------------------------- */

static void on_sock_closed(uv_handle_t *h) {
  free(container_of((uv_poll_t *)h, sock_ctx, poll));
}

static void sock_close(sock_ctx *s) {
  http_client *c = s->c;
  if (s->prev)
    s->prev->next = s->next;
  else
    c->socks = s->next;
  if (s->next) s->next->prev = s->prev;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_ctx *s = container_of(h, sock_ctx, poll);
  http_client *c = s->c;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (!status && (events & UV_READABLE)) flags |= CURL_CSELECT_IN;
  if (!status && (events & UV_WRITABLE)) flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(c->multi, s->fd, flags, &running);
  check_done(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  (void)easy;
  http_client *c = userp;
  sock_ctx *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      if (!c->closing) curl_multi_assign(c->multi, fd, NULL);
      sock_close(s);
    }
    return 0;
  }
  if (!s) {
    if (c->closing) return 0;
    s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->fd = fd;
    s->c = c;
    if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
      free(s);
      return -1;
    }
    uv_unref((uv_handle_t *)&s->poll);
    s->next = c->socks;
    if (c->socks) c->socks->prev = s;
    c->socks = s;
    curl_multi_assign(c->multi, fd, s);
  }
  int ev = 0;
  if (what & CURL_POLL_IN) ev |= UV_READABLE;
  if (what & CURL_POLL_OUT) ev |= UV_WRITABLE;
  uv_poll_start(&s->poll, ev, on_poll);
  return 0;
}

static void on_timer(uv_timer_t *h) {
  http_client *c = container_of(h, http_client, timer);
  int running;
  curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_done(c);
}

/* Never calls into curl from here: only (re)arms the timer. */
static int on_timeout_change(CURLM *multi, long ms, void *userp) {
  (void)multi;
  http_client *c = userp;
  if (ms < 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, on_timer, ms == 0 ? 1 : (uint64_t)ms, 0);
  return 0;
}

/* --- API ------------------------------------------------------------------------------------ */

http_client *http_client_new(uv_loop_t *loop, int allow_private) {
  http_client *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->loop = loop;
  c->allow_private = allow_private;
  c->multi = curl_multi_init();
  if (!c->multi) {
    free(c);
    return NULL;
  }
  uv_timer_init(loop, &c->timer);
  uv_unref((uv_handle_t *)&c->timer);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
  curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
  curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 4L);
  return c;
}

int http_client_post(http_client *c, const char *url, const char *const *headers, size_t n_headers,
                     const char *body, size_t len, long timeout_ms, http_client_cb cb, void *arg) {
  transfer *t = calloc(1, sizeof *t);
  if (!t) return UV_ENOMEM;
  t->cb = cb;
  t->arg = arg;
  t->allow_private = c->allow_private;
  t->res.retry_after = -1;
  t->body = malloc(len + 1);
  t->easy = curl_easy_init();
  int rc = UV_ENOMEM;
  if (!t->body || !t->easy) goto fail;
  memcpy(t->body, body, len);
  t->body[len] = '\0';
  for (size_t i = 0; i < n_headers; i++) {
    struct curl_slist *l = curl_slist_append(t->headers, headers[i]);
    if (!l) goto fail;
    t->headers = l;
  }
  /* No "Expect: 100-continue" round trip. */
  struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
  if (!l) goto fail;
  t->headers = l;
  CURL *e = t->easy;
  rc = UV_EINVAL;
  if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK) goto fail;
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* no proxy from the environment */
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice-webhooks/0.1");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  t->t0 = (double)uv_now(c->loop);
  rc = UV_ENOMEM;
  if (curl_multi_add_handle(c->multi, e) != CURLM_OK) goto fail;
  t->next = c->transfers;
  if (c->transfers) c->transfers->prev = t;
  c->transfers = t;
  c->active++;
  return 0;
fail:
  if (t->easy) curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  free(t->body);
  free(t);
  return rc;
}

size_t http_client_active(const http_client *c) {
  return c->active;
}

static void on_timer_closed(uv_handle_t *h) {
  free(container_of((uv_timer_t *)h, http_client, timer));
}

void http_client_close(http_client *c) {
  while (c->transfers) {
    transfer *t = c->transfers;
    unlink_transfer(c, t);
    free(t);
  }
  c->closing = 1;
  curl_multi_cleanup(c->multi); /* may announce removals of cached connections' sockets */
  c->multi = NULL;
  while (c->socks) sock_close(c->socks);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
