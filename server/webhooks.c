/* webhooks: the delivery side of the outbox and the webhook API. Loop thread, except on_alert
 * (writer thread, inside the alert's transaction) which only writes rows and wakes the loop.
 *
 * Delivery cycle: a claim job (writer) marks due rows 'sending', at most one per webhook and
 * none for a webhook that is busy or sent less than THROTTLE_S ago; each is POSTed through
 * http_client; the outcome goes back to the writer as a record job. A record that cannot be
 * written yet is kept and resubmitted on the next tick, never dropped. Claims run on the
 * housekeeping tick (1 s) and when the hook or the test endpoint adds rows.
 *
 * Lifetime: the state is freed when the module reference, the kick handle and every writer
 * job it submitted are gone (done() callbacks may run inside writer_stop, after shutdown). */
#include "webhooks.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "api.h"
#include "crypto.h"
#include "housekeeping.h"
#include "http_client.h"
#include "log.h"
#include "ops.h"
#include "outbox.h"
#include "timefmt.h"

#define MAX_IN_FLIGHT   16    /* transfers at once, all webhooks together */
#define THROTTLE_S      0.9   /* per webhook: one message about every second (Slack's limit) */
#define TIMEOUT_MS      10000 /* a 2xx must come back within this */
#define HORIZON_FACTOR  17280 /* give up after base * this (one day for the 5 s default) */
#define RETENTION_EVERY 60.0  /* seconds between delivery-retention passes */
#define RETENTION_BATCH 2000
#define SECRET_MIN      24 /* bytes of key in a whsec_ secret */
#define SECRET_MAX      64
#define SLACK_SECTION   2900 /* bytes per section text (Slack: 3000 characters) */
#define SLACK_BLOCKS    48   /* blocks per message (Slack: 50) */

/* Retry delays as multiples of the base (5 s: 5 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h, 12 h). */
static const double backoff_steps[] = {1, 6, 24, 120, 360, 1440, 4320, 8640};

typedef struct pace {
  int64_t webhook_id;
  double last_start; /* wall clock of the last POST */
  int busy;          /* a POST is in flight */
} pace;

typedef struct sending sending;
typedef struct record_job record_job;

typedef struct wh {
  app *a;
  http_client *http;
  uv_async_t kick; /* wakes the loop when the hook wrote rows */
  int refs;        /* module + kick handle + writer jobs in flight */
  int stopping;
  int claim_running, claim_again;
  pace *paces;
  size_t n_paces, paces_cap;
  sending *sendings;      /* POSTs in flight */
  record_job *unrecorded; /* attempt records waiting to be (re)submitted */
  int retention_running;
  double next_retention;
  /* counters for /metrics */
  uint64_t n_delivered, n_retry, n_refused, n_gave_up, n_gone, n_claimed;
} wh;

struct sending {
  wh *w;
  outbox_item it;
  double at;
  sending *prev, *next;
};

struct record_job {
  writer_job job;
  wh *w;
  outbox_result r;
  record_job *next; /* unrecorded list */
};

typedef struct claim_job {
  writer_job job;
  wh *w;
  double now;
  int64_t *exclude;
  size_t n_exclude, max, n;
  outbox_item items[MAX_IN_FLIGHT];
} claim_job;

typedef struct retention_job {
  writer_job job;
  wh *w;
  double cutoff;
  int64_t deleted;
} retention_job;

/* The hook outlives nothing: it reads only these, set once at init, and wakes the loop
 * through kick only while kick_open (under kick_mu, so shutdown can close the handle). */
static double hook_digest_window;
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static uv_async_t *kick_handle;

static void wh_unref(wh *w) {
  if (--w->refs > 0) return;
  free(w->paces);
  free(w);
}

static wh *state(app *a) {
  return a->ext[WEBHOOKS_EXT];
}

/* --- small text helpers ------------------------------------------------------------------- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->len + 1 >= b->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n > 0) b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n <= max) return n;
  while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80) max--;
  return max;
}

/* Appends s escaped for Slack mrkdwn (&, <, >; backticks become quotes inside code) and cut
 * to max source bytes with an ellipsis. */
static void sb_md(sbuf *b, const char *s, size_t max) {
  if (!s) return;
  size_t n = utf8_cut(s, max);
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '&')
      sb_printf(b, "&amp;");
    else if (ch == '<')
      sb_printf(b, "&lt;");
    else if (ch == '>')
      sb_printf(b, "&gt;");
    else if (ch == '`')
      sb_printf(b, "'");
    else if ((unsigned char)ch < 0x20 && ch != '\n')
      sb_printf(b, " ");
    else
      sb_printf(b, "%c", ch);
  }
  if (n < strlen(s)) sb_printf(b, "…");
}

static const char *jstr(json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v && *v ? v : NULL;
}

static void fmt_bytes(double v, char *buf, size_t cap) {
  double a = fabs(v);
  if (a >= 1e9)
    snprintf(buf, cap, "%.2f GB", v / 1e9);
  else
    snprintf(buf, cap, "%.1f MB", v / 1e6);
}

static void fmt_duration(double s, char *buf, size_t cap) {
  if (s < 0) s = 0;
  if (s < 3600)
    snprintf(buf, cap, "%.0f min", ceil(s / 60));
  else if (s < 86400 * 2)
    snprintf(buf, cap, "%.0f h %.0f min", floor(s / 3600), floor(fmod(s, 3600) / 60));
  else
    snprintf(buf, cap, "%.1f days", s / 86400);
}

/* Percent-encodes a path segment. */
static void url_segment(const char *s, char *out, size_t cap) {
  sbuf b = {out, 0, cap};
  out[0] = '\0';
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~')
      sb_printf(&b, "%c", ch);
    else
      sb_printf(&b, "%%%02X", ch);
  }
}

static void issue_link(const char *base, int64_t issue_id, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/#/issues/%lld", base, (long long)issue_id);
}

