/* main: parses the configuration and wires the modules together: the store (migrations), the
 * writer thread (admin token, project keys), the reader pool, the HTTP server, the
 * housekeeping timer and signal handling. Only the writer thread and the pool touch storage.
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests, drain the writer queue, commit,
 * exit 0. The app and the signal handles are file statics: the one process-wide context, owned
 * here for the process's life (handlers get it as a pointer). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "alerts/delivery.h"
#include "api/session.h"
#include "core/app.h"
#include "core/config.h"
#include "core/housekeeping.h"
#include "http/router.h"
#include "http/static_files.h"
#include "memory/memory.h"
#include "util/crypto.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/timefmt.h"

static app the_app;
static uv_signal_t sig_term, sig_int;
static int exit_code;

/* What start-up reads and writes through the writer thread: the job's own data, not the app. */
typedef struct startup {
  const char *admin_token; /* configured, or "" */
  uint8_t admin_sha256[32];
  struct {
    int64_t id, rate_limit;
    char key[APP_KEY_MAX + 1];
  } * keys;
  size_t n_keys, cap_keys;
} startup;

/* Uses the configured token, or the stored hash, or makes and prints a new token. */
/* The admin token's hash: a configured token (--admin-token / SLUICE_ADMIN_TOKEN) replaces the
 * stored hash, so a token set once to recover a lost one stays the only valid token after a
 * restart without the flag; otherwise the stored hash; on a new database a generated token,
 * printed once. Writer thread. */
static int setup_admin_token(store_tx *tx, void *arg) {
  startup *st = arg;
  char hex[65], want[65];
  int rc = tx->ops->meta_get(tx, "admin_token_sha256", hex, sizeof hex);
  if (rc != STORE_OK && rc != STORE_ENOTFOUND) return rc;
  int stored = rc == STORE_OK && strlen(hex) == 64;
  if (st->admin_token[0]) {
    sha256(st->admin_token, strlen(st->admin_token), st->admin_sha256);
    hex_encode(st->admin_sha256, 32, want);
    if (stored && strcmp(hex, want) == 0) return STORE_OK;
    if ((rc = tx->ops->meta_set(tx, "admin_token_sha256", want)) != STORE_OK) return rc;
    if (stored) log_info("admin token replaced by the configured one", NULL);
    return STORE_OK;
  }
  if (stored) return hex_decode(hex, 64, st->admin_sha256, 32) == 32 ? STORE_OK : STORE_EIO;
  uint8_t raw[24];
  char token[80];
  if (random_bytes(raw, sizeof raw)) return STORE_EIO;
  hex_encode(raw, sizeof raw, hex);
  snprintf(token, sizeof token, "slu_%s", hex);
  sha256(token, strlen(token), st->admin_sha256);
  hex_encode(st->admin_sha256, 32, hex);
  if ((rc = tx->ops->meta_set(tx, "admin_token_sha256", hex)) != STORE_OK) return rc;
  fprintf(stderr,
          "\n  Generated admin token (shown once; only its hash is stored):\n\n      %s\n\n"
          "  Use it to sign in to the dashboard and as `Authorization: Bearer <token>`.\n\n",
          token);
  return STORE_OK;
}

static int add_key(void *ctx, int64_t id, const char *key, int64_t rate_limit) {
  startup *st = ctx;
  if (st->n_keys == st->cap_keys) {
    size_t cap = st->cap_keys ? 2 * st->cap_keys : 16;
    void *k = realloc(st->keys, cap * sizeof *st->keys);
    if (!k) return STORE_ENOMEM;
    st->keys = k;
    st->cap_keys = cap;
  }
  st->keys[st->n_keys].id = id;
  st->keys[st->n_keys].rate_limit = rate_limit;
  snprintf(st->keys[st->n_keys].key, sizeof st->keys[0].key, "%s", key);
  st->n_keys++;
  return 0;
}

