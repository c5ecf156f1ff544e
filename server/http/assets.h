/* assets: the web dashboard's files, embedded at build time by web/embed.cmake.
 * Read-only table, safe from any thread. Paths start with '/'; the table ends with a zeroed
 * entry and holds sluice_assets_count entries before it. */
#ifndef SLUICE_ASSETS_H
#define SLUICE_ASSETS_H
#include <stddef.h>

typedef struct asset {
  const char *path;          /* URL path, e.g. "/app.js" */
  const unsigned char *data; /* file bytes (NUL-terminated for convenience) */
  size_t len;                /* bytes, without the terminator */
  const char *content_type;  /* full Content-Type value */
  const char *etag;          /* quoted strong ETag derived from the content hash */
} asset;

extern const asset sluice_assets[];
extern const size_t sluice_assets_count;

#endif
