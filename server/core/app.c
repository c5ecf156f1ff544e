/* app: the key table and admin checks shared by every handler. Loop thread only. */
#include "core/app.h"

#include <stdlib.h>
#include <string.h>

#include "sentry/auth.h"
#include "util/crypto.h"
#include "api/session.h"

void app_add_metrics(app *a, app_metrics_fn fn) {
  if (a->n_metrics < APP_METRICS_MAX) a->metrics[a->n_metrics++] = fn;
}

int app_key_add(app *a, int64_t project_id, const char *public_key, int64_t rate_limit) {
  if (a->n_keys == a->keys_cap) {
    size_t cap = a->keys_cap ? a->keys_cap * 2 : 16;
    project_key *nk = realloc(a->keys, cap * sizeof *nk);
    if (!nk) return -1;
    a->keys = nk;
    a->keys_cap = cap;
  }
  project_key *k = &a->keys[a->n_keys++];
  memset(k, 0, sizeof *k);
  k->project_id = project_id;
  snprintf(k->public_key, sizeof k->public_key, "%s", public_key);
  k->rate_limit_per_minute = rate_limit;
  return 0;
}

project_key *app_key_find(app *a, const char *public_key) {
  size_t len = strlen(public_key);
  project_key *found = NULL;
  for (size_t i = 0; i < a->n_keys; i++) {
    if (auth_equal_ct(a->keys[i].public_key, strlen(a->keys[i].public_key), public_key, len))
      found = &a->keys[i];
  }
  return found;
}

project_key *app_key_for_project(app *a, int64_t project_id) {
  for (size_t i = 0; i < a->n_keys; i++) {
    if (a->keys[i].project_id == project_id) return &a->keys[i];
  }
  return NULL;
}

void app_key_remove(app *a, int64_t project_id) {
  size_t i = 0;
  while (i < a->n_keys) {
    if (a->keys[i].project_id == project_id)
      a->keys[i] = a->keys[--a->n_keys]; /* order does not matter: lookups scan */
    else
      i++;
  }
}

int app_admin_authorized(app *a, const http_request *req) {
  size_t len;
  const char *v = http_header_get(req, "authorization", &len);
  if (v && len > 7 && strncasecmp(v, "Bearer ", 7) == 0) {
    uint8_t h[32];
    sha256(v + 7, len - 7, h);
    return auth_equal_ct((const char *)h, 32, (const char *)a->admin_token_sha256, 32);
  }
  return session_check(a, req);
}
