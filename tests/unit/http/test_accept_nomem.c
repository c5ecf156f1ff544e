/* test_accept_nomem: the listener outlives allocation failures while accepting. libuv stops
 * watching a listening socket when its connection callback leaves a connection un-accepted,
 * so an http_conn that cannot be allocated must not end accepting for good. Linked with the
 * allocation wrappers (failalloc.h): one failure, a burst of failures within one loop
 * iteration (the spare handle busy), and a burst whose waiting connection then gets memory;
 * after each, a new connection is served and the server still shuts down cleanly. */
#include "http/http.h"
#include "failalloc.h"
#include "testnet.h"
#include "testutil.h"

static void handler(http_conn *c, http_request *req, void *ctx) {
  (void)req, (void)ctx;
  http_respond(c, 200, "text/plain", NULL, "ok", 2);
}

static int closed_cb_ran;
static void on_closed(http_server *s) {
  (void)s;
  closed_cb_ran = 1;
}

typedef struct fixture {
  uv_loop_t loop;
  http_server *srv;
  int port;
} fixture;

static void start(fixture *f) {
  CHECK_EQ_INT(uv_loop_init(&f->loop), 0);
  http_limits lim = {8192, 64, 1 << 16, 16, 5000, 5000, 5000, 100};
  f->srv = http_server_new(&f->loop, &lim, handler, NULL);
  f->port = tn_free_port();
  CHECK(f->srv != NULL && f->port > 0);
  CHECK_EQ_INT(http_server_listen(f->srv, "127.0.0.1", f->port), 0);
}

static void stop(fixture *f) {
  closed_cb_ran = 0;
  http_server_shutdown(f->srv, on_closed);
  for (int i = 0; i < 1000 && !closed_cb_ran; i++) uv_run(&f->loop, UV_RUN_NOWAIT);
  CHECK(closed_cb_ran);
  uv_run(&f->loop, UV_RUN_NOWAIT); /* the last close callbacks */
  http_server_free(f->srv);
  CHECK_EQ_INT(uv_loop_close(&f->loop), 0); /* the spare handle too is closed */
}

/* 1 when the server closes fd without a word. */
static int refused(fixture *f, int fd) {
  char buf[256];
  int closed;
  size_t n = tn_read(&f->loop, fd, buf, sizeof buf, 1000, &closed);
  close(fd);
  return closed && n == 0;
}

/* 1 when a request on fd (a new connection if fd < 0) gets its 200. */
static int served(fixture *f, int fd) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  char buf[512];
  int closed;
  if (fd < 0) fd = tn_connect(f->port);
  if (fd < 0 || tn_send(&f->loop, fd, req, sizeof req - 1)) return 0;
  tn_read(&f->loop, fd, buf, sizeof buf, 1000, &closed);
  close(fd);
  return tn_status(buf) == 200 && strstr(buf, "\r\n\r\nok") != NULL;
}

static uint64_t refused_count(fixture *f) {
  http_stats st;
  http_server_get_stats(f->srv, &st);
  return st.connections_refused;
}

TEST(one_failure_closes_that_connection_only) {
  fixture f;
  start(&f);
  fa_arm(0, 1);
  int fd = tn_connect(f.port);
  CHECK(refused(&f, fd));
  CHECK_EQ_INT(fa_count(), 1);
  fa_disarm();
  CHECK(served(&f, -1));
  CHECK(served(&f, -1));
  CHECK_EQ_INT(refused_count(&f), 1);
  stop(&f);
}

/* Three connections wait in the backlog, so libuv accepts them in one iteration: the first
 * failure uses the spare handle, the second finds it closing and waits, and is refused (third
 * failure) once the spare is free; the third connection is served. */
TEST(burst_of_failures_in_one_iteration) {
  fixture f;
  start(&f);
  int a = tn_connect(f.port), b = tn_connect(f.port), c = tn_connect(f.port);
  fa_arm(0, 3);
  CHECK(refused(&f, a));
  CHECK(refused(&f, b));
  CHECK_EQ_INT(fa_count(), 3);
  fa_disarm();
  CHECK(served(&f, c));
  CHECK(served(&f, -1));
  CHECK_EQ_INT(refused_count(&f), 3);
  stop(&f);
}

/* The connection that waited for the spare gets memory on the retry and is served. */
TEST(waiting_connection_served_when_memory_returns) {
  fixture f;
  start(&f);
  int a = tn_connect(f.port), b = tn_connect(f.port);
  fa_arm(0, 2);
  CHECK(refused(&f, a));
  CHECK_EQ_INT(fa_count(), 2);
  fa_disarm();
  CHECK(served(&f, b));
  CHECK(served(&f, -1));
  CHECK_EQ_INT(refused_count(&f), 2);
  stop(&f);
}

/* Shutting down while a connection waits for the spare frees everything. */
TEST(shutdown_while_waiting) {
  fixture f;
  start(&f);
  int a = tn_connect(f.port), b = tn_connect(f.port);
  fa_arm(0, 2);
  uv_run(&f.loop, UV_RUN_NOWAIT); /* accepts a (spare), b waits */
  fa_disarm();
  stop(&f);
  close(a);
  close(b);
}

int main(void) {
  RUN(one_failure_closes_that_connection_only);
  RUN(burst_of_failures_in_one_iteration);
  RUN(waiting_connection_served_when_memory_returns);
  RUN(shutdown_while_waiting);
  TEST_EXIT();
}
