/* memstore: writer-thread SQL and detector bookkeeping for memory samples. The detector cache
 * is a small open hash keyed by the workers.id; entries are evicted (after saving) when it is
 * full. A batch is handled in timestamp order; its raw samples go to chunks.c, which drops
 * the ones already stored (retries). Samples older than a worker's detector state are stored
 * but not fed (the detector is event-time ordered; a late backfill still shows on charts). */
#include "sqlite/memstore.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/alerts.h"
#include "sqlite/chunks.h"
#include "memory/leak.h"
#include "util/timefmt.h"
#include "writer.h"

#define CACHE_SLOTS 4096
/* Samples fed between detector saves: three hours at the samplers' 10 s. A save rewrites the
 * worker's state (about 11 KiB: a leaf and three overflow pages); a crash replays at most these
 * from the raw samples, about a millisecond a worker. */
#define SAVE_EVERY_SAMPLES 1080

typedef struct worker_row {
  int64_t id;
  int state; /* LEAK_* as stored */
  int64_t pid;
  double started_at;
  double last_seen;
  int exists;
} worker_row;

/* What the writer knows of one worker between batches. Everything but wid is reset when the
 * entry is (re)loaded or forgotten. */
typedef struct det_entry {
  int64_t wid;          /* 0 = free slot */
  leak_detector *det;   /* NULL: forgotten (what it knew was undone); loaded again on next use */
  double last_fed_ts;   /* event time of the last sample fed */
  double saved_ts;      /* event time of the state last saved */
  double stored_newest; /* no raw sample of the worker is stored after this (chunks_store) */
  int unsaved;          /* samples fed since the last save */
  worker_row row;       /* the workers row as the last batch left it; row.id 0: not known */
  int64_t hour_t;       /* the newest hour rollup written, and its rowid (0: not known) */
  int64_t hour_row;
} det_entry;

/* (project, worker name) -> workers.id, so that a batch finds its cached worker without a
 * query. An id can be stale (its INSERT was undone): the row is then looked up again. */
typedef struct name_entry {
  uint64_t hash; /* 0: free slot */
  int64_t project_id, wid;
  char *name;
} name_entry;

typedef struct batch_item {
  double ts;
  size_t i; /* index in the payload: the first sent of equal timestamps wins */
} batch_item;

struct memstore {
  det_entry slots[CACHE_SLOTS];
  size_t used;
  name_entry names[CACHE_SLOTS];
  size_t names_used;
  memchunk_sample *batch; /* the batch being stored, in timestamp order */
  batch_item *order;      /* sort scratch */
  size_t batch_cap;
};

memstore *memstore_new(void) {
  return calloc(1, sizeof(memstore));
}

static int save_entry(db *d, det_entry *e) {
  unsigned char *blob = NULL;
  size_t len = 0;
  if (leak_save(e->det, &blob, &len) != 0) return WRITER_EIO;
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO worker_detectors(worker, fed_ts, state)"
                               " VALUES(?,?,?) ON CONFLICT(worker) DO UPDATE SET"
                               " fed_ts=excluded.fed_ts, state=excluded.state");
  if (!s) {
    free(blob);
    return WRITER_EIO;
  }
  sqlite3_bind_int64(s, 1, e->wid);
  sqlite3_bind_double(s, 2, e->last_fed_ts);
  sqlite3_bind_blob(s, 3, blob, (int)len, free);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : WRITER_EIO;
  sqlite3_reset(s);
  if (rc == 0) {
    e->saved_ts = e->last_fed_ts;
    e->unsaved = 0;
  }
  return rc;
}

int memstore_flush(memstore *m, db *d) {
  int rc = 0;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    det_entry *e = &m->slots[i];
    if (!e->det) continue;
    if (e->unsaved > 0 && save_entry(d, e) != 0) rc = -1;
  }
  return rc;
}

static void names_clear(memstore *m) {
  for (size_t i = 0; i < CACHE_SLOTS; i++) free(m->names[i].name);
  memset(m->names, 0, sizeof m->names);
  m->names_used = 0;
}

static uint64_t name_hash(int64_t project_id, const char *name) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)project_id; /* FNV-1a */
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    h = (h ^ *c) * 1099511628211ULL;
  return h ? h : 1;
}

