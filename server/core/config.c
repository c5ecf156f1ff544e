/* config: table-driven flags and environment twins. Main thread only, before anything starts.
 * Every option is one row in `options`; values are validated here so that a bad setting is a
 * clear error at start rather than a surprise later. */
#include "core/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

#define SLUICE_VERSION "0.1.0"

typedef enum opt_type { OPT_STR, OPT_SIZE, OPT_BOOL } opt_type;

typedef struct option_def {
  const char *flag; /* without the leading "--" */
  const char *env;  /* environment twin */
  opt_type type;
  size_t offset;   /* into struct config */
  size_t cap;      /* buffer size for OPT_STR */
  const char *def; /* default, as text */
  const char *help;
} option_def;

#define STR(field)  OPT_STR, offsetof(config, field), sizeof(((config *)0)->field)
#define SIZE(field) OPT_SIZE, offsetof(config, field), 0
#define BOOL(field) OPT_BOOL, offsetof(config, field), 0

static const option_def options[] = {
    {"listen", "SLUICE_LISTEN", STR(listen), "127.0.0.1:9000", "address to listen on, HOST:PORT"},
    {"db", "SLUICE_DB", STR(db_path), "./data/sluice.db", "SQLite database file"},
    {"admin-token", "SLUICE_ADMIN_TOKEN", STR(admin_token), "",
     "admin token for the API and dashboard (default: generated on first start and printed once)"},
    {"public-url", "SLUICE_PUBLIC_URL", STR(public_url), "",
     "public address of the dashboard, for links in alerts (default: http://LISTEN)"},
    {"web-root", "SLUICE_WEB_ROOT", STR(web_root), "",
     "serve dashboard files from this folder instead of the embedded copy (development)"},
    {"log-level", "SLUICE_LOG_LEVEL", STR(log_level), "info", "debug, info, warn or error"},
    {"allow-private-webhooks", "SLUICE_ALLOW_PRIVATE_WEBHOOKS", BOOL(allow_private_webhooks), "0",
     "let webhooks reach loopback and private addresses (turns the SSRF guard off)"},
    {"max-header-bytes", "SLUICE_MAX_HEADER_BYTES", SIZE(max_header_bytes), "16384",
     "request line and headers, bytes"},
    {"max-headers", "SLUICE_MAX_HEADERS", SIZE(max_headers), "64", "headers per request"},
    {"max-body-bytes", "SLUICE_MAX_BODY_BYTES", SIZE(max_body_bytes), "20971520",
     "request body as sent (compressed), bytes"},
    {"max-decoded-bytes", "SLUICE_MAX_DECODED_BYTES", SIZE(max_decoded_bytes), "104857600",
     "request body after decompression, bytes"},
    {"max-envelope-items", "SLUICE_MAX_ENVELOPE_ITEMS", SIZE(max_envelope_items), "100",
     "items per envelope"},
    {"max-json-depth", "SLUICE_MAX_JSON_DEPTH", SIZE(max_json_depth), "64", "JSON nesting depth"},
    {"max-attachment-bytes", "SLUICE_MAX_ATTACHMENT_BYTES", SIZE(max_attachment_bytes), "1048576",
     "largest attachment stored, bytes"},
    {"max-connections", "SLUICE_MAX_CONNECTIONS", SIZE(max_connections), "4096",
     "open client connections"},
    {"header-timeout-ms", "SLUICE_HEADER_TIMEOUT_MS", SIZE(header_timeout_ms), "10000",
     "time allowed for a request's head (slowloris guard)"},
    {"body-timeout-ms", "SLUICE_BODY_TIMEOUT_MS", SIZE(body_timeout_ms), "30000",
     "longest silence while a body arrives"},
    {"keepalive-timeout-ms", "SLUICE_KEEPALIVE_TIMEOUT_MS", SIZE(keepalive_timeout_ms), "60000",
     "idle keep-alive connections are closed after this"},
    {"max-requests-per-conn", "SLUICE_MAX_REQUESTS_PER_CONN", SIZE(max_requests_per_conn), "10000",
     "requests on one connection before it is closed"},
    {"writer-queue", "SLUICE_WRITER_QUEUE", SIZE(writer_queue), "20000",
     "jobs waiting for the database writer; past this, ingest answers 429"},
    {"writer-batch", "SLUICE_WRITER_BATCH", SIZE(writer_batch), "2000",
     "jobs committed in one transaction at most"},
    {"event-retention-days", "SLUICE_EVENT_RETENTION_DAYS", SIZE(event_retention_days), "90",
     "events older than this are deleted"},
    {"sample-retention-days", "SLUICE_SAMPLE_RETENTION_DAYS", SIZE(sample_retention_days), "7",
     "raw memory samples older than this are deleted"},
    {"rollup-retention-days", "SLUICE_ROLLUP_RETENTION_DAYS", SIZE(rollup_retention_days), "120",
     "hourly memory rollups older than this are deleted"},
    {"delivery-retention-days", "SLUICE_DELIVERY_RETENTION_DAYS", SIZE(delivery_retention_days),
     "30", "webhook delivery records older than this are deleted"},
    {"webhook-retry-base-ms", "SLUICE_WEBHOOK_RETRY_BASE_MS", SIZE(webhook_retry_base_ms), "5000",
     "first webhook retry delay; the schedule (x1, x6, x24, x120, x360, x1440, ...) and the "
     "one-day give-up horizon scale with it (tuning and tests)"},
    {"webhook-digest-window-ms", "SLUICE_WEBHOOK_DIGEST_WINDOW_MS", SIZE(webhook_digest_window_ms),
     "10000",
     "new-issue alerts of a project within this window go to a webhook as one digest (0 = off)"},
    {"max-db-mb", "SLUICE_MAX_DB_MB", SIZE(max_db_mb), "0",
     "cap on the database size; past it the oldest events are evicted (0 = none)"},
    {"rate-limit-per-minute", "SLUICE_RATE_LIMIT_PER_MINUTE", SIZE(rate_limit_per_minute), "0",
     "default events per minute per project key (0 = unlimited)"},
    {"max-sample-age-days", "SLUICE_MAX_SAMPLE_AGE_DAYS", SIZE(max_sample_age_days), "7",
     "memory samples older than this are rejected (raise it to replay history)"},
    /* Hidden (not in --help): makes SQLite answer SQLITE_FULL past N pages, so that tests can
     * play a full disk without root; raising it (restart) is the disk getting space back. */
    {"max-db-pages", "SLUICE_MAX_DB_PAGES", SIZE(max_db_pages), "0", NULL},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* Digits with an optional k/m/g suffix (powers of 1024). The first character must be a digit:
 * strtoull also takes blanks and a sign, and wraps " -1" to the largest value. */
static int parse_size(const char *s, size_t *out) {
  if (*s < '0' || *s > '9') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  unsigned long long mul = 1;
  if (*end == 'k' || *end == 'K')
    mul = 1024ULL, end++;
  else if (*end == 'm' || *end == 'M')
    mul = 1024ULL * 1024, end++;
  else if (*end == 'g' || *end == 'G')
    mul = 1024ULL * 1024 * 1024, end++;
  if (*end != '\0') return -1;
  if (v > SIZE_MAX / mul) return -1;
  *out = (size_t)(v * mul);
  return 0;
}

static int parse_bool(const char *s, int *out) {
  if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
    *out = 1;
  else if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
           !strcasecmp(s, "off"))
    *out = 0;
  else
    return -1;
  return 0;
}