static void worker_link(const char *base, int64_t project_id, const char *worker, char *buf,
                        size_t cap) {
  char seg[600];
  url_segment(worker, seg, sizeof seg);
  snprintf(buf, cap, "%s/#/p/%lld/workers/%s", base, (long long)project_id, seg);
}

/* --- Slack Block Kit ------------------------------------------------------------------------ */

static json_t *blk_header(const char *text) {
  char t[160];
  size_t n = utf8_cut(text, 140);
  snprintf(t, sizeof t, "%.*s%s", (int)n, text, n < strlen(text) ? "…" : "");
  return json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text", "type", "plain_text",
                   "text", t, "emoji", 1);
}

static json_t *blk_section(const char *md) {
  return json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type", "mrkdwn", "text", md);
}

static json_t *blk_context(const char *md) {
  return json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements", "type", "mrkdwn", "text",
                   md);
}

/* A fields section; label/value pairs with NULL values skipped (at most 10 fields). */
static json_t *blk_fields(const char *const *kv, size_t n) {
  json_t *fields = json_array();
  for (size_t i = 0; i + 1 < n && json_array_size(fields) < 10; i += 2) {
    if (!kv[i + 1]) continue;
    char buf[1024];
    sbuf b = {buf, 0, sizeof buf};
    sb_printf(&b, "*%s*\n", kv[i]);
    sb_md(&b, kv[i + 1], 900);
    json_array_append_new(fields, json_pack("{s:s, s:s}", "type", "mrkdwn", "text", buf));
  }
  if (json_array_size(fields) == 0) {
    json_decref(fields);
    return NULL;
  }
  return json_pack("{s:s, s:o}", "type", "section", "fields", fields);
}

static void add(json_t *blocks, json_t *b) {
  if (b && json_array_size(blocks) < SLACK_BLOCKS)
    json_array_append_new(blocks, b);
  else
    json_decref(b);
}

static void slack_leak(json_t *d, int resolved, const char *base, json_t *blocks, sbuf *text) {
  json_t *det = json_object_get(d, "details");
  const char *worker = jstr(d, "worker_id");
  if (!worker) worker = "unknown worker";
  const char *service = jstr(det, "service"), *host = jstr(det, "host");
  const char *release = jstr(det, "release");
  int64_t pid = json_integer_value(json_object_get(d, "project_id"));
  char title[300], slope[64] = "", rss[64] = "", limit[64] = "", proj[128] = "", conf[32] = "";
  snprintf(title, sizeof title, "%s: %s",
           resolved ? ":white_check_mark: Memory leak resolved" : ":rotating_light: Memory leak",
           worker);
  add(blocks, blk_header(title));
  json_t *v;
  if (json_is_number(v = json_object_get(det, "slope_bytes_per_hour")))
    snprintf(slope, sizeof slope, "%+.1f MB/h", json_number_value(v) / 1e6);
  if (json_is_number(v = json_object_get(det, "rss_bytes")))
    fmt_bytes(json_number_value(v), rss, sizeof rss);
  if (json_is_number(v = json_object_get(det, "memory_limit_bytes")) && json_number_value(v) > 0)
    fmt_bytes(json_number_value(v), limit, sizeof limit);
  if (!resolved && json_is_number(v = json_object_get(det, "confidence")))
    snprintf(conf, sizeof conf, "%.0f %%", json_number_value(v) * 100);
  const char *pla = jstr(det, "projected_limit_at");
  double when;
  if (resolved) {
    /* nothing projected once it stopped growing */
  } else if (pla && time_parse_rfc3339(pla, strlen(pla), &when) == 0) {
    char dur[64];
    fmt_duration(when - app_now(), dur, sizeof dur);
    snprintf(proj, sizeof proj, "in %s (%s)", dur, pla);
  } else {
    snprintf(proj, sizeof proj, "%s", limit[0] ? "not projected" : "no memory limit known");
  }
  char section[SLACK_SECTION + 16];
  sbuf b = {section, 0, SLACK_SECTION};
  sb_md(&b, jstr(d, "summary") ? jstr(d, "summary") : "", 1500);
  if (b.len) add(blocks, blk_section(section));
  const char *kv[] = {"Service",
                      service,
                      "Host",
                      host,
                      "Slope",
                      slope[0] ? slope : NULL,
                      "RSS",
                      rss[0] ? rss : NULL,
                      "Memory limit",
                      limit[0] ? limit : NULL,
                      "Projected to hit the limit",
                      proj[0] ? proj : NULL,
                      "Confidence",
                      conf[0] ? conf : NULL,
                      "Release",
                      release};
  add(blocks, blk_fields(kv, sizeof kv / sizeof kv[0]));
  json_t *top = json_object_get(det, "top_growing");
  if (!resolved && json_array_size(top) > 0) {
    b.len = 0;
    sb_printf(&b, "*Top growing allocation sites*\n");
    for (size_t i = 0; i < json_array_size(top) && i < 10; i++) {
      json_t *site = json_array_get(top, i);
      char g[32] = "?", sz[32] = "?";
      if (json_is_number(json_object_get(site, "growth_bytes")))
        fmt_bytes(json_number_value(json_object_get(site, "growth_bytes")), g, sizeof g);
      if (json_is_number(json_object_get(site, "size_bytes")))
        fmt_bytes(json_number_value(json_object_get(site, "size_bytes")), sz, sizeof sz);
      sb_printf(&b, "• `");
      sb_md(&b, jstr(site, "site") ? jstr(site, "site") : "?", 200);
      sb_printf(&b, "` +%s (now %s)\n", g, sz);
    }
    add(blocks, blk_section(section));
  }
  char link[1200];
  worker_link(base, pid, worker, link, sizeof link);
  b.len = 0;
  sb_printf(&b, "<%s|Open %s in sluice>", link, "worker");
  add(blocks, blk_section(section));
  sb_printf(text, "%s: %s", resolved ? "Memory leak resolved" : "Memory leak", worker);
  if (service || host) {
    sb_printf(text, " (");
    sb_md(text, service ? service : "", 100);
    sb_printf(text, "%s", service && host ? " on " : "");
    sb_md(text, host ? host : "", 100);
    sb_printf(text, ")");
  }
  if (slope[0] && !resolved) sb_printf(text, ", growing %s", slope);
  if (proj[0] && pla && !resolved) sb_printf(text, ", limit %s", proj);
}