static name_entry *names_find(memstore *m, int64_t project_id, const char *name, uint64_t h) {
  for (size_t k = 0; k < CACHE_SLOTS; k++) {
    name_entry *n = &m->names[(h + k) % CACHE_SLOTS];
    if (!n->hash || (n->hash == h && n->project_id == project_id && !strcmp(n->name, name)))
      return n;
  }
  return NULL; /* cannot happen: the table is kept at most 3/4 full */
}

static int64_t names_get(memstore *m, int64_t project_id, const char *name) {
  name_entry *n = names_find(m, project_id, name, name_hash(project_id, name));
  return n && n->hash ? n->wid : 0;
}

/* Returns 0, or -1 when out of memory. */
static int names_put(memstore *m, int64_t project_id, const char *name, int64_t wid) {
  uint64_t h = name_hash(project_id, name);
  name_entry *n = names_find(m, project_id, name, h);
  if (n && !n->hash && m->names_used >= CACHE_SLOTS * 3 / 4) {
    names_clear(m);
    n = names_find(m, project_id, name, h);
  }
  if (!n) return -1;
  if (!n->hash) {
    if (!(n->name = strdup(name))) return -1;
    n->hash = h;
    n->project_id = project_id;
    m->names_used++;
  }
  n->wid = wid;
  return 0;
}

void memstore_free(memstore *m) {
  if (!m) return;
  names_clear(m);
  for (size_t i = 0; i < CACHE_SLOTS; i++) leak_free(m->slots[i].det);
  free(m->batch);
  free(m->order);
  free(m);
}

typedef struct life_ref {
  double first_ts;
  int64_t pid;
  double started_at;
} life_ref;

typedef struct replay {
  det_entry *e;
  life_ref *lives; /* ascending first_ts: the lives the replayed samples can belong to */
  size_t n_lives, cur;
  double limit; /* the worker's memory_limit_bytes, 0 if unknown */
} replay;

/* Feeds one stored sample with the life it belongs to: the latest that began at or before it
 * (none: pid 0). Samples come in timestamp order, so the life only moves forward. */
static int replay_one(void *ctx, const memchunk_sample *x) {
  replay *r = ctx;
  while (r->cur + 1 < r->n_lives && r->lives[r->cur + 1].first_ts <= x->ts) r->cur++;
  const life_ref *l = r->n_lives && r->lives[r->cur].first_ts <= x->ts ? &r->lives[r->cur] : NULL;
  leak_sample ls = {x->ts, (double)x->rss, l ? l->pid : 0, l ? l->started_at : 0, r->limit};
  if (leak_feed(r->e->det, &ls, NULL) == 0) r->e->last_fed_ts = x->ts;
  return 0;
}

/* Replays raw samples newer than the saved state (after a crash) into e->det. */
static int replay_since(db *d, det_entry *e) {
  replay r = {e, NULL, 0, 0, 0};
  sqlite3_stmt *s = db_stmt(d, "SELECT coalesce(memory_limit_bytes, 0) FROM workers WHERE id=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->wid);
  int step = sqlite3_step(s);
  if (step == SQLITE_ROW) r.limit = (double)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (step != SQLITE_ROW) return step == SQLITE_DONE ? 0 : WRITER_EIO; /* no worker, no samples */
  s = db_stmt(d, "SELECT first_ts, coalesce(pid, 0), coalesce(started_at, 0) FROM worker_lives"
                 " WHERE worker=?1 AND first_ts >= coalesce((SELECT max(first_ts) FROM"
                 " worker_lives WHERE worker=?1 AND first_ts <= ?2), 0) ORDER BY first_ts");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->wid);
  sqlite3_bind_double(s, 2, e->last_fed_ts);
  int rc = 0;
  size_t cap = 0;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    if (r.n_lives == cap) {
      cap = cap ? 2 * cap : 16;
      life_ref *l = realloc(r.lives, cap * sizeof *l);
      if (!l) {
        rc = WRITER_EIO;
        break;
      }
      r.lives = l;
    }
    r.lives[r.n_lives++] = (life_ref){sqlite3_column_double(s, 0), sqlite3_column_int64(s, 1),
                                      sqlite3_column_double(s, 2)};
  }
  if (!rc && step != SQLITE_DONE) rc = WRITER_EIO;
  sqlite3_reset(s);
  if (!rc &&
      chunks_scan(d, e->wid, nextafter(e->last_fed_ts, INFINITY), INFINITY, replay_one, &r) != 0)
    rc = WRITER_EIO;
  free(r.lives);
  return rc;
}

