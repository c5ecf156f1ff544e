/* static_files: serves the dashboard from the embedded asset table (gzip when the client
 * accepts it, ETag/If-None-Match, cache headers), or, with --web-root, the same paths read
 * from disk on the thread pool for development. Nothing outside the asset table is served.
 * Paths without a file extension that are not assets get index.html (client-side routes).
 * Loop thread; its gzip cache is app->static_cache. */
#ifndef SLUICE_STATIC_FILES_H
#define SLUICE_STATIC_FILES_H
#include "http/router.h"

void static_files_get(app *a, http_conn *c, http_request *req, const route_params *p);
/* Frees the gzip copies made so far (app->static_cache). */
void static_files_free(app *a);

#endif
