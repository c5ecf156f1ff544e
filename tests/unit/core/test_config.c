/* test_config: config_load over defaults, SLUICE_* environment twins and flags (a flag wins),
 * both flag forms, size suffixes, booleans, bounds and minimums, --listen parsing into host and
 * port, derived settings (public URL, decoded-body floor), and every way to get it wrong: bad,
 * negative and overflowing values, unknown flags, missing values, stray arguments. config_load
 * reports errors on stderr and prints --help on stdout; both are sent to /dev/null around the
 * calls so that only this test's own messages show. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#include "core/config.h"
#include "testutil.h"

extern char **environ;

static config cfg;

/* Unsets every SLUICE_* variable, so each test starts from the defaults. */
static void clear_env(void) {
  char name[128];
  for (;;) {
    char **e = environ;
    while (*e && strncmp(*e, "SLUICE_", 7) != 0) e++;
    if (!*e) return;
    const char *eq = strchr(*e, '=');
    size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, *e, n);
    name[n] = '\0';
    if (unsetenv(name) != 0) return;
  }
}

/* config_load("sluice", args..., NULL) with stdout and stderr muted. */
static int load(const char *first, ...) {
  char *argv[64];
  int argc = 0;
  argv[argc++] = "sluice";
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
    argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc] = NULL;

  fflush(stdout);
  fflush(stderr);
  int out = dup(1), err = dup(2), nul = open("/dev/null", O_WRONLY);
  if (nul >= 0) {
    dup2(nul, 1);
    dup2(nul, 2);
  }
  int rc = config_load(&cfg, argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(out, 1);
  dup2(err, 2);
  close(out);
  close(err);
  if (nul >= 0) close(nul);
  return rc;
}

/* Loads with one flag=value and expects rc; on success returns the size field's value. */
static size_t size_flag(const char *flag, const char *value, int want_rc, size_t *field) {
  char arg[256];
  snprintf(arg, sizeof arg, "--%s=%s", flag, value);
  int rc = load(arg, NULL);
  if (rc != want_rc) fprintf(stderr, "  %s: rc %d, expected %d\n", arg, rc, want_rc);
  CHECK_EQ_INT(rc, want_rc);
  return rc == 0 ? *field : 0;
}

TEST(defaults) {
  clear_env();
  CHECK_EQ_INT(load(NULL), 0);
  CHECK_EQ_STR(cfg.listen, "127.0.0.1:9000");
  CHECK_EQ_STR(cfg.listen_host, "127.0.0.1");
  CHECK_EQ_INT(cfg.listen_port, 9000);
  CHECK_EQ_STR(cfg.db_path, "./data/sluice.db");
  CHECK_EQ_STR(cfg.admin_token, "");
  CHECK_EQ_STR(cfg.public_url, "http://127.0.0.1:9000");
  CHECK_EQ_STR(cfg.web_root, "");
  CHECK_EQ_STR(cfg.log_level, "info");
  CHECK_EQ_INT(cfg.allow_private_webhooks, 0);
  CHECK_EQ_INT(cfg.max_header_bytes, 16384);
  CHECK_EQ_INT(cfg.max_headers, 64);
  CHECK_EQ_INT(cfg.max_body_bytes, 20971520);
  CHECK_EQ_INT(cfg.max_decoded_bytes, 104857600);
  CHECK_EQ_INT(cfg.max_envelope_items, 100);
  CHECK_EQ_INT(cfg.max_json_depth, 64);
  CHECK_EQ_INT(cfg.max_attachment_bytes, 1048576);
  CHECK_EQ_INT(cfg.max_connections, 4096);
  CHECK_EQ_INT(cfg.header_timeout_ms, 10000);
  CHECK_EQ_INT(cfg.body_timeout_ms, 30000);
  CHECK_EQ_INT(cfg.keepalive_timeout_ms, 60000);
  CHECK_EQ_INT(cfg.max_requests_per_conn, 10000);
  CHECK_EQ_INT(cfg.writer_queue, 20000);
  CHECK_EQ_INT(cfg.writer_batch, 2000);
  CHECK_EQ_INT(cfg.event_retention_days, 90);
  CHECK_EQ_INT(cfg.sample_retention_days, 7);
  CHECK_EQ_INT(cfg.rollup_retention_days, 120);
  CHECK_EQ_INT(cfg.delivery_retention_days, 30);
  CHECK_EQ_INT(cfg.webhook_retry_base_ms, 5000);
  CHECK_EQ_INT(cfg.webhook_digest_window_ms, 10000);
  CHECK_EQ_INT(cfg.max_db_mb, 0);
  CHECK_EQ_INT(cfg.rate_limit_per_minute, 0);
  CHECK_EQ_INT(cfg.max_db_pages, 0);
  CHECK_EQ_INT(cfg.max_sample_age_days, 7);
}