static void slack_issue(json_t *d, int regression, const char *base, json_t *blocks, sbuf *text) {
  json_t *det = json_object_get(d, "details");
  const char *title = jstr(det, "title") ? jstr(det, "title") : "(untitled)";
  const char *culprit = jstr(det, "culprit");
  int64_t issue_id = json_integer_value(json_object_get(d, "issue_id"));
  char head[400], count[32] = "", link[700];
  snprintf(head, sizeof head, "%s: %s", regression ? ":repeat: Regression" : ":new: New issue",
           title);
  add(blocks, blk_header(head));
  issue_link(base, issue_id, link, sizeof link);
  char section[SLACK_SECTION + 16];
  sbuf b = {section, 0, SLACK_SECTION};
  sb_printf(&b, "*<%s|", link);
  sb_md(&b, title, 1000);
  sb_printf(&b, ">*");
  if (culprit) {
    sb_printf(&b, "\n`");
    sb_md(&b, culprit, 1000);
    sb_printf(&b, "`");
  }
  add(blocks, blk_section(section));
  json_t *cnt = json_object_get(det, "count");
  if (json_is_integer(cnt))
    snprintf(count, sizeof count, "%lld", (long long)json_integer_value(cnt));
  const char *kv[] = {"Project",     jstr(d, "project_name"), "Level",   jstr(det, "level"),
                      "Events",      count[0] ? count : NULL, "Release", jstr(det, "release"),
                      "Environment", jstr(det, "environment")};
  add(blocks, blk_fields(kv, sizeof kv / sizeof kv[0]));
  sb_printf(text, "%s", regression ? "Regression: " : "New issue: ");
  sb_md(text, title, 300);
  if (culprit) {
    sb_printf(text, " (");
    sb_md(text, culprit, 200);
    sb_printf(text, ")");
  }
}

static void slack_digest(json_t *d, const char *base, json_t *blocks, sbuf *text) {
  json_t *issues = json_object_get(d, "issues");
  size_t n = json_array_size(issues);
  const char *project = jstr(d, "project_name");
  char head[300];
  snprintf(head, sizeof head, ":new: %zu new issues%s%s", n, project ? " in " : "",
           project ? project : "");
  add(blocks, blk_header(head));
  char section[SLACK_SECTION + 16];
  sbuf b = {section, 0, sizeof section};
  size_t shown = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *it = json_array_get(issues, i);
    json_t *det = json_object_get(it, "details");
    char line[1400], link[700];
    sbuf l = {line, 0, sizeof line};
    issue_link(base, json_integer_value(json_object_get(it, "issue_id")), link, sizeof link);
    sb_printf(&l, "• <%s|", link);
    sb_md(&l, jstr(det, "title") ? jstr(det, "title") : "(untitled)", 300);
    sb_printf(&l, ">");
    if (jstr(det, "culprit")) {
      sb_printf(&l, " — `");
      sb_md(&l, jstr(det, "culprit"), 200);
      sb_printf(&l, "`");
    }
    if (jstr(det, "level")) sb_printf(&l, " (%s)", jstr(det, "level"));
    sb_printf(&l, "\n");
    if (b.len + l.len > SLACK_SECTION) {
      if (json_array_size(blocks) >= SLACK_BLOCKS - 2) break;
      add(blocks, blk_section(section));
      b.len = 0;
      section[0] = '\0';
    }
    sb_printf(&b, "%s", line);
    shown++;
  }
  if (b.len) add(blocks, blk_section(section));
  char more[600];
  sbuf m = {more, 0, sizeof more};
  if (shown < n) sb_printf(&m, "…and %zu more. ", n - shown);
  sb_printf(&m, "<%s/#/p/%lld/issues|All issues in sluice>", base,
            (long long)json_integer_value(json_object_get(d, "project_id")));
  add(blocks, blk_context(more));
  sb_printf(text, "%zu new issues", n);
  if (project) {
    sb_printf(text, " in ");
    sb_md(text, project, 100);
  }
  sb_printf(text, ": ");
  for (size_t i = 0; i < n && text->len < 900; i++) {
    json_t *det = json_object_get(json_array_get(issues, i), "details");
    sb_printf(text, "%s", i ? "; " : "");
    sb_md(text, jstr(det, "title") ? jstr(det, "title") : "(untitled)", 80);
  }
}

char *webhooks_slack_body(const char *event, const char *data, const char *public_url) {
  json_error_t jerr;
  json_t *d = json_loads(data, 0, &jerr);
  if (!json_is_object(d)) {
    json_decref(d);
    return NULL;
  }
  json_t *blocks = json_array();
  char tbuf[2048];
  sbuf text = {tbuf, 0, sizeof tbuf};
  tbuf[0] = '\0';
  if (!strcmp(event, "memory_leak") || !strcmp(event, "memory_leak_resolved")) {
    slack_leak(d, !strcmp(event, "memory_leak_resolved"), public_url, blocks, &text);
  } else if (!strcmp(event, "new_issue") || !strcmp(event, "regression")) {
    slack_issue(d, !strcmp(event, "regression"), public_url, blocks, &text);
  } else if (!strcmp(event, "new_issue_digest")) {
    slack_digest(d, public_url, blocks, &text);
  } else {
    add(blocks, blk_header("sluice test message"));
    char s[300];
    snprintf(s, sizeof s, "This is a test message from sluice for webhook #%lld. <%s/|Open sluice>",
             (long long)json_integer_value(json_object_get(d, "webhook_id")), public_url);
    add(blocks, blk_section(s));
    sb_printf(&text, "sluice test message");
  }
  json_t *msg = json_pack("{s:s, s:o}", "text", tbuf, "blocks", blocks);
  char *out = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  json_decref(d);
  return out;
}

