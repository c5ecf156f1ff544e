/* test_chunks: raw samples in SQLite through storage/sqlite/chunks.c on a real database file:
 * retries and partial overlaps are stored once, late and interleaved batches read back in timestamp
 * order, long batches split within the chunk bounds, a corrupt chunk is skipped, retention
 * drops a chunk once it is wholly past the cutoff, and migration
 * 5 turns a database of the previous schema (one row per sample) into chunks that read back
 * the same samples. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "sqlite/chunks.h"
#include "sqlite/db.h"
#include "util/log.h"
#include "sqlite/schema.h"
#include "testdb.h"
#include "testutil.h"

#define T0  1700000000.0
#define WID 7

static char dir[] = "/tmp/sluice-test-chunks.XXXXXX";

typedef struct got {
  memchunk_sample v[4096];
  size_t n;
  size_t stop_at; /* 0: never stop */
} got;

static int collect(void *ctx, const memchunk_sample *s) {
  got *g = ctx;
  if (g->n < 4096) g->v[g->n++] = *s;
  return g->stop_at && g->n == g->stop_at ? 42 : 0;
}

static void read_all(db *d, int64_t wid, double from, double to, got *g) {
  g->n = 0;
  CHECK(chunks_scan(d, wid, from, to, collect, g) == 0);
  for (size_t i = 1; i < g->n; i++) CHECK(g->v[i].ts > g->v[i - 1].ts);
}

/* Samples at T0 + first, + step, ... (count of them), rss = 1000 + offset in seconds. */
static size_t series(memchunk_sample *s, double first, double step, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double off = first + step * (double)i;
    s[i] = (memchunk_sample){T0 + off, 1000 + (int64_t)off, -1, -1, -1, -1};
  }
  return n;
}

static size_t put_batch(db *d, memchunk_sample *s, size_t n) {
  CHECK(chunks_store(d, WID, s, &n, INFINITY) == 0);
  return n;
}

TEST(retries_and_overlaps_are_stored_once) {
  db *d = tdb_open(dir, "dedup.db");
  memchunk_sample s[64];
  CHECK_EQ_INT(put_batch(d, s, series(s, 10, 10, 20)), 20); /* 10..200 */
  CHECK_EQ_INT(put_batch(d, s, series(s, 10, 10, 20)), 0);  /* the same batch again */
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM sample_chunks"), 1);
  size_t n = series(s, 160, 10, 10); /* 160..250: 5 stored, 5 new */
  CHECK_EQ_INT(put_batch(d, s, n), 5);
  for (size_t i = 0; i < 5; i++) CHECK(s[i].ts == T0 + 210 + 10 * (double)i);
  /* a late batch interleaved with what is stored: 5, 15, ..., 245 (none stored yet) */
  CHECK_EQ_INT(put_batch(d, s, series(s, 5, 10, 25)), 25);
  CHECK_EQ_INT(put_batch(d, s, series(s, 5, 5, 50)), 0); /* every one of 5..250 is there now */
  got *g = calloc(1, sizeof *g);
  read_all(d, WID, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 50);
  for (size_t i = 0; i < g->n; i++) {
    CHECK(g->v[i].ts == T0 + 5 + 5 * (double)i);
    CHECK_EQ_INT(g->v[i].rss, 1000 + 5 + 5 * (int64_t)i);
  }
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM sample_chunks"), 50);
  read_all(d, WID, T0 + 100, T0 + 120, g); /* bounds are inclusive */
  CHECK_EQ_INT(g->n, 5);
  read_all(d, WID + 1, 0, INFINITY, g); /* another worker has none */
  CHECK_EQ_INT(g->n, 0);
  g->stop_at = 3;
  CHECK_EQ_INT(chunks_scan(d, WID, 0, INFINITY, collect, g), 42);
  CHECK_EQ_INT(g->n, 3);
  free(g);
  db_close(d);
}

