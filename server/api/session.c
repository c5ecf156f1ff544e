/* session: in-memory dashboard sessions, a bounded table (oldest evicted). Ids and CSRF tokens
 * are 32 random bytes as hex; comparisons are constant-time. Loop thread only. */
#include "api/session.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/app.h"
#include "sentry/auth.h"
#include "util/crypto.h"
#include "util/hex.h"
#include "util/timefmt.h"

#define SESSION_MAX 256
#define SESSION_TTL (7 * 24 * 3600.0)
#define COOKIE_NAME "sluice_session"

typedef struct session {
  char id[65];
  char csrf[65];
  double expires;
} session;

struct session_table {
  session s[SESSION_MAX];
  size_t n;
};
typedef struct session_table session_table;

/* The table, made on first use (NULL when out of memory: nobody is signed in). */
static session_table *table(app *a) {
  if (!a->sessions) a->sessions = calloc(1, sizeof(session_table));
  return a->sessions;
}

/* Finds the cookie value in Cookie headers; returns 0 and copies it, or -1. */
static int cookie_value(const http_request *req, char out[65]) {
  for (size_t i = 0; i < req->n_headers; i++) {
    if (req->headers[i].name_len != 6 || memcmp(req->headers[i].name, "cookie", 6)) continue;
    const char *v = req->headers[i].value, *end = v + req->headers[i].value_len;
    while (v < end) {
      while (v < end && (*v == ' ' || *v == ';')) v++;
      const char *semi = memchr(v, ';', (size_t)(end - v));
      if (!semi) semi = end;
      size_t nl = sizeof COOKIE_NAME - 1;
      if ((size_t)(semi - v) == nl + 1 + 64 && !memcmp(v, COOKIE_NAME "=", nl + 1)) {
        memcpy(out, v + nl + 1, 64);
        out[64] = '\0';
        return 0;
      }
      v = semi;
    }
  }
  return -1;
}

static session *find(app *a, const http_request *req) {
  char id[65];
  if (cookie_value(req, id)) return NULL;
  session_table *t = table(a);
  if (!t) return NULL;
  double now = time_wall();
  session *found = NULL;
  for (size_t i = 0; i < t->n; i++) {
    if (auth_equal_ct(t->s[i].id, 64, id, 64) && t->s[i].expires > now) found = &t->s[i];
  }
  return found;
}

int session_check(app *a, const http_request *req) {
  session *s = find(a, req);
  if (!s) return 0;
  if (req->method == HTTP_GET || req->method == HTTP_HEAD) return 1;
  size_t len;
  const char *tok = http_header_get(req, "x-csrf-token", &len);
  return tok && auth_equal_ct(tok, len, s->csrf, 64);
}

/* A fresh 256-bit secret as hex. Returns 0, or -1 when the kernel gave no random bytes (a
 * token must never come from an uninitialised buffer). */
static int new_token(char out[65]) {
  uint8_t raw[32];
  if (random_bytes(raw, sizeof raw)) return -1;
  hex_encode(raw, sizeof raw, out);
  return 0;
}

void session_handle_create(app *a, http_conn *c, http_request *req) {
  json_error_t jerr;
  json_t *doc = json_loadb(req->body, req->body_len, 0, &jerr);
  const char *token = doc ? json_string_value(json_object_get(doc, "token")) : NULL;
  if (!token) {
    json_decref(doc);
    http_respond_error(c, 400, NULL, "body must be {\"token\": \"<admin token>\"}");
    return;
  }
  uint8_t h[32];
  sha256(token, strlen(token), h);
  json_decref(doc);
  if (!auth_equal_ct((const char *)h, 32, (const char *)a->admin_token_sha256, 32)) {
    http_respond_error(c, 401, NULL, "wrong admin token");
    return;
  }
  session_table *t = table(a);
  session fresh;
  if (!t || new_token(fresh.id) || new_token(fresh.csrf)) {
    http_respond_error(c, 503, "Retry-After: 1\r\n",
                       !t ? "out of memory" : "no random bytes for a session");
    return;
  }
  if (t->n == SESSION_MAX) { /* evict the oldest */
    memmove(&t->s[0], &t->s[1], sizeof t->s[0] * (SESSION_MAX - 1));
    t->n--;
  }
  session *s = &t->s[t->n++];
  *s = fresh;
  s->expires = time_wall() + SESSION_TTL;
  char headers[256];
  snprintf(headers, sizeof headers,
           "Set-Cookie: " COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d\r\n"
           "Cache-Control: no-store\r\n",
           s->id, (int)SESSION_TTL);
  char body[128];
  int n = snprintf(body, sizeof body, "{\"csrf_token\":\"%s\"}", s->csrf);
  http_respond(c, 201, "application/json", headers, body, (size_t)n);
}

void session_handle_get(app *a, http_conn *c, http_request *req) {
  session *s = find(a, req);
  if (!s) {
    http_respond_error(c, 401, NULL, "not signed in");
    return;
  }
  char body[128];
  int n = snprintf(body, sizeof body, "{\"csrf_token\":\"%s\"}", s->csrf);
  http_respond(c, 200, "application/json", "Cache-Control: no-store\r\n", body, (size_t)n);
}

void session_handle_delete(app *a, http_conn *c, http_request *req) {
  session *s = find(a, req);
  if (s) s->expires = 0;
  http_respond(c, 204, NULL,
               "Set-Cookie: " COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0\r\n",
               NULL, 0);
}

void session_free_all(app *a) {
  free(a->sessions);
  a->sessions = NULL;
}