/* --- generic payload and signature ------------------------------------------------------- */

/* Flat data for one alert row: the alert's details plus ids, summary and a dashboard link. */
static json_t *generic_alert(json_t *d, const char *base) {
  json_t *out = json_deep_copy(json_object_get(d, "details"));
  if (!json_is_object(out)) {
    json_decref(out);
    out = json_object();
  }
  const char *keys[] = {"project_id", "project_name", "alert_id",
                        "summary",    "worker_id",    "issue_id"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    json_t *v = json_object_get(d, keys[i]);
    if (v) json_object_set(out, keys[i], v);
  }
  char link[1200] = "";
  if (json_object_get(d, "issue_id"))
    issue_link(base, json_integer_value(json_object_get(d, "issue_id")), link, sizeof link);
  else if (jstr(d, "worker_id"))
    worker_link(base, json_integer_value(json_object_get(d, "project_id")), jstr(d, "worker_id"),
                link, sizeof link);
  if (link[0]) json_object_set_new(out, "url", json_string(link));
  return out;
}

char *webhooks_generic_body(const char *event, const char *msg_id, const char *data,
                            const char *public_url) {
  json_error_t jerr;
  json_t *d = json_loads(data, 0, &jerr);
  if (!json_is_object(d)) {
    json_decref(d);
    return NULL;
  }
  json_t *payload;
  if (!strcmp(event, "new_issue_digest")) {
    json_t *issues = json_array();
    json_t *src = json_object_get(d, "issues");
    for (size_t i = 0; i < json_array_size(src); i++)
      json_array_append_new(issues, generic_alert(json_array_get(src, i), public_url));
    char link[700];
    snprintf(link, sizeof link, "%s/#/p/%lld/issues", public_url,
             (long long)json_integer_value(json_object_get(d, "project_id")));
    payload = json_pack("{s:O, s:O, s:I, s:s, s:o}", "project_id", json_object_get(d, "project_id"),
                        "project_name", json_object_get(d, "project_name"), "count",
                        (json_int_t)json_array_size(src), "url", link, "issues", issues);
  } else if (!strcmp(event, "test")) {
    payload = json_deep_copy(d);
    json_object_del(payload, "at");
  } else {
    payload = generic_alert(d, public_url);
  }
  char ts[40];
  time_format_rfc3339(json_number_value(json_object_get(d, "at")), ts, sizeof ts);
  json_t *msg = payload ? json_pack("{s:s, s:s, s:s, s:o}", "type", event, "id", msg_id,
                                    "timestamp", ts, "data", payload)
                        : NULL;
  char *out = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  json_decref(d);
  return out;
}

int webhooks_secret_check(const char *secret) {
  uint8_t key[SECRET_MAX + 4];
  if (!secret || strncmp(secret, "whsec_", 6) != 0) return -1;
  size_t n = strlen(secret + 6);
  if (n == 0 || n > 4 * ((SECRET_MAX + 2) / 3)) return -1;
  long k = base64_decode(secret + 6, n, key, sizeof key);
  return k >= SECRET_MIN && k <= SECRET_MAX ? 0 : -1;
}

int webhooks_sign(const char *secret, const char *msg_id, long long ts, const char *body,
                  size_t len, char *out, size_t cap) {
  uint8_t key[SECRET_MAX + 4], mac[32];
  if (webhooks_secret_check(secret)) return -1;
  long k = base64_decode(secret + 6, strlen(secret + 6), key, sizeof key);
  char prefix[128];
  int pn = snprintf(prefix, sizeof prefix, "%s.%lld.", msg_id, ts);
  if (pn < 0 || (size_t)pn >= sizeof prefix) return -1;
  char *msg = malloc((size_t)pn + len);
  if (!msg) return -1;
  memcpy(msg, prefix, (size_t)pn);
  memcpy(msg + pn, body, len);
  hmac_sha256(key, (size_t)k, msg, (size_t)pn + len, mac);
  free(msg);
  char b64[48];
  base64_encode(mac, sizeof mac, b64);
  int n = snprintf(out, cap, "v1,%s", b64);
  return n > 0 && (size_t)n < cap ? 0 : -1;
}

int webhooks_url_check(const char *url, char *why, size_t cap) {
  size_t n = url ? strlen(url) : 0;
  if (n == 0 || n > OUTBOX_URL_MAX) {
    snprintf(why, cap, "url: must be a string of 1 to %d characters", OUTBOX_URL_MAX);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
      snprintf(why, cap, "url: must not contain spaces or control characters");
      return -1;
    }
  }
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int rc = -1;
  if (!u) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
    snprintf(why, cap, "url: not a well-formed URL");
  } else if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
    snprintf(why, cap, "url: must be http:// or https://");
  } else {
    rc = 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}

/* --- delivery ----------------------------------------------------------------------------- */

static pace *pace_get(wh *w, int64_t webhook_id) {
  for (size_t i = 0; i < w->n_paces; i++) {
    if (w->paces[i].webhook_id == webhook_id) return &w->paces[i];
  }
  if (w->n_paces == w->paces_cap) {
    size_t cap = w->paces_cap ? w->paces_cap * 2 : 16;
    pace *p = realloc(w->paces, cap * sizeof *p);
    if (!p) return NULL;
    w->paces = p;
    w->paces_cap = cap;
  }
  pace *p = &w->paces[w->n_paces++];
  memset(p, 0, sizeof *p);
  p->webhook_id = webhook_id;
  return p;
}

