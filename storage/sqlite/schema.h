/* schema: the ordered list of migrations. Migration i (1-based) moves a database from
 * user_version i-1 to i; each runs in its own transaction together with the version bump.
 * Never edit a released migration: append a new one. */
#ifndef SLUICE_SCHEMA_H
#define SLUICE_SCHEMA_H
#include "sqlite/db.h"

typedef struct schema_migration {
  const char *sql;    /* statements, run first */
  int (*code)(db *d); /* then this, for what SQL cannot do (NULL: nothing); returns 0 or -1 */
} schema_migration;

extern const schema_migration schema_migrations[];
extern const int schema_migration_count;

#endif
