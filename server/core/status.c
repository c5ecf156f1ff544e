/* status: STORE_* -> HTTP, one table. */
#include "core/status.h"

#include <stdio.h>

#include "store.h"

static const struct {
  int status;
  int http;
  const char *headers;
  const char *detail; /* NULL: built from what / conflict */
} table[] = {
    {STORE_ENOTFOUND, 404, NULL, NULL},
    {STORE_ECONFLICT, 409, NULL, NULL},
    {STORE_ENOMEM, 503, "Retry-After: 1\r\n", "out of memory, retry later"},
    {STORE_EIO, 503, "Retry-After: 5\r\n", "storage unavailable, retry later"},
    {STORE_ESHUTDOWN, 503, "Retry-After: 5\r\n", "server is shutting down"},
};

int status_http(int status) {
  if (status >= 0) return 200;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (table[i].status == status) return table[i].http;
  }
  return 503;
}

int status_respond(http_conn *c, int status, const char *what, const char *conflict) {
  if (status >= 0) return 0;
  size_t i = 0;
  while (i < sizeof table / sizeof table[0] && table[i].status != status) i++;
  if (i == sizeof table / sizeof table[0]) i = 3; /* anything else the storage says: EIO */
  char msg[160];
  const char *detail = table[i].detail;
  if (!detail && status == STORE_ENOTFOUND) {
    snprintf(msg, sizeof msg, "%s not found", what ? what : "resource");
    detail = msg;
  } else if (!detail) {
    detail = conflict ? conflict : store_status_text(status);
  }
  http_respond_error(c, table[i].http, table[i].headers, detail);
  return 1;
}