static void record_submit(wh *w, record_job *rj);

static void record_done(writer_job *j) {
  record_job *rj = container_of(j, record_job, job);
  wh *w = rj->w;
  if (j->status < 0 && !w->stopping) {
    /* Not written: keep it and try again on the next tick (the row stays 'sending'). */
    rj->next = w->unrecorded;
    w->unrecorded = rj;
  } else {
    if (j->status < 0)
      log_warn("webhook attempt not recorded; it will be retried after restart", "delivery=%lld",
               (long long)rj->r.delivery_id);
    free(rj);
  }
  wh_unref(w);
}

static int record_run(writer_job *j, db *d) {
  record_job *rj = container_of(j, record_job, job);
  return outbox_record(d, &rj->r);
}

static void record_submit(wh *w, record_job *rj) {
  rj->job.run = record_run;
  rj->job.done = record_done;
  w->refs++;
  if (writer_submit(w->a->writer, &rj->job) != 0) {
    w->refs--;
    rj->next = w->unrecorded;
    w->unrecorded = rj;
  }
}

static double jitter(void) {
  uint32_t r = 0;
  random_bytes(&r, sizeof r);
  return 0.8 + 0.4 * ((double)r / 4294967295.0);
}

/* Turns a transfer's result into the attempt record: delivered, retry when, or give up. */
static void decide(wh *w, const sending *s, const http_client_result *res, outbox_result *r) {
  const config *cfg = w->a->cfg;
  double base = (double)cfg->webhook_retry_base_ms / 1000.0;
  r->delivery_id = s->it.delivery_id;
  r->webhook_id = s->it.webhook_id;
  r->at = s->at;
  r->duration_ms = (int)(res->duration * 1000);
  r->status_code = res->status;
  long st = res->status;
  if (st >= 200 && st < 300) {
    r->delivered = 1;
    r->outcome = "delivered";
    w->n_delivered++;
    return;
  }
  if (st == 410) {
    r->gone = 1;
    r->outcome = "gone";
    snprintf(r->error, sizeof r->error, "HTTP 410 Gone: the webhook is now disabled");
    w->n_gone++;
    return;
  }
  if (st >= 300 && st < 400)
    snprintf(r->error, sizeof r->error, "HTTP %ld: redirects are not followed", st);
  else if (st > 0)
    snprintf(r->error, sizeof r->error, "HTTP %ld%s%.200s", st, res->body[0] ? ": " : "",
             res->body);
  else
    snprintf(r->error, sizeof r->error, "%s", res->error);
  int n = s->it.attempts; /* attempts before this one */
  size_t steps = sizeof backoff_steps / sizeof backoff_steps[0];
  double delay = base * backoff_steps[(size_t)n < steps ? (size_t)n : steps - 1] * jitter();
  r->outcome = res->refused ? "refused" : "retry";
  if ((st == 429 || st == 503) && res->retry_after >= 0) {
    delay = res->retry_after < 1 ? 1 : res->retry_after > 86400 ? 86400 : res->retry_after;
    r->outcome = "retry_after";
  }
  double next = s->at + delay;
  if (next > s->it.created_at + base * HORIZON_FACTOR) {
    r->outcome = "gave_up";
    r->next_attempt_at = 0;
    w->n_gave_up++;
    return;
  }
  r->next_attempt_at = next;
  if (res->refused)
    w->n_refused++;
  else
    w->n_retry++;
}

static void sending_free(wh *w, sending *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    w->sendings = s->next;
  if (s->next) s->next->prev = s->prev;
  outbox_item_clear(&s->it);
  free(s);
}

static void on_sent(void *arg, const http_client_result *res) {
  sending *s = arg;
  wh *w = s->w;
  pace *p = pace_get(w, s->it.webhook_id);
  if (p) p->busy = 0;
  record_job *rj = calloc(1, sizeof *rj);
  if (rj) {
    rj->w = w;
    decide(w, s, res, &rj->r);
    log_write(rj->r.delivered ? LOG_DEBUG : LOG_INFO, "webhook attempt",
              "webhook=%lld delivery=%lld outcome=%s status=%ld error=\"%s\"",
              (long long)s->it.webhook_id, (long long)s->it.delivery_id, rj->r.outcome, res->status,
              rj->r.error);
    record_submit(w, rj);
  } else {
    log_error("out of memory recording a webhook attempt", "delivery=%lld",
              (long long)s->it.delivery_id);
  }
  sending_free(w, s);
}

/* Builds the message and starts the POST; a failure to start counts as a failed attempt. */
static void send_item(wh *w, outbox_item *it) {
  sending *s = calloc(1, sizeof *s);
  if (!s) {
    outbox_item_clear(it);
    return;
  }
  s->w = w;
  s->it = *it;
  s->at = app_now();
  s->next = w->sendings;
  if (w->sendings) w->sendings->prev = s;
  w->sendings = s;
  pace *p = pace_get(w, it->webhook_id);
  if (p) {
    p->busy = 1;
    p->last_start = s->at;
  }
  const char *base = w->a->cfg->public_url;
  int generic = strcmp(s->it.kind, "slack") != 0;
  char *body = generic ? webhooks_generic_body(s->it.event, s->it.msg_id, s->it.data, base)
                       : webhooks_slack_body(s->it.event, s->it.data, base);
  char h_id[96], h_ts[64], h_sig[128];
  const char *headers[4] = {"Content-Type: application/json", h_id, h_ts, h_sig};
  size_t n_headers = 1;
  http_client_result fail = {.retry_after = -1};
  if (!body) {
    snprintf(fail.error, sizeof fail.error, "cannot build the message");
  } else if (generic) {
    long long ts = (long long)s->at;
    char sig[100];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", s->it.msg_id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", ts);
    if (webhooks_sign(s->it.secret, s->it.msg_id, ts, body, strlen(body), sig, sizeof sig) == 0) {
      snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", sig);
      n_headers = 4;
    } else {
      snprintf(fail.error, sizeof fail.error, "the webhook's secret is not usable");
    }
  }
  if (!fail.error[0]) {
    int rc = http_client_post(w->http, s->it.url, headers, n_headers, body, strlen(body),
                              TIMEOUT_MS, on_sent, s);
    if (rc == 0) {
      free(body);
      return;
    }
    snprintf(fail.error, sizeof fail.error, "cannot start the request: %s", uv_strerror(rc));
  }
  free(body);
  on_sent(s, &fail);
}

