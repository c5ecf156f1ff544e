/* memory: the memory-sample endpoint (POST /api/{id}/memory/). The loop validates a batch
 * whole (memory_payload) and hands it to the writer, where memstore stores samples and rollups
 * and runs the leak detector; the answer {"accepted": N} goes out after the commit. Owns the
 * memstore instance (writer thread) and the workers-by-state gauge; its state is app->memory. */
#ifndef SLUICE_MEMORY_H
#define SLUICE_MEMORY_H
#include "http/router.h"

void ingest_memory(app *a, http_conn *c, http_request *req, const route_params *p);

/* After the writer started: creates the memstore, reads the worker state counts through the
 * writer and registers the metrics. Returns 0 or -1. */
int memory_init(app *a);
/* The writer's final step at shutdown: writer_stop(w, memory_final_flush, memory_writer_state(a))
 * saves every cached detector state after the queue drained (writer thread; store is the
 * memstore, NULL for none). */
struct memstore;
struct memstore *memory_writer_state(app *a);
int memory_final_flush(store_tx *tx, void *memstore_ptr);
/* After writer_stop: frees the memstore. */
void memory_free(app *a);

#endif
