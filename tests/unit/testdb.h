/* testdb: database helpers for the C unit tests that work on a real SQLite file. */
#ifndef SLUICE_TESTDB_H
#define SLUICE_TESTDB_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sqlite/db.h"
#include "sqlite/schema.h"
#include "sqlite/sqlite_int.h"
#include "sqlite/sqlite_store.h"
#include "testutil.h"

/* The store's writer and read handles over a test's own connection d (no checkpointer), so a
 * test drives the neutral operations and checks rows with SQL on the same file. */
static inline store_tx *tdb_tx(db *d, sq_tx *space) {
  *space = (sq_tx){{&sqlite_store_ops}, d, NULL};
  return &space->base;
}
static inline store_rd *tdb_rd(db *d, sq_rd *space) {
  *space = (sq_rd){{&sqlite_store_ops}, d};
  return &space->base;
}

/* Opens (creating and migrating) dir/name as a writer database; NULL after a failed CHECK. */
static inline db *tdb_open(const char *dir, const char *name) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  db *d = db_open(path, false, 0);
  CHECK(d != NULL);
  return d;
}

/* A fresh database file dir/name with one project ("demo", created at `at`), inside a write
 * transaction that tdb_fixture_done commits: what the store tests start from. */
typedef struct tdb_fixture {
  db *d;
  sq_tx space;
  store_tx *tx;
  int64_t project;
} tdb_fixture;

static inline int tdb_fixture_open(tdb_fixture *f, const char *dir, const char *name, double at) {
  memset(f, 0, sizeof *f);
  f->d = tdb_open(dir, name);
  if (!f->d) return -1;
  f->tx = tdb_tx(f->d, &f->space);
  CHECK_EQ_INT(db_exec(f->d, "BEGIN IMMEDIATE"), SQLITE_OK);
  CHECK_EQ_INT(f->tx->ops->project_create(f->tx, "demo", "0123456789abcdef0123456789abcdef", at,
                                          &f->project),
               STORE_OK);
  return 0;
}

static inline void tdb_fixture_done(tdb_fixture *f) {
  CHECK_EQ_INT(db_exec(f->d, "COMMIT"), SQLITE_OK);
  db_close(f->d);
}

/* The first column of the first row of sql, or -1. */
static inline int64_t tdb_count(db *d, const char *sql) {
  sqlite3_stmt *s;
  int64_t v = -1;
  if (sqlite3_prepare_v2(db_handle(d), sql, -1, &s, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

/* A database as a release at schema `version` left it, with `data` (SQL) in it, at dir/name for
 * db_open to migrate. Only the migrations' SQL runs: their C steps (schema.h) are left out, so
 * a C step the later open runs, or one before `version`, sees what `data` put there. */
static inline void tdb_old(const char *dir, const char *name, int version, const char *data) {
  char path[256], sql[64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  sqlite3 *h;
  CHECK(sqlite3_open(path, &h) == SQLITE_OK);
  CHECK(sqlite3_exec(h, "PRAGMA auto_vacuum=INCREMENTAL", NULL, NULL, NULL) == SQLITE_OK);
  for (int v = 0; v < version; v++)
    CHECK(sqlite3_exec(h, schema_migrations[v].sql, NULL, NULL, NULL) == SQLITE_OK);
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
  CHECK(sqlite3_exec(h, sql, NULL, NULL, NULL) == SQLITE_OK);
  CHECK(sqlite3_exec(h, data, NULL, NULL, NULL) == SQLITE_OK);
  sqlite3_close(h);
}

#endif
