/* auth: extracts the Sentry public key from the places SDKs put it: the X-Sentry-Auth or
 * Authorization header ("Sentry sentry_key=..., sentry_version=7", pairs in any order), the
 * query string (?sentry_key=), or an envelope header's "dsn". Pure string functions; any
 * thread. Also constant-time comparison for keys and tokens. */
#ifndef SLUICE_AUTH_H
#define SLUICE_AUTH_H
#include <stdbool.h>
#include <stddef.h>

#define AUTH_KEY_MAX 64 /* longest public key accepted, bytes */

/* Parses a header value of the form `Sentry k=v, k=v` (scheme case-insensitive, blanks around
 * tokens optional, values may be double-quoted). Writes sentry_key into key (at most
 * AUTH_KEY_MAX bytes + NUL). The first sentry_key decides. Returns 0 when a key was found, -1
 * otherwise (wrong scheme, missing key, key too long or with characters outside
 * [A-Za-z0-9_-]); on -1 key is "". */
int auth_parse_header(const char *value, size_t len, char key[AUTH_KEY_MAX + 1]);

/* Finds sentry_key in a raw query string (no leading '?'), percent-decoding name and value
 * ('+' is a space, so it fails the character check). The first sentry_key decides. Same
 * return convention. */
int auth_parse_query(const char *query, size_t len, char key[AUTH_KEY_MAX + 1]);

/* Parses a NUL-terminated DSN "scheme://KEY[:secret]@host[:port]/[path/]PROJECT_ID" (host may
 * be an [IPv6] literal; one trailing '/' is tolerated; a query or fragment is rejected; at most
 * 2048 bytes). Writes the key and the numeric project id (project_id may be NULL). Returns 0
 * or -1. */
int auth_parse_dsn(const char *dsn, char key[AUTH_KEY_MAX + 1], long long *project_id);

/* Compares two byte strings in time that depends only on the lengths. */
bool auth_equal_ct(const char *a, size_t alen, const char *b, size_t blen);

#endif
