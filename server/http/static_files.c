/* static_files: asset lookup and gzip cache. Loop thread; the gzip copy of an asset is made
 * once, on first request, in memory (CPU only, bounded by the asset table's size). In
 * --web-root mode the file is read on the thread pool so the loop never waits on the disk. */
#include "http/static_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/assets.h"

typedef struct gz_entry {
  unsigned char *data; /* gzip bytes, NULL until made; NOT_SMALLER when not worth it */
  size_t len;
} gz_entry;

#define NOT_SMALLER ((unsigned char *)1) /* gz_entry.data of an asset gzip does not shrink */

/* app->static_cache: one entry per embedded asset. */
struct static_cache {
  gz_entry e[1]; /* sluice_assets_count entries (at least one) */
};

static const asset *find_asset(const char *path) {
  if (strcmp(path, "/") == 0) path = "/index.html";
  for (size_t i = 0; i < sluice_assets_count; i++) {
    if (strcmp(sluice_assets[i].path, path) == 0) return &sluice_assets[i];
  }
  return NULL;
}

static const gz_entry *gzipped(app *a, const asset *as) {
  size_t idx = (size_t)(as - sluice_assets);
  if (!a->static_cache)
    a->static_cache =
        calloc(1, sizeof(struct static_cache) +
                      sizeof(gz_entry) * (sluice_assets_count ? sluice_assets_count : 1));
  if (!a->static_cache) return NULL;
  gz_entry *e = &a->static_cache->e[idx];
  if (e->data) return e->data == NOT_SMALLER ? NULL : e;
  if (as->len < 256) {
    e->data = NOT_SMALLER;
    return NULL;
  }
  /* Out of memory here only means this answer goes out uncompressed; the next one tries again. */
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  size_t cap = deflateBound(&zs, (uLong)as->len);
  unsigned char *out = malloc(cap);
  if (!out) {
    deflateEnd(&zs);
    return NULL;
  }
  zs.next_in = (Bytef *)as->data;
  zs.avail_in = (uInt)as->len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  int rc = deflate(&zs, Z_FINISH);
  size_t len = cap - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END || len >= as->len) {
    free(out);
    e->data = NOT_SMALLER;
    return NULL;
  }
  e->data = out;
  e->len = len;
  return e;
}

static int accepts_gzip(const http_request *req) {
  size_t len;
  const char *v = http_header_get(req, "accept-encoding", &len);
  return v && memmem(v, len, "gzip", 4) != NULL;
}

/* --- development mode: read from --web-root on the thread pool ---------------------------- */

typedef struct disk_read {
  uv_work_t work;
  http_conn *c;
  char path[1200];
  const char *ctype;
  char *data;
  size_t len;
} disk_read;

static void disk_work(uv_work_t *w) {
  disk_read *r = (disk_read *)w;
  FILE *f = fopen(r->path, "rb");
  if (!f) return;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 0 && n < 64L * 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0) {
      r->data = malloc((size_t)n + 1);
      if (r->data && fread(r->data, 1, (size_t)n, f) == (size_t)n)
        r->len = (size_t)n;
      else
        free(r->data), r->data = NULL;
    }
  }
  fclose(f);
}

static void disk_done(uv_work_t *w, int status) {
  disk_read *r = (disk_read *)w;
  (void)status;
  if (!r->data)
    http_respond_error(r->c, 404, NULL, "file not found under --web-root");
  else
    http_respond_take(r->c, 200, r->ctype, "Cache-Control: no-cache\r\n", r->data, r->len);
  free(r);
}

void static_files_get(app *a, http_conn *c, http_request *req, const route_params *p) {
  (void)p;
  const asset *as = find_asset(req->path);
  if (!as && !strchr(strrchr(req->path, '/'), '.') && strncmp(req->path, "/api/", 5) != 0)
    as = find_asset("/index.html"); /* a client-side route */
  if (!as) {
    http_respond_error(c, 404, NULL, "not found");
    return;
  }
  if (a->cfg->web_root[0]) {
    disk_read *r = calloc(1, sizeof *r);
    if (!r) {
      http_respond_error(c, 503, "Retry-After: 1\r\n", "out of memory");
      return;
    }
    r->c = c;
    r->ctype = as->content_type;
    snprintf(r->path, sizeof r->path, "%s%s", a->cfg->web_root, as->path);
    if (uv_queue_work(a->loop, &r->work, disk_work, disk_done) != 0) {
      free(r);
      http_respond_error(c, 503, "Retry-After: 1\r\n", "server busy");
    }
    return;
  }
  size_t len;
  const char *inm = http_header_get(req, "if-none-match", &len);
  /* The app's own files keep fixed URLs (ES modules import each other by name), so they are
   * revalidated on every load (a 304 when unchanged) and never mix versions after an upgrade;
   * only the npm-pinned vendor files are cached for an hour. */
  int is_index = strcmp(as->path, "/index.html") == 0;
  int is_vendor = strncmp(as->path, "/vendor/", 8) == 0;
  char headers[512];
  snprintf(headers, sizeof headers,
           "ETag: %s\r\nCache-Control: %s\r\nVary: Accept-Encoding\r\n"
           "X-Content-Type-Options: nosniff\r\n%s",
           as->etag, is_vendor ? "public, max-age=3600" : "no-cache",
           is_index ? "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
                      "Content-Security-Policy: default-src 'self'; img-src 'self' data:; "
                      "style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; "
                      "form-action 'self'; frame-ancestors 'none'\r\n"
                    : "");
  if (inm && len == strlen(as->etag) && memcmp(inm, as->etag, len) == 0) {
    http_respond_static(c, 304, NULL, headers, NULL, 0);
    return;
  }
  const gz_entry *gz = accepts_gzip(req) ? gzipped(a, as) : NULL;
  if (gz) {
    strncat(headers, "Content-Encoding: gzip\r\n", sizeof headers - strlen(headers) - 1);
    http_respond_static(c, 200, as->content_type, headers, gz->data, gz->len);
  } else {
    http_respond_static(c, 200, as->content_type, headers, as->data, as->len);
  }
}

void static_files_free(app *a) {
  struct static_cache *sc = a->static_cache;
  if (!sc) return;
  for (size_t i = 0; i < sluice_assets_count; i++) {
    if (sc->e[i].data != NOT_SMALLER) free(sc->e[i].data);
  }
  free(sc);
  a->static_cache = NULL;
}
