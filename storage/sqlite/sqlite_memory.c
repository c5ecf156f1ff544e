/* sqlite_memory: the statements behind memory samples: workers, their lives, hour rollups,
 * allocation reports, saved detector states, and retention of samples and rollups (raw samples
 * themselves are chunks.c's). Writer connection only, inside the writer's transaction. The
 * leak detector and what it decides live above this layer (server/memory). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite/chunks.h"
#include "sqlite/sqlite_int.h"

static const char *const state_names[] = {"ok", "leaking", "insufficient_data"};

static int state_from_text(const char *t) {
  for (int i = 0; i < 3; i++) {
    if (t && !strcmp(t, state_names[i])) return i;
  }
  return STORE_WORKER_INSUFFICIENT;
}

int sq_worker_get(store_tx *tx, int64_t project_id, const char *name, store_worker *w) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT id, pid, started_at, last_seen, state FROM workers"
                                       " WHERE project_id=? AND name=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  memset(w, 0, sizeof *w);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    w->id = sqlite3_column_int64(s, 0);
    w->pid = sqlite3_column_int64(s, 1);
    w->started_at = sqlite3_column_double(s, 2);
    w->last_seen = sqlite3_column_double(s, 3);
    w->state = state_from_text((const char *)sqlite3_column_text(s, 4));
  }
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_worker_create(store_tx *tx, int64_t project_id, const char *name, double first_ts,
                     int64_t *id) {
  db *d = sq_db(tx);
  sqlite3_stmt *s =
      db_stmt(d, "INSERT INTO workers(project_id, name, first_seen, last_seen) VALUES(?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, project_id);
  sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 3, first_ts);
  sqlite3_bind_double(s, 4, first_ts);
  if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  *id = sqlite3_last_insert_rowid(db_handle(d));
  return STORE_OK;
}

int sq_worker_update(store_tx *tx, int64_t wid, const store_worker_update *u) {
  sqlite3_stmt *s =
      db_stmt(sq_db(tx),
              "UPDATE workers SET host=coalesce(?1, host), service=coalesce(?2, service),"
              " release=coalesce(?3, release), pid=CASE WHEN ?11 THEN ?4 ELSE pid END,"
              " started_at=CASE WHEN ?11 THEN ?5 ELSE started_at END,"
              " memory_limit_bytes=CASE WHEN ?6 > 0 THEN ?6 ELSE memory_limit_bytes END,"
              " last_seen=max(last_seen, ?7), rss_bytes=CASE WHEN ?11 THEN ?8 ELSE rss_bytes END,"
              " state=?9, slope_bytes_per_hour=?10, confidence=?12, projected_limit_at=?13"
              " WHERE id=?14");
  if (!s) return STORE_EIO;
  int state = u->state >= 0 && u->state <= 2 ? u->state : STORE_WORKER_INSUFFICIENT;
  sq_bind_text(s, 1, u->host);
  sq_bind_text(s, 2, u->service);
  sq_bind_text(s, 3, u->release);
  sqlite3_bind_int64(s, 4, u->pid);
  sqlite3_bind_double(s, 5, u->started_at);
  sqlite3_bind_int64(s, 6, u->memory_limit);
  sqlite3_bind_double(s, 7, u->last_ts);
  sqlite3_bind_int64(s, 8, u->rss_bytes);
  sqlite3_bind_text(s, 9, state_names[state], -1, SQLITE_STATIC);
  sqlite3_bind_double(s, 10, u->slope);
  sqlite3_bind_int(s, 11, u->newest);
  sqlite3_bind_double(s, 12, u->confidence);
  if (u->projected_limit_at > 0) sqlite3_bind_double(s, 13, u->projected_limit_at);
  sqlite3_bind_int64(s, 14, wid);
  return sq_step_done(s);
}

int sq_worker_limit(store_tx *tx, int64_t wid, double *limit) {
  sqlite3_stmt *s =
      db_stmt(sq_db(tx), "SELECT coalesce(memory_limit_bytes, 0) FROM workers WHERE id=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *limit = (double)sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
  return rc == SQLITE_ROW ? STORE_OK : STORE_EIO;
}

int sq_worker_states(store_tx *tx, int64_t counts[3]) {
  counts[0] = counts[1] = counts[2] = 0;
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT state, count(*) FROM workers GROUP BY state");
  if (!s) return STORE_EIO;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    counts[state_from_text((const char *)sqlite3_column_text(s, 0))] += sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? STORE_OK : STORE_EIO;
}

/* The open life's last_ts is not written per batch (that was a statement and a dirty page each
 * time): readers take max(last_ts, workers.last_seen) for the latest life (sqlite_read_memory.c).
 * It is written when the life is closed by the next one. */