/* Reads every project's key; creates the "default" project on a new database. */
static int load_projects(store_tx *tx, void *arg) {
  startup *st = arg;
  st->n_keys = 0;
  int rc = tx->ops->projects_each(tx, add_key, st);
  if (rc != STORE_OK || st->n_keys > 0) return rc;
  uint8_t raw[16];
  char key[33];
  int64_t id = 0;
  if (random_bytes(raw, sizeof raw)) return STORE_EIO;
  hex_encode(raw, sizeof raw, key);
  if ((rc = tx->ops->project_create(tx, "default", key, time_wall(), &id)) != STORE_OK) return rc;
  return add_key(st, id, key, -1);
}

/* Runs the start-up steps on the writer and fills the app's token hash and key table. */
static int start_up(app *a) {
  startup st = {.admin_token = a->cfg->admin_token};
  int rc = writer_call_sync(a->writer, setup_admin_token, &st);
  if (rc == STORE_OK) rc = writer_call_sync(a->writer, load_projects, &st);
  for (size_t i = 0; rc == STORE_OK && i < st.n_keys; i++) {
    if (app_key_add(a, st.keys[i].id, st.keys[i].key, st.keys[i].rate_limit)) rc = STORE_ENOMEM;
  }
  memcpy(a->admin_token_sha256, st.admin_sha256, sizeof st.admin_sha256);
  free(st.keys);
  return rc;
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

  app *a = &the_app;
  a->cfg = &cfg;
  a->loop = uv_default_loop();
  a->started_at = time_wall();

  store_options so = {.max_pages = cfg.max_db_pages}; /* hidden test flag: a full disk */
  rc = store_open(cfg.db_path, &so, &a->store);
  if (rc != STORE_OK) {
    fprintf(stderr, "sluice: cannot open database %s: %s\n", cfg.db_path, store_status_text(rc));
    return 1;
  }
  a->alerts = alert_sink_new((double)cfg.webhook_digest_window_ms / 1000.0);
  a->writer =
      a->alerts ? writer_start(a->loop, a->store, cfg.writer_queue, cfg.writer_batch) : NULL;
  if (!a->writer) {
    fprintf(stderr, "sluice: cannot start the database writer for %s\n", cfg.db_path);
    return 1;
  }
  if (start_up(a) != STORE_OK) {
    fprintf(stderr, "sluice: cannot initialise database %s\n", cfg.db_path);
    writer_stop(a->writer, NULL, NULL);
    return 1;
  }
  a->reader = reader_open(a->loop, a->store);
  http_limits lim = {cfg.max_header_bytes,     cfg.max_headers,          cfg.max_body_bytes,
                     cfg.max_connections,      cfg.header_timeout_ms,    cfg.body_timeout_ms,
                     cfg.keepalive_timeout_ms, cfg.max_requests_per_conn};
  a->http = http_server_new(a->loop, &lim, router_dispatch, a);
  if (!a->reader || !a->http || housekeeping_init(a) != 0 || memory_init(a) != 0) {
    fprintf(stderr, "sluice: out of memory at start\n");
    return 1;
  }
  if (delivery_init(a) != 0) {
    fprintf(stderr, "sluice: cannot start webhook delivery\n");
    return 1;
  }
  rc = http_server_listen(a->http, cfg.listen_host, cfg.listen_port);
  if (rc != 0) {
    fprintf(stderr, "sluice: cannot listen on %s: %s\n", cfg.listen, uv_strerror(rc));
    delivery_shutdown(a);
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
  store_format_dsn(cfg.public_url, a->keys[0].public_key, a->keys[0].project_id, dsn, sizeof dsn);
  log_info("sluice started", "listen=%s db=\"%s\" backend=%s schema=%d projects=%zu", cfg.listen,
           cfg.db_path, a->store->ops->name, a->store->ops->schema_version(a->store), a->n_keys);
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
  delivery_shutdown(a);
  writer_stop(a->writer, memory_final_flush, memory_writer_state(a));
  memory_free(a);
  housekeeping_free(a);
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  uv_run(a->loop, UV_RUN_DEFAULT);
  reader_close(a->reader);
  http_server_free(a->http);
  session_free_all(a);
  static_files_free(a);
  store_close(a->store);
  alert_sink_free(a->alerts);
  free(a->keys);
  uv_loop_close(a->loop);
  log_info("sluice stopped", NULL);
  return exit_code;
}