static int set_option(config *cfg, const option_def *o, const char *value, const char *from) {
  char *field = (char *)cfg + o->offset;
  int rc = 0;
  switch (o->type) {
  case OPT_STR:
    if (strlen(value) >= o->cap) {
      fprintf(stderr, "sluice: %s: value too long (at most %zu bytes)\n", from, o->cap - 1);
      return -1;
    }
    memcpy(field, value, strlen(value) + 1);
    break;
  case OPT_SIZE:
    rc = parse_size(value, (size_t *)(void *)field);
    break;
  case OPT_BOOL:
    rc = parse_bool(value, (int *)(void *)field);
    break;
  }
  if (rc) fprintf(stderr, "sluice: %s: bad value \"%s\"\n", from, value);
  return rc;
}

static int parse_listen(config *cfg) {
  const char *colon = strrchr(cfg->listen, ':');
  if (!colon || colon == cfg->listen || (size_t)(colon - cfg->listen) >= sizeof cfg->listen_host) {
    fprintf(stderr, "sluice: --listen: expected HOST:PORT, got \"%s\"\n", cfg->listen);
    return -1;
  }
  const char *h = cfg->listen;
  size_t hl = (size_t)(colon - cfg->listen);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') h++, hl -= 2; /* [::1]:9000 */
  memcpy(cfg->listen_host, h, hl);
  cfg->listen_host[hl] = '\0';
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (errno || *end || end == colon + 1 || port < 0 || port > 65535) {
    fprintf(stderr, "sluice: --listen: bad port in \"%s\"\n", cfg->listen);
    return -1;
  }
  cfg->listen_port = (int)port;
  return 0;
}

