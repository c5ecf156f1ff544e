/* memstore: memory batches on the writer thread, through the store's operations: the worker's
 * row and lives, raw samples (the store drops the ones already stored: retries), hour rollups
 * aggregated per batch, and the leak detector per worker. The detector cache is a small open
 * hash keyed by the worker id; entries are evicted (after saving) when it is full. A batch is
 * handled in timestamp order. Samples older than a worker's detector state are stored but not
 * fed (the detector is event-time ordered; a late backfill still shows on charts). */
#include "memory/memstore.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "memory/leak.h"
#include "util/timefmt.h"

#define CACHE_SLOTS 4096
/* Samples fed between detector saves: three hours at the samplers' 10 s. A save rewrites the
 * worker's state (about 11 KiB: a leaf and three overflow pages); a crash replays at most these
 * from the raw samples, about a millisecond a worker. */
#define SAVE_EVERY_SAMPLES 1080

typedef struct worker_row {
  store_worker w; /* the row (state: LEAK_* as stored) */
  int exists;
} worker_row;

_Static_assert((int)STORE_WORKER_OK == (int)LEAK_OK &&
                   (int)STORE_WORKER_LEAKING == (int)LEAK_LEAKING &&
                   (int)STORE_WORKER_INSUFFICIENT == (int)LEAK_INSUFFICIENT,
               "worker states are stored as the detector's");

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
  int64_t hour_t;       /* the newest hour rollup written, and the store's handle on it (0: none) */
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

static int save_entry(store_tx *tx, det_entry *e) {
  unsigned char *blob = NULL;
  size_t len = 0;
  if (leak_save(e->det, &blob, &len) != 0) return STORE_ENOMEM;
  int rc = tx->ops->detector_put(tx, e->wid, e->last_fed_ts, blob, len);
  free(blob);
  if (rc == STORE_OK) {
    e->saved_ts = e->last_fed_ts;
    e->unsaved = 0;
  }
  return rc;
}