static int claim_run(writer_job *j, db *d) {
  claim_job *c = container_of(j, claim_job, job);
  return outbox_claim(d, c->now, c->exclude, c->n_exclude, c->max, c->items, &c->n);
}

static void request_claim(wh *w);

static void claim_done(writer_job *j) {
  claim_job *c = container_of(j, claim_job, job);
  wh *w = c->w;
  w->claim_running = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (j->status == WRITER_OK && !w->stopping) {
      w->n_claimed++;
      send_item(w, &c->items[i]);
    } else {
      outbox_item_clear(&c->items[i]); /* left 'sending': the next start retries it */
    }
  }
  free(c->exclude);
  free(c);
  if (w->claim_again && !w->stopping) {
    w->claim_again = 0;
    request_claim(w);
  }
  wh_unref(w);
}

/* Submits a claim for due rows unless one is running (then it runs again after). */
static void request_claim(wh *w) {
  if (w->stopping) return;
  if (w->claim_running) {
    w->claim_again = 1;
    return;
  }
  size_t active = http_client_active(w->http);
  if (active >= MAX_IN_FLIGHT) return;
  claim_job *c = calloc(1, sizeof *c);
  if (!c) return;
  c->w = w;
  c->now = app_now();
  c->max = MAX_IN_FLIGHT - active;
  c->exclude = calloc(w->n_paces + 1, sizeof *c->exclude);
  if (!c->exclude) {
    free(c);
    return;
  }
  size_t keep = 0;
  for (size_t i = 0; i < w->n_paces; i++) {
    pace *p = &w->paces[i];
    int throttled = c->now - p->last_start < THROTTLE_S;
    if (p->busy || throttled) c->exclude[c->n_exclude++] = p->webhook_id;
    if (p->busy || throttled) w->paces[keep++] = *p; /* forget idle webhooks */
  }
  w->n_paces = keep;
  c->job.run = claim_run;
  c->job.done = claim_done;
  w->refs++;
  if (writer_submit(w->a->writer, &c->job) != 0) {
    w->refs--;
    free(c->exclude);
    free(c);
    return;
  }
  w->claim_running = 1;
}

static void on_kick(uv_async_t *h) {
  request_claim(container_of(h, wh, kick));
}

/* Writer thread, inside the alert's transaction. */
static int on_alert(db *d, const alert_record *r, void *arg) {
  (void)arg;
  int n = outbox_enqueue_alert(d, r, hook_digest_window);
  if (n < 0) return n;
  if (n > 0) {
    pthread_mutex_lock(&kick_mu);
    if (kick_handle) uv_async_send(kick_handle);
    pthread_mutex_unlock(&kick_mu);
  }
  return WRITER_OK;
}

static int retention_run(writer_job *j, db *d) {
  retention_job *r = container_of(j, retention_job, job);
  return outbox_retention(d, r->cutoff, RETENTION_BATCH, &r->deleted);
}

static void retention_done(writer_job *j) {
  retention_job *r = container_of(j, retention_job, job);
  wh *w = r->w;
  w->retention_running = 0;
  w->next_retention = app_now() + (r->deleted >= RETENTION_BATCH ? 1.0 : RETENTION_EVERY);
  free(r);
  wh_unref(w);
}

static void on_tick(app *a, double now) {
  wh *w = state(a);
  if (!w || w->stopping) return;
  record_job *list = w->unrecorded;
  w->unrecorded = NULL;
  while (list) {
    record_job *next = list->next;
    record_submit(w, list);
    list = next;
  }
  request_claim(w);
  if (!w->retention_running && now >= w->next_retention) {
    retention_job *r = calloc(1, sizeof *r);
    if (!r) return;
    r->w = w;
    r->cutoff = now - (double)a->cfg->delivery_retention_days * 86400.0;
    r->job.run = retention_run;
    r->job.done = retention_done;
    w->refs++;
    if (writer_submit(a->writer, &r->job) == 0) {
      w->retention_running = 1;
    } else {
      w->refs--;
      free(r);
    }
  }
}

static size_t metrics(app *a, char *buf, size_t cap) {
  wh *w = state(a);
  if (!w) return 0;
  size_t n_unrec = 0;
  for (record_job *r = w->unrecorded; r; r = r->next) n_unrec++;
  int n = snprintf(buf, cap,
                   "# HELP sluice_webhook_attempts_total Webhook delivery attempts, by outcome.\n"
                   "# TYPE sluice_webhook_attempts_total counter\n"
                   "sluice_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"retry\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"refused\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"gave_up\"} %llu\n"
                   "sluice_webhook_attempts_total{outcome=\"gone\"} %llu\n"
                   "# HELP sluice_webhook_in_flight Webhook requests in progress.\n"
                   "# TYPE sluice_webhook_in_flight gauge\nsluice_webhook_in_flight %zu\n"
                   "# HELP sluice_webhook_unrecorded Attempt results waiting for the database.\n"
                   "# TYPE sluice_webhook_unrecorded gauge\nsluice_webhook_unrecorded %zu\n",
                   (unsigned long long)w->n_delivered, (unsigned long long)w->n_retry,
                   (unsigned long long)w->n_refused, (unsigned long long)w->n_gave_up,
                   (unsigned long long)w->n_gone, http_client_active(w->http), n_unrec);
  if (n < 0) return 0;
  return (size_t)n < cap ? (size_t)n : cap > 0 ? cap - 1 : 0;
}

