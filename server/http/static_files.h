/* static_files: serves the dashboard from the embedded asset table (gzip when the client
 * accepts it, ETag/If-None-Match, cache headers), or, with --web-root, the same paths read
 * from disk on the thread pool for development. Nothing outside the asset table is served.
 * Paths without a file extension that are not assets get index.html (client-side routes). */
#ifndef SLUICE_STATIC_FILES_H
#define SLUICE_STATIC_FILES_H
#include "http/router.h"

void static_files_get(app *a, http_conn *c, http_request *req, const route_params *p);
void static_files_free(void);

#endif
