/* test_memstore: the writer's memory bookkeeping on a real database file. What memstore caches
 * (the detector, the newest stored sample) never outlives the writes it came from: a retry after
 * a restart is still stored once, and a batch whose transaction was undone leaves the detector as
 * if it had never been sent, and a worker whose first batch was undone is created again. The open
 * life of a worker reads as ending at its last sample although the writer does not move it per
 * batch, and migration 7 keeps every hour rollup. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite/db.h"
#include "util/log.h"
#include "memory/memory_payload.h"
#include "memory/memstore.h"
#include "sqlite/schema.h"
#include "testdb.h"
#include "testutil.h"

#define T0      1700000000.0
#define PROJECT 1

static char dir[] = "/tmp/sluice-test-memstore.XXXXXX";

/* A batch of n samples every 10 s from T0 + first, RSS growing 1 MiB a sample, from pid (pid
 * 10 started just before T0, every next pid 300 s later). */
static void batch(memory_payload *p, int pid, double first, int n) {
  char body[8192];
  int len = snprintf(body, sizeof body,
                     "{\"worker\":{\"id\":\"web-1/gunicorn-0\",\"pid\":%d,\"started_at\":%.0f},"
                     "\"samples\":[",
                     pid, T0 + 300.0 * (pid - 10) - 5);
  for (int i = 0; i < n; i++) {
    double ts = T0 + first + 10.0 * i;
    len +=
        snprintf(body + len, sizeof body - (size_t)len, "%s{\"timestamp\":%.0f,\"rss_bytes\":%.0f}",
                 i ? "," : "", ts, 100e6 + 1048576.0 * (ts - T0) / 10.0);
  }
  len += snprintf(body + len, sizeof body - (size_t)len, "]}");
  char err[256];
  int rc = memory_payload_parse(body, (size_t)len, T0 + 86400, NULL, p, err, sizeof err);
  if (rc) fprintf(stderr, "parse: %s\n", err);
  CHECK_EQ_INT(rc, MEMORY_PAYLOAD_OK);
}

/* Stores one batch in its own transaction; commit 0 rolls it back. Returns what was stored. */
static memstore_result put_batch(memstore *m, db *d, int pid, double first, int n, int commit) {
  memory_payload p;
  memstore_result res = {0};
  batch(&p, pid, first, n);
  sq_tx t;
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(memstore_ingest(m, tdb_tx(d, &t), NULL, PROJECT, &p, &res), 0);
  CHECK_EQ_INT(db_exec(d, commit ? "COMMIT" : "ROLLBACK"), SQLITE_OK);
  memory_payload_free(&p);
  return res;
}

static void flush(memstore *m, db *d) {
  sq_tx t;
  CHECK_EQ_INT(db_exec(d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(memstore_flush(m, tdb_tx(d, &t)), 0);
  CHECK_EQ_INT(db_exec(d, "COMMIT"), SQLITE_OK);
}

/* The saved detector state of the only worker, as hex (for comparing two runs). */
static char *detector_hex(db *d) {
  sqlite3_stmt *s;
  char *out = NULL;
  if (sqlite3_prepare_v2(db_handle(d), "SELECT hex(state) FROM worker_detectors", -1, &s, NULL) !=
      SQLITE_OK)
    return NULL;
  if (sqlite3_step(s) == SQLITE_ROW) out = strdup((const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  return out;
}

TEST(a_retry_after_a_restart_is_stored_once) {
  db *d = tdb_open(dir, "restart.db");
  if (!d) return;
  memstore *m = memstore_new();
  CHECK_EQ_INT(put_batch(m, d, 10, 0, 20, 1).accepted, 20);
  CHECK_EQ_INT(put_batch(m, d, 10, 0, 20, 1).accepted, 0); /* a retry, cache warm */
  memstore_free(m);
  m = memstore_new();                                         /* a restart: nothing cached */
  CHECK_EQ_INT(put_batch(m, d, 10, 100, 20, 1).accepted, 10); /* half retry, half new */
  CHECK_EQ_INT(put_batch(m, d, 10, 200, 20, 1).accepted, 10);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM sample_chunks"), 40);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM rollup_hour"), 40);
  memstore_free(m);
  db_close(d);
}

TEST(a_batch_whose_transaction_was_undone_leaves_no_trace_in_the_detector) {
  /* reference: batches A and C */
  db *ref = tdb_open(dir, "ref.db");
  if (!ref) return;
  memstore *m = memstore_new();
  for (int i = 0; i < 40; i++) put_batch(m, ref, 10, 200.0 * i, 20, 1);
  put_batch(m, ref, 10, 200.0 * 41, 20, 1);
  flush(m, ref);
  char *want = detector_hex(ref);
  memstore_free(m);
  db_close(ref);

  /* the same, with a batch B in between whose transaction is rolled back */
  db *d = tdb_open(dir, "undone.db");
  if (!d) return;
  m = memstore_new();
  memstore_result res = {0};
  for (int i = 0; i < 40; i++) res = put_batch(m, d, 10, 200.0 * i, 20, 1);
  put_batch(m, d, 10, 200.0 * 40, 20, 0);
  memstore_forget(m, res.worker_id); /* what the writer's undone() does */
  put_batch(m, d, 10, 200.0 * 41, 20, 1);
  flush(m, d);
  char *got = detector_hex(d);
  CHECK(want && got && strcmp(want, got) == 0);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM sample_chunks"), 41 * 20);
  free(want);
  free(got);
  memstore_free(m);
  db_close(d);
}

TEST(a_new_worker_whose_insert_was_undone_is_created_again) {
  db *d = tdb_open(dir, "new-undone.db");
  if (!d) return;
  memstore *m = memstore_new();
  memstore_result res = put_batch(m, d, 10, 0, 20, 0); /* rolled back */
  memstore_forget(m, res.worker_id);
  CHECK_EQ_INT(put_batch(m, d, 10, 200, 20, 1).accepted, 20);
  CHECK_EQ_INT(put_batch(m, d, 10, 400, 20, 1).accepted, 20);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM workers"), 1);
  CHECK_EQ_INT(tdb_count(d, "SELECT last_seen FROM workers"), (int64_t)T0 + 590);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM sample_chunks WHERE worker IN"
                            " (SELECT id FROM workers)"),
               2);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n) FROM rollup_hour WHERE worker IN"
                            " (SELECT id FROM workers)"),
               40);
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM worker_lives"), 1);
  memstore_free(m);
  db_close(d);
}

