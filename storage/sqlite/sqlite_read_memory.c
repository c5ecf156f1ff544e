/* sqlite_read_memory: the statements behind the workers API: the workers list (leaking first,
 * with a 3-hour sparkline) and one worker's chart data: points, lives, the fitted trend and
 * alert markers. A worker the detector has not judged yet (insufficient_data) has no slope,
 * confidence or trend: it carries `learning` instead (event time left, from the detector's
 * leak_learning_left, and the observed rate of its current life's raw samples). Views up to 7 days
 * read the raw sample chunks (averaged per minute past 6 hours); longer ones, and ranges older than
 * the raw samples, read the hourly rollups. Charts are downsampled to at most max_points buckets,
 * keeping each bucket's mean. Reader-pool connections only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/leak.h"
#include "sqlite/chunks.h"
#include "sqlite/sqlite_int.h"

static json_t *num_or_null(sqlite3_stmt *s, int col) {
  if (sqlite3_column_type(s, col) == SQLITE_NULL) return json_null();
  return json_real(sqlite3_column_double(s, col));
}

static json_t *int_or_null(sqlite3_stmt *s, int col) {
  if (sqlite3_column_type(s, col) == SQLITE_NULL) return json_null();
  return json_integer(sqlite3_column_int64(s, col));
}

static json_t *sparkline(db *d, int64_t wid, double last_seen);
static void set_learning(db *d, json_t *w, int64_t wid, double last_seen, int learning);

/* The state column says the detector has not judged the worker yet. */
static int is_learning(sqlite3_stmt *s, int col) {
  const unsigned char *t = sqlite3_column_text(s, col);
  return !t || !strcmp((const char *)t, "insufficient_data");
}

#define WORKER_COLS                                                                                \
  "id, name, host, service, pid, last_seen, rss_bytes, memory_limit_bytes, state,"                 \
  " slope_bytes_per_hour, confidence, projected_limit_at, release, started_at, first_seen"

static json_t *worker_row(sqlite3_stmt *s) {
  json_t *o = json_pack(
      "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
      sq_col_text(s, 1), "host", sq_col_text(s, 2), "service", sq_col_text(s, 3), "pid",
      int_or_null(s, 4), "last_seen", store_json_time(sqlite3_column_double(s, 5)), "rss_bytes",
      int_or_null(s, 6), "memory_limit_bytes", int_or_null(s, 7), "state", sq_col_text(s, 8),
      "slope_bytes_per_hour", num_or_null(s, 9), "confidence", num_or_null(s, 10),
      "projected_limit_at", store_json_time(sqlite3_column_double(s, 11)), "release",
      sq_col_text(s, 12), "started_at", store_json_time(sqlite3_column_double(s, 13)), "first_seen",
      store_json_time(sqlite3_column_double(s, 14)));
  return o;
}

int sq_read_workers(store_rd *rd, int64_t project_id, json_t **out) {
  db *d = sq_rdb(rd);
  sqlite3_stmt *s = db_stmt(d, "SELECT " WORKER_COLS " FROM workers WHERE project_id=?"
                               " ORDER BY state='leaking' DESC, projected_limit_at IS NULL,"
                               " projected_limit_at, name LIMIT 5000");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  json_t *list = json_array();
  int64_t ids[5000];
  double seen[5000];
  char learning[5000];
  size_t n = 0;
  while (sqlite3_step(s) == SQLITE_ROW && n < 5000) {
    json_array_append_new(list, worker_row(s));
    ids[n] = sqlite3_column_int64(s, 0);
    seen[n] = sqlite3_column_double(s, 5);
    learning[n] = (char)is_learning(s, 8);
    n++;
  }
  sqlite3_reset(s);
  for (size_t i = 0; i < n; i++) {
    json_t *w = json_array_get(list, i);
    json_object_set_new(w, "sparkline", sparkline(d, ids[i], seen[i]));
    set_learning(d, w, ids[i], seen[i], learning[i]);
  }
  *out = json_pack("{s:o}", "workers", list);
  return *out ? STORE_OK : STORE_ENOMEM;
}

