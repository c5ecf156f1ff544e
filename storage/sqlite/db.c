/* db: connection setup, migrations and a per-connection statement cache. Whichever thread
 * owns a db handle uses it alone. Writer connections run WAL with synchronous=NORMAL: a commit
 * survives a crash of the process (it is in the WAL before COMMIT returns); fsync happens at
 * checkpoints, not per event. */
#include "sqlite/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/log.h"
#include "sqlite/schema.h"
#include "sqlite/walbuf.h"

#define STMT_CACHE 128

struct db {
  sqlite3 *h;
  struct {
    const char *sql; /* cache key: the caller's stable pointer */
    sqlite3_stmt *stmt;
  } cache[STMT_CACHE];
  int n_cached;
};

int db_schema_version(void) {
  return schema_migration_count;
}

sqlite3 *db_handle(db *d) {
  return d->h;
}

int db_exec(db *d, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(d->h, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) {
    log_error("sql exec failed", "rc=%d err=\"%s\"", rc, err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
  }
  return rc;
}

sqlite3_stmt *db_stmt(db *d, const char *sql) {
  for (int i = 0; i < d->n_cached; i++) {
    if (d->cache[i].sql == sql) {
      sqlite3_stmt *s = d->cache[i].stmt;
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      return s;
    }
  }
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
  if (rc != SQLITE_OK) {
    log_error("sql prepare failed", "err=\"%s\"", sqlite3_errmsg(d->h));
    return NULL;
  }
  if (d->n_cached < STMT_CACHE) {
    d->cache[d->n_cached].sql = sql;
    d->cache[d->n_cached].stmt = s;
    d->n_cached++;
  } else {
    /* Cache full: evict the oldest entry; its statement is finalized. */
    sqlite3_finalize(d->cache[0].stmt);
    memmove(&d->cache[0], &d->cache[1], sizeof d->cache[0] * (STMT_CACHE - 1));
    d->cache[STMT_CACHE - 1].sql = sql;
    d->cache[STMT_CACHE - 1].stmt = s;
  }
  return s;
}

static int migrate(db *d) {
  sqlite3_stmt *s;
  int version = 0;
  if (sqlite3_prepare_v2(d->h, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) return -1;
  if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  if (version > schema_migration_count) {
    log_error("database is from a newer sluice", "schema=%d supported=%d", version,
              schema_migration_count);
    return -1;
  }
  /* Freed pages go back to the file system (housekeeping runs incremental_vacuum). This
   * must be set before the first table exists. */
  if (version == 0 && db_exec(d, "PRAGMA auto_vacuum=INCREMENTAL") != SQLITE_OK) return -1;
  for (int v = version; v < schema_migration_count; v++) {
    char bump[64];
    snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
    if (db_exec(d, "BEGIN IMMEDIATE") != SQLITE_OK) return -1;
    const schema_migration *m = &schema_migrations[v];
    if (db_exec(d, m->sql) != SQLITE_OK || (m->code && m->code(d) != 0) ||
        db_exec(d, bump) != SQLITE_OK) {
      db_exec(d, "ROLLBACK");
      return -1;
    }
    if (db_exec(d, "COMMIT") != SQLITE_OK) return -1;
    if (version > 0) log_info("schema migrated", "version=%d", v + 1);
  }
  if (version == 0) log_info("database created", "schema=%d", schema_migration_count);
  return 0;
}

static void make_parent_dir(const char *path) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return;
  *slash = '\0';
  if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
    log_warn("cannot create database folder", "dir=\"%s\" err=\"%s\"", dir, strerror(errno));
  }
}

db *db_open(const char *path, bool readonly, size_t max_pages) {
  db *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  if (!readonly) make_parent_dir(path);
  int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &d->h, flags, readonly ? NULL : walbuf_vfs());
  if (rc != SQLITE_OK) {
    log_error("cannot open database", "path=\"%s\" err=\"%s\"", path,
              d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
    db_close(d);
    return NULL;
  }
  sqlite3_busy_timeout(d->h, 5000);
  sqlite3_extended_result_codes(d->h, 1);
  if (readonly) {
    if (db_exec(d, "PRAGMA query_only=1; PRAGMA cache_size=-16000; PRAGMA mmap_size=268435456") !=
        SQLITE_OK) {
      db_close(d);
      return NULL;
    }
    return d;
  }
  if (db_exec(d,
              /* auto_vacuum first: once journal_mode=WAL has written the header of a new
               * file, changing it needs a full VACUUM (migrate() sets it again, harmlessly).
               * temp_store stays DEFAULT: with MEMORY, the journal of every job's savepoint
               * (a copy of each page the job touches) grows in 1 KB allocations, ~20 per job
               * and 17% of the writer's instructions on memory batches; by default it is one
               * 64 KiB buffer that spills to a temporary file only past that. */
              "PRAGMA auto_vacuum=INCREMENTAL;"
              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
              "PRAGMA cache_size=-32000;"
              "PRAGMA journal_size_limit=67108864; PRAGMA wal_autocheckpoint=4000") != SQLITE_OK ||
      migrate(d) != 0) {
    db_close(d);
    return NULL;
  }
  if (max_pages) {
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA max_page_count=%zu", max_pages);
    db_exec(d, pragma);
  }
  return d;
}

void db_close(db *d) {
  if (!d) return;
  for (int i = 0; i < d->n_cached; i++) sqlite3_finalize(d->cache[i].stmt);
  if (d->h) sqlite3_close(d->h);
  free(d);
}

int db_meta_get(db *d, const char *key, char *buf, size_t cap) {
  sqlite3_stmt *s = db_stmt(d, "SELECT value FROM meta WHERE key=?");
  if (!s) return -1;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  int rc = -1;
  if (sqlite3_step(s) == SQLITE_ROW) {
    const char *v = (const char *)sqlite3_column_text(s, 0);
    snprintf(buf, cap, "%s", v ? v : "");
    rc = 0;
  }
  sqlite3_reset(s);
  return rc;
}

int db_meta_set(db *d, const char *key, const char *value) {
  sqlite3_stmt *s = db_stmt(d, "INSERT INTO meta(key, value) VALUES(?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  if (!s) return -1;
  sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
  sqlite3_reset(s);
  return rc;
}

int64_t db_used_bytes(db *d) {
  static const char *const sql[3] = {"PRAGMA page_count", "PRAGMA freelist_count",
                                     "PRAGMA page_size"};
  int64_t v[3];
  for (int i = 0; i < 3; i++) {
    sqlite3_stmt *s = db_stmt(d, sql[i]);
    if (!s || sqlite3_step(s) != SQLITE_ROW) return -1;
    v[i] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
  }
  return (v[0] - v[1]) * v[2];
}
