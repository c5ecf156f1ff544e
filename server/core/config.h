/* config: the server's settings, from command-line flags with SLUICE_* environment twins
 * (a flag wins over its variable). One table describes every option, so parsing, --help and
 * the README list agree. Read once at start on the main thread; read-only afterwards. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H
#include <stddef.h>
#include <stdio.h>

typedef struct config {
  char listen[128];           /* HOST:PORT as given */
  char listen_host[64];       /* parsed host */
  int listen_port;            /* parsed port */
  char db_path[1024];         /* SQLite file */
  char admin_token[256];      /* "" = use the stored one, or generate on first start */
  char public_url[512];       /* dashboard address for links; "" = http://listen */
  char web_root[1024];        /* "" = serve the embedded assets */
  char log_level[16];         /* debug|info|warn|error */
  int allow_private_webhooks; /* 1 = SSRF guard off */
  /* request limits */
  size_t max_header_bytes;      /* request line + headers */
  size_t max_headers;           /* header count */
  size_t max_body_bytes;        /* body as received (compressed) */
  size_t max_decoded_bytes;     /* body after decompression */
  size_t max_envelope_items;    /* items per envelope */
  size_t max_json_depth;        /* nesting of any JSON document */
  size_t max_attachment_bytes;  /* larger attachments are dropped (counted, not stored) */
  size_t max_connections;       /* open client connections */
  size_t header_timeout_ms;     /* whole request head must arrive within this */
  size_t body_timeout_ms;       /* longest silence while a body is arriving */
  size_t keepalive_timeout_ms;  /* idle keep-alive connection is closed after this */
  size_t max_requests_per_conn; /* then the connection is closed after the answer */
  /* storage */
  size_t writer_queue; /* jobs waiting for the writer; past this: 429 */
  size_t writer_batch; /* jobs per transaction at most */
  size_t event_retention_days;
  size_t sample_retention_days; /* raw memory samples */
  size_t rollup_retention_days; /* hourly memory rollups */
  size_t delivery_retention_days;
  size_t webhook_retry_base_ms;    /* first retry delay; later ones are multiples of it */
  size_t webhook_digest_window_ms; /* new-issue alerts within this go out as one digest */
  size_t max_db_mb;                /* 0 = no cap; else the oldest events are evicted past it */
  size_t rate_limit_per_minute;    /* default per project key; 0 = none */
  size_t max_db_pages;             /* hidden, for tests: PRAGMA max_page_count; 0 = SQLite's */
  size_t max_sample_age_days;      /* oldest memory sample accepted (replays of history) */
} config;

/* Fills *cfg with defaults, then the environment, then argv. Returns 0 on success, 1 when
 * --help or --version was printed (exit 0), -1 on a bad flag or value (message on stderr). */
int config_load(config *cfg, int argc, char **argv);

/* Writes the option list (flag, variable, default, meaning) to out. */
void config_usage(FILE *out);

#endif