static int reset_sending(db *d, void *arg) {
  (void)arg;
  return outbox_reset_sending(d) == WRITER_OK ? 0 : -1;
}

int webhooks_init(app *a) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (writer_call_sync(a->writer, reset_sending, NULL) != 0) {
    log_error("cannot reset in-flight webhook deliveries", NULL);
    return -1;
  }
  wh *w = calloc(1, sizeof *w);
  if (!w) return -1;
  w->a = a;
  w->http = http_client_new(a->loop, a->cfg->allow_private_webhooks);
  if (!w->http || uv_async_init(a->loop, &w->kick, on_kick) != 0) {
    if (w->http) http_client_close(w->http);
    free(w);
    return -1;
  }
  uv_unref((uv_handle_t *)&w->kick);
  w->refs = 2; /* the module and the kick handle */
  w->next_retention = app_now() + 5.0;
  a->ext[WEBHOOKS_EXT] = w;
  hook_digest_window = (double)a->cfg->webhook_digest_window_ms / 1000.0;
  pthread_mutex_lock(&kick_mu);
  kick_handle = &w->kick;
  pthread_mutex_unlock(&kick_mu);
  alerts_set_hook(on_alert, NULL);
  housekeeping_add(on_tick);
  ops_add_metrics(metrics);
  if (!a->cfg->allow_private_webhooks)
    log_debug("webhook SSRF guard on", NULL);
  else
    log_info("webhooks may reach private addresses (--allow-private-webhooks)", NULL);
  return 0;
}

static void on_kick_closed(uv_handle_t *h) {
  wh_unref(container_of((uv_async_t *)h, wh, kick));
}

void webhooks_shutdown(app *a) {
  wh *w = state(a);
  if (!w) return;
  w->stopping = 1;
  pthread_mutex_lock(&kick_mu);
  kick_handle = NULL;
  pthread_mutex_unlock(&kick_mu);
  uv_close((uv_handle_t *)&w->kick, on_kick_closed);
  size_t aborted = http_client_active(w->http);
  http_client_close(w->http); /* no callbacks: those rows stay 'sending' until the next start */
  w->http = NULL;
  while (w->sendings) sending_free(w, w->sendings);
  /* Last chance for results that are not written yet: writer_stop drains these. */
  record_job *list = w->unrecorded;
  w->unrecorded = NULL;
  while (list) {
    record_job *next = list->next;
    list->next = NULL;
    list->job.run = record_run;
    list->job.done = record_done;
    w->refs++;
    if (writer_submit(a->writer, &list->job) != 0) {
      w->refs--;
      free(list);
    }
    list = next;
  }
  if (aborted)
    log_info("webhook requests aborted; they are retried at the next start", "n=%zu", aborted);
  a->ext[WEBHOOKS_EXT] = NULL;
  wh_unref(w);
}

/* --- API ------------------------------------------------------------------------------------ */

typedef struct api_job {
  writer_job job;
  app *a;
  http_conn *c;
  outbox_webhook hook;
  int64_t delivery_id;
  char msg_id[OUTBOX_MSGID_MAX];
} api_job;

static api_job *job_new(app *a, http_conn *c) {
  api_job *j = calloc(1, sizeof *j);
  if (!j)
    http_respond_error(c, 503, NULL, "out of memory");
  else
    j->a = a, j->c = c;
  return j;
}

static void job_submit(api_job *j, int (*run)(writer_job *, db *), void (*done)(writer_job *)) {
  api_write_submit(j->a, j->c, &j->job, run, done, j);
}

static void respond_json(http_conn *c, int status, json_t *doc) {
  char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (out)
    http_respond_take(c, status, "application/json", NULL, out, strlen(out));
  else
    http_respond_error(c, 503, NULL, "out of memory");
}

static int create_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_webhook_create(d, &j->hook);
}

static json_t *event_names(unsigned mask) {
  static const char *const names[] = {"memory_leak", "memory_leak_resolved", "new_issue",
                                      "regression"};
  json_t *arr = json_array();
  for (size_t i = 0; i < 4; i++) {
    if (mask & outbox_event_bit(names[i])) json_array_append_new(arr, json_string(names[i]));
  }
  return arr;
}

static void create_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (wj->status == WRITER_EINVAL) {
    http_respond_error(j->c, 409, NULL, "too many webhooks for this project (at most 32)");
  } else if (wj->status < 0) {
    http_respond_error(j->c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  } else {
    char created[40];
    time_format_rfc3339(j->hook.created_at, created, sizeof created);
    json_t *doc =
        json_pack("{s:I, s:I, s:s, s:s, s:o, s:s, s:b}", "id", (json_int_t)j->hook.id, "project_id",
                  (json_int_t)j->hook.project_id, "url", j->hook.url, "kind", j->hook.kind,
                  "events", event_names(j->hook.events), "created_at", created, "disabled", 0);
    if (doc && j->hook.secret[0]) json_object_set_new(doc, "secret", json_string(j->hook.secret));
    respond_json(j->c, 201, doc);
  }
  free(j);
}

