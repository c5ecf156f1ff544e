/* webhook_msg: payload text and Block Kit building with bounded buffers; every string from an
 * event is cut on a UTF-8 boundary to Slack's limits and escaped for mrkdwn. */
#include "alerts/webhook_msg.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "util/crypto.h"
#include "util/timefmt.h"

#define SECRET_MIN    24 /* bytes of key in a whsec_ secret */
#define SECRET_MAX    64
#define SLACK_SECTION 2900 /* bytes per section text (Slack: 3000 characters) */
#define SLACK_BLOCKS  48   /* blocks per message (Slack: 50) */

/* Wall clock, for "reaches its limit in 3 h" (the message is built when it is sent). */
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
    fmt_duration(when - time_wall(), dur, sizeof dur);
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

char *webhook_msg_slack(const char *event, const char *data, const char *public_url) {
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

char *webhook_msg_generic(const char *event, const char *msg_id, const char *data,
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

int webhook_msg_secret_check(const char *secret) {
  uint8_t key[SECRET_MAX + 4];
  if (!secret || strncmp(secret, "whsec_", 6) != 0) return -1;
  size_t n = strlen(secret + 6);
  if (n == 0 || n > 4 * ((SECRET_MAX + 2) / 3)) return -1;
  long k = base64_decode(secret + 6, n, key, sizeof key);
  return k >= SECRET_MIN && k <= SECRET_MAX ? 0 : -1;
}

int webhook_msg_sign(const char *secret, const char *msg_id, long long ts, const char *body,
                     size_t len, char *out, size_t cap) {
  uint8_t key[SECRET_MAX + 4], mac[32];
  if (webhook_msg_secret_check(secret)) return -1;
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

int webhook_msg_url_check(const char *url, char *host_out, size_t host_cap, char *why, size_t cap) {
  size_t n = url ? strlen(url) : 0;
  if (n == 0 || n > STORE_URL_MAX) {
    snprintf(why, cap, "url: must be a string of 1 to %d characters", STORE_URL_MAX);
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
  } else if (strncmp(url + strlen(scheme), "://", 3) != 0 || url[strlen(scheme) + 3] == '/') {
    /* curl reads "https:///x" and "http:/x" as https://x/ and http://x/: a host it guessed */
    snprintf(why, cap, "url: not a well-formed URL");
  } else if (host_out) {
    /* curl gives an IPv6 literal in brackets; a resolver takes it without them */
    size_t hn = strlen(host);
    const char *h = host;
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') h++, hn -= 2;
    if (hn >= host_cap) {
      snprintf(why, cap, "url: the host name is longer than %zu characters", host_cap - 1);
    } else {
      memcpy(host_out, h, hn);
      host_out[hn] = '\0';
      rc = 0;
    }
  } else {
    rc = 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}