TEST(environment_twins) {
  clear_env();
  setenv("SLUICE_LISTEN", "0.0.0.0:8080", 1);
  setenv("SLUICE_DB", "/var/lib/sluice/s.db", 1);
  setenv("SLUICE_ADMIN_TOKEN", "tok", 1);
  setenv("SLUICE_LOG_LEVEL", "debug", 1);
  setenv("SLUICE_MAX_BODY_BYTES", "1m", 1);
  setenv("SLUICE_ALLOW_PRIVATE_WEBHOOKS", "true", 1);
  setenv("SLUICE_MAX_DB_PAGES", "100", 1); /* hidden options have twins too */
  CHECK_EQ_INT(load(NULL), 0);
  CHECK_EQ_STR(cfg.listen_host, "0.0.0.0");
  CHECK_EQ_INT(cfg.listen_port, 8080);
  CHECK_EQ_STR(cfg.db_path, "/var/lib/sluice/s.db");
  CHECK_EQ_STR(cfg.admin_token, "tok");
  CHECK_EQ_STR(cfg.log_level, "debug");
  CHECK_EQ_INT(cfg.max_body_bytes, 1048576);
  CHECK_EQ_INT(cfg.allow_private_webhooks, 1);
  CHECK_EQ_INT(cfg.max_db_pages, 100);
  CHECK_EQ_STR(cfg.public_url, "http://0.0.0.0:8080");

  /* A bad value in the environment is as fatal as on the command line. */
  setenv("SLUICE_MAX_BODY_BYTES", "lots", 1);
  CHECK_EQ_INT(load(NULL), -1);
  setenv("SLUICE_MAX_BODY_BYTES", "1m", 1);
  setenv("SLUICE_LISTEN", "0.0.0.0", 1);
  CHECK_EQ_INT(load(NULL), -1);
  setenv("SLUICE_LISTEN", "0.0.0.0:8080", 1);
  setenv("SLUICE_ALLOW_PRIVATE_WEBHOOKS", "maybe", 1);
  CHECK_EQ_INT(load(NULL), -1);
  clear_env();
}

TEST(flag_wins_over_environment) {
  clear_env();
  setenv("SLUICE_LISTEN", "0.0.0.0:8080", 1);
  setenv("SLUICE_DB", "/from/env.db", 1);
  setenv("SLUICE_ALLOW_PRIVATE_WEBHOOKS", "1", 1);
  setenv("SLUICE_MAX_HEADERS", "100", 1);
  CHECK_EQ_INT(load("--listen", "127.0.0.1:7000", "--db=/from/flag.db",
                    "--allow-private-webhooks=off", "--max-headers", "32", NULL),
               0);
  CHECK_EQ_STR(cfg.listen_host, "127.0.0.1");
  CHECK_EQ_INT(cfg.listen_port, 7000);
  CHECK_EQ_STR(cfg.db_path, "/from/flag.db");
  CHECK_EQ_INT(cfg.allow_private_webhooks, 0);
  CHECK_EQ_INT(cfg.max_headers, 32);
  /* A bad variable is fatal even when a flag would have replaced it. */
  setenv("SLUICE_MAX_HEADERS", "x", 1);
  CHECK_EQ_INT(load("--max-headers", "32", NULL), -1);
  clear_env();
}

TEST(flag_forms_and_repeats) {
  clear_env();
  CHECK_EQ_INT(load("--db", "a.db", NULL), 0);
  CHECK_EQ_STR(cfg.db_path, "a.db");
  CHECK_EQ_INT(load("--db=b.db", NULL), 0);
  CHECK_EQ_STR(cfg.db_path, "b.db");
  CHECK_EQ_INT(load("--db=x=y.db", NULL), 0); /* only the first '=' splits */
  CHECK_EQ_STR(cfg.db_path, "x=y.db");
  CHECK_EQ_INT(load("--db", "--weird.db", NULL), 0); /* the next argument is the value */
  CHECK_EQ_STR(cfg.db_path, "--weird.db");
  CHECK_EQ_INT(load("--db", "1.db", "--db", "2.db", NULL), 0); /* the last one wins */
  CHECK_EQ_STR(cfg.db_path, "2.db");
  /* Each load starts again from the defaults. */
  CHECK_EQ_INT(load(NULL), 0);
  CHECK_EQ_STR(cfg.db_path, "./data/sluice.db");
}