typedef struct series {
  double *ts, *v;
  size_t n, cap;
} series;

/* Appends a point; returns 0, or 1 when out of memory (which stops a chunks_scan). */
static int series_add(series *p, double ts, double v) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 1024;
    double *nt = realloc(p->ts, cap * sizeof *nt);
    if (nt) p->ts = nt;
    double *nv = nt ? realloc(p->v, cap * sizeof *nv) : NULL;
    if (nv) p->v = nv;
    if (!nt || !nv) return 1;
    p->cap = cap;
  }
  p->ts[p->n] = ts;
  p->v[p->n++] = v;
  return 0;
}

static int add_raw(void *ctx, const memchunk_sample *s) {
  return series_add(ctx, s->ts, (double)s->rss);
}

/* Averages raw samples (in time order, from chunks_scan) into buckets of width seconds, one
 * point per non-empty bucket at its middle. */
typedef struct binner {
  series *out;
  double width;
  int64_t idx; /* the bucket being filled, when n > 0 */
  double sum;
  int64_t n;
} binner;

static int bin_flush(binner *b) {
  if (!b->n) return 0;
  int rc = series_add(b->out, ((double)b->idx + 0.5) * b->width, b->sum / (double)b->n);
  b->sum = 0;
  b->n = 0;
  return rc;
}

static int bin_add(void *ctx, const memchunk_sample *s) {
  binner *b = ctx;
  int64_t idx = (int64_t)floor(s->ts / b->width);
  if (b->n && idx != b->idx && bin_flush(b)) return 1;
  if (!b->n) b->idx = idx;
  b->sum += (double)s->rss;
  b->n++;
  return 0;
}

/* Raw samples of wid in [from, to] averaged per width seconds into out; 0 or -1. */
static int raw_binned(db *d, int64_t wid, double from, double to, double width, series *out) {
  binner b = {out, width, 0, 0, 0};
  int rc = chunks_scan(d, wid, from, to, bin_add, &b);
  if (bin_flush(&b)) rc = -1;
  return rc == 0 ? 0 : -1;
}