TEST(long_batches_split_within_bounds) {
  db *d = tdb_open(dir, "split.db");
  static memchunk_sample s[1000];
  CHECK_EQ_INT(put_batch(d, s, series(s, 0, 30, 1000)), 1000); /* 8.3 hours */
  CHECK_EQ_INT(tdb_count(d, "SELECT max(t1 - t0) <= 600 AND max(n) <= 128 FROM sample_chunks"), 1);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM sample_chunks"), 48); /* 21 per 600 s */
  CHECK_EQ_INT(put_batch(d, s, series(s, 0, 1, 1000)), 1000 - 34);      /* 0, 30, ... stored */
  CHECK_EQ_INT(tdb_count(d, "SELECT max(t1 - t0) <= 600 AND max(n) <= 128 FROM sample_chunks"), 1);
  got *g = calloc(1, sizeof *g);
  read_all(d, WID, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 1000 + 1000 - 34);
  read_all(d, WID, T0 + 500, T0 + 700, g); /* across chunks of both batches */
  CHECK_EQ_INT(g->n, 201);                 /* every second from 500 to 700 */
  free(g);
  db_close(d);
}

TEST(a_corrupt_chunk_is_skipped) {
  db *d = tdb_open(dir, "corrupt.db");
  memchunk_sample s[64];
  put_batch(d, s, series(s, 0, 10, 20));
  put_batch(d, s, series(s, 200, 10, 20));
  put_batch(d, s, series(s, 400, 10, 20));
  CHECK(db_exec(d, "UPDATE sample_chunks SET data = substr(data, 1, 20) WHERE t0 = 1700000200") ==
        SQLITE_OK);
  got *g = calloc(1, sizeof *g);
  read_all(d, WID, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 40);
  CHECK(db_exec(d, "UPDATE sample_chunks SET t1 = t1 + 1 WHERE t0 = 1700000400") == SQLITE_OK);
  read_all(d, WID, 0, INFINITY, g); /* a key that disagrees with its blob */
  CHECK_EQ_INT(g->n, 20);
  free(g);
  db_close(d);
}

TEST(retention_drops_chunks_wholly_past_the_cutoff) {
  db *d = tdb_open(dir, "retention.db");
  CHECK(db_exec(d, "INSERT INTO workers(id, project_id, name, first_seen, last_seen)"
                   " VALUES(7, 1, 'w', 0, 0)") == SQLITE_OK);
  memchunk_sample s[64];
  put_batch(d, s, series(s, 0, 10, 20));   /* 0..190 */
  put_batch(d, s, series(s, 200, 10, 20)); /* 200..390: straddles the cutoff at 300 */
  put_batch(d, s, series(s, 400, 10, 20)); /* 400..590 */
  double cutoff = T0 + 300;                /* raw retention: a cutoff at T0 + 300 */
  sq_tx t;
  store_tx *tx = tdb_tx(d, &t);
  int64_t n = 0;
  CHECK_EQ_INT(tx->ops->retention(tx, STORE_RET_SAMPLES, cutoff, 5000, &n), STORE_OK);
  CHECK_EQ_INT(n, 1);
  got *g = calloc(1, sizeof *g);
  read_all(d, WID, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 40);
  CHECK(g->n && g->v[0].ts == T0 + 200);
  CHECK_EQ_INT(tx->ops->retention(tx, STORE_RET_SAMPLES, cutoff, 5000, &n), STORE_OK);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(tx->ops->retention(tx, STORE_RET_SAMPLES, cutoff + 100, 5000, &n), STORE_OK);
  CHECK_EQ_INT(n, 1); /* now wholly old */
  read_all(d, WID, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 20);
  free(g);
  db_close(d);
}

