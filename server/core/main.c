/* main: parses the configuration and wires the modules together: database (migrations,
 * admin token, project keys), the writer thread, the reader pool, the HTTP server, the
 * housekeeping timer and signal handling. Start-up may touch the disk; once the loop runs,
 * only the writer thread and the pool do. SIGTERM/SIGINT: stop accepting, finish in-flight
 * requests, drain the writer queue, commit, exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/config.h"
#include "util/crypto.h"
#include "sqlite/db.h"
#include "sqlite/events_store.h"
#include "core/housekeeping.h"
#include "util/log.h"
#include "memory/memory.h"
#include "sqlite/queries.h"
#include "http/router.h"
#include "api/session.h"
#include "http/static_files.h"
#include "alerts/webhooks.h"

static app the_app;
static uv_signal_t sig_term, sig_int;
static int exit_code;

/* Uses the configured token, or the stored hash, or makes and prints a new token. */
static int setup_admin_token(db *d, app *a, const config *cfg) {
  char hex[65];
  if (cfg->admin_token[0]) {
    sha256(cfg->admin_token, strlen(cfg->admin_token), a->admin_token_sha256);
    return 0;
  }
  if (db_meta_get(d, "admin_token_sha256", hex, sizeof hex) == 0 && strlen(hex) == 64) {
    for (int i = 0; i < 32; i++) {
      unsigned v;
      if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
      a->admin_token_sha256[i] = (uint8_t)v;
    }
    return 0;
  }
  uint8_t raw[24];
  char token[80];
  if (random_bytes(raw, sizeof raw)) return -1;
  hex_encode(raw, sizeof raw, hex);
  snprintf(token, sizeof token, "slu_%s", hex);
  sha256(token, strlen(token), a->admin_token_sha256);
  hex_encode(a->admin_token_sha256, 32, hex);
  if (db_meta_set(d, "admin_token_sha256", hex)) return -1;
  fprintf(stderr,
          "\n  Generated admin token (shown once; only its hash is stored):\n\n      %s\n\n"
          "  Use it to sign in to the dashboard and as `Authorization: Bearer <token>`.\n\n",
          token);
  return 0;
}

/* Loads every project's key; creates the "default" project on a new database. */
static int load_projects(db *d, app *a) {
  sqlite3_stmt *s =
      db_stmt(d, "SELECT id, public_key, coalesce(rate_limit_per_minute, -1) FROM projects");
  if (!s) return -1;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (app_key_add(a, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
                    sqlite3_column_int64(s, 2)))
      return -1;
  }
  sqlite3_reset(s);
  if (a->n_keys > 0) return 0;
  uint8_t raw[16];
  char key[33];
  int64_t id = 0;
  if (random_bytes(raw, sizeof raw)) return -1;
  hex_encode(raw, sizeof raw, key);
  if (store_project_create(d, "default", key, app_now(), &id) != 0) return -1;
  return app_key_add(a, id, key, -1);
}

/* Every client connection is gone: leave the loop (the writer's async handle would keep it
 * alive) and let main drain the writer. */
static void on_http_closed(http_server *s) {
  app *a = http_server_ctx(s);
  log_info("connections closed; draining the writer", NULL);
  uv_stop(a->loop);
}

static void on_signal(uv_signal_t *h, int signum) {
  app *a = h->data;
  log_info("shutting down", "signal=%d", signum);
  uv_signal_stop(&sig_term);
  uv_signal_stop(&sig_int);
  housekeeping_stop(a);
  http_server_shutdown(a->http, on_http_closed);
}

