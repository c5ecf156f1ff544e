/* chunks: SQL over sample_chunks. Invariants: a row's t0 and t1 are the first and last
 * timestamps of its blob (a row whose blob disagrees is treated as corrupt), and no timestamp of a
 * worker is in two chunks. chunks_scan merges overlapping chunks with a window: rows come in t1
 * order and every later row's samples are newer than (this row's t1 - MEMCHUNK_MAX_SPAN), so the
 * samples up to there are final and can be handed out in order. */
#include "sqlite/chunks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

typedef struct window {
  memchunk_sample *v; /* pending samples, sorted when `sorted` */
  size_t n, cap;
  int sorted;
} window;

static int by_ts(const void *a, const void *b) {
  double x = ((const memchunk_sample *)a)->ts, y = ((const memchunk_sample *)b)->ts;
  return (x > y) - (x < y);
}

static int window_add(window *w, const memchunk_sample *s, size_t n, double from, double to) {
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 4 * MEMCHUNK_MAX_SAMPLES;
    while (cap < w->n + n) cap *= 2;
    memchunk_sample *v = realloc(w->v, cap * sizeof *v);
    if (!v) return -1;
    w->v = v;
    w->cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    if (s[i].ts < from || s[i].ts > to) continue;
    if (w->n && s[i].ts <= w->v[w->n - 1].ts) w->sorted = 0;
    w->v[w->n++] = s[i];
  }
  return 0;
}

/* Hands out the pending samples with ts <= upto, in order. */
static int window_emit(window *w, double upto, chunks_fn fn, void *ctx) {
  if (!w->n) return 0;
  if (!w->sorted) qsort(w->v, w->n, sizeof *w->v, by_ts);
  w->sorted = 1;
  size_t k = 0;
  int rc = 0;
  while (k < w->n && w->v[k].ts <= upto && !rc) rc = fn(ctx, &w->v[k++]);
  memmove(w->v, w->v + k, (w->n - k) * sizeof *w->v);
  w->n -= k;
  return rc;
}

int chunks_scan(db *d, int64_t wid, double from, double to, chunks_fn fn, void *ctx) {
  sqlite3_stmt *s = db_stmt(d, "SELECT t0, t1, data FROM sample_chunks WHERE worker=?1"
                               " AND t1 >= ?2 AND t1 <= ?3 AND t0 <= ?4 ORDER BY t1");
  if (!s) return -1;
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_double(s, 2, from);
  sqlite3_bind_double(s, 3, to + MEMCHUNK_MAX_SPAN);
  sqlite3_bind_double(s, 4, to);
  memchunk_sample *buf = NULL;
  window w = {NULL, 0, 0, 1};
  int rc = 0, step;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    double t0 = sqlite3_column_double(s, 0), t1 = sqlite3_column_double(s, 1);
    const void *blob = sqlite3_column_blob(s, 2);
    size_t len = (size_t)sqlite3_column_bytes(s, 2), n;
    if (!buf && !(buf = malloc(MEMCHUNK_MAX_SAMPLES * sizeof *buf))) {
      rc = -1;
      break;
    }
    if (memchunk_decode(blob, len, buf, MEMCHUNK_MAX_SAMPLES, &n) || buf[0].ts != t0 ||
        buf[n - 1].ts != t1) {
      log_warn("corrupt sample chunk skipped", "worker=%lld t1=%.3f", (long long)wid, t1);
      continue;
    }
    if (window_add(&w, buf, n, from, to)) {
      rc = -1;
      break;
    }
    if ((rc = window_emit(&w, t1 - MEMCHUNK_MAX_SPAN, fn, ctx))) break;
  }
  if (!rc && step != SQLITE_DONE) rc = -1;
  sqlite3_reset(s);
  if (!rc) rc = window_emit(&w, INFINITY, fn, ctx);
  free(buf);
  free(w.v);
  return rc;
}