/* The first sample of the worker's current (latest) life; 0 if unknown. */
static double life_first(db *d, int64_t wid) {
  sqlite3_stmt *s = db_stmt(d, "SELECT max(first_ts) FROM worker_lives WHERE worker=?");
  if (!s) return 0;
  sqlite3_bind_int64(s, 1, wid);
  double t = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_double(s, 0) : 0;
  sqlite3_reset(s);
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of a[0..n), n > 0 (sorts a). */
static double median_of(double *a, size_t n) {
  qsort(a, n, sizeof *a, cmp_double);
  return n % 2 ? a[n / 2] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

#define OBS_MAX_POINTS 120 /* means per observed span: 7140 slope pairs at most */

typedef struct observer {
  binner b;
  double first, last; /* first and last raw sample seen; 0 before any */
} observer;

static int obs_add(void *ctx, const memchunk_sample *s) {
  observer *o = ctx;
  if (o->first == 0) o->first = s->ts;
  o->last = s->ts;
  return bin_add(&o->b, s);
}

/* Means of the raw samples in [from, to] per minute (wider buckets past OBS_MAX_POINTS
 * minutes) into out, and the times of the first and last sample; 0, or -1 on a read error or
 * out of memory (out may then hold part of them). */
static int observe(db *d, int64_t wid, double from, double to, series *out, double *first,
                   double *last) {
  double width = (to - from) / OBS_MAX_POINTS;
  observer o = {{out, width > 60 ? width : 60, 0, 0, 0}, 0, 0};
  int rc = chunks_scan(d, wid, from, to, obs_add, &o);
  if (bin_flush(&o.b)) rc = -1;
  *first = o.first;
  *last = o.last;
  return rc == 0 ? 0 : -1;
}

/* Theil-Sen slope of p in value units per second: the median of the slopes between every two
 * of its points, so GC sawteeth and a few spikes do not move it. NAN with fewer than 2 points
 * or out of memory. */
static double theil_sen(const series *p) {
  if (p->n < 2) return NAN;
  double *sl = malloc(p->n * (p->n - 1) / 2 * sizeof *sl);
  if (!sl) return NAN;
  size_t m = 0;
  for (size_t i = 0; i < p->n; i++)
    for (size_t j = i + 1; j < p->n; j++)
      if (p->ts[j] > p->ts[i]) sl[m++] = (p->v[j] - p->v[i]) / (p->ts[j] - p->ts[i]);
  double r = m ? median_of(sl, m) : NAN;
  free(sl);
  return r;
}

/* For a worker not judged yet (learning): no slope, confidence or projection (the detector
 * reports 0 for them, which reads as "flat"), and `learning` = {seconds_left: event time the
 * detector still needs, life_started_at, observed_bytes_per_hour: Theil-Sen slope of the
 * current life's per-minute means (null under 2 minutes), observed_over_seconds: the span of
 * those samples}. Otherwise `learning` is null. */
static void set_learning(db *d, json_t *w, int64_t wid, double last_seen, int learning) {
  if (!learning) {
    json_object_set_new(w, "learning", json_null());
    return;
  }
  double t0 = life_first(d, wid);
  if (t0 <= 0 || t0 > last_seen) t0 = last_seen;
  double from = last_seen - 6 * 3600.0 > t0 ? last_seen - 6 * 3600.0 : t0;
  series pts = {0};
  double first = 0, last = 0;
  double rate = observe(d, wid, from, last_seen, &pts, &first, &last) ? NAN : theil_sen(&pts);
  free(pts.ts);
  free(pts.v);
  json_object_set_new(w, "slope_bytes_per_hour", json_null());
  json_object_set_new(w, "confidence", json_null());
  json_object_set_new(w, "projected_limit_at", json_null());
  json_object_set_new(w, "learning",
                      json_pack("{s:I, s:o, s:o, s:f}", "seconds_left",
                                (json_int_t)ceil(leak_learning_left(t0, last_seen)),
                                "life_started_at", store_json_time(t0), "observed_bytes_per_hour",
                                isfinite(rate) ? json_real(rate * 3600.0) : json_null(),
                                "observed_over_seconds", last > first ? last - first : 0.0));
}

/* The fitted trend, drawn where it was fitted: over the current life within the last 6 hours
 * before last_seen (the detector's trailing windows), through the per-minute means of that
 * span (the median of their values carried along the slope to last_seen, so the line sits in
 * the data, not under it), and forward to the projected limit while leaking. null when the
 * span holds fewer than 2 minutes of samples. */
static json_t *trend_doc(db *d, int64_t wid, double last_seen, double slope, int leaking,
                         double projected, int64_t limit, const char *state) {
  double t0 = life_first(d, wid);
  if (t0 <= 0 || t0 < last_seen - 6 * 3600.0) t0 = last_seen - 6 * 3600.0;
  series pts = {0};
  double first = 0, last = 0;
  json_t *trend = json_null();
  if (!observe(d, wid, t0, last_seen, &pts, &first, &last) && pts.n >= 2) {
    for (size_t i = 0; i < pts.n; i++) pts.v[i] += slope * (last_seen - pts.ts[i]) / 3600.0;
    double anchor = median_of(pts.v, pts.n), from = first;
    double t1 = leaking && projected > last_seen ? projected : last_seen;
    json_decref(trend);
    trend = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:o, s:o, s:s}", "slope_bytes_per_hour",
                      slope, "from", from, "fitted_to", last_seen, "to", t1, "intercept_at",
                      anchor - slope * (last_seen - from) / 3600.0, "anchor_rss", anchor,
                      "projected_limit_at", projected > 0 ? json_real(projected) : json_null(),
                      "memory_limit_bytes", limit > 0 ? json_integer(limit) : json_null(), "state",
                      state);
  }
  free(pts.ts);
  free(pts.v);
  return trend;
}

