/* test_ingest_nomem: an ingest request is all or nothing when memory runs out. A real server
 * (http_server, writer thread, SQLite in a scratch directory) answers an envelope with one item
 * of every kind, over and over, while the allocator (failalloc.h, loop thread only) fails the
 * 1st, 2nd, 3rd ... allocation of the request, until one goes through untouched. Every answer
 * must be a 503 with Retry-After and nothing stored, or no answer at all (the response itself
 * could not be allocated); never a 400 (an out-of-memory blamed on the client, with an
 * uninitialised message) and never a 200 for a request that lost an item. The final answer is
 * a 200 with every item stored. The same sweep runs for a gzip envelope (decoding) and for
 * /store/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "core/app.h"
#include "core/config.h"
#include "http/router.h"
#include "sentry/ingest.h"
#include "store.h"
#include "util/log.h"
#include "failalloc.h"
#include "testnet.h"
#include "testutil.h"

#define KEY "0123456789abcdef0123456789abcdef"

static app the_app;
static config cfg;
static uv_loop_t loop;
static int port;

static void handler(http_conn *c, http_request *req, void *ctx) {
  route_params p = {.n = 1, .seg = {"1"}, .len = {1}};
  if (strstr(req->path, "/store/"))
    ingest_store(ctx, c, req, &p);
  else
    ingest_envelope(ctx, c, req, &p);
}

static int closed_cb_ran;
static void on_closed(http_server *s) {
  (void)s;
  closed_cb_ran = 1;
}

static void random_hex(char out[33]) {
  static const char d[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) out[i] = d[rand() % 16];
  out[32] = '\0';
}

#define EVENT_JSON                                                                                 \
  "{\"event_id\":\"%s\",\"level\":\"warning\",\"release\":\"web@1\",\"environment\":\"prod\","     \
  "\"timestamp\":\"2024-01-02T03:04Z\",\"logentry\":{\"message\":\"user %%s failed\","             \
  "\"params\":[\"ann\"]},\"exception\":{\"values\":[{\"type\":\"KeyError\",\"value\":\"'id' "      \
  "0x1f\",\"stacktrace\":{\"frames\":[{\"module\":\"app.views\",\"function\":\"get\",\"lineno\":"  \
  "10,\"in_app\":true},{\"filename\":\"lib/x.py\",\"function\":\"f\",\"in_app\":false}]}}]}}"

/* An envelope with an event, a transaction, a session, session aggregates, a client report
 * and an attachment: 6 items, each counted once when stored. */
static size_t make_envelope(char *buf, size_t cap) {
  char eid[33], tid[33], sid[33];
  random_hex(eid);
  random_hex(tid);
  random_hex(sid);
  return (size_t)snprintf(
      buf, cap,
      "{\"event_id\":\"%s\"}\n"
      "{\"type\":\"event\"}\n" EVENT_JSON "\n"
      "{\"type\":\"transaction\"}\n{\"event_id\":\"%s\",\"type\":\"transaction\","
      "\"transaction\":\"GET /\",\"timestamp\":\"2024-01-02T03:04:05.5Z\"}\n"
      "{\"type\":\"session\"}\n{\"sid\":\"%s\",\"status\":\"ok\",\"errors\":0,"
      "\"started\":\"2024-01-02T03:04Z\",\"timestamp\":\"2024-01-02T03:05Z\","
      "\"attrs\":{\"release\":\"web@1\",\"environment\":\"prod\"}}\n"
      "{\"type\":\"sessions\"}\n{\"aggregates\":[{\"started\":\"2024-01-02T03:00Z\","
      "\"exited\":3,\"errored\":1}],\"attrs\":{\"release\":\"web@1\"}}\n"
      "{\"type\":\"client_report\"}\n{\"discarded_events\":[{\"reason\":\"queue_overflow\","
      "\"category\":\"error\",\"quantity\":2}]}\n"
      "{\"type\":\"attachment\",\"filename\":\"a.txt\",\"content_type\":\"text/plain\","
      "\"length\":5}\nhello\n",
      eid, eid, tid, sid);
}

static size_t gzip_into(const char *in, size_t n, char *out, size_t cap) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)n;
  zs.next_out = (Bytef *)out;
  zs.avail_out = (uInt)cap;
  int rc = deflate(&zs, Z_FINISH);
  size_t len = zs.total_out;
  deflateEnd(&zs);
  return rc == Z_STREAM_END ? len : 0;
}

typedef enum kind { ENVELOPE, ENVELOPE_GZIP, STORE } kind;

