/* memqueries: read-side SQL for the workers API. Reader-pool threads only. Charts pick their
 * source by range (raw samples up to 6 h, per-minute means of them up to 7 days, hour rollups
 * beyond) and are downsampled to at most max_points buckets, keeping each bucket's mean. */
#ifndef SLUICE_MEMQUERIES_H
#define SLUICE_MEMQUERIES_H
#include <jansson.h>
#include <stdint.h>

#include "sqlite/db.h"

json_t *q_workers(db *d, int64_t project_id, double now);
json_t *q_worker_memory(db *d, int64_t project_id, const char *name, double from, double to,
                        int64_t max_points, int *not_found);

#endif