TEST(size_suffixes) {
  clear_env();
  const char *f = "max-body-bytes";
  size_t *v = &cfg.max_body_bytes;
  CHECK_EQ_INT(size_flag(f, "20m", 0, v), 20ULL << 20);
  CHECK_EQ_INT(size_flag(f, "20M", 0, v), 20ULL << 20);
  CHECK_EQ_INT(size_flag(f, "1k", 0, v), 1024);
  CHECK_EQ_INT(size_flag(f, "4K", 0, v), 4096);
  CHECK_EQ_INT(size_flag(f, "2g", 0, v), 2ULL << 30);
  CHECK_EQ_INT(size_flag(f, "3G", 0, v), 3ULL << 30);
  CHECK_EQ_INT(size_flag(f, "123456", 0, v), 123456);
  CHECK_EQ_INT(size_flag(f, "0001k", 0, v), 1024);
  CHECK_EQ_INT(size_flag("max-db-mb", "0", 0, &cfg.max_db_mb), 0);
  CHECK_EQ_INT(size_flag("max-db-mb", "18446744073709551615", 0, &cfg.max_db_mb), SIZE_MAX);
  CHECK_EQ_INT(size_flag("max-db-mb", "17179869183g", 0, &cfg.max_db_mb), 17179869183ULL << 30);
}

TEST(size_bad_values) {
  clear_env();
  static const char *const bad[] = {
      "",
      "-1",
      "-0",
      " -1", /* strtoull skips the blank and wraps the negative to SIZE_MAX */
      "\t-1",
      "+5",
      " 5",
      "\t-5m",
      "abc",
      "k",
      "1x",
      "1kb",
      "1 k",
      "1t",
      "1.5m",
      "0x10",
      "1e3",
      "5 ",
      "18446744073709551616",  /* SIZE_MAX + 1 */
      "99999999999999999999",  /* overflows strtoull */
      "18014398509481984k",    /* 2^54 KiB = 2^64 */
      "17592186044416m",       /* 2^44 MiB = 2^64 */
      "17179869184g",          /* 2^34 GiB = 2^64 */
      "18446744073709551615k", /* SIZE_MAX KiB */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    size_flag("max-db-mb", bad[i], -1, &cfg.max_db_mb);
}

TEST(minimums) {
  clear_env();
  CHECK_EQ_INT(size_flag("max-headers", "8", 0, &cfg.max_headers), 8);
  size_flag("max-headers", "7", -1, &cfg.max_headers);
  CHECK_EQ_INT(size_flag("max-header-bytes", "1k", 0, &cfg.max_header_bytes), 1024);
  size_flag("max-header-bytes", "1023", -1, &cfg.max_header_bytes);
  size_flag("max-json-depth", "7", -1, &cfg.max_json_depth);
  size_flag("max-envelope-items", "0", -1, &cfg.max_envelope_items);
  size_flag("writer-batch", "0", -1, &cfg.writer_batch);
  size_flag("header-timeout-ms", "99", -1, &cfg.header_timeout_ms);
  size_flag("webhook-retry-base-ms", "9", -1, &cfg.webhook_retry_base_ms);
  CHECK_EQ_INT(size_flag("webhook-retry-base-ms", "10", 0, &cfg.webhook_retry_base_ms), 10);
  size_flag("event-retention-days", "0", -1, &cfg.event_retention_days);
  size_flag("max-sample-age-days", "0", -1, &cfg.max_sample_age_days);
  /* Zero means "off" for these. */
  CHECK_EQ_INT(size_flag("webhook-digest-window-ms", "0", 0, &cfg.webhook_digest_window_ms), 0);
  CHECK_EQ_INT(size_flag("rate-limit-per-minute", "0", 0, &cfg.rate_limit_per_minute), 0);
}

TEST(decoded_limit_never_below_body_limit) {
  clear_env();
  CHECK_EQ_INT(load("--max-body-bytes", "200m", NULL), 0);
  CHECK_EQ_INT(cfg.max_decoded_bytes, 200ULL << 20);
  CHECK_EQ_INT(load("--max-body-bytes", "1m", "--max-decoded-bytes", "5m", NULL), 0);
  CHECK_EQ_INT(cfg.max_body_bytes, 1ULL << 20);
  CHECK_EQ_INT(cfg.max_decoded_bytes, 5ULL << 20);
}

TEST(booleans) {
  clear_env();
  static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON"};
  static const char *const no[] = {"0", "false", "False", "no", "NO", "off"};
  char arg[64];
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    snprintf(arg, sizeof arg, "--allow-private-webhooks=%s", yes[i]);
    CHECK_EQ_INT(load(arg, NULL), 0);
    CHECK_EQ_INT(cfg.allow_private_webhooks, 1);
  }
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
    setenv("SLUICE_ALLOW_PRIVATE_WEBHOOKS", "1", 1);
    snprintf(arg, sizeof arg, "--allow-private-webhooks=%s", no[i]);
    CHECK_EQ_INT(load(arg, NULL), 0);
    CHECK_EQ_INT(cfg.allow_private_webhooks, 0);
  }
  clear_env();
  /* The bare flag means yes, and takes no separate value. */
  CHECK_EQ_INT(load("--allow-private-webhooks", NULL), 0);
  CHECK_EQ_INT(cfg.allow_private_webhooks, 1);
  CHECK_EQ_INT(load("--allow-private-webhooks", "0", NULL), -1);
  static const char *const bad[] = {"", "2", "maybe", "y", "n", "enable", "true "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(arg, sizeof arg, "--allow-private-webhooks=%s", bad[i]);
    CHECK_EQ_INT(load(arg, NULL), -1);
  }
}