/* Loads e->wid's saved detector, replays the raw samples stored after it, and looks up the
 * newest stored sample. Returns 0, or WRITER_EIO with e->det left NULL. */
static int load_entry(db *d, det_entry *e) {
  *e = (det_entry){.wid = e->wid};
  sqlite3_stmt *s = db_stmt(d, "SELECT state, fed_ts FROM worker_detectors WHERE worker=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->wid);
  leak_detector *det = NULL;
  double ts = 0;
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) > 0) {
    det = leak_load(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    ts = det ? sqlite3_column_double(s, 1) : 0;
  }
  sqlite3_reset(s);
  if (!det) det = leak_new();
  if (!det) return WRITER_EIO;
  e->det = det;
  e->last_fed_ts = e->saved_ts = ts;
  if (replay_since(d, e) != 0 || chunks_newest(d, e->wid, &e->stored_newest) != 0) {
    leak_free(e->det);
    e->det = NULL;
    return WRITER_EIO;
  }
  return 0;
}

static det_entry *cache_find(memstore *m, int64_t wid) {
  size_t h = (size_t)((uint64_t)wid * 0x9E3779B97F4A7C15ULL >> 52) % CACHE_SLOTS;
  for (size_t k = 0; k < CACHE_SLOTS; k++) {
    det_entry *e = &m->slots[(h + k) % CACHE_SLOTS];
    if (e->wid == wid || e->wid == 0) return e;
  }
  return NULL; /* cannot happen: the table is kept at most 3/4 full */
}

static det_entry *cache_get(memstore *m, db *d, int64_t wid, int *err) {
  det_entry *e = cache_find(m, wid);
  if (e && e->wid == wid) {
    if (!e->det && (*err = load_entry(d, e))) return NULL;
    return e;
  }
  if (m->used >= CACHE_SLOTS * 3 / 4) { /* full: save and drop everything, reload lazily */
    if (memstore_flush(m, d) != 0) {
      *err = WRITER_EIO;
      return NULL;
    }
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
      leak_free(m->slots[i].det);
      memset(&m->slots[i], 0, sizeof m->slots[i]);
    }
    m->used = 0;
    e = cache_find(m, wid);
  }
  if (!e) {
    *err = WRITER_EIO;
    return NULL;
  }
  e->wid = wid;
  m->used++;
  if ((*err = load_entry(d, e))) return NULL;
  return e;
}

void memstore_forget(memstore *m, int64_t wid) {
  det_entry *e = wid ? cache_find(m, wid) : NULL;
  if (!e || e->wid != wid) return;
  leak_free(e->det);
  *e = (det_entry){.wid = wid};
}

/* --- the batch ------------------------------------------------------------------------------ */

static const char *const state_names[] = {"ok", "leaking", "insufficient_data"};

static int state_from_text(const char *t) {
  for (int i = 0; i < 3; i++) {
    if (t && !strcmp(t, state_names[i])) return i;
  }
  return LEAK_INSUFFICIENT;
}

