/* testnet: a blocking-free HTTP client for unit tests that run an http_server on their own
 * loop in the same thread: connect, send, then turn the loop (UV_RUN_NOWAIT) while waiting for
 * the answer, so the server and the client share one thread and one clock. */
#ifndef SLUICE_TESTNET_H
#define SLUICE_TESTNET_H
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* A port on 127.0.0.1 that was free a moment ago. */
static inline int tn_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

/* A non-blocking socket connected to 127.0.0.1:port (the kernel completes the handshake into
 * the listen backlog before the server accepts), or -1. */
static inline int tn_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* Turns the loop once without blocking, then waits up to 2 ms for fd. */
static inline void tn_turn(uv_loop_t *loop, int fd) {
  uv_run(loop, UV_RUN_NOWAIT);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  poll(&p, 1, 2);
}

/* Reads what fd receives into buf (cap bytes, NUL-terminated) while turning the loop, until a
 * whole response (head and Content-Length bytes of body) arrived, the peer closed, or ms
 * passed. Returns the bytes read; *closed says whether the peer closed. */
static inline size_t tn_read(uv_loop_t *loop, int fd, char *buf, size_t cap, int ms, int *closed) {
  size_t n = 0;
  *closed = 0;
  for (int waited = 0; waited < ms * 2 && n + 1 < cap; waited++) {
    tn_turn(loop, fd);
    ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      *closed = 1;
      break;
    }
    if (r > 0) n += (size_t)r;
    buf[n] = '\0';
    const char *end = strstr(buf, "\r\n\r\n");
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (end && cl && cl < end && n >= (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10)) break;
  }
  buf[n] = '\0';
  return n;
}

/* Sends all of data[0..len) while turning the loop. Returns 0 or -1. */
static inline int tn_send(uv_loop_t *loop, int fd, const char *data, size_t len) {
  for (int tries = 0; len > 0 && tries < 5000; tries++) {
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (w > 0) data += w, len -= (size_t)w;
    if (len) tn_turn(loop, fd);
  }
  return len ? -1 : 0;
}

/* The status code of a response in buf, or 0. */
static inline int tn_status(const char *buf) {
  return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? (int)strtol(buf + 9, NULL, 10) : 0;
}

#endif
