/* alerts: the alerts table (memory_leak, new_issue, regression). Writer thread only, inside
 * the caller's transaction, so an alert commits together with the data that raised it and
 * with whatever a hook adds (the webhook outbox adds its delivery rows from the hook). */
#ifndef SLUICE_ALERTS_H
#define SLUICE_ALERTS_H
#include <stdint.h>

#include "sqlite/db.h"

typedef struct alert_record {
  int64_t id;
  int64_t project_id;
  const char *kind;      /* memory_leak | memory_leak_resolved | new_issue | regression */
  const char *worker_id; /* NULL for issue alerts */
  int64_t issue_id;      /* 0 for worker alerts */
  double at;             /* fired_at (or resolved_at for memory_leak_resolved) */
  const char *summary;
  const char *details; /* JSON text */
} alert_record;

/* Called inside the same transaction for every alert fired or resolved; returns 0 or a
 * negative WRITER_E* to abort the job. */
typedef int (*alert_hook)(db *d, const alert_record *a, void *arg);
void alerts_set_hook(alert_hook hook, void *arg);

/* Inserts a firing alert; sets *id. Returns 0 or WRITER_EIO. */
int alerts_fire(db *d, int64_t project_id, const char *kind, const char *worker_id,
                int64_t issue_id, double fired_at, const char *summary, const char *details,
                int64_t *id);
/* Resolves the firing alerts of kind for a worker (worker_id) or an issue (issue_id > 0) at
 * time at, and tells the hook with kind "<kind>_resolved". Returns 0 or WRITER_EIO. */
int alerts_resolve(db *d, int64_t project_id, const char *kind, const char *worker_id,
                   int64_t issue_id, double at, const char *summary, const char *details);

#endif