int memstore_count_states(db *d, int64_t counts[3]) {
  counts[0] = counts[1] = counts[2] = 0;
  sqlite3_stmt *s = db_stmt(d, "SELECT state, count(*) FROM workers GROUP BY state");
  if (!s) return -1;
  while (sqlite3_step(s) == SQLITE_ROW)
    counts[state_from_text((const char *)sqlite3_column_text(s, 0))] += sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  return 0;
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *v) {
  if (v)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static int upsert_worker(db *d, int64_t project_id, const memory_payload *p, double first_ts,
                         worker_row *w) {
  sqlite3_stmt *s = db_stmt(d, "SELECT id, pid, started_at, last_seen, state FROM workers"
                               " WHERE project_id=? AND name=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, p->worker.id, -1, SQLITE_STATIC);
  memset(w, 0, sizeof *w);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    w->exists = 1;
    w->id = sqlite3_column_int64(s, 0);
    w->pid = sqlite3_column_int64(s, 1);
    w->started_at = sqlite3_column_double(s, 2);
    w->last_seen = sqlite3_column_double(s, 3);
    w->state = state_from_text((const char *)sqlite3_column_text(s, 4));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return WRITER_EIO;
  if (w->exists) return 0;
  s = db_stmt(d, "INSERT INTO workers(project_id, name, first_seen, last_seen) VALUES(?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, p->worker.id, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 3, first_ts);
  sqlite3_bind_double(s, 4, first_ts);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  w->id = sqlite3_last_insert_rowid(db_handle(d));
  return 0;
}

/* Records the life a batch belongs to. A new pid or started_at opens a life and closes the one
 * before it at the worker's last_seen. The open life's last_ts is not written per batch (that
 * was a statement and a dirty page each time): readers take max(last_ts, workers.last_seen)
 * for the latest life (memqueries.c). */
static int touch_life(db *d, const worker_row *w, const memory_payload *p, double first_ts,
                      double last_ts) {
  if (w->exists && p->worker.pid == w->pid && p->worker.started_at == w->started_at) return 0;
  sqlite3_stmt *s;
  if (w->exists) {
    s = db_stmt(d, "UPDATE worker_lives SET last_ts=max(last_ts, ?1) WHERE worker=?2 AND"
                   " first_ts=(SELECT max(first_ts) FROM worker_lives WHERE worker=?2)");
    if (!s) return WRITER_EIO;
    sqlite3_bind_double(s, 1, w->last_seen);
    sqlite3_bind_int64(s, 2, w->id);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  }
  s = db_stmt(d, "INSERT OR IGNORE INTO worker_lives(worker, first_ts, last_ts, pid, started_at)"
                 " VALUES(?,?,?,?,?)");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, w->id);
  sqlite3_bind_double(s, 2, first_ts);
  sqlite3_bind_double(s, 3, last_ts);
  sqlite3_bind_int64(s, 4, p->worker.pid);
  sqlite3_bind_double(s, 5, p->worker.started_at);
  return sqlite3_step(s) == SQLITE_DONE ? 0 : WRITER_EIO;
}

typedef struct bucket {
  int64_t t;
  int64_t n, mn, mx;
  double sum;
} bucket;

/* Adds a bucket to its hour rollup. Hourly rollups only: minute-level views read the raw
 * chunks (memqueries.c), which cost one row a batch where a minute rollup cost an upsert per
 * minute the batch spans. The worker's current hour is updated by rowid (one lookup, where the
 * upsert takes two); any other hour, or a row that is gone, goes through the upsert. */
static int flush_rollup(db *d, det_entry *e, const bucket *b) {
  sqlite3_stmt *s;
  if (e->hour_row && e->hour_t == b->t) {
    s = db_stmt(d, "UPDATE rollup_hour SET n=n+?1, rss_min=min(rss_min, ?2),"
                   " rss_max=max(rss_max, ?3), rss_sum=rss_sum+?4 WHERE id=?5");
    if (!s) return WRITER_EIO;
    sqlite3_bind_int64(s, 1, b->n);
    sqlite3_bind_int64(s, 2, b->mn);
    sqlite3_bind_int64(s, 3, b->mx);
    sqlite3_bind_double(s, 4, b->sum);
    sqlite3_bind_int64(s, 5, e->hour_row);
    if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
    if (sqlite3_changes(db_handle(d)) == 1) return 0;
  }
  s = db_stmt(d, "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum)"
                 " VALUES(?,?,?,?,?,?) ON CONFLICT(worker, t) DO UPDATE SET n=n+excluded.n,"
                 " rss_min=min(rss_min, excluded.rss_min), rss_max=max(rss_max, excluded.rss_max),"
                 " rss_sum=rss_sum+excluded.rss_sum RETURNING id");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, e->wid);
  sqlite3_bind_int64(s, 2, b->t);
  sqlite3_bind_int64(s, 3, b->n);
  sqlite3_bind_int64(s, 4, b->mn);
  sqlite3_bind_int64(s, 5, b->mx);
  sqlite3_bind_double(s, 6, b->sum);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return WRITER_EIO;
  int64_t id = sqlite3_column_int64(s, 0);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  if (b->t >= e->hour_t) {
    e->hour_t = b->t;
    e->hour_row = id;
  }
  return 0;
}

/* Adds a stored sample to the open hour bucket, flushing the previous bucket when the sample
 * falls elsewhere: samples go in timestamp order, so one upsert per hour a batch touches. */
static int roll(db *d, det_entry *e, bucket *b, double ts, int64_t rss) {
  int64_t t = (int64_t)floor(ts / 3600.0) * 3600;
  if (b->n && b->t != t) {
    if (flush_rollup(d, e, b)) return WRITER_EIO;
    b->n = 0;
  }
  if (!b->n) {
    b->t = t;
    b->mn = b->mx = rss;
    b->sum = 0;
  }
  b->n++;
  b->sum += (double)rss;
  if (rss < b->mn) b->mn = rss;
  if (rss > b->mx) b->mx = rss;
  return 0;
}

static json_t *allocs_json(const memory_sample *smp) {
  json_t *arr = json_array();
  for (size_t i = 0; i < smp->n_top_allocations; i++) {
    const memory_alloc *al = &smp->top_allocations[i];
    json_array_append_new(arr,
                          json_pack("{s:s, s:I, s:I}", "site", al->site, "size_bytes",
                                    (json_int_t)al->size_bytes, "count", (json_int_t)al->count));
  }
  return arr;
}

json_t *memstore_top_growing(const char *baseline, const char *latest, int max) {
  json_error_t jerr;
  json_t *b = baseline ? json_loads(baseline, 0, &jerr) : NULL;
  json_t *l = latest ? json_loads(latest, 0, &jerr) : NULL;
  json_t *out = json_array();
  if (!json_is_array(l)) goto done;
  size_t n = json_array_size(l);
  typedef struct {
    const char *site;
    json_int_t growth, size;
  } g_t;
  g_t *g = calloc(n ? n : 1, sizeof *g);
  if (!g) goto done;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(l, i);
    g[i].site = json_string_value(json_object_get(e, "site"));
    g[i].size = json_integer_value(json_object_get(e, "size_bytes"));
    json_int_t base = 0;
    size_t k;
    json_t *be;
    json_array_foreach(b, k, be) {
      const char *site = json_string_value(json_object_get(be, "site"));
      if (site && g[i].site && !strcmp(site, g[i].site))
        base = json_integer_value(json_object_get(be, "size_bytes"));
    }
    g[i].growth = g[i].size - base;
  }
  for (int k = 0; k < max; k++) { /* partial selection sort: n is small */
    size_t best = n;
    for (size_t i = 0; i < n; i++) {
      if (g[i].site && g[i].growth > 0 && (best == n || g[i].growth > g[best].growth)) best = i;
    }
    if (best == n) break;
    json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "site", g[best].site, "growth_bytes",
                                         g[best].growth, "size_bytes", g[best].size));
    g[best].site = NULL;
  }
  free(g);