int memstore_flush(memstore *m, store_tx *tx) {
  int rc = STORE_OK;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    det_entry *e = &m->slots[i];
    if (!e->det) continue;
    if (e->unsaved > 0) {
      int r = save_entry(tx, e);
      if (r != STORE_OK) rc = r;
    }
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

typedef struct replay {
  det_entry *e;
  store_life *lives; /* ascending first_ts: the lives the replayed samples can belong to */
  size_t n_lives, cur;
  double limit; /* the worker's memory_limit_bytes, 0 if unknown */
} replay;

/* Feeds one stored sample with the life it belongs to: the latest that began at or before it
 * (none: pid 0). Samples come in timestamp order, so the life only moves forward. */
static int replay_one(void *ctx, const memchunk_sample *x) {
  replay *r = ctx;
  while (r->cur + 1 < r->n_lives && r->lives[r->cur + 1].first_ts <= x->ts) r->cur++;
  const store_life *l = r->n_lives && r->lives[r->cur].first_ts <= x->ts ? &r->lives[r->cur] : NULL;
  leak_sample ls = {x->ts, (double)x->rss, l ? l->pid : 0, l ? l->started_at : 0, r->limit};
  if (leak_feed(r->e->det, &ls, NULL) == 0) r->e->last_fed_ts = x->ts;
  return 0;
}

/* Replays raw samples newer than the saved state (after a crash) into e->det. */
static int replay_since(store_tx *tx, det_entry *e) {
  replay r = {e, NULL, 0, 0, 0};
  int rc = tx->ops->worker_limit(tx, e->wid, &r.limit);
  if (rc == STORE_ENOTFOUND) return STORE_OK; /* no worker, no samples */
  if (rc == STORE_OK) rc = tx->ops->lives_since(tx, e->wid, e->last_fed_ts, &r.lives, &r.n_lives);
  if (rc == STORE_OK)
    rc = tx->ops->samples_scan(tx, e->wid, nextafter(e->last_fed_ts, INFINITY), INFINITY,
                               replay_one, &r);
  free(r.lives);
  return rc;
}

/* Loads e->wid's saved detector, replays the raw samples stored after it, and looks up the
 * newest stored sample. Returns STORE_OK, or a failure with e->det left NULL. */
static int load_entry(store_tx *tx, det_entry *e) {
  *e = (det_entry){.wid = e->wid};
  unsigned char *blob = NULL;
  size_t len = 0;
  double ts = 0;
  int rc = tx->ops->detector_get(tx, e->wid, &blob, &len, &ts);
  if (rc != STORE_OK && rc != STORE_ENOTFOUND) return rc;
  leak_detector *det = blob ? leak_load(blob, len) : NULL;
  free(blob);
  if (!det) ts = 0; /* none saved, or unreadable: rebuilt from every stored sample */
  if (!det) det = leak_new();
  if (!det) return STORE_ENOMEM;
  e->det = det;
  e->last_fed_ts = e->saved_ts = ts;
  if ((rc = replay_since(tx, e)) == STORE_OK)
    rc = tx->ops->samples_newest(tx, e->wid, &e->stored_newest);
  if (rc != STORE_OK) {
    leak_free(e->det);
    e->det = NULL;
  }
  return rc;
}

static det_entry *cache_find(memstore *m, int64_t wid) {
  size_t h = (size_t)((uint64_t)wid * 0x9E3779B97F4A7C15ULL >> 52) % CACHE_SLOTS;
  for (size_t k = 0; k < CACHE_SLOTS; k++) {
    det_entry *e = &m->slots[(h + k) % CACHE_SLOTS];
    if (e->wid == wid || e->wid == 0) return e;
  }
  return NULL; /* cannot happen: the table is kept at most 3/4 full */
}

static det_entry *cache_get(memstore *m, store_tx *tx, int64_t wid, int *err) {
  det_entry *e = cache_find(m, wid);
  if (e && e->wid == wid) {
    if (!e->det && (*err = load_entry(tx, e))) return NULL;
    return e;
  }
  if (m->used >= CACHE_SLOTS * 3 / 4) { /* full: save and drop everything, reload lazily */
    if ((*err = memstore_flush(m, tx)) != STORE_OK) return NULL;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
      leak_free(m->slots[i].det);
      memset(&m->slots[i], 0, sizeof m->slots[i]);
    }
    m->used = 0;
    e = cache_find(m, wid);
  }
  if (!e) {
    *err = STORE_EIO;
    return NULL;
  }
  e->wid = wid;
  m->used++;
  if ((*err = load_entry(tx, e))) return NULL;
  return e;
}

void memstore_forget(memstore *m, int64_t wid) {
  det_entry *e = wid ? cache_find(m, wid) : NULL;
  if (!e || e->wid != wid) return;
  leak_free(e->det);
  *e = (det_entry){.wid = wid};
}

/* --- the batch ------------------------------------------------------------------------------ */

int memstore_count_states(store_tx *tx, int64_t counts[3]) {
  return tx->ops->worker_states(tx, counts);
}

/* The worker's row, created on its first batch. */
static int upsert_worker(store_tx *tx, int64_t project_id, const memory_payload *p, double first_ts,
                         worker_row *w) {
  memset(w, 0, sizeof *w);
  int rc = tx->ops->worker_get(tx, project_id, p->worker.id, &w->w);
  if (rc == STORE_OK) w->exists = 1;
  if (rc != STORE_ENOTFOUND) return rc;
  return tx->ops->worker_create(tx, project_id, p->worker.id, first_ts, &w->w.id);
}

/* Records the life a batch belongs to: a new pid or started_at opens a life and closes the one
 * before it at the worker's last_seen. */
static int touch_life(store_tx *tx, const worker_row *w, const memory_payload *p, double first_ts,
                      double last_ts) {
  if (w->exists && p->worker.pid == w->w.pid && p->worker.started_at == w->w.started_at)
    return STORE_OK;
  store_life life = {first_ts, p->worker.pid, p->worker.started_at};
  return tx->ops->life_open(tx, w->w.id, w->exists, w->w.last_seen, &life, last_ts);
}