static int insert_chunk(db *d, int64_t wid, const memchunk_sample *s, size_t n) {
  unsigned char blob[MEMCHUNK_MAX_BYTES];
  size_t len;
  if (memchunk_encode(s, n, blob, sizeof blob, &len)) return -1;
  sqlite3_stmt *st =
      db_stmt(d, "INSERT INTO sample_chunks(worker, t1, t0, n, data) VALUES(?,?,?,?,?)");
  if (!st) return -1;
  sqlite3_bind_int64(st, 1, wid);
  sqlite3_bind_double(st, 2, s[n - 1].ts);
  sqlite3_bind_double(st, 3, s[0].ts);
  sqlite3_bind_int64(st, 4, (int64_t)n);
  sqlite3_bind_blob(st, 5, blob, (int)len, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
  sqlite3_reset(st);
  return rc;
}

typedef struct probe {
  memchunk_sample *s; /* the batch, sorted */
  size_t n, i;        /* i: first batch sample not older than the last stored one seen */
  size_t hits;
} probe;

/* Marks a batch sample that is already stored (rss -1, removed afterwards). Stored samples
 * arrive in timestamp order, so this is a merge walk. */
static int mark_stored(void *ctx, const memchunk_sample *x) {
  probe *p = ctx;
  while (p->i < p->n && p->s[p->i].ts < x->ts) p->i++;
  if (p->i < p->n && p->s[p->i].ts == x->ts) {
    p->s[p->i++].rss = -1;
    p->hits++;
  }
  return 0;
}

int chunks_store(db *d, int64_t wid, memchunk_sample *s, size_t *n, double newest) {
  size_t m = *n;
  if (!m) return 0;
  probe p = {s, m, 0, 0};
  if (s[0].ts <= newest && chunks_scan(d, wid, s[0].ts, s[m - 1].ts, mark_stored, &p) != 0)
    return -1;
  if (p.hits) {
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
      if (s[i].rss >= 0) s[k++] = s[i];
    }
    m = k;
  }
  *n = m;
  for (size_t i = 0; i < m;) {
    size_t k = memchunk_fit(s + i, m - i);
    if (insert_chunk(d, wid, s + i, k)) return -1;
    i += k;
  }
  return 0;
}

int chunks_newest(db *d, int64_t wid, double *ts) {
  sqlite3_stmt *s = db_stmt(d, "SELECT max(t1) FROM sample_chunks WHERE worker=?");
  if (!s) return -1;
  sqlite3_bind_int64(s, 1, wid);
  int rc = sqlite3_step(s);
  *ts = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL ? sqlite3_column_double(s, 0)
                                                                     : -INFINITY;
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? 0 : -1;
}

static int64_t opt_col(sqlite3_stmt *s, int col) {
  if (sqlite3_column_type(s, col) == SQLITE_NULL) return -1;
  int64_t v = sqlite3_column_int64(s, col);
  return v >= 0 && v <= MEMCHUNK_VALUE_MAX ? v : -1;
}

int chunks_migrate_samples(db *d) {
  sqlite3_stmt *s = NULL;
  memchunk_sample *buf = malloc(MEMCHUNK_MAX_SAMPLES * sizeof *buf);
  int rc = -1;
  if (!buf || sqlite3_prepare_v2(db_handle(d),
                                 "SELECT worker, ts, rss, heap, pss, uss, requests FROM samples"
                                 " ORDER BY worker, ts",
                                 -1, &s, NULL) != SQLITE_OK)
    goto out;
  int64_t wid = 0, rows = 0, chunks = 0, skipped = 0;
  size_t n = 0;
  int step;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t w = sqlite3_column_int64(s, 0);
    memchunk_sample x = {sqlite3_column_double(s, 1),
                         sqlite3_column_int64(s, 2),
                         opt_col(s, 3),
                         opt_col(s, 4),
                         opt_col(s, 5),
                         opt_col(s, 6)};
    if (!isfinite(x.ts) || x.rss < 0 || x.rss > MEMCHUNK_VALUE_MAX) {
      skipped++;
      continue;
    }
    if (n && (w != wid || n == MEMCHUNK_MAX_SAMPLES || x.ts - buf[0].ts > MEMCHUNK_MAX_SPAN)) {
      if (insert_chunk(d, wid, buf, n)) goto out;
      chunks++;
      n = 0;
    }
    wid = w;
    buf[n++] = x;
    rows++;
  }
  if (step != SQLITE_DONE) goto out;
  if (n && insert_chunk(d, wid, buf, n)) goto out;
  chunks += n > 0;
  sqlite3_finalize(s);
  s = NULL;
  if (db_exec(d, "DROP TABLE samples") != SQLITE_OK) goto out;
  if (rows)
    log_info("raw samples packed into chunks", "samples=%lld chunks=%lld skipped=%lld",
             (long long)rows, (long long)chunks, (long long)skipped);
  rc = 0;
out:
  if (rc) log_error("packing raw samples failed", "err=\"%s\"", sqlite3_errmsg(db_handle(d)));
  sqlite3_finalize(s);
  free(buf);
  return rc;
}