done:
  json_decref(b);
  json_decref(l);
  return out;
}

static int leak_alert(db *d, int64_t project_id, const memory_payload *p, int64_t wid,
                      const leak_status *st, double ts, int64_t rss, int started) {
  sqlite3_stmt *s = db_stmt(d, "SELECT baseline, latest FROM worker_allocations WHERE worker=?");
  if (!s) return WRITER_EIO;
  sqlite3_bind_int64(s, 1, wid);
  json_t *growing = NULL;
  if (sqlite3_step(s) == SQLITE_ROW)
    growing = memstore_top_growing((const char *)sqlite3_column_text(s, 0),
                                   (const char *)sqlite3_column_text(s, 1), 5);
  sqlite3_reset(s);
  char proj[40] = "";
  if (st->projected_limit_at > 0) time_format_rfc3339(st->projected_limit_at, proj, sizeof proj);
  json_t *details = json_pack(
      "{s:s, s:s?, s:s?, s:s?, s:I, s:I, s:f, s:f, s:o, s:o}", "worker_id", p->worker.id, "host",
      p->worker.host, "service", p->worker.service, "release", p->worker.release, "rss_bytes",
      (json_int_t)rss, "memory_limit_bytes", (json_int_t)p->worker.memory_limit_bytes,
      "slope_bytes_per_hour", st->slope_bytes_per_hour, "confidence", st->confidence,
      "projected_limit_at", proj[0] ? json_string(proj) : json_null(), "top_growing",
      growing ? growing : json_array());
  char *text = details ? json_dumps(details, JSON_COMPACT) : NULL;
  json_decref(details);
  if (!text) return WRITER_EIO;
  char summary[512];
  int rc;
  if (started) {
    int n = snprintf(summary, sizeof summary, "Worker %.200s is leaking %.1f MB/h", p->worker.id,
                     st->slope_bytes_per_hour / 1e6);
    if (proj[0] && n > 0 && (size_t)n < sizeof summary)
      snprintf(summary + n, sizeof summary - (size_t)n, "; reaches its limit at %s", proj);
    rc = alerts_fire(d, 0 + (int64_t)0 + project_id, "memory_leak", p->worker.id, 0, ts, summary,
                     text, NULL);
  } else {
    snprintf(summary, sizeof summary, "Worker %.200s stopped leaking", p->worker.id);
    rc = alerts_resolve(d, project_id, "memory_leak", p->worker.id, 0, ts, summary, text);
  }
  free(text);
  return rc;
}