TEST(strings_bounded) {
  clear_env();
  static char value[1100];
  memset(value, 'd', sizeof value);
  value[sizeof cfg.db_path - 1] = '\0'; /* 1023 bytes: fits with its NUL */
  CHECK_EQ_INT(load("--db", value, NULL), 0);
  CHECK_EQ_INT(strlen(cfg.db_path), sizeof cfg.db_path - 1);
  value[sizeof cfg.db_path - 1] = 'd';
  value[sizeof cfg.db_path] = '\0'; /* 1024 bytes: one too many */
  CHECK_EQ_INT(load("--db", value, NULL), -1);
  memset(value, 't', sizeof value);
  value[sizeof cfg.admin_token] = '\0';
  CHECK_EQ_INT(load("--admin-token", value, NULL), -1);
  setenv("SLUICE_ADMIN_TOKEN", value, 1);
  CHECK_EQ_INT(load(NULL), -1);
  clear_env();
}

TEST(log_level) {
  clear_env();
  static const char *const good[] = {"debug", "info", "warn", "warning", "error"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK_EQ_INT(load("--log-level", good[i], NULL), 0);
    CHECK_EQ_STR(cfg.log_level, good[i]);
  }
  CHECK_EQ_INT(load("--log-level", "verbose", NULL), -1);
  CHECK_EQ_INT(load("--log-level", "", NULL), -1);
}

TEST(listen_parsing) {
  clear_env();
  static const struct {
    const char *listen, *host;
    int port;
  } good[] = {
      {"127.0.0.1:9000", "127.0.0.1", 9000},
      {"0.0.0.0:80", "0.0.0.0", 80},
      {"localhost:65535", "localhost", 65535},
      {"0.0.0.0:0", "0.0.0.0", 0}, /* any free port */
      {"[::1]:9000", "::1", 9000},
      {"[::]:443", "::", 443},
      {"::1:9000", "::1", 9000}, /* the last ':' separates the port */
      {"sluice.internal:08080", "sluice.internal", 8080},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    int rc = load("--listen", good[i].listen, NULL);
    if (rc != 0) fprintf(stderr, "  --listen %s refused\n", good[i].listen);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(cfg.listen, good[i].listen);
    CHECK_EQ_STR(cfg.listen_host, good[i].host);
    CHECK_EQ_INT(cfg.listen_port, good[i].port);
  }
  static char long_host[200];
  memset(long_host, 'h', 63);
  snprintf(long_host + 63, sizeof long_host - 63, ":80"); /* 63-byte host fits */
  CHECK_EQ_INT(load("--listen", long_host, NULL), 0);
  CHECK_EQ_INT(cfg.listen_port, 80);
  memset(long_host, 'h', 64);
  snprintf(long_host + 64, sizeof long_host - 64, ":80");
  CHECK_EQ_INT(load("--listen", long_host, NULL), -1);

  static const char *const bad[] = {
      "",
      "9000",
      "localhost",
      ":9000", /* no host */
      "host:",
      "host:65536",
      "host:-1",
      "host:80x",
      "host:x80",
      "host:8 0",
      "host:99999999999999999999",
      "host:0x50",
      "[::1]",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = load("--listen", bad[i], NULL);
    if (rc != -1) fprintf(stderr, "  --listen \"%s\" accepted\n", bad[i]);
    CHECK_EQ_INT(rc, -1);
  }
}

