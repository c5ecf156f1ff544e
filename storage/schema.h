/* schema: the ordered list of migrations. Migration i (1-based) moves a database from
 * user_version i-1 to i; each runs in its own transaction together with the version bump.
 * Never edit a released migration: append a new one. */
#ifndef SLUICE_SCHEMA_H
#define SLUICE_SCHEMA_H

extern const char *const schema_migrations[];
extern const int schema_migration_count;

#endif
