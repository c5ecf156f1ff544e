/* db: opens SQLite connections with sluice's pragmas, applies schema migrations keyed on
 * PRAGMA user_version, and caches prepared statements per connection. A db handle belongs to
 * one thread at a time (the writer thread, or one reader thread). */
#ifndef SLUICE_DB_H
#define SLUICE_DB_H
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db;

/* Opens path (creating its folder's file if needed). readonly connections are for API reads.
 * Returns NULL on failure and logs why. Applies migrations when !readonly. A writer connection
 * with max_pages > 0 is capped there (PRAGMA max_page_count): past it writes fail with
 * SQLITE_FULL, as on a full disk (the hidden --max-db-pages flag, for tests). */
db *db_open(const char *path, bool readonly, size_t max_pages);
void db_close(db *d);
sqlite3 *db_handle(db *d);

/* Returns a prepared, reset statement for sql, cached by the sql pointer (so pass string
 * literals or other stable pointers). NULL on a prepare error (logged). The statement is
 * borrowed: do not finalize it; it is reset and its bindings cleared on the next db_stmt. */
sqlite3_stmt *db_stmt(db *d, const char *sql);

/* Runs one or more statements without results. Returns 0 or the SQLite error code. */
int db_exec(db *d, const char *sql);

/* Bytes of the database file in use (pages minus free pages), or -1 on error. */
int64_t db_used_bytes(db *d);

/* The schema version this build writes. */
int db_schema_version(void);

/* Reads/writes a row of the meta table (writer connection only for db_meta_set).
 * db_meta_get copies into buf (cap bytes) and returns 0, or -1 when absent. */
int db_meta_get(db *d, const char *key, char *buf, size_t cap);
int db_meta_set(db *d, const char *key, const char *value);

#endif