/* A database left by the previous release: schema 4, raw samples one row each. */
TEST(migration_packs_old_samples_into_chunks) {
  char path[128];
  snprintf(path, sizeof path, "%s/old.db", dir);
  sqlite3 *h;
  CHECK(sqlite3_open(path, &h) == SQLITE_OK);
  CHECK(sqlite3_exec(h, "PRAGMA auto_vacuum=INCREMENTAL", NULL, NULL, NULL) == SQLITE_OK);
  for (int v = 0; v < 4; v++)
    CHECK(sqlite3_exec(h, schema_migrations[v].sql, NULL, NULL, NULL) == SQLITE_OK);
  CHECK(sqlite3_exec(h,
                     "PRAGMA user_version=4;"
                     "INSERT INTO workers(id, project_id, name, first_seen, last_seen)"
                     " VALUES(1, 1, 'a', 0, 0), (2, 1, 'b', 0, 0);"
                     "BEGIN",
                     NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_stmt *ins;
  CHECK(sqlite3_prepare_v2(h, "INSERT INTO samples VALUES(?,?,?,?,?,?,?)", -1, &ins, NULL) ==
        SQLITE_OK);
  /* worker 1: 3000 samples every 10 s with gaps, some optional values; worker 2: three, one of
   * them with a fractional timestamp; and one row no chunk can hold (negative rss) */
  size_t n1 = 0;
  for (int i = 0; i < 3300; i++) {
    if (i % 1000 >= 900) continue; /* 15-minute gaps */
    sqlite3_bind_int64(ins, 1, 1);
    sqlite3_bind_double(ins, 2, T0 + 10.0 * i);
    sqlite3_bind_int64(ins, 3, 5000000 + i);
    if (i % 3 == 0)
      sqlite3_bind_int64(ins, 4, i);
    else
      sqlite3_bind_null(ins, 4);
    sqlite3_bind_null(ins, 5);
    sqlite3_bind_null(ins, 6);
    if (i % 7 == 0)
      sqlite3_bind_int64(ins, 7, 2 * i);
    else
      sqlite3_bind_null(ins, 7);
    CHECK(sqlite3_step(ins) == SQLITE_DONE);
    sqlite3_reset(ins);
    n1++;
  }
  sqlite3_finalize(ins);
  CHECK(sqlite3_exec(h,
                     "INSERT INTO samples VALUES(2, 1700000000.25, 10, 1, 2, 3, 4),"
                     " (2, 1700000010.123456, 20, NULL, NULL, NULL, NULL),"
                     " (2, 1700000020, 30, 0, 0, 0, 0), (2, 1700000030, -5, 0, 0, 0, 0);"
                     "COMMIT",
                     NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(h);

  db *d = db_open(path, false, 0); /* migrates */
  CHECK(d != NULL);
  if (!d) return;
  CHECK_EQ_INT(tdb_count(d, "PRAGMA user_version"), db_schema_version());
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM sqlite_master WHERE name='samples'"), 0);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM sample_chunks"), n1 + 3);
  CHECK_EQ_INT(tdb_count(d, "SELECT max(t1 - t0) <= 600 AND max(n) <= 128 FROM sample_chunks"), 1);
  got *g = calloc(1, sizeof *g);
  read_all(d, 1, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, n1);
  size_t k = 0;
  for (int i = 0; i < 3300 && k < g->n; i++) {
    if (i % 1000 >= 900) continue;
    const memchunk_sample *x = &g->v[k++];
    CHECK(x->ts == T0 + 10.0 * i);
    CHECK_EQ_INT(x->rss, 5000000 + i);
    CHECK_EQ_INT(x->heap, i % 3 == 0 ? i : -1);
    CHECK_EQ_INT(x->pss, -1);
    CHECK_EQ_INT(x->requests, i % 7 == 0 ? 2 * i : -1);
  }
  read_all(d, 2, 0, INFINITY, g);
  CHECK_EQ_INT(g->n, 3);
  CHECK(g->v[0].ts == 1700000000.25 && g->v[0].rss == 10 && g->v[0].heap == 1 && g->v[0].pss == 2 &&
        g->v[0].uss == 3 && g->v[0].requests == 4);
  CHECK(g->v[1].ts == 1700000010.123456 && g->v[1].heap == -1 && g->v[1].requests == -1);
  CHECK(g->v[2].ts == 1700000020 && g->v[2].uss == 0);
  free(g);
  db_close(d);
  d = db_open(path, false, 0); /* opening again changes nothing */
  CHECK(d != NULL);
  if (d) CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM sample_chunks"), n1 + 3);
  db_close(d);
}

int main(void) {
  log_set_level(LOG_WARN); /* also links log.c, which the storage library needs */
  if (!mkdtemp(dir)) return 1;
  RUN(retries_and_overlaps_are_stored_once);
  RUN(long_batches_split_within_bounds);
  RUN(a_corrupt_chunk_is_skipped);
  RUN(retention_drops_chunks_wholly_past_the_cutoff);
  RUN(migration_packs_old_samples_into_chunks);
  tu_remove_dir(dir);
  TEST_EXIT();
}