int sq_life_open(store_tx *tx, int64_t wid, int close_previous, double prev_last_seen,
                 const store_life *life, double last_ts) {
  db *d = sq_db(tx);
  sqlite3_stmt *s;
  if (close_previous) {
    s = db_stmt(d, "UPDATE worker_lives SET last_ts=max(last_ts, ?1) WHERE worker=?2 AND"
                   " first_ts=(SELECT max(first_ts) FROM worker_lives WHERE worker=?2)");
    if (!s) return STORE_EIO;
    sqlite3_bind_double(s, 1, prev_last_seen);
    sqlite3_bind_int64(s, 2, wid);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
  }
  s = db_stmt(d, "INSERT OR IGNORE INTO worker_lives(worker, first_ts, last_ts, pid, started_at)"
                 " VALUES(?,?,?,?,?)");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_double(s, 2, life->first_ts);
  sqlite3_bind_double(s, 3, last_ts);
  sqlite3_bind_int64(s, 4, life->pid);
  sqlite3_bind_double(s, 5, life->started_at);
  return sq_step_done(s);
}

int sq_lives_since(store_tx *tx, int64_t wid, double ts, store_life **out, size_t *n) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *s =
      db_stmt(sq_db(tx), "SELECT first_ts, coalesce(pid, 0), coalesce(started_at, 0) FROM"
                         " worker_lives WHERE worker=?1 AND first_ts >= coalesce((SELECT"
                         " max(first_ts) FROM worker_lives WHERE worker=?1 AND first_ts <= ?2), 0)"
                         " ORDER BY first_ts");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_double(s, 2, ts);
  int rc = STORE_OK, step;
  size_t cap = 0;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      store_life *l = realloc(*out, cap * sizeof *l);
      if (!l) {
        rc = STORE_ENOMEM;
        break;
      }
      *out = l;
    }
    (*out)[(*n)++] = (store_life){sqlite3_column_double(s, 0), sqlite3_column_int64(s, 1),
                                  sqlite3_column_double(s, 2)};
  }
  if (rc == STORE_OK && step != SQLITE_DONE) rc = STORE_EIO;
  sqlite3_reset(s);
  if (rc != STORE_OK) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int sq_samples_put(store_tx *tx, int64_t wid, memchunk_sample *s, size_t *n, double newest) {
  return chunks_store(sq_db(tx), wid, s, n, newest) == 0 ? STORE_OK : STORE_EIO;
}

int sq_samples_newest(store_tx *tx, int64_t wid, double *ts) {
  return chunks_newest(sq_db(tx), wid, ts) == 0 ? STORE_OK : STORE_EIO;
}

int sq_samples_scan(store_tx *tx, int64_t wid, double from, double to, store_sample_fn fn,
                    void *ctx) {
  int rc = chunks_scan(sq_db(tx), wid, from, to, fn, ctx);
  return rc < 0 ? STORE_EIO : STORE_OK;
}

/* The worker's current hour is updated by rowid (one lookup, where the upsert takes two); any
 * other hour, or a row that is gone, goes through the upsert. Rollup rows are laid out hour by
 * hour (migration 7), so a commit's upserts share pages. */
int sq_rollup_add(store_tx *tx, int64_t wid, const store_rollup *r, int64_t *hint) {
  db *d = sq_db(tx);
  sqlite3_stmt *s;
  if (*hint) {
    s = db_stmt(d, "UPDATE rollup_hour SET n=n+?1, rss_min=min(rss_min, ?2),"
                   " rss_max=max(rss_max, ?3), rss_sum=rss_sum+?4 WHERE id=?5");
    if (!s) return STORE_EIO;
    sqlite3_bind_int64(s, 1, r->n);
    sqlite3_bind_int64(s, 2, r->rss_min);
    sqlite3_bind_int64(s, 3, r->rss_max);
    sqlite3_bind_double(s, 4, r->rss_sum);
    sqlite3_bind_int64(s, 5, *hint);
    if (sq_step_done(s) != STORE_OK) return STORE_EIO;
    if (sqlite3_changes(db_handle(d)) == 1) return STORE_OK;
  }
  s = db_stmt(d, "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum)"
                 " VALUES(?,?,?,?,?,?) ON CONFLICT(worker, t) DO UPDATE SET n=n+excluded.n,"
                 " rss_min=min(rss_min, excluded.rss_min), rss_max=max(rss_max, excluded.rss_max),"
                 " rss_sum=rss_sum+excluded.rss_sum RETURNING id");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_int64(s, 2, r->t);
  sqlite3_bind_int64(s, 3, r->n);
  sqlite3_bind_int64(s, 4, r->rss_min);
  sqlite3_bind_int64(s, 5, r->rss_max);
  sqlite3_bind_double(s, 6, r->rss_sum);
  if (sqlite3_step(s) != SQLITE_ROW) {
    sqlite3_reset(s);
    return STORE_EIO;
  }
  *hint = sqlite3_column_int64(s, 0);
  return sq_step_done(s);
}