TEST(the_open_life_ends_at_the_last_sample) {
  db *d = tdb_open(dir, "lives.db");
  if (!d) return;
  memstore *m = memstore_new();
  put_batch(m, d, 10, 0, 10, 1);   /* pid 10: 0..90 */
  put_batch(m, d, 10, 100, 10, 1); /* 100..190 */
  put_batch(m, d, 11, 300, 10, 1); /* restarted: pid 11 from 300 */
  put_batch(m, d, 11, 400, 10, 1); /* 400..490 */
  put_batch(m, d, 11, 500, 10, 1); /* 500..590 */
  sq_rd r;
  store_memory_query q = {PROJECT, "web-1/gunicorn-0", T0 - 60, T0 + 3600, 1000, NULL, NULL};
  json_t *doc = NULL;
  CHECK_EQ_INT(sq_read_worker_memory(tdb_rd(d, &r), &q, &doc), STORE_OK);
  free(q.alloc_baseline);
  free(q.alloc_latest);
  CHECK(doc != NULL);
  json_t *lives = json_object_get(doc, "lives");
  CHECK_EQ_INT(json_array_size(lives), 2);
  if (json_array_size(lives) == 2) {
    json_t *a = json_array_get(lives, 0), *b = json_array_get(lives, 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(a, "pid")), 10);
    CHECK(json_real_value(json_object_get(a, "first_ts")) == T0);
    CHECK(json_real_value(json_object_get(a, "last_ts")) == T0 + 190);
    CHECK_EQ_INT(json_integer_value(json_object_get(b, "pid")), 11);
    CHECK(json_real_value(json_object_get(b, "first_ts")) == T0 + 300);
    CHECK(json_real_value(json_object_get(b, "last_ts")) == T0 + 590);
  }
  json_decref(doc);
  memstore_free(m);
  db_close(d);
}

/* A database left by the previous release (schema 6), hour rollups keyed by worker. */
TEST(migration_7_keeps_every_hour_rollup) {
  tdb_old(dir, "v6.db", 6,
          "INSERT INTO rollup_hour VALUES(1, 7200, 360, 5, 9, 2520.0),"
          " (1, 3600, 360, 4, 8, 2160.0), (2, 3600, 12, 1, 2, 18.0);");
  db *d = tdb_open(dir, "v6.db"); /* migrates */
  if (!d) return;
  CHECK_EQ_INT(tdb_count(d, "PRAGMA user_version"), db_schema_version());
  CHECK_EQ_INT(tdb_count(d, "SELECT count(*) FROM rollup_hour"), 3);
  CHECK_EQ_INT(tdb_count(d, "SELECT sum(n * 1000000 + rss_min * 1000 + rss_max) FROM rollup_hour"),
               360005009 + 360004008 + 12001002);
  CHECK_EQ_INT(tdb_count(d, "SELECT rss_sum FROM rollup_hour WHERE worker=1 AND t=7200"), 2520);
  /* laid out hour by hour: the first rows are the earliest hour's */
  CHECK_EQ_INT(tdb_count(d, "SELECT max(id) FROM rollup_hour WHERE t=3600"), 2);
  /* and the upsert still finds a row by (worker, t) */
  CHECK_EQ_INT(db_exec(d, "INSERT INTO rollup_hour(worker, t, n, rss_min, rss_max, rss_sum)"
                          " VALUES(2, 3600, 1, 0, 0, 0) ON CONFLICT(worker, t) DO UPDATE SET"
                          " n=n+excluded.n"),
               SQLITE_OK);
  CHECK_EQ_INT(tdb_count(d, "SELECT n FROM rollup_hour WHERE worker=2 AND t=3600"), 13);
  db_close(d);
}

int main(void) {
  log_set_level(LOG_ERROR);
  CHECK(mkdtemp(dir) != NULL);
  RUN(a_retry_after_a_restart_is_stored_once);
  RUN(a_batch_whose_transaction_was_undone_leaves_no_trace_in_the_detector);
  RUN(a_new_worker_whose_insert_was_undone_is_created_again);
  RUN(the_open_life_ends_at_the_last_sample);
  RUN(migration_7_keeps_every_hour_rollup);
  tu_remove_dir(dir);
  TEST_EXIT();
}