void webhooks_create(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t pid;
  if (route_param_i64(p, 0, &pid) || !app_key_for_project(a, pid)) {
    http_respond_error(c, 404, NULL, "project not found");
    return;
  }
  json_t *doc = api_body_object(a, c, req);
  if (!doc) return;
  char why[160] = "";
  const char *url = json_string_value(json_object_get(doc, "url"));
  const char *kind = json_string_value(json_object_get(doc, "kind"));
  json_t *events = json_object_get(doc, "events");
  json_t *jsecret = json_object_get(doc, "secret");
  unsigned mask = 0;
  if (webhooks_url_check(url, why, sizeof why) != 0) {
    /* why is set */
  } else if (!kind || (strcmp(kind, "slack") && strcmp(kind, "generic"))) {
    snprintf(why, sizeof why, "kind: must be \"slack\" or \"generic\"");
  } else if (events && (!json_is_array(events) || json_array_size(events) == 0)) {
    snprintf(why, sizeof why, "events: must be a non-empty array");
  } else if (jsecret && !json_is_null(jsecret) && strcmp(kind, "generic")) {
    snprintf(why, sizeof why, "secret: only generic webhooks are signed");
  } else if (jsecret && !json_is_null(jsecret) &&
             webhooks_secret_check(json_string_value(jsecret))) {
    snprintf(why, sizeof why, "secret: must be \"whsec_\" followed by base64 of 24 to 64 bytes");
  }
  if (!why[0] && events) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
      unsigned bit = outbox_event_bit(json_string_value(e));
      if (!bit) {
        snprintf(why, sizeof why,
                 "events: each must be memory_leak, memory_leak_resolved, new_issue or regression");
        break;
      }
      mask |= bit;
    }
  } else if (!why[0]) {
    mask = OUTBOX_EV_MEMORY_LEAK | OUTBOX_EV_MEMORY_LEAK_RESOLVED | OUTBOX_EV_NEW_ISSUE |
           OUTBOX_EV_REGRESSION;
  }
  if (why[0]) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, why);
    return;
  }
  api_job *j = job_new(a, c);
  if (!j) {
    json_decref(doc);
    return;
  }
  j->hook.project_id = pid;
  snprintf(j->hook.url, sizeof j->hook.url, "%s", url);
  snprintf(j->hook.kind, sizeof j->hook.kind, "%s", kind);
  j->hook.events = mask;
  j->hook.created_at = app_now();
  if (!strcmp(kind, "generic")) {
    if (json_is_string(jsecret)) {
      snprintf(j->hook.secret, sizeof j->hook.secret, "%s", json_string_value(jsecret));
    } else {
      uint8_t raw[32];
      char b64[48];
      if (random_bytes(raw, sizeof raw)) {
        json_decref(doc);
        free(j);
        http_respond_error(c, 503, NULL, "no randomness available");
        return;
      }
      base64_encode(raw, sizeof raw, b64);
      snprintf(j->hook.secret, sizeof j->hook.secret, "whsec_%s", b64);
    }
  }
  json_decref(doc);
  job_submit(j, create_run, create_done);
}

static int q_list(db *d, api_read *r) {
  r->result = outbox_q_webhooks(d, r->id[0]);
  return r->result ? 0 : -1;
}

void webhooks_list(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t pid;
  if (route_param_i64(p, 0, &pid) || !app_key_for_project(a, pid)) {
    http_respond_error(c, 404, NULL, "project not found");
    return;
  }
  api_read *r = api_read_new(a, c, q_list);
  if (!r) return;
  r->id[0] = pid;
  api_read_submit(r);
}

static int webhook_param(http_conn *c, const route_params *p, int64_t *id) {
  if (route_param_i64(p, 0, id)) {
    http_respond_error(c, 404, NULL, "webhook not found");
    return -1;
  }
  return 0;
}

static int delete_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_webhook_delete(d, j->hook.id);
}

static void delete_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (wj->status == WRITER_ENOTFOUND)
    http_respond_error(j->c, 404, NULL, "webhook not found");
  else if (wj->status < 0)
    http_respond_error(j->c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  else
    http_respond(j->c, 204, NULL, NULL, NULL, 0);
  free(j);
}

void webhooks_delete(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (webhook_param(c, p, &id)) return;
  api_job *j = job_new(a, c);
  if (!j) return;
  j->hook.id = id;
  job_submit(j, delete_run, delete_done);
}

static int test_run(writer_job *wj, db *d) {
  api_job *j = container_of(wj, api_job, job);
  return outbox_enqueue_test(d, j->hook.id, app_now(), &j->delivery_id, j->msg_id);
}

static void test_done(writer_job *wj) {
  api_job *j = container_of(wj, api_job, job);
  if (wj->status == WRITER_ENOTFOUND) {
    http_respond_error(j->c, 404, NULL, "webhook not found");
  } else if (wj->status == WRITER_EINVAL) {
    http_respond_error(j->c, 409, NULL, "webhook is disabled");
  } else if (wj->status < 0) {
    http_respond_error(j->c, 503, "Retry-After: 5\r\n", "storage unavailable, retry later");
  } else {
    respond_json(j->c, 202,
                 json_pack("{s:I, s:s, s:s}", "delivery_id", (json_int_t)j->delivery_id,
                           "message_id", j->msg_id, "status", "pending"));
    wh *w = state(j->a);
    if (w) request_claim(w);
  }
  free(j);
}

void webhooks_test(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)req;
  int64_t id;
  if (webhook_param(c, p, &id)) return;
  api_job *j = job_new(a, c);
  if (!j) return;
  j->hook.id = id;
  job_submit(j, test_run, test_done);
}

static int q_deliveries(db *d, api_read *r) {
  int nf = 0;
  r->result = outbox_q_deliveries(d, r->id[0], r->str[0], r->id[1], &nf);
  if (nf) {
    r->status = 404;
    snprintf(r->detail, sizeof r->detail, "webhook not found");
    return 0;
  }
  return r->result ? 0 : -1;
}

void webhooks_deliveries(app *a, http_conn *c, http_request *req, const route_params *p) {
  int64_t id;
  if (webhook_param(c, p, &id)) return;
  api_read *r = api_read_new(a, c, q_deliveries);
  if (!r) return;
  r->id[0] = id;
  if (api_paging(c, req, 50, 500, &r->id[1], r->str[0], sizeof r->str[0])) {
    free(r);
    return;
  }
  api_read_submit(r);
}
