/* memstore: memory batches on the writer thread: raw samples (deduplicated by worker and
 * timestamp by the store), hourly rollups (aggregated per batch before reaching the store),
 * worker lives, and the per-worker leak detector, whose transitions become memory_leak alerts
 * in the same transaction. Detector states are cached in memory (bounded), saved to the store
 * periodically and at shutdown, and after a crash rebuilt by replaying the raw samples newer
 * than the saved state, so event-time results do not depend on restarts. The cache is only
 * ever ahead of the store by writes that are still uncommitted: whoever undoes them calls
 * memstore_forget. */
#ifndef SLUICE_MEMSTORE_H
#define SLUICE_MEMSTORE_H
#include <jansson.h>
#include <stdint.h>

#include "alerts/alerts.h"
#include "memory/memory_payload.h"
#include "store.h"

typedef struct memstore memstore;

memstore *memstore_new(void);
/* Saves every cached detector (writer thread, inside a transaction) and frees the cache. */
int memstore_flush(memstore *m, store_tx *tx);
void memstore_free(memstore *m);

typedef struct memstore_result {
  size_t accepted;     /* samples stored (new ones; exact retries are not counted twice) */
  int fired, resolved; /* alerts raised by this batch */
  int prev_state;      /* worker state before the batch: LEAK_* or -1 for a new worker */
  int state;           /* after the batch */
  int64_t worker_id;   /* workers.id, 0 if the batch failed before it was known */
} memstore_result;

/* Stores one validated batch for a project; leak alerts go through sink (NULL: alerts are
 * stored without deliveries). Returns STORE_OK or a failure; on failure the worker's cached
 * state is forgotten, as its savepoint is about to be undone. */
int memstore_ingest(memstore *m, store_tx *tx, alert_sink *sink, int64_t project_id,
                    const memory_payload *p, memstore_result *res);

/* Drops what the cache knows about worker wid (no-op for 0 or an uncached worker); it is
 * loaded again from the database on next use. Call after writes of memstore_ingest for that
 * worker were rolled back. Writer thread. */
void memstore_forget(memstore *m, int64_t wid);

/* Counts workers per state (LEAK_OK, LEAK_LEAKING, LEAK_INSUFFICIENT) into counts[3]. */
int memstore_count_states(store_tx *tx, int64_t counts[3]);

/* Top growing allocation sites: each site's latest size minus its size in the life's baseline
 * report (both JSON arrays of {site, size_bytes}), largest growth first, at most max entries.
 * Pure; any thread. Returns a new array (empty when nothing grew). */
json_t *memstore_top_growing(const char *baseline, const char *latest, int max);

#endif