static char *allocs_text(const memory_sample *smp) {
  json_t *arr = allocs_json(smp);
  char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
  json_decref(arr);
  return text;
}

/* Saves the latest allocation report; the baseline is replaced by first when a new life
 * starts (or there is none yet). */
static int store_allocations(db *d, int64_t wid, const memory_sample *first,
                             const memory_sample *last, int new_life) {
  char *base = allocs_text(first), *latest = allocs_text(last);
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO worker_allocations(worker, baseline, latest)"
                               " VALUES(?3, ?4, ?1) ON CONFLICT(worker) DO UPDATE SET latest=?1,"
                               " baseline=CASE WHEN ?2 OR baseline IS NULL THEN ?4 ELSE baseline"
                               " END");
  if (!s || !base || !latest) {
    free(base);
    free(latest);
    return WRITER_EIO;
  }
  sqlite3_bind_text(s, 1, latest, -1, free);
  sqlite3_bind_int(s, 2, new_life);
  sqlite3_bind_int64(s, 3, wid);
  sqlite3_bind_text(s, 4, base, -1, free);
  return sqlite3_step(s) == SQLITE_DONE ? 0 : WRITER_EIO;
}

static int by_ts_then_index(const void *a, const void *b) {
  const batch_item *x = a, *y = b;
  if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* Fills m->batch with p's samples in timestamp order, without repeated timestamps (the first
 * sent wins, as it did when each sample was an INSERT OR IGNORE); returns how many, or -1. */
static long sorted_batch(memstore *m, const memory_payload *p) {
  size_t n = p->n_samples;
  if (n > m->batch_cap) {
    memchunk_sample *b = realloc(m->batch, n * sizeof *b);
    if (b) m->batch = b;
    batch_item *o = b ? realloc(m->order, n * sizeof *o) : NULL;
    if (o) m->order = o;
    if (!b || !o) return -1;
    m->batch_cap = n;
  }
  int ordered = 1;
  for (size_t i = 0; i < n; i++) {
    m->order[i] = (batch_item){p->samples[i].timestamp, i};
    if (i && !(p->samples[i].timestamp > p->samples[i - 1].timestamp)) ordered = 0;
  }
  if (!ordered) qsort(m->order, n, sizeof *m->order, by_ts_then_index);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k && m->order[i].ts == m->batch[k - 1].ts) continue;
    const memory_sample *x = &p->samples[m->order[i].i];
    m->batch[k++] = (memchunk_sample){x->timestamp, x->rss_bytes, x->heap_bytes,
                                      x->pss_bytes, x->uss_bytes, x->requests_total};
  }
  return (long)k;
}

