/* store: picks the backend that serves a target and holds what every backend shares: status
 * texts and the small document helpers, so a document looks the same whatever serves it. Any
 * thread; no state. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/sqlite_store.h"
#include "util/timefmt.h"

/* Backends by the target they serve: the first whose prefix matches (NULL matches anything). */
static const struct {
  const char *prefix;
  const store_ops *ops;
} backends[] = {
    {NULL, &sqlite_store_ops},
};

int store_open(const char *target, const store_options *o, store **out) {
  *out = NULL;
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
    const char *p = backends[i].prefix;
    if (!p || strncmp(target, p, strlen(p)) == 0) return backends[i].ops->open(target, o, out);
  }
  return STORE_ENOTFOUND;
}

void store_close(store *s) {
  if (s) s->ops->close(s);
}

const char *store_status_text(int status) {
  switch (status) {
#define STORE_TEXT(name, value, what)                                                              \
  case name:                                                                                       \
    return what;
    STORE_STATUS_LIST(STORE_TEXT)
#undef STORE_TEXT
  }
  return "unknown status";
}

static const struct {
  const char *name;
  unsigned bit;
} webhook_events[] = {
#define STORE_EVENT_ROW(name, bit) {name, bit},
    STORE_WEBHOOK_EVENTS(STORE_EVENT_ROW)
#undef STORE_EVENT_ROW
};
#define N_EVENTS (sizeof webhook_events / sizeof webhook_events[0])

unsigned store_event_bit(const char *name) {
  for (size_t i = 0; name && i < N_EVENTS; i++) {
    if (!strcmp(name, webhook_events[i].name)) return webhook_events[i].bit;
  }
  return 0;
}

json_t *store_json_events(unsigned mask) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < N_EVENTS; i++) {
    if (mask & webhook_events[i].bit) json_array_append_new(a, json_string(webhook_events[i].name));
  }
  return a;
}

void store_item_clear(store_item *it) {
  free(it->url);
  free(it->secret);
  free(it->data);
  it->url = it->secret = it->data = NULL;
}

json_t *store_json_time(double t) {
  if (t <= 0) return json_null();
  char buf[40];
  time_format_rfc3339(t, buf, sizeof buf);
  return json_string(buf);
}

json_t *store_json_text(const char *s) {
  return s ? json_string(s) : json_null();
}

json_t *store_json_page(const char *name, json_t *list, int more, int with_key, double key,
                        int64_t id) {
  char next[80];
  if (with_key)
    snprintf(next, sizeof next, "%.17g:%lld", key, (long long)id);
  else
    snprintf(next, sizeof next, "%lld", (long long)id);
  return json_pack("{s:o, s:o}", name, list, "next_cursor", more ? json_string(next) : json_null());
}

void store_format_dsn(const char *base, const char *key, int64_t id, char *buf, size_t cap) {
  const char *sep = strstr(base, "://");
  if (!sep) {
    snprintf(buf, cap, "http://%s@%s/%lld", key, base, (long long)id);
    return;
  }
  const char *host = sep + 3;
  const char *slash = strchr(host, '/');
  int hl = slash ? (int)(slash - host) : (int)strlen(host);
  snprintf(buf, cap, "%.*s://%s@%.*s/%lld", (int)(sep - base), base, key, hl, host, (long long)id);
}