TEST(public_url) {
  clear_env();
  CHECK_EQ_INT(load("--listen", "0.0.0.0:8080", NULL), 0);
  CHECK_EQ_STR(cfg.public_url, "http://0.0.0.0:8080");
  CHECK_EQ_INT(load("--public-url", "https://errors.example.com///", NULL), 0);
  CHECK_EQ_STR(cfg.public_url, "https://errors.example.com");
  CHECK_EQ_INT(load("--public-url", "https://example.com/sluice/", NULL), 0);
  CHECK_EQ_STR(cfg.public_url, "https://example.com/sluice");
}

TEST(bad_arguments) {
  clear_env();
  CHECK_EQ_INT(load("--nope", NULL), -1);
  CHECK_EQ_INT(load("--nope=1", NULL), -1);
  CHECK_EQ_INT(load("--", NULL), -1);
  CHECK_EQ_INT(load("--=x", NULL), -1);
  CHECK_EQ_INT(load("--LISTEN", "127.0.0.1:1", NULL), -1); /* flags are case-sensitive */
  CHECK_EQ_INT(load("--list", "127.0.0.1:1", NULL), -1);   /* no prefix matching */
  CHECK_EQ_INT(load("--listenx", "127.0.0.1:1", NULL), -1);
  CHECK_EQ_INT(load("-l", NULL), -1);
  CHECK_EQ_INT(load("serve", NULL), -1);
  CHECK_EQ_INT(load("--db", "x.db", "extra", NULL), -1);
  /* A flag that needs a value, at the end. */
  CHECK_EQ_INT(load("--listen", NULL), -1);
  CHECK_EQ_INT(load("--db", NULL), -1);
  CHECK_EQ_INT(load("--max-body-bytes", NULL), -1);
  CHECK_EQ_INT(load("--db", "x.db", "--max-headers", NULL), -1);
}

TEST(help_and_version) {
  clear_env();
  CHECK_EQ_INT(load("--help", NULL), 1);
  CHECK_EQ_INT(load("-h", NULL), 1);
  CHECK_EQ_INT(load("--version", NULL), 1);
  CHECK_EQ_INT(load("--db", "x.db", "--help", NULL), 1);
  CHECK_EQ_INT(load("--help", "--nope", NULL), 1); /* printed and done before the bad flag */
  CHECK_EQ_INT(load("--nope", "--help", NULL), -1);
}

TEST(usage_lists_every_visible_option) {
  char path[] = "/tmp/sluice-usage-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  FILE *f = fdopen(fd, "w");
  config_usage(f);
  fclose(f);
  char *text = tu_read_file(path, NULL);
  unlink(path);
  CHECK(text != NULL);
  if (!text) return;
  static const char *const want[] = {"--listen VALUE",         "SLUICE_LISTEN",
                                     "127.0.0.1:9000",         "--allow-private-webhooks\n",
                                     "--max-body-bytes VALUE", "--help, --version"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    if (!strstr(text, want[i])) fprintf(stderr, "  usage lacks \"%s\"\n", want[i]);
    CHECK(strstr(text, want[i]) != NULL);
  }
  CHECK(strstr(text, "max-db-pages") == NULL); /* hidden, for tests */
  free(text);
}

int main(void) {
  clear_env();
  RUN(defaults);
  RUN(environment_twins);
  RUN(flag_wins_over_environment);
  RUN(flag_forms_and_repeats);
  RUN(size_suffixes);
  RUN(size_bad_values);
  RUN(minimums);
  RUN(decoded_limit_never_below_body_limit);
  RUN(booleans);
  RUN(strings_bounded);
  RUN(log_level);
  RUN(listen_parsing);
  RUN(public_url);
  RUN(bad_arguments);
  RUN(help_and_version);
  RUN(usage_lists_every_visible_option);
  TEST_EXIT();
}
