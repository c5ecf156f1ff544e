/* auth: finds the Sentry public key in the places SDKs send it (auth header, query string,
 * DSN) and compares secrets in constant time. Pure string code on borrowed input; safe on any
 * thread. It never writes more than AUTH_KEY_MAX + 1 bytes into a key and never reads past
 * the given length (DSNs, which arrive NUL-terminated from jansson, are capped at
 * AUTH_DSN_MAX). A key is accepted only if it is 1..AUTH_KEY_MAX bytes of [A-Za-z0-9_-], so
 * whatever reaches the caller is safe to log and to use in SQL parameters. On failure the key
 * buffer holds "". */
#include "sentry/auth.h"

#include <string.h>
#include <strings.h>

#include "util/hex.h"

#define AUTH_DSN_MAX 2048 /* longest DSN looked at, bytes */

/* Locale-independent character classes (isalpha and friends depend on setlocale). */
static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
static bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_key_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

/* Copies s[0..n) into key when it is a well-formed public key. Returns 0 or -1. */
static int take_key(const char *s, size_t n, char key[AUTH_KEY_MAX + 1]) {
  if (n == 0 || n > AUTH_KEY_MAX) return -1;
  for (size_t i = 0; i < n; i++)
    if (!is_key_char(s[i])) return -1;
  memcpy(key, s, n);
  key[n] = '\0';
  return 0;
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

int auth_parse_header(const char *value, size_t len, char key[AUTH_KEY_MAX + 1]) {
  static const char scheme[] = "sentry";
  const size_t slen = sizeof(scheme) - 1;
  key[0] = '\0';
  if (!value) return -1;
  const char *p = value, *end = value + len;
  while (p < end && is_blank(*p)) p++;
  if ((size_t)(end - p) <= slen || strncasecmp(p, scheme, slen) != 0 || !is_blank(p[slen]))
    return -1;
  p += slen;

  /* Pairs "name=value" separated by commas, blanks allowed around every token. */
  while (p < end) {
    while (p < end && (is_blank(*p) || *p == ',')) p++;
    const char *name = p;
    while (p < end && *p != '=' && *p != ',' && !is_blank(*p)) p++;
    size_t name_len = (size_t)(p - name);
    while (p < end && is_blank(*p)) p++;
    if (p == end || *p != '=') continue; /* a bare word: skip it */
    p++;
    while (p < end && is_blank(*p)) p++;
    const char *val = p, *val_end;
    bool bad_quote = false;
    if (p < end && *p == '"') {
      val = ++p;
      while (p < end && *p != '"') p++;
      val_end = p;
      if (p < end)
        p++;
      else
        bad_quote = true;
    } else {
      while (p < end && *p != ',') p++;
      val_end = p;
      while (val_end > val && is_blank(val_end[-1])) val_end--;
    }
    if (name_len == 10 && memcmp(name, "sentry_key", 10) == 0)
      return bad_quote ? -1 : take_key(val, (size_t)(val_end - val), key);
  }
  return -1;
}

int auth_parse_query(const char *query, size_t len, char key[AUTH_KEY_MAX + 1]) {
  key[0] = '\0';
  if (!query) return -1;
  const char *p = query, *end = query + len;
  while (p < end) {
    const char *seg = p;
    while (p < end && *p != '&') p++;
    const char *seg_end = p;
    if (p < end) p++;
    const char *eq = memchr(seg, '=', (size_t)(seg_end - seg));
    if (!eq) continue;
    char name[16];
    long nlen = hex_percent_decode(seg, (size_t)(eq - seg), name, sizeof(name), true);
    if (nlen != 10 || memcmp(name, "sentry_key", 10) != 0) continue;
    char val[AUTH_KEY_MAX + 1];
    long vlen = hex_percent_decode(eq + 1, (size_t)(seg_end - eq - 1), val, sizeof(val), true);
    if (vlen < 0) return -1;
    return take_key(val, (size_t)vlen, key);
  }
  return -1;
}

int auth_parse_dsn(const char *dsn, char key[AUTH_KEY_MAX + 1], long long *project_id) {
  key[0] = '\0';
  if (!dsn) return -1;
  size_t n = strnlen(dsn, AUTH_DSN_MAX + 1);
  if (n > AUTH_DSN_MAX || memchr(dsn, '?', n) || memchr(dsn, '#', n)) return -1;
  const char *end = dsn + n;

  /* scheme "://" */
  const char *p = dsn;
  if (p == end || !is_alpha(*p)) return -1;
  while (p < end && (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.')) p++;
  if (end - p < 3 || memcmp(p, "://", 3) != 0) return -1;
  p += 3;

  /* authority: KEY[:secret]@host[:port], up to the first '/' */
  const char *auth_end = memchr(p, '/', (size_t)(end - p));
  if (!auth_end) return -1;
  const char *at = memchr(p, '@', (size_t)(auth_end - p));
  if (!at) return -1;
  const char *colon = memchr(p, ':', (size_t)(at - p));
  const char *key_end = colon ? colon : at;
  const char *host = at + 1, *port = NULL;
  if (host < auth_end && *host == '[') { /* IPv6 literal: [addr]:port */
    const char *close = memchr(host, ']', (size_t)(auth_end - host));
    if (!close) return -1;
    if (close + 1 < auth_end && close[1] != ':') return -1;
    if (close + 1 < auth_end) port = close + 1;
  } else {
    port = memchr(host, ':', (size_t)(auth_end - host));
  }
  if ((port ? port : auth_end) == host) return -1;
  if (port) {
    size_t plen = (size_t)(auth_end - port - 1);
    long v = 0;
    if (plen == 0 || plen > 5) return -1;
    for (const char *q = port + 1; q < auth_end; q++) {
      if (!is_digit(*q)) return -1;
      v = v * 10 + (*q - '0');
    }
    if (v < 1 || v > 65535) return -1;
  }

  /* path: [prefix/]PROJECT_ID, one trailing '/' tolerated */
  const char *path_end = end;
  if (path_end > auth_end + 1 && path_end[-1] == '/') path_end--;
  const char *id = path_end;
  while (id > auth_end + 1 && id[-1] != '/') id--;
  size_t id_len = (size_t)(path_end - id);
  long long pid = 0;
  if (id_len == 0 || id_len > 18) return -1; /* 18 digits cannot overflow a long long */
  for (size_t i = 0; i < id_len; i++) {
    if (!is_digit(id[i])) return -1;
    pid = pid * 10 + (id[i] - '0');
  }

  if (take_key(p, (size_t)(key_end - p), key) < 0) return -1;
  if (project_id) *project_id = pid;
  return 0;
}

bool auth_equal_ct(const char *a, size_t alen, const char *b, size_t blen) {
  volatile unsigned char diff = alen != blen;
  for (size_t i = 0; i < alen; i++) {
    unsigned char bc = i < blen ? (unsigned char)b[i] : 0;
    diff |= (unsigned char)a[i] ^ bc;
  }
  return diff == 0;
}
