/* test_session: dashboard sign-in over a real http_server on this thread (testnet.h): the right
 * token makes a session whose cookie then reads back, a wrong one is a 401, and a session is
 * never made from unfilled random bytes: when the kernel gives none (random_bytes wrapped at
 * link time, see tests/CMakeLists.txt) sign-in is a 503 with Retry-After and no cookie. */
#include <stdbool.h>

#include "api/session.h"
#include "core/app.h"
#include "util/crypto.h"
#include "testnet.h"
#include "testutil.h"

int __real_random_bytes(void *buf, size_t len);
int __wrap_random_bytes(void *buf, size_t len);

static bool no_randomness;

int __wrap_random_bytes(void *buf, size_t len) {
  return no_randomness ? -1 : __real_random_bytes(buf, len);
}

static app the_app;
static uv_loop_t loop;
static int port;

static void handler(http_conn *c, http_request *req, void *ctx) {
  if (req->method == HTTP_POST)
    session_handle_create(ctx, c, req);
  else
    session_handle_get(ctx, c, req);
}

/* Sends req on a new connection; the answer goes to resp. Returns the status. */
static int exchange(const char *req, char *resp, size_t cap) {
  int fd = tn_connect(port), closed;
  resp[0] = '\0';
  if (fd < 0 || tn_send(&loop, fd, req, strlen(req))) return 0;
  tn_read(&loop, fd, resp, cap, 2000, &closed);
  close(fd);
  return tn_status(resp);
}

static int sign_in(const char *token, char *resp, size_t cap) {
  char body[128], req[512];
  int n = snprintf(body, sizeof body, "{\"token\":\"%s\"}", token);
  snprintf(req, sizeof req,
           "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
           "Content-Length: %d\r\n\r\n%s",
           n, body);
  return exchange(req, resp, cap);
}

TEST(sign_in_without_randomness_is_503) {
  char resp[2048];
  no_randomness = true;
  CHECK_EQ_INT(sign_in("tok", resp, sizeof resp), 503);
  no_randomness = false;
  CHECK(strstr(resp, "\r\nRetry-After: ") != NULL);
  CHECK(strstr(resp, "Set-Cookie") == NULL);
}

TEST(sign_in_and_read_back) {
  char resp[2048], req[512];
  CHECK_EQ_INT(sign_in("wrong", resp, sizeof resp), 401);
  CHECK_EQ_INT(sign_in("tok", resp, sizeof resp), 201);
  const char *cookie = strstr(resp, "sluice_session=");
  CHECK(cookie != NULL);
  if (!cookie) return;
  snprintf(req, sizeof req,
           "GET /api/v1/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: %.79s\r\n\r\n",
           cookie);
  CHECK_EQ_INT(exchange(req, resp, sizeof resp), 200);
  CHECK(strstr(resp, "csrf_token") != NULL);
}

int main(void) {
  app *a = &the_app;
  sha256("tok", 3, a->admin_token_sha256);
  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  http_limits lim = {8192, 64, 1 << 16, 16, 5000, 5000, 5000, 100};
  http_server *srv = http_server_new(&loop, &lim, handler, a);
  port = tn_free_port();
  if (!srv || port < 0 || http_server_listen(srv, "127.0.0.1", port)) return 1;

  RUN(sign_in_without_randomness_is_503);
  RUN(sign_in_and_read_back);

  http_server_shutdown(srv, NULL);
  for (int i = 0; i < 100; i++) uv_run(&loop, UV_RUN_NOWAIT);
  http_server_free(srv);
  session_free_all(a);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  TEST_EXIT();
}