/* Builds one request of the kind with fresh ids into req; returns its length. */
static size_t make_request(kind k, char *req, size_t cap) {
  char body[8192], gz[8192];
  size_t n;
  if (k == STORE) {
    char eid[33];
    random_hex(eid);
    n = (size_t)snprintf(body, sizeof body, EVENT_JSON, eid);
  } else {
    n = make_envelope(body, sizeof body);
  }
  const char *enc = "";
  if (k == ENVELOPE_GZIP) {
    n = gzip_into(body, n, gz, sizeof gz);
    memcpy(body, gz, n);
    enc = "Content-Encoding: gzip\r\n";
  }
  int h = snprintf(req, cap,
                   "POST /api/1/%s/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "X-Sentry-Auth: Sentry sentry_key=" KEY ", sentry_version=7\r\n"
                   "%sContent-Length: %zu\r\n\r\n",
                   k == STORE ? "store" : "envelope", enc, n);
  memcpy(req + h, body, n);
  return (size_t)h + n;
}

static uint64_t stored_items(void) {
  const app_counters *k = &the_app.counters;
  return k->events_accepted + k->transactions + k->sessions + k->client_reports + k->attachments;
}

/* Fails allocation 1, 2, 3 ... of a request of the kind; returns how many were failed. */
static long sweep(kind k) {
  static char req[20000], resp[4096];
  long skip;
  int n503 = 0, silent = 0;
  uint64_t counted = the_app.counters.rejected_nomem;
  for (skip = 0; skip < 5000; skip++) {
    size_t len = make_request(k, req, sizeof req);
    uint64_t before = stored_items();
    int fd = tn_connect(port);
    CHECK(fd >= 0);
    fa_arm(skip, 1);
    int closed;
    int sent = tn_send(&loop, fd, req, len);
    size_t n = sent == 0 ? tn_read(&loop, fd, resp, sizeof resp, 5000, &closed) : 0;
    long failed = fa_count();
    fa_disarm();
    close(fd);
    int status = n ? tn_status(resp) : 0;
    if (!failed) { /* every allocation went through: the sweep is done */
      CHECK_EQ_INT(status, 200);
      CHECK_EQ_INT(stored_items() - before, k == STORE ? 1 : 6);
      break;
    }
    if (n == 0) {
      silent++; /* closed unanswered: the client may not take it as stored */
    } else if (status == 503 && strstr(resp, "\r\nRetry-After: ")) {
      n503++;
      CHECK_EQ_INT(stored_items(), before);
    } else {
      fprintf(stderr, "kind %d, allocation %ld failed: answered \"%.300s\"\n", k, skip + 1, resp);
      tu_failed_checks++;
    }
  }
  CHECK(skip < 5000);
  CHECK(n503 > 0);
  /* the ingest 503s are counted for /metrics (the HTTP layer's own are not ingest's) */
  CHECK(the_app.counters.rejected_nomem > counted);
  CHECK(the_app.counters.rejected_nomem - counted <= (uint64_t)n503);
  printf("kind %d: %ld allocations failed in turn: %d answered 503, %d closed unanswered\n", k,
         skip, n503, silent);
  return skip;
}

TEST(envelope_all_or_nothing) {
  CHECK(sweep(ENVELOPE) > 20);
}

TEST(gzip_envelope_all_or_nothing) {
  CHECK(sweep(ENVELOPE_GZIP) > 20);
}

static int create_project(store_tx *tx, void *arg) {
  int64_t *id = arg;
  return tx->ops->project_create(tx, "p", KEY, 1700000000.0, id);
}

TEST(store_all_or_nothing) {
  CHECK(sweep(STORE) > 5);
}

int main(void) {
  char dir[] = "/tmp/sluice-ingest-nomem-XXXXXX", path[128];
  char *argv[] = {"test_ingest_nomem", NULL};
  if (!mkdtemp(dir) || config_load(&cfg, 1, argv) != 0) return 1;
  log_set_level(LOG_ERROR);
  snprintf(path, sizeof path, "%s/sluice.db", dir);
  srand(7);
  store *st = NULL;
  int64_t id = 1;
  if (store_open(path, NULL, &st) != STORE_OK) return 1;
  uv_loop_init(&loop);
  app *a = &the_app;
  a->cfg = &cfg;
  a->loop = &loop;
  a->store = st;
  a->writer = writer_start(&loop, st, 64, 16);
  if (!a->writer || writer_call_sync(a->writer, create_project, &id) != STORE_OK || id != 1)
    return 1;
  http_limits lim = {cfg.max_header_bytes,     cfg.max_headers,          cfg.max_body_bytes,
                     cfg.max_connections,      cfg.header_timeout_ms,    cfg.body_timeout_ms,
                     cfg.keepalive_timeout_ms, cfg.max_requests_per_conn};
  a->http = http_server_new(&loop, &lim, handler, a);
  port = tn_free_port();
  if (!a->writer || !a->http || app_key_add(a, 1, KEY, 0) ||
      http_server_listen(a->http, "127.0.0.1", port))
    return 1;

  RUN(envelope_all_or_nothing);
  RUN(gzip_envelope_all_or_nothing);
  RUN(store_all_or_nothing);

  http_server_shutdown(a->http, on_closed);
  while (!closed_cb_ran) uv_run(&loop, UV_RUN_ONCE);
  writer_stop(a->writer, NULL, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  http_server_free(a->http);
  store_close(st);
  free(a->keys);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
  tu_remove_dir(dir);
  TEST_EXIT();
}