typedef struct bucket {
  int64_t t;
  int64_t n, mn, mx;
  double sum;
} bucket;

/* Adds a bucket to its hour rollup, handing the store its handle on the worker's current hour
 * so that it can update that row directly. */
static int flush_rollup(store_tx *tx, det_entry *e, const bucket *b) {
  store_rollup r = {b->t, b->n, b->mn, b->mx, b->sum};
  int64_t hint = e->hour_row && e->hour_t == b->t ? e->hour_row : 0;
  int rc = tx->ops->rollup_add(tx, e->wid, &r, &hint);
  if (rc == STORE_OK && b->t >= e->hour_t) {
    e->hour_t = b->t;
    e->hour_row = hint;
  }
  return rc;
}

/* Adds a stored sample to the open hour bucket, flushing the previous bucket when the sample
 * falls elsewhere: samples go in timestamp order, so one upsert per hour a batch touches. */
static int roll(store_tx *tx, det_entry *e, bucket *b, double ts, int64_t rss) {
  int64_t t = (int64_t)floor(ts / 3600.0) * 3600;
  if (b->n && b->t != t) {
    int rc = flush_rollup(tx, e, b);
    if (rc != STORE_OK) return rc;
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

static int leak_alert(store_tx *tx, alert_sink *sink, int64_t project_id, const memory_payload *p,
                      int64_t wid, const leak_status *st, double ts, int64_t rss, int started) {
  char *baseline = NULL, *latest = NULL;
  int rc = tx->ops->allocations_get(tx, wid, &baseline, &latest);
  if (rc != STORE_OK) return rc;
  json_t *growing = latest ? memstore_top_growing(baseline, latest, 5) : NULL;
  free(baseline);
  free(latest);
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
  if (!text) return STORE_ENOMEM;
  char summary[512];
  if (started) {
    int n = snprintf(summary, sizeof summary, "Worker %.200s is leaking %.1f MB/h", p->worker.id,
                     st->slope_bytes_per_hour / 1e6);
    if (proj[0] && n > 0 && (size_t)n < sizeof summary)
      snprintf(summary + n, sizeof summary - (size_t)n, "; reaches its limit at %s", proj);
    store_alert a = {project_id, "memory_leak", p->worker.id, 0, ts, summary, text, NULL};
    rc = alerts_fire(tx, sink, &a, NULL);
  } else {
    snprintf(summary, sizeof summary, "Worker %.200s stopped leaking", p->worker.id);
    rc = alerts_resolve(tx, sink, project_id, "memory_leak", p->worker.id, 0, ts, summary, text);
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
static int store_allocations(store_tx *tx, int64_t wid, const memory_sample *first,
                             const memory_sample *last, int new_life) {
  char *base = allocs_text(first), *latest = allocs_text(last);
  int rc =
      base && latest ? tx->ops->allocations_put(tx, wid, base, latest, new_life) : STORE_ENOMEM;
  free(base);
  free(latest);
  return rc;
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

static int ingest(memstore *m, store_tx *tx, alert_sink *sink, int64_t project_id,
                  const memory_payload *p, memstore_result *res) {
  double first_ts = p->samples[0].timestamp, last_ts = first_ts;
  size_t latest = 0;
  for (size_t i = 1; i < p->n_samples; i++) {
    if (p->samples[i].timestamp < first_ts) first_ts = p->samples[i].timestamp;
    if (p->samples[i].timestamp >= last_ts) last_ts = p->samples[i].timestamp, latest = i;
  }
  /* The worker: from the cache when it knows the row, else from (or into) the store. */
  worker_row w;
  det_entry *e = NULL;
  int rc, err = 0;
  int64_t known = names_get(m, project_id, p->worker.id);
  if (known && !(e = cache_get(m, tx, known, &err))) return err;
  if (e && e->row.w.id) {
    w = e->row;
  } else {
    if ((rc = upsert_worker(tx, project_id, p, first_ts, &w))) return rc;
    if ((!e || e->wid != w.w.id) && !(e = cache_get(m, tx, w.w.id, &err))) return err;
    if (names_put(m, project_id, p->worker.id, w.w.id)) return STORE_ENOMEM;
  }
  res->worker_id = w.w.id;
  if ((rc = touch_life(tx, &w, p, first_ts, last_ts))) return rc;

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
  int new_life = !w.exists || p->worker.pid != w.w.pid || p->worker.started_at != w.w.started_at;
  if (last_allocs && (rc = store_allocations(tx, w.w.id, first_allocs, last_allocs, new_life)))
    return rc;

  /* Raw samples, minus retries (same worker and timestamp: stored once, not counted again);
   * then rollups and the detector over the new ones, in timestamp order. */
  long sorted = sorted_batch(m, p);
  if (sorted < 0) return STORE_ENOMEM;
  size_t n_new = (size_t)sorted;
  if ((rc = tx->ops->samples_put(tx, w.w.id, m->batch, &n_new, e->stored_newest))) return rc;
  if (n_new && m->batch[n_new - 1].ts > e->stored_newest) e->stored_newest = m->batch[n_new - 1].ts;
  res->accepted = n_new;
  bucket bh = {0};
  leak_status st;
  int have_status = 0;
  for (size_t i = 0; i < n_new; i++) {
    const memchunk_sample *smp = &m->batch[i];
    if ((rc = roll(tx, e, &bh, smp->ts, smp->rss))) return rc;
    if (smp->ts <= e->last_fed_ts || smp->rss <= 0) continue;
    leak_sample ls = {smp->ts, (double)smp->rss, p->worker.pid, p->worker.started_at,
                      (double)p->worker.memory_limit_bytes};
    if (leak_feed(e->det, &ls, &st) != 0) continue;
    e->last_fed_ts = smp->ts;
    e->unsaved++;
    have_status = 1;
    if (st.transition != LEAK_TR_NONE) {
      int started = st.transition == LEAK_TR_STARTED;
      rc = leak_alert(tx, sink, project_id, p, w.w.id, &st, smp->ts, smp->rss, started);
      if (rc) return rc;
      if (started)
        res->fired++;
      else
        res->resolved++;
    }
  }
  if (bh.n && (rc = flush_rollup(tx, e, &bh))) return rc;
  if (!have_status) leak_current(e->det, &st);

  res->prev_state = w.exists ? w.w.state : -1;
  res->state = st.state >= 0 && st.state <= 2 ? st.state : LEAK_INSUFFICIENT;
  const memory_sample *lt = &p->samples[latest];
  int newer = last_ts >= w.w.last_seen;
  store_worker_update u = {.host = p->worker.host,
                           .service = p->worker.service,
                           .release = p->worker.release,
                           .newest = newer,
                           .pid = p->worker.pid,
                           .started_at = p->worker.started_at,
                           .rss_bytes = lt->rss_bytes,
                           .memory_limit = p->worker.memory_limit_bytes,
                           .last_ts = last_ts,
                           .state = res->state,
                           .slope = st.slope_bytes_per_hour,
                           .confidence = st.confidence,
                           .projected_limit_at = st.projected_limit_at};
  if ((rc = tx->ops->worker_update(tx, w.w.id, &u))) return rc;
  e->row = w; /* as the update left it */
  e->row.exists = 1;
  if (newer) e->row.w.pid = p->worker.pid, e->row.w.started_at = p->worker.started_at;
  if (last_ts > e->row.w.last_seen) e->row.w.last_seen = last_ts;
  e->row.w.state = res->state;
  if (e->unsaved >= SAVE_EVERY_SAMPLES || res->fired || res->resolved) return save_entry(tx, e);
  return STORE_OK;
}

int memstore_ingest(memstore *m, store_tx *tx, alert_sink *sink, int64_t project_id,
                    const memory_payload *p, memstore_result *res) {
  memset(res, 0, sizeof *res);
  int rc = ingest(m, tx, sink, project_id, p, res);
  if (rc) memstore_forget(m, res->worker_id); /* the savepoint is undone: so is what it taught */
  return rc;
}