/* The last 3 hours before last_seen in 3-minute means: 60 points at most. */
static json_t *sparkline(db *d, int64_t wid, double last_seen) {
  json_t *arr = json_array();
  series pts = {0};
  raw_binned(d, wid, last_seen - 3 * 3600, last_seen, 180, &pts);
  for (size_t i = 0; i < pts.n; i++) json_array_append_new(arr, json_integer((json_int_t)pts.v[i]));
  free(pts.ts);
  free(pts.v);
  return arr;
}

/* Points from one source: all of them when they fit in max_points, otherwise averaged into
 * max_points equal-time buckets. Sources are bounded (raw <= 6 h, per-minute means of raw
 * <= 7 days, hour rollups beyond or where no raw samples are left), so they fit in memory. */
static json_t *points(db *d, int64_t wid, double from, double to, int64_t max_points) {
  double span = to - from;
  json_t *arr = json_array();
  series pts = {0};
  if (span <= 6 * 3600.0)
    chunks_scan(d, wid, from, to, add_raw, &pts); /* raw samples, in time order */
  else if (span <= 7 * 86400.0)
    raw_binned(d, wid, from, to, 60, &pts);
  if (pts.n == 0 && span > 6 * 3600.0) {
    sqlite3_stmt *s = db_stmt(d, "SELECT t + 1800, rss_sum / n FROM rollup_hour WHERE worker=?"
                                 " AND t >= ? - 3600 AND t <= ? ORDER BY t");
    if (!s) return arr;
    sqlite3_bind_int64(s, 1, wid);
    sqlite3_bind_double(s, 2, from);
    sqlite3_bind_double(s, 3, to);
    while (sqlite3_step(s) == SQLITE_ROW &&
           !series_add(&pts, sqlite3_column_double(s, 0), sqlite3_column_double(s, 1))) {
    }
    sqlite3_reset(s);
  }
  double *ts = pts.ts, *v = pts.v;
  size_t n = pts.n;
  if (n <= (size_t)max_points) {
    for (size_t i = 0; i < n; i++)
      json_array_append_new(arr, json_pack("[f, I]", ts[i], (json_int_t)v[i]));
  } else {
    double width = span / (double)max_points, bsum = 0, bts = 0;
    int64_t bn = 0, bidx = -1;
    for (size_t i = 0; i <= n; i++) {
      int64_t idx = i < n ? (int64_t)((ts[i] - from) / width) : -2;
      if (idx != bidx && bn) {
        json_array_append_new(
            arr, json_pack("[f, I]", bts / (double)bn, (json_int_t)(bsum / (double)bn)));
        bsum = bts = 0;
        bn = 0;
      }
      if (i == n) break;
      bidx = idx;
      bsum += v[i];
      bts += ts[i];
      bn++;
    }
  }
  free(ts);
  free(v);
  return arr;
}