int sq_allocations_put(store_tx *tx, int64_t wid, const char *baseline, const char *latest,
                       int new_life) {
  sqlite3_stmt *s =
      db_stmt(sq_db(tx), "INSERT INTO worker_allocations(worker, baseline, latest)"
                         " VALUES(?3, ?4, ?1) ON CONFLICT(worker) DO UPDATE SET latest=?1,"
                         " baseline=CASE WHEN ?2 OR baseline IS NULL THEN ?4 ELSE baseline"
                         " END");
  if (!s) return STORE_EIO;
  sqlite3_bind_text(s, 1, latest, -1, SQLITE_STATIC);
  sqlite3_bind_int(s, 2, new_life);
  sqlite3_bind_int64(s, 3, wid);
  sqlite3_bind_text(s, 4, baseline, -1, SQLITE_STATIC);
  return sq_step_done(s);
}

static int dup_col(sqlite3_stmt *s, int col, char **out) {
  const char *t = (const char *)sqlite3_column_text(s, col);
  *out = t ? strdup(t) : NULL;
  return t && !*out ? -1 : 0;
}

int sq_allocations_get(store_tx *tx, int64_t wid, char **baseline, char **latest) {
  *baseline = *latest = NULL;
  sqlite3_stmt *s =
      db_stmt(sq_db(tx), "SELECT baseline, latest FROM worker_allocations WHERE worker=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  int rc = sqlite3_step(s), st = STORE_OK;
  if (rc == SQLITE_ROW && (dup_col(s, 0, baseline) || dup_col(s, 1, latest))) st = STORE_ENOMEM;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) st = STORE_EIO;
  sqlite3_reset(s);
  if (st != STORE_OK) {
    free(*baseline);
    free(*latest);
    *baseline = *latest = NULL;
  }
  return st;
}

int sq_detector_get(store_tx *tx, int64_t wid, unsigned char **blob, size_t *len, double *fed_ts) {
  *blob = NULL;
  *len = 0;
  sqlite3_stmt *s = db_stmt(sq_db(tx), "SELECT state, fed_ts FROM worker_detectors WHERE worker=?");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  int rc = sqlite3_step(s), st = STORE_ENOTFOUND;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) > 0) {
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    if ((*blob = malloc(n))) {
      memcpy(*blob, sqlite3_column_blob(s, 0), n);
      *len = n;
      *fed_ts = sqlite3_column_double(s, 1);
      st = STORE_OK;
    } else {
      st = STORE_ENOMEM;
    }
  } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    st = STORE_EIO;
  }
  sqlite3_reset(s);
  return st;
}

/* Kept apart from the workers row, which is updated on every batch: SQLite rewrites a whole
 * record, overflow pages included, on any UPDATE. */
int sq_detector_put(store_tx *tx, int64_t wid, double fed_ts, const unsigned char *blob,
                    size_t len) {
  sqlite3_stmt *s = db_stmt(sq_db(tx), "INSERT INTO worker_detectors(worker, fed_ts, state)"
                                       " VALUES(?,?,?) ON CONFLICT(worker) DO UPDATE SET"
                                       " fed_ts=excluded.fed_ts, state=excluded.state");
  if (!s) return STORE_EIO;
  sqlite3_bind_int64(s, 1, wid);
  sqlite3_bind_double(s, 2, fed_ts);
  sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC);
  return sq_step_done(s);
}

/* Retention walks the workers and deletes by primary-key range (worker, time), so each
 * statement is an index seek rather than a scan of every sample; at most max_rows rows per
 * pass. A raw chunk goes once its last sample (t1) is past the cutoff, so one that straddles it
 * stays until it is wholly old. */
int sq_memory_retention(db *d, store_retention_kind kind, double cutoff, int64_t max_rows,
                        int64_t *deleted) {
  const char *sql = kind == STORE_RET_SAMPLES
                        ? "DELETE FROM sample_chunks WHERE worker=?1 AND t1 IN"
                          " (SELECT t1 FROM sample_chunks WHERE worker=?1 AND t1 < ?2 LIMIT ?3)"
                        : "DELETE FROM rollup_hour WHERE worker=?1 AND t IN"
                          " (SELECT t FROM rollup_hour WHERE worker=?1 AND t < ?2 LIMIT ?3)";
  sqlite3_stmt *w = db_stmt(d, "SELECT id FROM workers ORDER BY id");
  if (!w) return STORE_EIO;
  int64_t left = max_rows;
  int rc = SQLITE_DONE;
  *deleted = 0;
  while (left > 0 && (rc = sqlite3_step(w)) == SQLITE_ROW) {
    int64_t wid = sqlite3_column_int64(w, 0);
    sqlite3_stmt *s = db_stmt(d, sql);
    if (!s) break;
    sqlite3_bind_int64(s, 1, wid);
    sqlite3_bind_double(s, 2, cutoff);
    sqlite3_bind_int64(s, 3, left);
    if (sq_step_done(s) != STORE_OK) {
      sqlite3_reset(w);
      return STORE_EIO;
    }
    int64_t del = sqlite3_changes(db_handle(d));
    left -= del;
    *deleted += del;
  }
  if (left > 0 && rc != SQLITE_DONE) {
    sqlite3_reset(w);
    return STORE_EIO;
  }
  sqlite3_reset(w);
  return STORE_OK;
}