static int ingest(memstore *m, db *d, int64_t project_id, const memory_payload *p,
                  memstore_result *res) {
  double first_ts = p->samples[0].timestamp, last_ts = first_ts;
  size_t latest = 0;
  for (size_t i = 1; i < p->n_samples; i++) {
    if (p->samples[i].timestamp < first_ts) first_ts = p->samples[i].timestamp;
    if (p->samples[i].timestamp >= last_ts) last_ts = p->samples[i].timestamp, latest = i;
  }
  /* The worker: from the cache when it knows the row, else from (or into) the table. */
  worker_row w;
  det_entry *e = NULL;
  int rc, err = 0;
  int64_t known = names_get(m, project_id, p->worker.id);
  if (known && !(e = cache_get(m, d, known, &err))) return err;
  if (e && e->row.id) {
    w = e->row;
  } else {
    if ((rc = upsert_worker(d, project_id, p, first_ts, &w))) return rc;
    if ((!e || e->wid != w.id) && !(e = cache_get(m, d, w.id, &err))) return err;
    if (names_put(m, project_id, p->worker.id, w.id)) return WRITER_EIO;
  }
  res->worker_id = w.id;
  if ((rc = touch_life(d, &w, p, first_ts, last_ts))) return rc;

  /* Allocation reports: the first report of a life is the baseline growth is measured
   * against; the latest report of the batch becomes the worker's latest. A batch may hold a
   * whole life (backfill), so both can come from the same batch. */
  const memory_sample *first_allocs = NULL, *last_allocs = NULL;
  for (size_t i = 0; i < p->n_samples; i++) {
    if (!p->samples[i].n_top_allocations) continue;
    if (!first_allocs || p->samples[i].timestamp < first_allocs->timestamp)
      first_allocs = &p->samples[i];
    if (!last_allocs || p->samples[i].timestamp >= last_allocs->timestamp)
      last_allocs = &p->samples[i];
  }
  int new_life = !w.exists || p->worker.pid != w.pid || p->worker.started_at != w.started_at;
  if (last_allocs && (rc = store_allocations(d, w.id, first_allocs, last_allocs, new_life)))
    return rc;

  /* Raw samples, minus retries (same worker and timestamp: stored once, not counted again);
   * then rollups and the detector over the new ones, in timestamp order. */
  long sorted = sorted_batch(m, p);
  if (sorted < 0) return WRITER_EIO;
  size_t n_new = (size_t)sorted;
  if (chunks_store(d, w.id, m->batch, &n_new, e->stored_newest)) return WRITER_EIO;
  if (n_new && m->batch[n_new - 1].ts > e->stored_newest) e->stored_newest = m->batch[n_new - 1].ts;
  res->accepted = n_new;
  bucket bh = {0};
  leak_status st;
  int have_status = 0;
  for (size_t i = 0; i < n_new; i++) {
    const memchunk_sample *smp = &m->batch[i];
    if (roll(d, e, &bh, smp->ts, smp->rss)) return WRITER_EIO;
    if (smp->ts <= e->last_fed_ts || smp->rss <= 0) continue;
    leak_sample ls = {smp->ts, (double)smp->rss, p->worker.pid, p->worker.started_at,
                      (double)p->worker.memory_limit_bytes};
    if (leak_feed(e->det, &ls, &st) != 0) continue;
    e->last_fed_ts = smp->ts;
    e->unsaved++;
    have_status = 1;
    if (st.transition != LEAK_TR_NONE) {
      int started = st.transition == LEAK_TR_STARTED;
      if ((rc = leak_alert(d, project_id, p, w.id, &st, smp->ts, smp->rss, started))) return rc;
      if (started)
        res->fired++;
      else
        res->resolved++;
    }
  }
  if (bh.n && flush_rollup(d, e, &bh)) return WRITER_EIO;
  if (!have_status) leak_current(e->det, &st);

  res->prev_state = w.exists ? w.state : -1;
  res->state = st.state >= 0 && st.state <= 2 ? st.state : LEAK_INSUFFICIENT;
  const memory_sample *lt = &p->samples[latest];
  int newer = last_ts >= w.last_seen;
  sqlite3_stmt *s = db_stmt(
      d, "UPDATE workers SET host=coalesce(?1, host), service=coalesce(?2, service),"
         " release=coalesce(?3, release), pid=CASE WHEN ?11 THEN ?4 ELSE pid END,"
         " started_at=CASE WHEN ?11 THEN ?5 ELSE started_at END,"
         " memory_limit_bytes=CASE WHEN ?6 > 0 THEN ?6 ELSE memory_limit_bytes END,"
         " last_seen=max(last_seen, ?7), rss_bytes=CASE WHEN ?11 THEN ?8 ELSE rss_bytes END,"
         " state=?9, slope_bytes_per_hour=?10, confidence=?12, projected_limit_at=?13"
         " WHERE id=?14");
  if (!s) return WRITER_EIO;
  bind_opt_text(s, 1, p->worker.host);
  bind_opt_text(s, 2, p->worker.service);
  bind_opt_text(s, 3, p->worker.release);
  sqlite3_bind_int64(s, 4, p->worker.pid);
  sqlite3_bind_double(s, 5, p->worker.started_at);
  sqlite3_bind_int64(s, 6, p->worker.memory_limit_bytes);
  sqlite3_bind_double(s, 7, last_ts);
  sqlite3_bind_int64(s, 8, lt->rss_bytes);
  sqlite3_bind_text(s, 9, state_names[res->state], -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 10, st.slope_bytes_per_hour);
  sqlite3_bind_int(s, 11, newer);
  sqlite3_bind_double(s, 12, st.confidence);
  if (st.projected_limit_at > 0) sqlite3_bind_double(s, 13, st.projected_limit_at);
  sqlite3_bind_int64(s, 14, w.id);
  if (sqlite3_step(s) != SQLITE_DONE) return WRITER_EIO;
  e->row = w; /* as the UPDATE left it */
  e->row.exists = 1;
  if (newer) e->row.pid = p->worker.pid, e->row.started_at = p->worker.started_at;
  if (last_ts > e->row.last_seen) e->row.last_seen = last_ts;
  e->row.state = res->state;
  if (e->unsaved >= SAVE_EVERY_SAMPLES || res->fired || res->resolved) return save_entry(d, e);
  return 0;
}