int sq_read_worker_memory(store_rd *rd, store_memory_query *q, json_t **out) {
  db *d = sq_rdb(rd);
  int64_t project_id = q->project_id, max_points = q->max_points;
  const char *name = q->worker;
  double from = q->from, to = q->to;
  sqlite3_stmt *s = db_stmt(d, "SELECT " WORKER_COLS ", a.latest, a.baseline FROM workers"
                               " LEFT JOIN worker_allocations a ON a.worker = workers.id"
                               " WHERE project_id=? AND name=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? STORE_ENOTFOUND : STORE_EIO;
  }
  json_t *worker = worker_row(s);
  int64_t wid = sqlite3_column_int64(s, 0);
  double last_seen = sqlite3_column_double(s, 5);
  double slope = sqlite3_column_double(s, 9);
  int has_slope = sqlite3_column_type(s, 9) != SQLITE_NULL;
  double projected = sqlite3_column_double(s, 11);
  int64_t limit = sqlite3_column_int64(s, 7);
  char state[24];
  snprintf(state, sizeof state, "%s",
           sqlite3_column_text(s, 8) ? (const char *)sqlite3_column_text(s, 8) : "");
  int leaking = !strcmp(state, "leaking");
  int learning = is_learning(s, 8);
  const char *top_txt = (const char *)sqlite3_column_text(s, 15);
  const char *base_txt = (const char *)sqlite3_column_text(s, 16);
  q->alloc_latest = top_txt ? strdup(top_txt) : NULL;
  q->alloc_baseline = base_txt ? strdup(base_txt) : NULL;
  sqlite3_reset(s);
  if ((top_txt && !q->alloc_latest) || (base_txt && !q->alloc_baseline)) {
    json_decref(worker);
    return STORE_ENOMEM;
  }
  if (to <= 0) to = last_seen > 0 ? last_seen + 60 : 0;
  if (from <= 0 || from >= to) from = to - 3600;

  set_learning(d, worker, wid, last_seen, learning);
  json_t *doc = json_object();
  json_object_set_new(doc, "worker", worker);
  json_object_set_new(doc, "from", json_real(from));
  json_object_set_new(doc, "to", json_real(to));
  json_object_set_new(doc, "points", points(d, wid, from, to, max_points));

  json_t *lives = json_array();
  /* The open (latest) life ends at the worker's last_seen: the writer does not move its
   * last_ts on every batch (sqlite_memory.c, sq_life_open). */
  s = db_stmt(d, "SELECT pid, started_at, first_ts, last_ts FROM (SELECT pid, started_at,"
                 " first_ts, CASE WHEN first_ts = (SELECT max(first_ts) FROM worker_lives"
                 " WHERE worker=?1) THEN max(last_ts, ?4) ELSE last_ts END AS last_ts"
                 " FROM worker_lives WHERE worker=?1 AND first_ts <= ?3)"
                 " WHERE last_ts >= ?2 ORDER BY first_ts");
  if (s) {
    sqlite3_bind_int64(s, 1, wid);
    sqlite3_bind_double(s, 2, from);
    sqlite3_bind_double(s, 3, to);
    sqlite3_bind_double(s, 4, last_seen);
    while (sqlite3_step(s) == SQLITE_ROW)
      json_array_append_new(
          lives, json_pack("{s:I, s:f, s:f, s:f}", "pid", (json_int_t)sqlite3_column_int64(s, 0),
                           "started_at", sqlite3_column_double(s, 1), "first_ts",
                           sqlite3_column_double(s, 2), "last_ts", sqlite3_column_double(s, 3)));
    sqlite3_reset(s);
  }
  json_object_set_new(doc, "lives", lives);

  /* No trend until the detector has fitted one. */
  json_t *trend = has_slope && !learning && last_seen > 0
                      ? trend_doc(d, wid, last_seen, slope, leaking, projected, limit, state)
                      : json_null();
  json_object_set_new(doc, "trend", trend);

  json_t *alerts = json_array();
  s = db_stmt(d, "SELECT id, fired_at, resolved_at, summary FROM alerts WHERE project_id=? AND"
                 " worker_id=? AND kind='memory_leak' AND fired_at <= ? AND"
                 " (resolved_at IS NULL OR resolved_at >= ?) ORDER BY fired_at");
  if (s) {
    sqlite3_bind_int64(s, 1, project_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 3, to);
    sqlite3_bind_double(s, 4, from);
    while (sqlite3_step(s) == SQLITE_ROW)
      json_array_append_new(alerts, json_pack("{s:I, s:f, s:o, s:o}", "id",
                                              (json_int_t)sqlite3_column_int64(s, 0), "fired_at",
                                              sqlite3_column_double(s, 1), "resolved_at",
                                              num_or_null(s, 2), "summary", sq_col_text(s, 3)));
    sqlite3_reset(s);
  }
  json_object_set_new(doc, "alerts", alerts);

  *out = doc;
  return STORE_OK;
}