int main(int argc, char **argv) {
  config cfg;
  int rc = config_load(&cfg, argc, argv);
  if (rc != 0) return rc > 0 ? 0 : 2;
  log_level lv = LOG_INFO;
  log_level_parse(cfg.log_level, &lv);
  log_set_level(lv);
  signal(SIGPIPE, SIG_IGN);
  db_set_max_pages(cfg.max_db_pages); /* hidden test flag: simulates a full disk */

  app *a = &the_app;
  a->cfg = &cfg;
  a->loop = uv_default_loop();
  a->started_at = app_now();

  db *d = db_open(cfg.db_path, false);
  if (!d) {
    fprintf(stderr, "sluice: cannot open database %s\n", cfg.db_path);
    return 1;
  }
  if (db_exec(d, "BEGIN IMMEDIATE") != SQLITE_OK || setup_admin_token(d, a, &cfg) ||
      load_projects(d, a) || db_exec(d, "COMMIT") != SQLITE_OK) {
    fprintf(stderr, "sluice: cannot initialise database %s\n", cfg.db_path);
    db_close(d);
    return 1;
  }
  if (housekeeping_init(a, d) != 0 || memory_init(a, d) != 0) {
    db_close(d);
    return 1;
  }
  a->writer = writer_start(a->loop, d, cfg.writer_queue, cfg.writer_batch);
  a->reader = reader_open(a->loop, cfg.db_path);
  http_limits lim = {cfg.max_header_bytes,     cfg.max_headers,          cfg.max_body_bytes,
                     cfg.max_connections,      cfg.header_timeout_ms,    cfg.body_timeout_ms,
                     cfg.keepalive_timeout_ms, cfg.max_requests_per_conn};
  a->http = http_server_new(a->loop, &lim, router_dispatch, a);
  if (!a->writer || !a->reader || !a->http) {
    fprintf(stderr, "sluice: out of memory at start\n");
    return 1;
  }
  if (webhooks_init(a) != 0) {
    fprintf(stderr, "sluice: cannot start webhook delivery\n");
    return 1;
  }
  rc = http_server_listen(a->http, cfg.listen_host, cfg.listen_port);
  if (rc != 0) {
    fprintf(stderr, "sluice: cannot listen on %s: %s\n", cfg.listen, uv_strerror(rc));
    webhooks_shutdown(a);
    writer_stop(a->writer, NULL, NULL);
    return 1;
  }
  housekeeping_start(a);
  uv_signal_init(a->loop, &sig_term);
  uv_signal_init(a->loop, &sig_int);
  sig_term.data = sig_int.data = a;
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);

  char dsn[600];
  q_format_dsn(cfg.public_url, a->keys[0].public_key, a->keys[0].project_id, dsn, sizeof dsn);
  log_info("sluice started", "listen=%s db=\"%s\" schema=%d projects=%zu", cfg.listen, cfg.db_path,
           db_schema_version(), a->n_keys);
  log_info("config",
           "public_url=%s max_body_bytes=%zu max_decoded_bytes=%zu writer_queue=%zu"
           " writer_batch=%zu max_connections=%zu event_retention_days=%zu"
           " sample_retention_days=%zu rate_limit_per_minute=%zu private_webhooks=%d",
           cfg.public_url, cfg.max_body_bytes, cfg.max_decoded_bytes, cfg.writer_queue,
           cfg.writer_batch, cfg.max_connections, cfg.event_retention_days,
           cfg.sample_retention_days, cfg.rate_limit_per_minute, cfg.allow_private_webhooks);
  fprintf(stderr, "\n  sluice is listening on http://%s\n  Dashboard:   %s/\n  Default DSN: %s\n\n",
          cfg.listen, cfg.public_url, dsn);

  uv_run(a->loop, UV_RUN_DEFAULT);

  /* The HTTP side is closed: commit what is queued, then release everything. */
  webhooks_shutdown(a);
  writer_stop(a->writer, memory_final_flush, a);
  memory_free(a);
  housekeeping_free(a);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_run(a->loop, UV_RUN_DEFAULT);
  reader_close(a->reader);
  http_server_free(a->http);
  session_free_all(a);
  static_files_free();
  free(a->keys);
  uv_loop_close(a->loop);
  log_info("sluice stopped", NULL);
  return exit_code;
}