static int validate(config *cfg) {
  if (parse_listen(cfg)) return -1;
  log_level lv;
  if (log_level_parse(cfg->log_level, &lv)) {
    fprintf(stderr, "sluice: --log-level: expected debug, info, warn or error\n");
    return -1;
  }
  struct {
    const char *name;
    size_t v, lo;
  } mins[] = {
      {"max-header-bytes", cfg->max_header_bytes, 1024},
      {"max-headers", cfg->max_headers, 8},
      {"max-body-bytes", cfg->max_body_bytes, 1024},
      {"max-decoded-bytes", cfg->max_decoded_bytes, 1024},
      {"max-envelope-items", cfg->max_envelope_items, 1},
      {"max-json-depth", cfg->max_json_depth, 8},
      {"max-connections", cfg->max_connections, 1},
      {"header-timeout-ms", cfg->header_timeout_ms, 100},
      {"body-timeout-ms", cfg->body_timeout_ms, 100},
      {"keepalive-timeout-ms", cfg->keepalive_timeout_ms, 100},
      {"max-requests-per-conn", cfg->max_requests_per_conn, 1},
      {"writer-queue", cfg->writer_queue, 1},
      {"writer-batch", cfg->writer_batch, 1},
      {"event-retention-days", cfg->event_retention_days, 1},
      {"sample-retention-days", cfg->sample_retention_days, 1},
      {"rollup-retention-days", cfg->rollup_retention_days, 1},
      {"delivery-retention-days", cfg->delivery_retention_days, 1},
      {"webhook-retry-base-ms", cfg->webhook_retry_base_ms, 10},
      {"max-sample-age-days", cfg->max_sample_age_days, 1},
  };
  for (size_t i = 0; i < sizeof mins / sizeof mins[0]; i++) {
    if (mins[i].v < mins[i].lo) {
      fprintf(stderr, "sluice: --%s: must be at least %zu\n", mins[i].name, mins[i].lo);
      return -1;
    }
  }
  if (cfg->max_decoded_bytes < cfg->max_body_bytes) cfg->max_decoded_bytes = cfg->max_body_bytes;
  if (!cfg->public_url[0])
    snprintf(cfg->public_url, sizeof cfg->public_url, "http://%s", cfg->listen);
  size_t ul = strlen(cfg->public_url);
  while (ul > 0 && cfg->public_url[ul - 1] == '/') cfg->public_url[--ul] = '\0';
  return 0;
}

void config_usage(FILE *out) {
  fprintf(out, "usage: sluice [options]\n\n"
               "Self-hosted error tracking (Sentry SDK compatible) and memory-leak monitoring.\n"
               "Every option can also be set through the environment variable shown.\n\n");
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const option_def *o = &options[i];
    if (!o->help) continue; /* hidden test option */
    fprintf(out, "  --%s%s\n      %s [%s; default: %s]\n", o->flag,
            o->type == OPT_BOOL ? "" : " VALUE", o->help, o->env, o->def[0] ? o->def : "none");
  }
  fprintf(out, "  --help, --version\n");
}

int config_load(config *cfg, int argc, char **argv) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    if (set_option(cfg, &options[i], options[i].def, options[i].flag)) return -1;
  }
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const char *v = getenv(options[i].env);
    if (v && set_option(cfg, &options[i], v, options[i].env)) return -1;
  }
  for (int a = 1; a < argc; a++) {
    const char *arg = argv[a];
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      config_usage(stdout);
      return 1;
    }
    if (!strcmp(arg, "--version")) {
      printf("sluice %s\n", SLUICE_VERSION);
      return 1;
    }
    if (strncmp(arg, "--", 2) != 0) {
      fprintf(stderr, "sluice: unexpected argument \"%s\" (see --help)\n", arg);
      return -1;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const option_def *o = NULL;
    for (size_t i = 0; i < N_OPTIONS; i++) {
      if (strlen(options[i].flag) == nlen && !strncmp(options[i].flag, name, nlen)) o = &options[i];
    }
    if (!o) {
      fprintf(stderr, "sluice: unknown option \"%s\" (see --help)\n", arg);
      return -1;
    }
    const char *value;
    if (eq)
      value = eq + 1;
    else if (o->type == OPT_BOOL)
      value = "1";
    else if (a + 1 < argc)
      value = argv[++a];
    else {
      fprintf(stderr, "sluice: --%s needs a value\n", o->flag);
      return -1;
    }
    if (set_option(cfg, o, value, arg)) return -1;
  }
  return validate(cfg);
}