int memstore_ingest(memstore *m, db *d, int64_t project_id, const memory_payload *p,
                    memstore_result *res) {
  memset(res, 0, sizeof *res);
  int rc = ingest(m, d, project_id, p, res);
  if (rc) memstore_forget(m, res->worker_id); /* the savepoint is undone: so is what it taught */
  return rc;
}

/* Retention walks the workers and deletes by primary-key range (worker, time), so each
 * statement is an index seek rather than a scan of every sample; at most RETENTION_ROWS rows
 * per table per pass. A raw chunk goes once its last sample (t1) is past the cutoff, so one
 * that straddles it stays until it is wholly old. */
#define RETENTION_ROWS 5000

int64_t memstore_retention(db *d, double now, double raw_days, double hour_days) {
  static const char *const sql[2] = {
      "DELETE FROM sample_chunks WHERE worker=?1 AND t1 IN"
      " (SELECT t1 FROM sample_chunks WHERE worker=?1 AND t1 < ?2 LIMIT ?3)",
      "DELETE FROM rollup_hour WHERE worker=?1 AND t IN"
      " (SELECT t FROM rollup_hour WHERE worker=?1 AND t < ?2 LIMIT ?3)",
  };
  const double days[2] = {raw_days, hour_days};
  sqlite3_stmt *w = db_stmt(d, "SELECT id FROM workers ORDER BY id");
  if (!w) return -1;
  int64_t total = 0, left[2] = {RETENTION_ROWS, RETENTION_ROWS};
  int rc;
  while ((rc = sqlite3_step(w)) == SQLITE_ROW && (left[0] > 0 || left[1] > 0)) {
    int64_t wid = sqlite3_column_int64(w, 0);
    for (int t = 0; t < 2; t++) {
      if (left[t] <= 0) continue;
      sqlite3_stmt *s = db_stmt(d, sql[t]);
      if (!s) break;
      sqlite3_bind_int64(s, 1, wid);
      sqlite3_bind_double(s, 2, now - days[t] * 86400.0);
      sqlite3_bind_int64(s, 3, left[t]);
      if (sqlite3_step(s) != SQLITE_DONE) {
        sqlite3_reset(w);
        return -1;
      }
      int64_t del = sqlite3_changes(db_handle(d));
      left[t] -= del;
      total += del;
    }
  }
  sqlite3_reset(w);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
  return total;
}
