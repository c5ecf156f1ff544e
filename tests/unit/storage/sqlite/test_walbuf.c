/* test_walbuf: the writer's VFS on real files. Every COMMIT is on disk when it returns: another
 * connection (the default VFS, as the readers and the checkpointer use) sees each commit at once,
 * the WAL file holds the commit frame without any further call, transactions larger than the
 * buffer and ones that spill mid-way commit whole; and a write that fails surfaces as a failed
 * COMMIT, never as a lost acknowledged one. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "sqlite/walbuf.h"

static char dir[] = "/tmp/sluice-test-walbuf.XXXXXX";

static sqlite3 *open_with(const char *name, const char *vfs) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  sqlite3 *h = NULL;
  CHECK(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) == SQLITE_OK);
  CHECK(sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) ==
        SQLITE_OK);
  return h;
}

static long long one(sqlite3 *h, const char *sql) {
  sqlite3_stmt *s;
  long long v = -1;
  if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

static long long file_size(const char *name) {
  char path[128];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Inserts n rows of `bytes` random bytes each in one transaction; returns the COMMIT's code. */
static int insert_rows(sqlite3 *h, int n, int bytes) {
  if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return SQLITE_ERROR;
  sqlite3_stmt *s;
  if (sqlite3_prepare_v2(h, "INSERT INTO t(v) VALUES(randomblob(?))", -1, &s, NULL) != SQLITE_OK)
    return SQLITE_ERROR;
  int rc = SQLITE_OK;
  for (int i = 0; i < n && rc == SQLITE_OK; i++) {
    sqlite3_bind_int(s, 1, bytes);
    rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(h);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  if (rc == SQLITE_OK) rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

TEST(each_commit_is_in_the_file_and_visible_when_it_returns) {
  const char *vfs = walbuf_vfs();
  CHECK(vfs != NULL);
  sqlite3 *w = open_with("visible.db", vfs), *r = open_with("visible.db", NULL);
  CHECK(sqlite3_exec(w, "PRAGMA wal_autocheckpoint=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v)",
                     NULL, NULL, NULL) == SQLITE_OK);
  long long rows = 0, wal = file_size("visible.db-wal");
  /* small ones; ones bigger than the buffer; ones that spill pages before COMMIT */
  static const int shapes[][2] = {{1, 10}, {5, 3000}, {200, 3000}, {3, 100}, {2000, 900}};
  for (int round = 0; round < 3; round++) {
    if (round == 2) sqlite3_exec(w, "PRAGMA cache_size=10", NULL, NULL, NULL); /* spill */
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
      CHECK_EQ_INT(insert_rows(w, shapes[k][0], shapes[k][1]), SQLITE_OK);
      rows += shapes[k][0];
      CHECK_EQ_INT(one(r, "SELECT count(*) FROM t"), rows);
      long long now = file_size("visible.db-wal");
      CHECK(now > wal); /* the frames are in the file, not only in the buffer */
      wal = now;
    }
  }
  CHECK_EQ_INT(one(r, "PRAGMA integrity_check") != -1, 1);
  sqlite3_close(r);
  sqlite3_close(w);
  /* and a fresh connection rebuilds the same database from the files alone */
  sqlite3 *again = open_with("visible.db", NULL);
  CHECK_EQ_INT(one(again, "SELECT count(*) FROM t"), rows);
  sqlite3_close(again);
}

TEST(a_failed_write_fails_the_commit_and_loses_nothing_acknowledged) {
  const char *vfs = walbuf_vfs();
  sqlite3 *w = open_with("full.db", vfs);
  CHECK(sqlite3_exec(w, "PRAGMA wal_autocheckpoint=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v)",
                     NULL, NULL, NULL) == SQLITE_OK);
  /* files may not grow past 2 MiB: the WAL's appends fail (EFBIG) once it gets there */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim = {2 << 20, 2 << 20};
  CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
  lim.rlim_max = old.rlim_max;
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  int committed = 0, rc = SQLITE_OK;
  for (int i = 0; i < 200 && rc == SQLITE_OK; i++) {
    rc = insert_rows(w, 20, 1000);
    if (rc == SQLITE_OK) committed += 20;
  }
  CHECK(rc != SQLITE_OK); /* the failure was reported, at COMMIT or before it */
  CHECK(committed > 0);
  CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
  CHECK_EQ_INT(one(w, "SELECT count(*) FROM t"), committed);
  CHECK_EQ_INT(insert_rows(w, 20, 1000), SQLITE_OK); /* room again: writes work */
  committed += 20;
  sqlite3_close(w);
  sqlite3 *r = open_with("full.db", NULL);
  CHECK_EQ_INT(one(r, "SELECT count(*) FROM t"), committed);
  sqlite3_stmt *s;
  CHECK(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK);
  CHECK(sqlite3_step(s) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(s, 0), "ok"));
  sqlite3_finalize(s);
  sqlite3_close(r);
}

int main(void) {
  CHECK(mkdtemp(dir) != NULL);
  RUN(each_commit_is_in_the_file_and_visible_when_it_returns);
  RUN(a_failed_write_fails_the_commit_and_loses_nothing_acknowledged);
  tu_remove_dir(dir);
  TEST_EXIT();
}
